"""`hicachectl plan`: size HiCache for every rank on the host and print resolved commands.

No ``from __future__ import annotations`` here: typer would have to ``eval`` every option's
annotation string on each start-up; ``X | None`` works as is on Python 3.10.
"""

import os
import sys
from typing import Annotated

import typer

_P = "Deployment"
_H = "HiCache"
_O = "Output"


def command(
    model: Annotated[
        str | None,
        typer.Option(
            help="Model: HF id (HF cache or bundled catalogue) or local directory.",
            rich_help_panel=_P,
        ),
    ] = None,
    model_config: Annotated[
        str | None,
        typer.Option(help="A Hugging Face config.json (or its directory).", rich_help_panel=_P),
    ] = None,
    hardware: Annotated[
        str | None,
        typer.Option(
            help="Hardware snapshot (probe --json) instead of probing this machine.",
            rich_help_panel=_P,
        ),
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            help="Profile TOML (path, or a bundled name); CLI options override it.",
            rich_help_panel=_P,
        ),
    ] = None,
    tp: Annotated[
        int | None, typer.Option(help="Tensor parallel size per worker.", rich_help_panel=_P)
    ] = None,
    dp: Annotated[
        int | None, typer.Option(help="Data parallel size per worker.", rich_help_panel=_P)
    ] = None,
    pp: Annotated[
        int | None, typer.Option(help="Pipeline parallel size per worker.", rich_help_panel=_P)
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(help="Aggregated replicas behind a KV-routing frontend.", rich_help_panel=_P),
    ] = None,
    prefill_workers: Annotated[
        int | None, typer.Option(help="Disaggregated prefill workers.", rich_help_panel=_P)
    ] = None,
    decode_workers: Annotated[
        int | None, typer.Option(help="Disaggregated decode workers.", rich_help_panel=_P)
    ] = None,
    mem_fraction_static: Annotated[
        float | None,
        typer.Option(
            help="SGLang --mem-fraction-static (default: SGLang's own).", rich_help_panel=_P
        ),
    ] = None,
    max_total_tokens: Annotated[
        int | None, typer.Option(help="Cap on device pool tokens per rank.", rich_help_panel=_P)
    ] = None,
    max_running_requests: Annotated[
        int | None,
        typer.Option(
            help="SGLang --max-running-requests (vLLM's --max-num-seqs).", rich_help_panel=_P
        ),
    ] = None,
    kv_cache_dtype: Annotated[
        str | None, typer.Option(help="SGLang --kv-cache-dtype (default auto).", rich_help_panel=_P)
    ] = None,
    sglang_version: Annotated[
        str | None,
        typer.Option(
            help="Target SGLang version (default 0.5.21, Dynamo 1.6.1's pin).", rich_help_panel=_P
        ),
    ] = None,
    http_port: Annotated[
        int | None, typer.Option(help="Frontend HTTP port (default 8000).", rich_help_panel=_P)
    ] = None,
    page_size: Annotated[
        int | None, typer.Option(help="Tokens per KV page (default 64).", rich_help_panel=_H)
    ] = None,
    storage_backend: Annotated[
        str | None,
        typer.Option(
            help="HiCache L3 storage backend (file, mooncake, hf3fs, nixl, ...).",
            rich_help_panel=_H,
        ),
    ] = None,
    io_backend: Annotated[
        str | None, typer.Option(help="--hicache-io-backend to request.", rich_help_panel=_H)
    ] = None,
    mem_layout: Annotated[
        str | None, typer.Option(help="--hicache-mem-layout to request.", rich_help_panel=_H)
    ] = None,
    write_policy: Annotated[
        str | None,
        typer.Option(help="--hicache-write-policy (default write_through).", rich_help_panel=_H),
    ] = None,
    hicache_ratio: Annotated[
        float | None,
        typer.Option(
            help="Explicit host/device ratio (checked against the budget).", rich_help_panel=_H
        ),
    ] = None,
    hicache_size: Annotated[
        int | None,
        typer.Option(
            help="Explicit GB (1e9) per rank (checked against the budget).", rich_help_panel=_H
        ),
    ] = None,
    host_memory_fraction: Annotated[
        float | None,
        typer.Option(
            help="Share of (host memory - 10 GiB) all ranks may pin (default 0.8).",
            rich_help_panel=_H,
        ),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="text, json, sh or toml.", rich_help_panel=_O)
    ] = "text",
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="Write to FILE (atomically) instead of stdout.",
            rich_help_panel=_O,
        ),
    ] = None,
) -> int:
    """Size HiCache for every rank on this host and print resolved launch commands.

    Exit 0: the plan fits; 1: it does not (the message says by how much); 2: bad input.
    """
    from hicachectl.errors import UsageError

    if fmt not in ("text", "json", "sh", "toml"):
        raise UsageError(f"--format {fmt}: choose one of text, json, sh, toml")
    from hicachectl.plan_inputs import gather, plan_for

    options = {
        "model": model,
        "model_config": model_config,
        "hardware": hardware,
        "tp": tp,
        "dp": dp,
        "pp": pp,
        "workers": workers,
        "prefill_workers": prefill_workers,
        "decode_workers": decode_workers,
        "mem_fraction_static": mem_fraction_static,
        "max_total_tokens": max_total_tokens,
        "max_running_requests": max_running_requests,
        "kv_cache_dtype": kv_cache_dtype,
        "sglang_version": sglang_version,
        "http_port": http_port,
        "page_size": page_size,
        "storage_backend": storage_backend,
        "io_backend": io_backend,
        "mem_layout": mem_layout,
        "write_policy": write_policy,
        "hicache_ratio": hicache_ratio,
        "hicache_size": hicache_size,
        "host_memory_fraction": host_memory_fraction,
    }
    if (prefill_workers or decode_workers) and workers is None:
        options["workers"] = 0  # disaggregated: no aggregated replicas unless asked
    if (prefill_workers or 0) + (decode_workers or 0) > 0 and (
        not prefill_workers or not decode_workers
    ):
        raise UsageError(
            "--prefill-workers and --decode-workers go together (at least one of each)"
        )
    inputs = gather(options, profile)
    if inputs.note:
        sys.stderr.write(f"hicachectl: {inputs.note}\n")
        sys.stderr.flush()
    plan = plan_for(inputs)
    from hicachectl.render import render

    color = None if output else sys.stdout.isatty()
    text = render(plan, fmt, color=color)
    if output:
        _write_atomic(output, text, executable=fmt == "sh")
    else:
        sys.stdout.write(text)
    return 0


def _write_atomic(path: str, text: str, *, executable: bool) -> None:
    import tempfile

    from hicachectl.errors import InputError

    directory = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".hicachectl-", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o755 if executable else 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)  # never leave a partial file behind
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from None
