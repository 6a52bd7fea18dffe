"""The environment each launched process gets: pure functions, no ``os.environ`` access here.

Every child starts from the user's environment minus what must not reach it, then gets the
launch-wide settings (discovery, loopback hosts), then its own ``ProcessSpec.env``.  The one
rule that matters most (dynamo.md, Surprises 9): ``DYN_ROUTER_*`` and every other variable
behind a worker router-advertisement flag, when present in a worker's environment, makes that
worker advertise its own routing and override the frontend's.  So frontend-only variables are
stripped from workers; worker-only ones (``DYN_SYSTEM_PORT``, ``CUDA_VISIBLE_DEVICES``) are
stripped from everything and set again per process.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

# Variables that are per-process decisions of the plan, never inherited.
PER_PROCESS = frozenset(
    {
        "CUDA_VISIBLE_DEVICES",
        "DYN_SYSTEM_PORT",
        "DYN_DISCOVERY_BACKEND",
        "DYN_FILE_KV",
        "DYN_SYSTEM_USE_ENDPOINT_HEALTH_STATUS",
    }
)
FRONTEND_ONLY_PREFIXES = ("DYN_ROUTER_", "DYN_HTTP_", "DYN_TLS_", "DYN_MIGRATION_")

# Loopback rehearsal: keep every Dynamo listener that can be told so on 127.0.0.1 (dynamo.md §6).
LOOPBACK_ENV = {
    "DYN_TCP_RPC_HOST": "127.0.0.1",
    "DYN_TCP_RESPONSE_STREAM_HOST": "127.0.0.1",
    "DYN_EVENT_PLANE_HOST": "127.0.0.1",
    "DYN_SYSTEM_HOST": "127.0.0.1",
    "HF_HUB_OFFLINE": "1",
}


@lru_cache(maxsize=1)
def frontend_only_vars() -> frozenset[str]:
    """Env vars read by frontend flags that a worker must not see.

    From the flag tables: every env var of a ``dynamo.frontend`` flag, minus those of the
    worker's own runtime/SGLang flags (shared settings such as ``DYN_NAMESPACE``).  Worker
    router-advertisement variables stay in the set on purpose: on a worker they change routing.
    """
    frontend = {e for a in _table_actions("frontend") for e in a.get("env") or ()}
    worker_own = {
        e
        for a in _table_actions("sglang-worker")
        if a.get("parser") != "router_advertisement"
        for e in a.get("env") or ()
    }
    return frozenset(frontend - worker_own)


def _table_actions(program: str) -> list[dict]:
    """The raw actions of a Dynamo flag table (the same files ``sglang.flags`` loads; read
    directly so that launch's start path does not build the flag objects)."""
    import json
    import os

    from hicachectl.sglang.known import DYNAMO_VERSION

    path = os.path.join(
        os.path.dirname(os.path.dirname(__file__)),
        "data",
        "flags",
        f"dynamo-{DYNAMO_VERSION}-{program}.json",
    )
    with open(path, encoding="utf-8") as f:
        return json.load(f).get("actions", [])


def is_frontend_only(name: str) -> bool:
    return name.startswith(FRONTEND_ONLY_PREFIXES) or name in frontend_only_vars()


def child_env(
    role: str,
    spec_env: Mapping[str, str],
    user_env: Mapping[str, str],
    *,
    launch_env: Mapping[str, str] | None = None,
    gpus: list[int] | None = None,
) -> dict[str, str]:
    """The complete environment of one child.

    ``role`` is ``frontend`` or a worker role.  Precedence (last wins): the filtered
    ``user_env`` < ``spec_env`` (the plan) < ``launch_env`` (what this launch decides:
    discovery store, loopback hosts).  ``CUDA_VISIBLE_DEVICES`` comes from the plan, else from
    ``gpus``.  A worker never receives a frontend-only variable, whichever layer carries it.
    """
    worker = role != "frontend"
    env = {
        k: v
        for k, v in user_env.items()
        if k not in PER_PROCESS and not (worker and is_frontend_only(k))
    }
    for source in (spec_env, launch_env or {}):
        for k, v in source.items():
            if worker and is_frontend_only(k):
                continue
            env[k] = str(v)
    if worker and gpus is not None and "CUDA_VISIBLE_DEVICES" not in env:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(str(g) for g in gpus)
    return env


def env_diff(env: Mapping[str, str], user_env: Mapping[str, str]) -> dict[str, str]:
    """What ``env`` sets or changes relative to ``user_env`` (for ``--dry-run``)."""
    return {k: v for k, v in sorted(env.items()) if user_env.get(k) != v}


def env_removed(env: Mapping[str, str], user_env: Mapping[str, str]) -> list[str]:
    """Variables of ``user_env`` that ``env`` drops (for ``--dry-run``)."""
    return sorted(k for k in user_env if k not in env)
