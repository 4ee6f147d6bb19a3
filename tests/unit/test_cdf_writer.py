"""The writer against an in-memory CDF (the `CdfApi` seam): order, change detection, recovery, links."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from plex_cdf.cdf.transport import Duplicated, Json, Missing, OutcomeUnknown, Rejected
from plex_cdf.cdf.writer import DryRunSink, Writer
from plex_cdf.ids import root_external_id
from plex_cdf.items import Asset, Datapoints, Event, Item, RawRow, Relationship, TimeSeries
from plex_cdf.ports import Expiry, WriteReport
from plex_cdf.state.sqlite import SqliteStateStore

PCN = "340884"
ROOT = root_external_id(PCN)
DATA_SETS = {"master": 11, "scheduling": 12, "production": 13}
WRITE_SUFFIXES = ("", "/update", "/data", "/rows")


class FakeCdf:
    """Just enough CDF: external-id uniqueness (409), unknown ids (400 missing), unknown parents, byids."""

    def __init__(self) -> None:
        self.stores: dict[str, dict[str, Json]] = {
            k: {} for k in ("assets", "events", "timeseries", "relationships")
        }
        self.datapoints: dict[str, dict[int, Any]] = {}
        self.raw: dict[tuple[str, str], dict[str, Json]] = {}
        self.calls: Counter[str] = Counter()
        self.max_items = 0
        self._ids = itertools.count(1000)
        # Faults: apply the next create of this resource, then answer as if it timed out.
        self.lose_answer_of_next_create: str | None = None

    def write_calls(self) -> int:
        return sum(n for path, n in self.calls.items() if not path.endswith("/byids"))

    async def post(self, path: str, body: Json, params: Mapping[str, str] | None = None) -> Json:
        await asyncio.sleep(0)
        self.calls[path] += 1
        self.max_items = max(self.max_items, len(body.get("items", [])))
        if path.startswith("/raw/dbs/"):
            _, _, _, db, _, table, _ = path.split("/")
            rows = self.raw.setdefault((db, table), {})
            rows.update({row["key"]: row["columns"] for row in body["items"]})
            return {}
        if path == "/timeseries/data":
            return self._insert_points(body["items"])
        resource, _, op = path.strip("/").partition("/")
        store = self.stores[resource]
        if op == "byids":
            return {"items": [store[i["externalId"]] for i in body["items"] if i["externalId"] in store]}
        if op == "update":
            return {"items": self._update(store, body["items"])}
        if op == "delete":
            assert body.get("ignoreUnknownIds") is True, "a container already gone must be no error"
            for item in body["items"]:
                store.pop(item["externalId"], None)
            return {}
        answer = {"items": self._create(resource, store, body["items"])}
        if self.lose_answer_of_next_create == resource:
            self.lose_answer_of_next_create = None
            raise OutcomeUnknown("read timeout")
        return answer

    def _create(self, resource: str, store: dict[str, Json], items: list[Json]) -> list[Json]:
        if any("refuse" in i.get("metadata", {}) for i in items):
            raise Rejected("metadata.refuse: not allowed")
        clash = [i["externalId"] for i in items if i["externalId"] in store]
        if clash:
            raise Duplicated(clash)
        batch = {i["externalId"] for i in items}
        if resource == "assets":
            unknown = [
                p for i in items if (p := i.get("parentExternalId")) and p not in store and p not in batch
            ]
            if unknown:
                raise Missing(unknown)
        created = []
        for item in items:
            stored = {**item, "id": next(self._ids)}
            store[item["externalId"]] = stored
            created.append(stored)
        return created

    def _update(self, store: dict[str, Json], items: list[Json]) -> list[Json]:
        missing = [i["externalId"] for i in items if i["externalId"] not in store]
        if missing:
            raise Missing(missing)
        out = []
        for item in items:
            stored = store[item["externalId"]]
            for name, change in item["update"].items():
                if "set" in change:
                    stored[name] = change["set"]
                elif "setNull" in change:
                    stored.pop(name, None)
                elif "add" in change:
                    stored[name] = {**stored.get(name, {}), **change["add"]}
            out.append(stored)
        return out

    def _insert_points(self, items: list[Json]) -> Json:
        unknown = [i["externalId"] for i in items if i["externalId"] not in self.stores["timeseries"]]
        if unknown:
            raise Missing(unknown)
        for item in items:
            numeric = not self.stores["timeseries"][item["externalId"]].get("isString")
            if numeric and any(isinstance(p["value"], str) for p in item["datapoints"]):
                raise Rejected(f"{item['externalId']}: text value for a numeric series")
        for item in items:
            series = self.datapoints.setdefault(item["externalId"], {})
            series.update({p["timestamp"]: p["value"] for p in item["datapoints"]})
        return {}


@pytest.fixture
def state(tmp_path: Path) -> SqliteStateStore:
    return SqliteStateStore(tmp_path / "state.db")


@pytest.fixture
def cdf() -> FakeCdf:
    return FakeCdf()


def make_writer(cdf: FakeCdf, state: SqliteStateStore, **kwargs: Any) -> Writer:
    return Writer(cdf, pcn=PCN, data_set_ids=DATA_SETS, state=state, **kwargs)


def root() -> Asset:
    return Asset(ROOT, "Plant 340884", None, "master")


def chain_hierarchy(levels: int, width: int) -> list[Asset]:
    """`levels` generations of `width` assets each under the root, children listed before parents."""
    assets = []
    for level in range(levels):
        for n in range(width):
            parent = ROOT if level == 0 else f"PCN{PCN}_a_{level - 1}_{n}"
            assets.append(Asset(f"PCN{PCN}_a_{level}_{n}", f"A {level}/{n}", parent, "master"))
    return [*reversed(assets), root()]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_hierarchy_listed_children_first_lands_parents_first_in_full_batches(
    cdf: FakeCdf, state: SqliteStateStore
) -> None:
    items = chain_hierarchy(levels=6, width=1000)
    report = run(make_writer(cdf, state).write("buildings", items))
    assert len(cdf.stores["assets"]) == 6001, "every asset of the hierarchy should be in CDF"
    assert report.written == 6001 and report.write_calls == 7
    assert report.written / report.write_calls >= 850, "bulk loads should fill CDF's 1,000-item batches"


def test_second_identical_run_makes_no_write_calls(cdf: FakeCdf, state: SqliteStateStore) -> None:
    items: list[Item] = [*chain_hierarchy(3, 10), Event(f"PCN{PCN}_job_1", "scheduling", "job")]
    run(make_writer(cdf, state).write("mixed", items))
    calls_before = cdf.write_calls()
    report = run(make_writer(cdf, state).write("mixed", items))
    assert cdf.write_calls() == calls_before, "an unchanged Plex snapshot must not cause any CDF write"
    assert report.unchanged == len(items) and report.written == 0


def test_changed_record_is_replaced_so_removed_fields_are_cleared(
    cdf: FakeCdf, state: SqliteStateStore
) -> None:
    first = Event(
        f"PCN{PCN}_job_1", "scheduling", "job", description="old", metadata={"status": "Open", "x": "1"}
    )
    second = Event(f"PCN{PCN}_job_1", "scheduling", "job", metadata={"status": "Complete"})
    run(make_writer(cdf, state).write("jobs", [first]))
    run(make_writer(cdf, state).write("jobs", [second]))
    stored = cdf.stores["events"][f"PCN{PCN}_job_1"]
    assert stored["metadata"] == {"status": "Complete"}, "a job's status change should reach CDF"
    assert "description" not in stored, "a field removed in Plex should be cleared in CDF"
    assert len(cdf.stores["events"]) == 1


def test_lost_state_after_crash_turns_clashes_into_updates(cdf: FakeCdf, tmp_path: Path) -> None:
    items = chain_hierarchy(2, 5)
    run(make_writer(cdf, SqliteStateStore(tmp_path / "a.db")).write("buildings", items))
    renamed = [Asset(a.external_id, a.name + "!", a.parent_external_id, "master") for a in items]
    report = run(make_writer(cdf, SqliteStateStore(tmp_path / "b.db")).write("buildings", renamed))
    assert report.written == len(items)
    assert len(cdf.stores["assets"]) == len(items), "a rerun without state must not duplicate anything"
    assert all(a["name"].endswith("!") for a in cdf.stores["assets"].values())


def test_create_with_unknown_outcome_is_re_read_not_repeated_blindly(
    cdf: FakeCdf, state: SqliteStateStore
) -> None:
    cdf.lose_answer_of_next_create = "events"
    events = [Event(f"PCN{PCN}_job_{n}", "scheduling", "job") for n in range(5)]
    report = run(make_writer(cdf, state).write("jobs", events))
    assert cdf.calls["/events/byids"] == 1, "after a timeout the writer should ask CDF what it holds"
    assert cdf.calls["/events"] == 1, "items CDF already holds must not be created again"
    assert report.written == 5 and len(cdf.stores["events"]) == 5


def test_event_waits_for_its_asset_and_is_linked_when_it_arrives(
    cdf: FakeCdf, state: SqliteStateStore
) -> None:
    writer = make_writer(cdf, state)
    workcenter = f"PCN{PCN}_workcenter_7"
    event = Event(f"PCN{PCN}_job_1", "scheduling", "job", asset_external_ids=(workcenter,))
    report = run(writer.write("jobs", [event]))
    assert report.unresolved_links == 1, "the missing workcenter link should be counted"
    assert cdf.stores["events"][event.external_id]["assetIds"] == []
    run(writer.write("workcenters", [root(), Asset(workcenter, "WC 7", ROOT, "master")]))
    linked = run(writer.link_pending())
    wc_id = cdf.stores["assets"][workcenter]["id"]
    assert cdf.stores["events"][event.external_id]["assetIds"] == [wc_id], "the event should end up linked"
    assert linked.unresolved_links == 0
    again = run(make_writer(cdf, state).write("jobs", [event]))
    assert again.written == 0, "a linked event with unchanged content should not be written again"


def test_pending_links_survive_a_restart(cdf: FakeCdf, state: SqliteStateStore) -> None:
    workcenter = f"PCN{PCN}_workcenter_7"
    event = Event(f"PCN{PCN}_job_1", "scheduling", "job", asset_external_ids=(workcenter,))
    run(make_writer(cdf, state).write("jobs", [event]))
    run(make_writer(cdf, state).write("workcenters", [root(), Asset(workcenter, "WC 7", ROOT, "master")]))
    run(make_writer(cdf, state).link_pending())
    assert cdf.stores["events"][event.external_id]["assetIds"] == [cdf.stores["assets"][workcenter]["id"]]


def test_asset_whose_parent_is_nowhere_waits_and_never_fails_the_run(
    cdf: FakeCdf, state: SqliteStateStore
) -> None:
    writer = make_writer(cdf, state)
    orphan = Asset(f"PCN{PCN}_container_1", "C1", f"PCN{PCN}_location_9", "inventory")
    report = run(writer.write("containers", [root(), orphan]))
    assert report.unresolved_links == 1 and writer.counters.assets_waiting == 1
    assert orphan.external_id not in cdf.stores["assets"]
    run(writer.write("locations", [Asset(f"PCN{PCN}_location_9", "L9", ROOT, "inventory")]))
    assert orphan.external_id in cdf.stores["assets"], "the waiting container should land with its location"
    assert writer.counters.assets_waiting == 0


def test_the_writer_retires_what_a_snapshot_no_longer_makes(cdf: FakeCdf, state: SqliteStateStore) -> None:
    writer = make_writer(cdf, state)
    kept, gone = (Asset(f"PCN{PCN}_container_{n}", f"C{n}", ROOT, "inventory") for n in (1, 2))
    series = [TimeSeries(f"PCN{PCN}_wip_{n}", f"W{n}", "inventory") for n in (1, 2)]
    points = [Datapoints(s.external_id, ((1000, 5.0),), latest_only=True) for s in series]
    run(writer.write("containers", [root(), kept, gone, *series, *points]))
    still = [root(), kept, *series, points[0]]
    report = run(writer.retire_vanished("containers", still, mark_inactive=True, end_point=(2000, 0.0)))
    assert cdf.stores["assets"][gone.external_id]["metadata"] == {"plexActive": "false"}
    assert "plexActive" not in (cdf.stores["assets"][kept.external_id].get("metadata") or {})
    assert cdf.datapoints[f"PCN{PCN}_wip_2"] == {1000: 5.0, 2000: 0.0}
    assert cdf.datapoints[f"PCN{PCN}_wip_1"] == {1000: 5.0}
    assert report.written == 2


def test_mark_inactive_flags_and_never_deletes(cdf: FakeCdf, state: SqliteStateStore) -> None:
    writer = make_writer(cdf, state)
    part = Asset(f"PCN{PCN}_part_1", "P1", ROOT, "master", metadata={"a": "1"})
    run(writer.write("parts", [root(), part]))
    report = run(writer.mark_inactive("parts", [part.external_id]))
    assert cdf.stores["assets"][part.external_id]["metadata"] == {"a": "1", "plexActive": "false"}
    assert report.written == 1
    calls = cdf.write_calls()
    assert run(make_writer(cdf, state).mark_inactive("parts", [part.external_id])).written == 0
    assert cdf.write_calls() == calls, "flagging an already inactive record again should not write"
    run(make_writer(cdf, state).write("parts", [root(), part]))
    assert cdf.stores["assets"][part.external_id]["metadata"] == {"a": "1"}, "a returning record is active"


def test_limits_are_applied_and_counted(cdf: FakeCdf, state: SqliteStateStore) -> None:
    writer = make_writer(cdf, state)
    long_id = f"PCN{PCN}_part_" + "x" * 300
    part = Asset(long_id, "n" * 200, ROOT, "master", metadata={"k" * 200: "v"})
    report = run(writer.write("parts", [root(), part]))
    stored = next(a for a in cdf.stores["assets"].values() if a["externalId"] != ROOT)
    assert len(stored["externalId"]) == 255 and len(stored["name"]) == 140
    assert report.altered == 1
    assert writer.counters.alterations["asset.external_id"] == 1
    assert writer.counters.alterations["asset.name"] == 1
    assert writer.counters.alterations["asset.metadata.key"] == 1


def test_time_series_and_datapoints_including_latest_only(cdf: FakeCdf, state: SqliteStateStore) -> None:
    series = TimeSeries(f"PCN{PCN}_ts_oee", "OEE", "production")
    status = TimeSeries(f"PCN{PCN}_ts_status", "Status", "production", is_string=True)
    items: list[Item] = [
        series,
        status,
        Datapoints(series.external_id, ((1000, 0.5), (2000, float("nan")), (3000, 0.7))),
        Datapoints(status.external_id, ((1000, "Running"),), latest_only=True),
    ]
    writer = make_writer(cdf, state)
    run(writer.write("oee", items))
    assert cdf.datapoints[series.external_id] == {1000: 0.5, 3000: 0.7}, "a NaN point should be dropped"
    assert writer.counters.alterations["datapoint.value_dropped"] == 1
    calls = cdf.write_calls()
    same_value_later = Datapoints(status.external_id, ((9000, "Running"),), latest_only=True)
    run(make_writer(cdf, state).write("oee", [*items[:3], same_value_later]))
    assert cdf.write_calls() == calls, "a sampled status equal to the last one written should not be sent"


def test_relationships_and_raw_rows(cdf: FakeCdf, state: SqliteStateStore) -> None:
    writer = make_writer(cdf, state, raw_database="plex_PCN340884")
    rel = Relationship(f"PCN{PCN}_bom_1", f"PCN{PCN}_part_1", f"PCN{PCN}_part_2", "master")
    rows = [RawRow("parts", str(n), {"n": n}) for n in range(3)]
    report = run(writer.write("boms", [rel, *rows]))
    assert rel.external_id in cdf.stores["relationships"]
    assert cdf.raw[("plex_PCN340884", "parts")]["2"] == {"n": 2}
    assert report.by_kind == {"relationship": 1, "raw": 3}


def test_raw_rows_are_kept_only_when_a_database_is_configured(cdf: FakeCdf, state: SqliteStateStore) -> None:
    report = run(make_writer(cdf, state).write("parts", [RawRow("parts", "1", {"n": 1})]))
    assert cdf.write_calls() == 0 and report.by_kind == {"raw_skipped": 1}


def test_dry_run_counts_and_writes_nothing(cdf: FakeCdf, state: SqliteStateStore) -> None:
    items = chain_hierarchy(2, 3)
    sink = DryRunSink(PCN, DATA_SETS, state)
    report = run(sink.write("buildings", items))
    assert report.written == len(items) and report.write_calls == 0
    assert cdf.calls == Counter(), "a dry run must not call CDF at all"


def test_records_vanished_from_a_snapshot_as_the_runner_finds_them_are_flagged(
    cdf: FakeCdf, state: SqliteStateStore
) -> None:
    """The runner takes the state's hash keys minus the external ids it saw; only those records change."""
    long_id = f"PCN{PCN}_part_" + "7" * 300
    kept = Asset(f"PCN{PCN}_part_1", "P1", ROOT, "master")
    gone = Asset(long_id, "P2", ROOT, "master")
    series = TimeSeries(f"PCN{PCN}_ts_1", "T", "master")
    items: list[Item] = [root(), kept, gone, series, Datapoints(series.external_id, ((1, 1.0),))]
    run(make_writer(cdf, state, raw_database="db").write("parts", [*items, RawRow("parts", "1", {})]))
    seen = {root().external_id, kept.external_id, series.external_id, "1"}
    vanished = sorted(set(state.get_hashes(PCN, "parts")) - seen)
    report = run(make_writer(cdf, state).mark_inactive("parts", vanished))
    flagged = [
        a["externalId"] for a in cdf.stores["assets"].values() if a.get("metadata", {}).get("plexActive")
    ]
    assert report.written == 1 and flagged == [
        gone_id := next(x for x in cdf.stores["assets"] if len(x) == 255)
    ]
    assert gone_id.startswith(f"PCN{PCN}_part_777"), "only the vanished part should be flagged inactive"


def test_one_invalid_record_is_isolated_and_the_rest_of_its_batch_lands(
    cdf: FakeCdf, state: SqliteStateStore
) -> None:
    events = [
        Event(f"PCN{PCN}_job_{n}", "scheduling", "job", metadata={"refuse": "1"} if n in (17, 600) else {})
        for n in range(1000)
    ]
    writer = make_writer(cdf, state)
    report = run(writer.write("jobs", events))
    assert len(cdf.stores["events"]) == 998, "one bad record must not keep its batch out of CDF"
    assert writer.counters.rejected["event"] == 2 and report.by_kind["event_rejected"] == 2
    assert report.refused == 2 and sorted(report.refused_ids) == [f"PCN{PCN}_job_17", f"PCN{PCN}_job_600"]
    assert f"PCN{PCN}_job_17" not in state.get_hashes(PCN, "jobs"), "a refused record is tried again next run"
    assert report.write_calls < 50, "finding two bad records should take a few dozen calls, not a thousand"


def test_a_record_deleted_in_cdf_behind_the_writers_back_is_created_again(
    cdf: FakeCdf, state: SqliteStateStore
) -> None:
    first = Event(f"PCN{PCN}_job_1", "scheduling", "job", metadata={"status": "Open"})
    run(make_writer(cdf, state).write("jobs", [first]))
    del cdf.stores["events"][first.external_id]
    changed = Event(f"PCN{PCN}_job_1", "scheduling", "job", metadata={"status": "Complete"})
    report = run(make_writer(cdf, state).write("jobs", [changed]))
    assert report.written == 1 and cdf.stores["events"][first.external_id]["metadata"] == {
        "status": "Complete"
    }
    assert cdf.calls["/events/update"] == 1 and cdf.calls["/events"] == 2, (
        "update first, then create the missing"
    )


def test_points_cdf_refuses_are_isolated_per_series(cdf: FakeCdf, state: SqliteStateStore) -> None:
    series = [TimeSeries(f"PCN{PCN}_ts_{n}", f"T{n}", "production") for n in range(6)]
    points = [Datapoints(s.external_id, ((1, "oops" if n == 4 else 1.0),)) for n, s in enumerate(series)]
    writer = make_writer(cdf, state)
    report = run(writer.write("oee", [*series, *points]))
    assert len(cdf.datapoints) == 5, "one bad series must not keep the others' points out"
    assert writer.counters.rejected["datapoints"] == 1 and report.by_kind["datapoints_rejected"] == 1
    assert report.refused_ids == [f"PCN{PCN}_ts_4"], "the runner keeps the refused points' window pending"


def test_one_retry_sends_an_unknown_outcome_again_four_times_in_all_then_raises() -> None:
    from plex_cdf.cdf.transport import ATTEMPTS, OutcomeUnknown, resend_on_unknown

    sent: list[int] = []

    async def flaky(fail: int) -> str:
        sent.append(1)
        if len(sent) <= fail:
            raise OutcomeUnknown("CDF answered 503")
        return "ok"

    assert run(resend_on_unknown(lambda: flaky(ATTEMPTS - 1))) == "ok" and len(sent) == ATTEMPTS
    sent.clear()
    with pytest.raises(OutcomeUnknown):
        run(resend_on_unknown(lambda: flaky(ATTEMPTS)))
    assert len(sent) == ATTEMPTS == 4


def test_a_container_gone_longer_than_the_retention_is_deleted_counted_and_forgotten(
    cdf: FakeCdf, state: SqliteStateStore
) -> None:
    writer = make_writer(cdf, state)
    kept, gone = (Asset(f"PCN{PCN}_container_{n}", f"C{n}", ROOT, "inventory") for n in (1, 2))
    run(writer.write("containers", [root(), kept, gone]))
    start = datetime(2026, 3, 1, tzinfo=UTC)

    def retire(days: float) -> WriteReport:
        expiry = Expiry(start + timedelta(days=days), timedelta(days=30))
        return run(
            writer.retire_vanished(
                "containers", [root(), kept], mark_inactive=True, end_point=None, expiry=expiry
            )
        )

    first, early = retire(0), retire(29.9)
    assert (first.deleted, early.deleted) == (0, 0), "kept for the retention"
    assert cdf.stores["assets"][gone.external_id]["metadata"] == {"plexActive": "false"}
    late = retire(30)
    assert late.deleted == 1 and late.by_kind["asset_deleted"] == 1 and late.write_calls == 1
    assert gone.external_id not in cdf.stores["assets"] and kept.external_id in cdf.stores["assets"]
    assert gone.external_id not in state.get_hashes(PCN, "containers"), "the state forgets it"
    assert state.get_hashes(PCN, "containers#vanished") == {}
    assert retire(31).deleted == 0, "deleted once"
    assert run(writer.write("containers", [root(), kept, gone])).written == 1, "a return is created afresh"


def test_a_container_back_before_the_retention_starts_its_time_afresh(
    cdf: FakeCdf, state: SqliteStateStore
) -> None:
    writer = make_writer(cdf, state)
    gone = Asset(f"PCN{PCN}_container_9", "C9", ROOT, "inventory")
    run(writer.write("containers", [root(), gone]))
    start = datetime(2026, 3, 1, tzinfo=UTC)

    def retire(days: float, kept: list[Asset]) -> WriteReport:
        expiry = Expiry(start + timedelta(days=days), timedelta(days=30))
        return run(
            writer.retire_vanished("containers", kept, mark_inactive=True, end_point=None, expiry=expiry)
        )

    retire(0, [root()])
    retire(20, [root(), gone])  # back in Plex's list
    assert retire(25, [root()]).deleted == 0
    assert retire(50, [root()]).deleted == 0, "gone since day 25, not day 0"
    assert retire(55, [root()]).deleted == 1


def test_a_dry_run_counts_the_containers_a_run_would_delete_and_keeps_nothing(
    cdf: FakeCdf, state: SqliteStateStore
) -> None:
    writer = make_writer(cdf, state)
    gone = Asset(f"PCN{PCN}_container_5", "C5", ROOT, "inventory")
    run(writer.write("containers", [root(), gone]))
    start = datetime(2026, 3, 1, tzinfo=UTC)
    run(
        writer.retire_vanished(
            "containers",
            [root()],
            mark_inactive=True,
            end_point=None,
            expiry=Expiry(start, timedelta(days=30)),
        )
    )
    dry = DryRunSink(PCN, {}, state)
    later = Expiry(start + timedelta(days=31), timedelta(days=30))
    report = run(
        dry.retire_vanished("containers", [root()], mark_inactive=True, end_point=None, expiry=later)
    )
    assert report.deleted == 1 and gone.external_id in cdf.stores["assets"]
    assert gone.external_id in state.get_hashes(PCN, "containers"), "a dry run changes no state"
