"""Readiness decisions on the response shapes Dynamo 1.6.1 returns, phases from log lines, a
real HTTP probe against a local server, and the plain-text printer."""

from __future__ import annotations

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from hicachectl.launch import readiness
from hicachectl.launch.logs import ConsolePrinter
from hicachectl.launch.supervisor import ChildState

# Bodies as the 1.6.1 frontend and system server return them (dynamo.md §2, §3; observed).
FRONTEND_READY = {
    "model": "tiny",
    "ready": True,
    "namespaces": {"dynamo": {"ready": True, "worker_types": {"aggregated": {"workers": 1}}}},
}
FRONTEND_MISSING = {"ready": False, "reason": "missing worker types: prefill"}
WORKER_READY = {"status": "ready", "uptime": {"secs": 2}, "endpoints": {"generate": "ready"}}
WORKER_NOT_READY = {"status": "notready", "endpoints": {"generate": "notready"}}


def test_frontend_and_worker_verdicts():
    assert readiness.frontend_is_ready(200, FRONTEND_READY)
    assert not readiness.frontend_is_ready(503, FRONTEND_MISSING)
    assert not readiness.frontend_is_ready(404, {"message": "Model not found"})
    assert not readiness.frontend_is_ready(200, {"status": "healthy", "instances": []})  # /health
    assert readiness.worker_is_ready(200, WORKER_READY)
    assert not readiness.worker_is_ready(200, WORKER_NOT_READY)
    assert not readiness.worker_is_ready(0, None)


def test_ready_check_asks_only_pending_children():
    answers = {
        "http://f/ready": (200, FRONTEND_READY),
        "http://w0/health": (200, WORKER_NOT_READY),
    }
    asked = []

    def get(url):
        asked.append(url)
        return answers[url]

    check = readiness.make_ready_check(
        {"frontend": ("frontend", "http://f/ready"), "worker-0": ("worker", "http://w0/health")},
        get=get,
    )
    assert check({"frontend", "worker-0", "worker-1"}) == {"frontend", "worker-1"}
    asked.clear()
    assert check({"worker-0"}) == set() and asked == ["http://w0/health"]


def test_http_probe_against_a_real_server():
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            ok = self.path == "/v1/models/Qwen%2FQwen3/ready"
            body = json.dumps(FRONTEND_READY if ok else {"message": "Model not found"}).encode()
            self.send_response(200 if ok else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        url = readiness.frontend_ready_url("0.0.0.0", port, "Qwen/Qwen3")
        status, body = readiness.http_get_json(url)
        assert readiness.frontend_is_ready(status, body)
        assert readiness.http_get_json(f"http://127.0.0.1:{port}/v1/models/x/ready")[0] == 404
    finally:
        server.shutdown()
        server.server_close()
    assert readiness.http_get_json(f"http://127.0.0.1:{port}/") == (0, None)  # nothing listens


def test_phases_from_real_log_lines():
    cases = {
        "[2026-11-23 04:44:58 TP0] Load weight begin. avail mem=78.50 GB": "loading weights",
        "[2026-11-23 04:45:20 TP0] max_total_num_tokens=750016, chunked_prefill_size=8192": "allocating the KV pool",
        "[2026-11-23 04:45:21 TP0] Allocating kv hierarchical KV host pool: 1500032 tokens, 196.61 GB host memory.": "allocating the host pool",
        "[2026-11-23 04:45:30 TP0] Capture cuda graph begin. This can take up to several minutes.": "capturing CUDA graphs",
        "\x1b[2m2026-11-23T04:44:57.462543Z\x1b[0m \x1b[32m INFO\x1b[0m service_v2: Starting HTTP(S) service": "serving HTTP",
    }
    for line, phase in cases.items():
        assert readiness.phase_of("w", line) == phase
    assert readiness.phase_of("w", "INFO something else") is None


def test_plain_printer():
    err, out = io.StringIO(), io.StringIO()
    p = ConsolePrinter(
        ["worker-0", "frontend"], on_ready=lambda e: [f"ready in {e:.1f} s"], err=err, out=out
    )
    p.line("worker-0", "\x1b[32m INFO\x1b[0m hello")
    st = [ChildState("worker-0", 0.0, phase="loading weights"), ChildState("frontend", 0.0)]
    p.status(st, 1.5, False)
    p.status(st, 1.6, False)  # no phase change: nothing new
    p.notice("worker-0: SGLang rewrote a planned setting", problem=True)
    p.ready(st, 2.0)
    assert err.getvalue().splitlines() == [
        "worker-0 |  INFO hello",
        "[    1.5s] worker-0: loading weights",
        "[    1.5s] frontend: starting",
        "hicachectl: worker-0: SGLang rewrote a planned setting",
    ]
    assert out.getvalue() == "ready in 2.0 s\n"


def test_quiet_printer_hides_child_output_only():
    err = io.StringIO()
    p = ConsolePrinter(["w"], on_ready=lambda e: [], quiet=True, err=err, out=io.StringIO())
    p.line("w", "chatter")
    p.notice("problem", problem=True)
    assert err.getvalue() == "hicachectl: problem\n"


def test_absolute_path_names_fall_back_to_the_model_list():
    # 1.6.1's /ready route cannot address a served name like "/models/llama" (404 always);
    # the model being listed in /v1/models is the equivalent signal.
    url = readiness.frontend_ready_url("127.0.0.1", 8000, "/models/llama")
    listed = {"object": "list", "data": [{"id": "/models/llama", "object": "model"}]}
    answers = {
        url: (404, {"message": "Model not found"}),
        "http://127.0.0.1:8000/v1/models": (200, listed),
    }
    check = readiness.make_ready_check({"frontend": ("frontend", url)}, get=answers.__getitem__)
    assert check({"frontend"}) == {"frontend"}
    answers["http://127.0.0.1:8000/v1/models"] = (200, {"object": "list", "data": []})
    assert check({"frontend"}) == set()


def _raw_server(reply: bytes, *, close: bool):
    """One-connection-at-a-time socket server that answers every request with ``reply``."""
    import socket

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    requests = []

    def serve():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            requests.append(conn.recv(4096))
            conn.sendall(reply)
            if close:
                conn.close()
            else:
                threading.Timer(5, conn.close).start()  # keeps it open past the probe

    threading.Thread(target=serve, daemon=True).start()
    return srv, requests


def test_plain_socket_probe_reads_whole_answers():
    from hicachectl.launch.http_probe import http_get

    body = json.dumps(FRONTEND_READY).encode()
    # a server that keeps the connection open: Content-Length ends the read
    srv, requests = _raw_server(
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body), close=False
    )
    try:
        port = srv.getsockname()[1]
        url = readiness.frontend_ready_url("127.0.0.1", port, "Qwen/Qwen3")
        assert http_get(url, 2.0) == (200, body)
        assert requests[0].startswith(b"GET /v1/models/Qwen%2FQwen3/ready HTTP/1.0\r\n")
        assert b"Host: 127.0.0.1:%d\r\n" % port in requests[0]
    finally:
        srv.close()
    # close-delimited body (no Content-Length), a 503 with its JSON
    srv, _ = _raw_server(b'HTTP/1.0 503 Service Unavailable\r\n\r\n{"ready":false}', close=True)
    try:
        port = srv.getsockname()[1]
        assert readiness.http_get_json(f"http://127.0.0.1:{port}/x") == (503, {"ready": False})
        assert readiness.http_get_text(f"http://127.0.0.1:{port}/metrics") == ""  # not 200
    finally:
        srv.close()
    srv, _ = _raw_server(b"SSH-2.0-OpenSSH_9.6\r\n", close=True)  # not HTTP
    try:
        assert readiness.http_get_json(f"http://127.0.0.1:{srv.getsockname()[1]}/") == (0, None)
    finally:
        srv.close()


def test_plain_socket_probe_gives_up_on_a_silent_server():
    import socket
    import time

    from hicachectl.launch.http_probe import http_get

    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()  # accepts (backlog) but never answers
        t0 = time.monotonic()
        assert readiness.http_get_json(f"http://127.0.0.1:{srv.getsockname()[1]}/", 0.2) == (
            0,
            None,
        )
        assert time.monotonic() - t0 < 1.0
    try:
        http_get("https://127.0.0.1/", 0.1)
    except ValueError as exc:
        assert "not an http URL" in str(exc)
    else:
        raise AssertionError("https accepted")
