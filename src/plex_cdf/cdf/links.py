"""Asset links that wait: events and time series written before the assets they point at.

The waiting links are kept in the state (value `cdf.pending_links` per PCN) before the item's hash is
committed, so they outlive a restart, and an item whose links are all set gets its real hash.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from plex_cdf.cdf.limits import fit_external_id
from plex_cdf.cdf.plan import Planned
from plex_cdf.cdf.resolver import AssetIds
from plex_cdf.cdf.transport import Json
from plex_cdf.items import Event, Item, TimeSeries
from plex_cdf.ports import StateStore

PENDING_KEY = "cdf.pending_links"


def links_of(item: Item) -> list[str]:
    """The asset external ids an item links to, as sent to CDF."""
    if isinstance(item, Event):
        return [fit_external_id(a) for a in item.asset_external_ids]
    if isinstance(item, TimeSeries) and item.asset_external_id:
        return [fit_external_id(item.asset_external_id)]
    return []


class PendingLinks:
    def __init__(self, state: StateStore, pcn: str) -> None:
        self._state = state
        self._pcn = pcn
        self._entries: dict[str, dict[str, Any]] | None = None

    @property
    def entries(self) -> dict[str, dict[str, Any]]:
        """External id (as in CDF) -> kind, resource, state key, real digest and asset external ids."""
        if self._entries is None:
            self._entries = dict(self._state.get_value(self._pcn, PENDING_KEY) or {})
        return self._entries

    def __len__(self) -> int:
        return len(self.entries)

    def remember(self, kind: str, written: Iterable[Planned]) -> None:
        """Record which of these items still miss links (and forget those that no longer do)."""
        changed = False
        for entry in written:
            xid = str(entry.body.get("externalId"))
            if entry.missing_links:
                self.entries[xid] = {
                    "kind": kind,
                    "resource": entry.resource,
                    "key": entry.key,
                    "digest": entry.digest,
                    "assets": links_of(entry.item),
                }
                changed = True
            elif xid in self.entries:
                del self.entries[xid]
                changed = True
        if changed:
            self._save()

    def linkable(self, assets: AssetIds, kind: str) -> list[tuple[str, dict[str, Any]]]:
        return [
            (xid, entry)
            for xid, entry in self.entries.items()
            if entry["kind"] == kind and all(assets.known(a) for a in entry["assets"])
        ]

    def wanted_assets(self) -> set[str]:
        return {a for entry in self.entries.values() for a in entry["assets"]}

    def forget(self, external_ids: Sequence[str]) -> None:
        for xid in external_ids:
            self.entries.pop(xid, None)
        self._save()

    def _save(self) -> None:
        self._state.set_value(self._pcn, PENDING_KEY, self.entries)


def link_update(kind: str, xid: str, entry: dict[str, Any], assets: AssetIds) -> Json:
    """The patch that sets an item's asset links to the ids CDF now has."""
    ids = sorted({i for a in entry["assets"] if (i := assets.get(a)) is not None})
    field_update: Json = {"assetIds": {"set": ids}} if kind == "event" else {"assetId": {"set": ids[0]}}
    return {"externalId": xid, "update": field_update}
