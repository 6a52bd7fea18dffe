"""The run directory: where one launch keeps its logs, discovery store and records.

Layout::

    <run>/plan.json          the plan that was launched
    <run>/children.json      name, pid, process group, argv and log of every child (for tools
                             and tests that must find what was started)
    <run>/logs/<name>.log    each child's output, whole
    <run>/dynamo-kv/         DYN_FILE_KV for file discovery (fresh per run)
    <run>/model/             the generated rehearsal model (``--engine mocker`` only)

Default: ``$XDG_STATE_HOME/hicachectl/runs/<UTC timestamp>`` (``~/.local/state`` when unset).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path

RUN_DIR_PLACEHOLDER = "{run_dir}"


def default_run_dir(env: Mapping[str, str], now: float | None = None, pid: int = 0) -> Path:
    state = env.get("XDG_STATE_HOME") or str(
        Path(env.get("HOME", "~")).expanduser() / ".local" / "state"
    )
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now if now is not None else time.time()))
    return Path(state) / "hicachectl" / "runs" / (f"{stamp}-{pid}" if pid else stamp)


def check_writable(run_dir: Path) -> str | None:
    """Create the run directory (and logs/) and prove it writable; a problem line or None."""
    try:
        (run_dir / "logs").mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        return f"run directory {run_dir}: not writable ({exc.strerror or exc})"
    return None


def fill(text: str, run_dir: Path) -> str:
    """Replace the plan's ``{run_dir}`` placeholder (used by DYN_FILE_KV) with the real path."""
    return text.replace(RUN_DIR_PLACEHOLDER, str(run_dir))


def log_path(run_dir: Path, name: str) -> Path:
    return run_dir / "logs" / f"{name}.log"


def write_json(path: Path, data: object) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)
