"""HC001 / HC002: continuation problems.  The extractor emits these (only it sees the
shell text); the classes here carry their documentation and default severity."""

from __future__ import annotations

from hicachectl.lint.rules.base import Rule


class BrokenContinuation(Rule):
    """A backslash continuation is broken, so the following flags are lost.

    ## What it does
    Finds a line that was meant to continue the command but does not: a backslash followed
    by a space or by a comment (`\\  # comment`), a doubled backslash (`\\\\`, an escaped
    backslash, which is a literal argument) where the flag lines that follow are cut off, or
    a comment line inside the continued command.  The message names the root cause and
    lists the flags that were cut off.

    ## Why is this bad
    The shell ends the command at the broken line.  Every flag after it is dropped from
    the launch and run as a separate (failing) command, so the server starts without
    them: HiCache off, the wrong page size, no memory limit.  ShellCheck reports only the
    symptom (SC2215 on the next line) and only for `.sh` files.

    ## Example
    ```bash
    python -m dynamo.sglang --model-path Qwen/Qwen3-0.6B \\  # the model
      --enable-hierarchical-cache
    ```

    ## Use instead
    ```bash
    # the model
    python -m dynamo.sglang --model-path Qwen/Qwen3-0.6B \\
      --enable-hierarchical-cache
    ```
    """

    code = "HC001"
    name = "broken-continuation"
    severity = "error"
    emitted_elsewhere = True


class DanglingContinuation(Rule):
    """A backslash continues the command into nothing.

    ## What it does
    Finds a command whose last line ends with `\\` while no further line follows (end of
    file, end of a Markdown fence, end of a YAML block scalar).

    ## Why is this bad
    The command is incomplete: a copy-paste of the block leaves the terminal waiting for
    more input, or a flag that was meant to follow is missing.

    ## Example
    ```bash
    python -m sglang.launch_server --model-path Qwen/Qwen3-0.6B \\
    ```

    ## Use instead
    ```bash
    python -m sglang.launch_server --model-path Qwen/Qwen3-0.6B
    ```
    """

    code = "HC002"
    name = "dangling-continuation"
    severity = "error"
    emitted_elsewhere = True


class UnparsableInput(Rule):
    """A hicachectl profile that cannot be read.

    ## What it does
    Checks TOML files in a `profiles/` directory with the same loader `hicachectl plan
    --profile` uses, and reports the first problem at the line of the offending key: TOML
    syntax, unknown keys, values of the wrong type.  (Shell, Markdown and YAML that cannot
    be parsed are reported as notes on stderr; the commands around them are still linted.)

    ## Why is this bad
    `plan --profile` and `launch` stop on such a profile, typically in CI or on the GPU host
    at the moment it is needed.

    ## Example
    ```toml
    [workers]
    tp = "eight"
    ```

    ## Use instead
    ```toml
    [workers]
    tp = 8
    ```
    """

    code = "HC003"
    name = "unparsable-input"
    severity = "error"
    emitted_elsewhere = True
