"""Small helpers shared by rule modules (problem iteration, value formatting)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hicachectl.lint.context import CommandView, FileContext
    from hicachectl.sglang.types import Problem


def problems(ctx: FileContext, *codes: str) -> Iterator[tuple[CommandView, Problem]]:
    for v in ctx.views:
        for p in v.problems:
            if p.code in codes:
                yield v, p


def fmt(value: Any) -> str:
    """A value as a user would write it on the command line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return " ".join(fmt(x) for x in value)
    return str(value)


def flag_text(token_text: str) -> str:
    """'--tp=2' -> '--tp'."""
    return token_text.split("=", 1)[0]


def json_config(view: CommandView, dest: str) -> tuple[str, Any]:
    """('absent'|'file'|'unknown'|'invalid'|'ok', parsed-or-error) for a JSON-valued flag."""
    raw = view.value(dest)
    if raw is None or raw == "":
        return "absent", {}
    if not view.known(dest):
        return "unknown", None
    if isinstance(raw, dict):
        return "ok", raw
    text = str(raw).strip()
    if text.startswith("@"):
        return "file", text[1:]
    try:
        return "ok", json.loads(text)
    except (ValueError, RecursionError) as exc:
        return "invalid", str(exc)


def may_hide_flags(view: CommandView) -> bool:
    """True when an unknown word could expand to more flags (``"${EXTRA_ARGS[@]}"``)."""
    return view.open_ended
