"""Where ``launch`` gets its Plan: a saved ``plan --format json`` file, or the very same plan
code ``hicachectl plan`` runs (``plan_inputs.gather`` + ``plan_for``) on the same options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hicachectl.errors import (
    InfeasibleError,
    InputError,
    UsageError,
    format_validation_error,
    where,
)
from hicachectl.jsonfile import load_json_object
from hicachectl.models import Plan


def load_plan(path: str | Path) -> Plan:
    """Read and validate a saved plan; any problem is one ``file[:line]: key: message``."""
    source = Path(path)
    data = load_json_object(source, what="a plan written by hicachectl plan --format json")
    try:
        plan = Plan.model_validate(data)
    except ValidationError as exc:
        raise InputError(format_validation_error(exc, source)) from None
    if not any(p.role == "frontend" for p in plan.processes):
        raise InputError(where(source, "no frontend process in the plan", key="processes"))
    return plan


def plan_for_launch(
    plan_file: str | None, options: dict[str, Any], profile: str | None
) -> tuple[Plan, bool]:
    """(plan, reprobe): reprobe is True when the plan describes this machine as probed, so
    pre-flight should check that the host budget and GPUs still hold."""
    given = {k: v for k, v in options.items() if v is not None}
    if plan_file:
        if given or profile:
            names = ", ".join("--" + k.replace("_", "-") for k in sorted(given))
            raise UsageError(
                f"--plan takes a finished plan; drop {names or '--profile'} (or re-run plan)"
            )
        plan = load_plan(plan_file)
        if not plan.fits:
            raise InfeasibleError(
                where(
                    plan_file, "the plan does not fit this host (fits: false); re-plan", key="fits"
                )
            )
        return plan, plan.hardware.source == "probe"
    from hicachectl.plan_inputs import gather, plan_for

    if (options.get("prefill_workers") or options.get("decode_workers")) and options.get(
        "workers"
    ) is None:
        options = {**options, "workers": 0}  # disaggregated: no aggregated replicas unless asked
    inputs = gather(options, profile)
    if inputs.note:
        import sys

        sys.stderr.write(f"hicachectl: {inputs.note}\n")
    return plan_for(inputs), inputs.request.hardware is None
