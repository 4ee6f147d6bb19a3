"""Faults on demand: the SDK's retry paths run for real against injected 429s and 5xx answers.

What the SDK (8.22) retries, as these tests pin down:
- 429 on every route, creates and deletes included (its non-idempotent client retries only 429);
- 502/503/504 only on GET and on POSTs it deems idempotent: byids, list, aggregate, update, datapoints
  insert/list/latest/delete, RAW rows insert/list/delete;
- never a 500, on any route;
- never a 5xx on creates and deletes of assets, events, time series, data sets, relationships, extraction
  pipelines and their runs, RAW databases and tables: the caller sees CogniteAPIError and must re-read by
  external id before retrying (the write may or may not have happened in real CDF).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cognite.client import CogniteClient, global_config
from cognite.client.data_classes import (
    AssetUpdate,
    AssetWrite,
    DataSetWrite,
    EventWrite,
    RelationshipWrite,
    TimeSeriesWrite,
)
from cognite.client.exceptions import CogniteAPIError

from plex_cdf.sim.cdf import LocalCdf
from tests.integration.conftest import (
    LOCAL_CDF_CLIENT_ID,
    LOCAL_CDF_PROJECT,
    LOCAL_CDF_SECRET,
    LocalCdfHandle,
)

RETRIED_5XX = (502, 503)


@pytest.fixture
def seeded_cdf(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalCdfHandle]:
    """A local CDF with a fixed fault sequence; SDK backoff capped at 1 s so retries stay quick."""
    monkeypatch.setattr(global_config, "max_retry_backoff", 1)
    global_config.disable_pypi_version_check = True
    cdf = LocalCdf(LOCAL_CDF_PROJECT, LOCAL_CDF_CLIENT_ID, LOCAL_CDF_SECRET, seed=20260101)
    with cdf.serve() as server:
        yield LocalCdfHandle(cdf, server)


def test_retried_operations_complete_under_20_percent_429_and_5_percent_5xx(
    seeded_cdf: LocalCdfHandle,
) -> None:
    client = seeded_cdf.client()
    client.assets.create([AssetWrite(external_id=f"a{i}", name=f"a{i}") for i in range(1_100)])
    client.time_series.create(TimeSeriesWrite(external_id="oee"))
    seeded_cdf.cdf.reset_counts()
    seeded_cdf.cdf.set_faults(fault_429=0.2, fault_5xx=0.05, server_errors=RETRIED_5XX)

    for round_ in range(5):
        assert len(client.assets.list(limit=None)) == 1_100
        assert client.assets.retrieve(external_id="a7") is not None
        client.assets.update(AssetUpdate(external_id="a7").description.set(f"round {round_}"))
        client.time_series.data.insert(
            [(1_000 * round_ + t, float(t)) for t in range(100)], external_id="oee"
        )
        client.raw.rows.insert("db", "t", {f"k{round_}": {"round": round_}}, ensure_parent=True)
    assert client.assets.aggregate_count() == 1_100
    points = client.time_series.data.retrieve(external_id="oee", start=0, end=100_000)

    assert points is not None and len(points) == 500, "every datapoint insert landed despite the faults"
    assert len(client.raw.rows.list("db", "t", limit=None)) == 5
    assert client.assets.retrieve(external_id="a7").description == "round 4"  # type: ignore[union-attr]
    counts = seeded_cdf.cdf.request_counts()
    logical_calls = 5 * (2 + 1 + 1 + 1 + 1) + 3
    assert sum(counts.values()) > logical_calls, "faults were injected, so the SDK must have retried"


def test_creates_are_retried_on_429(seeded_cdf: LocalCdfHandle) -> None:
    client = seeded_cdf.client()
    seeded_cdf.cdf.set_faults(fault_429=0.5)
    for i in range(10):
        client.events.create(EventWrite(external_id=f"e{i}", type="job"))
    assert len(seeded_cdf.cdf.store.events()) == 10
    assert seeded_cdf.cdf.request_counts()["POST /events"] > 10, "some creates met a 429 and were retried"


CREATES_AND_DELETES_NOT_RETRIED_ON_5XX = {
    "POST /assets": lambda c: c.assets.create(AssetWrite(external_id="x", name="x")),
    "POST /events": lambda c: c.events.create(EventWrite(external_id="x")),
    "POST /timeseries": lambda c: c.time_series.create(TimeSeriesWrite(external_id="x")),
    "POST /datasets": lambda c: c.data_sets.create(DataSetWrite(external_id="x", name="x")),
    "POST /relationships": lambda c: c.relationships.create(
        RelationshipWrite("x", "a", "asset", "b", "asset")
    ),
    "POST /raw/dbs": lambda c: c.raw.databases.create("x"),
    "POST /assets/delete": lambda c: c.assets.delete(external_id="x", ignore_unknown_ids=True),
}


@pytest.mark.parametrize("route", sorted(CREATES_AND_DELETES_NOT_RETRIED_ON_5XX))
def test_the_sdk_does_not_retry_creates_and_deletes_on_5xx(seeded_cdf: LocalCdfHandle, route: str) -> None:
    client: CogniteClient = seeded_cdf.client()
    client.iam.token.inspect()  # fetch the token before faults switch on
    seeded_cdf.cdf.set_faults(fault_5xx=1.0, server_errors=(503,))
    with pytest.raises(CogniteAPIError) as caught:
        CREATES_AND_DELETES_NOT_RETRIED_ON_5XX[route](client)
    assert caught.value.code == 503
    assert seeded_cdf.cdf.request_counts()[route] == 1, (
        f"{route} was sent once: the SDK gave up after one 503"
    )


def test_the_sdk_never_retries_a_500_even_on_idempotent_routes(seeded_cdf: LocalCdfHandle) -> None:
    client = seeded_cdf.client()
    client.iam.token.inspect()
    seeded_cdf.cdf.set_faults(fault_5xx=1.0, server_errors=(500,))
    with pytest.raises(CogniteAPIError) as caught:
        client.assets.list(limit=5)
    assert caught.value.code == 500
    assert seeded_cdf.cdf.request_counts()["POST /assets/list"] == 1


def test_fault_settings_out_of_range_are_refused() -> None:
    cdf = LocalCdf()
    with pytest.raises(ValueError, match="fault_429 must be a share between 0 and 1"):
        cdf.set_faults(fault_429=1.5)
    with pytest.raises(ValueError, match="must not exceed 1"):
        cdf.set_faults(fault_429=0.6, fault_5xx=0.6)
