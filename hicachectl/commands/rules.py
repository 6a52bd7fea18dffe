"""``hicachectl rules``: list every lint rule, or print one rule's documentation."""

from __future__ import annotations

import sys
from typing import Annotated

import typer


def command(
    rule: Annotated[
        str | None, typer.Argument(help="A rule code (HC301) or name (write-back-policy).")
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", help="Output format: text or json.")
    ] = "text",
) -> int:
    """List lint rules (code, name, severity, summary), or print one rule's docs."""
    import json

    from hicachectl.errors import UsageError
    from hicachectl.lint.rules import RULES, lookup

    if output_format not in ("text", "json"):
        raise UsageError(f"--format must be text or json (got {output_format!r})")
    if rule is None:
        if output_format == "json":
            rows = [
                {"code": r.code, "name": r.name, "severity": r.severity, "summary": r.summary()}
                for r in RULES
            ]
            sys.stdout.write(json.dumps(rows, indent=2) + "\n")
            return 0
        width = max(len(r.name) for r in RULES)
        for r in RULES:
            sys.stdout.write(f"{r.code}  {r.name:<{width}}  {r.severity:<7}  {r.summary()}\n")
        return 0
    found = lookup(rule)
    if found is None:
        raise UsageError(f"unknown rule {rule!r} (see `hicachectl rules`)")
    if output_format == "json":
        sys.stdout.write(
            json.dumps(
                {
                    "code": found.code,
                    "name": found.name,
                    "severity": found.severity,
                    "summary": found.summary(),
                    "docs": found.docs(),
                },
                indent=2,
            )
            + "\n"
        )
        return 0
    sys.stdout.write(f"# {found.code} {found.name} (default severity: {found.severity})\n\n")
    sys.stdout.write(found.docs() + "\n")
    return 0
