"""Boot verification: read SGLang's log lines and compare what it did with what was planned.

Pure functions over text.  Lines may carry SGLang's own prefix (``[2026-11-23 04:44:57 TP0] ``),
Dynamo's tracing prefix (``2026-11-23T04:44:57.418979Z  WARN module.func: ``) and ANSI colours;
the messages are matched anywhere in the line.  The message texts are SGLang's
(sglang-hicache.md §2.2, §2.4, §2.5, §3.2, §3.4): each rewrite WARNING means the running
SGLang changed a setting the plan chose, so it is reported with the rule and the flag to fix.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from hicachectl.launch.ansi import ANSI, strip_ansi  # noqa: F401  (re-exported)


class RewriteRule(NamedTuple):
    id: str
    pattern: re.Pattern[str]
    rule: str
    fix: str  # may use {named groups}


def _r(id: str, pattern: str, rule: str, fix: str) -> RewriteRule:
    return RewriteRule(id, re.compile(pattern), rule, fix)


_P = r"(?P<p>-?\d+|None)"
REWRITES: tuple[RewriteRule, ...] = (
    _r(
        "R1",
        r"--hicache-host-memory-mode buffer_only resolves --hicache-write-policy write_back to write_through",
        "buffer_only host memory cannot write back; SGLang switched to write_through",
        "--hicache-write-policy write_through",
    ),
    _r(
        "R3",
        r"Kernel io backend does not support page first direct layout, switching to direct io backend",
        "the page_first_direct layout needs the direct I/O backend",
        "--hicache-io-backend direct (with --hicache-mem-layout page_first_direct)",
    ),
    _r(
        "R4",
        r"Page first layout is not supported with direct IO backend, switching to page first direct layout",
        "the direct I/O backend cannot use the page_first layout",
        "--hicache-mem-layout page_first_direct (or --hicache-io-backend kernel)",
    ),
    _r(
        "R5",
        r"Mooncake/Ascend MemCache storage backend does not support layer_first layout, "
        r"switching to (?P<layout>\w+) layout for (?P<io>\w+) io backend",
        "Mooncake / NPU MemCache storage cannot use the layer_first layout",
        "--hicache-mem-layout {layout}",
    ),
    _r(
        "R6",
        r"--enable-unified-memory: the direct io backend cannot copy the unified pool's strided KV rows",
        "unified memory needs the page_first layout with kernel I/O",
        "--hicache-mem-layout page_first --hicache-io-backend kernel",
    ),
    _r(
        "R9",
        r"Hierarchical cache is disabled because of using diffusion LLM inference",
        "diffusion LLM inference turns HiCache off",
        "drop --enable-hierarchical-cache for a dLLM",
    ),
    _r(
        "R10a",
        r"Reset swa_full_tokens_ratio to 1\.0 for (?P<arch>\w+) model with hierarchical cache",
        "this model needs a full SWA pool with HiCache",
        "--swa-full-tokens-ratio 1.0",
    ),
    _r(
        "R10b",
        r"Disable hybrid SWA memory for (?P<arch>\w+) model with hierarchical cache",
        "this model cannot use hybrid SWA memory with HiCache",
        "--disable-hybrid-swa-memory",
    ),
    _r(
        "R11",
        r"Optimistic prefill supports L2 write-back/write-through or L3 buffer-only write-through hierarchical cache",
        "optimistic prefill is unsupported with this HiCache policy; SGLang set it to 0",
        "--optimistic-prefill-attempts 0",
    ),
    _r(
        "R12",
        r"Radix cache is disabled for decode server",
        "a decode server disables its radix cache unless asked, which HiCache needs",
        "--disaggregation-decode-enable-radix-cache",
    ),
    _r(
        "P-flashmla",
        r"FlashMLA only supports a page_size of 64, change page_size to 64",
        "FlashMLA needs page size 64",
        "--page-size 64",
    ),
    _r(
        "P-trtllm-mla",
        rf"TensorRT-LLM MLA only supports page_size of 32 or 64, changing page_size from {_P} to 64",
        "TensorRT-LLM MLA needs page size 32 or 64",
        "--page-size 64",
    ),
    _r(
        "P-cutedsl-mla",
        rf"CuteDSL MLA only supports page_size of 32 or 64, changing page_size from {_P} to 64",
        "CuteDSL MLA needs page size 32 or 64",
        "--page-size 64",
    ),
    _r(
        "P-trtllm-mha",
        rf"TensorRT-LLM MHA only supports page_size of 16, 32, 64 or 128, changing page_size from {_P} to 64",
        "TensorRT-LLM MHA needs page size 16, 32, 64 or 128",
        "--page-size 64",
    ),
    _r(
        "P-hpc-ops",
        r"HPC-Ops attention only supports a page_size of 64",
        "HPC-Ops attention needs page size 64",
        "--page-size 64",
    ),
    _r(
        "P-fa4",
        rf"FA4 backend only supports page size 128 for non-MLA model architectures, changing page_size from {_P} to 128",
        "FA4 on a non-MLA model needs page size 128",
        "--page-size 128",
    ),
    _r(
        "P-xpu",
        rf"Intel XPU attention backend.*changing page_size from {_P} to (?P<n>\d+)",
        "the Intel XPU attention backend changed the page size",
        "--page-size {n}",
    ),
    _r(
        "P-dsa",
        r"Setting page size to (?P<n>\d+) for DeepSeek DSA",
        "DeepSeek DSA fixes the page size",
        "--page-size {n}",
    ),
    _r(
        "P-dsv4",
        r"Use dsv4 attention backend for (?P<arch>\w+), setting page_size to (?P<n>\d+)",
        "DeepSeek V4 fixes the attention backend and page size",
        "--page-size {n} --attention-backend dsv4",
    ),
    _r(
        "A-fa3-fp8",
        r"FlashAttention3 only supports fp8_e4m3 if using FP8; Setting attention backend to triton",
        "FA3 cannot use fp8_e5m2 KV; SGLang switched to triton attention",
        "--kv-cache-dtype fp8_e4m3 (or --attention-backend triton)",
    ),
    _r(
        "F-fa3-decode",  # SGLang <= 0.5.12 (§2.5)
        r"FlashAttention3 decode backend is not compatible with hierarchical cache\. "
        r"Setting hicache_io_backend to vanilla I/O",
        "FA3 decode with HiCache forced direct I/O (SGLang <= 0.5.12)",
        "--hicache-io-backend direct (or another --decode-attention-backend)",
    ),
    _r(
        "F-pfd",  # SGLang 0.5.5 (§2.5)
        r"Page first direct layout only support direct io backend",
        "page_first_direct needs direct I/O (SGLang 0.5.5)",
        "--hicache-io-backend direct",
    ),
)

ALLOC = re.compile(
    r"Allocating (?P<label>\S+) hierarchical KV host pool: (?P<tokens>\d+) tokens, "
    r"(?P<gb>\d+(?:\.\d+)?) GB host memory"
)
DEVICE = re.compile(r"max_total_num_tokens=(?P<tokens>\d+)")
HOST_OOM = re.compile(
    r"Not enough host memory (?:available|for DSA indexer hierarchical cache)\. "
    r"Requesting (?P<req>\d+(?:\.\d+)?) GB but only have (?P<free>\d+(?:\.\d+)?) GB free"
)
SMALL_HOST = re.compile(
    r"HiCache (?P<label>\S+) host pool \((?P<host>\d+) tokens\) is smaller than the device pool "
    r"\((?P<device>\d+) tokens\)"
)
AUTO_SIZE = re.compile(r"HiCache auto-sizing: ratio (?P<old>[\d.]+) -> (?P<new>[\d.]+)")
NO_HOST_LEFT = re.compile(r"No host memory is left for HiCache after the 10 GiB reserve")


class Finding(NamedTuple):
    kind: str  # rewrite | host_pool | device_pool | host_oom | small_host | auto_size | no_host
    values: dict
    rule: RewriteRule | None = None


def parse_line(text: str) -> Finding | None:
    """Recognise one SGLang log line; None when it says nothing the boot check cares about."""
    line = strip_ansi(text)
    if "hierarchical KV host pool" in line and (m := ALLOC.search(line)):
        g = m.groupdict()
        return Finding(
            "host_pool", {"label": g["label"], "tokens": int(g["tokens"]), "gb": float(g["gb"])}
        )
    if "max_total_num_tokens=" in line and (m := DEVICE.search(line)):
        return Finding("device_pool", {"tokens": int(m["tokens"])})
    if "Not enough host memory" in line and (m := HOST_OOM.search(line)):
        return Finding("host_oom", {"requested_gb": float(m["req"]), "free_gb": float(m["free"])})
    if m := SMALL_HOST.search(line):
        return Finding("small_host", {k: m[k] for k in ("label", "host", "device")})
    if m := AUTO_SIZE.search(line):
        return Finding("auto_size", {"old": float(m["old"]), "new": float(m["new"])})
    if NO_HOST_LEFT.search(line):
        return Finding("no_host", {})
    for rule in REWRITES:
        if m := rule.pattern.search(line):
            return Finding("rewrite", m.groupdict(), rule)
    return None
