"""Where things are: the file spans a rule reports for a CommandView's flags, values,
parser problems and environment variables (a mixin of :class:`~hicachectl.lint.view.CommandView`).

A problem that comes from a ``--config`` file held in a ConfigMap of the same manifest is
reported at the key in that ConfigMap, not at the ``--config`` path.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from hicachectl.lint.types import Span

if TYPE_CHECKING:
    from hicachectl.sglang.types import Problem

_FLAG_IN_MESSAGE = re.compile(r"--[A-Za-z0-9][A-Za-z0-9_-]*")


def merge_spans(a: Span, b: Span) -> Span:
    first, last = (a, b) if (a.line, a.col) <= (b.line, b.col) else (b, a)
    return Span(first.line, first.col, last.end_line, last.end_col)


class SpanLookup:
    """Mixin for CommandView (which provides cmd, ctx, parsed, token(), explicit_index()
    and _flag())."""

    def token_span(self, index: int | None) -> Span:
        tok = self.token(index)
        return tok.span if tok is not None else self.head_span

    def problem_span(self, p: Problem) -> Span:
        """Where a parser problem is: its token; when that token is a ``--config`` path whose
        file is a ConfigMap value in this file, the key in that value naming the flag."""
        return self.config_key_span(p.token_index, p.message) or self.token_span(p.token_index)

    def flag_span(self, index: int | None, flag: str) -> Span:
        """Span of the word at ``index`` naming ``flag``, or of that key in a mounted config."""
        return self.config_key_span(index, flag) or self.token_span(index)

    def config_key_span(self, index: int | None, message: str) -> Span | None:
        tok = self.token(index)
        path = tok.text.split("=", 1)[1] if tok and tok.text.startswith("--config=") else None
        sources = self.cmd.context.get("config_sources") or {}
        source = sources.get(path or tok.text) if tok else None
        if source is None:
            return None
        cm, _, key = source.rpartition("/")
        target = next(
            (
                c
                for c in self.ctx.extraction.commands
                if c.context.get("configmap") == cm and c.context.get("config_key") == key
            ),
            None,
        )
        if target is None:
            return None
        for flag in _FLAG_IN_MESSAGE.findall(message):
            norm = flag.replace("_", "-")
            for t in target.tokens:
                if t.text.startswith("--") and t.text.replace("_", "-") == norm:
                    return t.span
        return None

    @property
    def head_span(self) -> Span:
        """The entry point's token (``dynamo.sglang``), else the command's first token."""
        idx = max(self.parsed.entry_index - 1, 0)
        tok = self.token(idx) or (self.cmd.tokens[0] if self.cmd.tokens else None)
        return tok.span if tok is not None else self.cmd.span

    def span_of(self, dest: str) -> Span:
        """Span of the flag that set ``dest`` (flag and value), else of ``--config``, else
        the entry point."""
        idx = self.explicit_index(dest)
        if idx is None:
            return self.head_span
        if idx < 0:  # set by the --config file: its key when the file is in this manifest
            texts = [t.text for t in self.cmd.tokens]
            at = next(
                (i for i, t in enumerate(texts) if t == "--config" or t.startswith("--config=")),
                None,
            )
            if at is None:
                return self.head_span
            path = at + 1 if texts[at] == "--config" else at
            key = self.config_key_span(path, self.flag_name(dest))
            return key or self.token_span(path)
        tok = self.token(idx)
        if tok is None:
            return self.head_span
        nxt = self.token(idx + 1)
        if "=" not in tok.text and nxt is not None and not nxt.text.startswith("--"):
            flag = self._flag(dest)
            if flag is not None and flag.takes_value:
                return merge_spans(tok.span, nxt.span)
        return tok.span

    def env_span(self, name: str) -> Span:
        return self.cmd.env_spans.get(name, self.head_span)
