"""A tiny model directory the Dynamo mocker can serve: config.json + tokenizer files, no weights.

The mocker needs only a tokenizer and a ``config.json`` (dynamo.md §5).  Its simulated engine
emits random token ids in roughly the 1000–2000 range, so the vocabulary must be larger than
that or replies decode to nothing; we write a 32,000-word ``WordLevel`` vocabulary.  The
``tokenizer.json`` is written as plain JSON (the ``tokenizers`` serialisation format), so no
tokenizer library is needed at run time; the tests check that ``tokenizers`` loads it.
"""

from __future__ import annotations

import json
from pathlib import Path

VOCAB_SIZE = 32000
SPECIAL = ["<unk>", "<s>", "</s>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)


def _config(vocab_size: int) -> dict:
    # Llama-shaped so that anything reading the config (the frontend's model card) sees a
    # familiar architecture; the numbers are small because nothing is ever allocated.
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": vocab_size,
        "hidden_size": 256,
        "intermediate_size": 512,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 64,
        "max_position_embeddings": 4096,
        "rms_norm_eps": 1e-5,
        "torch_dtype": "bfloat16",
        "bos_token_id": 1,
        "eos_token_id": 2,
    }


def _tokenizer(vocab_size: int) -> dict:
    vocab = {tok: i for i, tok in enumerate(SPECIAL)}
    for i in range(len(SPECIAL), vocab_size):
        vocab[f"w{i}"] = i
    added = [
        {
            "id": i,
            "content": tok,
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": True,
        }
        for i, tok in enumerate(SPECIAL)
    ]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": None,
        "decoder": None,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "<unk>"},
    }


def write_rehearsal_model(directory: Path, *, vocab_size: int = VOCAB_SIZE) -> Path:
    """Write config.json, tokenizer.json and tokenizer_config.json into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(_config(vocab_size), indent=1))
    (directory / "tokenizer.json").write_text(json.dumps(_tokenizer(vocab_size)))
    tok_cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "model_max_length": 4096,
        "chat_template": CHAT_TEMPLATE,
    }
    (directory / "tokenizer_config.json").write_text(json.dumps(tok_cfg, indent=1))
    return directory


def is_servable_dir(path: str | Path) -> bool:
    """True when ``path`` is a local directory the mocker can load without the hub."""
    p = Path(path)
    return p.is_dir() and (p / "config.json").is_file() and (p / "tokenizer.json").is_file()
