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
