"""JSON input files: each way a file can be bad is one ``file[:line]: message`` line, exit 2."""

from __future__ import annotations

import pytest

from hicachectl.errors import InputError
from hicachectl.jsonfile import load_json_object

WHAT = "a probe --json snapshot"


def _error(path, **kw) -> str:
    with pytest.raises(InputError) as info:
        load_json_object(path, what=WHAT, **kw)
    assert info.value.exit_code == 2
    text = str(info.value)
    assert "\n" not in text
    return text


def test_reads_an_object(tmp_path):
    f = tmp_path / "ok.json"
    f.write_text('{"a": [1, 2], "b": null}')
    assert load_json_object(f, what=WHAT) == {"a": [1, 2], "b": None}
    assert load_json_object(str(f), what=WHAT) == {"a": [1, 2], "b": None}


def test_missing_file_and_directory(tmp_path):
    assert _error(tmp_path / "nope.json") == f"{tmp_path / 'nope.json'}: no such file"
    custom = _error(tmp_path / "nope.json", missing="no such hardware snapshot")
    assert custom.endswith(": no such hardware snapshot")
    assert _error(tmp_path) == f"{tmp_path}: is a directory, expected {WHAT}"


def test_invalid_json_names_the_line(tmp_path):
    f = tmp_path / "bad.json"
    f.write_text('{\n  "a": 1,\n  "b": oops\n}\n')
    assert _error(f) == f"{f}:3: invalid JSON: Expecting value"


def test_not_utf8_and_not_an_object(tmp_path):
    f = tmp_path / "latin1.json"
    f.write_bytes(b'{"name": "caf\xe9"}')
    assert _error(f) == f"{f}: cannot read: not UTF-8 text (invalid continuation byte at byte 13)"
    g = tmp_path / "list.json"
    g.write_text("[1, 2]")
    assert _error(g) == f"{g}: expected a JSON object ({WHAT})"


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "--hardware", "{f}", "--model", "meta-llama/Llama-3.1-8B-Instruct"),
        ("plan", "--hardware", "profiles/hardware/h100-sxm-8x-2tb.json", "--model-config", "{f}"),
        ("launch", "--plan", "{f}", "--dry-run"),
    ],
)
def test_every_json_input_of_the_cli_fails_in_one_line(cli, tmp_path, args):
    f = tmp_path / "bad.json"
    f.write_bytes(b"\xff\xfe not json")
    r = cli(*(a.replace("{f}", str(f)) for a in args))
    assert r.exit_code == 2
    assert (
        r.stderr == f"hicachectl: {f}: cannot read: not UTF-8 text (invalid start byte at byte 0)\n"
    )
