"""The SGLang part of a planned worker argv, settled by running the real resolver.

For each role (aggregated worker, prefill, decode) the request's settings are written as an
argv and resolved: a start-up error is SGLang refusing the request (exit 2, SGLang's message);
each rewrite of a flag the plan emits becomes an :class:`Adjustment` and the plan emits the
rewritten value instead, so SGLang has nothing left to rewrite.  :meth:`RoleArgv.verify`
resolves the final argv again.  No rule logic lives here: only the resolver knows the rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hicachectl.errors import EXIT_INTERNAL, HicacheError, InputError
from hicachectl.models import Adjustment, ModelFacts
from hicachectl.profiles import PlanRequest

# dest -> canonical flag, for every value the plan writes out explicitly after resolution.
SETTLED = {
    "page_size": "--page-size",
    "hicache_mem_layout": "--hicache-mem-layout",
    "hicache_io_backend": "--hicache-io-backend",
    "hicache_write_policy": "--hicache-write-policy",
}
ENTRY = ["python", "-m", "dynamo.sglang"]


def _resolve(tokens: list[str], version: str, model: ModelFacts) -> Any:
    from hicachectl.sglang.argv import parse_command
    from hicachectl.sglang.resolver import resolve

    parsed = parse_command(tokens, sglang_version=version)
    fatal = parsed.fatal
    if fatal is not None:
        raise InputError(f"sglang {version} rejects the request: {fatal.message}")
    res = resolve(parsed, model=model)
    if res.errors:
        err = res.errors[0]
        raise InputError(
            f"sglang {version} would refuse to start ({err.rule}): {err.error_type}: {err.message}"
        )
    return res


def _hicache_on(request: PlanRequest, role: str) -> bool:
    return role != "decode" or request.decode_hicache


def _base_flags(request: PlanRequest, role: str, page_size: int) -> list[str]:
    flags = ["--page-size", str(page_size), "--tp-size", str(request.tp)]
    if request.pp > 1:
        flags += ["--pp-size", str(request.pp)]
    if request.dp > 1:
        flags += ["--dp-size", str(request.dp)]
    if request.mem_fraction_static is not None:
        flags += ["--mem-fraction-static", str(request.mem_fraction_static)]
    if request.max_total_tokens is not None:
        flags += ["--max-total-tokens", str(request.max_total_tokens)]
    if request.max_running_requests is not None:
        flags += ["--max-running-requests", str(request.max_running_requests)]
    if request.kv_cache_dtype != "auto":
        flags += ["--kv-cache-dtype", request.kv_cache_dtype]
    if role in ("prefill", "decode"):
        flags += ["--disaggregation-mode", role]
        flags += ["--disaggregation-transfer-backend", request.transfer_backend]
        flags += ["--host", "0.0.0.0"]  # the bootstrap server binds --host (dynamo.md §4)
        if role == "decode" and request.decode_hicache:
            # Decode disables the radix cache, which HiCache needs (E1).
            flags.append("--disaggregation-decode-enable-radix-cache")
    return flags


def _hicache_flags(request: PlanRequest, settled: dict[str, Any], size_flags: list[str]) -> list:
    flags = ["--enable-hierarchical-cache", *size_flags]
    if request.host_memory_mode is not None:
        flags += ["--hicache-host-memory-mode", request.host_memory_mode]
    for dest in ("hicache_mem_layout", "hicache_io_backend", "hicache_write_policy"):
        if settled.get(dest) is not None:
            flags += [SETTLED[dest], str(settled[dest])]
    if request.storage_backend:
        flags += ["--hicache-storage-backend", request.storage_backend]
        if request.storage_backend_extra_config:
            flags += [
                "--hicache-storage-backend-extra-config",
                request.storage_backend_extra_config,
            ]
    return flags


@dataclass
class RoleArgv:
    role: str
    version: str
    model: ModelFacts
    hicache: bool
    page_size: int
    settled: dict[str, Any]
    adjustments: list[Adjustment] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def flags(
        self, *, model_path: str, served: str, size_gb: int, request: PlanRequest
    ) -> list[str]:
        """SGLang flags of this role's workers (per-slot ports are added by the topology)."""
        out = ["--model-path", model_path, "--served-model-name", served]
        out += _base_flags(request, self.role, self.page_size)
        if self.hicache:
            if size_gb > 0:
                size = ["--hicache-size", str(size_gb)]
            else:
                size = ["--hicache-ratio", _num(request.hicache_ratio)]
            out += _hicache_flags(request, self.settled, size)
        return out

    def verify(self, argv: list[str]) -> None:
        """Resolve the final argv: it must start and nothing the plan set may be rewritten."""
        res = _resolve(argv, self.version, self.model)
        for rw in res.rewrites:
            if rw.field in SETTLED and rw.from_ != rw.to:
                raise HicacheError(
                    f"internal error: the planned {self.role} argv is still rewritten by "
                    f"sglang {self.version} ({rw.rule}: {rw.field} {rw.from_} -> {rw.to})",
                    exit_code=EXIT_INTERNAL,
                )


def _num(value: float | None) -> str:
    return "0" if value is None else f"{value:g}"


def resolve_role(request: PlanRequest, role: str, model: ModelFacts) -> RoleArgv:
    """Resolve what the request asks of one role; collect SGLang's rewrites as adjustments."""
    version = request.sglang_version
    hicache = _hicache_on(request, role)
    asked: dict[str, Any] = {
        "hicache_mem_layout": request.mem_layout,
        "hicache_io_backend": request.io_backend,
        "hicache_write_policy": request.write_policy,
    }
    tokens = [*ENTRY, "--model-path", request.model or model.name or "model"]
    tokens += _base_flags(request, role, request.page_size)
    if hicache:
        size = (
            ["--hicache-size", str(request.hicache_size)]
            if request.hicache_size is not None
            else ["--hicache-ratio", _num(request.hicache_ratio)]
            if request.hicache_ratio is not None
            else []
        )
        tokens += _hicache_flags(request, asked, size)
    res = _resolve(tokens, version, model)
    values = res.resolved
    page = int(values.get("page_size") or request.page_size)
    settled = {dest: values.get(dest) for dest in SETTLED if dest != "page_size"}
    out = RoleArgv(role, version, model, hicache, page, settled)
    for rw in res.rewrites:
        if rw.field not in SETTLED or rw.from_ == rw.to:
            continue
        if rw.field != "page_size" and not hicache:
            continue
        out.adjustments.append(
            Adjustment(
                flag=SETTLED[rw.field],
                value=rw.to,
                reason=f"sglang {version} rewrites {rw.from_} to {rw.to} ({rw.rule}); "
                "the plan sets it directly",
                rule=rw.rule,
                from_value=rw.from_,
                log=rw.message,
            )
        )
    return out


def default_served_name(request: PlanRequest, model: ModelFacts) -> str:
    """The name clients use (``/v1/models/<name>``): an HF id as given; for a local directory
    (or only ``--model-config``) its base name, or ``org/name`` inside an HF cache snapshot.

    A path is a poor name: Dynamo's frontend answers 404 on ``/v1/models/<abs path>/ready``.
    """
    given = request.model
    if given is None and request.model_config_path:
        cfg = Path(request.model_config_path)
        given = str(cfg if cfg.is_dir() else cfg.parent)
    if given is None:
        return model.name or "model"
    path = Path(given).expanduser()
    if not (path.is_absolute() or given.startswith(".") or path.is_dir()):
        return given  # an HF id or a catalogue name
    for part in reversed(path.resolve().parts):
        if part.startswith("models--") and part.count("--") >= 2:
            return part[len("models--") :].replace("--", "/", 1)
    return path.resolve().name or model.name or "model"


def model_path_of(request: PlanRequest, model: ModelFacts, served: str) -> str:
    """--model as given; with only --model-config, the directory holding that config.json."""
    if request.model:
        return request.model
    if request.model_config_path:
        path = Path(request.model_config_path)
        return str(path if path.is_dir() else path.parent)
    return model.name or served
