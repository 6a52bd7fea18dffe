"""Plan versus actual: collect what each worker's SGLang reported and say where it disagrees.

Fed line by line (``observe``) by the supervisor; returns the messages to show prominently at
once (rewrites, host-memory refusals) and keeps the numbers for the summary printed once the
deployment is ready (``summary``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hicachectl.launch.bootcheck import Finding, parse_line
from hicachectl.units import GB, HOST_RESERVE_BYTES

if TYPE_CHECKING:
    from hicachectl.models import Plan, WorkerPlan

DEVICE_TOLERANCE = 0.01  # the plan's own accuracy target: within 1 %


class Actual:
    """What one worker's SGLang reported so far."""

    def __init__(self) -> None:
        self.device_tokens: int | None = None
        self.host_tokens: int | None = None
        self.host_gb: float | None = None
        self.host_label: str | None = None
        self.extra_pools: dict[str, tuple[int, float]] = {}
        self.rewrites: list[str] = []


def _pct(actual: float, planned: float) -> str:
    if not planned:
        return ""
    return f" ({(actual - planned) / planned * 100:+.1f}%)"


class BootWatch:
    def __init__(self, plan: Plan | None, workers: dict[str, WorkerPlan]) -> None:
        self.plan = plan
        self.workers = workers  # process name -> its WorkerPlan
        self.actual: dict[str, Actual] = {}

    def observe(self, name: str, text: str) -> list[str]:
        if name not in self.workers:
            return []
        found = parse_line(text)
        if found is None:
            return []
        act = self.actual.setdefault(name, Actual())
        return self._record(name, act, found)

    def _record(self, name: str, act: Actual, f: Finding) -> list[str]:
        wp = self.workers[name]
        v = f.values
        if f.kind == "rewrite" and f.rule is not None:
            fix = f.rule.fix.format(**{k: x for k, x in v.items() if x is not None})
            act.rewrites.append(f.rule.id)
            return [
                f"{name}: SGLang rewrote a planned setting [{f.rule.id}]: {f.rule.rule}. "
                f"Fix the plan with: {fix}"
            ]
        if f.kind == "device_pool" and act.device_tokens is None:
            act.device_tokens = v["tokens"]
            planned = wp.per_rank.device_tokens
            if planned and abs(v["tokens"] - planned) / planned > DEVICE_TOLERANCE:
                return [
                    f"{name}: device pool is {v['tokens']:,} tokens per rank, the plan assumed "
                    f"{planned:,}{_pct(v['tokens'], planned)}: re-plan on this host "
                    "(free GPU memory or --mem-fraction-static differ)"
                ]
        elif f.kind == "host_pool":
            # One line per rank; the first pool label seen is the KV pool, others (indexer,
            # draft) are extra pools on top.
            if act.host_tokens is None:
                act.host_label = v["label"]
                act.host_tokens, act.host_gb = v["tokens"], v["gb"]
            elif v["label"] != act.host_label:
                act.extra_pools.setdefault(v["label"], (v["tokens"], v["gb"]))
        elif f.kind == "host_oom":
            return [self._explain_oom(name, wp, v["requested_gb"], v["free_gb"])]
        elif f.kind == "small_host":
            return [
                f"{name}: SGLang reports the {v['label']} host pool ({int(v['host']):,} tokens) "
                f"smaller than the device pool ({int(v['device']):,}): raise --hicache-size "
                "or --hicache-ratio, or re-plan"
            ]
        elif f.kind == "auto_size":
            return [
                f"{name}: SGLang auto-sized HiCache (ratio {v['old']:.3f} -> {v['new']:.3f}): the "
                "plan's size was not applied; pass an explicit --hicache-size (hicachectl plan does)"
            ]
        elif f.kind == "no_host":
            return [self._explain_oom(name, wp, None, 0.0)]
        return []

    def _explain_oom(self, name: str, wp: WorkerPlan, req: float | None, free: float) -> str:
        planned_gb = wp.per_rank.host_bytes / GB
        head = (
            f"{name}: SGLang refused the host pool: requested {req:.2f} GB per rank, "
            f"{free:.2f} GB free for it"
            if req is not None
            else f"{name}: SGLang found no host memory left after its 10 GiB reserve"
        )
        if self.plan is None:
            return head
        hb = self.plan.host_budget
        share = max(hb.available_bytes - HOST_RESERVE_BYTES, 0) / max(hb.ranks_on_host, 1) / GB
        gone = share - free
        return (
            f"{head}. The plan gave this rank {planned_gb:.2f} GB: budget "
            f"{hb.budget_bytes / GB:.1f} GB = (available {hb.available_bytes / GB:.1f} GB - 10 GiB "
            f"reserve) x {hb.fraction:g}, shared by {hb.ranks_on_host} ranks on this host. SGLang "
            f"checks each rank against (min(available, cgroup headroom) - 10 GiB) / ranks: "
            f"{share:.2f} GB when planned, {free:.2f} GB now"
            + (f", so {gone:.2f} GB per rank is in use elsewhere" if gone > 0 else "")
            + ". Re-plan on this host now, or lower --host-memory-fraction."
        )

    def summary(self) -> list[str]:
        """Plan-versus-actual lines for every worker SGLang reported numbers for."""
        lines: list[str] = []
        for name, wp in self.workers.items():
            act = self.actual.get(name)
            if act is None or (act.device_tokens is None and act.host_tokens is None):
                continue
            pr = wp.per_rank
            if act.device_tokens is not None:
                lines.append(
                    f"{name}: device tokens/rank planned {pr.device_tokens:,}, actual "
                    f"{act.device_tokens:,}{_pct(act.device_tokens, pr.device_tokens)}"
                )
            if act.host_tokens is not None:
                lines.append(
                    f"{name}: host tokens/rank planned {pr.host_tokens:,}, actual "
                    f"{act.host_tokens:,}{_pct(act.host_tokens, pr.host_tokens)}; host GB/rank "
                    f"planned {pr.host_bytes / GB:.2f}, actual {act.host_gb:.2f}"
                )
            for label, (tokens, gb) in sorted(act.extra_pools.items()):
                lines.append(f"{name}: extra host pool {label}: {tokens:,} tokens, {gb:.2f} GB")
        return lines
