"""Where tree-sitter-bash and bash disagree, and what runbooks write that is not shell.

A mixin for the shell walker (``shell._Walker``): syntax-error notes, words that
tree-sitter keeps inside a redirection, ``--flag=value`` words it reads as assignments,
and documentation placeholders (``<model_path>``, ``...``) that must stay unknown values.
"""

from __future__ import annotations

import re

# A documentation placeholder such as `<model_path>`, `<path/to/model>` or `<host:port>`.
# Bash would read it as two redirections (`< model_path`, then `>` swallowing the next
# word); every runbook means "put your value here".  The parse copy turns its brackets into word characters and
# the token's value is unknown.
PLACEHOLDER = re.compile(r"(?:(?<=[\s=:/,'\"@])|^)<[A-Za-z][A-Za-z0-9_.:/\-]*>(?![>&(])", re.M)
# tree-sitter-bash reads a word such as `--port=8000` that starts a command as an assignment
# to a variable named `--port`; bash needs a valid name, so such a word is an argument.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# An elided argument list in a runbook (`python -m dynamo.sglang ... --log-level debug`).
ELLIPSES = frozenset({"...", "\u2026"})


def hide_placeholders(data: str) -> str:
    """The parse copy of ``data`` with each placeholder's brackets turned into word
    characters (same length: byte offsets stay those of the original)."""
    if "<" not in data:
        return data
    return PLACEHOLDER.sub(lambda m: "x" * len(m.group(0)), data)


def is_vague(raw: str) -> bool:
    """A word that stands for values the text does not give: a placeholder or ``...``."""
    return raw in ELLIPSES or ("<" in raw and PLACEHOLDER.search(raw) is not None)


class SyntaxHelpers:
    """Mixin for ``_Walker`` (which provides text, path, rowmap, result and _raw())."""

    def _syntax_note(self, root) -> None:
        """One note at the first ERROR/MISSING node: tree-sitter recovers, we say where."""
        stack = [root]
        while stack:
            node = stack.pop()
            if node.is_missing and self._flag_line(node):
                continue
            if node.is_missing or node.type == "ERROR":
                tail = self.text.rstrip()
                if tail.endswith("\\") and node.start_point[0] >= tail.count("\n"):
                    return  # a dangling '\' at the end: reported as HC002
                line, col = self.rowmap.line_col(node.start_point[0], node.start_point[1])
                what = f"missing '{node.type}'" if node.is_missing else "cannot parse this"
                self.result.notes.append(
                    f"{self.path}:{line}:{col}: shell syntax error ({what}; an unterminated "
                    "quote or bracket?): commands after it may be incomplete"
                )
                return
            if node.has_error:
                stack.extend(reversed(node.children))

    def _redirect_args(self, node) -> None:
        """Bash takes only the first word after a redirection operator as its target; the
        words after it are arguments of the command (`cmd 2>&1 --tp 2`).  tree-sitter-bash
        keeps them inside the redirect node, so they are handed to the command here."""
        body = node.child_by_field_name("body")
        if body is None or body.type != "command":
            return
        extra = []
        for child in node.children:
            if child.type == "file_redirect":
                named = [c for c in child.named_children if c.type != "file_descriptor"]
                extra.extend(named[1:])
        if extra:
            self.redirect_args[body.id] = extra

    def _flag_line(self, missing) -> bool:
        """The MISSING command name tree-sitter adds after `--flag=value` words (see _NAME):
        not a syntax error in bash."""
        parent = missing.parent
        parent = parent.parent if parent is not None and parent.type == "command_name" else parent
        return parent is not None and any(
            c.type == "variable_assignment" and not self._valid_name(c) for c in parent.children
        )

    def _valid_name(self, node) -> bool:
        name = node.child_by_field_name("name")
        return (
            name is None or name.type != "variable_name" or bool(_NAME.fullmatch(self._raw(name)))
        )
