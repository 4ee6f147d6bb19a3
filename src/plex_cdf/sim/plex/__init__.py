"""The simulated Plex: a seeded plant behind Plex's Connect REST and Data Source APIs, quirks included.

Its names load on first use, so `plex-cdf run` (which imports the `sim plex` command) never loads the
simulator or its web server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from plex_cdf.sim.plex.defaults import DEFAULT_API_KEY, DEFAULT_DS_PASSWORD, DEFAULT_DS_USER, DEFAULT_PCN

if TYPE_CHECKING:
    from plex_cdf.sim.plex.simulator import Server, SimPlex, Truth

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_DS_PASSWORD",
    "DEFAULT_DS_USER",
    "DEFAULT_PCN",
    "Server",
    "SimPlex",
    "Truth",
]


def __getattr__(name: str) -> Any:
    if name in ("Server", "SimPlex", "Truth"):
        from plex_cdf.sim.plex import simulator

        return getattr(simulator, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
