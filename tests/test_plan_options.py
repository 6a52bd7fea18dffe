"""The plan options are declared once (commands/_plan_options.py) and reach plan_inputs.gather
under PlanRequest's names, from `plan` and `launch` alike."""

from __future__ import annotations

import pytest
from typer.main import get_command

from hicachectl.cli import build_app
from hicachectl.commands import _plan_options
from hicachectl.commands._plan_options import NAMES, plan_options
from hicachectl.profiles import PlanRequest


def _params(verb: str) -> dict[str, object]:
    group = get_command(build_app(verb))
    return {p.name: p for p in group.commands[verb].params}


def test_every_name_is_a_plan_request_field_or_alias():
    known = set(PlanRequest.model_fields)
    known |= {f.alias for f in PlanRequest.model_fields.values() if f.alias}
    assert set(NAMES) <= known
    assert "profile" not in NAMES  # handed over on its own, as gather's second argument


@pytest.mark.parametrize("verb", ["plan", "launch"])
def test_both_verbs_offer_every_plan_option(verb):
    params = _params(verb)
    for name in (*NAMES, "profile"):
        assert name in params, name
        assert params[name].opts == ["--" + name.replace("_", "-")]
        assert params[name].default is None


@pytest.mark.parametrize("verb", ["plan", "launch"])
def test_values_reach_gather_under_plan_request_names(verb, monkeypatch, cli):
    import hicachectl.plan_inputs
    from hicachectl.errors import UsageError

    seen = {}

    def fake_gather(options, profile=None):
        seen.update(options=options, profile=profile)
        raise UsageError("stop here")

    monkeypatch.setattr(hicachectl.plan_inputs, "gather", fake_gather)
    args = ["--tp", "2", "--model-config", "c.json", "--profile", "dev", "--page-size", "32"]
    r = cli(verb, *args, *(["--dry-run"] if verb == "launch" else []))
    assert r.exit_code == 2 and "stop here" in r.stderr
    assert seen["profile"] == "dev"
    given = {k: v for k, v in seen["options"].items() if v is not None}
    assert given == {"tp": 2, "model_config": "c.json", "page_size": 32}
    assert set(seen["options"]) == set(NAMES)


def test_panels_name_the_verb():
    plan, launch = _params("plan"), _params("launch")
    assert plan["tp"].rich_help_panel == _plan_options.DEPLOYMENT
    assert launch["page_size"].rich_help_panel == _plan_options.HICACHE + " (as for plan)"


def test_a_command_without_the_parameters_is_refused():
    with pytest.raises(TypeError, match="needs 'options' and 'profile'"):

        @plan_options()
        def command(fmt: str = "text") -> int:
            return 0
