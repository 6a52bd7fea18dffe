"""``--enable-unified-memory``: SGLang's ``handle_page_major_kv_layout`` then
``handle_unified_memory_pool`` (kv_cache_hook), in that order, both raising ``AssertionError``.

Covered: the attention-backend allow-list (per MHA/MLA), PD constraints (Mooncake only, no
PP, no speculative decoding with Mooncake, no HiSparse, decode offload to ``file`` on non-MLA
models), the speculative-algorithm and EAGLE-topk gates, two-batch overlap, LMCache, the linker
(0.5.23) and DCP.  Checks that need model details we do not carry (hybrid SWA/Mamba, EAGLE
draft pools, CUDA-graph backends) are left as notes.
"""

from __future__ import annotations

from hicachectl.sglang import messages_unified as U
from hicachectl.sglang.rules_base import Ctx

_AE = "AssertionError"


def unified_memory_pool(ctx: Ctx) -> None:
    v = ctx.v
    unified = bool(v.get("enable_unified_memory"))
    if not unified and not v.get("enable_page_major_kv_layout"):
        return
    if not unified:
        ctx.fail("E20", U.PAGE_MAJOR_NEEDS_UNIFIED, _AE)
    _page_major_backends(ctx)
    spec = v.get("speculative_algorithm")
    if v.get("disaggregation_mode") not in (None, "null"):
        _pd(ctx, spec)
    if spec not in (("DSPARK", "EAGLE", "EAGLE3", "DFLASH", None) if ctx.new else ("DSPARK", None)):
        ctx.fail("E20", U.spec_algorithm(ctx.new, spec), _AE)
    if ctx.new and v.get("speculative_eagle_topk") not in (None, 1):
        ctx.fail("E20", U.eagle_topk(v["speculative_eagle_topk"]), _AE)
    if spec is not None:
        ctx.note(
            "--enable-unified-memory with speculative decoding: SGLang checks the draft's "
            "backends and pools (model-dependent); not checked"
        )
        return
    if v.get("enable_two_batch_overlap"):
        ctx.fail("E20", U.TBO[ctx.line], _AE)
    if v.get("enable_lmcache"):
        ctx.fail("E20", U.LMCACHE, _AE)
    if ctx.new and v.get("enable_unified_cache_external_linker"):
        ctx.fail("E20", U.LINKER, _AE)
    if (v.get("dcp_size") or 1) > 1:
        _dcp(ctx)


def _pd(ctx: Ctx, spec: str | None) -> None:
    v = ctx.v
    backend = v.get("disaggregation_transfer_backend")
    if backend != "mooncake":
        ctx.fail("E20", U.pd_transfer(backend), _AE)
    if v.get("pp_size") != 1:
        ctx.fail("E20", U.PD_PP, _AE)
    if spec is not None:
        ctx.fail("E20", U.PD_SPEC, _AE)
    if v.get("enable_hisparse"):
        ctx.fail("E20", U.PD_HISPARSE, _AE)
    if v.get("disaggregation_decode_enable_offload_kvcache"):
        if v.get("hicache_storage_backend") != "file":
            ctx.fail("E20", U.OFFLOAD_FILE, _AE)
        mla = ctx.mla()
        if mla:
            ctx.fail("E20", U.OFFLOAD_MLA, _AE)
        if mla is None:
            ctx.note("model unknown: unified-memory decode offload refuses MLA models")


def _page_major_backends(ctx: Ctx) -> None:
    """The allow-list of attention backends for the unified (page-major) pool."""
    mla = ctx.mla()
    if mla is None:
        ctx.note("model unknown: the unified pool's attention-backend allow-list not checked")
        return
    if mla:
        allowed = U.PAGE_MAJOR_MLA[ctx.line]
    elif ctx.new and ctx.model is not None and _asymmetric_kv(ctx.model):
        allowed = U.PAGE_MAJOR_ASYMMETRIC
    else:
        allowed = U.PAGE_MAJOR_MHA
    prefill, decode = ctx.backends()
    if prefill is None or decode is None:
        ctx.note(
            "page-major KV layout: the default attention backend is GPU-dependent; SGLang "
            f"refuses it unless it is one of {allowed}; not checked"
        )
        return
    backends = sorted({prefill, decode})
    if not set(backends) <= set(allowed):
        ctx.fail("E20", U.page_major(ctx.line, backends, allowed), _AE)


def _asymmetric_kv(model: object) -> bool:
    k, vd = getattr(model, "head_dim", None), getattr(model, "v_head_dim", None)
    return bool(k and vd and k != vd)


def _dcp(ctx: Ctx) -> None:
    mla = ctx.mla()
    if mla is None:
        ctx.note("model unknown: unified memory with --dcp-size > 1 needs an MLA model")
        return
    if not mla:
        ctx.fail("E20", U.DCP_MLA, _AE)
    if ctx.v.get("disaggregation_mode") not in (None, "null"):
        ctx.fail("E20", U.DCP_PD, _AE)
    allowed = U.DCP_BACKENDS[ctx.line]
    prefill, decode = ctx.backends()
    if prefill is None or decode is None:
        ctx.note(f"unified memory + DCP: SGLang requires attention backends in {allowed}")
        return
    backends = sorted({prefill, decode})
    if not set(backends) <= set(allowed):
        ctx.fail("E20", U.dcp_backends(allowed, backends), _AE)
