"""Facts topology rules compare: ports, GPUs, discovery backends of Dynamo processes."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from hicachectl.lint.rules._util import json_config

if TYPE_CHECKING:
    from hicachectl.lint.context import CommandView


def _int(text) -> int | None:
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        return None


def system_port(v: CommandView) -> int | None:
    """The worker's DYN_SYSTEM_PORT when enabled (> 0), from its own environment."""
    p = _int(v.cmd.env.get("DYN_SYSTEM_PORT"))
    return p if p is not None and p > 0 else None


def http_port(v: CommandView) -> int | None:
    """The frontend's HTTP port: --http-port, else DYN_HTTP_PORT, else 8000."""
    if v.is_explicit("http_port"):
        return _int(v.dyn("http_port")) if v.known("http_port") else None
    env = v.cmd.env.get("DYN_HTTP_PORT")
    if env is not None:
        return _int(env)
    return _int(v.dyn("http_port", 8000))


def kv_event_ports(v: CommandView) -> list[int]:
    """Ports a worker's SGLang KV-events publisher binds (one per DP rank)."""
    state, cfg = json_config(v, "kv_events_config")
    if state != "ok" or not isinstance(cfg, dict) or cfg.get("publisher") in (None, "null"):
        return []
    m = re.search(r":(\d+)\s*$", str(cfg.get("endpoint", "tcp://*:5557")))
    if not m:
        return []
    dp = v.int_value("dp_size") or 1
    base = int(m.group(1))
    return list(range(base, base + max(dp, 1)))


def publishes_kv_events(v: CommandView) -> bool | None:
    state, cfg = json_config(v, "kv_events_config")
    if state in ("unknown", "file", "invalid"):
        return None
    return state == "ok" and isinstance(cfg, dict) and cfg.get("publisher") not in (None, "null")


def bootstrap_port(v: CommandView) -> int | None:
    if v.value("disaggregation_mode") != "prefill":
        return None
    if v.is_explicit("disaggregation_bootstrap_port"):
        return v.int_value("disaggregation_bootstrap_port")
    # Dynamo reserves a random free port when none is given; SGLang alone uses 8998.
    return None if v.is_dynamo else 8998


def gpus(v: CommandView) -> tuple[list[str], str] | None:
    """(GPU ids the engine uses, how we know) for an SGLang engine; None when unknown."""
    if not v.is_engine:
        return None
    ranks = v.ranks_per_host
    base = v.int_value("base_gpu_id") or 0
    if ranks is None:
        return None
    cvd = v.cmd.env.get("CUDA_VISIBLE_DEVICES")
    if cvd is None:
        return [str(i) for i in range(base, base + ranks)], "no CUDA_VISIBLE_DEVICES"
    if "$" in cvd or not re.fullmatch(r"[\w\-,: ]*", cvd):
        return None
    ids = [x.strip() for x in cvd.split(",") if x.strip()]
    return ids[base : base + ranks], f"CUDA_VISIBLE_DEVICES={cvd}"


def discovery(v: CommandView) -> str | None:
    if v.is_explicit("discovery_backend"):
        return str(v.dyn("discovery_backend")) if v.known("discovery_backend") else None
    env = v.env_get("DYN_DISCOVERY_BACKEND")
    if env is not None:
        return None if "$" in env else env
    # The Dynamo operator injects DYN_DISCOVERY_BACKEND=kubernetes into every pod.
    return None if v.cmd.host_format == "k8s" else "etcd"


def frontend_setting(v: CommandView, dest: str, env: str):
    """A frontend flag's value, else its environment variable, else the default."""
    if v.is_explicit(dest):
        return v.dyn(dest) if v.known(dest) else None
    if env in v.cmd.env:
        return v.cmd.env[env]
    return v.dyn(dest)
