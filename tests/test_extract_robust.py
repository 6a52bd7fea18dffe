"""Dockerfile and walker extraction, plus hostile input: binary, bad UTF-8, huge files,
YAML bombs and deep nesting, unterminated quotes, and generated shell text."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hicachectl.lint.extract import MAX_BYTES, extract
from hicachectl.lint.types import Span
from hicachectl.lint.walk import iter_files

FIX = Path(__file__).parent / "fixtures" / "extract"


def _texts(cmd):
    return [t.text for t in cmd.tokens]


def test_dockerfile_exec_and_shell_forms():
    p = FIX / "Dockerfile"
    ex = extract(str(p), p.read_bytes())
    assert ex.host_format == "dockerfile"
    pip, check, entry, shell_cmd = ex.commands
    assert _texts(pip)[:2] == ["pip", "install"] and pip.context["instruction"] == "RUN"
    # the comment line inside the continued RUN is dropped, so the && chain goes on
    assert _texts(check) == ["python3", "-c", "import sglang"] and check.span.line == 7
    assert entry.context["instruction"] == "ENTRYPOINT+CMD"
    assert _texts(entry) == [
        "python3",
        "-m",
        "sglang.launch_server",
        "--model-path",
        "Qwen/Qwen3-8B",
        "--enable-hierarchical-cache",
        "--hicache-size",
        "64",
    ]
    assert entry.tokens[6].span == Span(13, 37, 13, 52)
    assert shell_cmd.context == {"instruction": "CMD", "shell_form": True}
    assert _texts(shell_cmd)[4:7] == ["Qwen/Qwen3-8B", "--hicache-size", "64"]  # ARG, ENV
    assert ex.file_env == {"HICACHE_SIZE": "64", "MOONCAKE_MASTER": "mooncake:50051"}
    assert [s.line for s in ex.suppressions] == [11, 12, 13]  # the whole ENTRYPOINT+CMD
    assert ex.findings == []


def test_dockerfile_heredoc_and_escape_directive():
    text = b"# escape=`\nFROM x\nRUN python3 -m sglang.launch_server `\n  --tp 2\nRUN <<EOF\nsglang serve --tp 4\nEOF\n"
    ex = extract("Dockerfile", text)
    a, b = ex.commands
    assert _texts(a)[-2:] == ["--tp", "2"]
    assert _texts(b) == ["sglang", "serve", "--tp", "4"] and b.span.line == 6


def test_walker_filters_and_excludes(tmp_path):
    (tmp_path / "a.sh").write_text("python -m sglang.launch_server\n")
    (tmp_path / "run").write_text("#!/usr/bin/env bash\necho\n")
    (tmp_path / "notes.txt").write_text("plain text\n")
    (tmp_path / "img.png").write_bytes(b"\x89PNG\x00")
    (tmp_path / "skip").mkdir()
    (tmp_path / "skip" / "b.md").write_text("x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "c.sh").write_text("x")
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "d.yaml").write_text("x")
    names = [p.relative_to(tmp_path).as_posix() for p in iter_files([tmp_path], ["skip"])]
    assert names == ["a.sh", "run"]
    assert [p.name for p in iter_files([tmp_path], ["*.sh"])] == ["run", "b.md"]
    assert list(iter_files(["-"])) == [Path("-")]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads everything")
def test_walker_yields_unreadable_directory(tmp_path):
    bad = tmp_path / "locked"
    bad.mkdir()
    (bad / "x.sh").write_text("x")
    bad.chmod(0)
    try:
        assert bad in list(iter_files([tmp_path]))
    finally:
        bad.chmod(0o755)


def test_binary_and_invalid_utf8():
    ex = extract("tool.sh", b"\x7fELF\x00\x01\x02")
    assert ex.host_format is None and "binary" in ex.notes[0]
    ex = extract("x.sh", b"python -m sglang.launch_server --model-path \xff --tp 2\n")
    assert "invalid UTF-8" in ex.notes[0]
    assert _texts(ex.commands[0])[-2:] == ["--tp", "2"]


def test_fifty_megabyte_file_is_capped():
    data = b"python -m sglang.launch_server --tp 2 \\\n  --page-size 64\n" * 900_000
    assert len(data) > 50_000_000
    ex = extract("big.sh", data)
    assert any("over the" in n and "first" in n for n in ex.notes)
    assert ex.commands and ex.commands[-1].span.line * 20 < MAX_BYTES


def test_yaml_alias_bomb_is_bounded():
    rows = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        rows.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    rows += ["model-path: m", "enable-hierarchical-cache: true", "kv-events-config: {x: *i}"]
    ex = extract("bomb.yaml", "\n".join(rows).encode())
    (cmd,) = ex.commands
    texts = _texts(cmd)
    at = texts.index("--model-path")
    assert texts[at : at + 3] == ["--model-path", "m", "--enable-hierarchical-cache"]
    assert cmd.tokens[-1].known is False  # the bomb was not expanded
    assert any("kv-events-config" in n and "alias" in n for n in ex.notes)


def test_deeply_nested_yaml_is_a_note():
    ex = extract("deep.yaml", b"apiVersion: v1\nkind: Pod\nspec: " + b"[" * 10000 + b"]" * 10000)
    assert any("nested deeper" in n for n in ex.notes)
    ex = extract(
        "deep2.yaml", b"kind: Pod\nspec:\n" + b"".join(b" " * i + b"a:\n" for i in range(1, 1200))
    )
    assert any("nested deeper" in n for n in ex.notes)


def test_invalid_yaml_names_the_line():
    ex = extract("bad.yaml", b"apiVersion: v1\nkind: Pod\nspec: [unclosed\n  foo: : :\n")
    assert any("line 4: invalid YAML" in n for n in ex.notes)


def test_unterminated_quote_is_a_note():
    ex = extract("q.sh", b"python -m sglang.launch_server --model 'oops\n --tp 2\n")
    assert any("q.sh:1:" in n and "syntax error" in n for n in ex.notes)
    ex = extract("q.md", b'```bash\npython -m x "unterminated\n```\n')
    assert any("q.md:2:" in n for n in ex.notes)


def test_odd_shapes_do_not_crash():
    for text in [
        b"apiVersion: v1\nkind: Pod\nspec:\n  containers: 5\n",
        b"kind: Deployment\nspec: {template: {spec: {containers: [{command: 3, args: {a: b}}]}}}\n",
        b"apiVersion: nvidia.com/v1alpha1\nkind: DynamoGraphDeployment\nspec:\n  services: [1]\n",
        b"apiVersion: nvidia.com/v1beta1\nkind: DynamoGraphDeployment\nspec:\n  components: {a: 1}\n",
        b"services: 3\n",
        b"- a\n- b\n",
        b"",
        b"---\n---\n",
        b"kind: [x]\n",
    ]:
        extract("odd.yaml", text)
    for text in [b"```", b"~~~~\n```\n", b"```bash\n\\", b"<!-- hicachectl: disable= -->\n"]:
        extract("odd.md", text)
    for text in [b"FROM\nRUN", b"CMD [", b'CMD ["a", 1]', b"ENV", b"RUN <<EOF\n"]:
        extract("Dockerfile", text)


_PIECES = list("ab-=$\"'`\\ \n\t#&|;(){}[]<>*?~!:%@0123456789") + [
    "${",
    "$(",
    "<<EOF",
    "--tp ",
    "python -m sglang.launch_server ",
    "\\\n",
    "\\  # c\n",
]
_SHELLISH = st.lists(st.sampled_from(_PIECES), max_size=60).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_SHELLISH)
def test_generated_shell_never_crashes(text):
    ex = extract("gen.sh", text.encode())
    for cmd in ex.commands:
        for tok in cmd.tokens:
            assert 1 <= tok.span.line <= tok.span.end_line <= text.count("\n") + 2


@settings(max_examples=150, deadline=None)
@given(_SHELLISH)
def test_generated_shell_in_markdown_and_yaml_never_crashes(text):
    extract("gen.md", ("```bash\n" + text + "\n```\n").encode())
    quoted = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    extract(
        "gen.yaml",
        f'apiVersion: v1\nkind: Pod\nspec:\n  containers:\n    - command: [bash, -c, "{quoted}"]\n'.encode(),
    )


def test_exec_form_shell_c_and_crlf():
    text = b'FROM x\nCMD ["/bin/sh", "-c", "exec python3 -m sglang.launch_server --tp 2"]\n'
    (cmd,) = extract("Dockerfile", text).commands
    assert cmd.context["via"] == "sh -c" and _texts(cmd)[0] == "exec"
    assert cmd.tokens[-2].span == Span(2, 61, 2, 64)
    ex = extract("x.sh", b"python -m sglang.launch_server \\\r\n  --tp 2\r\n")
    assert any("CRLF" in n for n in ex.notes)
    assert _texts(ex.commands[0])[-2:] == ["--tp", "2"]


def test_lost_env_prefix_after_broken_continuation():
    ex = extract("x.sh", b"CUDA_VISIBLE_DEVICES=0 \\ \npython -m sglang.launch_server --tp 2\n")
    (f,) = ex.findings
    assert f.code == "HC001" and (f.span.line, f.span.col) == (1, 24)
    assert "CUDA_VISIBLE_DEVICES is not set for python -m sglang.launch_server" in f.message


_YAMLISH = st.lists(
    st.sampled_from(
        [
            "a:",
            " ",
            "\n",
            "  - ",
            "|",
            ">",
            '"',
            "'",
            "&x",
            "*x",
            "[",
            "]",
            "{",
            "}",
            ",",
            "#",
            "kind: Pod\n",
            "apiVersion: v1\n",
            "command: [bash, -c]\n",
            "args:\n",
            "\\",
            "---\n",
            "services:\n",
            "x",
            "-",
            ":",
            "\t",
        ]
    ),
    max_size=80,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(_YAMLISH)
def test_generated_yaml_never_crashes(text):
    ex = extract("gen.yaml", text.encode())
    assert all(c.span.line >= 1 for c in ex.commands)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_in_every_format(text):
    data = text.encode("utf-8", "surrogatepass")
    for name in ("a.sh", "a.md", "a.yaml", "Dockerfile", "docker-compose.yml"):
        extract(name, data)


def test_high_code_points_do_not_crash_the_parser():
    """tree-sitter-bash 0.25 segfaults on `{` + U+E0001 and friends; we never hand it
    non-ASCII (a crash here would kill the interpreter, hence the subprocess)."""
    import subprocess
    import sys

    code = (
        "from hicachectl.lint.extract import extract\n"
        "for c in (0xE0001, 0xEE563, 0x100000, 0x10FFFF, 0xC1000, 0x9D000):\n"
        "    for pre in ('{', '${', 'x{', '[[ '):\n"
        "        for _ in range(3):\n"
        "            extract('a.sh', (pre + chr(c) + ' ' + chr(c) + '}').encode())\n"
        "ex = extract('b.sh', 'echo \\U000E0001 ; python -m sglang.launch_server --model-path é\\n'.encode())\n"
        "assert [t.text for t in ex.commands[1].tokens][-1] == 'é', ex.commands\n"
        "assert ex.commands[1].tokens[-1].span.col == 54\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]


def test_deeply_nested_shell_is_bounded():
    ex = extract("f.sh", b"if true; then " * 2000 + b"sgl &" + b" fi;" * 0 + b"; fi" * 2000)
    assert any(c.tokens[0].text == "sgl" and c.background for c in ex.commands)
    ex = extract("c.sh", b"X=" + b"${A:-" * 3000 + b"d" + b"}" * 3000 + b"\nsgl $X ${B:-${C:-v}}\n")
    assert [(t.text, t.known) for t in ex.commands[-1].tokens[1:]] == [("$X", False), ("v", True)]
    extract("b.sh", b"echo " + b"$(" * 3000 + b"x" + b")" * 3000)
    extract("g.sh", b'eval "' * 50 + b"sgl" + b'"' * 50)


def test_doubling_variables_and_huge_expansions_are_bounded():
    ex = extract("x.sh", b"X=ab\n" + b'X="$X$X"\n' * 40 + b"sgl $X\n")
    assert ex.commands[-1].tokens[-1].known is False
    ex = extract("y.sh", b"a=(x)\n" + b'a+=("${a[@]}")\n' * 40 + b'sgl "${a[@]}"\n')
    assert [t.known for t in ex.commands[-1].tokens] == [True, False]
    ex = extract("z.sh", b"a=(" + b"x " * 4000 + b")\nsgl " + b'"${a[@]}" ' * 2000 + b"\n")
    assert any("more than 20000 words" in n for n in ex.notes)
