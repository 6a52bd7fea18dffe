#!/usr/bin/env python3
"""Record what SGLang's own resolver does with generated argvs (developer tool, not run by CI).

This is how ``tests/data/oracle_resolve.jsonl`` was produced.  It is never imported by the
package or the tests; it runs in a scratch environment that has the released ``sglang`` wheel
installed (``pip install --no-deps sglang==X`` plus torch/triton/transformers and the handful
of modules ``sglang.srt.server_args`` imports; no GPU, no weights), for example::

    python scripts/oracle_cases.py --seed 7 -n 420 > /tmp/cases.jsonl
    /tmp/oracle-023/bin/python scripts/oracle_resolve.py --models DIR \\
        < /tmp/cases.jsonl > /tmp/rec-0.5.23.jsonl

It imports SGLang once, then forks one child per case so no state (environment
variables set by hooks, logging configuration, resolution caches) leaks between cases.  Each
child calls ``prepare_server_args(["--model-path", DIR/<model>, "--device", "cpu", *argv])``,
``resolve_once()`` and ``resolved_dict()``, captures the log lines at INFO or above that match
the conformance keyword filter, and prints one record in the schema of
``shared/conformance/README.md`` (``--models DIR`` holds one sub-directory per model with a
``config.json``); ``scripts/oracle_cases.py`` writes the case list.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import re
import signal
import sys

# hicachectl.sglang.resolver.HICACHE_FIELDS (this script runs without hicachectl;
# tests/test_oracle_script.py keeps the two equal)
FIELDS = (
    "enable_hierarchical_cache",
    "hicache_ratio",
    "hicache_size",
    "hicache_host_memory_fraction",
    "hicache_host_memory_mode",
    "hicache_mem_layout",
    "hicache_io_backend",
    "hicache_write_policy",
    "hicache_storage_backend",
    "hicache_storage_prefetch_policy",
    "page_size",
    "disable_radix_cache",
    "attention_backend",
    "decode_attention_backend",
    "disaggregation_decode_retraction_backup",
)
KEYWORDS = re.compile(
    r"hicache|hierarchical|layout|io backend|page_size|page size|radix|buffer_only|switching"
    r"|flashattention|retraction|write_back|write_through|host pool|lmcache",
    re.IGNORECASE,
)
# Errors raised only because the recorder runs on a CPU (see the conformance README).
CPU_ERRORS = re.compile(r"Hopper \(SM90\)|only supported on Blackwell")
# The page-major allow-list check names the CPU default backend when none was given.
CPU_DEFAULT_IN_LIST = re.compile(r"resolved attention backends \[[^\]]*'torch_native'")


# ---------------------------------------------------------------------------------------------
# run: one forked child per case


def _child(case: dict, models: str) -> dict:
    from sglang.srt.server_args import prepare_server_args

    logs: list[str] = []

    class Grab(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            msg = record.getMessage()
            if record.levelno >= logging.INFO and KEYWORDS.search(msg):
                logs.append(msg)

    grab = Grab(level=logging.INFO)
    orig_basic = logging.basicConfig

    def basic(*a, **k):  # prepare_server_args forces a fresh root config: keep our handler
        orig_basic(*a, **k)
        logging.getLogger().addHandler(grab)

    logging.basicConfig = basic
    root = logging.getLogger()
    root.addHandler(grab)
    root.setLevel(logging.INFO)

    rec = {k: case[k] for k in ("id", "template", "sglang_version", "model", "argv")}
    rec["device"] = "cpu"
    if case["model"].startswith("dsa"):
        _stub_sm90()
    argv = ["--model-path", os.path.join(models, case["model"]), "--device", "cpu", *case["argv"]]
    err = io.StringIO()
    sys.stderr, old_err = err, sys.stderr
    try:
        sa = prepare_server_args(argv)
    except SystemExit:
        sys.stderr = old_err
        text = err.getvalue().strip().splitlines()
        rec["outcome"] = "argparse_error"
        rec["error"] = text[-1].split("error: ", 1)[1] if text else "?"
        return rec
    except Exception as e:  # noqa: BLE001 - a parse-phase startup error is a result
        sys.stderr = old_err
        return _error(rec, e, "parse", logs)
    sys.stderr = old_err
    explicit_attn = sa.attention_backend is not None
    explicit_dec = sa.decode_attention_backend is not None
    try:
        sa.resolve_once()
        d = sa.resolved_dict()
    except Exception as e:  # noqa: BLE001
        rec = _error(rec, e, "resolve", logs)
        if not explicit_attn and CPU_DEFAULT_IN_LIST.search(str(e)):
            rec["cpu_specific"] = ["outcome"]
        return rec
    rec["outcome"] = "resolved"
    rec["resolved"] = {k: d[k] for k in FIELDS if k in d}
    cpu = []
    if not explicit_attn:
        cpu.append("attention_backend")
    if not explicit_dec:
        cpu.append("decode_attention_backend")
    if not explicit_attn and not explicit_dec:
        cpu.append("page_size")
    rec["cpu_specific"] = cpu
    rec["logs"] = logs
    return rec


def _stub_sm90() -> None:
    """The DeepSeek DSA override asks torch for the GPU generation; answer SM90 (Hopper).

    Only DSA records are recorded this way; every other record runs on the plain CPU.
    """
    import torch

    torch.cuda.get_device_capability = lambda *a, **k: (9, 0)


def _error(rec: dict, e: BaseException, phase: str, logs: list[str]) -> dict:
    rec["outcome"] = "error"
    rec["error_type"] = type(e).__name__
    rec["error"] = str(e)
    rec["error_phase"] = phase
    rec["cpu_specific"] = ["outcome"] if CPU_ERRORS.search(str(e)) else []
    rec["logs"] = logs
    return rec


def _fork_one(case: dict, models: str, timeout: int) -> dict:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        signal.alarm(timeout)
        try:
            out = _child(case, models)
        except BaseException as e:  # noqa: BLE001
            out = {"id": case["id"], "outcome": "crash", "error": repr(e)}
        with os.fdopen(w, "w") as f:
            json.dump(out, f)
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        data = f.read()
    os.waitpid(pid, 0)
    return (
        json.loads(data) if data else {"id": case["id"], "outcome": "crash", "error": "no output"}
    )


def _warm_up(models: str) -> None:
    """Resolve one case per model in the parent so the lazy imports happen once, not per child.

    The environment is restored afterwards (hooks may set variables); the children are
    checked against the shared conformance file, which this warm-up does not change.
    """
    import torch
    from sglang.srt.server_args import prepare_server_args

    env = dict(os.environ)
    real_capability = torch.cuda.get_device_capability
    _stub_sm90()  # the DSA warm-up would otherwise initialise CUDA before the forks
    for name in sorted(os.listdir(models)):
        for extra in ([], ["--enable-hierarchical-cache", "--disaggregation-mode", "decode"]):
            try:
                prepare_server_args(
                    ["--model-path", os.path.join(models, name), "--device", "cpu", *extra]
                ).resolve_once()
            except Exception:  # noqa: BLE001, S110 - only the imports matter here
                pass
    torch.cuda.get_device_capability = real_capability
    os.environ.clear()
    os.environ.update(env)
    logging.getLogger().handlers.clear()


def cmd_run(ns: argparse.Namespace) -> int:
    import sglang
    import sglang.srt.server_args  # noqa: F401 - import once in the parent, fork per case

    version = sglang.__version__
    _warm_up(ns.models)
    for line in sys.stdin:
        if not line.strip():
            continue
        case = json.loads(line)
        case["sglang_version"] = version
        case["id"] = f"{case['id']}-{case['model']}-{version}"
        print(json.dumps(_fork_one(case, ns.models, ns.timeout)), flush=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", required=True, help="directory with <model>/config.json")
    ap.add_argument("--timeout", type=int, default=120)
    return cmd_run(ap.parse_args())


if __name__ == "__main__":
    sys.exit(main())
