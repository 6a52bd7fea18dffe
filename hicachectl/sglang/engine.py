"""An argparse-faithful matcher driven by a flag table (Python 3.11 semantics).

:class:`Parser` is a compiled view of one upstream ``argparse.ArgumentParser`` (its actions
in parser order, ``allow_abbrev=True``, prefix chars ``-``, no positionals).  :func:`run`
walks a token list the way ``ArgumentParser._parse_known_args`` does: every token is first
classified (which is where ambiguity is detected, for the whole line, before anything is
consumed), then options are consumed left to right (value-count and type/choice errors),
then required flags are checked; ``parse_args`` additionally rejects leftovers.  Messages are
argparse's own texts after ``error: ``.  Nothing here raises on user input.
"""

from __future__ import annotations

import bisect
import re
from typing import Any

from hicachectl.sglang.actions import ArgError, arg_name, count_values, get_values, store
from hicachectl.sglang.convert import convert
from hicachectl.sglang.flags import SUPPRESS, Flag

# argparse's _negative_number_matcher (3.11).
_NEGATIVE = re.compile(r"^-\d+$|^-\d*\.\d+$")


class Ambiguous(Exception):
    pass


class Parser:
    """One argparse parser, compiled once (see :func:`compile_parser`).

    ``opt_map`` keeps argparse's ``_option_string_actions`` insertion order, which is the
    order ambiguity messages list their matches in.
    """

    __slots__ = ("name", "actions", "opt_map", "order", "sorted_opts", "has_negative_opts",
                 "defaults", "cache")  # fmt: skip

    def __init__(self, name, actions, opt_map, order, sorted_opts, has_negative_opts, defaults):
        self.name: str = name
        self.actions: tuple[Flag, ...] = actions
        self.opt_map: dict[str, Flag] = opt_map
        self.order: dict[str, int] = order
        self.sorted_opts: list[str] = sorted_opts
        self.has_negative_opts: bool = has_negative_opts
        self.defaults: dict[str, Any] = defaults
        self.cache: dict[Any, Any] = {}

    def classify(self, tok: str) -> tuple[Flag | None, str, str | None] | None:
        """argparse ``_parse_optional``: None = a positional ('A'); else an option ('O')."""
        hit = self.cache.get(tok, self)
        if hit is not self:
            return hit
        res = self._classify(tok)
        if len(self.cache) < 4096:
            self.cache[tok] = res
        return res

    def _classify(self, tok: str):
        if not tok or tok[0] != "-":
            return None
        f = self.opt_map.get(tok)
        if f is not None:
            return f, tok, None
        if len(tok) == 1:
            return None
        if "=" in tok:
            opt, explicit = tok.split("=", 1)
            f = self.opt_map.get(opt)
            if f is not None:
                return f, opt, explicit
        tuples = self.prefix_tuples(tok)
        if len(tuples) > 1:
            matches = ", ".join(t[1] for t in tuples)
            raise Ambiguous(f"ambiguous option: {tok} could match {matches}")
        if len(tuples) == 1:
            return tuples[0]
        if _NEGATIVE.match(tok) and not self.has_negative_opts:
            return None
        if " " in tok:
            return None
        return None, tok, None

    def prefix_tuples(self, tok: str) -> list[tuple[Flag, str, str | None]]:
        """argparse ``_get_option_tuples`` (option strings, in parser order)."""
        if tok[1] == "-":
            prefix, explicit = tok.split("=", 1) if "=" in tok else (tok, None)
            found = self._starting_with(prefix)
            return [(self.opt_map[o], o, explicit) for o in found]
        short, short_explicit = tok[:2], tok[2:]
        out = []
        for o in self.opt_map:
            if o == short:
                out.append((self.opt_map[o], o, short_explicit))
            elif o.startswith(tok):
                out.append((self.opt_map[o], o, None))
        return out

    def _starting_with(self, prefix: str) -> list[str]:
        i = bisect.bisect_left(self.sorted_opts, prefix)
        found = []
        while i < len(self.sorted_opts) and self.sorted_opts[i].startswith(prefix):
            found.append(self.sorted_opts[i])
            i += 1
        found.sort(key=self.order.__getitem__)
        return found


def compile_parser(name: str, actions: tuple[Flag, ...]) -> Parser:
    opt_map: dict[str, Flag] = {}
    for a in actions:
        for o in a.opts:
            opt_map[o] = a  # a later registration of the same string wins, as in argparse
    order = {o: i for i, o in enumerate(opt_map)}
    defaults: dict[str, Any] = {}
    for a in actions:
        if a.dest in defaults or a.default == SUPPRESS or a.kind in ("help", "version"):
            continue
        d = a.default
        if isinstance(d, str) and a.type not in (None, "str"):
            # argparse converts string defaults of unseen actions through ``type``.
            try:
                d = convert(a.type, d)
            except Exception:  # noqa: BLE001 - upstream would crash; keep the raw text
                pass
        defaults[a.dest] = d
    negative = any(_NEGATIVE.match(o) for o in opt_map)
    return Parser(name, actions, opt_map, order, sorted(opt_map), negative, defaults)


class Hit:
    """One action taken: ``pos`` is the option token's index in the list given to run()."""

    __slots__ = ("flag", "option", "args", "pos", "value")

    def __init__(self, flag: Flag, option: str, args: list[str], pos: int, value: Any):
        self.flag, self.option, self.args, self.pos = flag, option, args, pos
        self.value = value  # what the action stored (after conversion), or SUPPRESS


class Outcome:
    __slots__ = ("hits", "extras", "abbrevs", "error", "exited")

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.extras: list[int] = []  # positions argparse leaves over
        self.abbrevs: list[tuple[int, str, str, Flag]] = []  # (pos, token, option, action)
        # (code, message, pos or None, canonical flag or None)
        self.error: tuple[str, str, int | None, str | None] | None = None
        # position of a -h/--help/--version action: argparse prints and exits 0 there
        self.exited: int | None = None


class _Exited(Exception):
    pass


def run(p: Parser, tokens: list[str], *, known: bool, ns: dict[str, Any]) -> Outcome:
    """Parse ``tokens`` into ``ns`` (pre-filled with defaults). ``known``: parse_known_args."""
    out = Outcome()
    n = len(tokens)
    pattern: list[str] = []
    opts: dict[int, tuple[Flag | None, str, str | None]] = {}
    for i, tok in enumerate(tokens):
        if tok == "--":
            pattern.append("-")
            pattern.extend("A" * (n - i - 1))
            break
        try:
            t = p.classify(tok)
        except Ambiguous as e:
            out.error = ("ambiguous", str(e), i, None)
            return out
        if t is None:
            pattern.append("A")
        else:
            opts[i] = t
            pattern.append("O")
            if t[0] is not None and t[1] != tok.split("=", 1)[0] and tok[:2] == "--":
                out.abbrevs.append((i, tok, t[1], t[0]))
    pat = "".join(pattern)
    seen: set[int] = set()
    order = sorted(opts)
    start, k = 0, 0
    last = order[-1] if order else -1
    try:
        while start <= last:
            while order[k] < start:
                k += 1
            nxt = order[k]
            if start != nxt:
                out.extras.extend(range(start, nxt))
                start = nxt
            start = _consume(p, tokens, pat, opts, start, out, ns, seen)
    except ArgError as e:
        code, msg, pos, flag = e.args
        out.error = (code, msg, pos, flag)
        return out
    except _Exited:
        return out
    out.extras.extend(range(start, n))
    required = [arg_name(a) for a in p.actions if a.required and id(a) not in seen]
    if required:
        msg = "the following arguments are required: " + ", ".join(required)
        out.error = ("required", msg, None, None)
        return out
    if not known and out.extras:
        msg = "unrecognized arguments: " + " ".join(tokens[i] for i in out.extras)
        out.error = ("unrecognized", msg, out.extras[0], None)
    return out


def _consume(p, tokens, pat, opts, start, out, ns, seen) -> int:
    f, option, explicit = opts[start]
    if f is None:
        out.extras.append(start)
        return start + 1
    todo: list[tuple[Flag, list[str], str]] = []
    while True:
        if explicit is not None:
            cnt = count_values(f.nargs, "A")
            if cnt == 0 and option[1] != "-" and explicit != "":
                todo.append((f, [], option))
                option = option[0] + explicit[0]
                nxt = p.opt_map.get(option)
                if nxt is None:
                    msg = f"argument {arg_name(f)}: ignored explicit argument {explicit!r}"
                    raise ArgError("explicit-arg", msg, start, f.canonical)
                f, explicit = nxt, (explicit[1:] or None)
            elif cnt == 1:
                stop = start + 1
                todo.append((f, [explicit], option))
                break
            else:
                msg = f"argument {arg_name(f)}: ignored explicit argument {explicit!r}"
                raise ArgError("explicit-arg", msg, start, f.canonical)
        else:
            cnt = count_values(f.nargs, pat, start + 1)
            if isinstance(cnt, str):
                raise ArgError(
                    "missing-value", f"argument {arg_name(f)}: {cnt}", start, f.canonical
                )
            stop = start + 1 + cnt
            todo.append((f, tokens[start + 1 : stop], option))
            break
    for f, args, option in todo:
        seen.add(id(f))
        try:
            value = get_values(f, args)
        except ArgError as e:
            code, msg = e.args
            raise ArgError(code, f"argument {arg_name(f)}: {msg}", start, f.canonical) from None
        if f.action == "_UniqueAlias" and any(
            h.flag is f and h.option != option for h in out.hits
        ):  # Dynamo's --ais-X / --aic-X pairs (ais_perf_args.py)
            msg = f"argument {arg_name(f)}: new and legacy spellings cannot be combined"
            raise ArgError("alias-conflict", msg, start, f.canonical)
        stored = store(f, option, value, ns)
        out.hits.append(Hit(f, option, list(args), start, stored))
        if f.kind in ("help", "version"):
            out.exited = start
            raise _Exited
    return stop
