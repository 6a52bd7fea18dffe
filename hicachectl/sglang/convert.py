"""Value conversion for flag-table ``type`` names, with argparse's exact error texts.

argparse calls an action's ``type`` on each value string.  An ``ArgumentTypeError`` becomes
``argument <opts>: <its text>``; a ``ValueError``/``TypeError`` becomes
``argument <opts>: invalid <type name> value: <repr>``.  Each converter below reproduces what
the named upstream function does (SGLang ``utils/common.py``, ``cuda_graph_config.py``;
Dynamo ``configuration/utils.py``).  Unknown names convert nothing (the value stays a string).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any


class TypeMessage(Exception):
    """An ``argparse.ArgumentTypeError``: the message is shown as is."""


_SI = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_IEC = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
# Same pattern as SGLang's (a str pattern, so \d matches any Unicode digit, as there).
_HRI = re.compile(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)")


def human_readable_int(value: str) -> int:
    value = value.strip()
    m = _HRI.fullmatch(value)
    if m:
        number, suffix = m.groups()
        if suffix in _IEC:
            if "." in number:
                raise TypeMessage(
                    f"Decimals are not allowed with IEC suffixes like '{suffix}'. "
                    f"Use an integer IEC value such as '{int(Decimal(number))}{suffix}', "
                    f"or an SI value such as '{number}{suffix[0]}'."
                )
            return int(number) * _IEC[suffix]
        return int(Decimal(number) * _SI[suffix])
    try:
        return int(value)
    except ValueError:
        raise TypeMessage(
            f"Invalid integer value: '{value}'. "
            "Use a plain integer, SI suffixes (1k, 1M), or IEC suffixes (1Ki, 1Mi). "
            "Suffixes are case-sensitive."
        ) from None


def _reject_constant(name: str) -> Any:
    # orjson (used by SGLang's json_list_type) accepts strict JSON only: no NaN/Infinity.
    raise ValueError(name)


def json_list_type(value: str) -> Any:
    try:
        return json.loads(value, parse_constant=_reject_constant)
    except ValueError:
        raise TypeMessage(
            f"Invalid JSON list: {value}. Please provide a valid JSON list."
        ) from None


def nullable_str(value: str) -> str | None:
    return None if not value or value == "None" else value


def nullable_float(value: str) -> float | None:
    return None if value == "" or value == "None" else float(value)


def nullable_int(value: str) -> int | None:
    return None if value == "" or value == "None" else int(value)


def loads(value: str) -> Any:
    return json.loads(value)


def parse_cuda_graph_config_arg(raw: str) -> Any:
    try:
        parsed = json.loads(raw)
    except json.JSONDecodeError as e:
        raise TypeMessage(f"--cuda-graph-config must be JSON: {e}") from None
    if not isinstance(parsed, dict):
        raise TypeMessage(f"--cuda-graph-config must be a JSON object, got {type(parsed).__name__}")
    # Per-phase key validation happens upstream too; not reproduced (hicachectl never
    # reads this flag).
    return parsed


def parse_cuda_graph_backend_arg(raw: str) -> str:
    if raw == "tc_piecewise":
        raise TypeMessage("tc_piecewise was removed; select breakable, full, or disabled")
    return raw


CONVERTERS: dict[str, Callable[[str], Any]] = {
    "int": int,
    "float": float,
    "str": str,
    # pathlib.Path never fails on a string; the namespace keeps it as text here.
    "Path": str,
    "loads": loads,
    "human_readable_int": human_readable_int,
    "json_list_type": json_list_type,
    "nullable_str": nullable_str,
    "nullable_float": nullable_float,
    "nullable_int": nullable_int,
    "parse_cuda_graph_config_arg": parse_cuda_graph_config_arg,
    "parse_cuda_graph_backend_arg": parse_cuda_graph_backend_arg,
}


def convert(type_name: str | None, value: str) -> Any:
    """Convert one value string; raises TypeMessage or ValueError/TypeError like argparse sees."""
    if type_name is None:
        return value
    fn = CONVERTERS.get(type_name)
    return value if fn is None else fn(value)
