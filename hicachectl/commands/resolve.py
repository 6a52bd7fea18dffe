"""`hicachectl resolve`: what SGLang would run with for an argv, and whether it starts."""

from __future__ import annotations

from typing import Annotated

import typer


def command(
    argv: Annotated[
        list[str] | None,
        typer.Argument(
            help="The command after `--`: python -m dynamo.sglang ..., sglang serve ..., or "
            "bare SGLang server flags.",
            show_default=False,
        ),
    ] = None,
    sglang_version: Annotated[
        str | None,
        typer.Option(
            "--sglang-version",
            help="SGLang version to reason about (default: installed sglang, else the "
            "ai-dynamo pin, else 0.5.21).",
        ),
    ] = None,
    model_config: Annotated[
        str | None,
        typer.Option(
            "--model-config",
            help="The model's config.json (or its directory): decides MHA/MLA rules and "
            "stands in for a missing --model-path.",
        ),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of a table.")
    ] = False,
) -> int:
    """Show what SGLang would run with for ARGV (after `--`), and whether it starts.

    ARGV is a full command (python -m dynamo.sglang ..., sglang serve ...) or bare server
    flags.  Exit 0: SGLang would start; 1: it would refuse; 2: bad usage, or an argv
    SGLang's own argument parser rejects.
    """
    from hicachectl.sglang.report import run_resolve
    from hicachectl.sglang.resolver import HICACHE_FIELDS

    return run_resolve(
        list(argv or ()),
        sglang_version=sglang_version,
        model_config=model_config,
        json_out=json_out,
        fields=(*HICACHE_FIELDS, "disaggregation_mode"),
    )
