"""`hicachectl launch`: start the planned workers and frontend, supervise them, verify the boot."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

_P = "Deployment (as for plan)"
_H = "HiCache (as for plan)"
_L = "Launch"


def command(
    plan_file: Annotated[
        str | None,
        typer.Option(
            "--plan",
            help="A saved plan (plan --format json) instead of plan options.",
            rich_help_panel=_L,
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Print argv, env and cwd of every process; start nothing.",
            rich_help_panel=_L,
        ),
    ] = False,
    engine: Annotated[
        str,
        typer.Option(
            help="sglang (real workers) or mocker (Dynamo's CPU mocker in place of each worker, on loopback).",
            rich_help_panel=_L,
        ),
    ] = "sglang",
    python: Annotated[
        str | None,
        typer.Option(
            help="Interpreter that has Dynamo installed (default: the current one).",
            rich_help_panel=_L,
        ),
    ] = None,
    run_dir: Annotated[
        str | None,
        typer.Option(
            help="Run directory for logs and the discovery store (default: a new one under $XDG_STATE_HOME/hicachectl/runs).",
            rich_help_panel=_L,
        ),
    ] = None,
    ready_timeout: Annotated[
        float | None,
        typer.Option(
            help="Seconds to wait for readiness before tearing down (default 900; 60 with the mocker).",
            rich_help_panel=_L,
        ),
    ] = None,
    grace: Annotated[
        float,
        typer.Option(help="Seconds between SIGTERM and SIGKILL when stopping.", rich_help_panel=_L),
    ] = 10.0,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="Show only status and problems, not the children's output.",
            rich_help_panel=_L,
        ),
    ] = False,
    discovery: Annotated[
        str | None,
        typer.Option(
            help="file (a fresh store under the run directory) or etcd (an existing etcd at $ETCD_ENDPOINTS).",
            rich_help_panel=_L,
        ),
    ] = None,
    loopback: Annotated[
        bool | None,
        typer.Option(
            "--loopback/--no-loopback",
            help="Bind Dynamo's listeners to 127.0.0.1 (default: on with the mocker).",
            rich_help_panel=_L,
        ),
    ] = None,
    speedup_ratio: Annotated[
        float,
        typer.Option(help="Mocker --speedup-ratio (0: no simulated delay).", rich_help_panel=_L),
    ] = 0.0,
    profile: Annotated[
        str | None, typer.Option(help="Profile TOML (path or bundled name).", rich_help_panel=_P)
    ] = None,
    hardware: Annotated[
        str | None,
        typer.Option(help="Hardware snapshot instead of probing.", rich_help_panel=_P),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(help="Model: HF id, local directory or catalogue name.", rich_help_panel=_P),
    ] = None,
    model_config: Annotated[
        str | None, typer.Option(help="A Hugging Face config.json.", rich_help_panel=_P)
    ] = None,
    tp: Annotated[
        int | None, typer.Option(help="Tensor parallel size per worker.", rich_help_panel=_P)
    ] = None,
    dp: Annotated[
        int | None, typer.Option(help="Data parallel size per worker.", rich_help_panel=_P)
    ] = None,
    pp: Annotated[
        int | None, typer.Option(help="Pipeline parallel size per worker.", rich_help_panel=_P)
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Aggregated replicas behind a KV-routing frontend.", rich_help_panel=_P),
    ] = None,
    prefill_workers: Annotated[
        int | None, typer.Option(help="Disaggregated prefill workers.", rich_help_panel=_P)
    ] = None,
    decode_workers: Annotated[
        int | None, typer.Option(help="Disaggregated decode workers.", rich_help_panel=_P)
    ] = None,
    mem_fraction_static: Annotated[
        float | None, typer.Option(help="SGLang --mem-fraction-static.", rich_help_panel=_P)
    ] = None,
    max_total_tokens: Annotated[
        int | None, typer.Option(help="Cap on device pool tokens per rank.", rich_help_panel=_P)
    ] = None,
    max_running_requests: Annotated[
        int | None,
        typer.Option(help="SGLang --max-running-requests.", rich_help_panel=_P),
    ] = None,
    kv_cache_dtype: Annotated[
        str | None, typer.Option(help="SGLang --kv-cache-dtype.", rich_help_panel=_P)
    ] = None,
    sglang_version: Annotated[
        str | None, typer.Option(help="Target SGLang version.", rich_help_panel=_P)
    ] = None,
    http_port: Annotated[
        int | None, typer.Option(help="Frontend HTTP port.", rich_help_panel=_P)
    ] = None,
    page_size: Annotated[
        int | None, typer.Option(help="Tokens per KV page.", rich_help_panel=_H)
    ] = None,
    storage_backend: Annotated[
        str | None, typer.Option(help="HiCache L3 storage backend.", rich_help_panel=_H)
    ] = None,
    io_backend: Annotated[
        str | None, typer.Option(help="--hicache-io-backend.", rich_help_panel=_H)
    ] = None,
    mem_layout: Annotated[
        str | None, typer.Option(help="--hicache-mem-layout.", rich_help_panel=_H)
    ] = None,
    write_policy: Annotated[
        str | None, typer.Option(help="--hicache-write-policy.", rich_help_panel=_H)
    ] = None,
    hicache_ratio: Annotated[
        float | None, typer.Option(help="Explicit host/device ratio.", rich_help_panel=_H)
    ] = None,
    hicache_size: Annotated[
        int | None, typer.Option(help="Explicit GB (1e9) per rank.", rich_help_panel=_H)
    ] = None,
    host_memory_fraction: Annotated[
        float | None,
        typer.Option(help="Share of (host memory - 10 GiB) all ranks may pin.", rich_help_panel=_H),
    ] = None,
) -> int:
    """Start the planned workers and frontend, supervise them, and check the boot against the plan.

    Runs until a process stops or you press Ctrl-C; --dry-run prints what would run.  Exit
    codes: the code of the process that stopped first (128+N for signal N, 1 if it exited 0),
    1 when not ready within --ready-timeout, 2 when pre-flight fails (nothing started),
    130/143 on Ctrl-C/SIGTERM.
    """
    from hicachectl.errors import UsageError

    if engine not in ("sglang", "mocker"):
        raise UsageError(f"--engine {engine}: choose sglang or mocker")
    if discovery not in (None, "file", "etcd"):
        raise UsageError(f"--discovery {discovery}: choose file or etcd")
    options = {
        "model": model,
        "model_config": model_config,
        "hardware": hardware,
        "tp": tp,
        "dp": dp,
        "pp": pp,
        "workers": workers,
        "prefill_workers": prefill_workers,
        "decode_workers": decode_workers,
        "mem_fraction_static": mem_fraction_static,
        "max_total_tokens": max_total_tokens,
        "max_running_requests": max_running_requests,
        "kv_cache_dtype": kv_cache_dtype,
        "sglang_version": sglang_version,
        "http_port": http_port,
        "page_size": page_size,
        "storage_backend": storage_backend,
        "io_backend": io_backend,
        "mem_layout": mem_layout,
        "write_policy": write_policy,
        "hicache_ratio": hicache_ratio,
        "hicache_size": hicache_size,
        "host_memory_fraction": host_memory_fraction,
    }
    from hicachectl.launch.inputs import plan_for_launch

    plan, reprobe = plan_for_launch(plan_file, options, profile)
    from pathlib import Path

    from hicachectl.launch.rundir import default_run_dir
    from hicachectl.launch.runner import launch
    from hicachectl.launch.specs import Settings

    settings = Settings(
        python=python or sys.executable,
        run_dir=Path(run_dir).resolve()
        if run_dir
        else default_run_dir(os.environ, pid=os.getpid()),
        engine=engine,
        discovery=discovery or plan.discovery,
        etcd_endpoints=os.environ.get("ETCD_ENDPOINTS", "http://localhost:2379"),
        loopback=(engine == "mocker") if loopback is None else loopback,
        speedup_ratio=speedup_ratio,
    )
    timeout = (
        ready_timeout if ready_timeout is not None else (60.0 if engine == "mocker" else 900.0)
    )
    return launch(
        plan,
        settings,
        dry_run=dry_run,
        quiet=quiet,
        ready_timeout=timeout,
        grace=grace,
        reprobe=reprobe,
    )
