"""HC506-HC510: frontend and workers of one deployment that disagree about routing,
discovery or the shared cache (compared within one group: a script, a DGD)."""

from __future__ import annotations

from collections.abc import Iterator

from hicachectl.lint.rules import _topology as topo
from hicachectl.lint.rules._hosts import deployments, where
from hicachectl.lint.rules.base import Rule
from hicachectl.lint.types import Finding


def _roles(views):
    fronts = [v for v in views if v.is_frontend]
    workers = [v for v in views if v.is_worker and v.is_engine]
    return fronts, workers


def _front_span(f, dest: str, env: str):
    return f.span_of(dest) if f.is_explicit(dest) else f.env_span(env)


class BlockSizeMismatch(Rule):
    """The frontend's `--kv-cache-block-size` differs from the workers' `--page-size`.

    ## What it does
    Compares an explicit frontend `--kv-cache-block-size` (or `DYN_KV_CACHE_BLOCK_SIZE`)
    with the page size each SGLang worker in the deployment resolves to (default 1).

    ## Why is this bad
    The KV router hashes requests in blocks of its own size while the workers publish
    KV events per page: no block ever matches, and KV-aware routing degrades to a load
    balancer without a word.  Leave the option out and the frontend takes the size from
    the workers' model card.

    ## Example
    ```bash
    python -m dynamo.frontend --router-mode kv --kv-cache-block-size 16 &
    python -m dynamo.sglang --model-path m --page-size 64 &
    ```

    ## Use instead
    ```bash
    python -m dynamo.frontend --router-mode kv &
    python -m dynamo.sglang --model-path m --page-size 64 &
    ```
    """

    code = "HC506"
    name = "block-size-mismatch"
    severity = "warning"

    def check(self, ctx) -> Iterator[Finding]:
        for views in deployments(ctx):
            fronts, workers = _roles(views)
            for f in fronts:
                raw = topo.frontend_setting(f, "kv_cache_block_size", "DYN_KV_CACHE_BLOCK_SIZE")
                block = topo._int(raw)
                if block is None:
                    continue
                for w in workers:
                    if w.open_ended:
                        continue
                    page = topo._int(w.resolved("page_size") or 1) if w.known("page_size") else None
                    if page is not None and page != block:
                        yield self.finding(
                            ctx,
                            _front_span(f, "kv_cache_block_size", "DYN_KV_CACHE_BLOCK_SIZE"),
                            f"--kv-cache-block-size {block} differs from page size {page} of "
                            f"{where(w)}; KV-aware routing will never match a block",
                            fix=f"--kv-cache-block-size {page}",
                        )
                        break


class KvRouterWithoutEvents(Rule):
    """`--router-mode kv` with workers that publish no KV events.

    ## What it does
    Finds a frontend routing by KV cache (`--router-mode kv` or `DYN_ROUTER_MODE=kv`,
    with KV events on) whose SGLang workers in the same deployment have no
    `--kv-events-config` (KV events are off by default in SGLang).

    ## Why is this bad
    The router never learns what the workers cache, HiCache's host tier included, so it
    routes without cache overlap while the deployment looks KV-aware.

    ## Example
    ```bash
    python -m dynamo.frontend --router-mode kv &
    python -m dynamo.sglang --model-path m --enable-hierarchical-cache &
    ```

    ## Use instead
    ```bash
    python -m dynamo.frontend --router-mode kv &
    python -m dynamo.sglang --model-path m --enable-hierarchical-cache \\
      --kv-events-config '{"publisher":"zmq","topic":"kv-events","endpoint":"tcp://*:5557"}' &
    ```
    """

    code = "HC507"
    name = "kv-router-without-events"
    severity = "warning"

    def check(self, ctx) -> Iterator[Finding]:
        for views in deployments(ctx):
            fronts, workers = _roles(views)
            kv = [
                f
                for f in fronts
                if topo.frontend_setting(f, "router_mode", "DYN_ROUTER_MODE") == "kv"
                and topo.frontend_setting(f, "use_kv_events", "DYN_ROUTER_USE_KV_EVENTS")
                not in (False, "false", "0")
            ]
            if not kv:
                continue
            for w in workers:
                if w.open_ended:
                    continue
                if w.entrypoint == "dynamo.sglang" and topo.publishes_kv_events(w) is False:
                    yield self.finding(
                        ctx,
                        w.head_span,
                        f"{where(kv[0])} routes by KV cache, but this worker publishes no KV "
                        "events (no --kv-events-config)",
                        fix="--kv-events-config "
                        '\'{"publisher":"zmq","topic":"kv-events","endpoint":"tcp://*:5557"}\'',
                    )


class DiscoveryMismatch(Rule):
    """Dynamo processes of one deployment use different discovery backends.

    ## What it does
    Works out each Dynamo process's discovery backend (`--discovery-backend`, else
    `DYN_DISCOVERY_BACKEND`, else `etcd`) and reports processes that differ from the
    first one.

    ## Why is this bad
    The frontend never sees workers registered in another store: `/v1/models` stays
    empty.  A process left on the `etcd` default with no etcd running retries for two
    minutes before failing.

    ## Example
    ```bash
    python -m dynamo.frontend --discovery-backend file &
    python -m dynamo.sglang --model-path m &
    ```

    ## Use instead
    ```bash
    export DYN_DISCOVERY_BACKEND=file
    python -m dynamo.frontend &
    python -m dynamo.sglang --model-path m &
    ```
    """

    code = "HC508"
    name = "discovery-mismatch"
    severity = "error"

    def check(self, ctx) -> Iterator[Finding]:
        for views in deployments(ctx):
            procs = [(v, topo.discovery(v)) for v in views if v.is_dynamo]
            procs = [(v, d) for v, d in procs if d is not None]
            if len({d for _, d in procs}) < 2:
                continue
            first, base = procs[0]
            for v, d in procs[1:]:
                if d != base:
                    span = (
                        v.span_of("discovery_backend")
                        if v.is_explicit("discovery_backend")
                        else v.env_span("DYN_DISCOVERY_BACKEND")
                    )
                    yield self.finding(
                        ctx,
                        span,
                        f"discovery backend {d} differs from {base} used by {where(first)}; "
                        "processes in different stores never see each other",
                        fix=f"--discovery-backend {base}",
                    )


class RouterEnvOnWorker(Rule):
    """`DYN_ROUTER_*` variables set for a worker.

    ## What it does
    Finds `DYN_ROUTER_*` variables in a Dynamo worker's environment.

    ## Why is this bad
    Workers read them too: the worker advertises that routing in its model card, which
    overrides the frontend's routing for that worker set.  Usually frontend settings that
    leaked into a shared environment block.

    ## Example
    ```bash
    DYN_ROUTER_MODE=kv python -m dynamo.sglang --model-path m &
    ```

    ## Use instead
    ```bash
    DYN_ROUTER_MODE=kv python -m dynamo.frontend &
    python -m dynamo.sglang --model-path m &
    ```
    """

    code = "HC509"
    name = "router-env-on-worker"
    severity = "warning"

    def check(self, ctx) -> Iterator[Finding]:
        for v in ctx.views:
            if not v.is_worker:
                continue
            for name in sorted(v.cmd.env):
                if name.startswith("DYN_ROUTER_"):
                    yield self.finding(
                        ctx,
                        v.env_span(name),
                        f"{name}={v.cmd.env[name]} on a worker makes it advertise its own "
                        "routing, overriding the frontend's for this worker set; set it on "
                        "the frontend",
                    )


class SharedCacheWithoutMooncake(Rule):
    """`--shared-cache-type hicache` without Mooncake-backed workers.

    ## What it does
    Finds a frontend with `--shared-cache-type hicache` (or `DYN_SHARED_CACHE_TYPE`) whose
    SGLang workers in the same deployment do not use
    `--hicache-storage-backend mooncake`.

    ## Why is this bad
    The shared-cache credit models HiCache's Mooncake L3 pool.  Without it the router
    credits cache hits that no worker can serve.

    ## Example
    ```bash
    python -m dynamo.frontend --router-mode kv --shared-cache-type hicache &
    python -m dynamo.sglang --model-path m --enable-hierarchical-cache &
    ```

    ## Use instead
    ```bash
    python -m dynamo.frontend --router-mode kv --shared-cache-type hicache &
    python -m dynamo.sglang --model-path m --enable-hierarchical-cache \\
      --hicache-storage-backend mooncake \\
      --hicache-storage-backend-extra-config '{"master_server_address": "mc:50051"}' &
    ```
    """

    code = "HC510"
    name = "shared-cache-without-mooncake"
    severity = "warning"

    def check(self, ctx) -> Iterator[Finding]:
        for views in deployments(ctx):
            fronts, workers = _roles(views)
            workers = [w for w in workers if w.entrypoint == "dynamo.sglang"]
            if not workers or any(w.open_ended for w in workers):
                continue
            for f in fronts:
                kind = topo.frontend_setting(f, "shared_cache_type", "DYN_SHARED_CACHE_TYPE")
                if kind != "hicache":
                    continue
                if not any(w.value("hicache_storage_backend") == "mooncake" for w in workers):
                    yield self.finding(
                        ctx,
                        _front_span(f, "shared_cache_type", "DYN_SHARED_CACHE_TYPE"),
                        "--shared-cache-type hicache, but no worker here uses "
                        "--hicache-storage-backend mooncake",
                    )
