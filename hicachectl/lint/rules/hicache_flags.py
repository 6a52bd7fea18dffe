"""HC301-HC306, HC310: HiCache flag combinations that do nothing, conflict, or are known to
crash or to be slow upstream."""

from __future__ import annotations

from collections.abc import Iterator

from hicachectl.lint.rules._util import fmt, may_hide_flags
from hicachectl.lint.rules.base import Rule
from hicachectl.lint.types import Finding

STORAGE_ONLY = (
    "hicache_storage_prefetch_policy",
    "hicache_storage_backend_extra_config",
    "hicache_storage_prefetch_retry_poll_interval",
    "hicache_storage_prefetch_retry_max_attempts",
)


def host_pool_path(v) -> bool:
    """True when SGLang enters its HiCache handling (so --hicache-* flags matter)."""
    if v.hicache or v.value("disaggregation_decode_enable_offload_kvcache", False):
        return True
    return v.value("disaggregation_mode") == "decode" and v.value(
        "disaggregation_decode_retraction_backup"
    ) in (None, "host_pool")


def shown(v, dest: str) -> str:
    return f"{v.flag_name(dest)} {fmt(v.value(dest))}"


class HicacheFlagsWithoutHicache(Rule):
    """`--hicache-*` flags on a server that has HiCache off.

    ## What it does
    Finds `--hicache-*` flags in a command without `--enable-hierarchical-cache` and
    without a decode-side host pool (`--disaggregation-decode-enable-offload-kvcache`, or a
    decode server whose retraction backup is the host pool).

    ## Why is this bad
    The flags have no effect: the server runs without a host tier while the command reads
    as if it had one.  Usually `--enable-hierarchical-cache` was lost in an edit.

    ## Example
    ```bash
    python -m dynamo.sglang --model-path m --hicache-ratio 2 --hicache-storage-backend nixl
    ```

    ## Use instead
    ```bash
    python -m dynamo.sglang --model-path m --enable-hierarchical-cache --hicache-ratio 2 \\
      --hicache-storage-backend nixl
    ```
    """

    code = "HC301"
    name = "hicache-flags-without-hicache"
    severity = "warning"

    def check(self, ctx) -> Iterator[Finding]:
        for v in ctx.engines():
            if host_pool_path(v) or may_hide_flags(v):
                continue
            if any("hicache" in t or "hierarchical" in t for _, t in v.unrecognized()):
                continue  # HiCache was asked for with a flag this version lacks (HC104)
            dests = sorted(
                (d for d in v.parsed.explicit if d.startswith("hicache_")),
                key=lambda d: v.parsed.explicit[d],
            )
            if not dests:
                continue
            flags = ", ".join(shown(v, d) for d in dests)
            yield self.finding(
                ctx,
                v.span_of(dests[0]),
                f"{flags}: no effect, HiCache is off (no --enable-hierarchical-cache)",
                fix="--enable-hierarchical-cache",
            )


class HicacheSizeAndRatio(Rule):
    """Both `--hicache-size` and `--hicache-ratio` are given; the size wins.

    ## What it does
    Finds commands that set a positive `--hicache-size` together with `--hicache-ratio`.

    ## Why is this bad
    SGLang sizes the host pool from `--hicache-size` (GB per rank) and ignores the ratio.
    Whoever tunes the ratio later changes nothing.

    ## Example
    ```bash
    python -m sglang.launch_server --model-path m --enable-hierarchical-cache \\
      --hicache-ratio 2 --hicache-size 100
    ```

    ## Use instead
    ```bash
    python -m sglang.launch_server --model-path m --enable-hierarchical-cache --hicache-size 100
    ```
    """

    code = "HC302"
    name = "hicache-size-and-ratio"
    severity = "warning"

    def check(self, ctx) -> Iterator[Finding]:
        for v in ctx.engines():
            size = v.int_value("hicache_size")
            if not (v.is_explicit("hicache_ratio") and v.is_explicit("hicache_size")):
                continue
            if size is None or size <= 0 or not v.known("hicache_ratio"):
                continue
            yield self.finding(
                ctx,
                v.span_of("hicache_ratio"),
                f"{shown(v, 'hicache_ratio')} is ignored: --hicache-size {size} (GB per rank) "
                "sizes the host pool",
                fix=f"--hicache-size {size}",
            )


class HicacheRatioTooLow(Rule):
    """`--hicache-ratio` ≤ 1: the host pool is no larger than the GPU pool.

    ## What it does
    Finds an explicit `--hicache-ratio` of 1 or less on a HiCache server.

    ## Why is this bad
    The host tier must hold more than the GPU pool to add capacity.  SGLang 0.5.15 and
    later only warn ("L2 cache effectiveness is reduced"); earlier releases refused to
    start.  Lower the ratio only on a decode server, where a small host pool is a
    retraction backup.

    ## Example
    ```bash
    python -m dynamo.sglang --model-path m --enable-hierarchical-cache --hicache-ratio 1
    ```

    ## Use instead
    ```bash
    python -m dynamo.sglang --model-path m --enable-hierarchical-cache --hicache-ratio 2
    ```
    """

    code = "HC303"
    name = "hicache-ratio-too-low"
    severity = "warning"

    def check(self, ctx) -> Iterator[Finding]:
        for v in ctx.engines():
            if not v.hicache or not v.is_explicit("hicache_ratio") or not v.known("hicache_ratio"):
                continue
            size = v.int_value("hicache_size")
            if size:
                continue  # the size wins; HC302 reports the ratio
            try:
                ratio = float(v.value("hicache_ratio"))
            except (TypeError, ValueError):
                continue
            if ratio <= 1:
                yield self.finding(
                    ctx,
                    v.span_of("hicache_ratio"),
                    f"--hicache-ratio {fmt(ratio)} <= 1: the host pool is no larger than the "
                    "GPU pool, so HiCache adds no capacity (SGLang warns: L2 cache "
                    "effectiveness is reduced)",
                    fix="--hicache-ratio 2",
                )


class StorageOptionWithoutBackend(Rule):
    """A storage (L3) option without `--hicache-storage-backend`.

    ## What it does
    Finds `--hicache-storage-prefetch-policy`, `--hicache-storage-backend-extra-config`
    or the prefetch-retry flags in a command that sets no storage backend.

    ## Why is this bad
    Those options only configure the L3 backend; without one they do nothing, which
    usually means the backend flag was lost or is set somewhere the reader cannot see.

    ## Example
    ```bash
    python -m sglang.launch_server --model-path m --enable-hierarchical-cache \\
      --hicache-storage-prefetch-policy wait_complete
    ```

    ## Use instead
    ```bash
    python -m sglang.launch_server --model-path m --enable-hierarchical-cache \\
      --hicache-storage-backend mooncake --hicache-storage-prefetch-policy wait_complete
    ```
    """

    code = "HC305"
    name = "storage-option-without-backend"
    severity = "warning"

    def check(self, ctx) -> Iterator[Finding]:
        for v in ctx.engines():
            if not host_pool_path(v) or v.value("hicache_storage_backend") or may_hide_flags(v):
                continue
            dests = [d for d in STORAGE_ONLY if v.is_explicit(d)]
            if dests:
                yield self.finding(
                    ctx,
                    v.span_of(dests[0]),
                    ", ".join(v.flag_name(d) for d in dests)
                    + ": no effect without --hicache-storage-backend",
                )
