"""Exact SGLang start-up texts (log lines and exception messages), per release line.

Every string here is what SGLang prints or raises, character for character; the rule modules
only decide *when*.  Where 0.5.21 and 0.5.23 differ, both texts live side by side and
:func:`semantics` picks the release line.  Sources: ``reference/sglang-hicache.md`` §2 and
the conformance records (``shared/conformance/resolve.jsonl``).
"""

from __future__ import annotations

import re
from functools import lru_cache

from hicachectl.sglang.messages_backends import *  # noqa: F403  (page-size / backend texts)

OLD, NEW = "0.5.21", "0.5.23"


@lru_cache(maxsize=64)
def semantics(version: str) -> str:
    """The release line whose rules apply: ``0.5.23`` from 0.5.23 on, else ``0.5.21``."""
    parts: list[int] = []
    for p in str(version).split(".")[:3]:
        digits = re.match(r"\d+", p)
        parts.append(int(digits.group()) if digits else 0)
    while len(parts) < 3:
        parts.append(0)
    return NEW if tuple(parts) >= (0, 5, 23) else OLD


# The conformance capture keeps INFO+ lines that mention one of these (case-insensitive).
_RELEVANT = re.compile(
    r"hicache|hierarchical|layout|io backend|page_size|page size|radix|buffer_only|switching"
    r"|flashattention|retraction|write_back|write_through|host pool|lmcache",
    re.IGNORECASE,
)


def relevant(line: str) -> bool:
    return _RELEVANT.search(line) is not None


# ----------------------------------------------------------------- ratio / host memory mode
FRACTION_RANGE = "--hicache-host-memory-fraction must be in (0, 1]."
BUFFER_ONLY_NEEDS_STORAGE = (
    "--hicache-host-memory-mode buffer_only requires a storage backend "
    "(--hicache-storage-backend): host memory is only a staging buffer "
    "and all cached data lives in storage."
)
BUFFER_ONLY_WRITE_BACK_ERROR = (  # 0.5.21 only
    "--hicache-host-memory-mode buffer_only does not support "
    "--hicache-write-policy write_back; use write_through or write_through_selective."
)
BUFFER_ONLY_WRITE_BACK_INFO = (  # 0.5.23: rewrite instead of the error
    "--hicache-host-memory-mode buffer_only resolves --hicache-write-policy write_back "
    "to write_through"
)
BUFFER_ONLY_DECODE = (
    "--hicache-host-memory-mode buffer_only is not supported on decode instances: the "
    "decode-side prefetch and offload paths bypass the buffer-mode pipeline, fetching "
    "without its prefix context and never consuming its staged holds. Prefill instances "
    "share the standard scheduler path and are supported."
)


def needs_pool_size(mode: str) -> str:
    return (
        f"--hicache-host-memory-mode {mode} requires a host pool size: pass --hicache-size "
        "or --hicache-ratio."
    )


# ----------------------------------------------------------------- layout / io / storage
KERNEL_IO_PFD = (
    "Kernel io backend does not support page first direct layout, switching to direct io backend"
)
DIRECT_IO_PF = (
    "Page first layout is not supported with direct IO backend, switching to page first "
    "direct layout"
)


def storage_layer_first(new_layout: str, io_backend: str) -> str:
    return (
        "Mooncake/Ascend MemCache storage backend does not support layer_first layout, "
        f"switching to {new_layout} layout for {io_backend} io backend"
    )


UNIFIED_MEMORY_LAYOUT = (
    "--enable-unified-memory: the direct io backend cannot copy the unified pool's strided "
    "KV rows, switching to the page_first layout with the kernel io backend"
)


def decode_layout_conflict(layout: str) -> str:
    return (
        f"The resolved HiCache storage layout {layout!r} cannot share the layer_first decode "
        "host pool used by KV transfer"
    )


# ----------------------------------------------------------------- DCP
def dcp_enabled(version: str, dcp_size: int) -> str:
    head = "HiCache + DCP enabled (L1/L2 only): " if version == OLD else "HiCache + DCP enabled: "
    return (
        head + "host pool uses widened logical slot accounting with per-rank physical "
        f"translation at the transfer boundary (dcp_size={dcp_size})."
    )


DCP_STORAGE_OLD = (
    "--hicache-storage-backend (L3) with --dcp-size > 1 is not supported yet: under DCP each "
    "rank holds a distinct interleaved MLA KV shard, so the rank-0-only replicated-MLA backup "
    "and the storage keys must become dcp_rank-aware first. Run HiCache+DCP with L1/L2 only."
)
DCP_BUFFER_ONLY = "HiCache L3 with DCP does not support buffer_only host memory."
DCP_SPEC = (
    "HiCache with --dcp-size > 1 only supports DSPARK speculative decoding; other draft-model "
    "host pools have no DCP index translation."
)
DCP_LMCACHE = (
    "--enable-lmcache with --dcp-size > 1 is not supported: LMCache has no DCP-aware index "
    "translation."
)
DCP_HISPARSE = (
    "--enable-hisparse with --dcp-size > 1 is not supported: the HiSparse host pool is "
    "constructed without DCP translation."
)
DCP_MHA = (
    "HiCache with --dcp-size > 1 is only supported for MLA models: the index translation "
    "lives in MLATokenToKVPoolHost, and the MHA host pool has none."
)
DSA_DCP = "DSA DCP does not support HiSparse or HiCache."
DSA_DCP_PD = "DSA DCP does not support PD disaggregation."
DSA_DCP_TOPK = "DSA DCP requires --speculative-eagle-topk 1."
DSA_KV_DTYPE = "DeepSeek DSA only supports bf16/bfloat16 or fp8_e4m3 kv_cache_dtype"

# ----------------------------------------------------------------- linker
LINKER_CONFIG = "--unified-cache-external-linker-config must be a JSON object."
LINKER_MLA_DEDUP = "--enable-linker-mla-dedup requires the Mooncake linker."
LINKER_HICACHE = (
    "--enable-unified-cache-external-linker and --enable-hierarchical-cache are mutually exclusive."
)
LINKER_STORAGE = "--enable-unified-cache-external-linker does not use --hicache-storage-backend."
LINKER_RADIX = (  # 0.5.23 only
    "--enable-unified-cache-external-linker requires the default UnifiedRadixCache with "
    "radix caching enabled."
)

# ----------------------------------------------------------------- PD disaggregation
RADIX_DISABLED_DECODE = "Radix cache is disabled for decode server"  # 0.5.23
CHUNK_CACHE_DECODE = "KV cache is forced as chunk cache for decode server"  # 0.5.21
RADIX_ENABLED_DECODE = "EXPERIMENTAL: Radix cache is enabled for decode server"
DECODE_RADIX_DP = (
    "EXPERIMENTAL: Decode radix cache with DP attention. Requires prefix-aware DP rank "
    "routing for optimal cache hits."
)
DECODE_RADIX_HISPARSE = (
    "--disaggregation-decode-enable-radix-cache is incompatible with --enable-hisparse"
)
DECODE_RADIX_FAKE = (
    "--disaggregation-decode-enable-radix-cache is incompatible with "
    "--disaggregation-transfer-backend fake"
)


def decode_radix_spec(algorithm: str) -> str:
    return (
        "--disaggregation-decode-enable-radix-cache is incompatible with speculative decoding "
        f"(--speculative-algorithm {algorithm})"
    )


PREFILL_DCP = (
    "DCP on a PD prefill server is supported when prefill and decode use the same DCP "
    "layout, but it usually adds communication overhead without improving prefill performance."
)


def decode_dcp_transfer(backend: str | None, new: bool) -> str:
    allowed = "mooncake, nixl, mori, ascend, or fake" if new else "mooncake, nixl, or fake"
    return (
        f"PD decode DCP requires --disaggregation-transfer-backend {allowed} for synthetic "
        f"benchmarking, got {backend!r}."
    )


PREFILL_COMPLETE = (
    "--disaggregation-decode-allocation-policy prefill_complete does not yet support "
)
HOST_RECEIVE_UNSUPPORTED = "Decode host receive does not yet support HiSparse or role switching"
THRESHOLD_RANGE = "--disaggregation-decode-host-receive-threshold must be between 0 and 1"
THRESHOLD_CPU_TENSOR = "Decode host KV buffering requires host_pool retraction"

# ----------------------------------------------------------------- cache compatibility
HOST_POOL_NOT_DECODE = (
    "--disaggregation-decode-retraction-backup=host_pool is only supported on a PD decode server."
)
HOST_POOL_DCP = (
    "--disaggregation-decode-retraction-backup=host_pool does not support --dcp-size > 1."
)
HOST_POOL_PRIORITY = (
    "--disaggregation-decode-retraction-backup=host_pool requires --disable-priority-preemption "
    "when priority scheduling is enabled."
)
HICACHE_NO_RADIX = (
    "The arguments enable-hierarchical-cache and disable-radix-cache are mutually exclusive "
    "and cannot be used at the same time. Please use only one of them."
)
LMCACHE_HICACHE = "--enable-lmcache and --enable-hierarchical-cache are mutually exclusive"
LMCACHE_LINKER = (
    "--enable-lmcache and --enable-unified-cache-external-linker are mutually exclusive"
)
LMCACHE_RADIX = "--enable-lmcache requires radix cache to be enabled"
LMCACHE_SPEC = "LMCacheUnifiedRadixCache does not yet support speculative decoding"
LMCACHE_DP = "LMCacheUnifiedRadixCache does not yet support DP attention"
LMCACHE_DCP = (
    "--enable-lmcache with --dcp-size > 1 is not supported: LMCache has no DCP-aware index "
    "translation"
)
LMCACHE_STREAMING = "LMCacheUnifiedRadixCache does not yet support streaming sessions"
LMCACHE_BUFFER_ONLY = "--hicache-host-memory-mode=buffer_only is a HiCache-only mode"
LMCACHE_PD = "LMCacheUnifiedRadixCache currently supports colocated prefill/decode scheduling only"
OFFLOAD_NOT_DECODE = (
    "The argument disaggregation-decode-enable-offload-kvcache is only supported for decode side."
)
OFFLOAD_NO_STORAGE = (
    "The argument disaggregation-decode-enable-offload-kvcache is only supported when "
    "hicache-storage-backend is provided."
)
OFFLOAD_HOST_POOL = (
    "The arguments disaggregation-decode-enable-offload-kvcache and "
    "disaggregation-decode-retraction-backup=host_pool are mutually exclusive: both build a "
    "decode host pool."
)
INT8_MAMBA = (
    "--enable-int8-mamba-checkpoint is not supported together with --enable-hierarchical-cache: "
    "the host-offload path is not int8-aware. Disable one of them."
)
MINICPM_SALA = "MiniCPM SALA does not support hierarchical cache"
KV4_TRTLLM_MHA = (
    "SM100 native NVFP4 with trtllm_mha does not yet support hierarchical KV cache or LMCache "
    "because their host pools do not preserve the physical block-scale layout."
)
KV_SHARDING_PREFILL_ONLY = (
    "--enable-kv-cache-sharding is only supported on PD prefill workers: a rank's pool holds "
    "only its stripe of every cached page, which is incompatible with local decode."
)
CP_DSA_MODE = "CP-sharded DSA HiCache requires host memory mode cache"
CP_DSA_IO = "CP-sharded DSA HiCache requires kernel I/O with layer_first or page_first"
# ----------------------------------------------------------------- model overrides / other
DLLM_NO_HICACHE = "Hierarchical cache is disabled because of using diffusion LLM inference"
OPTIMISTIC_PREFILL = (
    "Optimistic prefill supports L2 write-back/write-through or L3 buffer-only write-through "
    "hierarchical cache"
)


def step3p_ratio(arch: str) -> str:
    return f"Reset swa_full_tokens_ratio to 1.0 for {arch} model with hierarchical cache"


def step3p_hybrid(arch: str) -> str:
    return f"Disable hybrid SWA memory for {arch} model with hierarchical cache"
