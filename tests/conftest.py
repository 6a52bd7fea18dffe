"""Shared fixtures: run the CLI in-process exactly as the console script does."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
DATA = Path(__file__).resolve().parent / "data"

# ../shared (conformance cases, seeds, reference models) sits beside the checkout in CI and for
# developers; without it the tests that replay its cases are skipped rather than broken.
HAVE_SHARED = (SHARED / "conformance" / "resolve.jsonl").is_file()
needs_shared = pytest.mark.skipif(not HAVE_SHARED, reason="../shared is not beside the checkout")
collect_ignore = [] if HAVE_SHARED else ["test_conformance.py", "test_oracle_resolve.py"]


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def cli(capsys):
    """``cli("plan", "--format", "json")`` -> CliResult, through ``hicachectl.cli.main``."""
    from hicachectl.cli import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


# Property tests: no per-example deadline (CI machines are slow and shared), and in CI a
# fixed seed so that a run is reproducible; locally hypothesis explores new examples.
try:
    import os

    from hypothesis import settings as _hsettings

    _hsettings.register_profile("hicachectl", deadline=None)
    _hsettings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
    _hsettings.load_profile("ci" if os.environ.get("CI") else "hicachectl")
except ImportError:  # pragma: no cover - hypothesis is in the test extra
    pass
