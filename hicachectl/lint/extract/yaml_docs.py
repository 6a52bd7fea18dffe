"""YAML host files: a bounded, position-keeping document loader, format sniffing, dispatch.

Documents are built from libyaml *events*, not with PyYAML's recursive composer, so
10,000-level nesting costs a loop, not a RecursionError.  Aliases share the anchored node
(no copy); anything that walks a node generically (``to_py``) spends from a budget, so an
alias bomb ("billion laughs") ends in a note instead of exhausting memory.  Every node keeps
its 1-based line and column for findings.
"""

from __future__ import annotations

import re

from hicachectl.lint.types import Extraction, HostFormat

MAX_DEPTH = 200  # real manifests nest < 30 levels
MAX_NODES = 500_000
MAX_EXPANSION = 200_000  # nodes a generic walk may visit (alias expansion included)

_K8S = re.compile(rb"^(apiVersion|kind)\s*:", re.M)
_COMPOSE_NAME = re.compile(r"^(docker-)?compose([.-].*)?\.ya?ml$", re.I)
_TOP_SERVICES = re.compile(rb"^services\s*:", re.M)
SGLANG_KEYS = re.compile(
    r"^(model[-_]path|enable[-_]hierarchical[-_]cache|hicache[-_][a-z_-]+|page[-_]size|"
    r"tp[-_]size|tensor[-_]parallel[-_]size|mem[-_]fraction[-_]static|served[-_]model[-_]name|"
    r"disaggregation[-_]mode|kv[-_]events[-_]config|context[-_]length|max[-_]running[-_]requests|"
    r"attention[-_]backend|trust[-_]remote[-_]code)$"
)
_SGLANG_HEAD = re.compile(
    rb"^(model[-_]path|enable[-_]hierarchical[-_]cache|hicache[-_][a-z_-]+)\s*:", re.M
)
_BOOL = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}
# A git merge conflict left in the file (`<<<<<<< HEAD` ... `>>>>>>> branch`).
_CONFLICT = re.compile(r"^(?:<{7}|>{7})(?: |$)", re.M)


class YamlTooBig(Exception):
    pass


class YNode:
    """A YAML node: kind 'map' (value: list of (key, value) nodes), 'seq' or 'str'."""

    __slots__ = ("kind", "value", "line", "col", "end_line", "end_col", "style", "tag")

    def __init__(self, kind, value, mark, style=None, tag=None):
        self.kind, self.value, self.style, self.tag = kind, value, style, tag
        self.line, self.col = mark.line + 1, mark.column + 1
        self.end_line, self.end_col = self.line, self.col

    def get(self, key: str) -> YNode | None:
        if self.kind != "map":
            return None
        for k, v in self.value:
            if k.kind == "str" and k.value == key:
                return v
        return None

    def path(self, *keys: str) -> YNode | None:
        node = self
        for k in keys:
            node = node.get(k) if node is not None else None
        return node

    def text(self, key: str | None = None) -> str | None:
        node = self.get(key) if key is not None else self
        return node.value if node is not None and node.kind == "str" else None

    def items(self) -> list[YNode]:
        return self.value if self.kind == "seq" else []


def load_documents(text: str) -> tuple[list[YNode], list[str]]:
    """All documents in ``text`` and one-line problems (syntax error, limits), never raising."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    docs: list[YNode] = []
    problems: list[str] = []
    stack: list[tuple[YNode, list]] = []
    anchors: dict[str, YNode] = {}
    count = 0
    skip_depth = 0  # >0 while skipping a too-deep subtree

    def attach(node: YNode) -> None:
        if not stack:
            docs.append(node)
            return
        parent, pending = stack[-1]
        if parent.kind == "seq":
            parent.value.append(node)
        elif pending:
            parent.value.append((pending.pop(), node))
        else:
            pending.append(node)

    try:
        for ev in yaml.parse(text, Loader=loader):
            name = type(ev).__name__
            if skip_depth:
                if name in ("MappingStartEvent", "SequenceStartEvent"):
                    skip_depth += 1
                elif name in ("MappingEndEvent", "SequenceEndEvent"):
                    skip_depth -= 1
                    if skip_depth == 0:
                        attach(YNode("str", "", ev.start_mark))
                continue
            count += 1
            if count > MAX_NODES:
                raise YamlTooBig(f"more than {MAX_NODES} YAML nodes; the rest was not read")
            if name == "ScalarEvent":
                node = YNode("str", ev.value, ev.start_mark, ev.style or None, ev.tag)
                node.end_line, node.end_col = ev.end_mark.line + 1, ev.end_mark.column
                if ev.anchor:
                    anchors[ev.anchor] = node
                attach(node)
            elif name in ("MappingStartEvent", "SequenceStartEvent"):
                if len(stack) >= MAX_DEPTH:
                    problems.append(
                        f"line {ev.start_mark.line + 1}: YAML nested deeper than "
                        f"{MAX_DEPTH} levels; the deeper part was not read"
                    )
                    skip_depth = 1
                    continue
                node = YNode("map" if name[0] == "M" else "seq", [], ev.start_mark, tag=ev.tag)
                if ev.anchor:
                    anchors[ev.anchor] = node
                attach(node)
                stack.append((node, []))
            elif name in ("MappingEndEvent", "SequenceEndEvent"):
                node, _ = stack.pop()
                node.end_line, node.end_col = ev.end_mark.line + 1, ev.end_mark.column
            elif name == "AliasEvent":
                target = anchors.get(ev.anchor)
                attach(target if target is not None else YNode("str", "", ev.start_mark))
    except YamlTooBig as e:
        problems.append(str(e))
    except Exception as e:  # yaml.YAMLError and libyaml reader errors
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        what = getattr(e, "problem", None) or str(e).splitlines()[0]
        conflict = _CONFLICT.search(text)
        if conflict is not None:  # the usual cause, and PyYAML reports it a line late
            where = f"line {text.count(chr(10), 0, conflict.start()) + 1}: "
            what = "an unresolved merge conflict marker"
        problems.append(f"{where}invalid YAML ({what}); documents after it were not read")
    return docs, problems


def scalar_value(node: YNode):
    """A plain scalar resolved as yaml.safe_load would (bool, null, int, float, str)."""
    v = node.value
    if node.style is not None or node.tag not in (None, "!"):
        return v
    low = v.lower()
    if low in _BOOL:
        return _BOOL[low]
    if low in ("", "~", "null"):
        return None
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v


def to_py(node: YNode, budget: list[int]):
    """Plain Python value; raises YamlTooBig when ``budget`` (a 1-element list) runs out."""
    result: list = []

    def spend():
        budget[0] -= 1
        if budget[0] < 0:
            raise YamlTooBig("YAML alias expansion exceeds the node budget (alias bomb?)")

    # iterative post-order build
    work: list = [(node, result, None)]
    while work:
        n, target, key = work.pop()
        spend()
        if n.kind == "str":
            val = scalar_value(n)
        elif n.kind == "seq":
            val = []
            for child in reversed(n.value):
                work.append((child, val, None))
        else:
            val = {}
            for k, child in reversed(n.value):
                work.append((child, val, k.value if k.kind == "str" else str(id(k))))
        if isinstance(target, dict):
            target[key] = val
        else:
            target.append(val)  # children were pushed reversed, so they pop in order
    return result[0] if result else None


def sniff_yaml(name: str, head: bytes) -> HostFormat | None:
    if _COMPOSE_NAME.match(name):
        return "compose"
    if _K8S.search(head):
        return "k8s"
    if _TOP_SERVICES.search(head):
        return "compose"
    if _SGLANG_HEAD.search(head):
        return "sglang-config"
    if b"containers:" in head and (b"sglang" in head or b"dynamo" in head):
        return "k8s"  # e.g. Helm values holding pod specs
    return None


def is_sglang_config(node: YNode) -> bool:
    if node.kind != "map" or not node.value:
        return False
    keys = [k.value for k, _ in node.value if k.kind == "str"]
    hits = sum(1 for k in keys if SGLANG_KEYS.match(k))
    return hits >= 2 or any(
        k.replace("_", "-").startswith(("hicache-", "enable-hierarchical"))
        or k.replace("_", "-") == "model-path"
        for k in keys
    )


def extract_yaml(text: str, ex: Extraction) -> None:
    docs, problems = load_documents(text)
    if problems and "{{" in text and "}}" in text:
        # a Helm / Go template: not YAML until rendered
        problems = [
            f"{problems[0].split(':', 1)[0]}: a template ({{{{ … }}}}), not YAML until "
            "rendered; documents after it were not read"
        ]
    ex.notes.extend(f"{ex.path}: {p}" for p in problems)
    from hicachectl.lint.extract.common import hash_comment_suppressions

    ex.suppressions.extend(hash_comment_suppressions(ex.lines))
    from hicachectl.lint.extract.yaml_compose import extract_compose
    from hicachectl.lint.extract.yaml_k8s import extract_k8s
    from hicachectl.lint.extract.yaml_sglang import sglang_config_command

    k8s_docs = [(i, d) for i, d in enumerate(docs) if d.kind == "map" and d.get("kind")]
    if k8s_docs:
        extract_k8s(k8s_docs, ex)
    for i, d in enumerate(docs):
        if d.kind != "map" or d.get("kind") is not None:
            continue
        services = d.get("services")
        if services is not None and services.kind == "map":
            extract_compose(d, ex)
        elif is_sglang_config(d):
            ex.commands.append(
                sglang_config_command(d, ex.path, None, group=ex.path, notes=ex.notes)
            )
            ex.host_format = "sglang-config" if ex.host_format != "k8s" else ex.host_format
        elif "containers" in text:  # a Helm values file or another kind-less pod holder
            from hicachectl.lint.extract.yaml_generic import extract_generic

            extract_generic(d, i, {}, ex, {"k8s_kind": ""})
    if not ex.commands and not k8s_docs and ex.host_format == "sglang-config":
        ex.host_format = None  # looked like an SGLang config, was not one
