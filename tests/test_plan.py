"""`hicachectl plan` against hand calculations on made-up snapshots and configs: device tokens
within 1 %, --hicache-size exact, never more pinned than the budget (sglang-hicache.md §3)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.plan_helpers import (
    DSA,
    GPU_FREE,
    GQA,
    MHA,
    MLA,
    GiB,
    budget,
    device_tokens,
    largest_size,
    pad,
    write_model,
    write_snapshot,
)

LLAMA_W = 16 * 10**9


def plan_json(cli, *args):
    r = cli("plan", "--format", "json", *args)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def _value(argv, flag):
    return argv[argv.index(flag) + 1]


def check_budget(plan):
    hb = plan["host_budget"]
    pinned = sum(w["per_rank"]["host_bytes"] * w["ranks"] for w in plan["workers"])
    assert hb["pinned_bytes"] == pinned <= hb["budget_bytes"]


def test_gqa_tp1_explicit_mfs(cli, tmp_path):
    snap = write_snapshot(tmp_path, gpus=1)
    cfg = write_model(tmp_path, "gqa", GQA, LLAMA_W)
    p = plan_json(cli, "--hardware", snap, "--model-config", cfg, "--mem-fraction-static", "0.85")
    cell = 8 * (128 + 128) * 32 * 2  # KV heads × (K + V dims) × layers × bf16 = 131072
    dev = device_tokens(GPU_FREE, 0.85, LLAMA_W, cell, 64)
    b = budget(1000 * GiB)  # (1000 GiB − 10 GiB) × 0.8, one rank on the host
    size = largest_size(b, cell, 64)
    w = p["workers"][0]["per_rank"]
    assert w["kv_bytes_per_token"] == cell
    assert w["device_tokens"] == pytest.approx(dev, rel=0.01)
    assert w["hicache_size_gb"] == size
    assert w["host_tokens"] == pad(size * 10**9 // cell, 64)
    assert w["hicache_ratio"] == pytest.approx(w["host_tokens"] / w["device_tokens"], rel=1e-3)
    assert p["host_budget"]["budget_bytes"] == b
    assert p["host_budget"]["ranks_on_host"] == 1
    check_budget(p)
    argv = p["processes"][0]["argv"]
    assert argv[:3] == ["python", "-m", "dynamo.sglang"]
    assert argv[argv.index("--hicache-size") + 1] == str(size)
    assert "--mem-fraction-static" in argv and "--enable-hierarchical-cache" in argv
    assert _value(argv, "--model-path") == str(cfg.parent)  # only --model-config: its directory


def test_mha_tp2_default_mfs(cli, tmp_path):
    snap = write_snapshot(tmp_path, gpus=2)
    cfg = write_model(tmp_path, "mha", MHA, 700 * 10**6)
    p = plan_json(cli, "--hardware", snap, "--model-config", cfg, "--tp", "2")
    cell = (16 // 2) * (64 + 64) * 24 * 2  # 8 heads per rank × 128 × 24 layers × fp16
    # SGLang's default fraction for an 81920 MiB GPU: chunk 8192, graph bs 256,
    # reserved = 512 + 8192×1.5 + tp·pp/8×1024 + 256×2 + 58 prefill graph sizes × 8
    reserved = 512 + 8192 * 1.5 + 2 * 1 / 8 * 1024 + 256 * 2 + 58 * 8
    mfs = round((81920 - reserved) / 81920, 3)
    assert p["extra"]["mem_fraction_static"]["worker-0"] == mfs
    dev = device_tokens(GPU_FREE, mfs, 350 * 10**6, cell, 64)
    size = largest_size(budget(1000 * GiB) // 2, cell, 64)  # two ranks share the budget
    w = p["workers"][0]
    assert w["ranks"] == 2 and p["host_budget"]["ranks_on_host"] == 2
    assert w["per_rank"]["device_tokens"] == pytest.approx(dev, rel=0.01)
    assert w["per_rank"]["hicache_size_gb"] == size
    assert "--mem-fraction-static" not in p["processes"][0]["argv"]
    assert p["processes"][0]["env"]["CUDA_VISIBLE_DEVICES"] == "0,1"
    check_budget(p)


def test_mla_full_copy_per_rank(cli, tmp_path):
    snap = write_snapshot(tmp_path, gpus=4)
    cfg = write_model(tmp_path, "mla", MLA, 31 * 10**9)
    p = plan_json(
        cli, "--hardware", snap, "--model-config", cfg, "--tp", "4", "--mem-fraction-static", "0.8"
    )
    cell = (512 + 64) * 27 * 2  # MLA is not split over TP: 31104 bytes on every rank
    dev = device_tokens(GPU_FREE, 0.8, -(-31 * 10**9 // 4), cell, 64)
    size = largest_size(budget(1000 * GiB) // 4, cell, 64)
    w = p["workers"][0]["per_rank"]
    assert w["kv_bytes_per_token"] == cell
    assert w["device_tokens"] == pytest.approx(dev, rel=0.01)
    assert w["hicache_size_gb"] == size
    assert p["host_budget"]["pinned_bytes"] == 4 * pad(size * 10**9 // cell, 64) * cell
    check_budget(p)


def test_dsa_indexer_on_top(cli, tmp_path):
    snap = write_snapshot(tmp_path, gpus=1, avail=300 * GiB)
    cfg = write_model(tmp_path, "dsa", DSA, 31 * 10**9)
    p = plan_json(cli, "--hardware", snap, "--model-config", cfg, "--mem-fraction-static", "0.8")
    cell = (512 + 64) * 27 * 2
    indexer = (128 + 128 // 128 * 4) * (64 // 64) * 27  # 132 B per layer at page 64
    assert p["extra"]["indexer_bytes_per_token"] == indexer
    size = largest_size(budget(300 * GiB), cell, 64, indexer)
    w = p["workers"][0]["per_rank"]
    assert w["hicache_size_gb"] == size
    assert w["host_bytes"] == pad(size * 10**9 // cell, 64) * (cell + indexer)
    # the indexer is why this is one GB less than the KV pool alone would allow
    assert size < largest_size(budget(300 * GiB), cell, 64)
    check_budget(p)


def test_tp_pp_dp_ranks(cli, tmp_path):
    snap = write_snapshot(tmp_path, gpus=8)
    cfg = write_model(tmp_path, "gqa", GQA, LLAMA_W)
    p = plan_json(
        cli, "--hardware", snap, "--model-config", cfg, "--tp", "2", "--pp", "2", "--dp", "2"
    )
    w = p["workers"][0]
    assert (w["tp"], w["pp"], w["dp"], w["ranks"]) == (2, 2, 2, 8)
    assert p["host_budget"]["ranks_on_host"] == 8
    cell = (8 // 2) * 256 * (32 // 2) * 2  # 4 KV heads per rank, 16 layers per PP stage
    assert w["per_rank"]["kv_bytes_per_token"] == cell
    assert w["per_rank"]["hicache_size_gb"] == largest_size(budget(1000 * GiB) // 8, cell, 64)
    argv = p["processes"][0]["argv"]
    for flag, value in (("--tp-size", "2"), ("--pp-size", "2"), ("--dp-size", "2")):
        assert argv[argv.index(flag) + 1] == value
    assert "--tp" not in argv and "--pp" not in argv
    assert p["processes"][0]["env"]["CUDA_VISIBLE_DEVICES"] == "0,1,2,3,4,5,6,7"
    check_budget(p)


def test_replicas_share_the_host(cli, tmp_path):
    snap = write_snapshot(tmp_path, gpus=8)
    cfg = write_model(tmp_path, "gqa", GQA, LLAMA_W)
    p = plan_json(cli, "--hardware", snap, "--model-config", cfg, "--workers", "3", "--tp", "2")
    cell = 4 * 256 * 32 * 2
    size = largest_size(budget(1000 * GiB) // 6, cell, 64)  # 3 workers × 2 ranks
    assert [w["per_rank"]["hicache_size_gb"] for w in p["workers"]] == [size] * 3
    assert p["host_budget"]["ranks_on_host"] == 6
    workers = [q for q in p["processes"] if q["role"] == "worker"]
    assert [q["env"]["CUDA_VISIBLE_DEVICES"] for q in workers] == ["0,1", "2,3", "4,5"]
    assert [q["env"]["DYN_SYSTEM_PORT"] for q in workers] == ["8081", "8082", "8083"]
    for i, q in enumerate(workers):
        cfg_json = q["argv"][q["argv"].index("--kv-events-config") + 1]
        assert json.loads(cfg_json) == {
            "publisher": "zmq",
            "topic": "kv-events",
            "endpoint": f"tcp://*:{5557 + i}",
        }
        assert q["ports"] == {"system": 8081 + i, "kv_events": 5557 + i}
        assert q["env"]["DYN_DISCOVERY_BACKEND"] == "file"
    fe = p["processes"][-1]
    assert fe["name"] == "frontend" and fe["ports"] == {"http": 8000}
    assert fe["argv"] == [
        "python", "-m", "dynamo.frontend", "--http-port", "8000",
        "--router-mode", "kv", "--kv-cache-block-size", "64",
    ]  # fmt: skip
    assert fe["env"]["DYN_FILE_KV"] == workers[0]["env"]["DYN_FILE_KV"]
    assert "CUDA_VISIBLE_DEVICES" not in fe["env"]
    check_budget(p)


def test_replicas_with_dp_space_kv_event_ports(cli, tmp_path):
    snap = write_snapshot(tmp_path, gpus=4)
    cfg = write_model(tmp_path, "gqa", GQA, LLAMA_W)
    p = plan_json(cli, "--hardware", snap, "--model-config", cfg, "--workers", "2", "--dp", "2")
    ports = [q["ports"].get("kv_events") for q in p["processes"][:2]]
    assert ports == [5557, 5559]  # SGLang binds port + dp_rank, so 5558 is worker-0's


def test_ports_never_collide_with_the_frontend(cli, tmp_path):
    snap = write_snapshot(tmp_path, gpus=3)
    cfg = write_model(tmp_path, "gqa", GQA, LLAMA_W)
    p = plan_json(
        cli, "--hardware", snap, "--model-config", cfg, "--workers", "3", "--http-port", "8082"
    )
    ports = [port for q in p["processes"] for port in q["ports"].values()]
    assert len(ports) == len(set(ports))
    assert [q["ports"]["system"] for q in p["processes"][:3]] == [8081, 8083, 8084]


def test_prefill_decode(cli, tmp_path):
    snap = write_snapshot(tmp_path, gpus=4)
    cfg = write_model(tmp_path, "gqa", GQA, LLAMA_W)
    p = plan_json(
        cli, "--hardware", snap, "--model-config", cfg,
        "--prefill-workers", "1", "--decode-workers", "1", "--tp", "2",
    )  # fmt: skip
    assert [(w["name"], w["role"]) for w in p["workers"]] == [
        ("prefill-0", "prefill"),
        ("decode-0", "decode"),
    ]
    pre, dec, fe = p["processes"]
    assert pre["argv"][pre["argv"].index("--disaggregation-mode") + 1] == "prefill"
    assert pre["argv"][pre["argv"].index("--disaggregation-bootstrap-port") + 1] == "8998"
    assert pre["ports"]["bootstrap"] == 8998
    assert dec["argv"][dec["argv"].index("--disaggregation-mode") + 1] == "decode"
    assert "--disaggregation-decode-enable-radix-cache" in dec["argv"]  # else E1
    for q in (pre, dec):
        assert q["argv"][q["argv"].index("--host") + 1] == "0.0.0.0"
        assert "--disaggregation-transfer-backend" in q["argv"]
    assert fe["argv"][fe["argv"].index("--router-mode") + 1] == "kv"
    # decode's default fraction differs (activation = 2048 tokens, 10 GiB floor): more tokens
    mfs = p["extra"]["mem_fraction_static"]
    assert mfs["decode-0"] > mfs["prefill-0"]
    assert p["host_budget"]["ranks_on_host"] == 4
    check_budget(p)


def test_decode_without_hicache_pins_the_retraction_backup(tmp_path):
    from hicachectl.modelspec import load_model
    from hicachectl.plan import build_plan
    from hicachectl.probe import load_snapshot
    from hicachectl.profiles import PlanRequest

    snap = load_snapshot(write_snapshot(tmp_path, gpus=2))
    facts = load_model(None, write_model(tmp_path, "gqa", GQA, LLAMA_W))
    req = PlanRequest(workers=0, prefill_workers=1, decode_workers=1, decode_hicache=False)
    plan = build_plan(req, snap, facts)
    pre, dec = plan.workers
    cell = 8 * 256 * 32 * 2
    dev = dec.per_rank.device_tokens
    # ratio 0.2, raised to hold one max-length request: ceil_align(min(8192 − 1, dev), 64)
    ratio = max(0.2, -(-min(8192 - 1, dev) // 64) * 64 / dev)
    assert dec.per_rank.host_tokens == pad(int(dev * ratio), 64)
    assert dec.per_rank.hicache_size_gb == 0
    backup = dec.per_rank.host_tokens * cell
    assert pre.per_rank.hicache_size_gb == largest_size(budget(1000 * GiB) - backup, cell, 64)
    assert plan.host_budget.pinned_bytes == backup + pre.per_rank.host_bytes
    decode_argv = plan.processes[1].argv
    assert "--enable-hierarchical-cache" not in decode_argv
    assert "--disaggregation-decode-enable-radix-cache" not in decode_argv


def test_explicit_ratio(cli, tmp_path):
    snap = write_snapshot(tmp_path, gpus=1)
    cfg = write_model(tmp_path, "gqa", GQA, LLAMA_W)
    p = plan_json(cli, "--hardware", snap, "--model-config", cfg, "--hicache-ratio", "1.5")
    w = p["workers"][0]["per_rank"]
    assert w["hicache_size_gb"] == 0
    assert w["host_tokens"] == pad(int(w["device_tokens"] * 1.5), 64)
    argv = p["processes"][0]["argv"]
    assert argv[argv.index("--hicache-ratio") + 1] == "1.5" and "--hicache-size" not in argv
    assert any("ratio 1.50 < 2" in x for x in p["warnings"])
    p = plan_json(cli, "--hardware", snap, "--model-config", cfg, "--hicache-ratio", "0.5")
    w = p["workers"][0]["per_rank"]
    expected = (
        f"worker-0: HiCache kv host pool ({w['host_tokens']} tokens) is smaller than the device "
        f"pool ({w['device_tokens']} tokens);L2 cache effectiveness is reduced.Consider "
        "increasing --hicache-ratio (or --hicache-size) for higher L2 cache hit rate."
    )
    assert expected in p["warnings"]


def test_explicit_size_fits_and_overflows(cli, tmp_path):
    snap = write_snapshot(tmp_path, gpus=2, avail=500 * GiB)
    cfg = write_model(tmp_path, "gqa", GQA, LLAMA_W)
    p = plan_json(cli, "--hardware", snap, "--model-config", cfg, "--hicache-size", "100")
    cell = 131072
    assert p["workers"][0]["per_rank"]["host_tokens"] == pad(100 * 10**9 // cell, 64)
    argv = p["processes"][0]["argv"]
    assert argv[argv.index("--hicache-size") + 1] == "100"
    r = cli("plan", "--hardware", snap, "--model-config", cfg, "--workers", "2",
            "--hicache-size", "250", "--format", "json")  # fmt: skip
    assert r.exit_code == 1 and r.stdout == ""
    pinned = 2 * pad(250 * 10**9 // cell, 64) * cell
    b = budget(500 * GiB)
    over = pinned - b
    assert r.stderr == (
        f"hicachectl: --hicache-size 250 GB × 2 ranks = {pinned / 1e9:.1f} GB > "
        f"{b / 1e9:.1f} GB host budget (over by {over / 1e9:.1f} GB, {100 * over / b:.1f} %)\n"
    )


def test_too_little_dram(cli, tmp_path):
    cfg = write_model(tmp_path, "gqa", GQA, LLAMA_W)
    snap = write_snapshot(tmp_path, gpus=1, avail=9 * GiB)
    r = cli("plan", "--hardware", snap, "--model-config", cfg)
    assert r.exit_code == 1
    assert "within SGLang's 10 GiB reserve" in r.stderr
    snap = write_snapshot(tmp_path, gpus=1, avail=11 * GiB)  # (1 GiB) × 0.8 < 1 GB
    r = cli("plan", "--hardware", snap, "--model-config", cfg)
    assert r.exit_code == 1
    assert "less than the smallest --hicache-size (1 GB)" in r.stderr


def test_too_few_gpus(cli, tmp_path):
    cfg = write_model(tmp_path, "gqa", GQA, LLAMA_W)
    snap = write_snapshot(tmp_path, gpus=4)
    r = cli("plan", "--hardware", snap, "--model-config", cfg, "--workers", "3", "--tp", "2")
    assert r.exit_code == 1
    assert r.stderr == (
        "hicachectl: the plan needs 6 GPUs (3 worker(s) × 2 GPUs each = tp × pp × dp) but the "
        "machine has 4: at most 2 worker(s) of 2 GPUs fit\n"
    )
    r = cli("plan", "--hardware", snap, "--model-config", cfg, "--tp", "8")
    assert r.exit_code == 1 and "not even one worker of 8 GPUs fits" in r.stderr


def test_weights_do_not_fit(cli, tmp_path):
    cfg = write_model(tmp_path, "big", GQA, 200 * 10**9)
    snap = write_snapshot(tmp_path, gpus=1)
    r = cli("plan", "--hardware", snap, "--model-config", cfg)
    assert r.exit_code == 1
    assert "worker-0: weights of 186.3 GiB per rank exceed the 78.0 GiB free" in r.stderr


def test_cgroup_limited_pod(cli, tmp_path):
    cfg = write_model(tmp_path, "gqa", GQA, LLAMA_W)
    snap = write_snapshot(tmp_path, gpus=8, avail=1500 * GiB, cgroup=400 * GiB, usage=30 * GiB)
    p = plan_json(cli, "--hardware", snap, "--model-config", cfg, "--workers", "8")
    hb = p["host_budget"]
    assert hb["available_bytes"] == 370 * GiB  # the pod's headroom, not the node's DRAM
    assert hb["budget_bytes"] == budget(370 * GiB)
    cell = 131072
    assert p["workers"][0]["per_rank"]["hicache_size_gb"] == largest_size(
        budget(370 * GiB) // 8, cell, 64
    )
    check_budget(p)


def test_plan_from_options(tmp_path):
    from hicachectl.plan import plan_from_options
    from hicachectl.probe import load_snapshot

    snap = load_snapshot(write_snapshot(tmp_path, gpus=2))
    plan = plan_from_options(
        hardware=snap, model_config=str(write_model(tmp_path, "gqa", GQA, LLAMA_W)), workers=2
    )
    assert [w.name for w in plan.workers] == ["worker-0", "worker-1"]
    assert plan.extra["request"]["workers"] == 2


def _facts(config, weights):
    from hicachectl.modelspec import facts_from_config

    return facts_from_config(config, name="m", weight_bytes=weights)


@settings(max_examples=60, deadline=None)
@given(
    avail_gib=st.integers(min_value=9, max_value=4000),
    limit_gib=st.one_of(st.none(), st.integers(min_value=20, max_value=2000)),
    workers=st.integers(min_value=1, max_value=4),
    tp=st.sampled_from([1, 2]),
    kind=st.sampled_from(["gqa", "mha", "mla", "dsa"]),
    fraction=st.floats(min_value=0.05, max_value=1.0),
    page=st.sampled_from([1, 16, 64]),
)
def test_never_more_pinned_than_the_budget(avail_gib, limit_gib, workers, tp, kind, fraction, page):
    from hicachectl.errors import InfeasibleError
    from hicachectl.models import HardwareSnapshot
    from hicachectl.plan import build_plan
    from hicachectl.profiles import PlanRequest

    config = {"gqa": GQA, "mha": MHA, "mla": MLA, "dsa": DSA}[kind]
    facts = _facts(config, 4 * 10**9)
    hw = HardwareSnapshot.model_validate(
        {
            "hostname": "h",
            "gpus": [
                {
                    "index": i,
                    "name": "g",
                    "memory_total_bytes": 80 * GiB,
                    "memory_free_bytes": 78 * GiB,
                }
                for i in range(8)
            ],
            "host": {
                "memory_total_bytes": 4096 * GiB,
                "memory_available_bytes": avail_gib * GiB,
                "cgroup_limit_bytes": None if limit_gib is None else limit_gib * GiB,
                "cgroup_usage_bytes": None if limit_gib is None else 5 * GiB,
            },
        }
    )
    req = PlanRequest(workers=workers, tp=tp, page_size=page, host_memory_fraction=fraction)
    try:
        plan = build_plan(req, hw, facts)
    except InfeasibleError:
        return
    hb = plan.host_budget
    assert hb.pinned_bytes <= hb.budget_bytes
    share = hb.budget_bytes // hb.ranks_on_host
    for w in plan.workers:
        r = w.per_rank
        extra = plan.extra["indexer_bytes_per_token"]
        cell = r.kv_bytes_per_token
        assert r.host_bytes == r.host_tokens * (cell + extra) <= share
        bigger = pad((r.hicache_size_gb + 1) * 10**9 // cell, page) * (cell + extra)
        assert bigger > share  # the size is the largest whole GB that fits


def test_max_total_tokens_caps_the_device_pool(cli, tmp_path):
    snap = write_snapshot(tmp_path, gpus=1)
    cfg = write_model(tmp_path, "gqa", GQA, LLAMA_W)
    p = plan_json(cli, "--hardware", snap, "--model-config", cfg, "--max-total-tokens", "100000")
    # SGLang caps the profiled pool, then re-aligns it to the page: 100000 // 64 × 64 = 99968
    assert p["workers"][0]["per_rank"]["device_tokens"] == 99968
    argv = p["processes"][0]["argv"]
    assert argv[argv.index("--max-total-tokens") + 1] == "100000"
