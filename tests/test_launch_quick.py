"""launch --plan's light start path (``hicachectl.entry`` -> ``hicachectl.launch.quick``).

Its option table must be the typer command's (same strings, kinds, defaults); it takes only
the plain cases and declines the rest (None), and through the real entry point it gives the
very same messages and exit codes as the full command.  No Dynamo needed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
import typer
from conftest import ROOT
from launch_plans import free_ports, make_plan

from hicachectl.cli import build_app
from hicachectl.launch import quick
from hicachectl.launch.specs import build_children, launch_settings


def launch_params() -> list:
    group = typer.main.get_command(build_app("launch"))
    return list(group.commands["launch"].params)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- option table

# Launch options the light path deliberately never takes: the full command handles them.
DECLINED = {"--dry-run"}


def test_option_table_matches_the_typer_command():
    panel = [p for p in launch_params() if getattr(p, "rich_help_panel", None) == "Launch"]
    assert {p.name for p in panel} >= {"plan_file", "engine", "quiet", "loopback"}
    seen = set()
    for p in panel:
        for opt in [*p.opts, *p.secondary_opts]:
            if opt in DECLINED:
                assert opt not in quick.OPTIONS
                continue
            seen.add(opt)
            assert opt in quick.OPTIONS, opt
            key, kind, conv = quick.OPTIONS[opt]
            assert key == p.name, opt
            assert kind == (quick.FLAG if p.is_flag else quick.VALUE), opt  # type: ignore[attr-defined]
            if p.is_flag:  # type: ignore[attr-defined]
                assert conv is (opt not in p.secondary_opts), opt
            elif p.type.name == "float range":  # quick refuses negatives, takes 0
                assert conv is float and p.type.min == 0 and not p.type.min_open, opt
            else:
                assert conv is str and p.type.name == "str", opt
    assert "-q" in seen and "--no-loopback" in seen
    assert set(quick.OPTIONS) == seen  # and vice versa: nothing the command lacks
    defaults = {p.name: p.default for p in panel if p.name != "dry_run"}
    assert quick.DEFAULTS == defaults


def test_no_plan_option_is_in_the_table():
    others = {o for p in launch_params() if getattr(p, "rich_help_panel", None) != "Launch"
              for o in p.opts}  # fmt: skip
    assert "--tp" in others and "--profile" in others
    assert not others & set(quick.OPTIONS)


# --------------------------------------------------------------------------- parse


def parsed(*args: str) -> dict:
    opts = quick.parse(list(args))
    assert opts is not None, args
    return opts


def test_parse_plain_cases():
    assert parsed("--plan", "p.json") == {**quick.DEFAULTS, "plan_file": "p.json"}
    assert parsed("--plan=p.json")["plan_file"] == "p.json"
    assert parsed("--plan", "p", "-q")["quiet"] is True
    assert parsed("--plan", "p", "--quiet")["quiet"] is True
    assert parsed("--plan", "p", "--no-loopback")["loopback"] is False
    assert parsed("--plan", "p", "--loopback")["loopback"] is True
    assert parsed("--plan", "p", "--ready-timeout", "0.5")["ready_timeout"] == 0.5
    assert parsed("--plan", "p", "--ready-timeout=0")["ready_timeout"] == 0.0
    assert parsed("--plan", "p", "--grace", "3")["grace"] == 3.0
    assert parsed("--plan", "p", "--speedup-ratio", "10")["speedup_ratio"] == 10.0
    opts = parsed("--engine", "mocker", "--discovery=etcd", "--python", "/x/py", "--plan", "p",
                  "--run-dir", "/tmp/r=1")  # fmt: skip
    assert (opts["engine"], opts["discovery"], opts["python"]) == ("mocker", "etcd", "/x/py")
    assert opts["run_dir"] == "/tmp/r=1"


def test_parse_last_one_wins():
    opts = parsed("--plan", "a", "--plan=b", "--engine", "mocker", "--engine", "sglang",
                  "--loopback", "--no-loopback", "--grace", "1", "--grace=2")  # fmt: skip
    assert (opts["plan_file"], opts["engine"], opts["loopback"], opts["grace"]) == (
        "b", "sglang", False, 2.0,
    )  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [
        ["--plan", "p", "--help"],
        ["--plan", "p", "-h"],
        ["--plan", "p", "--dry-run"],
        ["--plan", "p", "--tp", "2"],
        ["--plan", "p", "--profile", "dev"],
        ["--plan", "p", "--engine", "bogus"],
        ["--plan", "p", "--discovery", "consul"],
        ["--plan", "p", "--grace", "-1"],
        ["--plan", "p", "--grace=-1"],
        ["--plan", "p", "--ready-timeout", "nan"],
        ["--plan", "p", "--ready-timeout", "inf"],
        ["--plan", "p", "--ready-timeout", "soon"],
        ["--plan", "p", "--quiet=1"],
        ["--plan", "p", "--no-loopback=yes"],
        ["--plan"],
        ["--plan", "p", "--engine"],
        ["--plan", ""],
        ["--plan", "--quiet"],
        ["--engine", "mocker"],
        [],
        ["--plan", "p", "extra-argument"],
        ["--plan", "p", "--"],
        ["--pla", "p"],
    ],
    ids=lambda a: " ".join(a) or "nothing",
)
def test_parse_declines(args):
    assert quick.parse(args) is None


# --------------------------------------------------------------------------- end to end


def hicachectl(*args: str) -> subprocess.CompletedProcess:
    """``python -m hicachectl ...`` from the repository root, as a user runs it."""
    env = {k: v for k, v in os.environ.items() if k != "HICACHECTL_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "hicachectl", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def saved_plan(tmp_path, **request) -> tuple:
    """A real plan on free ports, saved as ``plan --format json`` would save it."""
    plan = make_plan(http_port=free_ports(1)[0], relocate_ports=True, **request)
    path = tmp_path / "plan.json"
    path.write_text(plan.model_dump_json(indent=2), encoding="utf-8")
    return path, json.loads(plan.model_dump_json())


@pytest.mark.parametrize(
    ("label", "text", "needle"),
    [
        ("invalid-json", '{"sglang_version": "0.5.4",', "plan.json"),
        ("type-error", None, "http_port"),
    ],
)
def test_bad_plan_files_read_as_before(cli, tmp_path, label, text, needle):
    path, data = saved_plan(tmp_path, workers=1)
    if text is None:
        data["http_port"] = "x"
        text = json.dumps(data)
    path.write_text(text, encoding="utf-8")
    assert quick.run(["--plan", str(path)]) is None  # the light path declines: no side effect
    before = cli("launch", "--plan", str(path))  # the full command, in-process
    r = hicachectl("launch", "--plan", str(path))
    assert r.returncode == before.exit_code == 2
    assert r.stderr == before.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and needle in lines[0] and str(path) in lines[0], r.stderr
    assert r.stdout == ""


FRAMEWORKS = (
    "import sys; from {} import main; rc = main(sys.argv[1:]); "
    "print(sorted(m for m in ('typer', 'click', 'pydantic') if m in sys.modules)); "
    "sys.exit(rc)"
)


def test_occupied_port_fails_preflight_and_starts_nothing(tmp_path):
    path, data = saved_plan(tmp_path, workers=1)
    run_dir = tmp_path / "run"
    s = launch_settings(python=sys.executable, run_dir=str(run_dir), engine="sglang",
                        discovery=None, plan_discovery=data["discovery"], loopback=None,
                        speedup_ratio=0.0, env=os.environ, pid=os.getpid())  # fmt: skip
    from hicachectl.models import Plan

    children = build_children(Plan.model_validate(data), s, os.environ)
    http = next(u for c in children if c.role == "frontend" for u in c.ports if u.label == "http")
    assert http.port == data["http_port"]
    with socket.socket() as busy:
        busy.bind((http.host, http.port))
        busy.listen(1)
        args = ["launch", "--plan", str(path), "--python", sys.executable, "--run-dir",
                str(run_dir), "--ready-timeout", "5"]  # fmt: skip
        # The entry point (the light path) and the full command, each in a child
        # interpreter; each reports which frameworks it loaded.
        r, full = (
            subprocess.run(
                [sys.executable, "-c", FRAMEWORKS.format(mod), *args],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=60,
            )
            for mod in ("hicachectl.entry", "hicachectl.cli")
        )
        m = hicachectl(*args)
    for res in (r, m, full):
        assert res.returncode == 2, res.stderr
        lines = res.stderr.splitlines()
        assert all(line.startswith("hicachectl: pre-flight: ") for line in lines), res.stderr
        assert any(f"http port {http.port} on {http.host}" in line for line in lines)
        assert any("cannot import dynamo.frontend" in line for line in lines)
        assert any("cannot import dynamo.sglang" in line for line in lines)
    assert m.stderr == r.stderr == full.stderr
    assert "typer" in full.stdout
    assert r.stdout.strip() == "[]", "the light path took this launch without typer/pydantic"
    assert not (run_dir / "children.json").exists()
    # pre-flight proves the run directory writable (it makes logs/); nothing else is written
    assert [x.name for x in run_dir.rglob("*")] in ([], ["logs"])


def test_dry_run_with_plan_still_prints(cli, tmp_path):
    path, data = saved_plan(tmp_path, workers=0, prefill_workers=1, decode_workers=1)
    run_dir = tmp_path / "run"
    args = ["launch", "--plan", str(path), "--dry-run", "--run-dir", str(run_dir)]
    r = hicachectl(*args)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"# run directory: {run_dir}")
    for p in data["processes"]:
        assert f"\n# {p['name']} ({p['role']})\n" in r.stdout
    assert f"\nports: http=0.0.0.0:{data['http_port']}\n" in r.stdout
    before = cli(*args)
    assert (before.exit_code, before.stdout) == (0, r.stdout)
    assert not run_dir.exists()


def test_deeply_nested_plan_reads_as_before(cli, tmp_path):
    path = tmp_path / "deep.json"
    path.write_text('{"extra": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    before = cli("launch", "--plan", str(path))
    r = hicachectl("launch", "--plan", str(path))
    assert "Traceback" not in r.stderr
    assert (r.returncode, r.stderr) == (before.exit_code, before.stderr)
    assert r.returncode == 2 and "nested too deeply" in r.stderr


def test_a_plan_from_a_pipe_is_read_once_by_the_full_command(cli, tmp_path):
    # `launch --plan <(hicachectl plan ...)`: the light path leaves pipes alone, so the full
    # command (here: a plan that does not fit) reads it and reports as for a file.
    path, data = saved_plan(tmp_path, workers=1)
    data["fits"] = False
    path.write_text(json.dumps(data))
    as_file = hicachectl("launch", "--plan", str(path))
    fifo = tmp_path / "plan.fifo"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", f"cat {path} > {fifo}"])
    try:
        from_pipe = hicachectl("launch", "--plan", str(fifo))
    finally:
        writer.wait(timeout=10)
    assert as_file.returncode == 1 and "fits: false" in as_file.stderr
    assert from_pipe.returncode == 1
    assert from_pipe.stderr == as_file.stderr.replace(str(path), str(fifo))
