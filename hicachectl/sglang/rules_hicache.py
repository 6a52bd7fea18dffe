"""HiCache rules: the ratio default (R0/E11) and ``handle_hicache`` (E14 linker, the gate,
host-memory-mode checks E8-E10/R1, decode layout R2/E12, layout x IO R3/R4, storage x layout
R5, unified memory R6, DCP R7/E13), per ``reference/sglang-hicache.md`` §2.2-2.3.
"""

from __future__ import annotations

from hicachectl.sglang import messages as M
from hicachectl.sglang.rules_base import Ctx


def ratio_default(ctx: Ctx) -> None:
    """handle_hicache_ratio_default: runs first, whether or not HiCache is on."""
    v = ctx.v
    fraction = v.get("hicache_host_memory_fraction")
    if fraction is not None and not 0 < fraction <= 1:
        ctx.fail("E11", M.FRACTION_RANGE)
    ratio = v.get("hicache_ratio")  # the input value: both fields are declared together
    if ratio is None and v.get("disaggregation_mode") != "decode":
        default = 1.2 if v.get("hicache_host_memory_mode") == "buffer_only" else 2.0
        ctx.set("hicache_ratio", default, "R0a")
    if ratio is not None or (v.get("hicache_size") or 0) > 0:
        ctx.set("hicache_host_memory_fraction", None, "R0b")


def handle_hicache(ctx: Ctx) -> None:
    v = ctx.v
    if _linker(ctx):
        return
    gate = (
        ctx.hicache
        or v.get("disaggregation_decode_enable_offload_kvcache")
        or (
            v.get("disaggregation_mode") == "decode"
            and v.get("disaggregation_decode_retraction_backup") in (None, "host_pool")
        )
    )
    if not gate:
        return
    _host_memory_mode(ctx)
    receive = ctx.receive_active()
    if receive:
        # The shared host pool must match KV transfer's per-layer buffers.
        ctx.set("hicache_mem_layout", "layer_first", "R2")
    _layout_io(ctx)
    _storage_layout(ctx)
    if (
        ctx.new
        and v.get("enable_unified_memory")
        and v["hicache_mem_layout"] == "page_first_direct"
    ):
        ctx.set("hicache_mem_layout", "page_first", "R6", M.UNIFIED_MEMORY_LAYOUT)
        ctx.set("hicache_io_backend", "kernel", "R6", M.UNIFIED_MEMORY_LAYOUT, log=False)
    if receive and v["hicache_mem_layout"] != "layer_first":
        ctx.fail("E12", M.decode_layout_conflict(v["hicache_mem_layout"]))
    _dcp(ctx)


def _linker(ctx: Ctx) -> bool:
    """The unified-cache external linker block; True when it ends handle_hicache."""
    v = ctx.v
    linker = v.get("enable_unified_cache_external_linker")
    config = v.get("unified_cache_external_linker_config")
    if ctx.new and config is not None and not isinstance(config, dict):
        ctx.fail("E14", M.LINKER_CONFIG)
    dynamic = v.get("unified_cache_external_linker_backend") == "dynamic"
    if ctx.new and dynamic and (linker or config is not None):
        _dynamic_linker_config(ctx, config)
    if v.get("enable_linker_mla_dedup") and (
        not linker or v.get("unified_cache_external_linker_backend") != "mooncake"
    ):
        ctx.fail("E14", M.LINKER_MLA_DEDUP)
    if not linker:
        return False
    # 0.5.23 checks the radix cache first; 0.5.21 does not check it at all.
    if ctx.new and (v.get("disable_radix_cache") or v.get("radix_cache_backend") is not None):
        ctx.fail("E14", M.LINKER_RADIX)
    if ctx.hicache:
        ctx.fail("E14", M.LINKER_HICACHE)
    if v.get("hicache_storage_backend") is not None:
        ctx.fail("E14", M.LINKER_STORAGE)
    return True


def _dynamic_linker_config(ctx: Ctx, config: object) -> None:
    """0.5.23 validates the ``dynamic`` linker's config object during resolution."""
    if not isinstance(config, dict):
        ctx.fail("E14", M.LINKER_CONFIG)
    flag = "--unified-cache-external-linker-config"
    unknown = config.keys() - {"linker", "linker_module_path", "linker_extra_config"}
    if unknown:
        ctx.fail("E14", f"{flag}: unknown fields: {sorted(unknown)}")
    for name in ("linker", "linker_module_path"):
        entry = config.get(name)
        if not isinstance(entry, str) or not entry.strip():
            ctx.fail("E14", f"{flag}: {name} must be a non-empty string.")
    if not isinstance(config.get("linker_extra_config", {}), dict):
        ctx.fail("E14", f"{flag}: linker_extra_config must be a JSON object.")


def _host_memory_mode(ctx: Ctx) -> None:
    """validate_hicache_host_memory_mode (E10, E8, E9b or R1, E9)."""
    v = ctx.v
    mode = v.get("hicache_host_memory_mode")
    if mode not in ("cache", "buffer_only"):
        ctx.fail("E10", f"hicache_host_memory_mode must be 'cache' or 'buffer_only', got {mode!r}")
    decode = v.get("disaggregation_mode") == "decode"
    if (v.get("hicache_size") or 0) <= 0 and v.get("hicache_ratio") is None and not decode:
        ctx.fail("E10", M.needs_pool_size(mode))
    if mode == "cache":
        return
    if v.get("hicache_storage_backend") is None:
        ctx.fail("E8", M.BUFFER_ONLY_NEEDS_STORAGE)
    if v.get("hicache_write_policy") == "write_back":
        if not ctx.new:
            ctx.fail("E9b", M.BUFFER_ONLY_WRITE_BACK_ERROR)
        ctx.set(
            "hicache_write_policy", "write_through", "R1", M.BUFFER_ONLY_WRITE_BACK_INFO, "INFO"
        )
    if decode:
        ctx.fail("E9", M.BUFFER_ONLY_DECODE)


def _layout_io(ctx: Ctx) -> None:
    """R3 then R4 on a live view: R4 sees what R3 wrote, so they never both fire."""
    v = ctx.v
    if v["hicache_mem_layout"] == "page_first_direct" and v["hicache_io_backend"] == "kernel":
        ctx.set("hicache_io_backend", "direct", "R3", M.KERNEL_IO_PFD)
    if v["hicache_mem_layout"] == "page_first" and v["hicache_io_backend"] == "direct":
        ctx.set("hicache_mem_layout", "page_first_direct", "R4", M.DIRECT_IO_PF)


def _storage_layout(ctx: Ctx) -> None:
    """R5: Mooncake / NPU MemCache cannot use layer_first (0.5.23 exempts Mooncake + DCP)."""
    v = ctx.v
    storage = v.get("hicache_storage_backend")
    if storage not in ("mooncake", "npu_memcache") or v["hicache_mem_layout"] != "layer_first":
        return
    if ctx.new and storage == "mooncake" and (v.get("dcp_size") or 1) > 1:
        return
    io = v["hicache_io_backend"]
    new_layout = {"direct": "page_first_direct", "kernel": "page_first"}.get(io, "layer_first")
    # Logged even when the layout stays (kernel_ascend).
    ctx.set("hicache_mem_layout", new_layout, "R5", M.storage_layer_first(new_layout, io))


def _dcp(ctx: Ctx) -> None:
    """resolve_hicache_dcp_compatibility (E13, R7)."""
    v = ctx.v
    dcp = v.get("dcp_size") or 1
    if dcp <= 1 or not ctx.hicache:
        return
    storage = v.get("hicache_storage_backend")
    if storage is not None:
        if not ctx.new:
            ctx.fail("E13", M.DCP_STORAGE_OLD, "NotImplementedError")
        if v.get("hicache_host_memory_mode") == "buffer_only":
            ctx.fail("E13", M.DCP_BUFFER_ONLY, "NotImplementedError")
    if v.get("speculative_algorithm") not in (None, "DSPARK"):
        ctx.fail("E13", M.DCP_SPEC, "NotImplementedError")
    if v.get("enable_lmcache"):
        ctx.fail("E13", M.DCP_LMCACHE, "NotImplementedError")
    if v.get("enable_hisparse"):
        ctx.fail("E13", M.DCP_HISPARSE, "NotImplementedError")
    mla = ctx.mla()
    if mla is None:
        ctx.note("model unknown: HiCache with --dcp-size > 1 requires an MLA model; not checked")
        return
    if not mla:
        ctx.fail("E13", M.DCP_MHA, "NotImplementedError")
    ctx.log(M.dcp_enabled(ctx.line, dcp))
