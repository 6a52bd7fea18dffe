"""Replay every record of shared/conformance/resolve.jsonl through parse + resolve.

Each record is what SGLang's own resolver did on a CPU (``--device cpu``) with one argv, on
0.5.21 or 0.5.23, for one of two model configs.  We prepend ``--model-path <dir> --device cpu``
as the recorder did and compare:

* ``resolved`` records: every recorded field except those in the record's ``cpu_specific``
  (the CPU's default attention backend, and the page size / decode backend a GPU default
  could change), and the log lines, exactly.
* ``error`` records: the exact ``str(exception)`` and exception class, and the log lines
  emitted before it.  Records whose ``cpu_specific`` holds ``"outcome"`` fail only because the
  machine is a CPU: the TRTLLM gates (the CPU is not SM90/SM100) and the page-major check of
  the CPU default backend ``torch_native``.  For those we predict for a pre-Hopper GPU
  (``gpu_sm=80``), which fails the same gates with the same text, and for the page-major case
  we substitute the CPU's default backend (``attention_backend="torch_native"``), which the
  resolver cannot know (it leaves the GPU default unset); both must then match exactly.
* ``argparse_error`` records: the parser's fatal problem message equals ``error``.

The comparison itself lives in ``conformance_replay.check_record`` (shared with
``test_oracle_resolve.py``).  Log lines ignored: none.  The CPU-only lines (``The current platform does not support Intel
AMX, will fallback to torch_native backend.``) are outside the capture's keyword filter, so
the records never contain them and the resolver never emits them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conformance_replay import check_record

from hicachectl.modelspec import facts_from_config

CONF = Path(__file__).resolve().parents[2] / "shared" / "conformance"
RECORDS = [json.loads(line) for line in (CONF / "resolve.jsonl").read_text().splitlines() if line]
MODEL_FILES = {"mha": "mha-llama8b.json", "mla": "mla-dsv2lite.json"}
MODELS = {
    k: facts_from_config(json.loads((CONF / "models" / f).read_text()), source=f)
    for k, f in MODEL_FILES.items()
}


def test_record_count():
    assert len(RECORDS) == 478


@pytest.mark.parametrize("rec", RECORDS, ids=[r["id"] for r in RECORDS])
def test_record(rec: dict):
    check_record(rec, str(CONF / "models" / rec["model"]), MODELS[rec["model"]])
