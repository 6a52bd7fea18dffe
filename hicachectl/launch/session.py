"""One supervised session: real processes, signal handlers, printer, readiness and boot
report wired into the pure :class:`~hicachectl.launch.supervisor.Supervisor`."""

from __future__ import annotations

import json
import shlex
import time
from typing import TYPE_CHECKING, TextIO

from hicachectl.launch import frontend_view, process, readiness
from hicachectl.launch.logs import ConsolePrinter
from hicachectl.launch.mocker import worker_plan_for
from hicachectl.launch.specs import Child, Settings
from hicachectl.launch.startup import Started, start_children, start_order
from hicachectl.launch.supervisor import Outcome, Supervisor

if TYPE_CHECKING:
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
    started: Started | None = None,
) -> int:
    """Run the deployment to its verdict; the exit code.  ``started``: the children, if the
    caller started them already (``launch`` does, before importing this module) and installed
    the signal handlers that feed ``started.events``; else they are started here."""
    if started is not None:
        return _supervise(plan, children, s, started, quiet, ready_timeout, grace, out, err)
    events = process.EventQueue()
    previous = process.install_signal_handlers(events)
    try:
        started = start_children(children, s, events, grace=grace)
        try:
            return _supervise(plan, children, s, started, quiet, ready_timeout, grace, out, err)
        except BaseException:  # before the loop owned them: stop them here
            process.stop_all(list(started.procs.values()), grace)
            raise
    finally:
        process.restore_signal_handlers(previous)


def _supervise(
    plan: Plan,
    children: list[Child],
    s: Settings,
    started: Started,
    quiet: bool,
    ready_timeout: float,
    grace: float,
    out: TextIO,
    err: TextIO,
) -> int:
    names = [c.name for c in start_order(children)]
    by_name = {c.name: c for c in children}
    # The boot check reads SGLang's log lines; the mocker prints none, so it watches nobody.
    workers = {
        c.name: worker_plan_for(plan, _spec(plan, c.name))
        for c in children
        if c.role != "frontend" and plan.workers and s.engine != "mocker"
    }
    watch = None
    if workers:  # loaded only when someone is watched: its patterns take a while to compile
        from hicachectl.launch.boot_report import BootWatch

        watch = BootWatch(plan, workers)
    printer = ConsolePrinter(
        names,
        quiet=quiet,
        err=err,
        out=out,
        on_ready=lambda elapsed: (
            ready_banner(plan, children, s, elapsed) + (watch.summary() if watch else [])
        ),
    )
    urls = {c.name: c.probe for c in children if c.probe is not None}
    gate = frontend_view.frontend_gate(children)

    def on_line(name: str, text: str) -> list[str]:
        if gate is not None:
            gate.observe(name, text)
        return watch.observe(name, text) if watch is not None else []

    sup = Supervisor(
        names,
        start=started.procs.__getitem__,  # already running: handed over
        events=started.events,
        printer=printer,
        ready_check=readiness.make_ready_check(urls, gate=gate),
        clock=time.monotonic,
        ready_timeout=ready_timeout,
        grace=grace,
        probe_interval=readiness.poll_delay,
        on_line=on_line,
        phase_of=readiness.phase_of,
        started_at=started.t0,
    )
    for c in children:
        for note in c.notes:
            printer.notice(f"{c.name}: {note}")
    outcome = sup.run()
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
