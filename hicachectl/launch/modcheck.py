"""Can the target interpreter import the Dynamo modules?  Asked in a subprocess (never imported
here), started as early as possible and collected at pre-flight: the answer takes a Python
start-up (15-30 ms), which then overlaps with reading the plan and the other checks.

Light on purpose (``process.Helper`` only, which needs ``os`` alone): ``launch`` starts it
first thing, before it imports anything else.
"""

from __future__ import annotations

from collections.abc import Sequence

# Run by the target interpreter with the module names as arguments; prints those it cannot
# find.  As ``importlib.util.find_spec`` does, the parent packages are imported (a broken
# Dynamo install fails here) and the module itself is only located, not run; the path finder
# does the locating without loading importlib.util, which stays the fallback for what it
# cannot see (built-in modules, import hooks).
FIND_SPEC = (
    "import sys\n"
    "from importlib.machinery import PathFinder\n"
    "def found(m):\n"
    "    parent, _, _ = m.rpartition('.')\n"
    "    path = None\n"
    "    if parent:\n"
    "        __import__(parent)\n"
    "        path = getattr(sys.modules[parent], '__path__', None)\n"
    "        if path is None:\n"
    "            return False\n"  # a module, not a package: nothing below it
    "    return PathFinder.find_spec(m, path) is not None\n"
    "for m in sys.argv[1:]:\n"
    "    try:\n"
    "        ok = found(m)\n"
    "        if not ok:\n"
    "            import importlib.util\n"
    "            ok = importlib.util.find_spec(m) is not None\n"
    "    except Exception:\n"
    "        ok = False\n"
    "    if not ok:\n"
    "        print(m)\n"
)


def needed_modules(roles: Sequence[str], engine: str) -> list[str]:
    """The modules the target interpreter must find for processes of these roles."""
    modules = ["dynamo.frontend"] if "frontend" in roles else []
    if any(r != "frontend" for r in roles):
        modules.append("dynamo.mocker" if engine == "mocker" else "dynamo.sglang")
    return modules


class ModuleCheck:
    """Asks ``python`` (in a subprocess, started at once) whether it finds ``modules``; the
    answer is collected by :meth:`problems`, so the other checks run while it starts up."""

    def __init__(self, python: str, modules: Sequence[str]) -> None:
        from hicachectl.launch.process import Helper

        self.python = python
        self.modules = list(modules)
        self._result: list[str] | None = [] if not modules else None
        self._proc = None  # the helper process (process.Helper)
        if modules:
            try:
                self._proc = Helper([python, "-c", FIND_SPEC, *modules])
            except OSError as exc:
                self._result = [f"python {python}: cannot run it ({exc.strerror or exc})"]

    def asks(self, python: str, modules: Sequence[str]) -> bool:
        return self.python == python and self.modules == list(modules)

    def cancel(self) -> None:
        """Not needed (any more): stop and reap the helper; a no-op once collected."""
        if self._result is None and self._proc is not None:
            self._proc.abandon()
            self._result = [f"python {self.python}: check cancelled"]

    def problems(self, timeout: float = 30.0) -> list[str]:
        if self._result is None:
            self._result = self._collect(timeout)
        return list(self._result)

    def _collect(self, timeout: float) -> list[str]:
        from hicachectl.launch.process import HelperTimeout

        proc = self._proc
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except HelperTimeout:
            return [f"python {self.python}: no answer within {timeout:g} s"]
        if proc.returncode != 0:
            last = (stderr.strip().splitlines() or ["?"])[-1]
            return [f"python {self.python}: exited {proc.returncode} ({last})"]
        return [
            f"python {self.python}: cannot import {m} (install Dynamo: bash "
            "scripts/install-dynamo.sh, then pass --python .venv-dynamo/bin/python)"
            for m in stdout.split()
        ]


def module_problems(python: str, modules: Sequence[str], timeout: float = 30.0) -> list[str]:
    """Ask ``python`` (in a subprocess) whether it can find ``modules``."""
    return ModuleCheck(python, modules).problems(timeout)
