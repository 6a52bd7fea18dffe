"""Pydantic v2 value types shared by every verb (probe, resolve, plan, lint, launch).

Only types live here: no I/O, no NVML, no file system.  Verb-specific models live beside
their verb (for example ``hicachectl.sglang.types`` for parser/resolver results); the ones
that cross verbs are here so that ``plan`` produces exactly what ``launch`` consumes.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hicachectl.pydantic_plugins import skip_empty_plugin_lookup

# Before the first model is built: pydantic's plugin lookup would import importlib.metadata.
skip_empty_plugin_lookup()


# Default factories for list and dict fields.  Plain functions, not the builtins: pydantic
# inspects a factory's signature, and for a builtin that means parsing its text signature
# with tokenize, whose first use compiles a large regex (~7 ms of every start-up).
def new_list() -> list:
    return []


def new_dict() -> dict:
    return {}


from hicachectl.units import GB, HOST_RESERVE_BYTES, GiB  # noqa: E402,F401  (re-exported)


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- hardware


class GPU(Frozen):
    index: int
    name: str
    memory_total_bytes: int = Field(ge=0)
    memory_free_bytes: int = Field(ge=0)
    uuid: str | None = None
    mig_mode: str | None = None  # "enabled" / "disabled" / None when not exposed


class HostMemory(Frozen):
    memory_total_bytes: int = Field(ge=0)
    memory_available_bytes: int = Field(ge=0)
    cgroup_limit_bytes: int | None = None  # tightest of memory.max / memory.high (v2) or v1 limit
    cgroup_usage_bytes: int | None = None
    cgroup_version: int | None = None
    cgroup_path: str | None = None
    shm_total_bytes: int | None = None
    cpu_count: int | None = None
    # Added by probe (additive): which file set the cgroup limit, and the page cache in it.
    cgroup_limit_kind: str | None = None  # memory.max / memory.high / memory.limit_in_bytes
    cgroup_file_bytes: int | None = None  # page cache SGLang 0.5.23 counts as free (memory.stat)
    shm_free_bytes: int | None = None


class HardwareSnapshot(BaseModel):
    """What ``hicachectl probe --json`` writes and every ``--hardware FILE`` reads."""

    model_config = ConfigDict(frozen=True, extra="allow")

    hostname: str
    gpus: list[GPU] = Field(default_factory=new_list)
    host: HostMemory
    driver_version: str | None = None
    cuda_version: str | None = None
    notes: list[str] = Field(default_factory=new_list)
    source: str | None = None  # "probe", or the file it was read from


# --------------------------------------------------------------------------- model facts


AttentionKind = Literal["mha", "mla", "dsa"]


class ModelFacts(Frozen):
    """Facts about a model that SGLang's rules and sizing depend on.

    ``attention`` decides MHA-vs-MLA rules in the resolver; the KV fields feed sizing.
    Fields may be added; do not rename these.
    """

    name: str | None = None
    architecture: str = "unknown"
    model_type: str | None = None
    attention: AttentionKind = "mha"
    hybrid: Literal["swa", "mamba"] | None = None
    num_layers: int = 0
    num_attention_heads: int = 0
    num_kv_heads: int = 0
    head_dim: int = 0
    v_head_dim: int = 0
    kv_lora_rank: int = 0
    qk_rope_head_dim: int = 0
    index_head_dim: int = 0  # DSA indexer; 0 when the model has none
    context_len: int = 0
    dtype: str = "bfloat16"
    weight_bytes: int | None = None  # whole model, all ranks together
    source: str | None = None  # where the facts came from (path or "catalogue")
    # Added by modelspec (additive): architecture numbers behind the KV and weight arithmetic.
    hidden_size: int = 0
    intermediate_size: int = 0
    vocab_size: int = 0
    num_experts: int = 0  # routed experts; 0 for dense models
    num_experts_per_tok: int = 0
    index_topk: int = 0  # DSA: tokens the indexer selects
    index_layers: int = 0  # DSA: layers that carry an indexer cache
    sliding_window: int = 0  # SWA window in tokens; 0 when none
    num_swa_layers: int = 0  # layers with sliding-window attention (the rest are full)
    num_linear_layers: int = 0  # Mamba / linear-attention layers (no per-token KV)
    param_count: int | None = None
    weight_source: str | None = None  # "safetensors-index" or "estimate"
    quantization: str | None = None  # quant_method of the checkpoint (fp8, mxfp4, ...)


# --------------------------------------------------------------------------- plan


Role = Literal["frontend", "worker", "prefill", "decode"]


class ProcessSpec(Frozen):
    """One process that ``launch`` starts: exactly argv + env, never through a shell."""

    name: str  # "frontend", "worker-0", "prefill-0", "decode-0"
    role: Role
    argv: list[str]  # argv[0] is the interpreter placeholder "python" (launch substitutes --python)
    env: dict[str, str] = Field(default_factory=new_dict)  # added to a clean base environment
    cwd: str | None = None
    gpus: list[int] = Field(default_factory=new_list)
    ports: dict[str, int] = Field(default_factory=new_dict)  # http / system / kv_events / bootstrap
    served_model_name: str | None = None


class PerRank(Frozen):
    device_tokens: int
    host_tokens: int
    hicache_size_gb: int  # the --hicache-size this rank gets (0 when sized by ratio)
    hicache_ratio: float  # effective host/device ratio
    kv_bytes_per_token: int
    host_bytes: int  # pinned host bytes for this rank's pools (KV + indexer, etc.)


class WorkerPlan(Frozen):
    name: str
    role: Literal["worker", "prefill", "decode"]
    tp: int = 1
    pp: int = 1
    dp: int = 1
    gpus: list[int] = Field(default_factory=new_list)
    per_rank: PerRank
    ranks: int  # tp * pp * dp


class HostBudget(Frozen):
    available_bytes: int  # min(available DRAM, cgroup headroom)
    reserve_bytes: int = HOST_RESERVE_BYTES
    fraction: float
    budget_bytes: int  # (available - reserve) * fraction
    pinned_bytes: int  # what the plan pins across all ranks of all workers
    ranks_on_host: int


class Adjustment(Frozen):
    """A flag the plan set so that SGLang has nothing to rewrite, and why."""

    flag: str
    value: Any
    reason: str
    rule: str | None = None  # the SGLang rule that would have rewritten it (R3, R5, ...)
    from_value: Any = None  # what the request asked for
    log: str | None = None  # SGLang's exact log line for that rewrite


class Plan(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")

    sglang_version: str
    model: ModelFacts
    hardware: HardwareSnapshot
    page_size: int
    served_model_name: str
    model_path: str
    http_port: int
    discovery: Literal["file", "etcd"] = "file"
    host_budget: HostBudget
    workers: list[WorkerPlan]
    processes: list[ProcessSpec]
    adjustments: list[Adjustment] = Field(default_factory=new_list)
    warnings: list[str] = Field(default_factory=new_list)
    fits: bool = True
    notes: list[str] = Field(default_factory=new_list)
    extra: dict[str, Any] = Field(default_factory=new_dict)
