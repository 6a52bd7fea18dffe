"""Speed of the SGLang argv parser + resolver, and of `hicachectl resolve` as a process.

Prints (a) the median in-process parse+resolve time over a few thousand varied argvs
(target <= 1 ms), and (b) the median wall time of `hicachectl resolve --json -- ...` against
a bare `python -c "import typer, pydantic"` measured in the same run (target <= 2x).

    .venv/bin/python bench/bench_resolve.py [--argvs 3000] [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFORMANCE = ROOT.parent / "shared" / "conformance" / "resolve.jsonl"


def varied_argvs(n: int, seed: int = 1) -> list[tuple[str, list[str]]]:
    """(version, full command) pairs: conformance argvs plus random table-driven ones."""
    from hicachectl.sglang.parsers import sglang_parser

    rng = random.Random(seed)
    out: list[tuple[str, list[str]]] = []
    if CONFORMANCE.exists():
        for line in CONFORMANCE.read_text().splitlines():
            r = json.loads(line)
            out.append((r["sglang_version"], ["--model-path", "/m", *r["argv"]]))
    heads = [
        ["sglang", "serve"],
        ["python3", "-m", "dynamo.sglang"],
        ["python", "-m", "sglang.launch_server"],
    ]
    while len(out) < n:
        version = rng.choice(["0.5.21", "0.5.23"])
        p = sglang_parser(version)
        acts = [a for a in p.actions if a.kind not in ("help", "version")]
        argv = [*rng.choice(heads), "--model-path", "/m"]
        for a in rng.sample(acts, rng.randint(1, 12)):
            opt = next(o for o in a.opts if o.startswith("--"))
            if a.nargs == 0:
                argv.append(opt)
            elif a.choices:
                argv += [opt, str(rng.choice(list(a.choices)))]
            elif a.type in ("int", "float"):
                argv += [opt, str(rng.randint(1, 64))]
            else:
                argv += [opt, "x"]
        out.append((version, argv))
    return out[:n]


def in_process(n: int) -> tuple[float, bool]:
    from hicachectl.sglang.argv import parse_command

    try:
        from hicachectl.sglang.resolver import resolve
    except ImportError:  # the resolver is built separately; time the parser alone then
        resolve = None
    cases = varied_argvs(n)
    for v, argv in cases[:50]:  # warm caches (tables, compiled parsers)
        pc = parse_command(argv, sglang_version=v)
        if resolve:
            resolve(pc)
    times = []
    for v, argv in cases:
        t0 = time.perf_counter()
        pc = parse_command(argv, sglang_version=v)
        if resolve:
            resolve(pc)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), resolve is not None


def wall(cmds: list[list[str]], runs: int) -> list[float]:
    """Median wall time of each command; runs are interleaved so load hits all alike."""
    times: list[list[float]] = [[] for _ in cmds]
    for _ in range(runs):
        for i, cmd in enumerate(cmds):
            t0 = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            times[i].append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--argvs", type=int, default=3000)
    ap.add_argument("--runs", type=int, default=15)
    a = ap.parse_args()
    med, with_resolver = in_process(a.argvs)
    what = "parse+resolve" if with_resolver else "parse only (resolver not present)"
    print(f"(a) in-process {what}: median {med * 1e3:.3f} ms over {a.argvs} argvs (target <= 1 ms)")
    py = sys.executable
    resolve_cmd = [py, "-m", "hicachectl", "resolve", "--json", "--sglang-version", "0.5.23", "--",
                   "python", "-m", "dynamo.sglang", "--model-path", "/m",
                   "--enable-hierarchical-cache", "--hicache-ratio", "2", "--tp", "2"]  # fmt: skip
    base_cmd = [py, "-c", "import typer, pydantic"]
    # The same work without the CLI layer: shows what typer's command building costs.
    core_cmd = [py, "-c", "import typer, pydantic, json\n"
                "from hicachectl.sglang.argv import parse_command\n"
                "from hicachectl.sglang.resolver import resolve\n"
                "pc = parse_command(" + repr(resolve_cmd[7:]) + ", sglang_version='0.5.23')\n"
                "json.dumps(resolve(pc).resolved, default=str)"]  # fmt: skip
    wall([base_cmd, resolve_cmd, core_cmd], 2)  # warm the OS file cache and .pyc files
    base, full, core = wall([base_cmd, resolve_cmd, core_cmd], a.runs)
    print(
        f"(b) process: `hicachectl resolve --json` {full * 1e3:.0f} ms vs "
        f"`python -c 'import typer, pydantic'` {base * 1e3:.0f} ms = {full / base:.2f}x "
        f"(target <= 2x; median of {a.runs})"
    )
    print(
        f"    of which parse+resolve without the CLI layer: {core * 1e3:.0f} ms "
        f"= {core / base:.2f}x the baseline"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
