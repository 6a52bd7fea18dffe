"""Model facts: a Hugging Face config (file, local directory, HF cache or bundled catalogue)
→ :class:`~hicachectl.models.ModelFacts`.  The KV arithmetic on those facts lives in
:mod:`hicachectl.kvbytes` and :mod:`hicachectl.kvdtype` and is re-exported here, so callers
need one import.

Never touches the network.  Lookup order of :func:`load_model`: ``--model-config`` file;
``--model`` naming a local directory with a ``config.json``; the local Hugging Face cache;
the bundled catalogue; else an :class:`~hicachectl.errors.InputError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hicachectl import catalogue, weights
from hicachectl.catalogue import load_config_json
from hicachectl.errors import InputError, UsageError, where
from hicachectl.kvbytes import (  # noqa: F401  (re-exported API)
    KVPool,
    device_cell_bytes_per_token,
    indexer_bytes_per_token,
    kv_bytes_per_token,
    kv_pools,
    pp_layer_split,
    weight_bytes_per_rank,
)
from hicachectl.kvdtype import dtype_bytes, effective_kv_cache_dtype, gpu_sm_major  # noqa: F401
from hicachectl.models import ModelFacts

__all__ = [
    "KVPool",
    "device_cell_bytes_per_token",
    "dtype_bytes",
    "effective_kv_cache_dtype",
    "gpu_sm_major",
    "facts_from_config",
    "indexer_bytes_per_token",
    "kv_bytes_per_token",
    "kv_pools",
    "load_config_json",
    "load_model",
    "pp_layer_split",
    "weight_bytes_per_rank",
]

# Multimodal / wrapper configs keep the language model's numbers one level down.
_NESTED = ("text_config", "llm_config", "language_config")
_LINEAR_KINDS = {"mamba", "mamba2", "linear_attention", "ssm", "M"}


def _flatten(cfg: dict[str, Any]) -> dict[str, Any]:
    for key in _NESTED:
        sub = cfg.get(key)
        if isinstance(sub, dict) and "num_hidden_layers" not in cfg:
            merged = {k: v for k, v in cfg.items() if k not in _NESTED}
            merged.update(sub)
            for k in ("torch_dtype", "dtype", "quantization_config"):
                if merged.get(k) is None and cfg.get(k) is not None:
                    merged[k] = cfg[k]
            return merged
    return cfg


def _need(c: dict[str, Any], src: str, *keys: str) -> int:
    for k in keys:
        v = c.get(k)
        if isinstance(v, int) and not isinstance(v, bool) and v > 0:
            return v
        if v is not None and not (isinstance(v, int) and not isinstance(v, bool)):
            raise InputError(where(src, f"expected a positive integer, got {v!r}", key=k))
    raise InputError(where(src, "missing (needed for KV/weight sizing)", key=keys[0]))


def _opt(c: dict[str, Any], *keys: str, default: int = 0) -> int:
    for k in keys:
        v = c.get(k)
        if isinstance(v, int) and not isinstance(v, bool):
            return v
    return default


# Architectures SGLang 0.5.23 serves with separate full and sliding-window pools
# (configs/model_config.py::is_hybrid_swa_model).  Others with a sliding_window in their
# config (Mistral, Gemma 2/3) get one ordinary pool over all layers.
_HYBRID_SWA_ARCHS = {
    "GptOssForCausalLM",
    "GraniteSWAForCausalLM",
    "GraniteMoeSWAForCausalLM",
    "Llama4ForConditionalGeneration",
    "Gemma4ForCausalLM",
    "Gemma4ForConditionalGeneration",
    "MiMoV2FlashForCausalLM",
    "Step3p5ForCausalLM",
    "Step3p7ForConditionalGeneration",
    "LagunaForCausalLM",
}


def _swa_layers(c: dict[str, Any], layers: int, arch: list[str]) -> int:
    """Sliding-window layers of a model SGLang treats as hybrid SWA, else 0."""
    if not (set(arch) & _HYBRID_SWA_ARCHS or c.get("is_hybrid_swa")):
        return 0
    if "LagunaForCausalLM" in arch and not c.get("sliding_window"):
        return 0
    if "Llama4ForConditionalGeneration" in arch:  # every 4th layer is full attention
        return sum((i + 1) % 4 != 0 for i in range(layers))
    pattern = c.get("hybrid_layer_pattern")  # MiMo V2: 1 = sliding window
    if isinstance(pattern, list):
        return sum(1 for p in pattern[:layers] if p == 1)
    kinds = c.get("layer_types")
    if isinstance(kinds, list):
        return sum(str(k) == "sliding_attention" for k in kinds[:layers])
    return 0


def _linear_layers(c: dict[str, Any], layers: int) -> int:
    """Mamba / linear-attention layers (state pools, no per-token KV), from whichever
    per-layer description the config has."""
    pattern = c.get("hybrid_override_pattern")  # Nemotron-H: M = mamba, * = attention, - = mlp
    if isinstance(pattern, str) and pattern:
        return pattern.count("M")
    kinds = c.get("layer_types") or c.get("layers_block_type")
    if isinstance(kinds, list) and kinds:
        return sum(str(k) in _LINEAR_KINDS for k in kinds[:layers])
    interval = _opt(c, "full_attention_interval")
    if interval > 1 and any(k.startswith("linear_") for k in c):  # Qwen3-Next style
        return layers - layers // interval
    if any(k in c for k in ("ssm_state_size", "mamba_d_state", "state_size", "mamba_expand")):
        period = _opt(c, "attn_layer_period")  # Jamba
        return layers - (layers // period if period else 0)
    return 0


def context_length(c: dict[str, Any]) -> int:
    """SGLang's default context length (``get_context_length``): the first of
    max_sequence_length, seq_length, max_seq_len, model_max_length, max_position_embeddings,
    times the RoPE scaling factor unless the scaling names its original length or is
    ``llama3``; 2048 when none is set."""
    rope = c.get("rope_scaling")
    factor: float = 1
    if isinstance(rope, dict) and rope:
        factor = rope.get("factor", 1) or 1
        if "original_max_position_embeddings" in rope or rope.get("rope_type") == "llama3":
            factor = 1
    for key in ("max_sequence_length", "seq_length", "max_seq_len", "model_max_length"):
        if c.get(key) is not None:
            return int(factor * c[key])
    if c.get("max_position_embeddings") is not None:
        return int(factor * c["max_position_embeddings"])
    return 2048


def facts_from_config(
    cfg: dict[str, Any],
    *,
    name: str | None = None,
    source: str | None = None,
    weight_bytes: int | None = None,
    weight_source: str = "safetensors-index",
) -> ModelFacts:
    """Turn a Hugging Face config dict into :class:`ModelFacts`.

    ``weight_bytes`` (from a safetensors index) wins over the estimate of
    :func:`hicachectl.weights.estimate`.  Missing numbers → ``InputError`` ``source: key: …``.
    """
    src = source or name or "config.json"
    c = _flatten(cfg)
    layers = _need(c, src, "num_hidden_layers", "n_layer", "num_layers")
    heads = _need(c, src, "num_attention_heads", "n_head")
    hidden = _need(c, src, "hidden_size", "n_embd", "d_model")
    vocab = _need(c, src, "vocab_size")
    kv_heads = 1 if c.get("multi_query") else _opt(c, "num_key_value_heads", "n_head_kv")
    kv_heads = kv_heads or heads
    arch = c.get("architectures") or ["unknown"]
    # SGLang's dtype "auto": the config's dtype, but float32 (or none) is served in float16,
    # bfloat16 for Gemma; weights and KV are then that wide.
    checkpoint_dtype = str(c.get("dtype") or c.get("torch_dtype") or "float32")
    checkpoint_dtype = checkpoint_dtype.replace("torch.", "")
    dtype = checkpoint_dtype
    if dtype in ("float32", "float"):
        dtype = "bfloat16" if "gemma" in str(c.get("model_type") or "") else "float16"
        if weight_bytes:
            weight_bytes //= 2  # a float32 checkpoint loads at half its size
    quant = c.get("quantization_config")
    quant_method = quant.get("quant_method") if isinstance(quant, dict) else None

    attention = "mha"
    kv_lora = rope = v_dim = index_dim = index_topk = index_layers = 0
    if c.get("kv_lora_rank"):
        attention = "mla"
        kv_lora = _need(c, src, "kv_lora_rank")
        rope = _need(c, src, "qk_rope_head_dim")
        nope = _opt(c, "qk_nope_head_dim")
        head_dim, v_dim = nope + rope, _opt(c, "v_head_dim", default=nope)
        if c.get("index_topk") or c.get("index_head_dim"):
            attention = "dsa"
            index_dim = _need(c, src, "index_head_dim")
            index_topk = _opt(c, "index_topk")
            index_layers = layers
    else:
        head_dim = _opt(c, "head_dim") or hidden // heads
        if head_dim <= 0:
            raise InputError(
                where(src, "missing (hidden_size / num_attention_heads is 0)", key="head_dim")
            )
        v_dim = head_dim

    linear_layers = _linear_layers(c, layers)
    swa_layers = _swa_layers(c, layers, arch if isinstance(arch, list) else [str(arch)])
    hybrid = "mamba" if linear_layers else ("swa" if swa_layers else None)

    params, estimated = weights.estimate(c, attention=attention, dtype=dtype)
    return ModelFacts(
        name=name or c.get("_name_or_path") or None,
        architecture=str(arch[0]) if isinstance(arch, list) and arch else str(arch),
        model_type=c.get("model_type"),
        attention=attention,
        hybrid=hybrid,
        num_layers=layers,
        num_attention_heads=heads,
        num_kv_heads=kv_heads,
        head_dim=head_dim,
        v_head_dim=v_dim,
        kv_lora_rank=kv_lora,
        qk_rope_head_dim=rope,
        index_head_dim=index_dim,
        context_len=context_length(c),
        dtype=dtype,
        weight_bytes=weight_bytes if weight_bytes else estimated,
        source=source,
        hidden_size=hidden,
        intermediate_size=_opt(c, "intermediate_size", "ffn_hidden_size"),
        vocab_size=vocab,
        num_experts=_opt(c, "n_routed_experts", "num_experts", "num_local_experts"),
        num_experts_per_tok=_opt(c, "num_experts_per_tok", "experts_per_token"),
        index_topk=index_topk,
        index_layers=index_layers,
        sliding_window=_opt(c, "sliding_window") if swa_layers else 0,
        num_swa_layers=swa_layers,
        num_linear_layers=linear_layers,
        param_count=params,
        weight_source=weight_source if weight_bytes else "estimate",
        quantization=str(quant_method) if quant_method else None,
    )


def _from_dir(directory: Path, name: str | None) -> ModelFacts:
    cfg_path = directory / "config.json"
    cfg = load_config_json(cfg_path)
    return facts_from_config(
        cfg,
        name=name,
        source=str(cfg_path),
        weight_bytes=catalogue.weight_bytes_from_index(directory),
    )


def load_model(
    model: str | None,
    model_config: str | Path | None = None,
    *,
    hf_home: str | Path | None = None,
) -> ModelFacts:
    """Facts for ``--model`` / ``--model-config`` (see the module docstring for the order)."""
    if model_config is not None:
        path = Path(model_config).expanduser()
        if path.is_dir():
            path = path / "config.json"
        cfg = load_config_json(path)
        return facts_from_config(
            cfg,
            name=model or cfg.get("_name_or_path") or path.parent.name or None,
            source=str(path),
            weight_bytes=catalogue.weight_bytes_from_index(path.parent),
        )
    if not model:
        raise UsageError("no model given: pass --model NAME or --model-config PATH")
    local = Path(model).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise InputError(where(local, "directory has no config.json"))
        return _from_dir(local, model)
    if local.is_file() and local.suffix == ".json":
        return load_model(model=None, model_config=local, hf_home=hf_home)
    snapshot = catalogue.find_in_hf_cache(model, hf_home)
    if snapshot is not None:
        return _from_dir(snapshot, model)
    bundled = catalogue.find_bundled(model)
    if bundled is not None:
        cfg = load_config_json(bundled)
        meta = cfg.get(catalogue.META_KEY) or {}
        return facts_from_config(
            cfg,
            name=meta.get("name") or model,
            source=f"catalogue:{bundled.name}",
            weight_bytes=meta.get("weight_bytes"),
            weight_source="catalogue",
        )
    raise InputError(
        f"unknown model '{model}': not a local directory, not in the Hugging Face cache, "
        "not in the bundled catalogue (no network access); pass --model-config PATH"
    )
