"""Versioned flag tables (package data under ``hicachectl/data/flags``) and lookups on them.

A table is the dump of one program's argparse parser (schema: ``reference/flags/README.md``,
``format: hicachectl-flag-table``).  A new SGLang or Dynamo release is a new JSON file here
(``scripts/regen_flags.py`` writes one from an installed package), not a code change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from hicachectl.sglang.known import DYNAMO_SGLANG_PIN, DYNAMO_VERSION, SGLANG_VERSIONS  # noqa: F401

SUPPRESS = "==SUPPRESS=="

_KINDS = {
    "_StoreAction": "store",
    "_StoreTrueAction": "store_true",
    "_StoreFalseAction": "store_false",
    "_StoreConstAction": "store_const",
    "_AppendAction": "append",
    "_AppendConstAction": "append_const",
    "_CountAction": "count",
    "BooleanOptionalAction": "boolean_optional",
    "_HelpAction": "help",
    "_VersionAction": "version",
}


@dataclass(frozen=True, slots=True, eq=False)
class Flag:
    opts: tuple[str, ...]
    dest: str
    type: str | None
    default: Any
    choices: tuple[Any, ...] | None
    nargs: int | str | None
    action: str
    action_base: str | None = None
    const: Any = None
    required: bool = False
    env: tuple[str, ...] = ()
    deprecated: dict | None = None
    hidden: bool = False
    parser: str | None = None
    group: str | None = None

    @property
    def canonical(self) -> str:
        """The first long option string (what hicachectl always writes)."""
        return next((o for o in self.opts if o.startswith("--")), self.opts[0])

    @property
    def kind(self) -> str:
        """The argparse action family: store, store_true, store_false, store_const,
        append, boolean_optional, help, version, count."""
        kind = _KINDS.get(self.action_base or self.action)
        if kind is None:
            return "store" if self.nargs != 0 else "store_true"
        return kind

    @property
    def takes_value(self) -> bool:
        return self.nargs != 0


@dataclass(frozen=True, eq=False)
class FlagTable:
    name: str  # e.g. "sglang-0.5.23", "dynamo-1.6.1-frontend"
    program: str
    version: str
    actions: tuple[Flag, ...]
    raw: dict = field(repr=False, compare=False, default_factory=dict)

    @property
    def by_opt(self) -> dict[str, Flag]:
        return _index(self)[0]

    @property
    def by_dest(self) -> dict[str, Flag]:
        return _index(self)[1]

    @property
    def long_opts(self) -> tuple[str, ...]:
        """Every long option string, in parser order (for prefix matching)."""
        return _index(self)[2]

    def defaults(self) -> dict[str, Any]:
        """dest -> default, as argparse's namespace would hold it (SUPPRESSed dests left out)."""
        out: dict[str, Any] = {}
        for a in self.actions:
            if a.dest in out or a.default == SUPPRESS or a.kind in ("help", "version"):
                continue
            out[a.dest] = a.default
        return out


@cache
def _index(t: FlagTable) -> tuple[dict[str, Flag], dict[str, Flag], tuple[str, ...]]:
    by_opt: dict[str, Flag] = {}
    by_dest: dict[str, Flag] = {}
    longs: list[str] = []
    for a in t.actions:
        for o in a.opts:
            by_opt.setdefault(o, a)
            if o.startswith("--"):
                longs.append(o)
        by_dest.setdefault(a.dest, a)
    return by_opt, by_dest, tuple(longs)


def _flag(d: dict) -> Flag:
    ch = d.get("choices")
    return Flag(
        opts=tuple(d["opts"]),
        dest=d["dest"],
        type=d.get("type"),
        default=d.get("default"),
        choices=tuple(ch) if ch is not None else None,
        nargs=d.get("nargs"),
        action=d.get("action") or "_StoreAction",
        action_base=d.get("action_base"),
        const=d.get("const"),
        required=bool(d.get("required", False)),
        env=tuple(d.get("env") or ()),
        deprecated=d.get("deprecated"),
        hidden=bool(d.get("hidden", False)),
        parser=d.get("parser"),
        group=d.get("group"),
    )


@cache
def load_table(name: str) -> FlagTable:
    """Load ``hicachectl/data/flags/<name>.json`` (e.g. ``sglang-0.5.23``)."""
    text = (Path(__file__).parent.parent / "data" / "flags" / f"{name}.json").read_text("utf-8")
    raw = json.loads(text)
    pkg = raw.get("package") or {}
    return FlagTable(
        name=name,
        program=raw.get("program", name),
        version=str(pkg.get("version", "")),
        actions=tuple(_flag(a) for a in raw.get("actions", ())),
        raw=raw,
    )


def nearest_sglang_table(version: str) -> tuple[str, bool]:
    """(table version, exact?) for an SGLang version: the nearest lower known table.

    Older than every table -> the oldest one (not exact)."""
    key = _vkey(version)
    best = SGLANG_VERSIONS[0]
    for v in SGLANG_VERSIONS:
        if _vkey(v) <= key:
            best = v
    return best, best == version


def sglang_table(version: str) -> FlagTable:
    return load_table(f"sglang-{nearest_sglang_table(version)[0]}")


def dynamo_table(program: str) -> FlagTable:
    """program: 'sglang-worker', 'frontend' or 'mocker'."""
    return load_table(f"dynamo-{DYNAMO_VERSION}-{program}")


def _vkey(v: str) -> tuple[int, ...]:
    parts = []
    for p in v.split("."):
        digits = "".join(ch for ch in p if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)
