"""HC102, HC103, HC106, HC107: values the parser rejects, a missing required flag, and a
``--config`` file SGLang cannot merge."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator

from hicachectl.lint.rules._util import problems
from hicachectl.lint.rules.base import Rule
from hicachectl.lint.types import Finding


def _value_span(v, p):
    """The value token when the problem is about a value, else the flag."""
    tok = v.token(p.token_index)
    if tok is not None and "=" not in tok.text and tok.text.startswith("-"):
        nxt = v.token(p.token_index + 1)
        if nxt is not None:
            return nxt.span
    return v.problem_span(p)


class InvalidChoice(Rule):
    """A flag's value is not one of the choices the parser allows.

    ## What it does
    Checks values of flags with a fixed set of choices (`--hicache-write-policy`,
    `--hicache-mem-layout`, `--hicache-storage-backend`, `--router-mode`, ...) against the
    target version, and suggests the nearest valid one.

    ## Why is this bad
    argparse exits with `invalid choice` and nothing starts.  Choices differ between
    releases: `seaweedfs` exists only from SGLang 0.5.23.

    ## Example
    ```bash
    python -m sglang.launch_server --model-path m --hicache-write-policy write-through
    ```

    ## Use instead
    ```bash
    python -m sglang.launch_server --model-path m --hicache-write-policy write_through
    ```
    """

    code = "HC102"
    name = "invalid-choice"
    severity = "error"

    def check(self, ctx) -> Iterator[Finding]:
        for v, p in problems(ctx, "invalid-choice"):
            msg = p.message
            fix = None
            m = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", msg)
            if m:
                choices = re.findall(r"'([^']*)'", m.group(2)) or [
                    c.strip() for c in m.group(2).split(",")
                ]
                close = difflib.get_close_matches(m.group(1), choices, n=1, cutoff=0.6)
                if close:
                    fix = close[0]
                    msg += f"; did you mean {fix!r}?"
            yield self.finding(
                ctx,
                _value_span(v, p),
                f"SGLang {v.version}: {msg}" if v.is_engine else msg,
                fix=fix,
            )


class InvalidType(Rule):
    """A flag's value has the wrong type (`--hicache-size 1.5`, `--tp-size two`).

    ## What it does
    Converts each value the way the target parser does (`int`, `float`, JSON, sizes with
    k/M/G suffixes) and reports values it would reject.  Values from variables the file
    does not define are never reported.

    ## Why is this bad
    argparse exits with `invalid int value` (or similar) and nothing starts.
    `--hicache-size` in particular is a whole number of GB per rank.

    ## Example
    ```bash
    python -m sglang.launch_server --model-path m --enable-hierarchical-cache --hicache-size 1.5
    ```

    ## Use instead
    ```bash
    python -m sglang.launch_server --model-path m --enable-hierarchical-cache --hicache-size 2
    ```
    """

    code = "HC103"
    name = "invalid-type"
    severity = "error"

    def check(self, ctx) -> Iterator[Finding]:
        for v, p in problems(ctx, "invalid-type"):
            yield self.finding(ctx, _value_span(v, p), p.message)


class MissingRequiredFlag(Rule):
    """A required flag is missing (`--model-path` for SGLang).

    ## What it does
    Reports flags the parser requires that the command does not give, unless a variable
    the file does not define could supply them.

    ## Why is this bad
    argparse exits with `the following arguments are required` and nothing starts.

    ## Example
    ```bash
    python -m sglang.launch_server --enable-hierarchical-cache
    ```

    ## Use instead
    ```bash
    python -m sglang.launch_server --model-path Qwen/Qwen3-0.6B --enable-hierarchical-cache
    ```
    """

    code = "HC106"
    name = "missing-required-flag"
    severity = "error"

    def check(self, ctx) -> Iterator[Finding]:
        for v, p in problems(ctx, "required"):
            yield self.finding(ctx, v.head_span, f"{v.entrypoint}: {p.message}")


class InvalidConfigFile(Rule):
    """The SGLang `--config` YAML found beside the command cannot be merged.

    ## What it does
    When the `--config` file is in the same manifest (a ConfigMap mounted into the pod)
    or is passed to the linter, checks it the way SGLang's `ConfigArgumentMerger` does:
    a YAML mapping at the root, a `.yaml`/`.yml` name, keys that are real flags with
    store / store_true actions.

    ## Why is this bad
    SGLang stops at start-up with the merger's error, or an unknown key reaches argparse
    as an unrecognised flag.

    ## Example
    ```bash
    python -m sglang.launch_server --model-path m --config sglang.json
    ```

    ## Use instead
    ```bash
    python -m sglang.launch_server --model-path m --config sglang.yaml
    ```
    with `sglang.yaml` a mapping of flag names: `enable-hierarchical-cache: true`,
    `hicache-size: 200`.
    """

    code = "HC107"
    name = "invalid-config-file"
    severity = "error"

    def check(self, ctx) -> Iterator[Finding]:
        for v, p in problems(ctx, "config"):
            span = v.problem_span(p) if p.token_index is not None else v.head_span
            yield self.finding(ctx, span, p.message)


class ExitsBeforeServing(Rule):
    """The program would exit before serving: a Dynamo argument check fails, or `--help`.

    ## What it does
    Reports the checks `python -m dynamo.sglang` runs on its arguments before starting the
    engine (`--disagg-config` without `--disagg-config-key`, `--tool-call-parser` together
    with `--dyn-tool-call-parser`, `--schedule-low-priority-values-first`, ...), and
    `-h`/`--help`/`--version` left in a launch command.

    ## Why is this bad
    The process prints a message (or its help text) and exits; a supervisor restarts it in
    a loop or the deployment never becomes ready.

    ## Example
    ```bash
    python -m dynamo.sglang --model-path m --disagg-config disagg.yaml
    ```

    ## Use instead
    ```bash
    python -m dynamo.sglang --model-path m --disagg-config disagg.yaml --disagg-config-key prefill
    ```
    """

    code = "HC108"
    name = "exits-before-serving"
    severity = "error"

    def check(self, ctx) -> Iterator[Finding]:
        for v, p in problems(ctx, "dynamo", "help"):
            span = v.problem_span(p) if p.token_index is not None else v.head_span
            if p.token_index is None:  # point at the first flag the message names
                words = re.findall(r"[a-z][a-z0-9_]+", p.message.replace("-", "_"))
                named = next((w for w in words if v.is_explicit(w)), None)
                if named is not None:
                    span = v.span_of(named)
            yield self.finding(ctx, span, f"{v.entrypoint}: {p.message}")
