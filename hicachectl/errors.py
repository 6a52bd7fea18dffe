"""One exception family for the whole tool; each carries the exit code the CLI returns.

Exit codes: 0 ok; 1 findings / an infeasible plan / a child failed; 2 bad usage, bad
configuration or unreadable input; 130/143 interrupted.  Core code raises these; only
``cli.main`` turns them into a one-line message and an exit code.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


class HicacheError(Exception):
    """Base class. ``str(err)`` is the one line shown to the user."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(HicacheError):
    """Bad command-line usage (exit 2)."""


class InputError(HicacheError):
    """An input file, snapshot, profile or config is missing, unreadable or malformed (exit 2).

    Build the message with :func:`where` so it names the file, line or key.
    """


class InfeasibleError(HicacheError):
    """The request is well-formed but cannot be satisfied: a plan that does not fit (exit 1)."""

    exit_code = EXIT_FAIL


class PreflightError(HicacheError):
    """A launch pre-flight check failed; nothing was started (exit 2)."""


def where(path: object, message: str, *, line: int | None = None, key: str | None = None) -> str:
    """Format ``path[:line]: [key: ]message`` — the one shape every input error takes."""
    loc = str(path)
    if line is not None:
        loc += f":{line}"
    if key:
        return f"{loc}: {key}: {message}"
    return f"{loc}: {message}"


def format_validation_error(exc: object, source: object | None = None) -> str:
    """Render a pydantic ``ValidationError`` as ``source: a.b.c: message`` lines."""
    lines = []
    for err in exc.errors():  # type: ignore[attr-defined]
        key = ".".join(str(p) for p in err.get("loc", ())) or "(root)"
        msg = err.get("msg", "invalid value")
        lines.append(where(source, msg, key=key) if source is not None else f"{key}: {msg}")
    return "\n".join(lines)


def report(exc: BaseException, err=None) -> int | None:
    """Show ``exc`` as the CLI does (one ``hicachectl: ...`` line each, never a traceback) and
    return the exit code; None for an unexpected error under ``HICACHECTL_DEBUG`` (the caller
    re-raises it).  Used by ``cli.main`` and by launch's start path, which runs without typer.
    """
    import os
    import sys

    stream = err or sys.stderr

    def say(message: str) -> None:
        stream.write(
            message + "\n" if message.startswith("hicachectl") else f"hicachectl: {message}\n"
        )

    if isinstance(exc, HicacheError):
        for line in str(exc).splitlines() or [type(exc).__name__]:
            say(line)
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        say("interrupted")
        return EXIT_SIGINT
    if isinstance(exc, BrokenPipeError):
        # stdout closed early (e.g. `| head`): not an error worth a message.
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        except OSError:
            pass
        return EXIT_OK
    if os.environ.get("HICACHECTL_DEBUG"):
        return None
    if type(exc).__name__ == "ValidationError" and type(exc).__module__.startswith("pydantic"):
        for line in format_validation_error(exc).splitlines():
            say(line)
        return EXIT_USAGE
    say(f"internal error: {type(exc).__name__}: {exc} (set HICACHECTL_DEBUG=1 for a traceback)")
    return EXIT_INTERNAL
