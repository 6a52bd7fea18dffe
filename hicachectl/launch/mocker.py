"""Map a planned ``dynamo.sglang`` worker onto ``python -m dynamo.mocker`` for CPU rehearsal.

The mocker registers, routes, publishes KV events and answers health checks like a real
worker, but its CLI is vLLM-style and rejects SGLang flags (dynamo.md §5).  So the planned argv
is not passed through: the facts the mocker can simulate are read from the plan and written
with the mocker's own flag names (checked against ``dynamo-1.6.1-mocker.json`` in the tests):

==============================  ===============================================
plan                            mocker
==============================  ===============================================
model path, served name         ``--model-path`` (a local dir), ``--model-name``
page size                       ``--block-size`` (with ``--engine-type sglang``)
device tokens per rank          ``--num-gpu-blocks-override`` = tokens ÷ page size
dp                              ``--data-parallel-size``
prefill / decode                ``--disaggregation-mode``
bootstrap port (prefill)        ``--bootstrap-ports``
kv-events port                  ``--zmq-kv-events-ports`` (the mocker then binds it,
                                as SGLang's publisher would)
==============================  ===============================================
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # launch reads plans by attribute: a Plan or a planview record
    from hicachectl.models import Plan, ProcessSpec, WorkerPlan

MOCKER_MODULE = "dynamo.mocker"


def opt_value(argv: list[str], *names: str) -> str | None:
    """The value of the last ``--name value`` / ``--name=value`` in ``argv``, else None."""
    found = None
    for i, tok in enumerate(argv):
        for name in names:
            if tok == name and i + 1 < len(argv):
                found = argv[i + 1]
            elif tok.startswith(name + "="):
                found = tok.split("=", 1)[1]
    return found


def kv_events_port(spec: ProcessSpec) -> int | None:
    """The worker's SGLang KV-events PUB port (``ports['kv_events']`` or the argv JSON)."""
    if "kv_events" in spec.ports:
        return spec.ports["kv_events"]
    raw = opt_value(spec.argv, "--kv-events-config")
    if not raw:
        return None
    try:
        endpoint = json.loads(raw).get("endpoint", "")
        return int(str(endpoint).rsplit(":", 1)[1])
    except (ValueError, IndexError, AttributeError):
        return None


def bootstrap_port(spec: ProcessSpec) -> int | None:
    if "bootstrap" in spec.ports:
        return spec.ports["bootstrap"]
    raw = opt_value(spec.argv, "--disaggregation-bootstrap-port")
    return int(raw) if raw and raw.isdigit() else None


def system_port(spec: ProcessSpec) -> int | None:
    if "system" in spec.ports:
        return spec.ports["system"]
    raw = spec.env.get("DYN_SYSTEM_PORT")
    return int(raw) if raw and raw.lstrip("-").isdigit() and int(raw) > 0 else None


def worker_plan_for(plan: Plan, spec: ProcessSpec) -> WorkerPlan:
    """The WorkerPlan behind a worker process (same name; else the same position)."""
    for w in plan.workers:
        if w.name == spec.name:
            return w
    workers = [p for p in plan.processes if p.role != "frontend"]
    index = next(i for i, p in enumerate(workers) if p.name == spec.name)
    return plan.workers[min(index, len(plan.workers) - 1)]


def mocker_argv(
    plan: Plan,
    spec: ProcessSpec,
    *,
    model_path: str,
    speedup_ratio: float = 0.0,
) -> list[str]:
    """argv (with the ``python`` placeholder) that stands in for ``spec`` on a CPU."""
    worker = worker_plan_for(plan, spec)
    page = plan.page_size
    blocks = max(1, worker.per_rank.device_tokens // page)
    argv = [
        "python",
        "-m",
        MOCKER_MODULE,
        "--model-path",
        model_path,
        "--model-name",
        spec.served_model_name or plan.served_model_name,
        "--engine-type",
        "sglang",
        "--block-size",
        str(page),
        "--num-gpu-blocks-override",
        str(blocks),
        "--speedup-ratio",
        repr(float(speedup_ratio)),
    ]
    if worker.dp > 1:
        argv += ["--data-parallel-size", str(worker.dp)]
    mode = {"prefill": "prefill", "decode": "decode"}.get(spec.role, "agg")
    argv += ["--disaggregation-mode", mode]
    if mode == "prefill":
        port = bootstrap_port(spec)
        if port:
            argv += ["--bootstrap-ports", str(port)]
    kv_port = kv_events_port(spec)
    if kv_port:
        argv += ["--zmq-kv-events-ports", str(kv_port)]
    return argv
