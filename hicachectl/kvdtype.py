"""KV cache dtypes: bytes per element (block scales included) and what SGLang 0.5.23
resolves ``--kv-cache-dtype auto`` to.

Low-bit KV dtypes carry block scales: ``nvfp4`` and ``fp4_mx_block16`` 4 bits per element
plus a 1-byte scale per 16 elements, ``mxfp8`` 1 byte plus a 1-byte scale per 32.  These
follow the block formats; they are not checked against an SGLang run.
"""

from __future__ import annotations

import math

from hicachectl.errors import UsageError
from hicachectl.models import ModelFacts

# KV dtype → (bits per element, elements per 1-byte scale or 0 for none)
_KV_FORMATS: dict[str, tuple[int, int]] = {
    "fp8_e4m3": (8, 0),
    "fp8_e5m2": (8, 0),
    "fp8": (8, 0),
    "mxfp8": (8, 32),
    "bf16": (16, 0),
    "bfloat16": (16, 0),
    "float16": (16, 0),
    "half": (16, 0),
    "float32": (32, 0),
    "nvfp4": (4, 16),
    "fp4_mx_block16": (4, 16),
}


def kv_format(kv_cache_dtype: str, model_dtype: str) -> tuple[int, int]:
    name = (kv_cache_dtype or "auto").lower()
    if name == "auto":
        # SGLang serves float32 checkpoints in half precision, so their KV is 2 bytes too.
        name = "float16" if model_dtype in ("float32", "float") else model_dtype
    if name not in _KV_FORMATS:
        raise UsageError(f"--kv-cache-dtype: unknown KV cache dtype '{kv_cache_dtype}'")
    return _KV_FORMATS[name]


def dtype_bytes(kv_cache_dtype: str = "auto", model_dtype: str = "bfloat16") -> float:
    """Bytes per KV element (scales included): auto → model dtype; fp8 → 1; fp4 → 0.5625."""
    bits, per_scale = kv_format(kv_cache_dtype, model_dtype)
    return bits / 8 + (1 / per_scale if per_scale else 0)


def gpu_sm_major(gpu_name: str | None) -> int | None:
    """Compute-capability major of a GPU from its NVML name (None when unknown)."""
    name = (gpu_name or "").upper()
    if any(t in name for t in ("B200", "B100", "B300", "GB200", "GB300")):
        return 10
    if "BLACKWELL" in name or "RTX 50" in name:
        return 12
    if any(t in name for t in ("H100", "H200", "H800", "H20", "GH200")):
        return 9
    if any(t in name for t in ("L40", "L4", "RTX 40", "ADA")):
        return 8  # 8.9
    if any(t in name for t in ("A100", "A800", "A10", "A30", "A40", "A6000")):
        return 8
    return None


def effective_kv_cache_dtype(
    facts: ModelFacts, kv_cache_dtype: str = "auto", *, gpu_name: str | None = None
) -> str:
    """The KV dtype SGLang 0.5.23 resolves ``--kv-cache-dtype`` to for this model.

    DeepSeek DSA models turn ``auto`` into ``fp8_e4m3`` on SM100 and newer (Blackwell) and
    into ``bfloat16`` below (``arg_groups/overrides.py``); every other ``auto`` stays the
    model dtype, which :func:`dtype_bytes` applies.
    """
    requested = (kv_cache_dtype or "auto").lower()
    if requested == "bf16":
        return "bfloat16"
    if requested != "auto" or facts.attention != "dsa":
        return requested
    major = gpu_sm_major(gpu_name)
    return "fp8_e4m3" if major is not None and major >= 10 else "bfloat16"


def row_bytes(elements: int, fmt: tuple[int, int]) -> int:
    bits, per_scale = fmt
    return elements * bits // 8 + (math.ceil(elements / per_scale) if per_scale else 0)
