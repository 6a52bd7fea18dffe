"""HC201, HC202: what SGLang's start-up resolution would do to a command, straight from
:mod:`hicachectl.sglang.resolver` (rewrites with their exact log lines, and errors with
their exact messages)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from hicachectl.lint.rules._util import fmt
from hicachectl.lint.rules.base import Rule
from hicachectl.lint.types import Finding

# Default-filling steps that are not a surprise to anyone (a ratio default, auto-sizing
# switched off by an explicit size, the decode server's own pool): reported only when they
# change a value the user set.
_QUIET_RULES = frozenset({"R0a", "R0b", "R12", "R13", "R14", "R15"})
# The flags that make each resolver rule fire (where a finding points when the rewritten
# field itself was not written by the user).
TRIGGERS: dict[str, tuple[str, ...]] = {
    "R1": ("hicache_write_policy", "hicache_host_memory_mode"),
    "R2": ("disaggregation_decode_host_receive_threshold", "hicache_mem_layout"),
    "R3": ("hicache_mem_layout",),
    "R4": ("hicache_io_backend",),
    "R5": ("hicache_mem_layout", "hicache_storage_backend"),
    "R6": ("enable_unified_memory", "hicache_mem_layout"),
    "R9": ("enable_hierarchical_cache",),
    "R10": ("enable_hierarchical_cache",),
    "R11": ("optimistic_prefill_attempts",),
    "R12": ("disaggregation_mode",),
}
_ATTENTION = ("attention_backend", "decode_attention_backend", "prefill_attention_backend")
_FLAG_RE = re.compile(r"--([a-z][a-z0-9-]+)|\b([a-z]+(?:-[a-z0-9]+){2,})\b")


def mention_span(view, text: str, *dests: str):
    """Span of the first explicit flag among ``dests`` and the flags the text names."""
    cands = list(dests)
    for m in _FLAG_RE.finditer(text or ""):
        cands.append((m.group(1) or m.group(2)).replace("-", "_"))
    for d in cands:
        if view.is_explicit(d):
            return view.span_of(d)
    return view.head_span


def flag_for(view, dest: str, value) -> str | None:
    """The flags that set ``dest`` to ``value`` explicitly (None: not expressible)."""
    name = view.flag_name(dest)
    if value is None:
        return None
    if isinstance(value, bool):
        if value:
            return name
        return f"(remove {name})" if view.is_explicit(dest) else None
    return f"{name} {fmt(value)}"


# Values SGLang's HiCache resolution never reads: an unknown one (parsed with a stand-in,
# see FileContext._past_unknown_values) cannot change a rewrite or a start-up error.
_INERT = frozenset(
    {"port", "host", "nccl_port", "node_rank", "base_gpu_id", "dist_init_addr",
     "disaggregation_bootstrap_port", "served_model_name", "log_level", "dist_timeout",
     "watchdog_timeout", "max_running_requests", "max_queued_requests", "random_seed",
     "api_key", "admin_api_key", "tokenizer_worker_num", "stream_interval"}
)  # fmt: skip


def _resolved(ctx):
    """(view, resolution) of the engines whose command line is known where it matters: a
    hidden flag, or an unknown value the resolution reads, could change what SGLang
    rewrites or rejects."""
    for v in ctx.engines():
        res = v.resolution
        if res is not None and not v.open_ended and v.standins <= _INERT:
            yield v, res


class SilentRewrite(Rule):
    """SGLang would change a HiCache setting at start-up.

    ## What it does
    Runs SGLang's start-up resolution (the rules in `arg_groups/hicache_hook.py` and the
    page-size passes) on the command and reports every value it would change: a layout
    switched for the IO backend, an IO backend switched for the layout, Mooncake's
    `layer_first` replaced, a page size forced by the attention backend.  The message
    quotes SGLang's own log line and gives the flags to write instead.

    ## Why is this bad
    The server runs with settings nobody wrote down.  Benchmarks and capacity plans are
    done for one layout while another runs, and the only trace is a line in the boot log.

    ## Example
    ```bash
    python -m sglang.launch_server --model-path m --enable-hierarchical-cache \\
      --hicache-mem-layout page_first_direct
    ```

    ## Use instead
    ```bash
    python -m sglang.launch_server --model-path m --enable-hierarchical-cache \\
      --hicache-mem-layout page_first_direct --hicache-io-backend direct
    ```
    """

    code = "HC201"
    name = "silent-rewrite"
    severity = "warning"

    def check(self, ctx) -> Iterator[Finding]:
        for v, res in _resolved(ctx):
            for rw in res.rewrites:
                if rw.from_ == rw.to:
                    continue
                if (rw.rule in _QUIET_RULES or rw.message is None) and not v.is_explicit(rw.field):
                    continue
                name = v.flag_name(rw.field)
                msg = (
                    f"SGLang {res.sglang_version} rewrites {name} "
                    f"{fmt(rw.from_) if rw.from_ is not None else '(unset)'} -> {fmt(rw.to)} "
                    f"at start-up"
                )
                if rw.message:
                    msg += f": {rw.level or 'WARNING'} {rw.message}"
                fix = flag_for(v, rw.field, rw.to)
                if fix:
                    msg += f"; write {fix}"
                why = TRIGGERS.get(rw.rule, _ATTENTION if rw.field == "page_size" else ())
                span = mention_span(v, rw.message or "", rw.field, *why)
                yield self.finding(ctx, span, msg, fix=fix)


class StartupError(Rule):
    """SGLang would refuse to start with this combination of flags.

    ## What it does
    Runs SGLang's start-up resolution on the command and reports the exception it would
    raise, with SGLang's exact message: HiCache with the radix cache disabled (including
    a decode server without `--disaggregation-decode-enable-radix-cache`), `buffer_only`
    without a storage backend, decode offload without a backend, HiCache with LMCache, ...

    ## Why is this bad
    The process exits during start-up, often minutes into a multi-GPU launch after the
    weights were downloaded.

    ## Example
    ```bash
    python -m sglang.launch_server --model-path m --disaggregation-mode decode \\
      --enable-hierarchical-cache
    ```

    ## Use instead
    ```bash
    python -m sglang.launch_server --model-path m --disaggregation-mode decode \\
      --enable-hierarchical-cache --disaggregation-decode-enable-radix-cache
    ```
    """

    code = "HC202"
    name = "startup-error"
    severity = "error"

    def check(self, ctx) -> Iterator[Finding]:
        for v, res in _resolved(ctx):
            for err in res.errors[:1]:  # SGLang stops at the first
                yield self.finding(
                    ctx,
                    mention_span(v, err.message),
                    f"SGLang {res.sglang_version} fails at start-up: "
                    f"{err.error_type}: {err.message}",
                )
