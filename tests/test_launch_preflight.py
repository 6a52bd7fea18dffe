"""Pre-flight checks (real sockets, a real subprocess for the import check) and the launch
command's input handling: --plan validation, --dry-run, refusal before anything starts."""

from __future__ import annotations

import io
import json
import os
import socket
import sys
from pathlib import Path

from launch_plans import HARDWARE, free_ports, make_plan, relocate

from hicachectl.launch import preflight
from hicachectl.launch.specs import Settings, build_children
from hicachectl.models import GiB


def _children(tmp_path, plan, **kw):
    return build_children(plan, Settings(python=sys.executable, run_dir=tmp_path, **kw), {})


def test_a_busy_port_is_refused_on_the_address_the_child_binds(tmp_path):
    plan = make_plan(http_port=free_ports(1)[0], workers=2, relocate_ports=True)
    kids = _children(tmp_path, plan, engine="mocker", loopback=True)
    assert preflight.port_problems(kids) == []
    w1 = next(c for c in kids if c.name == "worker-1")
    sys_port = next(u for u in w1.ports if u.label == "system")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", sys_port.port))
        busy.listen()
        (problem,) = preflight.port_problems(kids)
    assert problem == f"worker-1 system port {sys_port.port} on 127.0.0.1: already in use"


def test_kv_events_port_is_checked_on_the_wildcard_address(tmp_path):
    plan = make_plan(http_port=free_ports(1)[0], workers=2, relocate_ports=True)
    kids = _children(tmp_path, plan, engine="mocker", loopback=True)
    kv = next(u for c in kids for u in c.ports if u.label == "kv_events")
    assert kv.host == "0.0.0.0"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", kv.port))  # a loopback listener still blocks tcp://*:port
        busy.listen()
        assert any("kv_events" in p and "in use" in p for p in preflight.port_problems(kids))


def test_the_same_port_planned_twice(tmp_path):
    plan = relocate(make_plan(http_port=28081, workers=1), [28081])  # worker system = frontend http
    problems = preflight.port_problems(_children(tmp_path, plan))
    assert any("planned twice" in p for p in problems)


def test_system_ports_above_i16_are_refused(tmp_path):
    plan = make_plan(http_port=8000, workers=1)
    spec = next(p for p in plan.processes if p.role == "worker")
    moved = spec.model_copy(
        update={"ports": {"system": 40317}, "env": {**spec.env, "DYN_SYSTEM_PORT": "40317"}}
    )
    plan = plan.model_copy(
        update={"processes": [moved if p is spec else p for p in plan.processes]}
    )
    problems = preflight.port_problems(_children(tmp_path, plan))
    assert problems == [
        "worker-0 system port 40317: Dynamo 1.6.1 reads DYN_SYSTEM_PORT as a 16-bit signed "
        "integer; use a port up to 32767"
    ]


def test_prefill_bootstrap_port_is_checked(tmp_path):
    plan = make_plan(
        http_port=free_ports(1)[0],
        workers=0,
        prefill_workers=1,
        decode_workers=1,
        relocate_ports=True,
    )
    kids = _children(tmp_path, plan)
    labels = {(u.owner, u.label) for c in kids for u in c.ports}
    assert ("prefill-0", "bootstrap") in labels and ("decode-0", "bootstrap") not in labels


def test_module_check_runs_in_the_target_interpreter():
    assert preflight.module_problems(sys.executable, ["json", "hicachectl"]) == []
    (problem,) = preflight.module_problems(sys.executable, ["json", "dynamo_not_here.frontend"])
    assert "cannot import dynamo_not_here.frontend" in problem and "install-dynamo.sh" in problem
    assert "dynamo_not_here" not in sys.modules  # never imported here


def test_module_check_started_early_then_collected_or_cancelled(tmp_path):
    from hicachectl.launch.modcheck import ModuleCheck, needed_modules
    from hicachectl.launch.runner import launch
    from hicachectl.launch.specs import Settings

    assert needed_modules(["frontend", "worker"], "mocker") == ["dynamo.frontend", "dynamo.mocker"]
    assert needed_modules(["prefill", "decode"], "sglang") == ["dynamo.sglang"]
    check = ModuleCheck(sys.executable, ["json", "nope_not_a_module"])
    assert check.asks(sys.executable, ["json", "nope_not_a_module"])
    assert not check.asks(sys.executable, ["json"])
    (problem,) = check.problems()
    assert "cannot import nope_not_a_module" in problem
    check.cancel()  # collected already: nothing changes
    assert check.problems() == [problem]
    # not needed after all (a dry run): the helper is stopped and reaped
    early = ModuleCheck(sys.executable, ["json"])
    plan = make_plan(http_port=8000, workers=1)
    s = Settings(python=sys.executable, run_dir=tmp_path / "run", engine="mocker")
    assert launch(plan, s, dry_run=True, out=io.StringIO(), module_check=early) == 0
    assert early._proc.returncode is not None
    assert early.problems() == [f"python {sys.executable}: check cancelled"]


def test_module_check_with_a_missing_interpreter(tmp_path):
    (problem,) = preflight.module_problems(str(tmp_path / "nope"), ["json"])
    assert problem.startswith(f"python {tmp_path / 'nope'}: cannot run it")


def test_etcd_reachability():
    (port,) = free_ports(1)
    (problem,) = preflight.etcd_problems(f"http://127.0.0.1:{port}")
    assert problem.startswith(f"etcd http://127.0.0.1:{port}: not reachable")
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        live = f"http://127.0.0.1:{srv.getsockname()[1]}"
        assert preflight.etcd_problems(live) == []
        # one member of a cluster down: the client fails over, so no problem
        assert preflight.etcd_problems(f"http://127.0.0.1:{port}, {live}") == []
    (other,) = free_ports(1)
    both = preflight.etcd_problems(f"127.0.0.1:{port},127.0.0.1:{other}")
    assert [p.split(":")[0:2] for p in both] == [
        ["etcd 127.0.0.1", f"{port}"],
        ["etcd 127.0.0.1", f"{other}"],
    ]


def test_host_budget_on_a_fresh_probe():
    plan = make_plan(http_port=8000, workers=2)
    pinned = plan.host_budget.pinned_bytes
    ok = preflight.host_problems(plan, HARDWARE, lambda snap: pinned + 11 * GiB)
    assert ok == []
    (problem,) = preflight.host_problems(plan, HARDWARE, lambda snap: pinned)
    assert "only" in problem and "available now" in problem and "10 GiB reserve" in problem


def test_gpu_memory_on_a_fresh_probe():
    plan = make_plan(http_port=8000, workers=2)
    gpus = [
        g.model_copy(update={"memory_free_bytes": g.memory_free_bytes - 10 * GiB})
        for g in HARDWARE.gpus
    ]
    busy = HARDWARE.model_copy(update={"gpus": gpus})
    problems = preflight.gpu_problems(plan, busy)
    assert problems == [
        "GPU 0: 69.0 GiB free now, the plan assumed 79.0 GiB (another process is using it?): free it or re-plan",
        "GPU 1: 69.0 GiB free now, the plan assumed 79.0 GiB (another process is using it?): free it or re-plan",
    ]
    jitter = [
        g.model_copy(update={"memory_free_bytes": g.memory_free_bytes - 100 * (1 << 20)})
        for g in HARDWARE.gpus
    ]
    assert preflight.gpu_problems(plan, HARDWARE.model_copy(update={"gpus": jitter})) == []
    gone = HARDWARE.model_copy(update={"gpus": HARDWARE.gpus[:1]})
    assert preflight.gpu_problems(plan, gone) == ["GPU 1: planned but not present now"]


def test_run_dir_not_writable(tmp_path):
    from hicachectl.launch.rundir import check_writable

    blocker = tmp_path / "a-file"
    blocker.write_text("")  # a run dir under a regular file cannot be created, even by root
    assert check_writable(blocker / "run").startswith(
        f"run directory {blocker / 'run'}: not writable"
    )
    assert check_writable(tmp_path / "fine") is None


# ------------------------------------------------------------------ the command


def _plan_file(tmp_path: Path, plan) -> Path:
    path = tmp_path / "plan.json"
    path.write_text(plan.model_dump_json(indent=1))
    return path


def test_dry_run_prints_argv_env_cwd_and_starts_nothing(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("DYN_ROUTER_MODE", "random")
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value")
    plan = make_plan(http_port=18123, workers=2)
    run = tmp_path / "run"
    r = cli(
        "launch",
        "--plan",
        _plan_file(tmp_path, plan),
        "--engine",
        "mocker",
        "--dry-run",
        "--run-dir",
        run,
        "--python",
        "/opt/dyn/bin/python",
    )
    assert r.exit_code == 0, r.output
    out = r.stdout
    assert "# worker-0 (worker)" in out and "# frontend (frontend)" in out
    assert "argv: /opt/dyn/bin/python -m dynamo.frontend --http-port 18123" in out
    assert "argv: /opt/dyn/bin/python -m dynamo.mocker --model-path" in out
    assert f"env: DYN_FILE_KV={run}/dynamo-kv" in out
    assert "env removed: DYN_ROUTER_MODE" in out  # removed from workers
    assert f"cwd: {os.getcwd()}" in out
    assert "ports: http=127.0.0.1:18123" in out
    assert "ready when: GET http://127.0.0.1:18123/v1/models/tiny/ready says ready" in out
    assert "hf_secret_value" not in r.output
    assert not run.exists()  # nothing created, nothing started


def test_dry_run_real_engine_keeps_the_planned_argv(cli, tmp_path):
    plan = make_plan(http_port=18124, workers=1)
    r = cli(
        "launch", "--plan", _plan_file(tmp_path, plan), "--dry-run", "--python", "/usr/bin/python3"
    )
    assert r.exit_code == 0, r.output
    worker = next(p for p in plan.processes if p.role == "worker")
    import shlex

    assert "argv: " + shlex.join(["/usr/bin/python3", *worker.argv[1:]]) in r.stdout


def test_malformed_plan_file_names_file_and_key(cli, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"sglang_version": "0.5.21",\n "page_size": }')
    r = cli("launch", "--plan", bad, "--dry-run")
    assert r.exit_code == 2 and f"{bad}:2: invalid JSON" in r.stderr
    data = json.loads(make_plan(http_port=8000, workers=1).model_dump_json())
    data["page_size"] = "big"
    bad.write_text(json.dumps(data))
    r = cli("launch", "--plan", bad, "--dry-run")
    assert r.exit_code == 2 and f"{bad}: page_size:" in r.stderr
    del data["page_size"], data["processes"]
    bad.write_text(json.dumps(data))
    r = cli("launch", "--plan", bad, "--dry-run")
    assert r.exit_code == 2 and f"{bad}: page_size: Field required" in r.stderr
    assert "Traceback" not in r.output


def test_plan_file_and_plan_options_do_not_mix(cli, tmp_path):
    path = _plan_file(tmp_path, make_plan(http_port=8000, workers=1))
    r = cli("launch", "--plan", path, "--tp", "2", "--dry-run")
    assert r.exit_code == 2 and "--tp" in r.stderr


def test_preflight_refuses_and_starts_nothing(cli, tmp_path):
    (http,) = free_ports(1)
    plan = make_plan(http_port=http, workers=1, relocate_ports=True)
    run = tmp_path / "run"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", http))
        busy.listen()
        r = cli(
            "launch",
            "--plan",
            _plan_file(tmp_path, plan),
            "--engine",
            "mocker",
            "--run-dir",
            run,
            "--python",
            sys.executable,
        )
    assert r.exit_code == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("hicachectl: pre-flight:")]
    assert (
        f"hicachectl: pre-flight: frontend http port {http} on 127.0.0.1: already in use" in lines
    )
    # this interpreter has no Dynamo: one line per missing module
    assert any("cannot import dynamo.frontend" in ln for ln in lines) or _has_dynamo()
    assert not (run / "children.json").exists() and not list((run / "logs").glob("*.log"))


def _has_dynamo() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("dynamo.frontend") is not None
    except ModuleNotFoundError:
        return False


def test_missing_plan_file(cli, tmp_path):
    r = cli("launch", "--plan", tmp_path / "nope.json", "--dry-run")
    assert r.exit_code == 2
    assert r.stderr.strip() == f"hicachectl: {tmp_path / 'nope.json'}: no such file"


def test_only_process_py_spawns_or_signals():
    import hicachectl.launch as pkg

    root = Path(pkg.__file__).parent
    offenders = [
        p.name
        for p in root.glob("*.py")
        if p.name != "process.py"
        and any(word in p.read_text() for word in ("Popen", "killpg", "os.kill(", "subprocess.run"))
    ]
    assert offenders == []


def test_launch_accepts_every_plan_input_option():
    from typer.main import get_command

    from hicachectl.cli import app

    group = get_command(app)
    names = {
        verb: {opt for p in group.commands[verb].params for opt in p.opts}
        for verb in ("plan", "launch")
    }
    output_only = {"--format", "--output", "-o"}
    assert names["plan"] - output_only <= names["launch"]


def test_prefill_without_decode_is_a_usage_error(cli):
    r = cli("launch", "--profile", "dev", "--prefill-workers", "1", "--dry-run")
    assert r.exit_code == 2 and "go together" in r.stderr


def test_reprobe_checks_host_and_gpus_on_a_fresh_probe(tmp_path, monkeypatch):
    import hicachectl.probe
    from hicachectl.launch.runner import run_preflight

    plan = make_plan(http_port=free_ports(1)[0], workers=2, relocate_ports=True)
    plan = plan.model_copy(
        update={"hardware": plan.hardware.model_copy(update={"source": "probe"})}
    )
    host = HARDWARE.host.model_copy(update={"memory_available_bytes": 20 * GiB})
    fresh = HARDWARE.model_copy(update={"gpus": HARDWARE.gpus[:1], "host": host})
    monkeypatch.setattr(hicachectl.probe, "probe", lambda *a, **k: fresh)
    s = Settings(python=sys.executable, run_dir=tmp_path / "run")
    problems = run_preflight(plan, build_children(plan, s, {}), s, reprobe=True)
    assert any(
        p.startswith("host memory: the plan pins 402.0 GB across 2 ranks")
        and "only 21.5 GB is available now" in p
        for p in problems
    )
    assert "GPU 1: planned but not present now" in problems
    # the mocker needs neither: no probe at all
    mocker = Settings(python=sys.executable, run_dir=tmp_path / "run2", engine="mocker")
    monkeypatch.setattr(hicachectl.probe, "probe", lambda *a, **k: 1 / 0)
    problems = run_preflight(plan, build_children(plan, mocker, {}), mocker, reprobe=True)
    assert not any(p.startswith(("host memory", "GPU")) for p in problems)


def test_a_plan_that_does_not_fit_is_not_launched(cli, tmp_path):
    plan = make_plan(http_port=8000, workers=1).model_copy(update={"fits": False})
    path = _plan_file(tmp_path, plan)
    r = cli("launch", "--plan", path, "--dry-run")
    assert r.exit_code == 1 and f"{path}: fits: the plan does not fit" in r.stderr


def test_module_check_imports_the_parent_packages_as_import_would(tmp_path, monkeypatch):
    # a broken install: the package is there, but its __init__ fails -> not importable
    from hicachectl.launch.modcheck import ModuleCheck

    pkg = tmp_path / "brokendyn"
    (pkg / "frontend").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise ImportError('libdynamo_runtime.so: not found')\n")
    (pkg / "frontend" / "__init__.py").write_text("")
    good = tmp_path / "gooddyn"
    (good / "frontend").mkdir(parents=True)
    (good / "__init__.py").write_text("")
    (good / "frontend" / "__init__.py").write_text("raise SystemExit('never run by the check')\n")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    (problem,) = ModuleCheck(sys.executable, ["brokendyn.frontend", "gooddyn.frontend"]).problems()
    assert "cannot import brokendyn.frontend" in problem
