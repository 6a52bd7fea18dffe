"""Reading Kubernetes fields: quantities, env lists, kubelet ``$(VAR)`` expansion, limits,
and the source span of a YAML node."""

from __future__ import annotations

import re

from hicachectl.lint.extract.yaml_docs import YNode, scalar_value
from hicachectl.lint.types import Span

_KUBELET_VAR = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
_QTY = re.compile(r"^\s*([0-9.]+(?:[eE][+-]?[0-9]+)?)\s*([KMGTPE]i?|k|m)?\s*$")
_UNITS = {
    None: 1,
    "k": 1e3,
    "K": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
    "m": 1e-3,
}


def parse_quantity(text: str | None) -> int | None:
    """Kubernetes quantity ('400Gi', '1.5T', '512M') -> bytes; None when unparsable."""
    m = _QTY.match(text or "")
    if not m:
        return None
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def span_of(node: YNode) -> Span:
    end_line, end_col = node.end_line, node.end_col
    if node.kind != "str" or end_col < node.col and end_line == node.line:
        end_line, end_col = node.line, node.col
    return Span(node.line, node.col, max(end_line, node.line), max(end_col, 1))


def read_env(node: YNode | None, into: dict[str, str], spans: dict[str, Span]) -> None:
    for item in node.items() if node is not None else []:
        name = item.text("name") if item.kind == "map" else None
        if not name:
            continue
        value = item.get("value")
        if value is not None and value.kind == "str":
            into[name] = value.value
        elif item.get("valueFrom") is not None:
            into[name] = "<valueFrom>"  # a secret or field ref: its value is not in the file
        else:
            into[name] = ""
        spans[name] = span_of(item)


def kubelet(text: str, env: dict[str, str]) -> tuple[str, bool]:
    known = True

    def sub(m: re.Match) -> str:
        nonlocal known
        if m.group(0) == "$$":
            return "$"
        v = env.get(m.group(1))
        if v is None or v == "<valueFrom>":
            known = False
            return m.group(0)
        return v

    return (_KUBELET_VAR.sub(sub, text) if "$" in text else text), known


def read_limits(limits: YNode, ctx: dict) -> None:
    mem = parse_quantity(limits.text("memory"))
    if mem is not None:
        ctx["k8s_memory_limit_bytes"] = mem
    for key in ("nvidia.com/gpu", "gpu"):
        g = limits.text(key)
        if g and g.isdigit():
            ctx["gpus"] = int(g)


def text_of(node: YNode | None) -> str | None:
    return node.value if node is not None and node.kind == "str" else None


def int_of(node: YNode | None) -> int | None:
    v = scalar_value(node) if node is not None and node.kind == "str" else None
    return v if isinstance(v, int) and not isinstance(v, bool) else None
