"""`plan` and `lint` agree: the launch script `hicachectl plan --format sh` writes for each
bundled profile lints clean on the profile's own hardware (same resolver, same sizing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hicachectl.lint.engine import LintOptions, lint_text

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parents[1]
PROFILES = sorted((ROOT / "profiles").glob("*.toml"))


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.stem)
def test_planned_script_lints_clean(cli, profile, monkeypatch):
    monkeypatch.setenv("HICACHECTL_DEBUG", "1")
    r = cli("plan", "--profile", str(profile), "--format", "sh")
    assert r.exit_code == 0, r.output
    data = tomllib.loads(profile.read_text(encoding="utf-8"))
    hw = str((profile.parent / data["hardware"]).resolve())
    res = lint_text(r.stdout, path=f"{profile.stem}.sh", options=LintOptions(hardware=hw))
    # The planned workers are seen through the `start NAME env ... "$PYTHON" -m` launcher:
    # the same script with an abbreviated flag is reported, so a clean result means something.
    assert "--model-path" in r.stdout
    broken = r.stdout.replace("--model-path", "--model-pa")
    hits = [f for f in lint_text(broken, path="x.sh").findings if f.code == "HC012"]
    assert len(hits) == r.stdout.count("-m dynamo.sglang")
    found = [(f.code, f.message) for f in res.findings]
    # Storage set-up the script leaves to the caller's environment: `plan` warns about it
    # and `lint` reports the same thing (one source of truth, two verbs).
    plan = json.loads(cli("plan", "--profile", str(profile), "--format", "json").stdout)
    expected = []
    if any(w.startswith("mooncake:") for w in plan["warnings"]):
        expected.append("HC307")
    if any(w.startswith("hf3fs with an MLA model") for w in plan["warnings"]):
        expected.append("HC312")
    assert sorted(c for c, _ in found) == expected, found
