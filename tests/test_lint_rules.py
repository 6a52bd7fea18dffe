"""Every lint rule against its must-fire / must-not-fire fixtures (data in
tests/fixtures/lint/rules/*.yaml), linted through the real extractor, parser and resolver;
and the rule registry's own contract (codes, names, documentation sections)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from hicachectl.lint.config import parse_size
from hicachectl.lint.engine import LintOptions, lint_text
from hicachectl.lint.rules import DOC_SECTIONS, RULES, RULES_BY_CODE, lookup

FIXTURES = Path(__file__).parent / "fixtures" / "lint" / "rules"


@pytest.fixture(autouse=True)
def _debug(monkeypatch):
    # A rule that raises must fail the test, not become a note.
    monkeypatch.setenv("HICACHECTL_DEBUG", "1")


def _cases():
    for f in sorted(FIXTURES.glob("*.yaml")):
        for case in yaml.safe_load(f.read_text(encoding="utf-8")):
            yield pytest.param(case, id=f"{case['code']}-{case['name']}")


CASES = [p.values[0] for p in _cases()]


def _position(case, expected):
    line, col = expected
    if isinstance(col, str):  # an anchor: the first occurrence of this text on the line
        src = case["text"].split("\n")[line - 1]
        assert col in src, f"anchor {col!r} not on line {line}: {src!r}"
        col = src.index(col) + 1
    return (line, col)


def _options(case) -> LintOptions:
    opts = dict(case.get("options") or {})
    if "host_memory" in opts:
        opts["host_memory"] = parse_size(opts["host_memory"])
    return LintOptions(**opts)


@pytest.mark.parametrize("case", list(_cases()))
def test_rule_fixture(case):
    result = lint_text(case["text"], path=case["file"], options=_options(case))
    got = sorted((f.span.line, f.span.col) for f in result.findings if f.code == case["code"])
    want = sorted(_position(case, e) for e in case["fire"])
    assert got == want, "\n".join(
        f"{f.span.line}:{f.span.col} {f.code} {f.message}" for f in result.findings
    )
    rule = RULES_BY_CODE[case["code"]]
    for f in result.findings:
        if f.code == rule.code:
            assert f.name == rule.name and f.severity == rule.severity
            assert f.message and f.path == case["file"]
            assert f.span.line <= f.span.end_line


def test_every_rule_has_firing_and_silent_fixtures():
    fired = {c["code"] for c in CASES if c["fire"]}
    silent = {c["code"] for c in CASES if not c["fire"]}
    # HC003 is only emitted for input that cannot be read (covered in test_lint_engine).
    codes = {r.code for r in RULES} - {"HC003"}
    assert codes - fired == set()
    assert codes - silent - {"HC002"} == set()


def test_fixtures_cover_every_host_format():
    formats = set()
    for c in CASES:
        name = c["file"].lower()
        if name.endswith(".sh"):
            formats.add("shell")
        elif name.endswith(".md"):
            formats.add("markdown")
        elif "compose" in name:
            formats.add("compose")
        elif name.endswith((".yaml", ".yml")):
            formats.add("k8s")
        elif name.startswith("dockerfile"):
            formats.add("dockerfile")
    assert formats == {"shell", "markdown", "compose", "k8s", "dockerfile"}


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_rule_contract(rule):
    assert re.fullmatch(r"HC\d{3}", rule.code)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", rule.name)
    assert rule.severity in ("error", "warning", "info")
    doc = rule.docs()
    assert rule.summary() and "\n" not in rule.summary()
    missing = [s for s in DOC_SECTIONS if f"## {s}" not in doc]
    assert not missing, f"{rule.code} docstring lacks sections {missing}"
    # Sections appear in the documented order.
    order = [doc.index(f"## {s}") for s in DOC_SECTIONS]
    assert order == sorted(order)
    assert lookup(rule.code) is rule and lookup(rule.name) is rule


def test_codes_and_names_are_unique_and_grouped():
    assert len({r.code for r in RULES}) == len(RULES)
    assert len({r.name for r in RULES}) == len(RULES)
    assert [r.code for r in RULES] == sorted(r.code for r in RULES)
    # HC0xx structure, HC1xx validity, HC2xx resolver, HC3xx HiCache, HC4xx memory,
    # HC5xx topology: the module a rule lives in carries its group.
    groups = {
        "0": "structure",
        "1": "validity",
        "2": "resolver",
        "3": "hicache",
        "4": "memory",
        "5": "topology",
    }
    for r in RULES:
        assert r.__module__.rsplit(".", 1)[1].startswith(groups[r.code[2]]), r


def test_secret_is_never_printed():
    secret = "sk-live-4f9a8b7c0d1e"
    result = lint_text(
        f"python -m sglang.launch_server --model-path m --api-key {secret}\n", path="run.sh"
    )
    hits = [f for f in result.findings if f.code == "HC311"]
    assert hits and all(secret not in f.message and "***" in f.message for f in hits)
    assert all(secret not in (f.fix or "") for f in result.findings)


def test_messages_show_offending_values():
    text = (
        "python -m sglang.launch_server --model-path m --tp-size 8 "
        "--enable-hierarchical-cache --hicache-size 120\n"
    )
    result = lint_text(text, path="run.sh", options=LintOptions(host_memory=750 * 10**9))
    (f,) = [f for f in result.findings if f.code == "HC401"]
    assert f.message.startswith("--hicache-size 120 × 8 ranks = 960.0 GB > 739.3 GB host budget")


def test_unknown_flag_suggests_and_hints():
    text = "python -m sglang.launch_server --model-path m --hicache-rato 2 --max-model-len 4096\n"
    msgs = [f.message for f in lint_text(text, path="run.sh").findings if f.code == "HC101"]
    assert any("did you mean --hicache-ratio?" in m for m in msgs)
    assert any("use --context-length" in m for m in msgs)


def test_resolver_text_is_quoted_exactly():
    from hicachectl.sglang import messages as M

    text = (
        "python -m sglang.launch_server --model-path m --enable-hierarchical-cache "
        "--hicache-mem-layout page_first_direct\n"
    )
    (f,) = [f for f in lint_text(text, path="run.sh").findings if f.code == "HC201"]
    assert M.KERNEL_IO_PFD in f.message
    assert f.fix == "--hicache-io-backend direct"


def test_memory_constants_match_the_models():
    from hicachectl import models
    from hicachectl.lint.rules import memory_host

    assert (memory_host.GB, memory_host.HOST_RESERVE_BYTES) == (
        models.GB,
        models.HOST_RESERVE_BYTES,
    )


def test_readme_rule_table_lists_every_rule():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for r in RULES:
        assert f"| {r.code} | `{r.name}` | {r.severity} | {r.summary()} |" in readme, r.code


def _doc_block(doc: str, section: str) -> tuple[str, str]:
    part = doc.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    m = re.search(r"```(\w*)\n(.*?)```", part, re.S)
    assert m, f"no code block under {section}"
    return m.group(1), m.group(2)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_doc_examples_are_fixtures(rule):
    """The Example of each rule's docs fires the rule; its Use instead does not."""
    for section, should_fire in (("Example", True), ("Use instead", False)):
        tag, text = _doc_block(rule.docs(), section)
        name = {"yaml": "pod.yaml", "toml": "profiles/p.toml"}.get(tag, "run.sh")
        host = re.search(r"#\s*(\d+)\s*GB host", text)
        opts = LintOptions(host_memory=int(host.group(1)) * 10**9 if host else None)
        codes = [f.code for f in lint_text(text, path=name, options=opts).findings]
        assert (rule.code in codes) == should_fire, (section, codes)
