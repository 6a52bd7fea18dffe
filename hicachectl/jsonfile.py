"""Reading a JSON input file (config.json, hardware snapshot, saved plan): every way it can be
bad is one :class:`~hicachectl.errors.InputError` line, ``file[:line]: message``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hicachectl.errors import InputError, where


def load_json_object(
    path: str | Path, *, what: str, missing: str = "no such file"
) -> dict[str, Any]:
    """The JSON object in the file at ``path``.

    ``what`` names the expected document with its article ("a config.json file"); it ends
    the messages for a directory and for JSON that is not an object.  ``missing`` is the
    message for a path that does not exist.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(where(p, missing)) from None
    except IsADirectoryError:
        raise InputError(where(p, f"is a directory, expected {what}")) from None
    except OSError as exc:
        raise InputError(where(p, f"cannot read: {exc.strerror or exc}")) from None
    except UnicodeDecodeError as exc:
        reason = f"not UTF-8 text ({exc.reason} at byte {exc.start})"
        raise InputError(where(p, f"cannot read: {reason}")) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(where(p, f"invalid JSON: {exc.msg}", line=exc.lineno)) from None
    except RecursionError:
        raise InputError(where(p, "invalid JSON: nested too deeply")) from None
    if not isinstance(data, dict):
        raise InputError(where(p, f"expected a JSON object ({what})"))
    return data
