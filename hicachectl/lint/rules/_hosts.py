"""Which commands run together: share a host (memory), a network namespace (ports), or
one deployment (routing).

A script, a compose file and a Kubernetes manifest are one deployment each.  A Markdown
runbook is one group to the extractor, but its fences are often alternative examples; a
fence that holds both a frontend and a worker is its own deployment, and the fences that
hold only one side are read together (step 1: start the worker; step 2: the frontend).
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hicachectl.lint.context import CommandView, FileContext

_STOPPERS = frozenset({"kill", "pkill", "killall"})


def _fence(v: CommandView):
    """Sub-group of a command: its Markdown fence; in a Dockerfile every command stands
    alone (RUN lines run at build time, stages are separate images, one CMD wins)."""
    if v.cmd.host_format == "dockerfile":
        return id(v.cmd)
    return v.cmd.context.get("fence_line") if v.cmd.host_format == "markdown" else None


def host_groups(ctx: FileContext) -> list[list[CommandView]]:
    return ctx.memo("host_groups", lambda: _host_groups(ctx))


def _host_groups(ctx: FileContext) -> list[list[CommandView]]:
    """Commands whose host memory adds up: a script, a runbook fence, a compose file, a
    Kubernetes pod (each pod is scheduled on its own)."""
    out: dict[tuple, list[CommandView]] = {}
    for v in ctx.views:
        # The extractor groups Kubernetes commands per pod (a DGD service, a workload).
        out.setdefault((v.cmd.group, _fence(v)), []).append(v)
    return list(out.values())


def port_groups(ctx: FileContext) -> list[list[CommandView]]:
    return ctx.memo("port_groups", lambda: _port_groups(ctx))


def _port_groups(ctx: FileContext) -> list[list[CommandView]]:
    """Commands that share a network namespace: one script or runbook fence; one pod; one
    compose service (compose services get their own namespace unless host network)."""
    out: dict[tuple, list[CommandView]] = {}
    for v in ctx.views:
        fmt = v.cmd.host_format
        if fmt == "compose" and v.cmd.context.get("network_mode") != "host":
            key: tuple = (v.cmd.group, v.cmd.context.get("service"))
        else:
            key = (v.cmd.group, _fence(v))
        out.setdefault(key, []).append(v)
    return list(out.values())


def deployments(ctx: FileContext) -> list[list[CommandView]]:
    return ctx.memo("deployments", lambda: _deployments(ctx))


def _deployments(ctx: FileContext) -> list[list[CommandView]]:
    """Frontends and workers that serve together (see the module docstring)."""
    out: list[list[CommandView]] = []
    groups: dict[object, list[CommandView]] = {}
    for v in ctx.views:
        groups.setdefault(_deployment_key(v), []).append(v)
    for views in groups.values():
        fences: dict[object, list[CommandView]] = {}
        for v in views:
            fences.setdefault(_fence(v), []).append(v)
        if len(fences) == 1:
            out.append(views)
            continue
        rest: list[CommandView] = []
        for members in fences.values():
            (out.append(members) if _complete(members) else rest.extend(members))
        # One-sided fences under one Markdown section (a `#`/`##` heading) that together
        # hold a frontend and a worker are that section's example; the others are steps of
        # one walkthrough and are read together.
        sections: dict[int, list[CommandView]] = {}
        for v in rest:
            sections.setdefault(_section(ctx, v), []).append(v)
        leftover: list[CommandView] = []
        for members in sections.values():
            (out.append(members) if _complete(members) else leftover.extend(members))
        if leftover:
            out.append(leftover)
    return out


def _complete(views: list[CommandView]) -> bool:
    return any(v.is_frontend for v in views) and any(v.is_worker for v in views)


def _section(ctx: FileContext, v: CommandView) -> int:
    """Line of the last level-1/2 Markdown heading above the command's fence (0: none)."""
    if v.cmd.host_format != "markdown":
        return 0
    heads = ctx.memo("md_headings", lambda: _headings(ctx.extraction.lines))
    i = bisect.bisect_right(heads, v.cmd.context.get("fence_line") or v.cmd.span.line)
    return heads[i - 1] if i else 0


def _headings(lines: list[str]) -> list[int]:
    """1-based lines of `#` and `##` headings outside fenced code blocks."""
    out, fence = [], ""
    for n, line in enumerate(lines, 1):
        stripped = line.lstrip()
        if fence:
            if stripped.startswith(fence):
                fence = ""
            continue
        if stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
        elif line.startswith(("# ", "## ")):
            out.append(n)
    return out


def _deployment_key(v: CommandView) -> object:
    """The extractor groups a DynamoGraphDeployment per service (one pod each); its
    frontend and workers still form one deployment: key them by document."""
    c = v.cmd.context
    if v.cmd.host_format == "k8s" and "doc_index" in c:
        return (v.cmd.path, c.get("doc_index"), c.get("dgd_name") or c.get("k8s_name"))
    return v.cmd.group


def stopped_between(ctx: FileContext, a: CommandView, b: CommandView) -> bool:
    """True when a ``kill``/``pkill`` runs between two launches of one script (so the
    first is gone before the second starts, as in before/after benchmark scripts)."""
    lines = ctx.memo("kill_lines", lambda: _kill_lines(ctx)).get(a.cmd.group)
    if not lines:
        return False
    lo, hi = sorted((a.cmd.span.end_line, b.cmd.span.line))
    i = bisect.bisect_right(lines, lo)
    return i < len(lines) and lines[i] < hi


def _kill_lines(ctx: FileContext) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for c in ctx.extraction.commands:
        if c.tokens and c.tokens[0].text.rsplit("/", 1)[-1] in _STOPPERS:
            out.setdefault(c.group, []).append(c.span.line)
    return {g: sorted(v) for g, v in out.items()}


def _node(v: CommandView) -> int | None:
    """The node rank of one node of a multi-node engine (``--nnodes 2 --node-rank 1``)."""
    if not v.is_engine:
        return None
    nnodes = v.int_value("nnodes")
    return v.int_value("node_rank") if nnodes is not None and nnodes > 1 else None


def runs_alongside(earlier: CommandView, later: CommandView) -> bool:
    """Can ``earlier`` still run on the host where ``later`` starts?  In a script a
    foreground command must exit before the next one starts; only backgrounded ones (``&``)
    overlap.  Runbook fences are typed into separate terminals, and manifests start their
    commands together.  Two nodes of multi-node engines with different ``--node-rank``
    (runbooks list "node 0" and "node 1" in one fence) run on different hosts."""
    a, b = _node(earlier), _node(later)
    if a is not None and b is not None and a != b:
        return False
    if later.cmd.host_format in ("shell", "cli") or later.cmd.context.get("via"):
        return earlier.cmd.background
    return True


def concurrent_sets(ctx: FileContext, views: list[CommandView]) -> list[list[CommandView]]:
    """For each launch, the launches running at the moment it starts (itself included)."""
    if len(views) > 256:  # pathological files: assume everything overlaps
        return [views]
    out = []
    for i, v in enumerate(views):
        alive = [e for e in views[:i] if runs_alongside(e, v) and not stopped_between(ctx, e, v)]
        out.append([*alive, v])
    return out


def where(v: CommandView) -> str:
    """A short name for a command in messages: 'the worker on line 12'."""
    role = "frontend" if v.is_frontend else ("worker" if v.is_worker else v.entrypoint)
    return f"the {role} on line {v.cmd.span.line}"
