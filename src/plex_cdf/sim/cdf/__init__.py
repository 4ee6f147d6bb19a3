"""The local CDF: a CDF-compatible HTTP server the unmodified cognite-sdk works against.

See docs/local-cdf.md.
"""

from plex_cdf.sim.cdf.server import LocalCdf, RunningServer

__all__ = ["LocalCdf", "RunningServer"]
