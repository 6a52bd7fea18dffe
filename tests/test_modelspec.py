"""Model facts and SGLang's KV arithmetic, checked against hand calculations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hicachectl import catalogue
from hicachectl.catalogue import bundled_models, load_config_json
from hicachectl.errors import InputError, UsageError
from hicachectl.modelspec import (
    device_cell_bytes_per_token,
    dtype_bytes,
    effective_kv_cache_dtype,
    facts_from_config,
    gpu_sm_major,
    indexer_bytes_per_token,
    kv_bytes_per_token,
    kv_pools,
    load_model,
    pp_layer_split,
    weight_bytes_per_rank,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"
needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason="../shared is not beside the checkout"
)

LLAMA8 = "meta-llama/Llama-3.1-8B-Instruct"
LLAMA70 = "meta-llama/Llama-3.1-70B-Instruct"
R1 = "deepseek-ai/DeepSeek-R1"
V32 = "deepseek-ai/DeepSeek-V3.2-Exp"


@pytest.fixture(autouse=True)
def _empty_hf_cache(tmp_path, monkeypatch):
    # The developer's own HF cache must not shadow the catalogue in these tests.
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-empty"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)


# (model, kwargs, hand-computed bytes/token/rank)
KV_CASES = [
    # MHA/GQA: kv_heads_per_rank × (head_dim + v_head_dim) × layers × dtype
    (LLAMA8, {}, 8 * 256 * 32 * 2),  # 131072
    (LLAMA8, {"tp": 2}, 4 * 256 * 32 * 2),
    (LLAMA8, {"tp": 8}, 1 * 256 * 32 * 2),  # 16384
    (LLAMA8, {"tp": 16}, 1 * 256 * 32 * 2),  # at least one KV head per rank
    (LLAMA8, {"kv_cache_dtype": "fp8_e4m3"}, 8 * 256 * 32 * 1),
    (LLAMA8, {"tp": 8, "attn_dp": 8}, 8 * 256 * 32 * 2),  # attention TP 1
    (LLAMA8, {"tp": 8, "dcp": 2}, 2 * 256 * 32 * 2),  # 8 // (8 // 2)
    (LLAMA8, {"pp": 2}, 8 * 256 * 16 * 2),
    ("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", {}, 8 * 256 * 32 * 2),
    (LLAMA70, {}, 8 * 256 * 80 * 2),
    (LLAMA70, {"tp": 2}, 4 * 256 * 80 * 2),  # 163840
    (LLAMA70, {"tp": 8}, 1 * 256 * 80 * 2),
    (LLAMA70, {"pp": 3}, 8 * 256 * 27 * 2),  # 80 → [26, 27, 27]
    (LLAMA70, {"pp": 3, "pp_rank": 0}, 8 * 256 * 26 * 2),
    ("Qwen/Qwen3-0.6B", {}, 8 * 256 * 28 * 2),
    ("Qwen/Qwen3-235B-A22B", {}, 4 * 256 * 94 * 2),
    ("Qwen/Qwen3-235B-A22B", {"tp": 4}, 1 * 256 * 94 * 2),
    ("Qwen/Qwen3-235B-A22B", {"tp": 8}, 1 * 256 * 94 * 2),
    # MLA: (kv_lora_rank + qk_rope_head_dim) × layers × dtype, never split over TP
    (R1, {}, 576 * 61 * 2),  # 70272
    (R1, {"tp": 8}, 576 * 61 * 2),
    (R1, {"tp": 16, "attn_dp": 8}, 576 * 61 * 2),
    (R1, {"kv_cache_dtype": "fp8_e5m2"}, 576 * 61),
    (R1, {"pp": 4}, 576 * 16 * 2),  # 61 → [15, 15, 15, 16]
    (R1, {"pp": 4, "pp_rank": 0}, 576 * 15 * 2),
    (R1, {"pp": 4, "pp_rank": 3}, 576 * 16 * 2),
    # DSA: bf16 as MLA; FP8 on the scaled layout is 656 B/layer
    (V32, {}, 576 * 61 * 2),
    (V32, {"tp": 8, "kv_cache_dtype": "fp8_e4m3"}, 656 * 61),
]


@pytest.mark.parametrize(("model", "kwargs", "expected"), KV_CASES)
def test_kv_bytes_per_token_hand_computed(model, kwargs, expected):
    assert kv_bytes_per_token(load_model(model), **kwargs) == expected


def test_every_catalogue_model_has_a_hand_computed_case():
    covered = {m for m, _, _ in KV_CASES} | {"openai/gpt-oss-120b"}  # hybrid: test below
    assert set(bundled_models()) <= covered


@needs_shared
def test_conformance_models():
    mha = load_model(None, SHARED / "conformance/models/mha-llama8b.json")
    mla = load_model(None, SHARED / "conformance/models/mla-dsv2lite.json")
    assert (mha.attention, mla.attention) == ("mha", "mla")
    assert kv_bytes_per_token(mha) == 131072
    assert kv_bytes_per_token(mla, tp=2) == 576 * 27 * 2  # DeepSeek-V2-Lite: 27 layers


def test_dsa_indexer_pool():
    v32 = load_model(V32)
    assert (v32.attention, v32.index_head_dim, v32.index_topk) == ("dsa", 128, 2048)
    # (128 + 128/128·4) = 132 B per token and layer; the index page follows the KV page
    assert indexer_bytes_per_token(v32, page_size=64) == 132 * 61
    assert indexer_bytes_per_token(v32, page_size=1) == 132 * 61
    assert indexer_bytes_per_token(v32, page_size=64, pp=4) == 132 * 16
    # an explicit 64-token index page on 128-token KV pages: half as much per token
    assert indexer_bytes_per_token(v32, page_size=128, index_page_size=64) == 66 * 61
    with pytest.raises(UsageError, match="does not split over --page-size 7"):
        indexer_bytes_per_token(v32, page_size=7, index_page_size=1)
    assert indexer_bytes_per_token(load_model(R1), page_size=64) == 0
    assert indexer_bytes_per_token(load_model(LLAMA8), page_size=1) == 0


def test_pp_split_matches_sglang():
    # get_pp_indices: every stage gets layers // pp, the last layers % pp stages one more
    assert pp_layer_split(61, 4) == [15, 15, 15, 16]
    assert pp_layer_split(63, 4) == [15, 16, 16, 16]
    assert pp_layer_split(80, 3) == [26, 27, 27]
    assert pp_layer_split(32, 2) == [16, 16]
    with pytest.raises(UsageError):
        pp_layer_split(4, 8)


def test_device_cell_adds_the_dsa_indexer():
    v32, r1, llama = load_model(V32), load_model(R1), load_model(LLAMA8)
    # device cell = MLA row + indexer keys (128 + 4) per layer
    assert device_cell_bytes_per_token(v32) == 576 * 2 * 61 + 132 * 61  # 78324
    assert device_cell_bytes_per_token(v32, tp=8, kv_cache_dtype="fp8_e4m3") == (656 + 132) * 61
    assert device_cell_bytes_per_token(v32, tp=8, dcp=8) == 576 * 2 * 61 + 132 * 61 * 8
    assert device_cell_bytes_per_token(v32, pp=4) == (576 * 2 + 132) * 16
    assert device_cell_bytes_per_token(r1, tp=8) == kv_bytes_per_token(r1, tp=8) == 70272
    assert device_cell_bytes_per_token(llama, tp=2) == 65536


def test_device_cell_for_hybrid_swa():
    oss = load_model("openai/gpt-oss-120b")
    per_layer = 8 * 128 * 2  # 8 KV heads × (64 + 64) × bf16 at TP1
    assert device_cell_bytes_per_token(oss) == pytest.approx(per_layer * 18 + 0.8 * per_layer * 18)
    assert device_cell_bytes_per_token(oss, tp=8, swa_full_tokens_ratio=0.5) == pytest.approx(
        256 * 18 + 0.5 * 256 * 18
    )
    with pytest.raises(UsageError, match="--pp-size 1 only"):
        device_cell_bytes_per_token(oss, pp=2)
    mamba = facts_from_config({**BASE, "hybrid_override_pattern": "M*MM"}, source="c.json")
    with pytest.raises(InputError, match="hybrid MAMBA model"):
        device_cell_bytes_per_token(mamba)


def test_dtype_bytes():
    assert dtype_bytes("auto", "bfloat16") == 2
    assert dtype_bytes("auto", "float16") == 2
    assert dtype_bytes("auto", "float32") == 2  # served in half precision
    assert dtype_bytes("fp8_e4m3", "bfloat16") == 1
    assert dtype_bytes("bf16", "float16") == 2
    assert dtype_bytes("nvfp4") == 0.5 + 1 / 16
    with pytest.raises(UsageError, match="unknown KV cache dtype 'int3'"):
        dtype_bytes("int3")


def test_fp4_kv_includes_block_scales():
    # 128-element rows: 64 bytes of data + 8 one-byte scales, K and V, 8 heads, 32 layers
    assert kv_bytes_per_token(load_model(LLAMA8), kv_cache_dtype="nvfp4") == 8 * 2 * 72 * 32


def test_parallel_sizes_are_checked():
    llama = load_model(LLAMA8)
    with pytest.raises(UsageError, match="not divisible by --attn-dp-size 3"):
        kv_bytes_per_token(llama, tp=8, attn_dp=3)
    with pytest.raises(UsageError, match="not divisible by --dcp-size 3"):
        kv_bytes_per_token(llama, tp=8, dcp=3)


def test_weights_per_rank():
    llama = load_model(LLAMA8)
    assert llama.weight_bytes == 16_060_522_496 and llama.weight_source == "catalogue"
    assert weight_bytes_per_rank(llama, tp=1) == 16_060_522_496
    assert weight_bytes_per_rank(llama, tp=2) == 8_030_261_248
    assert weight_bytes_per_rank(llama, tp=3) == -(-16_060_522_496 // 3)  # rounded up


@pytest.mark.parametrize("model", sorted(bundled_models()))
def test_estimate_matches_published_parameter_counts(model):
    facts = load_model(model)
    meta = load_config_json(catalogue.find_bundled(model))["_hicachectl"]
    assert meta["name"] == model
    published = meta["published_params"]
    assert facts.param_count == pytest.approx(published, rel=0.005)


@needs_shared
def test_weight_estimate_formula_llama8b():
    # 2 × vocab × hidden + 32 × (attention + MLP + 2 norms) + final norm
    cfg = load_config_json(SHARED / "conformance/models/mha-llama8b.json")
    facts = facts_from_config(cfg, source="x.json")
    per_layer = 4096 * 4096 * 2 + 2 * 4096 * 1024 + 3 * 4096 * 14336 + 2 * 4096
    assert facts.param_count == 2 * 128256 * 4096 + 32 * per_layer + 4096 == 8_030_261_248
    assert facts.weight_bytes == 2 * facts.param_count and facts.weight_source == "estimate"


def test_fp8_and_mxfp4_checkpoints_are_smaller():
    r1 = load_model(R1)
    assert r1.quantization == "fp8"
    assert 660e9 < r1.weight_bytes < 700e9  # ~1 byte per parameter, scales and bf16 embeddings
    oss = load_model("openai/gpt-oss-120b")
    assert 60e9 < oss.weight_bytes < 70e9  # MXFP4 experts: 4.25 bits


def test_hybrid_swa_is_refused_with_per_pool_facts():
    oss = load_model("openai/gpt-oss-120b")
    assert (oss.hybrid, oss.num_swa_layers, oss.sliding_window) == ("swa", 18, 128)
    with pytest.raises(InputError, match=r"hybrid SWA model \(18 full-attention \+ 18 sliding"):
        kv_bytes_per_token(oss)
    pools = kv_pools(oss, tp=2)
    assert [(p.kind, p.layers, p.bytes_per_token) for p in pools] == [
        ("full", 18, 4 * 128 * 2 * 18),
        ("swa", 18, 4 * 128 * 2 * 18),
    ]


BASE = {"num_hidden_layers": 4, "num_attention_heads": 8, "hidden_size": 512, "vocab_size": 1000}


@pytest.mark.parametrize(
    ("extra", "hybrid", "linear"),
    [
        ({"hybrid_override_pattern": "M-M*"}, "mamba", 2),  # Nemotron-H
        ({"layer_types": ["mamba", "attention", "mamba", "mamba"]}, "mamba", 3),
        ({"layers_block_type": ["mamba", "attention", "mamba", "attention"]}, "mamba", 2),
        ({"full_attention_interval": 4, "linear_num_value_heads": 32}, "mamba", 3),
        ({"ssm_state_size": 128}, "mamba", 4),
        ({"mamba_d_state": 16, "attn_layer_period": 2}, "mamba", 2),
        ({"sliding_window": 4096, "use_sliding_window": False}, None, 0),  # Qwen2/3 style
        ({"sliding_window": 4096}, None, 0),  # Mistral: SGLang serves it as full attention
    ],
)
def test_hybrid_detection(extra, hybrid, linear):
    facts = facts_from_config({**BASE, **extra}, source="c.json")
    assert (facts.hybrid, facts.num_linear_layers) == (hybrid, linear)
    if hybrid:
        with pytest.raises(InputError, match="hybrid MAMBA model"):
            kv_bytes_per_token(facts)


@pytest.mark.parametrize(
    ("extra", "swa"),
    [
        # Gemma 3 / Mistral: SGLang keeps one ordinary pool over all layers
        (
            {
                "architectures": ["Gemma3ForCausalLM"],
                "sliding_window": 512,
                "sliding_window_pattern": 6,
            },
            0,
        ),
        ({"architectures": ["MistralForCausalLM"], "sliding_window": 4096}, 0),
        # Qwen3 configs list every layer as full attention
        ({"architectures": ["Qwen3ForCausalLM"], "layer_types": ["full_attention"] * 12}, 0),
        ({"architectures": ["Llama4ForConditionalGeneration"]}, 9),  # (i + 1) % 4 != 0
        (
            {"architectures": ["MiMoV2FlashForCausalLM"], "hybrid_layer_pattern": [0, 1, 1, 1] * 3},
            9,
        ),
        ({"is_hybrid_swa": True, "layer_types": ["sliding_attention", "full_attention"] * 6}, 6),
    ],
)
def test_swa_detection_follows_sglang(extra, swa):
    facts = facts_from_config({**BASE, "num_hidden_layers": 12, **extra}, source="c.json")
    assert (facts.hybrid, facts.num_swa_layers) == ("swa" if swa else None, swa)


def test_head_dim_defaults_and_text_config_nesting():
    facts = facts_from_config({"text_config": BASE, "torch_dtype": "float16"}, source="vlm.json")
    assert (facts.head_dim, facts.v_head_dim, facts.num_kv_heads) == (64, 64, 8)
    assert facts.dtype == "float16"
    assert kv_bytes_per_token(facts) == 8 * 128 * 4 * 2


@pytest.mark.parametrize(
    ("cfg", "message"),
    [
        (
            {k: v for k, v in BASE.items() if k != "num_hidden_layers"},
            "c.json: num_hidden_layers: missing",
        ),
        (
            {**BASE, "num_attention_heads": "8"},
            "c.json: num_attention_heads: expected a positive integer",
        ),
        ({**BASE, "kv_lora_rank": 512}, "c.json: qk_rope_head_dim: missing"),
        (
            {**BASE, "kv_lora_rank": 512, "qk_rope_head_dim": 64, "index_topk": 2048},
            "c.json: index_head_dim: missing",
        ),
    ],
)
def test_missing_fields_name_the_key(cfg, message):
    with pytest.raises(InputError) as err:
        facts_from_config(cfg, source="c.json")
    assert str(err.value).startswith(message)


def test_malformed_config_names_file_and_line(tmp_path):
    bad = tmp_path / "config.json"
    bad.write_text('{\n  "num_hidden_layers": 4,\n  oops\n}\n')
    with pytest.raises(InputError, match=rf"^{bad}:3: invalid JSON"):
        load_model(None, bad)
    with pytest.raises(InputError, match="no such file"):
        load_model(None, tmp_path / "missing.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(InputError, match="expected a JSON object"):
        load_model(None, tmp_path / "list.json")


def _write_model(directory: Path, cfg: dict, total_size: int | None = None) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(cfg))
    if total_size is not None:
        index = {"metadata": {"total_size": total_size}, "weight_map": {}}
        (directory / "model.safetensors.index.json").write_text(json.dumps(index))


def test_local_directory_with_safetensors_index(tmp_path):
    _write_model(tmp_path / "m", {**BASE, "torch_dtype": "bfloat16"}, total_size=123_456_789)
    facts = load_model(str(tmp_path / "m"))
    assert facts.weight_bytes == 123_456_789 and facts.weight_source == "safetensors-index"
    assert facts.source == str(tmp_path / "m" / "config.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="directory has no config.json"):
        load_model(str(tmp_path / "empty"))


def test_hf_cache_lookup_prefers_refs_main(tmp_path, monkeypatch):
    repo = tmp_path / "hf" / "hub" / "models--acme--Tiny-1B"
    _write_model(repo / "snapshots" / "aaa", {**BASE, "num_hidden_layers": 2})
    bbb = {**BASE, "num_hidden_layers": 6, "torch_dtype": "bfloat16"}
    _write_model(repo / "snapshots" / "bbb", bbb, total_size=42)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("bbb\n")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    facts = load_model("acme/Tiny-1B")
    assert (facts.num_layers, facts.weight_bytes, facts.name) == (6, 42, "acme/Tiny-1B")
    # HF_HUB_CACHE wins over HF_HOME; hf_home= wins over both
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "nowhere"))
    with pytest.raises(InputError, match="unknown model 'acme/Tiny-1B'"):
        load_model("acme/Tiny-1B")
    assert load_model("acme/Tiny-1B", hf_home=tmp_path / "hf").num_layers == 6


def test_hf_cache_shadows_catalogue(tmp_path):
    repo = tmp_path / "hub" / "models--Qwen--Qwen3-0.6B" / "snapshots" / "r1"
    _write_model(repo, {**BASE, "num_hidden_layers": 3})
    assert load_model("Qwen/Qwen3-0.6B", hf_home=tmp_path).num_layers == 3
    assert load_model("Qwen/Qwen3-0.6B").num_layers == 28  # catalogue


def test_unknown_model_message():
    with pytest.raises(InputError) as err:
        load_model("nobody/Nothing-7B")
    assert str(err.value) == (
        "unknown model 'nobody/Nothing-7B': not a local directory, not in the Hugging Face "
        "cache, not in the bundled catalogue (no network access); pass --model-config PATH"
    )


def test_catalogue_lookup_by_bare_name_and_case():
    assert load_model("llama-3.1-8b-instruct").num_layers == 32
    assert load_model("DEEPSEEK-AI/DEEPSEEK-R1").attention == "mla"
    with pytest.raises(UsageError, match="no model given"):
        load_model(None, None)


def test_dsa_auto_kv_dtype_depends_on_the_gpu():
    v32, r1 = load_model(V32), load_model(R1)
    assert effective_kv_cache_dtype(v32, "auto", gpu_name="NVIDIA H100 80GB HBM3") == "bfloat16"
    assert effective_kv_cache_dtype(v32, "auto", gpu_name="NVIDIA B200") == "fp8_e4m3"
    assert effective_kv_cache_dtype(v32, "fp8_e4m3", gpu_name="NVIDIA H200") == "fp8_e4m3"
    assert effective_kv_cache_dtype(r1, "auto", gpu_name="NVIDIA B200") == "auto"  # model dtype
    assert effective_kv_cache_dtype(r1, "bf16") == "bfloat16"
    assert (gpu_sm_major("NVIDIA L40S"), gpu_sm_major("NVIDIA H200"), gpu_sm_major("?")) == (
        8,
        9,
        None,
    )


def test_context_length_as_sglang():
    assert load_model(LLAMA8).context_len == 131072  # llama3 rope: no factor
    assert load_model(R1).context_len == 163840  # yarn with original length: no factor
    assert load_model("Qwen/Qwen3-0.6B").context_len == 40960
    scaled = {
        **BASE,
        "max_position_embeddings": 32768,
        "rope_scaling": {"type": "linear", "factor": 4},
    }
    assert facts_from_config(scaled, source="c.json").context_len == 131072
    assert (
        facts_from_config(
            {**BASE, "seq_length": 8192, "max_position_embeddings": 4096}, source="c"
        ).context_len
        == 8192
    )
    assert facts_from_config(BASE, source="c.json").context_len == 2048


def test_float32_checkpoints_are_served_in_half_precision(tmp_path):
    facts = facts_from_config({**BASE, "torch_dtype": "float32"}, source="c.json")
    assert facts.dtype == "float16"
    assert facts.weight_bytes == 2 * facts.param_count
    gemma = {**BASE, "model_type": "gemma3_text", "torch_dtype": "float32"}
    assert facts_from_config(gemma, source="c.json").dtype == "bfloat16"
    assert facts_from_config(BASE, source="c.json").dtype == "float16"  # no dtype: float32
    _write_model(tmp_path / "m", {**BASE, "torch_dtype": "float32"}, total_size=4_000_000)
    assert load_model(str(tmp_path / "m")).weight_bytes == 2_000_000
