"""Hardware + request + model → :class:`~hicachectl.models.Plan`: GPUs per worker, device pool
and host pool per rank, the host budget shared by every rank on the host, and the resolved
worker and frontend processes.

Arithmetic lives in :mod:`hicachectl.sizing` (host pools: :mod:`hicachectl.plan_host`), ports/env/argv shapes in
:mod:`hicachectl.dynamo.topology`, SGLang's rewrite rules only in the resolver
(:mod:`hicachectl.sglang.resolver`), which checks every worker argv this module emits.
"""

from __future__ import annotations

from typing import Any

from hicachectl import sizing
from hicachectl.dynamo import topology
from hicachectl.errors import InputError, UsageError
from hicachectl.models import (
    Adjustment,
    HardwareSnapshot,
    HostBudget,
    ModelFacts,
    PerRank,
    Plan,
    WorkerPlan,
)
from hicachectl.plan_argv import default_served_name, model_path_of, resolve_role
from hicachectl.plan_host import Sized, host_budget, size_host
from hicachectl.profiles import PlanRequest
from hicachectl.sglang.flags import nearest_sglang_table

# SGLang's host<device warning (§3.2), with its missing spaces.
SMALL_HOST_WARNING = (
    "HiCache kv host pool ({host} tokens) is smaller than the device pool ({device} tokens);"
    "L2 cache effectiveness is reduced.Consider increasing --hicache-ratio (or --hicache-size) "
    "for higher L2 cache hit rate."
)


def build_plan(request: PlanRequest, hardware: HardwareSnapshot, model: ModelFacts) -> Plan:
    """Plan every worker of ``request`` on ``hardware``; raises InfeasibleError (exit 1) when
    it does not fit and InputError (exit 2) when SGLang would refuse the request."""
    from hicachectl import modelspec

    if model.hybrid:
        raise InputError(
            f"{model.name or 'model'}: hybrid {model.hybrid.upper()} models keep extra host pools "
            "that hicachectl does not size yet; plan them by hand"
        )
    if not hardware.gpus:
        # Like a GPU-less probe (plan_inputs): nothing to plan for is bad input, not a plan
        # that does not fit.
        raise InputError(
            f"{hardware.source or hardware.hostname}: gpus: no GPU in the hardware snapshot, "
            "nothing to plan for"
        )
    if request.disaggregated:
        if not (request.prefill_workers and request.decode_workers):
            raise UsageError(
                "prefill_workers and decode_workers go together (at least one of each)"
            )
        if request.workers > 1:
            raise UsageError(
                f"workers = {request.workers} with prefill/decode workers: aggregated replicas and "
                "a disaggregated topology cannot be planned together"
            )
    names = topology.roles(request.workers, request.prefill_workers, request.decode_workers)
    if not names:
        raise InputError("--workers 0: nothing to plan")
    router_mode = request.router_mode or ("kv" if len(names) > 1 else "round-robin")
    per_worker = request.tp * request.pp * request.dp
    slots = topology.layout(
        names,
        [g.index for g in hardware.gpus],
        gpus_per_worker=per_worker,
        dp=request.dp,
        kv_events=router_mode == "kv",
        http_port=request.http_port,
        system_port=request.system_port,
        kv_events_port=request.kv_events_port,
        bootstrap_port=request.bootstrap_port,
    )
    # The dtype SGLang resolves "auto" to (DeepSeek DSA: fp8 on Blackwell), then the host pool's
    # bytes per token and the device cell (DSA: plus the indexer keys on the GPU).
    kv_dtype = modelspec.effective_kv_cache_dtype(
        model, request.kv_cache_dtype, gpu_name=hardware.gpus[0].name
    )
    kv_bpt = modelspec.kv_bytes_per_token(
        model, tp=request.tp, pp=request.pp, kv_cache_dtype=kv_dtype
    )
    cell = int(
        modelspec.device_cell_bytes_per_token(
            model, tp=request.tp, pp=request.pp, kv_cache_dtype=kv_dtype
        )
    )
    weights = modelspec.weight_bytes_per_rank(model, request.tp, request.pp)

    # SGLang's view of each role: settings it would rewrite, or a start-up error (exit 2).
    role_set = sorted({role for _, role in names})
    resolved = {role: resolve_role(request, role, model) for role in role_set}
    page = resolved[role_set[0]].page_size
    idx_bpt = modelspec.indexer_bytes_per_token(model, page_size=page, pp=request.pp)
    adjustments: list[Adjustment] = []
    for role in role_set:
        for adj in resolved[role].adjustments:
            if adj not in adjustments:
                adjustments.append(adj)

    # Device pool per role (default mem-fraction-static depends on the role).
    by_gpu = {g.index: g for g in hardware.gpus}
    notes: list[str] = []
    table, exact = nearest_sglang_table(request.sglang_version)
    if not exact:
        notes.append(
            f"sglang {request.sglang_version}: no flag table of its own; its flags and rules "
            f"are taken from {table}"
        )
    device: dict[str, int] = {}
    mfs_used: dict[str, float] = {}
    served = request.served_model_name or default_served_name(request, model)
    model_path = model_path_of(request, model, served)
    # SGLang reads the GPU class from nvidia-smi, which lists every GPU on the host.
    total = min(g.memory_total_bytes for g in hardware.gpus)
    for slot in slots:
        free = min(by_gpu[i].memory_free_bytes for i in slot.gpus)
        if request.mem_fraction_static is not None:
            mfs = request.mem_fraction_static
        else:
            mfs = sizing.default_mem_fraction_static(
                total,
                tp=request.tp,
                pp=request.pp,
                role=slot.role,
                mla=model.attention != "mha",
                max_running_requests=request.max_running_requests,
                max_total_tokens=request.max_total_tokens,
                model_path=model_path,
                sglang_version=request.sglang_version,
            ).value
        tokens = sizing.device_tokens(
            free_bytes=free,
            mem_fraction_static=mfs,
            weight_bytes_per_rank=weights,
            kv_bytes_per_token=cell,
            page_size=page,
            max_total_tokens=request.max_total_tokens,
            what=slot.name,
        )
        device[slot.name] = tokens
        mfs_used[slot.name] = mfs
    if kv_dtype != request.kv_cache_dtype:
        notes.append(
            f"--kv-cache-dtype {request.kv_cache_dtype}: SGLang resolves it to {kv_dtype} for "
            f"this model on {hardware.gpus[0].name}; sized with {kv_dtype}"
        )
    if request.mem_fraction_static is None:
        by_role = {slot.role: mfs_used[slot.name] for slot in slots}
        shown = ", ".join(f"{role} {v:.3f}" for role, v in by_role.items())
        notes.append(
            f"--mem-fraction-static not given: SGLang {request.sglang_version}'s default "
            f"computed ({shown})"
        )

    budget_info = host_budget(hardware, request.host_memory_fraction)
    sized, pinned = size_host(request, model, slots, device, kv_bpt, idx_bpt, page, budget_info)
    ranks = len(slots) * per_worker
    budget = HostBudget(
        available_bytes=budget_info[0],
        fraction=request.host_memory_fraction,
        budget_bytes=budget_info[1],
        pinned_bytes=pinned,
        ranks_on_host=ranks,
    )

    warnings: list[str] = []
    workers: list[WorkerPlan] = []
    processes = []
    per_worker_warnings: dict[str, list[str]] = {}  # message -> workers it applies to
    for slot in slots:
        s = sized[slot.name]
        ratio = s.host / s.device
        workers.append(
            WorkerPlan(
                name=slot.name,
                role=slot.role,  # type: ignore[arg-type]
                tp=request.tp,
                pp=request.pp,
                dp=request.dp,
                gpus=list(slot.gpus),
                per_rank=PerRank(
                    device_tokens=s.device,
                    host_tokens=s.host,
                    hicache_size_gb=s.size_gb,
                    hicache_ratio=round(ratio, 4),
                    kv_bytes_per_token=kv_bpt,
                    host_bytes=s.host_bytes,
                ),
                ranks=per_worker,
            )
        )
        for message in _worker_warnings(s, ratio, model):
            per_worker_warnings.setdefault(message, []).append(slot.name)
        flags = resolved[slot.role].flags(
            model_path=model_path, served=served, size_gb=s.size_gb, request=request
        )
        processes.append(topology.worker_process(slot, flags, served_model_name=served))
    processes.append(
        topology.frontend_process(
            http_port=request.http_port,
            router_mode=router_mode,
            page_size=page,
            served_model_name=served,
        )
    )
    warnings += [f"{', '.join(names)}: {msg}" for msg, names in per_worker_warnings.items()]
    for role in role_set:  # the emitted argv must be one SGLang starts without rewriting
        proc = next(p for p in processes if p.role == role)
        resolved[role].verify(proc.argv)
    warnings += [w for role in role_set for w in resolved[role].warnings if w not in warnings]
    warnings += _storage_warnings(request, model)
    if request.hicache_size is not None and request.hicache_ratio is not None:
        warnings.append(
            f"both --hicache-size {request.hicache_size} and --hicache-ratio "
            f"{request.hicache_ratio:g} given: SGLang sizes the host pool by the size and "
            "ignores the ratio"
        )
    notes.append(
        f"DYN_FILE_KV={topology.FILE_KV_PLACEHOLDER}: the launcher replaces {{run_dir}} with its "
        "run directory (the sh rendering with $RUN_DIR)"
    )
    return Plan(
        sglang_version=request.sglang_version,
        model=model,
        hardware=hardware,
        page_size=page,
        served_model_name=served,
        model_path=model_path,
        http_port=request.http_port,
        host_budget=budget,
        workers=workers,
        processes=processes,
        adjustments=adjustments,
        warnings=warnings,
        notes=notes,
        extra={
            "request": request.model_dump(by_alias=True),
            "router_mode": router_mode,
            "mem_fraction_static": mfs_used,
            "indexer_bytes_per_token": idx_bpt,
            "device_bytes_per_token": cell,
            "kv_cache_dtype": kv_dtype,
            "weight_bytes_per_rank": weights,
        },
    )


def _worker_warnings(s: Sized, ratio: float, model: ModelFacts) -> list[str]:
    out = []
    if s.hicache and s.host <= s.device:  # SGLang warns unless host > device (§3.2)
        out.append(SMALL_HOST_WARNING.format(host=s.host, device=s.device))
    elif s.hicache and ratio < 2:
        out.append(
            f"host/device ratio {ratio:.2f} < 2: little room in host memory for prefetch beyond "
            "what the GPU already holds"
        )
    if model.context_len and s.device < model.context_len:
        out.append(
            f"the device pool ({s.device:,} tokens per rank) is smaller than the model's context "
            f"length ({model.context_len:,}): one long request cannot fit on the GPU; raise --tp "
            "or use larger GPUs"
        )
    return out


def _storage_warnings(request: PlanRequest, model: ModelFacts) -> list[str]:
    """Backend set-up that fails only when pools are built (sglang-hicache.md §4.2)."""
    backend = request.storage_backend
    extra = request.storage_backend_extra_config or ""
    if backend == "mooncake" and "master_server_address" not in extra:
        return [
            "mooncake: set MOONCAKE_MASTER (or MOONCAKE_CLIENT) in the workers' environment, or "
            "pass master_server_address in --hicache-storage-backend-extra-config; otherwise "
            "SGLang fails when it builds the pool"
        ]
    if backend == "hf3fs" and model.attention != "mha":
        return [
            "hf3fs with an MLA model needs SGLANG_HICACHE_HF3FS_CONFIG_PATH naming a config with "
            "a metadata_server_url; without it SGLang raises 'MLA model is not supported without "
            "global metadata server'"
        ]
    return []


def plan_from_options(
    *, hardware: HardwareSnapshot, model: ModelFacts | None = None, **options: Any
) -> Plan:
    """Convenience for callers with keyword options (``launch``, tests): build the request,
    load the model facts when not given, and plan."""
    request = PlanRequest.model_validate(options)
    if model is None:
        from hicachectl import modelspec

        model = modelspec.load_model(request.model, request.model_config_path)
    return build_plan(request, hardware, model)
