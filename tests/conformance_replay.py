"""Replay one recorded SGLang resolution (conformance schema) through our parser + resolver.

Shared by ``test_conformance.py`` (the shared file) and ``test_oracle_resolve.py`` (our own
oracle-generated cases).  The comparison rules are those of the conformance README: fields in
a record's ``cpu_specific`` are skipped; errors that fail only because the recorder ran on a
CPU are predicted for a pre-Hopper GPU (the TRTLLM gates fail with the same text) or with the
CPU's default backend substituted (the page-major check).
"""

from __future__ import annotations

import math
from typing import Any

from hicachectl.sglang.argv import parse_command
from hicachectl.sglang.resolver import resolve, resolve_values


def check_record(rec: dict, model_dir: str, model: Any, gpu_sm: int | None = None) -> None:
    """Assert that our parse + resolve of ``rec["argv"]`` reproduces the record exactly."""
    tokens = ["python", "-m", "sglang.launch_server", "--model-path", model_dir,
              "--device", "cpu", *rec["argv"]]  # fmt: skip
    parsed = parse_command(tokens, sglang_version=rec["sglang_version"])
    if rec["outcome"] == "argparse_error":
        assert parsed.fatal is not None, "the parser accepted an argv argparse rejects"
        assert parsed.fatal.message == rec["error"], parsed.fatal.message
        return
    assert parsed.fatal is None, parsed.fatal
    cpu = set(rec.get("cpu_specific", []))

    if rec["outcome"] == "error" and "outcome" in cpu:
        if "resolved attention backends" not in rec["error"]:
            res = resolve(parsed, model=model, gpu_sm=80)  # the TRTLLM gates
        else:
            # The page-major allow-list names the CPU default backend, which the resolver
            # cannot know: it must say so, and with that backend substituted match exactly.
            plain = resolve(parsed, model=model, gpu_sm=gpu_sm)
            assert any("default" in n for n in plain.notes), plain.notes
            values = dict(parsed.values, attention_backend="torch_native")
            res = resolve_values(
                values,
                explicit=parsed.explicit,
                sglang_version=parsed.sglang_version,
                model=model,
                gpu_sm=gpu_sm,
            )
    else:
        res = resolve(parsed, model=model, gpu_sm=gpu_sm)

    if rec["outcome"] == "error":
        got = [(e.error_type, e.message) for e in res.errors]
        assert got == [(rec["error_type"], rec["error"])], f"errors {got} resolved {_brief(res)}"
    else:
        assert res.errors == [], res.errors
        for field, want in rec["resolved"].items():
            if field in cpu:
                continue
            got = res.resolved[field]
            if isinstance(want, float) and math.isnan(want):  # --hicache-ratio nan is accepted
                assert isinstance(got, float) and math.isnan(got), field
                continue
            assert (got, type(got)) == (want, type(want)), f"{field}: {got!r} != {want!r}"
    assert res.logs == rec["logs"], f"logs {res.logs}"


def _brief(res: Any) -> dict:
    return {
        k: res.resolved.get(k)
        for k in (
            "enable_hierarchical_cache",
            "hicache_mem_layout",
            "hicache_io_backend",
            "page_size",
        )
    }
