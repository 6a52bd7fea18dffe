"""Commands kept in a string: ``eval "…"`` and ``bash -c '…'`` (sh, zsh, dash, ksh too).

The string's value (quotes removed, known variables expanded) is re-parsed as shell with its
rows mapped back into the file: the first row starts after the opening quote (or at the
assignment of the variable the string came from, for ``eval "$CMD"``), later rows follow the
file.  When the string was written as quoted text whose only expansions are known ``$var``s,
every character is mapped exactly (escapes, ``\\<newline>``, the words of ``eval a "b c"``;
an expanded value spreads over its ``$var``); otherwise (``$(...)``, ANSI-C ``$'...'``) an
escape before a position shifts that row's columns by one per escape, an accepted
approximation.  Inner commands
inherit the outer command's env prefix and background flag, with ``context["via"]``.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from hicachectl.lint.extract.common import CharMap, RowMap
from hicachectl.lint.extract.shell_breaks import find_breaks
from hicachectl.lint.types import Token

_SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh"})


def run_nested(self, prog, tokens, words, env, background) -> bool:
    """eval STRING / bash -c STRING: re-parse the string as shell, mapped into the file."""
    script_idx = None
    if prog == "eval" and len(tokens) > 1:
        via = "eval"
        script_idx = 1
    elif prog in _SHELLS:
        via = f"{prog} -c"
        for i, tok in enumerate(tokens[1:], 1):
            t = tok.text
            if t.startswith("-") and not t.startswith("--") and "c" in t[1:]:
                script_idx = i + 1
                break
            if not t.startswith("-"):
                return False
    if script_idx is None or script_idx >= len(tokens):
        return False
    if prog == "eval":
        script = " ".join(t.text for t in tokens[1:])
        known = all(t.known for t in tokens[1:])
    else:
        script, known = tokens[script_idx].text, tokens[script_idx].known
    if not known:
        return False
    node = next((w for w in words if self.span(w) == tokens[script_idx].span), words[0])
    rowmap = _exact_map(self, tokens, script_idx, words, script, prog == "eval")
    if rowmap is None:
        rowmap = _string_rowmap(self, tokens[script_idx], node.start_point[0], script)
    for cmd in _reparse(self, script, rowmap):
        cmd.env = {**env, **cmd.env}
        cmd.background = cmd.background or background
        cmd.context.setdefault("via", via)
    return True


def _reparse(self, script: str, rowmap: RowMap) -> list:
    """Walk ``script`` one nesting level deeper; its commands and continuation findings
    join this walker's result.  Returns the commands it added."""
    from hicachectl.lint.extract.shell import ShellResult

    inner = ShellResult()
    sub = type(self)(
        script,
        self.path,
        rowmap,
        self.host_format,
        self.group,
        self.vars,
        inner,
        self.depth + 1,
    )
    sub.exported_names = self.exported_names  # the variables are shared, so is the export
    sub.run()
    kept = find_breaks(sub, inner.findings)
    self.result.commands.extend(kept)
    self.result.findings.extend(inner.findings)
    return kept


MAX_EXACT = 1 << 16  # longer strings keep the row-by-row approximation (one point per char)
_PARAM = re.compile(r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})")


def decode_points(raw: str, pos_of, lookup=None) -> tuple[str, list] | None:
    """Bash's quote removal on ``raw`` (a word as written), with the file position of each
    resulting character (``pos_of(i)`` for ``raw[i]``).  ``$name`` / ``${name}`` expand
    through ``lookup(name)`` (a known string, else None); their characters spread over the
    reference.  None when the word expands anything else (``$(...)``, backticks,
    ``$'...'``, an unknown variable, an unquoted value with blanks) or is unterminated:
    then the caller approximates."""
    out: list[str] = []
    pts: list = []
    i, n, mode = 0, len(raw), ""
    while i < n:
        ch = raw[i]
        if ch == "$" and mode != "'" and lookup is not None and (m := _PARAM.match(raw, i)):
            value = lookup(m.group(1) or m.group(2))
            if value is None or (mode == "" and (not value or any(c.isspace() for c in value))):
                return None
            for k, vch in enumerate(value):
                out.append(vch)
                pts.append(pos_of(min(i + k, m.end() - 1)))
            i = m.end()
            continue
        if mode == "'":
            if ch == "'":
                mode = ""
            else:
                out.append(ch)
                pts.append(pos_of(i))
            i += 1
            continue
        if ch in "$`":
            return None
        if mode == "" and ch in "'\"":
            mode = ch
            i += 1
            continue
        if mode == '"' and ch == '"':
            mode = ""
            i += 1
            continue
        if ch == "\\" and i + 1 < n and (mode == "" or raw[i + 1] in '$`"\\\n'):
            if raw[i + 1] != "\n":  # a backslash-newline disappears
                out.append(raw[i + 1])
                pts.append(pos_of(i + 1))
            i += 2
            continue
        if ch == "\\" and mode == "":
            return None  # a lone backslash at the end of the word
        out.append(ch)
        pts.append(pos_of(i))
        i += 1
    return ("".join(out), pts) if mode == "" else None


def node_points(self, node, expected: str) -> list | None:
    """File positions of the characters of ``node``'s value, if decoding its source text
    gives exactly ``expected`` (the value the walker computed); else None."""
    raw = self._raw(node)
    if len(raw) > MAX_EXACT:
        return None
    srow, scol = node.start_point
    row_starts = [0] + [k + 1 for k, ch in enumerate(raw) if ch == "\n"]

    def pos_of(i: int):
        r = bisect_right(row_starts, i) - 1
        col = i - row_starts[r] + (scol if r == 0 else 0)
        if self.fast:
            return srow + r + 1, col + 1
        return self.rowmap.line_col(srow + r, col)

    def lookup(name: str) -> str | None:
        var = self.vars.get(name)
        ok = var is not None and var.known and isinstance(var.value, str)
        return var.value if ok else None  # type: ignore[union-attr]

    decoded = decode_points(raw, pos_of, lookup)
    if decoded is None or decoded[0] != expected:
        return None
    return decoded[1]


def _exact_map(self, tokens, script_idx, words, script: str, is_eval: bool) -> CharMap | None:
    """A character-exact map of the re-parsed string, when every part can be decoded."""
    tok = tokens[script_idx]
    if tok.raw.startswith(("$", '"$')):  # eval "$CMD": the assignment's points, if known
        var = self.vars.get(tok.raw.strip('"${}'))
        if var is None or not var.points or var.value != script or not is_eval:
            return None
        if len(tokens) != 2:
            return None
        return CharMap(script, var.points)
    parts = tokens[script_idx:] if is_eval else [tok]
    points: list = []
    for k, part in enumerate(parts):
        node = next((w for w in words if self.span(w) == part.span), None)
        if node is None:
            return None
        pts = node_points(self, node, part.text)
        if pts is None:
            return None
        if k:  # eval joins its words with one space: map it just after the previous word
            line, col = points[-1] if points else (part.span.line, part.span.col)
            points.append((line, col + 1))
        points += pts
    if len(points) != len(script):
        return None
    return CharMap(script, points)


def _string_rowmap(self, tok: Token, srow: int, script: str) -> RowMap:
    """Rows of a re-parsed string: first row after the quote, later rows as in the file."""
    raw = tok.raw
    line, col = tok.span.line, tok.span.col
    var = None
    if raw.startswith(("$", '"$')):
        name = raw.strip('"${}')
        var = self.vars.get(name)
    if var is not None and var.origin is not None:
        line, col = var.origin
    elif not raw.startswith(("'", '"', "$'")):
        col -= 1  # unquoted word: content starts at the token itself
    elif raw.startswith("$'"):
        col += 1
    rows = [(line, col)]
    if var is None or var.origin is None:
        for i in range(1, script.count("\n") + 1):
            fl, fc = self.rowmap.line_col(srow + i, 0)
            rows.append((fl, fc - 1))
    return RowMap(tuple(rows))


def run_heredoc(self, node) -> None:
    """``bash <<EOF … EOF`` (also ``ssh host bash -s <<EOF``): the body is a script."""
    import posixpath

    stmt = node.parent
    cmd = next((c for c in stmt.children if c.type == "command"), None) if stmt else None
    body = next((c for c in node.children if c.type == "heredoc_body"), None)
    if cmd is None or body is None:
        return
    words = [self._raw(w) for w in cmd.children if w.type in ("command_name", "word")]
    if not any(posixpath.basename(w) in _SHELLS for w in words[:6]):
        return
    if any(w.startswith("-") and not w.startswith("--") and "c" in w[1:] for w in words):
        return  # bash -c '…' reads its script from the argument, not stdin
    text = self._raw(body)
    srow = body.start_point[0]
    rows = []
    for i in range(text.count("\n") + 1):
        line, col = self.rowmap.line_col(srow + i, 0)
        rows.append((line, col - 1))
    for c in _reparse(self, text, RowMap(tuple(rows))):
        c.context.setdefault("via", "heredoc")
