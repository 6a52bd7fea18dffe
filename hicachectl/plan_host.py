"""Host side of a plan: the budget every rank on the host shares, and each worker's host pool
per rank (auto-sized whole GB, an explicit --hicache-size or --hicache-ratio, or a decode
worker's retraction backup), never pinning more than the budget.  Arithmetic: ``sizing``."""

from __future__ import annotations

from typing import NamedTuple

from hicachectl import sizing
from hicachectl.dynamo.topology import WorkerSlot
from hicachectl.errors import InfeasibleError
from hicachectl.models import GB, HardwareSnapshot, ModelFacts
from hicachectl.profiles import PlanRequest


class Sized(NamedTuple):
    """One role's per-rank numbers before they become a PerRank."""

    device: int
    host: int
    size_gb: int
    host_bytes: int
    hicache: bool  # False: a decode retraction-backup pool, not HiCache


def host_budget(hardware: HardwareSnapshot, fraction: float) -> tuple[int, int]:
    h = hardware.host
    available = sizing.host_available_bytes(
        h.memory_available_bytes, h.cgroup_limit_bytes, h.cgroup_usage_bytes
    )
    return available, sizing.host_budget_bytes(available, fraction)


def size_host(
    request: PlanRequest,
    model: ModelFacts,
    slots: list[WorkerSlot],
    device: dict[str, int],
    kv_bpt: int,
    idx_bpt: int,
    page: int,
    budget_info: tuple[int, int],
) -> tuple[dict[str, Sized], int]:
    """Host pool per rank for every worker; the total never exceeds the budget."""
    available, budget = budget_info
    per_worker = request.tp * request.pp * request.dp
    sized: dict[str, Sized] = {}
    fixed = 0  # pinned by pools whose size does not come from the budget share
    auto: list[WorkerSlot] = []
    for slot in slots:
        dev = device[slot.name]
        if slot.role == "decode" and not request.decode_hicache:
            tokens = _decode_backup(model, dev, page)
            nbytes = sizing.host_bytes(tokens, kv_bpt)
            sized[slot.name] = Sized(dev, tokens, 0, nbytes, hicache=False)
            fixed += nbytes * per_worker
        elif request.hicache_size is not None:
            tokens = sizing.host_tokens_for_size(request.hicache_size, kv_bpt, page)
            nbytes = sizing.host_bytes(tokens, kv_bpt, idx_bpt)
            sized[slot.name] = Sized(dev, tokens, request.hicache_size, nbytes, True)
            fixed += nbytes * per_worker
        elif request.hicache_ratio is not None:
            tokens = sizing.host_tokens_for_ratio(dev, request.hicache_ratio, page)
            nbytes = sizing.host_bytes(tokens, kv_bpt, idx_bpt)
            sized[slot.name] = Sized(dev, tokens, 0, nbytes, True)
            fixed += nbytes * per_worker
        else:
            auto.append(slot)
    if budget <= 0:
        raise InfeasibleError(
            f"no host memory left for HiCache: {available / GB:.1f} GB available "
            f"(min of free DRAM and cgroup headroom) is within SGLang's 10 GiB reserve"
        )
    if fixed > budget:
        n = len(slots) * per_worker
        ranks_txt = f"{n} rank{'s' if n != 1 else ''}"
        what = (
            f"--hicache-size {request.hicache_size} GB × {ranks_txt}"
            if request.hicache_size is not None
            else f"host pools of {ranks_txt}"
        )
        raise InfeasibleError(sizing.over_budget_message(what, fixed, budget))
    if auto:
        ranks = len(auto) * per_worker
        share = (budget - fixed) // ranks
        size = sizing.largest_hicache_size_gb(share, kv_bpt, page, idx_bpt)
        if size < 1:
            raise InfeasibleError(
                f"host budget {budget / GB:.1f} GB over {ranks} HiCache ranks leaves "
                f"{share / GB:.2f} GB per rank, less than the smallest --hicache-size (1 GB)"
            )
        tokens = sizing.host_tokens_for_size(size, kv_bpt, page)
        nbytes = sizing.host_bytes(tokens, kv_bpt, idx_bpt)
        for slot in auto:
            sized[slot.name] = Sized(device[slot.name], tokens, size, nbytes, True)
    pinned = sum(sized[s.name].host_bytes for s in slots) * per_worker
    if pinned > budget:  # cannot happen by construction; never hand out such a plan
        raise InfeasibleError(sizing.over_budget_message("planned host pools", pinned, budget))
    return sized, pinned


def _decode_backup(model: ModelFacts, device: int, page: int) -> int:
    """A decode worker without HiCache still pins SGLang's retraction-backup pool (§3.3) on a
    dense MHA model; other models back up to a CPU tensor that is not pre-allocated."""
    if model.attention != "mha" or model.hybrid:
        return 0
    return sizing.decode_backup_tokens(device, model.context_len, page)
