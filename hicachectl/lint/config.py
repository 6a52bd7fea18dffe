"""Lint configuration and suppression.

Settings come from ``[tool.hicachectl]`` in ``pyproject.toml`` or from ``.hicachectl.toml``
(top level or ``[tool.hicachectl]``), found by walking up from each linted path to the
repository root (the first directory holding ``.git``), or from ``--config FILE``.
Command-line options override the file.  Inline directives (``# hicachectl:
disable=CODE``) arrive from the extractor as :class:`Suppression` objects and are applied
by :func:`hicachectl.lint.suppress.apply_suppressions`.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hicachectl.errors import InputError, UsageError, where

SEVERITIES = ("error", "warning", "info")
DEFAULT_SGLANG = "0.5.23"  # plain `sglang serve` / `python -m sglang.launch_server`
DEFAULT_DYNAMO_SGLANG = "0.5.21"  # what ai-dynamo 1.6.1 pins
_KEYS = {
    "select",
    "ignore",
    "extend-ignore",
    "severity",
    "sglang-version",
    "dynamo-sglang-version",
    "dynamo-version",
    "hardware",
    "host-memory",
    "probe",
    "per-path-ignores",
    "exclude",
    "fail-on",
}


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] = ()  # empty: every rule
    ignore: tuple[str, ...] = ()
    severity: dict[str, str] = field(default_factory=dict)  # code -> severity
    sglang_version: str | None = None  # plain `sglang serve` / launch_server (parser default)
    dynamo_sglang_version: str | None = None  # `dynamo.sglang` (parser default: Dynamo's pin)
    dynamo_version: str = "1.6.1"
    hardware: str | None = None  # snapshot path (absolute)
    host_memory: int | None = None  # bytes
    probe: bool = False  # probe this host when neither hardware nor host_memory is given
    per_path_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = ()
    fail_on: str | None = None
    source: str | None = None  # the file these settings came from
    root: str = "."  # directory that per-path globs are relative to

    def target_version(self, kind: str) -> str:
        """SGLang version to check a command against: Dynamo 1.6.1's pin (0.5.21) for
        ``dynamo.sglang``, the newest table (0.5.23) for plain SGLang."""
        if kind == "dynamo":
            return self.dynamo_sglang_version or DEFAULT_DYNAMO_SGLANG
        return self.sglang_version or DEFAULT_SGLANG

    def enabled(self, code: str, name: str) -> bool:
        if self.select and not _matches(self.select, code, name):
            return False
        return not _matches(self.ignore, code, name)

    def ignored_for(self, path: str, code: str, name: str) -> bool:
        if not self.per_path_ignores:
            return False
        rel = _relative(path, self.root)
        return any(
            fnmatch.fnmatch(rel, glob) and _matches(codes, code, name)
            for glob, codes in self.per_path_ignores
        )


def _relative(path: str, root: str) -> str:
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


def _matches(patterns: tuple[str, ...], code: str, name: str) -> bool:
    for p in patterns:
        q = p.strip()
        if (
            q.lower() == "all"
            or q == name
            or (q.upper().startswith("HC") and code.startswith(q.upper()))
        ):
            return True
    return False


# --------------------------------------------------------------------------- sizes

_UNITS = {
    "": 1, "b": 1,
    "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6,
    "g": 10**9, "gb": 10**9, "t": 10**12, "tb": 10**12,
    "ki": 2**10, "kib": 2**10, "mi": 2**20, "mib": 2**20,
    "gi": 2**30, "gib": 2**30, "ti": 2**40, "tib": 2**40,
}  # fmt: skip


def parse_size(text: str) -> int:
    """'1TB', '742 GB', '512GiB', '1e12' -> bytes (GB = 1e9, GiB = 2**30)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][0-9]+)?)\s*([A-Za-z]*)\s*", str(text))
    if not m or m.group(2).lower() not in _UNITS:
        raise ValueError(f"not a size: {text!r} (use e.g. 1TB, 742GB, 512GiB)")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


# --------------------------------------------------------------------------- files


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        import tomllib  # type: ignore[import-not-found]
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(where(path, f"cannot read: {exc.strerror or exc}")) from None
    except UnicodeDecodeError:
        raise InputError(where(path, "not UTF-8 text")) from None
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise InputError(
            where(path, f"invalid TOML: {exc}", line=int(m.group(1)) if m else None)
        ) from None


def _section(path: Path, data: dict[str, Any]) -> dict[str, Any] | None:
    tool = data.get("tool")
    if isinstance(tool, dict) and "hicachectl" in tool:
        sec = tool["hicachectl"]
        if not isinstance(sec, dict):
            raise InputError(where(path, "must be a table", key="tool.hicachectl"))
        return sec
    if path.name == "pyproject.toml":
        return None
    return {k: v for k, v in data.items() if k != "tool"}


def settings_from_table(table: dict[str, Any], path: Path) -> Settings:
    """Validate one config table; every problem names the file and key."""
    s: dict[str, Any] = {"source": str(path), "root": str(path.parent)}
    prefix = "tool.hicachectl." if path.name == "pyproject.toml" else ""

    def bad(key: str, msg: str) -> InputError:
        return InputError(where(path, msg, key=prefix + key))

    def strs(key: str, v: Any) -> tuple[str, ...]:
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise bad(key, "expected a list of strings")
        return tuple(v)

    def codes(key: str, v: Any) -> tuple[str, ...]:
        out = strs(key, v)
        for c in out:
            resolve_code(c, lambda m, k=key: bad(k, m))
        return out

    for key, v in table.items():
        if key not in _KEYS:
            raise bad(key, f"unknown key (known: {', '.join(sorted(_KEYS))})")
        if key == "select":
            s["select"] = codes(key, v)
        elif key in ("ignore", "extend-ignore"):
            s["ignore"] = s.get("ignore", ()) + codes(key, v)
        elif key == "exclude":
            s["exclude"] = strs(key, v)
        elif key == "severity":
            if not isinstance(v, dict):
                raise bad(key, "expected a table CODE = 'error'|'warning'|'info'")
            sev = {}
            for code, level in v.items():
                if level not in SEVERITIES:
                    raise bad(f"{key}.{code}", f"expected one of {', '.join(SEVERITIES)}")
                sev[resolve_code(code, lambda m, k=f"{key}.{code}": bad(k, m))] = level
            s["severity"] = sev
        elif key in ("sglang-version", "dynamo-sglang-version", "dynamo-version"):
            if not isinstance(v, str) or not re.fullmatch(r"\d+(\.\d+)*\S*", v):
                raise bad(key, "expected a version string such as '0.5.23'")
            s[key.replace("-", "_")] = v
        elif key == "hardware":
            if not isinstance(v, str):
                raise bad(key, "expected a path to a `hicachectl probe --json` snapshot")
            s["hardware"] = str((path.parent / v).resolve())
        elif key == "host-memory":
            try:
                s["host_memory"] = parse_size(str(v))
            except ValueError as exc:
                raise bad(key, str(exc)) from None
        elif key == "probe":
            if not isinstance(v, bool):
                raise bad(key, "expected true or false")
            s["probe"] = v
        elif key == "fail-on":
            if v not in (*SEVERITIES, "never"):
                raise bad(key, "expected error, warning, info or never")
            s["fail_on"] = v
        elif key == "per-path-ignores":
            if not isinstance(v, dict):
                raise bad(key, "expected a table GLOB = [CODE, ...]")
            s["per_path_ignores"] = tuple((g, strs(f"{key}.{g}", c)) for g, c in v.items())
    return Settings(**s)


def load_config(path: str | Path) -> Settings:
    p = Path(path)
    if not p.exists() or p.is_dir():
        raise InputError(where(p, "config file not found"))
    sec = _section(p, _read_toml(p))
    return settings_from_table(sec or {}, p)


class ConfigFinder:
    """Finds and caches the nearest config upward from a path."""

    def __init__(self) -> None:
        self._cache: dict[Path, Settings] = {}

    def for_path(self, path: str) -> Settings:
        """``path``: a file or a directory (a directory is searched from itself)."""
        p = Path(os.path.abspath(path))
        start = p if p.is_dir() else p.parent
        return self._find(start)

    def _find(self, d: Path) -> Settings:
        if d in self._cache:
            return self._cache[d]
        found: Settings | None = None
        for name in (".hicachectl.toml", "pyproject.toml"):
            f = d / name
            if f.is_file():
                sec = _section(f, _read_toml(f))
                if sec is not None:
                    found = settings_from_table(sec, f)
                    break
        if found is None:
            stop = (d / ".git").exists() or d.parent == d
            found = Settings() if stop else self._find(d.parent)
        self._cache[d] = found
        return found


# --------------------------------------------------------------------------- codes


def _registry():
    from hicachectl.lint.rules import RULES_BY_CODE, RULES_BY_NAME

    return RULES_BY_CODE, RULES_BY_NAME


def resolve_code(text: str, error=None) -> str:
    """A rule code or kebab-case name -> its code (prefixes like 'HC3' pass through)."""
    by_code, by_name = _registry()
    t = text.strip()
    if t.upper() in by_code:
        return t.upper()
    if t in by_name:
        return by_name[t].code
    if t.lower() == "all" or re.fullmatch(r"HC\d{0,2}", t.upper()):
        return t.upper() if t.lower() != "all" else "all"
    msg = f"unknown rule {t!r} (see `hicachectl rules`)"
    raise (error(msg) if error else UsageError(msg))


def with_overrides(base: Settings, **cli: Any) -> Settings:
    """Apply command-line options over file settings (None: keep the file's)."""
    changes = {k: v for k, v in cli.items() if v is not None}
    if "extend_ignore" in changes:
        changes["ignore"] = base.ignore + tuple(changes.pop("extend_ignore"))
    if "sglang_version" in changes:
        changes["dynamo_sglang_version"] = changes["sglang_version"]
    return replace(base, **changes)
