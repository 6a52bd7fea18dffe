"""The documents hicachectl was created from (../shared/seeds, copied verbatim to
tests/fixtures/lint/seeds as .md), linted as fixtures with the findings listed explicitly:
every real problem in them is found (for SGLang 0.5.21 under Dynamo 1.6.1, 0.5.23 for plain
SGLang) and their correct commands stay clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from hicachectl.lint.engine import LintOptions, lint_paths

SEEDS = Path(__file__).parent / "fixtures" / "lint" / "seeds"

# (line, col, code) per seed, with the reason each one is a real problem.
EXPECTED: dict[str, list[tuple[int, int, str]]] = {
    "000_1652945df6058922.md": [
        (20, 11, "HC014"),  # python -m dynamo.sglang.worker: removed in Dynamo 0.6
        (22, 18, "HC511"),  # worker --port 8000 beside frontend --http-port 8000: a note
    ],
    "001_0d3b935197980bf6.md": [
        (53, 18, "HC511"),  # quick start: worker --port 8000 / frontend --http-port 8000
        (209, 3, "HC012"),  # --tp 2 works only as an abbreviation of --tp-size
        (225, 11, "HC507"),  # --router-mode kv, but the workers publish no KV events
        (232, 11, "HC504"),  # two workers in one block, neither pins a GPU: both on GPU 0
        (232, 11, "HC507"),
        (257, 3, "HC101"),  # --max-num-seqs is vLLM's flag: SGLang rejects it
    ],
    "002_2f7d87c1211fe53d.md": [
        (60, 3, "HC012"),  # --tp 8 (prefill node)
        (70, 3, "HC201"),  # --hicache-io-backend direct: page_first rewritten to page_first_direct
        (72, 3, "HC312"),  # hf3fs for DeepSeek-R1 (MLA) needs SGLANG_HICACHE_HF3FS_CONFIG_PATH
        (81, 3, "HC012"),  # --tp 8 (decode node)
        (89, 3, "HC201"),  # same rewrite on the decode node
        (91, 3, "HC312"),  # hf3fs + MLA again
        (93, 3, "HC202"),  # the broken line drops --disaggregation-mode decode: E4 at start-up
        (93, 50, "HC001"),  # `\  # comment` cuts the last three flags off
        (108, 3, "HC012"),  # --tp 8 (HF3FS)
        (120, 3, "HC312"),  # hf3fs + MLA again
        (121, 51, "HC002"),  # the HF3FS command ends with a dangling backslash
        (139, 3, "HC012"),  # --tp 8 (Mooncake; MOONCAKE_MASTER is exported: no HC307)
    ],
    "003_3ad5267353bf1a42.md": [
        (55, 3, "HC012"),  # --tp 8 in the "happy path" recipe
    ],
    "004_127651b52be1fc88.md": [],
}


@pytest.fixture(autouse=True)
def _debug(monkeypatch):
    monkeypatch.setenv("HICACHECTL_DEBUG", "1")


@pytest.fixture(scope="module")
def result():
    return lint_paths([str(SEEDS)], options=LintOptions())


def test_all_seeds_present_and_verbatim():
    names = sorted(p.name for p in SEEDS.glob("*.md"))
    assert names == sorted(EXPECTED)
    shared = Path(__file__).resolve().parents[2] / "shared" / "seeds"
    if shared.is_dir():  # the copies stay byte-identical to the originals
        for name in names:
            src = shared / (name[:-3] + ".txt")
            assert src.read_bytes() == (SEEDS / name).read_bytes(), name


@pytest.mark.parametrize("seed", sorted(EXPECTED))
def test_seed_findings(result, seed):
    got = sorted(
        (f.span.line, f.span.col, f.code) for f in result.findings if Path(f.path).name == seed
    )
    assert got == sorted(EXPECTED[seed]), "\n".join(
        f"{f.span.line}:{f.span.col} {f.code} {f.message}"
        for f in result.findings
        if Path(f.path).name == seed
    )


def test_seed_messages(result):
    by = {(Path(f.path).name[:3], f.span.line, f.code): f for f in result.findings}
    assert "dynamo.sglang.worker was removed in Dynamo 0.6.0" in by[("000", 20, "HC014")].message
    assert "no conflict" in by[("000", 22, "HC511")].message
    assert by[("001", 257, "HC101")].fix == "--max-running-requests"
    assert "3 flags after it" in by[("002", 93, "HC001")].message
    assert "only supported for decode side" in by[("002", 93, "HC202")].message


def test_seeds_with_a_host_budget():
    """Seed 000 pins --hicache-size 30 on its single rank: on a host with 45 GB available
    (34.3 GB budget after the 10 GiB reserve) that is above the planned 80 %."""
    res = lint_paths(
        [str(SEEDS / "000_1652945df6058922.md")], options=LintOptions(host_memory=45 * 10**9)
    )
    (f,) = [f for f in res.findings if f.code in ("HC401", "HC402")]
    assert (f.code, f.span.line, f.span.col) == ("HC402", 25, 3)
    assert f.message.startswith("--hicache-size 30 × 1 rank = 30.0 GB is 87.6 % of the 34.3 GB")
