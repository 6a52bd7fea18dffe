"""The ``.env`` file beside a compose file: docker compose interpolates ``${VAR}`` in the
compose file from it (and from the shell, which lint does not use: the shell at lint time is
not the one at deploy time).

The format compose reads: ``KEY=VALUE`` lines, ``#`` comments, blank lines, an optional
``export`` prefix; a value in single quotes is literal, in double quotes it may hold ``\\n``,
``\\t``, ``\\"`` and ``\\\\`` escapes; an unquoted value ends at `` #`` (an inline comment) and
is stripped.  Lines that are not assignments are skipped, as compose does not start with
them either (it reports them; lint notes them).
"""

from __future__ import annotations

import os
import re

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*?)\s*$")
# a quoted value, then at most an inline comment
_QUOTED = re.compile(r"""^(?:'([^']*)'|"((?:[^"\\]|\\.)*)")\s*(?:#.*)?$""")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


def parse_dotenv(text: str) -> tuple[dict[str, str], list[int]]:
    """(values, 1-based numbers of the lines that are not assignments)."""
    values: dict[str, str] = {}
    bad: list[int] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _LINE.match(line)
        if not m:
            bad.append(n)
            continue
        key, raw = m.group(1), m.group(2)
        quoted = _QUOTED.match(raw)
        if quoted and quoted.group(1) is not None:  # '...' is literal
            value = quoted.group(1)
        elif quoted:
            value = re.sub(
                r"\\(.)", lambda e: _ESCAPES.get(e.group(1), "\\" + e.group(1)), quoted.group(2)
            )
        elif raw.startswith(("'", '"')):
            bad.append(n)  # an unterminated quote (compose's multi-line values are not read)
            continue
        else:
            value = re.split(r"\s+#", raw, maxsplit=1)[0].strip()
        values[key] = value
    return values, bad


def compose_dotenv(compose_path: str) -> tuple[dict[str, str], str | None]:
    """The ``.env`` beside ``compose_path``: (values, a note when it has lines compose would
    reject, else None).  No file (or an unreadable one): no values."""
    env_path = os.path.join(os.path.dirname(compose_path) or ".", ".env")
    try:
        with open(env_path, encoding="utf-8") as f:
            text = f.read(1 << 20)
    except (OSError, UnicodeDecodeError):
        return {}, None
    values, bad = parse_dotenv(text)
    note = None
    if bad:
        lines = ", ".join(str(n) for n in bad[:5])
        note = f"{env_path}: line {lines}: not KEY=VALUE; compose refuses such a .env file"
    return values, note
