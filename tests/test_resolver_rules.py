"""Per-rule tests of the resolver, per SGLang version, with the exact texts.

Most combinations here are deliberately *not* in the conformance file (other model kinds,
DSA/DSv4, decode servers with various threshold/backup values, GPU-gated paths on a named
GPU), built from reference/sglang-hicache.md §2, so that the rules are exercised beyond the
recorded cases.
"""

from __future__ import annotations

import pytest

from hicachectl.models import ModelFacts
from hicachectl.sglang import messages as M
from hicachectl.sglang import messages_unified as U
from hicachectl.sglang.flags import sglang_table
from hicachectl.sglang.resolver import resolve_values

OLD, NEW = "0.5.21", "0.5.23"
BOTH = pytest.mark.parametrize("ver", [OLD, NEW])
MODELS = {
    "mha": ModelFacts(attention="mha", architecture="LlamaForCausalLM"),
    "mla": ModelFacts(attention="mla", architecture="DeepseekV2ForCausalLM"),
    "dsa": ModelFacts(attention="dsa", architecture="DeepseekV32ForCausalLM"),
    "dsv4": ModelFacts(attention="mla", architecture="DeepseekV4ForCausalLM"),
    "step": ModelFacts(attention="mha", architecture="Step3p5ForCausalLM", hybrid="swa"),
    None: None,
}
HC = {"enable_hierarchical_cache": True}
DECODE = {"disaggregation_mode": "decode"}
DECODE_RADIX = {**DECODE, "disaggregation_decode_enable_radix_cache": True}


def run(ver: str, model: str | None = "mha", gpu_sm: int | None = None, **over):
    values = dict(sglang_table(ver).defaults())
    values.update(over)
    return resolve_values(
        values, explicit=list(over), sglang_version=ver, model=MODELS[model], gpu_sm=gpu_sm
    )


def err(res):
    assert len(res.errors) == 1, res.errors
    return res.errors[0].error_type, res.errors[0].message


def ok(res, **fields):
    assert res.errors == [], res.errors
    for k, want in fields.items():
        assert res.resolved[k] == want, k
    return res


# ------------------------------------------------------------------ R0 / E11
@BOTH
def test_ratio_defaults(ver):
    ok(run(ver, **HC), hicache_ratio=2.0, hicache_host_memory_fraction=0.8)
    ok(
        run(ver, **HC, hicache_host_memory_mode="buffer_only", hicache_storage_backend="file"),
        hicache_ratio=1.2,
    )
    ok(run(ver, **DECODE), hicache_ratio=None, hicache_host_memory_fraction=0.8)
    ok(run(ver, hicache_ratio=3.0), hicache_ratio=3.0, hicache_host_memory_fraction=None)
    ok(run(ver, hicache_size=8), hicache_ratio=2.0, hicache_host_memory_fraction=None)
    ok(run(ver, **DECODE, hicache_size=8), hicache_ratio=None, hicache_host_memory_fraction=None)


@BOTH
@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.01, 7.0])
def test_fraction_range(ver, fraction):
    res = run(ver, hicache_host_memory_fraction=fraction)  # checked even without HiCache
    assert err(res) == ("ValueError", M.FRACTION_RANGE)
    assert res.errors[0].rule == "E11"


@BOTH
def test_fraction_one_and_none_are_fine(ver):
    ok(run(ver, **HC, hicache_host_memory_fraction=1.0), hicache_host_memory_fraction=1.0)
    ok(run(ver, **HC, hicache_host_memory_fraction=None), hicache_ratio=2.0)


# ------------------------------------------------------------------ host memory mode
BUF = {**HC, "hicache_host_memory_mode": "buffer_only"}


@BOTH
def test_buffer_only_needs_storage(ver):
    assert err(run(ver, **BUF)) == ("ValueError", M.BUFFER_ONLY_NEEDS_STORAGE)
    # Without HiCache (and not a decode server) handle_hicache is skipped entirely.
    ok(run(ver, hicache_host_memory_mode="buffer_only"), hicache_ratio=1.2)


def test_buffer_only_write_back_is_an_error_on_0521():
    res = run(OLD, **BUF, hicache_storage_backend="nixl", hicache_write_policy="write_back")
    assert err(res) == ("ValueError", M.BUFFER_ONLY_WRITE_BACK_ERROR)
    assert res.errors[0].rule == "E9b"


def test_buffer_only_write_back_is_rewritten_on_0523():
    res = run(NEW, **BUF, hicache_storage_backend="nixl", hicache_write_policy="write_back")
    ok(res, hicache_write_policy="write_through")
    assert res.logs == [
        "--hicache-host-memory-mode buffer_only resolves --hicache-write-policy write_back "
        "to write_through"
    ]
    (rw,) = [r for r in res.rewrites if r.field == "hicache_write_policy"]
    assert (rw.from_, rw.to, rw.level, rw.rule) == ("write_back", "write_through", "INFO", "R1")


def test_buffer_only_write_back_on_decode_0523_logs_then_refuses():
    res = run(
        NEW, **BUF, **DECODE, hicache_storage_backend="file", hicache_write_policy="write_back"
    )
    assert err(res) == ("ValueError", M.BUFFER_ONLY_DECODE)
    assert res.logs == [M.RADIX_DISABLED_DECODE, M.BUFFER_ONLY_WRITE_BACK_INFO]


@BOTH
def test_buffer_only_on_decode(ver):
    res = run(ver, **BUF, **DECODE_RADIX, hicache_storage_backend="mooncake")
    assert err(res) == ("ValueError", M.BUFFER_ONLY_DECODE)
    assert res.logs == [M.RADIX_ENABLED_DECODE]


# ------------------------------------------------------------------ layout x io (R3/R4)
@BOTH
@pytest.mark.parametrize(
    "layout,io,want_layout,want_io,logs",
    [
        ("page_first_direct", "kernel", "page_first_direct", "direct", [M.KERNEL_IO_PFD]),
        ("page_first", "direct", "page_first_direct", "direct", [M.DIRECT_IO_PF]),
        ("layer_first", "direct", "layer_first", "direct", []),
        ("page_head", "direct", "page_head", "direct", []),
        ("page_first_kv_split", "kernel", "page_first_kv_split", "kernel", []),
        ("page_first", "kernel_ascend", "page_first", "kernel_ascend", []),
    ],
)
def test_layout_io(ver, layout, io, want_layout, want_io, logs):
    res = run(ver, "mla", **HC, hicache_mem_layout=layout, hicache_io_backend=io)
    ok(res, hicache_mem_layout=want_layout, hicache_io_backend=want_io)
    assert res.logs == logs


@BOTH
def test_layout_io_not_applied_without_hicache(ver):
    ok(run(ver, hicache_io_backend="direct"), hicache_mem_layout="page_first")


# ------------------------------------------------------------------ storage x layout (R5)
@BOTH
@pytest.mark.parametrize(
    "storage,io,want",
    [
        ("mooncake", "kernel", "page_first"),
        ("mooncake", "direct", "page_first_direct"),
        ("npu_memcache", "direct", "page_first_direct"),
        ("npu_memcache", "kernel_ascend", "layer_first"),
    ],
)
def test_storage_layer_first(ver, storage, io, want):
    res = run(
        ver,
        **HC,
        hicache_storage_backend=storage,
        hicache_mem_layout="layer_first",
        hicache_io_backend=io,
    )
    ok(res, hicache_mem_layout=want)
    assert res.logs == [M.storage_layer_first(want, io)]
    changed = [r for r in res.rewrites if r.field == "hicache_mem_layout"]
    assert len(changed) == (0 if want == "layer_first" else 1)


def test_mooncake_dcp_exemption_only_on_0523():
    args = dict(
        **HC, hicache_storage_backend="mooncake", hicache_mem_layout="layer_first", dcp_size=4
    )
    res = run(NEW, "mla", **args)
    ok(res, hicache_mem_layout="layer_first")
    assert res.logs == [M.dcp_enabled(NEW, 4)]
    res = run(OLD, "mla", **args)
    assert err(res) == ("NotImplementedError", M.DCP_STORAGE_OLD)
    assert res.logs == [M.storage_layer_first("page_first", "kernel")]


def test_npu_memcache_has_no_dcp_exemption():
    res = run(
        NEW,
        "mla",
        **HC,
        hicache_storage_backend="npu_memcache",
        hicache_mem_layout="layer_first",
        dcp_size=2,
    )
    ok(res, hicache_mem_layout="page_first")
    assert res.logs == [M.storage_layer_first("page_first", "kernel"), M.dcp_enabled(NEW, 2)]


# ------------------------------------------------------------------ unified memory (R6)
def test_unified_memory_layout_0523_only():
    args = dict(
        **HC,
        enable_unified_memory=True,
        hicache_mem_layout="page_first_direct",
        attention_backend="flashinfer",
    )
    res = run(NEW, "mla", **args)
    ok(res, hicache_mem_layout="page_first", hicache_io_backend="kernel")
    assert res.logs == [M.KERNEL_IO_PFD, M.UNIFIED_MEMORY_LAYOUT]
    res = run(OLD, "mla", **args)
    ok(res, hicache_mem_layout="page_first_direct", hicache_io_backend="direct")
    assert res.logs == [M.KERNEL_IO_PFD]


@BOTH
def test_page_major_backend_check(ver):
    # The allow-list depends on the model: MHA and MLA pools differ.
    res = run(ver, "mha", **HC, enable_unified_memory=True, attention_backend="torch_native")
    assert err(res) == ("AssertionError", U.page_major(ver, ["torch_native"], U.PAGE_MAJOR_MHA))
    res = run(ver, "mla", **HC, enable_unified_memory=True, attention_backend="torch_native")
    want = U.page_major(ver, ["torch_native"], U.PAGE_MAJOR_MLA[ver])
    assert err(res) == ("AssertionError", want)
    res = run(
        ver,
        "mha",
        enable_unified_memory=True,
        attention_backend="triton",
        decode_attention_backend="aiter",
    )
    assert "['aiter', 'triton']" in err(res)[1]
    ok(run(ver, "mha", **HC, enable_unified_memory=True, attention_backend="trtllm_mha"))
    ok(run(ver, "mla", **HC, enable_unified_memory=True, attention_backend="flashmla"))
    res = ok(run(ver, "mha", **HC, enable_unified_memory=True))
    assert any("page-major" in n for n in res.notes)
    res = ok(run(ver, None, **HC, enable_unified_memory=True, attention_backend="fa3"))
    assert any("model unknown" in n for n in res.notes)


@BOTH
def test_page_major_without_unified_memory_is_refused(ver):
    res = run(ver, "mha", enable_page_major_kv_layout=True, attention_backend="triton")
    assert err(res) == ("AssertionError", U.PAGE_MAJOR_NEEDS_UNIFIED)


def test_page_major_texts_differ_by_version():
    assert "tokenspeed_mla" in U.page_major(OLD, ["x"], U.PAGE_MAJOR_MLA[OLD])
    assert U.page_major(NEW, ["torch_native"], U.PAGE_MAJOR_MLA[NEW]).endswith(
        "'trtllm_mla'] for this configuration. Pass a compatible --attention-backend."
    )


# ------------------------------------------------------------------ unified memory pool (E20)
UM = {"enable_unified_memory": True, "attention_backend": "triton"}


@BOTH
def test_unified_memory_pool_checks(ver):
    ae = "AssertionError"
    assert err(run(ver, **UM, enable_lmcache=True)) == (ae, U.LMCACHE)
    res = run(ver, **UM, enable_unified_cache_external_linker=True)
    if ver == NEW:
        assert err(res) == (ae, U.LINKER)
    else:
        ok(res)
    assert err(run(ver, **UM, enable_two_batch_overlap=True)) == (ae, U.TBO[ver])
    pd = {**UM, "disaggregation_mode": "decode", "disaggregation_transfer_backend": "nixl"}
    assert err(run(ver, **pd)) == (ae, U.pd_transfer("nixl"))
    assert "mooncake; got 'nixl'." in U.pd_transfer("nixl")
    assert err(run(ver, "mha", **UM, dcp_size=2)) == (ae, U.DCP_MLA)
    res = run(ver, "mla", **UM, dcp_size=2)
    assert err(res) == (ae, U.dcp_backends(U.DCP_BACKENDS[ver], ["triton"]))
    ok(run(ver, "mla", **dict(UM, attention_backend="flashinfer"), dcp_size=2))
    # 0.5.23 audited EAGLE/EAGLE3/DFLASH for the unified pool; 0.5.21 only DSPARK.
    res = run(ver, **UM, speculative_algorithm="EAGLE")
    if ver == OLD:
        assert err(res) == (ae, U.spec_algorithm(False, "EAGLE"))
    else:
        assert res.errors == [] and any("speculative" in n for n in res.notes)
    assert err(run(ver, **UM, speculative_algorithm="NGRAM")) == (
        ae,
        U.spec_algorithm(ver == NEW, "NGRAM"),
    )
