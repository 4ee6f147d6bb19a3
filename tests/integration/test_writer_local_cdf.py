"""The writer with the real cognite-sdk against the local CDF: order, no rewrites, crash safety, links."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import time
from collections import Counter
from pathlib import Path
from typing import Any

from cognite.client import AsyncCogniteClient
from cognite.client.data_classes import DataSetWrite, ExtractionPipelineWrite

from plex_cdf.cdf.client import CdfSettings, build_client
from plex_cdf.cdf.hashing import content_hash
from plex_cdf.cdf.pipeline import PipelineReporter
from plex_cdf.cdf.writer import DryRunSink, Writer
from plex_cdf.ids import root_external_id
from plex_cdf.items import Asset, Datapoints, Event, Item, RawRow, TimeSeries
from plex_cdf.state.sqlite import SqliteStateStore
from tests.integration.conftest import (
    LOCAL_CDF_CLIENT_ID,
    LOCAL_CDF_PROJECT,
    LOCAL_CDF_SECRET,
    LocalCdfHandle,
)

PCN = "340884"
ROOT = root_external_id(PCN)


def settings_for(base_url: str, token_url: str) -> CdfSettings:
    return CdfSettings(
        host=base_url,
        project=LOCAL_CDF_PROJECT,
        token_url=token_url,
        client_id=LOCAL_CDF_CLIENT_ID,
        client_secret=LOCAL_CDF_SECRET,
        scopes=["user_impersonation"],
    )


def client_of(local_cdf: LocalCdfHandle) -> AsyncCogniteClient:
    return build_client(settings_for(local_cdf.server.base_url, local_cdf.server.token_url))


async def make_data_sets(client: AsyncCogniteClient) -> dict[str, int]:
    keys = ("master", "scheduling", "production", "inventory")
    created = await client.data_sets.create([DataSetWrite(external_id=f"plex:{k}", name=k) for k in keys])
    return {k: d.id for k, d in zip(keys, created, strict=True)}


def plant(buildings: int, per_building: int) -> list[Asset]:
    """Root, buildings, workcenters under them, listed children first (the worst order for CDF)."""
    assets = [Asset(ROOT, "Plant", None, "master")]
    for b in range(buildings):
        building = f"PCN{PCN}_building_{b}"
        assets.append(Asset(building, f"Building {b}", ROOT, "master"))
        for w in range(per_building):
            assets.append(Asset(f"PCN{PCN}_workcenter_{b}_{w}", f"WC {b}-{w}", building, "master"))
    return assets[::-1]


def jobs(count: int, buildings: int, per_building: int) -> list[Event]:
    return [
        Event(
            f"PCN{PCN}_job_{n}",
            "scheduling",
            "job",
            start_time=1_700_000_000_000 + n,
            metadata={"status": "Open"},
            asset_external_ids=(f"PCN{PCN}_workcenter_{n % buildings}_{n % per_building}",),
        )
        for n in range(count)
    ]


def test_big_hierarchy_lands_in_order_in_full_batches_and_a_second_run_writes_nothing(
    local_cdf: LocalCdfHandle, tmp_path: Path
) -> None:
    items = plant(buildings=19, per_building=314)  # 5,986 assets

    async def scenario() -> None:
        client = client_of(local_cdf)
        data_sets = await make_data_sets(client)
        state = SqliteStateStore(tmp_path / "state.db")
        first = await Writer(client, PCN, data_sets, state).write("workcenters", items)
        assert first.written == len(items) and first.write_calls == 6, "1,000 assets per call, parents first"
        assert first.written / first.write_calls >= 900, (
            f"only {first.written / first.write_calls:.0f} per call"
        )
        local_cdf.cdf.reset_counts()
        second = await Writer(client, PCN, data_sets, state).write("workcenters", items)
        assert second.unchanged == len(items)
        assert local_cdf.cdf.write_count() == 0, f"an unchanged run wrote: {local_cdf.cdf.request_counts()}"
        assert sum(local_cdf.cdf.request_counts().values()) == 0, "an unchanged run should not even read"

    asyncio.run(scenario())
    stored = {a["externalId"]: a for a in local_cdf.cdf.store.assets()}
    assert len(stored) == len(items), "every asset should be in CDF exactly once"
    by_id = {a["id"]: a for a in stored.values()}
    for asset in stored.values():
        if asset["externalId"] != ROOT:
            parent = by_id[asset["parentId"]]
            assert parent["createdTime"] <= asset["createdTime"] and parent["id"] < asset["id"], (
                f"{asset['externalId']} was created before its parent"
            )


def test_events_whose_assets_arrive_later_end_up_linked(local_cdf: LocalCdfHandle, tmp_path: Path) -> None:
    events = jobs(50, buildings=2, per_building=5)

    async def scenario() -> tuple[int, int]:
        client = client_of(local_cdf)
        writer = Writer(client, PCN, await make_data_sets(client), SqliteStateStore(tmp_path / "s.db"))
        early = await writer.write("jobs", events)
        await writer.write("workcenters", plant(2, 5))
        late = await writer.link_pending()
        return early.unresolved_links, late.unresolved_links

    before, after = asyncio.run(scenario())
    assert before == 50 and after == 0
    ids = {a["externalId"]: a["id"] for a in local_cdf.cdf.store.assets()}
    for event in local_cdf.cdf.store.events():
        n = int(event["externalId"].rsplit("_", 1)[1])
        assert event["assetIds"] == [ids[f"PCN{PCN}_workcenter_{n % 2}_{n % 5}"]], "event left unlinked"


def test_limit_alterations_let_oversized_records_through_and_are_counted(
    local_cdf: LocalCdfHandle, tmp_path: Path
) -> None:
    huge = Asset(
        f"PCN{PCN}_part_" + "9" * 300,
        "N" * 500,
        ROOT,
        "master",
        description="d" * 5000,
        metadata={f"k{i}": "v" * 100 for i in range(300)},
    )
    series = TimeSeries(f"PCN{PCN}_ts_1", "T", "production")
    points = Datapoints(series.external_id, ((1000, 1.0), (2000, float("inf")), (-9_999_999_999_999, 3.0)))

    async def scenario() -> Writer:
        client = client_of(local_cdf)
        writer = Writer(client, PCN, await make_data_sets(client), SqliteStateStore(tmp_path / "s.db"))
        report = await writer.write("parts", [Asset(ROOT, "Plant", None, "master"), huge, series, points])
        assert report.altered == 2
        return writer

    writer = asyncio.run(scenario())
    counted = writer.counters.alterations
    assert (
        counted["asset.external_id"] == 1 and counted["asset.name"] == 1 and counted["asset.description"] == 1
    )
    assert counted["asset.metadata.dropped"] > 0
    assert counted["datapoint.value_dropped"] == 1 and counted["datapoint.timestamp_dropped"] == 1
    assert len(local_cdf.cdf.store.assets()) == 2, "the oversized part should land, cut to fit"
    assert local_cdf.cdf.store.datapoints(series.external_id) == [(1000, 1.0)]


def test_dry_run_makes_zero_calls(local_cdf: LocalCdfHandle, tmp_path: Path) -> None:
    sink = DryRunSink(PCN, {"master": 1}, SqliteStateStore(tmp_path / "s.db"))
    report = asyncio.run(sink.write("workcenters", plant(3, 10)))
    assert report.written == 34 and report.write_calls == 0
    assert local_cdf.cdf.request_counts() == Counter(), "a dry run must not talk to CDF"


def test_injected_429_and_5xx_still_give_each_record_exactly_once(
    local_cdf: LocalCdfHandle, tmp_path: Path
) -> None:
    items: list[Item] = [*plant(5, 400), *jobs(3000, 5, 400)]

    async def scenario() -> None:
        client = client_of(local_cdf)
        data_sets = await make_data_sets(client)
        local_cdf.cdf.set_faults(fault_429=0.2, fault_5xx=0.1)
        await Writer(client, PCN, data_sets, SqliteStateStore(tmp_path / "s.db")).write("mixed", items)

    asyncio.run(scenario())
    assert len(local_cdf.cdf.store.assets()) == 2006 and len(local_cdf.cdf.store.events()) == 3000


def test_raw_rows_land_per_table(local_cdf: LocalCdfHandle, tmp_path: Path) -> None:
    rows = [RawRow("parts", f"p{n}", {"partNo": n, "name": None}) for n in range(25)]

    async def scenario() -> None:
        client = client_of(local_cdf)
        writer = Writer(client, PCN, {}, SqliteStateStore(tmp_path / "s.db"), raw_database="plex_PCN340884")
        await writer.write("parts", rows)

    asyncio.run(scenario())
    stored = local_cdf.cdf.store.raw_rows("plex_PCN340884", "parts")
    assert len(stored) == 25 and stored["p3"] == {"partNo": 3, "name": None}


def test_pipeline_runs_are_reported_with_messages_cut_to_1000_chars(local_cdf: LocalCdfHandle) -> None:
    async def scenario() -> list[bool]:
        client = client_of(local_cdf)
        data_sets = await make_data_sets(client)
        await client.extraction_pipelines.create(
            ExtractionPipelineWrite(external_id="plex-cdf", name="plex", data_set_id=data_sets["master"])
        )
        reporter = PipelineReporter(client, "plex-cdf")
        ok = [await reporter.report("success"), await reporter.report("failure", "E" * 5000)]
        beat = reporter.start_heartbeat(interval_s=3600)
        while reporter.reported < 3:
            await asyncio.sleep(0.01)
        beat.cancel()
        return ok

    assert asyncio.run(scenario()) == [True, True]
    runs = local_cdf.cdf.store.extpipe_runs("plex-cdf")
    assert [r["status"] for r in runs] == ["success", "failure", "seen"]
    assert len(runs[1]["message"]) == 1000


# -- SIGKILL in the middle of writing -------------------------------------------------------------------

KILL_BUILDINGS, KILL_PER_BUILDING, KILL_JOBS = 10, 600, 12_000


def _write_everything(base_url: str, token_url: str, state_path: str, data_sets: dict[str, int]) -> None:
    """The child: one big write of the whole plant and its jobs (killed somewhere in the middle)."""
    client = build_client(settings_for(base_url, token_url))
    items: list[Item] = [
        *plant(KILL_BUILDINGS, KILL_PER_BUILDING),
        *jobs(KILL_JOBS, KILL_BUILDINGS, KILL_PER_BUILDING),
    ]
    writer = Writer(client, PCN, data_sets, SqliteStateStore(state_path), max_concurrency=2)
    asyncio.run(writer.write("plant", items))


def _wait_for(condition: Any, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def test_a_run_killed_mid_write_and_run_again_leaves_each_record_once(
    local_cdf: LocalCdfHandle, tmp_path: Path
) -> None:
    client = client_of(local_cdf)
    data_sets = asyncio.run(make_data_sets(client))
    state_path = str(tmp_path / "state.db")
    local_cdf.cdf.set_faults(latency_ms=40)
    local_cdf.cdf.reset_counts()
    child = multiprocessing.get_context("spawn").Process(
        target=_write_everything,
        args=(local_cdf.server.base_url, local_cdf.server.token_url, state_path, data_sets),
    )
    child.start()
    _wait_for(lambda: local_cdf.cdf.write_count() >= 8, "the child to be in the middle of writing")
    os.kill(child.pid, signal.SIGKILL)  # type: ignore[arg-type]
    child.join()
    total_assets = 1 + KILL_BUILDINGS * (1 + KILL_PER_BUILDING)
    landed = len(local_cdf.cdf.store.assets()) + len(local_cdf.cdf.store.events())
    assert 0 < landed < total_assets + KILL_JOBS, "the kill should have landed in the middle of the write"

    local_cdf.cdf.set_faults()
    _write_everything(local_cdf.server.base_url, local_cdf.server.token_url, state_path, data_sets)

    assets, events = local_cdf.cdf.store.assets(), local_cdf.cdf.store.events()
    assert len(assets) == total_assets and len(events) == KILL_JOBS, (
        "each record should be in CDF exactly once"
    )
    assert len({e["externalId"] for e in events}) == KILL_JOBS
    assert all(e["assetIds"] for e in events), "every job should be linked to its workcenter"
    hashes = SqliteStateStore(state_path).get_hashes(PCN, "plant")
    expected = {
        i.external_id: content_hash(i, data_sets[i.data_set])
        for i in [
            *plant(KILL_BUILDINGS, KILL_PER_BUILDING),
            *jobs(KILL_JOBS, KILL_BUILDINGS, KILL_PER_BUILDING),
        ]
    }
    assert hashes == expected, "the state should hold exactly the hashes of what CDF holds"


def test_one_token_serves_a_whole_run(local_cdf: LocalCdfHandle, tmp_path: Path) -> None:
    async def scenario() -> None:
        client = client_of(local_cdf)
        writer = Writer(client, PCN, await make_data_sets(client), SqliteStateStore(tmp_path / "s.db"))
        await writer.write("workcenters", plant(3, 400))
        await writer.write("jobs", jobs(2500, 3, 400))

    asyncio.run(scenario())
    assert local_cdf.cdf.request_counts()["POST /oauth2/token"] == 1, "each request should not fetch a token"


def test_a_pipeline_report_that_fails_is_logged_and_never_ends_the_run(local_cdf: LocalCdfHandle) -> None:
    reporter = PipelineReporter(client_of(local_cdf), "no-such-pipeline")
    assert asyncio.run(reporter.report("failure", "boom")) is False
    assert reporter.failed_reports == 1
