"""``hicachectl probe``: show this machine's GPUs and host memory, or write a snapshot."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer


def _gib(n: int | None) -> str:
    return "-" if n is None else f"{n / (1 << 30):,.1f} GiB"


def _render_text(snapshot) -> None:  # noqa: ANN001 (HardwareSnapshot; imported lazily)
    from rich.console import Console
    from rich.table import Table

    from hicachectl.probe import host_headroom_bytes

    console = Console(file=sys.stdout, soft_wrap=True)
    origin = "" if snapshot.source in (None, "probe") else f" (from {snapshot.source})"
    driver = snapshot.driver_version or "-"
    console.print(
        f"[bold]{snapshot.hostname}[/bold]{origin}  driver {driver}  CUDA {snapshot.cuda_version or '-'}"
    )
    gpus = Table(title="GPUs", title_justify="left")
    for col in ("#", "name", "total", "free", "MIG", "UUID"):
        gpus.add_column(col, justify="right" if col in ("#", "total", "free") else "left")
    for g in snapshot.gpus:
        gpus.add_row(
            str(g.index),
            g.name,
            _gib(g.memory_total_bytes),
            _gib(g.memory_free_bytes),
            g.mig_mode or "-",
            g.uuid or "-",
        )
    if not snapshot.gpus:
        gpus.add_row("-", "none", "", "", "", "")
    console.print(gpus)
    h = snapshot.host
    host = Table(title="Host", title_justify="left", show_header=False)
    host.add_column("what")
    host.add_column("value", justify="right")
    host.add_row("DRAM total", _gib(h.memory_total_bytes))
    host.add_row("DRAM available", _gib(h.memory_available_bytes))
    if h.cgroup_limit_bytes is not None:
        host.add_row(
            f"cgroup v{h.cgroup_version} limit ({h.cgroup_limit_kind})", _gib(h.cgroup_limit_bytes)
        )
        host.add_row("cgroup usage", _gib(h.cgroup_usage_bytes))
        if h.cgroup_file_bytes is not None:
            host.add_row("  of which file page cache", _gib(h.cgroup_file_bytes))
    else:
        host.add_row(
            f"cgroup{' v' + str(h.cgroup_version) if h.cgroup_version else ''}", "no limit"
        )
    host.add_row("headroom min(available, limit - usage)", _gib(host_headroom_bytes(snapshot)))
    host.add_row("/dev/shm", _gib(h.shm_total_bytes))
    host.add_row("CPUs", "-" if h.cpu_count is None else str(h.cpu_count))
    console.print(host)
    for note in snapshot.notes:
        sys.stderr.write(f"note: {note}\n")


def command(
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the hardware snapshot as JSON.")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the JSON snapshot to FILE (atomically) instead of stdout.",
        ),
    ] = None,
    hardware: Annotated[
        Path | None,
        typer.Option(
            "--hardware",
            help="Read a snapshot FILE (probe --json) instead of probing; validates and shows it.",
        ),
    ] = None,
) -> int:
    """Probe GPUs (NVML) and host memory (cgroup-aware); --json writes a snapshot."""
    from hicachectl.probe import load_snapshot, probe, snapshot_json

    snapshot = load_snapshot(hardware) if hardware is not None else probe()
    if output is not None:
        from hicachectl.outfile import write_atomic

        write_atomic(output, snapshot_json(snapshot))
        sys.stderr.write(f"wrote hardware snapshot to {output}\n")
        return 0
    if json_out:
        sys.stdout.write(snapshot_json(snapshot))
        return 0
    _render_text(snapshot)
    return 0
