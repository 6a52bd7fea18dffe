"""Where each character of a YAML scalar came from, so shell parsed out of it reports
positions in the YAML file.

* literal ``|``: value row *i* is file line ``indicator + 1 + i`` at the block's indent (exact);
* folded ``>``: folding would join ``\\``-continued lines with a space, so we read the block's
  source lines as written (exact positions) and the caller notes the folding;
* quoted (``'…'``/``"…"``, also multi-line with ``\\n`` escapes) and plain scalars: decoded
  here character by character with their source positions, and used only when the result
  equals the parser's value; otherwise every row maps to the scalar's first line
  (approximate, documented).
"""

from __future__ import annotations

from hicachectl.lint.extract.common import CharMap, RowMap
from hicachectl.lint.extract.yaml_docs import YNode

_ESC = {
    "0": "\0",
    "a": "\a",
    "b": "\b",
    "t": "\t",
    "\t": "\t",
    "n": "\n",
    "v": "\v",
    "f": "\f",
    "r": "\r",
    "e": "\x1b",
    " ": " ",
    '"': '"',
    "/": "/",
    "\\": "\\",
    "N": "\x85",
    "_": "\xa0",
    "L": "\u2028",
    "P": "\u2029",
}
_HEX = {"x": 2, "u": 4, "U": 8}


def _indent_of(lines: list[str], start: int, end: int) -> int:
    for k in range(start, min(end, len(lines))):
        if lines[k].strip():
            return len(lines[k]) - len(lines[k].lstrip(" "))
    return 0


def scalar_snippet(node: YNode, lines: list[str]):
    """(text, map, note) for a scalar that holds shell text; note is '' or a one-liner."""
    style = node.style
    if style in ("|", ">"):
        first = node.line  # 0-based index of the first content line == 1-based header line
        last = node.end_line - 1 if node.end_col == 0 else node.end_line
        last = min(last, len(lines))
        indent = _indent_of(lines, first, last)
        if style == "|":
            rows = node.value.split("\n")
            text = node.value
        else:
            rows = [ln[indent:] if len(ln) >= indent else "" for ln in lines[first:last]]
            text = "\n".join(rows).rstrip("\n") + "\n"
        rmap = RowMap(tuple((first + 1 + i, indent) for i in range(len(text.split("\n")))))
        note = ""
        if style == ">" and any(r.rstrip().endswith("\\") for r in rows):
            note = (
                f"line {node.line}: folded block scalar '>' joins lines, so each '\\' "
                "continuation becomes '\\ ' at run time; use '|' (read here as written)"
            )
        return text, rmap, note
    points = _decode(node, lines)
    if points is not None:
        return node.value, CharMap(node.value, points), ""
    col0 = node.col if style in ("'", '"') else node.col - 1
    return node.value, RowMap(((node.line, col0),) * (node.value.count("\n") + 1)), ""


def _decode(node: YNode, lines: list[str]) -> list[tuple[int, int]] | None:
    """Per-character source positions of a flow scalar, or None if we cannot reproduce it."""
    style = node.style
    r, c = node.line - 1, node.col - 1
    if style in ("'", '"'):
        c += 1
    out: list[str] = []
    pts: list[tuple[int, int]] = []
    n_lines = len(lines)
    while r < n_lines:
        line = lines[r]
        while c < len(line):
            if style is None and r + 1 == node.end_line and c >= node.end_col:
                return pts if "".join(out) == node.value else None  # plain scalar ends here
            ch = line[c]
            if (
                style == '"'
                and ch == '"'
                or style == "'"
                and ch == "'"
                and line[c + 1 : c + 2] != "'"
            ):
                return pts if "".join(out) == node.value else None
            if style == "'" and ch == "'":
                out.append("'")
                pts.append((r + 1, c + 1))
                c += 2
                continue
            if style == '"' and ch == "\\":
                nxt = line[c + 1 : c + 2]
                if nxt == "":  # escaped line break: join without a space
                    r, c = r + 1, 0
                    if r < n_lines:
                        c = len(lines[r]) - len(lines[r].lstrip(" \t"))
                    break
                if nxt in _HEX:
                    k = _HEX[nxt]
                    try:
                        out.append(chr(int(line[c + 2 : c + 2 + k], 16)))
                    except ValueError:
                        return None
                    pts.append((r + 1, c + 1))
                    c += 2 + k
                    continue
                if nxt not in _ESC:
                    return None
                out.append(_ESC[nxt])
                pts.append((r + 1, c + 1))
                c += 2
                continue
            out.append(ch)
            pts.append((r + 1, c + 1))
            c += 1
        else:
            if style is None and r + 1 >= node.end_line:  # plain scalar ends with its line
                s = "".join(out).rstrip()
                return pts[: len(s)] if s == node.value else None
            # line break inside a quoted scalar: trailing blanks dropped, then one space,
            # or one "\n" per empty line that follows
            while out and out[-1] in " \t" and pts[-1][0] == r + 1:
                out.pop()
                pts.pop()
            r += 1
            empties = 0
            while r < n_lines and not lines[r].strip():
                empties += 1
                r += 1
            if r >= n_lines:
                return None
            brk = (r - empties, 0)
            if empties:
                out.extend("\n" * empties)
                pts.extend([brk] * empties)
            else:
                out.append(" ")
                pts.append((r, len(lines[r - 1]) + 1 if r >= 1 else 1))
            c = len(lines[r]) - len(lines[r].lstrip(" \t"))
            continue
        continue
    return None
