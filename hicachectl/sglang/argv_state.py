"""Shared state of one ``parse_command`` call: problems, actions taken, --config expansion.

Token positions are tracked as a parallel list of indexes into the full command, so every
problem points at the token the user wrote (``CONFIG`` for tokens a --config file supplied).
"""

from __future__ import annotations

from collections.abc import Mapping

from hicachectl.sglang import engine
from hicachectl.sglang.config import ConfigError, config_tokens
from hicachectl.sglang.types import Problem

CONFIG = -1  # explicit[...] for values that came from a --config file


class Stop(Exception):
    pass


class Run:
    """State of one parse_command call."""

    def __init__(self, tokens: list[str], version: str, texts: Mapping[str, str] | None):
        self.tokens = tokens
        self.version = version
        self.texts = texts
        self.problems: list[Problem] = []
        self.hits: list[tuple[engine.Hit, int]] = []  # (hit, full token index or CONFIG)
        self.dyn_hits: list[tuple[engine.Hit, int]] = []

    def problem(self, code, message, idx=None, fatal=False, flag=None) -> None:
        self.problems.append(
            Problem(code=code, message=message, token_index=idx, fatal=fatal, flag=flag)
        )

    def run(self, p, args, idx, *, known, ns, dynamo=False) -> list[int]:
        """Run one parser; returns the local positions it left over (known mode)."""
        out = engine.run(p, args, known=known, ns=ns)
        last = out.error[2] if out.error else out.exited
        for pos, tok, opt, flag in out.abbrevs:
            if last is not None and pos > last:
                break
            # Suggest the canonical spelling; a --no-x form stays a --no-x form.
            write = opt if opt.startswith("--no-") else flag.canonical
            also = "" if write == opt else f" (canonical {write})"
            self.problem(
                "abbreviation",
                f"{tok} is an abbreviation of {opt}{also}; write {write}",
                self._real(idx[pos]),
                flag=write,
            )
        target = self.dyn_hits if dynamo else self.hits
        target.extend((h, idx[h.pos]) for h in out.hits)
        if out.error:
            code, msg, pos, flag = out.error
            where = self._real(idx[pos]) if pos is not None else None
            self.problem(code, msg, where, fatal=True, flag=flag)
            raise Stop
        if out.exited is not None:
            raise Stop  # help/version printed; nothing after it is parsed
        return out.extras

    def _real(self, i: int) -> int | None:
        # Tokens that came from a config file point at the --config token's value.
        return self.config_at if i == CONFIG else i

    config_at: int | None = None

    def expand_config(self, p, args: list[str], idx: list[int]) -> tuple[list[str], list[int]]:
        n = args.count("--config")
        if not n:
            for a, i in zip(args, idx, strict=True):
                if a.startswith("--config="):
                    self.problem(
                        "config",
                        "--config=FILE is not expanded by SGLang (only '--config FILE' is); "
                        "the file's settings are ignored",
                        i,
                        flag="--config",
                    )
            return args, idx
        at = args.index("--config")
        if n > 1:
            self.problem(
                "config", "Multiple config files specified! Only one allowed.", idx[at], True
            )
            raise Stop
        if at == len(args) - 1:
            self.problem("config", "No config file specified after --config flag!", idx[at], True)
            raise Stop
        self.config_at = idx[at + 1]
        try:
            extra = config_tokens(p, self.version, args[at + 1], self.texts)
        except ConfigError as e:
            self.problem("config", str(e), idx[at + 1], True, "--config")
            raise Stop from None
        return (
            extra + args[:at] + args[at + 2 :],
            [CONFIG] * len(extra) + idx[:at] + idx[at + 2 :],
        )


def run_sglang(r, sp, args, idx, values, model_path):
    if model_path is not None and not has_model(sp, args):
        args = ["--model-path", model_path, *args]
        idx = [CONFIG, CONFIG, *idx]
    r.run(sp, args, idx, known=False, ns=values)


def has_model(sp, args) -> bool:
    for a in args:
        try:
            t = sp.classify(a)
        except engine.Ambiguous:
            continue
        if t and t[0] is not None and t[0].dest == "model_path":
            return True
    return False


def without_flag(args, idx, flag):
    out, out_idx, skip = [], [], False
    for a, i in zip(args, idx, strict=True):
        if skip:
            skip = False
            continue
        if a == flag:
            skip = True
            continue
        if a.startswith(flag + "="):
            continue
        out.append(a)
        out_idx.append(i)
    return out, out_idx
