"""What counts as a secret, and how hicachectl keeps secrets out of what it prints.

One predicate, :func:`is_secret_name`, decides for flags (``--api-key``, ``--hf-token``) and
environment variables (``HF_TOKEN``, ``AWS_SECRET_ACCESS_KEY``) alike; ``resolve``'s report,
``launch --dry-run`` and lint's echoed source lines all use it.
"""

from __future__ import annotations

import re

# A name is secret when, without dashes/underscores and lower-cased, it ends with one of these
# (so --max-total-tokens is not, --hf-token is).
_ENDINGS = (
    "apikey",
    "apikeys",
    "accesskey",
    "secretkey",
    "privatekey",
    "password",
    "passwd",
    "secret",
    "token",
    "credential",
    "credentials",
)
_FLAG = re.compile(r"(--[\w-]+)(=|\s+)(['\"]?)([^\s'\"-][^\s'\"]*)")
_VAR = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)(\s*[=:]\s*)(['\"]?)([^\s'\"]+)")


def is_secret_name(name: str) -> bool:
    """``--api-key``, ``--hf-token``, ``HF_TOKEN``, ``MOONCAKE_PASSWORD`` … are secret names."""
    flat = name.lstrip("-").replace("-", "").replace("_", "").lower()
    return flat.endswith(_ENDINGS)


# Values that stand in for a secret rather than being one (examples, defaults, dummies).
_PLACEHOLDERS = frozenset(
    {"none", "null", "true", "false", "empty", "dummy", "test", "changeme", "secret", "token",
     "example", "placeholder", "redacted", "...", "***"}
)  # fmt: skip


def is_placeholder(value: str) -> bool:
    """``$HF_TOKEN``, ``<your-key>``, ``none``, ``xxxx``, ``***``: not a secret itself."""
    v = value.strip().strip("'\"")
    return (
        not v
        or v.startswith(("$", "<", "{"))
        or v.lower() in _PLACEHOLDERS
        or set(v.lower()) <= {"x", "*", ".", "-"}
    )


def _star(m: re.Match[str]) -> str:
    value = m.group(4)
    if not is_secret_name(m.group(1)) or is_placeholder(value):
        return m.group(0)  # not secret-named, or a reference / placeholder, not the secret
    return m.group(1) + m.group(2) + m.group(3) + "*" * len(value)


def mask_line(text: str) -> str:
    """``text`` with the values of secret-named flags and variables starred out, one ``*``
    per character, so that columns (and lint's carets) still line up."""
    return _VAR.sub(_star, _FLAG.sub(_star, text))
