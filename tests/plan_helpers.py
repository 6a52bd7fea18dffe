"""Snapshots and model configs made up for the plan tests (none of them is bundled), and the
reference formulas written out once more, independently of hicachectl.sizing."""

from __future__ import annotations

import json
from pathlib import Path

GiB = 1 << 30
MiB = 1 << 20
GB = 10**9

GPU_TOTAL = 80 * GiB  # a made-up 80 GiB accelerator
GPU_FREE = 78 * GiB


def write_snapshot(
    tmp: Path,
    *,
    gpus: int = 8,
    total: int = GPU_TOTAL,
    free: int = GPU_FREE,
    avail: int = 1000 * GiB,
    cgroup: int | None = None,
    usage: int | None = None,
    name: str = "snap.json",
) -> Path:
    data = {
        "hostname": "testhost",
        "gpus": [
            {"index": i, "name": "Test GPU", "memory_total_bytes": total, "memory_free_bytes": free}
            for i in range(gpus)
        ],
        "host": {
            "memory_total_bytes": avail + 64 * GiB,
            "memory_available_bytes": avail,
            "cgroup_limit_bytes": cgroup,
            "cgroup_usage_bytes": usage,
        },
    }
    path = tmp / name
    path.write_text(json.dumps(data))
    return path


def write_model(tmp: Path, name: str, config: dict, weight_bytes: int) -> Path:
    """A model directory: config.json plus a safetensors index giving the weight bytes."""
    d = tmp / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "config.json").write_text(json.dumps(config))
    (d / "model.safetensors.index.json").write_text(
        json.dumps({"metadata": {"total_size": weight_bytes}, "weight_map": {}})
    )
    return d / "config.json"


GQA = {  # Llama-like: 32 layers, 32 heads, 8 KV heads of 128
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "vocab_size": 128256,
    "max_position_embeddings": 8192,
    "torch_dtype": "bfloat16",
}
MHA = {  # plain multi-head: KV heads = heads = 16 of 64, 24 layers
    "architectures": ["GPT2LMHeadModel"],
    "model_type": "gpt2",
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "hidden_size": 1024,
    "vocab_size": 50257,
    "max_position_embeddings": 2048,
    "torch_dtype": "float16",
}
MLA = {  # DeepSeek-V2-Lite-like
    "architectures": ["DeepseekV2ForCausalLM"],
    "model_type": "deepseek_v2",
    "num_hidden_layers": 27,
    "num_attention_heads": 16,
    "num_key_value_heads": 16,
    "hidden_size": 2048,
    "intermediate_size": 10944,
    "vocab_size": 102400,
    "kv_lora_rank": 512,
    "qk_rope_head_dim": 64,
    "qk_nope_head_dim": 128,
    "v_head_dim": 128,
    "max_position_embeddings": 163840,
    "torch_dtype": "bfloat16",
}
DSA = {
    **MLA,
    "architectures": ["DeepseekV32ForCausalLM"],
    "index_head_dim": 128,
    "index_topk": 2048,
}


def pad(tokens: int, page: int) -> int:
    """Whole pages plus the padding page (sglang-hicache.md §3.2)."""
    return (tokens // page + 1) * page


def device_tokens(free: int, mfs: float, weights: int, cell: int, page: int) -> int:
    """§3.1 in GiB: rest = (pre − weights) − pre × (1 − mfs); tokens floored to the page."""
    pre = free / GiB
    rest = (pre - weights / GiB) - pre * (1 - mfs)
    return int(rest * GiB) // cell // page * page


def largest_size(share: int, cell: int, page: int, extra: int = 0) -> int:
    """Largest whole GB whose padded host pool (KV + indexer bytes) fits ``share``."""
    size = share // GB
    while size > 0 and pad(size * GB // cell, page) * (cell + extra) > share:
        size -= 1
    return size


def budget(avail: int, fraction: float = 0.8) -> int:
    return int((avail - 10 * GiB) * fraction)
