"""Model overrides and the attention-backend / page-size passes that run before HiCache.

Reproduces ``reference/sglang-hicache.md`` §2.4: the DeepSeek DSA / V4 page sizes, the
per-backend page-size snaps (flashmla, trtllm_mla, tokenspeed_mla, cutedsl_mla, trtllm_mha,
hpc_ops, fa4, intel_xpu), the GPU-generation gates, the FA3 + fp8_e5m2 fallback to triton
and the page-size default, in SGLang's order.  GPU-dependent outcomes are decided only when
the caller names the target's SM version; otherwise they become notes.
"""

from __future__ import annotations

from hicachectl.sglang import messages as M
from hicachectl.sglang.rules_base import Ctx

_DSV4_ARCHS = ("DeepseekV4ForCausalLM",)
_STEP3P_PREFIXES = ("Step3p5", "Step3p7")


def model_overrides(ctx: Ctx) -> None:
    """handle_model_specific_adjustments: model-driven page sizes and HiCache refusals."""
    m = ctx.model
    if m is None:
        ctx.note(
            "model unknown: model-specific overrides (DeepSeek DSA/V4 page size, DSA DCP, "
            "Step3p SWA reset, MiniCPM SALA) not applied"
        )
    else:
        arch = m.architecture
        if arch in _DSV4_ARCHS:
            # 256 is the CUDA value; SGLang uses 128 on some platforms we do not target.
            ctx.set("attention_backend", "dsv4", "P-dsv4", M.dsv4_page(arch, 256), log=False)
            ctx.set("page_size", 256, "P-dsv4", M.dsv4_page(arch, 256))
        elif m.attention == "dsa":
            _dsa(ctx)
        if ctx.hicache and arch.startswith(_STEP3P_PREFIXES):
            ctx.set("swa_full_tokens_ratio", 1.0, "R10", M.step3p_ratio(arch))
            ctx.set("disable_hybrid_swa_memory", True, "R10", M.step3p_hybrid(arch))
        if ctx.hicache and arch.startswith("MiniCPM") and "SALA" in arch.upper():
            ctx.fail("E16", M.MINICPM_SALA)


def _dsa(ctx: Ctx) -> None:
    """DeepSeek DSA overrides: DCP refusals (0.5.23), page size 64, KV-cache dtype."""
    v = ctx.v
    if ctx.new and (v.get("dcp_size") or 1) > 1:  # before the page-size line, as in 0.5.23
        if ctx.hicache or v.get("enable_hisparse"):
            ctx.fail("E15", M.DSA_DCP)
        if v.get("disaggregation_mode") not in (None, "null"):
            ctx.fail("E15", M.DSA_DCP_PD)
        if v.get("speculative_eagle_topk") not in (None, 1):
            ctx.fail("E15", M.DSA_DCP_TOPK)
    # 64 * the model's index_kpool in 0.5.23; configs without index_kpool (all released
    # DSA models) pool 1.
    ctx.set("page_size", 64, "P-dsa", M.dsa_page(64))
    dtype = v.get("kv_cache_dtype")
    if dtype == "auto":
        if ctx.gpu_sm is None:
            _gpu_note(ctx, "DeepSeek DSA default KV-cache dtype (bfloat16 before SM100)")
            return
        dtype = "fp8_e4m3" if ctx.gpu_sm >= 100 else "bfloat16"
    if dtype == "bf16":
        dtype = "bfloat16"
    if dtype not in ("bfloat16", "fp8_e4m3"):
        ctx.fail("P-dsa", M.DSA_KV_DTYPE, "AssertionError")
    ctx.set("kv_cache_dtype", dtype, "P-dsa")


def _uses(ctx: Ctx, backend: str, *fields: str) -> bool:
    return any(ctx.v.get(f) == backend for f in fields)


_AD = ("attention_backend", "decode_attention_backend")
_ADP = _AD + ("prefill_attention_backend",)


def _gpu_note(ctx: Ctx, what: str) -> None:
    ctx.note(f"GPU unknown: {what} not checked (pass the target GPU's SM version)")


def attention_backends(ctx: Ctx) -> None:
    """handle_attention_backend_compatibility and the page-size post passes."""
    v = ctx.v
    pre, dec = v.get("prefill_attention_backend"), v.get("decode_attention_backend")
    if pre is not None and pre == dec:
        ctx.set("attention_backend", pre, "A-default")
    elif v.get("attention_backend") is None:
        ctx.note(
            "attention backend not given: SGLang picks a GPU- and model-dependent default "
            "(e.g. fa3, flashinfer, trtllm_mha, trtllm_mla), which may also force page_size; "
            "attention_backend left unset"
        )

    named = {v.get(f) for f in _ADP}
    named.add(v.get("speculative_draft_attention_backend"))
    if named != {None}:  # the common case names no backend: nothing to snap or gate
        _page_snaps(ctx)
        _platform_gates(ctx)

    if v.get("attention_backend") == "fa3" and v.get("kv_cache_dtype") == "fp8_e5m2":
        ctx.set("attention_backend", "triton", "A-fa3-fp8", M.FA3_FP8)

    if _uses(ctx, "fa4", *_ADP):
        mla, major = ctx.mla(), ctx.sm_major()
        topk_ok = (v.get("speculative_eagle_topk") or 0) <= 1
        if mla is None or major is None:
            ctx.note("fa4: page size 128 is forced for non-MLA models on SM100; not decided")
        elif not mla and major == 10 and topk_ok:
            ctx.set("page_size", 128, "P-fa4", M.fa4_page(v.get("page_size")))

    if "intel_xpu" in ctx.backends():  # prefill or decode
        mla = ctx.mla()
        sizes = (16, 32, 64, 128) if mla else (64, 128)
        if mla is None and v.get("page_size") in (16, 32):
            ctx.note("model unknown: intel_xpu page-size rule differs for MLA; not decided")
        elif v.get("page_size") not in sizes:
            ctx.set(
                "page_size", 128, "P-intel_xpu", M.intel_xpu_page(bool(mla), v.get("page_size"))
            )

    # mamba_hook.handle_int8_mamba_checkpoint runs after the backend checks, before the default.
    if ctx.hicache and v.get("enable_int8_mamba_checkpoint"):
        ctx.fail("E17", M.INT8_MAMBA)
    if v.get("page_size") is None:
        ctx.set("page_size", 1, "P-default")  # CUDA default; MUSA/HIP differ

    if v.get("kv_cache_dtype") == "nvfp4" and v.get("attention_backend") == "trtllm_mha":
        if ctx.hicache or v.get("enable_lmcache"):
            if ctx.gpu_sm is None:
                _gpu_note(ctx, "SM100 native NVFP4 with trtllm_mha vs HiCache (E18)")
            elif ctx.sm_major() == 10:
                ctx.fail("E18", M.KV4_TRTLLM_MHA)


def _page_snaps(ctx: Ctx) -> None:
    """_mla_backend_page_constraints: the snaps chain on one running page size."""
    v = ctx.v
    if _uses(ctx, "flashmla", *_AD):
        ctx.set("page_size", 64, "P-flashmla", M.FLASHMLA_PAGE)  # logged even when already 64
    if _uses(ctx, "trtllm_mla", *_AD) and v.get("page_size") not in (32, 64):
        ctx.set("page_size", 64, "P-trtllm_mla", M.trtllm_mla_page(v.get("page_size")))
    if _uses(ctx, "tokenspeed_mla", *_AD) and v.get("page_size") not in (32, 64):
        ctx.set("page_size", 64, "P-tokenspeed_mla", M.tokenspeed_mla_page(v.get("page_size")))
    if _uses(ctx, "cutedsl_mla", *_ADP) and v.get("page_size") not in (32, 64):
        ctx.set("page_size", 64, "P-cutedsl_mla", M.cutedsl_mla_page(v.get("page_size")))
    if _uses(ctx, "trtllm_mha", *_ADP, "speculative_draft_attention_backend") and v.get(
        "page_size"
    ) not in (16, 32, 64, 128):
        ctx.set("page_size", 64, "P-trtllm_mha", M.trtllm_mha_page(v.get("page_size")))
    if _uses(ctx, "hpc_ops", *_ADP) and v.get("page_size") != 64:
        ctx.set("page_size", 64, "P-hpc_ops", M.hpc_ops_page(v.get("page_size")))


_MLA_KV_OK = ("fp8_e4m3", "fp4_e2m1", "bf16", "auto")


def _platform_gates(ctx: Ctx) -> None:
    """GPU-generation gates and backend kv-dtype checks (after the page snaps)."""
    v, major = ctx.v, ctx.sm_major()
    blackwell = major in (10, 12)
    if _uses(ctx, "trtllm_mla", *_AD):
        if major is None:
            _gpu_note(ctx, "TRTLLM MLA needs a Blackwell GPU (SM100/SM12x)")
        elif not blackwell:
            ctx.fail("G-trtllm_mla", M.TRTLLM_MLA_GPU)
        if v.get("kv_cache_dtype") not in _MLA_KV_OK:
            ctx.fail("G-trtllm_mla", M.TRTLLM_MLA_KV_DTYPE)
    if _uses(ctx, "tokenspeed_mla", *_AD):
        if major is None:
            _gpu_note(ctx, "tokenspeed_mla needs a Blackwell GPU (SM100/SM12x)")
        elif not blackwell:
            ctx.fail("G-tokenspeed_mla", M.TOKENSPEED_MLA_GPU)
        if v.get("kv_cache_dtype") != "fp8_e4m3":
            ctx.fail("G-tokenspeed_mla", M.tokenspeed_kv_dtype(v.get("kv_cache_dtype")))
    if _uses(ctx, "cutedsl_mla", *_ADP):
        if v.get("prefill_attention_backend") == "cutedsl_mla":
            ctx.fail("G-cutedsl_mla", M.CUTEDSL_DECODE_ONLY, "AssertionError")
        if major is None:
            _gpu_note(ctx, "CuteDSL MLA needs an SM100 GPU")
        elif major != 10:
            ctx.fail("G-cutedsl_mla", M.CUTEDSL_GPU)
        if v.get("kv_cache_dtype") not in ("fp8_e4m3", "bf16", "bfloat16", "auto"):
            ctx.fail("G-cutedsl_mla", M.CUTEDSL_KV_DTYPE)
        if v.get("prefill_attention_backend") is None:
            ctx.set("prefill_attention_backend", "trtllm_mla", "A-cutedsl-prefill")
    prefill, decode = ctx.backends()
    for side, backend, message in (
        ("prefill", prefill, M.TRTLLM_MHA_PREFILL_GPU),
        ("decode", decode, M.TRTLLM_MHA_DECODE_GPU),
    ):
        if backend != "trtllm_mha":
            continue
        if major is None:
            _gpu_note(ctx, f"TRTLLM MHA for {side} needs SM90, SM100 or SM120")
        elif major not in (9, 10, 12):
            ctx.fail("G-trtllm_mha", message)
