"""The core of ``hicachectl resolve``: parse, resolve, render (JSON or a rich table).

JSON has exactly the keys ``sglang_version``, ``entrypoint``, ``resolved``, ``rewrites``,
``errors``, ``problems``.  Exit code: 2 when the argv is unusable (argparse or Dynamo would
exit first, an unknown entry point, a token that is not valid UTF-8), 1 when SGLang would
refuse to start, else 0.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hicachectl.errors import UsageError
from hicachectl.secrets import is_secret_name

# SGLang fields holding credentials; their values are never printed.
SECRET_FIELDS = frozenset({"api_key", "admin_api_key", "ssl_keyfile_password"})


def _is_secret_opt(name: str) -> bool:
    """--api-key, --hf-token, --db-password, ... (but not --max-total-tokens)."""
    return name.startswith("-") and is_secret_name(name)


def _is_version(v: str) -> bool:
    """0.5.23, 0.5.24rc1, 0.5.23.post1: digits first, at most four dotted parts."""
    parts = v.split(".")
    return (
        1 <= len(parts) <= 4
        and v[:1].isdigit()
        and all(p and (p.isalnum() and p.isascii()) for p in parts)
    )


def _clean(s: Any) -> str:
    """Text safe for any terminal encoding: undecodable bytes (surrogates) shown escaped."""
    return str(s).encode("utf-8", "backslashreplace").decode("utf-8")


def _secrets(argv: Sequence[str], values: dict[str, Any]) -> list[str]:
    """Values in the argv that are credentials: of a known field, or of a secret-looking flag."""
    found = {str(values[f]) for f in SECRET_FIELDS if values.get(f)}
    for i, t in enumerate(argv):
        name, eq, val = t.partition("=")
        if _is_secret_opt(name):
            if eq and val:
                found.add(val)
            elif not eq and i + 1 < len(argv):
                found.add(argv[i + 1])
    return sorted((v for v in found if len(v) >= 3), key=len, reverse=True)


def _redact(text: str, secrets: list[str]) -> str:
    for v in secrets:
        text = text.replace(v, "***")
    return text


def _utf8_problems(tokens: Sequence[str]) -> list[dict]:
    out = []
    for i, t in enumerate(tokens):
        try:
            t.encode("utf-8")
        except UnicodeEncodeError:
            out.append({"message": f"token {i} is not valid UTF-8: {_clean(t)}", "token_index": i})
    return out


def run_resolve(
    argv: list[str],
    *,
    sglang_version: str | None,
    model_config: str | None,
    json_out: bool,
    fields: Sequence[str],
) -> int:
    from hicachectl.sglang.argv import parse_command
    from hicachectl.sglang.version import target_sglang_version

    if not argv:
        raise UsageError("no command given: hicachectl resolve [OPTIONS] -- ARGV...")
    if sglang_version is not None and not _is_version(sglang_version):
        raise UsageError(f"--sglang-version: not a version number: {_clean(sglang_version)!r}")
    version, note = target_sglang_version(sglang_version)
    facts, model_path = None, None
    if model_config is not None:
        from hicachectl.modelspec import load_model

        facts = load_model(None, model_config=model_config)
        p = Path(model_config).expanduser()
        model_path = str(p if p.is_dir() else p.parent)
    parsed = parse_command(argv, sglang_version=version, model_path=model_path)
    bad_bytes = _utf8_problems(argv)
    hidden = _secrets(argv, parsed.values)
    problems = [
        {"message": _redact(p.message, hidden), "token_index": p.token_index}
        for p in parsed.problems
    ]
    problems += bad_bytes
    fatal = parsed.fatal
    notes = [note] if note else []
    rewrites: list[dict] = []
    errors: list[dict] = []
    resolved: dict[str, Any] = dict(parsed.values)
    if fatal is None and parsed.entrypoint in ("dynamo.frontend", "dynamo.mocker"):
        notes.append(f"{parsed.entrypoint} runs no SGLang engine: nothing to resolve")
        resolved = {}
    elif fatal is None:
        from hicachectl.sglang.resolver import resolve

        res = resolve(parsed, model=facts)
        resolved = dict(res.resolved)
        rewrites = [
            {"field": w.field, "from": w.from_, "to": w.to, "message": w.message}
            for w in res.rewrites
        ]
        errors = [{"message": e.message} for e in res.errors]
        notes += list(res.notes)
    for f in SECRET_FIELDS:
        if resolved.get(f) is not None:
            resolved[f] = "***"
    errors = [{"message": _redact(e["message"], hidden)} for e in errors]
    helped = any(p.code == "help" for p in parsed.problems)  # prints help, never starts
    code = 2 if (fatal is not None or bad_bytes or helped) else (1 if errors else 0)
    doc = {
        "sglang_version": version,
        "entrypoint": parsed.entrypoint,
        "resolved": resolved,
        "rewrites": rewrites,
        "errors": errors,
        "problems": problems,
    }
    if json_out:
        sys.stdout.write(json.dumps(doc, indent=2, default=str) + "\n")
        for n in notes:
            sys.stderr.write(f"note: {_clean(n)}\n")
    else:
        _table(doc, parsed, fields, notes, fatal, code)
    return code


def _fmt(v: Any) -> str:
    return _clean(json.dumps(v, default=str) if not isinstance(v, str) else v)


def _table(doc: dict, parsed, fields: Sequence[str], notes: list[str], fatal, code: int) -> None:
    from rich.console import Console
    from rich.table import Table

    # A pipe or a test runner gets a fixed, readable width instead of rich's 80.
    out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 120)
    out.print(f"SGLang {doc['sglang_version']} · entry point {doc['entrypoint']}", markup=False)
    if fatal is None and doc["resolved"]:
        changes: dict[str, list[dict]] = {}
        for w in doc["rewrites"]:
            changes.setdefault(w["field"], []).append(w)
        t = Table(show_header=True, header_style="bold")
        t.add_column("setting", no_wrap=True)
        t.add_column("value", overflow="fold", min_width=12)
        t.add_column("source", no_wrap=True)
        t.add_column("what changed and why", overflow="fold")
        for f in fields:
            if f not in doc["resolved"]:
                continue
            src = (
                "command line"
                if parsed.explicit.get(f, -2) >= 0
                else ("--config" if parsed.explicit.get(f) == -1 else "default")
            )
            why = "\n".join(
                f"{_fmt(w['from'])} → {_fmt(w['to'])}: {_clean(w['message'] or '(silent)')}"
                for w in changes.get(f, [])
            )
            t.add_row(f, _fmt(doc["resolved"][f]), src, why)
        out.print(t)
    for e in doc["errors"]:
        out.print(f"error: SGLang would refuse to start: {_clean(e['message'])}", markup=False)
    for p in doc["problems"]:
        where = "" if p["token_index"] is None else f" (token {p['token_index']})"
        out.print(f"problem{where}: {_clean(p['message'])}", markup=False)
    for n in notes:
        out.print(f"note: {_clean(n)}", markup=False)
    if code == 0:
        out.print("SGLang would start with these settings.", markup=False)
