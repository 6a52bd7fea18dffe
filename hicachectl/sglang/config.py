"""SGLang's ``--config FILE.yaml`` expansion (``ConfigArgumentMerger``), per version.

SGLang looks for the exact token ``--config`` (``--config=FILE`` is *not* expanded), reads
the YAML, turns each key into ``--<key as written>`` tokens and places them before the rest of
the command line, so the command line wins (CLI > config > defaults).  Which keys are
rejected as unsupported, and which booleans become bare flags, differs between 0.5.21 (keys
compared with each action's dest) and 0.5.23 (any long spelling).  Errors come back as
``ConfigError`` with SGLang's exception text; the caller turns them into problems.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hicachectl.sglang.engine import Parser
from hicachectl.sglang.flags import _vkey


class ConfigError(Exception):
    """message: SGLang's text (or a read error naming the file)."""


class _Rules:
    __slots__ = ("store_true_keys", "unsupported")

    def __init__(self, store_true_keys: frozenset[str], unsupported: dict[str, str]):
        self.store_true_keys = store_true_keys
        self.unsupported = unsupported  # normalised key -> action class name


def _keys(f) -> set[str]:
    return {f.dest} | {o[2:].replace("-", "_") for o in f.opts if o.startswith("--")}


def _is_store_true(f) -> bool:
    return f.action in ("_StoreTrueAction",)  # isinstance(argparse._StoreTrueAction) upstream


def _is_store(f) -> bool:
    return f.action == "_StoreAction" or f.action_base == "_StoreAction"


def _rules(p: Parser, version: str) -> _Rules:
    cached = p.cache.get(("config-rules", version))
    if cached is not None:
        return cached
    skip = {"--config", "--help", "-h"}
    if _vkey(version) >= (0, 5, 23):
        supported = [a for a in p.actions if _is_store_true(a) or _is_store(a) or a.nargs is None]
        st = frozenset(k for a in p.actions if _is_store_true(a) for k in _keys(a))
        sup_keys = {k for a in supported for k in _keys(a)}
        uns = {
            k: a.action
            for a in p.actions
            if a.opts and a not in supported and not skip & set(a.opts)
            for k in _keys(a)
            if k not in sup_keys
        }
    else:
        st = frozenset(a.dest for a in p.actions if _is_store_true(a))
        uns = {
            a.dest: a.action
            for a in p.actions
            if a.opts and not (_is_store_true(a) or _is_store(a)) and not skip & set(a.opts)
        }
    rules = _Rules(st, uns)
    p.cache[("config-rules", version)] = rules
    return rules


def read_yaml(path: str, texts: Mapping[str, str] | None) -> Any:
    """Load the YAML at ``path`` (from ``texts`` when it holds that path)."""
    import yaml  # lazy: only commands that use --config pay for it

    if texts is not None and path in texts:
        text = texts[path]
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"Config file not found: {path}") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path}: cannot read config file: {e}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        what = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{path}{line}: invalid YAML: {what}") from None


def config_tokens(p: Parser, version: str, path: str, texts: Mapping[str, str] | None) -> list[str]:
    """The tokens SGLang prepends for ``--config path`` (raises ConfigError)."""
    suffix = Path(path).suffix
    if suffix.lower() not in (".yaml", ".yml"):
        raise ConfigError(f"Config file must be YAML format, got: {suffix}")
    data = read_yaml(path, texts)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("Config file must contain a dictionary at root level")
    return convert_mapping(p, version, data)


def convert_mapping(p: Parser, version: str, data: dict) -> list[str]:
    rules = _rules(p, version)
    out: list[str] = []
    for key, value in data.items():
        key = str(key)
        norm = key.replace("-", "_")
        if norm in rules.unsupported:
            raise ConfigError(
                f"Unsupported config option '{norm}' with action '{rules.unsupported[norm]}'"
            )
        if isinstance(value, bool):
            if norm in rules.store_true_keys:
                if value:
                    out.append(f"--{key}")
            else:
                out.extend([f"--{key}", str(value).lower()])
        elif isinstance(value, list):
            if value:
                out.append(f"--{key}")
                out.extend(str(v) for v in value)
        elif isinstance(value, dict):
            out.extend([f"--{key}", json.dumps(value)])
        else:
            out.extend([f"--{key}", str(value)])
    return out
