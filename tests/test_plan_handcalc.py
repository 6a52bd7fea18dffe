"""`hicachectl plan` checked against numbers worked out by hand from the reference formulas
(shared/reference/sglang-hicache.md §3.1-§3.4, dynamo.md §4), on model configs and hardware
snapshots written here and nowhere else in the repository.

Each test writes down how every expected number is obtained.  Nothing here calls
hicachectl.sizing or hicachectl.mem_fraction: the arithmetic is spelled out again so that a
mistake in the implementation cannot hide in a shared helper.
"""

from __future__ import annotations

import json
import sys

import pytest

MiB, GiB, GB = 1 << 20, 1 << 30, 10**9


# --------------------------------------------------------------------------- inputs


def snapshot(tmp, name, *, gpu_name, total, free, count, avail, limit=None, usage=None):
    data = {
        "hostname": name,
        "gpus": [
            {
                "index": i,
                "name": gpu_name,
                "memory_total_bytes": total,
                "memory_free_bytes": free,
            }
            for i in range(count)
        ],
        "host": {
            "memory_total_bytes": avail + 16 * GiB,
            "memory_available_bytes": avail,
            "cgroup_limit_bytes": limit,
            "cgroup_usage_bytes": usage,
        },
    }
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(data))
    return str(path)


def model_dir(tmp, name, config, weight_bytes):
    d = tmp / name
    d.mkdir()
    (d / "config.json").write_text(json.dumps(config))
    index = {"metadata": {"total_size": weight_bytes}, "weight_map": {}}
    (d / "model.safetensors.index.json").write_text(json.dumps(index))
    return str(d)


MISTRAL = {  # Mistral-7B-v0.3-like: GQA 32 heads / 8 KV heads, no head_dim key (4096/32 = 128)
    "architectures": ["MistralForCausalLM"],
    "model_type": "mistral",
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "vocab_size": 32768,
    "max_position_embeddings": 32768,
    "sliding_window": None,
    "torch_dtype": "bfloat16",
}
MISTRAL_W = 14_496_047_104
QWEN72 = {  # Qwen2.5-72B-like: 80 layers, 64 heads / 8 KV heads of 128 (no head_dim key)
    "architectures": ["Qwen2ForCausalLM"],
    "model_type": "qwen2",
    "num_hidden_layers": 80,
    "num_attention_heads": 64,
    "num_key_value_heads": 8,
    "hidden_size": 8192,
    "intermediate_size": 29568,
    "vocab_size": 152064,
    "max_position_embeddings": 32768,
    "max_window_layers": 80,
    "use_sliding_window": False,
    "torch_dtype": "bfloat16",
}
QWEN72_W = 145_412_407_296
V2LITE = {  # DeepSeek-V2-Lite-like MLA: kv_lora_rank 512 + rope 64, 27 layers
    "architectures": ["DeepseekV2ForCausalLM"],
    "model_type": "deepseek_v2",
    "num_hidden_layers": 27,
    "num_attention_heads": 16,
    "num_key_value_heads": 16,
    "hidden_size": 2048,
    "intermediate_size": 10944,
    "moe_intermediate_size": 1408,
    "n_routed_experts": 64,
    "num_experts_per_tok": 6,
    "first_k_dense_replace": 1,
    "vocab_size": 102400,
    "kv_lora_rank": 512,
    "q_lora_rank": None,
    "qk_rope_head_dim": 64,
    "qk_nope_head_dim": 128,
    "v_head_dim": 128,
    "max_position_embeddings": 163840,
    "torch_dtype": "bfloat16",
}
V2LITE_W = 31_412_000_000
LLAMA2_13B = {  # plain MHA: no num_key_value_heads (KV heads = 40 heads), no head_dim, fp16
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "num_hidden_layers": 40,
    "num_attention_heads": 40,
    "hidden_size": 5120,
    "intermediate_size": 13824,
    "vocab_size": 32000,
    "max_position_embeddings": 4096,
    "torch_dtype": "float16",
}
LLAMA2_13B_W = 26_031_728_640

A100_40 = 40960 * MiB  # nvidia-smi: 40960 MiB
H100 = 81559 * MiB  # nvidia-smi: 81559 MiB
B200 = 183359 * MiB  # nvidia-smi: 183359 MiB


def plan(cli, *args, code=0):
    r = cli("plan", "--format", "json", *args)
    assert r.exit_code == code, r.output
    return json.loads(r.stdout) if code == 0 else r


def pad(tokens, page=64):
    """§3.2: whole pages plus one padding page."""
    return (tokens // page + 1) * page


def device(free, mfs, weights_per_rank, cell, page=64):
    """§3.1 in GiB: rest = (pre − weights) − pre × (1 − mfs); cells; floored to the page."""
    pre = free / GiB
    rest = (pre - weights_per_rank / GiB) - pre * (1 - mfs)
    return int(rest * GiB) // cell // page * page


def biggest_gb(share, cell, page=64):
    """Largest whole GB whose padded pool fits the share (checked one GB at a time)."""
    size = 0
    while pad((size + 1) * GB // cell, page) * cell <= share:
        size += 1
    return size


def check(p, workers):
    """Common invariants: never more pinned than the budget, ratio = host / device."""
    hb = p["host_budget"]
    assert hb["pinned_bytes"] <= hb["budget_bytes"]
    assert hb["pinned_bytes"] == sum(w["per_rank"]["host_bytes"] * w["ranks"] for w in workers)
    for w in workers:
        r = w["per_rank"]
        assert r["hicache_ratio"] == pytest.approx(r["host_tokens"] / r["device_tokens"], rel=1e-3)


def argv_of(p, name):
    return next(q["argv"] for q in p["processes"] if q["name"] == name)


def value(argv, flag):
    return argv[argv.index(flag) + 1]


# --------------------------------------------------------------------------- cases


def test_mistral_4x_a100_40gb_four_replicas(cli, tmp_path):
    free = 40000 * MiB
    hw = snapshot(tmp_path, "a100x4", gpu_name="NVIDIA A100-SXM4-40GB", total=A100_40,
                  free=free, count=4, avail=480 * GiB)  # fmt: skip
    m = model_dir(tmp_path, "mistral-7b-like", MISTRAL, MISTRAL_W)
    p = plan(cli, "--hardware", hw, "--model", m, "--workers", "4")
    # cell: 8 KV heads × (128 + 128) × 32 layers × 2 bytes (bf16) = 131072
    cell = 131072
    # default fraction, 40960 MiB GPU (< 60 GiB class): chunk 4096, decode graph bs 32;
    # prefill graph sizes up to 4096: 8 + 14 + 8 + 8 + 12 = 50 → 400 MiB
    # reserved = 512 + 4096×1.5 + 1×1/8×1024 + 32×2 + 50×8 = 512+6144+128+64+400 = 7248
    # (no 10 GiB floor below 60 GiB); round((40960 − 7248) / 40960, 3) = round(0.82305) = 0.823
    assert p["extra"]["mem_fraction_static"] == {f"worker-{i}": 0.823 for i in range(4)}
    dev = device(free, 0.823, MISTRAL_W, cell)
    # budget: (480 GiB − 10 GiB) × 0.8 = 376 GiB = 403726925824; 4 workers × 1 rank
    budget = int(470 * GiB * 0.8)
    assert p["host_budget"]["budget_bytes"] == budget == 403_726_925_824
    assert p["host_budget"]["ranks_on_host"] == 4
    # share 100931731456: 100 GB → 100e9 // 131072 = 762939 tokens → 11921 pages = 762944
    # → 762944 × 131072 = 100000595968 ≤ share; 101 GB would need 101.0 GB > share
    assert biggest_gb(budget // 4, cell) == 100
    for w in p["workers"]:
        r = w["per_rank"]
        assert r["device_tokens"] == pytest.approx(dev, rel=0.01)
        assert r["hicache_size_gb"] == 100
        assert r["host_tokens"] == 762944
        assert value(argv_of(p, w["name"]), "--hicache-size") == "100"
    check(p, p["workers"])
    # a local directory is served under its own name, not its absolute path
    assert value(argv_of(p, "worker-0"), "--served-model-name") == "mistral-7b-like"
    assert value(argv_of(p, "worker-0"), "--model-path") == m


def test_mistral_fp8_kv_cache_halves_the_cell(cli, tmp_path):
    free = 40000 * MiB
    hw = snapshot(tmp_path, "a100x1", gpu_name="NVIDIA A100-SXM4-40GB", total=A100_40,
                  free=free, count=1, avail=120 * GiB)  # fmt: skip
    m = model_dir(tmp_path, "mistral", MISTRAL, MISTRAL_W)
    p = plan(cli, "--hardware", hw, "--model", m, "--kv-cache-dtype", "fp8_e4m3")
    cell = 8 * 256 * 32 * 1  # fp8: one byte per element = 65536
    r = p["workers"][0]["per_rank"]
    assert r["kv_bytes_per_token"] == cell
    assert r["device_tokens"] == pytest.approx(device(free, 0.823, MISTRAL_W, cell), rel=0.01)
    # budget (120 − 10) GiB × 0.8 = 94489280512; 94 GB → 94e9 // 65536 = 1434326 → pad 1434368
    # → 94002249728 bytes ≤ budget; 95 GB does not fit
    budget = int(110 * GiB * 0.8)
    assert r["hicache_size_gb"] == biggest_gb(budget, cell) == 94
    assert r["host_tokens"] == pad(94 * GB // cell) == 1434368
    check(p, p["workers"])


@pytest.mark.parametrize(
    ("version", "mfs"),
    [
        # 0.5.21: decode graph bs stays 512: reserved 27216 (see below) → 0.852
        ("0.5.21", 0.852),
        # 0.5.23 lowers the defaulted decode graph bs to --max-running-requests 128:
        # reserved = 27216 − 512×2 + 128×2 = 26448; round((183359 − 26448)/183359, 3) = 0.856
        ("0.5.23", 0.856),
    ],
)
def test_qwen72b_8x_b200_two_tp4_workers(cli, tmp_path, version, mfs):
    free = 180000 * MiB
    hw = snapshot(tmp_path, "b200x8", gpu_name="NVIDIA B200", total=B200, free=free, count=8,
                  avail=3_900_000_000_000)  # fmt: skip
    m = model_dir(tmp_path, "qwen72", QWEN72, QWEN72_W)
    p = plan(cli, "--hardware", hw, "--model", m, "--tp", "4", "--workers", "2",
             "--max-running-requests", "128", "--sglang-version", version)  # fmt: skip
    # cell per rank: 8 KV heads / tp 4 = 2 × (128 + 128) × 80 layers × 2 bytes = 81920
    cell = 81920
    # 183359 MiB ≥ 160 GiB: chunk 16384, decode graph bs 512; prefill sizes up to 16384:
    # 50 (up to 4096) + 24 (4608..16384 step 512) = 74 → 592 MiB
    # reserved = 512 + 16384×1.5 + 4×1/8×1024 + 512×2 + 592 = 512+24576+512+1024+592 = 27216
    assert p["extra"]["mem_fraction_static"]["worker-0"] == mfs
    dev = device(free, mfs, -(-QWEN72_W // 4), cell)
    # budget (3.9e12 − 10 GiB) × 0.8, shared by 2 workers × 4 ranks = 8 ranks
    budget = int((3_900_000_000_000 - 10 * GiB) * 0.8)
    assert p["host_budget"]["budget_bytes"] == budget
    assert p["host_budget"]["ranks_on_host"] == 8
    size = biggest_gb(budget // 8, cell)
    assert size == 388  # 388 GB: 388e9 // 81920 = 4736328 → pad 4736384 → 388.0 GB ≤ 388.9 GB
    for w in p["workers"]:
        r = w["per_rank"]
        assert w["ranks"] == 4
        assert r["device_tokens"] == pytest.approx(dev, rel=0.01)
        assert (r["hicache_size_gb"], r["host_tokens"]) == (size, pad(size * GB // cell))
    assert [q["env"]["CUDA_VISIBLE_DEVICES"] for q in p["processes"][:2]] == ["0,1,2,3", "4,5,6,7"]
    check(p, p["workers"])


def test_qwen72b_tp2_pp2_turns_the_prefill_graph_off(cli, tmp_path):
    free = 180000 * MiB
    hw = snapshot(tmp_path, "b200x8", gpu_name="NVIDIA B200", total=B200, free=free, count=8,
                  avail=3_900_000_000_000)  # fmt: skip
    m = model_dir(tmp_path, "qwen72", QWEN72, QWEN72_W)
    p = plan(cli, "--hardware", hw, "--model", m, "--tp", "2", "--pp", "2", "--workers", "2")
    # pp > 1: SGLang disables the breakable prefill graph by default, so no prefill term:
    # reserved = 512 + 16384×1.5 + 2×2/8×1024 + 512×2 = 512+24576+512+1024 = 26624
    # round((183359 − 26624)/183359, 3) = round(0.85480) = 0.855
    assert p["extra"]["mem_fraction_static"]["worker-0"] == 0.855
    # cell: 8 / 2 = 4 KV heads × 256 × 40 layers per stage × 2 = 81920
    cell = 81920
    w = p["workers"][0]
    assert (w["tp"], w["pp"], w["ranks"]) == (2, 2, 4)
    assert w["per_rank"]["kv_bytes_per_token"] == cell
    dev = device(free, 0.855, -(-QWEN72_W // 4), cell)  # weights over tp × pp = 4
    assert w["per_rank"]["device_tokens"] == pytest.approx(dev, rel=0.01)
    budget = int((3_900_000_000_000 - 10 * GiB) * 0.8)
    assert w["per_rank"]["hicache_size_gb"] == biggest_gb(budget // 8, cell)
    assert value(argv_of(p, "worker-0"), "--pp-size") == "2"
    check(p, p["workers"])


def test_mla_prefill_decode_2x_h100_cgroup_pod(cli, tmp_path):
    free = 80000 * MiB
    # 256 GB node, 240 GiB available, but the pod is limited to 200 GiB and uses 30 GiB
    hw = snapshot(tmp_path, "pod", gpu_name="NVIDIA H100 80GB HBM3", total=H100, free=free,
                  count=2, avail=240 * GiB, limit=200 * GiB, usage=30 * GiB)  # fmt: skip
    m = model_dir(tmp_path, "v2-lite", V2LITE, V2LITE_W)
    p = plan(cli, "--hardware", hw, "--model", m,
             "--prefill-workers", "1", "--decode-workers", "1")  # fmt: skip
    # MLA cell, not split: (512 + 64) × 27 layers × 2 bytes = 31104 on every rank
    cell = 31104
    # prefill (H100 class: chunk 8192, bs 256; no decode graph; MLA prefill graph 1.5 GiB):
    #   512 + 8192×1.5 + 1/8×1024 + 1536 = 14464 → round(67095/81559, 3) = 0.823
    # decode (activation max(256, 2048) = 2048; decode graph 256×2; no prefill graph):
    #   512 + 3072 + 128 + 512 = 4224 → 10 GiB floor 10240 → round(71319/81559, 3) = 0.874
    assert p["extra"]["mem_fraction_static"] == {"prefill-0": 0.823, "decode-0": 0.874}
    # available = min(240 GiB, 200 − 30 = 170 GiB) = 170 GiB; budget (170 − 10) × 0.8 = 128 GiB
    assert p["host_budget"]["available_bytes"] == 170 * GiB
    assert p["host_budget"]["budget_bytes"] == 128 * GiB
    assert p["host_budget"]["ranks_on_host"] == 2
    # share 64 GiB = 68719476736: 68 GB → 68e9 // 31104 = 2186213 → pad 2186240
    # → 68000808960 bytes ≤ share; 69 GB > share
    assert biggest_gb(64 * GiB, cell) == 68
    for w, mfs in zip(p["workers"], (0.823, 0.874), strict=True):
        r = w["per_rank"]
        assert r["kv_bytes_per_token"] == cell
        assert r["device_tokens"] == pytest.approx(device(free, mfs, V2LITE_W, cell), rel=0.01)
        assert (r["hicache_size_gb"], r["host_tokens"]) == (68, 2186240)
    pre, dec = argv_of(p, "prefill-0"), argv_of(p, "decode-0")
    assert value(pre, "--disaggregation-mode") == "prefill"
    assert value(pre, "--disaggregation-bootstrap-port") == "8998"
    assert value(pre, "--host") == "0.0.0.0"
    assert "--disaggregation-decode-enable-radix-cache" in dec
    check(p, p["workers"])


def test_decode_without_hicache_pins_the_backup_pool(cli, tmp_path):
    free = 78 * GiB
    hw = snapshot(tmp_path, "h100x2", gpu_name="NVIDIA H100 80GB HBM3", total=H100, free=free,
                  count=2, avail=300 * GiB)  # fmt: skip
    m = model_dir(tmp_path, "mistral", MISTRAL, MISTRAL_W)
    prof = tmp_path / "pd.toml"
    prof.write_text(
        f'hardware = "{hw}"\nmodel = "{m}"\n[workers]\nprefill_workers = 1\ndecode_workers = 1\n'
        "workers = 0\n[hicache]\ndecode_hicache = false\n"
    )
    p = plan(cli, "--profile", str(prof))
    cell = 131072
    pre, dec = p["workers"]
    # decode default fraction on an 81559 MiB GPU: 10 GiB floor → 0.874 (see the MLA test)
    assert p["extra"]["mem_fraction_static"]["decode-0"] == 0.874
    d = dec["per_rank"]["device_tokens"]
    assert d == pytest.approx(device(free, 0.874, MISTRAL_W, cell), rel=0.01)
    # §3.3: ratio 0.2, raised to ceil_align(min(32768 − 1, d), 64) / d = 32768 / d
    ratio = max(0.2, -(-min(32768 - 1, d) // 64) * 64 / d)
    backup = pad(int(d * ratio))
    assert dec["per_rank"]["host_tokens"] == backup
    assert dec["per_rank"]["hicache_size_gb"] == 0
    # prefill gets the rest: (300 − 10) GiB × 0.8 minus the backup pool's bytes
    budget = int(290 * GiB * 0.8)
    assert pre["per_rank"]["hicache_size_gb"] == biggest_gb(budget - backup * cell, cell)
    assert "--enable-hierarchical-cache" not in argv_of(p, "decode-0")
    check(p, p["workers"])


def test_mha_llama2_explicit_ratio_and_size_over_budget(cli, tmp_path):
    free = 79 * GiB
    hw = snapshot(tmp_path, "small", gpu_name="NVIDIA H100 80GB HBM3", total=H100, free=free,
                  count=2, avail=64 * GiB)  # fmt: skip
    m = model_dir(tmp_path, "llama-2-13b-like", LLAMA2_13B, LLAMA2_13B_W)
    p = plan(cli, "--hardware", hw, "--model", m, "--tp", "2")
    # MHA without num_key_value_heads: 40 KV heads / tp 2 = 20 × (128 + 128) × 40 × 2 = 409600
    cell = 409600
    # a model path naming llama-2 caps the prefill graph at 4096 tokens: 50 sizes, not 58:
    # reserved = 512 + 8192×1.5 + 2/8×1024 + 256×2 + 50×8 = 512+12288+256+512+400 = 13968
    # round((81559 − 13968)/81559, 3) = round(0.82874) = 0.829
    assert p["extra"]["mem_fraction_static"]["worker-0"] == 0.829
    r = p["workers"][0]["per_rank"]
    assert r["kv_bytes_per_token"] == cell
    dev = device(free, 0.829, LLAMA2_13B_W // 2, cell)
    assert r["device_tokens"] == pytest.approx(dev, rel=0.01)
    # budget (64 − 10) GiB × 0.8 = 46385646796 over 2 ranks = 23192823398 → 23 GB
    budget = int(54 * GiB * 0.8)
    assert r["hicache_size_gb"] == biggest_gb(budget // 2, cell) == 23
    check(p, p["workers"])

    # --hicache-ratio 3: 2 ranks × pad(int(dev × 3)) × 409600 bytes, over the budget
    r3 = plan(cli, "--hardware", hw, "--model", m, "--tp", "2", "--hicache-ratio", "3", code=1)
    pinned = 2 * pad(int(r["device_tokens"] * 3)) * cell
    over = pinned - budget
    assert f"over by {over / GB:.1f} GB" in r3.stderr
    assert f"{100 * over / budget:.1f} %" in r3.stderr
    # --hicache-size 30: 30e9 // 409600 = 73242 → pad 73280 → 30015488000 bytes per rank
    r30 = plan(cli, "--hardware", hw, "--model", m, "--tp", "2", "--hicache-size", "30", code=1)
    over = 2 * 73280 * cell - budget
    assert f"over by {over / GB:.1f} GB" in r30.stderr
    assert len(r30.stderr.strip().splitlines()) == 1 and r30.stdout == ""
    # 23 GB fits and is kept as given
    p23 = plan(cli, "--hardware", hw, "--model", m, "--tp", "2", "--hicache-size", "23")
    assert p23["workers"][0]["per_rank"]["host_tokens"] == pad(23 * GB // cell)


def test_dram_barely_above_the_reserve(cli, tmp_path):
    m = model_dir(tmp_path, "mistral", MISTRAL, MISTRAL_W)
    hw = snapshot(tmp_path, "tight", gpu_name="NVIDIA H100 80GB HBM3", total=H100,
                  free=78 * GiB, count=3, avail=10 * GiB + 3 * GB)  # fmt: skip
    # budget = 3e9 × 0.8 = 2.4e9. One rank: 2 GB → 2e9 // 131072 = 15258 → pad 15296
    # → 2004877312 bytes ≤ 2.4e9; 3 GB does not fit
    p = plan(cli, "--hardware", hw, "--model", m)
    assert p["host_budget"]["budget_bytes"] == 2_400_000_000
    assert p["workers"][0]["per_rank"]["hicache_size_gb"] == 2
    assert p["workers"][0]["per_rank"]["host_tokens"] == 15296
    # two ranks: 1.2e9 each → 1 GB (7629 → pad 7680 tokens = 1006632960 bytes)
    p = plan(cli, "--hardware", hw, "--model", m, "--workers", "2")
    assert [w["per_rank"]["host_tokens"] for w in p["workers"]] == [7680, 7680]
    # three ranks: 0.8e9 each, less than 1 GB: the plan does not fit
    r = plan(cli, "--hardware", hw, "--model", m, "--workers", "3", code=1)
    assert "less than the smallest --hicache-size (1 GB)" in r.stderr
    # below the reserve: nothing left at all
    hw2 = snapshot(tmp_path, "none", gpu_name="NVIDIA H100 80GB HBM3", total=H100,
                   free=78 * GiB, count=1, avail=9 * GiB)  # fmt: skip
    r = plan(cli, "--hardware", hw2, "--model", m, code=1)
    assert "within SGLang's 10 GiB reserve" in r.stderr


def test_dp_replicas_count_every_rank(cli, tmp_path):
    free = 40000 * MiB
    hw = snapshot(tmp_path, "a100x4", gpu_name="NVIDIA A100-SXM4-40GB", total=A100_40,
                  free=free, count=4, avail=480 * GiB)  # fmt: skip
    m = model_dir(tmp_path, "mistral", MISTRAL, MISTRAL_W)
    p = plan(cli, "--hardware", hw, "--model", m, "--dp", "2", "--workers", "2")
    # 2 workers × dp 2 = 4 ranks share 376 GiB: the same 100 GB as four tp1 replicas
    assert p["host_budget"]["ranks_on_host"] == 4
    assert [w["per_rank"]["hicache_size_gb"] for w in p["workers"]] == [100, 100]
    # SGLang binds the kv-events port + dp_rank: worker-0 5557-5558, worker-1 5559-5560
    assert [q["ports"]["kv_events"] for q in p["processes"][:2]] == [5557, 5559]
    check(p, p["workers"])


def test_too_few_gpus_says_what_fits(cli, tmp_path):
    hw = snapshot(tmp_path, "a100x4", gpu_name="NVIDIA A100-SXM4-40GB", total=A100_40,
                  free=40000 * MiB, count=4, avail=480 * GiB)  # fmt: skip
    m = model_dir(tmp_path, "mistral", MISTRAL, MISTRAL_W)
    r = plan(cli, "--hardware", hw, "--model", m, "--workers", "3", "--tp", "2", code=1)
    assert "needs 6 GPUs" in r.stderr and "the machine has 4" in r.stderr
    assert "at most 2 worker(s) of 2 GPUs fit" in r.stderr


def test_no_nvml_probe_and_default_plan(cli, monkeypatch):
    # The NVML library cannot be imported at all: probe notes it, plan falls back.
    monkeypatch.setitem(sys.modules, "pynvml", None)
    r = cli("probe", "--json")
    assert r.exit_code == 0, r.output
    snap = json.loads(r.stdout)
    assert snap["gpus"] == [] and snap["host"]["memory_total_bytes"] > 0
    r = cli("plan")
    assert r.exit_code == 0, r.output
    first = r.stderr.splitlines()[0]
    assert "planning the dev profile" in first and "dev-h100-1x.json" in first


# --------------------------------------------------------------------------- ports and names


def test_base_ports_and_served_name(cli, tmp_path):
    hw = snapshot(tmp_path, "h100x4", gpu_name="NVIDIA H100 80GB HBM3", total=H100,
                  free=78 * GiB, count=4, avail=480 * GiB)  # fmt: skip
    m = model_dir(tmp_path, "mistral", MISTRAL, MISTRAL_W)
    p = plan(cli, "--hardware", hw, "--model", m, "--prefill-workers", "2",
             "--decode-workers", "2", "--system-port", "9100", "--kv-events-port", "6100",
             "--bootstrap-port", "7100", "--served-model-name", "mistral-prod")  # fmt: skip
    ports = {q["name"]: q["ports"] for q in p["processes"]}
    assert ports["prefill-0"] == {"system": 9100, "kv_events": 6100, "bootstrap": 7100}
    assert ports["prefill-1"] == {"system": 9101, "kv_events": 6101, "bootstrap": 7101}
    assert ports["decode-1"] == {"system": 9103, "kv_events": 6103}
    envs = {q["name"]: q["env"] for q in p["processes"]}
    assert envs["decode-0"]["DYN_SYSTEM_PORT"] == "9102"
    assert value(argv_of(p, "prefill-1"), "--disaggregation-bootstrap-port") == "7101"
    assert json.loads(value(argv_of(p, "decode-1"), "--kv-events-config"))["endpoint"] == (
        "tcp://*:6103"
    )
    assert {value(argv_of(p, n), "--served-model-name") for n in ports if n != "frontend"} == {
        "mistral-prod"
    }
    assert p["served_model_name"] == "mistral-prod"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--system-port", "8000"], "--system-port 8000 clashes with --http-port 8000"),
        (["--kv-events-port", "8998"], "--bootstrap-port 8998 clashes with --kv-events-port 8998"),
        (["--system-port", "40000"], "--system-port: Input should be less than or equal to 32767"),
        (["--bootstrap-port", "80"], "--bootstrap-port: Input should be greater than or equal"),
        (["--kv-events-port", "70000"], "--kv-events-port: Input should be less than or equal"),
        (["--system-port", "32767", "--workers", "2"], "need ports above 32767"),
    ],
)
def test_bad_ports_exit_2_naming_the_clash(cli, tmp_path, args, message):
    hw = snapshot(tmp_path, "h100x2", gpu_name="NVIDIA H100 80GB HBM3", total=H100,
                  free=78 * GiB, count=2, avail=480 * GiB)  # fmt: skip
    m = model_dir(tmp_path, "mistral", MISTRAL, MISTRAL_W)
    r = plan(cli, "--hardware", hw, "--model", m, *args, code=2)
    assert message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.output


def test_served_name_defaults(tmp_path):
    from hicachectl.models import ModelFacts
    from hicachectl.plan_argv import default_served_name
    from hicachectl.profiles import PlanRequest

    facts = ModelFacts(name="whatever")
    snap = tmp_path / "hub" / "models--acme--Tiny-1B" / "snapshots" / "0123abcd"
    snap.mkdir(parents=True)
    local = tmp_path / "my-model"
    local.mkdir()
    cases = {
        "Qwen/Qwen3-0.6B": "Qwen/Qwen3-0.6B",  # an HF id stays as given
        str(local): "my-model",
        str(local) + "/": "my-model",
        str(snap): "acme/Tiny-1B",  # inside the HF cache: the repository id
    }
    for given, expected in cases.items():
        assert default_served_name(PlanRequest(model=given), facts) == expected
    cfg = local / "config.json"
    cfg.write_text("{}")
    assert default_served_name(PlanRequest(model_config=str(cfg)), facts) == "my-model"


DSA_SMALL = {**V2LITE, "architectures": ["DeepseekV32ForCausalLM"], "model_type": "deepseek_v32",
             "index_head_dim": 128, "index_n_heads": 64, "index_topk": 2048}  # fmt: skip


@pytest.mark.parametrize(
    ("gpu", "total", "host_cell", "device_cell"),
    [
        # Hopper: "auto" stays bf16: (512 + 64) × 2 × 27 = 31104 on the host; the GPU cell
        # adds the indexer keys (128 + 128/128×4) × 27 = 3564 → 34668
        ("NVIDIA H100 80GB HBM3", H100, 31104, 34668),
        # Blackwell: SGLang turns "auto" into fp8_e4m3 for DSA: 512 + 512/128×4 + 64×2 = 656
        # per layer → 17712; device 17712 + 3564 = 21276
        ("NVIDIA B200", B200, 17712, 21276),
    ],
)
def test_dsa_cells_and_blackwell_fp8(cli, tmp_path, gpu, total, host_cell, device_cell):
    free = total - 2 * GiB
    hw = snapshot(tmp_path, "dsa", gpu_name=gpu, total=total, free=free, count=1,
                  avail=200 * GiB)  # fmt: skip
    m = model_dir(tmp_path, "dsa", DSA_SMALL, V2LITE_W)
    p = plan(cli, "--hardware", hw, "--model", m, "--mem-fraction-static", "0.8")
    r = p["workers"][0]["per_rank"]
    assert r["kv_bytes_per_token"] == host_cell
    assert p["extra"]["device_bytes_per_token"] == device_cell
    resolved = "fp8_e4m3" if "B200" in gpu else "bfloat16"
    assert p["extra"]["kv_cache_dtype"] == resolved
    assert any(f"SGLang resolves it to {resolved}" in n for n in p["notes"])
    assert r["device_tokens"] == pytest.approx(device(free, 0.8, V2LITE_W, device_cell), rel=0.01)
    # host: the indexer's 132 B/layer × 27 = 3564 bytes per token come on top of --hicache-size
    idx = 3564
    budget = int(190 * GiB * 0.8)
    size = 0
    while pad((size + 1) * GB // host_cell) * (host_cell + idx) <= budget:
        size += 1
    assert r["hicache_size_gb"] == size
    assert r["host_bytes"] == pad(size * GB // host_cell) * (host_cell + idx)
    check(p, p["workers"])


@pytest.mark.parametrize(
    ("extra", "kind"),
    [
        # GPT-OSS-like: alternating sliding-window and full layers (a hybrid SWA pool pair)
        (
            {
                "architectures": ["GptOssForCausalLM"],
                "model_type": "gpt_oss",
                "sliding_window": 128,
                "layer_types": ["sliding_attention", "full_attention"] * 16,
            },
            "SWA",
        ),
        # Jamba-like: Mamba layers with one attention layer in 8 (state pools)
        (
            {
                "architectures": ["JambaForCausalLM"],
                "model_type": "jamba",
                "mamba_d_state": 16,
                "attn_layer_period": 8,
            },
            "MAMBA",
        ),
    ],
)
def test_hybrid_models_are_refused_in_one_line(cli, tmp_path, extra, kind):
    hw = snapshot(tmp_path, "h100", gpu_name="NVIDIA H100 80GB HBM3", total=H100,
                  free=78 * GiB, count=1, avail=200 * GiB)  # fmt: skip
    m = model_dir(tmp_path, "hybrid", {**MISTRAL, **extra}, MISTRAL_W)
    r = plan(cli, "--hardware", hw, "--model", m, code=2)
    assert f"hybrid {kind} model" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.output


def test_default_fraction_reads_the_smallest_gpu_on_the_host(cli, tmp_path):
    # SGLang reads nvidia-smi, which lists every GPU on the host whatever CUDA_VISIBLE_DEVICES
    # says: a worker on the 80 GB GPU still gets the 40 GB class (0.823, see the A100 test)
    path = snapshot(tmp_path, "mixed", gpu_name="NVIDIA H100 80GB HBM3", total=H100,
                    free=78 * GiB, count=2, avail=200 * GiB)  # fmt: skip
    data = json.loads(open(path).read())
    data["gpus"][1].update(name="NVIDIA A100-SXM4-40GB", memory_total_bytes=A100_40,
                           memory_free_bytes=40000 * MiB)  # fmt: skip
    open(path, "w").write(json.dumps(data))
    m = model_dir(tmp_path, "mistral", MISTRAL, MISTRAL_W)
    p = plan(cli, "--hardware", path, "--model", m, "--workers", "2")
    assert p["extra"]["mem_fraction_static"] == {"worker-0": 0.823, "worker-1": 0.823}
    # each worker's pool still uses its own GPU's free memory
    dev = [w["per_rank"]["device_tokens"] for w in p["workers"]]
    assert dev[0] == pytest.approx(device(78 * GiB, 0.823, MISTRAL_W, 131072), rel=0.01)
    assert dev[1] == pytest.approx(device(40000 * MiB, 0.823, MISTRAL_W, 131072), rel=0.01)
