"""SGLang ``--config`` YAML files (standalone, or a ConfigMap data value) as a synthetic
Command whose tokens are the flags SGLang would read (``--key value``), at the keys' lines.

``True`` becomes a bare flag, ``False``/null are left out, lists become several values and
mappings become JSON (SGLang's ConfigArgumentMerger does the same).  The tokens carry no
program name: ``context["sglang_config"]`` marks them.  A ConfigMap value that a command in
the same file mounts as ``--config`` lists those commands' groups in ``context["mounted_by"]``
(its text is also in that command's ``config_files``).
"""

from __future__ import annotations

import json

from hicachectl.lint.extract.yaml_docs import (
    YamlTooBig,
    YNode,
    is_sglang_config,
    load_documents,
    scalar_value,
    to_py,
)
from hicachectl.lint.extract.yaml_fields import span_of
from hicachectl.lint.extract.yaml_scalar import scalar_snippet
from hicachectl.lint.types import Command, Extraction, Span, Token


def configmap_configs(d: YNode, i: int, ex: Extraction) -> None:
    """SGLang config files held in a ConfigMap: one synthetic sglang-config command each."""
    data = d.get("data")
    cm = d.path("metadata", "name")
    for k, v in data.value if data is not None and data.kind == "map" else []:
        if k.kind != "str" or v.kind != "str" or not k.value.endswith((".yaml", ".yml")):
            continue
        text, rmap, _ = scalar_snippet(v, ex.lines)
        inner, problems = load_documents(text)
        if problems or not inner or not is_sglang_config(inner[0]):
            continue
        ctx = {"configmap": cm.value if cm is not None else "", "config_key": k.value}
        ex.commands.append(
            sglang_config_command(
                inner[0], ex.path, rmap, group=f"{ex.path}#{i}", ctx=ctx, notes=ex.notes
            )
        )


def link_mounted_configs(ex: Extraction) -> None:
    by_source = {}
    for cmd in ex.commands:
        if cmd.context.get("sglang_config") and cmd.context.get("configmap"):
            by_source[f"{cmd.context['configmap']}/{cmd.context['config_key']}"] = cmd
    for cmd in ex.commands:
        for src in cmd.context.get("config_sources", {}).values():
            target = by_source.get(src)
            if target is not None:
                target.context.setdefault("mounted_by", []).append(cmd.group)


def sglang_config_command(
    doc: YNode, path: str, rmap, group: str, ctx: dict | None = None, notes: list | None = None
):
    """An SGLang --config mapping as flag tokens (``--key value``) at the keys' positions."""

    def sp(n: YNode) -> Span:
        if rmap is None:
            return span_of(n)
        line, col = rmap.line_col(n.line - 1, n.col - 1)
        return Span(line, col, line, col + max(len(n.value) if n.kind == "str" else 1, 1) - 1)

    tokens: list[Token] = []
    for k, v in doc.value:
        if k.kind != "str":
            continue
        flag = "--" + k.value
        ks = sp(k)
        if v.kind == "str":
            val = scalar_value(v)
            if val is True:
                tokens.append(Token(flag, ks, k.value))
            elif val is not False and val is not None:
                tokens += [Token(flag, ks, k.value), Token(v.value, sp(v), v.value)]
        elif v.kind == "seq":
            tokens.append(Token(flag, ks, k.value))
            tokens += [Token(e.value, sp(e), e.value) for e in v.items() if e.kind == "str"]
        else:
            try:
                dumped = json.dumps(to_py(v, [10_000]))
            except (YamlTooBig, RecursionError) as e:
                dumped, ok = "{}", False
                if notes is not None:
                    notes.append(f"{path}:{ks.line}: {k.value}: {e}; its value is unknown")
            else:
                ok = True
            tokens += [Token(flag, ks, k.value), Token(dumped, sp(v), "", ok)]
    first = tokens[0].span if tokens else Span(1, 1, 1, 1)
    last = tokens[-1].span if tokens else first
    return Command(
        path,
        "sglang-config",
        tokens,
        Span(first.line, first.col, last.end_line, last.end_col),
        group=group,
        context={"sglang_config": True, **(ctx or {})},
    )
