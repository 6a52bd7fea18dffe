"""Pod templates in any other shape: LeaderWorkerSet (leader and worker templates), KServe,
Ray, Argo, RoleBasedGroup, Helm values files...  Every mapping that holds a ``containers``
list is read as a pod spec (its ``volumes`` beside it), each one its own group named by
its path in the document, e.g. ``path#0:spec.leaderWorkerTemplate.workerTemplate.spec``.

The search is iterative, visits each node once (aliases included) and stops after
``BUDGET`` nodes, so hostile documents cost a bounded walk.
"""

from __future__ import annotations

from hicachectl.lint.extract.yaml_docs import YNode
from hicachectl.lint.types import Extraction

BUDGET = 50_000


def pod_specs(doc: YNode) -> list[tuple[str, YNode]]:
    """(dotted path, mapping) for each mapping with a ``containers`` sequence."""
    found: list[tuple[str, YNode]] = []
    seen: set[int] = set()
    stack: list[tuple[str, YNode]] = [("", doc)]
    budget = BUDGET
    while stack and budget > 0:
        path, node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        budget -= 1
        if node.kind == "map":
            containers = node.get("containers")
            if containers is not None and containers.kind == "seq":
                found.append((path, node))
            for k, v in reversed(node.value):
                if v.kind != "str" and k.kind == "str":
                    stack.append((f"{path}.{k.value}" if path else k.value, v))
        elif node.kind == "seq":
            for j, v in reversed(list(enumerate(node.value))):
                if v.kind != "str":
                    stack.append((f"{path}[{j}]", v))
    return found


def extract_generic(d: YNode, i: int, configmaps, ex: Extraction, base: dict) -> None:
    from hicachectl.lint.extract.yaml_k8s import _Pod

    for path, spec in pod_specs(d):
        ctx = {**base, "pod_path": path}
        pod = _Pod(ex, configmaps, spec.get("volumes"), f"{ex.path}#{i}:{path}", ctx)
        for c in spec.get("containers").items():
            if c.kind == "map":
                pod.container(c, {}, {}, {"container": c.text("name") or ""})
