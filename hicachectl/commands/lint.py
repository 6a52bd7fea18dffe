"""``hicachectl lint``: find HiCache / SGLang / Dynamo misconfigurations in launch commands.

Exit codes: 0 nothing reached ``--fail-on``; 1 something did; 2 bad usage, bad config or
unreadable input.  Findings go to stdout in the chosen format; notes go to stderr.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

_FORMATS = ("text", "json", "sarif", "github")
_FAIL_ON = ("error", "warning", "info", "never")


def _split(values: list[str] | None) -> tuple[str, ...] | None:
    if not values:
        return None
    out = []
    for v in values:
        out.extend(x.strip() for x in v.split(",") if x.strip())
    return tuple(out)


def command(
    paths: Annotated[
        list[str] | None,
        typer.Argument(help="Files or directories to lint (recursively); '-' reads stdin."),
    ] = None,
    command_text: Annotated[
        str | None,
        typer.Option("-c", "--command", help="Lint one launch command given as a string."),
    ] = None,
    stdin_filename: Annotated[
        str | None,
        typer.Option(help="Name for stdin input: picks its format and its config file."),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(help="Skip paths matching this glob (repeatable)."),
    ] = None,
    select: Annotated[
        list[str] | None,
        typer.Option(
            help="Only these rules: codes, code prefixes (HC3) or names; comma-separated."
        ),
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option(help="Skip these rules: codes, code prefixes or names; comma-separated."),
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", help="Output format: text, json, sarif or github.")
    ] = "text",
    fail_on: Annotated[
        str | None,
        typer.Option(
            help="Exit 1 when a finding reaches this severity: error (default), "
            "warning, info or never."
        ),
    ] = None,
    sglang_version: Annotated[
        str | None,
        typer.Option(
            help="Check every command against this SGLang release (default: 0.5.21 "
            "for dynamo.sglang, Dynamo 1.6.1's pin; 0.5.23 for plain SGLang)."
        ),
    ] = None,
    hardware: Annotated[
        str | None,
        typer.Option(
            help="Hardware snapshot (`hicachectl probe --json`) for the memory rules and the GPU count."
        ),
    ] = None,
    host_memory: Annotated[
        str | None,
        typer.Option(help="Available host memory for the memory rules, e.g. 1TB or 512GiB."),
    ] = None,
    config: Annotated[
        str | None,
        typer.Option(help="Config file (pyproject.toml or .hicachectl.toml) instead of discovery."),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Text format: one line per finding, no summary.")
    ] = False,
) -> int:
    """Find HiCache / SGLang / Dynamo misconfigurations in launch commands."""
    from hicachectl.errors import UsageError

    if output_format not in _FORMATS:
        raise UsageError(f"--format must be one of {', '.join(_FORMATS)} (got {output_format!r})")
    if fail_on is not None and fail_on not in _FAIL_ON:
        raise UsageError(f"--fail-on must be one of {', '.join(_FAIL_ON)} (got {fail_on!r})")
    paths = list(paths or [])
    if not paths and command_text is None:
        raise UsageError("nothing to lint: give paths, '-' for stdin, or -c 'COMMAND'")
    if command_text is not None and paths:
        raise UsageError("-c/--command cannot be combined with paths")

    from hicachectl.lint.config import parse_size, resolve_code
    from hicachectl.lint.engine import LintOptions, LintResult, lint_paths, lint_text
    from hicachectl.lint.reporters import render

    size = None
    if host_memory is not None:
        try:
            size = parse_size(host_memory)
        except ValueError as exc:
            raise UsageError(f"--host-memory: {exc}") from None
    sel, ign = _split(select), _split(ignore)
    for code in (sel or ()) + (ign or ()):
        resolve_code(code)  # unknown rule -> UsageError (exit 2)
    opts = LintOptions(
        select=sel,
        ignore=ign,
        sglang_version=sglang_version,
        hardware=hardware,
        host_memory=size,
        config=config,
        exclude=tuple(exclude or ()),
    )
    if command_text is not None:
        result = lint_text(command_text, path="<command>", options=opts, fmt="shell")
    elif paths == ["-"]:
        data = sys.stdin.buffer.read()
        result = _lint_stdin(data, stdin_filename, opts)
    else:
        if "-" in paths:
            raise UsageError("'-' (stdin) cannot be combined with other paths")
        result: LintResult = lint_paths(paths, options=opts)

    for note in result.notes:
        sys.stderr.write(f"hicachectl: note: {note}\n")
    color = output_format == "text" and sys.stdout.isatty()
    if not (result.errors and not result.findings and output_format == "text"):
        # ("no problems found" would be untrue when an input could not be read)
        sys.stdout.write(render(result, output_format, quiet=quiet, color=color))
    for err in result.errors:
        sys.stderr.write(f"hicachectl: {err}\n")
    if result.errors:
        return 2
    threshold = fail_on or _config_fail_on(paths, opts) or "error"
    return 1 if result.reaches(threshold) else 0


def _lint_stdin(data: bytes, name: str | None, opts):
    from hicachectl.lint.engine import lint_text
    from hicachectl.lint.extract import detect_format

    path = name or "-"
    fmt = detect_format(path, data[:65536]) or "shell"
    return lint_text(data, path=path, options=opts, fmt=fmt)


def _config_fail_on(paths: list[str], opts) -> str | None:
    """``fail-on`` from the config that applies to the first path (or --config)."""
    from hicachectl.lint.config import ConfigFinder, load_config

    if opts.config:
        return load_config(opts.config).fail_on
    first = next((p for p in paths if p != "-"), ".")
    return ConfigFinder().for_path(first).fail_on
