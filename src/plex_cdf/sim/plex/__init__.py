"""The simulated Plex: a seeded plant behind Plex's Connect REST and Data Source APIs, quirks included."""

from plex_cdf.sim.plex.simulator import (
    DEFAULT_API_KEY,
    DEFAULT_DS_PASSWORD,
    DEFAULT_DS_USER,
    DEFAULT_PCN,
    Server,
    SimPlex,
    Truth,
)

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_DS_PASSWORD",
    "DEFAULT_DS_USER",
    "DEFAULT_PCN",
    "Server",
    "SimPlex",
    "Truth",
]
