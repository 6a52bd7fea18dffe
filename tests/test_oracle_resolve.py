"""Replay ``tests/data/oracle_resolve.jsonl``: cases that are *not* in the shared conformance file.

The records were produced by ``scripts/oracle_resolve.py`` running the released SGLang 0.5.21
and 0.5.23 wheels' own resolver on a CPU (one forked process per case), on random and
hand-picked combinations of HiCache flags, decode/prefill modes, thresholds, storage backends,
layouts, io backends, page sizes, attention backends, DCP, unified memory, LMCache, the
linker, abbreviations, ``--flag=value`` and repeats, for three models: the conformance MHA and
MLA configs and a DeepSeek-V3.2-style DSA config (``tests/data/oracle_models/dsa-like.json``).
DSA records were recorded with the GPU generation answered as SM90 (the DSA override asks
torch for it), so they are replayed with ``gpu_sm=90``.  Same comparison rules as
``test_conformance.py`` (see ``conformance_replay.py``).

Left out of the file (not modelled by the resolver, which notes them instead): 41 records whose
outcome comes from SGLang's speculative-decoding validation (including the CPU-only "DSpark
speculative decoding only supports CUDA ..." gate) and 3 from the deeper
``--enable-kv-cache-sharding`` checks (attention backend, GPU memory); and ``--model X`` given
after the recorder's own ``--model-path`` (it resolves a hub id, outside the resolver).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conformance_replay import check_record

from hicachectl.modelspec import facts_from_config

HERE = Path(__file__).resolve().parent
CONF = HERE.parents[1] / "shared" / "conformance"
DATA = HERE / "data" / "oracle_resolve.jsonl"
RECORDS = [json.loads(line) for line in DATA.read_text().splitlines() if line]
MODEL_FILES = {
    "mha": CONF / "models" / "mha-llama8b.json",
    "mla": CONF / "models" / "mla-dsv2lite.json",
    "dsa": HERE / "data" / "oracle_models" / "dsa-like.json",
}
MODELS = {
    k: facts_from_config(json.loads(p.read_text()), source=p.name) for k, p in MODEL_FILES.items()
}


def test_records_cover_both_versions_and_all_models():
    seen = {(r["sglang_version"], r["model"]) for r in RECORDS}
    assert seen == {(v, m) for v in ("0.5.21", "0.5.23") for m in MODEL_FILES}
    assert {r["outcome"] for r in RECORDS} == {"resolved", "error", "argparse_error"}
    shared = {
        (r["sglang_version"], r["model"], tuple(r["argv"]))
        for r in map(json.loads, (CONF / "resolve.jsonl").read_text().splitlines())
    }
    fresh = [
        r for r in RECORDS if (r["sglang_version"], r["model"], tuple(r["argv"])) not in shared
    ]
    assert len(fresh) >= 0.95 * len(RECORDS)


@pytest.mark.parametrize("rec", RECORDS, ids=[r["id"] for r in RECORDS])
def test_oracle_record(rec: dict):
    model_dir = str(MODEL_FILES[rec["model"]].parent / rec["model"])
    gpu_sm = 90 if rec["model"] == "dsa" else None
    check_record(rec, model_dir, MODELS[rec["model"]], gpu_sm=gpu_sm)
