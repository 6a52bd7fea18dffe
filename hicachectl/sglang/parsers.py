"""The compiled parsers each entry point uses, built once per process (lru_cache).

SGLang's own parser per table version; Dynamo 1.6.1's ``dynamo.sglang`` trio (Dynamo's
parser, the router-advertisement parser, and SGLang's parser with Dynamo's changes: the hidden
``--disable-piecewise-cuda-graph`` and ``gms`` added to ``--load-format``); the frontend and
mocker parsers.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

from hicachectl.sglang.engine import Parser, compile_parser
from hicachectl.sglang.flags import _flag, dynamo_table, nearest_sglang_table, sglang_table


@cache
def sglang_parser(version: str, under_dynamo: bool = False) -> Parser:
    table = sglang_table(version)
    actions = table.actions
    if under_dynamo:
        worker = dynamo_table("sglang-worker")
        changes = (worker.raw.get("sglang_parser") or {}).get("changes") or []
        extra = []
        for ch in changes:
            if ch.get("dest") and "type" in ch:  # a whole new action
                extra.append(_flag({k: v for k, v in ch.items() if k != "note"}))
        # Dynamo appends "gms" to --load-format's choices (dynamo/sglang/args.py).
        actions = tuple(
            replace(a, choices=tuple(a.choices) + ("gms",))
            if a.dest == "load_format" and a.choices
            else a
            for a in actions
        )
        # sglang_only_parser is ArgumentParser(add_help=False): no -h/--help of its own.
        actions = tuple(a for a in actions if a.kind != "help") + tuple(extra)
    key = nearest_sglang_table(version)[0]
    return compile_parser(f"sglang-{key}{'+dynamo' if under_dynamo else ''}", actions)


@cache
def dynamo_parser(program: str, parser: str | None = None) -> Parser:
    """program: 'sglang-worker' | 'frontend' | 'mocker'; parser: the table's ``parser`` field."""
    t = dynamo_table(program)
    acts = tuple(a for a in t.actions if parser is None or a.parser == parser)
    return compile_parser(f"{t.name}:{parser or ''}", acts)
