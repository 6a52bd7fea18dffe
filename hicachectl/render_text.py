"""The human rendering of a Plan: rich tables for the hardware, the model, the host budget (with
a bar of what is pinned), each worker's per-rank numbers, adjustments and warnings, then the
commands to run.  Only ``--format text`` imports this module (and rich)."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from hicachectl.models import GB, GiB, Plan
from hicachectl.render import command_line

BAR_WIDTH = 40


def _gb(n: int | float | None) -> str:
    return "-" if n is None else f"{n / GB:,.1f} GB"


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", show_edge=False)
    for i, col in enumerate(columns):
        table.add_column(col, justify="left" if i == 0 else "right")
    return table


def _hardware(plan: Plan) -> Table:
    hw = plan.hardware
    t = _table(
        f"Hardware: {hw.hostname}" + (f" ({Path(hw.source).name})" if hw.source else ""), "", ""
    )
    t.show_header = False
    names: dict[str, int] = {}
    for g in hw.gpus:
        names[g.name] = names.get(g.name, 0) + 1
    gpus = ", ".join(f"{n} × {name}" for name, n in names.items()) or "none"
    t.add_row("GPUs", gpus)
    if hw.gpus:
        free = min(g.memory_free_bytes for g in hw.gpus)
        total = min(g.memory_total_bytes for g in hw.gpus)
        t.add_row("GPU memory (min free / total)", f"{free / GiB:.1f} / {total / GiB:.1f} GiB")
    h = hw.host
    t.add_row(
        "DRAM available / total", f"{_gb(h.memory_available_bytes)} / {_gb(h.memory_total_bytes)}"
    )
    if h.cgroup_limit_bytes is not None:
        t.add_row(
            "cgroup limit / usage", f"{_gb(h.cgroup_limit_bytes)} / {_gb(h.cgroup_usage_bytes)}"
        )
    return t


def _model(plan: Plan) -> Table:
    m = plan.model
    t = _table(f"Model: {m.name or plan.model_path}", "", "")
    t.show_header = False
    t.add_row("architecture", f"{m.architecture} ({m.attention.upper()})")
    if m.attention == "mha":
        t.add_row(
            "layers × KV heads × head dim", f"{m.num_layers} × {m.num_kv_heads} × {m.head_dim}"
        )
    else:
        t.add_row(
            "layers × (kv_lora_rank + rope dim)",
            f"{m.num_layers} × ({m.kv_lora_rank} + {m.qk_rope_head_dim})",
        )
    if plan.workers:
        t.add_row("KV bytes per token per rank", f"{plan.workers[0].per_rank.kv_bytes_per_token:,}")
    idx = plan.extra.get("indexer_bytes_per_token")
    if idx:
        t.add_row("DSA indexer bytes per token (host, on top)", f"{idx:,}")
    weights = plan.extra.get("weight_bytes_per_rank")
    if weights:
        t.add_row("weights per rank", f"{weights / GiB:.1f} GiB")
    t.add_row("page size", str(plan.page_size))
    return t


def _budget(plan: Plan) -> Group:
    b = plan.host_budget
    t = _table("Host budget (shared by every rank on this host)", "", "")
    t.show_header = False
    t.add_row("available (min of free DRAM, cgroup headroom)", _gb(b.available_bytes))
    t.add_row("− SGLang reserve", f"{b.reserve_bytes / GiB:.0f} GiB")
    t.add_row("× host memory fraction", f"{b.fraction:g}")
    t.add_row("= budget", _gb(b.budget_bytes))
    t.add_row(f"pinned by {b.ranks_on_host} rank(s)", _gb(b.pinned_bytes))
    share = b.pinned_bytes / b.budget_bytes if b.budget_bytes else 0.0
    filled = min(BAR_WIDTH, round(share * BAR_WIDTH))
    bar = Text("  [")
    bar.append("█" * filled, style="green" if share <= 1 else "red")
    bar.append("░" * (BAR_WIDTH - filled), style="dim")
    bar.append(f"] {share:.0%} of the budget pinned")
    return Group(t, bar)


def _workers(plan: Plan) -> Table:
    t = _table(
        "Workers (numbers per rank)",
        "worker",
        "role",
        "GPUs",
        "device tokens",
        "host tokens",
        "hicache-size",
        "ratio",
        "pinned",
    )
    for w in plan.workers:
        r = w.per_rank
        t.add_row(
            w.name,
            f"{w.role} {w.tp}×{w.pp}×{w.dp}",
            ",".join(map(str, w.gpus)),
            f"{r.device_tokens:,}",
            f"{r.host_tokens:,}",
            f"{r.hicache_size_gb} GB" if r.hicache_size_gb else "-",
            f"{r.hicache_ratio:.2f}",
            _gb(r.host_bytes),
        )
    return t


def render_text(plan: Plan, *, color: bool | None = None, width: int | None = None) -> str:
    buf = io.StringIO()
    console = Console(
        file=buf,
        force_terminal=bool(color),
        no_color=not color,
        width=width or 100,
        highlight=False,
    )
    console.print(_hardware(plan))
    console.print()
    console.print(_model(plan))
    console.print()
    console.print(_budget(plan))
    console.print()
    console.print(_workers(plan))
    if plan.adjustments:
        console.print()
        console.print(Text("Adjustments (set so SGLang has nothing to rewrite)", style="bold"))
        for a in plan.adjustments:
            line = Text(f"  {a.flag} {a.value}", style="bold") + Text(f": {a.reason}")
            console.print(line, soft_wrap=True)
            if a.log:
                console.print(Text(f'    SGLang would log: "{a.log}"', style="dim"), soft_wrap=True)
    if plan.warnings or plan.notes:
        console.print()
        for w in plan.warnings:
            console.print(Text("warning: ", style="yellow bold") + Text(w), soft_wrap=True)
        for n in plan.notes:
            console.print(Text("note: ", style="cyan") + Text(n), soft_wrap=True)
    console.print()
    console.print(Text("Commands", style="bold"))
    out = buf.getvalue()
    lines = [out.rstrip("\n")]
    for proc in plan.processes:
        lines.append(f"# {proc.name}")
        lines.append(command_line(proc, python="python", sep=" \\\n    "))
    return "\n".join(lines) + "\n"
