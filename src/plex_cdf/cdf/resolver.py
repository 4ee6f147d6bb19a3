"""Asset external id -> internal id, cached: events and time series link to assets by internal id only.

The cache fills from every asset create/update answer for free; what it lacks is asked for with
`/assets/byids` (1,000 per read, unknown ids ignored), so a link costs at most one read per process.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from plex_cdf.cdf.transport import CdfApi, Json, read

BYIDS_LIMIT = 1000


class AssetIds:
    def __init__(self, api: CdfApi, calls: Counter[str]) -> None:
        self._api = api
        self._calls = calls
        self._ids: dict[str, int] = {}

    def learn(self, items: Iterable[Json]) -> None:
        """Remember ids from an asset create/update/byids answer."""
        for item in items:
            if "externalId" in item and "id" in item:
                self._ids[str(item["externalId"])] = int(item["id"])

    def get(self, external_id: str) -> int | None:
        return self._ids.get(external_id)

    def known(self, external_id: str) -> bool:
        return external_id in self._ids

    async def look_up(self, external_ids: Iterable[str]) -> None:
        """Ask CDF for the ids not cached yet; those CDF does not hold stay unknown."""
        wanted = sorted({xid for xid in external_ids if xid not in self._ids})
        for start in range(0, len(wanted), BYIDS_LIMIT):
            chunk = wanted[start : start + BYIDS_LIMIT]
            self._calls["asset.byids"] += 1
            answer = await read(
                self._api,
                "/assets/byids",
                {"items": [{"externalId": xid} for xid in chunk], "ignoreUnknownIds": True},
            )
            self.learn(answer.get("items", []))
