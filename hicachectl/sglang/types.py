"""Result types of the SGLang argv parser and start-up resolver.

The parser (``hicachectl.sglang.argv``) turns tokens into a :class:`ParsedCommand`; the
resolver (``hicachectl.sglang.resolver``) turns one into a :class:`Resolution`.  Plan, lint
and launch consume these two types and nothing else from this package.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

# Named tuples and plain frozen dataclasses, not pydantic models: these are built on the hot
# path of `resolve`, `plan` and `lint` (thousands per lint run); pydantic's model machinery
# alone costs more start-up time than the whole parse + resolve, and a dataclass costs ~0.6 ms
# to define against ~0.07 ms for a named tuple.  Always construct them with keywords.

Entrypoint = Literal[
    "dynamo.sglang",  # python -m dynamo.sglang
    "dynamo.sglang.worker",  # removed module path (gone since Dynamo 0.6)
    "sglang.launch_server",  # python -m sglang.launch_server
    "sglang serve",  # the sglang console script
    "dynamo.frontend",
    "dynamo.mocker",
    "unknown",
]


class Problem(NamedTuple):
    """Something the parser noticed, tied to the token that caused it.

    ``fatal`` problems are the ones argparse itself rejects (exit 2 at start-up);
    ``message`` is then argparse's exact text after ``error: ``.  Non-fatal problems are
    hints (an abbreviation that happens to work, a flag given twice, ...).
    """

    code: str  # see hicachectl/sglang/argv.py for the list
    message: str
    token_index: int | None = None
    fatal: bool = False
    flag: str | None = None  # canonical option string involved, when there is one


@dataclass(frozen=True, kw_only=True)
class ParsedCommand:
    tokens: list[str]  # the full command as given (wrappers and env prefixes included)
    entrypoint: Entrypoint
    entry_index: int = 0  # index in ``tokens`` of the first flag token after the entry point
    env: dict[str, str] = field(default_factory=dict)  # VAR=... prefixes / env wrapper
    sglang_version: str
    # SGLang namespace: every dest of the SGLang parser, defaults filled, config merged.
    values: dict[str, Any] = field(default_factory=dict)
    # dests that the command line or --config set explicitly -> index of the token (config: -1)
    explicit: dict[str, int] = field(default_factory=dict)
    # Dynamo-owned flags (dynamo.sglang), or the frontend / mocker namespace
    dynamo_values: dict[str, Any] = field(default_factory=dict)
    dynamo_explicit: dict[str, int] = field(default_factory=dict)
    canonical_argv: list[str] = field(default_factory=list)  # long names only, stable order
    problems: list[Problem] = field(default_factory=list)

    @property
    def fatal(self) -> Problem | None:
        """The first problem argparse would exit on, or None."""
        return next((p for p in self.problems if p.fatal), None)


class Rewrite(NamedTuple):
    field: str
    from_: Any  # serialised as "from"
    to: Any
    rule: str  # R0a, R3, ... as in reference/sglang-hicache.md
    message: str | None = None  # the exact SGLang log line (None for silent rewrites)
    level: Literal["WARNING", "INFO"] | None = None


class StartupError(NamedTuple):
    message: str  # exactly str(exception)
    rule: str  # E1, E8, ...
    error_type: str = "ValueError"


@dataclass(frozen=True, kw_only=True)
class Resolution:
    sglang_version: str
    resolved: dict[str, Any]
    rewrites: list[Rewrite] = field(default_factory=list)
    errors: list[StartupError] = field(default_factory=list)  # SGLang stops at the first
    logs: list[str] = field(default_factory=list)  # every HiCache-relevant log line, in order
    notes: list[str] = field(default_factory=list)  # e.g. "model unknown: MLA-only rule skipped"

    @property
    def starts(self) -> bool:
        return not self.errors
