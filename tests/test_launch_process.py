"""The spawning module with real processes: output to log file and events, exit events, process
groups, SIGTERM then SIGKILL reaching grandchildren too."""

from __future__ import annotations

import os
import sys
import textwrap
import time

from hicachectl.launch.process import ChildProcess, EventQueue

STUBBORN = textwrap.dedent(
    """
    import signal, subprocess, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"])
    print("grandchild", child.pid, flush=True)
    time.sleep(60)
    """
)


def _events(q: EventQueue, until, timeout=10.0):
    seen = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ev = q.get(0.05)
        if ev is not None:
            seen.append(ev)
            if until(ev):
                break
    return seen


def test_output_goes_whole_to_the_log_and_line_by_line_to_events(tmp_path):
    q = EventQueue()
    log = tmp_path / "w.log"
    code = "import sys; print('one'); print('two', file=sys.stderr); sys.stdout.write('no newline'); sys.exit(3)"
    proc = ChildProcess("w", [sys.executable, "-c", code], dict(os.environ), None, log, q)
    seen = _events(q, lambda ev: ev.kind == "exit")
    assert [(e.kind, e.value) for e in seen] == [
        ("line", "one"),
        ("line", "two"),
        ("line", "no newline"),
        ("exit", 3),
    ]
    assert log.read_text() == "one\ntwo\nno newline"
    assert proc.pgid == proc.pid != os.getpgid(0)  # its own process group
    assert not proc.alive()


def test_terminate_then_kill_reaches_the_whole_group(tmp_path):
    q = EventQueue()
    proc = ChildProcess(
        "s",
        [sys.executable, "-c", STUBBORN],
        dict(os.environ),
        str(tmp_path),
        tmp_path / "s.log",
        q,
    )
    (line,) = [e for e in _events(q, lambda ev: ev.kind == "line")]
    grandchild = int(line.value.split()[1])
    assert os.getpgid(grandchild) == proc.pgid
    proc.terminate()
    time.sleep(0.3)
    assert proc.alive()  # SIGTERM ignored by both
    proc.kill()
    assert [e.value for e in _events(q, lambda ev: ev.kind == "exit")] == [-9]
    end = time.monotonic() + 5
    while proc.alive() and time.monotonic() < end:
        time.sleep(0.02)
    assert not proc.alive()
    assert not proc.group_alive()  # the grandchild went with it


def test_signals_the_parent_ignores_stay_ignored():
    # `nohup hicachectl launch`: SIGHUP was set to SIG_IGN by nohup and must stay so; the
    # others become events.
    import signal

    from hicachectl.launch.process import install_signal_handlers, restore_signal_handlers

    before = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        q = EventQueue()
        previous = install_signal_handlers(q)
        try:
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            assert signal.SIGHUP not in previous
            assert signal.SIGTERM in previous and callable(signal.getsignal(signal.SIGTERM))
            os.kill(os.getpid(), signal.SIGHUP)  # ignored: no event, and we are still here
            os.kill(os.getpid(), signal.SIGTERM)
            ev = q.get(2.0)
            assert ev is not None and (ev.kind, ev.value) == ("signal", signal.SIGTERM)
            assert q.get(0.1) is None
        finally:
            restore_signal_handlers(previous)
    finally:
        signal.signal(signal.SIGHUP, before)


def test_helper_captures_both_streams_and_its_exit_code():
    from hicachectl.launch.process import Helper

    h = Helper([sys.executable, "-c", "import sys; print('out'); sys.exit('err text')"])
    out, err = h.communicate(timeout=20)
    assert (out, err.strip(), h.returncode) == ("out\n", "err text", 1)
    big = Helper(
        [
            sys.executable,
            "-c",
            "import sys; sys.stdout.write('x' * 200000); sys.stderr.write('y' * 100000)",
        ]
    )
    out, err = big.communicate(timeout=20)  # more than a pipe holds, on both streams
    assert (len(out), len(err), big.returncode) == (200000, 100000, 0)


def test_helper_timeout_kills_and_reaps():
    from hicachectl.launch.process import Helper, HelperTimeout

    h = Helper([sys.executable, "-c", "import time; time.sleep(30)"])
    start = time.monotonic()
    try:
        h.communicate(timeout=0.3)
    except HelperTimeout:
        pass
    else:
        raise AssertionError("no timeout")
    assert time.monotonic() - start < 5
    assert h.returncode is not None and h.returncode < 0  # killed, and reaped
    try:
        os.kill(h.pid, 0)
    except ProcessLookupError:
        pass
    else:
        raise AssertionError("the helper is still there")


def test_helper_that_cannot_start_raises_oserror(tmp_path):
    import pytest

    from hicachectl.launch.process import Helper

    with pytest.raises(OSError):
        Helper([str(tmp_path / "no-such-python"), "-c", "pass"])
    with pytest.raises(OSError):
        Helper(["no-such-program-on-path-xyz"])


def test_helper_answer_is_not_held_up_by_a_background_grandchild(tmp_path):
    # A --python wrapper that leaves something running with our pipes: the answer counts
    # as soon as the helper itself has exited, and cancelling never waits for it either.
    from hicachectl.launch.modcheck import ModuleCheck

    wrapper = tmp_path / "python-wrapper"
    wrapper.write_text(f'#!/bin/sh\nsleep 5 &\nexec {sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    start = time.monotonic()
    (problem,) = ModuleCheck(str(wrapper), ["json", "nope_not_here"]).problems(timeout=3)
    assert "cannot import nope_not_here" in problem
    assert time.monotonic() - start < 2
    start = time.monotonic()
    check = ModuleCheck(str(wrapper), ["json"])
    check.cancel()
    assert time.monotonic() - start < 1
    assert check.problems() == [f"python {wrapper}: check cancelled"]


def test_module_check_does_not_take_a_module_for_a_package(tmp_path, monkeypatch):
    # dynamo.py beside an unrelated sglang package: `import dynamo.sglang` fails, so must the check
    from hicachectl.launch.modcheck import ModuleCheck

    (tmp_path / "dynamo.py").write_text("")
    (tmp_path / "sglang").mkdir()
    (tmp_path / "sglang" / "__init__.py").write_text("")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    (problem,) = ModuleCheck(sys.executable, ["dynamo.sglang", "sglang"]).problems()
    assert "cannot import dynamo.sglang" in problem
