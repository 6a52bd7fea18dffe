"""Resolver tests for §2.4 page-size / attention-backend rewrites, GPU gates (with a named GPU),
model-specific rules (DSA, DeepSeek V4, Step3p, dLLM, optimistic prefill, int8 Mamba, NVFP4)
and the public API's contract (purity, notes, rewrites, unresolved argparse failures).
"""

from __future__ import annotations

import dataclasses

import pytest
from test_resolver_rules import BOTH, HC, NEW, OLD, err, ok, run

from hicachectl.sglang import messages as M
from hicachectl.sglang.flags import sglang_table
from hicachectl.sglang.resolver import HICACHE_FIELDS, resolve, resolve_values
from hicachectl.sglang.types import ParsedCommand, Problem


# ------------------------------------------------------------------ page snaps
@BOTH
def test_flashmla_logs_even_when_already_64(ver):
    res = ok(run(ver, "mla", attention_backend="flashmla", page_size=64), page_size=64)
    assert res.logs == ["FlashMLA only supports a page_size of 64, change page_size to 64."]
    assert not [r for r in res.rewrites if r.field == "page_size"]


@BOTH
@pytest.mark.parametrize(
    "backend,page,want,log",
    [
        ("trtllm_mla", 32, 32, None),
        ("trtllm_mla", 128, 64, M.trtllm_mla_page(128)),
        ("cutedsl_mla", None, 64, M.cutedsl_mla_page(None)),
        ("trtllm_mha", 128, 128, None),
        ("trtllm_mha", 8, 64, M.trtllm_mha_page(8)),
        ("trtllm_mha", None, 64, M.trtllm_mha_page(None)),
        ("hpc_ops", 1, 64, M.hpc_ops_page(1)),
        ("tokenspeed_mla", 16, 64, M.tokenspeed_mla_page(16)),
    ],
)
def test_backend_page_snaps_on_a_supported_gpu(ver, backend, page, want, log):
    kv = "fp8_e4m3" if backend == "tokenspeed_mla" else "auto"
    dec = {"decode_attention_backend": backend} if backend == "cutedsl_mla" else {}
    attn = "flashinfer" if dec else backend
    res = run(
        ver, "mla", gpu_sm=100, attention_backend=attn, page_size=page, kv_cache_dtype=kv, **dec
    )
    ok(res, page_size=want)
    assert res.logs == ([log] if log else [])
    if backend == "cutedsl_mla":  # decode-only: the prefill side defaults to trtllm_mla
        assert res.resolved["prefill_attention_backend"] == "trtllm_mla"


def test_snap_messages_print_python_reprs():
    assert M.trtllm_mla_page(None).endswith("changing page_size from None to 64.")
    assert M.trtllm_mha_page(1) == (
        "TensorRT-LLM MHA only supports page_size of 16, 32, 64 or 128, changing page_size "
        "from 1 to 64."
    )


@BOTH
def test_trtllm_mha_draft_backend_also_snaps(ver):
    res = run(ver, speculative_draft_attention_backend="trtllm_mha", attention_backend="fa3")
    ok(res, page_size=64)


# ------------------------------------------------------------------ GPU gates
@BOTH
@pytest.mark.parametrize("sm,fails", [(80, True), (90, False), (100, False), (120, False)])
def test_trtllm_mha_gate(ver, sm, fails):
    res = run(ver, **HC, attention_backend="trtllm_mha", gpu_sm=sm)
    assert res.logs == [M.trtllm_mha_page(None)]
    if fails:
        assert err(res) == ("ValueError", M.TRTLLM_MHA_PREFILL_GPU)
    else:
        ok(res, page_size=64, attention_backend="trtllm_mha")


@BOTH
def test_trtllm_mha_decode_gate(ver):
    res = run(ver, attention_backend="fa3", decode_attention_backend="trtllm_mha", gpu_sm=86)
    assert err(res) == ("ValueError", M.TRTLLM_MHA_DECODE_GPU)


@BOTH
@pytest.mark.parametrize("sm,fails", [(90, True), (100, False), (103, False), (121, False)])
def test_trtllm_mla_gate(ver, sm, fails):
    res = run(ver, "mla", attention_backend="trtllm_mla", gpu_sm=sm)
    if fails:
        assert err(res) == ("ValueError", M.TRTLLM_MLA_GPU)
    else:
        ok(res, page_size=64)


@BOTH
def test_gates_are_notes_without_a_gpu(ver):
    res = ok(run(ver, "mla", attention_backend="trtllm_mla"), page_size=64)
    assert any("Blackwell" in n for n in res.notes)
    res = ok(run(ver, attention_backend="trtllm_mha"), page_size=64)
    assert any("TRTLLM MHA" in n for n in res.notes)


def test_trtllm_mla_kv_dtype_on_blackwell():
    res = run(NEW, "mla", attention_backend="trtllm_mla", kv_cache_dtype="fp8_e5m2", gpu_sm=100)
    assert err(res) == ("ValueError", M.TRTLLM_MLA_KV_DTYPE)


# ------------------------------------------------------------------ FA3 / FA4 / defaults
@BOTH
def test_fa3_fp8_e5m2_falls_back_to_triton(ver):
    res = run(
        ver, attention_backend="fa3", decode_attention_backend="fa3", kv_cache_dtype="fp8_e5m2"
    )
    ok(res, attention_backend="triton", decode_attention_backend="fa3")
    assert res.logs == [M.FA3_FP8]
    ok(run(ver, attention_backend="fa3", kv_cache_dtype="fp8_e4m3"), attention_backend="fa3")


@BOTH
def test_fa4_page_128_only_for_non_mla_on_sm100(ver):
    res = ok(run(ver, "mha", attention_backend="fa4", gpu_sm=100), page_size=128)
    assert res.logs == [M.fa4_page(None)]
    ok(run(ver, "mla", attention_backend="fa4", gpu_sm=100), page_size=1)
    ok(run(ver, "mha", attention_backend="fa4", gpu_sm=90), page_size=1)
    res = ok(run(ver, "mha", attention_backend="fa4"), page_size=1)
    assert any("fa4" in n for n in res.notes)


@BOTH
def test_prefill_equal_decode_sets_attention_backend(ver):
    res = run(ver, prefill_attention_backend="triton", decode_attention_backend="triton")
    ok(res, attention_backend="triton")


@BOTH
def test_default_backend_is_left_unset_with_a_note(ver):
    res = ok(run(ver, **HC), attention_backend=None, page_size=1)
    assert any("attention backend not given" in n for n in res.notes)


@BOTH
def test_intel_xpu_page(ver):
    res = ok(run(ver, "mha", attention_backend="intel_xpu", page_size=32), page_size=128)
    assert res.logs == [
        "Intel XPU attention backend only supports page_sizes of [64, 128], changing page_size "
        "from 32 to 128."
    ]
    ok(run(ver, "mla", attention_backend="intel_xpu", page_size=32), page_size=32)
    # Either the prefill or the decode backend triggers it; MLA lists its sizes in SGLang's order.
    res = ok(run(ver, "mla", prefill_attention_backend="intel_xpu", page_size=8), page_size=128)
    assert res.logs == [
        "Intel XPU attention backend for MLA only supports page_sizes of [64, 128, 16, 32], "
        "changing page_size from 8 to 128."
    ]


# ------------------------------------------------------------------ model rules
@BOTH
def test_dsa_page_size_and_dcp(ver):
    res = ok(run(ver, "dsa", **HC), page_size=64)
    assert res.logs == ["Setting page size to 64 for DeepSeek DSA."]
    res = run(ver, "dsa", **HC, dcp_size=2, tp_size=2)
    if ver == NEW:  # 0.5.23 refuses before the page-size line; 0.5.21 has no such check
        assert err(res) == ("ValueError", "DSA DCP does not support HiSparse or HiCache.")
        assert res.errors[0].rule == "E15" and res.logs == []
    else:
        assert all(e.rule != "E15" for e in res.errors)


@BOTH
def test_dsa_kv_cache_dtype(ver):
    res = run(ver, "dsa", 90, **HC, kv_cache_dtype="fp8_e5m2")
    assert err(res) == (
        "AssertionError",
        "DeepSeek DSA only supports bf16/bfloat16 or fp8_e4m3 kv_cache_dtype",
    )
    assert ok(run(ver, "dsa", 90, **HC)).resolved["kv_cache_dtype"] == "bfloat16"
    assert ok(run(ver, "dsa", 100, **HC)).resolved["kv_cache_dtype"] == "fp8_e4m3"
    assert ok(run(ver, "dsa", 90, **HC, kv_cache_dtype="bf16")).resolved["kv_cache_dtype"] == (
        "bfloat16"
    )


@BOTH
def test_dsv4(ver):
    res = ok(run(ver, "dsv4", **HC), page_size=256, attention_backend="dsv4")
    assert res.logs == [
        "Use dsv4 attention backend for DeepseekV4ForCausalLM, setting page_size to 256."
    ]


@BOTH
def test_step3p_hicache_resets(ver):
    res = ok(run(ver, "step", **HC), swa_full_tokens_ratio=1.0, disable_hybrid_swa_memory=True)
    assert res.logs == [
        "Reset swa_full_tokens_ratio to 1.0 for Step3p5ForCausalLM model with hierarchical cache",
        "Disable hybrid SWA memory for Step3p5ForCausalLM model with hierarchical cache",
    ]
    assert not run(ver, "step").logs


@BOTH
def test_model_unknown_notes(ver):
    res = ok(run(ver, None, **HC))
    assert any(n.startswith("model unknown") for n in res.notes)


@BOTH
def test_dllm_disables_hicache(ver):
    res = ok(run(ver, **HC, dllm_algorithm="LowConfidence"), enable_hierarchical_cache=False)
    assert res.logs == [M.DLLM_NO_HICACHE]


@BOTH
@pytest.mark.parametrize(
    "extra,kept",
    [
        ({"hicache_write_policy": "write_back"}, True),
        ({"hicache_write_policy": "write_through_selective"}, False),
        ({"hicache_storage_backend": "file"}, False),
        (
            {
                "hicache_storage_backend": "file",
                "hicache_host_memory_mode": "buffer_only",
                "hicache_write_policy": "write_through",
            },
            True,
        ),
    ],
)
def test_optimistic_prefill(ver, extra, kept):
    res = ok(
        run(ver, **HC, disaggregation_mode="prefill", optimistic_prefill_attempts=2, **extra),
        optimistic_prefill_attempts=2 if kept else 0,
    )
    assert res.logs == ([] if kept else [M.OPTIMISTIC_PREFILL])


@BOTH
def test_int8_mamba_and_nvfp4(ver):
    res = run(ver, **HC, enable_int8_mamba_checkpoint=True)
    assert err(res) == ("ValueError", M.INT8_MAMBA)
    args = dict(**HC, kv_cache_dtype="nvfp4", attention_backend="trtllm_mha", page_size=64)
    assert err(run(ver, gpu_sm=100, **args)) == ("ValueError", M.KV4_TRTLLM_MHA)
    ok(run(ver, gpu_sm=120, **args))


def test_cp_sharded_dsa_hicache_0523():
    args = dict(**HC, enable_kv_cache_sharding=True, disaggregation_mode="prefill")
    ok(run(NEW, "dsa", **args))
    res = run(NEW, "dsa", **HC, enable_kv_cache_sharding=True)
    assert err(res) == ("ValueError", M.KV_SHARDING_PREFILL_ONLY)
    res = run(NEW, "dsa", **args, hicache_io_backend="direct", hicache_mem_layout="layer_first")
    assert err(res) == ("ValueError", M.CP_DSA_IO)


# ------------------------------------------------------------------ API contract
def test_rewrite_records_field_from_to_message_rule():
    res = run(NEW, **HC, hicache_mem_layout="page_first_direct")
    (rw,) = [r for r in res.rewrites if r.field == "hicache_io_backend"]
    assert (rw.from_, rw.to, rw.message, rw.level, rw.rule) == (
        "kernel",
        "direct",
        M.KERNEL_IO_PFD,
        "WARNING",
        "R3",
    )
    assert all(f in res.resolved for f in HICACHE_FIELDS)


def test_pure_and_defaults_filled():
    values = {"enable_hierarchical_cache": True, "hicache_io_backend": "direct"}
    snapshot = dict(values)
    res = resolve_values(values, explicit=["hicache_io_backend"], sglang_version=OLD)
    assert values == snapshot
    ok(res, hicache_mem_layout="page_first_direct", hicache_ratio=2.0)
    # a version between tables uses the nearer lower one's rules (0.5.22 -> 0.5.21 texts)
    res = resolve_values(
        {"enable_hierarchical_cache": True, "dcp_size": 2},
        explicit=[],
        sglang_version="0.5.22",
        model=None,
    )
    assert res.sglang_version == "0.5.22"


def test_argparse_failure_is_not_resolved():
    parsed = ParsedCommand(
        tokens=["sglang", "serve"],
        entrypoint="sglang serve",
        sglang_version=NEW,
        values=dict(sglang_table(NEW).defaults()),
        problems=[Problem(code="required", message="x", fatal=True)],
    )
    res = resolve(parsed)
    assert res.errors == [] and res.rewrites == []
    assert res.notes and "not resolved" in res.notes[0]


def test_credentials_are_redacted():
    extra = '{"endpoint": "http://s3", "access_key": "AK", "secret_key": "SK"}'
    res = run(
        NEW,
        api_key="sk-live-1",
        admin_api_key="adm",
        hicache_storage_backend_extra_config=extra,
    )
    text = repr(dataclasses.asdict(res))
    assert "sk-live-1" not in text and "adm'" not in text and "SK" not in text
    assert res.resolved["api_key"] == "<redacted>"
    assert '"endpoint": "http://s3"' in res.resolved["hicache_storage_backend_extra_config"]
    assert run(NEW).resolved["api_key"] is None


def test_frontend_is_not_resolved():
    parsed = ParsedCommand(
        tokens=["python", "-m", "dynamo.frontend"],
        entrypoint="dynamo.frontend",
        sglang_version=OLD,
    )
    res = resolve(parsed)
    assert res.rewrites == [] and "starts no SGLang server" in res.notes[0]
