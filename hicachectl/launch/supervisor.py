"""The supervisor loop: start every child, watch events, decide readiness, stop everything.

Pure in the honcho sense: it never spawns, signals or sleeps by itself.  The process factory
(``start``), the event source (``events.get(timeout)``), the readiness check, the clock and the
printer are all injected, so the tests drive it with scripted events and a fake clock.
``hicachectl.launch.process`` provides the real ones.

Exit codes (house style): a child that exits on its own stops the others and its code becomes
ours (a negative code, killed by signal N, becomes 128+N); a child that exits 0 on its own is
still a failure (servers do not finish), so that becomes 1.  SIGINT/SIGTERM/SIGHUP to us give
130/143/129.  No deployment ready within ``ready_timeout`` gives 1.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol

from hicachectl.launch.events import Event  # re-exported: what the loop consumes

EXIT_FOR_SIGNAL = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}


class Proc(Protocol):
    pid: int

    def terminate(self) -> None: ...  # SIGTERM to the whole process group
    def kill(self) -> None: ...  # SIGKILL to the whole process group
    def alive(self) -> bool: ...  # leader running, or anything left in its group


class EventSource(Protocol):
    def get(self, timeout: float) -> Event | None: ...


class Printer(Protocol):
    def line(self, name: str, text: str) -> None: ...
    def notice(self, text: str, *, problem: bool = False) -> None: ...
    def status(self, children: Sequence[ChildState], now: float, ready: bool) -> None: ...
    def ready(self, children: Sequence[ChildState], elapsed: float) -> None: ...
    def close(self) -> None: ...


class ChildState:
    """What the loop knows of one child (mutable; a plain class: launch loads this module
    while the children boot, and dataclasses cost ~10 ms to import)."""

    __slots__ = ("name", "started_at", "phase", "ready", "exit_code", "tail")

    def __init__(
        self,
        name: str,
        started_at: float,
        phase: str = "starting",
        ready: bool = False,
        exit_code: int | None = None,
        tail: list[str] | None = None,
    ) -> None:
        self.name = name
        self.started_at = started_at
        self.phase = phase
        self.ready = ready
        self.exit_code = exit_code
        self.tail = [] if tail is None else tail

    def __repr__(self) -> str:
        return f"ChildState({self.name!r}, phase={self.phase!r}, ready={self.ready})"


class Outcome(NamedTuple):
    code: int
    reason: str  # "child-exit" | "signal" | "timeout"
    culprit: str | None = None  # the child that exited, or the first one not ready
    message: str = ""


TAIL_LINES = 20


class Supervisor:
    def __init__(
        self,
        names: Sequence[str],
        *,
        start: Callable[[str], Proc],
        events: EventSource,
        printer: Printer,
        ready_check: Callable[[set[str]], set[str]],
        clock: Callable[[], float] = time.monotonic,
        ready_timeout: float = 900.0,
        grace: float = 10.0,
        probe_interval: float | Callable[[float], float] = 0.1,
        on_line: Callable[[str, str], list[str]] | None = None,
        phase_of: Callable[[str, str], str | None] | None = None,
        started_at: float | None = None,
    ) -> None:
        """``started_at``: the clock reading when ``start`` was called for real, if the caller
        started the children before building the loop (``start`` then hands them over);
        readiness and the timeout count from there."""
        self.names = list(names)
        self.start = start
        self.events = events
        self.printer = printer
        self.ready_check = ready_check
        self.clock = clock
        self.ready_timeout = ready_timeout
        self.grace = grace
        self.probe_interval = probe_interval
        self.on_line = on_line
        self.phase_of = phase_of
        self.started_at = started_at
        self.procs: dict[str, Proc] = {}
        self.state: dict[str, ChildState] = {}
        self.ready = False
        self.ready_at: float | None = None
        self.final_tails: dict[str, list[str]] = {}  # each child's last lines at the verdict

    # ------------------------------------------------------------------ events
    def _handle(self, ev: Event) -> Outcome | None:
        if ev.kind == "line":
            st = self.state.get(ev.name)
            if st is not None:
                st.tail = (st.tail + [ev.value])[-TAIL_LINES:]
                if self.phase_of and not st.ready:
                    st.phase = self.phase_of(ev.name, ev.value) or st.phase
            self.printer.line(ev.name, ev.value)
            for text in self.on_line(ev.name, ev.value) if self.on_line else ():
                self.printer.notice(text, problem=True)
        elif ev.kind == "exit":
            st = self.state.get(ev.name)
            if st is not None and st.exit_code is None:
                st.exit_code = int(ev.value)
                st.phase = f"exited ({st.exit_code})"
                return self._child_exit(ev.name, int(ev.value))
        elif ev.kind == "signal":
            sig = int(ev.value)
            try:
                name = signal.Signals(sig).name
            except ValueError:
                name = f"signal {sig}"
            return Outcome(EXIT_FOR_SIGNAL.get(sig, 128 + sig), "signal", None, f"{name} received")
        return None

    def _child_exit(self, name: str, code: int) -> Outcome:
        if code < 0:
            why, ours = f"killed by signal {-code}", 128 - code
        elif code == 0:
            why, ours = "exited with code 0 (a server should not stop by itself)", 1
        else:
            why, ours = f"exited with code {code}", code
        return Outcome(ours, "child-exit", name, f"{name} {why}")

    # ------------------------------------------------------------------ loop
    def run(self) -> Outcome:
        t0 = self.clock() if self.started_at is None else self.started_at
        outcome: Outcome | None = None
        try:
            for name in self.names:  # all at once: frontend and workers start concurrently
                begun = self.clock() if self.started_at is None else self.started_at
                self.state[name] = ChildState(name, started_at=begun)
                self.procs[name] = self.start(name)
            outcome = self._watch(t0)
            self.final_tails = {n: list(st.tail) for n, st in self.state.items()}
        finally:
            # Also on exceptions (KeyboardInterrupt included): nothing is ever left behind.
            self._teardown(outcome)
            self.printer.close()
        return outcome

    def _watch(self, t0: float) -> Outcome:
        deadline = t0 + self.ready_timeout
        next_probe = t0
        while True:
            now = self.clock()
            wake = next_probe if not self.ready else math.inf
            if not self.ready:
                wake = min(wake, deadline)
            ev = self.events.get(timeout=max(0.0, min(wake - now, 0.5)))
            if ev is not None:
                outcome = self._handle(ev)
                if outcome is not None:
                    return outcome
            now = self.clock()
            if not self.ready and now >= next_probe:
                self._probe(now, t0)
                step = self.probe_interval
                next_probe = now + (step(now - t0) if callable(step) else step)
            if not self.ready and now >= deadline:
                late = next(n for n in self.names if not self.state[n].ready)
                return Outcome(
                    1,
                    "timeout",
                    late,
                    f"not ready after {self.ready_timeout:g} s: {late} ({self.state[late].phase})",
                )
            self.printer.status(list(self.state.values()), now, self.ready)

    def _probe(self, now: float, t0: float) -> None:
        pending = {n for n in self.names if not self.state[n].ready}
        for name in self.ready_check(pending):
            if name in self.state:
                self.state[name].ready = True
                self.state[name].phase = "ready"
        if all(s.ready for s in self.state.values()):
            self.ready = True
            self.ready_at = now
            self.printer.status(list(self.state.values()), now, True)
            self.printer.ready(list(self.state.values()), now - t0)

    def _alive(self) -> list[str]:
        return [n for n, p in self.procs.items() if p.alive()]

    def _drain(self, until: float) -> bool:
        """Consume events until every child is gone or ``until``; True when a further signal
        (a second Ctrl-C) asks not to wait any longer."""
        while self._alive() and self.clock() < until:
            ev = self.events.get(timeout=0.05)
            if ev is not None and ev.kind == "signal":
                return True
            if ev is not None and ev.kind in ("line", "exit"):
                st = self.state.get(ev.name)
                if ev.kind == "exit" and st is not None and st.exit_code is None:
                    st.exit_code = int(ev.value)
                elif ev.kind == "line":
                    if st is not None:
                        st.tail = (st.tail + [ev.value])[-TAIL_LINES:]
                    self.printer.line(ev.name, ev.value)

    def _teardown(self, outcome: Outcome | None) -> None:
        alive = self._alive()
        if not alive:
            return
        why = outcome.message if outcome else "stopping after an error"
        self.printer.notice(f"stopping {', '.join(alive)} ({why})")
        for name in alive:
            self.procs[name].terminate()
        hurry = self._drain(self.clock() + self.grace)
        stubborn = self._alive()
        if stubborn:
            when = "on a second signal" if hurry else f"after {self.grace:g} s"
            self.printer.notice(
                f"{', '.join(stubborn)} still running {when}: SIGKILL", problem=True
            )
            for name in stubborn:
                self.procs[name].kill()
            # SIGKILL cannot be ignored; wait for the exits so nothing outlives us.
            self._drain(self.clock() + 10.0)
