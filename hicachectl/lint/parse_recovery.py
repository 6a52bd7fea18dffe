"""Reading a command past the first error argparse would stop at, so one lint run reports
everything: an unknown value it cannot convert (``--tp-size $TP``) gets a stand-in the flag
accepts (the token stays unknown, so no rule trusts it), and an ambiguous option is read as
its first candidate (the ambiguity stays the command's fatal problem).
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hicachectl.lint.types import Command, Token
    from hicachectl.sglang.types import ParsedCommand


def read_on(cmd: Command, parsed: ParsedCommand, parse):
    """argparse stops at the first value it cannot convert, so `--tp-size $TP` would hide
    every later flag from the rules.  When that value is one the file does not define,
    parse again with a stand-in the flag accepts (its default, else a neutral value): the
    flags after it are read, and the token stays unknown, so no rule trusts the stand-in.
    Returns the parse and the dests that got a stand-in."""
    texts = [t.text for t in cmd.tokens]
    dests: set[str] = set()
    carried: list = []  # ambiguous options: reported, then read past
    for _ in range(16):  # one re-parse per unknown value argparse trips over
        p = parsed.fatal
        if p is None or p.code not in ("invalid-type", "invalid-choice", "ambiguous"):
            break
        i = p.token_index
        if i is None or i >= len(texts):
            break
        if p.code == "ambiguous":
            # argparse stops at an ambiguous option before it lists unknown ones; read on
            # with the first candidate so those are reported in the same run.  The view
            # stays unsound (the ambiguity is kept), so no rule trusts the values.
            m = _AMBIGUOUS.match(p.message)
            opt = texts[i].split("=", 1)[0]
            if m is None or m.group(1) != opt:
                break
            texts[i] = m.group(2) + texts[i][len(opt) :]
            carried.append(p)
            parsed = parse(cmd, texts)
            continue
        inline = texts[i].startswith("-") and "=" in texts[i]
        j = i if inline else i + 1
        if j >= len(texts) or not _unknown_token(cmd, cmd.tokens[j]):
            break  # a real error: reported by the rules
        flag = _flag_for(parsed, texts[i].split("=", 1)[0] if inline else texts[i])
        value = _stand_in(flag) if flag is not None else None
        if value is None or value == (texts[j].split("=", 1)[1] if inline else texts[j]):
            break
        texts[j] = f"{texts[i].split('=', 1)[0]}={value}" if inline else value
        dests.add(flag.dest)
        parsed = parse(cmd, texts)
    if carried:
        parsed = dataclasses.replace(parsed, problems=carried + list(parsed.problems))
    return parsed, frozenset(dests)


def _unknown_token(cmd: Command, tok: Token) -> bool:
    """A word whose value the file does not define (CommandView._unknown, before a view)."""
    if not tok.known:
        return True
    return cmd.host_format == "k8s" and "$(" in tok.text and "$$(" not in tok.raw


def _flag_for(parsed: ParsedCommand, opt: str):
    """The flag an option string (or an unambiguous abbreviation of one) names."""
    from hicachectl.sglang.flags import dynamo_table, sglang_table

    tables = [sglang_table(parsed.sglang_version)]
    if parsed.entrypoint.startswith("dynamo."):
        prog = {"dynamo.frontend": "frontend", "dynamo.mocker": "mocker"}.get(
            parsed.entrypoint, "sglang-worker"
        )
        tables.insert(0, dynamo_table(prog))
    for t in tables:
        if opt in t.by_opt:
            return t.by_opt[opt]
    for t in tables:
        hits = {t.by_opt[o].dest: t.by_opt[o] for o in t.long_opts if o.startswith(opt)}
        if len(hits) == 1:
            return next(iter(hits.values()))
    return None


_AMBIGUOUS = re.compile(r"ambiguous option: (--[^\s=]+)(?:=\S*)? could match (--[^\s,]+)")
_NEUTRAL = {"int": "1", "human_readable_int": "1", "nullable_int": "1", "float": "0.5",
            "nullable_float": "0.5", "loads": "{}", "json_list_type": "[]"}  # fmt: skip


def _stand_in(flag) -> str | None:
    """A value ``flag`` converts without error: its default when that is valid, else a
    neutral one (None when there is no safe choice)."""
    if flag.choices:
        pick = flag.default if flag.default in flag.choices else flag.choices[0]
        return str(pick)
    if flag.type in _NEUTRAL:
        if isinstance(flag.default, (int, float)) and not isinstance(flag.default, bool):
            return str(flag.default)
        return _NEUTRAL[flag.type]
    return None
