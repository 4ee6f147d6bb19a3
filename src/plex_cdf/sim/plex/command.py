"""`plex-cdf sim plex`."""

from __future__ import annotations

import typer


def plex_command() -> None:
    """Serve the simulated plex until stopped."""
    typer.echo("plex-cdf sim plex: not available yet in this build", err=True)
    raise typer.Exit(2)
