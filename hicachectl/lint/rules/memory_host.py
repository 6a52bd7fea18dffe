"""HC401-HC404: host and GPU memory.  HC401/HC402 need the host's memory (a snapshot,
``--host-memory`` or the probe) and use the same budget arithmetic as ``sizing.py``."""

from __future__ import annotations

from collections.abc import Iterator

from hicachectl.lint.rules._hosts import concurrent_sets, host_groups
from hicachectl.lint.rules.base import Rule
from hicachectl.lint.types import Finding

# Same numbers as hicachectl.models (GB, HOST_RESERVE_BYTES); that module builds pydantic
# models on import, which `hicachectl rules` and files without launches should not pay for.
GB = 1_000_000_000
HOST_RESERVE_BYTES = 10 * (1 << 30)

PLANNED_FRACTION = 0.8  # what `hicachectl plan` budgets (SGLang's auto-size default)


def pinned(v) -> tuple[int, str] | None:
    """(bytes this engine pins per pod/host, 'size × ranks' text) for an explicit size."""
    if not v.is_engine or not v.hicache:
        return None
    size = v.int_value("hicache_size")
    ranks = v.ranks_per_host  # each node of a multi-node engine pins its own ranks
    if not size or size <= 0 or ranks is None:
        return None
    return size * GB * ranks, f"--hicache-size {size} × {ranks} rank{'s' if ranks > 1 else ''}"


def _group_pins(ctx):
    """Per host, the largest set of engines that run at the same time, with what they pin."""
    for views in host_groups(ctx):
        engines = [v for v in views if pinned(v) is not None]
        if not engines:
            continue
        best, best_total = None, -1
        for live in concurrent_sets(ctx, engines):
            total = sum(pinned(v)[0] for v in live)
            if total > best_total:
                best, best_total = live, total
        parts = [(v, pinned(v)) for v in best]
        yield parts, best_total, " + ".join(p[1] for _, p in parts)


def _budgeted_pins(ctx):
    """_group_pins with the host's budget and planned share (nothing without a host)."""
    avail = ctx.host.available_bytes
    if avail is None:
        return
    from hicachectl.sizing import host_budget_bytes

    budget = host_budget_bytes(avail, 1.0)
    planned = host_budget_bytes(avail, PLANNED_FRACTION)
    for parts, total, what in _group_pins(ctx):
        yield parts, total, what, budget, planned


class HostMemoryOverBudget(Rule):
    """The host pools of all ranks on one host exceed the host's memory budget.

    ## What it does
    Adds up `--hicache-size` (GB per rank) × ranks (tp × pp × dp) for every worker that
    runs on the same host (one script, runbook or compose file; one Kubernetes pod) and
    compares the sum with the budget SGLang checks at start-up: available memory (bounded
    by the cgroup) minus a 10 GiB reserve.  The host comes from `--hardware FILE`,
    `--host-memory SIZE` or the config; without one this rule is skipped.

    ## Why is this bad
    Each rank checks its own request against the budget split across ranks and fails
    with `Not enough host memory available`; when the ranks of several servers race, the
    host runs out of memory and the OOM killer picks a process.

    ## Example
    ```bash
    # 750 GB host, 8 GPUs: budget 750 GB - 10 GiB = 739 GB
    python -m sglang.launch_server --model-path m --tp-size 8 \\
      --enable-hierarchical-cache --hicache-size 120
    ```

    ## Use instead
    ```bash
    # 750 GB host: 70 GB x 8 ranks = 560 GB, within the planned 80 % of the budget
    python -m sglang.launch_server --model-path m --tp-size 8 \\
      --enable-hierarchical-cache --hicache-size 70
    ```
    """

    code = "HC401"
    name = "host-memory-over-budget"
    severity = "error"
    needs_host = True

    def check(self, ctx) -> Iterator[Finding]:
        from hicachectl.sizing import over_budget_message

        avail = ctx.host.available_bytes
        for parts, total, what, budget, _ in _budgeted_pins(ctx):
            if total > budget:
                v = parts[0][0]
                yield self.finding(
                    ctx,
                    v.span_of("hicache_size"),
                    over_budget_message(what, total, budget)
                    + f"; budget = {avail / GB:.1f} GB available − 10 GiB reserve"
                    + (f" ({ctx.host.source})" if ctx.host.source else ""),
                )


class HostMemoryAbovePlan(Rule):
    """The host pools use more than the planned share (80 %) of the host budget.

    ## What it does
    Like `host-memory-over-budget`, but fires when the pinned total fits the budget yet
    exceeds 80 % of it, the share `hicachectl plan` and SGLang's own auto-sizing
    (`--hicache-host-memory-fraction 0.8`) leave to HiCache.

    ## Why is this bad
    Pinned memory cannot be swapped or reclaimed.  What is left must hold the model
    loader, tokenizer processes, CUDA's own host allocations and the page cache; at that
    level a traffic peak or a second model load gets the host OOM-killed.

    ## Example
    ```bash
    # 512 GB host
    python -m sglang.launch_server --model-path m --tp-size 8 \\
      --enable-hierarchical-cache --hicache-size 60
    ```

    ## Use instead
    ```bash
    python -m sglang.launch_server --model-path m --tp-size 8 \\
      --enable-hierarchical-cache --hicache-size 49
    ```
    """

    code = "HC402"
    name = "host-memory-above-plan"
    severity = "warning"
    needs_host = True

    def check(self, ctx) -> Iterator[Finding]:
        for parts, total, what, budget, planned in _budgeted_pins(ctx):
            if planned < total <= budget:
                v = parts[0][0]
                yield self.finding(
                    ctx,
                    v.span_of("hicache_size"),
                    f"{what} = {total / GB:.1f} GB is {100 * total / budget:.1f} % of the "
                    f"{budget / GB:.1f} GB host budget, above the planned "
                    f"{PLANNED_FRACTION:.0%} ({planned / GB:.1f} GB)",
                )


class K8sMemoryLimitTooSmall(Rule):
    """A Kubernetes memory limit smaller than the HiCache pools the pod pins.

    ## What it does
    For commands in Kubernetes manifests, compares `resources.limits.memory` of the
    container with `--hicache-size` × ranks plus SGLang's 10 GiB reserve.  No host
    information is needed.

    ## Why is this bad
    SGLang checks the request against the cgroup's headroom minus 10 GiB and stops with
    `Not enough host memory available`; where that check is off, the kernel OOM-kills the
    container when the pool is touched.

    ## Example
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: sglang}
    spec:
      containers:
        - name: main
          image: lmsysorg/sglang:v0.5.23
          command: [python3, -m, sglang.launch_server]
          args: [--model-path, m, --tp-size, "8", --enable-hierarchical-cache, --hicache-size, "30"]
          resources: {limits: {memory: 200Gi}}
    ```

    ## Use instead
    ```yaml
    apiVersion: v1
    kind: Pod
    metadata: {name: sglang}
    spec:
      containers:
        - name: main
          image: lmsysorg/sglang:v0.5.23
          command: [python3, -m, sglang.launch_server]
          args: [--model-path, m, --tp-size, "8", --enable-hierarchical-cache, --hicache-size, "30"]
          resources: {limits: {memory: 400Gi}}
    ```
    """

    code = "HC403"
    name = "k8s-memory-limit-too-small"
    severity = "error"

    def check(self, ctx) -> Iterator[Finding]:
        # Commands of one container (a `bash -c` script may start several) share its limit.
        by_container: dict[tuple, list] = {}
        for v in ctx.engines():
            limit = v.cmd.context.get("k8s_memory_limit_bytes")
            p = pinned(v)
            if limit and p is not None:
                key = (v.cmd.group, v.cmd.context.get("container"), limit)
                by_container.setdefault(key, []).append(v)
        for (_, _, limit), views in by_container.items():
            live = max(concurrent_sets(ctx, views), key=lambda s: sum(pinned(v)[0] for v in s))
            parts = [(v, pinned(v)) for v in live]
            total = sum(p[0] for _, p in parts)
            need = total + HOST_RESERVE_BYTES
            if need > limit:
                what = " + ".join(p[1] for _, p in parts)
                yield self.finding(
                    ctx,
                    parts[0][0].span_of("hicache_size"),
                    f"{what} = {total / GB:.1f} GB pinned + 10 GiB reserve = {need / GB:.1f} GB "
                    f"> container memory limit {int(limit) / GB:.1f} GB",
                )


class GpuOomRisk(Rule):
    """`--mem-fraction-static` ≥ 0.93 with HiCache and page size 1.

    ## What it does
    Finds HiCache servers that give 93 % or more of GPU memory to weights and the KV pool
    while running with page size 1 (the CUDA default when `--page-size` is not set).

    ## Why is this bad
    HiCache's transfer buffers, CUDA graphs and activations must fit in the remaining few
    percent; with one-token pages the per-page metadata and the host-to-device copies are
    largest.  Such servers run out of GPU memory under load.

    ## Example
    ```bash
    python -m sglang.launch_server --model-path m --enable-hierarchical-cache \\
      --mem-fraction-static 0.95
    ```

    ## Use instead
    ```bash
    python -m sglang.launch_server --model-path m --enable-hierarchical-cache \\
      --mem-fraction-static 0.85 --page-size 64
    ```
    """

    code = "HC404"
    name = "gpu-oom-risk"
    severity = "warning"

    def check(self, ctx) -> Iterator[Finding]:
        for v in ctx.engines():
            if not v.hicache or not v.known("mem_fraction_static") or v.open_ended:
                continue
            try:
                frac = float(v.value("mem_fraction_static"))
            except (TypeError, ValueError):
                continue
            page = v.resolved("page_size") or 1
            if frac >= 0.93 and page == 1:
                yield self.finding(
                    ctx,
                    v.span_of("mem_fraction_static"),
                    f"--mem-fraction-static {frac:g} with HiCache and page size 1 leaves "
                    f"{(1 - frac) * 100:.0f} % of GPU memory for activations, CUDA graphs and "
                    "HiCache transfers: GPU out-of-memory risk",
                    fix="--mem-fraction-static 0.85 --page-size 64",
                )
