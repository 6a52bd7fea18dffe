"""Parameter count and weight bytes estimated from a Hugging Face config.

Used only when no ``model.safetensors.index.json`` is at hand.  The formula counts what
SGLang loads for serving (no MTP / next-n draft layers, which load only with speculative
decoding):

* embeddings ``vocab × hidden``, plus an ``lm_head`` of the same size unless
  ``tie_word_embeddings``; one final norm ``hidden``;
* per layer: two norms ``2 × hidden``; attention
  - MHA/GQA: ``hidden × heads × head_dim`` (q) + ``2 × hidden × kv_heads × head_dim`` (k, v)
    + ``heads × head_dim × hidden`` (o), biases when ``attention_bias``, q/k norms for Qwen3;
  - MLA: q through ``q_lora_rank`` when set, ``kv_a = hidden × (kv_lora_rank + rope)``,
    ``kv_b = kv_lora_rank × heads × (nope + v_head_dim)``, ``o = heads × v_head_dim × hidden``;
    DSA adds the indexer projections;
* MLP: gated, ``3 × hidden × intermediate``; MoE layers have ``experts × 3 × hidden ×
  moe_intermediate`` plus shared experts and the router ``experts × hidden``.  Which layers are
  MoE follows ``first_k_dense_replace``/``moe_layer_freq`` (DeepSeek), ``mlp_only_layers``/
  ``decoder_sparse_step`` (Qwen MoE), else every layer.

Bytes: linear weights at the checkpoint's quantised width (``fp8`` 1 byte plus one fp32
scale per 128×128 block; ``mxfp4`` experts 4.25 bits; ``awq``/``gptq`` ``bits/8``), every
other tensor at the model dtype.
"""

from __future__ import annotations

from typing import Any

DTYPE_BYTES = {"float32": 4, "float": 4, "float16": 2, "half": 2, "bfloat16": 2, "fp8": 1}


def _int(c: dict[str, Any], *keys: str, default: int = 0) -> int:
    for k in keys:
        v = c.get(k)
        if isinstance(v, bool):
            continue
        if isinstance(v, (int, float)):
            return int(v)
    return default


def moe_layer_mask(c: dict[str, Any], layers: int, experts: int) -> list[bool]:
    """Which layers carry routed experts."""
    if experts <= 0:
        return [False] * layers
    if "first_k_dense_replace" in c or "moe_layer_freq" in c:
        first = _int(c, "first_k_dense_replace")
        freq = max(1, _int(c, "moe_layer_freq", default=1))
        return [i >= first and i % freq == 0 for i in range(layers)]
    if "decoder_sparse_step" in c or "mlp_only_layers" in c:
        step = max(1, _int(c, "decoder_sparse_step", default=1))
        dense = set(c.get("mlp_only_layers") or [])
        return [i not in dense and (i + 1) % step == 0 for i in range(layers)]
    return [True] * layers


def estimate(c: dict[str, Any], *, attention: str, dtype: str) -> tuple[int, int]:
    """``(param_count, weight_bytes)`` for a flattened config dict (see module docstring)."""
    hidden = _int(c, "hidden_size", "n_embd", "d_model")
    vocab = _int(c, "vocab_size")
    layers = _int(c, "num_hidden_layers", "n_layer", "num_layers")
    heads = _int(c, "num_attention_heads", "n_head")
    kv_heads = _int(c, "num_key_value_heads", "n_head_kv", default=heads)
    head_dim = _int(c, "head_dim", default=hidden // max(heads, 1))
    inter = _int(c, "intermediate_size", "ffn_hidden_size")
    experts = _int(c, "n_routed_experts", "num_experts", "num_local_experts")
    moe_inter = _int(c, "moe_intermediate_size", default=inter)
    model_type = str(c.get("model_type") or "")

    if attention in ("mla", "dsa"):
        nope, rope = _int(c, "qk_nope_head_dim"), _int(c, "qk_rope_head_dim")
        v_dim, kv_lora = _int(c, "v_head_dim", default=nope), _int(c, "kv_lora_rank")
        q_lora = _int(c, "q_lora_rank")
        q = hidden * heads * (nope + rope)
        if q_lora:
            q = hidden * q_lora + q_lora + q_lora * heads * (nope + rope)
        attn = q + hidden * (kv_lora + rope) + kv_lora + kv_lora * heads * (nope + v_dim)
        attn += heads * v_dim * hidden
        if attention == "dsa":
            idim, iheads = _int(c, "index_head_dim", default=128), _int(c, "index_n_heads")
            attn += (q_lora or hidden) * iheads * idim + hidden * idim + 2 * idim + hidden * iheads
    else:
        attn = hidden * heads * head_dim + 2 * hidden * kv_heads * head_dim
        attn += heads * head_dim * hidden
        if c.get("attention_bias") or c.get("qkv_bias"):
            attn += (heads + 2 * kv_heads) * head_dim
        if model_type.startswith("qwen3"):
            attn += 2 * head_dim  # q_norm / k_norm

    shared = _int(c, "n_shared_experts") * 3 * hidden * moe_inter
    shared_inter = _int(c, "shared_expert_intermediate_size")
    if shared_inter:
        shared += 3 * hidden * shared_inter + hidden  # + shared_expert_gate
    expert_params = experts * 3 * hidden * moe_inter
    if model_type == "gpt_oss":
        expert_params += experts * (2 * moe_inter + hidden)  # per-expert biases

    mask = moe_layer_mask(c, layers, experts)
    n_moe = sum(mask)
    dense_mlp = 3 * hidden * inter
    per_layer_other = 2 * hidden
    linear = layers * attn + (layers - n_moe) * dense_mlp + n_moe * shared
    experts_total = n_moe * expert_params
    router = n_moe * experts * hidden
    embed = vocab * hidden * (1 if c.get("tie_word_embeddings") else 2)
    other = embed + layers * per_layer_other + hidden + router
    params = linear + experts_total + other

    wbytes = DTYPE_BYTES.get(dtype, 2)
    quant = c.get("quantization_config") or {}
    method = str(quant.get("quant_method") or "").lower() if isinstance(quant, dict) else ""
    if method == "fp8":
        block = quant.get("weight_block_size") or [128, 128]
        per_scale = max(1, int(block[0]) * int(block[-1])) if isinstance(block, list) else 16384
        q_bytes = (linear + experts_total) * (1 + 4 / per_scale)
        total = q_bytes + other * wbytes
    elif method == "mxfp4":
        total = experts_total * 4.25 / 8 + (linear + other) * wbytes
    elif method in ("awq", "gptq", "compressed-tensors") and _int(quant, "bits"):
        total = (linear + experts_total) * _int(quant, "bits") / 8 + other * wbytes
    else:
        total = params * wbytes
    return int(params), int(total)
