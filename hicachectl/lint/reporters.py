"""Render a :class:`LintResult`: ``text`` (grouped by file, source line and caret, summary),
``json``, ``sarif`` (2.1.0, for GitHub code scanning) and ``github`` (workflow commands).

Renderers return a string for stdout; they never print.  Paths in SARIF are relative to the
current directory, as code scanning expects.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from hicachectl import __version__
from hicachectl.secrets import mask_line

if TYPE_CHECKING:
    from hicachectl.lint.engine import LintResult
    from hicachectl.lint.types import Finding

FORMATS = ("text", "json", "sarif", "github")
SARIF_LEVEL = {"error": "error", "warning": "warning", "info": "note"}
GITHUB_LEVEL = {"error": "error", "warning": "warning", "info": "notice"}


def render(result: LintResult, fmt: str, *, quiet: bool = False, color: bool = False) -> str:
    if fmt == "json":
        return render_json(result)
    if fmt == "sarif":
        return render_sarif(result)
    if fmt == "github":
        return render_github(result)
    return render_text(result, quiet=quiet, color=color)


# --------------------------------------------------------------------------- text

_COLORS = {"error": "\x1b[31m", "warning": "\x1b[33m", "info": "\x1b[36m"}


def _caret(line: str, f: Finding) -> str:
    start = max(f.span.col - 1, 0)
    if f.span.end_line == f.span.line:
        width = max(f.span.end_col - f.span.col + 1, 1)
    else:
        width = max(len(line) - start, 1)
    # Keep tabs so the caret lines up under the source in a terminal.
    pad = "".join("\t" if ch == "\t" else " " for ch in line[:start])
    return pad + "^" * min(width, max(len(line) - start, 1))


def summary(result: LintResult) -> str:
    c = result.counts()
    parts = [f"{c[s]} {s}{'s' if c[s] != 1 and s != 'info' else ''}" for s in c]
    files = f"{result.files} file{'s' if result.files != 1 else ''} linted"
    if not result.findings:
        return f"no problems found ({files})"
    n = len(result.findings)
    return f"{n} problem{'s' if n != 1 else ''}: {', '.join(parts)} ({files})"


def render_text(result: LintResult, *, quiet: bool = False, color: bool = False) -> str:
    out: list[str] = []
    current = None
    for f in result.findings:
        if quiet:
            out.append(f"{f.path}:{f.span.line}:{f.span.col}: {f.code} {f.message}")
            continue
        if f.path != current:
            if current is not None:
                out.append("")
            out.append(f.path)
            current = f.path
        sev = f.severity
        tag = f"{_COLORS[sev]}{sev}\x1b[0m" if color else sev
        out.append(f"{f.path}:{f.span.line}:{f.span.col}: {tag} {f.code} [{f.name}] {f.message}")
        lines = result.lines.get(f.path) or []
        if 0 < f.span.line <= len(lines):
            src = mask_line(lines[f.span.line - 1].rstrip("\n"))  # never echo a secret
            gutter = f"{f.span.line:>5} | "
            out.append(gutter + src)
            out.append(" " * (len(gutter) - 2) + "| " + _caret(src, f))
        if f.fix:
            out.append(f"      = fix: {f.fix}")
    if not quiet:
        if out:
            out.append("")
        out.append(summary(result))
    return "\n".join(out) + "\n" if out else ""


# --------------------------------------------------------------------------- json


def finding_dict(f: Finding) -> dict:
    d = {
        "path": f.path,
        "line": f.span.line,
        "col": f.span.col,
        "end_line": f.span.end_line,
        "end_col": f.span.end_col,
        "code": f.code,
        "name": f.name,
        "severity": f.severity,
        "message": f.message,
    }
    if f.fix:
        d["fix"] = f.fix
    return d


def render_json(result: LintResult) -> str:
    return json.dumps([finding_dict(f) for f in result.findings], indent=2) + "\n"


# --------------------------------------------------------------------------- sarif


def _rel(path: str) -> str:
    """The path as a reader finds it: relative to the working directory when inside it."""
    if path in ("-", "<command>"):
        return "stdin"
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        rel = path
    if rel.startswith(".."):
        rel = os.path.abspath(path)
    return rel.replace(os.sep, "/")


def _artifact(path: str) -> dict:
    """A SARIF artifactLocation: a percent-encoded relative reference against %SRCROOT% (the
    working directory), or a file: URI for a path outside it.  A space or a '#' in a file
    name would otherwise make the URI invalid or cut it at a fragment."""
    from urllib.parse import quote

    rel = _rel(path)
    if rel == "stdin":
        return {"uri": "stdin"}
    if os.path.isabs(rel):
        return {"uri": Path(rel).as_uri()}
    return {"uri": quote(rel, safe="/"), "uriBaseId": "%SRCROOT%"}


def _dir_uri(path: Path) -> str:
    uri = path.as_uri()
    return uri if uri.endswith("/") else uri + "/"


def render_sarif(result: LintResult) -> str:
    from hicachectl.lint.rules import RULES, RULES_BY_CODE

    rules = []
    for r in RULES:
        rules.append(
            {
                "id": r.code,
                "name": r.name,
                "shortDescription": {"text": r.summary()},
                "fullDescription": {"text": r.docs()},
                "help": {"text": r.docs(), "markdown": r.docs()},
                "helpUri": r.help_uri(),
                "defaultConfiguration": {"level": SARIF_LEVEL[r.severity]},
            }
        )
    index = {r.code: i for i, r in enumerate(RULES)}
    results = []
    for f in result.findings:
        region = {
            "startLine": f.span.line,
            "startColumn": f.span.col,
            "endLine": f.span.end_line,
            # SARIF end columns are exclusive; ours are inclusive.
            "endColumn": f.span.end_col + 1,
        }
        res = {
            "ruleId": f.code,
            "level": SARIF_LEVEL[f.severity],
            "message": {"text": f.message + (f" (fix: {f.fix})" if f.fix else "")},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": _artifact(f.path),
                        "region": region,
                    }
                }
            ],
        }
        if f.code in index:
            res["ruleIndex"] = index[f.code]
        elif f.code not in RULES_BY_CODE:
            res["ruleId"] = f.code
        results.append(res)
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "hicachectl",
                        "version": __version__,
                        "informationUri": "https://github.com/hicachectl/hicachectl",
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": _dir_uri(Path.cwd())}},
                # Our columns count characters (code points), not SARIF's default UTF-16 units.
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


# --------------------------------------------------------------------------- github


def _escape_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_prop(s: str) -> str:
    return _escape_data(s).replace(":", "%3A").replace(",", "%2C")


def render_github(result: LintResult) -> str:
    out = []
    for f in result.findings:
        props = ",".join(
            [
                f"file={_escape_prop(_rel(f.path))}",
                f"line={f.span.line}",
                f"col={f.span.col}",
                f"endLine={f.span.end_line}",
                f"endColumn={f.span.end_col}",
                f"title={_escape_prop(f'{f.code} {f.name}')}",
            ]
        )
        out.append(f"::{GITHUB_LEVEL[f.severity]} {props}::{_escape_data(f.message)}")
    return "\n".join(out) + "\n" if out else ""
