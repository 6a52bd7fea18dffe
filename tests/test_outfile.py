"""`plan -o` and `probe -o` write through one atomic writer: permissions as a plain open under
the umask (a snapshot and a plan are not secrets), nothing partial left on failure."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
from conftest import ROOT

from hicachectl.errors import InputError
from hicachectl.outfile import write_atomic

HW = ROOT / "profiles" / "hardware" / "dev-h100-1x.json"


@pytest.fixture
def umask022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_plan_and_probe_outputs_get_the_same_permissions(cli, tmp_path, umask022):
    snap, plan_json, plan_sh = tmp_path / "hw.json", tmp_path / "plan.json", tmp_path / "run.sh"
    assert cli("probe", "--hardware", str(HW), "-o", str(snap)).exit_code == 0
    assert cli("plan", "--profile", "dev", "--format", "json", "-o", str(plan_json)).exit_code == 0
    assert cli("plan", "--profile", "dev", "--format", "sh", "-o", str(plan_sh)).exit_code == 0
    assert _mode(snap) == _mode(plan_json) == 0o644
    assert _mode(plan_sh) == 0o755
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hw.json", "plan.json", "run.sh"]


def test_umask_is_honoured(tmp_path):
    old = os.umask(0o077)
    try:
        write_atomic(tmp_path / "x.json", "{}")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "x.json") == 0o600


def test_replaces_whole_file_and_fails_cleanly(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    write_atomic(target, "new")
    assert target.read_text() == "new"
    with pytest.raises(InputError, match=r"missing/out\.txt: cannot write"):
        write_atomic(tmp_path / "missing" / "out.txt", "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_symlinks_are_followed_and_devices_written_through(tmp_path, umask022):
    real = tmp_path / "real.json"
    real.write_text("old")
    os.chmod(real, 0o640)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"
    assert _mode(real) == 0o640  # an existing file keeps its permissions
    write_atomic(os.devnull, "discarded")  # a device: written, not replaced
    assert os.path.exists(os.devnull) and not os.path.isfile(os.devnull)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    import threading

    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo).read()))  # noqa: SIM115
    reader.start()
    write_atomic(fifo, "through the pipe")
    reader.join(timeout=10)
    assert got == ["through the pipe"] and stat.S_ISFIFO(os.stat(fifo).st_mode)
    with pytest.raises(InputError, match="is a directory"):
        write_atomic(tmp_path, "x")


def test_an_existing_script_gains_execute_bits(tmp_path, umask022):
    script = tmp_path / "run.sh"
    script.write_text("old")
    os.chmod(script, 0o600)
    write_atomic(script, "#!/bin/sh\n", executable=True)
    assert _mode(script) == 0o711


def _sh(script: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", script], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_dev_stdout_and_descriptors_are_written_as_the_shell_opened_them(tmp_path):
    hc = f"{sys.executable} -m hicachectl plan --profile dev --format json"
    env_root = f"cd {ROOT} && "
    # into a pipe
    r = _sh(env_root + f"{hc} -o /dev/stdout | wc -c", tmp_path)
    assert r.returncode == 0 and int(r.stdout) > 1000, r.stderr
    # appended to a file (>>): the first line stays, and no file is swapped under the shell
    out = tmp_path / "all.json"
    out.write_text("first\n")
    r = _sh(env_root + f"{hc} -o /dev/stdout >> {out}", tmp_path)
    assert r.returncode == 0, r.stderr
    assert out.read_text().startswith('first\n{\n  "sglang_version"')
    # another descriptor the shell opened
    r = _sh(env_root + f"{hc} -o /dev/fd/3 3> {tmp_path / 'fd3.json'}", tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "fd3.json").read_text().startswith("{")
