"""Per-file lint context: every launch command parsed and resolved once, shared by all rules.

Rules never parse argv or read files.  They read a :class:`FileContext` (the extraction,
the effective settings, the host budget) and its :class:`CommandView` objects: one per
SGLang / Dynamo command, holding the parser's :class:`ParsedCommand` and, for engine
commands, the resolver's :class:`Resolution`, both computed lazily and at most once.
Tokens whose value the file does not define (``known=False``) make the values they carry
unknown; problems about unknown values are dropped here, so no rule reports them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hicachectl.lint.types import Command, Extraction, Span, Token

if TYPE_CHECKING:
    from hicachectl.lint.config import Settings
    from hicachectl.sglang.types import ParsedCommand, Problem, Resolution

ENGINE_ENTRYPOINTS = frozenset(
    {"dynamo.sglang", "dynamo.sglang.worker", "sglang.launch_server", "sglang serve"}
)
WORKER_ENTRYPOINTS = frozenset({"dynamo.sglang", "dynamo.sglang.worker", "dynamo.mocker"})
# Problems about a value: dropped when that value's token is unknown.
_VALUE_PROBLEMS = frozenset({"invalid-type", "invalid-choice", "missing-value"})
_KUBELET_VAR = re.compile(r"(?<!\$)\$\([A-Za-z_][A-Za-z0-9_]*\)")


@dataclass(frozen=True)
class HostInfo:
    """The host memory the memory rules compare against (None fields: not known)."""

    available_bytes: int | None = None  # min(available DRAM, cgroup headroom)
    source: str = ""  # "--host-memory 1TB", "snapshot hw.json", "probe"


def merge_spans(a: Span, b: Span) -> Span:
    first, last = (a, b) if (a.line, a.col) <= (b.line, b.col) else (b, a)
    return Span(first.line, first.col, last.end_line, last.end_col)


class CommandView:
    """One SGLang / Dynamo command with its parse and resolution."""

    def __init__(self, cmd: Command, ctx: FileContext, parsed: ParsedCommand) -> None:
        self.cmd = cmd
        self.ctx = ctx
        self.parsed = parsed
        self.entrypoint: str = parsed.entrypoint
        self._resolution: Resolution | None | bool = False  # False: not computed yet
        self.problems: list[Problem] = [p for p in parsed.problems if self._keep(p)]
        self.has_unknown = any(not t.known for t in cmd.tokens)
        self._unrec: list[tuple[int, str]] | None = None

    # ------------------------------------------------------------------ kinds
    @property
    def is_engine(self) -> bool:
        return self.entrypoint in ENGINE_ENTRYPOINTS

    @property
    def is_dynamo(self) -> bool:
        return self.entrypoint.startswith("dynamo.")

    @property
    def is_worker(self) -> bool:
        return self.entrypoint in WORKER_ENTRYPOINTS

    @property
    def is_frontend(self) -> bool:
        return self.entrypoint == "dynamo.frontend"

    @property
    def version(self) -> str:
        return self.parsed.sglang_version

    @property
    def fatal(self) -> Problem | None:
        return next((p for p in self.problems if p.fatal), None)

    @property
    def sound(self) -> bool:
        """True when the parsed values are the ones the program would use: no parse error,
        or only unrecognised arguments (argparse parses everything else first)."""
        return all(
            p.code in ("unrecognized", "removed-module") for p in self.parsed.problems if p.fatal
        )

    def unrecognized(self) -> list[tuple[int, str]]:
        """(token index, text) of every argument the parser left over, one per token."""
        if self._unrec is None:
            self._unrec = []
            for p in self.parsed.problems:
                if p.code == "unrecognized" and p.token_index is not None:
                    self._unrec.extend(self._split_extras(p))
        return self._unrec

    def _split_extras(self, p: Problem) -> list[tuple[int, str]]:
        msg = p.message.split(": ", 1)[1] if ": " in p.message else ""
        words: list[str] | None = None
        if msg.startswith("["):
            import ast

            try:
                words = [str(w) for w in ast.literal_eval(msg)]
            except (ValueError, SyntaxError):
                words = None
        out: list[tuple[int, str]] = []
        rest = msg
        for i in range(p.token_index or 0, len(self.cmd.tokens)):
            text = self.cmd.tokens[i].text
            if words is not None:
                if words and words[0] == text:
                    out.append((i, words.pop(0)))
            elif rest.startswith(text) and (len(rest) == len(text) or rest[len(text)] == " "):
                out.append((i, text))
                rest = rest[len(text) + 1 :]
        return out or [(p.token_index or 0, msg.split(" ")[0])]

    # ------------------------------------------------------------------ tokens
    def token(self, index: int | None) -> Token | None:
        if index is None or index < 0 or index >= len(self.cmd.tokens):
            return None
        return self.cmd.tokens[index]

    def token_span(self, index: int | None) -> Span:
        tok = self.token(index)
        return tok.span if tok is not None else self.head_span

    @property
    def head_span(self) -> Span:
        """The entry point's token (``dynamo.sglang``), else the command's first token."""
        idx = max(self.parsed.entry_index - 1, 0)
        tok = self.token(idx) or (self.cmd.tokens[0] if self.cmd.tokens else None)
        return tok.span if tok is not None else self.cmd.span

    def _unknown(self, tok: Token | None) -> bool:
        """A word whose value the file does not define.  In Kubernetes argv, ``$(VAR)`` is
        expanded by the kubelet from the container's environment at start-up."""
        if tok is None:
            return False
        if not tok.known:
            return True
        # `$$(VAR)` is the escaped, literal form: its text is exactly what the program gets.
        return (
            self.cmd.host_format == "k8s"
            and _KUBELET_VAR.search(tok.text) is not None
            and "$$(" not in tok.raw
        )

    def _keep(self, p: Problem) -> bool:
        tok = self.token(p.token_index)
        if self._unknown(tok):
            return False
        if p.code in _VALUE_PROBLEMS and p.token_index is not None:
            nxt = self.token(p.token_index + 1)
            if self._unknown(nxt) and "=" not in (tok.text if tok else ""):
                return False
        if p.code == "required" and any(not t.known for t in self.cmd.tokens):
            return False  # an unknown expansion may carry the required flag
        return True

    # ------------------------------------------------------------------ values
    def explicit_index(self, dest: str) -> int | None:
        idx = self.parsed.explicit.get(dest)
        if idx is None:
            idx = self.parsed.dynamo_explicit.get(dest)
        return idx

    def is_explicit(self, dest: str) -> bool:
        return self.explicit_index(dest) is not None

    def value(self, dest: str, default: Any = None) -> Any:
        """SGLang value as parsed (defaults filled); Dynamo-owned dests fall back."""
        if dest in self.parsed.values:
            return self.parsed.values[dest]
        return self.parsed.dynamo_values.get(dest, default)

    def dyn(self, dest: str, default: Any = None) -> Any:
        return self.parsed.dynamo_values.get(dest, default)

    def resolved(self, dest: str, default: Any = None) -> Any:
        res = self.resolution
        if res is not None and dest in res.resolved:
            return res.resolved[dest]
        return self.value(dest, default)

    def known(self, dest: str) -> bool:
        """False when the value of ``dest`` came from a token the file does not define."""
        idx = self.explicit_index(dest)
        if idx is None or idx < 0:
            return True
        tok = self.token(idx)
        if tok is None:
            return True
        if self._unknown(tok):
            return False
        if "=" in tok.text:
            return True
        nxt = self.token(idx + 1)
        return nxt is None or not self._unknown(nxt) or nxt.text.startswith("-")

    def span_of(self, dest: str) -> Span:
        """Span of the flag that set ``dest`` (flag and value), else of ``--config``, else
        the entry point."""
        idx = self.explicit_index(dest)
        if idx is None:
            return self.head_span
        if idx < 0:
            cfg = self.explicit_index("config")
            return self.span_of("config") if cfg is not None and cfg >= 0 else self.head_span
        tok = self.token(idx)
        if tok is None:
            return self.head_span
        nxt = self.token(idx + 1)
        if "=" not in tok.text and nxt is not None and not nxt.text.startswith("--"):
            flag = self._flag(dest)
            if flag is not None and flag.takes_value:
                return merge_spans(tok.span, nxt.span)
        return tok.span

    def _flag(self, dest: str):
        from hicachectl.sglang.flags import dynamo_table, sglang_table

        flag = sglang_table(self.version).by_dest.get(dest)
        if flag is None and self.is_dynamo:
            prog = {"dynamo.frontend": "frontend", "dynamo.mocker": "mocker"}.get(
                self.entrypoint, "sglang-worker"
            )
            flag = dynamo_table(prog).by_dest.get(dest)
        return flag

    def flag_name(self, dest: str) -> str:
        flag = self._flag(dest)
        return flag.canonical if flag is not None else "--" + dest.replace("_", "-")

    def env_get(self, name: str) -> str | None:
        """A variable in the command's environment (prefix/env/k8s env), else file-wide."""
        if name in self.cmd.env:
            return self.cmd.env[name]
        return self.ctx.extraction.file_env.get(name)

    def env_span(self, name: str) -> Span:
        return self.cmd.env_spans.get(name, self.head_span)

    # ------------------------------------------------------------------ derived
    @property
    def resolution(self) -> Resolution | None:
        if self._resolution is False:
            self._resolution = self._resolve()
        return self._resolution  # type: ignore[return-value]

    def _resolve(self) -> Resolution | None:
        if not self.is_engine or self.fatal is not None:
            return None
        from hicachectl.sglang.resolver import resolve

        try:
            return resolve(self.parsed)
        except Exception as exc:  # the linter reports, it never crashes on one command
            self.ctx.notes.append(
                f"{self.ctx.path}:{self.cmd.span.line}: resolver skipped: {type(exc).__name__}"
            )
            return None

    @property
    def hicache(self) -> bool:
        return bool(self.value("enable_hierarchical_cache", False))

    def int_value(self, dest: str) -> int | None:
        v = self.value(dest)
        if not self.known(dest) or isinstance(v, bool):
            return None
        try:
            return int(v)
        except (TypeError, ValueError):
            return None

    @property
    def ranks(self) -> int | None:
        """Ranks (GPUs) one engine runs: tp × pp × dp (DP attention stays inside TP)."""
        tp, pp, dp = (self.int_value(d) for d in ("tp_size", "pp_size", "dp_size"))
        if tp is None or pp is None or dp is None:
            return None
        if self.value("enable_dp_attention", False):
            dp = 1
        return max(tp, 1) * max(pp, 1) * max(dp, 1)

    @property
    def replicas(self) -> int:
        try:
            return max(int(self.cmd.context.get("replicas", 1) or 1), 1)
        except (TypeError, ValueError):
            return 1


@dataclass
class FileContext:
    extraction: Extraction
    settings: Settings
    host: HostInfo = field(default_factory=HostInfo)
    notes: list[str] = field(default_factory=list)
    _views: list[CommandView] | None = None
    _memo: dict[str, Any] = field(default_factory=dict)

    def memo(self, key: str, compute):
        """Compute a per-file fact once (groupings several rules share)."""
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    @property
    def path(self) -> str:
        return self.extraction.path

    @property
    def views(self) -> list[CommandView]:
        if self._views is None:
            self._views = [v for v in map(self._view, self.extraction.commands) if v]
        return self._views

    def engines(self, *, sound: bool = True) -> Iterator[CommandView]:
        """SGLang engine commands; by default only those whose values can be trusted."""
        return (v for v in self.views if v.is_engine and (v.sound or not sound))

    def groups(self) -> dict[str, list[CommandView]]:
        def compute():
            out: dict[str, list[CommandView]] = {}
            for v in self.views:
                out.setdefault(v.cmd.group, []).append(v)
            return out

        return self.memo("groups", compute)

    def _view(self, cmd: Command) -> CommandView | None:
        texts = [t.text for t in cmd.tokens]
        if not any("sglang" in t or "dynamo" in t for t in texts):
            return None  # cheap pre-filter: most commands in a file are not launches
        parsed = self._parse(cmd, texts)
        if parsed.entrypoint == "unknown":
            # A launcher the parser does not know (a shell function such as `start NAME
            # env ... python -m ...`, `setsid`, `sudo -E`): try from the next wrapper or
            # interpreter word on.
            for i in _launch_starts(texts):
                sub = Command(
                    path=cmd.path,
                    host_format=cmd.host_format,
                    tokens=cmd.tokens[i:],
                    span=cmd.span,
                    env=dict(cmd.env),
                    env_spans=dict(cmd.env_spans),
                    background=cmd.background,
                    group=cmd.group,
                    context=cmd.context,
                    config_files=cmd.config_files,
                )
                parsed = self._parse(sub, texts[i:])
                if parsed.entrypoint != "unknown":
                    cmd = sub
                    break
            else:
                return None
        if parsed.env:
            # `env VAR=...` wrappers and prefixes the extractor left in the argv.
            cmd = _with_env(cmd, parsed)
        return CommandView(cmd, self, parsed)

    def _parse(self, cmd: Command, texts: list[str]) -> ParsedCommand:
        from hicachectl.sglang.argv import parse_command

        configs = cmd.config_files or None
        guess = "dynamo" if any("dynamo." in t for t in texts) else "sglang"
        want = self.settings.target_version(guess)
        parsed = parse_command(texts, sglang_version=want, config_texts=configs)
        actual = "dynamo" if parsed.entrypoint.startswith("dynamo.") else "sglang"
        if parsed.entrypoint != "unknown" and actual != guess:
            want2 = self.settings.target_version(actual)
            if want2 != want:
                parsed = parse_command(texts, sglang_version=want2, config_texts=configs)
        return parsed


_LAUNCH_WORDS = frozenset(
    {"env", "nohup", "exec", "setsid", "timeout", "numactl", "taskset", "stdbuf", "nice",
     "ionice", "chrt", "sudo", "time", "uv", "srun", "mpirun"}
)  # fmt: skip


def _launch_starts(texts: list[str]) -> list[int]:
    """Where a launch may start inside an unrecognised command (at most two tries)."""
    out = []
    for i, t in enumerate(texts[1:], 1):
        base = t.rsplit("/", 1)[-1]
        if base in _LAUNCH_WORDS or base.startswith("python") or base == "sglang":
            out.append(i)
            if len(out) == 2:
                break
    return out


def _with_env(cmd: Command, parsed: ParsedCommand) -> Command:
    env = dict(cmd.env)
    spans = dict(cmd.env_spans)
    for name, value in parsed.env.items():
        env.setdefault(name, value)
        if name not in spans:
            tok = next((t for t in cmd.tokens if t.text.startswith(name + "=")), None)
            if tok is not None:
                spans[name] = tok.span
    if env == cmd.env:
        return cmd
    return Command(
        path=cmd.path,
        host_format=cmd.host_format,
        tokens=cmd.tokens,
        span=cmd.span,
        env=env,
        env_spans=spans,
        background=cmd.background,
        group=cmd.group,
        context=cmd.context,
        config_files=cmd.config_files,
    )
