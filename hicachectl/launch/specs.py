"""From a Plan to exactly what will run: argv, environment, working directory, the ports
each child will bind (and on which address), and the URL that says it is ready.

Pure: the user's environment and every setting come in as arguments.  ``--dry-run`` prints
these, pre-flight checks them, and the supervisor starts them; nothing is recomputed.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from hicachectl.launch import environ, mocker, readiness, rundir

if TYPE_CHECKING:
    from hicachectl.models import Plan, ProcessSpec

MOCKER_HEALTH = '["generate"]'  # without it the mocker never reports ready (dynamo.md §3)


class Settings(NamedTuple):
    python: str
    run_dir: Path
    engine: str = "sglang"  # or "mocker"
    discovery: str = "file"  # or "etcd"
    etcd_endpoints: str = "http://localhost:2379"
    loopback: bool = False
    speedup_ratio: float = 0.0
    mocker_model_path: str | None = None  # local model dir for the mocker


def launch_settings(
    *,
    python: str | None,
    run_dir: str | None,
    engine: str,
    discovery: str | None,
    plan_discovery: str,
    loopback: bool | None,
    speedup_ratio: float,
    env: Mapping[str, str],
    pid: int,
) -> Settings:
    """The Settings of one ``launch`` from its options (None: not given), the plan's discovery
    and the user's environment; both of launch's start paths build them here."""
    import sys

    return Settings(
        python=python or sys.executable,
        run_dir=Path(run_dir).resolve() if run_dir else rundir.default_run_dir(env, pid=pid),
        engine=engine,
        discovery=discovery or plan_discovery,
        etcd_endpoints=env.get("ETCD_ENDPOINTS", "http://localhost:2379"),
        loopback=(engine == "mocker") if loopback is None else loopback,
        speedup_ratio=speedup_ratio,
    )


def ready_timeout_for(engine: str, given: float | None) -> float:
    """--ready-timeout, default 900 s for real engines and 60 s for the mocker."""
    if given is not None:
        return given
    return 60.0 if engine == "mocker" else 900.0


class PortUse(NamedTuple):
    owner: str
    label: str  # "http", "system", "kv_events", "bootstrap"
    host: str  # the address the child binds
    port: int


class Child(NamedTuple):
    name: str
    role: str
    argv: list[str]
    env: dict[str, str]
    cwd: str | None
    log_path: Path
    ports: tuple[PortUse, ...] = ()
    probe: tuple[str, str] | None = None  # (kind, url)
    gpus: tuple[int, ...] = ()
    notes: tuple[str, ...] = ()


def _python(argv: list[str], python: str) -> list[str]:
    # The plan writes the interpreter as a placeholder; the launch picks the real one.
    if argv and argv[0] in ("python", "python3"):
        return [python, *argv[1:]]
    return list(argv)


def launch_env(spec: ProcessSpec, s: Settings) -> dict[str, str]:
    env: dict[str, str] = {}
    if s.discovery == "etcd":
        env.update(DYN_DISCOVERY_BACKEND="etcd", ETCD_ENDPOINTS=s.etcd_endpoints)
    else:
        env.update(DYN_DISCOVERY_BACKEND="file", DYN_FILE_KV=str(s.run_dir / "dynamo-kv"))
    if s.loopback:
        env.update(environ.LOOPBACK_ENV)
        if spec.role == "frontend" and not mocker.opt_value(spec.argv, "--http-host"):
            env["DYN_HTTP_HOST"] = "127.0.0.1"
    if s.engine == "mocker" and spec.role != "frontend":
        env["DYN_SYSTEM_USE_ENDPOINT_HEALTH_STATUS"] = MOCKER_HEALTH
    return env


def _frontend_ports(spec: ProcessSpec, env: Mapping[str, str]) -> tuple[str, int]:
    host = mocker.opt_value(spec.argv, "--http-host") or env.get("DYN_HTTP_HOST") or "0.0.0.0"
    raw = mocker.opt_value(spec.argv, "--http-port") or env.get("DYN_HTTP_PORT")
    port = spec.ports.get("http") or (int(raw) if raw and raw.isdigit() else 8000)
    return host, port


def _worker_ports(spec: ProcessSpec, plan: Plan, env: Mapping[str, str], s: Settings):
    uses: list[PortUse] = []
    probe = None
    sys_port = mocker.system_port(spec)
    sys_host = env.get("DYN_SYSTEM_HOST", "0.0.0.0")
    if sys_port:
        uses.append(PortUse(spec.name, "system", sys_host, sys_port))
        probe = ("worker", readiness.worker_health_url(sys_host, sys_port))
    kv = mocker.kv_events_port(spec)
    if kv:
        dp = mocker.worker_plan_for(plan, spec).dp if plan.workers else 1
        # SGLang (and the mocker) bind the base port plus the DP rank: tcp://*:port.
        uses += [PortUse(spec.name, "kv_events", "0.0.0.0", kv + r) for r in range(dp)]
    boot = mocker.bootstrap_port(spec) if spec.role == "prefill" else None
    if boot:
        # SGLang's bootstrap server binds --host (default 127.0.0.1); the mocker binds 0.0.0.0.
        host = (
            "0.0.0.0"
            if s.engine == "mocker"
            else (mocker.opt_value(spec.argv, "--host") or "127.0.0.1")
        )
        uses.append(PortUse(spec.name, "bootstrap", host, boot))
    return tuple(uses), probe


def build_children(plan: Plan, s: Settings, user_env: Mapping[str, str]) -> list[Child]:
    children = []
    for spec in plan.processes:
        notes: list[str] = []
        argv = spec.argv
        if s.engine == "mocker" and spec.role != "frontend":
            argv = mocker.mocker_argv(
                plan,
                spec,
                model_path=s.mocker_model_path or plan.model_path,
                speedup_ratio=s.speedup_ratio,
            )
        argv = [rundir.fill(a, s.run_dir) for a in _python(argv, s.python)]
        spec_env = {k: rundir.fill(v, s.run_dir) for k, v in spec.env.items()}
        if s.discovery == "etcd":
            spec_env.pop("DYN_FILE_KV", None)
        env = environ.child_env(
            spec.role, spec_env, user_env, launch_env=launch_env(spec, s), gpus=spec.gpus
        )
        if spec.role == "frontend":
            host, port = _frontend_ports(spec, env)
            ports = (PortUse(spec.name, "http", host, port),)
            served = spec.served_model_name or plan.served_model_name
            probe = ("frontend", readiness.frontend_ready_url(host, port, served))
        else:
            ports, probe = _worker_ports(spec, plan, env, s)
            if probe is None:
                notes.append(
                    "no DYN_SYSTEM_PORT planned: its readiness is seen only through the frontend"
                )
        children.append(
            Child(
                name=spec.name,
                role=spec.role,
                argv=argv,
                env=env,
                cwd=rundir.fill(spec.cwd, s.run_dir) if spec.cwd else None,
                log_path=rundir.log_path(s.run_dir, spec.name),
                ports=ports,
                probe=probe,
                gpus=tuple(spec.gpus),
                notes=tuple(notes),
            )
        )
    return children
