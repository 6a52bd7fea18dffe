"""SGLang's default ``--mem-fraction-static`` on CUDA, as its memory hook computes it when the
flag is not given (``arg_groups/memory_hook.py::handle_gpu_memory_settings`` and
``reserve_for_graph_mb`` in the 0.5.21, 0.5.22 and 0.5.23 wheels; sglang-hicache.md §3.1).

Scope: one engine on NVIDIA GPUs without DP attention, speculative decoding, DeepEP, symmetric
memory or a vision tower, which is everything ``plan`` emits.  Within that scope the value is
exact, not an estimate:

* ``gpu_mem`` is ``nvidia-smi --query-gpu=memory.total`` in whole MiB, the minimum over every
  GPU on the host (nvidia-smi ignores ``CUDA_VISIBLE_DEVICES``).
* chunked prefill size and decode CUDA-graph max batch follow the GPU memory class; 0.5.22 and
  later (not 0.5.21) lower a defaulted decode max batch to ``--max-running-requests``.
* the graph reserve: decode graph ``max_bs × 2`` MiB unless the server only prefills; prefill
  graph (SGLang's "breakable" backend, on by default on CUDA, off on decode servers and with
  ``pp > 1``) 1.5 GiB on MLA models, else 8 MiB per captured token count up to the chunked
  prefill size (capped by ``--max-total-tokens``, and by 4096 for model paths naming llama-2).
* ``reserved = 512 + activation × 1.5 + tp × pp / 8 × 1024 + graph``, at least 10 GiB on GPUs
  over 60 GiB; ``round((gpu_mem − reserved) / gpu_mem, 3)``.
"""

from __future__ import annotations

from typing import NamedTuple

MiB = 1 << 20


def _version(text: str) -> tuple[int, ...]:
    out = []
    for part in text.split(".")[:3]:
        digits = "".join(c for c in part if c.isdigit())
        out.append(int(digits or 0))
    return tuple(out)


def gpu_memory_defaults(gpu_mem_mib: float, tp: int) -> tuple[int, int]:
    """(chunked_prefill_size, decode CUDA-graph max batch size) by GPU memory class (§3.1)."""
    if gpu_mem_mib < 20 * 1024:
        return 2048, 8
    if gpu_mem_mib < 35 * 1024:
        return 4096, 48 if tp < 4 else 160
    if gpu_mem_mib < 60 * 1024:
        return 4096, 32 if tp < 4 else 160
    if gpu_mem_mib < 160 * 1024:  # the <90 GB and <160 GB classes share their defaults
        return 8192, 256 if tp < 4 else 512
    return 16384, 512


def prefill_graph_sizes(max_bs: int) -> list[int]:
    """Token counts SGLang captures prefill graphs for (its ladder, capped at ``max_bs``)."""
    ladder = (
        list(range(4, 33, 4))
        + list(range(48, 257, 16))
        + list(range(288, 513, 32))
        + list(range(576, 1025, 64))
        + list(range(1280, 4097, 256))
        + list(range(4608, max_bs + 1, 512))
    )
    return [s for s in ladder if s <= max_bs]


def reserve_for_graph_mib(
    *,
    role: str,
    decode_max_bs: int,
    prefill_max_bs: int,
    mla: bool,
    pp: int = 1,
) -> float:
    """SGLang's ``reserve_for_graph_mb`` in MiB for a server of this role."""
    mib = 0.0
    if role != "prefill":  # a prefill-only server disables its decode graph
        mib += decode_max_bs * 2
    # The prefill graph is off on decode servers and, by default, under pipeline parallelism.
    if role != "decode" and pp == 1:
        mib += 1.5 * 1024 if mla else len(prefill_graph_sizes(prefill_max_bs)) * 8
    return mib


class MemFraction(NamedTuple):
    value: float
    reserved_mib: float
    chunked_prefill_size: int
    decode_max_bs: int
    computed: bool  # False when the user gave --mem-fraction-static
    gpu_mem_mib: int = 0


def default_mem_fraction_static(
    gpu_total_bytes: int,
    *,
    tp: int = 1,
    pp: int = 1,
    role: str = "worker",
    mla: bool = False,
    chunked_prefill_size: int | None = None,
    max_running_requests: int | None = None,
    cuda_graph_max_bs: int | None = None,
    max_total_tokens: int | None = None,
    model_path: str = "",
    sglang_version: str = "0.5.21",
) -> MemFraction:
    """SGLang's default ``--mem-fraction-static`` for GPUs whose smallest has this total memory.

    ``role`` is ``worker`` (aggregated), ``prefill`` or ``decode``; ``mla`` is SGLang's MLA
    attention arch (DeepSeek V2/V3, DSA).  See the module docstring for the formula.
    """
    gpu_mib = int(gpu_total_bytes // MiB)  # nvidia-smi reports whole MiB
    chunk_default, bs_default = gpu_memory_defaults(gpu_mib, tp)
    chunk = chunked_prefill_size if chunked_prefill_size is not None else chunk_default
    max_bs = cuda_graph_max_bs if cuda_graph_max_bs is not None else bs_default
    if (
        cuda_graph_max_bs is None
        and max_running_requests is not None
        and max_bs > max_running_requests
        and _version(sglang_version) >= (0, 5, 22)
    ):
        max_bs = max_running_requests
    if role == "decode":
        activation = max(max_running_requests or max_bs or 1, 2048)  # one draft token
    elif chunk > 0:
        activation = max(chunk, 2048)
    else:
        activation = max(16384, 2048)  # SGLang's default --max-prefill-tokens
    prefill_max_bs = chunk
    if max_total_tokens is not None:
        prefill_max_bs = min(prefill_max_bs, max_total_tokens)
    if "llama-2" in model_path.lower():
        prefill_max_bs = min(prefill_max_bs, 4096)
    reserved = 512 + activation * 1.5 + tp * pp / 8 * 1024
    reserved += reserve_for_graph_mib(
        role=role, decode_max_bs=max_bs, prefill_max_bs=prefill_max_bs, mla=mla, pp=pp
    )
    if gpu_mib > 60 * 1024:
        reserved = max(reserved, 10 * 1024)
    value = round((gpu_mib - reserved) / gpu_mib, 3)
    return MemFraction(value, reserved, chunk, max_bs, computed=True, gpu_mem_mib=gpu_mib)
