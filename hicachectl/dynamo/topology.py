"""Single-host Dynamo topology: which GPUs and ports each worker gets, and the argv and
environment of every process (workers and frontend).

Facts from ``shared/reference/dynamo.md``: file discovery needs ``DYN_DISCOVERY_BACKEND=file``
and one ``DYN_FILE_KV`` directory on every process (§3); ``DYN_SYSTEM_PORT`` turns the worker's
``/health`` server on; each worker needs its own ``--kv-events-config`` port, and SGLang adds
the DP rank to it (§4); a prefill worker's bootstrap server binds SGLang ``--host``, so
disaggregated workers pass ``--host 0.0.0.0`` (§4, Surprise 7).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from hicachectl.errors import InfeasibleError, UsageError
from hicachectl.models import ProcessSpec

# The launcher replaces "{run_dir}" with its run directory; the sh rendering with "$RUN_DIR".
RUN_DIR_PLACEHOLDER = "{run_dir}"
FILE_KV_PLACEHOLDER = RUN_DIR_PLACEHOLDER + "/dynamo-kv"

SYSTEM_PORT_BASE = 8081  # Dynamo's examples: 8081, 8082, ...
KV_EVENTS_PORT_BASE = 5557  # Dynamo's examples: tcp://*:5557, tcp://*:5558
BOOTSTRAP_PORT_BASE = 8998  # SGLang's default --disaggregation-bootstrap-port
SYSTEM_PORT_MAX = 32767  # Dynamo 1.6.1 reads DYN_SYSTEM_PORT as an i16: higher dies at start


@dataclass(frozen=True)
class WorkerSlot:
    name: str  # worker-0, prefill-0, decode-0
    role: str  # worker | prefill | decode
    gpus: tuple[int, ...]
    system_port: int
    kv_events_port: int | None
    bootstrap_port: int | None = None
    ports: dict[str, int] = field(default_factory=dict)


def kv_events_config(port: int) -> str:
    """The ``--kv-events-config`` JSON, compact, as Dynamo's examples write it."""
    return json.dumps(
        {"publisher": "zmq", "topic": "kv-events", "endpoint": f"tcp://*:{port}"},
        separators=(",", ":"),
    )


def discovery_env() -> dict[str, str]:
    return {"DYN_DISCOVERY_BACKEND": "file", "DYN_FILE_KV": FILE_KV_PLACEHOLDER}


def roles(workers: int, prefill: int, decode: int) -> list[tuple[str, str]]:
    """(name, role) of every worker, prefill before decode."""
    if prefill or decode:
        return [(f"prefill-{i}", "prefill") for i in range(prefill)] + [
            (f"decode-{i}", "decode") for i in range(decode)
        ]
    return [(f"worker-{i}", "worker") for i in range(workers)]


def layout(
    names: list[tuple[str, str]],
    gpu_indices: list[int],
    *,
    gpus_per_worker: int,
    dp: int,
    kv_events: bool,
    http_port: int = 8000,
    system_port: int = SYSTEM_PORT_BASE,
    kv_events_port: int = KV_EVENTS_PORT_BASE,
    bootstrap_port: int = BOOTSTRAP_PORT_BASE,
) -> list[WorkerSlot]:
    """Give each worker consecutive GPUs and its own ports; too few GPUs is infeasible."""
    need = len(names) * gpus_per_worker
    have = len(gpu_indices)
    if need > have:
        fits = have // gpus_per_worker
        raise InfeasibleError(
            f"the plan needs {need} GPUs ({len(names)} worker(s) × {gpus_per_worker} GPUs "
            f"each = tp × pp × dp) but the machine has {have}: "
            + (
                f"at most {fits} worker(s) of {gpus_per_worker} GPUs fit"
                if fits
                else f"not even one worker of {gpus_per_worker} GPUs fits"
            )
        )
    taken = {http_port}  # every port on the host is distinct, the frontend's included
    slots = []
    base = {"system": system_port, "kv": kv_events_port, "boot": bootstrap_port}
    next_port = dict(base)
    limit = {"system": SYSTEM_PORT_MAX, "kv": 65535, "boot": 65535}
    option = {"system": "--system-port", "kv": "--kv-events-port", "boot": "--bootstrap-port"}

    def grab(kind: str, width: int = 1) -> int:
        port = next_port[kind]
        while any(p in taken for p in range(port, port + width)):
            port += 1
        if port + width - 1 > limit[kind]:
            raise UsageError(
                f"{option[kind]} {base[kind]}: {len(names)} worker(s) need ports above "
                f"{limit[kind]}"
                + (
                    " (Dynamo parses DYN_SYSTEM_PORT as a 16-bit signed integer)"
                    if kind == "system"
                    else ""
                )
                + "; choose a lower base port"
            )
        taken.update(range(port, port + width))
        next_port[kind] = port + width
        return port

    for i, (name, role) in enumerate(names):
        gpus = tuple(gpu_indices[i * gpus_per_worker : (i + 1) * gpus_per_worker])
        ports = {"system": grab("system")}
        kv_port = None
        if kv_events:
            kv_port = grab("kv", dp)  # SGLang binds port + dp_rank: dp ports per worker
            ports["kv_events"] = kv_port
        bootstrap = None
        if role == "prefill":
            bootstrap = grab("boot")
            ports["bootstrap"] = bootstrap
        slots.append(WorkerSlot(name, role, gpus, ports["system"], kv_port, bootstrap, ports))
    return slots


def worker_process(
    slot: WorkerSlot, sglang_flags: list[str], *, served_model_name: str
) -> ProcessSpec:
    """``python -m dynamo.sglang`` with the given SGLang flags plus this slot's ports."""
    argv = ["python", "-m", "dynamo.sglang", *sglang_flags, *slot_flags(slot)]
    env = discovery_env()
    env["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in slot.gpus)
    env["DYN_SYSTEM_PORT"] = str(slot.system_port)
    return ProcessSpec(
        name=slot.name,
        role=slot.role,  # type: ignore[arg-type]
        argv=argv,
        env=env,
        gpus=list(slot.gpus),
        ports=dict(slot.ports),
        served_model_name=served_model_name,
    )


def slot_flags(slot: WorkerSlot) -> list[str]:
    """The per-worker flags: kv-events endpoint and the prefill bootstrap port."""
    flags: list[str] = []
    if slot.kv_events_port is not None:
        flags += ["--kv-events-config", kv_events_config(slot.kv_events_port)]
    if slot.bootstrap_port is not None:
        flags += ["--disaggregation-bootstrap-port", str(slot.bootstrap_port)]
    return flags


def frontend_process(
    *, http_port: int, router_mode: str, page_size: int, served_model_name: str
) -> ProcessSpec:
    argv = [
        "python",
        "-m",
        "dynamo.frontend",
        "--http-port",
        str(http_port),
        "--router-mode",
        router_mode,
        "--kv-cache-block-size",
        str(page_size),
    ]
    return ProcessSpec(
        name="frontend",
        role="frontend",
        argv=argv,
        env=discovery_env(),
        ports={"http": http_port},
        served_model_name=served_model_name,
    )
