"""The parser engine against the real thing: Python's own argparse, built from the same table.

``oracle(parser)`` rebuilds an ``argparse.ArgumentParser`` with the table's actions in the
table's order (same option strings, nargs, types, choices, defaults), so any difference in
matching, abbreviation, ambiguity, value counting, error order or error text shows up.  The
type callables are hicachectl's converters (named like upstream's), so conversion itself is
checked by the unit tests, and matching here.
"""

from __future__ import annotations

import argparse
import sys

import pytest

from hicachectl.sglang import engine
from hicachectl.sglang.convert import TypeMessage, convert
from hicachectl.sglang.parsers import dynamo_parser, sglang_parser

pytestmark = pytest.mark.skipif(
    sys.version_info[:2] != (3, 11), reason="the reference semantics are Python 3.11's argparse"
)


class OracleError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would print usage and exit 2
        raise OracleError(message)


class OracleExit(Exception):
    """help/version was reached: argparse would print and exit 0 here."""


class _Note(argparse.Action):
    """Stands in for help/version (which would print and exit)."""

    def __init__(self, option_strings, dest, **kw):
        super().__init__(option_strings, dest=argparse.SUPPRESS, nargs=0, default=argparse.SUPPRESS)

    def __call__(self, parser, namespace, values, option_string=None):
        raise OracleExit


def _typ(name):
    if name is None:
        return None

    def fn(s):
        try:
            return convert(name, s)
        except TypeMessage as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    fn.__name__ = name
    return fn


def oracle(p: engine.Parser) -> argparse.ArgumentParser:
    ap = _Parser(prog="x", add_help=False)
    for f in p.actions:
        kind = f.kind
        kw: dict = {"dest": f.dest}
        if f.default != engine.SUPPRESS:
            kw["default"] = f.default
        else:
            kw["default"] = argparse.SUPPRESS
        if kind in ("help", "version"):
            ap.add_argument(*f.opts, action=_Note)
            continue
        if kind == "boolean_optional":
            pos = [o for o in f.opts if not o.startswith("--no-")]
            ap.add_argument(*pos, action=argparse.BooleanOptionalAction, **kw)
            continue
        if kind == "store_true" or (kind == "store" and f.nargs == 0):
            ap.add_argument(
                *f.opts, action="store_const", const=f.const if f.const is not None else True, **kw
            )
            continue
        if kind == "store_false":
            ap.add_argument(*f.opts, action="store_false", **kw)
            continue
        if kind == "store_const":
            ap.add_argument(*f.opts, action="store_const", const=f.const, **kw)
            continue
        if kind == "append":
            kw["action"] = "append"
        if f.nargs is not None:
            kw["nargs"] = f.nargs
        if f.nargs == "?":
            kw["const"] = f.const
        if f.choices is not None:
            kw["choices"] = list(f.choices)
        if f.required:
            kw["required"] = True
        if f.type is not None:
            kw["type"] = _typ(f.type)
        ap.add_argument(*f.opts, **kw)
    return ap


_ORACLES: dict[str, argparse.ArgumentParser] = {}


def compare(p: engine.Parser, tokens: list[str], *, known: bool = False):
    """Run both; assert the same error text or the same values for every dest."""
    ns = dict(p.defaults)
    out = engine.run(p, list(tokens), known=known, ns=ns)
    ap = _ORACLES.get(p.name) or _ORACLES.setdefault(p.name, oracle(p))
    try:
        if known:
            got, extras = ap.parse_known_args(list(tokens))
        else:
            got, extras = ap.parse_args(list(tokens)), []
        want_err = None
    except OracleError as e:
        want_err = str(e)
    except OracleExit:
        assert out.error is None and out.exited is not None, tokens
        return out
    mine = out.error[1] if out.error else None
    assert mine == want_err, (tokens, mine, want_err)
    assert out.exited is None
    if want_err is None:
        for dest, v in vars(got).items():
            if dest in ns and p.by_dest_kind(dest) not in ("custom",):
                same = ns[dest] == v or (v != v and ns[dest] != ns[dest])  # NaN == NaN here
                assert same, (tokens, dest, ns[dest], v)
        if known:
            assert [tokens[i] for i in out.extras] == extras
    return out


def _kind(self, dest):
    # Actions whose stored value the oracle does not model (custom __call__ upstream).
    custom = ("LoRAPathAction", "DeprecatedStoreConstAction")
    return "custom" if any(a.dest == dest and a.action in custom for a in self.actions) else "std"


engine.Parser.by_dest_kind = _kind  # test-only helper


S21 = sglang_parser("0.5.21")
S23 = sglang_parser("0.5.23")
M = ["--model-path", "m"]

CASES = [
    M + ["--tp", "2"],
    M + ["--pp", "2"],
    M + ["--pp=2"],
    M + ["--page", "16"],
    M + ["--hicache-size", "1.5"],
    M + ["--hicache-size=1.5"],
    M + ["--hicache-si=4"],
    M + ["--hicache-size"],
    M + ["--hicache-size", "--page-size", "4"],
    M + ["--hicache-size", "-1"],
    M + ["--hicache-size", "-x"],
    M + ["--hicache-size", "-"],
    M + ["--hicache-size", ""],
    M + ["--max-num-seqs", "8", "--tp", "2"],
    M + ["--max-num-seqs", "8", "--pp", "2"],  # ambiguity is found before unknowns
    M + ["--hicache-size", "x", "--pp", "2"],  # ... and before type errors
    M + ["--hicache-size", "x", "--foo"],  # type error before unrecognized
    ["--hicache-size", "4"],  # required
    ["--hicache-size", "x"],  # type error before required
    ["--foo"],  # required before unrecognized
    M + ["--enable-hierarchical-cache=1"],
    M + ["--enable-hierarchical-cache="],
    M + ["--hicache-storage-backend", "redis"],
    M + ["--hicache-write-policy", "write_around"],
    M + ["--enable-hicache"],
    M + ["--", "--tp", "2"],
    M + ["--tp", "2", "--tp", "4"],
    M + ["-h"],
    M + ["-hx"],
    M + ["-x"],
    M + ["-1"],
    M + ["--model-path"],
    M + ["--lora-paths", "a", "b", "--tp", "2"],
    M + ["--lora-paths"],
    M + ["--dllm-fdfo", "--no-dllm-fdfo"],
    M + ["--no-dllm-fdfo=x"],
    M + ["--max-total-tokens", "1.5Ki"],
    M + ["--max-total-tokens", "25.6k"],
    M + ["--max-total-tokens", "abc"],
    M + ["--radix-eviction-policy-config", "{bad"],
    M + ["--sidecar-args", "[1,"],
    M + ["--tp 2"],
    M + ["--enable-metrics", "yes"],
    M + ["--model", "n"],
    M + ["--mod", "n"],
]


@pytest.mark.parametrize("tokens", CASES, ids=[" ".join(c)[:60] for c in CASES])
@pytest.mark.parametrize("p", [S21, S23], ids=["0.5.21", "0.5.23"])
def test_engine_matches_argparse(p, tokens):
    compare(p, tokens)


DYN = dynamo_parser("sglang-worker", "dynamo")

DYN_CASES = [
    ["--dis", "x"],
    ["--enable-m", "--tp", "2"],
    ["--names", "ns", "--hicache-size", "4"],
    ["--endpoint-t", "chat", "--page-size", "1"],
    ["--namespace"],
    ["--namespace", "--tp"],
    ["--tcp-tls-insecure=x"],
    ["--engine-route", "a", "--engine-route", "b"],
    ["--sglang-trace-level", "9"],
]


@pytest.mark.parametrize("tokens", DYN_CASES, ids=[" ".join(c) for c in DYN_CASES])
def test_dynamo_parse_known_matches_argparse(tokens):
    compare(DYN, tokens, known=True)
