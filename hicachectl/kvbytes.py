"""KV-cache bytes per token per rank, exactly as SGLang 0.5.23 computes its cell size.

Reference: ``sglang-hicache.md`` §3.1 (device cell size) and §3.5 (host ``size_per_token``,
which equals the device cell size for MHA and MLA).  Pure arithmetic on ModelFacts.

* MHA/GQA: ``max(1, kv_heads // (attn_tp // dcp)) × (head_dim + v_head_dim) × layers × dtype``
  with ``attn_tp = tp // attn_dp``;
* MLA: ``(kv_lora_rank + qk_rope_head_dim) × layers × dtype`` — not split over TP, so every
  rank holds (and HiCache pins) a full copy;
* DSA with an FP8 KV cache: ``kv_lora_rank + kv_lora_rank/128·4 + qk_rope_head_dim·2`` = 656
  bytes per layer; the indexer's host pool comes on top (:func:`indexer_bytes_per_token`),
  132 bytes per layer and token for DeepSeek V3.2.

Host versus device: :func:`kv_bytes_per_token` is the host pool's ``size_per_token`` (what
``--hicache-size`` is divided by); :func:`device_cell_bytes_per_token` is the device pool's
cell, which for DSA also holds the indexer keys (``+ 132 × layers × dcp``) and for hybrid SWA
models prices both pools per full-attention token.

PP splits layers as SGLang's ``distributed/utils.py::get_pp_indices`` (0.5.21 and 0.5.23):
every stage gets ``layers // pp`` and the *last* ``layers % pp`` stages one more.  Functions
return the numbers of the stage with the most layers (its pool is the smallest, and PP's
all-reduce MIN gives every stage that token count), unless ``pp_rank`` is given.

KV dtypes (bytes per element, block scales, SGLang's ``auto``) are in :mod:`hicachectl.kvdtype`.
"""

from __future__ import annotations

from typing import NamedTuple

from hicachectl.errors import InputError, UsageError
from hicachectl.kvdtype import kv_format, row_bytes
from hicachectl.models import ModelFacts

INDEX_QUANT_BLOCK = 128  # one fp32 scale per 128 indexer elements


def pp_layer_split(num_layers: int, pp: int) -> list[int]:
    """Layers per PP stage, SGLang's split (the last ``num_layers % pp`` stages get one more)."""
    if pp < 1:
        raise UsageError(f"--pp-size must be at least 1, got {pp}")
    if pp > num_layers:
        raise UsageError(f"--pp-size {pp} exceeds the model's {num_layers} layers")
    base, extra = divmod(num_layers, pp)
    return [base + (rank >= pp - extra) for rank in range(pp)]


def _stage_layers(layers: int, pp: int, pp_rank: int | None) -> int:
    parts = pp_layer_split(layers, pp)
    if pp_rank is None:
        return max(parts)
    if not 0 <= pp_rank < pp:
        raise UsageError(f"pp_rank {pp_rank} out of range for --pp-size {pp}")
    return parts[pp_rank]


def _refuse_hybrid(facts: ModelFacts) -> None:
    if facts.hybrid == "swa":
        full = facts.num_layers - facts.num_swa_layers
        detail = f"{full} full-attention + {facts.num_swa_layers} sliding-window layers"
    elif facts.hybrid == "mamba":
        full = facts.num_layers - facts.num_linear_layers
        detail = f"{full} attention + {facts.num_linear_layers} Mamba/linear-attention layers"
    else:
        return
    raise InputError(
        f"model '{facts.name or facts.source}' is a hybrid {facts.hybrid.upper()} model "
        f"({detail}): SGLang sizes a separate pool per layer kind, which hicachectl does not "
        "plan yet; size it by hand from the per-pool figures"
    )


def _check_parallel(tp: int, dcp: int, attn_dp: int) -> int:
    if tp < 1 or dcp < 1 or attn_dp < 1:
        raise UsageError("--tp-size, --dcp-size and --attn-dp-size must be at least 1")
    if tp % attn_dp:
        raise UsageError(f"--tp-size {tp} is not divisible by --attn-dp-size {attn_dp}")
    attn_tp = tp // attn_dp
    if attn_tp % dcp:
        raise UsageError(f"attention TP size {attn_tp} is not divisible by --dcp-size {dcp}")
    return attn_tp


def _per_layer(facts: ModelFacts, attn_tp: int, dcp: int, fmt: tuple[int, int]) -> int:
    if facts.attention == "dsa" and fmt == (8, 0):
        r = facts.kv_lora_rank
        return r + r // 128 * 4 + facts.qk_rope_head_dim * 2
    if facts.attention in ("mla", "dsa"):
        return row_bytes(facts.kv_lora_rank + facts.qk_rope_head_dim, fmt)
    heads = max(1, facts.num_kv_heads // (attn_tp // dcp))
    return heads * (row_bytes(facts.head_dim, fmt) + row_bytes(facts.v_head_dim, fmt))


def kv_bytes_per_token(
    facts: ModelFacts,
    *,
    tp: int = 1,
    pp: int = 1,
    dcp: int = 1,
    attn_dp: int = 1,
    kv_cache_dtype: str = "auto",
    pp_rank: int | None = None,
) -> int:
    """KV bytes per token on one rank: the host pool's ``size_per_token`` (what
    ``--hicache-size`` is divided by), and the device cell for MHA/MLA (for DSA the device
    cell also holds the indexer: :func:`device_cell_bytes_per_token`).

    Hybrid SWA/Mamba models have one pool per layer kind, so a single number would be
    wrong: they are refused with an InputError (see :func:`kv_pools`)."""
    _refuse_hybrid(facts)
    attn_tp = _check_parallel(tp, dcp, attn_dp)
    fmt = kv_format(kv_cache_dtype, facts.dtype)
    layers = _stage_layers(facts.num_layers, pp, pp_rank)
    return _per_layer(facts, attn_tp, dcp, fmt) * layers


def indexer_bytes_per_token(
    facts: ModelFacts,
    *,
    page_size: int,
    pp: int = 1,
    pp_rank: int | None = None,
    index_page_size: int | None = None,
) -> int:
    """Host bytes per token of the DSA indexer pool (on top of ``--hicache-size``); 0 when
    the model has no indexer.

    SGLang stores ``d + d/128·4`` uint8 per token and layer (packed FP8 keys plus one fp32
    scale per 128) in pages of ``index_page_size`` tokens, spread over the KV page:
    ``index_page_size × (d + d/128·4) // page_size`` per layer.  The index page defaults to
    the KV page, which gives 132 B/layer for ``d = 128`` at any page size.
    """
    if facts.attention != "dsa" or not facts.index_head_dim:
        return 0
    if page_size < 1:
        raise UsageError(f"--page-size must be at least 1, got {page_size}")
    d = facts.index_head_dim
    per_layer = d + d // INDEX_QUANT_BLOCK * 4
    page_bytes = (index_page_size or page_size) * per_layer
    if page_bytes % page_size:
        raise UsageError(
            f"DSA index page of {page_bytes} bytes does not split over --page-size {page_size}"
        )
    layers = _stage_layers(facts.index_layers or facts.num_layers, pp, pp_rank)
    return page_bytes // page_size * layers


def device_cell_bytes_per_token(
    facts: ModelFacts,
    *,
    tp: int = 1,
    pp: int = 1,
    dcp: int = 1,
    attn_dp: int = 1,
    kv_cache_dtype: str = "auto",
    pp_rank: int | None = None,
    swa_full_tokens_ratio: float = 0.8,
) -> float:
    """Bytes of GPU memory one token of ``max_total_num_tokens`` costs on one rank — the
    divisor SGLang's pool configurator applies to the KV budget.

    * MHA/MLA: the same as :func:`kv_bytes_per_token`;
    * DSA: plus the device indexer keys, ``(d + d/128·4) × layers``, replicated under DCP;
    * hybrid SWA (pp 1 only): ``full × full_layers + ratio × swa × swa_layers`` with
      ``ratio = --swa-full-tokens-ratio`` (default 0.8); the SWA pool then holds
      ``int(full_tokens × ratio)`` tokens, page-aligned.  Not an integer in general.

    Mamba hybrids are refused (their state pool is per request, not per token).
    """
    if facts.hybrid == "swa":
        if pp != 1:
            raise UsageError("hybrid SWA models: hicachectl sizes them with --pp-size 1 only")
        attn_tp = _check_parallel(tp, 1, attn_dp)
        per_layer = _per_layer(facts, attn_tp, 1, kv_format(kv_cache_dtype, facts.dtype))
        full = facts.num_layers - facts.num_swa_layers
        if full == 0:  # all-SWA: the ratio does not apply
            return per_layer * facts.num_swa_layers
        return per_layer * full + swa_full_tokens_ratio * per_layer * facts.num_swa_layers
    cell = kv_bytes_per_token(
        facts,
        tp=tp,
        pp=pp,
        dcp=dcp,
        attn_dp=attn_dp,
        kv_cache_dtype=kv_cache_dtype,
        pp_rank=pp_rank,
    )
    if facts.attention == "dsa" and facts.index_head_dim:
        d = facts.index_head_dim
        layers = _stage_layers(facts.index_layers or facts.num_layers, pp, pp_rank)
        cell += (d + d // INDEX_QUANT_BLOCK * 4) * layers * dcp
    return cell


def weight_bytes_per_rank(facts: ModelFacts, tp: int = 1, pp: int = 1) -> int:
    """Weights one GPU holds: the whole model's bytes over ``tp × pp``, rounded up.

    Even split: embeddings are vocab-parallel, experts TP-sharded, layers PP-split; the small
    replicated parts (norms, K/V heads replicated when kv_heads < tp) are ignored.
    """
    if facts.weight_bytes is None:
        raise InputError(f"model '{facts.name}': weight size unknown; pass --model-config")
    if tp < 1 or pp < 1:
        raise UsageError("--tp-size and --pp-size must be at least 1")
    return -(-facts.weight_bytes // (tp * pp))


class KVPool(NamedTuple):
    """One KV pool of a (possibly hybrid) model on one rank."""

    kind: str  # "full", "swa" or "indexer"
    layers: int
    bytes_per_token: int


def kv_pools(
    facts: ModelFacts,
    *,
    tp: int = 1,
    dcp: int = 1,
    attn_dp: int = 1,
    kv_cache_dtype: str = "auto",
    page_size: int = 64,
) -> list[KVPool]:
    """Per-pool layers and bytes per token on one rank (PP 1), hybrids included.

    SWA models get a ``full`` and a ``swa`` pool (SGLang gives them different token counts);
    Mamba hybrids list only their attention layers (the state pool is per request, not per
    token); DSA adds the ``indexer`` host pool.
    """
    attn_tp = _check_parallel(tp, dcp, attn_dp)
    per_layer = _per_layer(facts, attn_tp, dcp, kv_format(kv_cache_dtype, facts.dtype))
    full = facts.num_layers - facts.num_swa_layers - facts.num_linear_layers
    pools = [KVPool("full", full, per_layer * full)]
    if facts.num_swa_layers:
        pools.append(KVPool("swa", facts.num_swa_layers, per_layer * facts.num_swa_layers))
    if facts.attention == "dsa":
        idx = indexer_bytes_per_token(facts, page_size=page_size)
        pools.append(KVPool("indexer", facts.index_layers or facts.num_layers, idx))
    return pools
