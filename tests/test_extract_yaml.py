"""YAML extraction: DGD v1alpha1/v1beta1, ConfigMap --config, workloads, compose, limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from hicachectl.lint.extract import detect_format, extract
from hicachectl.lint.extract.yaml_compose import compose_bytes, split_words
from hicachectl.lint.extract.yaml_fields import parse_quantity
from hicachectl.lint.types import Span

FIX = Path(__file__).parent / "fixtures" / "extract"


def _ex(name: str):
    p = FIX / name
    return extract(str(p), p.read_bytes())


def _texts(cmd):
    return [t.text for t in cmd.tokens]


def _tok(cmd, text):
    return next(t for t in cmd.tokens if t.text == text)


def test_dgd_v1alpha1_services():
    ex = _ex("dgd_v1alpha1.yaml")
    assert ex.host_format == "k8s"
    front, decode = ex.commands
    assert front.context["implicit_command"] and _texts(front) == [
        "python3",
        "-m",
        "dynamo.frontend",
    ]
    assert front.env == {"DYN_DISCOVERY_BACKEND": "etcd", "DYN_ROUTER_MODE": "kv"}
    assert decode.group.endswith("dgd_v1alpha1.yaml#0:decode")
    assert front.group != decode.group
    ctx = decode.context
    assert ctx["dgd_name"] == "sglang-disagg" and ctx["dgd_api"] == "v1alpha1"
    assert (ctx["component_type"], ctx["sub_component_type"]) == ("worker", "decode")
    assert ctx["replicas"] == 2 and ctx["gpus"] == 4
    assert ctx["k8s_memory_limit_bytes"] == 400 * 2**30
    assert _texts(decode)[:3] == ["python3", "-m", "dynamo.sglang"]
    assert _tok(decode, "--hicache-size").span == Span(53, 15, 53, 28)
    assert _tok(decode, "80").span.line == 54  # the quoted "80": value without quotes
    host = decode.tokens[-1]
    assert (host.text, host.known) == ("$(POD_IP)", False)
    assert decode.env["HF_TOKEN"] == "<valueFrom>"  # a secret's value never appears
    assert decode.env["DYN_SYSTEM_PORT"] == "9090"


def test_dgd_v1beta1_components_pick_main_container():
    ex = _ex("dgd_v1beta1.yaml")
    front, worker = ex.commands
    assert _texts(front) == ["python3", "-m", "dynamo.frontend", "--router-mode", "kv"]
    assert _tok(front, "--router-mode").span == Span(17, 43, 17, 55)
    assert "sleep" not in _texts(worker)
    assert worker.context["dgd_api"] == "v1beta1" and worker.context["component_type"] == "worker"
    assert worker.context["k8s_memory_limit_bytes"] == 64 * 10**9
    assert _tok(worker, "--hicache-ratio").span == Span(30, 109, 30, 125)


def test_configmap_config_and_bash_lc_script():
    ex = _ex("dgd_configmap.yaml")
    cfg = next(c for c in ex.commands if c.host_format == "sglang-config")
    worker = next(c for c in ex.commands if "dynamo.sglang" in _texts(c))
    assert worker.context["via"] == "bash -c"
    assert worker.config_files["/etc/sglang/agg.yaml"].startswith(
        "model-path: zai-org/GLM-5.2-FP8\n"
    )
    assert "hicache-size: 200" in worker.config_files["/etc/sglang/agg.yaml"]
    # positions inside the literal block scalar are exact
    assert _tok(worker, "--config").span == Span(43, 21, 43, 28)
    assert _tok(worker, "0.85").span == Span(45, 43, 45, 46)
    assert _texts(cfg)[:4] == ["--model-path", "zai-org/GLM-5.2-FP8", "--tp-size", "8"]
    assert "--disable-radix-cache" not in _texts(cfg)  # false -> left out
    assert _tok(cfg, "--hicache-size").span.line == 11
    assert _tok(cfg, "--enable-hierarchical-cache").span == Span(10, 5, 10, 29)
    kv = _texts(cfg)[_texts(cfg).index("--kv-events-config") + 1]
    assert kv == '{"publisher": "zmq", "topic": "kv-events", "endpoint": "tcp://*:5557"}'
    assert cfg.context["mounted_by"] == [worker.group]


def test_deployment_quoted_script_and_kubelet_vars():
    ex = _ex("deployment.yaml")
    script, plain = ex.commands
    assert script.group == plain.group  # one pod
    assert _texts(script)[3:5] == ["--model-path", "Qwen/Qwen3-32B"]  # $MODEL from env
    # the script is one double-quoted scalar with \n escapes: columns stay exact
    assert _tok(script, "--tp").span == Span(17, 74, 17, 77)
    assert script.context["k8s_memory_limit_bytes"] == 512 * 2**30
    assert script.context["gpus"] == 8
    assert _texts(plain)[3:] == ["--model-path", "$(MODEL)", "--port", "$(PORT)"]
    assert [t.known for t in plain.tokens[3:]] == [True, False, True, True]


def test_compose_string_and_list_commands():
    ex = _ex("docker-compose.yml")
    assert ex.host_format == "compose"
    front, worker = ex.commands
    assert _texts(front) == [
        "python3",
        "-m",
        "dynamo.frontend",
        "--http-port",
        "8000",
        "--router-mode",
        "kv",
    ]
    assert _tok(front, "kv").span == Span(4, 72, 4, 75)
    assert _texts(worker)[4] == "Qwen/Qwen3-0.6B"  # ${MODEL:-default}
    assert (worker.tokens[-1].text, worker.tokens[-1].known) == ("${PORT}", False)
    assert worker.env == {"DYN_SYSTEM_PORT": "8081", "MOONCAKE_MASTER": "mooncake:50051"}
    assert worker.context["k8s_memory_limit_bytes"] == 128 * 2**30
    assert front.group == worker.group == ex.path
    assert ex.file_env["MOONCAKE_MASTER"] == "mooncake:50051"


def test_standalone_sglang_config():
    text = b"model-path: Qwen/Qwen3-8B\nenable-hierarchical-cache: true\nhicache-ratio: 2.5\n"
    ex = extract("cfg/agg.yaml", text)
    assert ex.host_format == "sglang-config"
    (cmd,) = ex.commands
    assert _texts(cmd) == [
        "--model-path",
        "Qwen/Qwen3-8B",
        "--enable-hierarchical-cache",
        "--hicache-ratio",
        "2.5",
    ]
    assert _tok(cmd, "2.5").span == Span(3, 16, 3, 18)


def test_unrelated_yaml_is_skipped():
    assert detect_format(".github/workflows/ci.yml", b"on: push\njobs:\n  a: {}\n") is None
    ex = extract("ci.yml", b"on: push\njobs:\n  a: {}\n")
    assert ex.host_format is None and not ex.commands


def test_yaml_suppressions_and_annotation():
    text = (
        b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n"
        b"    hicachectl.io/ignore: HC301,HC405\nspec:\n  containers:\n    - name: a\n"
        b"      # hicachectl: disable=HC210 -- ok\n      command: [python3, -m, sglang.launch_server]\n"
    )
    ex = extract("pod.yaml", text)
    assert ("HC210",) in {s.codes for s in ex.suppressions if s.line == 11}
    assert {s.line for s in ex.suppressions if s.codes == ("HC301", "HC405")} >= {1, 11}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("400Gi", 400 * 2**30),
        ("1.5T", 1.5e12),
        ("512M", 512 * 10**6),
        ("1024", 1024),
        ("2Ki", 2048),
        ("lots", None),
    ],
)
def test_quantities(text, expected):
    assert parse_quantity(text) == expected


def test_compose_bytes_and_split():
    assert compose_bytes("4g") == 4 * 2**30 and compose_bytes("512m") == 512 * 2**20
    assert split_words('a \'b c\' "d\\"e"') == [("a", 0, 1), ("b c", 2, 7), ('d"e', 8, 14)]


def test_broken_continuation_inside_a_block_scalar():
    text = (
        b"apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: a\n"
        b"      command: [bash, -c]\n      args:\n        - |\n"
        b"          python3 -m sglang.launch_server \\\n"
        b"            --tp 2 \\  # two GPUs\n"
        b"            --enable-hierarchical-cache\n"
    )
    ex = extract("pod.yaml", text)
    (f,) = ex.findings
    assert f.code == "HC001" and (f.span.line, f.span.col) == (10, 20)
    assert "--enable-hierarchical-cache" in f.message
    (cmd,) = ex.commands
    assert _tok(cmd, "--tp").span == Span(10, 13, 10, 16)


def test_compose_string_sh_c():
    text = b'services:\n  w:\n    image: x\n    command: sh -c "python3 -m sglang.launch_server --tp 2"\n'
    (cmd,) = extract("docker-compose.yml", text).commands
    assert cmd.context["via"] == "sh -c"
    assert _tok(cmd, "--tp").span == Span(4, 53, 4, 56)


def test_directive_above_command_key_covers_the_container():
    text = (
        b"apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: a\n"
        b"      # hicachectl: disable=HC301 -- big host\n"
        b"      command:\n        - python3\n        - -m\n        - sglang.launch_server\n"
        b"      args: [--hicache-size, '900']\n"
    )
    ex = extract("pod.yaml", text)
    lines = sorted(s.line for s in ex.suppressions if s.codes == ("HC301",))
    assert lines == [7, 8, 9, 10, 11]


def test_leaderworkerset_templates_are_separate_pods():
    ex = _ex("lws.yaml")
    leader, worker = ex.commands
    assert leader.group.endswith("#0:spec.leaderWorkerTemplate.leaderTemplate.spec")
    assert worker.group.endswith("#0:spec.leaderWorkerTemplate.workerTemplate.spec")
    assert leader.context["gpus"] == 8 and leader.context["k8s_kind"] == "LeaderWorkerSet"
    assert worker.context["via"] == "sh -c"
    assert (worker.tokens[-1].text, worker.tokens[-1].known) == ("$(LWS_WORKER_INDEX)", False)
    assert _tok(worker, "--nnodes").span == Span(33, 57, 33, 64)


def test_helm_values_with_containers():
    text = (
        b"decode:\n  replicas: 2\n  containers:\n    - name: engine\n"
        b'      image: ghcr.io/llm-d/sglang:v1\n      args: ["--model-path", "Qwen/Qwen3-8B"]\n'
    )
    assert detect_format("charts/values.yaml", text) == "k8s"
    (cmd,) = extract("charts/values.yaml", text).commands
    assert cmd.context["args_only"] and _texts(cmd) == ["--model-path", "Qwen/Qwen3-8B"]


def test_kubelet_expands_env_in_shell_scripts():
    text = (
        b"apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: a\n"
        b"      env:\n        - name: TP\n          value: '4'\n"
        b"      command: [sh, -c, 'python3 -m sglang.launch_server --tp $(TP) --x $(NOPE)']\n"
    )
    (cmd,) = extract("pod.yaml", text).commands
    assert [(t.text, t.known) for t in cmd.tokens[-4:]] == [
        ("--tp", True),
        ("4", True),
        ("--x", True),
        ("$(NOPE)", False),
    ]


def test_env_from_a_configmap_in_the_same_file():
    text = (
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: mc}\ndata:\n  MOONCAKE_MASTER: m:50051\n"
        b"---\napiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: a\n"
        b"      envFrom:\n        - configMapRef: {name: mc}\n        - secretRef: {name: s}\n"
        b"      command: [python3, -m, sglang.launch_server]\n"
    )
    ex = extract("pod.yaml", text)
    (cmd,) = ex.commands
    assert cmd.env == {"MOONCAKE_MASTER": "m:50051"}
    assert cmd.env_spans["MOONCAKE_MASTER"].line == 5
    assert ex.file_env["MOONCAKE_MASTER"] == "m:50051"


def test_multiline_plain_and_escaped_break_scalars_keep_columns():
    text = (
        b"apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: a\n"
        b"      command: [sh, -c]\n      args:\n"
        b"        - python3 -m sglang.launch_server\n          --tp 2   --page-size 64\n"
        b"    - name: b\n      command: [sh, -c]\n"
        b'      args: ["python3 -m x \\\n          --hicache-size 9"]\n'
    )
    a, b = extract("pod.yaml", text).commands
    assert _tok(a, "--page-size").span == Span(9, 20, 9, 30)
    assert _tok(b, "--hicache-size").span == Span(13, 11, 13, 24)


def test_folded_block_scalar_is_read_as_written_with_a_note():
    text = (
        b"apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - name: a\n"
        b"      command: [bash, -c]\n      args:\n        - >\n"
        b"          python3 -m sglang.launch_server \\\n          --tp 2\n"
    )
    ex = extract("pod.yaml", text)
    (cmd,) = ex.commands
    assert _tok(cmd, "--tp").span == Span(10, 11, 10, 14)
    assert any("folded block scalar" in n and "line 8" in n for n in ex.notes)


def test_merge_conflict_marker_is_named_at_its_line():
    text = (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: engine\n"
        "spec:\n  containers:\n"
        "<<<<<<< HEAD\n    - name: a\n=======\n    - name: b\n>>>>>>> feature\n"
    )
    ex = extract("pod.yaml", text.encode())
    assert any(
        "pod.yaml" in n and "line 7:" in n and "merge conflict marker" in n for n in ex.notes
    ), ex.notes
