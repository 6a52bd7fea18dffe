"""`plan -o` and `probe -o` write through one atomic writer: permissions as a plain open under
the umask (a snapshot and a plan are not secrets), nothing partial left on failure."""

from __future__ import annotations

import os
import stat

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
