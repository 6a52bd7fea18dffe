"""Profiles: every bundled profile validates, errors read ``file: key.path: message`` (exit 2),
and a request written back as TOML loads to the same request."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hicachectl.errors import InputError
from hicachectl.profiles import (
    PlanRequest,
    bundled_dir,
    list_profiles,
    load_profile,
    merge,
    profile_toml,
)
from tests.conftest import ROOT

EXPECTED = {
    "dev",
    "llama-3.1-8b-production",
    "llama-3.1-70b-tp2",
    "deepseek-r1-tp8-hf3fs",
    "qwen3-235b-mooncake",
    "kv-routing-2-workers",
}


def test_bundled_profiles_load_and_name_their_hardware():
    assert bundled_dir() == ROOT / "profiles"
    found = {prof.name: (path, req) for path, prof, req in list_profiles()}
    assert EXPECTED <= set(found)
    for name, (path, req) in found.items():
        assert path.stem == name
        assert req.hardware, name
        assert Path(req.hardware).is_file(), f"{name}: {req.hardware} missing"
        assert req.model


def test_production_profile_matches_the_seed_example():
    _, req = load_profile(ROOT / "profiles" / "llama-3.1-8b-production.toml")
    assert req.model == "meta-llama/Llama-3.1-8B-Instruct"
    assert (req.hicache_ratio, req.write_policy, req.storage_backend) == (
        3.0,
        "write_through",
        "nixl",
    )
    assert (req.page_size, req.mem_fraction_static) == (64, 0.85)
    assert req.max_running_requests == 256  # the seed's --max-num-seqs, SGLang's real name


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "x.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[workers]\ntp = "two"\n', "x.toml: workers.tp: Input should be a valid integer"),
        ("[workers]\ntp = 1.5\n", "x.toml: workers.tp: Input should be a valid integer"),
        (
            "[hicache]\nhicache_ratio = -1\n",
            "x.toml: hicache.hicache_ratio: Input should be greater than 0",
        ),
        ("[hicache]\nratio = 2\n", "x.toml: hicache.ratio: Extra inputs are not permitted"),
        ("colour = 1\n", "x.toml: colour: Extra inputs are not permitted"),
        ("[workers\n", "x.toml: invalid TOML"),
        (
            "[workers]\nsystem_port = 40000\n",
            "x.toml: workers.system_port: Input should be less than or equal to 32767",
        ),
        (
            "[workers]\nkv_events_port = 8081\n",
            "x.toml: workers.kv_events_port = 8081 clashes with workers.system_port = 8081",
        ),
        (
            "[workers]\nbootstrap_port = 9000\n[frontend]\nhttp_port = 9000\n",
            "x.toml: workers.bootstrap_port = 9000 clashes with frontend.http_port = 9000",
        ),
    ],
)
def test_profile_errors_name_file_and_key(tmp_path, text, expected):
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as exc:
        load_profile(path)
    assert str(exc.value).startswith(str(tmp_path / expected)), str(exc.value)
    assert exc.value.exit_code == 2


def test_profile_wrong_type_through_the_cli(cli, tmp_path):
    path = _write(tmp_path, 'model = "Qwen/Qwen3-0.6B"\n[workers]\ntp = "two"\n')
    r = cli("plan", "--profile", path, "--format", "json")
    assert r.exit_code == 2, r.output
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1
    assert (
        lines[0]
        == f"hicachectl: {path}: workers.tp: Input should be a valid integer, unable to parse string as an integer"
    )


def test_missing_profile_file(cli, tmp_path):
    r = cli("plan", "--profile", tmp_path / "nope.toml")
    assert r.exit_code == 2
    assert "nope.toml: No such file or directory" in r.stderr


def test_unknown_bundled_profile_lists_the_known_ones(cli):
    r = cli("plan", "--profile", "nosuch")
    assert r.exit_code == 2
    assert r.stderr.startswith("hicachectl: unknown profile 'nosuch': not a file; bundled ones: ")
    assert "kv-routing-2-workers" in r.stderr


def test_toml_round_trip(tmp_path):
    req = PlanRequest(
        model="meta-llama/Llama-3.1-8B-Instruct",
        hardware=str(tmp_path / "hw.json"),
        tp=2,
        prefill_workers=1,
        decode_workers=2,
        workers=0,
        hicache_ratio=2.5,
        storage_backend="file",
        mem_layout="page_first_direct",
        router_mode="kv",
        decode_hicache=False,
    )
    path = tmp_path / "p.toml"
    path.write_text(profile_toml(req, name="rt", description='quote " and \\ kept'))
    prof, back = load_profile(path)
    assert back == req
    assert prof.name == "rt" and prof.description == 'quote " and \\ kept'


def test_relative_paths_resolve_against_the_profile(tmp_path):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "p.toml"
    path.write_text('model_config = "cfg/config.json"\nhardware = "../hw.json"\n')
    _, req = load_profile(path)
    assert req.model_config_path == str(tmp_path / "sub" / "cfg" / "config.json")
    assert req.hardware == str(tmp_path / "hw.json")


def test_cli_overrides_profile():
    _, base = load_profile(ROOT / "profiles" / "dev.toml")
    merged = merge(base, {"tp": 2, "page_size": None, "http_port": 9000})
    assert (merged.tp, merged.page_size, merged.http_port) == (2, base.page_size, 9000)
    assert merged.model == base.model


def test_profiles_command_lists_every_profile(cli):
    r = cli("profiles", "--json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)
    assert EXPECTED <= {row["name"] for row in rows}
    kv = next(row for row in rows if row["name"] == "kv-routing-2-workers")
    assert kv["topology"] == "2 workers, tp1"
    assert kv["model"] == "meta-llama/Llama-3.1-8B-Instruct"
    r = cli("profiles")
    assert r.exit_code == 0
    for name in EXPECTED:
        assert name in r.stdout


@pytest.mark.parametrize("columns", ["50", "60", "80", "250"])
def test_profiles_text_cuts_nothing_at_any_width(cli, monkeypatch, columns):
    # rich sizes to $COLUMNS (80 on a pipe): narrow, one block per profile; wide, a table.
    monkeypatch.setenv("COLUMNS", columns)
    rows = json.loads(cli("profiles", "--json").stdout)
    r = cli("profiles")
    assert r.exit_code == 0
    text = " ".join(r.stdout.split())  # descriptions may wrap (and fold in the table)
    for row in rows:
        assert row["model"] in r.stdout and row["topology"] in text
        if columns == "250":
            assert row["description"] in text
        else:
            assert f"\n{row['name']}\n    {row['model']}," in r.stdout
            assert " ".join(row["description"].split()) in text
    if columns != "250":  # below the title, every line fits
        assert all(len(line) <= int(columns) for line in r.stdout.splitlines()[1:])
