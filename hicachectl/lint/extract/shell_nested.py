"""Commands kept in a string: ``eval "…"`` and ``bash -c '…'`` (sh, zsh, dash, ksh too).

The string's value (quotes removed, known variables expanded) is re-parsed as shell with its
rows mapped back into the file: the first row starts after the opening quote (or at the
assignment of the variable the string came from, for ``eval "$CMD"``), later rows follow the
file.  Inside a double-quoted string an escape before a position shifts that row's columns
by one per escape: an accepted approximation.  Inner commands inherit the outer command's
env prefix and background flag, with ``context["via"]``.
"""

from __future__ import annotations

from hicachectl.lint.extract.common import RowMap
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
