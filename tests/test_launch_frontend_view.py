"""The frontend sees every planned worker: decisions on bodies, metrics and log lines exactly as
Dynamo 1.6.1's frontend produced them (captured from a frontend with mockers on loopback)."""

from __future__ import annotations

from hicachectl.launch import readiness
from hicachectl.launch.frontend_view import (
    FrontendGate,
    expectation,
    ready_body_counts,
    router_registered,
)

PD_READY = {
    "model": "tiny",
    "ready": True,
    "namespaces": {
        "dynamo": {
            "ready": True,
            "worker_types": {
                "decode": {"workers": 1, "needs": [["prefill"]]},
                "prefill": {"workers": 1, "needs": [["decode"]]},
            },
            "present": ["decode", "prefill"],
            "missing_worker_types": [],
        }
    },
}
KV_ONE_OF_TWO = {
    "model": "tiny",
    "ready": True,
    "namespaces": {
        "dynamo": {
            "ready": True,
            "worker_types": {"aggregated": {"workers": 1, "needs": []}},
            "present": ["aggregated"],
            "missing_worker_types": [],
        }
    },
}
# /metrics at the moment /ready first said 200 for prefill/decode: only decode is routed to.
METRICS_DECODE_ONLY = """\
# HELP dynamo_component_router_worker_registered Worker registered with the router
# TYPE dynamo_component_router_worker_registered gauge
dynamo_frontend_model_ready{model="tiny"} 1
dynamo_component_router_overlap_blocks_lost_count{dynamo_component="backend",dynamo_namespace="dynamo",router_id="1520",worker_id="d3136a7fb0f90162",worker_type="prefill"} 0
dynamo_component_router_worker_registered{dp_rank="0",dynamo_component="backend",dynamo_namespace="dynamo",router_worker_id="9925407630368110622",worker_id="d3136a7fb0f90162",worker_type="decode"} 1
"""
METRICS_BOTH = (
    METRICS_DECODE_ONLY
    + 'dynamo_component_router_worker_registered{dp_rank="0",dynamo_component="backend",'
    'dynamo_namespace="dynamo",router_worker_id="13434785636000820969",'
    'worker_id="d3136a7fb0f90162",worker_type="prefill"} 1\n'
)
ACTIVATED_LINE = (
    "\x1b[2m2026-11-23T05:28:59.487869Z\x1b[0m \x1b[32m INFO\x1b[0m "
    "\x1b[2mdynamo_llm::kv_router::prefill_router::activation\x1b[0m\x1b[2m:\x1b[0m "
    "Prefill router target activated model_name=tiny-pd namespace=dynamo"
)


def test_expected_workers_and_router_types():
    pd = expectation(["frontend", "prefill", "decode"], "kv")
    assert pd.workers == {"prefill": 1, "decode": 1} and pd.kv_routed and pd.disaggregated
    agg = expectation(["worker", "worker", "frontend"], "KV")
    assert agg.workers == {"aggregated": 2} and agg.router_counts() == {"decode": 2}
    assert not expectation(["worker", "frontend"], "round-robin").kv_routed
    assert not expectation(["worker"], None).disaggregated


def test_body_counts_and_router_registrations():
    assert ready_body_counts(PD_READY) == {"decode": 1, "prefill": 1}
    assert ready_body_counts({"ready": True}) == {}
    assert router_registered(METRICS_DECODE_ONLY) == {"decode": 1}
    assert router_registered(METRICS_BOTH) == {"decode": 1, "prefill": 1}
    # DP ranks of one worker are one worker; a withdrawn registration (0) does not count
    dp = "\n".join(
        f'dynamo_component_router_worker_registered{{dp_rank="{r}",router_worker_id="7",'
        f'worker_type="decode"}} 1'
        for r in range(2)
    )
    gone = 'dynamo_component_router_worker_registered{router_worker_id="8",worker_type="decode"} 0'
    assert router_registered(dp + "\n" + gone) == {"decode": 1}


def test_prefill_decode_waits_for_the_router_and_the_activation():
    gate = FrontendGate(expectation(["frontend", "prefill", "decode"], "kv"))
    assert not gate.check(PD_READY, lambda: METRICS_DECODE_ONLY)
    assert gate.waiting_for == ["KV router prefill 0/1"]
    assert not gate.check(PD_READY, lambda: METRICS_BOTH)
    assert gate.waiting_for == ["prefill router not active"]
    gate.observe("decode-0", ACTIVATED_LINE)  # only the frontend's log counts
    assert not gate.activated
    gate.observe("frontend", ACTIVATED_LINE)
    assert gate.check(PD_READY, lambda: METRICS_BOTH) and gate.waiting_for == []


def test_two_replicas_need_both_in_the_ready_body():
    gate = FrontendGate(expectation(["frontend", "worker", "worker"], "kv"))
    assert not gate.check(KV_ONE_OF_TWO, lambda: METRICS_BOTH)
    assert gate.waiting_for == ["aggregated 1/2"]
    two = {"namespaces": {"dynamo": {"worker_types": {"aggregated": {"workers": 2}}}}}
    metrics_two = METRICS_DECODE_ONLY + METRICS_DECODE_ONLY.replace("99254", "11111")
    assert gate.check(two, lambda: metrics_two)


def test_round_robin_never_asks_for_metrics():
    gate = FrontendGate(expectation(["frontend", "worker"], "round-robin"))

    def no_metrics():
        raise AssertionError("round-robin has no router registrations to read")

    assert gate.check(KV_ONE_OF_TWO, no_metrics)


def test_ready_check_holds_the_frontend_until_the_gate_opens():
    answers = {"http://f:1/v1/models/tiny/ready": (200, PD_READY)}
    metrics = {"text": METRICS_DECODE_ONLY}
    asked = []

    def get_text(url):
        asked.append(url)
        return metrics["text"]

    gate = FrontendGate(expectation(["frontend", "prefill", "decode"], "kv"))
    check = readiness.make_ready_check(
        {"frontend": ("frontend", "http://f:1/v1/models/tiny/ready")},
        get=answers.__getitem__,
        gate=gate,
        get_text=get_text,
    )
    assert check({"frontend"}) == set() and asked == ["http://f:1/metrics"]
    metrics["text"] = METRICS_BOTH
    gate.observe("frontend", ACTIVATED_LINE)
    assert check({"frontend"}) == {"frontend"}


def test_gate_from_the_launch_children_and_the_dry_run_line(tmp_path):
    from launch_plans import make_plan

    from hicachectl.launch.frontend_view import frontend_gate
    from hicachectl.launch.specs import Settings, build_children

    s = Settings(python="python", run_dir=tmp_path, engine="mocker", loopback=True)
    pd = build_children(
        make_plan(http_port=8000, workers=0, prefill_workers=2, decode_workers=1), s, {}
    )
    gate = frontend_gate(pd)
    assert gate.expect.workers == {"prefill": 2, "decode": 1} and gate.expect.kv_routed
    assert gate.expect.describe() == (
        "the frontend sees 1 decode, 2 prefill (KV router: each registered in /metrics); "
        "prefill router activated (frontend log)"
    )
    one = frontend_gate(build_children(make_plan(http_port=8000, workers=1), s, {}))
    assert one.expect.describe() == "the frontend sees 1 aggregated"  # round-robin
    # DYN_ROUTER_MODE in the frontend's environment counts like --router-mode

    kids = build_children(make_plan(http_port=8000, workers=1), s, {})
    kids = [c._replace(argv=c.argv[:3], env={"DYN_ROUTER_MODE": "kv"}) if c.role == "frontend"
            else c for c in kids]  # fmt: skip
    assert frontend_gate(kids).expect.kv_routed


def test_dyn_log_that_hides_the_activation_line_is_not_waited_for():
    from hicachectl.launch.frontend_view import logs_at_info

    assert logs_at_info(None) and logs_at_info("debug") and logs_at_info("INFO")
    assert not logs_at_info("warn") and not logs_at_info("error")
    assert logs_at_info("warn,dynamo_llm=info")  # a directive for the target's crate
    assert logs_at_info("warn,dynamo_llm::kv_router=debug")
    assert not logs_at_info("info,dynamo_llm::kv_router=warn")
    assert not logs_at_info("info,dynamo_llm=debug,dynamo_llm::kv_router=error")
    assert logs_at_info("info,dynamo_runtime=warn")  # another target: default applies
    quiet = expectation(["frontend", "prefill", "decode"], "kv", "warn")
    gate = FrontendGate(quiet)
    assert gate.check(PD_READY, lambda: METRICS_BOTH)  # the KV router counts still apply
    assert not gate.check(PD_READY, lambda: METRICS_DECODE_ONLY)
    assert "prefill router activated" not in quiet.describe()
