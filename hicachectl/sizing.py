"""Pure arithmetic for HiCache sizing: SGLang's device pool, its host pool rounding, and the
host budget shared by every rank on the host.

No I/O and no models beyond plain numbers: ``plan.py`` feeds this module and the tests check it
against hand calculations.  References are to ``shared/reference/sglang-hicache.md``:
§3.1 device pool and default ``--mem-fraction-static``, §3.2 host pool rounding, §3.3 the decode
retraction-backup pool, §3.4 the 10 GiB reserve and the host-memory fraction.
"""

from __future__ import annotations

import math

from hicachectl import mem_fraction
from hicachectl.errors import InfeasibleError
from hicachectl.models import GB, HOST_RESERVE_BYTES, GiB

MiB = 1 << 20

# SGLang's default --mem-fraction-static has its own module; these names stay available here.
MemFraction = mem_fraction.MemFraction
default_mem_fraction_static = mem_fraction.default_mem_fraction_static
gpu_memory_defaults = mem_fraction.gpu_memory_defaults
prefill_graph_sizes = mem_fraction.prefill_graph_sizes
reserve_for_graph_mib = mem_fraction.reserve_for_graph_mib

# SGLang's decode-server retraction backup (BACKUP_ONLY_HICACHE_RATIO, §3.3).
DECODE_BACKUP_RATIO = 0.2


# --------------------------------------------------------------------------- device pool


def device_tokens(
    *,
    free_bytes: int,
    mem_fraction_static: float,
    weight_bytes_per_rank: int,
    kv_bytes_per_token: int,
    page_size: int,
    max_total_tokens: int | None = None,
    what: str = "worker",
) -> int:
    """Device KV pool tokens per rank (§3.1).

    ``rest = avail_after_load − pre_load × (1 − mfs)`` in GiB, where ``pre_load`` is the free
    GPU memory before loading and ``avail_after_load = pre_load − weights``; tokens are
    ``rest × 2^30 // cell`` floored to the page size, then capped by ``--max-total-tokens``.
    """
    pre_load = free_bytes / GiB
    after_load = pre_load - weight_bytes_per_rank / GiB
    rest = after_load - pre_load * (1 - mem_fraction_static)
    if rest <= 0:
        weights = f"{what}: weights of {weight_bytes_per_rank / GiB:.1f} GiB per rank"
        if after_load <= 0:
            raise InfeasibleError(
                f"{weights} exceed the {pre_load:.1f} GiB free on its GPU "
                "(raise --tp or --pp, or use larger GPUs)"
            )
        minimum = 1 - after_load / pre_load
        raise InfeasibleError(
            f"{weights} leave no GPU memory for the KV cache: {pre_load:.1f} GiB free × "
            f"--mem-fraction-static {mem_fraction_static:.3f} = "
            f"{pre_load * mem_fraction_static:.1f} GiB (minimum viable fraction {minimum:.3f}; "
            "raise --tp or --pp, or use larger GPUs)"
        )
    tokens = int(rest * GiB) // kv_bytes_per_token
    tokens = tokens // page_size * page_size
    if max_total_tokens is not None:  # SGLang re-aligns a capped pool to the page size
        tokens = min(tokens, max_total_tokens) // page_size * page_size
    if tokens <= 0:
        raise InfeasibleError(
            f"{what}: {rest:.2f} GiB left for the KV cache holds less than one page of "
            f"{page_size} tokens at {kv_bytes_per_token} bytes per token"
        )
    return tokens


# --------------------------------------------------------------------------- host pool


def pad_to_page(tokens: int, page_size: int) -> int:
    """SGLang's host pool rounding: whole pages, plus one padding page, always (§3.2)."""
    return (tokens // page_size + 1) * page_size


def host_tokens_for_size(size_gb: int, kv_bytes_per_token: int, page_size: int) -> int:
    """Host tokens for ``--hicache-size size_gb``: ``int(size × 1e9 // size_per_token)``, padded."""
    return pad_to_page(int(size_gb * GB // kv_bytes_per_token), page_size)


def host_tokens_for_ratio(device: int, ratio: float, page_size: int) -> int:
    """Host tokens for ``--hicache-ratio``: ``int(device × ratio)``, padded."""
    return pad_to_page(int(device * ratio), page_size)


def host_bytes(tokens: int, kv_bytes_per_token: int, indexer_bytes_per_token: int = 0) -> int:
    """Pinned bytes of one rank's host pools: the KV pool plus the DSA indexer on top."""
    return tokens * (kv_bytes_per_token + indexer_bytes_per_token)


def largest_hicache_size_gb(
    per_rank_budget: int, kv_bytes_per_token: int, page_size: int, indexer_bytes_per_token: int = 0
) -> int:
    """The largest whole-GB ``--hicache-size`` whose pinned bytes fit ``per_rank_budget``.

    0 when not even 1 GB fits.  Pinned bytes grow with the size, so start from the estimate
    and step down (at most a few steps, because of the indexer and the padding page).
    """
    if per_rank_budget <= 0:
        return 0
    per_token = kv_bytes_per_token + indexer_bytes_per_token
    size = int(per_rank_budget * kv_bytes_per_token // (per_token * GB)) + 1
    while size > 0:
        tokens = host_tokens_for_size(size, kv_bytes_per_token, page_size)
        if host_bytes(tokens, kv_bytes_per_token, indexer_bytes_per_token) <= per_rank_budget:
            return size
        size -= 1
    return 0


def decode_backup_tokens(device: int, context_len: int, page_size: int) -> int:
    """Host tokens of a decode server's default retraction-backup pool (§3.3).

    Ratio 0.2, raised so the pool holds at least one max-length request:
    ``ceil_align(min(context_len − 1, device), page) / device``; then the usual rounding.
    """
    ratio = DECODE_BACKUP_RATIO
    if context_len > 0 and device > 0:
        need = math.ceil(min(context_len - 1, device) / page_size) * page_size
        ratio = max(ratio, need / device)
    return host_tokens_for_ratio(device, ratio, page_size)


# --------------------------------------------------------------------------- host budget


def host_available_bytes(
    memory_available: int, cgroup_limit: int | None, cgroup_usage: int | None
) -> int:
    """``min(available DRAM, cgroup headroom)``; headroom is the limit minus the usage."""
    if cgroup_limit is None:
        return memory_available
    return min(memory_available, max(cgroup_limit - (cgroup_usage or 0), 0))


def host_budget_bytes(available: int, fraction: float) -> int:
    """``(available − 10 GiB) × fraction``: what all ranks on the host may pin together."""
    if not 0 < fraction <= 1:
        raise ValueError("--host-memory-fraction must be in (0, 1]")
    return max(int((available - HOST_RESERVE_BYTES) * fraction), 0)


def over_budget_message(what: str, pinned: int, budget: int) -> str:
    """``what = 960.0 GB > 742.1 GB budget (over by 217.9 GB, 29.4 %)``."""
    over = pinned - budget
    pct = 100.0 * over / budget if budget > 0 else float("inf")
    return (
        f"{what} = {pinned / GB:.1f} GB > {budget / GB:.1f} GB host budget "
        f"(over by {over / GB:.1f} GB, {pct:.1f} %)"
    )
