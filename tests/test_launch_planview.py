"""planview, the stdlib checker of saved plans on ``launch --plan``'s light start path.

Its claim: whatever ``check`` accepts, ``Plan.model_validate`` accepts too, with the same
values (``to_plain(view) == model.model_dump()``), and launch builds the same children from
either form.  Proved on every bundled profile and several topologies, and on random mutations
of real plans (hypothesis); the committed schema is kept current here too.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import importlib.util
import io
import json

import pytest
from conftest import ROOT
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from launch_plans import make_plan
from pydantic import ValidationError

from hicachectl.launch import planview, runner
from hicachectl.launch.planview import check, to_plain
from hicachectl.launch.specs import build_children, launch_settings
from hicachectl.models import Plan

PROFILES = sorted(p.stem for p in (ROOT / "profiles").glob("*.toml"))
TOPOLOGIES = {
    "one-worker": {"workers": 1},
    "two-kv-replicas": {"workers": 2, "router_mode": "kv"},
    "prefill-decode": {"workers": 0, "prefill_workers": 1, "decode_workers": 1},
    "2p2d": {"workers": 0, "prefill_workers": 2, "decode_workers": 2},
}


@functools.cache
def profile_json(name: str) -> str:
    """``plan --profile NAME --format json``, through the CLI (cached: hypothesis reuses it)."""
    from hicachectl.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["plan", "--profile", name, "--format", "json"])
    assert code == 0, err.getvalue()
    return out.getvalue()


@functools.cache
def topology_json(name: str) -> str:
    return make_plan(http_port=18000, relocate_ports=True, **TOPOLOGIES[name]).model_dump_json()


def all_seeds() -> list[tuple[str, str]]:
    return [(f"profile:{n}", profile_json(n)) for n in PROFILES] + [
        (f"topology:{n}", topology_json(n)) for n in TOPOLOGIES
    ]


def both(data: object):
    """(planview's Records or None, the pydantic Plan or None) for the same data."""
    view, _why = check(copy.deepcopy(data))
    try:
        model = Plan.model_validate(copy.deepcopy(data))
    except ValidationError:
        model = None
    return view, model


# --------------------------------------------------------------------------- schema, real plans


def test_committed_schema_is_current():
    spec = importlib.util.spec_from_file_location("regen", ROOT / "scripts/regen_plan_schema.py")
    regen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(regen)  # type: ignore[union-attr]
    committed = (ROOT / "hicachectl/data/plan.schema.json").read_text(encoding="utf-8")
    assert committed == regen.render(), "run scripts/regen_plan_schema.py"
    assert planview.SCHEMA_PATH == str(ROOT / "hicachectl/data/plan.schema.json")


def test_every_bundled_profile_is_checked(cli):
    assert len(PROFILES) >= 6
    for name in PROFILES:
        r = cli("plan", "--profile", name, "--format", "json")
        assert r.exit_code == 0, r.stderr
        data = json.loads(r.stdout)
        view, why = check(data)
        assert view is not None, f"{name}: {why}"
        model = Plan.model_validate(data)
        assert to_plain(view) == model.model_dump()
        # Records read like the Plan: the launch code's attribute paths work on both.
        assert [p.role for p in view.processes] == [p.role for p in model.processes]
        assert view.workers[0].per_rank.device_tokens == model.workers[0].per_rank.device_tokens
        assert view.hardware.host.memory_total_bytes == model.hardware.host.memory_total_bytes


@pytest.mark.parametrize("topology", sorted(TOPOLOGIES))
def test_topologies_are_checked(topology):
    data = json.loads(topology_json(topology))
    view, model = both(data)
    assert view is not None and model is not None
    assert to_plain(view) == model.model_dump()
    assert len(view.processes) == len(model.processes) >= 2


DEFAULTED = [
    ("adjustments",),
    ("warnings",),
    ("notes",),
    ("extra",),
    ("discovery",),
    ("fits",),
    ("processes", 0, "cwd"),
    ("processes", 0, "env"),
    ("processes", 1, "env"),
    ("processes", 1, "cwd"),
    ("processes", 1, "gpus"),
    ("processes", 1, "ports"),
    ("processes", 1, "served_model_name"),
    ("workers", 0, "tp"),
    ("workers", 0, "gpus"),
    ("host_budget", "reserve_bytes"),
    ("hardware", "notes"),
    ("hardware", "gpus", 0, "uuid"),
    ("model", "hybrid"),
    ("model", "attention"),
]


@pytest.mark.parametrize("path", DEFAULTED, ids=lambda p: ".".join(map(str, p)))
def test_missing_fields_get_pydantics_defaults(path):
    data = json.loads(topology_json("two-kv-replicas"))
    node = data
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    view, model = both(data)
    assert view is not None and model is not None
    assert to_plain(view) == model.model_dump()


def test_defaults_are_fresh_per_record():
    data = json.loads(topology_json("two-kv-replicas"))
    for p in data["processes"]:
        del p["env"]
    view, _ = check(data)
    assert view.processes[0].env == {} and view.processes[0].env is not view.processes[1].env


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("http_port",), "8000"),  # pydantic's lax mode takes these; the checker does not
        (("page_size",), 64.0),
        (("fits",), "true"),
        (("host_budget", "fraction"), "0.8"),
    ],
)
def test_coercible_values_fall_back(path, value):
    data = json.loads(topology_json("one-worker"))
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    view, model = both(data)
    assert view is None and model is not None


# --------------------------------------------------------------------------- soundness property

LITERALS = {"role", "discovery", "attention", "hybrid"}


def paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from paths(v, (*prefix, i))


def mutations(value, last) -> list:
    """(kind, replacement) candidates for one value; replacement None is deletion/null."""
    out = [("null", None), ("unknown", None)]
    if isinstance(value, bool):
        out += [("bool->int", int(value)), ("bool->str", str(value).lower())]
    elif isinstance(value, int):
        out += [("int->str", str(value)), ("int->float", float(value)), ("int->bool", True)]
        out += [("negative", -value - 1), ("int->float+", value + 0.5)]
    elif isinstance(value, float):
        out += [("float->int", int(value)), ("float->str", str(value)), ("negative", -1.0)]
    elif isinstance(value, str):
        out += [("str->int", 8081), ("str->list", [value])]
        if last in LITERALS:
            out += [("literal", "bogus"), ("literal-case", value.upper())]
    elif isinstance(value, list):
        out += [("list->dict", {str(i): v for i, v in enumerate(value)}), ("list->str", "x")]
        if value:
            out += [("list-item-null", [None, *value[1:]])]
    elif isinstance(value, dict):
        out += [("dict->list", list(value.values())), ("dict-extra", {**value, "zz_unknown": 1})]
    return out


@st.composite
def mutated_plans(draw):
    _name, text = draw(st.sampled_from(all_seeds()))
    data = json.loads(text)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from([p for p in paths(data) if p]))
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        last = path[-1]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[last]
            continue
        kind, new = draw(st.sampled_from(mutations(parent[last], last)))
        if kind == "unknown":
            target = parent[last] if isinstance(parent[last], dict) else parent
            if isinstance(target, dict):
                target["zz_unknown"] = draw(st.sampled_from([1, "x", None, [1]]))
            continue
        parent[last] = new
    return data


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_plans())
def test_check_is_sound_on_mutations(data):
    view, model = both(data)
    event(
        f"check {'accepts' if view else 'declines'}, pydantic {'accepts' if model else 'rejects'}"
    )
    if view is not None:
        assert model is not None, "planview accepted a plan pydantic rejects"
        assert to_plain(view) == model.model_dump()
    if model is None:
        assert view is None


# --------------------------------------------------------------------------- same launch output

SETTINGS = [
    (engine, loopback, discovery)
    for engine in ("sglang", "mocker")
    for loopback in (True, False)
    for discovery in ("file", "etcd")
]
USER_ENV = {"PATH": "/usr/bin:/bin", "HOME": "/home/op", "HF_TOKEN": "hf_secret", "LANG": "C"}


@pytest.mark.parametrize("seed", ["profile:dev", "profile:kv-routing-2-workers", *[
    f"topology:{n}" for n in sorted(TOPOLOGIES)]])  # fmt: skip
def test_same_children_and_dry_run_from_either_form(seed, tmp_path):
    kind, name = seed.split(":")
    data = json.loads(profile_json(name) if kind == "profile" else topology_json(name))
    view, model = both(data)
    assert view is not None and model is not None
    for engine, loopback, discovery in SETTINGS:
        s = launch_settings(
            python="/opt/dynamo/bin/python",
            run_dir=str(tmp_path / "run"),
            engine=engine,
            discovery=discovery,
            plan_discovery=view.discovery,
            loopback=loopback,
            speedup_ratio=2.5,
            env=USER_ENV,
            pid=1234,
        )
        sv, sm = runner.mocker_model(view, s), runner.mocker_model(model, s)
        assert sv == sm
        kids_v, kids_m = build_children(view, sv, USER_ENV), build_children(model, sm, USER_ENV)
        assert kids_v == kids_m, (engine, loopback, discovery)
        text = runner.dry_run_text(kids_v, USER_ENV, sv)
        assert text == runner.dry_run_text(kids_m, USER_ENV, sm)
        assert "hf_secret" not in text
    assert runner.plan_data(view) == runner.plan_data(model)
    assert json.dumps(runner.plan_data(view), sort_keys=True) == json.dumps(
        runner.plan_data(model), sort_keys=True
    )


def test_extra_key_named_like_a_plan_method(tmp_path):
    data = json.loads(topology_json("one-worker"))
    data["model_dump_json"] = "hand-written note"
    view, model = both(data)
    assert view is not None and model is not None
    assert to_plain(view) == model.model_dump()
    assert runner.plan_data(view) == runner.plan_data(model)


def test_whole_numbers_in_float_fields_are_floats():
    data = json.loads(topology_json("one-worker"))
    data["workers"][0]["per_rank"]["hicache_ratio"] = 4
    data["host_budget"]["fraction"] = 1
    view, model = both(data)
    assert view is not None and model is not None
    assert to_plain(view) == model.model_dump()  # holds: 4 == 4.0
    assert json.dumps(runner.plan_data(view)) == json.dumps(runner.plan_data(model))
