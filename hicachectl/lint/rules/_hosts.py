"""Which commands share a host (memory) or a network namespace (ports)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hicachectl.lint.context import CommandView, FileContext


def _pod(v: CommandView) -> str:
    c = v.cmd.context
    return str(c.get("pod") or c.get("service") or c.get("component") or id(v.cmd))


def host_groups(ctx: FileContext) -> list[list[CommandView]]:
    """Commands whose host memory adds up: a script / runbook / compose file is one host;
    in Kubernetes each pod is scheduled on its own."""
    out: dict[tuple, list[CommandView]] = {}
    for v in ctx.views:
        key = (v.cmd.group, _pod(v)) if v.cmd.host_format == "k8s" else (v.cmd.group,)
        out.setdefault(key, []).append(v)
    return list(out.values())


def port_groups(ctx: FileContext) -> list[list[CommandView]]:
    """Commands that share a network namespace: one script or runbook section; one pod;
    one compose service (compose services get their own namespace unless host network)."""
    out: dict[tuple, list[CommandView]] = {}
    for v in ctx.views:
        fmt = v.cmd.host_format
        if fmt == "k8s" or (fmt == "compose" and v.cmd.context.get("network_mode") != "host"):
            key: tuple = (v.cmd.group, _pod(v))
        else:
            key = (v.cmd.group,)
        out.setdefault(key, []).append(v)
    return list(out.values())


def where(v: CommandView) -> str:
    """A short name for a command in messages: 'the worker on line 12'."""
    role = "frontend" if v.is_frontend else ("worker" if v.is_worker else v.entrypoint)
    return f"the {role} on line {v.cmd.span.line}"
