"""Launch overhead and teardown, measured side by side in one run.

    .venv/bin/python bench/bench_launch.py [--python .venv-dynamo/bin/python] [--rounds 5]

For each round, alternating:
  * by hand: Popen the same frontend and mocker (same argv, same environment as launch builds
    them) and poll with launch's own readiness check (the frontend's /v1/models/<name>/ready
    seeing every planned worker, the worker's /health) on launch's own poll schedule
    (readiness.poll_delay); time from the first Popen to ready;
  * hicachectl: run `hicachectl launch --engine mocker --plan plan.json -q` as a subprocess;
    time from starting the command to the moment it prints "ready in" (this includes Python
    start-up, reading the plan, pre-flight, spawning and its own polling); then SIGINT it and
    time until it has exited with every child gone (teardown);
  * the same launch from the plan options instead of --plan (it computes the plan first).
Prints medians and the ratio hicachectl / by hand (target <= 1.2) and the teardown (< 2 s).
The launched checkout is byte-compiled first, as an installed package is.
Needs Dynamo (scripts/install-dynamo.sh); a plan is made with `hicachectl plan` on the
bundled dev profile and a generated rehearsal model.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hicachectl.launch import readiness  # noqa: E402
from hicachectl.launch.frontend_view import frontend_gate  # noqa: E402
from hicachectl.launch.rehearsal_model import write_rehearsal_model  # noqa: E402
from hicachectl.launch.runner import mocker_model  # noqa: E402
from hicachectl.launch.specs import Settings, build_children  # noqa: E402
from hicachectl.models import Plan  # noqa: E402


def free_port() -> int:
    while True:
        port = random.randrange(20000, 32000)  # Dynamo reads DYN_SYSTEM_PORT as i16
        with socket.socket() as s:
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                continue
        return port


def plan_options(model: Path) -> list[str]:
    """The plan options of the bench's deployment (the dev profile, the rehearsal model, free
    ports): ``plan`` writes plan.json from them, and ``launch`` is also timed with them."""
    http, system = free_port(), free_port()
    return ["--profile", "dev", "--model", str(model), "--http-port", str(http),
            "--system-port", str(system)]  # fmt: skip


def make_plan(work: Path, options: list[str]) -> Path:
    out = subprocess.run(
        [sys.executable, "-m", "hicachectl", "plan", *options, "--format", "json"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    ).stdout  # fmt: skip
    path = work / "plan.json"
    path.write_text(out)
    return path


def wait_ready(children, t0: float, timeout: float = 60.0) -> float:
    """Launch's readiness decision on launch's poll schedule (the same code, not a copy)."""
    urls = {c.name: c.probe for c in children if c.probe}
    check = readiness.make_ready_check(urls, gate=frontend_gate(children))
    pending = {c.name for c in children}
    while pending:
        pending -= check(pending)
        if not pending:
            break
        elapsed = time.perf_counter() - t0
        if elapsed > timeout:
            raise RuntimeError(f"not ready: {sorted(pending)}")
        time.sleep(readiness.poll_delay(elapsed))
    return time.perf_counter() - t0


def by_hand(plan: Plan, python: str, run_dir: Path) -> float:
    s = mocker_model(plan, Settings(python=python, run_dir=run_dir, engine="mocker", loopback=True))
    children = build_children(plan, s, dict(os.environ))
    run_dir.mkdir(parents=True)
    procs = []
    t0 = time.perf_counter()
    try:
        for c in sorted(children, key=lambda c: c.role != "frontend"):  # as launch: frontend first
            procs.append(
                subprocess.Popen(
                    c.argv, env=c.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )  # fmt: skip
        return wait_ready(children, t0)
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            p.wait()


def with_hicachectl(
    source: list[str], python: str, run_dir: Path, root: Path = ROOT
) -> tuple[float, float, float]:
    """``source``: ``["--plan", FILE]`` or the plan options."""
    env = {**os.environ, "PYTHONPATH": str(root)}  # `root`'s hicachectl (another checkout)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # see compile_bytecode
    t0, wall0 = time.perf_counter(), time.time()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hicachectl", "launch", "--engine", "mocker", *source,
         "--python", python, "--run-dir", str(run_dir), "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=root, text=True, env=env,
    )  # fmt: skip
    try:
        record = run_dir / "children.json"
        ready = None
        for line in proc.stdout:  # launch's own verdict, the moment it prints it
            if line.startswith("ready in"):
                ready = time.perf_counter() - t0
                break
        if ready is None:
            raise RuntimeError(f"launch exited {proc.wait()} before ready")
        spawned = record.stat().st_mtime - wall0  # rewritten as each child starts: the last
        children = json.loads(record.read_text())
        t1 = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        while any(_alive(c["pid"]) for c in children):
            time.sleep(0.01)
        return spawned, ready, time.perf_counter() - t1
    finally:
        if proc.poll() is None:
            proc.kill()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def compile_bytecode(root: Path) -> None:
    """Byte-compile ``root``'s hicachectl first, as ``pip install`` does: an editable checkout
    compiles on first import, and some sandboxes set PYTHONDONTWRITEBYTECODE, which would make
    every launch compile hicachectl from source (Dynamo, typer and pydantic were compiled when
    pip installed them)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(root / "hicachectl")], check=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_py = os.environ.get("HICACHECTL_DYNAMO_PYTHON") or str(ROOT / ".venv-dynamo/bin/python")
    ap.add_argument("--python", default=default_py, help="interpreter with Dynamo installed")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument(
        "--launch-root",
        type=Path,
        default=ROOT,
        help="run `hicachectl launch` from this checkout (e.g. an older commit, for before/after)",
    )
    args = ap.parse_args()
    if not Path(args.python).exists():
        print(f"no Dynamo at {args.python}: run bash scripts/install-dynamo.sh", file=sys.stderr)
        return 2
    root = args.launch_root.resolve()
    compile_bytecode(root)
    with tempfile.TemporaryDirectory(prefix="bench-launch-") as tmp:
        work = Path(tmp)
        model = write_rehearsal_model(work / "model")
        options = plan_options(model)
        plan_path = make_plan(work, options)
        plan = Plan.model_validate_json(plan_path.read_text())
        hand, tool, teardown, spawn, floor, from_options = [], [], [], [], [], []
        for i in range(args.rounds):
            t0 = time.perf_counter()  # the house reference for a CLI's start-up
            subprocess.run([sys.executable, "-c", "import typer, pydantic"], check=True)
            floor.append(time.perf_counter() - t0)
            hand.append(by_hand(plan, args.python, work / f"hand-{i}"))
            sp, r, t = with_hicachectl(
                ["--plan", str(plan_path)], args.python, work / f"tool-{i}", root
            )
            from_options.append(with_hicachectl(options, args.python, work / f"opts-{i}", root)[1])
            tool.append(r)
            teardown.append(t)
            spawn.append(sp)
            print(
                f"round {i + 1}: by hand {hand[-1]:.3f} s, hicachectl {r:.3f} s "
                f"(children started by {sp:.3f} s), teardown {t:.3f} s; "
                f"from plan options {from_options[-1]:.3f} s"
            )
    h, t, d = statistics.median(hand), statistics.median(tool), statistics.median(teardown)
    print(f"median time to ready: by hand {h:.3f} s, hicachectl launch {t:.3f} s")
    print(
        f"ratio hicachectl / by hand: {t / h:.2f}x (target <= 1.2x); fixed overhead {t - h:.3f} s"
    )
    print(
        f"median start-up until the children are started (Python, CLI, plan, pre-flight): "
        f"{statistics.median(spawn):.3f} s"
    )
    print(
        f"median `python -c 'import typer, pydantic'` in the same rounds: "
        f"{statistics.median(floor):.3f} s"
    )
    after = statistics.median(r - sp for r, sp in zip(tool, spawn, strict=True))
    print(
        f"median from the children's start to ready: hicachectl {after:.3f} s, by hand {h:.3f} s "
        f"(launch's own part once the children run: {after / h:.2f}x)"
    )
    print(f"median teardown after SIGINT: {d:.3f} s (target < 2 s)")
    o = statistics.median(from_options)
    print(
        f"launch from plan options instead of --plan (typer, pydantic and the plan itself "
        f"first): median {o:.3f} s, {o / h:.2f}x by hand"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
