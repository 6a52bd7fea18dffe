"""From ``plan``/``launch`` options to a Plan: merge a profile with CLI values, pick the
hardware (``--hardware`` file, the profile's snapshot, or a probe), load the model facts.

With no options at all and no NVIDIA driver, the bundled dev profile is planned on the
bundled example machine, and :attr:`PlanInputs.note` says so (the CLI prints it first).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from hicachectl.errors import UsageError
from hicachectl.models import HardwareSnapshot, ModelFacts, Plan
from hicachectl.profiles import PlanRequest, bundled_dir, find_profile, load_profile, merge

DEV_PROFILE = "dev"


class PlanInputs(NamedTuple):  # a NamedTuple: defining a dataclass costs ~1 ms at start-up
    request: PlanRequest
    hardware: HardwareSnapshot
    model: ModelFacts
    profile_name: str | None = None
    note: str | None = None  # shown as the first line of output when set


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def gather(options: dict[str, Any], profile: str | None = None) -> PlanInputs:
    """Options use PlanRequest field names; None means "not given"."""
    given = _disaggregation(options)
    base: PlanRequest | None = None
    profile_name = None
    note = None
    if profile:
        path = find_profile(profile)
        prof, base = load_profile(path)
        profile_name = prof.name or path.stem
    elif not given:
        return _default_inputs()
    request = merge(base, given)
    hardware = _hardware(request)
    return PlanInputs(request, hardware, _model(request), profile_name, note)


def _disaggregation(options: dict[str, Any]) -> dict[str, Any]:
    """The given options, with the CLI's rules for --prefill-workers/--decode-workers."""
    given = {k: v for k, v in options.items() if v is not None}
    prefill, decode = given.get("prefill_workers"), given.get("decode_workers")
    if (prefill or decode) and "workers" not in given:
        given["workers"] = 0  # disaggregated: no aggregated replicas unless asked
    if (prefill or 0) + (decode or 0) > 0 and not (prefill and decode):
        raise UsageError(
            "--prefill-workers and --decode-workers go together (at least one of each)"
        )
    return given


def _default_inputs() -> PlanInputs:
    """No options: the dev profile, on this machine if it has a GPU, else on the example."""
    from hicachectl.probe import probe

    path = bundled_dir() / f"{DEV_PROFILE}.toml"
    prof, request = load_profile(path)
    snapshot = probe()
    if snapshot.gpus:
        request = request.model_copy(update={"hardware": None})
        note = f"no options given: planning the dev profile ({_rel(path)}) on this machine"
        return PlanInputs(request, snapshot, _model(request), prof.name, note)
    hardware = _hardware(request)
    note = (
        f"no NVIDIA driver or GPU found: planning the dev profile ({_rel(path)}) on the "
        f"bundled example machine {_rel(Path(request.hardware or ''))} "
        "(pass --hardware FILE or run on a GPU host for real numbers)"
    )
    return PlanInputs(request, hardware, _model(request), prof.name, note)


def _hardware(request: PlanRequest) -> HardwareSnapshot:
    if request.hardware:
        from hicachectl.probe import load_snapshot

        return load_snapshot(request.hardware)
    from hicachectl.probe import probe

    snapshot = probe()
    if not snapshot.gpus:
        reason = snapshot.notes[0] if snapshot.notes else "no NVIDIA GPU found"
        raise UsageError(
            f"no GPU to plan for ({reason.rstrip('.')}); pass --hardware FILE, e.g. "
            f"{_rel(bundled_dir() / 'hardware' / 'h100-sxm-8x-2tb.json')}"
        )
    return snapshot


def _model(request: PlanRequest) -> ModelFacts:
    from hicachectl.modelspec import load_model

    return load_model(request.model, request.model_config_path)


def plan_for(inputs: PlanInputs) -> Plan:
    from hicachectl.plan import build_plan

    plan = build_plan(inputs.request, inputs.hardware, inputs.model)
    if inputs.profile_name:
        plan = plan.model_copy(
            update={"extra": {**plan.extra, "profile_name": inputs.profile_name}}
        )
    return plan
