"""What one argparse action does with its value strings (Python 3.11 semantics).

Counting the values an action takes (``_match_argument``), converting and checking them
(``_get_values``: ``type``, then ``choices``), and storing them the way each action class
does (store, store_const/true/false, append, count, BooleanOptionalAction and the program
specific classes the flag tables name).  Errors carry argparse's exact text.
"""

from __future__ import annotations

import re
from typing import Any

from hicachectl.sglang.convert import TypeMessage, convert
from hicachectl.sglang.flags import SUPPRESS, Flag


def arg_name(f: Flag) -> str:
    return "/".join(f.opts)


_A_RUN = re.compile("A*")


def count_values(nargs: Any, pattern: str, pos: int = 0) -> int | str:
    """How many 'A' tokens from ``pattern[pos:]`` an action takes, or argparse's error text."""
    # Only the run of 'A's is scanned (no slicing), so huge argvs stay linear.
    lead = _A_RUN.match(pattern, pos).end() - pos
    if nargs is None:
        return 1 if lead else "expected one argument"
    if nargs == "?":
        return min(lead, 1)
    if nargs == "*":
        return lead
    if nargs == "+":
        return lead if lead else "expected at least one argument"
    if isinstance(nargs, int):
        if lead >= nargs:
            return nargs
        return f"expected {nargs} argument" + ("" if nargs == 1 else "s")
    return 0


def get_values(f: Flag, args: list[str]) -> Any:
    """argparse ``_get_values``: convert and check choices; raises TypeMessage/ValueError."""
    args = list(args)
    if "--" in args:
        args.remove("--")
    if not args and f.nargs == "?":
        v = f.const
        if isinstance(v, str):
            v = _one(f, v)
        return v
    if len(args) == 1 and f.nargs in (None, "?"):
        return _one(f, args[0])
    return [_one(f, a) for a in args]


class ArgError(Exception):
    pass


def _one(f: Flag, s: str) -> Any:
    try:
        v = convert(f.type, s)
    except TypeMessage as e:
        raise ArgError("invalid-type", str(e)) from None
    except (TypeError, ValueError):
        raise ArgError("invalid-type", f"invalid {f.type} value: {s!r}") from None
    if f.choices is not None and v not in f.choices:
        choices = ", ".join(map(repr, f.choices))
        raise ArgError("invalid-choice", f"invalid choice: {v!r} (choose from {choices})")
    return v


def store(f: Flag, option: str, value: Any, ns: dict[str, Any]) -> Any:
    """Apply the action to the namespace; returns the stored value (or SUPPRESS)."""
    kind = f.kind
    name = f.action
    if kind == "store":
        if name == "DeprecatedStoreConstAction":
            v = f.const if f.const is not None else True
        elif name == "_IgnoredAdmissionControlAction":
            return SUPPRESS
        elif name == "LoRAPathAction":
            v = _lora_paths(value)
        elif f.nargs == 0:  # a custom flag-like action (e.g. DeprecatedStoreTrueAction)
            v = f.const if f.const is not None else True
        else:
            v = value
    elif kind in ("store_const", "append_const"):
        v = f.const
        if kind == "append_const":
            v = list(ns.get(f.dest) or []) + [f.const]
    elif kind == "store_true":
        v = True if f.const is None else f.const
    elif kind == "store_false":
        v = False
    elif kind == "append":
        v = list(ns.get(f.dest) or []) + [value]
    elif kind == "count":
        v = (ns.get(f.dest) or 0) + 1
    elif kind == "boolean_optional":
        v = not option.startswith("--no-")
    else:  # help / version: argparse prints and exits; noted by the caller
        return SUPPRESS
    ns[f.dest] = v
    return v


def _lora_paths(values: Any) -> list:
    import json

    out: list = []
    for p in values or []:
        p = p.strip()
        if p.startswith("{") and p.endswith("}"):
            try:
                out.append(json.loads(p))
            except ValueError:
                out.append(p)  # upstream raises a plain exception here, not an argparse error
        else:
            out.append(p)
    return out
