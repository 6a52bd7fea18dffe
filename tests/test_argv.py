"""parse_command: conformance argparse errors, messages, values, canonical argv, Dynamo split."""

from __future__ import annotations

import json

import pytest
from conftest import SHARED, needs_shared

from hicachectl.sglang.argv import parse_command
from hicachectl.sglang.convert import TypeMessage, human_readable_int

M = ["--model-path", "/m"]


def _fatal(tokens, version="0.5.23", **kw):
    pc = parse_command(tokens, sglang_version=version, **kw)
    f = pc.fatal
    return (f.code, f.message, f.token_index) if f else None


def _records():
    path = SHARED / "conformance" / "resolve.jsonl"
    if not path.is_file():
        return [pytest.param(None, marks=needs_shared, id="no-shared")]
    return [
        r
        for r in map(json.loads, path.read_text().splitlines())
        if r["outcome"] == "argparse_error"
    ]


@pytest.mark.parametrize("rec", _records(), ids=lambda r: r["id"] if r else "no-shared")
def test_conformance_argparse_errors(rec):
    tokens = ["--model-path", "/models/x", "--device", "cpu", *rec["argv"]]
    pc = parse_command(tokens, sglang_version=rec["sglang_version"])
    assert pc.fatal is not None
    assert pc.fatal.message == rec["error"]
    assert pc.fatal.token_index is not None and 0 <= pc.fatal.token_index < len(tokens)


def test_messages_and_token_indexes():
    assert _fatal(M + ["--hicache-size", "1.5"]) == (
        "invalid-type",
        "argument --hicache-size: invalid int value: '1.5'",
        2,
    )
    assert (
        _fatal(M + ["--hicache-ratio", "x"])[1]
        == "argument --hicache-ratio: invalid float value: 'x'"
    )
    assert _fatal(M + ["--radix-eviction-policy-config", "{x"])[1] == (
        "argument --radix-eviction-policy-config: invalid loads value: '{x'"
    )
    assert _fatal(M + ["--hicache-size"]) == (
        "missing-value",
        "argument --hicache-size: expected one argument",
        2,
    )
    # a value that looks like an option is a missing value; a negative number is a value
    assert _fatal(M + ["--hicache-size", "-x"])[0] == "missing-value"
    assert _fatal(M + ["--chunked-prefill-size", "-1"]) is None
    assert _fatal(["--hicache-size", "4"]) == (
        "required",
        "the following arguments are required: --model-path/--model",
        None,
    )
    # unrecognized collects every leftover, reported at the first one
    assert _fatal(M + ["--max-num-seqs", "8", "--tp", "2", "stray"]) == (
        "unrecognized",
        "unrecognized arguments: --max-num-seqs 8 stray",
        2,
    )
    assert _fatal(M + ["--tp-size", "2", "--enable-metrics=1"])[1] == (
        "argument --enable-metrics: ignored explicit argument '1'"
    )


def test_error_order_is_argparse_order():
    # ambiguity anywhere beats an earlier type error; type error beats required/unknown
    assert _fatal(M + ["--hicache-size", "x", "--pp", "2"])[0] == "ambiguous"
    assert _fatal(["--foo", "--hicache-size", "x"])[0] == "invalid-type"
    assert _fatal(["--foo"])[0] == "required"


def test_version_differences():
    assert (
        _fatal(M + ["--enable-hicache"], "0.5.21")[1] == "unrecognized arguments: --enable-hicache"
    )
    pc = parse_command(M + ["--enable-hicache"], sglang_version="0.5.23")
    assert pc.fatal is None and pc.values["enable_hierarchical_cache"] is True
    # a version between tables uses the nearest lower table
    assert _fatal(M + ["--enable-hicache"], "0.5.22")[0] == "unrecognized"


def test_values_defaults_explicit_and_conversion():
    pc = parse_command(
        ["sglang", "serve", *M, "--hicache-ratio=3", "--max-total-tokens", "1Mi", "--tp", "2"],
        sglang_version="0.5.23",
    )
    v = pc.values
    assert v["hicache_ratio"] == 3.0 and v["max_total_tokens"] == 2**20 and v["tp_size"] == 2
    assert v["hicache_mem_layout"] == "page_first" and v["hicache_size"] == 0
    assert pc.explicit == {"model_path": 2, "hicache_ratio": 4, "max_total_tokens": 5, "tp_size": 7}
    assert pc.entry_index == 2
    abbr = [p for p in pc.problems if p.code == "abbreviation"]
    assert abbr[0].flag == "--tp-size" and abbr[0].token_index == 7 and not abbr[0].fatal


def test_repeated_last_wins_and_canonical():
    pc = parse_command(
        M
        + [
            "--page-size",
            "16",
            "--enable-hierarchical-cache",
            "--page-size=64",
            "--hicache-size",
            "-0",
        ],
        sglang_version="0.5.23",
    )
    assert pc.values["page_size"] == 64
    rep = [p for p in pc.problems if p.code == "repeated"]
    assert len(rep) == 1 and rep[0].token_index == 5 and rep[0].flag == "--page-size"
    assert pc.canonical_argv == [
        "--model-path", "/m", "--page-size", "64", "--enable-hierarchical-cache",
        "--hicache-size=-0",
    ]  # fmt: skip


def test_human_readable_int_messages():
    assert human_readable_int("25.6k") == 25600 and human_readable_int(" 2Gi ") == 2 * 2**30
    with pytest.raises(TypeMessage, match=r"Decimals are not allowed with IEC suffixes like 'Mi'"):
        human_readable_int("1.5Mi")
    with pytest.raises(TypeMessage, match=r"^Invalid integer value: '1x'\. Use a plain integer"):
        human_readable_int("1x")


def test_boolean_optional_and_no_form_in_canonical():
    pc = parse_command(M + ["--no-dllm-fdfo"], sglang_version="0.5.23")
    assert pc.values["dllm_fdfo"] is False
    assert pc.canonical_argv[-1] == "--no-dllm-fdfo"


def test_entry_points_and_wrappers():
    cases = {
        ("python3.11", "-u", "-m", "sglang.launch_server"): ("sglang.launch_server", {}),
        ("FOO=1", "nohup", "python", "-m", "dynamo.sglang"): ("dynamo.sglang", {"FOO": "1"}),
        ("env", "-i", "-u", "X", "A=b", "exec", "python", "-m", "dynamo.frontend"): (
            "dynamo.frontend",
            {"A": "b"},
        ),
        ("timeout", "-s", "KILL", "10m", "numactl", "--cpunodebind=0", "-m", "0", "sglang", "serve"): (
            "sglang serve",
            {},
        ),
        ("taskset", "-c", "0-7", "python", "-m", "dynamo.mocker"): ("dynamo.mocker", {}),
        (
            "docker", "run", "--gpus", "all", "-e", "HF_TOKEN=x", "-v", "a:b", "--ipc", "host",
            "--shm-size", "16g", "--network", "host", "-it", "--rm", "--name", "w", "img:1",
            "python3", "-m", "dynamo.sglang",
        ): ("dynamo.sglang", {"HF_TOKEN": "x"}),
        ("uv", "run", "--with", "x", "python", "-m", "sglang.launch_server"): ("sglang.launch_server", {}),
    }  # fmt: skip
    for toks, (ep, env) in cases.items():
        pc = parse_command([*toks, *M], sglang_version="0.5.21")
        assert (pc.entrypoint, pc.env) == (ep, env), toks
        assert pc.entry_index == len(toks)
        assert pc.values["model_path"] == "/m" or ep.startswith("dynamo.") and ep != "dynamo.sglang"


def test_unknown_removed_and_empty():
    pc = parse_command(["bash", "run.sh"])
    assert (
        pc.entrypoint == "unknown" and pc.fatal.code == "entrypoint" and pc.fatal.token_index == 0
    )
    pc = parse_command(["python", "-m", "dynamo.sglang.worker", *M])
    assert pc.entrypoint == "dynamo.sglang.worker" and pc.fatal.code == "removed-module"
    assert pc.fatal.token_index == 2
    pc = parse_command([])
    assert pc.entrypoint == "unknown" and pc.fatal.message == "empty command"
    assert "hicache_ratio" in pc.values  # defaults are always filled


def test_sglang_serve_positional_model_and_model_type():
    pc = parse_command(["sglang", "serve", "org/model", "--model-type", "llm", "--tp-size", "2"])
    assert pc.fatal is None and pc.values["model_path"] == "org/model"
    assert pc.explicit["model_path"] == 2


def test_dynamo_split():
    toks = ["python", "-m", "dynamo.sglang", *M, "--namespace", "ns", "--enable-m",
            "--router-mode", "kv", "--disaggregation-mode", "agg", "--enable-hierarchical-cache",
            "--load-format", "gms", "--disable-piecewise-cuda-graph"]  # fmt: skip
    pc = parse_command(toks)
    assert pc.sglang_version == "0.5.21" and pc.fatal is None
    assert pc.dynamo_values["namespace"] == "ns" and pc.dynamo_values["enable_multimodal"] is True
    assert pc.dynamo_values["router_mode"] == "kv"
    assert pc.dynamo_explicit["namespace"] == 5
    assert pc.values["disaggregation_mode"] == "null" and pc.values["enable_multimodal"] is True
    assert pc.values["load_format"] == "gms"
    assert pc.values["cuda_graph_backend_prefill"] == "disabled"
    assert pc.values["incremental_streaming_output"] is True
    assert "--namespace" in pc.canonical_argv and "--enable-multimodal" in pc.canonical_argv
    # Dynamo's own abbreviations and ambiguities
    assert _fatal(["python", "-m", "dynamo.sglang", *M, "--dis", "x"]) == (
        "ambiguous",
        "ambiguous option: --dis could match --discovery-backend, --disagg-config, --disagg-config-key",
        5,
    )
    assert _fatal(["python", "-m", "dynamo.sglang", *M, "--migration-limit", "3"])[1] == (
        "unrecognized arguments: --migration-limit 3"
    )
    # gms is only a Dynamo addition
    assert _fatal(M + ["--load-format", "gms"], "0.5.21")[0] == "invalid-choice"


def test_frontend_and_mocker():
    pc = parse_command(
        ["python", "-m", "dynamo.frontend", "--http-port", "8080", "--router-mode", "kv"]
    )
    assert pc.fatal is None and pc.dynamo_values["http_port"] == 8080
    pc = parse_command(["python", "-m", "dynamo.frontend", "--bogus", "1"])
    assert pc.fatal.message == "Unknown arguments specified: ['--bogus', '1']"
    pc = parse_command(["python", "-m", "dynamo.mocker", "--model-path", "m", "--bogus"])
    assert pc.fatal.message == "unrecognized arguments: --bogus"


def test_config_merge(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "enable-hierarchical-cache: true\nhicache-ratio: 3\ndisable-radix-cache: false\n"
        "page-size: 16\nkv-events-config: {publisher: zmq}\n"
    )
    pc = parse_command(M + ["--config", str(cfg), "--page-size", "32"], sglang_version="0.5.23")
    assert pc.fatal is None
    v = pc.values
    assert v["enable_hierarchical_cache"] is True and v["hicache_ratio"] == 3.0
    assert v["page_size"] == 32  # CLI beats config
    assert v["kv_events_config"] == '{"publisher": "zmq"}'
    assert v["config"] is None  # the merger removes --config FILE before parsing
    assert pc.explicit["hicache_ratio"] == -1 and pc.explicit["page_size"] == 4
    assert "--config" not in pc.canonical_argv
    # config text handed in (lint: ConfigMap) instead of the disk
    pc = parse_command(
        M + ["--config", "/etc/x.yml"], config_texts={"/etc/x.yml": "hicache-size: 7\n"}
    )
    assert pc.values["hicache_size"] == 7


@pytest.mark.parametrize(
    "text,suffix,message",
    [
        ("a: 1", ".json", "Config file must be YAML format, got: .json"),
        ("- a\n- b\n", ".yaml", "Config file must contain a dictionary at root level"),
        (
            "dllm-fdfo: true\n",
            ".yaml",
            "Unsupported config option 'dllm_fdfo' with action 'BooleanOptionalAction'",
        ),
    ],
)
def test_config_errors(tmp_path, text, suffix, message):
    p = tmp_path / f"c{suffix}"
    p.write_text(text)
    assert _fatal(M + ["--config", str(p)]) == ("config", message, 3)


def test_config_yaml_error_names_file_and_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("a: 1\nb: [unclosed\n")
    code, msg, idx = _fatal(M + ["--config", str(p)])
    assert code == "config" and msg.startswith(f"{p}:") and idx == 3
    assert _fatal(M + ["--config", str(tmp_path / "none.yaml")])[1] == (
        f"Config file not found: {tmp_path / 'none.yaml'}"
    )
    assert _fatal(M + ["--config"])[1] == "No config file specified after --config flag!"
    pc = parse_command(M + ["--config=x.yaml"])
    assert pc.fatal is None and any(p.code == "config" for p in pc.problems)


def test_config_keys_are_written_verbatim(tmp_path):
    # SGLang emits --<key> as written: an underscore key is not an option string.
    p = tmp_path / "c.yaml"
    p.write_text("hicache_size: 4\n")
    assert _fatal(M + ["--config", str(p)])[1] == "unrecognized arguments: --hicache_size 4"


def test_model_path_stand_in():
    pc = parse_command(["--enable-hierarchical-cache"], model_path="/cfg/dir")
    assert pc.fatal is None and pc.values["model_path"] == "/cfg/dir"


def test_dynamo_rejections():
    head = ["python", "-m", "dynamo.sglang", "--model-path", "m"]
    f = parse_command(
        [*head, "--tool-call-parser", "qwen", "--dyn-tool-call-parser", "hermes"]
    ).fatal
    assert f.message == "Cannot use both --tool-call-parser and --dyn-tool-call-parser."
    f = parse_command([*head, "--schedule-low-priority-values-first"]).fatal
    assert f.message.startswith("--schedule-low-priority-values-first is not supported")
    f = parse_command([*head, "--gateway-workers", "0"]).fatal
    assert f.message == "--gateway-workers must be a positive integer"
    f = parse_command([*head, "--disagg-config", "x.yaml"]).fatal
    assert f.message == "Both 'disagg_config' and 'disagg_config_key' must be provided together."


def test_dynamo_disagg_config_section(tmp_path):
    p = tmp_path / "d.yaml"
    p.write_text("prefill:\n  disaggregation-mode: prefill\n  page-size: 64\ndecode: {}\n")
    head = ["python", "-m", "dynamo.sglang", "--model-path", "m"]
    pc = parse_command([*head, "--disagg-config", str(p), "--disagg-config-key", "prefill"])
    assert pc.fatal is None
    assert pc.values["disaggregation_mode"] == "prefill" and pc.values["page_size"] == 64
    pc = parse_command([*head, "--disagg-config", str(p), "--disagg-config-key", "nope"])
    assert pc.fatal.message == (
        f"Disagg config key 'nope' not found in {p}. Available keys: ['prefill', 'decode']"
    )


def test_config_equals_form_round_trips():
    pc = parse_command(M + ["--config=x.yaml"])
    assert pc.values["config"] == "x.yaml" and "--config=x.yaml" in pc.canonical_argv


@pytest.mark.parametrize(
    "head,entry,env",
    [
        (["docker", "run", "--entrypoint", "python3", "-e", "A=1", "--env=B=2", "-eC=3", "img",
          "-m", "dynamo.sglang"], "dynamo.sglang", {"A": "1", "B": "2", "C": "3"}),
        (["docker", "run", "--entrypoint=sglang", "img", "serve"], "sglang serve", {}),
        (["podman", "container", "run", "img", "sglang", "serve"], "sglang serve", {}),
        (["sudo", "-E", "-u", "root", "python3", "-m", "sglang.launch_server"], "sglang.launch_server", {}),
        (["timeout", "--signal=TERM", "5m", "python", "-m", "sglang.launch_server"], "sglang.launch_server", {}),
        (["taskset", "0xff", "python", "-m", "sglang.launch_server"], "sglang.launch_server", {}),
        (["/usr/bin/python3.11", "-X", "dev", "-m", "dynamo.mocker"], "dynamo.mocker", {}),
        (["uv", "run", "-m", "dynamo.frontend"], "dynamo.frontend", {}),
    ],
)  # fmt: skip
def test_more_wrappers(head, entry, env):
    pc = parse_command([*head, "--model-path", "m"], sglang_version="0.5.21")
    assert (pc.entrypoint, pc.env, pc.entry_index) == (entry, env, len(head))


@pytest.mark.parametrize(
    "tokens,message,index",
    [
        (["python", "-m", "foo.bar"], "unknown entry point: python -m foo.bar", 2),
        (["python", "script.py"], "unknown entry point: python without -m MODULE", 1),
        (["sglang", "generate"], "unknown entry point: sglang without serve", 0),
        (["docker", "build", "."], "unknown entry point: docker build", 0),
    ],
)
def test_unknown_entry_points(tokens, message, index):
    pc = parse_command(tokens)
    assert pc.entrypoint == "unknown" and (pc.fatal.message, pc.fatal.token_index) == (
        message,
        index,
    )


def test_frontend_unique_alias_pairs():
    head = ["python", "-m", "dynamo.frontend"]
    pc = parse_command([*head, "--ais-tp-size", "2", "--aic-tp-size", "4"])
    assert pc.fatal.message == (
        "argument --ais-tp-size/--aic-tp-size: new and legacy spellings cannot be combined"
    )
    assert pc.fatal.token_index == 5
    assert parse_command([*head, "--aic-tp-size", "2", "--aic-tp-size", "4"]).fatal is None


def test_dynamo_encode_mode():
    head = ["python", "-m", "dynamo.sglang", "--model-path", "m"]
    pc = parse_command([*head, "--disaggregation-mode", "encode"])
    assert pc.fatal is None and pc.values["disaggregation_mode"] == "null"
    assert pc.dynamo_values["multimodal_encode_worker"] is True
    again = parse_command([*head[:3], *pc.canonical_argv])
    assert again.values == pc.values and again.dynamo_values == pc.dynamo_values
    # only the exact spellings are rewritten: an abbreviation reaches SGLang's choices check
    assert parse_command([*head, "--disaggregation-m", "agg"]).fatal.code == "invalid-choice"


def test_help_stops_parsing_like_argparse():
    pc = parse_command(["--hicache-size", "4", "-h", "--bogus"])  # no required/unknown error
    assert pc.fatal is None and [p.code for p in pc.problems] == ["help"]
    assert pc.problems[0].token_index == 2
    # ...but an earlier type error, or an ambiguity anywhere, still comes first
    assert _fatal(["--hicache-size", "x", "-h"])[0] == "invalid-type"
    assert _fatal(["-h", "--pp", "2"])[0] == "ambiguous"
    pc = parse_command(["python", "-m", "dynamo.sglang", "--version", "--bogus"])
    assert pc.fatal is None and pc.problems[0].code == "help"


def test_sglang_serve_cli_checks():
    # sglang/cli/serve.py: any -h token prints help before parsing; the model path is looked
    # for by its literal spellings before argparse runs.
    pc = parse_command(["sglang", "serve", "--chat-template", "-h", "--pp", "2"])
    assert pc.fatal is None and pc.problems[0].code == "help" and pc.problems[0].token_index == 3
    assert _fatal(["sglang", "serve", "--model-p", "m"]) == (
        "required",
        "Error: --model-path is required. Please provide the path to the model.",
        None,
    )
    assert _fatal(["sglang", "serve", "--model=m", "--tp-size", "2"]) is None
    # bare flags are parsed as prepare_server_args does
    assert _fatal(["--model-p", "m"]) is None


@pytest.mark.parametrize(
    "head,env",
    [
        (["setsid", "-f", "python", "-m", "sglang.launch_server"], {}),
        (["time", "-p", "python", "-m", "sglang.launch_server"], {}),
        (["chrt", "-f", "99", "python", "-m", "sglang.launch_server"], {}),
        (["srun", "-N", "1", "--gres=gpu:8", "python", "-m", "sglang.launch_server"], {}),
        (["mpirun", "-np", "2", "-x", "NCCL_DEBUG=INFO", "python", "-m", "sglang.launch_server"],
         {"NCCL_DEBUG": "INFO"}),
    ],
)  # fmt: skip
def test_launcher_wrappers(head, env):
    pc = parse_command([*head, "--model-path", "m"])
    assert (pc.entrypoint, pc.env, pc.entry_index) == ("sglang.launch_server", env, len(head))


def test_config_value_shapes_per_version():
    texts = {
        "c.yaml": "disable-radix-cache: false\nenable-metrics: true\n"
        "hicache-storage-backend: file\ncuda-graph-bs-decode: [1, 2, 4]\n"
    }
    for v in ("0.5.21", "0.5.23"):
        pc = parse_command(M + ["--config", "c.yaml"], sglang_version=v, config_texts=texts)
        assert pc.fatal is None, v
        assert pc.values["disable_radix_cache"] is False and pc.values["enable_metrics"] is True
        assert pc.values["cuda_graph_bs_decode"] == [1, 2, 4]
    bad = {"c.yaml": "disable-cuda-graph: true\n"}
    assert _fatal(M + ["--config", "c.yaml"], "0.5.21", config_texts=bad)[1] == (
        "Unsupported config option 'disable_cuda_graph' with action 'DeprecatedStoreTrueAction'"
    )
    # 0.5.23 knows every long spelling of a store_true flag as a bare-flag key
    alias = {"c.yaml": "enable-hicache: true\n"}
    assert _fatal(M + ["--config", "c.yaml"], "0.5.23", config_texts=alias) is None


def test_abbreviation_names_the_canonical_flag():
    pc = parse_command(M + ["--tensor-par=2", "--no-dllm-f"], sglang_version="0.5.23")
    a, b = [p for p in pc.problems if p.code == "abbreviation"]
    assert a.message == (
        "--tensor-par=2 is an abbreviation of --tensor-parallel-size (canonical --tp-size); "
        "write --tp-size"
    )
    assert a.flag == "--tp-size" and a.token_index == 2
    assert b.flag == "--no-dllm-fdfo" and pc.values["dllm_fdfo"] is False
