"""`plex-cdf sim cdf`: serve the local CDF until SIGINT/SIGTERM, announcing itself in one line."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import typer


def cdf_command(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(0, help="Port to listen on; 0 picks a free one."),
    project: str = typer.Option("plex-cdf", help="The one CDF project this server hosts."),
    client_id: str | None = typer.Option(None, help="OAuth client id to enforce (any when unset)."),
    client_secret: str | None = typer.Option(None, help="OAuth client secret to enforce (any when unset)."),
    persist: Path | None = typer.Option(None, help="SQLite file: loaded at start, written at shutdown."),
    fault_429: float = typer.Option(0.0, "--fault-429", help="Share (0..1) of requests answered 429."),
    fault_5xx: float = typer.Option(
        0.0, "--fault-5xx", help="Share (0..1) of requests answered 500/502/503."
    ),
    latency_ms: int = typer.Option(0, help="Milliseconds added to every project request."),
    token_ttl_s: int = typer.Option(3600, help="Lifetime of issued tokens, in seconds."),
) -> None:
    """Serve the local CDF (a CDF-compatible API for the unmodified cognite-sdk) until stopped."""
    from plex_cdf.sim.cdf.server import LocalCdf  # loaded only when serving

    if (client_id is None) != (client_secret is None):
        raise typer.BadParameter("give both --client-id and --client-secret, or neither")
    try:
        cdf = LocalCdf(
            project=project,
            client_id=client_id,
            client_secret=client_secret,
            persist=persist,
            fault_429=fault_429,
            fault_5xx=fault_5xx,
            latency_ms=latency_ms,
            token_ttl_s=token_ttl_s,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    with cdf.serve(host=host, port=port) as server:
        typer.echo(f"local CDF ready: {server.base_url} project={project} token_url={server.token_url}")
        stop.wait()
