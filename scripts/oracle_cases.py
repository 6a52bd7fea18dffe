#!/usr/bin/env python3
"""Write the argvs ``scripts/oracle_resolve.py`` runs (developer tool, not run by CI).

Hand-picked interactions (``ANCHORS``) plus random combinations of the HiCache-related flags
(decode/prefill modes, thresholds, storage backends, layouts, io backends, page sizes,
attention backends, DCP, unified memory, LMCache, the linker), spelled in varied ways
(``--flag=value``, abbreviations, repeated flags).  One JSON line per (argv, model)::

    python scripts/oracle_cases.py --seed 7 -n 420 > /tmp/cases.jsonl

Standard library only; deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import sys

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


def _pick(rnd: random.Random, ns_wide: float = 0.0) -> list[list[str]]:
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
    if ns_wide and rnd.random() < ns_wide:  # the less common interactions (second-wave batches)
        maybe(
            0.15,
            "--disaggregation-transfer-backend",
            rnd.choice(["mooncake", "nixl", "mori", "ascend", "fake", "mooncake_tcp"]),
        )
        maybe(0.1, "--speculative-algorithm", rnd.choice(["EAGLE", "EAGLE3", "NGRAM", "DSPARK"]))
        maybe(0.08, "--enable-two-batch-overlap")
        maybe(0.08, "--enable-hisparse")
        maybe(0.1, "--enable-dp-attention")
        maybe(0.1, "--dp-size", rnd.choice(["1", "2"]))
        maybe(0.08, "--pp-size", rnd.choice(["1", "2"]))
        maybe(0.08, "--enable-kv-cache-sharding")
        maybe(0.06, "--enable-streaming-session")
        maybe(0.06, "--enable-priority-scheduling")
        maybe(0.06, "--disable-priority-preemption")
        maybe(0.05, "--enable-int8-mamba-checkpoint")
        maybe(0.1, "--radix-eviction-policy", rnd.choice(["lru", "lfu", "slru", "priority"]))
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
DEC = "--disaggregation-mode decode --disaggregation-decode-enable-radix-cache"
OFF = "--disaggregation-decode-enable-offload-kvcache"
THR = "--disaggregation-decode-host-receive-threshold"
PCP = "--disaggregation-mode prefill --disaggregation-decode-allocation-policy prefill_complete"
TLRU = "--radix-eviction-policy tlru --radix-eviction-policy-config"
LNK = "--enable-unified-cache-external-linker"
# Hand-picked interactions the shared conformance file does not hold (shell-quoted argvs).
ANCHORS = [
    f"{DEC} {OFF} --hicache-storage-backend file --hicache-host-memory-mode buffer_only {H}",
    f"{DEC} {OFF} --hicache-storage-backend file",
    f"{DEC} {OFF} --hicache-storage-backend mooncake --hicache-mem-layout layer_first",
    f"{H} --dcp-size 2 --hicache-storage-backend mooncake --hicache-mem-layout layer_first",
    f"{H} --dcp-size 2 --hicache-storage-backend npu_memcache --hicache-mem-layout layer_first",
    f"{H} --dcp-size 2 --hicache-storage-backend mooncake --hicache-mem-layout layer_first"
    " --hicache-io-backend direct",
    f"{H} --enable-unified-memory --hicache-io-backend direct --attention-backend triton",
    f"{H} --enable-unified-memory --hicache-mem-layout page_first_direct --attention-backend fa3",
    f"{DEC} {H} {THR} 0.5", f"{DEC} {H} {THR} 0", f"{DEC} {H} {THR} 1",
    f"{DEC} {H} {THR} 0.5 --hicache-mem-layout page_first",
    f"{DEC} {THR} 0.3 --disaggregation-decode-retraction-backup cpu_tensor",
    f"{H} --attention-backend flashmla --page-size 16",
    f"{H} --decode-attention-backend flashmla --page-size 128",
    f"{H} --attention-backend trtllm_mha --page-size 16",
    f"{H} --attention-backend trtllm_mha --page-size 32",
    f"{H} --attention-backend trtllm_mha --page-size 128",
    f"{H} --attention-backend trtllm_mha --page-size 8",
    f"{H} --attention-backend triton --decode-attention-backend fa3 --kv-cache-dtype fp8_e5m2",
    f"{H} --attention-backend fa3 --kv-cache-dtype fp8_e5m2 --decode-attention-backend triton",
    f"{H} --tp 2", f"{H} --pp 2", f"{H} --page 16", f"{H} --dp 2",
    f"{H} --hicache-size 1.5", f"{H} --hicache-ratio abc", f"{H} --hicache-ratio",
    "--enable-hicache=1", f"{H} {H} --hicache-io-backend direct --hicache-io-backend kernel",
    f"{TLRU} '{{\"threshold\": 1}}'",
    f"{TLRU} '{{\"threshold\": 2, \"next_prompt_estimate\": 5}}'",
    f"{TLRU} '{{\"threshold\": -1, \"next_prompt_estimate\": 0}}'",
    "--radix-eviction-policy tlru", f"{H} --radix-eviction-policy slru",
    f"{H} --prefill-attention-backend intel_xpu --page-size 32",
    f"{H} --enable-page-major-kv-layout --attention-backend triton",
    f"{LNK} --unified-cache-external-linker-config '[1]'",
    f"{LNK} --unified-cache-external-linker-config '{{}}'",
    f"{H} {PCP} --hicache-write-policy write_back", f"{H} {PCP}",
    "--disaggregation-decode-allocation-policy prefill_complete --tp-size 2",
    "--disaggregation-mode decode --dcp-size 2 --disaggregation-transfer-backend ascend",
    f"{DEC} --dcp-size 2 --disaggregation-transfer-backend mooncake_tcp {H}",
    f"{THR} 0.5 --enable-hisparse",
    # argparse corners
    "--hicache-ratio=", "--hicache-ratio -1", "--hicache-ratio=-1.5", "--page-size=-1",
    "--hicache", "--enable", "--disagg decode", "--hicache-mem layer_first",
    "--hicache-io direct", "--hicache-storage-backend-extra-config '{not json'",
    "--hicache-size 08", "--hicache-size ' 8'", "--hicache-size 1e3", "--hicache-ratio inf",
    "--hicache-ratio nan", "--hicache-ratio 1_000", "--hicache-size 1_0", "--page-size 0x10",
    "--max-total-tokens 64k", "--max-total-tokens 1Ki", "--max-total-tokens 2.5M",
    "--hicache-mem-layout", "--hicache-mem-layout LAYER_FIRST", "-- --enable-hierarchical-cache",
    f"{H} extra", "--tp-size 2 --tp 4", "--dp-size=2 --dp=3", "--mem-fraction 0.5",
    "--model /x", "--disaggregation-mode none", "--enable-hierarchical-cache=",
    "--radix-eviction-policy-config '{bad'", "--radix-eviction-policy-config '[1, 2]'",
    f"{H} --hicache-write-policy write_back --hicache-write-policy=write_through",
    f"{H} --kv-cache-dtype fp8_e5m2", f"{H} --kv-cache-dtype bf16 --dcp-size 2",
]  # fmt: skip


def cmd_gen(ns: argparse.Namespace) -> int:
    rnd = random.Random(ns.seed)
    seen: set[tuple[str, ...]] = set()
    for i, line in enumerate(ANCHORS):
        argv = shlex.split(line)
        seen.add(tuple(argv))
        for model in ns.models.split(","):
            case = {"id": f"orc-anchor-{ns.seed}-{i:03d}", "template": "anchor", "model": model}
            print(json.dumps({**case, "argv": argv}))
    n = 0
    while n < ns.n:
        argv, tpl = _spell(rnd, _pick(rnd, ns.wide))
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
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-n", type=int, default=300)
    ap.add_argument("--models", default="mha,mla,dsa")
    ap.add_argument("--wide", type=float, default=0.0, help="share of argvs with rarer flags")
    return cmd_gen(ap.parse_args())


if __name__ == "__main__":
    sys.exit(main())
