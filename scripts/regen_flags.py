#!/usr/bin/env python3
"""Regenerate a flag table (``hicachectl/data/flags/*.json``) from an installed SGLang or Dynamo.

Maintainer tool, not run by CI.  It builds the program's argparse parser the way the program
does and dumps ``parser._actions`` in the ``hicachectl-flag-table`` schema
(``reference/flags/README.md``).  Run it in an environment where the package is installed
(SGLang needs torch importable; no GPU is needed)::

    python scripts/regen_flags.py sglang            -o hicachectl/data/flags/sglang-0.5.24.json
    python scripts/regen_flags.py dynamo-sglang     -o hicachectl/data/flags/dynamo-1.7.0-sglang-worker.json
    python scripts/regen_flags.py dynamo-frontend   -o ...
    python scripts/regen_flags.py dynamo-mocker     -o ...

``--keep FILE`` copies the hand-written keys (``notes``, ``parse_order``, ``sglang_parser``,
per-action ``env``/``deprecated``) from an older table, so only the dump is regenerated.
Then add the new SGLang version to ``SGLANG_VERSIONS`` in ``hicachectl/sglang/known.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import metadata
from typing import Any

SCHEMA = {"format": "hicachectl-flag-table", "format_version": 1}


class _Captured(Exception):
    def __init__(self, parser: argparse.ArgumentParser):
        super().__init__("captured")
        self.parser = parser


def capture(fn, *args) -> argparse.ArgumentParser:
    """Call ``fn`` and return the first parser it asks to parse (without parsing)."""
    orig_args, orig_known = (
        argparse.ArgumentParser.parse_args,
        argparse.ArgumentParser.parse_known_args,
    )

    def grab(self, *a, **k):
        raise _Captured(self)

    argparse.ArgumentParser.parse_args = grab  # type: ignore[method-assign]
    argparse.ArgumentParser.parse_known_args = grab  # type: ignore[method-assign]
    try:
        result = fn(*args)
        if hasattr(result, "__await__"):
            import asyncio

            asyncio.run(result)
    except _Captured as c:
        return c.parser
    finally:
        argparse.ArgumentParser.parse_args = orig_args  # type: ignore[method-assign]
        argparse.ArgumentParser.parse_known_args = orig_known  # type: ignore[method-assign]
    raise SystemExit(f"{fn.__qualname__} never built a parser")


def _jsonable(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (list, tuple, set, frozenset)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if hasattr(v, "value") and isinstance(v.value, (str, int)):  # enums
        return v.value
    return str(v)


def _base(cls: type) -> str | None:
    """For a program-specific action class: the argparse class it derives from."""
    if cls.__module__ == "argparse":
        return None
    for k in cls.__mro__[1:]:
        if k.__module__ == "argparse":
            return k.__name__
    return None


def _groups(parser: argparse.ArgumentParser) -> dict[int, str]:
    out: dict[int, str] = {}
    for g in parser._action_groups:
        for a in g._group_actions:
            out.setdefault(id(a), g.title or "")
    return out


def dump(parser: argparse.ArgumentParser, *, name: str | None = None, own_only=True) -> list[dict]:
    groups = _groups(parser)
    registered = {id(a) for a in parser._option_string_actions.values()}
    rows = []
    for a in parser._actions:
        if own_only and a.option_strings and id(a) not in registered:
            continue  # display-only actions borrowed from another parser (Dynamo's --help trick)
        row: dict[str, Any] = {
            "opts": list(a.option_strings),
            "dest": a.dest,
            "type": getattr(a.type, "__name__", None) if a.type is not None else None,
            "default": _jsonable(a.default),
            "choices": _jsonable(list(a.choices)) if a.choices is not None else None,
            "nargs": a.nargs if not isinstance(a, argparse._StoreTrueAction) else 0,
            "action": type(a).__name__,
        }
        if row["nargs"] is None and isinstance(
            a, (argparse._StoreConstAction, argparse.BooleanOptionalAction)
        ):
            row["nargs"] = 0
        base = _base(type(a))
        if base:
            row["action_base"] = base
        if a.const is not None:
            row["const"] = _jsonable(a.const)
        if a.required:
            row["required"] = True
        if a.help == argparse.SUPPRESS:
            row["hidden"] = True
        if groups.get(id(a)):
            row["group"] = groups[id(a)]
        if name:
            row["parser"] = name
        rows.append(row)
    return rows


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        raise SystemExit(f"{dist} is not installed in this environment") from None


def build(kind: str) -> dict:
    if kind == "sglang":
        from sglang.srt.server_args import ServerArgs  # noqa: PLC0415 - maintainer tool

        parser = argparse.ArgumentParser(prog="sglang serve")
        ServerArgs.add_cli_args(parser)
        return {
            "program": "sglang serve",
            "also_used_by": ["python -m sglang.launch_server", "python -m dynamo.sglang"],
            "package": {"name": "sglang", "version": _version("sglang")},
            "parser_settings": {
                "allow_abbrev": parser.allow_abbrev,
                "add_help": parser.add_help,
                "prefix_chars": parser.prefix_chars,
            },
            "actions": dump(parser),
        }
    if kind == "dynamo-sglang":
        from dynamo.common.configuration.groups.router_args import add_worker_router_arguments
        from dynamo.sglang import args as dargs

        main = capture(dargs.parse_args, ["--model-path", "x"])
        router = argparse.ArgumentParser(add_help=False)
        add_worker_router_arguments(router)
        return {
            "program": "python -m dynamo.sglang",
            "package": {"name": "ai-dynamo", "version": _version("ai-dynamo")},
            "actions": dump(main, name="dynamo") + dump(router, name="router_advertisement"),
        }
    if kind == "dynamo-frontend":
        from dynamo.frontend import main as fmain

        saved = sys.argv
        sys.argv = ["dynamo.frontend"]
        try:
            parser = capture(fmain.parse_args)
        finally:
            sys.argv = saved
        chat = argparse.ArgumentParser(add_help=False)
        for opt in ("--tool-call-parser", "--reasoning-parser", "--chat-template"):
            chat.add_argument(opt, default=None)  # as dynamo/frontend/main.py does
        return {
            "program": "python -m dynamo.frontend",
            "package": {"name": "ai-dynamo", "version": _version("ai-dynamo")},
            "actions": dump(parser, name="frontend") + dump(chat, name="sglang_chat_processor"),
        }
    if kind == "dynamo-mocker":
        from dynamo.mocker import args as margs

        parser = capture(margs.parse_args, [])
        return {
            "program": "python -m dynamo.mocker",
            "package": {"name": "ai-dynamo", "version": _version("ai-dynamo")},
            "actions": dump(parser),
        }
    raise SystemExit(f"unknown kind {kind!r}")


def keep_hand_written(new: dict, old: dict) -> dict:
    for key in ("also_used_by", "pins", "source", "scope", "parse_order", "sglang_parser", "notes"):
        if key in old and key not in new:
            new[key] = old[key]
    by_opts = {tuple(a["opts"]): a for a in old.get("actions", [])}
    for a in new["actions"]:
        prev = by_opts.get(tuple(a["opts"]))
        for key in ("env", "deprecated", "version_string"):
            if prev and key in prev and key not in a:
                a[key] = prev[key]
    return new


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kind", choices=["sglang", "dynamo-sglang", "dynamo-frontend", "dynamo-mocker"])
    ap.add_argument("-o", "--output", help="write here (default: stdout)")
    ap.add_argument("--keep", help="older table to copy hand-written keys from")
    a = ap.parse_args()
    table = {**SCHEMA, **build(a.kind)}
    if a.keep:
        with open(a.keep, encoding="utf-8") as f:
            table = keep_hand_written(table, json.load(f))
    text = json.dumps(table, indent=1, ensure_ascii=False) + "\n"
    if a.output:
        with open(a.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
