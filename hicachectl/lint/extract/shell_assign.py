"""Variable bookkeeping for the shell walker: ``NAME=value``, ``NAME+=``, arrays,
``export``/``declare``/``local``/``readonly``, and scopes.

An assignment inside a block that may not run (if/case/loop/function body/``&&`` list)
leaves the variable *unknown* after the block unless its value did not change; a subshell's
or pipeline element's assignments never reach the parent.  Known values assigned outside
``eval``/``bash -c`` strings are also recorded in ``file_env``.
"""

from __future__ import annotations

from dataclasses import replace

from hicachectl.lint.extract.shell_words import Var, expand_string, expand_word_origins

MAX_VALUE = 65536  # characters in one variable; longer values become unknown
MAX_ELEMENTS = 4096  # elements in one array; longer arrays become unknown


class Assignments:
    """Mixin for ``_Walker`` (which provides vars, result, depth, exported_names, span()
    and _raw())."""

    def _assign(self, node, export: bool) -> tuple[str, str] | None:
        name_node = node.child_by_field_name("name")
        value = node.child_by_field_name("value")
        if name_node is None:
            return None
        name = self._raw(name_node)
        if name_node.type == "subscript":  # a[3]=x: leave the array unknown-free
            return None
        append = any(c.type == "+=" for c in node.children)
        if value is not None and value.type == "array":
            elems: list[str] = []
            spans: list = []
            known = True
            for child in value.named_children:
                if child.type == "comment":
                    continue
                child_span = self.span(child)
                for text, k, origin in expand_word_origins(self._raw(child), self.vars):
                    elems.append(text)
                    spans.append(origin or child_span)
                    known = known and k
            old = self.vars.get(name)
            if append and old is not None and isinstance(old.value, list):
                elems = old.value + elems
                spans = (old.spans or [None] * len(old.value)) + spans
                known = known and old.known
            if len(elems) > MAX_ELEMENTS:  # a+=("${a[@]}") in a loop doubles it each time
                elems, spans, known = [], [], False
            self.vars.set(name, Var(elems, known, spans=spans))
            return None
        raw = self._raw(value) if value is not None else ""
        text, known = expand_string(raw, self.vars)
        old = self.vars.get(name)
        if append and old is not None and isinstance(old.value, str):
            text, known = old.value + text, known and old.known
        origin = points = None
        if value is not None and value.type in ("string", "raw_string"):
            sp = self.span(value)
            origin = (sp.line, sp.col)  # col of the quote == offset of the first content char
            if not append:
                from hicachectl.lint.extract.shell_nested import node_points

                points = node_points(self, value, text)
        if len(text) > MAX_VALUE:  # X="$X$X" doubles it each time
            text, known = raw, False
        spans = [self.span(value)] if value is not None and not append else None
        exported = export or (old is not None and old.exported)  # bash keeps the attribute
        if exported:
            self.exported_names.add(name)
        self.vars.set(name, Var(text, known, origin, spans, exported, points))
        if known and self.depth == 0:
            self.result.file_env[name] = text
        return name, text

    def _declaration(self, node) -> None:
        kw = node.children[0].type if node.children else ""
        for child in node.named_children:
            if child.type == "variable_assignment":
                self._assign(child, export=kw == "export")
            elif child.type == "variable_name" and kw == "export":  # `X=1; export X`
                var = self.vars.get(self._raw(child))
                if var is not None and not var.exported:
                    self.vars.set(self._raw(child), replace(var, exported=True))
                    self.exported_names.add(self._raw(child))

    def exported_env(self) -> dict:
        """Exported variables with known string values, as a command started now inherits
        them: name -> (value, span of the value where it was assigned, or None)."""
        out = {}
        for name in sorted(self.exported_names):
            var = self.vars.get(name)
            if var is not None and var.exported and var.known and isinstance(var.value, str):
                out[name] = (var.value, var.spans[0] if var.spans else None)
        return out

    def _leave(self, kind: str, before: dict) -> None:
        """After a block that may not run (if/case/loop/function/&&), a variable it changed
        is unknown; a subshell's assignments do not reach its parent at all."""
        if kind in ("subshell", "pipeline"):
            self.vars.values = before
            return
        cur = self.vars.values
        for name, var in list(cur.items()):
            old = before.get(name)
            if old is var or (
                old is not None and old.known and var.known and old.value == var.value
            ):
                continue
            cur[name] = Var(var.value, False)
