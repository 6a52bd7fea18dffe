"""Pre-flight: everything that can be known before starting anything, one line per problem.

Checks: every planned port is free on the address its process binds (and no two processes
plan the same one); the target interpreter can import the Dynamo modules (asked in a
subprocess, never imported here); the run directory is writable; etcd answers (``--discovery
etcd``); and, when the plan was made from a probe of this machine, the host budget and each
planned GPU's free memory still hold on a fresh probe.  A plan made from ``--hardware FILE``
describes a machine by declaration, so it is not re-probed; the mocker needs no GPU and pins
no host memory, so ``--engine mocker`` skips both checks.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from hicachectl.launch.modcheck import FIND_SPEC, ModuleCheck, module_problems  # noqa: F401
from hicachectl.launch.specs import Child
from hicachectl.units import GB, HOST_RESERVE_BYTES, GiB

if TYPE_CHECKING:
    from hicachectl.models import HardwareSnapshot, Plan

GPU_TOLERANCE_BYTES = 256 * (1 << 20)  # free memory jitters; 256 MiB or 1 %, the larger


# Dynamo 1.6.1 reads DYN_SYSTEM_PORT as a signed 16-bit integer: a larger port makes the
# worker exit at start with "invalid value unsigned int ..., expected i16" (observed).
MAX_SYSTEM_PORT = 32767


def port_problems(children: Sequence[Child]) -> list[str]:
    problems = []
    seen: dict[int, str] = {}
    for child in children:
        for use in child.ports:
            who = f"{use.owner} {use.label} port {use.port}"
            if use.label == "system" and use.port > MAX_SYSTEM_PORT:
                problems.append(
                    f"{who}: Dynamo 1.6.1 reads DYN_SYSTEM_PORT as a 16-bit signed integer; "
                    f"use a port up to {MAX_SYSTEM_PORT}"
                )
                continue
            if use.port in seen:
                problems.append(f"{who}: planned twice (also {seen[use.port]})")
                continue
            seen[use.port] = f"{use.owner} {use.label}"
            err = bind_error(use.host, use.port)
            if err:
                problems.append(f"{who} on {use.host}: {err}")
    return problems


def bind_error(host: str, port: int) -> str | None:
    """Try to bind (host, port) as a server would; the reason it fails, or None."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # Servers set SO_REUSEADDR, so a TIME_WAIT leftover does not count as busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "already in use"
            return exc.strerror or str(exc)
    return None


def etcd_problems(endpoints: str, timeout: float = 1.0) -> list[str]:
    """An etcd cluster serves while any of its endpoints does (the client fails over), so
    only all of ``$ETCD_ENDPOINTS`` refusing is a problem; then each one is named."""
    from urllib.parse import urlparse

    problems = []
    for url in [e.strip() for e in endpoints.split(",") if e.strip()]:
        parsed = urlparse(url if "://" in url else f"http://{url}")
        host, port = parsed.hostname or "localhost", parsed.port or 2379
        try:
            socket.create_connection((host, port), timeout=timeout).close()
        except OSError as exc:
            problems.append(f"etcd {url}: not reachable ({exc.strerror or exc})")
        else:
            return []
    return problems


def host_problems(
    plan: Plan, fresh: HardwareSnapshot, headroom: Callable[[HardwareSnapshot], int]
) -> list[str]:
    """The plan pins ``pinned_bytes``; SGLang needs that plus its 10 GiB reserve to be free."""
    hb = plan.host_budget
    now = headroom(fresh)
    need = hb.pinned_bytes + HOST_RESERVE_BYTES
    if hb.pinned_bytes and now < need:
        return [
            f"host memory: the plan pins {hb.pinned_bytes / GB:.1f} GB across {hb.ranks_on_host} "
            f"ranks and SGLang keeps a 10 GiB reserve ({need / GB:.1f} GB), but only "
            f"{now / GB:.1f} GB is available now (planned with {hb.available_bytes / GB:.1f} GB): "
            "re-plan or free memory"
        ]
    return []


def gpu_problems(plan: Plan, fresh: HardwareSnapshot) -> list[str]:
    problems = []
    planned = {g.index: g for g in plan.hardware.gpus}
    now = {g.index: g for g in fresh.gpus}
    wanted = sorted({g for w in plan.workers for g in w.gpus})
    for index in wanted:
        if index not in now:
            problems.append(f"GPU {index}: planned but not present now")
            continue
        if index not in planned:
            continue
        assumed, free = planned[index].memory_free_bytes, now[index].memory_free_bytes
        if free < assumed - max(GPU_TOLERANCE_BYTES, assumed // 100):
            problems.append(
                f"GPU {index}: {free / GiB:.1f} GiB free now, the plan assumed "
                f"{assumed / GiB:.1f} GiB (another process is using it?): free it or re-plan"
            )
    return problems
