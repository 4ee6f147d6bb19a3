"""`plex-cdf sim cdf`."""

from __future__ import annotations

import typer


def cdf_command() -> None:
    """Serve the simulated cdf until stopped."""
    typer.echo("plex-cdf sim cdf: not available yet in this build", err=True)
    raise typer.Exit(2)
