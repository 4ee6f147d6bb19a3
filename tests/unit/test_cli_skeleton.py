"""The command line lists every command a plant engineer needs."""

from typer.testing import CliRunner

from plex_cdf.cli import app


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("run", "backfill", "setup", "check", "status", "cleanup", "demo", "sim"):
        assert command in result.output, f"`plex-cdf --help` does not list {command}"
