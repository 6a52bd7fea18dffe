"""``parse_command``: a tokenized command -> :class:`ParsedCommand`, as SGLang/Dynamo parse it.

Steps: find the entry point (``entry.py``); for ``dynamo.sglang`` split the argv exactly as
Dynamo 1.6.1 does (its own parser's ``parse_known_args``, then the router-advertisement
parser, then ``--config`` expansion, the ``--disaggregation-mode agg|pd`` rewrite, then
SGLang's strict parser); for SGLang entry points expand ``--config`` and run SGLang's parser.
Every token index in the result refers to the full token list given.  Never raises on input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hicachectl.sglang import engine
from hicachectl.sglang.canonical import canonical_argv, hit_problems
from hicachectl.sglang.config import ConfigError, config_tokens, convert_mapping, read_yaml
from hicachectl.sglang.entry import find_entry
from hicachectl.sglang.flags import DYNAMO_SGLANG_PIN
from hicachectl.sglang.parsers import dynamo_parser, sglang_parser
from hicachectl.sglang.types import ParsedCommand, Problem

CONFIG = -1  # explicit[...] for values that came from a --config file


class _Stop(Exception):
    pass


class _Run:
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
        for pos, tok, opt in out.abbrevs:
            if out.error and out.error[2] is not None and pos > out.error[2]:
                break
            where = idx[pos]
            self.problem(
                "abbreviation",
                f"{tok} is an abbreviation of {opt}; write {opt}",
                self._real(where),
                flag=opt,
            )
        target = self.dyn_hits if dynamo else self.hits
        target.extend((h, idx[h.pos]) for h in out.hits)
        if out.error:
            code, msg, pos, flag = out.error
            where = self._real(idx[pos]) if pos is not None else None
            self.problem(code, msg, where, fatal=True, flag=flag)
            raise _Stop
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
            self.problem("config", "Multiple config files specified! Only one allowed.", idx[at], True)
            raise _Stop
        if at == len(args) - 1:
            self.problem("config", "No config file specified after --config flag!", idx[at], True)
            raise _Stop
        self.config_at = idx[at + 1]
        try:
            extra = config_tokens(p, self.version, args[at + 1], self.texts)
        except ConfigError as e:
            self.problem("config", str(e), idx[at + 1], True, "--config")
            raise _Stop from None
        return (
            extra + args[:at] + args[at + 2 :],
            [CONFIG] * len(extra) + idx[:at] + idx[at + 2 :],
        )


def parse_command(
    tokens: Sequence[str],
    *,
    sglang_version: str | None = None,
    config_texts: Mapping[str, str] | None = None,
    model_path: str | None = None,
) -> ParsedCommand:
    """Parse a full command (or bare server flags) as the program it runs would.

    ``sglang_version``: the SGLang release to parse against (default: the detected target,
    see :mod:`hicachectl.sglang.version`; Dynamo's pin for ``dynamo.sglang``).
    ``config_texts``: ``{path: yaml text}`` read instead of the disk for ``--config path``.
    ``model_path``: stands in for a missing ``--model-path`` (``resolve --model-config``).
    """
    toks = [str(t) for t in tokens]
    entry = find_entry(toks)
    if sglang_version is None:
        if entry.entrypoint.startswith("dynamo"):
            sglang_version = DYNAMO_SGLANG_PIN
        else:
            from hicachectl.sglang.version import target_sglang_version

            sglang_version = target_sglang_version(None)[0]
    r = _Run(toks, sglang_version, config_texts)
    ep = entry.entrypoint
    if entry.problem:
        code, msg, idx = entry.problem
        r.problem(code, msg, idx, fatal=True)
    sp = sglang_parser(sglang_version, ep.startswith("dynamo.sglang"))
    values: dict[str, Any] = dict(sp.defaults)
    dyn: dict[str, Any] = {}
    args = toks[entry.start :]
    idx = list(range(entry.start, len(toks)))
    try:
        if ep in ("sglang serve", "sglang.launch_server"):
            if ep == "sglang serve":
                args, idx = _serve_argv(args, idx, entry.positional_model)
            args, idx = r.expand_config(sp, args, idx)
            _sglang(r, sp, args, idx, values, model_path)
        elif ep.startswith("dynamo.sglang"):
            _dynamo_sglang(r, sp, args, idx, values, dyn, model_path)
        elif ep == "dynamo.frontend":
            _frontend(r, args, idx, dyn)
        elif ep == "dynamo.mocker":
            p = dynamo_parser("mocker")
            dyn.update(p.defaults)
            r.run(p, args, idx, known=False, ns=dyn, dynamo=True)
    except _Stop:
        pass
    r.problems.extend(hit_problems(r.hits) + hit_problems(r.dyn_hits))
    explicit = {h.flag.dest: i for h, i in r.hits if h.value is not engine.SUPPRESS}
    dyn_explicit = {h.flag.dest: i for h, i in r.dyn_hits if h.value is not engine.SUPPRESS}
    return ParsedCommand(
        tokens=toks,
        entrypoint=ep,
        entry_index=min(entry.start, len(toks)),
        env=entry.env,
        sglang_version=sglang_version,
        values=values,
        explicit=explicit,
        dynamo_values=dyn,
        dynamo_explicit=dyn_explicit,
        canonical_argv=canonical_argv(
            [("dynamo", x) for x in r.dyn_hits] + [("sglang", x) for x in r.hits]
        ),
        problems=r.problems,
    )


def _serve_argv(args, idx, positional_model):
    # sglang/cli/serve.py: strip --model-type, turn a leading positional into --model-path.
    out, out_idx, i = [], [], 0
    while i < len(args):
        a = args[i]
        if a == "--model-type":
            i += 2
            continue
        if a.startswith("--model-type="):
            i += 1
            continue
        out.append(a)
        out_idx.append(idx[i])
        i += 1
    if positional_model and out and not out[0].startswith("-"):
        out = ["--model-path", *out]
        out_idx = [out_idx[0], *out_idx]
    return out, out_idx


def _sglang(r, sp, args, idx, values, model_path):
    if model_path is not None and not _has_model(sp, args):
        args = ["--model-path", model_path, *args]
        idx = [CONFIG, CONFIG, *idx]
    r.run(sp, args, idx, known=False, ns=values)


def _has_model(sp, args) -> bool:
    for a in args:
        try:
            t = sp.classify(a)
        except engine.Ambiguous:
            continue
        if t and t[0] is not None and t[0].dest == "model_path":
            return True
    return False


def _dynamo_sglang(r, sp, args, idx, values, dyn, model_path):
    d, ra = dynamo_parser("sglang-worker", "dynamo"), dynamo_parser("sglang-worker", "router_advertisement")
    dyn.update(d.defaults)
    dyn.update(ra.defaults)
    left = r.run(d, args, idx, known=True, ns=dyn, dynamo=True)
    args, idx = [args[i] for i in left], [idx[i] for i in left]
    left = r.run(ra, args, idx, known=True, ns=dyn, dynamo=True)
    args, idx = [args[i] for i in left], [idx[i] for i in left]
    if (dyn.get("disagg_config") is None) != (dyn.get("disagg_config_key") is None):
        r.problem("dynamo", "Both 'disagg_config' and 'disagg_config_key' must be provided together.", None, True)
        raise _Stop
    if dyn.get("disagg_config") is not None:
        args, idx = _disagg_section(r, sp, args, idx, dyn)
    else:
        args, idx = r.expand_config(sp, args, idx)
    args, idx = _disagg_mode(args, idx, dyn)
    _sglang(r, sp, args, idx, values, model_path)
    # Values Dynamo sets on SGLang's namespace after parsing (dynamo/sglang/args.py).
    if dyn.get("enable_multimodal"):
        values["enable_multimodal"] = True
    if dyn.get("embedding_worker") or dyn.get("rerank_worker"):
        values["is_embedding"] = True
    if dyn.get("rerank_worker"):
        if values.get("disaggregation_mode") != "null":
            r.problem("dynamo", "--rerank-worker requires aggregated cross-encoder serving", None, True)
        values["disable_radix_cache"] = True
        values["chunked_prefill_size"] = -1
    if "incremental_streaming_output" in values:
        values["incremental_streaming_output"] = True
    if dyn.get("gateway_workers") is not None and "tokenizer_worker_num" in values:
        values["tokenizer_worker_num"] = dyn["gateway_workers"]


def _disagg_section(r, sp, args, idx, dyn):
    path, key = str(dyn["disagg_config"]), str(dyn["disagg_config_key"])
    at = r.tokens.index(path) if path in r.tokens else None
    try:
        if r.texts is None or path not in r.texts:
            import os

            if not os.path.exists(path):
                raise ConfigError(f"Disagg config file not found: {path}")
        data = read_yaml(path, r.texts)
        if not isinstance(data, dict):
            raise ConfigError(
                f"Disagg config file must contain a dictionary, got {type(data).__name__}"
            )
        if key not in data:
            raise ConfigError(
                f"Disagg config key '{key}' not found in {path}. Available keys: {list(data)}"
            )
        section = data[key]
        if not isinstance(section, dict):
            raise ConfigError(
                f"Disagg config section '{key}' must be a dictionary, got {type(section).__name__}"
            )
        extra = convert_mapping(sp, r.version, section)
    except ConfigError as e:
        r.problem("config", str(e), at, True, "--disagg-config")
        raise _Stop from None
    r.config_at = at
    keep = _without_flag(args, idx, "--config")
    return extra + keep[0], [CONFIG] * len(extra) + keep[1]


def _without_flag(args, idx, flag):
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


def _disagg_mode(args, idx, dyn):
    """Dynamo's ``--disaggregation-mode`` spellings: agg|pd -> null, encode -> removed."""
    value, at = None, None
    for j, a in enumerate(args):
        if a.startswith("--disaggregation-mode="):
            value, at = a.split("=", 1)[1], idx[j]
        if a == "--disaggregation-mode" and j + 1 < len(args):
            value, at = args[j + 1], idx[j + 1]
    if value in ("agg", "pd"):
        a2, i2 = _without_flag(args, idx, "--disaggregation-mode")
        return a2 + ["--disaggregation-mode", "null"], i2 + [at, at]
    if value == "encode":
        dyn["multimodal_encode_worker"] = True
        dyn["enable_multimodal"] = True
        return _without_flag(args, idx, "--disaggregation-mode")
    return args, idx


def _frontend(r, args, idx, dyn):
    p = dynamo_parser("frontend", "frontend")
    dyn.update(p.defaults)
    left = r.run(p, args, idx, known=True, ns=dyn, dynamo=True)
    if dyn.get("chat_processor") == "sglang" and left:
        sp = dynamo_parser("frontend", "sglang_chat_processor")
        for k, v in sp.defaults.items():
            dyn.setdefault(k, v)
        sub = r.run(sp, [args[i] for i in left], [idx[i] for i in left], known=True, ns=dyn, dynamo=True)
        left = [left[i] for i in sub]
    if left and dyn.get("chat_processor") != "vllm":
        shown = [args[i] for i in left]
        r.problem("unrecognized", f"Unknown arguments specified: {shown}", idx[left[0]], True)
