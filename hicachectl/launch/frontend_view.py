"""Does the frontend see every planned worker?  What "ready" means for the deployment.

``GET /v1/models/<name>/ready`` turns 200 as soon as each worker *type* is present, not each
worker: with two replicas it can say ready while the second one is still unknown.  Observed
on 1.6.1 (a CI failure): for prefill/decode it also says ready before the frontend's prefill
router is built, and a chat request sent in that gap gets 503 "no backend worker available".
So the frontend counts as ready only when, besides that 200:

* the ``/ready`` body counts at least the planned workers of each type (``aggregated``, or
  ``prefill`` and ``decode``);
* with ``--router-mode kv``: the KV router lists every planned worker in ``/metrics``
  (``dynamo_component_router_worker_registered{worker_type=…,router_worker_id=…} 1``; the
  router files aggregated workers under ``decode``), which is when it can route to them;
* disaggregated: the frontend has logged ``Prefill router target activated`` (the prefill
  router takes requests only from then on; the round-robin one has no metric to show it),
  unless its ``DYN_LOG`` hides that INFO line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import NamedTuple

from hicachectl.launch.ansi import strip_ansi
from hicachectl.launch.mocker import opt_value

REGISTERED = "dynamo_component_router_worker_registered"
ACTIVATED = "Prefill router target activated"  # an INFO line of this target:
ACTIVATION_TARGET = "dynamo_llm::kv_router::prefill_router::activation"
VERBOSE_ENOUGH = ("info", "debug", "trace")
_SAMPLE = re.compile(r"^(?P<name>[A-Za-z_:][\w:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


class Expectation(NamedTuple):
    """What the frontend must see: planned worker processes per type, and how it routes."""

    workers: dict[str, int]  # "aggregated" | "prefill" | "decode" -> processes
    kv_routed: bool = False
    logs_activation: bool = True  # the frontend's log level shows the activation line

    @property
    def disaggregated(self) -> bool:
        return self.workers.get("prefill", 0) > 0

    @property
    def waits_for_activation(self) -> bool:
        return self.disaggregated and self.logs_activation

    def describe(self) -> str:
        """One line for ``--dry-run``: what the frontend must see besides the 200."""
        seen = ", ".join(f"{n} {kind}" for kind, n in sorted(self.workers.items()))
        text = f"the frontend sees {seen or 'no worker'}"
        if self.kv_routed:
            text += " (KV router: each registered in /metrics)"
        if self.waits_for_activation:
            text += "; prefill router activated (frontend log)"
        return text

    def router_counts(self) -> dict[str, int]:
        """The same counts under the KV router's worker types (aggregated is ``decode``)."""
        out: dict[str, int] = {}
        for kind, n in self.workers.items():
            key = "decode" if kind == "aggregated" else kind
            out[key] = out.get(key, 0) + n
        return out


def logs_at_info(dyn_log: str | None, target: str = ACTIVATION_TARGET) -> bool:
    """Whether a frontend with ``DYN_LOG=dyn_log`` writes INFO lines of ``target``.
    ``DYN_LOG`` is a tracing filter: ``level`` and ``target=level`` directives, comma-separated
    (the longest matching target wins; unset means ``info``)."""
    level, best = "info", -1
    for directive in (dyn_log or "").split(","):
        directive = directive.strip().lower()
        if not directive:
            continue
        name, eq, value = directive.rpartition("=")
        if not eq:
            if best < 0:
                level = directive
        elif (target == name or target.startswith(name + "::")) and len(name) > best:
            level, best = value, len(name)
    return level in VERBOSE_ENOUGH


def expectation(
    roles: Iterable[str], router_mode: str | None, dyn_log: str | None = None
) -> Expectation:
    """From the children's roles (``worker``, ``prefill``, ``decode``; the frontend ignored),
    the frontend's router mode (``--router-mode`` or ``DYN_ROUTER_MODE``) and its
    ``DYN_LOG``."""
    counts: dict[str, int] = {}
    for role in roles:
        if role == "frontend":
            continue
        kind = "aggregated" if role == "worker" else role
        counts[kind] = counts.get(kind, 0) + 1
    return Expectation(
        counts,
        kv_routed=(router_mode or "").strip().lower() == "kv",
        logs_activation=logs_at_info(dyn_log),
    )


def ready_body_counts(body: dict | None) -> dict[str, int]:
    """Workers per type in a ``/v1/models/<m>/ready`` body, summed over namespaces."""
    counts: dict[str, int] = {}
    spaces = (body or {}).get("namespaces")
    for space in spaces.values() if isinstance(spaces, dict) else ():
        types = space.get("worker_types") if isinstance(space, dict) else None
        for kind, info in types.items() if isinstance(types, dict) else ():
            n = info.get("workers") if isinstance(info, dict) else None
            if isinstance(n, int):
                counts[kind] = counts.get(kind, 0) + n
    return counts


def router_registered(metrics_text: str) -> dict[str, int]:
    """Distinct workers (``router_worker_id``; DP ranks are one worker) per ``worker_type``
    that the KV router has registered, from Prometheus text."""
    seen: dict[str, set[str]] = {}
    for line in metrics_text.splitlines():
        if not line.startswith(REGISTERED):
            continue
        m = _SAMPLE.match(line)
        if not m or m["name"] != REGISTERED:
            continue
        try:
            if float(m["value"]) <= 0:
                continue
        except ValueError:
            continue
        labels = dict(_LABEL.findall(m["labels"] or ""))
        kind, wid = labels.get("worker_type"), labels.get("router_worker_id")
        if kind and wid:
            seen.setdefault(kind, set()).add(wid)
    return {k: len(v) for k, v in seen.items()}


def short_of(have: dict[str, int], want: dict[str, int]) -> list[str]:
    """``"prefill 0/1"``-style notes for every type with fewer workers than wanted."""
    return [f"{k} {have.get(k, 0)}/{n}" for k, n in sorted(want.items()) if have.get(k, 0) < n]


class FrontendGate:
    """The frontend's readiness beyond the 200: fed the frontend's log lines (``observe``)
    and asked with the ``/ready`` body in hand (``check``)."""

    def __init__(self, expect: Expectation, frontend: str = "frontend") -> None:
        self.expect = expect
        self.frontend = frontend
        self.activated = False
        self.waiting_for: list[str] = []  # why not yet, for the status line

    def observe(self, name: str, text: str) -> None:
        if name == self.frontend and not self.activated and ACTIVATED in text:
            self.activated = ACTIVATED in strip_ansi(text)

    def check(self, ready_body: dict | None, metrics: Callable[[], str] | None) -> bool:
        """``ready_body``: the 200 body of ``/ready`` (None when the name was found another
        way); ``metrics``: fetches the frontend's ``/metrics`` text."""
        why: list[str] = []
        if ready_body is not None:
            why += short_of(ready_body_counts(ready_body), self.expect.workers)
        if not why and self.expect.kv_routed and metrics is not None:
            lacking = short_of(router_registered(metrics()), self.expect.router_counts())
            why += [f"KV router {note}" for note in lacking]
        if not why and self.expect.waits_for_activation and not self.activated:
            why.append("prefill router not active")
        self.waiting_for = why
        return not why


def frontend_gate(children) -> FrontendGate | None:
    """The gate for a list of launch ``Child``-like objects (``name``, ``role``, ``argv``,
    ``env``): every planned worker, routed the way the frontend's argv or env says."""
    fe = next((c for c in children if c.role == "frontend"), None)
    if fe is None:
        return None
    mode = opt_value(fe.argv, "--router-mode") or fe.env.get("DYN_ROUTER_MODE")
    expect = expectation((c.role for c in children), mode, fe.env.get("DYN_LOG"))
    return FrontendGate(expect, frontend=fe.name)
