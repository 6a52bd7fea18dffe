"""`hicachectl plan`: size HiCache for every rank on the host and print resolved commands.

The plan options themselves are declared in ``_plan_options`` (shared with ``launch``).  No
``from __future__ import annotations`` here: typer would have to ``eval`` every option's
annotation string on each start-up; ``X | None`` works as is on Python 3.10.
"""

import sys
from typing import Annotated

import typer

from hicachectl.commands._plan_options import plan_options

_O = "Output"


@plan_options()
def command(
    options: dict,
    profile: str | None,
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

    inputs = gather(options, profile)
    if inputs.note:
        sys.stderr.write(f"hicachectl: {inputs.note}\n")
        sys.stderr.flush()
    plan = plan_for(inputs)
    from hicachectl.render import render

    color = None if output else sys.stdout.isatty()
    text = render(plan, fmt, color=color)
    if output:
        from hicachectl.outfile import write_atomic

        write_atomic(output, text, executable=fmt == "sh")
    else:
        sys.stdout.write(text)
    return 0
