"""Is the deployment up?  HTTP probes (urllib, no new dependency) and log-line phases.

Ready means (dynamo.md §2, §3): the frontend answers ``GET /v1/models/<served>/ready`` with
200 and ``"ready": true`` (its ``/health`` says healthy with zero workers, so it is no signal)
and sees every planned worker (``frontend_view``), and each worker's system server answers
``GET /health`` with ``"status": "ready"``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from hicachectl.launch.ansi import strip_ansi
from hicachectl.launch.http_probe import http_get

if TYPE_CHECKING:
    from hicachectl.launch.frontend_view import FrontendGate

PROBE_TIMEOUT = 0.5
POLL_MIN, POLL_MAX = 0.025, 0.5


def poll_delay(elapsed: float) -> float:
    """Seconds until the next readiness probe, ``elapsed`` seconds after the start: 25 ms at
    first (the mocker is up in about half a second), then a twentieth of the time waited so
    far (so ready is declared at most ~5 % late), at most 0.5 s (real engines take minutes)."""
    return min(POLL_MAX, max(POLL_MIN, elapsed / 20))


def frontend_ready_url(host: str, port: int, served_model_name: str) -> str:
    # The route's {model_id} is one path segment: names like "Qwen/Qwen3-0.6B" are escaped.
    return (
        f"http://{_connect_host(host)}:{port}/v1/models/{quote(served_model_name, safe='')}/ready"
    )


def worker_health_url(host: str, port: int) -> str:
    return f"http://{_connect_host(host)}:{port}/health"


def _connect_host(bind_host: str) -> str:
    # A wildcard bind is reached through loopback.
    return "127.0.0.1" if bind_host in ("0.0.0.0", "::", "*", "") else bind_host


def http_get_json(url: str, timeout: float = PROBE_TIMEOUT) -> tuple[int, dict | None]:
    """(status, parsed JSON body or None); (0, None) when nothing answers."""
    try:
        status, body = http_get(url, timeout)
    except (OSError, ValueError):
        return 0, None
    try:
        data = json.loads(body)
    except ValueError:
        return status, None
    return status, data if isinstance(data, dict) else None


def http_get_text(url: str, timeout: float = PROBE_TIMEOUT) -> str:
    """The body as text ('' when nothing answers or the status is not 200)."""
    try:
        status, body = http_get(url, timeout)
    except (OSError, ValueError):
        return ""
    return body.decode("utf-8", "replace") if status == 200 else ""


def frontend_is_ready(status: int, body: dict | None) -> bool:
    return status == 200 and bool(body and body.get("ready") is True)


def worker_is_ready(status: int, body: dict | None) -> bool:
    return status == 200 and bool(body and body.get("status") == "ready")


def make_ready_check(
    urls: dict[str, tuple[str, str]],
    get: Callable[[str], tuple[int, dict | None]] = http_get_json,
    *,
    gate: FrontendGate | None = None,
    get_text: Callable[[str], str] = http_get_text,
) -> Callable[[set[str]], set[str]]:
    """``urls``: process name -> (kind, url), kind ``frontend`` or ``worker``.  A process with
    no URL (no system port planned) counts as ready once it runs; the frontend still decides.
    ``gate``: what the frontend must also see (every planned worker); None checks the 200 only.
    """

    def check(pending: set[str]) -> set[str]:
        ready = set()
        for name in sorted(pending):
            if name not in urls:
                ready.add(name)
                continue
            kind, url = urls[name]
            status, body = get(url)
            if kind == "worker":
                if worker_is_ready(status, body):
                    ready.add(name)
                continue
            if frontend_is_ready(status, body):
                found: dict | None = body
            elif status == 404 and _listed(url, get):
                found = None  # the /ready route cannot address this name: no counts there
            else:
                continue
            metrics_url = url.partition("/v1/models/")[0] + "/metrics"
            if gate is None or gate.check(found, lambda u=metrics_url: get_text(u)):
                ready.add(name)
        return ready

    return check


def _listed(ready_url: str, get: Callable[[str], tuple[int, dict | None]]) -> bool:
    """Fallback for names the /ready route cannot address (1.6.1 answers 404 for a served name
    that is an absolute path, e.g. ``/models/llama``): the model listed in ``/v1/models``.  That
    is equivalent: a disaggregated model is listed only once every worker type is present."""
    base, _, rest = ready_url.partition("/v1/models/")
    name = unquote(rest.removesuffix("/ready"))
    status, body = get(f"{base}/v1/models")
    data = body.get("data") if status == 200 and body else None
    return isinstance(data, list) and any(isinstance(m, dict) and m.get("id") == name for m in data)


# Phase markers, checked in order; the latest one seen wins.  SGLang and Dynamo texts.
PHASES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "loading weights",
        re.compile(r"Load weight begin|Loading safetensors|Using local model path"),
    ),
    ("allocating the KV pool", re.compile(r"KV Cache is allocated|max_total_num_tokens=")),
    ("allocating the host pool", re.compile(r"hierarchical KV host pool|HiCache memory headroom")),
    ("capturing CUDA graphs", re.compile(r"Capture cuda graph begin|Capturing batches")),
    ("registering", re.compile(r"Registering model|mocker worker\(s\) created|Adding worker set")),
    ("serving HTTP", re.compile(r"Starting HTTP\(S\) service")),
)


def phase_of(_name: str, text: str) -> str | None:
    line = strip_ansi(text)
    for phase, pattern in PHASES:
        if pattern.search(line):
            return phase
    return None
