"""Helpers every host-format extractor shares: snippet-to-file position maps and the
``hicachectl: disable=`` directive grammar.

A *snippet* is shell text cut out of a host file (a Markdown fence, a YAML block scalar, a
``bash -c`` string).  :class:`RowMap` says, for each snippet row, which file line it came from
and how many characters were cut from the left of that row, so a position in the snippet maps
back to the original file exactly (or, for escaped scalars, to the best known line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hicachectl.lint.types import Span, Suppression

# Codes the extractors emit themselves (the rule registry documents them).
BROKEN_CONTINUATION = ("HC001", "broken-continuation")
DANGLING_CONTINUATION = ("HC002", "dangling-continuation")

_DIRECTIVE = re.compile(
    r"hicachectl:\s*(disable-file|disable)\s*=\s*([A-Za-z0-9_,\- ]+?)\s*(?:--\s*(.*?))?\s*(?:-->)?\s*$"
)


def map_span(pos_map, srow: int, scol: int, erow: int, ecol: int) -> Span:
    """Map a half-open snippet range (tree-sitter style) to an inclusive file Span through
    ``pos_map.line_col``."""
    line, col = pos_map.line_col(srow, scol)
    end_line, end_col = pos_map.line_col(erow, max(ecol - 1, 0))
    if (end_line, end_col) < (line, col):
        end_line, end_col = line, col
    return Span(line, col, end_line, end_col)


@dataclass(frozen=True, slots=True)
class RowMap:
    """Snippet row (0-based) -> (file line 1-based, column offset in characters).

    ``rows`` may be shorter than the snippet: later rows continue from the last entry
    line by line with offset 0 (the tail of a multi-line quoted string).
    """

    rows: tuple[tuple[int, int], ...]

    @staticmethod
    def identity() -> RowMap:
        return _IDENTITY

    @staticmethod
    def at(line: int, col_offset: int) -> RowMap:
        """A snippet whose first row starts at ``line``/``col_offset`` (a quoted string)."""
        return RowMap(((line, col_offset),))

    def line_col(self, row: int, col: int) -> tuple[int, int]:
        """0-based snippet row and column -> 1-based file line and column."""
        rows = self.rows
        if not rows:
            return row + 1, col + 1
        if row < len(rows):
            line, off = rows[row]
            return line, col + off + 1
        last_line, _ = rows[-1]
        return last_line + (row - len(rows) + 1), col + 1

    def span(self, srow: int, scol: int, erow: int, ecol: int) -> Span:
        return map_span(self, srow, scol, erow, ecol)


_IDENTITY = RowMap(())


class CharMap:
    """Exact map for a decoded string (a YAML quoted scalar): every character of the value
    knows its (line, col) in the file, so escapes and folded lines do not shift positions."""

    __slots__ = ("points", "row_starts")

    def __init__(self, value: str, points: list[tuple[int, int]]) -> None:
        self.points = points  # 1-based (line, col) per value character
        starts = [0]
        for i, ch in enumerate(value):
            if ch == "\n":
                starts.append(i + 1)
        self.row_starts = starts

    def line_col(self, row: int, col: int) -> tuple[int, int]:
        if not self.points:
            return 1, 1
        start = self.row_starts[min(row, len(self.row_starts) - 1)]
        off = start + col
        if off < len(self.points):
            return self.points[off]
        line, c = self.points[-1]
        return line, c + 1 + (off - len(self.points))

    def span(self, srow: int, scol: int, erow: int, ecol: int) -> Span:
        return map_span(self, srow, scol, erow, ecol)


def parse_directive(comment: str) -> tuple[bool, tuple[str, ...], str] | None:
    """``hicachectl: disable=HC101,HC203 -- reason`` -> (file_wide, codes, reason)."""
    m = _DIRECTIVE.search(comment)
    if not m:
        return None
    codes = tuple(c.strip() for c in m.group(2).replace(" ", ",").split(",") if c.strip())
    if not codes:
        return None
    return m.group(1) == "disable-file", codes, (m.group(3) or "").strip()


def hash_comment_suppressions(lines: list[str], line_base: int = 1) -> list[Suppression]:
    """Directives in ``#`` comments (shell, YAML, Dockerfile).

    A directive alone on its line applies to the next line that is neither blank nor a
    comment (the first line of the command it precedes); a trailing one applies to its own
    line.  ``disable-file`` applies everywhere (line 0).
    """
    out: list[Suppression] = []
    pending: list[tuple[tuple[str, ...], str]] = []
    for i, raw in enumerate(lines):
        stripped = raw.strip()
        if pending and stripped and not stripped.startswith("#"):
            out.extend(Suppression(codes, i + line_base, reason) for codes, reason in pending)
            pending = []
        if "hicachectl:" not in raw:
            continue
        hash_at = raw.find("#")
        if hash_at < 0:
            continue
        d = parse_directive(raw[hash_at:])
        if d is None:
            continue
        file_wide, codes, reason = d
        if file_wide:
            out.append(Suppression(codes, 0, reason, file_wide=True))
        elif stripped.startswith("#"):
            pending.append((codes, reason))
        else:
            out.append(Suppression(codes, i + line_base, reason))
    return out
