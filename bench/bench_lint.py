"""Lint throughput: files per second for ``hicachectl lint --format json`` on a generated
tree of mixed files (default 2,000: shell, Markdown, YAML), the extractor alone, and the
ratio against ShellCheck on the shell part of the same tree, all measured in this run.

    python bench/bench_lint.py [--files 2000] [--repeat 3] [--keep DIR]

Each timing is the best of ``--repeat`` runs (wall clock, whole process for the CLI, so
interpreter start-up counts).  When ShellCheck or the lint command is unavailable the
script says so and prints the figures it could measure.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_lint_tree import generate  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def lint_cmd(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hicachectl", "lint", "--format", "json", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def extractor_only(tree: Path) -> int:
    from hicachectl.lint.extract import extract
    from hicachectl.lint.walk import iter_files

    n = 0
    for p in iter_files([tree]):
        ex = extract(str(p), p.read_bytes())
        n += ex.host_format is not None
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", help="generate the tree here and keep it")
    a = ap.parse_args()
    tmp = None
    if a.keep:
        tree = Path(a.keep)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="hicache-lint-bench-")
        tree = Path(tmp.name)
    counts = generate(tree, a.files)
    shell_files = sorted(str(p) for p in tree.rglob("*.sh"))
    print(f"tree: {tree} {counts}")

    n = extractor_only(tree)  # warm caches (parser, imports) before timing
    t = best(lambda: extractor_only(tree), a.repeat)
    print(
        f"extractor only (in-process walk+read+extract): {n} files in {t:.2f} s = "
        f"{n / t:.0f} files/s"
    )

    probe = lint_cmd([str(tree)])
    lint_ok = probe.returncode in (0, 1)
    if lint_ok:
        try:
            findings = json.loads(probe.stdout)
        except ValueError:
            lint_ok = False
    if not lint_ok:
        print(
            f"hicachectl lint: UNAVAILABLE (exit {probe.returncode}): "
            f"{(probe.stderr or probe.stdout).strip().splitlines()[-1:]}"
        )
    else:
        codes: dict[str, int] = {}
        for f in findings:
            codes[f["code"]] = codes.get(f["code"], 0) + 1
        t_all = best(lambda: lint_cmd([str(tree)]), a.repeat)
        print(
            f"hicachectl lint --format json: {a.files} files in {t_all:.2f} s = "
            f"{a.files / t_all:.0f} files/s (target >= 500); findings by code: "
            f"{dict(sorted(codes.items()))}"
        )

    sc = shutil.which("shellcheck")
    if sc is None:
        print("shellcheck: UNAVAILABLE (install it: apt-get install -y shellcheck); no ratio")
        return 0
    version = subprocess.run([sc, "--version"], capture_output=True, text=True).stdout
    version = next(
        (ln.split(":", 1)[1].strip() for ln in version.splitlines() if ln.startswith("version")),
        "?",
    )

    def run_sc() -> None:
        subprocess.run([sc, "-f", "json1", *shell_files], capture_output=True)

    t_sc = best(run_sc, a.repeat)
    print(
        f"shellcheck {version} -f json1: {len(shell_files)} shell files in {t_sc:.2f} s = "
        f"{len(shell_files) / t_sc:.0f} files/s"
    )
    if lint_ok:
        t_ours = best(lambda: lint_cmd(shell_files), a.repeat)
        print(
            f"hicachectl lint on the same shell files: {t_ours:.2f} s = "
            f"{len(shell_files) / t_ours:.0f} files/s; "
            f"ratio hicachectl/shellcheck throughput = {t_sc / t_ours:.2f}x"
        )
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
