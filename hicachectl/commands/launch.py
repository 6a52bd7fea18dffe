"""`hicachectl launch`: start the planned workers and frontend, supervise them, verify the boot."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any

import typer

from hicachectl.commands._plan_options import plan_options

_L = "Launch"


@plan_options(panel_suffix=" (as for plan)")
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
            min=0.0,
            help="Seconds to wait for readiness before tearing down (default 900; 60 with the mocker).",
            rich_help_panel=_L,
        ),
    ] = None,
    grace: Annotated[
        float,
        typer.Option(
            min=0.0, help="Seconds between SIGTERM and SIGKILL when stopping.", rich_help_panel=_L
        ),
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
            help="file (default: a fresh store under the run directory) or etcd (an existing etcd at $ETCD_ENDPOINTS).",
            rich_help_panel=_L,
        ),
    ] = None,
    loopback: Annotated[
        bool | None,
        typer.Option(
            "--loopback/--no-loopback",
            help="Bind Dynamo's listeners to 127.0.0.1 (default: on with the mocker, off with sglang).",
            rich_help_panel=_L,
        ),
    ] = None,
    speedup_ratio: Annotated[
        float,
        typer.Option(
            min=0.0, help="Mocker --speedup-ratio (0: no simulated delay).", rich_help_panel=_L
        ),
    ] = 0.0,
    options: dict[str, Any] | None = None,
    profile: str | None = None,
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
    early = None
    if not dry_run:
        # The interpreter check (a subprocess) starts before the plan is read, so its answer
        # is in by pre-flight; launch replaces it if the plan needs other modules.
        from hicachectl.launch.modcheck import ModuleCheck, needed_modules

        early = ModuleCheck(
            python or sys.executable, needed_modules(["frontend", "worker"], engine)
        )
    from hicachectl.launch.inputs import plan_for_launch

    try:
        plan, reprobe = plan_for_launch(plan_file, options, profile)
    except BaseException:
        if early is not None:
            early.cancel()
        raise
    from hicachectl.launch.runner import launch
    from hicachectl.launch.specs import launch_settings, ready_timeout_for

    settings = launch_settings(
        python=python,
        run_dir=run_dir,
        engine=engine,
        discovery=discovery,
        plan_discovery=plan.discovery,
        loopback=loopback,
        speedup_ratio=speedup_ratio,
        env=os.environ,
        pid=os.getpid(),
    )
    timeout = ready_timeout_for(engine, ready_timeout)
    return launch(
        plan,
        settings,
        dry_run=dry_run,
        quiet=quiet,
        ready_timeout=timeout,
        grace=grace,
        reprobe=reprobe,
        module_check=early,
    )
