"""Inline suppression: drop findings covered by ``hicachectl: disable=`` directives, which
the extractors turn into :class:`Suppression` objects (shell/YAML/Dockerfile ``#`` comments,
Markdown ``<!-- -->`` before a fence, ``disable-file=``)."""

from __future__ import annotations

from hicachectl.errors import UsageError
from hicachectl.lint.config import resolve_code
from hicachectl.lint.types import Extraction, Finding


def apply_suppressions(findings: list[Finding], ext: Extraction) -> list[Finding]:
    """Drop findings covered by inline directives.

    A directive applies to the line it names; when that line starts a command, it covers
    every line of the command (a directive before a multi-line command silences all of it).
    """
    if not ext.suppressions or not findings:
        return findings
    file_wide: set[str] = set()
    by_line: dict[int, set[str]] = {}
    starts: dict[int, int] = {}
    for c in ext.commands:
        starts[c.span.line] = max(starts.get(c.span.line, 0), c.span.end_line)
    for s in ext.suppressions:
        codes = {_code_or_raw(c) for c in s.codes}
        if s.file_wide:
            file_wide |= codes
            continue
        end = starts.get(s.line, s.line)
        for line in range(s.line, end + 1):
            by_line.setdefault(line, set()).update(codes)
    out = []
    for f in findings:
        codes = file_wide | by_line.get(f.span.line, set())
        if codes and ("all" in codes or f.code in codes or f.name in codes):
            continue
        out.append(f)
    return out


def _code_or_raw(text: str) -> str:
    try:
        return resolve_code(text)
    except UsageError:
        return text.strip()
