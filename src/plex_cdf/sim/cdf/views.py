"""What a read may add to stored items: assets' `aggregatedProperties`, relationships' `fetchResources`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from plex_cdf.sim.cdf.errors import Json, bad_request
from plex_cdf.sim.cdf.keys import unsupported
from plex_cdf.sim.cdf.store import Collection, Store

View = Callable[[Json], Json]
ASSET_AGGREGATES = ("childCount", "path", "depth")
# Relationship types (as CDF spells them) -> the collection holding such resources here.
RESOURCE_COLLECTIONS: Mapping[str, str] = {"asset": "assets", "timeSeries": "timeseries", "event": "events"}


def asset_aggregates(store: Store, names: Any) -> View:
    """Adds `aggregates` with the asked-for childCount, path (root first, ids) and depth (root = 0)."""
    if not isinstance(names, list):
        raise bad_request("aggregatedProperties: expected a list")
    for name in names:
        if name not in ASSET_AGGREGATES:
            raise unsupported(f"aggregatedProperties {name!r}")
    if not names:
        return lambda item: item
    assets = store.assets
    children = Counter(a["parentId"] for a in assets.items.values() if a.get("parentId") is not None)

    def view(item: Json) -> Json:
        path = _path(assets, item)
        found: Json = {
            "childCount": children[item["id"]],
            "path": [{"id": i} for i in path],
            "depth": len(path) - 1,
        }
        return {**item, "aggregates": {name: found[name] for name in names}}

    return view


def _path(assets: Collection, item: Json) -> list[int]:
    chain = [item["id"]]
    parent = item.get("parentId")
    while parent is not None:
        chain.append(parent)
        parent = assets.items[parent].get("parentId")
    return chain[::-1]


def fetch_resources(store: Store, wanted: Any) -> View:
    """With `true`, adds `source` and `target`: the full resources, where this CDF holds that type."""
    if not isinstance(wanted, bool):
        raise bad_request("fetchResources: expected true or false")
    if not wanted:
        return lambda item: item

    def resource(kind: str, external_id: str) -> Json | None:
        name = RESOURCE_COLLECTIONS.get(kind)
        if name is None:
            return None
        collection = store.collection(name)
        internal = collection.by_external_id.get(external_id)
        return None if internal is None else collection.items[internal]

    def view(item: Json) -> Json:
        out = dict(item)
        for end in ("source", "target"):
            found = resource(item[f"{end}Type"], item[f"{end}ExternalId"])
            if found is not None:
                out[end] = found
        return out

    return view
