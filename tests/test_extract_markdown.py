"""Markdown extraction: fences, console prompts, positions, directives, the seed documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from hicachectl.lint.extract import extract
from hicachectl.lint.types import Span

FIX = Path(__file__).parent / "fixtures" / "extract"
SEEDS = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds"
needs_seeds = pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds not present")


def _texts(cmd):
    return [t.text for t in cmd.tokens]


def _tok(cmd, text):
    return next(t for t in cmd.tokens if t.text == text)


@pytest.fixture(scope="module")
def runbook():
    p = FIX / "runbook.md"
    return extract(str(p), p.read_bytes())


def test_runbook_commands_in_order(runbook):
    progs = [" ".join(_texts(c)[:3]) for c in runbook.commands]
    assert progs == [
        "python -m dynamo.frontend",
        "python -m dynamo.sglang",
        "python -m dynamo.sglang",
        "sglang serve --model-path",
        "python -m sglang.launch_server",
    ]
    assert all(c.group == runbook.commands[0].group for c in runbook.commands)
    assert runbook.file_env["MODEL"] == "Qwen/Qwen3-8B"


def test_console_prompt_stripped_and_output_ignored(runbook):
    front = runbook.commands[0]
    assert _texts(front) == ["python", "-m", "dynamo.frontend", "--http-port", "8000"]
    assert front.background
    # "$ " sits at column 4 inside a list item; the token starts after it
    assert front.tokens[0].span == Span(12, 6, 12, 11)
    serve = runbook.commands[3]
    assert _texts(serve) == ["sglang", "serve", "--model-path", "Qwen/Qwen3-8B", "--tp", "2"]
    assert _tok(serve, "--tp").span == Span(36, 5, 36, 8)


def test_indented_fence_positions_and_shared_variables(runbook):
    worker = runbook.commands[1]
    assert _texts(worker)[3:5] == ["--model-path", "Qwen/Qwen3-8B"]
    assert _tok(worker, "--hicache-size").span == Span(22, 7, 22, 20)
    big = runbook.commands[2]
    assert _tok(big, "400").span == Span(27, 62, 27, 64)


def test_html_directive_suppresses_the_fence(runbook):
    lines = {s.line for s in runbook.suppressions if s.codes == ("HC301",)}
    assert {27} <= lines
    assert all(s.reason == "sized for the 2 TB host" for s in runbook.suppressions)
    assert 23 not in lines


def test_unterminated_fence_is_a_note_and_dangling_backslash(runbook):
    assert any("unterminated code fence" in n and ":40:" in n for n in runbook.notes)
    (f,) = [f for f in runbook.findings if f.code == "HC002"]
    assert f.span.line == 41 and "code block" in f.message


def test_non_shell_fences_ignored(runbook):
    assert not any('{"not"' in " ".join(_texts(c)) for c in runbook.commands)


@pytest.mark.parametrize("name", sorted(p.name for p in SEEDS.glob("*.txt")))
def test_seed_documents_extract(name):
    data = (SEEDS / name).read_bytes()
    ex = extract(str(SEEDS / name), data)
    assert ex.notes == [] or all(isinstance(n, str) for n in ex.notes)
    if name.startswith("004"):
        return  # a catalogue page without fences
    assert ex.host_format == "markdown"
    launches = [c for c in ex.commands if any("sglang" in t.text for t in c.tokens[:4])]
    assert launches


@needs_seeds
def test_seed_000_worker_module_and_ports():
    ex = extract("000.md", (SEEDS / "000_1652945df6058922.txt").read_bytes())
    worker = next(c for c in ex.commands if "dynamo.sglang.worker" in _texts(c))
    assert _texts(worker)[-12:] == [
        "--page-size",
        "64",
        "--enable-hierarchical-cache",
        "--hicache-size",
        "30",
        "--hicache-write-policy",
        "write_through",
        "--hicache-storage-backend",
        "nixl",
        "--log-level",
        "debug",
        "--skip-tokenizer-init",
    ]
    assert _tok(worker, "--hicache-size").span == Span(25, 3, 25, 16)


@needs_seeds
def test_seed_002_broken_and_dangling():
    ex = extract("002.md", (SEEDS / "002_2f7d87c1211fe53d.txt").read_bytes())
    codes = sorted((f.code, f.span.line) for f in ex.findings)
    assert codes == [("HC001", 93), ("HC002", 121)]
    hc001 = next(f for f in ex.findings if f.code == "HC001")
    assert (
        "--disaggregation-mode" in hc001.message
        and "python3 -m sglang.launch_server" in hc001.message
    )


def test_fence_inside_a_blockquote():
    text = b"> [!NOTE]\n> Run:\n> ```bash\n> python -m sglang.launch_server \\\n>   --tp 2\n> ```\n"
    (cmd,) = extract("a.md", text).commands
    assert _texts(cmd) == ["python", "-m", "sglang.launch_server", "--tp", "2"]
    assert _tok(cmd, "--tp").span == Span(5, 5, 5, 8)


def test_prompt_variants_and_ps2():
    text = (
        b"```bash\n(.venv) $ python -m sglang.launch_server \\\n> --tp 2\nserver started\n"
        b"ubuntu@gpu-01:~/work$ sglang serve --page-size 64\n```\n"
        b"```bash\n# start it\npython -m dynamo.frontend\n```\n"
    )
    a, b, c = extract("a.md", text).commands
    assert _texts(a) == ["python", "-m", "sglang.launch_server", "--tp", "2"]
    assert _tok(a, "--tp").span == Span(3, 3, 3, 6)
    assert _texts(b) == ["sglang", "serve", "--page-size", "64"]
    assert _tok(b, "sglang").span.col == 23
    assert _texts(c) == ["python", "-m", "dynamo.frontend"]  # "# " opened a bash block


def test_yaml_fences_hold_manifests():
    text = (
        b"# Deploy\n\n```yaml\napiVersion: nvidia.com/v1alpha1\nkind: DynamoGraphDeployment\n"
        b"metadata:\n  name: d\nspec:\n  services:\n    decode:\n      componentType: worker\n"
        b"      extraPodSpec:\n        mainContainer:\n          command: [python3, -m, dynamo.sglang]\n"
        b'          args: [--model-path, m, --hicache-size, "900"]\n```\n\n'
        b"  ```yaml\n  model-path: m\n  hicache-size: 900\n  ```\n\n```yaml\nfoo: bar\n```\n"
    )
    ex = extract("doc.md", text)
    dgd, cfg = ex.commands
    assert dgd.host_format == "k8s" and dgd.context["fence_line"] == 3
    assert dgd.group == "doc.md@3#0:decode"
    assert _tok(dgd, "--hicache-size").span == Span(15, 35, 15, 48)
    assert cfg.host_format == "sglang-config" and _tok(cfg, "900").span == Span(20, 17, 20, 19)


INDENTED = """\
# Serving

Start the worker (an indented code block, as older READMEs write them):

    export MODEL=Qwen/Qwen3-8B
    python -m sglang.launch_server --model-path $MODEL \\
        --enable-hierarchical-cache --hicache-ratio 2

1. Then the frontend:

    python -m dynamo.frontend --http-port 8000

Some text
    python -m sglang.launch_server --model-path continuation-of-a-paragraph

    just some indented prose, not a command

```bash
python -m dynamo.sglang --model-path $MODEL
```
"""


def test_indented_code_blocks_are_read_outside_lists_and_paragraphs():
    ex = extract("serve.md", INDENTED.encode())
    cmds = [_texts(c) for c in ex.commands]
    # the indented block, then the fence; the list item's and the paragraph's lines are text
    assert [c[:3] for c in cmds] == [
        ["python", "-m", "sglang.launch_server"],
        ["python", "-m", "dynamo.sglang"],
    ]
    first = ex.commands[0]
    assert first.context["fence_tag"] == "indented" and first.context["fence_line"] == 5
    # positions are the file's: line 6/7, after the four spaces of indentation
    assert _tok(first, "--model-path").span == Span(6, 36, 6, 47)
    assert _tok(first, "--hicache-ratio").span == Span(7, 37, 7, 51)
    # the variable exported in the indented block carries into the fence below
    assert _texts(ex.commands[1])[4] == "Qwen/Qwen3-8B"
    assert ex.file_env["MODEL"] == "Qwen/Qwen3-8B"


def test_an_indented_block_with_a_broken_continuation_is_reported(tmp_path):
    doc = "Run:\n\n    python -m sglang.launch_server --model-path m \\  # the model\n        --enable-hierarchical-cache\n"
    ex = extract("run.md", doc.encode())
    (finding,) = [f for f in ex.findings if f.code == "HC001"]
    assert finding.span.line == 3 and finding.span.col == 51
    assert "--enable-hierarchical-cache" in finding.message
