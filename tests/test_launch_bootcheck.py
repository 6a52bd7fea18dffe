"""Boot verification on real SGLang log lines (texts from sglang-hicache.md §2.2, §2.4, §2.5,
§3.2, §3.4), with the prefixes SGLang prints them with: its own ``[date time TPn]`` format and,
under Dynamo, the Rust tracing format with ANSI colours."""

from __future__ import annotations

import pytest

from hicachectl.launch.boot_report import BootWatch
from hicachectl.launch.bootcheck import REWRITES, parse_line, strip_ansi
from hicachectl.models import (
    GB,
    GPU,
    HardwareSnapshot,
    HostBudget,
    HostMemory,
    ModelFacts,
    PerRank,
    Plan,
    ProcessSpec,
    WorkerPlan,
)

SG = "[2026-11-23 04:44:57] "
SG_TP0 = "[2026-11-23 04:44:58 TP0] "
SG_DP_TP = "[2026-11-23 04:44:58 DP1 TP3] "
DYN_WARN = "\x1b[2m2026-11-23T04:44:57.418979Z\x1b[0m \x1b[33m WARN\x1b[0m \x1b[2mhicache_hook.resolve_layout_io_compatibility\x1b[0m\x1b[2m:\x1b[0m "
DYN_INFO = "2026-11-23T04:44:58.100000Z  INFO base.__init__: "

# (log message as SGLang writes it, rule id, fix that must be named)
REWRITE_CASES = [
    (
        "--hicache-host-memory-mode buffer_only resolves --hicache-write-policy write_back to write_through",
        "R1",
        "--hicache-write-policy write_through",
    ),
    (
        "Kernel io backend does not support page first direct layout, switching to direct io backend",
        "R3",
        "--hicache-io-backend direct",
    ),
    (
        "Page first layout is not supported with direct IO backend, switching to page first direct layout",
        "R4",
        "--hicache-mem-layout page_first_direct",
    ),
    (
        "Mooncake/Ascend MemCache storage backend does not support layer_first layout, switching to page_first layout for kernel io backend",
        "R5",
        "--hicache-mem-layout page_first",
    ),
    (
        "Mooncake/Ascend MemCache storage backend does not support layer_first layout, switching to page_first_direct layout for direct io backend",
        "R5",
        "--hicache-mem-layout page_first_direct",
    ),
    (
        "--enable-unified-memory: the direct io backend cannot copy the unified pool's strided KV rows, switching to the page_first layout with the kernel io backend",
        "R6",
        "--hicache-mem-layout page_first --hicache-io-backend kernel",
    ),
    (
        "Hierarchical cache is disabled because of using diffusion LLM inference",
        "R9",
        "--enable-hierarchical-cache",
    ),
    (
        "Reset swa_full_tokens_ratio to 1.0 for Step3p5ForCausalLM model with hierarchical cache",
        "R10a",
        "--swa-full-tokens-ratio 1.0",
    ),
    (
        "Disable hybrid SWA memory for Step3p5ForCausalLM model with hierarchical cache",
        "R10b",
        "--disable-hybrid-swa-memory",
    ),
    (
        "Optimistic prefill supports L2 write-back/write-through or L3 buffer-only write-through hierarchical cache",
        "R11",
        "--optimistic-prefill-attempts 0",
    ),
    (
        "Radix cache is disabled for decode server",
        "R12",
        "--disaggregation-decode-enable-radix-cache",
    ),
    (
        "FlashMLA only supports a page_size of 64, change page_size to 64.",
        "P-flashmla",
        "--page-size 64",
    ),
    (
        "TensorRT-LLM MLA only supports page_size of 32 or 64, changing page_size from 16 to 64.",
        "P-trtllm-mla",
        "--page-size 64",
    ),
    (
        "CuteDSL MLA only supports page_size of 32 or 64, changing page_size from 1 to 64.",
        "P-cutedsl-mla",
        "--page-size 64",
    ),
    (
        "TensorRT-LLM MHA only supports page_size of 16, 32, 64 or 128, changing page_size from 1 to 64.",
        "P-trtllm-mha",
        "--page-size 64",
    ),
    (
        "HPC-Ops attention only supports a page_size of 64, changing page_size from 16 to 64.",
        "P-hpc-ops",
        "--page-size 64",
    ),
    (
        "FA4 backend only supports page size 128 for non-MLA model architectures, changing page_size from 64 to 128.",
        "P-fa4",
        "--page-size 128",
    ),
    (
        "Intel XPU attention backend only supports page_size of 64 or 128, changing page_size from 16 to 128.",
        "P-xpu",
        "--page-size 128",
    ),
    ("Setting page size to 64 for DeepSeek DSA.", "P-dsa", "--page-size 64"),
    (
        "Use dsv4 attention backend for DeepseekV4ForCausalLM, setting page_size to 256.",
        "P-dsv4",
        "--page-size 256",
    ),
    (
        "FlashAttention3 only supports fp8_e4m3 if using FP8; Setting attention backend to triton.",
        "A-fa3-fp8",
        "--kv-cache-dtype fp8_e4m3",
    ),
    (
        "FlashAttention3 decode backend is not compatible with hierarchical cache. Setting hicache_io_backend to vanilla I/O, which may lead to suboptimal performance with small page sizes.",
        "F-fa3-decode",
        "--hicache-io-backend direct",
    ),
    (
        "Page first direct layout only support direct io backend",
        "F-pfd",
        "--hicache-io-backend direct",
    ),
]


@pytest.mark.parametrize("prefix", [SG, SG_TP0, DYN_WARN])
@pytest.mark.parametrize(("message", "rule_id", "fix"), REWRITE_CASES)
def test_every_rewrite_warning_is_recognised_with_its_fix(prefix, message, rule_id, fix):
    found = parse_line(prefix + message)
    assert found is not None and found.kind == "rewrite"
    assert found.rule.id == rule_id
    watch = BootWatch(PLAN, {"worker-0": WORKER})
    (text,) = watch.observe("worker-0", prefix + message)
    assert f"[{rule_id}]" in text and fix in text


def test_every_rule_has_a_case():
    assert {r.id for r in REWRITES} == {c[1] for c in REWRITE_CASES}


def test_unrelated_lines_are_ignored():
    for line in [
        SG + "Load weight begin. avail mem=78.50 GB",
        DYN_INFO + "Registering model with endpoint types chat,completions",
        "",
        "Traceback (most recent call last):",
    ]:
        assert parse_line(line) is None


def test_allocation_line_parsed_on_every_prefix():
    msg = "Allocating kv hierarchical KV host pool: 1500032 tokens, 196.61 GB host memory."
    for prefix in (SG_TP0, SG_DP_TP, DYN_INFO, "\x1b[32m" + DYN_INFO + "\x1b[0m"):
        found = parse_line(prefix + msg)
        assert found.kind == "host_pool"
        assert found.values == {"label": "kv", "tokens": 1500032, "gb": 196.61}


def test_allocation_line_with_mtp_suffix():
    msg = (
        "Allocating kv hierarchical KV host pool: 81920 tokens, 5.37 GB host memory., packed MTP KV "
        "layers: target_layers=61, draft_layers=1, total_layers=62."
    )
    assert parse_line(SG_TP0 + msg).values["tokens"] == 81920


def test_max_total_num_tokens_line():
    line = (
        SG_TP0
        + "max_total_num_tokens=750016, chunked_prefill_size=8192, max_prefill_tokens=16384, "
        "max_running_requests=4096, context_len=131072, available_gpu_mem=9.52 GB"
    )
    found = parse_line(line)
    assert found.kind == "device_pool" and found.values == {"tokens": 750016}


def test_host_memory_errors():
    line = (
        SG_TP0 + "ValueError: Not enough host memory available. Requesting 400.00 GB but only have "
        "183.52 GB free. Please reduce the size of the hierarchical cache."
    )
    assert parse_line(line).values == {"requested_gb": 400.0, "free_gb": 183.52}
    dsa = "Not enough host memory for DSA indexer hierarchical cache. Requesting 12.50 GB but only have 3.00 GB free."
    assert parse_line(dsa).kind == "host_oom"


def test_small_host_warning_with_sglangs_missing_spaces():
    line = (
        SG_TP0 + "HiCache kv host pool (1024 tokens) is smaller than the device pool (4096 tokens);"
        "L2 cache effectiveness is reduced.Consider increasing --hicache-ratio (or --hicache-size) "
        "for higher L2 cache hit rate."
    )
    assert parse_line(line).values == {"label": "kv", "host": "1024", "device": "4096"}


def test_strip_ansi():
    assert strip_ansi("\x1b[2mA\x1b[0m \x1b[33m WARN\x1b[0m") == "A  WARN"


# --------------------------------------------------------------- plan versus actual

WORKER = WorkerPlan(
    name="worker-0",
    role="worker",
    gpus=[0],
    per_rank=PerRank(
        device_tokens=750016,
        host_tokens=1464876,
        hicache_size_gb=192,
        hicache_ratio=1.95,
        kv_bytes_per_token=131072,
        host_bytes=192_000_000_000,
    ),
    ranks=8,
)
PLAN = Plan(
    sglang_version="0.5.21",
    model=ModelFacts(name="m"),
    hardware=HardwareSnapshot(
        hostname="h",
        gpus=[GPU(index=0, name="H100", memory_total_bytes=80 * GB, memory_free_bytes=79 * GB)],
        host=HostMemory(memory_total_bytes=2000 * GB, memory_available_bytes=1900 * GB),
    ),
    page_size=64,
    served_model_name="m",
    model_path="m",
    http_port=8000,
    host_budget=HostBudget(
        available_bytes=1900 * GB,
        fraction=0.8,
        budget_bytes=1511 * GB,
        pinned_bytes=1536 * GB,
        ranks_on_host=8,
    ),
    workers=[WORKER],
    processes=[ProcessSpec(name="worker-0", role="worker", argv=["python"])],
)


def test_plan_versus_actual_summary():
    watch = BootWatch(PLAN, {"worker-0": WORKER})
    assert (
        watch.observe("worker-0", SG_TP0 + "max_total_num_tokens=750016, chunked_prefill_size=8192")
        == []
    )
    for rank in range(2):  # one allocation line per rank; the first counts
        watch.observe(
            "worker-0",
            f"[2026-11-23 04:44:59 TP{rank}] Allocating kv hierarchical KV host pool: 1464896 tokens, 192.00 GB host memory.",
        )
    lines = watch.summary()
    assert lines == [
        "worker-0: device tokens/rank planned 750,016, actual 750,016 (+0.0%)",
        "worker-0: host tokens/rank planned 1,464,876, actual 1,464,896 (+0.0%); host GB/rank planned 192.00, actual 192.00",
    ]


def test_device_pool_mismatch_is_reported_at_once():
    watch = BootWatch(PLAN, {"worker-0": WORKER})
    (msg,) = watch.observe("worker-0", SG_TP0 + "max_total_num_tokens=600000, context_len=131072")
    assert "600,000" in msg and "750,016" in msg and "-20.0%" in msg


def test_host_memory_refusal_is_explained_against_the_budget():
    watch = BootWatch(PLAN, {"worker-0": WORKER})
    line = (
        SG_TP0
        + "Not enough host memory available. Requesting 192.00 GB but only have 150.00 GB free."
    )
    (msg,) = watch.observe("worker-0", line)
    # planned share per rank: (1900 GB - 10 GiB) / 8 ranks = 236.16 GB
    assert "requested 192.00 GB per rank, 150.00 GB free" in msg
    assert "The plan gave this rank 192.00 GB" in msg
    assert "budget 1511.0 GB" in msg and "8 ranks" in msg
    assert "236.16 GB when planned, 150.00 GB now" in msg and "86.16 GB per rank" in msg


def test_frontend_lines_are_not_checked():
    watch = BootWatch(PLAN, {"worker-0": WORKER})
    assert watch.observe("frontend", "Radix cache is disabled for decode server") == []
