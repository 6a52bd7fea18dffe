#!/usr/bin/env python3
"""Record what SGLang's own resolver does with generated argvs (developer tool, not run by CI).

This is how ``tests/data/oracle_resolve.jsonl`` was produced.  It is never imported by the
package or the tests; it runs in a scratch environment that has the released ``sglang`` wheel
installed (``pip install --no-deps sglang==X`` plus torch/triton/transformers and the handful
of modules ``sglang.srt.server_args`` imports; no GPU, no weights), for example::

    python scripts/oracle_resolve.py gen --seed 1 -n 400 > /tmp/cases.jsonl
    /tmp/oracle-023/bin/python scripts/oracle_resolve.py run --models DIR \\
        < /tmp/cases.jsonl > /tmp/rec-0.5.23.jsonl

``run`` imports SGLang once, then forks one child per case so no state (environment
variables set by hooks, logging configuration, resolution caches) leaks between cases.  Each
child calls ``prepare_server_args(["--model-path", DIR/<model>, "--device", "cpu", *argv])``,
``resolve_once()`` and ``resolved_dict()``, captures the log lines at INFO or above that match
the conformance keyword filter, and prints one record in the schema of
``shared/conformance/README.md`` (``--models DIR`` holds one sub-directory per model with a
``config.json``).  ``gen`` writes the case list (random combinations of HiCache-related flags)
and needs only the standard library.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import random
import re
import signal
import sys

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
CPU_ERRORS = re.compile(
    r"Hopper \(SM90\)|only supported on Blackwell|"
    r"resolved attention backends \['torch_native'\]"
)


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
        return _error(rec, e, "resolve", logs)
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


# ---------------------------------------------------------------------------------------------
# gen: random argvs over the HiCache-related flags

LAYOUTS = ["layer_first", "page_first", "page_first_direct", "page_first_kv_split", "page_head"]
IOS = ["direct", "kernel", "kernel_ascend"]
STORAGE = [
    "file",
    "mooncake",
    "npu_memcache",
    "hf3fs",
    "nixl",
    "dynamic",
    "simm",
    "mori",
    "shm",
    "tensorcast",
    "seaweedfs",
    "sim",
    "aibrix",
    "eic",
]
WRITE = ["write_back", "write_through", "write_through_selective"]
PREFETCH = ["best_effort", "wait_complete", "timeout"]
ATTN = [
    "triton",
    "torch_native",
    "fa3",
    "fa4",
    "flashinfer",
    "flashmla",
    "trtllm_mla",
    "cutedsl_mla",
    "trtllm_mha",
    "hpc_ops",
    "intel_xpu",
    "dsa",
    "nsa",
    "aiter",
    "wave",
]
PAGES = ["1", "8", "16", "32", "64", "128", "256", "0", "-1", "abc"]
KV_DTYPES = ["auto", "fp8_e5m2", "fp8_e4m3", "bf16"]


def _pick(rnd: random.Random) -> list[list[str]]:
    """One random argv, as groups of tokens (one flag and its value each)."""
    g: list[list[str]] = []

    def maybe(p: float, *tok: str) -> None:
        if rnd.random() < p:
            g.append(list(tok))

    r = rnd.random
    maybe(0.7, rnd.choice(["--enable-hierarchical-cache", "--enable-hicache"]))
    maybe(0.3, "--hicache-mem-layout", rnd.choice(LAYOUTS))
    maybe(0.3, "--hicache-io-backend", rnd.choice(IOS))
    maybe(0.3, "--hicache-storage-backend", rnd.choice(STORAGE))
    maybe(0.2, "--hicache-host-memory-mode", rnd.choice(["cache", "buffer_only"]))
    maybe(0.2, "--hicache-write-policy", rnd.choice(WRITE))
    maybe(0.1, "--hicache-storage-prefetch-policy", rnd.choice(PREFETCH))
    maybe(0.15, "--hicache-ratio", rnd.choice(["0.5", "1.2", "2", "3.5", "0", "-1"]))
    maybe(0.1, "--hicache-size", rnd.choice(["0", "8", "64", "1.5", "-3"]))
    maybe(0.1, "--hicache-host-memory-fraction", rnd.choice(["0.5", "1", "1.5", "0", "-0.1"]))
    if r() < 0.35:
        g.append(["--disaggregation-mode", rnd.choice(["decode", "prefill", "null"])])
        maybe(0.4, "--disaggregation-decode-enable-radix-cache")
        maybe(0.25, "--disaggregation-decode-enable-offload-kvcache")
        maybe(
            0.25,
            "--disaggregation-decode-retraction-backup",
            rnd.choice(["cpu_tensor", "host_pool", "none"]),
        )
        maybe(
            0.3,
            "--disaggregation-decode-host-receive-threshold",
            rnd.choice(["0", "0.5", "1", "1.5", "-0.2"]),
        )
        maybe(
            0.1,
            "--disaggregation-decode-allocation-policy",
            rnd.choice(["early", "prefill_complete"]),
        )
    maybe(0.2, "--page-size", rnd.choice(PAGES))
    maybe(0.25, "--attention-backend", rnd.choice(ATTN))
    maybe(0.15, "--decode-attention-backend", rnd.choice(ATTN))
    maybe(0.07, "--prefill-attention-backend", rnd.choice(ATTN))
    maybe(0.1, "--kv-cache-dtype", rnd.choice(KV_DTYPES))
    maybe(0.15, "--dcp-size", rnd.choice(["1", "2", "4"]))
    maybe(0.1, "--enable-unified-memory")
    maybe(0.08, "--enable-lmcache")
    maybe(0.08, "--disable-radix-cache")
    maybe(0.06, "--enable-unified-cache-external-linker")
    maybe(
        0.04, "--unified-cache-external-linker-backend", rnd.choice(["mooncake", "mori", "dynamic"])
    )
    maybe(0.04, "--enable-linker-mla-dedup")
    maybe(0.05, "--radix-cache-backend", "custom")
    maybe(0.05, "--optimistic-prefill-attempts", rnd.choice(["0", "2"]))
    maybe(0.05, "--tp-size", rnd.choice(["1", "2"]))
    rnd.shuffle(g)
    return g


def _spell(rnd: random.Random, groups: list[list[str]]) -> tuple[list[str], str]:
    """Vary the spelling: ``--flag=value``, abbreviations, a repeated flag."""
    tpl = "random"
    out: list[str] = []
    for grp in groups:
        flag, vals = grp[0], grp[1:]
        x = rnd.random()
        if vals and x < 0.12:
            out.append(f"{flag}={vals[0]}")
            tpl = "argparse"
            continue
        if x > 0.93 and len(flag) > 12:
            flag = flag[: rnd.randint(8, len(flag) - 1)]
            tpl = "argparse"
        out += [flag, *vals]
    if groups and rnd.random() < 0.08:
        grp = rnd.choice(groups)
        if len(grp) == 2:
            out += [grp[0], grp[1]]
            tpl = "repeat"
    return out, tpl


H = "--enable-hierarchical-cache"
DEC = ["--disaggregation-mode", "decode", "--disaggregation-decode-enable-radix-cache"]
# Hand-picked interactions the shared conformance file does not hold.
ANCHORS: list[list[str]] = [
    [
        *DEC,
        "--disaggregation-decode-enable-offload-kvcache",
        "--hicache-storage-backend",
        "file",
        "--hicache-host-memory-mode",
        "buffer_only",
        H,
    ],
    [*DEC, "--disaggregation-decode-enable-offload-kvcache", "--hicache-storage-backend", "file"],
    [
        *DEC,
        "--disaggregation-decode-enable-offload-kvcache",
        "--hicache-storage-backend",
        "mooncake",
        "--hicache-mem-layout",
        "layer_first",
    ],
    [
        H,
        "--dcp-size",
        "2",
        "--hicache-storage-backend",
        "mooncake",
        "--hicache-mem-layout",
        "layer_first",
    ],
    [
        H,
        "--dcp-size",
        "2",
        "--hicache-storage-backend",
        "npu_memcache",
        "--hicache-mem-layout",
        "layer_first",
    ],
    [
        H,
        "--dcp-size",
        "2",
        "--hicache-storage-backend",
        "mooncake",
        "--hicache-mem-layout",
        "layer_first",
        "--hicache-io-backend",
        "direct",
    ],
    [
        H,
        "--enable-unified-memory",
        "--hicache-io-backend",
        "direct",
        "--attention-backend",
        "triton",
    ],
    [
        H,
        "--enable-unified-memory",
        "--hicache-mem-layout",
        "page_first_direct",
        "--attention-backend",
        "fa3",
    ],
    [*DEC, H, "--disaggregation-decode-host-receive-threshold", "0.5"],
    [*DEC, H, "--disaggregation-decode-host-receive-threshold", "0"],
    [*DEC, H, "--disaggregation-decode-host-receive-threshold", "1"],
    [
        *DEC,
        H,
        "--disaggregation-decode-host-receive-threshold",
        "0.5",
        "--hicache-mem-layout",
        "page_first",
    ],
    [
        *DEC,
        "--disaggregation-decode-host-receive-threshold",
        "0.3",
        "--disaggregation-decode-retraction-backup",
        "cpu_tensor",
    ],
    [H, "--attention-backend", "flashmla", "--page-size", "16"],
    [H, "--decode-attention-backend", "flashmla", "--page-size", "128"],
    [H, "--attention-backend", "trtllm_mha", "--page-size", "16"],
    [H, "--attention-backend", "trtllm_mha", "--page-size", "32"],
    [H, "--attention-backend", "trtllm_mha", "--page-size", "128"],
    [H, "--attention-backend", "trtllm_mha", "--page-size", "8"],
    [
        H,
        "--attention-backend",
        "triton",
        "--decode-attention-backend",
        "fa3",
        "--kv-cache-dtype",
        "fp8_e5m2",
    ],
    [
        H,
        "--attention-backend",
        "fa3",
        "--kv-cache-dtype",
        "fp8_e5m2",
        "--decode-attention-backend",
        "triton",
    ],
    [H, "--tp", "2"],
    [H, "--pp", "2"],
    [H, "--page", "16"],
    [H, "--dp", "2"],
    [H, "--hicache-size", "1.5"],
    [H, "--hicache-ratio", "abc"],
    [H, "--hicache-ratio"],
    ["--enable-hicache=1"],
    [H, H, "--hicache-io-backend", "direct", "--hicache-io-backend", "kernel"],
]


def cmd_gen(ns: argparse.Namespace) -> int:
    rnd = random.Random(ns.seed)
    seen: set[tuple[str, ...]] = set()
    for i, argv in enumerate(ANCHORS):
        seen.add(tuple(argv))
        for model in ns.models.split(","):
            print(
                json.dumps(
                    {
                        "id": f"orc-anchor-{i:03d}",
                        "template": "anchor",
                        "model": model,
                        "argv": argv,
                    }
                )
            )
    n = 0
    while n < ns.n:
        argv, tpl = _spell(rnd, _pick(rnd))
        if tuple(argv) in seen:
            continue
        seen.add(tuple(argv))
        for model in ns.models.split(","):
            print(
                json.dumps(
                    {"id": f"orc-{ns.seed}-{n:04d}", "template": tpl, "model": model, "argv": argv}
                )
            )
        n += 1
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen", help="write random cases (JSON lines) to stdout")
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("-n", type=int, default=300)
    g.add_argument("--models", default="mha,mla,dsa")
    r = sub.add_parser("run", help="run cases from stdin through the installed SGLang")
    r.add_argument("--models", required=True, help="directory with <model>/config.json")
    r.add_argument("--timeout", type=int, default=120)
    ns = ap.parse_args()
    return cmd_gen(ns) if ns.cmd == "gen" else cmd_run(ns)


if __name__ == "__main__":
    sys.exit(main())
