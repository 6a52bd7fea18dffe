"""`hicachectl plan` end to end: bundled snapshots and profiles, the no-argument default with
and without NVML, SGLang's rewrites turned into adjustments, and bad input (one line, exit 2)."""

from __future__ import annotations

import json

import pytest

from hicachectl.models import HardwareSnapshot, HostMemory
from hicachectl.sglang.flags import sglang_table
from tests.conftest import ROOT
from tests.plan_helpers import GQA, MLA, write_model, write_snapshot

HW = ROOT / "profiles" / "hardware"
LLAMA_W = 16 * 10**9


def _json(r):
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


@pytest.mark.parametrize("snapshot", sorted(p.name for p in HW.glob("*.json")))
def test_every_bundled_snapshot_plans(cli, snapshot):
    p = _json(
        cli("plan", "--hardware", HW / snapshot, "--model", "Qwen/Qwen3-0.6B", "--format", "json")
    )
    hb = p["host_budget"]
    assert 0 < hb["pinned_bytes"] <= hb["budget_bytes"]
    for key in ("budget_bytes", "pinned_bytes", "ranks_on_host"):
        assert key in hb
    for w in p["workers"]:
        for key in ("device_tokens", "host_tokens", "hicache_size_gb", "hicache_ratio"):
            assert key in w["per_rank"]


def test_k8s_pod_snapshot_uses_the_cgroup_headroom(cli):
    snap = json.loads((HW / "k8s-pod-400gi-8xh100.json").read_text())["host"]
    headroom = snap["cgroup_limit_bytes"] - snap["cgroup_usage_bytes"]
    assert headroom < snap["memory_available_bytes"]
    p = _json(
        cli(
            "plan",
            "--hardware",
            HW / "k8s-pod-400gi-8xh100.json",
            "--model",
            "Qwen/Qwen3-0.6B",
            "--workers",
            "8",
            "--format",
            "json",
        )  # fmt: skip
    )
    assert p["host_budget"]["available_bytes"] == headroom
    assert p["host_budget"]["budget_bytes"] == int((headroom - 10 * (1 << 30)) * 0.8)
    assert p["host_budget"]["ranks_on_host"] == 8


@pytest.mark.parametrize("profile", sorted(p.stem for p in (ROOT / "profiles").glob("*.toml")))
def test_every_bundled_profile_plans(cli, profile):
    p = _json(cli("plan", "--profile", profile, "--format", "json"))
    assert p["host_budget"]["pinned_bytes"] <= p["host_budget"]["budget_bytes"]
    table = sglang_table(p["sglang_version"])
    for proc in p["processes"]:
        assert proc["argv"][0] == "python"
        if proc["role"] == "frontend":
            continue
        for tok in proc["argv"][3:]:
            if tok.startswith("--"):
                flag = table.by_opt.get(tok)
                assert flag is not None and flag.canonical == tok, tok


def test_production_profile_keeps_ratio_3(cli):
    p = _json(cli("plan", "--profile", "llama-3.1-8b-production", "--format", "json"))
    argv = p["processes"][0]["argv"]
    assert argv[argv.index("--hicache-ratio") + 1] == "3"
    assert argv[argv.index("--max-running-requests") + 1] == "256"
    assert "--max-num-seqs" not in argv
    assert argv[argv.index("--hicache-storage-backend") + 1] == "nixl"


def test_cli_overrides_the_profile(cli):
    p = _json(
        cli(
            "plan",
            "--profile",
            "dev",
            "--page-size",
            "32",
            "--http-port",
            "9001",
            "--format",
            "json",
        )
    )
    assert p["page_size"] == 32 and p["http_port"] == 9001
    assert p["processes"][-1]["argv"][-1] == "32"  # --kv-cache-block-size follows the page


def _no_gpu(monkeypatch):
    import hicachectl.probe as probe

    snap = HardwareSnapshot(
        hostname="laptop",
        gpus=[],
        host=HostMemory(memory_total_bytes=16 << 30, memory_available_bytes=8 << 30),
        notes=["no NVIDIA driver (NVML init failed: NVML Shared Library Not Found)"],
    )
    monkeypatch.setattr(probe, "probe", lambda *a, **k: snap)


def test_no_arguments_without_nvml_plans_the_dev_profile(cli, monkeypatch):
    _no_gpu(monkeypatch)
    r = cli("plan")
    assert r.exit_code == 0, r.output
    first = r.stderr.splitlines()[0]
    assert first.startswith("hicachectl: no NVIDIA driver or GPU found: planning the dev profile")
    assert "profiles/hardware/dev-h100-1x.json" in first
    assert "Qwen/Qwen3-0.6B" in r.stdout and "Host budget" in r.stdout
    assert "python -m dynamo.sglang" in r.stdout


def test_no_arguments_with_a_gpu_probes_this_machine(cli, monkeypatch):
    import hicachectl.probe as probe

    snap = HardwareSnapshot.model_validate(json.loads((HW / "l40s-1x-128g.json").read_text()))
    monkeypatch.setattr(probe, "probe", lambda *a, **k: snap)
    r = cli("plan", "--format", "json")
    assert r.exit_code == 0, r.output
    assert "on this machine" in r.stderr.splitlines()[0]
    assert json.loads(r.stdout)["hardware"]["hostname"] == snap.hostname


def test_options_without_hardware_or_gpu_are_a_usage_error(cli, monkeypatch):
    _no_gpu(monkeypatch)
    r = cli("plan", "--model", "Qwen/Qwen3-0.6B")
    assert r.exit_code == 2
    assert r.stderr.startswith("hicachectl: no GPU to plan for (no NVIDIA driver")
    assert "--hardware FILE" in r.stderr


# --------------------------------------------------------------------------- resolver


def _argv(p, role="worker"):
    return next(q["argv"] for q in p["processes"] if q["role"] == role)


def _value(argv, flag):
    return argv[argv.index(flag) + 1]


@pytest.mark.parametrize(
    ("asked", "flag", "value", "rule"),
    [
        (["--io-backend", "direct"], "--hicache-mem-layout", "page_first_direct", "R4"),
        (["--mem-layout", "page_first_direct"], "--hicache-io-backend", "direct", "R3"),
        (
            ["--storage-backend", "mooncake", "--mem-layout", "layer_first"],
            "--hicache-mem-layout",
            "page_first",
            "R5",
        ),
    ],
)
def test_rewrites_become_adjustments(cli, tmp_path, asked, flag, value, rule):
    snap = write_snapshot(tmp_path, gpus=1)
    cfg = write_model(tmp_path, "gqa", GQA, LLAMA_W)
    p = _json(cli("plan", "--hardware", snap, "--model-config", cfg, *asked, "--format", "json"))
    adj = [a for a in p["adjustments"] if a["flag"] == flag]
    assert len(adj) == 1 and adj[0]["value"] == value and adj[0]["rule"] == rule
    assert adj[0]["log"]  # SGLang's WARNING line, shown to the user
    assert _value(_argv(p), flag) == value


def test_mooncake_rewrite_keeps_sglangs_log_line(cli, tmp_path):
    snap = write_snapshot(tmp_path, gpus=1)
    cfg = write_model(tmp_path, "gqa", GQA, LLAMA_W)
    p = _json(cli("plan", "--hardware", snap, "--model-config", cfg, "--storage-backend", "mooncake",
                  "--mem-layout", "layer_first", "--format", "json"))  # fmt: skip
    assert p["adjustments"][0]["log"] == (
        "Mooncake/Ascend MemCache storage backend does not support layer_first layout, "
        "switching to page_first layout for kernel io backend"
    )
    assert any("MOONCAKE_MASTER" in w for w in p["warnings"])


def test_version_without_a_table_is_noted(cli, tmp_path):
    snap = write_snapshot(tmp_path, gpus=1)
    cfg = write_model(tmp_path, "gqa", GQA, LLAMA_W)
    r = cli(
        "plan",
        "--hardware",
        snap,
        "--model-config",
        cfg,
        "--sglang-version",
        "0.5.22",
        "--format",
        "json",
    )
    notes = _json(r)["notes"]
    assert (
        "sglang 0.5.22: no flag table of its own; its flags and rules are taken from 0.5.21"
        in notes
    )


@pytest.mark.parametrize("version", ["0.5.21", "0.5.23"])
def test_target_version_uses_the_canonical_enable_flag(cli, tmp_path, version):
    snap = write_snapshot(tmp_path, gpus=1)
    cfg = write_model(tmp_path, "gqa", GQA, LLAMA_W)
    p = _json(
        cli(
            "plan",
            "--hardware",
            snap,
            "--model-config",
            cfg,
            "--sglang-version",
            version,
            "--format",
            "json",
        )
    )
    argv = _argv(p)
    assert p["sglang_version"] == version
    assert "--enable-hierarchical-cache" in argv and "--enable-hicache" not in argv


def test_mla_tp8_on_h100_snapshot(cli, tmp_path):
    cfg = write_model(tmp_path, "mla", MLA, 31 * 10**9)
    p = _json(
        cli(
            "plan",
            "--hardware",
            HW / "h100-sxm-8x-2tb.json",
            "--model-config",
            cfg,
            "--tp",
            "8",
            "--format",
            "json",
        )
    )
    assert p["host_budget"]["ranks_on_host"] == 8
    assert p["workers"][0]["per_rank"]["kv_bytes_per_token"] == 576 * 27 * 2


def test_a_request_sglang_refuses_exits_2_with_its_message(cli, tmp_path):
    from hicachectl.errors import InputError
    from hicachectl.modelspec import load_model
    from hicachectl.plan import build_plan
    from hicachectl.probe import load_snapshot
    from hicachectl.profiles import PlanRequest

    snap = load_snapshot(write_snapshot(tmp_path, gpus=1))
    facts = load_model(None, write_model(tmp_path, "gqa", GQA, LLAMA_W))
    with pytest.raises(InputError) as exc:
        build_plan(PlanRequest(host_memory_mode="buffer_only"), snap, facts)
    assert exc.value.exit_code == 2
    assert str(exc.value) == (
        "sglang 0.5.21 would refuse to start (E8): ValueError: --hicache-host-memory-mode "
        "buffer_only requires a storage backend (--hicache-storage-backend): host memory is only "
        "a staging buffer and all cached data lives in storage."
    )


def test_bad_choice_is_argparses_message(cli, tmp_path):
    snap = write_snapshot(tmp_path, gpus=1)
    cfg = write_model(tmp_path, "gqa", GQA, LLAMA_W)
    r = cli("plan", "--hardware", snap, "--model-config", cfg, "--io-backend", "turbo")
    assert r.exit_code == 2
    assert r.stderr.startswith(
        "hicachectl: sglang 0.5.21 rejects the request: argument --hicache-io-backend: invalid choice: 'turbo'"
    )
    assert len(r.stderr.splitlines()) == 1


# --------------------------------------------------------------------------- bad input


def test_malformed_snapshot(cli, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"hostname": "x", "gpus": [}')
    r = cli("plan", "--hardware", bad, "--model", "Qwen/Qwen3-0.6B")
    assert r.exit_code == 2 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and str(bad) in r.stderr


def test_snapshot_missing_keys(cli, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"hostname": "x", "gpus": []}')
    r = cli("plan", "--hardware", bad, "--model", "Qwen/Qwen3-0.6B")
    assert r.exit_code == 2
    assert "host" in r.stderr and str(bad) in r.stderr


def test_config_missing_fields(cli, tmp_path):
    cfg = write_model(tmp_path, "broken", {"num_hidden_layers": 2, "hidden_size": 64}, 10**9)
    snap = write_snapshot(tmp_path, gpus=1)
    r = cli("plan", "--hardware", snap, "--model-config", cfg)
    assert r.exit_code == 2 and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and str(cfg) in lines[0] and "num_attention_heads" in lines[0]


def test_unknown_model(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    snap = write_snapshot(tmp_path, gpus=1)
    r = cli("plan", "--hardware", snap, "--model", "nobody/NoSuchModel-7B")
    assert r.exit_code == 2
    assert r.stderr.startswith("hicachectl: unknown model 'nobody/NoSuchModel-7B'")
    assert len(r.stderr.strip().splitlines()) == 1


def test_bad_option_values(cli, tmp_path):
    snap = write_snapshot(tmp_path, gpus=1)
    r = cli(
        "plan", "--hardware", snap, "--model", "Qwen/Qwen3-0.6B", "--host-memory-fraction", "1.5"
    )
    assert r.exit_code == 2
    assert (
        r.stderr == "hicachectl: --host-memory-fraction: Input should be less than or equal to 1\n"
    )
    r = cli("plan", "--hardware", snap, "--model", "Qwen/Qwen3-0.6B", "--sglang-version", "latest")
    assert r.exit_code == 2 and r.stderr.startswith("hicachectl: --sglang-version: ")
    r = cli("plan", "--hardware", snap, "--model", "Qwen/Qwen3-0.6B", "--prefill-workers", "1")
    assert r.exit_code == 2 and "go together" in r.stderr
    r = cli("plan", "--hardware", snap, "--model", "Qwen/Qwen3-0.6B", "--workers", "2",
            "--prefill-workers", "1", "--decode-workers", "1")  # fmt: skip
    assert r.exit_code == 2 and "cannot be planned together" in r.stderr
    r = cli("plan", "--hardware", snap, "--model", "Qwen/Qwen3-0.6B", "--format", "yaml")
    assert r.exit_code == 2


def test_both_size_and_ratio_warns_that_size_wins(cli):
    import json

    r = cli(
        "plan",
        "--profile",
        "dev",
        "--hicache-ratio",
        "2",
        "--hicache-size",
        "10",
        "--format",
        "json",
    )
    assert r.exit_code == 0, r.output
    plan = json.loads(r.stdout)
    assert any(
        w.startswith("both --hicache-size 10 and --hicache-ratio 2 given") for w in plan["warnings"]
    )
    assert plan["workers"][0]["per_rank"]["hicache_size_gb"] == 10


def test_a_gpu_less_snapshot_is_bad_input_like_a_gpu_less_machine(cli, tmp_path):
    data = json.loads((HW / "dev-h100-1x.json").read_text())
    data["gpus"] = []
    snap = tmp_path / "cpu-only.json"
    snap.write_text(json.dumps(data))
    r = cli("plan", "--hardware", str(snap), "--model", "Qwen/Qwen3-0.6B")
    assert r.exit_code == 2  # as with no driver: nothing to plan for, not a plan that does not fit
    assert (
        r.stderr
        == f"hicachectl: {snap}: gpus: no GPU in the hardware snapshot, nothing to plan for\n"
    )
