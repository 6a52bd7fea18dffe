"""scripts/regen_flags.py: dumping a parser reproduces the table it was built from."""

from __future__ import annotations

import argparse
import importlib.util

from conftest import ROOT
from test_argv_oracle import oracle

from hicachectl.sglang.flags import load_table
from hicachectl.sglang.parsers import sglang_parser

_spec = importlib.util.spec_from_file_location("regen_flags", ROOT / "scripts" / "regen_flags.py")
regen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(regen)


def test_dump_round_trips_the_sglang_table():
    raw = load_table("sglang-0.5.23").raw["actions"]
    rows = regen.dump(oracle(sglang_parser("0.5.23")))
    assert len(rows) == len(raw)
    for got, want in zip(rows, raw, strict=True):
        if want["action"] in ("_HelpAction",):
            continue
        assert got["opts"] == want["opts"] and got["dest"] == want["dest"]
        assert got["choices"] == want["choices"] and got["type"] == want["type"]
        assert got["nargs"] == want["nargs"], want["opts"]
        if want["default"] != "==SUPPRESS==":
            assert got["default"] == want["default"], want["opts"]
        assert got.get("required", False) == want.get("required", False)


def test_capture_returns_the_parser_without_parsing():
    def program(argv):
        p = argparse.ArgumentParser(prog="x")
        p.add_argument("--a", type=int, default=1, help=argparse.SUPPRESS)
        p.add_argument("--b", action="store_true")
        p.parse_args(argv)
        raise AssertionError("not reached")

    p = regen.capture(program, ["--a", "2"])
    rows = regen.dump(p, name="main")
    assert rows[1] == {
        "opts": ["--a"], "dest": "a", "type": "int", "default": 1, "choices": None,
        "nargs": None, "action": "_StoreAction", "hidden": True, "group": "options",
        "parser": "main",
    }  # fmt: skip
    assert rows[2]["nargs"] == 0 and rows[2]["action"] == "_StoreTrueAction"
    # parse_args works again afterwards
    assert p.parse_args(["--a", "3"]).a == 3


def test_keep_hand_written_keys():
    old = {"notes": ["n"], "actions": [{"opts": ["--x"], "env": ["X"]}]}
    new = regen.keep_hand_written({"actions": [{"opts": ["--x"]}]}, old)
    assert new["notes"] == ["n"] and new["actions"][0]["env"] == ["X"]
