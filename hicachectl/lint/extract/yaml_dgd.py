"""DynamoGraphDeployment manifests: v1alpha1 ``spec.services.<name>`` (componentType,
subComponentType, replicas, resources, ``extraPodSpec.mainContainer``) and v1beta1
``spec.components[]`` (type, replicas, ``podTemplate.spec.containers[name=main]``), with the
DGD-wide ``spec.envs``.  Each service is its own pod, so its own group ``path#doc:service``;
``context["dgd_name"]`` ties the services of one deployment together.  A frontend service
without a command gets the operator's implicit ``python3 -m dynamo.frontend``
(``context["implicit_command"]``) so topology rules can see its env.
"""

from __future__ import annotations

from hicachectl.lint.extract.yaml_docs import YNode
from hicachectl.lint.extract.yaml_fields import int_of, parse_quantity, read_env, read_limits
from hicachectl.lint.extract.yaml_k8s import _Pod
from hicachectl.lint.types import Span


def extract_dgd(d, i, api, name, configmaps, ex, base) -> None:
    spec = d.get("spec")
    if spec is None:
        return
    dgd_env: dict[str, str] = {}
    dgd_spans: dict[str, Span] = {}
    read_env(spec.get("envs"), dgd_env, dgd_spans)
    base = {
        **base,
        "dgd_name": name,
        "dgd_api": api.rsplit("/", 1)[-1],
        "backend_framework": spec.text("backendFramework") or "",
    }
    if spec.get("services") is not None:  # v1alpha1
        for k, svc in spec.get("services").value if spec.get("services").kind == "map" else []:
            if svc.kind != "map":
                continue
            ctx = {
                **base,
                "service": k.value,
                "component_type": svc.text("componentType") or "",
                "sub_component_type": svc.text("subComponentType") or "",
            }
            _replicasread_limits(svc, ctx)
            env, spans = dict(dgd_env), dict(dgd_spans)
            read_env(svc.get("envs"), env, spans)
            main = svc.path("extraPodSpec", "mainContainer") or YNode("map", [], _Mark(k))
            pod = _Pod(
                ex, configmaps, svc.path("extraPodSpec", "volumes"), f"{ex.path}#{i}:{k.value}", ctx
            )
            pod.container(main, env, spans, {}, _implicit(ctx["component_type"]))
    for comp in (spec.get("components") or spec).items():  # v1beta1
        if comp.kind != "map":
            continue
        cname = comp.text("name") or ""
        ctx = {**base, "service": cname, "component_type": comp.text("type") or ""}
        _replicasread_limits(comp, ctx)
        pspec = comp.path("podTemplate", "spec")
        holder = pspec.get("containers") if pspec is not None else None
        containers = [c for c in holder.items() if c.kind == "map"] if holder is not None else []
        main = next(
            (c for c in containers if c.text("name") == "main"),
            containers[0] if containers else YNode("map", [], _Mark(comp)),
        )
        pod = _Pod(
            ex,
            configmaps,
            pspec.get("volumes") if pspec is not None else None,
            f"{ex.path}#{i}:{cname}",
            ctx,
        )
        env, spans = dict(dgd_env), dict(dgd_spans)
        read_env(comp.get("envs"), env, spans)
        pod.container(main, env, spans, {}, _implicit(ctx["component_type"]))


def _implicit(component_type: str) -> list[str] | None:
    return ["python3", "-m", "dynamo.frontend"] if component_type == "frontend" else None


class _Mark:
    """A YAML mark at a node's position, for synthetic nodes."""

    def __init__(self, node: YNode) -> None:
        self.line, self.column = node.line - 1, node.col - 1


def _replicasread_limits(node: YNode, ctx: dict) -> None:
    r = int_of(node.get("replicas"))
    if r is not None:
        ctx["replicas"] = r
    lim = node.path("resources", "limits")
    if lim is not None:
        read_limits(lim, ctx)
    shm = node.get("sharedMemorySize")
    if shm is not None and shm.kind == "str" and parse_quantity(shm.value) is not None:
        ctx["shared_memory_bytes"] = parse_quantity(shm.value)
    nc = int_of(node.path("multinode", "nodeCount"))
    if nc is not None:
        ctx["multinode_node_count"] = nc
