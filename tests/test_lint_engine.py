"""The lint engine around the rules: configuration discovery, select/ignore, severity
overrides, per-path ignores, inline suppressions, and the `lint` / `rules` commands with
their reporters and exit codes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hicachectl.errors import InputError, UsageError
from hicachectl.lint.config import ConfigFinder, load_config, parse_size, resolve_code
from hicachectl.lint.engine import LintOptions, lint_paths, lint_text

WB = "python -m dynamo.sglang --model-path m --enable-hierarchical-cache --hicache-write-policy write_back"
BAD = "python -m dynamo.sglang --model-path m --max-num-seqs 8"


@pytest.fixture(autouse=True)
def _debug(monkeypatch):
    monkeypatch.setenv("HICACHECTL_DEBUG", "1")


def codes(result):
    return [f.code for f in result.findings]


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


# --------------------------------------------------------------------------- config


def test_parse_size():
    assert parse_size("1TB") == 10**12
    assert parse_size("512GiB") == 512 * 2**30
    assert parse_size("742 GB") == 742 * 10**9
    assert parse_size("1e12") == 10**12
    with pytest.raises(ValueError):
        parse_size("lots")


def test_config_found_upward_in_pyproject(tmp_path):
    (tmp_path / ".git").mkdir()
    write(tmp_path, "pyproject.toml", '[tool.hicachectl]\nignore = ["write-back-policy"]\n')
    script = write(tmp_path, "deploy/scripts/run.sh", WB + "\n")
    assert "HC304" not in codes(lint_paths([str(script)]))
    assert "HC304" in codes(lint_paths([str(script)], options=LintOptions(config=os.devnull)))


def test_hicachectl_toml_wins_over_pyproject_and_stops_at_repo_root(tmp_path):
    write(tmp_path, "pyproject.toml", '[tool.hicachectl]\nselect = ["HC1"]\n')
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    write(repo, "pyproject.toml", "[project]\nname = 'x'\n")  # no [tool.hicachectl]
    script = write(repo, "run.sh", WB + "\n" + BAD + "\n")
    # The parent's select is beyond the repository root: not used.
    # (both workers on GPU 0, but the first runs in the foreground: it exits before the
    # second starts, so no HC504)
    assert set(codes(lint_paths([str(script)]))) == {"HC101", "HC304"}
    write(repo, ".hicachectl.toml", 'select = ["HC3"]\n[severity]\nHC304 = "error"\n')
    res = lint_paths([str(script)], options=LintOptions())
    assert codes(res) == ["HC304"] and res.findings[0].severity == "error"


def test_per_path_ignores_and_exclude(tmp_path):
    (tmp_path / ".git").mkdir()
    write(
        tmp_path,
        ".hicachectl.toml",
        'exclude = ["legacy/*"]\n[per-path-ignores]\n"docs/*" = ["HC304"]\n',
    )
    write(tmp_path, "docs/a.sh", WB + "\n")
    write(tmp_path, "ops/b.sh", WB + "\n")
    write(tmp_path, "legacy/c.sh", WB + "\n")
    res = lint_paths([str(tmp_path)])
    assert [(Path(f.path).name, f.code) for f in res.findings] == [("b.sh", "HC304")]


def test_bad_config_names_file_and_key(tmp_path):
    cfg = write(tmp_path, ".hicachectl.toml", '[severity]\nHC304 = "fatal"\n')
    with pytest.raises(InputError, match=r"\.hicachectl\.toml: severity\.HC304: expected one of"):
        load_config(cfg)
    cfg = write(tmp_path, "pyproject.toml", "[tool.hicachectl]\nfrobnicate = 1\n")
    with pytest.raises(
        InputError, match=r"pyproject\.toml: tool\.hicachectl\.frobnicate: unknown key"
    ):
        load_config(cfg)
    cfg = write(tmp_path, ".hicachectl.toml", 'ignore = ["write-bak-policy"]\n')
    with pytest.raises(InputError, match=r"ignore: unknown rule 'write-bak-policy'"):
        load_config(cfg)
    cfg = write(tmp_path, "x.toml", "select = [\n")
    with pytest.raises(InputError, match=r"x\.toml(:\d+)?: invalid TOML"):
        load_config(cfg)


def test_config_target_versions_and_host(tmp_path):
    (tmp_path / ".git").mkdir()
    write(tmp_path, ".hicachectl.toml", 'sglang-version = "0.5.21"\nhost-memory = "750GB"\n')
    script = write(
        tmp_path,
        "run.sh",
        "python -m sglang.launch_server --model-path m --enable-hicache --tp-size 8 "
        "--enable-hierarchical-cache --hicache-size 120\n",
    )
    assert set(codes(lint_paths([str(script)]))) == {"HC104", "HC401"}
    s = ConfigFinder().for_path(str(script))
    assert s.target_version("sglang") == "0.5.21" and s.target_version("dynamo") == "0.5.21"


def test_hardware_snapshot_feeds_the_memory_rules(tmp_path):
    snap = {
        "hostname": "h",
        "gpus": [],
        "host": {
            "memory_total_bytes": 800 * 10**9,
            "memory_available_bytes": 750 * 10**9,
            "cgroup_limit_bytes": 600 * 10**9,
            "cgroup_usage_bytes": 10**9,
        },
    }
    hw = write(tmp_path, "hw.json", json.dumps(snap))
    text = (
        "python -m sglang.launch_server --model-path m --tp-size 8 "
        "--enable-hierarchical-cache --hicache-size 80\n"
    )
    res = lint_text(text, path="run.sh", options=LintOptions(hardware=str(hw)))
    (f,) = [f for f in res.findings if f.code == "HC401"]
    # budget: min(750 GB available, 600 GB limit − 1 GB used) − 10 GiB = 588.3 GB
    assert f.message.startswith("--hicache-size 80 × 8 ranks = 640.0 GB > 588.3 GB host budget")
    assert codes(lint_text(text, path="run.sh")) == []  # no host information: skipped
    bad = write(tmp_path, "bad.json", "{")
    with pytest.raises(InputError, match="bad.json"):
        lint_text(text, path="run.sh", options=LintOptions(hardware=str(bad)))


def test_resolve_code_accepts_names_and_prefixes():
    assert resolve_code("write-back-policy") == "HC304"
    assert resolve_code("hc304") == "HC304"
    assert resolve_code("HC3") == "HC3"
    with pytest.raises(UsageError):
        resolve_code("no-such-rule")


# --------------------------------------------------------------------------- suppression


def test_shell_suppressions(tmp_path):
    text = (
        "# hicachectl: disable=HC304 -- we test write_back on purpose\n"
        + WB.replace(" --hicache", " \\\n  --hicache")
        + "\n"
        + BAD
        + "  # hicachectl: disable=unknown-flag\n"
        + WB
        + "\n"
    )
    res = lint_text(text, path="run.sh", options=LintOptions(ignore=("shared-gpus",)))
    assert [(f.span.line, f.code) for f in res.findings] == [(5, "HC304")]


def test_file_wide_and_markdown_fence_suppression():
    md = (
        "<!-- hicachectl: disable=HC101 -->\n"
        "```bash\n" + BAD + "\n```\n\n"
        "```bash\n" + BAD + "\n```\n"
    )
    res = lint_text(md, path="doc.md")
    assert [(f.span.line, f.code) for f in res.findings] == [(7, "HC101")]
    res = lint_text("# hicachectl: disable-file=all\n" + BAD + "\n", path="run.sh")
    assert res.findings == []


# --------------------------------------------------------------------------- CLI


def test_cli_text_format_has_caret_and_summary(cli, tmp_path):
    script = write(tmp_path, "run.sh", BAD + "\n")
    r = cli("lint", str(script), "--config", os.devnull)
    assert r.exit_code == 1, r.output
    lines = r.stdout.splitlines()
    assert lines[0] == str(script)
    assert lines[1].startswith(f"{script}:1:40: error HC101 [unknown-flag] ")
    src, caret = lines[2], lines[3]
    assert src.endswith(BAD)
    assert caret.index("^") == src.index("--max-num-seqs") and caret.count("^") == len(
        "--max-num-seqs"
    )
    assert lines[-1] == "1 problem: 1 error, 0 warnings, 0 info (1 file linted)"


def test_cli_json_format(cli, tmp_path):
    script = write(tmp_path, "run.sh", WB + "\n")
    r = cli("lint", "--format", "json", str(script))
    assert r.exit_code == 0, r.output  # a warning does not reach the default --fail-on error
    (item,) = json.loads(r.stdout)
    assert item == {
        "path": str(script),
        "line": 1,
        "col": 68,
        "end_line": 1,
        "end_col": 100,
        "code": "HC304",
        "name": "write-back-policy",
        "severity": "warning",
        "message": item["message"],
        "fix": "--hicache-write-policy write_through",
    }
    assert cli("lint", "--fail-on", "warning", str(script)).exit_code == 1
    assert cli("lint", "--fail-on", "never", "-c", BAD).exit_code == 0


def test_cli_sarif_format(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "ops/run.sh", BAD + "\n")
    r = cli("lint", "--format", "sarif", "ops")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["version"] == "2.1.0"
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [x["id"] for x in rules]
    assert "HC101" in ids and all(
        {"id", "name", "shortDescription", "fullDescription", "helpUri", "defaultConfiguration"}
        <= set(x)
        for x in rules
    )
    (res,) = run["results"]
    assert res["ruleId"] == "HC101" and res["level"] == "error"
    assert rules[res["ruleIndex"]]["id"] == "HC101"
    loc = res["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "ops/run.sh", "uriBaseId": "%SRCROOT%"}
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"
    assert loc["region"] == {"startLine": 1, "startColumn": 40, "endLine": 1, "endColumn": 54}
    assert run["columnKind"] == "unicodeCodePoints"


def test_sarif_meets_code_scanning_requirements(cli, tmp_path, monkeypatch):
    """What GitHub code scanning documents for an upload: tool.driver.name, per result a
    ruleId, message.text and a physical location whose artifactLocation.uri is a valid URI
    reference (relative to the checkout, or a file: URI), 1-based lines and columns."""
    from urllib.parse import unquote, urlsplit

    monkeypatch.chdir(tmp_path)
    write(tmp_path, "ops/launch #2 (h200).sh", BAD + "\n")
    outside = tmp_path.parent / f"{tmp_path.name}-other" / "serve.sh"
    outside.parent.mkdir(exist_ok=True)
    outside.write_text(BAD + "\n")
    r = cli("lint", "--format", "sarif", "--fail-on", "never", "ops", str(outside))
    run = json.loads(r.stdout)["runs"][0]
    assert run["tool"]["driver"]["name"] == "hicachectl"
    uris = []
    for res in run["results"]:
        assert res["ruleId"] and res["message"]["text"]
        phys = res["locations"][0]["physicalLocation"]
        region = phys["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert (
            region["endColumn"] > region["startColumn"] or region["endLine"] > region["startLine"]
        )
        uri = phys["artifactLocation"]["uri"]
        assert not any(c in uri for c in " #()"), uri  # reserved characters are escaped
        uris.append(uri)
    rel, absolute = uris
    assert unquote(rel) == "ops/launch #2 (h200).sh"
    assert urlsplit(absolute).scheme == "file" and unquote(urlsplit(absolute).path) == str(
        outside.resolve()
    )


def test_cli_github_format(cli):
    r = cli("lint", "--format", "github", "-c", BAD)
    assert r.stdout.startswith(
        "::error file=stdin,line=1,col=40,endLine=1,endColumn=53,title=HC101 unknown-flag::"
    )


def test_cli_stdin_with_filename(cli, monkeypatch):
    import io
    import sys

    md = "```bash\n" + BAD + "\n```\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(md.encode())))
    r = cli("lint", "--format", "json", "--stdin-filename", "docs/guide.md", "-")
    assert [(x["path"], x["line"], x["code"]) for x in json.loads(r.stdout)] == [
        ("docs/guide.md", 2, "HC101")
    ]


def test_cli_select_ignore_and_usage_errors(cli):
    assert (
        cli("lint", "-c", WB + " --max-num-seqs 2", "--select", "HC3", "-q").stdout.count("HC") == 1
    )
    r = cli("lint", "-c", BAD, "--ignore", "unknown-flag")
    assert r.exit_code == 0 and "no problems found" in r.stdout
    assert cli("lint", "-c", BAD, "--select", "HC999").exit_code == 2
    assert cli("lint", "-c", BAD, "--format", "xml").exit_code == 2
    assert cli("lint", "-c", BAD, "--fail-on", "sometimes").exit_code == 2
    assert cli("lint").exit_code == 2
    assert cli("lint", "-c", BAD, "--host-memory", "lots").exit_code == 2


def test_cli_unreadable_input_exits_2(cli, tmp_path):
    good = write(tmp_path, "ok.sh", "echo hi\n")
    r = cli("lint", str(good), str(tmp_path / "missing.sh"))
    assert r.exit_code == 2
    assert "missing.sh: no such file or directory" in r.stderr


def test_cli_profiles_lint_clean(cli):
    root = Path(__file__).resolve().parents[1]
    r = cli("lint", str(root / "profiles"))
    assert r.exit_code == 0, r.output


def test_invalid_profile_is_reported(tmp_path, cli):
    write(tmp_path, "profiles/bad.toml", 'name = "x"\n[workers]\ntp = "many"\n')
    r = cli("lint", "-q", str(tmp_path / "profiles"))
    assert r.exit_code == 1
    assert "bad.toml:3:1: HC003 workers.tp:" in r.stdout


def test_rules_command(cli):
    r = cli("rules")
    assert r.exit_code == 0
    assert any(line.startswith("HC304  write-back-policy") for line in r.stdout.splitlines())
    r = cli("rules", "write-back-policy")
    assert r.stdout.startswith("# HC304 write-back-policy (default severity: warning)")
    for section in ("## What it does", "## Why is this bad", "## Example", "## Use instead"):
        assert section in r.stdout
    assert cli("rules", "HC999").exit_code == 2
    rows = json.loads(cli("rules", "--format", "json").stdout)
    assert {"code", "name", "severity", "summary"} == set(rows[0])


def test_host_note_once(cli, tmp_path):
    script = write(
        tmp_path,
        "run.sh",
        "python -m sglang.launch_server --model-path m --enable-hierarchical-cache --hicache-size 9\n"
        * 2,
    )
    r = cli("lint", str(script))
    assert r.stderr.count("host memory unknown") == 1


def test_parallel_run_matches_serial(tmp_path):
    from hicachectl.lint.engine import PARALLEL_MIN_FILES

    for i in range(PARALLEL_MIN_FILES + 10):
        sub = tmp_path / f"d{i % 7}"
        text = BAD if i % 3 else WB
        write(sub, f"run{i}.sh", f"# {i}\n{text}\n")
    serial = lint_paths([str(tmp_path)], jobs=1)
    parallel = lint_paths([str(tmp_path)], jobs=2)
    assert serial.files == parallel.files == PARALLEL_MIN_FILES + 10
    assert serial.findings == parallel.findings and len(serial.findings) > 200
