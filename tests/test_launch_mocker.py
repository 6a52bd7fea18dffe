"""Planned dynamo.sglang workers mapped onto dynamo.mocker, and the rehearsal model directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from launch_plans import make_plan

from hicachectl.launch.mocker import mocker_argv, opt_value
from hicachectl.launch.rehearsal_model import is_servable_dir, write_rehearsal_model
from hicachectl.sglang.flags import dynamo_table


def _flags(argv):
    return [t for t in argv if t.startswith("--")]


def _workers(plan):
    return {p.name: p for p in plan.processes if p.role != "frontend"}


def test_aggregated_worker_mapping():
    plan = make_plan(http_port=8000, workers=1, page_size=32)
    spec = _workers(plan)["worker-0"]
    argv = mocker_argv(plan, spec, model_path="/m", speedup_ratio=0)
    assert argv[:3] == ["python", "-m", "dynamo.mocker"]
    assert opt_value(argv, "--model-path") == "/m"
    assert opt_value(argv, "--model-name") == plan.served_model_name
    assert opt_value(argv, "--engine-type") == "sglang"
    assert opt_value(argv, "--block-size") == "32"
    blocks = plan.workers[0].per_rank.device_tokens // 32
    assert opt_value(argv, "--num-gpu-blocks-override") == str(blocks)
    assert opt_value(argv, "--disaggregation-mode") == "agg"
    assert opt_value(argv, "--speedup-ratio") == "0.0"
    assert "--bootstrap-ports" not in argv


def test_replicas_keep_their_kv_events_ports():
    plan = make_plan(http_port=8000, workers=2)
    ports = []
    for spec in _workers(plan).values():
        argv = mocker_argv(plan, spec, model_path="/m")
        ports.append(int(opt_value(argv, "--zmq-kv-events-ports")))
        assert ports[-1] == spec.ports["kv_events"]
        endpoint = json.loads(opt_value(spec.argv, "--kv-events-config"))["endpoint"]
        assert endpoint.endswith(f":{ports[-1]}")
    assert len(set(ports)) == 2


def test_prefill_and_decode_mapping():
    plan = make_plan(http_port=8000, workers=0, prefill_workers=1, decode_workers=1)
    w = _workers(plan)
    pre = mocker_argv(plan, w["prefill-0"], model_path="/m")
    dec = mocker_argv(plan, w["decode-0"], model_path="/m")
    assert opt_value(pre, "--disaggregation-mode") == "prefill"
    assert opt_value(pre, "--bootstrap-ports") == opt_value(
        w["prefill-0"].argv, "--disaggregation-bootstrap-port"
    )
    assert opt_value(dec, "--disaggregation-mode") == "decode"
    assert "--bootstrap-ports" not in dec


def test_data_parallel_is_passed_on():
    plan = make_plan(http_port=8000, workers=1, dp=2)
    argv = mocker_argv(plan, _workers(plan)["worker-0"], model_path="/m")
    assert opt_value(argv, "--data-parallel-size") == "2"


@pytest.mark.parametrize(
    "request_",
    [
        {"workers": 1},
        {"workers": 2, "dp": 2},
        {"workers": 0, "prefill_workers": 1, "decode_workers": 1},
    ],
)
def test_every_flag_exists_in_the_mocker_table(request_):
    table = dynamo_table("mocker").by_opt
    plan = make_plan(http_port=8000, **request_)
    for spec in _workers(plan).values():
        argv = mocker_argv(plan, spec, model_path="/m")
        unknown = [f for f in _flags(argv) if f not in table]
        assert not unknown, unknown
        mode = opt_value(argv, "--disaggregation-mode")
        assert mode in table["--disaggregation-mode"].choices


def test_rehearsal_model_loads_in_tokenizers(tmp_path: Path):
    tokenizers = pytest.importorskip("tokenizers")
    model = write_rehearsal_model(tmp_path / "model")
    assert is_servable_dir(model)
    config = json.loads((model / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"] and config["vocab_size"] == 32000
    tok = tokenizers.Tokenizer.from_file(str(model / "tokenizer.json"))
    assert tok.get_vocab_size() == 32000 >= 2048
    # the mocker emits ids around 1000-2000: they must decode to text
    assert tok.decode([1708, 1683]) == "w1708 w1683"
    assert tok.encode("w5 w1999").ids == [5, 1999]
    assert "chat_template" in json.loads((model / "tokenizer_config.json").read_text())


def test_a_catalogue_name_is_not_a_servable_dir(tmp_path: Path):
    assert not is_servable_dir("Qwen/Qwen3-0.6B")
    (tmp_path / "config.json").write_text("{}")
    assert not is_servable_dir(tmp_path)  # no tokenizer


def test_mocker_model_choice(tmp_path, monkeypatch):
    from hicachectl.launch.runner import mocker_model
    from hicachectl.launch.specs import Settings

    s = Settings(python="p", run_dir=tmp_path / "run", engine="mocker")
    # a hub name with nothing on disk: a rehearsal model under the run directory
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    plan = make_plan(http_port=8000, workers=1, model="org/absent")
    assert mocker_model(plan, s).mocker_model_path == str(tmp_path / "run" / "model")
    # the same name in the Hugging Face cache: its snapshot (the real tokenizer)
    snap = tmp_path / "hf" / "hub" / "models--org--absent" / "snapshots" / "abc"
    write_rehearsal_model(snap)
    assert mocker_model(plan, s).mocker_model_path == str(snap)
    # a local directory: itself
    local = write_rehearsal_model(tmp_path / "local")
    plan = make_plan(http_port=8000, workers=1, model=str(local))
    assert mocker_model(plan, s).mocker_model_path == str(local)
    # a real engine never gets one
    assert mocker_model(plan, Settings(python="p", run_dir=tmp_path)).mocker_model_path is None
