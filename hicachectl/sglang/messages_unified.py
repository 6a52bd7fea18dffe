"""Exact texts of SGLang's unified-memory / page-major assertions (0.5.21 = OLD, 0.5.23 = NEW)."""

from __future__ import annotations

from hicachectl.sglang.messages import NEW, OLD

_UM = "--enable-unified-memory"
PAGE_MAJOR_MLA = {
    OLD: ["cutedsl_mla", "fa3", "flashinfer", "flashmla", "tokenspeed_mla", "triton", "trtllm_mla"],
    NEW: ["cutedsl_mla", "fa3", "flashinfer", "flashmla", "triton", "trtllm_mla"],
}
PAGE_MAJOR_MHA = ["fa3", "fa4", "flashinfer", "triton", "trtllm_mha"]
PAGE_MAJOR_ASYMMETRIC = ["fa3", "fa4", "triton"]  # 0.5.23: K/V rows of different widths
PAGE_MAJOR_NEEDS_UNIFIED = (
    "--enable-page-major-kv-layout without --enable-unified-memory is temporarily unsupported: "
    "the strided MHA K/V views were removed and the static-pool page-major layout awaits its "
    "per-layer-view reimplementation. Run with --enable-unified-memory, or drop "
    "--enable-page-major-kv-layout."
)


def page_major(version: str, backends: list[str], allowed: list[str]) -> str:
    tail = (
        " (unified memory allows the per-layer-view families; plain page-major keeps the "
        "envelope-strided views only Triton reads)"
        if version == OLD
        else ""
    )
    return (
        f"--enable-page-major-kv-layout: the resolved attention backends {backends} are not in "
        f"the allowed set {allowed} for this configuration{tail}. Pass a compatible "
        "--attention-backend."
    )


def pd_transfer(backend: str | None) -> str:
    return (
        f"{_UM} with PD disaggregation supports only these transfer backends: mooncake; got "
        f"{backend!r}."
    )


PD_PP = (
    f"{_UM} with PD disaggregation does not support pipeline parallelism (whole-envelope "
    "transfer has no per-layer entries to subset)."
)
PD_SPEC = (
    f"{_UM} with PD disaggregation does not support speculative decoding with the Mooncake "
    "transfer backend."
)
PD_HISPARSE = (
    f"{_UM} with PD disaggregation is not compatible with --enable-hisparse: the decode-side "
    "HiSparse prealloc path ships host/C4 rows straight from the allocator, bypassing the "
    "virtual->physical translation the unified pool needs."
)
OFFLOAD_FILE = (
    f"{_UM} with decode KV offload currently supports --hicache-storage-backend=file only."
)
OFFLOAD_MLA = f"{_UM} decode KV offload does not support MLA models yet."


def spec_algorithm(new: bool, algorithm: str | None) -> str:
    if new:
        head = (
            "DSPARK, DFLASH, EAGLE and EAGLE3; other speculative algorithms are not yet audited "
            "for the unified pool's virtual-to-physical loc translation."
        )
    else:
        head = (
            "DSPARK (chain draft); other speculative algorithms are not yet audited for the "
            "unified pool's virtual/kernel-facing loc translation."
        )
    return f"{_UM} only supports --speculative-algorithm {head} Got --speculative-algorithm={algorithm!r}."


def eagle_topk(topk: object) -> str:
    return (
        f"{_UM} supports a linear draft chain only (--speculative-eagle-topk in {{None, 1}}); "
        "tree verify relocates accepted tokens one at a time inside the target pool, which the "
        f"unified pool's page-granular move_kv_cache cannot express. Got --speculative-eagle-topk={topk!r}."
    )


TBO = {
    OLD: (
        f"{_UM} does not support --enable-two-batch-overlap: TBO's replay split hands each child "
        "a view without the pre-translate write loc, so a captured decode replay raises. "
        "TODO(ch-wan): carry out_cache_loc_virtual into the child view."
    ),
    NEW: (
        f"{_UM} does not support --enable-two-batch-overlap: the iteration's read tables are "
        "indexed by the whole batch's rows, and a TBO child's readers do not offset into them."
    ),
}
LMCACHE = (
    f"{_UM} is not yet compatible with --enable-lmcache: the LMCache offload path indexes the "
    "device buffers with the ids it is handed, and under the unified pool those are VIRTUAL."
)
LINKER = (
    f"{_UM} does not support --enable-unified-cache-external-linker: direct L3 transfers do "
    "not preserve unified page-envelope indices and compaction lifetimes. Use "
    "--enable-hierarchical-cache for supported L2/L3 transfers."
)
_DCP = f"{_UM} with decode context parallelism (--dcp-size > 1)"
DCP_MLA = (
    f"{_DCP} supports MLA models only (e.g. kimi-linear): the MHA unified pool has no "
    "DCP-aware masked write path (UnifiedMHATokenToKVPool.set_kv_buffer asserts dcp_kv_mask is "
    "None)."
)
DCP_PD = (
    f"{_DCP} does not support PD disaggregation: the transfer ships whole page envelopes, which "
    "under DCP hold only this rank's shard of each widened page. Rejected here rather than at "
    "the first KV transfer, where translate_kv_indices_for_transfer would abort a server that "
    "had already booted."
)
DCP_BACKENDS = {
    OLD: ["cutedsl_mla", "flashinfer", "tokenspeed_mla", "trtllm_mla"],
    NEW: ["cutedsl_mla", "flashinfer", "trtllm_mla"],
}


def dcp_backends(allowed: list[str], backends: list[str]) -> str:
    return (
        f"{_DCP} requires {allowed} for the full-attention layers; got {backends}. The other "
        "paged MLA backends build their block table from raw (widened) req_to_token page ids "
        "and do not translate them through the unified pool's virtual->physical page table."
    )
