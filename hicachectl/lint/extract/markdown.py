"""Markdown runbooks: shell commands inside fenced and indented code blocks.

Fences (``` or ~~~, three or more, any indentation so that fences inside list items count)
tagged bash/sh/shell/zsh/console/shell-session, or untagged, are cut out as shell snippets
with a row map back to the file.  In console blocks (or any block whose first line starts
with ``$ ``) the ``$ ``/``# `` prompts are stripped and output lines are blanked, keeping
continuation lines of a prompted command.  Variables carry from one fence to the next: a
runbook exports MODEL in one block and uses it in the next.  One document is one group.
Indented code blocks (four spaces, after a blank line, outside lists) are read the same way
when they mention sglang or dynamo.
"""

from __future__ import annotations

import re

from hicachectl.lint.extract.common import RowMap, parse_directive
from hicachectl.lint.extract.shell import extract_shell
from hicachectl.lint.extract.shell_words import Vars
from hicachectl.lint.types import Extraction, Suppression

_OPEN = re.compile(r"^([ \t]*)(`{3,}|~{3,})[ \t]*([^\s`{]*)?[ \t]*(\{[^}]*\})?(.*)$")
_SHELL_TAGS = frozenset(
    {
        "",
        "bash",
        "sh",
        "shell",
        "zsh",
        "console",
        "shell-session",
        "shellsession",
        "sh-session",
        "terminal",
    }
)
_CONSOLE_TAGS = frozenset({"console", "shell-session", "shellsession", "sh-session", "terminal"})
_HTML_DIRECTIVE = re.compile(r"<!--\s*(hicachectl:[^>]*?)-->")
_QUOTE = re.compile(r"^(?:[ ]{0,3}>[ ]?)+")
# "$ ", "# ", "(venv) $ ", "user@host:~/dir$ " ; auto-detection of console blocks uses
# only "$" prompts, since "# " opening a bash block is usually a comment
_PROMPT_HEAD = r"^(?:\([^)\s]*\)\s*)?(?:[\w.-]+@[\w.-]+(?::[^\s$#]*)?\s*)?"
_PROMPT = re.compile(_PROMPT_HEAD + r"[$#](?: |$)")
_DOLLAR_PROMPT = re.compile(_PROMPT_HEAD + r"\$(?: |$)")
_PS2 = re.compile(r"^> ")


def _fences(lines: list[str]):
    """Yield (open_row, indent, tag, first_content_row, end_row, closed)."""
    i, n = 0, len(lines)
    while i < n:
        m = _OPEN.match(lines[i]) if ("`" in lines[i] or "~" in lines[i]) else None
        if not m or (m.group(2)[0] == "`" and "`" in (m.group(5) or "")):
            i += 1
            continue
        indent, marker = len(m.group(1).expandtabs(4)), m.group(2)
        tag = (m.group(3) or "").lower()
        if not tag and m.group(4):  # {.bash} attribute form
            tag = m.group(4).strip("{} .").split()[0].lower() if m.group(4).strip("{} .") else ""
        close = re.compile(
            r"^[ \t]*" + re.escape(marker[0]) + "{" + str(len(marker)) + r",}[ \t]*$"
        )
        j = i + 1
        while j < n and not close.match(lines[j]):
            j += 1
        yield i, indent, tag, i + 1, j, j < n
        i = j + 1


def _directive_before(lines: list[str], row: int):
    """The <!-- hicachectl: ... --> on the last non-blank line before ``row``, if any."""
    k = row - 1
    while k >= 0 and not lines[k].strip():
        k -= 1
    if k < 0:
        return None
    m = _HTML_DIRECTIVE.search(lines[k])
    return parse_directive(m.group(1)) if m else None


def extract_markdown(text: str, ex: Extraction) -> None:
    lines = ex.lines or text.split("\n")
    vars = Vars()
    for line in lines:
        if "hicachectl:" in line and "<!--" in line:
            m = _HTML_DIRECTIVE.search(line)
            d = parse_directive(m.group(1)) if m else None
            if d and d[0]:
                ex.suppressions.append(Suppression(d[1], 0, d[2], file_wide=True))
    # fences inside blockquotes ("> ```bash"): read them with the "> " markers cut off
    quoted = [0] * len(lines)
    if any(ln.lstrip().startswith(">") for ln in lines):
        quoted = [len(m.group(0)) if (m := _QUOTE.match(ln)) else 0 for ln in lines]
        lines = [ln[q:] for ln, q in zip(lines, quoted, strict=True)]
    fence_rows: set[int] = set()
    blocks = []  # (first content row, kind, fields) in document order
    for open_row, indent, tag, first, end, closed in _fences(lines):
        fence_rows.update(range(open_row, end + 1))
        if not closed:
            ex.notes.append(
                f"{ex.path}:{open_row + 1}: unterminated code fence; its block runs to the end "
                "of the file"
            )
        if tag in ("yaml", "yml") and closed:
            cuts = [
                min(len(r) - len(r.lstrip(" ")), indent) + quoted[first + k]
                for k, r in enumerate(lines[first:end])
            ]
            yaml_fence(
                [r[min(len(r) - len(r.lstrip(" ")), indent) :] for r in lines[first:end]],
                first,
                cuts,
                ex,
            )
            continue
        if tag in _SHELL_TAGS:
            blocks.append((first, (open_row, indent, tag, first, end)))
    for first, end in _indented_blocks(lines, fence_rows):
        blocks.append((first, (None, INDENT, "", first, end)))
    for _, (open_row, indent, tag, first, end) in sorted(blocks):
        _shell_block(lines, quoted, open_row, indent, tag, first, end, ex, vars)


INDENT = 4  # an indented code block: four spaces (or a tab) more than the text around it
_LAUNCH_HINT = re.compile(r"\b(?:sglang|dynamo)\b")
_LIST_ITEM = re.compile(r"^[ ]{0,3}(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")


def _indented_blocks(lines: list[str], fence_rows: set[int]):
    """Yield (first, end) of CommonMark indented code blocks that hold a launch command.

    A block starts after a blank line (it cannot interrupt a paragraph), outside fences and
    outside lists (four spaces inside a list item continue the item's text), and runs while
    lines are blank or indented; trailing blank lines are not part of it.  Only blocks that
    mention sglang or dynamo are taken: an indented block of prose or another language
    must not be read as shell.
    """
    i, n = 0, len(lines)
    in_list = False
    while i < n:
        line = lines[i]
        if i in fence_rows:
            i += 1
            continue
        indented = line.startswith("\t") or line.startswith(" " * INDENT)
        if not line.strip():
            i += 1
            continue
        if not indented:
            # a list lasts until a line at the margin that is not an item
            in_list = bool(_LIST_ITEM.match(line)) or (in_list and line.startswith(" "))
            i += 1
            continue
        if in_list or (i > 0 and lines[i - 1].strip()):
            i += 1  # list content or a paragraph's continuation line
            continue
        j = i
        while (
            j < n
            and j not in fence_rows
            and (
                not lines[j].strip()
                or lines[j].startswith("\t")
                or lines[j].startswith(" " * INDENT)
            )
        ):
            j += 1
        end = j
        while end > i and not lines[end - 1].strip():
            end -= 1
        if any(_LAUNCH_HINT.search(r) for r in lines[i:end]):
            yield i, end
        i = j


def _shell_block(lines, quoted, open_row, indent, tag, first, end, ex, vars) -> None:
    """Extract one shell block (a fence's body, or an indented code block when ``open_row``
    is None) with its rows mapped back into the document."""
    body = lines[first:end]
    console = tag in _CONSOLE_TAGS or bool(
        _DOLLAR_PROMPT.match(next((b for b in body if b.strip()), "").lstrip())
    )
    rows: list[tuple[int, int]] = []
    out: list[str] = []
    in_cmd = False
    for k, raw in enumerate(body):
        if open_row is None and raw.startswith("\t"):
            cut, s = 1, raw[1:]
        else:
            lead = len(raw) - len(raw.lstrip(" "))
            cut = min(lead, indent)
            s = raw[cut:]
        if console:
            stripped = s.lstrip()
            pm = _PROMPT.match(stripped)
            if pm:
                cut += (len(s) - len(stripped)) + pm.end()
                s = stripped[pm.end() :]
                in_cmd = True
            elif in_cmd and _PS2.match(stripped):  # "> " continuation prompt
                cut += (len(s) - len(stripped)) + 2
                s = stripped[2:]
            elif not in_cmd:
                s = ""  # command output
            in_cmd = in_cmd and s.rstrip().endswith("\\")
        rows.append((first + k + 1, cut + quoted[first + k]))
        out.append(s)
    if not any(o.strip() for o in out):
        return
    r = extract_shell(
        "\n".join(out),
        ex.path,
        rowmap=RowMap(tuple(rows)),
        host_format="markdown",
        group=ex.path,
        vars=vars,
        syntax_notes=bool(tag),  # untagged blocks often hold output or other languages
    )
    for c in r.commands:
        c.context["fence_line"] = (open_row if open_row is not None else first) + 1
        c.context["fence_tag"] = tag if open_row is not None else "indented"
    ex.commands.extend(r.commands)
    ex.findings.extend(r.findings)
    ex.suppressions.extend(r.suppressions)
    ex.file_env.update(r.file_env)
    ex.notes.extend(r.notes)
    d = _directive_before(lines, open_row if open_row is not None else first)
    if d and not d[0]:
        _, codes, reason = d
        last = end + 2 if open_row is not None else end + 1  # through the closing fence
        ex.suppressions.extend(
            Suppression(codes, ln, reason)
            for ln in range((open_row if open_row is not None else first) + 1, last)
        )


def yaml_fence(body: list[str], first: int, cuts: list[int], ex: Extraction) -> None:
    """A ```yaml fence holding a manifest (DGD, Deployment, compose, SGLang config): extract
    it like a file, then move every position to the fence's place in the document."""
    text = "\n".join(body)
    if not any(k in text for k in ("kind:", "services:", "model-path", "hicache")):
        return
    from dataclasses import replace

    from hicachectl.lint.extract.yaml_docs import extract_yaml

    sub = Extraction(path=ex.path, host_format="k8s", lines=body)
    extract_yaml(text, sub)

    def move(sp):
        k = min(max(sp.line - 1, 0), len(cuts) - 1)
        e = min(max(sp.end_line - 1, 0), len(cuts) - 1)
        return replace(
            sp,
            line=sp.line + first,
            col=sp.col + cuts[k],
            end_line=sp.end_line + first,
            end_col=sp.end_col + cuts[e],
        )

    for cmd in sub.commands:
        cmd.span = move(cmd.span)
        cmd.tokens = [replace(t, span=move(t.span)) for t in cmd.tokens]
        cmd.env_spans = {k: move(v) for k, v in cmd.env_spans.items()}
        cmd.group = (
            ex.path if cmd.group == ex.path else f"{ex.path}@{first}{cmd.group[len(ex.path) :]}"
        )
        cmd.context["fence_line"], cmd.context["fence_tag"] = first, "yaml"
    ex.commands.extend(sub.commands)
    ex.findings.extend(replace(f, span=move(f.span)) for f in sub.findings)
    ex.suppressions.extend(
        s if s.file_wide else replace(s, line=s.line + first) for s in sub.suppressions
    )
    ex.file_env.update(sub.file_env)
    ex.notes.extend(
        f"{ex.path}: yaml fence at line {first}: {n.split(': ', 1)[-1]}" for n in sub.notes
    )
