"""HC010-HC014: command structure: missing values, repeated, abbreviated and ambiguous
flags, and the removed ``dynamo.sglang.worker`` module."""

from __future__ import annotations

import re
from collections.abc import Iterator

from hicachectl.lint.rules._util import flag_text, problems
from hicachectl.lint.rules.base import Rule
from hicachectl.lint.types import Finding


class FlagMissingValue(Rule):
    """A flag that takes a value is followed by another flag (or nothing).

    ## What it does
    Finds a flag such as `--hicache-size` whose value is missing: the next token is
    another flag, or the command ends.

    ## Why is this bad
    argparse stops with `expected one argument` and the server never starts.  Often the
    value was lost to a line break or an unset variable.

    ## Example
    ```bash
    python -m sglang.launch_server --model-path Qwen/Qwen3-0.6B --hicache-size --page-size 64
    ```

    ## Use instead
    ```bash
    python -m sglang.launch_server --model-path Qwen/Qwen3-0.6B --hicache-size 40 --page-size 64
    ```
    """

    code = "HC010"
    name = "flag-missing-value"
    severity = "error"

    def check(self, ctx) -> Iterator[Finding]:
        for v, p in problems(ctx, "missing-value"):
            tok = v.token(p.token_index)
            flag = flag_text(tok.text) if tok else (p.flag or "?")
            nxt = v.token(p.token_index + 1) if p.token_index is not None else None
            if nxt is not None and nxt.text.startswith("-"):
                why = f"the next token {nxt.text} is another flag"
            else:
                why = "the command ends there"
            yield self.finding(ctx, v.problem_span(p), f"{flag} has no value: {why} ({p.message})")


class RepeatedFlag(Rule):
    """The same flag is given twice with different values.

    ## What it does
    Finds a flag repeated in one command with a different value each time (also through
    an alias or an abbreviation, or once in `--config` and once on the command line).

    ## Why is this bad
    argparse keeps the last value and drops the first without a word.  Whoever edits the
    first occurrence changes nothing.

    ## Example
    ```bash
    python -m dynamo.sglang --model-path m --page-size 16 --enable-metrics --page-size 64
    ```

    ## Use instead
    ```bash
    python -m dynamo.sglang --model-path m --page-size 64 --enable-metrics
    ```
    """

    code = "HC011"
    name = "repeated-flag"
    severity = "warning"

    def check(self, ctx) -> Iterator[Finding]:
        for v, p in problems(ctx, "repeated"):
            msg = p.message

            def where(m, v=v):  # "at token 5" -> "on line 3, col 7": positions users can find
                tok = v.token(int(m.group(1)))
                return f"at {tok.span.line}:{tok.span.col}" if tok else m.group(0)

            msg = re.sub(r"at token (\d+)", where, msg)
            yield self.finding(ctx, v.problem_span(p), msg)


class AbbreviatedFlag(Rule):
    """A flag is abbreviated (`--tp`, `--mem-frac`); write its full name.

    ## What it does
    Finds flags that work only because argparse accepts unique prefixes of long options:
    `--tp` for `--tp-size`, `--dp` for `--dp-size`, `--mem-frac` for
    `--mem-fraction-static`.

    ## Why is this bad
    The abbreviation breaks as soon as a release adds another flag with the same prefix:
    `--pp` already fails (`--pp-size`, `--pp-max-micro-batch-size`, ...).  Under Dynamo an
    abbreviation may also be captured by a Dynamo-owned flag before SGLang sees it.

    ## Example
    ```bash
    python -m sglang.launch_server --model-path m --tp 8 --mem-frac 0.85
    ```

    ## Use instead
    ```bash
    python -m sglang.launch_server --model-path m --tp-size 8 --mem-fraction-static 0.85
    ```
    """

    code = "HC012"
    name = "abbreviated-flag"
    severity = "warning"

    def check(self, ctx) -> Iterator[Finding]:
        for v, p in problems(ctx, "abbreviation"):
            tok = v.token(p.token_index)
            short = flag_text(tok.text) if tok else "?"
            full = p.flag or "?"
            yield self.finding(
                ctx,
                v.problem_span(p),
                f"{short} is an abbreviation of {full}: it works only while no other flag "
                f"starts with {short}; write {full}",
                fix=full,
            )


class AmbiguousFlag(Rule):
    """An abbreviated flag matches several flags, so the parser stops.

    ## What it does
    Finds a prefix such as `--pp` or `--page` that matches more than one long option of the
    target version's parser.

    ## Why is this bad
    argparse exits with `ambiguous option` and the process never starts.

    ## Example
    ```bash
    python -m sglang.launch_server --model-path m --pp 2
    ```

    ## Use instead
    ```bash
    python -m sglang.launch_server --model-path m --pp-size 2
    ```
    """

    code = "HC013"
    name = "ambiguous-flag"
    severity = "error"

    def check(self, ctx) -> Iterator[Finding]:
        for v, p in problems(ctx, "ambiguous"):
            yield self.finding(ctx, v.problem_span(p), p.message)


class RemovedModule(Rule):
    """`python -m dynamo.sglang.worker` no longer exists.

    ## What it does
    Finds launches of the module path `dynamo.sglang.worker` (and `decode_worker`), which
    Dynamo deprecated in 0.4.1 and removed in 0.6.0.

    ## Why is this bad
    Python exits with `ModuleNotFoundError` before any flag is read.

    ## Example
    ```bash
    python -m dynamo.sglang.worker --model-path Qwen/Qwen3-0.6B
    ```

    ## Use instead
    ```bash
    python -m dynamo.sglang --model-path Qwen/Qwen3-0.6B
    ```
    """

    code = "HC014"
    name = "removed-module"
    severity = "error"

    def check(self, ctx) -> Iterator[Finding]:
        for v in ctx.views:
            if v.entrypoint != "dynamo.sglang.worker":
                continue
            idx = next((p.token_index for p in v.problems if p.code == "removed-module"), None)
            if idx is None:
                idx = next(
                    (i for i, t in enumerate(v.cmd.tokens) if t.text.startswith("dynamo.sglang.")),
                    None,
                )
            mod = v.token(idx).text if idx is not None else "dynamo.sglang.worker"
            yield self.finding(
                ctx,
                v.token_span(idx),
                f"python -m {mod} was removed in Dynamo 0.6.0 (ModuleNotFoundError); "
                f"Dynamo {ctx.settings.dynamo_version} runs the worker as python -m dynamo.sglang",
                fix="dynamo.sglang",
            )
