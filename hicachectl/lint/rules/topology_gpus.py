"""HC512: an engine needs more GPUs than the place it runs on makes visible."""

from __future__ import annotations

import re
from collections.abc import Iterator

from hicachectl.lint.rules.base import Rule
from hicachectl.lint.types import Finding


def visible_gpus(v, ctx) -> tuple[int, str] | None:
    """(GPUs the process can see, where that number comes from), or None when unknown."""
    cvd = v.cmd.env.get("CUDA_VISIBLE_DEVICES")
    if cvd is not None:
        if "$" in cvd or not re.fullmatch(r"[\w\-,: ]*", cvd):
            return None
        ids = [x for x in cvd.split(",") if x.strip()]
        return len(ids), f"CUDA_VISIBLE_DEVICES={cvd}"
    gpus = v.cmd.context.get("gpus")
    if isinstance(gpus, int) and gpus > 0:
        return gpus, f"the container's GPU limit ({gpus})"
    if ctx.host.gpu_count:
        n = ctx.host.gpu_count
        return n, f"the host has {n} GPU{'s' if n > 1 else ''}: {ctx.host.source}"
    return None


class NotEnoughGpus(Rule):
    """An engine needs more GPUs than are visible to it.

    ## What it does
    Compares the GPUs one node of an SGLang engine needs (`--base-gpu-id` + tp × pp × dp
    ranks, divided by `--nnodes`) with the GPUs it can see: its `CUDA_VISIBLE_DEVICES`, the
    Kubernetes GPU limit of its container, or the hardware snapshot (`--hardware`).

    ## Why is this bad
    The scheduler processes for the missing ranks fail at CUDA initialisation (`invalid
    device ordinal`) and the server never starts.

    ## Example
    ```bash
    CUDA_VISIBLE_DEVICES=0,1 python -m sglang.launch_server --model-path m --tp-size 4
    ```

    ## Use instead
    ```bash
    CUDA_VISIBLE_DEVICES=0,1,2,3 python -m sglang.launch_server --model-path m --tp-size 4
    ```
    """

    code = "HC512"
    name = "not-enough-gpus"
    severity = "error"

    def check(self, ctx) -> Iterator[Finding]:
        for v in ctx.engines():
            need = v.ranks_per_host
            vis = visible_gpus(v, ctx)
            if need is None or vis is None:
                continue
            base = v.int_value("base_gpu_id") or 0
            have, where = vis
            if base + need > have:
                parts = (
                    " × ".join(
                        f"{v.flag_name(d)} {v.int_value(d)}"
                        for d in ("tp_size", "pp_size", "dp_size")
                        if (v.int_value(d) or 1) > 1
                    )
                    or "1 rank"
                )
                start = f" from GPU {base}" if base else ""
                dests = [d for d in ("tp_size", "pp_size", "dp_size") if v.is_explicit(d)]
                yield self.finding(
                    ctx,
                    v.span_of(dests[0]) if dests else v.head_span,
                    f"{parts} = {need} GPU{'s' if need > 1 else ''} per node{start}, but only "
                    f"{have} {'is' if have == 1 else 'are'} visible ({where})",
                )
