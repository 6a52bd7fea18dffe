"""Broken and dangling line continuations, found after the tree walk.

A ``\\`` followed by spaces (``\\<space>``, ``\\  # comment``) escapes the space instead of the
newline, so the command ends on that line and every following ``--flag`` line is parsed as a
command of its own.  The same happens when a comment line or a blank line sits inside a
continued command.  We report the root cause at the backslash, list the flags that were lost,
and drop the orphaned ``--flag`` "commands" so no rule reports them as nonsense programs.
"""

from __future__ import annotations

import re

from hicachectl.lint.extract.common import BROKEN_CONTINUATION, DANGLING_CONTINUATION
from hicachectl.lint.types import Command, Finding, Span

# an unescaped backslash (even run of backslashes before it) followed by blanks [+ comment]
_BROKEN = re.compile(r"(?<!\\)(?:\\\\)*(\\)([ \t]+)(#.*)?$")
_TRAILING = re.compile(r"(?<!\\)(?:\\\\)*(\\)$")
# an even run of backslashes ending the line (blanks and a comment may follow): ``\\`` is an
# escaped backslash -- a literal ``\`` argument -- and the newline after it ends the command
_ESCAPED = re.compile(r"(?<!\\)(\\\\)+[ \t]*(#.*)?$")


def _describe(cmd: Command) -> str:
    texts = [t.text for t in cmd.tokens[:10]]
    if "-m" in texts:
        i = texts.index("-m")
        if 0 < i < len(texts) - 1:
            return f"{texts[i - 1].rsplit('/', 1)[-1]} -m {texts[i + 1]}"
    return texts[0] if texts else "the command"


def _is_orphan(cmd: Command) -> bool:
    first = cmd.tokens[0].text if cmd.tokens else ""
    return first.startswith("-") and len(first) > 1


def find_breaks(walker, findings: list[Finding]) -> list[Command]:
    """Append HC001/HC002 findings for ``walker``'s text; return the commands to keep."""
    lines = walker.text.split("\n")
    placed = sorted(walker.placed, key=lambda p: p[1])
    if not placed and "\\" not in walker.text:
        return []
    by_end: dict[int, Command] = {}
    for cmd, _start, end in placed:
        by_end[end] = cmd  # the last command ending on a row owns that row's backslash
    orphan_ids: set[int] = set()
    starts = {start: (cmd, end) for cmd, start, end in placed}

    def next_code_row(row: int) -> int:
        while row < len(lines) and (not lines[row].strip() or lines[row].lstrip().startswith("#")):
            row += 1
        return row

    def chain(after_row: int) -> list[Command]:
        out = []
        row = next_code_row(after_row + 1)
        while row in starts and _is_orphan(starts[row][0]) and id(starts[row][0]) not in orphan_ids:
            cmd, end = starts[row]
            out.append(cmd)
            orphan_ids.add(id(cmd))
            row = next_code_row(end + 1)
        return out

    for row, line in enumerate(lines):
        if "\\" not in line and not line.lstrip().startswith("#"):
            continue
        root = None
        cause = ""
        col = 0
        m = _BROKEN.search(line)
        if m and row in by_end and not line.lstrip().startswith("#"):
            root, col = by_end[row], m.start(1)
            cause = (
                "'\\ ' followed by a comment"
                if m.group(3)
                else "'\\' followed by trailing whitespace"
            )
        elif (e := _ESCAPED.search(line)) and row in by_end and not line.lstrip().startswith("#"):
            # Only when flags were cut off (checked below): a literal backslash at the end
            # of a complete command is merely odd, and HC101 reports it as an argument.
            root, col = by_end[row], e.start(1)
            cause = "'\\\\' (an escaped backslash, not a continuation)"
        elif line.lstrip().startswith("#") and row > 0 and _TRAILING.search(lines[row - 1]):
            root = by_end.get(row - 1) or by_end.get(row)
            col, cause = (
                len(line) - len(line.lstrip()),
                "a comment line inside the continued command",
            )
        elif (
            _TRAILING.search(line)
            and row + 1 < len(lines)
            and not lines[row + 1].strip()
            and row in by_end
        ):
            root, col = by_end[row], len(line) - 1
            cause = "a blank line after '\\'"
        if root is None and m and row in walker.assign_rows:
            _lost_env(walker, lines, row, m, starts, next_code_row, findings)
            continue
        if root is None or id(root) in orphan_ids:
            continue
        lost = chain(row)
        if not lost and (not cause.startswith("'\\") or cause.startswith("'\\\\")):
            continue  # a blank or comment line ends the command; nothing was cut off
        flags = [
            t.text for c in lost for t in c.tokens if t.text.startswith("-") and len(t.text) > 1
        ]
        prog = _describe(root)
        if flags:
            n = len(flags)
            msg = (
                f"line continuation broken by {cause}: {n} flag{'s' if n != 1 else ''} after "
                f"it {'are' if n != 1 else 'is'} not passed to {prog}: {', '.join(flags)}"
            )
        elif lost:
            msg = (
                f"line continuation broken by {cause}: the lines after it are not passed to {prog}"
            )
        else:
            msg = (
                f"line continuation broken by {cause}: the command {prog} ends here and "
                f"'\\ ' passes a stray space argument"
            )
        findings.append(_at(walker, row, col, BROKEN_CONTINUATION, msg))
        if cause.startswith("'\\\\'"):
            # the literal backslash argument is this finding's subject, not a second one
            line, c = walker.rowmap.line_col(row, col)
            root.tokens = [
                t for t in root.tokens if not (t.span.line == line and t.span.col == c)
            ]
    last = len(lines) - 1
    while last >= 0 and not lines[last].strip():
        last -= 1
    if last >= 0 and not lines[last].lstrip().startswith("#"):
        m = _TRAILING.search(lines[last])
        if m and any(s <= last <= e + 1 for _, s, e in placed):
            where = {"markdown": "code block", "shell": "file"}.get(walker.host_format, "script")
            msg = (
                f"line continuation '\\' at the end of the {where} continues into nothing: "
                "the command ends here (a line is missing or was cut off)"
            )
            findings.append(_at(walker, last, m.start(1), DANGLING_CONTINUATION, msg))
    return [cmd for cmd, _, _ in placed if id(cmd) not in orphan_ids]


def _lost_env(walker, lines, row, m, starts, next_code_row, findings) -> None:
    r"""``X=1 \<space>`` before a command: X becomes the prefix of a command named ' '."""
    nxt = next_code_row(row + 1)
    if nxt not in starts:
        return
    name = walker.assign_rows[row]
    prog = _describe(starts[nxt][0])
    cause = "'\\ ' followed by a comment" if m.group(3) else "'\\' followed by trailing whitespace"
    msg = (
        f"line continuation broken by {cause}: {name} is not set for {prog} on the next line "
        "(the shell runs a command named ' ' with it instead)"
    )
    findings.append(_at(walker, row, m.start(1), BROKEN_CONTINUATION, msg))


def _at(walker, row: int, col: int, rule: tuple[str, str], msg: str) -> Finding:
    """An error finding at one snippet position (the backslash), mapped into the file."""
    line, c = walker.rowmap.line_col(row, col)
    return Finding(walker.path, Span(line, c, line, c), rule[0], rule[1], "error", msg)
