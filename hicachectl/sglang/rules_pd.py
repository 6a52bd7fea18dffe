"""``handle_pd_disaggregation``: the decode-server radix trap (R12), decode host-receive
buffering (R13/E22, whose threshold meaning reversed between 0.5.21 and 0.5.23), decode/prefill
DCP checks and the decode radix-cache incompatibilities.
"""

from __future__ import annotations

from hicachectl.sglang import messages as M
from hicachectl.sglang.rules_base import Ctx


def deprecated_dp_attention(ctx: Ctx) -> None:
    """0.5.23's handle_deprecated_dp_attention: --enable-dp-attention becomes attn_dp_size."""
    v = ctx.v
    if not ctx.new or not v.get("enable_dp_attention"):
        return
    if (v.get("attn_dp_size") or 1) == 1:
        ctx.set("attn_dp_size", v.get("dp_size") or 1, "DP-deprecated")
        ctx.set("dp_size", 1, "DP-deprecated")
    ctx.set("enable_dp_attention", False, "DP-deprecated")


def data_parallelism(ctx: Ctx) -> None:
    """0.5.23's handle_data_parallelism (after handle_hicache): a bare ``assert`` (no text)."""
    v = ctx.v
    if ctx.new and ctx.dp_attention() and (v.get("tp_size") or 1) % v["attn_dp_size"]:
        ctx.fail("DP", "", "AssertionError")


def handle_pd_disaggregation(ctx: Ctx) -> None:
    v = ctx.v
    if v.get("disaggregation_transfer_backend") == "mooncake_tcp":
        # mooncake with MC_FORCE_TCP=1; the log line is outside the HiCache filter.
        ctx.set("disaggregation_transfer_backend", "mooncake", "PD-tcp")
        ctx.set("disaggregation_ib_device", None, "PD-tcp")
    mode = v.get("disaggregation_mode")
    dcp = v.get("dcp_size") or 1
    if ctx.new and v.get("disaggregation_decode_allocation_policy") == "prefill_complete":
        _prefill_complete(ctx, mode)
        if mode == "prefill" and v.get("optimistic_prefill_attempts") == 0:
            ctx.set("optimistic_prefill_attempts", 1, "E21")
    if mode == "prefill" and dcp > 1:
        ctx.log(M.PREFILL_DCP)
    # The receive threshold is checked and applied whatever the mode (not only on decode).
    threshold = v.get("disaggregation_decode_host_receive_threshold")
    if threshold is not None and not 0 <= threshold <= 1:
        ctx.fail("E22", M.THRESHOLD_RANGE)
    if ctx.receive_active():
        if v.get("enable_hisparse") or v.get("enable_pd_role_switch"):
            ctx.fail("E22", M.HOST_RECEIVE_UNSUPPORTED)
        if v.get("disaggregation_decode_retraction_backup") == "cpu_tensor":
            ctx.fail("E22", M.THRESHOLD_CPU_TENSOR)
        ctx.set("disaggregation_decode_retraction_backup", "host_pool", "R13")
    if mode == "decode" and dcp > 1:
        backend = v.get("disaggregation_transfer_backend")
        allowed = ("mooncake", "nixl", "mori", "ascend", "fake") if ctx.new else (
            "mooncake", "nixl", "fake")  # fmt: skip
        if backend not in allowed:
            ctx.fail("PD-dcp", M.decode_dcp_transfer(backend, ctx.new))
    if mode == "decode":
        _decode(ctx)
    elif mode == "prefill" and v.get("disaggregation_transfer_backend") == "fake":
        ctx.fail(
            "PD-fake",
            "Prefill server does not support 'fake' as the transfer backend",
            "AssertionError",
        )


def _decode(ctx: Ctx) -> None:
    v = ctx.v
    if v.get("disaggregation_decode_enable_radix_cache"):
        if v.get("enable_hisparse"):
            ctx.fail("PD-radix", M.DECODE_RADIX_HISPARSE)
        if v.get("disaggregation_transfer_backend") == "fake":
            ctx.fail("PD-radix", M.DECODE_RADIX_FAKE)
        if not ctx.new and v.get("speculative_algorithm") not in (None, "DSPARK"):
            ctx.fail("PD-radix", M.decode_radix_spec(v["speculative_algorithm"]))
        if ctx.dp_attention():
            ctx.log(M.DECODE_RADIX_DP)
        ctx.set("disable_radix_cache", False, "R12", M.RADIX_ENABLED_DECODE)
    else:
        text = M.RADIX_DISABLED_DECODE if ctx.new else M.CHUNK_CACHE_DECODE
        ctx.set("disable_radix_cache", True, "R12", text)


def _prefill_complete(ctx: Ctx, mode: str | None) -> None:
    """E21 (0.5.23 only): what the ``prefill_complete`` allocation policy does not support yet."""
    v = ctx.v
    missing = []
    if mode not in ("prefill", "decode"):
        missing.append("aggregated serving")
    if v.get("disaggregation_transfer_backend") != "mooncake":
        missing.append("transfer backends other than Mooncake")
    if v.get("pp_size") != 1 or v.get("attn_cp_size", 1) != 1 or v.get("dcp_size") != 1:
        missing.append("pipeline or attention context parallelism")
    attn_dp = v.get("dp_size") if v.get("enable_dp_attention") else 1
    if v.get("tp_size") != attn_dp:
        missing.append("attention tensor parallelism greater than one")
    if v.get("enable_pdmux") or v.get("decoupled_spec_role", "null") != "null":
        missing.append("PD multiplexing or decoupled speculation")
    if v.get("enable_pd_role_switch"):
        missing.append("runtime PD role switching")
    if v.get("encoder_only") or v.get("language_only"):
        missing.append("encoder disaggregation")
    if v.get("enable_hisparse"):
        missing.append("HiSparse")
    if v.get("disaggregation_decode_host_receive_threshold", 1.0) < 1:
        missing.append("decode host KV buffering")
    if mode == "decode" and (v.get("disaggregation_decode_enable_radix_cache") or ctx.hicache):
        missing.append("decode radix cache or decode HiCache")
    if (
        mode == "prefill"
        and ctx.hicache
        and (v.get("hicache_storage_backend") is not None
             or v.get("hicache_write_policy") != "write_back")
    ):  # fmt: skip
        missing.append("prefill HiCache other than L2 write_back")
    if missing:
        ctx.fail("E21", M.PREFILL_COMPLETE + ", ".join(missing))
