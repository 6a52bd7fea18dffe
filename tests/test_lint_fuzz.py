"""Rules never crash: hypothesis builds scripts of Dynamo / SGLang launches from the real
flag tables with random (valid, invalid, unknown) values and environments; every one must
lint to findings, never to an exception (HICACHECTL_DEBUG makes a rule error raise)."""

from __future__ import annotations

import shlex

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hicachectl.lint.engine import LintOptions, lint_text
from hicachectl.sglang.flags import dynamo_table, sglang_table

_RELEVANT = (
    "hicache", "page", "tp", "pp", "dp", "port", "kv-events", "disaggregation", "mem-fraction",
    "api-key", "config", "radix", "attention", "router", "discovery", "shared-cache",
    "kv-cache-block", "http", "store", "migration", "lmcache", "dcp", "base-gpu",
)  # fmt: skip


def _flags():
    out = set()
    for t in (sglang_table("0.5.21"), sglang_table("0.5.23"), dynamo_table("frontend"),
              dynamo_table("sglang-worker")):  # fmt: skip
        for a in t.actions:
            for o in a.opts:
                if o.startswith("--") and any(k in o for k in _RELEVANT):
                    out.add((o, a.choices or ()))
    return sorted(out, key=lambda x: x[0])


FLAGS = _flags()
VALUES = st.one_of(
    st.sampled_from(["0", "1", "2", "8", "64", "0.5", "0.95", "-1", "1.5", "true", "x", ""]),
    st.sampled_from(
        [
            '{"publisher":"zmq","endpoint":"tcp://*:5557"}',
            '{"master_server_address":"m:1"}',
            '{"backend_name":"b"}',
            "{not json",
            "@/etc/x.json",
            "$UNSET",
            "${ARR[@]}",
            "$(PORT)",
        ]
    ),
)
ENTRY = st.sampled_from(
    [
        "python -m dynamo.sglang",
        "python3 -m dynamo.sglang.worker",
        "python -m sglang.launch_server",
        "sglang serve",
        "python -m dynamo.frontend",
        "python -m dynamo.mocker",
        "nohup env A=1 python -m dynamo.sglang",
    ]
)
ENV = st.dictionaries(
    st.sampled_from(
        [
            "DYN_SYSTEM_PORT",
            "CUDA_VISIBLE_DEVICES",
            "DYN_ROUTER_MODE",
            "DYN_DISCOVERY_BACKEND",
            "DYN_HTTP_PORT",
            "MOONCAKE_MASTER",
            "DYN_STORE_KV",
            "DYN_KV_CACHE_BLOCK_SIZE",
        ]  # fmt: skip
    ),
    st.sampled_from(["8000", "8081", "0,1", "1,2", "kv", "file", "x", "", "$V"]),
    max_size=3,
)


@pytest.fixture
def debug(monkeypatch):
    monkeypatch.setenv("HICACHECTL_DEBUG", "1")  # constant across examples


@st.composite
def command(draw):
    parts = [f"{k}={shlex.quote(v)}" for k, v in draw(ENV).items()]
    parts.append(draw(ENTRY))
    if draw(st.booleans()):
        parts += ["--model-path", "m"]
    for flag, choices in draw(st.lists(st.sampled_from(FLAGS), max_size=8)):
        parts.append(flag)
        if draw(st.booleans()):
            value = (
                draw(st.sampled_from(list(choices)))
                if choices and draw(st.booleans())
                else (draw(VALUES))
            )
            parts.append(shlex.quote(str(value)))
    return " ".join(parts) + (" &" if draw(st.booleans()) else "")


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(command(), min_size=1, max_size=4),
    st.sampled_from(["run.sh", "doc.md"]),
    st.sampled_from([None, 10**12, 50 * 10**9]),
)
def test_rules_never_crash(debug, cmds, name, host):
    text = "\n".join(cmds) + "\n"
    if name.endswith(".md"):
        text = "```bash\n" + text + "```\n"
    res = lint_text(text, path=name, options=LintOptions(host_memory=host))
    for f in res.findings:
        assert f.span.line >= 1 and f.span.col >= 1 and f.message
