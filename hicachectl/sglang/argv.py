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
from hicachectl.sglang.argv_state import CONFIG, Run, Stop, run_sglang
from hicachectl.sglang.canonical import canonical_argv, hit_problems
from hicachectl.sglang.dynamo_split import dynamo_sglang, frontend
from hicachectl.sglang.entry import find_entry
from hicachectl.sglang.flags import DYNAMO_SGLANG_PIN
from hicachectl.sglang.parsers import dynamo_parser, sglang_parser
from hicachectl.sglang.types import ParsedCommand


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
    r = Run(toks, sglang_version, config_texts)
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
                if not entry.bare:
                    _serve_checks(r, args, idx, model_path)
            args, idx = r.expand_config(sp, args, idx)
            run_sglang(r, sp, args, idx, values, model_path)
        elif ep.startswith("dynamo.sglang"):
            dynamo_sglang(r, sp, args, idx, values, dyn, model_path)
        elif ep == "dynamo.frontend":
            frontend(r, args, idx, dyn)
        elif ep == "dynamo.mocker":
            p = dynamo_parser("mocker")
            dyn.update(p.defaults)
            r.run(p, args, idx, known=False, ns=dyn, dynamo=True)
    except Stop:
        pass
    r.problems.extend(hit_problems(r.hits) + hit_problems(r.dyn_hits))
    explicit = {h.flag.dest: i for h, i in r.hits if h.value is not engine.SUPPRESS}
    dyn_explicit = {h.flag.dest: i for h, i in r.dyn_hits if h.value is not engine.SUPPRESS}
    canon = canonical_argv([("dynamo", x) for x in r.dyn_hits] + [("sglang", x) for x in r.hits])
    if dyn.get("multimodal_encode_worker"):
        # Dynamo removed "--disaggregation-mode encode" before SGLang parsed; keep it.
        canon += ["--disaggregation-mode", "encode"]
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
        canonical_argv=canon,
        problems=r.problems,
    )


def _serve_checks(r: Run, args: list[str], idx: list[int], model_path: str | None) -> None:
    """What sglang/cli/serve.py does before SGLang's parser runs (not for bare flags)."""
    for a, i in zip(args, idx, strict=True):
        if a in ("-h", "--help"):  # any such token, even one meant as a value
            r.problem("help", f"{a}: sglang serve prints its help text and exits", i)
            raise Stop
    if model_path is None and _literal_model_path(args) is None:
        # cli/utils.py::get_model_path looks for the literal spellings only.
        r.problem(
            "required",
            "Error: --model-path is required. Please provide the path to the model.",
            None,
            True,
        )
        raise Stop


def _literal_model_path(args: list[str]) -> str | None:
    for i, a in enumerate(args):
        if a in ("--model-path", "--model"):
            if i + 1 < len(args):
                return args[i + 1]
        elif a.startswith(("--model-path=", "--model=")):
            return a.split("=", 1)[1]
    return None


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


__all__ = ["CONFIG", "parse_command"]
