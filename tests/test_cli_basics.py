"""The CLI shell: version, help, unknown options, exit codes."""

from hicachectl import __version__


def test_version(cli):
    r = cli("--version")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == f"hicachectl {__version__}"


def test_help_lists_verbs(cli):
    r = cli("--help")
    assert r.exit_code == 0, r.output
    assert "Usage" in r.stdout


def test_unknown_option_is_usage_error(cli):
    r = cli("--no-such-option")
    assert r.exit_code == 2
    assert "Traceback" not in r.output


def test_usage_errors_are_one_line(cli):
    r = cli("plan", "--host-memory-mode", "x")
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("hicachectl: No such option: --host-memory-mode")
    assert "hicachectl plan --help" in lines[0]


def test_no_args_prints_help(cli):
    r = cli()
    assert r.exit_code == 0
    assert "Usage" in r.stdout


def test_launch_rejects_negative_timings(cli):
    for opt in ("--ready-timeout", "--grace", "--speedup-ratio"):
        r = cli("launch", "--profile", "dev", opt, "-1", "--dry-run")
        assert r.exit_code == 2, r.output
        assert f"Invalid value for '{opt}'" in r.stderr


def test_lint_unreadable_input_is_not_reported_as_clean(cli, tmp_path):
    r = cli("lint", str(tmp_path / "nosuch.sh"))
    assert r.exit_code == 2
    assert r.stdout == ""
    assert r.stderr.strip().endswith("nosuch.sh: no such file or directory")


def test_a_missing_option_value_points_at_the_verbs_help(cli):
    for verb, option in (("plan", "--tp"), ("lint", "--format"), ("launch", "--plan")):
        r = cli(verb, option)
        assert r.exit_code == 2
        assert r.stderr == (
            f"hicachectl: Option '{option}' requires an argument. (see 'hicachectl {verb} --help')\n"
        )
