"""HC505, HC511: worker ports against the frontend's HTTP port (compared within one
deployment that shares a network namespace)."""

from __future__ import annotations

from collections.abc import Iterator

from hicachectl.lint.rules import _topology as topo
from hicachectl.lint.rules._hosts import deployments, port_groups, where
from hicachectl.lint.rules.base import Rule
from hicachectl.lint.types import Finding


def _on_http_port(ctx, port_of):
    """(view, port, frontend) for each command whose ``port_of(view)`` is the HTTP port of
    a frontend in its deployment and network namespace (the first such frontend)."""
    for views in _same_netns_deployments(ctx):
        fronts = _frontend_ports(views)
        for v in views:
            port = port_of(v)
            if port is None:
                continue
            f = next((f for f, hp in fronts if hp == port), None)
            if f is not None:
                yield v, port, f


def _same_netns_deployments(ctx):
    """Deployments, split where Kubernetes pods or compose services separate networks."""
    ids = {id(v): i for i, g in enumerate(port_groups(ctx)) for v in g}
    for views in deployments(ctx):
        by_ns: dict[int, list] = {}
        for v in views:
            by_ns.setdefault(ids[id(v)] if v.cmd.host_format in ("k8s", "compose") else -1, [])
            by_ns[ids[id(v)] if v.cmd.host_format in ("k8s", "compose") else -1].append(v)
        yield from by_ns.values()


def _frontend_ports(views):
    return [(f, topo.http_port(f)) for f in views if f.is_frontend]


class SystemPortIsHttpPort(Rule):
    """A worker's `DYN_SYSTEM_PORT` equals the frontend's HTTP port.

    ## What it does
    Compares each worker's `DYN_SYSTEM_PORT` with the frontend's `--http-port`
    (`DYN_HTTP_PORT`, default 8000) on the same host.

    ## Why is this bad
    Whichever starts second loses: a frontend started second exits with `port ... already
    in use`; a worker started second runs on without its health server, silently.

    ## Example
    ```bash
    python -m dynamo.frontend --http-port 8000 &
    DYN_SYSTEM_PORT=8000 python -m dynamo.sglang --model-path m &
    ```

    ## Use instead
    ```bash
    python -m dynamo.frontend --http-port 8000 &
    DYN_SYSTEM_PORT=8081 python -m dynamo.sglang --model-path m &
    ```
    """

    code = "HC505"
    name = "system-port-is-http-port"
    severity = "error"

    def check(self, ctx) -> Iterator[Finding]:
        for v, sp, f in _on_http_port(ctx, lambda v: topo.system_port(v) if v.is_worker else None):
            yield self.finding(
                ctx,
                v.env_span("DYN_SYSTEM_PORT"),
                f"DYN_SYSTEM_PORT={sp} is the HTTP port of {where(f)}",
            )


class WorkerPortIsHttpPort(Rule):
    """A worker's SGLang `--port` equals the frontend's HTTP port (harmless under Dynamo).

    ## What it does
    Notes a `dynamo.sglang` worker whose `--port` equals the frontend's `--http-port`,
    a pattern from older Dynamo docs.

    ## Why is this bad
    It is not a conflict: under Dynamo the worker never starts SGLang's HTTP server, so
    `--port` is never bound.  It still feeds derived ports (`port+233...port+239` with DP
    attention, `port+10000` for gRPC) and confuses readers, who expect a clash.

    ## Example
    ```bash
    python -m dynamo.sglang --model-path m --port 8000 &
    python -m dynamo.frontend --http-port 8000 &
    ```

    ## Use instead
    ```bash
    python -m dynamo.sglang --model-path m &
    python -m dynamo.frontend --http-port 8000 &
    ```
    """

    code = "HC511"
    name = "worker-port-is-http-port"
    severity = "info"

    def check(self, ctx) -> Iterator[Finding]:
        def port(v):
            explicit = v.is_dynamo and v.is_engine and v.is_explicit("port")
            return v.int_value("port") if explicit else None

        for v, p, f in _on_http_port(ctx, port):
            yield self.finding(
                ctx,
                v.span_of("port"),
                f"--port {p} equals the HTTP port of {where(f)}: no conflict, "
                "a dynamo.sglang worker never binds --port (no SGLang HTTP server "
                "under Dynamo); drop it to avoid confusion",
            )
