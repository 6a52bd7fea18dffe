"""HC513's value check at its boundaries, and the extractor facts it reads: variables a shell
script exports (positional, as bash passes them on) and where a Dockerfile ENV sets one."""

from __future__ import annotations

import pytest

from hicachectl.lint.engine import lint_text
from hicachectl.lint.extract import extract
from hicachectl.lint.rules.topology_system_port import problem


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("1", None),
        ("8081", None),
        ("32767", None),
        ("-1", None),  # Dynamo's default: the system server is off
        ("0", None),
        ("-32768", None),
        ("", None),  # Dynamo skips an empty variable
        ("$PORT", None),
        ("${PORT}", None),
        ("$(PORT)", None),
        ("<port>", None),
        ("<valueFrom>", None),
        ("32768", "is above 32767"),
        ("65535", "is above 32767"),
        ("65536", "is outside 1-65535"),
        ("-32769", "is outside 1-65535"),
        ("8081.0", "is not an integer"),
        ("0x1f90", "is not an integer"),
        ("eighty", "is not an integer"),
    ],
)
def test_problem_boundaries(value, why):
    got = problem(value)
    if why is None:
        assert got is None
    else:
        assert got is not None and got.startswith(f"DYN_SYSTEM_PORT={value} {why}")


def _exported(script: str) -> list[dict]:
    ex = extract("run.sh", script.encode())
    return [
        {k: v[0] for k, v in c.context.get("exported_env", {}).items()}
        for c in ex.commands
        if c.tokens[0].text == "python"
    ]


def test_exports_are_positional_and_follow_bash():
    script = (
        "python -m dynamo.sglang --model-path m\n"  # before any export
        "A=1\n"
        "export A\n"  # export an earlier assignment
        "export B=2\n"
        "python -m dynamo.sglang --model-path m\n"
        "B=3\n"  # a later assignment keeps the export attribute
        "if true; then export C=4; fi\n"  # may not run: unknown afterwards
        "python -m dynamo.sglang --model-path m\n"
    )
    assert _exported(script) == [{}, {"A": "1", "B": "2"}, {"A": "1", "B": "3"}]


def test_exported_value_span_points_at_the_value():
    res = lint_text(
        "export DYN_SYSTEM_PORT=40000\npython -m dynamo.sglang --model-path m\n", path="run.sh"
    )
    (f,) = [f for f in res.findings if f.code == "HC513"]
    assert (f.span.line, f.span.col, f.span.end_col) == (1, 24, 28)
    assert f.message.startswith("DYN_SYSTEM_PORT=40000 is above 32767: Dynamo 1.6.1 reads")


def test_dockerfile_env_spans():
    text = (
        "FROM img\n"
        "ENV A=1 DYN_SYSTEM_PORT=8081\n"
        "ENV LEGACY some value\n"
        'CMD ["python3", "-m", "dynamo.sglang", "--model-path", "m"]\n'
        "RUN DYN_SYSTEM_PORT=9 python3 -m dynamo.sglang --model-path m\n"
    )
    ex = extract("Dockerfile", text.encode())
    run, cmd = sorted(ex.commands, key=lambda c: c.span.line, reverse=True)
    sp = cmd.env_spans["DYN_SYSTEM_PORT"]
    assert (sp.line, sp.col, sp.end_col) == (2, 9, 28)
    sp = cmd.env_spans["LEGACY"]
    assert (sp.line, sp.col, sp.end_col) == (3, 5, 10)
    assert run.env["DYN_SYSTEM_PORT"] == "9"  # the RUN prefix wins, and so does its span
    assert run.env_spans["DYN_SYSTEM_PORT"].line == 5
