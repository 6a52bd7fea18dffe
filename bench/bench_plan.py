"""Whole-process time of `hicachectl plan --hardware … --format json` against a bare
`python -c "import typer, pydantic"`, measured side by side (interleaved) in the same run.

    .venv/bin/python bench/bench_plan.py [--runs 15]

Prints the median of each and their ratio (target: at most 2×).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLAN = [
    sys.executable,
    "-m",
    "hicachectl",
    "plan",
    "--hardware",
    str(ROOT / "profiles" / "hardware" / "h100-sxm-8x-2tb.json"),
    "--model",
    "meta-llama/Llama-3.1-8B-Instruct",
    "--workers",
    "2",
    "--format",
    "json",
]
BASELINE = [sys.executable, "-c", "import typer, pydantic"]


# Byte-code caching as on a normal install (pip compiles installed packages; an editable
# checkout caches on first run).  Some sandboxes set PYTHONDONTWRITEBYTECODE, which would make
# every run recompile hicachectl's sources but not typer's or pydantic's.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=ENV)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    _time(PLAN)  # warm the file cache and byte-code for both
    _time(BASELINE)
    plan, base = [], []
    for _ in range(args.runs):
        plan.append(_time(PLAN))
        base.append(_time(BASELINE))
    p, b = statistics.median(plan), statistics.median(base)
    print(f"baseline  python -c 'import typer, pydantic'  median {b * 1000:7.1f} ms")
    print(f"plan      hicachectl plan --format json         median {p * 1000:7.1f} ms")
    print(f"ratio     {p / b:.2f}x  (target <= 2.00x, {args.runs} interleaved runs each)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
