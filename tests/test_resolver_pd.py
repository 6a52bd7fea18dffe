"""Resolver tests for PD disaggregation, DCP, the linker and handle_cache_compatibility,
per version, with exact texts (most combinations are not in the conformance file).
"""

from __future__ import annotations

import pytest
from test_resolver_rules import BOTH, DECODE, DECODE_RADIX, HC, NEW, OLD, err, ok, run

from hicachectl.sglang import messages as M


# ------------------------------------------------------------------ R12 decode radix trap
def test_decode_server_radix_log_per_version():
    res = ok(run(NEW, **DECODE), disable_radix_cache=True, hicache_ratio=None)
    assert res.logs == ["Radix cache is disabled for decode server"]
    res = ok(run(OLD, **DECODE), disable_radix_cache=True)
    assert res.logs == []  # 0.5.21 prints "KV cache is forced as chunk cache ..." (no keyword)
    (rw,) = [r for r in res.rewrites if r.field == "disable_radix_cache"]
    assert (rw.from_, rw.to, rw.rule, rw.message) == (False, True, "R12", M.CHUNK_CACHE_DECODE)


@BOTH
def test_decode_hicache_without_decode_radix_is_refused(ver):
    res = run(ver, "mla", **DECODE, **HC, hicache_storage_backend="file")
    assert err(res) == ("ValueError", M.HICACHE_NO_RADIX)
    assert res.errors[0].rule == "E1"
    assert res.logs == ([M.RADIX_DISABLED_DECODE] if ver == NEW else [])


@BOTH
def test_decode_radix_enabled(ver):
    res = ok(run(ver, **DECODE_RADIX, **HC), disable_radix_cache=False, hicache_ratio=None)
    assert res.logs == [M.RADIX_ENABLED_DECODE]


@BOTH
def test_decode_radix_with_dp_attention_warns_first(ver):
    dp = {"attn_dp_size": 2} if ver == NEW else {"enable_dp_attention": True, "dp_size": 2}
    res = ok(run(ver, **DECODE_RADIX, tp_size=2, **dp))
    assert res.logs == [M.DECODE_RADIX_DP, M.RADIX_ENABLED_DECODE]


@BOTH
def test_decode_radix_incompatibilities(ver):
    # Only 0.5.21 refuses speculative decoding with the decode radix cache (DSPARK excepted).
    res = run(ver, **DECODE_RADIX, speculative_algorithm="EAGLE")
    if ver == OLD:
        assert err(res) == (
            "ValueError",
            "--disaggregation-decode-enable-radix-cache is incompatible with speculative "
            "decoding (--speculative-algorithm EAGLE)",
        )
    else:
        ok(res)
    ok(run(ver, **DECODE_RADIX, speculative_algorithm="DSPARK"))
    res = run(ver, **DECODE_RADIX, disaggregation_transfer_backend="fake")
    assert err(res) == ("ValueError", M.DECODE_RADIX_FAKE)


# ------------------------------------------------------------------ R13 / E22 / R2 / E12
@pytest.mark.parametrize(
    "ver,threshold,active",
    [
        (OLD, 0.0, False),
        (OLD, 0.5, True),
        (OLD, 1.0, True),
        (NEW, 1.0, False),
        (NEW, 0.5, True),
        (NEW, 0.0, True),
    ],
)
def test_threshold_meaning_is_reversed(ver, threshold, active):
    res = ok(
        run(
            ver,
            **DECODE_RADIX,
            **HC,
            hicache_storage_backend="hf3fs",
            disaggregation_decode_host_receive_threshold=threshold,
        )
    )
    assert res.resolved["hicache_mem_layout"] == ("layer_first" if active else "page_first")
    assert res.resolved["disaggregation_decode_retraction_backup"] == (
        "host_pool" if active else None
    )


@BOTH
def test_receive_overrides_backup_none(ver):
    t = 0.5
    res = ok(
        run(
            ver,
            **DECODE,
            disaggregation_decode_retraction_backup="none",
            disaggregation_decode_host_receive_threshold=t,
        )
    )
    # R13 (in handle_pd_disaggregation) overrides "none"; handle_hicache then sees host_pool,
    # passes its gate, and R2 gives the decode host pool its layer_first layout.
    assert res.resolved["disaggregation_decode_retraction_backup"] == "host_pool"
    assert res.resolved["hicache_mem_layout"] == "layer_first"


@BOTH
@pytest.mark.parametrize("threshold", [-0.1, 1.5])
def test_threshold_range(ver, threshold):
    res = run(ver, **DECODE, disaggregation_decode_host_receive_threshold=threshold)
    assert err(res) == ("ValueError", M.THRESHOLD_RANGE)


@pytest.mark.parametrize("ver,threshold", [(OLD, 0.2), (NEW, 0.0)])
def test_receive_with_cpu_tensor_backup(ver, threshold):
    res = run(
        ver,
        **DECODE,
        disaggregation_decode_retraction_backup="cpu_tensor",
        disaggregation_decode_host_receive_threshold=threshold,
    )
    assert err(res) == ("ValueError", M.THRESHOLD_CPU_TENSOR)
    assert res.logs == []  # raised before the radix line


@pytest.mark.parametrize("ver,threshold", [(OLD, 1.0), (NEW, 0.3)])
def test_receive_layout_conflict(ver, threshold):
    res = run(
        ver,
        "mla",
        **DECODE_RADIX,
        **HC,
        hicache_storage_backend="mooncake",
        disaggregation_decode_host_receive_threshold=threshold,
    )
    assert err(res) == (
        "ValueError",
        "The resolved HiCache storage layout 'page_first' cannot share the layer_first decode "
        "host pool used by KV transfer",
    )
    assert res.logs == [M.RADIX_ENABLED_DECODE, M.storage_layer_first("page_first", "kernel")]


@BOTH
def test_receive_on_decode_with_kernel_ascend_keeps_layer_first(ver):
    t = 0.5
    res = ok(
        run(
            ver,
            **DECODE_RADIX,
            **HC,
            hicache_storage_backend="npu_memcache",
            hicache_io_backend="kernel_ascend",
            disaggregation_decode_host_receive_threshold=t,
        ),
        hicache_mem_layout="layer_first",
    )
    assert res.logs[-1] == M.storage_layer_first("layer_first", "kernel_ascend")


# ------------------------------------------------------------------ DCP
@BOTH
def test_dcp_mla_log_per_version(ver):
    res = ok(run(ver, "mla", **HC, dcp_size=4, tp_size=4))
    assert res.logs == [M.dcp_enabled(ver, 4)]
    assert ("(L1/L2 only)" in res.logs[0]) == (ver == OLD)


@BOTH
def test_dcp_checks(ver):
    assert err(run(ver, "mha", **HC, dcp_size=2)) == ("NotImplementedError", M.DCP_MHA)
    assert err(run(ver, "mla", **HC, dcp_size=2, speculative_algorithm="EAGLE")) == (
        "NotImplementedError",
        M.DCP_SPEC,
    )
    assert err(run(ver, "mla", **HC, dcp_size=2, enable_hisparse=True)) == (
        "NotImplementedError",
        M.DCP_HISPARSE,
    )
    ok(run(ver, "mla", **HC, dcp_size=2, speculative_algorithm="DSPARK"))
    ok(run(ver, "mha", dcp_size=2))  # DCP without HiCache: no HiCache rule applies


def test_dcp_storage_per_version():
    args = dict(**HC, dcp_size=2, hicache_storage_backend="file")
    assert err(run(OLD, "mla", **args)) == ("NotImplementedError", M.DCP_STORAGE_OLD)
    ok(run(NEW, "mla", **args))
    res = run(
        NEW,
        "mla",
        **args,
        hicache_host_memory_mode="buffer_only",
    )
    assert err(res) == ("NotImplementedError", M.DCP_BUFFER_ONLY)


@BOTH
def test_dcp_model_unknown_is_a_note(ver):
    res = ok(run(ver, None, **HC, dcp_size=2))
    assert res.logs == []
    assert any("MLA model" in n for n in res.notes)


@BOTH
def test_prefill_dcp_warning(ver):
    res = ok(run(ver, "mla", disaggregation_mode="prefill", dcp_size=2))
    assert res.logs == [M.PREFILL_DCP]


@BOTH
def test_decode_dcp_transfer_backends(ver):
    # 0.5.23 added mori and ascend to the transfer backends a DCP decode server accepts.
    res = run(ver, "mla", **DECODE_RADIX, dcp_size=2, disaggregation_transfer_backend="ascend")
    if ver == OLD:
        assert err(res) == (
            "ValueError",
            "PD decode DCP requires --disaggregation-transfer-backend mooncake, nixl, or fake "
            "for synthetic benchmarking, got 'ascend'.",
        )
    else:
        ok(res)
    # The decode radix cache is allowed with DCP (no chunk-cache requirement in either release).
    ok(run(ver, "mla", **DECODE_RADIX, dcp_size=2))


@BOTH
def test_threshold_checked_outside_decode_mode(ver):
    res = run(ver, disaggregation_decode_host_receive_threshold=1.5)
    assert err(res) == ("ValueError", M.THRESHOLD_RANGE)
    # The host_pool backup is declared whatever the mode; 0.5.23 then refuses it off decode.
    res = run(ver, disaggregation_decode_host_receive_threshold=0.5)
    assert res.resolved["disaggregation_decode_retraction_backup"] == "host_pool"
    res = run(ver, disaggregation_decode_host_receive_threshold=0.5, enable_hisparse=True)
    assert err(res) == ("ValueError", M.HOST_RECEIVE_UNSUPPORTED)


# ------------------------------------------------------------------ linker (E14)
LINKER = {"enable_unified_cache_external_linker": True}


@BOTH
def test_linker_rules(ver):
    assert err(run(ver, **LINKER, **HC)) == ("ValueError", M.LINKER_HICACHE)
    assert err(run(ver, **LINKER, hicache_storage_backend="mooncake")) == (
        "ValueError",
        M.LINKER_STORAGE,
    )
    assert err(run(ver, enable_linker_mla_dedup=True)) == ("ValueError", M.LINKER_MLA_DEDUP)
    ok(run(ver, **LINKER, enable_linker_mla_dedup=True))
    res = run(ver, **LINKER, disable_radix_cache=True)
    if ver == NEW:
        assert err(res) == ("ValueError", M.LINKER_RADIX)
    else:
        ok(res)


def test_linker_checks_radix_first_and_dynamic_config_on_0523():
    res = run(NEW, **LINKER, **HC, disable_radix_cache=True)
    assert err(res) == ("ValueError", M.LINKER_RADIX)
    assert err(run(OLD, **LINKER, **HC, disable_radix_cache=True)) == (
        "ValueError",
        M.LINKER_HICACHE,
    )
    dyn = {**LINKER, "unified_cache_external_linker_backend": "dynamic"}
    assert err(run(NEW, **dyn)) == ("ValueError", M.LINKER_CONFIG)
    res = run(NEW, **dyn, unified_cache_external_linker_config={"linker": "x", "extra": 1})
    assert err(res)[1] == "--unified-cache-external-linker-config: unknown fields: ['extra']"
    res = run(NEW, **dyn, unified_cache_external_linker_config={"linker": "x"})
    assert err(res)[1] == (
        "--unified-cache-external-linker-config: linker_module_path must be a non-empty string."
    )
    good = {"linker": "x", "linker_module_path": "m"}
    ok(run(NEW, **dyn, unified_cache_external_linker_config=good))
    assert err(run(NEW, unified_cache_external_linker_config=[1])) == (
        "ValueError",
        M.LINKER_CONFIG,
    )


# ------------------------------------------------------------------ cache compatibility
@BOTH
def test_decode_offload_checked_before_lmcache(ver):
    res = run(ver, disaggregation_decode_enable_offload_kvcache=True, enable_lmcache=True)
    assert err(res) == ("ValueError", M.OFFLOAD_NOT_DECODE)


@BOTH
def test_tlru_config_checks(ver):
    tlru = {"radix_eviction_policy": "tlru"}
    res = run(ver, **tlru, radix_eviction_policy_config={"threshold": -1})
    assert err(res)[1] == (
        "--radix-eviction-policy tlru requires non-negative 'threshold' and "
        "'next_prompt_estimate' in --radix-eviction-policy-config, got -1 and 0."
    )
    res = run(ver, **tlru)  # both default to 0: 0 <= 0
    assert err(res)[1].startswith(
        "--radix-eviction-policy tlru needs 'threshold' greater than 'next_prompt_estimate' in "
        "--radix-eviction-policy-config, got 0 <= 0;"
    )
    ok(run(ver, **tlru, radix_eviction_policy_config={"threshold": 5, "next_prompt_estimate": 2}))


@BOTH
def test_host_pool_backup_rules(ver):
    assert err(run(ver, disaggregation_decode_retraction_backup="host_pool")) == (
        "ValueError",
        M.HOST_POOL_NOT_DECODE,
    )
    res = run(ver, "mla", **DECODE, dcp_size=2, disaggregation_decode_retraction_backup="host_pool")
    assert err(res) == ("ValueError", M.HOST_POOL_DCP)
    res = run(
        ver,
        **DECODE,
        disaggregation_decode_retraction_backup="host_pool",
        enable_priority_scheduling=True,
    )
    assert err(res) == ("ValueError", M.HOST_POOL_PRIORITY)
    ok(
        run(
            ver,
            **DECODE,
            disaggregation_decode_retraction_backup="host_pool",
            enable_priority_scheduling=True,
            disable_priority_preemption=True,
        )
    )


@BOTH
def test_decode_offload_rules(ver):
    off = {"disaggregation_decode_enable_offload_kvcache": True}
    assert err(run(ver, **off, hicache_storage_backend="file")) == (
        "ValueError",
        M.OFFLOAD_NOT_DECODE,
    )
    assert err(run(ver, **DECODE, **off)) == ("ValueError", M.OFFLOAD_NO_STORAGE)
    res = run(
        ver,
        **DECODE,
        **off,
        hicache_storage_backend="file",
        disaggregation_decode_retraction_backup="host_pool",
    )
    assert err(res) == ("ValueError", M.OFFLOAD_HOST_POOL)
    ok(run(ver, **DECODE, **off, hicache_storage_backend="file"), hicache_ratio=None)


@BOTH
def test_lmcache_block(ver):
    lm = {"enable_lmcache": True}
    assert err(run(ver, **lm, **HC)) == ("ValueError", M.LMCACHE_HICACHE)
    assert err(run(ver, **lm, disable_radix_cache=True)) == ("ValueError", M.LMCACHE_RADIX)
    assert err(run(ver, **lm, **DECODE)) == ("ValueError", M.LMCACHE_RADIX)
    assert err(run(ver, **lm, disaggregation_mode="prefill")) == (
        "NotImplementedError",
        M.LMCACHE_PD,
    )
    assert err(run(ver, **lm, speculative_algorithm="EAGLE")) == (
        "NotImplementedError",
        M.LMCACHE_SPEC,
    )
    assert err(run(ver, **lm, enable_streaming_session=True)) == (
        "NotImplementedError",
        M.LMCACHE_STREAMING,
    )
    assert err(run(ver, **lm, **LINKER)) == ("ValueError", M.LMCACHE_LINKER)
    assert err(run(ver, **lm, dcp_size=2)) == ("NotImplementedError", M.LMCACHE_DCP)
    assert err(run(ver, **lm, hicache_host_memory_mode="buffer_only")) == (
        "ValueError",
        M.LMCACHE_BUFFER_ONLY,
    )
    ok(run(ver, **lm))


def test_prefill_complete_policy_on_0523():
    res = run(
        NEW,
        **HC,
        disaggregation_mode="prefill",
        disaggregation_decode_allocation_policy="prefill_complete",
    )
    assert err(res) == (
        "ValueError",
        "--disaggregation-decode-allocation-policy prefill_complete does not yet support "
        "prefill HiCache other than L2 write_back",
    )
    res = ok(
        run(
            NEW,
            **HC,
            disaggregation_mode="prefill",
            hicache_write_policy="write_back",
            disaggregation_decode_allocation_policy="prefill_complete",
        )
    )
    assert res.resolved["optimistic_prefill_attempts"] == 1
    res = run(NEW, disaggregation_decode_allocation_policy="prefill_complete", tp_size=2)
    assert err(res)[1].endswith(
        "support aggregated serving, attention tensor parallelism greater than one"
    )


@BOTH
def test_runtime_decisions_are_notes(ver):
    res = ok(run(ver, **DECODE))
    assert any("retraction backup is chosen" in n for n in res.notes)
    assert any("R14" in n for n in res.notes)
    res = ok(run(ver, **HC))
    assert any("R15" in n for n in res.notes)
    res = ok(run(ver, **HC, hicache_size=20))
    assert not any("R15" in n for n in res.notes)


@BOTH
def test_deprecated_dp_attention(ver):
    # 0.5.23 folds --enable-dp-attention into attn_dp_size = dp_size; with dp_size 1 that is
    # no attention DP at all, so the decode radix cache logs no DP warning.
    res = ok(run(ver, **DECODE_RADIX, enable_dp_attention=True))
    assert (M.DECODE_RADIX_DP in res.logs) == (ver == OLD)
    res = run(ver, **HC, enable_dp_attention=True, dp_size=2)
    if ver == NEW:  # tp_size 1 is not a multiple of attn_dp_size 2: a bare assert
        assert err(res) == ("AssertionError", "")
        assert res.resolved["attn_dp_size"] == 2 and res.resolved["dp_size"] == 1
