"""The supervisor loop driven by scripted events, a fake clock and fake processes (no spawning)."""

from __future__ import annotations

import heapq
import itertools
import signal

import pytest

from hicachectl.launch.supervisor import Event, Supervisor


class World:
    """A fake clock plus a timeline of events; ``get`` advances time like a blocking queue."""

    def __init__(self) -> None:
        self.t = 0.0
        self._q: list = []
        self._seq = itertools.count()
        self.procs: dict[str, FakeProc] = {}

    def clock(self) -> float:
        return self.t

    def at(self, when: float, ev: Event) -> None:
        heapq.heappush(self._q, (when, next(self._seq), ev))

    def get(self, timeout: float) -> Event | None:
        if self._q and self._q[0][0] <= self.t + timeout:
            when, _, ev = heapq.heappop(self._q)
            self.t = max(self.t, when)
            proc = self.procs.get(ev.name)
            if ev.kind == "exit" and proc is not None and proc.exited_at is None:
                proc.exited_at = self.t  # a scripted exit: the process is gone
            return ev
        self.t += max(timeout, 0.01)
        return None


class FakeProc:
    def __init__(self, world: World, name: str, *, term_delay: float | None = 0.2) -> None:
        self.world, self.name, self.pid = world, name, 1000 + len(name)
        self.term_delay = term_delay  # None: ignores SIGTERM
        self.signals: list[str] = []
        self.exited_at: float | None = None

    def exit(self, when: float, code: int) -> None:
        if self.exited_at is None:
            self.exited_at = when
            self.world.at(when, Event("exit", self.name, code))

    def terminate(self) -> None:
        self.signals.append("TERM")
        if self.term_delay is not None:
            self.exit(self.world.t + self.term_delay, -signal.SIGTERM)

    def kill(self) -> None:
        self.signals.append("KILL")
        self.exit(self.world.t, -signal.SIGKILL)

    def alive(self) -> bool:
        return self.exited_at is None or self.world.t < self.exited_at


class Recorder:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self.notices: list[tuple[str, bool]] = []
        self.ready_calls: list[float] = []
        self.closed = False

    def line(self, name, text):
        self.lines.append((name, text))

    def notice(self, text, *, problem=False):
        self.notices.append((text, problem))

    def status(self, children, now, ready):
        pass

    def ready(self, children, elapsed):
        self.ready_calls.append(elapsed)

    def close(self):
        self.closed = True


NAMES = ["worker-0", "frontend"]


def make(world, *, ready_after=None, stubborn=(), grace=10.0, timeout=900.0, **kw):
    procs: dict[str, FakeProc] = {}
    started: list[tuple[str, float]] = []
    ready_after = ready_after or {}

    def start(name):
        started.append((name, world.t))
        procs[name] = FakeProc(world, name, term_delay=None if name in stubborn else 0.2)
        world.procs[name] = procs[name]
        return procs[name]

    def ready_check(pending):
        return {n for n in pending if n in ready_after and world.t >= ready_after[n]}

    printer = Recorder()
    sup = Supervisor(
        NAMES,
        start=start,
        events=world,
        printer=printer,
        ready_check=ready_check,
        clock=world.clock,
        ready_timeout=timeout,
        grace=grace,
        **kw,
    )
    return sup, procs, printer, started


def test_all_children_start_at_once_and_readiness_needs_every_one():
    world = World()
    sup, procs, printer, started = make(world, ready_after={"worker-0": 2.0, "frontend": 3.0})
    world.at(5.0, Event("signal", value=signal.SIGINT))
    outcome = sup.run()
    assert [n for n, _ in started] == NAMES and {t for _, t in started} == {0.0}
    assert len(printer.ready_calls) == 1 and 3.0 <= printer.ready_calls[0] < 3.2
    assert outcome.code == 130 and outcome.reason == "signal"
    assert all(p.signals == ["TERM"] for p in procs.values())
    assert printer.closed


def test_sigterm_gives_143():
    world = World()
    sup, procs, _, _ = make(world, ready_after={"worker-0": 0, "frontend": 0})
    world.at(1.0, Event("signal", value=signal.SIGTERM))
    assert sup.run().code == 143


def test_a_child_exit_stops_the_others_and_its_code_is_ours():
    world = World()
    sup, procs, printer, _ = make(world, ready_after={"worker-0": 0, "frontend": 0})
    world.at(0.5, Event("line", "worker-0", "RuntimeError: CUDA out of memory"))
    world.at(1.0, Event("exit", "worker-0", 3))
    outcome = sup.run()
    assert (outcome.code, outcome.reason, outcome.culprit) == (3, "child-exit", "worker-0")
    assert procs["frontend"].signals == ["TERM"]
    assert procs["worker-0"].signals == []  # already gone: nothing to signal
    assert sup.final_tails["worker-0"][-1] == "RuntimeError: CUDA out of memory"


@pytest.mark.parametrize(("code", "ours"), [(0, 1), (-9, 137), (-15, 143), (2, 2)])
def test_exit_code_mapping(code, ours):
    world = World()
    sup, _, _, _ = make(world)
    world.at(1.0, Event("exit", "frontend", code))
    assert sup.run().code == ours


def test_stubborn_child_gets_sigkill_after_grace():
    world = World()
    sup, procs, printer, _ = make(world, stubborn={"frontend"}, grace=5.0)
    world.at(1.0, Event("exit", "worker-0", 1))
    sup.run()
    assert procs["frontend"].signals == ["TERM", "KILL"]
    killed_at = procs["frontend"].exited_at
    assert 6.0 <= killed_at < 6.2  # exit at 1.0 + grace 5.0
    assert any("SIGKILL" in text and problem for text, problem in printer.notices)
    assert not any(p.alive() for p in procs.values())


def test_a_second_signal_skips_the_grace_period():
    world = World()
    sup, procs, printer, _ = make(world, stubborn={"frontend"}, grace=10.0)
    world.at(1.0, Event("signal", value=signal.SIGINT))
    world.at(1.5, Event("signal", value=signal.SIGINT))  # impatient operator
    assert sup.run().code == 130
    assert procs["frontend"].signals == ["TERM", "KILL"]
    assert procs["frontend"].exited_at < 1.6
    assert any("second signal" in text for text, _ in printer.notices)


def test_ready_timeout_tears_down_and_names_the_late_child():
    world = World()
    sup, procs, _, _ = make(world, ready_after={"frontend": 0.0}, timeout=30.0)
    world.at(2.0, Event("line", "worker-0", "Load weight begin. avail mem=70.00 GB"))
    outcome = sup.run()
    assert (outcome.code, outcome.reason, outcome.culprit) == (1, "timeout", "worker-0")
    assert "worker-0" in outcome.message and 30.0 <= world.t < 31.0
    assert all(p.signals == ["TERM"] for p in procs.values())


def test_lines_go_to_printer_phase_and_watchers():
    world = World()
    seen = []

    def on_line(name, text):
        seen.append((name, text))
        return ["rewrite!"] if "switching" in text else []

    sup, _, printer, _ = make(
        world,
        on_line=on_line,
        phase_of=lambda n, t: "loading weights" if "Load weight" in t else None,
    )
    world.at(0.1, Event("line", "worker-0", "Load weight begin"))
    world.at(0.2, Event("line", "worker-0", "Page first layout ... switching to page first direct"))
    world.at(0.3, Event("signal", value=signal.SIGINT))
    sup.run()
    assert printer.lines[:2] == seen[:2]
    assert ("rewrite!", True) in printer.notices
    assert sup.state["worker-0"].phase == "loading weights"


def test_exception_in_the_loop_still_tears_everything_down():
    world = World()

    def boom(pending):
        raise RuntimeError("probe failed")

    sup, procs, printer, _ = make(world)
    sup.ready_check = boom
    with pytest.raises(RuntimeError):
        sup.run()
    assert all(p.signals == ["TERM"] for p in procs.values())
    assert printer.closed


def test_failure_to_start_a_child_stops_those_already_started():
    world = World()
    sup, procs, _, _ = make(world)
    real_start = sup.start

    def start(name):
        if name == "frontend":
            raise FileNotFoundError("no such interpreter")
        return real_start(name)

    sup.start = start
    with pytest.raises(FileNotFoundError):
        sup.run()
    assert procs["worker-0"].signals == ["TERM"]
