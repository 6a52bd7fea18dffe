"""Kubernetes manifests: DynamoGraphDeployment (v1alpha1 services, v1beta1 components) and
plain workloads (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob).

Each container with ``command``/``args`` becomes one Command: argv = command + args, with
the kubelet's ``$(VAR)`` expansion from the container env (no shell, so ``$VAR`` stays
literal).  ``[bash, -c|-lc, SCRIPT]`` hands SCRIPT to the shell extractor, positions mapped
into the YAML scalar.  ``--config PATH`` is resolved through volumeMounts → volumes →
a ConfigMap in the same file, and the data text lands in ``Command.config_files``.

Groups: one group per pod.  A DGD's services run in different pods, so each service is its
own group ``path#doc:service``; ``context["dgd_name"]`` lets rules reason per deployment.
A plain workload's containers share the group ``path#doc``.
"""

from __future__ import annotations

import posixpath

from hicachectl.lint.extract.shell import extract_shell
from hicachectl.lint.extract.shell_words import Var, Vars
from hicachectl.lint.extract.yaml_docs import YNode
from hicachectl.lint.extract.yaml_fields import (
    int_of,
    kubelet,
    parse_quantity,
    read_env,
    read_limits,
    span_of,
    text_of,
)
from hicachectl.lint.extract.yaml_scalar import scalar_snippet
from hicachectl.lint.extract.yaml_sglang import configmap_configs, link_mounted_configs
from hicachectl.lint.types import Command, Extraction, Span, Suppression, Token

_POD_SPEC = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
_SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ash"})


class _Pod:
    """What one pod template contributes: ConfigMap volumes and the doc-level context."""

    def __init__(self, ex: Extraction, configmaps, volumes: YNode | None, group: str, ctx: dict):
        self.ex, self.configmaps, self.group, self.ctx = ex, configmaps, group, ctx
        self.volumes: dict[str, tuple[str, dict[str, str]]] = {}
        for v in volumes.items() if volumes is not None else []:
            cm = v.get("configMap") if v.kind == "map" else None
            if cm is not None and v.text("name") and cm.text("name"):
                items = {
                    i.text("path"): i.text("key")
                    for i in (cm.get("items") or v).items()
                    if i.kind == "map" and i.text("path")
                }
                self.volumes[v.text("name")] = (cm.text("name"), items)

    def configtext_of(self, path: str, mounts: YNode | None) -> tuple[str, str, str] | None:
        """--config PATH -> (ConfigMap name, key, text) when a mounted ConfigMap provides it."""
        for m in mounts.items() if mounts is not None else []:
            if m.kind != "map" or m.text("name") not in self.volumes:
                continue
            mount = (m.text("mountPath") or "").rstrip("/")
            sub = m.text("subPath")
            cm_name, items = self.volumes[m.text("name")]
            if sub and path == mount:
                key = sub
            elif not sub and path.startswith(mount + "/"):
                rel = path[len(mount) + 1 :]
                key = items.get(rel, rel if not items else None)
            else:
                continue
            data = self.configmaps.get(cm_name, {})
            if key in data:
                return cm_name, key, data[key].value
        return None

    def container(
        self,
        c: YNode,
        env_base: dict[str, str],
        env_spans_base,
        extra_ctx: dict,
        default_argv: list[str] | None = None,
    ) -> None:
        env = dict(env_base)
        env_spans = dict(env_spans_base)
        for ref in (c.get("envFrom") or c).items():  # a ConfigMap in the same file
            cm = ref.path("configMapRef", "name") if ref.kind == "map" else None
            prefix = ref.text("prefix") or "" if ref.kind == "map" else ""
            for key, node in self.configmaps.get(cm.value if cm is not None else "", {}).items():
                env[prefix + key] = node.value
                env_spans[prefix + key] = span_of(node)
        read_env(c.get("env"), env, env_spans)
        self.ex.file_env.update({k: v for k, v in env.items() if v != "<valueFrom>"})
        ctx = {**self.ctx, **extra_ctx}
        limits = c.path("resources", "limits")
        if limits is not None:
            read_limits(limits, ctx)
        request = parse_quantity(text_of(c.path("resources", "requests", "memory")))
        if request is not None:
            ctx["k8s_memory_request_bytes"] = request
        if c.text("image"):
            ctx["image"] = c.text("image")
        elems = [
            n for key in ("command", "args") for n in (c.get(key) or c).items() if n.kind == "str"
        ]
        if not elems:
            if default_argv:  # the operator's implicit entry point (a DGD frontend)
                sp = span_of(c) if c.kind == "map" else Span(1, 1, 1, 1)
                toks = [Token(t, sp) for t in default_argv]
                ctx["implicit_command"] = True
                self._emit(toks, sp, env, env_spans, ctx, c)
            return
        texts = [e.value for e in elems]
        if (
            len(texts) >= 3
            and posixpath.basename(texts[0]) in _SHELLS
            and texts[1].startswith("-")
            and "c" in texts[1]
        ):
            ctx["via"] = f"{posixpath.basename(texts[0])} -c"
            self._shell(elems[2], env, env_spans, ctx, c)
            return
        if c.get("command") is None:
            ctx["args_only"] = True  # the image's ENTRYPOINT runs first; it is not in the file
        tokens = []
        for n in elems:
            text, known = kubelet(n.value, env)
            tokens.append(Token(text, span_of(n), n.value, known))
        spans = [t.span for t in tokens]  # args may come before command in the YAML
        first = min((sp.line, sp.col) for sp in spans)
        last = max((sp.end_line, sp.end_col) for sp in spans)
        self._emit(
            tokens,
            Span(*first, *last),
            env,
            env_spans,
            ctx,
            c,
        )

    def _shell(self, script: YNode, env, env_spans, ctx, c: YNode) -> None:
        text, rmap, note = scalar_snippet(script, self.ex.lines)
        if note:
            self.ex.notes.append(f"{self.ex.path}: {note}")
        known_env = {k: v for k, v in env.items() if v != "<valueFrom>"}
        vars = Vars({k: Var(v) for k, v in known_env.items()}, kubelet=known_env)
        r = extract_shell(
            text,
            self.ex.path,
            rowmap=rmap,
            host_format="k8s",
            group=self.group,
            vars=vars,
            suppressions=False,
        )
        self.ex.findings.extend(r.findings)
        self.ex.notes.extend(r.notes)
        for cmd in r.commands:
            cmd.env = {**env, **cmd.env}
            cmd.env_spans = {**env_spans, **cmd.env_spans}
            cmd.context = {**ctx, **cmd.context}
            self._configs(cmd, c)
            self.ex.commands.append(cmd)

    def _emit(self, tokens, span, env, env_spans, ctx, c: YNode) -> None:
        cmd = Command(
            self.ex.path,
            "k8s",
            tokens,
            span,
            env=env,
            env_spans=env_spans,
            group=self.group,
            context=ctx,
        )
        self._configs(cmd, c)
        self.ex.commands.append(cmd)

    def _configs(self, cmd: Command, c: YNode) -> None:
        texts = [t.text for t in cmd.tokens]
        for i, t in enumerate(texts):
            path = (
                texts[i + 1]
                if t == "--config" and i + 1 < len(texts)
                else (t.split("=", 1)[1] if t.startswith("--config=") else None)
            )
            if path:
                found = self.configtext_of(path, c.get("volumeMounts"))
                if found:
                    cmd.config_files[path] = found[2]
                    cmd.context.setdefault("config_sources", {})[path] = f"{found[0]}/{found[1]}"


def extract_k8s(docs: list[tuple[int, YNode]], ex: Extraction) -> None:
    configmaps: dict[str, dict[str, YNode]] = {}
    for _, d in docs:
        if d.text("kind") == "ConfigMap" and d.path("metadata", "name") is not None:
            data = d.get("data")
            configmaps[d.path("metadata", "name").value] = {
                k.value: v
                for k, v in (data.value if data is not None and data.kind == "map" else [])
                if k.kind == "str" and v.kind == "str"
            }
    for i, d in docs:
        kind, api = d.text("kind") or "", d.text("apiVersion") or ""
        meta_name = d.path("metadata", "name")
        name = meta_name.value if meta_name is not None and meta_name.kind == "str" else ""
        base = {"k8s_kind": kind, "doc_index": i, "k8s_name": name}
        if kind == "DynamoGraphDeployment":
            from hicachectl.lint.extract.yaml_dgd import extract_dgd

            extract_dgd(d, i, api, name, configmaps, ex, base)
        elif kind in _POD_SPEC:
            spec = d.path(*_POD_SPEC[kind])
            if spec is None:
                continue
            group = f"{ex.path}#{i}"
            replicas = int_of(d.path("spec", "replicas"))
            if replicas is not None:
                base["replicas"] = replicas
            pod = _Pod(ex, configmaps, spec.get("volumes"), group, base)
            for c in (spec.get("containers") or spec).items():
                if c.kind == "map":
                    pod.container(c, {}, {}, {"container": c.text("name") or ""})
        elif kind == "ConfigMap":
            configmap_configs(d, i, ex)
        else:  # LeaderWorkerSet, KServe, Ray, Argo, ...: any mapping with containers
            from hicachectl.lint.extract.yaml_generic import extract_generic

            extract_generic(d, i, configmaps, ex, base)
        _annotation_suppressions(d, ex)
    link_mounted_configs(ex)


def _annotation_suppressions(d: YNode, ex: Extraction) -> None:
    """``metadata.annotations["hicachectl.io/ignore"]: "HC301,HC405"`` covers the document."""
    codes = d.path("metadata", "annotations")
    text = codes.text("hicachectl.io/ignore") if codes is not None else None
    if text:
        parsed = tuple(c.strip() for c in text.replace(" ", ",").split(",") if c.strip())
        ex.suppressions.extend(
            Suppression(parsed, ln, "annotation hicachectl.io/ignore")
            for ln in range(d.line, d.end_line + 1)
        )
