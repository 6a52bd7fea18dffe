"""HC513: a worker's DYN_SYSTEM_PORT value that Dynamo 1.6.1 cannot use (not an integer, not
a 16-bit signed integer, not a TCP port)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from hicachectl.lint.rules.base import Rule
from hicachectl.lint.types import Finding, Span

ENV = "DYN_SYSTEM_PORT"
# Dynamo 1.6.1 reads DYN_SYSTEM_PORT into an i16 (observed: a worker given 40000 exits at
# start with "expected i16"); the same limit as `launch` pre-flight and `plan`.
I16_MIN, I16_MAX = -32768, 32767
_INTEGER = re.compile(r"[+-]?[0-9]+")
# A value the file does not give: a shell expansion, a kubelet $(VAR), a secret/field ref,
# a runbook placeholder.
_UNKNOWN = re.compile(r"\$|<[^>]*>|\.\.\.|…")


def _setting(v) -> tuple[str, Span] | None:
    """(value text, where it is set) of the worker's DYN_SYSTEM_PORT: its own environment
    (prefix, `env`, k8s env, compose environment, Dockerfile ENV), else an earlier
    `export` in the script; None when the file does not set it."""
    if ENV in v.cmd.env:
        return v.cmd.env[ENV], v.env_span(ENV)
    exported = (v.cmd.context.get("exported_env") or {}).get(ENV)
    if exported is not None:
        return exported[0], exported[1] or v.head_span
    return None


def problem(text: str) -> str | None:
    """Why Dynamo 1.6.1 cannot use this DYN_SYSTEM_PORT value, or None (usable or unknown)."""
    t = text.strip()
    # Dynamo skips an empty variable (the server stays off); unknown values are not ours.
    if not t or _UNKNOWN.search(t):
        return None
    if not _INTEGER.fullmatch(t):
        return (
            f"DYN_SYSTEM_PORT={text} is not an integer: Dynamo reads it as a 16-bit "
            "signed integer and the worker exits at start"
        )
    n = int(t)
    if n > 65535 or n < I16_MIN:
        return (
            f"DYN_SYSTEM_PORT={text} is outside 1-65535, not a TCP port; Dynamo 1.6.1 "
            f"reads it as a 16-bit signed integer ({I16_MIN}..{I16_MAX}) and the worker "
            "exits at start"
        )
    if n > I16_MAX:
        return (
            f"DYN_SYSTEM_PORT={text} is above {I16_MAX}: Dynamo 1.6.1 reads it as a 16-bit "
            f'signed integer, so the worker exits at start ("expected i16"); use a port up '
            f"to {I16_MAX}"
        )
    return None  # 1..32767 serve; 0 and negative values are Dynamo's own "off"/random


class SystemPortOutOfRange(Rule):
    """A worker's `DYN_SYSTEM_PORT` is a value Dynamo 1.6.1 cannot use.

    ## What it does
    Reads the `DYN_SYSTEM_PORT` each Dynamo worker gets from the file (a `VAR=` prefix,
    `env`, an earlier `export`, a Kubernetes `env` list, a compose `environment`, a
    Dockerfile `ENV`) and reports a value that is not an integer, is above 32767 (above
    65535 it is not a TCP port at all) or is below -32768.  A value the file leaves to a
    variable it does not define is not checked; -1 (Dynamo's default) and other negative
    values turn the system server off, so they are not reported.

    ## Why is this bad
    Dynamo 1.6.1 parses `DYN_SYSTEM_PORT` as a 16-bit signed integer: any larger value, or
    text that is not a number, makes the worker exit at start (`... expected i16`) before
    it serves anything.  `hicachectl plan` and `launch` refuse such ports for the same
    reason.

    ## Example
    ```bash
    DYN_SYSTEM_PORT=40000 python -m dynamo.sglang --model-path m &
    ```

    ## Use instead
    ```bash
    DYN_SYSTEM_PORT=18081 python -m dynamo.sglang --model-path m &
    ```
    """

    code = "HC513"
    name = "system-port-out-of-range"
    severity = "error"

    def check(self, ctx) -> Iterator[Finding]:
        seen: set[Span] = set()  # one export read by several workers: one finding
        for v in ctx.views:
            if not v.is_worker:
                continue
            setting = _setting(v)
            if setting is None:
                continue
            text, span = setting
            why = problem(text)
            if why is not None and span not in seen:
                seen.add(span)
                yield self.finding(ctx, span, why)
