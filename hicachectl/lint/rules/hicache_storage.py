"""HC307-HC309: storage-backend configuration that fails when the cache is built (after
model load, so SGLang's resolution does not catch it)."""

from __future__ import annotations

from collections.abc import Iterator

from hicachectl.lint.rules._util import json_config
from hicachectl.lint.rules.base import Rule
from hicachectl.lint.types import Finding

EXTRA = "hicache_storage_backend_extra_config"
MOONCAKE_ENV = ("MOONCAKE_MASTER", "MOONCAKE_CLIENT", "SGLANG_HICACHE_MOONCAKE_CONFIG_PATH")
DYNAMIC_KEYS = ("backend_name", "module_path", "class_name")


class MooncakeWithoutMaster(Rule):
    """Mooncake storage with no master address anywhere.

    ## What it does
    Finds `--hicache-storage-backend mooncake` when the extra config has neither
    `master_server_address` nor `client_server_address`, and neither `MOONCAKE_MASTER`,
    `MOONCAKE_CLIENT` nor `SGLANG_HICACHE_MOONCAKE_CONFIG_PATH` is set in the command's
    environment or elsewhere in the same script or manifest.  An `@file` extra config or
    an unresolved variable is trusted.

    ## Why is this bad
    SGLang fails after the model has loaded, when the cache is built: `ValueError: Either
    the environment variable 'MOONCAKE_MASTER' or 'MOONCAKE_CLIENT' is not set.`

    ## Example
    ```bash
    python -m sglang.launch_server --model-path m --enable-hierarchical-cache \\
      --hicache-storage-backend mooncake
    ```

    ## Use instead
    ```bash
    MOONCAKE_MASTER=10.0.0.5:50051 python -m sglang.launch_server --model-path m \\
      --enable-hierarchical-cache --hicache-storage-backend mooncake
    ```
    """

    code = "HC307"
    name = "mooncake-without-master"
    severity = "error"

    def check(self, ctx) -> Iterator[Finding]:
        for v in ctx.engines():
            if v.value("hicache_storage_backend") != "mooncake" or not v.hicache or v.open_ended:
                continue
            state, cfg = json_config(v, EXTRA)
            if state in ("file", "unknown", "invalid"):
                continue
            if isinstance(cfg, dict) and (
                cfg.get("master_server_address") or cfg.get("client_server_address")
            ):
                continue
            if any(v.env_get(name) is not None for name in MOONCAKE_ENV):
                continue
            yield self.finding(
                ctx,
                v.span_of("hicache_storage_backend"),
                "Mooncake has no master address: no master_server_address in "
                "--hicache-storage-backend-extra-config and no MOONCAKE_MASTER in the "
                "environment; SGLang fails when the cache is built: ValueError: Either the "
                "environment variable 'MOONCAKE_MASTER' or 'MOONCAKE_CLIENT' is not set.",
            )


class DynamicBackendIncomplete(Rule):
    """`dynamic` storage backend without `backend_name`, `module_path` or `class_name`.

    ## What it does
    Finds `--hicache-storage-backend dynamic` whose inline JSON extra config lacks one of
    the three keys SGLang needs to import the backend class.

    ## Why is this bad
    SGLang fails when the cache is built: `ValueError: Missing required field
    '<field>' in backend config for 'dynamic' backend`.

    ## Example
    ```bash
    python -m sglang.launch_server --model-path m --enable-hierarchical-cache \\
      --hicache-storage-backend dynamic \\
      --hicache-storage-backend-extra-config '{"backend_name": "mine"}'
    ```

    ## Use instead
    ```bash
    python -m sglang.launch_server --model-path m --enable-hierarchical-cache \\
      --hicache-storage-backend dynamic \\
      --hicache-storage-backend-extra-config \\
      '{"backend_name": "mine", "module_path": "my_pkg.store", "class_name": "MyStore"}'
    ```
    """

    code = "HC308"
    name = "dynamic-backend-incomplete"
    severity = "error"

    def check(self, ctx) -> Iterator[Finding]:
        for v in ctx.engines():
            if v.value("hicache_storage_backend") != "dynamic" or not v.hicache or v.open_ended:
                continue
            state, cfg = json_config(v, EXTRA)
            if state not in ("absent", "ok"):
                continue
            cfg = cfg if isinstance(cfg, dict) else {}
            missing = [k for k in DYNAMIC_KEYS if k not in cfg]
            if missing:
                span = (
                    v.span_of(EXTRA)
                    if v.is_explicit(EXTRA)
                    else v.span_of("hicache_storage_backend")
                )
                yield self.finding(
                    ctx,
                    span,
                    f"dynamic backend config lacks {', '.join(missing)}; SGLang fails when the "
                    f"cache is built: ValueError: Missing required field '{missing[0]}' in "
                    "backend config for 'dynamic' backend",
                )


class InvalidJsonConfig(Rule):
    """A JSON-valued flag whose value is not valid JSON.

    ## What it does
    Parses `--hicache-storage-backend-extra-config` and `--kv-events-config` the way SGLang
    does (`json.loads`; an `@file` extra config is not read) and reports parse errors.

    ## Why is this bad
    The extra config is parsed only when the cache is built, after model load, so the
    server fails late; a broken `--kv-events-config` stops the scheduler and silently
    disables Dynamo's KV-aware routing for this worker.  Shell quoting is the usual
    culprit: single quotes inside a double-quoted YAML string, or unquoted keys.

    ## Example
    ```bash
    python -m sglang.launch_server --model-path m --enable-hierarchical-cache \\
      --hicache-storage-backend mooncake \\
      --hicache-storage-backend-extra-config "{master_server_address: mc:50051}"
    ```

    ## Use instead
    ```bash
    python -m sglang.launch_server --model-path m --enable-hierarchical-cache \\
      --hicache-storage-backend mooncake \\
      --hicache-storage-backend-extra-config '{"master_server_address": "mc:50051"}'
    ```
    """

    code = "HC309"
    name = "invalid-json-config"
    severity = "error"

    def check(self, ctx) -> Iterator[Finding]:
        for v in ctx.engines():
            for dest in (EXTRA, "kv_events_config"):
                if not v.is_explicit(dest):
                    continue
                state, err = json_config(v, dest)
                if state == "invalid":
                    yield self.finding(
                        ctx, v.span_of(dest), f"{v.flag_name(dest)} is not valid JSON: {err}"
                    )


class Hf3fsMlaWithoutMetadataServer(Rule):
    """HF3FS storage for an MLA model without a global metadata server.

    ## What it does
    Finds `--hicache-storage-backend hf3fs` for a model the bundled catalogue knows to use
    MLA (DeepSeek-V3/R1 family), when `SGLANG_HICACHE_HF3FS_CONFIG_PATH` is not set in the
    command's environment or the same script or manifest.

    ## Why is this bad
    Without that config SGLang falls back to a single-machine layout
    (`/data/hicache.{rank}.bin`), and MLA models refuse it when the cache is built: `MLA
    model is not supported without global metadata server`.  The failure comes after the
    weights have loaded.

    ## Example
    ```bash
    python3 -m sglang.launch_server --model-path deepseek-ai/DeepSeek-R1 --tp-size 8 \\
      --enable-hierarchical-cache --hicache-storage-backend hf3fs
    ```

    ## Use instead
    ```bash
    SGLANG_HICACHE_HF3FS_CONFIG_PATH=/etc/sglang/hf3fs.json \\
    python3 -m sglang.launch_server --model-path deepseek-ai/DeepSeek-R1 --tp-size 8 \\
      --enable-hierarchical-cache --hicache-storage-backend hf3fs
    ```
    """

    code = "HC312"
    name = "hf3fs-mla-without-metadata-server"
    severity = "error"

    def check(self, ctx) -> Iterator[Finding]:
        from hicachectl.lint.rules.hicache_flags import host_pool_path

        for v in ctx.engines():
            if v.value("hicache_storage_backend") != "hf3fs" or not host_pool_path(v):
                continue
            model = v.model
            if model is None or model.attention not in ("mla", "dsa"):
                continue
            if v.env_get("SGLANG_HICACHE_HF3FS_CONFIG_PATH") is not None:
                continue
            yield self.finding(
                ctx,
                v.span_of("hicache_storage_backend"),
                f"hf3fs with {model.name or 'an MLA model'} (MLA) and no "
                "SGLANG_HICACHE_HF3FS_CONFIG_PATH: SGLang fails when the cache is built: "
                "MLA model is not supported without global metadata server",
            )
