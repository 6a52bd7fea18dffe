"""Lint never quotes a secret: values of secret-named variables (the file's, a command's
environment, a compose .env) and of secret-named flags are starred in messages, fixes and the
echoed source line, whatever flag they end up in."""

from __future__ import annotations

import json

COMPOSE = """\
services:
  worker:
    command: python -m sglang.launch_server --model-path m --port ${HF_TOKEN}
"""
SCRIPT = """\
export HF_TOKEN=hf_zyxwvutsrqpo
python -m sglang.launch_server --model-path m --port $HF_TOKEN
python -m sglang.launch_server --model-path m --api-key sk-secretvalue1 --port sk-secretvalue1
"""


def test_secret_values_never_appear_in_any_format(cli, tmp_path):
    (tmp_path / ".env").write_text("HF_TOKEN=hf_abcdefghijklmnop\n")
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    (tmp_path / "run.sh").write_text(SCRIPT)
    secrets = ("hf_abcdefghijklmnop", "hf_zyxwvutsrqpo", "sk-secretvalue1")
    for fmt in ("text", "json", "sarif", "github"):
        r = cli("lint", "--format", fmt, str(tmp_path))
        assert r.exit_code == 1, r.output
        assert not any(s in r.output for s in secrets), (fmt, r.output)
    found = json.loads(cli("lint", "--format", "json", str(tmp_path)).stdout)
    ports = [f for f in found if f["code"] == "HC103"]
    assert len(ports) == 3  # still reported: the value is invalid, only not quoted
    assert all("'***'" in f["message"] for f in ports)
    text = cli("lint", str(tmp_path / "run.sh")).stdout
    # columns stay aligned: one * per character in the echoed line
    assert "--api-key *************** --port ***************" in text


def test_short_values_are_not_starred(cli, tmp_path):
    (tmp_path / "run.sh").write_text(
        "export MY_TOKEN=abc\npython -m sglang.launch_server --model-path abc --tp-size x\n"
    )
    r = cli("lint", str(tmp_path / "run.sh"))
    assert "--model-path abc" in r.stdout  # three characters would star ordinary words


def test_placeholders_numbers_and_parts_of_words_are_not_starred(cli, tmp_path):
    (tmp_path / "run.sh").write_text(
        "export OPENAI_API_KEY=none\n"
        "export HF_TOKEN=8000\n"
        "export MY_SECRET=test1234\n"
        "python -m sglang.launch_server --model-path /m/latest12345 --port 8000 "
        "--hicache-storage-backend none --api-key $OPENAI_API_KEY --tp-size test1234\n"
    )
    r = cli("lint", str(tmp_path / "run.sh"))
    assert "--hicache-storage-backend none" in r.stdout and "--port 8000" in r.stdout
    assert "/m/latest12345" in r.stdout  # the secret inside a longer word is not the secret
    assert "--tp-size ********" in r.stdout  # the secret itself, as a word, is
    assert "test1234" not in r.stdout.replace("latest12345", "")
