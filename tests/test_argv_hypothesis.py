"""Property tests: random argvs never crash the parser, agree with argparse, and round-trip."""

from __future__ import annotations

import random
import sys

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_argv_oracle import _ORACLES, OracleError, OracleExit, compare, oracle

from hicachectl.sglang.argv import parse_command
from hicachectl.sglang.parsers import dynamo_parser, sglang_parser

P23 = sglang_parser("0.5.23")
OPTS = sorted(P23.opt_map)
HICACHE = [o for o in OPTS if "hicache" in o or "page" in o or "radix" in o or o.startswith("--tp")]
CHOICES = sorted({str(c) for a in P23.actions if a.choices for c in a.choices})

values = st.one_of(
    st.integers(-5, 10**6).map(str),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda f: f"{f:g}"),
    st.sampled_from(CHOICES),
    st.sampled_from(["", "-", "--", "-1", "-x", "1.5", "1k", "2Gi", "{}", "[1]", "{bad", "a b"]),
    st.text(max_size=8),
)
flag = st.one_of(st.sampled_from(HICACHE), st.sampled_from(OPTS))


@st.composite
def tokens(draw):
    out: list[str] = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.integers(0, 5))
        f = draw(flag)
        if kind == 0:  # a prefix of a real option: abbreviation or ambiguity
            f = f[: draw(st.integers(3, max(3, len(f))))]
        if kind == 1:
            out.append(f"{f}={draw(values)}")
            continue
        if kind == 2:
            out.append(draw(st.text(max_size=6)))  # junk, unicode
            continue
        out.append(f)
        if kind != 3:
            out.extend(draw(st.lists(values, max_size=2)))
    return out


ACTIONS = [
    a
    for a in P23.actions
    if a.kind not in ("help", "version")
    and (a.type is None or a.type in ("int", "float", "str", "human_readable_int", "nullable_str"))
]


def _value(draw, a) -> str:
    if a.choices:
        return str(draw(st.sampled_from(list(a.choices))))
    if a.type in ("int", "human_readable_int"):
        return str(draw(st.integers(-3, 10**9)))
    if a.type == "float":
        return repr(draw(st.floats(-10, 10, allow_nan=False)))
    return draw(st.text(min_size=0, max_size=6))


@st.composite
def valid_tokens(draw):
    out: list[str] = []
    for _ in range(draw(st.integers(0, 10))):
        a = draw(st.sampled_from(ACTIONS))
        opt = draw(st.sampled_from([o for o in a.opts if o.startswith("--")]))
        if a.nargs == 0:
            out.append(opt)
            continue
        count = {None: 1, "?": draw(st.integers(0, 1)), "*": draw(st.integers(0, 2))}.get(
            a.nargs, draw(st.integers(1, 2))
        )
        vals = [_value(draw, a) for _ in range(count)]
        if count == 1 and draw(st.booleans()):
            out.append(f"{opt}={vals[0]}")
        else:
            out.append(opt)
            out.extend(vals)
    return out


# The argparse comparisons need the reference semantics: Python 3.11's argparse.
only_311 = pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="needs Python 3.11 argparse")


def oracle_for(p):
    return _ORACLES.get(p.name) or _ORACLES.setdefault(p.name, oracle(p))


COMMON = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_indexes(pc, n):
    for p in pc.problems:
        assert p.token_index is None or 0 <= p.token_index < n, p


@only_311
@COMMON
@given(st.one_of(tokens(), valid_tokens()))
def test_agrees_with_argparse(argv):
    compare(P23, ["--model-path", "m", *argv])


@COMMON
@given(st.one_of(tokens(), valid_tokens()), st.sampled_from(["sglang-serve", "dynamo"]))
def test_never_raises_indexes_in_range_and_canonical_round_trips(argv, entry):
    head = ["sglang", "serve"] if entry == "sglang-serve" else ["python3", "-m", "dynamo.sglang"]
    full = [*head, "--model-path", "m", *argv]
    pc = parse_command(full, sglang_version="0.5.23")
    _check_indexes(pc, len(full))
    assert all(not (p.fatal and p.code == "repeated") for p in pc.problems)
    if pc.fatal is None and not any(p.code == "help" for p in pc.problems):
        again = parse_command([*head, *pc.canonical_argv], sglang_version="0.5.23")
        assert again.fatal is None, (pc.canonical_argv, again.fatal)
        assert again.values == pc.values
        assert again.dynamo_values == pc.dynamo_values


@settings(max_examples=20, deadline=None)
@given(st.lists(st.text(max_size=12), max_size=30), st.booleans())
def test_arbitrary_strings_as_commands(argv, bare):
    full = (["--model-path", "m"] if bare else []) + argv
    pc = parse_command(full)
    _check_indexes(pc, len(full))


def test_ten_thousand_random_tokens():
    rng = random.Random(7)
    pool = OPTS + CHOICES + ["--", "-", "-1", "x", "", "=", "--=", "\udcff", "ü", "--tp", "--pp"]
    argv = ["--model-path", "m"] + [rng.choice(pool) for _ in range(10_000)]
    for version in ("0.5.21", "0.5.23"):
        pc = parse_command(argv, sglang_version=version)
        _check_indexes(pc, len(argv))
        assert pc.fatal is not None  # such a line is always rejected, never a crash


D = dynamo_parser("sglang-worker", "dynamo")
R = dynamo_parser("sglang-worker", "router_advertisement")
S21D = sglang_parser("0.5.21", True)
DYN_OPTS = sorted(set(D.opt_map) | set(R.opt_map))


def _dynamo_by_argparse(argv: list[str]):
    """Dynamo 1.6.1's three-step split, done by real argparse parsers built from the tables."""
    try:
        dyn, left = oracle_for(D).parse_known_args(argv)
        rt, left = oracle_for(R).parse_known_args(left)
        sg = oracle_for(S21D).parse_args(left)
    except OracleError as e:
        return str(e), None, None
    except OracleExit:
        return "exit", None, None
    return None, {**vars(dyn), **vars(rt)}, vars(sg)


@st.composite
def dynamo_tokens(draw):
    out = draw(st.one_of(tokens(), valid_tokens()))
    for _ in range(draw(st.integers(0, 4))):
        f = draw(st.sampled_from(DYN_OPTS))
        if draw(st.booleans()):
            f = f[: draw(st.integers(3, max(3, len(f))))]
        out.insert(draw(st.integers(0, len(out))), f)
        if draw(st.booleans()):
            out.insert(out.index(f) + 1, draw(values))
    # Dynamo rewrites these two before SGLang parses; they have their own unit tests.
    return [t for t in out if not t.startswith(("--config", "--disaggregation-mode", "--disagg"))]


# Dynamo's own checks that run between its parsers and SGLang's (dynamo/sglang/args.py).
_BEFORE_SGLANG = (
    "--gateway-workers must be a positive integer",
    "Both 'disagg_config' and 'disagg_config_key' must be provided together.",
)


@only_311
@COMMON
@given(dynamo_tokens())
@example(
    [
        "--router-assume-kv-reuse",
        "--gateway-workers",
        "0",
        "--exclude-tools-when-tool-choice-none",
        "0",
    ]
)
def test_dynamo_split_agrees_with_argparse(argv):
    full = ["python", "-m", "dynamo.sglang", "--model-path", "m", *argv]
    pc = parse_command(full, sglang_version="0.5.21")
    err, dyn, sg = _dynamo_by_argparse(["--model-path", "m", *argv])
    if any(p.code == "dynamo" and p.message in _BEFORE_SGLANG for p in pc.problems):
        return  # Dynamo stops before SGLang's parser runs; plain argparse cannot model that
    argparse_fatal = next((p for p in pc.problems if p.fatal and p.code != "dynamo"), None)
    if err == "exit":
        assert argparse_fatal is None and any(p.code == "help" for p in pc.problems), argv
        return
    if err is not None:
        assert argparse_fatal is not None and argparse_fatal.message == err, (argv, err)
        return
    assert argparse_fatal is None, (argv, argparse_fatal)
    for k, v in dyn.items():
        assert pc.dynamo_values[k] == v, (argv, k)
    for k, v in sg.items():
        if k in ("enable_multimodal", "is_embedding", "disable_radix_cache", "lora_paths",
                 "chunked_prefill_size", "incremental_streaming_output", "tokenizer_worker_num",
                 "enable_amd_monokernel"):  # fmt: skip
            continue  # Dynamo's post-parse overrides / custom actions
        assert pc.values[k] == v, (argv, k, pc.values[k], v)
