"""A 500 on a CDF read by id (which the SDK never retries) is asked again instead of failing the resource:
the asset-id lookup that links events to workcenters, and the byids check after a create of unknown
outcome. Reads change nothing, so asking again is safe; after four unknown outcomes the error is raised."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping
from typing import Any

import pytest

from plex_cdf.cdf.calls import CdfCalls
from plex_cdf.cdf.resolver import AssetIds
from plex_cdf.cdf.transport import Json, OutcomeUnknown
from plex_cdf.ports import WriteReport


class FlakyCdf:
    """Answers 500 (an unknown outcome) to the first `failures` requests on each path, then holds `held`."""

    def __init__(self, failures: int, held: Mapping[str, int]) -> None:
        self.failures = failures
        self.held = dict(held)
        self.requests: Counter[str] = Counter()

    async def post(self, path: str, body: Json, params: Mapping[str, str] | None = None) -> Json:
        self.requests[path] += 1
        if self.requests[path] <= self.failures:
            raise OutcomeUnknown("CDF answered 500: Server error (injected)")
        wanted = [item["externalId"] for item in body["items"]]
        if path.endswith("/byids"):
            return {"items": [{"externalId": x, "id": self.held[x]} for x in wanted if x in self.held]}
        made = {x: 1000 + n for n, x in enumerate(wanted)}
        self.held.update(made)
        return {"items": [{"externalId": x, "id": i} for x, i in made.items()]}


def look_up(api: FlakyCdf, external_ids: list[str]) -> AssetIds:
    ids = AssetIds(api, Counter())
    asyncio.run(ids.look_up(external_ids))
    return ids


def test_an_asset_id_lookup_survives_three_500s() -> None:
    api = FlakyCdf(failures=3, held={"PCN1_workcenter_7": 42})
    ids = look_up(api, ["PCN1_workcenter_7"])
    assert ids.get("PCN1_workcenter_7") == 42, "events would have been written without their workcenter link"
    assert api.requests["/assets/byids"] == 4


def test_an_asset_id_lookup_gives_up_after_four_500s() -> None:
    api = FlakyCdf(failures=4, held={"PCN1_workcenter_7": 42})
    with pytest.raises(OutcomeUnknown):
        look_up(api, ["PCN1_workcenter_7"])
    assert api.requests["/assets/byids"] == 4


def test_the_check_after_a_failed_create_survives_a_500_and_creates_only_what_is_missing() -> None:
    """Every route answers its first request with a 500: the create (unknown outcome), the byids check
    (asked again: CDF holds one of the two) and the update of that one (resent); the other is created.
    Nothing fails."""
    api = FlakyCdf(failures=1, held={"PCN1_event_a": 5})
    calls = CdfCalls(api, Counter(), max_concurrency=4)
    bodies: list[dict[str, Any]] = [{"externalId": "PCN1_event_a"}, {"externalId": "PCN1_event_b"}]
    answers = asyncio.run(calls.create("event", bodies, WriteReport()))
    assert sorted(a["externalId"] for a in answers) == ["PCN1_event_a", "PCN1_event_b"]
    assert api.requests == Counter({"/events": 2, "/events/byids": 2, "/events/update": 2})
