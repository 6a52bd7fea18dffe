"""The console-script entry point: ``launch --plan FILE`` takes the light start path
(:mod:`hicachectl.launch.quick`); everything else, and anything that path declines, goes to
the typer application in :mod:`hicachectl.cli`."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["launch"] and "--plan" in "".join(args):
        from hicachectl.launch.quick import run

        code = run(args[1:])
        if code is not None:
            return code
    from hicachectl.cli import main as cli_main

    return cli_main(args)
