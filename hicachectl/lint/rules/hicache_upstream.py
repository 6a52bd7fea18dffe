"""HC304, HC306, HC310: HiCache settings that SGLang accepts but that crash or crawl in
serving (open upstream issues)."""

from __future__ import annotations

from collections.abc import Iterator

from hicachectl.lint.rules.base import Rule
from hicachectl.lint.rules.hicache_flags import host_pool_path
from hicachectl.lint.types import Finding


class WriteBackPolicy(Rule):
    """`--hicache-write-policy write_back` crashes under load upstream.

    ## What it does
    Finds HiCache servers that use the `write_back` write policy.

    ## Why is this bad
    SGLang issue #19212: under load, host eviction fails with `AssertionError: parent
    does not have child key` and the scheduler dies (also with Mamba models, #23429).
    `write_through` is the default and the policy the production recipes use.

    ## Example
    ```bash
    python -m sglang.launch_server --model-path m --enable-hierarchical-cache \\
      --hicache-write-policy write_back
    ```

    ## Use instead
    ```bash
    python -m sglang.launch_server --model-path m --enable-hierarchical-cache \\
      --hicache-write-policy write_through
    ```
    """

    code = "HC304"
    name = "write-back-policy"
    severity = "warning"

    def check(self, ctx) -> Iterator[Finding]:
        for v in ctx.engines():
            if (
                host_pool_path(v)
                and v.is_explicit("hicache_write_policy")
                and v.known("hicache_write_policy")
                and v.value("hicache_write_policy") == "write_back"
                # buffer_only turns write_back into write_through on 0.5.23 (HC201 says so)
                and v.resolved("hicache_write_policy") == "write_back"
            ):
                yield self.finding(
                    ctx,
                    v.span_of("hicache_write_policy"),
                    "--hicache-write-policy write_back crashes under load upstream (SGLang "
                    "#19212: 'parent does not have child key' in host eviction); use write_through",
                    fix="--hicache-write-policy write_through",
                )


class FileStorageBackend(Rule):
    """The `file` storage backend is for development only.

    ## What it does
    Finds `--hicache-storage-backend file`.

    ## Why is this bad
    The `file` backend writes one file per page on the local disk; its prefetch path is
    the bottleneck even when all data sits in the page cache (SGLang issue #21880).  It
    is meant for tests and smoke runs, not for serving.

    ## Example
    ```bash
    python -m sglang.launch_server --model-path m --enable-hierarchical-cache \\
      --hicache-storage-backend file
    ```

    ## Use instead
    ```bash
    python -m sglang.launch_server --model-path m --enable-hierarchical-cache \\
      --hicache-storage-backend mooncake \\
      --hicache-storage-backend-extra-config '{"master_server_address": "mc:50051"}'
    ```
    """

    code = "HC306"
    name = "file-storage-backend"
    severity = "warning"

    def check(self, ctx) -> Iterator[Finding]:
        for v in ctx.engines():
            if v.value("hicache_storage_backend") == "file" and v.known("hicache_storage_backend"):
                yield self.finding(
                    ctx,
                    v.span_of("hicache_storage_backend"),
                    "--hicache-storage-backend file is for development: its prefetch path is "
                    "the bottleneck in serving (SGLang #21880)",
                )


class PipelineParallelHicache(Rule):
    """`--pp-size > 1` together with HiCache crashes upstream.

    ## What it does
    Finds HiCache servers with pipeline parallelism.

    ## Why is this bad
    SGLang issue #22607: per-rank schedulers pick different eviction victims under
    `--pp-size > 1`, the host radix trees diverge and the server crashes with a shape
    mismatch (with an L3 backend in particular).

    ## Example
    ```bash
    python -m sglang.launch_server --model-path m --pp-size 2 --enable-hierarchical-cache
    ```

    ## Use instead
    ```bash
    python -m sglang.launch_server --model-path m --tp-size 2 --enable-hierarchical-cache
    ```
    """

    code = "HC310"
    name = "pipeline-parallel-hicache"
    severity = "warning"

    def check(self, ctx) -> Iterator[Finding]:
        for v in ctx.engines():
            pp = v.int_value("pp_size")
            if v.hicache and pp is not None and pp > 1:
                yield self.finding(
                    ctx,
                    v.span_of("pp_size"),
                    f"--pp-size {pp} with HiCache: host radix trees diverge across pipeline "
                    "ranks and the server crashes (SGLang #22607); use --pp-size 1",
                    fix="--pp-size 1",
                )
