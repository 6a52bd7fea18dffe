"""`hicachectl resolve`: JSON shape, exit codes, text table, bad input without tracebacks."""

from __future__ import annotations

import json

import pytest
from conftest import SHARED, needs_shared

KEYS = {"sglang_version", "entrypoint", "resolved", "rewrites", "errors", "problems"}
pytestmark = needs_shared  # the model configs come from ../shared

MHA = str(SHARED / "conformance" / "models" / "mha-llama8b.json")
MLA = str(SHARED / "conformance" / "models" / "mla-dsv2lite.json")
HICACHE = (
    "enable_hierarchical_cache hicache_ratio hicache_size hicache_host_memory_fraction "
    "hicache_host_memory_mode hicache_mem_layout hicache_io_backend hicache_write_policy "
    "hicache_storage_backend hicache_storage_prefetch_policy page_size disable_radix_cache"
).split()


def _json(cli, *args):
    r = cli("resolve", "--json", *args)
    return r, (json.loads(r.stdout) if r.stdout.strip() else None)


def test_starts_exit_0_with_exact_keys(cli):
    r, doc = _json(
        cli, "--sglang-version", "0.5.23", "--model-config", MHA, "--",
        "python", "-m", "dynamo.sglang", "--enable-hierarchical-cache", "--tp", "2",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert set(doc) == KEYS
    assert doc["sglang_version"] == "0.5.23" and doc["entrypoint"] == "dynamo.sglang"
    assert set(HICACHE) <= set(doc["resolved"])
    assert doc["resolved"]["enable_hierarchical_cache"] is True
    assert doc["resolved"]["tp_size"] == 2
    assert doc["problems"] == [
        {"message": "--tp is an abbreviation of --tp-size; write --tp-size", "token_index": 4}
    ]
    for w in doc["rewrites"]:
        assert set(w) == {"field", "from", "to", "message"}


def test_refuses_exit_1_with_sglang_message(cli):
    r, doc = _json(
        cli, "--sglang-version", "0.5.21", "--model-config", MLA, "--",
        "--enable-hierarchical-cache", "--hicache-host-memory-fraction", "1.5",
    )  # fmt: skip
    assert r.exit_code == 1, r.output
    assert doc["errors"] == [{"message": "--hicache-host-memory-fraction must be in (0, 1]."}]


def test_argparse_rejection_exit_2(cli):
    r, doc = _json(cli, "--sglang-version", "0.5.21", "--", "--model-path", "m", "--enable-hicache")
    assert r.exit_code == 2
    assert doc["problems"] == [
        {"message": "unrecognized arguments: --enable-hicache", "token_index": 2}
    ]
    assert doc["errors"] == [] and doc["rewrites"] == []


def test_bare_flags_need_model_path_unless_model_config(cli):
    r, doc = _json(cli, "--", "--enable-hierarchical-cache")
    assert r.exit_code == 2
    assert doc["problems"][0]["message"] == (
        "the following arguments are required: --model-path/--model"
    )
    r, doc = _json(cli, "--model-config", MHA, "--", "--enable-hierarchical-cache")
    assert r.exit_code == 0, r.output
    assert doc["entrypoint"] == "sglang serve"


def test_text_table(cli):
    r = cli(
        "resolve", "--sglang-version", "0.5.23", "--model-config", MHA, "--",
        "--enable-hierarchical-cache", "--hicache-mem-layout", "layer_first",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "hicache_mem_layout" in r.stdout and "layer_first" in r.stdout
    assert "command line" in r.stdout and "SGLang 0.5.23" in r.stdout


@pytest.mark.parametrize(
    "argv,needle",
    [
        ([], "no command given"),
        (["bash", "x.sh"], "unknown entry point: bash"),
        (["--model-path", "m", "\udcff\udcfe"], "not valid UTF-8"),
        (["--model-path", "m", "--config", "/nonexistent/c.yaml"], "Config file not found"),
        (["--model-path", "m", "--config", "/x/c.json"], "must be YAML format"),
    ],
)
def test_bad_input_is_one_line_exit_2(cli, argv, needle):
    r = cli("resolve", "--", *argv)
    assert r.exit_code == 2
    assert needle in r.output
    assert "Traceback" not in r.output
    r = cli("resolve", "--json", "--", *argv)
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_bad_version_and_missing_model_config(cli, tmp_path):
    r = cli("resolve", "--sglang-version", "latest", "--", "--model-path", "m")
    assert r.exit_code == 2 and "--sglang-version" in r.stderr
    r = cli(
        "resolve",
        "--model-config",
        str(tmp_path / "none.json"),
        "--",
        "--enable-hierarchical-cache",
    )
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_frontend_has_nothing_to_resolve(cli):
    r, doc = _json(cli, "--", "python", "-m", "dynamo.frontend", "--http-port", "8000")
    assert r.exit_code == 0 and doc["resolved"] == {} and doc["entrypoint"] == "dynamo.frontend"


def test_secrets_are_not_echoed_in_problems(cli):
    # values only appear in messages argparse itself prints; an API key never does
    r, doc = _json(cli, "--", "--model-path", "m", "--api-key", "sk-secret", "--tp", "2")
    assert "sk-secret" not in json.dumps(doc["problems"]) and r.exit_code == 0


def test_secrets_never_printed(cli):
    r, doc = _json(
        cli, "--", "--model-path", "m", "--api-key", "sk-secret", "--admin-api-key=adm1n"
    )
    assert r.exit_code == 0 and doc["resolved"]["api_key"] == "***"
    assert "sk-secret" not in r.output and "adm1n" not in r.output
    # a mistyped key flag lands in argparse's message: the value is masked there too
    r, doc = _json(cli, "--", "--model-path", "m", "--api-keys", "sk-secret")
    assert r.exit_code == 2 and "sk-secret" not in r.output
    assert doc["problems"][0]["message"] == "unrecognized arguments: --api-keys ***"
    r = cli("resolve", "--", "--model-path", "m", "--hf-token=hf_abcdef")
    assert "hf_abcdef" not in r.output


def test_help_in_argv_is_exit_2_not_a_start(cli):
    r, doc = _json(cli, "--", "--model-path", "m", "--help")
    assert r.exit_code == 2
    assert doc["problems"][0]["message"].startswith("--help: the program prints its help")
