"""Asset links that wait: events and time series written before the assets they point at.

The waiting links are kept in the state before the item's hash is committed, so they outlive a restart,
and an item whose links are all set gets its real hash. They are stored like hashes, one JSON string per
item under the resource name `#pending_links`, so a change writes only the items it touches (one RAW row
each with the RAW backend) however many links wait.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from plex_cdf.cdf.limits import fit_external_id
from plex_cdf.cdf.plan import Planned
from plex_cdf.cdf.resolver import AssetIds
from plex_cdf.cdf.transport import Json
from plex_cdf.items import Event, Item, TimeSeries
from plex_cdf.ports import StateStore

PENDING_RESOURCE = "#pending_links"


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
            stored = self._state.get_hashes(self._pcn, PENDING_RESOURCE)
            self._entries = {xid: json.loads(text) for xid, text in stored.items()}
        return self._entries

    def __len__(self) -> int:
        return len(self.entries)

    def remember(self, kind: str, written: Iterable[Planned[Any]]) -> None:
        """Record which of these items still miss links (and forget those that no longer do)."""
        added: dict[str, dict[str, Any]] = {}
        resolved: list[str] = []
        for entry in written:
            xid = str(entry.body.get("externalId"))
            if entry.missing_links:
                added[xid] = {
                    "kind": kind,
                    "resource": entry.resource,
                    "key": entry.key,
                    "digest": entry.digest,
                    "assets": links_of(entry.item),
                }
            elif xid in self.entries:
                resolved.append(xid)
        if added or resolved:
            self._state.commit_hashes(
                self._pcn, PENDING_RESOURCE, {x: json.dumps(e) for x, e in added.items()}, resolved
            )
            self.entries.update(added)
            for xid in resolved:
                del self.entries[xid]

    def linkable(self, assets: AssetIds, kind: str) -> list[tuple[str, dict[str, Any]]]:
        return [
            (xid, entry)
            for xid, entry in self.entries.items()
            if entry["kind"] == kind and all(assets.known(a) for a in entry["assets"])
        ]

    def wanted_assets(self) -> set[str]:
        return {a for entry in self.entries.values() for a in entry["assets"]}

    def forget(self, external_ids: Sequence[str]) -> None:
        gone = [xid for xid in external_ids if xid in self.entries]
        if gone:
            self._state.commit_hashes(self._pcn, PENDING_RESOURCE, {}, gone)
            for xid in gone:
                del self.entries[xid]


def link_update(kind: str, xid: str, entry: dict[str, Any], assets: AssetIds) -> Json:
    """The patch that sets an item's asset links to the ids CDF now has."""
    ids = sorted({i for a in entry["assets"] if (i := assets.get(a)) is not None})
    field_update: Json = {"assetIds": {"set": ids}} if kind == "event" else {"assetId": {"set": ids[0]}}
    return {"externalId": xid, "update": field_update}
