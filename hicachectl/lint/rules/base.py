"""The :class:`Rule` base class every lint rule derives from.

A rule is a few class constants (code, kebab-case name, default severity) plus one
``check(ctx)`` generator over a :class:`~hicachectl.lint.context.FileContext`.  Its
docstring is its documentation page (``hicachectl rules CODE``) and must carry the sections
*What it does*, *Why is this bad*, *Example* and *Use instead*.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import TYPE_CHECKING, ClassVar

from hicachectl.lint.types import Finding, Severity, Span

if TYPE_CHECKING:
    from hicachectl.lint.context import FileContext

DOC_SECTIONS = ("What it does", "Why is this bad", "Example", "Use instead")
DOCS_URL = "https://github.com/hicachectl/hicachectl/blob/main/docs/rules.md"


class Rule:
    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    severity: ClassVar[Severity] = "warning"
    # True when the rule only documents a finding someone else emits (the extractor).
    emitted_elsewhere: ClassVar[bool] = False
    # True when the rule needs the host's memory (a snapshot, --host-memory or the probe).
    needs_host: ClassVar[bool] = False

    @classmethod
    def summary(cls) -> str:
        doc = inspect.getdoc(cls) or ""
        return doc.split("\n", 1)[0].strip()

    @classmethod
    def docs(cls) -> str:
        return inspect.getdoc(cls) or ""

    @classmethod
    def help_uri(cls) -> str:
        return f"{DOCS_URL}#{cls.code.lower()}-{cls.name}"

    def check(self, ctx: FileContext) -> Iterator[Finding]:  # pragma: no cover - interface
        return iter(())

    def finding(
        self, ctx: FileContext, span: Span, message: str, *, fix: str | None = None
    ) -> Finding:
        return Finding(
            path=ctx.path,
            span=span,
            code=self.code,
            name=self.name,
            severity=self.severity,
            message=message,
            fix=fix,
        )
