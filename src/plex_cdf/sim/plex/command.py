"""`plex-cdf sim plex`: serve the simulated Plex until stopped; print its base URL once ready."""

from __future__ import annotations

import contextlib
import threading
from datetime import datetime

import typer

from plex_cdf.sim.plex.defaults import DEFAULT_API_KEY, DEFAULT_DS_PASSWORD, DEFAULT_DS_USER, DEFAULT_PCN


def plex_command(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(0, help="Port; 0 picks a free one."),
    seed: int = typer.Option(1, help="Seed of the plant; the same seed gives the same tenant."),
    scale: str = typer.Option("small", help="small (demo), medium or large."),
    api_key: str = typer.Option(DEFAULT_API_KEY, help="The Connect API key it accepts."),
    pcn: str = typer.Option(DEFAULT_PCN, help="The tenant's PCN (X-Plex-Connect-Customer-Id)."),
    ds_user: str = typer.Option(DEFAULT_DS_USER, help="Data Source API user."),
    ds_password: str = typer.Option(DEFAULT_DS_PASSWORD, help="Data Source API password."),
    rate_limit_per_minute: int = typer.Option(200, help="Requests per rolling minute per key or user."),
    no_retry_after: bool = typer.Option(False, "--no-retry-after", help="Answer 429 without Retry-After."),
    fault_5xx: float = typer.Option(0.0, help="Share of requests answered 500 (0 to 1)."),
    fault_429: float = typer.Option(
        0.0, help="Share of requests answered 429 regardless of budget (0 to 1)."
    ),
    latency_ms: int = typer.Option(0, help="Added latency per request, in ms."),
    empty_as_404: bool = typer.Option(False, "--empty-as-404", help="Answer 404 instead of [] for no data."),
    moves_400: bool = typer.Option(False, "--moves-400", help="Container location moves answer 400."),
    row_limit_flag: str = typer.Option(
        "rowLimitExceeded", help="rowLimitExceeded, rowLimitedExceeded or limitExceeded."
    ),
    clock: str = typer.Option("still", help="still (history ends at start), live, or fast=N."),
    now: str = typer.Option("", help="Start instant (ISO 8601, UTC); default: wall time."),
    plant_zone: str = typer.Option(
        "", help="Plant time zone (IANA name): data-source dates then come out as local text."
    ),
) -> None:
    """Serve the simulated Plex until stopped."""
    from plex_cdf.sim.plex.clock import parse_clock
    from plex_cdf.sim.plex.simulator import SimPlex  # loaded only when serving

    try:
        rate = parse_clock(clock)
        start = datetime.fromisoformat(now.replace("Z", "+00:00")) if now else None
        sim = SimPlex(
            seed=seed,
            scale=scale,
            api_key=api_key,
            pcn=pcn,
            ds_user=ds_user,
            ds_password=ds_password,
            rate_limit_per_minute=rate_limit_per_minute,
            retry_after=not no_retry_after,
            empty_as_404=empty_as_404,
            fault_5xx=fault_5xx,
            fault_429=fault_429,
            latency_ms=latency_ms,
            moves_400=moves_400,
            row_limit_flag=row_limit_flag,
            now=start,
            clock_rate=rate,
            plant_zone=plant_zone or None,
        )
    except ValueError as error:
        typer.echo(f"plex-cdf sim plex: {error}", err=True)
        raise typer.Exit(2) from None
    with sim.serve(host=host, port=port) as server:
        typer.echo(f"simulated Plex (PCN {pcn}, scale {scale}, seed {seed}) at {server.base_url}")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
