"""One supervised session: real processes, signal handlers, printer, readiness and boot
report wired into the pure :class:`~hicachectl.launch.supervisor.Supervisor`."""

from __future__ import annotations

import json
import shlex
import time
from typing import TextIO

from hicachectl.errors import HicacheError
from hicachectl.launch import frontend_view, process, readiness, rundir
from hicachectl.launch.boot_report import BootWatch
from hicachectl.launch.logs import ConsolePrinter
from hicachectl.launch.mocker import worker_plan_for
from hicachectl.launch.specs import Child, Settings
from hicachectl.launch.supervisor import Outcome, Supervisor
from hicachectl.models import Plan

TAIL_SHOWN = 15


def ready_banner(plan: Plan, children: list[Child], s: Settings, elapsed: float) -> list[str]:
    fe = next((c for c in children if c.role == "frontend"), None)
    lines = []
    if fe is not None and fe.probe is not None:
        base = fe.probe[1].split("/v1/")[0]
        body = json.dumps(
            {
                "model": plan.served_model_name,
                "messages": [{"role": "user", "content": "Hello"}],
                "max_tokens": 32,
            }
        )
        lines.append(f"ready in {elapsed:.1f} s: {base}/v1 serves {plan.served_model_name!r}")
        lines.append(
            f"curl -s {base}/v1/chat/completions -H 'Content-Type: application/json' "
            f"-d {shlex.quote(body)}"
        )
    else:
        lines.append(f"ready in {elapsed:.1f} s")
    lines.append(f"logs: {s.run_dir / 'logs'}  (Ctrl-C stops everything)")
    return lines


def _record_children(
    s: Settings, started: list[process.ChildProcess], children: list[Child]
) -> None:
    by_name = {c.name: c for c in children}
    rundir.write_json(
        s.run_dir / "children.json",
        [
            {
                "name": p.name,
                "pid": p.pid,
                "pgid": p.pgid,
                "argv": by_name[p.name].argv,
                "log": str(by_name[p.name].log_path),
            }
            for p in started
        ],
    )


def supervise(
    plan: Plan,
    children: list[Child],
    s: Settings,
    *,
    quiet: bool,
    ready_timeout: float,
    grace: float,
    out: TextIO,
    err: TextIO,
) -> int:
    # The frontend first: it is the slowest to answer (dynamo.md §6), and the workers come
    # right after it, all without waiting for one another.
    names = [c.name for c in children if c.role == "frontend"]
    names += [c.name for c in children if c.role != "frontend"]
    by_name = {c.name: c for c in children}
    events = process.EventQueue()
    started: list[process.ChildProcess] = []
    # The boot check reads SGLang's log lines; the mocker prints none, so it watches nobody.
    workers = {
        c.name: worker_plan_for(plan, _spec(plan, c.name))
        for c in children
        if c.role != "frontend" and plan.workers and s.engine != "mocker"
    }
    watch = BootWatch(plan, workers)
    printer = ConsolePrinter(
        names,
        quiet=quiet,
        err=err,
        out=out,
        on_ready=lambda elapsed: ready_banner(plan, children, s, elapsed) + watch.summary(),
    )
    launch_spawn = process.spawner(
        {c.name: (c.argv, c.env, c.cwd, c.log_path) for c in children}, events, started
    )

    def start(name: str) -> process.ChildProcess:
        try:
            proc = launch_spawn(name)
        except OSError as exc:  # the supervisor stops those already started, then this shows
            raise HicacheError(f"cannot start {name}: {exc.strerror or exc}", exit_code=1) from None
        _record_children(s, started, children)
        return proc

    urls = {c.name: c.probe for c in children if c.probe is not None}
    gate = frontend_view.frontend_gate(children)

    def on_line(name: str, text: str) -> list[str]:
        if gate is not None:
            gate.observe(name, text)
        return watch.observe(name, text)

    sup = Supervisor(
        names,
        start=start,
        events=events,
        printer=printer,
        ready_check=readiness.make_ready_check(urls, gate=gate),
        clock=time.monotonic,
        ready_timeout=ready_timeout,
        grace=grace,
        probe_interval=readiness.poll_delay,
        on_line=on_line,
        phase_of=readiness.phase_of,
    )
    for c in children:
        for note in c.notes:
            printer.notice(f"{c.name}: {note}")
    previous = process.install_signal_handlers(events)
    try:
        outcome = sup.run()
    finally:
        process.restore_signal_handlers(previous)
    if outcome.reason == "timeout" and gate is not None and outcome.culprit == gate.frontend:
        if gate.waiting_for:
            err.write(f"hicachectl: the frontend does not see: {', '.join(gate.waiting_for)}\n")
    _verdict(outcome, sup, by_name, printer, err)
    return outcome.code


def _spec(plan: Plan, name: str):
    return next(p for p in plan.processes if p.name == name)


def _verdict(
    outcome: Outcome, sup: Supervisor, by_name: dict[str, Child], printer, err: TextIO
) -> None:
    problem = outcome.reason != "signal"
    err.write(f"hicachectl: {outcome.message}; exit {outcome.code}\n")
    if problem and outcome.culprit:
        tail = sup.final_tails.get(outcome.culprit) or []
        if tail:
            err.write(
                f"hicachectl: last lines of {outcome.culprit} ({by_name[outcome.culprit].log_path}):\n"
            )
            for line in tail[-TAIL_SHOWN:]:
                err.write(f"  {readiness.strip_ansi(line)}\n")
    err.flush()
