"""``runner.launch`` itself, past a real pre-flight, with stand-in ``dynamo.*`` modules: the
children start before the supervisor is loaded, so a failure in between must stop them."""

from __future__ import annotations

import json
import os
import sys
import textwrap

import pytest
from launch_plans import free_ports, make_plan

from hicachectl.launch import runner
from hicachectl.launch.specs import launch_settings

STAND_IN = textwrap.dedent(
    """
    import time
    print("stand-in up", flush=True)
    time.sleep(60)
    """
)


@pytest.fixture
def stand_in_dynamo(tmp_path, monkeypatch):
    """A `dynamo` package whose frontend and sglang modules just sleep: found by the
    pre-flight's interpreter check and run by the children (both inherit PYTHONPATH)."""
    root = tmp_path / "site"
    for mod in ("frontend", "sglang"):
        pkg = root / "dynamo" / mod
        pkg.mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "__main__.py").write_text(STAND_IN)
    (root / "dynamo" / "__init__.py").write_text("")
    monkeypatch.setenv("PYTHONPATH", str(root))
    return root


def _gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_failure_after_the_children_started_stops_them(tmp_path, monkeypatch, stand_in_dynamo):
    import hicachectl.launch.session as session

    (http,) = free_ports(1)
    plan = make_plan(http_port=http, workers=1, relocate_ports=True)
    s = launch_settings(
        python=sys.executable,
        run_dir=str(tmp_path / "run"),
        engine="sglang",
        discovery=None,
        plan_discovery=plan.discovery,
        loopback=True,
        speedup_ratio=0.0,
        env=os.environ,
        pid=os.getpid(),
    )

    def broken(*_a, **_k):
        raise RuntimeError("supervisor unavailable")

    monkeypatch.setattr(session, "supervise", broken)
    with pytest.raises(RuntimeError, match="supervisor unavailable"):
        runner.launch(plan, s, ready_timeout=5, grace=2, reprobe=False)
    started = json.loads((s.run_dir / "children.json").read_text())
    assert {c["name"] for c in started} == {"frontend", "worker-0"}
    assert all(_gone(c["pgid"]) for c in started)
    # what was launched is on record
    assert json.loads((s.run_dir / "plan.json").read_text())["http_port"] == http
