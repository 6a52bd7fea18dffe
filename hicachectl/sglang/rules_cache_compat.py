"""Steps after ``handle_hicache``: KV-cache sharding (E19), ``handle_cache_compatibility``
(E7, E1, E2/E3 LMCache block, E4-E6), the unified memory pool (E20 and the page-major
attention-backend check), dLLM (R9) and optimistic prefill (R11).
"""

from __future__ import annotations

from hicachectl.sglang import messages as M
from hicachectl.sglang.rules_base import Ctx


def kv_cache_sharding(ctx: Ctx) -> None:
    v = ctx.v
    if not v.get("enable_kv_cache_sharding"):
        return
    if v.get("disaggregation_mode") != "prefill":
        ctx.fail("E19", M.KV_SHARDING_PREFILL_ONLY)
    ctx.note(
        "--enable-kv-cache-sharding: SGLang's further checks (attention backend, speculative "
        "decoding, radix backend, GPU memory) are not reproduced"
    )
    if not ctx.hicache:
        return
    if v.get("hicache_storage_backend") is not None:
        ctx.note(
            "--enable-kv-cache-sharding with --hicache-storage-backend is refused by SGLang "
            "0.5.23 (E19); its exact message is not reproduced here"
        )
    if ctx.model is None:
        ctx.note("model unknown: CP-sharded DSA HiCache rules (E19) not checked")
        return
    if ctx.model.attention != "dsa":
        return
    if v.get("hicache_host_memory_mode") != "cache":
        ctx.fail("E19", M.CP_DSA_MODE)
    if v.get("hicache_io_backend") != "kernel" or v.get("hicache_mem_layout") not in (
        "layer_first",
        "page_first",
    ):
        ctx.fail("E19", M.CP_DSA_IO)


def cache_compatibility(ctx: Ctx) -> None:
    v = ctx.v
    backup = v.get("disaggregation_decode_retraction_backup")
    mode = v.get("disaggregation_mode")
    if backup == "host_pool":
        if mode != "decode":
            ctx.fail("E7", M.HOST_POOL_NOT_DECODE)
        if (v.get("dcp_size") or 1) > 1:
            ctx.fail("E7", M.HOST_POOL_DCP)
        if v.get("enable_priority_scheduling") and not v.get("disable_priority_preemption"):
            ctx.fail("E7", M.HOST_POOL_PRIORITY)
    if v.get("radix_eviction_policy") == "tlru":
        _tlru(ctx)
    if ctx.hicache and v.get("disable_radix_cache"):
        ctx.fail("E1", M.HICACHE_NO_RADIX)
    # SGLang checks decode offload before LMCache.
    if v.get("disaggregation_decode_enable_offload_kvcache"):
        if mode != "decode":
            ctx.fail("E4", M.OFFLOAD_NOT_DECODE)
        if v.get("hicache_storage_backend") is None:
            ctx.fail("E5", M.OFFLOAD_NO_STORAGE)
        if backup == "host_pool":
            ctx.fail("E6", M.OFFLOAD_HOST_POOL)
    if v.get("enable_lmcache"):
        _lmcache(ctx)


def _tlru(ctx: Ctx) -> None:
    conf = ctx.v.get("radix_eviction_policy_config") or {}
    if not isinstance(conf, dict):
        return  # SGLang would fail on .get(); not a message we reproduce
    threshold, estimate = conf.get("threshold", 0), conf.get("next_prompt_estimate", 0)
    if not all(isinstance(x, (int, float)) for x in (threshold, estimate)):
        return
    if threshold < 0 or estimate < 0:
        ctx.fail("tlru", M.tlru_negative(threshold, estimate))
    if threshold <= estimate:
        ctx.fail("tlru", M.tlru_order(threshold, estimate))


def _lmcache(ctx: Ctx) -> None:
    v = ctx.v
    nie = "NotImplementedError"
    if ctx.hicache:
        ctx.fail("E2", M.LMCACHE_HICACHE)
    if v.get("enable_unified_cache_external_linker"):
        ctx.fail("E3", M.LMCACHE_LINKER)
    if v.get("disable_radix_cache"):
        ctx.fail("E3", M.LMCACHE_RADIX)
    if v.get("speculative_algorithm") is not None:
        ctx.fail("E3", M.LMCACHE_SPEC, nie)
    if ctx.dp_attention():
        ctx.fail("E3", M.LMCACHE_DP, nie)
    if (v.get("dcp_size") or 1) > 1:
        ctx.fail("E3", M.LMCACHE_DCP, nie)
    if v.get("enable_streaming_session"):
        ctx.fail("E3", M.LMCACHE_STREAMING, nie)
    if v.get("hicache_host_memory_mode") == "buffer_only":
        ctx.fail("E3", M.LMCACHE_BUFFER_ONLY)
    if v.get("disaggregation_mode") not in (None, "null"):
        ctx.fail("E3", M.LMCACHE_PD, nie)


def dllm(ctx: Ctx) -> None:
    v = ctx.v
    if v.get("dllm_algorithm") is not None and not v.get("disable_radix_cache") and ctx.hicache:
        ctx.set("enable_hierarchical_cache", False, "R9", M.DLLM_NO_HICACHE)


def other_validations(ctx: Ctx) -> None:
    v = ctx.v
    if not (
        (v.get("optimistic_prefill_attempts") or 0) > 0
        and v.get("disaggregation_mode") == "prefill"
        and ctx.hicache
    ):
        return
    storage, policy = v.get("hicache_storage_backend"), v.get("hicache_write_policy")
    l2_ok = storage is None and policy in ("write_back", "write_through")
    l3_ok = (
        storage is not None
        and v.get("hicache_host_memory_mode") == "buffer_only"
        and policy == "write_through"
    )
    if not (l2_ok or l3_ok):
        ctx.set("optimistic_prefill_attempts", 0, "R11", M.OPTIMISTIC_PREFILL)


def runtime_notes(ctx: Ctx) -> None:
    """What SGLang settles only after the KV pool exists (R14, R15): say so, do not guess."""
    v = ctx.v
    decode = v.get("disaggregation_mode") == "decode"
    if decode and v.get("disaggregation_decode_retraction_backup") is None:
        ctx.note(
            "decode server: the retraction backup is chosen at start-up (host_pool for a "
            "dense MHA or SWA model on CUDA without DCP, decode radix cache, decode offload or "
            "priority preemption; else cpu_tensor)"
        )
    if decode and v.get("hicache_ratio") is None:
        ctx.note(
            "decode server: hicache_ratio is chosen after the KV pool is built (R14): 0.2 "
            "(at least one max-length request) with the host_pool backup and no HiCache, else 2.0"
        )
    if v.get("hicache_host_memory_fraction") is not None and (
        ctx.hicache or v.get("disaggregation_decode_retraction_backup") == "host_pool" or decode
    ):
        ctx.note(
            "HiCache auto-sizing (R15) may lower hicache_ratio at start-up to fit "
            f"{v['hicache_host_memory_fraction']} of host memory after the 10 GiB reserve"
        )
