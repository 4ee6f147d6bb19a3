"""The CDF RAW state backend against the local CDF: round trips, tenant isolation, delta commits."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from plex_cdf.cdf.client import build_client
from plex_cdf.state.raw import RawStateStore
from tests.integration.conftest import (
    LocalCdfHandle,
)


def store_of(local_cdf: LocalCdfHandle) -> RawStateStore:
    return RawStateStore(build_client(local_cdf.product_settings()), "plex_state", "state")


def test_everything_written_is_read_back_by_a_fresh_store(local_cdf: LocalCdfHandle) -> None:
    first = store_of(local_cdf)
    assert first.get_watermark("1", "jobs") is None, "an empty project should have no state"
    mark = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    first.commit_watermark("1", "jobs", mark)
    first.commit_hashes("1", "parts", {"asset:a": "h1", "asset:b": "h2"})
    first.commit_hashes("1", "parts", {"asset:a": "h3"}, removed=["asset:b"])
    first.set_value("1", "some.value", {"e": {"assets": ["x"]}})

    second = store_of(local_cdf)
    assert second.get_watermark("1", "jobs") == mark
    assert second.get_hashes("1", "parts") == {"asset:a": "h3"}
    assert second.get_value("1", "some.value") == {"e": {"assets": ["x"]}}
    assert second.get_hashes("2", "parts") == {} and second.get_watermark("2", "jobs") is None


def test_a_commit_sends_only_what_changed(local_cdf: LocalCdfHandle) -> None:
    store = store_of(local_cdf)
    store.commit_hashes("1", "parts", {f"asset:{n}": "h" for n in range(5000)})
    local_cdf.cdf.reset_counts()
    store.commit_hashes("1", "parts", {"asset:7": "changed"})
    inserts = local_cdf.cdf.request_counts()["POST /raw/dbs/{db}/tables/{table}/rows"]
    assert inserts == 1 and len(local_cdf.cdf.store.raw_rows("plex_state", "state")) == 5000


def test_works_from_inside_the_extractors_event_loop(local_cdf: LocalCdfHandle) -> None:
    store = store_of(local_cdf)

    async def inside() -> dict[str, str]:
        store.commit_hashes("1", "r", {"k": "v"})
        return store.get_hashes("1", "r")

    assert asyncio.run(inside()) == {"k": "v"}
