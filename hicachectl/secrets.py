"""Masking of secrets in free text that hicachectl echoes back (e.g. lint's source lines).

A value is treated as a secret when it follows a flag or a variable whose name says so
(``--api-key``, ``--admin-api-key``, ``--hf-token``, ``*_TOKEN=``, ``*PASSWORD:`` …).  Each
character of the value becomes ``*``, so columns (and lint's carets) still line up.
"""

from __future__ import annotations

import re

_WORDS = r"(?:api[-_]?key|token|secret|password|passwd|credential|access[-_]?key)"
_FLAG = re.compile(rf"(--[\w-]*{_WORDS}[\w-]*)(=|\s+)(['\"]?)([^\s'\"]+)", re.IGNORECASE)
_VAR = re.compile(rf"\b([A-Za-z0-9_]*{_WORDS}[A-Za-z0-9_]*)(\s*[=:]\s*)(['\"]?)([^\s'\"]+)", re.I)


def _star(m: re.Match[str]) -> str:
    value = m.group(4)
    if value.startswith(("$", "<")) or value in ("***", "..."):
        return m.group(0)  # a reference or a placeholder, not the secret itself
    return m.group(1) + m.group(2) + m.group(3) + "*" * len(value)


def mask_line(text: str) -> str:
    """``text`` with the values of secret-named flags and variables starred out."""
    if not _FLAG.search(text) and not _VAR.search(text):
        return text
    return _VAR.sub(_star, _FLAG.sub(_star, text))
