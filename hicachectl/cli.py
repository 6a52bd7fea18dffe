"""The typer application: wire verbs, map exceptions to exit codes.  No logic lives here.

Each verb is a function ``command`` in ``hicachectl/commands/<verb>.py``.  Those modules
import only typer and the standard library at module level and import the core lazily
inside the function, so that ``hicachectl --help`` and ``hicachectl resolve`` start fast.
A command returns its exit code (an int) or raises a :class:`~hicachectl.errors.HicacheError`.
"""

from __future__ import annotations

import gc
import importlib
import sys

# Start-up allocates hundreds of thousands of long-lived objects (typer, pydantic, our models)
# and the default threshold (700) runs dozens of cyclic collections over them: collect young
# objects less often.  The collector stays on, so long-running verbs (launch) still collect.
gc.set_threshold(50_000, *gc.get_threshold()[1:])

import typer  # noqa: E402

from hicachectl import __version__  # noqa: E402
from hicachectl.errors import EXIT_SIGINT, EXIT_USAGE, report  # noqa: E402

# (verb, module, help) in the order `--help` lists them.
VERBS: list[tuple[str, str, str]] = [
    (
        "plan",
        "plan",
        "Size HiCache for every rank on this host and print resolved launch commands.",
    ),
    (
        "launch",
        "launch",
        "Start the planned workers and frontend, supervise them, verify the boot.",
    ),
    ("lint", "lint", "Find HiCache / SGLang / Dynamo misconfigurations in launch commands."),
    ("resolve", "resolve", "Show what SGLang would run with for an argv, and whether it starts."),
    (
        "probe",
        "probe",
        "Probe GPUs (NVML) and host memory (cgroup-aware); --json writes a snapshot.",
    ),
    ("profiles", "profiles", "List the bundled deployment profiles."),
    ("rules", "rules", "List lint rules, or print one rule's documentation."),
]

# Verbs whose command takes a free-form argv after `--`.
_PASSTHROUGH = {"resolve"}


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"hicachectl {__version__}")
        raise typer.Exit(0)


def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version."
    ),
) -> None:
    """Plan, lint and launch SGLang HiCache deployments behind NVIDIA Dynamo."""


def build_app(only: str | None = None) -> typer.Typer:
    """The typer app with every verb, or with just ``only`` (start-up cost is per verb)."""
    app = typer.Typer(
        name="hicachectl",
        help="Plan, lint and launch SGLang HiCache deployments behind NVIDIA Dynamo.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(_root)
    for verb, module, help_text in VERBS:
        if only is not None and verb != only:
            continue
        mod = importlib.import_module(f"hicachectl.commands.{module}")
        settings = {}
        if verb in _PASSTHROUGH:
            settings = {"allow_extra_args": True, "ignore_unknown_options": True}
        app.command(verb, help=help_text, context_settings=settings)(mod.command)
    return app


def __getattr__(name: str) -> typer.Typer:
    # `from hicachectl.cli import app` gives the app with every verb.
    if name == "app":
        return build_app()
    raise AttributeError(name)


def _err(message: str) -> None:
    sys.stderr.write(
        f"hicachectl: {message}\n" if not message.startswith("hicachectl") else message + "\n"
    )


def _click_exit(exc: Exception, verb: str | None = None) -> int | None:
    """Exit code for click's own exceptions (typer may vendor click: match by shape);
    ``verb``: the command being run, for errors that carry no context of their own."""
    kind = type(exc).__name__
    if kind == "Exit" and hasattr(exc, "exit_code"):
        return exc.exit_code
    if kind == "Abort":
        return EXIT_SIGINT
    if kind == "NoArgsIsHelpError" and hasattr(exc, "show"):
        exc.show()  # `hicachectl` alone prints the help
        return 0
    if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
        # One line, not click's three-line usage block.
        ctx = getattr(exc, "ctx", None)
        where = getattr(ctx, "command_path", None) or " ".join(filter(None, ("hicachectl", verb)))
        _err(f"{exc.format_message()} (see '{where} --help')")
        return EXIT_USAGE
    return None


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point. Returns the exit code; never shows a traceback."""
    args = sys.argv[1:] if argv is None else list(argv)
    verbs = {v for v, _, _ in VERBS}
    only = args[0] if args and args[0] in verbs else None
    try:
        rv = build_app(only)(args=args, prog_name="hicachectl", standalone_mode=False)
    except Exception as exc:
        code = _click_exit(exc, only)
        if code is None:
            code = report(exc)
        if code is None:  # HICACHECTL_DEBUG: show the traceback
            raise
        return code
    except KeyboardInterrupt as exc:
        return report(exc) or EXIT_SIGINT
    if isinstance(rv, bool):
        return int(not rv)
    return rv if isinstance(rv, int) else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
