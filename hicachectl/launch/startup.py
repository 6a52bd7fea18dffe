"""Starting the children: the frontend first, then every worker, without waiting in between.

Light on purpose (stdlib, ``process`` and ``rundir`` only): ``launch`` starts the children
before it imports the supervisor, printer and boot report, so the deployment boots while the
rest of hicachectl loads.
"""

from __future__ import annotations

# What ``process`` needs to start the children, imported with this module: ``runner`` loads
# it while pre-flight's interpreter check is still running, not after.
import queue  # noqa: F401
import subprocess  # noqa: F401
import threading  # noqa: F401
import time
from collections import namedtuple

from hicachectl.errors import HicacheError
from hicachectl.launch import process, rundir

# procs: {name: ChildProcess}; events: their EventQueue; t0: monotonic time of the first start.
Started = namedtuple("Started", "procs events t0")


def start_order(children) -> list:
    """The frontend first: it is the slowest to answer (dynamo.md §6); the workers right after."""
    return [c for c in children if c.role == "frontend"] + [
        c for c in children if c.role != "frontend"
    ]


def start_children(children, s, events: process.EventQueue, *, grace: float) -> Started:
    """Start every child (``specs.Child``) and record them in ``children.json``; a child that
    cannot be started stops the others and raises HicacheError (exit 1)."""
    by_name = {c.name: c for c in children}

    def record(procs: list[process.ChildProcess]) -> None:
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
                for p in procs
            ],
        )

    t0 = time.monotonic()
    try:
        procs = process.start_all(
            [(c.name, c.argv, c.env, c.cwd, c.log_path) for c in start_order(children)],
            events,
            grace=grace,
            on_start=record,
        )
    except OSError as exc:
        raise HicacheError(f"cannot start {exc.strerror or exc}", exit_code=1) from None
    return Started(procs, events, t0)
