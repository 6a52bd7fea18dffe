"""One SGLang / Dynamo command as the rules see it: its tokens, the parser's result, the
resolver's result (computed lazily, at most once), and helpers to find the span of a flag,
its value, and whether the file defines that value.

Tokens whose value the file does not define (``known=False``, or a kubelet ``$(VAR)``) make
the values they carry unknown; problems about unknown values are dropped here, so no rule
reports them.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from hicachectl.lint.types import Token
from hicachectl.lint.view_spans import SpanLookup, merge_spans  # noqa: F401 - re-exported

if TYPE_CHECKING:
    from hicachectl.lint.context import FileContext
    from hicachectl.lint.types import Command
    from hicachectl.sglang.types import ParsedCommand, Problem, Resolution

ENGINE_ENTRYPOINTS = frozenset(
    {"dynamo.sglang", "dynamo.sglang.worker", "sglang.launch_server", "sglang serve"}
)
WORKER_ENTRYPOINTS = frozenset({"dynamo.sglang", "dynamo.sglang.worker", "dynamo.mocker"})
# Problems about a value: dropped when that value's token is unknown.
_VALUE_PROBLEMS = frozenset({"invalid-type", "invalid-choice", "missing-value"})
_KUBELET_VAR = re.compile(r"(?<!\$)\$\([A-Za-z_][A-Za-z0-9_]*\)")


class CommandView(SpanLookup):
    """One SGLang / Dynamo command with its parse and resolution."""

    def __init__(
        self, cmd: Command, ctx: FileContext, parsed: ParsedCommand, unknown_config: bool = False
    ) -> None:
        self.cmd = cmd
        self.ctx = ctx
        self.parsed = parsed
        self.entrypoint: str = parsed.entrypoint
        self._resolution: Resolution | None | bool = False  # False: not computed yet
        # Settings this command gets from elsewhere: a --config file that is not available
        # here, or, for a config file linted on its own, the command line that uses it.
        self.unknown_config = unknown_config
        # dests whose unknown value was replaced by a stand-in so argparse reads on
        self.standins: frozenset[str] = frozenset()
        self.problems: list[Problem] = [p for p in parsed.problems if self._keep(p)]
        self.has_unknown = any(not t.known for t in cmd.tokens)
        self._unrec: list[tuple[int, str]] | None = None
        self._open: bool | None = None

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
        if p.code == "required" and (
            self.unknown_config or any(not t.known for t in self.cmd.tokens)
        ):
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
            return resolve(self.parsed, model=self.model)
        except Exception as exc:  # the linter reports, it never crashes on one command
            self.ctx.notes.append(
                f"{self.ctx.path}:{self.cmd.span.line}: resolver skipped: {type(exc).__name__}"
            )
            return None

    @property
    def open_ended(self) -> bool:
        """True when a word the file does not define could expand to more flags
        (``"${EXTRA_ARGS[@]}"``): rules that need a flag to be absent stay silent."""
        if self._open is None:
            toks = self.cmd.tokens
            self._open = self.unknown_config
            # Only words after the entry point can be flags (not `env VAR=$X` before it).
            for i in range(self.parsed.entry_index, len(toks)):
                t = toks[i]
                if not self._unknown(t):
                    continue
                prev = toks[i - 1].text if i else ""
                if not (prev.startswith("-") and "=" not in prev):
                    self._open = True
                    break
        return self._open

    @property
    def model(self):
        """Facts of the served model when it is in the bundled catalogue (by id or by the
        last path component: ``/models/DeepSeek-R1/``), else None.  Never reads the local
        disk or the Hugging Face cache: lint results do not depend on the linting machine."""
        name = self.value("model_path")
        if not isinstance(name, str) or not name or not self.known("model_path"):
            return None
        return bundled_model(name)

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
    def ranks_per_host(self) -> int | None:
        """Ranks on one node: tp × pp × dp split over ``--nnodes``."""
        ranks = self.ranks
        nnodes = self.int_value("nnodes") or 1
        if ranks is None or nnodes < 1:
            return None
        return max(ranks // nnodes, 1)


@lru_cache(maxsize=64)
def bundled_model(name: str):
    from hicachectl.catalogue import META_KEY, find_bundled, load_config_json
    from hicachectl.modelspec import facts_from_config

    for candidate in (name.strip(), name.strip().rstrip("/").rsplit("/", 1)[-1]):
        path = find_bundled(candidate) if candidate else None
        if path is None:
            continue
        try:
            cfg = load_config_json(path)
            meta = cfg.get(META_KEY) or {}
            return facts_from_config(
                cfg, name=meta.get("name") or candidate, source=f"catalogue:{path.name}"
            )
        except Exception:  # a catalogue problem must not stop the lint
            return None
    return None
