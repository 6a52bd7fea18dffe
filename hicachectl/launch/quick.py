"""``hicachectl launch --plan FILE``: the start path that runs without typer or pydantic.

Launching a saved plan needs neither the plan arithmetic nor a command-line framework, and
importing those (typer, click, rich, pydantic and the models) takes longer than Dynamo's
mocker takes to boot.  So ``hicachectl.entry`` hands a ``launch`` whose arguments are only
launch options with ``--plan`` to :func:`run` first.  It reads them with a small strict
parser, checks the plan with :mod:`~hicachectl.launch.planview` (whatever it accepts,
``Plan.model_validate`` accepts too, with the same values), and then runs the very same
``runner.launch`` as the full command: pre-flight, spawn, supervise.

Anything else -- ``--help``, ``--dry-run``, plan options, an unknown or malformed option, a
plan the strict check does not accept, a plan that does not fit or whose host must be
re-probed -- returns None before any side effect, and the full command runs instead, with its
usual messages.  So both paths behave the same; this one only starts the children sooner.
"""

from __future__ import annotations

import json
import math
import os
import sys

# launch's own options (commands/launch.py): option -> (keyword, kind).  A test keeps this
# table equal to the typer command's.
VALUE, FLAG = "value", "flag"
OPTIONS: dict[str, tuple[str, str, object]] = {
    "--plan": ("plan_file", VALUE, str),
    "--engine": ("engine", VALUE, str),
    "--python": ("python", VALUE, str),
    "--run-dir": ("run_dir", VALUE, str),
    "--ready-timeout": ("ready_timeout", VALUE, float),
    "--grace": ("grace", VALUE, float),
    "--discovery": ("discovery", VALUE, str),
    "--speedup-ratio": ("speedup_ratio", VALUE, float),
    "--quiet": ("quiet", FLAG, True),
    "-q": ("quiet", FLAG, True),
    "--loopback": ("loopback", FLAG, True),
    "--no-loopback": ("loopback", FLAG, False),
}
DEFAULTS: dict[str, object] = {
    "plan_file": None,
    "engine": "sglang",
    "python": None,
    "run_dir": None,
    "ready_timeout": None,
    "grace": 10.0,
    "discovery": None,
    "speedup_ratio": 0.0,
    "quiet": False,
    "loopback": None,
}
CHOICES = {"engine": ("sglang", "mocker"), "discovery": ("file", "etcd")}


def parse(args: list[str]) -> dict[str, object] | None:
    """The launch options in ``args`` (those after ``launch``), or None when anything is
    outside the plain cases this path takes (the full command then parses and reports)."""
    opts = dict(DEFAULTS)
    i = 0
    while i < len(args):
        tok = args[i]
        name, eq, inline = tok.partition("=")
        spec = OPTIONS.get(name)
        if spec is None:
            return None
        key, kind, conv = spec
        if kind == FLAG:
            if eq:
                return None
            opts[key] = conv
            i += 1
            continue
        if eq:
            raw = inline
            i += 1
        else:
            if i + 1 >= len(args):
                return None
            raw = args[i + 1]
            i += 2
        if raw.startswith("-") or not raw:
            return None
        if conv is float:
            try:
                value: object = float(raw)
            except ValueError:
                return None
            if not math.isfinite(value) or value < 0:  # type: ignore[arg-type]
                return None
        else:
            value = raw
        if key in CHOICES and value not in CHOICES[key]:
            return None
        opts[key] = value
    return opts if opts["plan_file"] else None


def _read_plan(path: str):
    """The plan as planview Records, or None (unreadable, not accepted: the full path says why)."""
    import stat

    from hicachectl.launch import planview

    try:
        # Only a regular file: a pipe (``--plan <(hicachectl plan ...)``) can be read once,
        # and the full command must still be able to read it when this path declines.
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError, RecursionError):  # the full command reports each of these
        return None
    plan, _why = planview.check(data)
    if plan is None or plan.fits is not True:
        return None
    if not any(p.role == "frontend" for p in plan.processes):
        return None
    return plan


def run(args: list[str]) -> int | None:
    """Launch from a saved plan; the exit code, or None to let the full command handle it."""
    opts = parse(args)
    if opts is None:
        return None
    from hicachectl.launch.modcheck import ModuleCheck, needed_modules

    python = opts["python"] or sys.executable
    engine = str(opts["engine"])
    early = None
    try:
        # Asked first: the interpreter check runs in a helper process while the plan is read.
        early = ModuleCheck(python, needed_modules(["frontend", "worker"], engine))  # type: ignore[arg-type]
        plan = _read_plan(str(opts["plan_file"]))
        # A plan made from a probe of this host is re-probed before real engines start; that
        # path (psutil, NVML, the budget models) is the full command's.
        if plan is None or (plan.hardware.source == "probe" and engine != "mocker"):
            early.cancel()
            return None
        from hicachectl.launch.runner import launch
        from hicachectl.launch.specs import launch_settings, ready_timeout_for

        settings = launch_settings(
            python=opts["python"],  # type: ignore[arg-type]
            run_dir=opts["run_dir"],  # type: ignore[arg-type]
            engine=engine,
            discovery=opts["discovery"],  # type: ignore[arg-type]
            plan_discovery=plan.discovery,
            loopback=opts["loopback"],  # type: ignore[arg-type]
            speedup_ratio=float(opts["speedup_ratio"]),  # type: ignore[arg-type]
            env=os.environ,
            pid=os.getpid(),
        )
        return launch(
            plan,  # type: ignore[arg-type]  (Records read like a Plan)
            settings,
            quiet=bool(opts["quiet"]),
            ready_timeout=ready_timeout_for(engine, opts["ready_timeout"]),  # type: ignore[arg-type]
            grace=float(opts["grace"]),  # type: ignore[arg-type]
            reprobe=False,
            module_check=early,
        )
    except (Exception, KeyboardInterrupt) as exc:  # as cli.main reports them
        from hicachectl.errors import report

        if early is not None:
            early.cancel()
        code = report(exc)
        if code is None:  # HICACHECTL_DEBUG
            raise
        return code
