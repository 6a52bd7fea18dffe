"""Shell extraction: tokens, variables, positions, continuations, nested strings."""

from __future__ import annotations

from pathlib import Path

from hicachectl.lint.extract import detect_format, extract
from hicachectl.lint.types import Span

FIX = Path(__file__).parent / "fixtures" / "extract"


def _ex(name: str):
    p = FIX / name
    return extract(str(p), p.read_bytes())


def _src(text: str, name: str = "t.sh"):
    return extract(name, text.encode())


def _texts(cmd):
    return [t.text for t in cmd.tokens]


def _tok(cmd, text):
    return next(t for t in cmd.tokens if t.text == text)


def test_agg_script_worker_and_frontend():
    ex = _ex("agg.sh")
    assert ex.host_format == "shell"
    front, worker = [c for c in ex.commands if c.tokens[0].text == "python3"]
    assert _texts(front) == ["python3", "-m", "dynamo.frontend", "--http-port=8000"]
    assert front.background and not worker.background
    assert worker.env == {"DYN_SYSTEM_PORT": "8081"}
    assert worker.env_spans["DYN_SYSTEM_PORT"].line == 17
    # "$MODEL" expands to the value assigned on line 7; the array expands to three tokens
    assert _texts(worker)[3:5] == ["--model-path", "Qwen/Qwen3-0.6B"]
    # EXTRA_ARGS is appended to only inside an `if`: after it, its value is unknown
    last = worker.tokens[-1]
    assert (last.text, last.known, last.span) == (
        '"${EXTRA_ARGS[@]}"'.strip('"'),
        False,
        Span(26, 3, 26, 20),
    )
    assert _tok(worker, "--page-size").span == Span(21, 3, 21, 13)
    assert worker.group == front.group == str(FIX / "agg.sh")
    assert ex.file_env["MODEL"] == "Qwen/Qwen3-0.6B"


def test_disagg_two_workers_env_and_json_flag():
    ex = _ex("disagg.sh")
    workers = [c for c in ex.commands if "dynamo.sglang" in _texts(c)]
    assert len(workers) == 2
    pre, dec = workers
    assert pre.env == {"CUDA_VISIBLE_DEVICES": "0,1", "DYN_SYSTEM_PORT": "8081"}
    assert dec.env["CUDA_VISIBLE_DEVICES"] == "2,3"
    assert pre.background and dec.background
    assert dec.tokens[0].text == "nohup"  # wrappers stay; the argv parser strips them
    kv = _texts(pre)[_texts(pre).index("--kv-events-config") + 1]
    assert kv == '{"publisher":"zmq","topic":"kv-events","endpoint":"tcp://*:5557"}'
    assert _tok(pre, "--hicache-size").span == Span(20, 5, 20, 18)
    assert ex.file_env["MOONCAKE_MASTER"] == "10.0.0.5:50051"
    assert "redirect" not in " ".join(_texts(dec)) and "decode.log" not in _texts(dec)


def test_broken_continuation_names_cause_and_lost_flags():
    ex = _ex("broken_comment.sh")
    hc001 = [f for f in ex.findings if f.code == "HC001"]
    assert len(hc001) == 1
    f = hc001[0]
    assert (f.span.line, f.span.col) == (7, 31)
    assert f.name == "broken-continuation" and f.severity == "error"
    assert f.message == (
        "line continuation broken by '\\ ' followed by a comment: 5 flags after it are not "
        "passed to python -m dynamo.sglang: --hicache-ratio, --hicache-write-policy, "
        "--hicache-io-backend, --hicache-mem-layout, --hicache-storage-backend"
    )
    # the orphaned "--hicache-ratio 2 ..." lines are not commands
    assert all(not c.tokens[0].text.startswith("-") for c in ex.commands)
    assert _texts(ex.commands[0])[-1] == "--enable-hierarchical-cache"
    dangling = [f for f in ex.findings if f.code == "HC002"]
    assert [(d.span.line, d.span.col) for d in dangling] == [(14, 52)]


def test_trailing_space_after_backslash():
    ex = _ex("trailing_space.sh")
    (f,) = ex.findings
    assert f.code == "HC001" and (f.span.line, f.span.col) == (2, 18)
    assert "trailing whitespace" in f.message and "--tp" in f.message


def test_comment_line_inside_continuation():
    ex = _src("python -m sglang.launch_server \\\n  # --tp 2 \\\n  --port 30000\n")
    (f,) = ex.findings
    assert f.code == "HC001" and f.span.line == 2 and "comment line" in f.message
    assert "--port" in f.message
    assert len(ex.commands) == 1


def test_variables_defaults_and_unknowns():
    ex = _src(
        'PORT=${PORT:-30000}\nX=$(hostname)\nA="--tp 2"\n'
        'python -m sglang.launch_server --port $PORT --host $X $A "$A" ${NOPE:=7} $NOPE $1\n'
    )
    (cmd,) = ex.commands
    assert [(t.text, t.known) for t in cmd.tokens[3:]] == [
        ("--port", True),
        ("30000", True),
        ("--host", True),
        ("$X", False),
        ("--tp", True),
        ("2", True),
        ("--tp 2", True),
        ("7", True),
        ("7", True),
        ("$1", False),
    ]


def test_arrays_append_and_star():
    ex = _src('a=(--x "1 2" # c\n --y)\na+=(--z)\nsgl "${a[*]}" ${a[@]} "${a[@]}" "${e[@]}"\n')
    (cmd,) = ex.commands
    assert _texts(cmd) == [
        "sgl",
        "--x 1 2 --y --z",
        "--x",
        "1",
        "2",
        "--y",
        "--z",
        "--x",
        "1 2",
        "--y",
        "--z",
        "${e[@]}",
    ]


def test_eval_and_bash_c_are_reparsed_with_positions():
    text = (
        'CMD="python3 -m sglang.launch_server --tp 2"\n'
        'eval "$CMD"\n'
        "bash -lc 'exec python3 -m dynamo.sglang --page-size 64'\n"
        "X=$(python -m not.a.launch)\n"
    )
    ex = _src(text)
    a, b = ex.commands  # the $(...) is not a launch
    assert _texts(a)[:3] == ["python3", "-m", "sglang.launch_server"]
    assert a.context["via"] == "eval" and _tok(a, "--tp").span == Span(1, 38, 1, 41)
    assert b.context["via"] == "bash -c" and _texts(b)[0] == "exec"
    assert _tok(b, "--page-size").span == Span(3, 41, 3, 51)
    assert all("not.a.launch" not in _texts(cmd) for cmd in ex.commands)


def test_suppressions_next_line_trailing_and_file_wide():
    text = (
        "# hicachectl: disable-file=HC405\n"
        "# hicachectl: disable=HC101,HC203 -- known\n\n"
        "python -m sglang.launch_server --tp 2\n"
        "python -m sglang.launch_server --pp 2  # hicachectl: disable=HC210\n"
    )
    ex = _src(text)
    s = {(x.codes, x.line, x.file_wide, x.reason) for x in ex.suppressions}
    assert s == {
        (("HC405",), 0, True, ""),
        (("HC101", "HC203"), 4, False, "known"),
        (("HC210",), 5, False, ""),
    }
    multi = _src("# hicachectl: disable=HC301\nsgl \\\n  --hicache-size 900 \\\n  --tp 8\n")
    assert sorted(s.line for s in multi.suppressions) == [2, 3, 4]


def test_functions_subshells_lists_and_env_wrapper():
    text = (
        "start() {\n  local M=m1\n  ( cd /x && env A=1 python -m sglang.launch_server --model $M & )\n}\n"
        "if true; then for i in 1 2; do sgl --i $i; done; fi\n"
    )
    ex = _src(text)
    sg = next(c for c in ex.commands if "sglang.launch_server" in _texts(c))
    assert sg.env == {"A": "1"} and sg.background
    assert _texts(sg)[-1] == "m1"
    assert any(c.tokens[0].text == "sgl" for c in ex.commands)


def test_detect_format_by_name_and_shebang():
    assert detect_format("run", b"#!/usr/bin/env bash\necho") == "shell"
    assert detect_format("run", b"#!/bin/sh\n") == "shell"
    assert detect_format("run", b"#!/usr/bin/python3\n") is None
    assert detect_format("x.bash", b"") == "shell"
    assert detect_format("notes.txt", b"text\n```bash\nx\n```\n") == "markdown"
    assert detect_format("a.py", b"") is None
    assert detect_format("profiles/dev.toml", b"") == "profile"
    assert detect_format("x/p.toml", b'model = "m"\n[hicache]\npage_size = 64\n') == "profile"
    assert detect_format("pyproject.toml", b'model = "m"\n[hicache]\n') is None
    assert detect_format("Dockerfile.sglang", b"") == "dockerfile"
    assert detect_format("docker-compose.prod.yml", b"") == "compose"
    assert detect_format("k/deploy.yaml", b"apiVersion: v1\nkind: Pod\n") == "k8s"


def test_non_ascii_columns_are_characters():
    ex = _src('echo "é" ; python -m sglang.launch_server --tp 2\n')
    cmd = ex.commands[1]
    assert _tok(cmd, "--tp").span.col == 43


def test_conditional_and_subshell_assignments():
    text = (
        "A=1\nB=x\nif true; then A=2; C=3; B=x; fi\n"
        "( A=9 )\n"
        "start() { local L=5; sgl --in $L; }\n"
        '[ -n "$Z" ] || D=4\n'
        "sgl $A $B $C $D\n"
    )
    ex = _src(text)
    inner, last = [c for c in ex.commands if c.tokens[0].text == "sgl"]
    assert [(t.text, t.known) for t in inner.tokens[1:]] == [("--in", True), ("5", True)]
    assert [(t.text, t.known) for t in last.tokens[1:]] == [
        ("$A", False),
        ("x", True),
        ("$C", False),
        ("$D", False),
    ]


def test_heredoc_fed_to_a_shell_is_a_script():
    text = (
        "ssh node1 bash -s <<'EOF'\nexport X=1\n"
        "python -m sglang.launch_server --tp $X \\  # c\n  --page-size 64\nEOF\n"
        "cat <<EOF > run.sh\npython -m not.this\nEOF\n"
    )
    ex = _src(text)
    inner = next(c for c in ex.commands if c.context.get("via") == "heredoc")
    assert _texts(inner) == ["python", "-m", "sglang.launch_server", "--tp", "1"]
    assert _tok(inner, "--tp").span == Span(3, 32, 3, 35)
    (f,) = ex.findings
    assert f.code == "HC001" and (f.span.line, f.span.col) == (3, 40)
    assert not any("not.this" in _texts(c) for c in ex.commands)


def test_blank_line_breaks_and_harmless_comment_after_backslash():
    ex = _src("python -m sglang.launch_server \\\n\n  --tp 2\n")
    (f,) = ex.findings
    assert f.code == "HC001" and "blank line" in f.message and f.message.endswith(": --tp")
    assert _src("python -m x \\\n  # note\necho hi\n").findings == []
    disagg_tail = _src(
        "python3 -m dynamo.sglang \\\n  --disaggregation-transfer-backend nixl \\ \n\n"
    )
    (g,) = disagg_tail.findings
    assert "stray space argument" in g.message and (g.span.line, g.span.col) == (2, 42)


def test_unset_forgets_a_variable():
    ex = _src("X=1\nunset X\nsgl $X ${X:-d}\n")
    assert [(t.text, t.known) for t in ex.commands[-1].tokens[1:]] == [("$X", False), ("d", True)]


def test_token_origin_points_at_the_definition():
    ex = _src(
        "SIZE=128\nargs=(--tp 2\n  --hicache-size $SIZE)\n"
        'python -m sglang.launch_server "${args[@]}" --hicache-size $SIZE lit\n'
    )
    toks = ex.commands[-1].tokens
    by = [(t.text, t.span.line, t.origin) for t in toks]
    assert by[3] == ("--tp", 4, Span(2, 7, 2, 10))
    assert by[5] == ("--hicache-size", 4, Span(3, 3, 3, 16))
    assert by[6] == ("128", 4, Span(1, 6, 1, 8))  # through the array to SIZE=128
    assert by[8] == ("128", 4, Span(1, 6, 1, 8))
    assert toks[-1].origin is None and toks[0].origin is None


def test_flag_equals_value_lines_are_words_not_assignments():
    # tree-sitter-bash reads `--port=8000` at the start of a command as an assignment to a
    # variable named `--port`; bash does not, and the lost flags must still be listed.
    ex = _src(
        "kv_store_client \\\n"
        "  --host=10.0.0.5 \\  # this node\n"
        "  --port=50052 \\\n"
        '  --protocol="rdma"\n'
    )
    (f,) = ex.findings
    assert f.code == "HC001" and f.span == Span(2, 19, 2, 19)
    assert "--port=50052, --protocol=rdma" in f.message
    assert ex.notes == []
    (cmd,) = ex.commands
    assert cmd.env == {} and _texts(cmd)[:2] == ["kv_store_client", "--host=10.0.0.5"]


def test_strings_with_escapes_map_every_character_exactly():
    text = (
        'eval "python3 -m sglang.launch_server --served-model-name \\"my model\\" --tp 2"\n'
        'bash -c "python -m dynamo.sglang --model-path \\"m\\" \\\\\n'
        '  --page-size 64"\n'
        'CMD="python3 -m sglang.launch_server --chat-template \\"x\\" --pp 2"\n'
        'eval "$CMD"\n'
        "eval python3 -m sglang.launch_server \"--dp\" '4'\n"
        "md=markdown\n"
        'eval "python3 -m sglang.launch_server --model-path $md --ep 2"\n'
    )
    a, b, c, d, e = _src(text).commands
    assert _texts(a)[4] == "my model"
    assert _tok(a, "--tp").span == Span(1, 72, 1, 75)  # after two \" escapes, still exact
    assert _tok(a, "my model").span == Span(1, 60, 1, 70)  # the inner "…", at its \"…\"
    # bash -c "...\<newline>..." joins the lines; the flag keeps its place on line 3
    assert _texts(b)[-2:] == ["--page-size", "64"]
    assert _tok(b, "--page-size").span == Span(3, 3, 3, 13)
    # eval "$CMD": positions in the assignment, escapes included
    assert _tok(c, "--pp").span == Span(4, 60, 4, 63)
    # eval of several words: each word where it is written
    assert _tok(d, "--dp").span == Span(6, 39, 6, 42)
    assert _tok(d, "4").span == Span(6, 46, 6, 46)
    # an expanded variable spreads over its $md; what follows keeps its own place
    assert _tok(e, "markdown").span == Span(8, 52, 8, 54)
    assert _tok(e, "--ep").span == Span(8, 56, 8, 59)
