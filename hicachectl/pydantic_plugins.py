"""Spare pydantic's plugin lookup when no installed distribution declares a pydantic plugin.

When pydantic builds its first validator it asks ``importlib.metadata`` for the ``pydantic``
entry-point group.  Importing that module (it pulls in email, zipfile, csv, ...) and reading
every distribution's metadata costs about 15 ms, the largest share of ``hicachectl plan``'s
start-up beyond typer and pydantic themselves.

:func:`skip_empty_plugin_lookup` reads the same ``entry_points.txt`` files directly, in the
places ``importlib.metadata`` looks (each ``sys.path`` directory's ``*.dist-info`` and
``*.egg-info``), and only when none of them declares the group does it give pydantic a loader
that answers "no plugins", which is exactly what pydantic's own loader would answer.  What it
cannot read the same way (a zip or egg file on ``sys.path``, a meta-path finder with its own
``find_distributions``) leaves pydantic's loader in place, and so does a loader already
imported.  Any other name asked of the stand-in loads pydantic's real module.
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Iterable

LOADER = "pydantic.plugin._loader"
GROUP = "pydantic"


def skip_empty_plugin_lookup() -> bool:
    """Install the no-plugin loader when that is certainly what pydantic would find; True if
    it is in place (now or before)."""
    current = sys.modules.get(LOADER)
    if current is not None:
        return getattr(current, "__hicachectl_stand_in__", False)
    if not _plain_path_finders() or declares_group(sys.path) is not False:
        return False
    sys.modules[LOADER] = _stand_in()
    return True


def declares_group(paths: Iterable[str], group: str = GROUP) -> bool | None:
    """Whether a distribution on ``paths`` declares entry points in ``group``; None when a
    path entry is a file (zip, egg) that only ``importlib.metadata`` can read."""
    for entry in paths:
        root = entry or "."
        try:
            names = os.listdir(root)
        except NotADirectoryError:
            return None
        except OSError:
            continue  # missing or unreadable: importlib.metadata finds nothing there either
        egg = os.path.basename(root).lower().endswith(".egg")
        for name in names:
            low = name.lower()
            if not (low.endswith((".dist-info", ".egg-info")) or (egg and low == "egg-info")):
                continue
            try:
                with open(os.path.join(root, name, "entry_points.txt"), encoding="utf-8") as fh:
                    text = fh.read()
            except (OSError, UnicodeDecodeError):
                continue  # importlib.metadata reads no entry points from it either
            if _has_section(text, group):
                return True
    return False


def _has_section(text: str, group: str) -> bool:
    # importlib.metadata: a stripped line "[...]" opens the section named value.strip("[]");
    # comparing case- and space-insensitively can only send more cases to pydantic's loader.
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            if line.strip("[]").strip().lower() == group:
                return True
    return False


def _plain_path_finders() -> bool:
    """Only the standard PathFinder may list distributions (custom ones could add plugins)."""
    from importlib.machinery import PathFinder

    return all(
        finder is PathFinder or not hasattr(finder, "find_distributions")
        for finder in sys.meta_path
    )


def _stand_in() -> types.ModuleType:
    module = types.ModuleType(LOADER, "No pydantic plugin is installed (hicachectl checked).")
    module.__hicachectl_stand_in__ = True  # type: ignore[attr-defined]
    module.PYDANTIC_ENTRY_POINT_GROUP = GROUP  # type: ignore[attr-defined]
    module.get_plugins = _no_plugins  # type: ignore[attr-defined]
    module.__getattr__ = _real_attribute  # type: ignore[attr-defined]
    return module


def _no_plugins() -> tuple[()]:
    return ()


def _real_attribute(name: str) -> object:
    """Names the stand-in lacks come from pydantic's own loader module, loaded on demand."""
    if name.startswith("__"):
        raise AttributeError(name)
    global _real
    if _real is None:
        import importlib.util
        from importlib.machinery import PathFinder

        import pydantic.plugin

        spec = PathFinder.find_spec(LOADER, list(pydantic.plugin.__path__))
        if spec is None or spec.loader is None:
            raise AttributeError(name)
        _real = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_real)
    return getattr(_real, name)


_real: types.ModuleType | None = None
