"""Deployment requests and profiles: the one pydantic model behind ``plan`` options and
``profiles/*.toml`` files, the loader (errors as ``file: key.path: message``), and where the
bundled profiles and hardware snapshots live (source checkout or installed package).

A profile is a :class:`PlanRequest` written as TOML in four sections; every key is the
``hicachectl plan`` option name with underscores::

    name = "dev"
    description = "..."
    hardware = "hardware/dev-h100-1x.json"   # relative to the profile file
    model = "Qwen/Qwen3-0.6B"
    [workers]   tp, dp, pp, workers, prefill_workers, decode_workers, mem_fraction_static, ...
    [hicache]   page_size, storage_backend, io_backend, mem_layout, write_policy, ...
    [frontend]  http_port, router_mode
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hicachectl.errors import InputError, format_validation_error, where
from hicachectl.models import new_dict

DEFAULT_SGLANG_VERSION = "0.5.21"  # what ai-dynamo 1.6.1 pins

SECTIONS: dict[str, tuple[str, ...]] = {
    "workers": (
        "tp",
        "dp",
        "pp",
        "workers",
        "prefill_workers",
        "decode_workers",
        "mem_fraction_static",
        "max_total_tokens",
        "max_running_requests",
        "kv_cache_dtype",
        "transfer_backend",
        "system_port",
        "kv_events_port",
        "bootstrap_port",
    ),
    "hicache": (
        "page_size",
        "storage_backend",
        "storage_backend_extra_config",
        "io_backend",
        "mem_layout",
        "write_policy",
        "host_memory_mode",
        "hicache_ratio",
        "hicache_size",
        "host_memory_fraction",
        "decode_hicache",
    ),
    "frontend": ("http_port", "router_mode"),
}
TOP_LEVEL = ("model", "model_config", "served_model_name", "hardware", "sglang_version")


def port_options(request: PlanRequest) -> list[tuple[str, int]]:
    """The base ports a request names, with the option that sets each."""
    return [
        ("--http-port", request.http_port),
        ("--system-port", request.system_port),
        ("--kv-events-port", request.kv_events_port),
        ("--bootstrap-port", request.bootstrap_port),
    ]


class PlanRequest(BaseModel):
    """What the operator asks for; ``build_plan`` turns it plus hardware and model into a Plan."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, protected_namespaces=()
    )

    model: str | None = None  # HF id, local directory, or catalogue name
    model_config_path: str | None = Field(default=None, alias="model_config")
    served_model_name: str | None = None
    hardware: str | None = None  # snapshot path; None = probe
    sglang_version: str = Field(default=DEFAULT_SGLANG_VERSION, pattern=r"^\d+\.\d+\.\d+")
    tp: int = Field(default=1, ge=1)
    dp: int = Field(default=1, ge=1)
    pp: int = Field(default=1, ge=1)
    workers: int = Field(default=1, ge=0)
    prefill_workers: int = Field(default=0, ge=0)
    decode_workers: int = Field(default=0, ge=0)
    mem_fraction_static: float | None = Field(default=None, gt=0, lt=1)
    max_total_tokens: int | None = Field(default=None, ge=1)
    max_running_requests: int | None = Field(default=None, ge=1)
    kv_cache_dtype: str = "auto"
    transfer_backend: str = "nixl"
    page_size: int = Field(default=64, ge=1)
    storage_backend: str | None = None
    storage_backend_extra_config: str | None = None
    io_backend: str | None = None  # None: SGLang's default (kernel)
    mem_layout: str | None = None  # None: SGLang's default (page_first)
    write_policy: str = "write_through"
    host_memory_mode: str | None = None  # None: SGLang's default (cache)
    hicache_ratio: float | None = Field(default=None, gt=0)
    hicache_size: int | None = Field(default=None, ge=1)
    host_memory_fraction: float = Field(default=0.8, gt=0, le=1)
    decode_hicache: bool = True  # decode workers get HiCache (+ decode radix cache)
    http_port: int = Field(default=8000, ge=1, le=65535)
    router_mode: Literal["kv", "round-robin", "random"] | None = None  # None: kv if > 1 worker
    # First worker's ports; later workers count up (dynamo.md §4).  Dynamo 1.6.1 parses
    # DYN_SYSTEM_PORT as an i16, so a worker dies at start-up above 32767.
    system_port: int = Field(default=8081, ge=1024, le=32767)
    kv_events_port: int = Field(default=5557, ge=1024, le=65535)
    bootstrap_port: int = Field(default=8998, ge=1024, le=65535)

    @model_validator(mode="after")
    def _distinct_ports(self) -> PlanRequest:
        seen: dict[int, str] = {}
        for flag, port in port_options(self):
            if port in seen:
                raise ValueError(f"{flag} {port} clashes with {seen[port]} {port}")
            seen[port] = flag
        return self

    @property
    def disaggregated(self) -> bool:
        return self.prefill_workers > 0 or self.decode_workers > 0


class Profile(BaseModel):
    """A profile file: metadata plus the request in sections (validated before flattening)."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, protected_namespaces=()
    )

    name: str | None = None
    description: str = ""
    model: str | None = None
    model_config_path: str | None = Field(default=None, alias="model_config")
    served_model_name: str | None = None
    hardware: str | None = None
    sglang_version: str | None = None
    workers: dict[str, Any] = Field(default_factory=new_dict)
    hicache: dict[str, Any] = Field(default_factory=new_dict)
    frontend: dict[str, Any] = Field(default_factory=new_dict)


def profile_values(data: dict[str, Any]) -> dict[str, Any]:
    """Flatten a profile mapping into PlanRequest field values (unknown keys stay to fail)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in SECTIONS and isinstance(value, dict):
            out.update(value)
        elif key not in ("name", "description"):
            out[key] = value
    return out


def _section_of(field: str) -> str | None:
    return next((s for s, keys in SECTIONS.items() if field in keys), None)


def _validate(data: dict[str, Any], source: Path) -> tuple[Profile, PlanRequest]:
    try:
        profile = Profile.model_validate(data)
    except ValidationError as exc:
        raise InputError(format_validation_error(exc, source)) from None
    for section in SECTIONS:
        unknown = sorted(set(getattr(profile, section)) - set(SECTIONS[section]))
        if unknown:
            raise InputError(
                where(source, "Extra inputs are not permitted", key=f"{section}.{unknown[0]}")
            )
    try:
        request = PlanRequest.model_validate(profile_values(data))
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ())]
            if loc and _section_of(loc[0]):
                loc.insert(0, _section_of(loc[0]) or "")
            msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
            if not loc:  # a check across fields names options: name the profile keys instead
                for field in SECTIONS["workers"] + SECTIONS["frontend"]:
                    section = _section_of(field)
                    msg = msg.replace(f"--{field.replace('_', '-')} ", f"{section}.{field} = ")
            lines.append(where(source, msg, key=".".join(loc)))
        raise InputError("\n".join(lines)) from None
    return profile, request


def _toml_loads(text: str) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    return tomllib.loads(text)


def load_profile(path: str | Path) -> tuple[Profile, PlanRequest]:
    """Read and validate a profile; relative ``hardware``/``model_config`` paths are resolved
    against the profile's directory.  Any problem is an :class:`InputError` (exit 2)."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(where(source, exc.strerror or str(exc))) from None
    try:
        data = _toml_loads(text)
    except ValueError as exc:  # tomllib.TOMLDecodeError: "... (at line 3, column 5)"
        raise InputError(where(source, f"invalid TOML: {exc}")) from None
    profile, request = _validate(data, source)
    updates: dict[str, Any] = {}
    for key in ("hardware", "model_config_path"):
        value = getattr(request, key)
        if value and not Path(value).is_absolute():
            updates[key] = str((source.parent / value).resolve())
    if updates:
        request = request.model_copy(update=updates)
    return profile, request


def merge(request: PlanRequest | None, overrides: dict[str, Any]) -> PlanRequest:
    """The profile's request with CLI values laid over it (None means "not given")."""
    values: dict[str, Any] = request.model_dump(by_alias=True) if request else {}
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return PlanRequest.model_validate(values)
    except ValidationError as exc:  # profile values were checked on load: a CLI value is bad
        from hicachectl.errors import UsageError

        lines = []
        for err in exc.errors():
            msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
            loc = err.get("loc")
            if not loc:  # a check across fields names its options itself
                lines.append(msg)
                continue
            field = "model_config" if loc[0] == "model_config_path" else str(loc[0])
            lines.append(f"--{field.replace('_', '-')}: {msg}")
        raise UsageError("\n".join(lines)) from None


def profile_toml(request: PlanRequest, *, name: str | None, description: str = "") -> str:
    """Write a request back as a profile that :func:`load_profile` reads to the same request."""
    values = request.model_dump(by_alias=True)
    lines = []
    if name:
        lines.append(f"name = {_toml_value(name)}")
    lines.append(f"description = {_toml_value(description)}")
    for key in TOP_LEVEL:
        if values.get(key) is not None:
            lines.append(f"{key} = {_toml_value(values[key])}")
    for section, keys in SECTIONS.items():
        lines.append("")
        lines.append(f"[{section}]")
        for key in keys:
            if values.get(key) is not None:
                lines.append(f"{key} = {_toml_value(values[key])}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


# --------------------------------------------------------------------------- bundled files


def bundled_dir() -> Path:
    """``profiles/`` of a source checkout, or the copy shipped inside the installed package."""
    pkg = Path(__file__).resolve().parent
    for candidate in (pkg.parent / "profiles", pkg / "_profiles"):
        if (candidate / "dev.toml").is_file():
            return candidate
    return pkg.parent / "profiles"


def find_profile(name_or_path: str) -> Path:
    """A path as given, or a bundled profile by name (``dev`` → ``profiles/dev.toml``)."""
    path = Path(name_or_path)
    if path.is_file() or path.suffix == ".toml" or "/" in name_or_path:
        return path
    bundled = bundled_dir() / f"{name_or_path}.toml"
    if not bundled.is_file():
        names = ", ".join(sorted(p.stem for p in bundled_dir().glob("*.toml")))
        raise InputError(f"unknown profile '{name_or_path}': not a file; bundled ones: {names}")
    return bundled


def list_profiles() -> list[tuple[Path, Profile, PlanRequest]]:
    """Every bundled profile, sorted by file name."""
    return [(p, *load_profile(p)) for p in sorted(bundled_dir().glob("*.toml"))]
