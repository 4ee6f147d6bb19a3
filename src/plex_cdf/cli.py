"""Every command of `plex-cdf`: run, backfill, setup, check, status, cleanup, demo, sim."""

from __future__ import annotations

from typing import NoReturn

import typer

from plex_cdf.sim.cdf.command import cdf_command
from plex_cdf.sim.plex.command import plex_command

app = typer.Typer(
    name="plex-cdf",
    help="Keeps Cognite Data Fusion current with a Plex Manufacturing Cloud tenant.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
sim_app = typer.Typer(help="Serve the simulated Plex or the local CDF (for tests, benchmarks and the demo).")
app.add_typer(sim_app, name="sim")
sim_app.command("cdf")(cdf_command)
sim_app.command("plex")(plex_command)


def not_landed(command: str) -> NoReturn:
    typer.echo(f"plex-cdf {command}: not available yet in this build", err=True)
    raise typer.Exit(2)


@app.command()
def run() -> None:
    """Extract continuously (or once) into CDF."""
    not_landed("run")


@app.command()
def backfill() -> None:
    """Fetch history over a date range, resumably."""
    not_landed("backfill")


@app.command()
def setup() -> None:
    """Create data sets, extraction pipelines, the RAW database and the root asset (safe to repeat)."""
    not_landed("setup")


@app.command()
def check() -> None:
    """Check the Plex key, tenant, subscriptions, data-source grants and the CDF connection."""
    not_landed("check")


@app.command()
def status() -> None:
    """Show watermarks, last runs, counts and lag per resource."""
    not_landed("status")


@app.command()
def cleanup() -> None:
    """Delete what plex-cdf wrote for the configured PCNs (lists first, acts with --yes)."""
    not_landed("cleanup")


@app.command()
def demo() -> None:
    """Start the simulated Plex and a local CDF, run every domain once, print a summary."""
    not_landed("demo")


def main() -> None:
    app()
