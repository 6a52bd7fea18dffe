"""Each child's environment: frontend-only variables never reach workers, per-process variables
are never inherited, the plan and the launch settings land where they should."""

from __future__ import annotations

from pathlib import Path

from launch_plans import make_plan

from hicachectl.launch import environ
from hicachectl.launch.specs import Settings, build_children

USER = {
    "PATH": "/usr/bin",
    "HOME": "/home/op",
    "LANG": "C.UTF-8",
    "HF_HOME": "/data/hf",
    "DYN_ROUTER_MODE": "random",
    "DYN_ROUTER_TEMPERATURE": "0.5",
    "DYN_ACTIVE_DECODE_BLOCKS_THRESHOLD": "0.9",
    "DYN_SHARED_CACHE_TYPE": "hicache",
    "DYN_HTTP_PORT": "9999",
    "DYN_MIGRATION_LIMIT": "3",
    "DYN_NAMESPACE": "team-a",
    "DYN_LOG": "debug",
    "CUDA_VISIBLE_DEVICES": "7",
    "DYN_SYSTEM_PORT": "9090",
    "DYN_FILE_KV": "/tmp/stale",
}


def test_frontend_only_set_comes_from_the_flag_tables():
    fo = environ.frontend_only_vars()
    # router advertisement (worker reads them and would override the frontend's routing)
    assert {"DYN_ROUTER_MODE", "DYN_ACTIVE_DECODE_BLOCKS_THRESHOLD", "DYN_SHARED_CACHE_TYPE"} <= fo
    # frontend-only flags
    assert {"DYN_HTTP_PORT", "DYN_MIGRATION_LIMIT", "DYN_KV_CACHE_BLOCK_SIZE"} <= fo
    # shared runtime settings stay shared
    assert not {"DYN_NAMESPACE", "DYN_DISCOVERY_BACKEND", "DYN_REQUEST_PLANE"} & fo


def test_worker_env_drops_frontend_only_and_per_process_variables():
    env = environ.child_env("worker", {"DYN_SYSTEM_PORT": "8081"}, USER, gpus=[2, 3])
    assert not [k for k in env if k.startswith(("DYN_ROUTER_", "DYN_HTTP_", "DYN_MIGRATION_"))]
    assert "DYN_ACTIVE_DECODE_BLOCKS_THRESHOLD" not in env and "DYN_SHARED_CACHE_TYPE" not in env
    assert env["CUDA_VISIBLE_DEVICES"] == "2,3"  # never the user's 7
    assert env["DYN_SYSTEM_PORT"] == "8081"  # never the user's 9090
    assert "DYN_FILE_KV" not in env
    assert env["PATH"] == "/usr/bin" and env["HF_HOME"] == "/data/hf"
    assert env["DYN_NAMESPACE"] == "team-a" and env["DYN_LOG"] == "debug"


def test_frontend_keeps_router_settings_but_not_worker_ones():
    env = environ.child_env("frontend", {}, USER, launch_env={"DYN_DISCOVERY_BACKEND": "file"})
    assert env["DYN_ROUTER_MODE"] == "random" and env["DYN_MIGRATION_LIMIT"] == "3"
    assert "CUDA_VISIBLE_DEVICES" not in env and "DYN_SYSTEM_PORT" not in env


def test_plan_or_launch_layers_cannot_leak_router_settings_into_workers():
    env = environ.child_env(
        "decode", {"DYN_ROUTER_MODE": "kv"}, {}, launch_env={"DYN_HTTP_HOST": "127.0.0.1"}
    )
    assert "DYN_ROUTER_MODE" not in env and "DYN_HTTP_HOST" not in env


def test_launch_layer_wins_over_the_plan():
    env = environ.child_env(
        "worker",
        {"DYN_FILE_KV": "{run_dir}/x", "DYN_DISCOVERY_BACKEND": "file"},
        {},
        launch_env={"DYN_DISCOVERY_BACKEND": "etcd"},
    )
    assert env["DYN_DISCOVERY_BACKEND"] == "etcd"


def test_children_of_a_two_worker_plan(tmp_path: Path):
    plan = make_plan(http_port=18000, workers=2)
    s = Settings(python="/opt/dyn/bin/python", run_dir=tmp_path, engine="mocker", loopback=True)
    kids = {c.name: c for c in build_children(plan, s, USER)}
    fe, w0, w1 = kids["frontend"], kids["worker-0"], kids["worker-1"]
    assert fe.argv[0] == "/opt/dyn/bin/python" and fe.argv[1:3] == ["-m", "dynamo.frontend"]
    assert w0.argv[1:3] == ["-m", "dynamo.mocker"]
    for c in (fe, w0, w1):
        assert c.env["DYN_DISCOVERY_BACKEND"] == "file"
        assert c.env["DYN_FILE_KV"] == str(tmp_path / "dynamo-kv")  # fresh, under the run dir
        assert c.env["DYN_TCP_RPC_HOST"] == "127.0.0.1" and c.env["HF_HUB_OFFLINE"] == "1"
    assert fe.env["DYN_HTTP_HOST"] == "127.0.0.1" and fe.env["DYN_ROUTER_MODE"] == "random"
    assert "DYN_ROUTER_MODE" not in w0.env and "DYN_HTTP_HOST" not in w0.env
    assert (w0.env["CUDA_VISIBLE_DEVICES"], w1.env["CUDA_VISIBLE_DEVICES"]) == ("0", "1")
    assert w0.env["DYN_SYSTEM_USE_ENDPOINT_HEALTH_STATUS"] == '["generate"]'
    assert w0.env["DYN_SYSTEM_PORT"] != w1.env["DYN_SYSTEM_PORT"]
    assert fe.probe == ("frontend", "http://127.0.0.1:18000/v1/models/tiny/ready")
    assert w0.probe[1].endswith(f":{w0.env['DYN_SYSTEM_PORT']}/health")


def test_etcd_discovery_drops_the_file_store(tmp_path: Path):
    plan = make_plan(http_port=18000, workers=1)
    s = Settings(
        python="python3", run_dir=tmp_path, discovery="etcd", etcd_endpoints="http://10.0.0.5:2379"
    )
    for c in build_children(plan, s, {}):
        assert c.env["DYN_DISCOVERY_BACKEND"] == "etcd"
        assert c.env["ETCD_ENDPOINTS"] == "http://10.0.0.5:2379"
        assert "DYN_FILE_KV" not in c.env


def test_served_names_with_a_slash_are_escaped_in_the_ready_url(tmp_path: Path):
    plan = make_plan(http_port=18001, workers=1, served="Qwen/Qwen3-0.6B")
    fe = next(
        c
        for c in build_children(plan, Settings(python="p", run_dir=tmp_path), {})
        if c.role == "frontend"
    )
    assert fe.probe[1] == "http://127.0.0.1:18001/v1/models/Qwen%2FQwen3-0.6B/ready"
