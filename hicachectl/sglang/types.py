"""Result types of the SGLang argv parser and start-up resolver.

The parser (``hicachectl.sglang.argv``) turns tokens into a :class:`ParsedCommand`; the
resolver (``hicachectl.sglang.resolver``) turns one into a :class:`Resolution`.  Plan, lint
and launch consume these two types and nothing else from this package.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Entrypoint = Literal[
    "dynamo.sglang",  # python -m dynamo.sglang
    "dynamo.sglang.worker",  # removed module path (gone since Dynamo 0.6)
    "sglang.launch_server",  # python -m sglang.launch_server
    "sglang serve",  # the sglang console script
    "dynamo.frontend",
    "dynamo.mocker",
    "unknown",
]


class Problem(BaseModel):
    """Something the parser noticed, tied to the token that caused it.

    ``fatal`` problems are the ones argparse itself rejects (exit 2 at start-up);
    ``message`` is then argparse's exact text after ``error: ``.  Non-fatal problems are
    hints (an abbreviation that happens to work, a flag given twice, ...).
    """

    model_config = ConfigDict(frozen=True)

    code: str  # unrecognized | ambiguous | invalid-type | invalid-choice | missing-value |
    # required | abbreviation | repeated | config | entrypoint | ...
    message: str
    token_index: int | None = None
    fatal: bool = False
    flag: str | None = None  # canonical option string involved, when there is one


class ParsedCommand(BaseModel):
    model_config = ConfigDict(frozen=True)

    tokens: list[str]  # the full command as given (wrappers and env prefixes included)
    entrypoint: Entrypoint
    entry_index: int = 0  # index in ``tokens`` of the first flag token after the entry point
    env: dict[str, str] = Field(default_factory=dict)  # VAR=... prefixes / env wrapper
    sglang_version: str
    # SGLang namespace: every dest of the SGLang parser, defaults filled, config merged.
    values: dict[str, Any] = Field(default_factory=dict)
    # dests that the command line or --config set explicitly -> index of the token (config: -1)
    explicit: dict[str, int] = Field(default_factory=dict)
    # Dynamo-owned flags (dynamo.sglang), or the frontend / mocker namespace
    dynamo_values: dict[str, Any] = Field(default_factory=dict)
    dynamo_explicit: dict[str, int] = Field(default_factory=dict)
    canonical_argv: list[str] = Field(default_factory=list)  # long names only, stable order
    problems: list[Problem] = Field(default_factory=list)

    @property
    def fatal(self) -> Problem | None:
        """The first problem argparse would exit on, or None."""
        return next((p for p in self.problems if p.fatal), None)


class Rewrite(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    field: str
    from_: Any = Field(alias="from")
    to: Any
    message: str | None = None  # the exact SGLang log line (None for silent rewrites)
    level: Literal["WARNING", "INFO"] | None = None
    rule: str  # R0a, R3, ... as in reference/sglang-hicache.md


class StartupError(BaseModel):
    model_config = ConfigDict(frozen=True)

    message: str  # exactly str(exception)
    error_type: str = "ValueError"
    rule: str  # E1, E8, ...


class Resolution(BaseModel):
    model_config = ConfigDict(frozen=True)

    sglang_version: str
    resolved: dict[str, Any]
    rewrites: list[Rewrite] = Field(default_factory=list)
    errors: list[StartupError] = Field(default_factory=list)  # SGLang stops at the first
    logs: list[str] = Field(default_factory=list)  # every HiCache-relevant log line, in order
    notes: list[str] = Field(default_factory=list)  # e.g. "model unknown: MLA-only rule skipped"

    @property
    def starts(self) -> bool:
        return not self.errors
