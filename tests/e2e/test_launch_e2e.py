"""End to end, no fakes: ``hicachectl launch --engine mocker`` as a subprocess runs the real
Dynamo 1.6.1 frontend and mocker on loopback; a real chat request goes through; SIGINT (or a
dead worker) stops everything and nothing is left behind.

Dynamo comes from HICACHECTL_DYNAMO_PYTHON, else <repo>/.venv-dynamo/bin/python (made by
``bash scripts/install-dynamo.sh``); without either the tests skip and say so.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from launch_plans import free_ports, make_plan
from model_dir import make_test_model

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.dynamo


def _dynamo_python() -> str | None:
    env = os.environ.get("HICACHECTL_DYNAMO_PYTHON")
    if env:
        return env
    local = ROOT / ".venv-dynamo" / "bin" / "python"
    return str(local) if local.exists() else None


@pytest.fixture(scope="module")
def dynamo_python() -> str:
    py = _dynamo_python()
    if py is None:
        pytest.skip(
            "no Dynamo: run `bash scripts/install-dynamo.sh .venv-dynamo` "
            "(or set HICACHECTL_DYNAMO_PYTHON)"
        )
    return py


class Launch:
    """``hicachectl launch`` running in the background, its output collected by threads."""

    def __init__(self, args: list[str], run_dir: Path) -> None:
        self.run_dir = run_dir
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hicachectl", "launch", *args, "--run-dir", str(run_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        for stream, sink in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._pump, args=(stream, sink), daemon=True).start()

    @staticmethod
    def _pump(stream, sink):
        for line in stream:
            sink.append(line.rstrip("\n"))

    def wait_ready(self, timeout: float = 45.0) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if any(line.startswith("ready in") for line in self.out):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise AssertionError("not ready:\n" + "\n".join(self.out + self.err[-40:]))

    def children(self) -> list[dict]:
        return json.loads((self.run_dir / "children.json").read_text())

    def wait(self, timeout: float = 30.0) -> int:
        code = self.proc.wait(timeout=timeout)
        time.sleep(0.1)  # let the pump threads finish
        return code

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # still in the table: acceptable only as a zombie awaiting its reaper
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except OSError:
        return True


def _group_members(pgids: set[int]) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) in pgids:
            found.append(int(stat.parent.name))
    return found


def assert_nothing_left(children: list[dict]) -> None:
    deadline = time.monotonic() + 5
    pids = {c["pid"] for c in children}
    pgids = {c["pgid"] for c in children}
    while time.monotonic() < deadline and (
        not all(_gone(p) for p in pids) or _group_members(pgids)
    ):
        time.sleep(0.05)
    assert all(_gone(p) for p in pids), [p for p in pids if not _gone(p)]
    assert _group_members(pgids) == []


def chat(http_port: int, model: str) -> str:
    body = json.dumps(
        {"model": model, "messages": [{"role": "user", "content": "hello there"}], "max_tokens": 8}
    ).encode()
    req = urllib.request.Request(
        f"http://127.0.0.1:{http_port}/v1/chat/completions",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=20) as resp:
        reply = json.loads(resp.read())
    assert reply["object"] == "chat.completion" and reply["model"] == model
    assert reply["usage"]["completion_tokens"] == 8
    return reply["choices"][0]["message"]["content"]


def _plan_file(tmp_path: Path, plan) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(plan.model_dump_json(indent=1))
    return path


@pytest.mark.parametrize(
    ("topology", "served", "own_model"),
    [
        (
            {"workers": 1},
            "rehearsal/tiny",
            False,
        ),  # catalogue-style name: launch generates the model
        ({"workers": 2}, "tiny-kv", True),  # two replicas behind --router-mode kv
        ({"workers": 0, "prefill_workers": 1, "decode_workers": 1}, "tiny-pd", True),
    ],
    ids=["one-worker", "kv-replicas", "prefill-decode"],
)
def test_launch_chat_and_sigint(dynamo_python, tmp_path, topology, served, own_model):
    (http,) = free_ports(1)
    extra = {"model": str(make_test_model(tmp_path / "model"))} if own_model else {}
    plan = make_plan(http_port=http, served=served, relocate_ports=True, **topology, **extra)
    run = tmp_path / "run"
    launch = Launch(
        [
            "--plan",
            str(_plan_file(tmp_path, plan)),
            "--engine",
            "mocker",
            "--python",
            dynamo_python,
            "-q",
        ],
        run,
    )
    try:
        launch.wait_ready()
        children = launch.children()
        assert {c["name"] for c in children} == {p.name for p in plan.processes}
        if topology.get("workers") == 2:
            assert "--router-mode kv" in " ".join(
                next(c for c in children if c["name"] == "frontend")["argv"]
            )
        # ready means the frontend sees every planned worker: both replicas, prefill and decode
        with urllib.request.urlopen(
            f"http://127.0.0.1:{http}/v1/models/{served.replace('/', '%2F')}/ready", timeout=5
        ) as resp:
            seen = json.loads(resp.read())["namespaces"]["dynamo"]["worker_types"]
        planned = {"aggregated": topology["workers"]} if topology["workers"] else {}
        planned.update(
            {
                k: topology[f"{k}_workers"]
                for k in ("prefill", "decode")
                if topology.get(f"{k}_workers")
            }
        )
        assert {k: v["workers"] for k, v in seen.items()} == planned
        content = chat(http, served)  # at once: no retry
        assert re.fullmatch(r"(\w+)( \w+)*", content), content
        curl = next(line for line in launch.out if line.startswith("curl -s"))
        assert f"http://127.0.0.1:{http}/v1/chat/completions" in curl
        assert (run / "logs" / "frontend.log").stat().st_size > 0
        launch.proc.send_signal(signal.SIGINT)
        assert launch.wait() == 130, "\n".join(launch.err)
        assert_nothing_left(children)
    finally:
        launch.stop()


def test_a_dead_worker_stops_the_deployment(dynamo_python, tmp_path):
    (http,) = free_ports(1)
    plan = make_plan(http_port=http, workers=2, relocate_ports=True)
    launch = Launch(
        [
            "--plan",
            str(_plan_file(tmp_path, plan)),
            "--engine",
            "mocker",
            "--python",
            dynamo_python,
            "-q",
        ],
        tmp_path / "run",
    )
    try:
        launch.wait_ready()
        children = launch.children()
        victim = next(c for c in children if c["name"] == "worker-1")
        os.kill(victim["pid"], signal.SIGKILL)
        code = launch.wait()
        assert code == 128 + signal.SIGKILL, "\n".join(launch.err)
        assert any("worker-1 killed by signal 9" in line for line in launch.err)
        assert_nothing_left(children)  # the frontend and worker-0 are gone too
    finally:
        launch.stop()


def test_occupied_port_refused_before_anything_starts(dynamo_python, tmp_path):
    (http,) = free_ports(1)
    plan = make_plan(http_port=http, workers=2, relocate_ports=True)
    kv = next(p.ports["kv_events"] for p in plan.processes if p.name == "worker-0")
    run = tmp_path / "run"
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", kv))
        busy.listen()
        launch = Launch(
            [
                "--plan",
                str(_plan_file(tmp_path, plan)),
                "--engine",
                "mocker",
                "--python",
                dynamo_python,
            ],
            run,
        )
        code = launch.wait()
    assert code == 2
    assert (
        f"hicachectl: pre-flight: worker-0 kv_events port {kv} on 0.0.0.0: already in use"
        in launch.err
    )
    assert not (run / "children.json").exists()
    assert not any((run / "logs").glob("*.log"))


def test_ready_timeout_tears_down_and_shows_the_late_process(dynamo_python, tmp_path):
    (http,) = free_ports(1)
    plan = make_plan(http_port=http, workers=1, relocate_ports=True)
    launch = Launch(
        [
            "--plan", str(_plan_file(tmp_path, plan)), "--engine", "mocker",
            "--python", dynamo_python, "-q", "--ready-timeout", "0.05",
        ],
        tmp_path / "run",
    )  # fmt: skip
    code = launch.wait()
    assert code == 1, "\n".join(launch.err)
    assert any("not ready after 0.05 s" in line for line in launch.err)
    assert_nothing_left(launch.children())


def test_launch_from_plan_options_runs_what_plan_prints(dynamo_python, tmp_path):
    # The full command (typer, the plan code) rather than --plan: it starts the very processes
    # `plan --format json` describes for the same options.
    from launch_plans import HARDWARE

    http, system, kv = free_ports(3)
    hw = tmp_path / "hw.json"
    hw.write_text(HARDWARE.model_dump_json())
    options = [
        "--hardware", str(hw), "--model", str(make_test_model(tmp_path / "model")),
        "--served-model-name", "tiny-opts", "--workers", "1", "--http-port", str(http),
        "--system-port", str(system), "--kv-events-port", str(kv),
    ]  # fmt: skip
    planned = json.loads(
        subprocess.run(
            [sys.executable, "-m", "hicachectl", "plan", *options, "--format", "json"],
            capture_output=True, text=True, check=True, cwd=ROOT,
        ).stdout
    )  # fmt: skip
    launch = Launch(
        [*options, "--engine", "mocker", "--python", dynamo_python, "-q"], tmp_path / "run"
    )
    try:
        launch.wait_ready()
        children = launch.children()
        frontend = next(c for c in children if c["name"] == "frontend")
        planned_fe = next(p for p in planned["processes"] if p["role"] == "frontend")
        assert frontend["argv"][1:] == planned_fe["argv"][1:]  # argv[0]: --python
        saved = json.loads((tmp_path / "run" / "plan.json").read_text())
        assert saved["processes"] == planned["processes"]
        chat(http, "tiny-opts")
        launch.proc.send_signal(signal.SIGINT)
        assert launch.wait() == 130, "\n".join(launch.err)
        assert_nothing_left(children)
    finally:
        launch.stop()
