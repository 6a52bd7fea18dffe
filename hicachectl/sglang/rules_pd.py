"""``handle_pd_disaggregation``: the decode-server radix trap (R12), decode host-receive
buffering (R13/E22, whose threshold meaning reversed between 0.5.21 and 0.5.23), decode/prefill
DCP checks and the decode radix-cache incompatibilities.
"""

from __future__ import annotations

from hicachectl.sglang import messages as M
from hicachectl.sglang.rules_base import Ctx


def handle_pd_disaggregation(ctx: Ctx) -> None:
    v = ctx.v
    if v.get("disaggregation_transfer_backend") == "mooncake_tcp":
        # mooncake with MC_FORCE_TCP=1; the log line is outside the HiCache filter.
        ctx.set("disaggregation_transfer_backend", "mooncake", "PD-tcp")
        ctx.set("disaggregation_ib_device", None, "PD-tcp")
    mode = v.get("disaggregation_mode")
    dcp = v.get("dcp_size") or 1
    if mode == "prefill" and dcp > 1:
        ctx.log(M.PREFILL_DCP)
    if mode == "decode" and dcp > 1:
        backend = v.get("disaggregation_transfer_backend")
        if backend not in ("mooncake", "nixl"):
            ctx.fail("PD-dcp", M.decode_dcp_transfer(backend))
        if v.get("disaggregation_decode_enable_radix_cache"):
            ctx.fail("PD-dcp", M.DECODE_DCP_RADIX)
        if ctx.hicache:
            ctx.fail("PD-dcp", M.DECODE_DCP_HICACHE)
    if mode == "decode":
        _decode(ctx)
    if ctx.new and v.get("disaggregation_decode_allocation_policy") == "prefill_complete":
        _prefill_complete(ctx, mode)
    elif mode == "prefill" and v.get("disaggregation_transfer_backend") == "fake":
        ctx.fail(
            "PD-fake",
            "Prefill server does not support 'fake' as the transfer backend",
            "AssertionError",
        )


def _decode(ctx: Ctx) -> None:
    v = ctx.v
    threshold = v.get("disaggregation_decode_host_receive_threshold")
    if threshold is not None and not 0 <= threshold <= 1:
        ctx.fail("E22", M.THRESHOLD_RANGE)
    receive = ctx.receive_active()
    if receive and v.get("disaggregation_decode_retraction_backup") == "cpu_tensor":
        ctx.fail("E22", M.THRESHOLD_CPU_TENSOR)
    if v.get("disaggregation_decode_enable_radix_cache"):
        if v.get("enable_hisparse"):
            ctx.fail("PD-radix", M.DECODE_RADIX_HISPARSE)
        if v.get("disaggregation_transfer_backend") == "fake":
            ctx.fail("PD-radix", M.DECODE_RADIX_FAKE)
        if v.get("speculative_algorithm") is not None:
            ctx.fail("PD-radix", M.decode_radix_spec(v["speculative_algorithm"]))
        if ctx.dp_attention():
            ctx.log(M.DECODE_RADIX_DP)
        ctx.set("disable_radix_cache", False, "R12", M.RADIX_ENABLED_DECODE)
    else:
        text = M.RADIX_DISABLED_DECODE if ctx.new else M.CHUNK_CACHE_DECODE
        ctx.set("disable_radix_cache", True, "R12", text)
    if receive:
        ctx.set("disaggregation_decode_retraction_backup", "host_pool", "R13")


def _prefill_complete(ctx: Ctx, mode: str | None) -> None:
    """E21 (0.5.23): SGLang refuses these combinations; its text is not in the reference."""
    v = ctx.v
    decode_cache = mode == "decode" and (
        ctx.hicache or v.get("disaggregation_decode_enable_radix_cache")
    )
    prefill_cache = (
        mode == "prefill"
        and ctx.hicache
        and not (
            v.get("hicache_storage_backend") is None
            and v.get("hicache_write_policy") == "write_back"
        )
    )
    if decode_cache or prefill_cache:
        ctx.note(
            "--disaggregation-decode-allocation-policy prefill_complete: SGLang 0.5.23 refuses "
            "decode radix cache / decode HiCache and prefill HiCache other than L2 write_back "
            "(E21); the exact message is not reproduced, so no error is reported"
        )
