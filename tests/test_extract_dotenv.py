"""Compose interpolation from the ``.env`` file beside the compose file."""

from __future__ import annotations

import json

from hicachectl.lint.extract import extract
from hicachectl.lint.extract.dotenv import parse_dotenv

COMPOSE = """\
services:
  worker:
    image: nvcr.io/nvidia/ai-dynamo/sglang-runtime:0.6.1
    environment:
      MOONCAKE_MASTER: ${MASTER:-mooncake:50051}
    command: >
      python -m sglang.launch_server --model-path ${MODEL}
      --enable-hierarchical-cache --hicache-ratio ${RATIO:-2}
      --hicache-storage-backend mooncake --hicache-mem-layout ${LAYOUT}
  shell:
    image: lmsysorg/sglang:latest
    command: ["sh", "-c", "python -m sglang.launch_server --model-path $MODEL --tp-size ${TP}"]
"""


def test_parse_dotenv_follows_compose():
    values, bad = parse_dotenv(
        "# settings\n"
        "MODEL=Qwen/Qwen3-8B\n"
        "export TP=2\n"
        "RATIO='0.5'  \n"
        'NOTE="a # b\\tc"\n'
        "LAYOUT=layer_first # inline comment\n"
        "EMPTY=\n"
        "this is not an assignment\n"
    )
    assert values == {
        "MODEL": "Qwen/Qwen3-8B",
        "TP": "2",
        "RATIO": "0.5",
        "NOTE": "a # b\tc",
        "LAYOUT": "layer_first",
        "EMPTY": "",
    }
    assert bad == [8]


def _commands(tmp_path, dotenv: str | None):
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    if dotenv is not None:
        (tmp_path / ".env").write_text(dotenv)
    path = tmp_path / "compose.yaml"
    ex = extract(str(path), path.read_bytes())
    return ex, {c.context["service"]: c for c in ex.commands}


def test_without_dotenv_references_stay_unknown_and_defaults_apply(tmp_path):
    _, cmds = _commands(tmp_path, None)
    worker = cmds["worker"]
    by_text = {t.text: t for t in worker.tokens}
    assert not by_text["${MODEL}"].known and not by_text["${LAYOUT}"].known
    assert "2" in by_text  # ${RATIO:-2}
    assert worker.env["MOONCAKE_MASTER"] == "mooncake:50051"


def test_dotenv_values_are_interpolated(tmp_path):
    ex, cmds = _commands(
        tmp_path, "MODEL=Qwen/Qwen3-8B\nRATIO=0.5\nLAYOUT=layer_first\nTP=2\nMASTER=\n"
    )
    words = [t.text for t in cmds["worker"].tokens]
    assert words[4] == "Qwen/Qwen3-8B" and "0.5" in words and "layer_first" in words
    assert all(t.known for t in cmds["worker"].tokens)
    # ${MASTER:-default} takes the default when .env sets it empty
    assert cmds["worker"].env["MOONCAKE_MASTER"] == "mooncake:50051"
    # the sh -c script sees the .env values too (compose interpolates it first)
    shell = [t.text for t in cmds["shell"].tokens]
    assert shell[shell.index("--tp-size") + 1] == "2"
    assert ex.notes == []


def test_lint_reports_what_the_dotenv_values_cause(cli, tmp_path):
    _commands(tmp_path, "MODEL=Qwen/Qwen3-8B\nRATIO=0.5\nLAYOUT=layer_first\nTP=2\n")
    r = cli("lint", "--format", "json", str(tmp_path / "compose.yaml"))
    found = {(f["code"], f["line"]) for f in json.loads(r.stdout)}
    assert ("HC303", 8) in found  # --hicache-ratio 0.5 from .env
    assert ("HC201", 9) in found  # layer_first rewritten for Mooncake


def test_a_malformed_dotenv_is_a_note(tmp_path):
    ex, _ = _commands(tmp_path, "MODEL=Qwen/Qwen3-8B\noops\n")
    assert ex.notes == [
        f"{tmp_path / '.env'}: line 2: not KEY=VALUE; compose refuses such a .env file"
    ]


def test_quoted_values_may_carry_an_inline_comment():
    values, bad = parse_dotenv(
        "RATIO='0.5' # tuned\n"
        'NAME="a \\"b\\" # kept" # dropped\n'
        "HASH='a#b'\n"
        'OPEN="no end\n'
    )
    assert values == {"RATIO": "0.5", "NAME": 'a "b" # kept', "HASH": "a#b"}
    assert bad == [4]  # an unterminated quote is not a value (compose reads it as multi-line)
