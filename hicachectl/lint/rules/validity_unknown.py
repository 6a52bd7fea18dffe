"""HC101, HC104, HC105: flags the target parser does not know.

An unrecognised flag is classified once: a removed Dynamo flag (HC105), a flag that another
SGLang release has (HC104), or an unknown flag, with a did-you-mean and a hint for names
taken from other engines (HC101).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from functools import lru_cache

from hicachectl.lint.rules._util import flag_text
from hicachectl.lint.rules.base import Rule
from hicachectl.lint.types import Finding

# Flags from vLLM / TensorRT-LLM that people carry over, with SGLang's equivalent.
OTHER_ENGINES: dict[str, tuple[str | None, str]] = {
    "--max-num-seqs": ("--max-running-requests", "vLLM's name for the running-request cap"),
    "--gpu-memory-utilization": (
        "--mem-fraction-static",
        "vLLM's name; SGLang's fraction covers weights plus the KV pool",
    ),
    "--max-model-len": ("--context-length", "vLLM's name for the context length"),
    "--enable-prefix-caching": (
        None,
        "a vLLM flag; SGLang's radix cache is on by default (--disable-radix-cache turns it off)",
    ),
    "--kv-cache-memory": (
        "--max-total-tokens",
        "SGLang sizes the KV pool with --mem-fraction-static or caps it in tokens",
    ),
    "--swap-space": (
        "--hicache-size",
        "host-memory KV in SGLang is HiCache: --enable-hierarchical-cache with "
        "--hicache-size (GB per rank) or --hicache-ratio",
    ),
    "--kv-offloading-size": (
        "--hicache-size",
        "vLLM's total offload size; SGLang's --hicache-size is GB per rank",
    ),
    "--max-num-batched-tokens": ("--chunked-prefill-size", "vLLM's per-step token budget"),
    "--block-size": ("--page-size", "vLLM's KV block size"),
    "--enforce-eager": ("--disable-cuda-graph", "vLLM's name"),
    "--num-gpu-blocks-override": ("--max-total-tokens", "vLLM's KV pool override"),
    "--enable-chunked-prefill": (
        None,
        "a vLLM flag; SGLang chunks prefill by default (size it with --chunked-prefill-size)",
    ),
    "--max-batch-size": ("--max-running-requests", "TensorRT-LLM's name"),
    "--kv-cache-free-gpu-memory-fraction": ("--mem-fraction-static", "TensorRT-LLM's name"),
}

# Dynamo flags removed before 1.6.1: flag -> (programs it was removed from, explanation)
REMOVED_DYNAMO: dict[str, tuple[frozenset[str], str, str | None]] = {
    "--store-kv": (
        frozenset({"dynamo.sglang", "dynamo.frontend", "dynamo.mocker", "dynamo.sglang.worker"}),
        "was replaced in Dynamo 1.0.0 by --discovery-backend (etcd, file, mem, kubernetes)",
        "--discovery-backend",
    ),
    "--migration-limit": (
        frozenset({"dynamo.sglang", "dynamo.sglang.worker"}),
        "is frontend-only since Dynamo 1.0.0: set it on python -m dynamo.frontend",
        None,
    ),
}


@lru_cache(maxsize=8)
def _opts(program: str, version: str) -> tuple[str, ...]:
    from hicachectl.sglang.flags import dynamo_table, sglang_table

    if program == "dynamo.frontend":
        return dynamo_table("frontend").long_opts
    if program == "dynamo.mocker":
        return dynamo_table("mocker").long_opts
    opts = sglang_table(version).long_opts
    if program.startswith("dynamo."):
        opts = opts + dynamo_table("sglang-worker").long_opts
    return opts


def other_versions(flag: str, version: str) -> list[str]:
    """SGLang releases (with a flag table) that have ``flag``."""
    from hicachectl.sglang.flags import SGLANG_VERSIONS, sglang_table

    return [v for v in SGLANG_VERSIONS if v != version and flag in sglang_table(v).by_opt]


def unrecognized(ctx):
    """(view, token index, flag, kind) for every unrecognised flag or stray word.

    kind: 'removed' (a removed Dynamo flag), 'version' (another SGLang release has it),
    'unknown', or 'stray' (a word that is no flag's value).  Values of unknown flags and
    words the file does not define are skipped.
    """
    for v in ctx.views:
        extras = v.unrecognized()
        taken = {i for i, _ in extras}
        for i, text in extras:
            tok = v.token(i)
            if tok is not None and not tok.known:
                continue
            flag = flag_text(text)
            if not flag.startswith("-") or flag == "-":
                prev = v.token(i - 1)
                if i - 1 in taken and prev is not None and prev.text.startswith("-"):
                    continue  # the value of an unknown flag
                yield v, i, flag, "stray"
                continue
            removed = REMOVED_DYNAMO.get(flag)
            if removed and v.entrypoint in removed[0]:
                yield v, i, flag, "removed"
            elif v.is_engine and other_versions(flag, v.version):
                yield v, i, flag, "version"
            else:
                yield v, i, flag, "unknown"


class UnknownFlag(Rule):
    """A flag the target version's parser does not know.

    ## What it does
    Finds flags that neither SGLang (at the target version) nor Dynamo's own parser
    accepts, and suggests the nearest real flag.  Flags carried over from other engines
    get a specific hint: `--max-num-seqs` is `--max-running-requests`,
    `--gpu-memory-utilization` is `--mem-fraction-static`, `--max-model-len` is
    `--context-length`.

    ## Why is this bad
    argparse exits with `unrecognized arguments` (exit 2); `dynamo.frontend` exits 1 with
    `Unknown arguments specified`.  Nothing starts.

    ## Example
    ```bash
    python -m dynamo.sglang --model-path m --max-num-seqs 256
    ```

    ## Use instead
    ```bash
    python -m dynamo.sglang --model-path m --max-running-requests 256
    ```
    """

    code = "HC101"
    name = "unknown-flag"
    severity = "error"

    def check(self, ctx) -> Iterator[Finding]:
        for v, i, flag, kind in unrecognized(ctx):
            if kind in ("removed", "version"):
                continue
            span = v.config_key_span(i, flag) or v.token_span(i)
            prog = v.entrypoint
            if kind == "stray":
                yield self.finding(
                    ctx,
                    span,
                    f"{prog}: unexpected argument {flag!r} (the flag before it "
                    f"takes no value, or a value was split by quoting)",
                )
                continue
            if flag in OTHER_ENGINES:
                to, why = OTHER_ENGINES[flag]
                msg = f"{prog} (SGLang {v.version}) has no {flag}: {why}"
                if to:
                    msg += f"; use {to}"
                yield self.finding(ctx, span, msg, fix=to)
                continue
            close = difflib.get_close_matches(flag, _opts(prog, v.version), n=1, cutoff=0.75)
            target = (
                f"SGLang {v.version}" if v.is_engine else f"Dynamo {ctx.settings.dynamo_version}"
            )
            msg = f"unknown flag {flag} for {prog} ({target})"
            if close:
                msg += f"; did you mean {close[0]}?"
            yield self.finding(ctx, span, msg, fix=close[0] if close else None)


class FlagNotInVersion(Rule):
    """A flag that exists in another SGLang release but not in the target one.

    ## What it does
    Finds flags such as `--enable-hicache` (an alias added in SGLang 0.5.23) in a command
    that runs an older release, for example `dynamo.sglang`, which Dynamo 1.6.1 pins to
    SGLang 0.5.21.  The target versions come from `--sglang-version` or the config.

    ## Why is this bad
    The older parser rejects the flag (`unrecognized arguments`) and the server does not
    start, although the same line works on the newer release.

    ## Example
    ```bash
    python -m dynamo.sglang --model-path m --enable-hicache
    ```

    ## Use instead
    ```bash
    python -m dynamo.sglang --model-path m --enable-hierarchical-cache
    ```
    """

    code = "HC104"
    name = "flag-not-in-version"
    severity = "error"

    def check(self, ctx) -> Iterator[Finding]:
        from hicachectl.sglang.flags import sglang_table

        for v, i, flag, kind in unrecognized(ctx):
            if kind != "version":
                continue
            has = other_versions(flag, v.version)
            dest = sglang_table(has[0]).by_opt[flag].dest
            here = sglang_table(v.version).by_dest.get(dest)
            why = " (Dynamo 1.6.1's pin)" if v.is_dynamo else ""
            msg = f"{flag} does not exist in SGLang {v.version}{why}; it exists in " + ", ".join(
                has
            )
            fix = None
            if here is not None:
                fix = here.canonical
                msg += f"; write {fix}"
            yield self.finding(ctx, v.flag_span(i, flag), msg, fix=fix)


class RemovedDynamoFlag(Rule):
    """A Dynamo flag or variable that Dynamo 1.6.1 no longer accepts.

    ## What it does
    Finds `--store-kv` (replaced by `--discovery-backend` in Dynamo 1.0.0), a worker's
    `--migration-limit` (frontend-only since 1.0.0), and `DYN_STORE_KV` in the environment
    of a Dynamo process.

    ## Why is this bad
    The flags are argparse errors in 1.6.1.  The variable is silently ignored, so the
    process falls back to etcd discovery and, with no etcd running, retries for two
    minutes instead of finding its peers.

    ## Example
    ```bash
    DYN_STORE_KV=file python -m dynamo.sglang --model-path m --migration-limit 3
    ```

    ## Use instead
    ```bash
    DYN_DISCOVERY_BACKEND=file python -m dynamo.sglang --model-path m
    python -m dynamo.frontend --discovery-backend file --migration-limit 3
    ```
    """

    code = "HC105"
    name = "removed-dynamo-flag"
    severity = "error"

    def check(self, ctx) -> Iterator[Finding]:
        for v, i, flag, kind in unrecognized(ctx):
            if kind != "removed":
                continue
            _, why, fix = REMOVED_DYNAMO[flag]
            yield self.finding(
                ctx,
                v.flag_span(i, flag),
                f"{v.entrypoint}: {flag} {why}",
                fix=fix,
            )
        for v in ctx.views:
            if v.is_dynamo and "DYN_STORE_KV" in v.cmd.env:
                yield self.finding(
                    ctx,
                    v.env_span("DYN_STORE_KV"),
                    f"DYN_STORE_KV={v.cmd.env['DYN_STORE_KV']} is ignored since Dynamo 1.0.0 "
                    "(the process falls back to etcd); set DYN_DISCOVERY_BACKEND instead",
                    fix="DYN_DISCOVERY_BACKEND",
                )
