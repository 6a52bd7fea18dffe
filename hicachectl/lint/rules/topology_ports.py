"""HC501-HC505, HC511: processes of one deployment that would bind the same port or use
the same GPUs (compared within one network namespace: a script, a pod)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from hicachectl.lint.rules import _topology as topo
from hicachectl.lint.rules._hosts import port_groups, runs_alongside, stopped_between, where
from hicachectl.lint.rules.base import Rule
from hicachectl.lint.types import Finding


def _clashes(ctx, pick: Callable, keys: Callable, ok: Callable = lambda a, b: True):
    """(later view, earlier view, shared keys) for views that clash: the same key (port,
    GPU) in one namespace, with no ``kill`` between them.  Linear in the commands: each key
    remembers its latest users (a kill between stops every earlier one too)."""
    for views in port_groups(ctx):
        users: dict[object, list] = {}
        for v in views:
            if not pick(v):
                continue
            mine = keys(v)
            if not mine:
                continue
            hit = None
            for key in mine:
                for other in reversed(users.get(key, ())[-8:]):
                    if stopped_between(ctx, other, v):
                        break
                    if runs_alongside(other, v) and ok(v, other):
                        hit = other
                        break
                if hit is not None:
                    break
            if hit is not None:
                theirs = set(keys(hit))
                yield v, hit, sorted((k for k in mine if k in theirs), key=str)
            for key in mine:
                users.setdefault(key, []).append(v)


def _one(value_of: Callable) -> Callable:
    """A key function for _clashes from a function giving one key or None."""

    def keys(v):
        k = value_of(v)
        return [k] if k else []

    return keys


class DuplicateSystemPort(Rule):
    """Two Dynamo workers on one host with the same `DYN_SYSTEM_PORT`.

    ## What it does
    Compares `DYN_SYSTEM_PORT` of the workers started by one script, runbook section or
    pod.

    ## Why is this bad
    The second worker's system server fails with `Address already in use`, yet the worker
    keeps serving without `/health`, `/live` and `/metrics`: readiness probes and
    `hicachectl launch` never see it become ready.

    ## Example
    ```bash
    DYN_SYSTEM_PORT=8081 python -m dynamo.sglang --model-path m &
    DYN_SYSTEM_PORT=8081 CUDA_VISIBLE_DEVICES=1 python -m dynamo.sglang --model-path m &
    ```

    ## Use instead
    ```bash
    DYN_SYSTEM_PORT=8081 python -m dynamo.sglang --model-path m &
    DYN_SYSTEM_PORT=8082 CUDA_VISIBLE_DEVICES=1 python -m dynamo.sglang --model-path m &
    ```
    """

    code = "HC501"
    name = "duplicate-system-port"
    severity = "error"

    def check(self, ctx) -> Iterator[Finding]:
        for v, other, shared in _clashes(ctx, lambda v: v.is_worker, _one(topo.system_port)):
            yield self.finding(
                ctx,
                v.env_span("DYN_SYSTEM_PORT"),
                f"DYN_SYSTEM_PORT={shared[0]} is also used by {where(other)}; the second "
                "system server fails and the worker runs without /health",
            )


class DuplicateKvEventsPort(Rule):
    """Two workers publish KV events on the same port.

    ## What it does
    Reads the endpoint port of each worker's `--kv-events-config` (SGLang adds the DP rank
    to it) and compares the ports of workers on one host.

    ## Why is this bad
    The second publisher cannot bind, so the router never receives that worker's KV
    events and routes as if its cache were empty.

    ## Example
    ```bash
    python -m dynamo.sglang --model-path m \\
      --kv-events-config '{"publisher":"zmq","topic":"kv-events","endpoint":"tcp://*:5557"}' &
    CUDA_VISIBLE_DEVICES=1 python -m dynamo.sglang --model-path m \\
      --kv-events-config '{"publisher":"zmq","topic":"kv-events","endpoint":"tcp://*:5557"}' &
    ```

    ## Use instead
    ```bash
    python -m dynamo.sglang --model-path m \\
      --kv-events-config '{"publisher":"zmq","topic":"kv-events","endpoint":"tcp://*:5557"}' &
    CUDA_VISIBLE_DEVICES=1 python -m dynamo.sglang --model-path m \\
      --kv-events-config '{"publisher":"zmq","topic":"kv-events","endpoint":"tcp://*:5558"}' &
    ```
    """

    code = "HC502"
    name = "duplicate-kv-events-port"
    severity = "error"

    def check(self, ctx) -> Iterator[Finding]:
        for v, other, shared in _clashes(ctx, lambda v: v.is_engine, topo.kv_event_ports):
            yield self.finding(
                ctx,
                v.span_of("kv_events_config"),
                f"KV-events port {shared[0]} is also bound by {where(other)} "
                "(each DP rank adds 1 to the port)",
            )


class DuplicateBootstrapPort(Rule):
    """Two prefill servers on one host with the same disaggregation bootstrap port.

    ## What it does
    Compares `--disaggregation-bootstrap-port` of prefill servers on one host (SGLang's
    default is 8998; under Dynamo an omitted port is chosen at random and never clashes).

    ## Why is this bad
    The second prefill server cannot start its bootstrap server; decode servers cannot
    reach it for KV transfer.

    ## Example
    ```bash
    python -m dynamo.sglang --model-path m --disaggregation-mode prefill \\
      --disaggregation-bootstrap-port 12345 &
    CUDA_VISIBLE_DEVICES=1 python -m dynamo.sglang --model-path m \\
      --disaggregation-mode prefill --disaggregation-bootstrap-port 12345 &
    ```

    ## Use instead
    ```bash
    python -m dynamo.sglang --model-path m --disaggregation-mode prefill \\
      --disaggregation-bootstrap-port 12345 &
    CUDA_VISIBLE_DEVICES=1 python -m dynamo.sglang --model-path m \\
      --disaggregation-mode prefill --disaggregation-bootstrap-port 12346 &
    ```
    """

    code = "HC503"
    name = "duplicate-bootstrap-port"
    severity = "error"

    def check(self, ctx) -> Iterator[Finding]:
        for v, other, shared in _clashes(ctx, lambda v: v.is_engine, _one(topo.bootstrap_port)):
            yield self.finding(
                ctx,
                v.span_of("disaggregation_bootstrap_port"),
                f"bootstrap port {shared[0]} is also used by the prefill server on line "
                f"{other.cmd.span.line}",
            )


class SharedGpus(Rule):
    """Two servers on one host use the same GPUs.

    ## What it does
    Works out which GPUs each SGLang server uses (`CUDA_VISIBLE_DEVICES`,
    `--base-gpu-id`, tp × pp × dp ranks) and reports servers whose GPUs overlap.  Two
    servers without `CUDA_VISIBLE_DEVICES` both start on GPU 0.

    ## Why is this bad
    Both servers size their KV pools for the whole GPU (`--mem-fraction-static`), so the
    second one fails with CUDA out of memory or both run with a fraction of the cache.
    Deliberate sharing needs matching `--mem-fraction-static` values on both.

    ## Example
    ```bash
    python -m dynamo.sglang --model-path m &
    python -m dynamo.sglang --model-path m &
    ```

    ## Use instead
    ```bash
    CUDA_VISIBLE_DEVICES=0 python -m dynamo.sglang --model-path m &
    CUDA_VISIBLE_DEVICES=1 python -m dynamo.sglang --model-path m &
    ```
    """

    code = "HC504"
    name = "shared-gpus"
    severity = "warning"

    def check(self, ctx) -> Iterator[Finding]:
        def key(v):
            g = topo.gpus(v)
            return g[0] if g else []

        for v, other, shared in _clashes(ctx, lambda v: v.is_engine, key, _same_host):
            how = topo.gpus(v)[1]
            span = (
                v.env_span("CUDA_VISIBLE_DEVICES")
                if "CUDA_VISIBLE_DEVICES" in v.cmd.env
                else v.head_span
            )
            yield self.finding(
                ctx,
                span,
                f"GPU {', '.join(shared)} is also used by {where(other)} ({how}); both size "
                "their KV pools for the whole GPU",
            )


def _same_host(a, b) -> bool:
    """Two servers without CUDA_VISIBLE_DEVICES in different disaggregation roles are
    usually on different nodes (prefill node, decode node): not a clash we can claim."""
    if a.cmd.host_format == "k8s" and a.cmd.context.get("container") != b.cmd.context.get(
        "container"
    ):
        return False  # the device plugin gives each container its own GPUs
    env = "CUDA_VISIBLE_DEVICES"
    if env in a.cmd.env or env in b.cmd.env:
        return True
    return a.value("disaggregation_mode") == b.value("disaggregation_mode")
