"""Secrets never reach output: the masking used for echoed source lines, and lint's text report."""

from __future__ import annotations

import pytest

from hicachectl.secrets import is_secret_name, mask_line


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        ("  --api-key sk-live-123456 \\", "  --api-key ************** \\"),
        ("--admin-api-key=adm1n", "--admin-api-key=*****"),
        ("export HF_TOKEN='hf_abc'", "export HF_TOKEN='******'"),
        (
            "      value: x  # MOONCAKE_PASSWORD: hunter2",
            "      value: x  # MOONCAKE_PASSWORD: *******",
        ),
        ("--api-key $API_KEY", "--api-key $API_KEY"),
        ("--api-key <your-key>", "--api-key <your-key>"),
        ("--hicache-size 30 --tp-size 2", "--hicache-size 30 --tp-size 2"),
        ("--max-total-tokens 4096", "--max-total-tokens 4096"),
        ("--enable-metrics --api-key k3y", "--enable-metrics --api-key ***"),
    ],
)
def test_mask_line(line, masked):
    assert mask_line(line) == masked
    assert len(mask_line(line)) == len(line)  # carets stay aligned


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("--api-key", True),
        ("--admin-api-key", True),
        ("--hf-token", True),
        ("HF_TOKEN", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("ssl_keyfile_password", True),
        ("--max-total-tokens", False),
        ("--hicache-size", False),
        ("DYN_SYSTEM_PORT", False),
    ],
)
def test_is_secret_name(name, secret):
    assert is_secret_name(name) is secret


def test_lint_text_report_does_not_echo_a_secret(cli, tmp_path):
    script = tmp_path / "run.sh"
    script.write_text(
        "#!/bin/bash\n"
        "python -m dynamo.sglang --model-path m --api-key sk-live-123456 \\\n"
        "  --enable-hierarchical-cache --hicache-write-policy write_back\n"
    )
    r = cli("lint", str(script))
    assert "HC311" in r.stdout, r.output
    assert "sk-live-123456" not in r.output
    for fmt in ("json", "sarif", "github"):
        assert "sk-live-123456" not in cli("lint", "--format", fmt, str(script)).output
