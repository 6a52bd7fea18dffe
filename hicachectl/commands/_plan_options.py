"""The plan options `plan` and `launch` share, declared once.

A new plan option is one row in ``_OPTIONS``: :func:`plan_options` adds every row to a
command's typer signature and hands the values to the command as the ``options`` dict that
``plan_inputs.gather`` takes (PlanRequest field names; None = not given) plus ``profile``.

No ``from __future__ import annotations``: the signature built here holds real types, so
typer has nothing to ``eval`` at start-up.
"""

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer

DEPLOYMENT = "Deployment"
HICACHE = "HiCache"

# (name, type, help, panel) in --help order.  ``name`` is the PlanRequest field name (or its
# alias, as for model_config) and, with "_" → "-", the option's flag.
_OPTIONS: tuple[tuple[str, Any, str, str], ...] = (
    ("model", str, "Model: HF id (HF cache or bundled catalogue) or local directory.", DEPLOYMENT),
    ("model_config", str, "A Hugging Face config.json (or its directory).", DEPLOYMENT),
    ("hardware", str, "Hardware snapshot (probe --json) instead of probing this machine.", DEPLOYMENT),
    ("profile", str, "Profile TOML (path, or a bundled name); CLI options override it.", DEPLOYMENT),
    ("tp", int, "Tensor parallel size per worker.", DEPLOYMENT),
    ("dp", int, "Data parallel size per worker.", DEPLOYMENT),
    ("pp", int, "Pipeline parallel size per worker.", DEPLOYMENT),
    ("workers", int, "Aggregated replicas (more than one: behind a KV-routing frontend).", DEPLOYMENT),
    ("prefill_workers", int, "Disaggregated prefill workers.", DEPLOYMENT),
    ("decode_workers", int, "Disaggregated decode workers.", DEPLOYMENT),
    ("mem_fraction_static", float, "SGLang --mem-fraction-static (default: SGLang's own).", DEPLOYMENT),
    ("max_total_tokens", int, "Cap on device pool tokens per rank.", DEPLOYMENT),
    ("max_running_requests", int, "SGLang --max-running-requests (vLLM's --max-num-seqs).", DEPLOYMENT),
    ("kv_cache_dtype", str, "SGLang --kv-cache-dtype (default auto).", DEPLOYMENT),
    ("sglang_version", str, "Target SGLang version (default 0.5.21, Dynamo 1.6.1's pin).", DEPLOYMENT),
    ("served_model_name", str, "Name clients use (default: the HF id, or a local directory's name).", DEPLOYMENT),
    ("http_port", int, "Frontend HTTP port (default 8000).", DEPLOYMENT),
    ("system_port", int, "First worker's DYN_SYSTEM_PORT, /health (default 8081, at most 32767).", DEPLOYMENT),
    ("kv_events_port", int, "First worker's --kv-events-config port (default 5557).", DEPLOYMENT),
    ("bootstrap_port", int, "First prefill worker's bootstrap port (default 8998).", DEPLOYMENT),
    ("page_size", int, "Tokens per KV page (default 64).", HICACHE),
    ("storage_backend", str, "HiCache L3 storage backend (file, mooncake, hf3fs, nixl, ...).", HICACHE),
    ("io_backend", str, "--hicache-io-backend to request.", HICACHE),
    ("mem_layout", str, "--hicache-mem-layout to request.", HICACHE),
    ("write_policy", str, "--hicache-write-policy (default write_through).", HICACHE),
    ("hicache_ratio", float, "Explicit host/device ratio (checked against the budget).", HICACHE),
    ("hicache_size", int, "Explicit GB (1e9) per rank (checked against the budget).", HICACHE),
    ("host_memory_fraction", float, "Share of (host memory - 10 GiB) all ranks may pin (default 0.8).", HICACHE),
)  # fmt: skip

NAMES: tuple[str, ...] = tuple(row[0] for row in _OPTIONS if row[0] != "profile")


def plan_options(*, panel_suffix: str = "") -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Decorate a command whose signature has ``options`` and ``profile`` parameters (no typer
    annotation): typer sees every plan option in their place, under the panels Deployment and
    HiCache (plus ``panel_suffix``); the command receives ``options`` (a dict keyed by
    :data:`NAMES`) and ``profile``."""

    def decorate(func: Callable[..., int]) -> Callable[..., int]:
        own = inspect.signature(func, eval_str=True).parameters
        if "options" not in own or "profile" not in own:
            raise TypeError(f"{func.__qualname__}: needs 'options' and 'profile' parameters")
        params: list[inspect.Parameter] = []
        for name, param in own.items():
            if name == "options":
                params.extend(_parameters(panel_suffix))
            elif name != "profile":
                params.append(param.replace(kind=inspect.Parameter.KEYWORD_ONLY))

        @functools.wraps(func)
        def command(**values: Any) -> int:
            profile = values.pop("profile", None)
            options = {name: values.pop(name, None) for name in NAMES}
            return func(options=options, profile=profile, **values)

        command.__signature__ = inspect.Signature(params, return_annotation=int)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        return command

    return decorate


def _parameters(panel_suffix: str) -> list[inspect.Parameter]:
    return [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                kind | None, typer.Option(help=help_text, rich_help_panel=panel + panel_suffix)
            ],
        )
        for name, kind, help_text, panel in _OPTIONS
    ]
