"""HC311: API keys written into launch commands."""

from __future__ import annotations

import re
from collections.abc import Iterator

from hicachectl.lint.rules.base import Rule
from hicachectl.lint.types import Finding

_PLACEHOLDER = re.compile(
    r"^(<.*>|\{\{.*\}\}|\[.*\]|x+|\*+|\.\.\.|none|null|changeme|change[-_]?me|placeholder|"
    r"example|secret|token|password|test|dummy|todo|your[-_ ]?.*|my[-_ ]?(api[-_]?)?key|"
    r"api[-_]?key|admin[-_]?key|key)$",
    re.IGNORECASE,
)


class ApiKeyInCommand(Rule):
    """A placeholder or a literal secret in `--api-key` / `--admin-api-key`.

    ## What it does
    Finds API keys written into the launch command (directly or through a variable
    assigned in the same file) and placeholders such as `<your-key>`, `YOUR_API_KEY`,
    `changeme` or `None`.  A key taken from a variable the file does not set, such as
    `"$SGLANG_API_KEY"` or a Kubernetes secret, is fine.  The key is never printed.

    ## Why is this bad
    A literal key is readable by anyone who can read the script, the runbook, the
    manifest or the process list.  A placeholder is worse: the server starts with a key
    everybody knows, and the HiCache admin endpoints (attach/detach storage) accept it.

    ## Example
    ```bash
    python -m sglang.launch_server --model-path m --admin-api-key changeme
    ```

    ## Use instead
    ```bash
    python -m sglang.launch_server --model-path m --admin-api-key "$SGLANG_ADMIN_API_KEY"
    ```
    """

    code = "HC311"
    name = "api-key-in-command"
    severity = "warning"

    def check(self, ctx) -> Iterator[Finding]:
        for v in ctx.engines():
            for dest in ("api_key", "admin_api_key"):
                idx = v.explicit_index(dest)
                if idx is None or not v.known(dest):
                    continue
                key = v.value(dest)
                if not isinstance(key, str) or not key:
                    continue
                flag = v.flag_name(dest)
                if _PLACEHOLDER.match(key.strip()):
                    msg = (
                        f"{flag} *** is a placeholder: the server starts with a key everyone "
                        "knows; pass the real key from a secret (environment variable)"
                    )
                else:
                    msg = (
                        f"{flag} *** is a literal secret in this file; read it from a secret "
                        f'store or an environment variable ({flag} "$SGLANG_API_KEY")'
                    )
                yield self.finding(ctx, v.span_of(dest), msg)
