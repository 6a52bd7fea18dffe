"""The only module that spawns or signals processes (Popen, posix_spawnp, killpg, kill).

Each child is started from an argv list (never a shell) in a new session, so it leads its
own process group and a signal to the group reaches everything it started (SGLang's
scheduler and detokenizer subprocesses included).  A reader thread copies the child's output
byte for byte into its log file and posts each line as an event; a waiter thread reaps the
child and posts its exit.  Events go to one queue that the supervisor reads.

Short helper commands (pre-flight's interpreter check) start with ``os.posix_spawnp`` and
pipes (:class:`Helper`): importing this module costs little, so launch starts its helper
before it imports ``subprocess``, ``threading`` and the rest, which it does only to start
the children.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from hicachectl.launch.events import Event

if TYPE_CHECKING:
    from pathlib import Path


class EventQueue:
    """Thread-safe event source for the supervisor (``get(timeout)`` → Event or None)."""

    def __init__(self) -> None:
        import queue

        self._q: queue.Queue[Event] = queue.Queue()
        self._empty = queue.Empty

    def put(self, ev: Event) -> None:
        self._q.put(ev)

    def get(self, timeout: float) -> Event | None:
        try:
            return self._q.get(timeout=timeout) if timeout > 0 else self._q.get_nowait()
        except self._empty:
            return None


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "replace").rstrip("\r\n")


class ChildProcess:
    """One running child: its Popen, its process group, its log file."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        cwd: str | None,
        log_path: Path,
        events: EventQueue,
        *,
        watch: bool = True,
    ) -> None:
        """Start the child; ``watch=False`` leaves starting its reader and waiter threads to
        :meth:`watch` (``start_all`` starts every child first: on a busy machine a thread
        can take milliseconds to get going, and the next child should not wait for that)."""
        import subprocess
        import threading

        self.name = name
        self._events = events
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed by the reader thread
        try:
            self._popen = subprocess.Popen(
                argv,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        except BaseException:
            self._log.close()
            raise
        self.pid = self._popen.pid
        self.pgid = self.pid  # start_new_session: the child leads its own group
        self._reader = threading.Thread(target=self._read, name=f"read-{name}", daemon=True)
        self._waiter = threading.Thread(target=self._wait, name=f"wait-{name}", daemon=True)
        if watch:
            self.watch()

    def watch(self) -> None:
        """Start copying the output and waiting for the exit (once)."""
        if not self._reader.is_alive() and self._reader.ident is None:
            self._reader.start()
            self._waiter.start()

    def _read(self) -> None:
        stream = self._popen.stdout
        assert stream is not None
        try:
            for raw in iter(stream.readline, b""):
                self._log.write(raw)
                self._log.flush()
                self._events.put(Event("line", self.name, _decode(raw)))
        finally:
            self._log.close()

    def _wait(self) -> None:
        code = self._popen.wait()
        # Let the last lines (often the error) arrive before the exit; a grandchild that
        # keeps the pipe open must not delay the exit event for long.
        self._reader.join(timeout=1.0)
        self._events.put(Event("exit", self.name, code))

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.pgid, sig)
        except ProcessLookupError:
            pass  # group already empty
        except PermissionError:
            pass  # pgid reused by someone else's group: never ours to signal

    def terminate(self) -> None:
        self._signal_group(signal.SIGTERM)

    def kill(self) -> None:
        self._signal_group(signal.SIGKILL)

    def group_alive(self) -> bool:
        try:
            os.killpg(self.pgid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True

    def alive(self) -> bool:
        return self._popen.poll() is None or self.group_alive()


def start_all(
    children: list[tuple[str, list[str], dict[str, str], str | None, Path]],
    events: EventQueue,
    *,
    grace: float = 10.0,
    on_start: Callable[[list[ChildProcess]], None] | None = None,
) -> dict[str, ChildProcess]:
    """Start every child at once, in order: {name: ChildProcess}; ``on_start`` sees the list
    of those started so far after each start.  When one cannot be started, those already
    running are stopped (SIGTERM, SIGKILL after ``grace``) and the OSError is raised again with
    the child's name in front, so nothing is left behind."""
    started: dict[str, ChildProcess] = {}
    try:
        for name, argv, env, cwd, log_path in children:
            try:
                started[name] = ChildProcess(name, argv, env, cwd, log_path, events, watch=False)
            except OSError as exc:
                raise OSError(exc.errno, f"{name}: {exc.strerror or exc}") from None
            if on_start is not None:
                on_start(list(started.values()))
    except BaseException:
        for proc in started.values():
            proc.watch()  # so that their exits are reaped
        stop_all(list(started.values()), grace)
        raise
    for proc in started.values():
        proc.watch()
    return started


def stop_all(procs: list[ChildProcess], grace: float) -> None:
    """SIGTERM to every group, SIGKILL to what is left after ``grace``; returns when all are
    gone.  Only for the moments before the supervisor owns the children (it does this itself,
    with progress, once it runs)."""
    for proc in procs:
        proc.terminate()
    if not _wait_gone(procs, grace):
        for proc in procs:
            if proc.alive():
                proc.kill()
        _wait_gone(procs, 10.0)  # SIGKILL cannot be ignored


def _wait_gone(procs: list[ChildProcess], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while any(p.alive() for p in procs):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def install_signal_handlers(events: EventQueue) -> dict[int, object]:
    """Turn SIGINT/SIGTERM/SIGHUP into events; returns the previous handlers.  A signal our
    parent set to be ignored stays ignored (``nohup hicachectl launch``: closing the terminal
    must not stop the deployment; ``... &`` in a script: Ctrl-C is not for us)."""
    previous: dict[int, object] = {}

    def handler(signum: int, _frame: object) -> None:
        events.put(Event("signal", value=signum))

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) is signal.SIG_IGN:
            continue
        try:
            previous[sig] = signal.signal(sig, handler)
        except ValueError:  # not the main thread (e.g. inside a test runner thread)
            pass
    return previous


def restore_signal_handlers(previous: dict[int, object]) -> None:
    for sig, old in previous.items():
        signal.signal(sig, old)  # type: ignore[arg-type]


POLL_SLICE_MS = 50  # how often communicate() looks whether the helper has exited
DRAIN_AFTER_EXIT = 0.1  # seconds to take output after the exit, then stop reading


class HelperTimeout(Exception):
    """A helper did not finish in time (it has been killed and reaped)."""


class Helper:
    """A short helper command, output captured: started at once (``os.posix_spawnp``, argv
    looked up on PATH, stdin from /dev/null), collected with :meth:`communicate`.  Raises
    OSError when it cannot be started."""

    def __init__(self, argv: list[str], *, env: dict[str, str] | None = None) -> None:
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        null = os.open(os.devnull, os.O_RDONLY)
        try:
            self.pid = os.posix_spawnp(
                argv[0],
                argv,
                dict(os.environ if env is None else env),
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, null, 0),
                    (os.POSIX_SPAWN_DUP2, out_w, 1),
                    (os.POSIX_SPAWN_DUP2, err_w, 2),
                ],
            )
        except BaseException:
            os.close(out_r)
            os.close(err_r)
            raise
        finally:
            for fd in (out_w, err_w, null):
                os.close(fd)
        self._fds = [out_r, err_r]
        self._data: dict[int, bytearray] = {out_r: bytearray(), err_r: bytearray()}
        self._out, self._err = out_r, err_r
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def kill(self) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        """(stdout, stderr) once it has exited; HelperTimeout after ``timeout`` seconds (the
        helper is then killed and reaped).  Output still held open by something the helper
        left running in the background is not waited for beyond a moment."""
        import select

        poller = select.poll()
        for fd in self._fds:
            poller.register(fd, select.POLLIN)
        deadline = None if timeout is None else time.monotonic() + timeout
        exited_at = None
        while self._fds:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                self.abandon()
                raise HelperTimeout()
            if exited_at is None and self.poll() is not None:
                exited_at = now
            if exited_at is not None and now - exited_at > DRAIN_AFTER_EXIT:
                break  # a grandchild keeps the pipes open: what came so far is the answer
            for fd, _ in poller.poll(POLL_SLICE_MS):
                chunk = os.read(fd, 65536)
                if chunk:
                    self._data[fd] += chunk
                else:
                    poller.unregister(fd)
                    self._fds.remove(fd)
                    os.close(fd)
        self._close()
        while self.poll() is None:  # output closed: the exit follows at once
            if deadline is not None and time.monotonic() >= deadline:
                self.abandon()
                raise HelperTimeout()
            time.sleep(0.001)
        return (
            self._data[self._out].decode("utf-8", "replace"),
            self._data[self._err].decode("utf-8", "replace"),
        )

    def _close(self) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds = []

    def abandon(self) -> None:
        """Kill (if still running), stop reading, reap: never waits on its output."""
        self.kill()
        self._close()
        if self.returncode is None:
            self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
