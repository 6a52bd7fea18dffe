"""Types that cross the boundary between command extraction (``lint/extract``) and rules.

Extractors turn a file into :class:`Extraction`: the launch commands in it (as tokens with
positions in the *original* file), the environment and shell variables known around them,
suppression directives, and findings that only the extractor can see (a broken
continuation).  Rules never read files; they read these objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
HostFormat = Literal[
    "shell", "markdown", "k8s", "compose", "dockerfile", "sglang-config", "profile", "cli"
]


@dataclass(frozen=True, slots=True)
class Span:
    """1-based line and column in the original file; end is inclusive of the last char."""

    line: int
    col: int
    end_line: int
    end_col: int


@dataclass(frozen=True, slots=True)
class Token:
    """One shell word after quote removal and known-variable expansion.

    ``known`` is False when the word contains a variable or command substitution whose value
    the file does not define: rules treat such a value as unknown, never as an error.
    One array expansion (``"${args[@]}"``) becomes several Tokens sharing the span of the
    expansion.  ``origin``, when set, is where the value was written: the array element or
    the ``NAME=value`` assignment the word's text came from (shell only).
    """

    text: str
    span: Span
    raw: str = ""
    known: bool = True
    origin: Span | None = None


@dataclass(slots=True)
class Command:
    """One launch command found in a file (any program; rules pick the ones they care about)."""

    path: str
    host_format: HostFormat
    tokens: list[Token]  # wrappers stripped? no: the full command as written, wrappers included
    span: Span
    env: dict[str, str] = field(default_factory=dict)  # VAR=... prefixes, `env`, k8s env, ENV
    env_spans: dict[str, Span] = field(default_factory=dict)
    background: bool = False
    # Commands in one group run together (one script, one pod / DGD, one compose file):
    # topology and memory rules compare commands within a group.
    group: str = ""
    # Free-form facts from the host format, e.g. {"k8s_memory_limit_bytes": 4e11,
    # "replicas": 2, "component_type": "worker", "service": "decode", "via": "bash -c"}.
    context: dict[str, Any] = field(default_factory=dict)
    # SGLang --config content found in the same file (ConfigMap), by the path the command names.
    config_files: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Suppression:
    codes: tuple[str, ...]  # rule codes or names; ("all",) for every rule
    line: int  # the line it applies to (for file-wide: 0)
    reason: str = ""
    file_wide: bool = False


@dataclass(frozen=True, slots=True)
class Finding:
    path: str
    span: Span
    code: str
    name: str
    severity: Severity
    message: str
    fix: str | None = None  # the flags to write instead, when the rule knows them

    def sort_key(self) -> tuple:
        return (self.path, self.span.line, self.span.col, self.code, self.message)


@dataclass(slots=True)
class Extraction:
    path: str
    host_format: HostFormat | None  # None: not a file hicachectl lints (skipped silently)
    commands: list[Command] = field(default_factory=list)
    # Variables exported/assigned anywhere in the file or manifest (MOONCAKE_MASTER, ...).
    file_env: dict[str, str] = field(default_factory=dict)
    suppressions: list[Suppression] = field(default_factory=list)
    # Findings only the extractor can see: broken / dangling continuations (with the flags
    # that were lost), unterminated quotes or fences, YAML errors, unreadable input.
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # one-line notes (binary file skipped, ...)
    lines: list[str] = field(default_factory=list)  # the original text, for caret display
    # Values of secret-named variables the extractor saw but did not keep in ``file_env``
    # (a compose ``.env``): findings must not quote them.
    secret_values: set[str] = field(default_factory=set)
