"""Which files ``hicachectl lint`` reads: explicit files as given, directories recursively.

Directories are walked in sorted order without following directory symlinks (no loops),
pruning VCS/virtualenv/cache folders and ``--exclude`` globs (fnmatch on the path relative to
the argument, and on the base name).  Inside directories only files that can hold launch
commands are yielded: known names and extensions, plus extension-less or ``.txt`` files whose
first bytes sniff as shell (shebang) or Markdown (fences), so a tree of sources and images
costs one ``stat`` per file, not a read.  A directory that cannot be listed is yielded
itself, so the caller's read fails and reports it as unreadable (exit 2).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        "node_modules",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
    }
)
_BY_NAME = (
    ".sh",
    ".bash",
    ".zsh",
    ".ksh",
    ".md",
    ".mdx",
    ".markdown",
    ".yaml",
    ".yml",
    ".toml",
    ".dockerfile",
    ".containerfile",
)
SNIFF_BYTES = 4096
READ_LIMIT = 64 * 1024 * 1024  # beyond this only the head is read (the extractor caps lower)


def _excluded(rel: str, name: str, globs: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(rel, g) or fnmatch.fnmatch(name, g) for g in globs)


def _candidate(path: str, name: str) -> bool:
    low = name.lower()
    if low.endswith(_BY_NAME) or low.startswith(("dockerfile", "containerfile")):
        return True
    if "." in low.lstrip(".") and not low.endswith(".txt"):
        return False
    from hicachectl.lint.extract import detect_format

    try:
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError:
        return False
    return detect_format(path, head) is not None


def iter_files(
    paths: Iterable[str | os.PathLike], exclude_globs: Iterable[str] = ()
) -> Iterator[Path]:
    """Files to lint, in a stable order; ``-`` (stdin) passes through unchanged."""
    globs = tuple(exclude_globs)
    for arg in paths:
        p = os.fspath(arg)
        if p == "-" or not os.path.isdir(p):
            if p == "-" or not _excluded(p, os.path.basename(p), globs):
                yield Path(p)
            continue
        failed: list[OSError] = []
        for root, dirs, files in os.walk(p, onerror=failed.append):
            rel_root = os.path.relpath(root, p)
            keep = []
            for d in sorted(dirs):
                rel = d if rel_root == "." else f"{rel_root}/{d}"
                if d not in SKIP_DIRS and not _excluded(rel, d, globs):
                    keep.append(d)
            dirs[:] = keep
            for f in sorted(files):
                rel = f if rel_root == "." else f"{rel_root}/{f}"
                full = os.path.join(root, f)
                if _excluded(rel, f, globs) or not _candidate(full, f):
                    continue
                yield Path(full)
        for err in failed:
            yield Path(err.filename or p)


def read_file(path: str | os.PathLike, limit: int = READ_LIMIT) -> bytes:
    """The file's bytes, at most ``limit`` of them (raises OSError when unreadable)."""
    with open(path, "rb") as fh:
        return fh.read(limit)
