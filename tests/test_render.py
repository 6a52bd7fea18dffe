"""Renderings: the JSON contract, the sh script (shellcheck, and a real run with a stand-in
interpreter that checks the clean-up), the TOML profile round trip, the text tables, --output."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hicachectl.profiles import load_profile
from tests.plan_helpers import GQA, write_model, write_snapshot

LLAMA_W = 16 * 10**9
TOPOLOGIES = {
    "agg": [],
    "replicas": ["--workers", "2"],
    "disagg": ["--prefill-workers", "1", "--decode-workers", "1"],
}


@pytest.fixture
def inputs(tmp_path):
    return [
        "--hardware",
        str(write_snapshot(tmp_path, gpus=4)),
        "--model-config",
        str(write_model(tmp_path, "gqa", GQA, LLAMA_W)),
    ]


def test_json_contract(cli, inputs):
    r = cli("plan", *inputs, "--workers", "2", "--format", "json")
    assert r.exit_code == 0, r.output
    p = json.loads(r.stdout)
    hb = p["host_budget"]
    assert isinstance(hb["budget_bytes"], int) and isinstance(hb["pinned_bytes"], int)
    assert hb["ranks_on_host"] == 2
    for w in p["workers"]:
        assert {"name", "role"} <= set(w)
        assert {"device_tokens", "host_tokens", "hicache_size_gb", "hicache_ratio"} <= set(
            w["per_rank"]
        )
    for proc in p["processes"]:
        assert isinstance(proc["name"], str)
        assert isinstance(proc["argv"], list) and proc["argv"][0] == "python"
        assert isinstance(proc["env"], dict)
    from hicachectl.models import Plan

    assert Plan.model_validate(p).host_budget.budget_bytes == hb["budget_bytes"]


@pytest.mark.parametrize("topology", sorted(TOPOLOGIES))
def test_sh_passes_shellcheck(cli, inputs, tmp_path, topology):
    exe = shutil.which("shellcheck") or shutil.which(
        "shellcheck", path=str(Path(sys.executable).parent)
    )
    if exe is None:
        pytest.skip("shellcheck not installed")
    r = cli("plan", *inputs, *TOPOLOGIES[topology], "--format", "sh")
    assert r.exit_code == 0, r.output
    script = tmp_path / "run.sh"
    script.write_text(r.stdout)
    res = subprocess.run([exe, "--severity=info", str(script)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout


FAKE_PYTHON = """#!/usr/bin/env bash
# Stand-in interpreter: records its pid, the frontend exits with 7 after a moment.
echo $$ >> "$RUN_PIDS"
if [ "$2" = dynamo.frontend ]; then sleep 0.5; exit 7; fi
exec sleep 60
"""


def test_sh_starts_everything_and_cleans_up(cli, inputs, tmp_path):
    if shutil.which("setsid") is None:
        pytest.skip("setsid not available")
    r = cli("plan", *inputs, "--workers", "2", "--format", "sh")
    script = tmp_path / "run.sh"
    script.write_text(r.stdout)
    fake = tmp_path / "python"
    fake.write_text(FAKE_PYTHON)
    fake.chmod(0o755)
    pids = tmp_path / "pids"
    env = {
        **os.environ,
        "PYTHON": str(fake),
        "HICACHECTL_RUN_DIR": str(tmp_path / "run"),
        "RUN_PIDS": str(pids),
    }
    res = subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True, timeout=30)
    assert res.returncode == 7, res.stdout + res.stderr  # the frontend's exit status
    started = [int(x) for x in pids.read_text().split()]
    assert len(started) == 3  # two workers and the frontend
    assert (tmp_path / "run" / "dynamo-kv").is_dir()
    assert (tmp_path / "run" / "worker-0.log").is_file()
    deadline = time.time() + 5
    while time.time() < deadline and any(_alive(p) for p in started):
        time.sleep(0.1)
    assert not any(_alive(p) for p in started)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is gone for our purpose
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_sh_stops_children_on_sigterm(cli, inputs, tmp_path):
    if shutil.which("setsid") is None:
        pytest.skip("setsid not available")
    r = cli("plan", *inputs, "--format", "sh")
    script = tmp_path / "run.sh"
    script.write_text(r.stdout)
    fake = tmp_path / "python"
    fake.write_text('#!/usr/bin/env bash\necho $$ >> "$RUN_PIDS"\nexec sleep 60\n')
    fake.chmod(0o755)
    pids = tmp_path / "pids"
    env = {**os.environ, "PYTHON": str(fake), "HICACHECTL_RUN_DIR": str(tmp_path / "run"),
           "RUN_PIDS": str(pids)}  # fmt: skip
    proc = subprocess.Popen(
        ["bash", str(script)], env=env, stdout=subprocess.PIPE, start_new_session=True
    )
    deadline = time.time() + 10
    while time.time() < deadline and (not pids.exists() or len(pids.read_text().split()) < 2):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 143
    started = [int(x) for x in pids.read_text().split()]
    deadline = time.time() + 5
    while time.time() < deadline and any(_alive(p) for p in started):
        time.sleep(0.1)
    assert not any(_alive(p) for p in started)


def test_toml_round_trips_through_the_profile_loader(cli, inputs, tmp_path):
    args = [*inputs, "--prefill-workers", "1", "--decode-workers", "1", "--hicache-ratio", "2.5"]
    r = cli("plan", *args, "--format", "toml")
    assert r.exit_code == 0, r.output
    path = tmp_path / "mine.toml"
    path.write_text(r.stdout)
    _, request = load_profile(path)
    assert (request.prefill_workers, request.decode_workers, request.workers) == (1, 1, 0)
    assert request.hicache_ratio == 2.5
    again = cli("plan", "--profile", path, "--format", "json")
    first = cli("plan", *args, "--format", "json")
    assert json.loads(again.stdout)["processes"] == json.loads(first.stdout)["processes"]


def test_text_has_the_tables_and_commands(cli, inputs):
    r = cli("plan", *inputs, "--workers", "2", "--io-backend", "direct")
    assert r.exit_code == 0, r.output
    out = r.stdout
    for heading in ("Hardware: testhost", "Model:", "Host budget", "of the budget pinned",
                    "Workers (numbers per rank)", "Adjustments", "Commands"):  # fmt: skip
        assert heading in out, heading
    assert "Page first layout is not supported with direct IO backend" in out
    assert "# worker-1" in out and "# frontend" in out
    assert out.index("Host budget") < out.index("Commands")


def test_output_file_is_written_atomically(cli, inputs, tmp_path):
    target = tmp_path / "plan.sh"
    r = cli("plan", *inputs, "--format", "sh", "--output", target)
    assert r.exit_code == 0 and r.stdout == ""
    assert target.read_text().startswith("#!/usr/bin/env bash")
    assert os.access(target, os.X_OK)
    r = cli("plan", *inputs, "--format", "json", "--output", tmp_path / "nodir" / "p.json")
    assert r.exit_code == 2 and "cannot write" in r.stderr
    assert not (tmp_path / "nodir").exists()
    # an infeasible plan leaves an existing file alone
    target.write_text("old")
    r = cli("plan", *inputs, "--tp", "8", "--output", target)
    assert r.exit_code == 1 and target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".hicachectl-")] == []


@pytest.mark.parametrize("topology", sorted(TOPOLOGIES))
def test_planned_script_passes_hicachectl_lint(cli, inputs, tmp_path, topology):
    """What plan writes, lint (the same resolver, plus its own rules) finds nothing in."""
    r = cli("plan", *inputs, *TOPOLOGIES[topology], "--format", "sh")
    assert r.exit_code == 0, r.output
    script = tmp_path / "run.sh"
    script.write_text(r.stdout)
    res = cli("lint", script)
    assert res.exit_code == 0, res.output
