"""Where a model's ``config.json`` comes from: a local directory, the Hugging Face cache, or
the small catalogue bundled under ``hicachectl/data/models``.  Never the network.

This module only finds and reads files; turning a config into facts is ``modelspec``'s job.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hicachectl.jsonfile import load_json_object

CATALOGUE_DIR = Path(__file__).resolve().parent / "data" / "models"
META_KEY = "_hicachectl"  # catalogue entries carry their name and published numbers here


def load_config_json(path: str | Path) -> dict[str, Any]:
    """Read a Hugging Face ``config.json``; InputError naming the file (and line) when bad."""
    return load_json_object(path, what="a config.json file")


def weight_bytes_from_index(directory: Path) -> int | None:
    """``metadata.total_size`` of ``model.safetensors.index.json`` in ``directory``, if any.

    A single-file checkpoint has no index; its ``model.safetensors`` size is close enough
    (the header is a few kB), so that is used next.  None when neither is there.
    """
    index = directory / "model.safetensors.index.json"
    if index.is_file():
        try:
            meta = json.loads(index.read_text(encoding="utf-8")).get("metadata") or {}
            total = meta.get("total_size")
        except (OSError, ValueError, AttributeError):
            return None
        if isinstance(total, (int, float)) and total > 0:
            return int(total)
        return None
    single = directory / "model.safetensors"
    try:
        if single.is_file():
            return single.stat().st_size
    except OSError:
        return None
    return None


def hub_cache_dir(hf_home: str | Path | None = None) -> Path:
    """The hub cache directory: ``hf_home/hub`` when given, else $HF_HUB_CACHE, else
    ``$HF_HOME/hub``, else ``~/.cache/huggingface/hub`` (huggingface_hub's own order)."""
    if hf_home is not None:
        return Path(hf_home).expanduser() / "hub"
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huggingface"
    )
    return Path(home).expanduser() / "hub"


def find_in_hf_cache(model: str, hf_home: str | Path | None = None) -> Path | None:
    """The snapshot directory holding ``config.json`` for ``org/name`` in the hub cache.

    Prefers the revision ``refs/main`` points at; otherwise the most recently modified
    snapshot that has a config.json.
    """
    if "/" not in model or model.count("/") != 1:
        return None
    repo = hub_cache_dir(hf_home) / ("models--" + model.replace("/", "--"))
    snapshots = repo / "snapshots"
    if not snapshots.is_dir():
        return None
    ref = repo / "refs" / "main"
    if ref.is_file():
        try:
            rev = ref.read_text(encoding="utf-8").strip()
        except OSError:
            rev = ""
        if rev and (snapshots / rev / "config.json").is_file():
            return snapshots / rev
    candidates = [d for d in snapshots.iterdir() if (d / "config.json").is_file()]
    if not candidates:
        return None
    return max(candidates, key=lambda d: ((d / "config.json").stat().st_mtime, d.name))


def _catalogue_files() -> list[Path]:
    return sorted(CATALOGUE_DIR.glob("*.json"))


def bundled_models() -> list[str]:
    """Names (``org/name``) of the models in the bundled catalogue, sorted."""
    return sorted(p.stem.replace("--", "/", 1) for p in _catalogue_files())


def find_bundled(model: str) -> Path | None:
    """The catalogue file for ``org/name`` or a bare ``name``, case-insensitively."""
    want = model.strip().lower()
    for p in _catalogue_files():
        full = p.stem.replace("--", "/", 1).lower()
        if want == full or want == full.split("/", 1)[-1]:
            return p
    return None
