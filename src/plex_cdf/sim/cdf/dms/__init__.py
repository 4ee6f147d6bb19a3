"""Data Modeling (DMS) for the local CDF: schema, instances, query and sync, and CDF's system models.

See docs/local-cdf.md, section "Data Modeling".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plex_cdf.sim.cdf.dms.model import DmsState

if TYPE_CHECKING:
    from plex_cdf.sim.cdf.store import Store

__all__ = ["DmsState", "install"]


def install(store: Store) -> None:
    """Give `store` a fresh DMS state holding the system spaces, models and unit catalogue."""
    from plex_cdf.sim.cdf.dms.instances import seed_system_instances

    store.dms = DmsState()
    seed_system_instances(store)
