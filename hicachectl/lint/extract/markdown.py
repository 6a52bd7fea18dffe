"""Markdown runbooks: shell commands inside fenced code blocks.

Fences (``` or ~~~, three or more, any indentation so that fences inside list items count)
tagged bash/sh/shell/zsh/console/shell-session, or untagged, are cut out as shell snippets
with a row map back to the file.  In console blocks (or any block whose first line starts
with ``$ ``) the ``$ ``/``# `` prompts are stripped and output lines are blanked, keeping
continuation lines of a prompted command.  Variables carry from one fence to the next: a
runbook exports MODEL in one block and uses it in the next.  One document is one group.
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
    for open_row, indent, tag, first, end, closed in _fences(lines):
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
        if tag not in _SHELL_TAGS:
            continue
        body = lines[first:end]
        console = tag in _CONSOLE_TAGS or bool(
            _DOLLAR_PROMPT.match(next((b for b in body if b.strip()), "").lstrip())
        )
        rows: list[tuple[int, int]] = []
        out: list[str] = []
        in_cmd = False
        for k, raw in enumerate(body):
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
            continue
        r = extract_shell(
            "\n".join(out),
            ex.path,
            rowmap=RowMap(tuple(rows)),
            host_format="markdown",
            group=ex.path,
            vars=vars,
            syntax_notes=bool(tag),  # untagged fences often hold output or other languages
        )
        for c in r.commands:
            c.context["fence_line"] = open_row + 1
            c.context["fence_tag"] = tag
        ex.commands.extend(r.commands)
        ex.findings.extend(r.findings)
        ex.suppressions.extend(r.suppressions)
        ex.file_env.update(r.file_env)
        ex.notes.extend(r.notes)
        d = _directive_before(lines, open_row)
        if d and not d[0]:
            _, codes, reason = d
            ex.suppressions.extend(
                Suppression(codes, ln, reason) for ln in range(open_row + 1, end + 2)
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
