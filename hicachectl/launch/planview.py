"""A saved plan read without pydantic, for ``launch --plan``'s start path.

``launch`` must start the children as early as it can, and importing pydantic and building
the plan models costs more than the mocker takes to boot.  So a saved plan is first checked
against ``hicachectl/data/plan.schema.json`` -- the JSON Schema that pydantic generates from
:class:`hicachectl.models.Plan` (``scripts/regen_plan_schema.py``; a test keeps it current) --
by a strict checker: JSON types only, no coercion (``"8081"`` is not an integer here, although
pydantic's lax mode would accept it).  So whatever this module accepts, ``Plan.model_validate``
accepts too, with the same values (tested, also on random mutations).  Anything it does not
accept -- a type pydantic would coerce, an unknown schema keyword, a missing field -- is
``None``, and the caller falls back to pydantic, which reports the error properly.

The result is a tree of :class:`Record` objects (attribute access, defaults filled in as
pydantic fills them) that the launch code reads exactly as it reads a ``Plan``.
"""

from __future__ import annotations

import json
import os
from types import SimpleNamespace

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "plan.schema.json")

# Keywords that only annotate; every other keyword must be understood, or the plan falls back.
_ANNOTATIONS = frozenset({"title", "description", "default", "$defs"})
_KNOWN = frozenset(
    {"$ref", "anyOf", "type", "enum", "const", "minimum", "items", "properties", "required",
     "additionalProperties"}
)  # fmt: skip


class Record(SimpleNamespace):
    """One model instance of the plan (a Plan, ProcessSpec, WorkerPlan, ...) as attributes."""


class Unsupported(Exception):
    """The plan (or the schema) is outside what this checker decides: use pydantic."""


_schema_cache: dict | None = None


def schema() -> dict:
    global _schema_cache
    if _schema_cache is None:
        with open(SCHEMA_PATH, encoding="utf-8") as f:
            _schema_cache = json.load(f)
    return _schema_cache


def _resolve(sch: dict, defs: dict) -> dict:
    ref = sch.get("$ref")
    if ref is None:
        return sch
    if not ref.startswith("#/$defs/") or ref[8:] not in defs:
        raise Unsupported(f"schema reference {ref}")
    return defs[ref[8:]]


def _type_ok(value: object, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return type(value) is int
    if kind == "number":
        return type(value) in (int, float)
    if kind == "boolean":
        return type(value) is bool
    if kind == "null":
        return value is None
    if kind == "array":
        return type(value) is list
    if kind == "object":
        return type(value) is dict
    raise Unsupported(f"schema type {kind}")


def _build(value: object, sch: dict, defs: dict, path: str) -> object:
    """``value`` checked against ``sch`` and built (Records, defaults); raises Unsupported."""
    sch = _resolve(sch, defs)
    unknown = set(sch) - _KNOWN - _ANNOTATIONS
    if unknown:
        raise Unsupported(f"schema keyword {sorted(unknown)[0]} at {path}")
    if "anyOf" in sch:
        for option in sch["anyOf"]:
            try:
                return _build(value, option, defs, path)
            except Unsupported:
                continue
        raise Unsupported(f"{path}: matches none of the allowed types")
    kind = sch.get("type")
    if kind is not None and not _type_ok(value, kind):
        raise Unsupported(f"{path}: not a JSON {kind}")
    if "enum" in sch and value not in sch["enum"]:
        raise Unsupported(f"{path}: not one of {sch['enum']}")
    if "const" in sch and value != sch["const"]:
        raise Unsupported(f"{path}: not {sch['const']!r}")
    if "minimum" in sch and not value >= sch["minimum"]:  # type: ignore[operator]
        raise Unsupported(f"{path}: below {sch['minimum']}")
    if kind == "number":  # pydantic's float field makes 4 into 4.0
        try:
            return float(value)  # type: ignore[arg-type]
        except OverflowError:
            raise Unsupported(f"{path}: too large for a float") from None
    if kind == "array":
        items = sch.get("items", {})
        return [_build(v, items, defs, f"{path}.{i}") for i, v in enumerate(value)]  # type: ignore[arg-type]
    if kind == "object":
        return _object(value, sch, defs, path)  # type: ignore[arg-type]
    if kind is None and any(k in sch for k in ("items", "properties", "required")):
        raise Unsupported(f"schema without a type at {path}")
    return value


def _default(prop: dict, defs: dict, path: str) -> object:
    if "default" in prop:
        return json.loads(json.dumps(prop["default"]))  # a fresh copy
    # pydantic leaves default factories out of the schema; ours make [] or {} (models.py).
    kind = _resolve(prop, defs).get("type")
    if kind == "array":
        return []
    if kind == "object":
        return {}
    raise Unsupported(f"{path}: missing, and no default known")


def _object(value: dict, sch: dict, defs: dict, path: str) -> object:
    props = sch.get("properties")
    extra = sch.get("additionalProperties", True)
    for key in sch.get("required", ()):
        if key not in value:
            raise Unsupported(f"{path}.{key}: missing")
    out = {}
    for key, v in value.items():
        where = f"{path}.{key}" if path else key
        if props is not None and key in props:
            out[key] = _build(v, props[key], defs, where)
        elif extra is False:
            raise Unsupported(f"{where}: not a field")
        elif isinstance(extra, dict):
            out[key] = _build(v, extra, defs, where)
        else:
            out[key] = v
    if props is None:
        return out  # a dict[str, X] field
    for key, prop in props.items():
        if key not in out:
            out[key] = _default(prop, defs, f"{path}.{key}" if path else key)
    return Record(**out)


def check(data: object) -> tuple[Record | None, str | None]:
    """(the plan as Records, None) when ``data`` is a plan pydantic would accept as is;
    (None, why not) otherwise: then validate with pydantic."""
    try:
        sch = schema()
        return _build(data, sch, sch.get("$defs", {}), ""), None  # type: ignore[return-value]
    except Unsupported as exc:
        return None, str(exc)
    except (OSError, ValueError) as exc:  # no schema file / a broken one: pydantic decides
        return None, f"schema: {exc}"
    except RecursionError:
        return None, "nested too deeply"


def to_plain(value: object) -> object:
    """Records back to plain JSON-like data (what ``Plan.model_dump()`` gives)."""
    if isinstance(value, Record):
        return {k: to_plain(v) for k, v in vars(value).items()}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    return value
