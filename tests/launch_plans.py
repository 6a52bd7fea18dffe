"""Plans for the launch tests, made by the real plan code (``build_plan``) on a made-up machine
and a tiny Llama-shaped model, and moved onto free ports so parallel runs never clash.

The port move is test-only plumbing: the plan has fixed default worker ports (8081…, 5557…,
8998…); tests pick free ports at run time and rewrite them in the plan consistently (ports
map, ``DYN_SYSTEM_PORT``, the ``--kv-events-config`` endpoint, the bootstrap port).
"""

from __future__ import annotations

import json
import random
import socket
from contextlib import ExitStack

from hicachectl.models import GPU, HardwareSnapshot, HostMemory, ModelFacts, Plan
from hicachectl.plan import build_plan
from hicachectl.profiles import PlanRequest

GB = 10**9
GiB = 1 << 30

HARDWARE = HardwareSnapshot(
    hostname="rehearsal-box",
    gpus=[
        GPU(
            index=i,
            name="NVIDIA H100 80GB HBM3",
            memory_total_bytes=80 * GiB,
            memory_free_bytes=79 * GiB,
        )
        for i in range(4)
    ],
    host=HostMemory(memory_total_bytes=512 * GiB, memory_available_bytes=480 * GiB),
    source="tests",
)
TINY = ModelFacts(
    name="tiny",
    architecture="LlamaForCausalLM",
    model_type="llama",
    attention="mha",
    num_layers=2,
    num_attention_heads=4,
    num_kv_heads=2,
    head_dim=64,
    v_head_dim=64,
    context_len=4096,
    dtype="bfloat16",
    weight_bytes=100_000_000,
)


def free_ports(n: int) -> list[int]:
    """n distinct ports free right now, below 32768: Dynamo 1.6.1 parses DYN_SYSTEM_PORT as an
    i16, so the kernel's ephemeral range (32768 and up) cannot be used for system ports."""
    rng = random.Random()
    ports: list[int] = []
    with ExitStack() as stack:
        while len(ports) < n:
            port = rng.randrange(20000, 32000)
            if port in ports:
                continue
            s = stack.enter_context(socket.socket())
            try:
                s.bind(("0.0.0.0", port))  # held until all are picked: no duplicates
            except OSError:
                continue
            ports.append(port)
    return ports


def relocate(plan: Plan, ports: list[int]) -> Plan:
    """Give every worker port in ``plan`` a new number from ``ports`` (http stays)."""
    pool = iter(ports)
    procs = []
    for p in plan.processes:
        if p.role == "frontend":
            procs.append(p)
            continue
        new = {k: next(pool) for k in p.ports}
        argv = list(p.argv)
        for i, tok in enumerate(argv[:-1]):
            if tok == "--kv-events-config":
                cfg = json.loads(argv[i + 1])
                cfg["endpoint"] = f"tcp://*:{new['kv_events']}"
                argv[i + 1] = json.dumps(cfg, separators=(",", ":"))
            if tok == "--disaggregation-bootstrap-port":
                argv[i + 1] = str(new["bootstrap"])
        env = dict(p.env)
        if "system" in new:
            env["DYN_SYSTEM_PORT"] = str(new["system"])
        procs.append(p.model_copy(update={"ports": new, "argv": argv, "env": env}))
    return plan.model_copy(update={"processes": procs})


def make_plan(
    *, http_port: int, served: str | None = None, relocate_ports: bool = False, **request
) -> Plan:
    req = PlanRequest(**{"model": "tiny", **request}, http_port=http_port, served_model_name=served)
    plan = build_plan(req, HARDWARE, TINY)
    if relocate_ports:
        need = sum(len(p.ports) for p in plan.processes if p.role != "frontend")
        plan = relocate(plan, free_ports(need))
    return plan
