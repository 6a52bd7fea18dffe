"""``launch`` end to end: plan → children → dry run or pre-flight → supervise → verdict.

The glue between the pure parts (specs, pre-flight checks, supervisor, boot report) and the
one module that spawns (``process``).  Returns the exit code.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, TextIO

from hicachectl.errors import PreflightError
from hicachectl.launch import environ, preflight, rehearsal_model, rundir
from hicachectl.launch.modcheck import ModuleCheck, needed_modules
from hicachectl.launch.specs import Child, Settings, build_children
from hicachectl.launch.startup import start_children

if TYPE_CHECKING:
    from hicachectl.models import Plan
from hicachectl.secrets import is_secret_name


def _mask_env(key: str, value: str) -> str:
    return "***" if is_secret_name(key) else value


def _mask_argv(argv: list[str]) -> list[str]:
    out, hide = [], False
    for tok in argv:
        if hide:
            out.append("***")
            hide = False
        elif tok.startswith("--") and is_secret_name(tok):
            out.append(tok)
            hide = True
        elif "=" in tok and tok.startswith("--") and is_secret_name(tok.split("=", 1)[0]):
            out.append(tok.split("=", 1)[0] + "=***")
        else:
            out.append(tok)
    return out


def dry_run_text(children: list[Child], user_env: Mapping[str, str], s: Settings) -> str:
    lines = [f"# run directory: {s.run_dir} (created at launch; nothing started)"]
    for c in children:
        lines.append(f"\n# {c.name} ({c.role})")
        lines.append(f"cwd: {c.cwd or os.getcwd()}")
        for k, v in environ.env_diff(c.env, user_env).items():
            lines.append(f"env: {k}={_mask_env(k, v)}")
        removed = environ.env_removed(c.env, user_env)
        if removed:
            lines.append(f"env removed: {' '.join(removed)}")
        lines.append(f"argv: {shlex.join(_mask_argv(c.argv))}")
        lines.append(f"log: {c.log_path}")
        if c.ports:
            lines.append("ports: " + " ".join(f"{u.label}={u.host}:{u.port}" for u in c.ports))
        if c.probe:
            from hicachectl.launch import frontend_view

            gate = frontend_view.frontend_gate(children) if c.role == "frontend" else None
            also = f" and {gate.expect.describe()}" if gate else ""
            lines.append(f"ready when: GET {c.probe[1]} says ready{also}")
        for note in c.notes:
            lines.append(f"note: {note}")
    return "\n".join(lines) + "\n"


def mocker_model(plan: Plan, s: Settings) -> Settings:
    """The mocker needs a local tokenizer + config.json: the plan's model directory when it is
    one, else its snapshot in the Hugging Face cache, else a generated rehearsal model under
    the run directory."""
    if s.engine != "mocker":
        return s
    if rehearsal_model.is_servable_dir(plan.model_path):
        return s._replace(mocker_model_path=os.path.abspath(plan.model_path))
    from hicachectl.catalogue import find_in_hf_cache

    cached = find_in_hf_cache(plan.model_path)  # the real tokenizer, when it is on disk
    if cached is not None and rehearsal_model.is_servable_dir(cached):
        return s._replace(mocker_model_path=str(cached))
    return s._replace(mocker_model_path=str(s.run_dir / "model"))


def run_preflight(
    plan: Plan,
    children: list[Child],
    s: Settings,
    *,
    reprobe: bool,
    modules: ModuleCheck | None = None,
) -> list[str]:
    # The interpreter check is a subprocess (tens of ms to start): started first (by the
    # caller, earlier still), collected last, so the other checks run meanwhile.
    if modules is None:
        modules = ModuleCheck(s.python, needed_modules([c.role for c in children], s.engine))
    problems = []
    err = rundir.check_writable(s.run_dir)
    if err:
        problems.append(err)
    problems += preflight.port_problems(children)
    if s.discovery == "etcd":
        problems += preflight.etcd_problems(s.etcd_endpoints)
    if reprobe and s.engine != "mocker":
        from hicachectl.probe import host_headroom_bytes, probe

        fresh = probe()
        problems += preflight.host_problems(
            plan, fresh, lambda snap: host_headroom_bytes(snap, sglang_version=plan.sglang_version)
        )
        problems += preflight.gpu_problems(plan, fresh)
    return problems + modules.problems()


def launch(
    plan: Plan,
    s: Settings,
    *,
    dry_run: bool = False,
    quiet: bool = False,
    ready_timeout: float = 900.0,
    grace: float = 10.0,
    reprobe: bool = False,
    user_env: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    module_check: ModuleCheck | None = None,
) -> int:
    """Run ``plan``; ``module_check``: the interpreter check if the caller started it already
    (it is used when it asks what this plan needs, else replaced)."""
    user_env = dict(os.environ if user_env is None else user_env)
    out, err = out or sys.stdout, err or sys.stderr
    modules = None
    if not dry_run:
        need = needed_modules([p.role for p in plan.processes], s.engine)
        modules = module_check
        if modules is None or not modules.asks(s.python, need):
            if modules is not None:
                modules.cancel()
            modules = ModuleCheck(s.python, need)
    elif module_check is not None:
        module_check.cancel()
    try:
        s = mocker_model(plan, s)
        children = build_children(plan, s, user_env)
        if dry_run:
            out.write(dry_run_text(children, user_env, s))
            return 0
        problems = run_preflight(plan, children, s, reprobe=reprobe, modules=modules)
    finally:
        if modules is not None:
            modules.cancel()  # collected already, or abandoned by an error: reaped either way
    if problems:
        raise PreflightError("\n".join(f"pre-flight: {p}" for p in problems))
    if s.engine == "mocker" and s.mocker_model_path == str(s.run_dir / "model"):
        rehearsal_model.write_rehearsal_model(s.run_dir / "model")
    # Start the children now, and load the supervisor, printer and boot report while they
    # boot: the deployment's start does not wait for hicachectl's own imports.
    from hicachectl.launch import process

    events = process.EventQueue()
    previous = process.install_signal_handlers(events)  # a Ctrl-C from here on is an event
    try:
        started = start_children(children, s, events, grace=grace)
        try:
            rundir.write_json(s.run_dir / "plan.json", plan_data(plan))
            from hicachectl.launch.session import supervise

            return supervise(
                plan,
                children,
                s,
                quiet=quiet,
                ready_timeout=ready_timeout,
                grace=grace,
                out=out,
                err=err,
                started=started,
            )
        except BaseException:
            # The supervisor stops the children itself once its loop runs; anything that
            # fails before (or around) it must not leave them behind either.
            process.stop_all(list(started.procs.values()), grace)
            raise
    finally:
        process.restore_signal_handlers(previous)


def plan_data(plan: Plan) -> object:
    """The launched plan as JSON data: a pydantic Plan, or the Records of ``planview``."""
    from hicachectl.launch.planview import Record, to_plain

    if isinstance(plan, Record):
        return to_plain(plan)
    return json.loads(plan.model_dump_json())
