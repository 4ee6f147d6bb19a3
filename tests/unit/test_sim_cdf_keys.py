"""The local CDF's catalogue of implemented request keys covers the routes it serves."""

from __future__ import annotations

import pytest

from plex_cdf.sim.cdf import keys
from plex_cdf.sim.cdf.errors import CdfError
from plex_cdf.sim.cdf.routes import ROUTES

# The classic API, datapoints, runs and RAW; data modeling and pipeline config check their own keys.
CLASSIC_PREFIXES = ("/assets", "/events", "/timeseries", "/relationships", "/datasets", "/extpipes", "/raw")
OWNED_ELSEWHERE = {"GET /extpipes/config", "POST /extpipes/config", "GET /extpipes/config/revisions"}


def test_every_classic_route_says_what_it_accepts() -> None:
    served = {route.key for route in ROUTES}
    classic = {key for key in served if key.split(" ", 1)[1].startswith(CLASSIC_PREFIXES)} - OWNED_ELSEWHERE
    assert classic - set(keys.ROUTES) == set()
    assert set(keys.ROUTES) <= served, "the catalogue names no route the server lacks"


def test_a_query_parameter_a_route_lacks_is_refused_by_name() -> None:
    keys.check_route("GET /raw/dbs", {"limit": "5"}, {})
    with pytest.raises(CdfError, match="not supported by the local CDF: query parameter foo") as error:
        keys.check_route("GET /raw/dbs", {"limit": "5", "foo": "1"}, {})
    assert error.value.status == 400


def test_a_null_valued_key_counts_as_absent() -> None:
    keys.check_keys({"items": [], "cursor": None}, {"items"})
    with pytest.raises(CdfError, match="not supported by the local CDF: items\\[0\\]\\.mode"):
        keys.check_item_keys([{"id": 1, "mode": "x"}], {"id"})
