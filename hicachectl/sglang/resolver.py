"""SGLang's start-up resolver, reproduced: parsed argv -> resolved values, rewrites, logs, errors.

Pure and fast (no I/O).  The steps run in the order of SGLang's
``arg_groups/pipeline.py::run_resolution_pipeline`` (``reference/sglang-hicache.md`` §2.1)
and stop at the first error, as ``resolve_once()`` does.  Rules whose outcome depends on the
model or on the GPU generation are decided only when ``model`` / ``gpu_sm`` are given;
otherwise they leave a note in ``Resolution.notes`` instead of guessing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: models.py costs ~30 ms of pydantic start-up
    from hicachectl.models import ModelFacts

import json
import re
from collections.abc import Collection, Mapping
from typing import Any

from hicachectl.sglang import rules_cache_compat as compat
from hicachectl.sglang import rules_hicache as hicache
from hicachectl.sglang import rules_pagesize as pagesize
from hicachectl.sglang import rules_pd as pd
from hicachectl.sglang import rules_unified as unified
from hicachectl.sglang.rules_base import Ctx, Stop
from hicachectl.sglang.types import ParsedCommand, Resolution

# The fields every caller can rely on finding in ``Resolution.resolved``.
HICACHE_FIELDS: tuple[str, ...] = (
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

# Credentials never leave the resolver: plan/lint/resolve print ``resolved``.
SECRET_FIELDS = ("api_key", "admin_api_key", "ssl_keyfile_password")
JSON_CONFIG_FIELDS = (
    "hicache_storage_backend_extra_config",
    "unified_cache_external_linker_config",
)
REDACTED = "<redacted>"
_SECRET_KEY = re.compile(r"secret|password|passwd|token|access_key|api_key|credential", re.I)

PIPELINE = (
    pd.deprecated_dp_attention,  # 0.5.23: first of all
    hicache.ratio_default,  # before the dummy-model return
    pd.handle_pd_disaggregation,
    pagesize.model_overrides,  # handle_model_specific_adjustments
    pagesize.attention_backends,  # attention-backend compatibility + page-size post passes
    hicache.handle_hicache,
    pd.data_parallelism,
    compat.kv_cache_sharding,
    compat.cache_compatibility,
    unified.unified_memory_pool,  # page-major allow-list first, then the pool checks
    compat.dllm,
    compat.other_validations,
    compat.runtime_notes,  # no rule: notes on what only start-up settles
)


def resolve_values(
    values: Mapping[str, Any],
    *,
    explicit: Collection[str],
    sglang_version: str,
    model: ModelFacts | None = None,
    gpu_sm: int | None = None,
) -> Resolution:
    """Resolve an SGLang namespace (dest -> value; missing dests take the table defaults).

    ``gpu_sm`` is the target GPU's compute capability as an int (90 = H100/H200, 100 = B200);
    without it the GPU-generation gates become notes.
    """
    ctx = Ctx(values, explicit, sglang_version, model, gpu_sm)
    errors = []
    try:
        for step in PIPELINE:
            step(ctx)
    except Stop as stop:
        errors.append(stop.error)
    _redact(ctx.v)
    return Resolution(
        sglang_version=sglang_version,
        resolved=ctx.v,
        rewrites=ctx.rewrites,
        errors=errors,
        logs=ctx.logs,
        notes=ctx.notes,
    )


def _redact(values: dict[str, Any]) -> None:
    for f in SECRET_FIELDS:
        if values.get(f) is not None:
            values[f] = REDACTED
    for f in JSON_CONFIG_FIELDS:
        raw = values.get(f)
        if raw is None or not _SECRET_KEY.search(str(raw)):
            continue
        try:
            data = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            values[f] = REDACTED  # unparseable but mentions a credential: keep it out
            continue
        if isinstance(data, dict):
            clean = {k: (REDACTED if _SECRET_KEY.search(str(k)) else v) for k, v in data.items()}
            values[f] = json.dumps(clean) if isinstance(raw, str) else clean


def resolve(
    parsed: ParsedCommand, *, model: ModelFacts | None = None, gpu_sm: int | None = None
) -> Resolution:
    """Resolve what the parser produced.  An argv argparse rejects is not resolved."""
    fatal = parsed.fatal
    if fatal is not None:
        return Resolution(
            sglang_version=parsed.sglang_version,
            resolved=dict(parsed.values),
            notes=[f"not resolved: SGLang's argument parser exits first ({fatal.message})"],
        )
    if parsed.entrypoint in ("dynamo.frontend", "dynamo.mocker"):
        return Resolution(
            sglang_version=parsed.sglang_version,
            resolved=dict(parsed.values),
            notes=[f"not resolved: {parsed.entrypoint} starts no SGLang server"],
        )
    return resolve_values(
        parsed.values,
        explicit=parsed.explicit,
        sglang_version=parsed.sglang_version,
        model=model,
        gpu_sm=gpu_sm,
    )
