"""The session wiring with real processes: stand-in engines (small Python scripts that print
SGLang's real log lines and answer the readiness URLs) under the real spawner, supervisor,
readiness probes, boot report and printer.  Dynamo itself is exercised in tests/e2e."""

from __future__ import annotations

import io
import json
import os
import sys
import textwrap

import pytest
from launch_plans import free_ports, make_plan

from hicachectl.errors import HicacheError
from hicachectl.launch.session import supervise
from hicachectl.launch.specs import Settings, build_children

SERVER = textwrap.dedent(
    """
    import json, sys, threading, time
    from http.server import BaseHTTPRequestHandler, HTTPServer
    port, body, lines, then_exit = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3]), sys.argv[4:]
    class H(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200); self.end_headers(); self.wfile.write(body.encode())
        def log_message(self, *a): pass
    for line in lines:  # as SGLang: the boot lines come before the worker reports ready
        print(line, flush=True)
    time.sleep(0.2)  # and the launcher has read them by then
    srv = HTTPServer(("127.0.0.1", port), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    if then_exit:
        time.sleep(float(then_exit[0]))
        print(then_exit[1], flush=True)
        sys.exit(int(then_exit[2]))
    time.sleep(600)
    """
)

# The 1.6.1 /v1/models/<m>/ready body for one aggregated worker (dynamo.md §2).
FRONTEND_READY = {
    "ready": True,
    "namespaces": {"dynamo": {"ready": True, "worker_types": {"aggregated": {"workers": 1}}}},
}

WORKER_LINES = [
    "[2026-11-23 04:44:57] Page first layout is not supported with direct IO backend, switching to page first direct layout",
    "[2026-11-23 04:44:58 TP0] Load weight begin. avail mem=78.50 GB",
    "[2026-11-23 04:45:20 TP0] max_total_num_tokens={device}, chunked_prefill_size=8192, context_len=4096",
    "[2026-11-23 04:45:21 TP0] Allocating kv hierarchical KV host pool: {host} tokens, {gb:.2f} GB host memory.",
]


def _stand_ins(tmp_path, plan, *, worker_exit=None):
    s = Settings(python=sys.executable, run_dir=tmp_path / "run", loopback=True)
    (tmp_path / "run" / "logs").mkdir(parents=True)
    script = tmp_path / "standin.py"
    script.write_text(SERVER)
    wp = plan.workers[0].per_rank
    lines = [
        ln.format(device=wp.device_tokens, host=wp.host_tokens, gb=wp.host_bytes / 1e9)
        for ln in WORKER_LINES
    ]
    kids = []
    for c in build_children(plan, s, {}):
        port = int(c.probe[1].split(":")[2].split("/")[0])
        if c.role == "frontend":
            argv = [sys.executable, str(script), str(port), json.dumps(FRONTEND_READY), "[]"]
        else:
            argv = [
                sys.executable,
                str(script),
                str(port),
                json.dumps({"status": "ready"}),
                json.dumps(lines),
            ]
            argv += worker_exit or []
        kids.append(c._replace(argv=argv))
    return s, kids


def _quietly(plan, kids, s, ready_timeout: float = 20):
    """supervise with quiet output to throw-away streams (tests that expect it to raise)."""
    return supervise(
        plan, kids, s, quiet=True, ready_timeout=ready_timeout, grace=2,
        out=io.StringIO(), err=io.StringIO(),
    )  # fmt: skip


def test_ready_banner_boot_report_and_a_worker_that_dies(tmp_path):
    (http,) = free_ports(1)
    plan = make_plan(http_port=http, workers=1, relocate_ports=True)
    oom = (
        "[2026-11-23 04:46:00 TP0] ValueError: Not enough host memory available. Requesting "
        "400.00 GB but only have 183.52 GB free. Please reduce the size of the hierarchical cache."
    )
    s, kids = _stand_ins(tmp_path, plan, worker_exit=["1.5", oom, "1"])
    out, err = io.StringIO(), io.StringIO()
    code = supervise(plan, kids, s, quiet=True, ready_timeout=20, grace=2, out=out, err=err)
    stdout, stderr = out.getvalue(), err.getvalue()
    assert code == 1
    assert "ready in" in stdout and f"http://127.0.0.1:{http}/v1" in stdout
    assert "curl -s" in stdout
    wp = plan.workers[0].per_rank
    assert (
        f"worker-0: device tokens/rank planned {wp.device_tokens:,}, actual {wp.device_tokens:,} (+0.0%)"
        in stdout
    )
    assert f"host tokens/rank planned {wp.host_tokens:,}, actual {wp.host_tokens:,}" in stdout
    # the rewrite warning is reported prominently, with the flag that fixes it
    assert "worker-0: SGLang rewrote a planned setting [R4]" in stderr
    assert "--hicache-mem-layout page_first_direct" in stderr
    # the host-memory refusal is explained against the plan's budget
    assert "requested 400.00 GB per rank, 183.52 GB free" in stderr and "budget" in stderr
    assert "worker-0 exited with code 1; exit 1" in stderr
    assert (
        "last lines of worker-0" in stderr
        and "Not enough host memory" in stderr.split("last lines")[1]
    )
    children = json.loads((s.run_dir / "children.json").read_text())
    assert {c["name"] for c in children} == {"worker-0", "frontend"}
    log = (s.run_dir / "logs" / "worker-0.log").read_text()
    assert "Allocating kv hierarchical KV host pool" in log and "Not enough host memory" in log


def test_a_child_that_cannot_start_stops_the_others(tmp_path):
    (http,) = free_ports(1)
    plan = make_plan(http_port=http, workers=1, relocate_ports=True)
    s, kids = _stand_ins(tmp_path, plan)
    # the frontend starts first; the worker's interpreter does not exist
    kids = [
        c._replace(argv=[str(tmp_path / "no-python")]) if c.role != "frontend" else c for c in kids
    ]
    with pytest.raises(HicacheError, match="cannot start worker-0") as info:
        _quietly(plan, kids, s)
    assert info.value.exit_code == 1
    (frontend,) = json.loads((s.run_dir / "children.json").read_text())
    assert frontend["name"] == "frontend"
    with pytest.raises(ProcessLookupError):
        os.killpg(frontend["pgid"], 0)


def test_a_frontend_that_sees_one_replica_of_two_is_not_ready(tmp_path):
    (http,) = free_ports(1)
    plan = make_plan(http_port=http, workers=2, relocate_ports=True)
    s, kids = _stand_ins(tmp_path, plan)  # the frontend's /ready counts 1 aggregated worker
    err = io.StringIO()
    code = supervise(
        plan, kids, s, quiet=True, ready_timeout=1.5, grace=2, out=io.StringIO(), err=err
    )
    assert code == 1
    assert "not ready after 1.5 s: frontend" in err.getvalue()
    assert "hicachectl: the frontend does not see: aggregated 1/2" in err.getvalue()


def test_a_failure_before_the_loop_runs_leaves_no_child_behind(tmp_path, monkeypatch):
    # The children start before the printer and boot report are built; if building them
    # fails, the children that already run are stopped all the same.
    import hicachectl.launch.session as session

    (http,) = free_ports(1)
    plan = make_plan(http_port=http, workers=1, relocate_ports=True)
    s, kids = _stand_ins(tmp_path, plan)

    def broken_printer(*_a, **_k):
        raise RuntimeError("printer unavailable")

    monkeypatch.setattr(session, "ConsolePrinter", broken_printer)
    with pytest.raises(RuntimeError, match="printer unavailable"):
        _quietly(plan, kids, s)
    started = json.loads((s.run_dir / "children.json").read_text())
    assert {c["name"] for c in started} == {"frontend", "worker-0"}
    for child in started:
        with pytest.raises(ProcessLookupError):
            os.killpg(child["pgid"], 0)
