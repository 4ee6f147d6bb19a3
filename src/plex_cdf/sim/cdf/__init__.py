"""The local CDF: a CDF-compatible HTTP server the unmodified cognite-sdk works against.

See docs/local-cdf.md. Its names load on first use, so `plex-cdf run` never loads the server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from plex_cdf.sim.cdf.server import LocalCdf, RunningServer

__all__ = ["LocalCdf", "RunningServer"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from plex_cdf.sim.cdf import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
