"""Exact SGLang texts of the attention-backend and page-size passes (§2.4), and the
GPU-generation gates.  Re-exported by :mod:`hicachectl.sglang.messages`.
"""

from __future__ import annotations

# ----------------------------------------------------------------- page size / attention backends
FLASHMLA_PAGE = "FlashMLA only supports a page_size of 64, change page_size to 64."


def trtllm_mla_page(p) -> str:
    return (
        f"TensorRT-LLM MLA only supports page_size of 32 or 64, changing page_size from {p} to 64."
    )


def tokenspeed_mla_page(p) -> str:
    return f"tokenspeed_mla only supports page_size of 32 or 64, changing page_size from {p} to 64."


def cutedsl_mla_page(p) -> str:
    return f"CuteDSL MLA only supports page_size of 32 or 64, changing page_size from {p} to 64."


def trtllm_mha_page(p) -> str:
    return (
        "TensorRT-LLM MHA only supports page_size of 16, 32, 64 or 128, changing page_size "
        f"from {p} to 64."
    )


def hpc_ops_page(p) -> str:
    return f"HPC-Ops attention only supports a page_size of 64, changing page_size from {p} to 64."


def fa4_page(p) -> str:
    return (
        "FA4 backend only supports page size 128 for non-MLA model architectures, changing "
        f"page_size from {p} to 128."
    )


def intel_xpu_page(mla: bool, p) -> str:
    sizes = [64, 128, 16, 32] if mla else [64, 128]  # SGLang's list order
    what = "Intel XPU attention backend for MLA" if mla else "Intel XPU attention backend"
    return f"{what} only supports page_sizes of {sizes}, changing page_size from {p} to 128."


def dsa_page(n: int) -> str:
    return f"Setting page size to {n} for DeepSeek DSA."


def dsv4_page(arch: str, n: int) -> str:
    return f"Use dsv4 attention backend for {arch}, setting page_size to {n}."


FA3_FP8 = (
    "FlashAttention3 only supports fp8_e4m3 if using FP8; Setting attention backend to triton."
)
TRTLLM_MLA_GPU = (
    "TRTLLM MLA backend is only supported on Blackwell GPUs (SM100/SM12x). Please use a "
    "different backend."
)
TRTLLM_MLA_KV_DTYPE = (
    "TensorRT-LLM MLA backend only supports kv-cache-dtype of fp8_e4m3, fp4_e2m1, bf16, or auto."
)
TOKENSPEED_MLA_GPU = "tokenspeed_mla backend is only supported on Blackwell GPUs (SM100/SM12x)."


def tokenspeed_kv_dtype(dtype: str) -> str:
    return f"tokenspeed_mla backend requires kv-cache-dtype=fp8_e4m3, got {dtype}."


CUTEDSL_DECODE_ONLY = "CuteDSL MLA only supports decoding for now"
CUTEDSL_GPU = (
    "CuteDSL MLA backend is only supported on Blackwell GPUs (SM100). Please use a different "
    "backend."
)
CUTEDSL_KV_DTYPE = "CuteDSL MLA backend only supports kv-cache-dtype of fp8_e4m3, bf16, or auto."
TRTLLM_MHA_PREFILL_GPU = (
    "TRTLLM MHA backend for prefill requires Hopper (SM90), Blackwell (SM100), or SM120 GPUs. "
    "Please use a different prefill backend."
)
TRTLLM_MHA_DECODE_GPU = (
    "TRTLLM MHA backend for decode is only supported on Hopper (SM90), Blackwell (SM100) and "
    "(SM120) GPUs. Please use a different decode backend."
)


# radix eviction policy (kv_cache_hook.handle_cache_compatibility)
def tlru_negative(threshold, estimate) -> str:
    return (
        "--radix-eviction-policy tlru requires non-negative 'threshold' and "
        "'next_prompt_estimate' in --radix-eviction-policy-config, got "
        f"{threshold} and {estimate}."
    )


def tlru_order(threshold, estimate) -> str:
    return (
        "--radix-eviction-policy tlru needs 'threshold' greater than 'next_prompt_estimate' in "
        f"--radix-eviction-policy-config, got {threshold} <= {estimate}; otherwise no tokens "
        "are ever TEL-safe and T-LRU is exactly LRU."
    )


__all__ = [
    "FLASHMLA_PAGE",
    "FA3_FP8",
    "TRTLLM_MLA_GPU",
    "TRTLLM_MLA_KV_DTYPE",
    "TOKENSPEED_MLA_GPU",
    "CUTEDSL_DECODE_ONLY",
    "CUTEDSL_GPU",
    "CUTEDSL_KV_DTYPE",
    "TRTLLM_MHA_PREFILL_GPU",
    "TRTLLM_MHA_DECODE_GPU",
    "trtllm_mla_page",
    "tokenspeed_mla_page",
    "cutedsl_mla_page",
    "trtllm_mha_page",
    "hpc_ops_page",
    "fa4_page",
    "intel_xpu_page",
    "dsa_page",
    "dsv4_page",
    "tokenspeed_kv_dtype",
    "tlru_negative",
    "tlru_order",
]
