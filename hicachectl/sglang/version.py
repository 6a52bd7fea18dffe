"""Which SGLang release to reason about: explicit, installed, Dynamo's pin, or 0.5.21.

Package metadata is read straight from the ``*.dist-info/METADATA`` files on ``sys.path``
(``importlib.metadata`` costs ~20 ms of start-up); SGLang itself is never imported (it pulls
in torch).  A version between two known flag tables uses the nearest lower table, and the
returned note says so.
"""

from __future__ import annotations

import os
import re
import sys
from functools import cache
from typing import NamedTuple

from hicachectl.sglang.flags import DYNAMO_SGLANG_PIN, SGLANG_VERSIONS, nearest_sglang_table

_PIN = re.compile(r"^\s*sglang(?:\[[^\]]*\])?\s*==\s*([0-9][^\s;,]*)")


class Dist(NamedTuple):
    version: str
    requires: list[str]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _read_metadata(path: str) -> Dist | None:
    version, requires = "", []
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if not line.strip():
                    break  # the headers end at the first blank line
                key, _, value = line.partition(":")
                if key == "Version":
                    version = value.strip()
                elif key == "Requires-Dist":
                    requires.append(value.strip())
    except OSError:
        return None
    return Dist(version, requires) if version else None


def _installed(dist: str) -> Dist | None:
    """The first installed distribution called ``dist`` on sys.path, as pip would see it."""
    want = _norm(dist)
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if not name.endswith(".dist-info"):
                continue
            project = name[: -len(".dist-info")].rpartition("-")[0]
            if _norm(project) == want:
                found = _read_metadata(os.path.join(entry or ".", name, "METADATA"))
                if found is not None:
                    return found
    return None


def dynamo_sglang_pin(requires: list[str] | None) -> str | None:
    """The ``sglang==X`` pin in an ``ai-dynamo`` distribution's Requires-Dist lines."""
    for req in requires or ():
        m = _PIN.match(req)
        if m:
            return m.group(1)
    return None


def _table_note(version: str, source: str) -> str | None:
    table, exact = nearest_sglang_table(version)
    if exact:
        return None
    return (
        f"SGLang {version} ({source}) has no flag table; using the nearest lower one, "
        f"{table} (known: {', '.join(SGLANG_VERSIONS)})"
    )


def target_sglang_version(explicit: str | None) -> tuple[str, str | None]:
    """(version, note). ``note`` is set when the version falls between known tables."""
    if explicit:
        return explicit, _table_note(explicit, "--sglang-version")
    return detected_sglang_version()


@cache
def detected_sglang_version() -> tuple[str, str | None]:
    """Installed sglang, else installed ai-dynamo's pin, else 0.5.21 (cached per process)."""
    sg = _installed("sglang")
    if sg is not None and sg.version:
        return sg.version, _table_note(sg.version, "installed sglang")
    dyn = _installed("ai-dynamo")
    if dyn is not None:
        pin = dynamo_sglang_pin(dyn.requires)
        if pin:
            return pin, _table_note(pin, f"pinned by installed ai-dynamo {dyn.version}")
    return DYNAMO_SGLANG_PIN, None
