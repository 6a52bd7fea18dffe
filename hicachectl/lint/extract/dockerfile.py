"""Dockerfiles: RUN / CMD / ENTRYPOINT in exec form (a JSON array: an argv, no variable
expansion) and shell form (``/bin/sh -c``: shell-extracted with the instruction's lines
mapped back).  Comment lines inside a continued instruction are dropped, as Docker does.
``# escape=`` is honoured; BuildKit heredocs (``RUN <<EOF``) are read as the script.
ENV values go to ``file_env`` and, like ARG defaults, feed later shell-form variables.
An exec-form ENTRYPOINT followed by an exec-form CMD is emitted as one argv (what runs).
"""

from __future__ import annotations

import json
import re

from hicachectl.lint.extract.common import RowMap, hash_comment_suppressions
from hicachectl.lint.extract.shell import extract_shell
from hicachectl.lint.extract.shell_words import Var, Vars
from hicachectl.lint.extract.yaml_compose import split_words
from hicachectl.lint.types import Command, Extraction, Span, Token

_INSTR = re.compile(r"^(\s*)([A-Za-z]+)(\s+|$)")
_JSON_STR = re.compile(r'"((?:[^"\\]|\\.)*)"')
_HEREDOC = re.compile(r"<<-?\s*['\"]?([A-Za-z_][A-Za-z0-9_]*)['\"]?")


def _instructions(lines: list[str], esc: str):
    """Yield (keyword, [(line_no, col_offset, text)]) for each logical instruction."""
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        m = _INSTR.match(line)
        if not line.strip() or line.lstrip().startswith("#") or not m:
            i += 1
            continue
        kw = m.group(2).upper()
        parts = [(i + 1, m.end(), line[m.end() :])]
        while parts[-1][2].rstrip().endswith(esc) and i + 1 < n:
            i += 1
            if lines[i].lstrip().startswith("#"):
                continue  # Docker drops comment lines inside a continued instruction
            parts.append((i + 1, 0, lines[i]))
        heredoc = _HEREDOC.search(parts[0][2]) if kw == "RUN" else None
        if heredoc:
            end = heredoc.group(1)
            body = []
            while i + 1 < n and lines[i + 1].strip() != end:
                i += 1
                body.append((i + 1, 0, lines[i]))
            i += 1
            parts = body
        yield kw, parts, heredoc is not None
        i += 1


def _is_shell_c(tokens: list[Token]) -> bool:
    return (
        len(tokens) >= 3
        and tokens[0].text.rsplit("/", 1)[-1] in ("sh", "bash", "zsh", "dash")
        and tokens[1].text.startswith("-")
        and "c" in tokens[1].text
    )


def _exec_form(parts) -> list[Token] | None:
    text = "\n".join(p[2] for p in parts).strip()
    if not text.startswith("["):
        return None
    try:
        value = json.loads(text.replace("\\\n", ""))
    except ValueError:
        return None  # Docker runs a non-JSON array as shell form
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None
    tokens = []
    for line_no, off, seg in parts:
        for m in _JSON_STR.finditer(seg):
            col = off + m.start() + 1
            tokens.append(
                Token(
                    json.loads(m.group(0)), Span(line_no, col, line_no, off + m.end()), m.group(0)
                )
            )
    return tokens if [t.text for t in tokens] == value else None


def extract_dockerfile(text: str, ex: Extraction) -> None:
    lines = ex.lines
    esc = "\\"
    for line in lines[:5]:
        m = re.match(r"^#\s*escape\s*=\s*(\S)", line)
        if m:
            esc = m.group(1)
    ex.suppressions.extend(hash_comment_suppressions(lines))
    vars = Vars()
    env_spans: dict[str, Span] = {}  # where each ENV variable was set, for rule spans
    last: dict[str, Command] = {}

    def flush() -> None:
        ep, cmd = last.get("ENTRYPOINT"), last.get("CMD")
        if (
            ep is not None
            and cmd is not None
            and not ep.context.get("shell_form")
            and not cmd.context.get("shell_form")
        ):
            ep.tokens = ep.tokens + cmd.tokens
            ep.span = Span(ep.span.line, ep.span.col, cmd.span.end_line, cmd.span.end_col)
            ep.context["instruction"] = "ENTRYPOINT+CMD"
            ex.commands.append(ep)
        else:
            ex.commands.extend(c for c in (ep, cmd) if c is not None)
        last.clear()

    for kw, parts, heredoc in _instructions(lines, esc):
        if kw == "FROM":
            flush()
        elif kw in ("ENV", "ARG"):
            _env(kw, parts, vars, ex, env_spans)
        elif kw in ("RUN", "CMD", "ENTRYPOINT"):
            tokens = None if heredoc else _exec_form(parts)
            if tokens and _is_shell_c(tokens):
                # ["/bin/sh", "-c", "script"]: the script is shell; columns after a JSON
                # escape inside it are off by one per escape (documented approximation)
                sp = tokens[2].span
                found = _shell(ex, tokens[2].text, RowMap.at(sp.line, sp.col), vars, env_spans)
                for c in found:
                    c.context.update(instruction=kw, via="sh -c")
            elif tokens:
                first, end = tokens[0].span, tokens[-1].span
                c = Command(
                    ex.path,
                    "dockerfile",
                    tokens,
                    Span(first.line, first.col, end.end_line, end.end_col),
                    env=dict(ex.file_env),
                    env_spans=dict(env_spans),
                    group=ex.path,
                    context={"instruction": kw},
                )
                found = [c]
            else:
                script = "\n".join(p[2] for p in parts)
                if esc != "\\":
                    script = script.replace(esc + "\n", "\\\n")
                rows = RowMap(tuple((p[0], p[1]) for p in parts))
                found = _shell(ex, script, rows, vars, env_spans)
                for c in found:
                    c.context.update(instruction=kw, shell_form=True)
            if kw == "RUN":
                ex.commands.extend(found)
            elif found:
                last[kw] = found[-1]
                if len(found) > 1:
                    ex.commands.extend(found[:-1])
    flush()


def _shell(
    ex: Extraction, script: str, rowmap: RowMap, vars: Vars, env_spans: dict[str, Span]
) -> list[Command]:
    """Commands of a RUN/CMD/ENTRYPOINT script, with the image's ENV before their own."""
    r = extract_shell(
        script,
        ex.path,
        rowmap=rowmap,
        host_format="dockerfile",
        group=ex.path,
        vars=vars,
        suppressions=False,
    )
    ex.findings.extend(r.findings)
    for c in r.commands:
        c.env = {**ex.file_env, **c.env}
        c.env_spans = {**env_spans, **c.env_spans}
    return r.commands


def _env(kw: str, parts, vars: Vars, ex: Extraction, env_spans: dict[str, Span]) -> None:
    text = " ".join(p[2].rstrip().rstrip("\\") for p in parts).strip()
    words = [w for w, _, _ in split_words(text)]
    if kw == "ENV" and words and "=" not in words[0]:  # legacy "ENV KEY value with spaces"
        pairs = [(words[0], " ".join(words[1:]))]
    else:
        pairs = [tuple(w.split("=", 1)) if "=" in w else (w, None) for w in words]
    for key, value in pairs:
        if value is None:
            continue
        vars.set(key, Var(value))
        if kw == "ENV":
            ex.file_env[key] = value
            span = _key_span(parts, key)
            if span is not None:
                env_spans[key] = span


def _key_span(parts, key: str) -> Span | None:
    """The ``KEY=value`` (or legacy ``KEY value``) word of an ENV instruction."""
    pattern = re.compile(rf"(?<![\w$]){re.escape(key)}(?==|\s)(=\S*)?")
    for line_no, off, seg in parts:
        m = pattern.search(seg)
        if m:
            return Span(line_no, off + m.start() + 1, line_no, off + m.end())
    return None
