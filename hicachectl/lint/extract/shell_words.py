"""Static shell word expansion: quote removal plus the variables a file assigns itself.

Nothing here runs a shell.  A word's raw source text is expanded against :class:`Vars`
(values assigned earlier in the same file); ``$(...)``, backticks, arithmetic, positional
parameters and variables the file never assigns stay *unknown*: the field keeps the raw form
of that expansion and is flagged ``known=False``.  Unquoted expansions are word-split on
whitespace as the shell would; ``"${a[@]}"`` yields one field per array element.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACE = re.compile(
    r"^([A-Za-z_][A-Za-z0-9_]*|[0-9]+|[@*#?$!-])(?:\[([^\]]*)\])?(?:(:?[-=+?])(.*))?$", re.S
)
_MAX_DEPTH = 32  # nested ${X:-${Y:-...}} defaults expanded at most this deep
_SPECIAL = re.compile(r"['\"\\$`]")
_ANSI = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "a": "\a", "e": "\x1b"}


@dataclass(slots=True)
class Var:
    value: str | list[str]
    known: bool = True
    # Where the value text starts in the file (line, col offset) when it is one quoted
    # string: lets `eval "$CMD"` map re-parsed positions back to the assignment.
    origin: tuple[int, int] | None = None
    # Where each value was written (one Span per array element; one for a string), so a
    # token that came from a variable can point at its definition (Token.origin).
    spans: list | None = None
    # `export`ed: later commands inherit it in their environment.
    exported: bool = False
    # The file (line, col) of every character of a string value, when it was written as
    # quoted text without expansions (``shell_nested.decode_points``): exact positions for
    # ``eval "$CMD"`` even where the string holds escapes.
    points: list | None = None


@dataclass(slots=True)
class Vars:
    values: dict[str, Var] = field(default_factory=dict)
    # Kubernetes expands $(NAME) from the container env before the shell runs the script.
    kubelet: dict[str, str] | None = None

    def get(self, name: str) -> Var | None:
        return self.values.get(name)

    def set(self, name: str, var: Var) -> None:
        self.values[name] = var


class _Fields:
    """Accumulates output fields while scanning one word."""

    __slots__ = ("done", "cur", "cur_used", "known", "drop_empty", "origin")

    def __init__(self) -> None:
        self.done: list[tuple[str, bool, object]] = []
        self.origin = None  # Span of the variable value that last fed the current field
        self.cur: list[str] = []
        self.cur_used = False  # a quote or literal char makes the field exist even if empty
        self.known = True
        self.drop_empty = False  # "${empty[@]}" yields no field at all

    def add(self, text: str) -> None:
        self.cur.append(text)
        self.cur_used = True

    def split_add(self, text: str) -> None:
        """Unquoted expansion result: split on whitespace into fields."""
        if not text:
            return
        parts = text.split()
        if text[:1].isspace():
            self.close()
        for i, part in enumerate(parts):
            if i:
                self.close()
            self.add(part)
        if text[-1:].isspace():
            self.close()

    def close(self) -> None:
        text = "".join(self.cur)
        if self.cur_used and not (self.drop_empty and not text):
            self.done.append((text, self.known, self.origin))
        self.cur, self.cur_used, self.known, self.drop_empty = [], False, True, False

    def result(self) -> list[tuple[str, bool]]:
        self.close()
        return self.done


def _match_close(s: str, i: int, open_c: str, close_c: str) -> int:
    """Index just past the bracket closing the one opened before ``i`` (quote-aware)."""
    depth, n = 1, len(s)
    while i < n:
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c == "'":
            j = s.find("'", i + 1)
            i = n if j < 0 else j + 1
            continue
        if c == open_c:
            depth += 1
        elif c == close_c:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def _ansi_c(body: str) -> str:
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            out.append(_ANSI.get(body[i + 1], "\\" + body[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def expand_word(raw: str, vars: Vars) -> list[tuple[str, bool]]:
    """Raw shell word -> [(field text, known)].  Zero fields for an empty unquoted expansion."""
    return [(t, k) for t, k, _ in expand_word_origins(raw, vars)]


def expand_word_origins(raw: str, vars: Vars) -> list[tuple[str, bool, object]]:
    """Like :func:`expand_word`, with the Span of the variable value behind each field."""
    if not _SPECIAL.search(raw):
        return [(raw, True, None)]  # the common case: a plain word
    f = _Fields()
    _scan(raw, vars, f, quoted=False)
    return f.result()


def expand_string(raw: str, vars: Vars, depth: int = 0) -> tuple[str, bool]:
    """Expand as an assignment value: no field splitting, fields joined with spaces."""
    f = _Fields()
    _scan(raw, vars, f, quoted=True, depth=depth)
    fields = f.result()
    return " ".join(t for t, _, _ in fields), all(k for _, k, _ in fields)


def _scan(s: str, vars: Vars, f: _Fields, quoted: bool, depth: int = 0) -> None:
    i, n, dq = 0, len(s), False
    while i < n:
        c = s[i]
        if c == "\\":
            nxt = s[i + 1 : i + 2]
            if nxt == "\n":
                i += 2
            elif dq and nxt not in ("$", "`", '"', "\\"):
                f.add("\\")
                i += 1
            else:
                f.add(nxt)
                i += 2
        elif c == "'" and not dq:
            j = s.find("'", i + 1)
            j = n if j < 0 else j
            f.add(s[i + 1 : j])
            i = j + 1
        elif c == '"':
            dq = not dq
            f.cur_used = True
            i += 1
        elif c == "`":
            j = s.find("`", i + 1)
            j = n if j < 0 else j + 1
            f.add(s[i:j])
            f.known = False
            i = j
        elif c == "$" and i + 1 < n:
            i = _dollar(s, i, vars, f, dq or quoted, depth)
        else:
            f.add(c)
            i += 1


def _dollar(s: str, i: int, vars: Vars, f: _Fields, dq: bool, depth: int = 0) -> int:
    nxt = s[i + 1]
    if nxt == "'" and not dq:
        j = s.find("'", i + 2)
        j = len(s) if j < 0 else j
        f.add(_ansi_c(s[i + 2 : j]))
        return j + 1
    if nxt == "(":
        end = _match_close(s, i + 2, "(", ")")
        name = s[i + 2 : end - 1]
        if vars.kubelet and name in vars.kubelet and _NAME.fullmatch(name):
            _add_value(vars.kubelet[name], True, s[i:end], f, dq)
            return end
        f.add(s[i:end])
        f.known = False
        return end
    if nxt == "{":
        end = _match_close(s, i + 2, "{", "}")
        _brace(s[i + 2 : end - 1], s[i:end], vars, f, dq, depth)
        return end
    m = _NAME.match(s, i + 1)
    if m:
        _emit(vars.get(m.group(0)), None, s[i : m.end()], f, dq)
        return m.end()
    if nxt.isdigit() or nxt in "@*#?$!-":
        f.add(s[i : i + 2])
        f.known = False
        return i + 2
    f.add("$")
    return i + 1


def _brace(inner: str, raw: str, vars: Vars, f: _Fields, dq: bool, depth: int = 0) -> None:
    m = _BRACE.match(inner) if depth < _MAX_DEPTH else None  # ${A:-${B:-${C:-...}}}
    if not m or m.group(1)[0].isdigit() or m.group(1) in "@*#?$!-":
        f.add(raw)
        f.known = False
        return
    name, index, op, word = m.groups()
    var = vars.get(name)
    if op is None:
        _emit(var, index, raw, f, dq)
        return
    unset = var is None
    empty = not unset and var.known and not _value_of(var, index)
    if op in (":-", "-", ":=", "="):
        use_default = unset or (op[0] == ":" and empty)
        if not use_default:
            _emit(var, index, raw, f, dq)
            return
        text, known = expand_string(word, vars, depth + 1)
        if op.endswith("=") and index is None:
            vars.set(name, Var(text, known))
        _add_value(text, known, raw, f, dq)
    elif op in (":+", "+") and not unset and var.known:
        if op == ":+" and empty:
            f.cur_used = f.cur_used or dq
            return
        text, known = expand_string(word, vars, depth + 1)
        _add_value(text, known, raw, f, dq)
    else:
        f.add(raw)
        f.known = False


def _value_of(var: Var, index: str | None) -> str:
    if isinstance(var.value, list):
        if index in ("@", "*"):
            return " ".join(var.value)
        k = int(index) if index and index.isdigit() else 0
        return var.value[k] if k < len(var.value) else ""
    return var.value if index in (None, "0", "@", "*") else ""


def _add_value(text: str, known: bool, raw: str, f: _Fields, dq: bool) -> None:
    if not known:
        f.add(raw)
        f.known = False
    elif dq:
        f.add(text)
    else:
        f.split_add(text)


def _emit(var: Var | None, index: str | None, raw: str, f: _Fields, dq: bool) -> None:
    if var is None or not var.known:
        f.add(raw)
        f.known = False
        return
    if isinstance(var.value, list) and index in ("@", "*"):
        elems = var.value
        if dq and index == "*":
            f.add(" ".join(elems))
            return
        spans = var.spans if var.spans and len(var.spans) == len(elems) else None
        if dq:
            for k, e in enumerate(elems):
                if k:
                    f.close()
                f.origin = spans[k] if spans else None
                f.add(e)
            if not elems:
                f.drop_empty = True
            return
        for k, e in enumerate(elems):
            if k or e[:1].isspace():
                f.close()
            f.origin = spans[k] if spans else None
            f.split_add(e)
        return
    value = _value_of(var, index)
    if not dq and value[:1].isspace():
        f.close()
    if var.spans and isinstance(var.value, str):
        f.origin = var.spans[0]
    _add_value(value, True, raw, f, dq)
