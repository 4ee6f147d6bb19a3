"""The runner: what it fetches, what it writes, and what it commits, against in-memory fakes."""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from plex_cdf.cdf.hashing import state_key
from plex_cdf.domains.resource import (
    Children,
    Context,
    DataSourceWindow,
    PerParent,
    Quarantine,
    Record,
    Resource,
    Snapshot,
    TimeRange,
    Window,
)
from plex_cdf.ids import external_id
from plex_cdf.items import Asset, Datapoints, Event, Item, RawRow
from plex_cdf.plex.budget import BudgetClosed
from plex_cdf.plex.dates import parse_plex_datetime
from plex_cdf.plex.errors import PlexConfigError, PlexRequestError
from plex_cdf.ports import WriteReport
from plex_cdf.runner import Runner, dedupe, record_digest
from tests.memory import MemoryState

RunnerTimeRange = TimeRange

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
PCN = "1"


class MemorySink:
    """Writes what changed by content hash, like the real writer, and can be told to fail."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state
        self.store: dict[str, Item] = {}
        self.written: Counter[str] = Counter()
        self.inactive: list[str] = []
        self.fail_on_call: int | None = None
        self.calls = 0

    async def write(self, resource: str, items: Sequence[Item]) -> WriteReport:
        self.calls += 1
        if self.fail_on_call == self.calls:
            raise RuntimeError("CDF went away")
        known = self.state.get_hashes(PCN, resource)
        fresh = {}
        report = WriteReport()
        for item in items:
            xid = state_key(item)  # the real writer's state keys
            digest = hashlib.sha256(orjson.dumps(repr(item))).hexdigest()
            if known.get(xid) == digest:
                report.unchanged += 1
                continue
            fresh[xid] = digest
            self.store[item.key if isinstance(item, RawRow) else item.external_id] = item
            self.written[xid] += 1
            report.written += 1
        if fresh:
            report.write_calls += 1
        self.state.commit_hashes(PCN, resource, fresh)
        return report

    async def mark_inactive(self, resource: str, external_ids: Sequence[str]) -> WriteReport:
        fresh = [x for x in external_ids if x not in self.inactive]
        self.inactive.extend(fresh)
        return WriteReport(written=len(fresh))

    async def link_pending(self) -> WriteReport:
        return WriteReport()


class FakePlex:
    """Connect lists by path; windowed paths filter on `stamp` within [beginDate, endDate)."""

    def __init__(self) -> None:
        self.lists: dict[str, list[dict[str, Any]]] = {}
        self.datasource_errors: dict[int, Exception] = {}
        self.path_errors: dict[str, Exception] = {}
        self.calls: Counter[str] = Counter()
        self.params_seen: list[Mapping[str, Any]] = []

    async def get_list(self, path: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        self.calls[path] += 1
        self.params_seen.append(dict(params or {}))
        if path in self.path_errors:
            raise self.path_errors[path]
        rows = self.lists.get(path, [])
        if params and "beginDate" in params:
            begin = parse_plex_datetime(str(params["beginDate"]))
            end = parse_plex_datetime(str(params["endDate"]))
            rows = [r for r in rows if begin <= parse_plex_datetime(r["stamp"]) < end]
        return [dict(r) if isinstance(r, dict) else r for r in rows]

    async def get_object(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        rows = await self.get_list(path, params)
        return rows[0] if rows else None

    async def execute_datasource(self, source_id: int, inputs: Mapping[str, object]) -> list[dict[str, Any]]:
        self.calls[f"ds:{source_id}"] += 1
        if source_id in self.datasource_errors:
            raise self.datasource_errors[source_id]
        return []

    async def execute_datasource_window(
        self,
        source_id: int,
        inputs: Mapping[str, object],
        begin_input: str,
        end_input: str,
        window: TimeRange,
    ) -> list[dict[str, Any]]:
        return await self.execute_datasource(source_id, inputs)


def asset_of(record: Record, ctx: Context) -> Iterable[Item]:
    if "id" not in record:
        raise Quarantine("missing id")
    yield Asset(external_id(ctx.pcn, "thing", record["id"]), str(record.get("name")), None, "master")


def event_of(record: Record, ctx: Context) -> Iterable[Item]:
    yield Event(external_id(ctx.pcn, "entry", record["key"]), "production", "entry")


def make_runner(
    resources: Sequence[Resource], clock: list[datetime] | None = None
) -> tuple[Runner, FakePlex, MemorySink, MemoryState]:
    plex, state = FakePlex(), MemoryState()
    sink = MemorySink(state)
    moment = clock or [NOW]
    runner = Runner(
        pcn=PCN, source=plex, sink=sink, state=state, resources=resources, clock=lambda: moment[0]
    )
    return runner, plex, sink, state


def run(runner: Runner, names: Sequence[str], backfill: RunnerTimeRange | None = None) -> list[Any]:
    runner.new_pass()
    return asyncio.run(runner.run(names, backfill))


THINGS = Resource("things", "master_data", "/things", Snapshot(), ("id",), asset_of)
ENTRIES = Resource(
    "entries",
    "production",
    "/entries",
    Window("beginDate", "endDate", max_span=timedelta(days=1), lookback=timedelta(hours=2)),
    ("key",),
    event_of,
)


def stamp(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_snapshot_writes_everything_once_then_nothing() -> None:
    runner, plex, _sink, _ = make_runner([THINGS])
    plex.lists["/things"] = [{"id": i, "name": f"t{i}"} for i in range(5)]
    first = run(runner, ["things"])[0]
    second = run(runner, ["things"])[0]
    assert first.write.written == 5
    assert second.write.written == 0 and second.write.unchanged == 5, (
        "an unchanged snapshot must write nothing"
    )


def test_snapshot_marks_a_vanished_record_inactive_and_never_deletes() -> None:
    runner, plex, sink, _ = make_runner([THINGS])
    plex.lists["/things"] = [{"id": 1, "name": "a"}, {"id": "2:B", "name": "b"}]
    run(runner, ["things"])
    plex.lists["/things"] = [{"id": 1, "name": "a"}]
    run(runner, ["things"])
    assert sink.inactive == [external_id(PCN, "thing", "2:B")], "a colon in an id must not hide it"
    assert external_id(PCN, "thing", "2:B") in sink.store


def test_bad_records_are_quarantined_and_the_good_ones_written() -> None:
    runner, plex, _sink, _ = make_runner([THINGS])
    plex.lists["/things"] = [{"id": 1}, {"name": "no id"}, "not an object", {"id": 3}]  # type: ignore[list-item]
    report = run(runner, ["things"])[0]
    assert report.quarantined == 2
    assert report.write.written == 2 and report.status == "ok"


def test_first_window_run_reaches_back_seven_days_and_commits_the_watermark() -> None:
    runner, plex, sink, state = make_runner([ENTRIES])
    plex.lists["/entries"] = [
        {"key": "old", "stamp": stamp(NOW - timedelta(days=8))},
        {"key": "in", "stamp": stamp(NOW - timedelta(days=6))},
        {"key": "new", "stamp": stamp(NOW - timedelta(minutes=1))},
    ]
    report = run(runner, ["entries"])[0]
    assert set(sink.written) == {external_id(PCN, "entry", "in"), external_id(PCN, "entry", "new")}
    assert report.windows == 8, "seven days back, starting at the midnight before, is eight day windows"
    assert state.get_watermark(PCN, "entries") == NOW
    assert all("limit" not in p and "offset" not in p for p in plex.params_seen)


def test_next_window_run_starts_at_the_watermark_less_the_lookback() -> None:
    clock = [NOW]
    runner, plex, sink, _ = make_runner([ENTRIES], clock)
    plex.lists["/entries"] = [{"key": "a", "stamp": stamp(NOW - timedelta(hours=1))}]
    run(runner, ["entries"])
    late = {"key": "late", "stamp": stamp(NOW - timedelta(minutes=90))}  # arrived after the first run
    plex.lists["/entries"].append(late)
    clock[0] = NOW + timedelta(hours=1)
    report = run(runner, ["entries"])[0]
    assert report.windows == 1
    assert sink.written[external_id(PCN, "entry", "late")] == 1, "the lookback must catch a late row"
    assert sink.written[external_id(PCN, "entry", "a")] == 1, "a row seen before must not be written again"


def test_a_crash_mid_run_keeps_the_watermark_behind_what_was_written() -> None:
    runner, plex, sink, state = make_runner([ENTRIES])
    runner.flush_items = 1  # write every window on its own, so the crash falls between windows
    plex.lists["/entries"] = [
        {"key": str(d), "stamp": stamp(NOW - timedelta(days=d, hours=1))} for d in range(7)
    ]
    sink.fail_on_call = 4
    failed = run(runner, ["entries"])[0]
    assert failed.status == "failed"
    mark = state.get_watermark(PCN, "entries")
    assert mark is not None and mark < NOW
    sink.fail_on_call = None
    run(runner, ["entries"])
    assert set(sink.written) == {external_id(PCN, "entry", str(d)) for d in range(7)}
    assert max(sink.written.values()) == 1, "no record may be written twice"


def test_backfill_resumes_from_its_own_watermark_and_leaves_the_live_one_alone() -> None:
    runner, plex, sink, state = make_runner([ENTRIES])
    runner.flush_items = 1
    begin = NOW - timedelta(days=30)
    plex.lists["/entries"] = [
        {"key": str(d), "stamp": stamp(begin + timedelta(days=d, hours=3))} for d in range(10)
    ]
    span = RunnerTimeRange(begin, begin + timedelta(days=10))
    sink.fail_on_call = 5
    run(runner, ["entries"], span)
    sink.fail_on_call = None
    run(runner, ["entries"], span)
    assert set(sink.written) == {external_id(PCN, "entry", str(d)) for d in range(10)}
    assert max(sink.written.values()) == 1
    assert state.get_watermark(PCN, "entries") is None


def bom_of(record: Record, ctx: Context) -> Iterable[Item]:
    assert ctx.parent is not None
    yield Event(external_id(ctx.pcn, "bom", f"{ctx.parent['id']}-{record['line']}"), "master", "bom")


BOMS = Resource("boms", "master_data", "/boms", PerParent("things", "id", param="partId"), ("line",), bom_of)


def test_per_parent_calls_only_for_new_or_changed_parents() -> None:
    runner, plex, _sink, _ = make_runner([THINGS, BOMS])
    plex.lists["/things"] = [{"id": i, "name": "x"} for i in range(3)]
    plex.lists["/boms"] = [{"line": 1}]
    run(runner, ["things", "boms"])
    assert plex.calls["/boms"] == 3
    run(runner, ["things", "boms"])
    assert plex.calls["/boms"] == 3, "unchanged parents must cost no call"
    plex.lists["/things"][1]["name"] = "renamed"
    run(runner, ["things", "boms"])
    assert plex.calls["/boms"] == 4


def job_of(record: Record, ctx: Context) -> Iterable[Item]:
    links = tuple(external_id(ctx.pcn, "workcenter", op["wc"]) for op in record["operations"])
    yield Event(external_id(ctx.pcn, "job", record["number"]), "scheduling", "job", asset_external_ids=links)


JOBS = Resource(
    "jobs",
    "jobs",
    "/jobs",
    Snapshot(mark_inactive=False),
    ("number",),
    job_of,
    children=Children("/jobs/{parent}/operations", "id", "operations"),
)


def test_children_are_fetched_for_changed_records_only_and_attached() -> None:
    runner, plex, sink, _ = make_runner([JOBS])
    plex.lists["/jobs"] = [
        {"id": "a", "number": "J1", "status": "Open"},
        {"id": "b", "number": "J2", "status": "Open"},
    ]
    plex.lists["/jobs/a/operations"] = [{"wc": "w1"}, {"wc": "w2"}]
    run(runner, ["jobs"])
    event = sink.store[external_id(PCN, "job", "J1")]
    assert isinstance(event, Event) and len(event.asset_external_ids) == 2
    plex.lists["/jobs"][1]["status"] = "Completed"
    run(runner, ["jobs"])
    assert plex.calls["/jobs/a/operations"] == 1, "an unchanged job must not cost another operations call"
    assert plex.calls["/jobs/b/operations"] == 2


def oee_of(record: Record, ctx: Context) -> Iterable[Item]:
    yield Event(external_id(ctx.pcn, "oee", "x"), "production", "oee")


OEE_DS = Resource(
    "oee",
    "performance",
    "",
    DataSourceWindow("Begin", "End"),
    ("k",),
    oee_of,
    api="datasource",
    datasource_id=18765,
)
OEE_CONNECT = Resource(
    "oee_connect",
    "performance",
    "/entries",
    Snapshot(mark_inactive=False),
    ("key",),
    event_of,
    fallback_for="oee",
)


def test_an_ungranted_data_source_is_skipped_once_and_its_fallback_runs() -> None:
    runner, plex, sink, _ = make_runner([OEE_DS, OEE_CONNECT])
    plex.datasource_errors[18765] = PlexConfigError("not granted", "datasource_grant")
    plex.lists["/entries"] = [{"key": "k1", "stamp": stamp(NOW)}]
    reports = run(runner, ["oee", "oee_connect"])
    assert [r.status for r in reports] == ["not_offered", "ok"]
    assert sink.written[external_id(PCN, "entry", "k1")] == 1


def test_fallback_does_not_run_when_its_target_works() -> None:
    runner, _plex, _, _ = make_runner([OEE_DS, OEE_CONNECT])
    reports = run(runner, ["oee", "oee_connect"])
    assert [r.resource for r in reports] == ["oee"]


def test_an_optional_resource_refused_by_the_tenant_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    moves = Resource("moves", "inventory", "/moves", Snapshot(), ("id",), asset_of, optional=True)
    runner, plex, _, _ = make_runner([moves, THINGS])
    plex.path_errors["/moves"] = PlexRequestError("400 from Plex", 400, "REQUEST_VALIDATION_FAILED")
    plex.lists["/things"] = [{"id": 1}]
    for _ in range(3):
        reports = run(runner, ["moves", "things"])
        assert [r.status for r in reports] == ["not_offered", "ok"]
    warnings = [r for r in caplog.records if "moves" in r.getMessage() and r.levelname == "WARNING"]
    assert len(warnings) == 1, "the tenant's refusal must be reported once, not every pass"


def test_a_bad_key_stops_the_run() -> None:
    runner, plex, _, _ = make_runner([THINGS])
    plex.path_errors["/things"] = PlexConfigError("bad key", "bad_key")
    with pytest.raises(PlexConfigError):
        run(runner, ["things"])


def test_dedupe_keeps_the_last_item_and_merges_points() -> None:
    items: list[Item] = [
        Asset("a", "first", None, "master"),
        Asset("a", "second", None, "master"),
        Datapoints("ts", ((1, 1.0), (2, 2.0))),
        Datapoints("ts", ((2, 5.0), (3, 3.0))),
    ]
    out = dedupe(items)
    assert out[0] == Asset("a", "second", None, "master")
    assert out[1] == Datapoints("ts", ((1, 1.0), (2, 5.0), (3, 3.0)))


def test_record_digest_ignores_key_order() -> None:
    assert record_digest({"a": 1, "b": 2}) == record_digest({"b": 2, "a": 1})


def wip_of(record: Record, ctx: Context) -> Iterable[Item]:
    yield Datapoints(f"wip_{record['id']}", ((1, float(record["qty"])),), latest_only=True)


def test_a_series_that_vanishes_from_a_snapshot_takes_its_vanished_value() -> None:
    wip = Resource("wip", "inventory", "/wip", Snapshot(vanished_value=0.0), ("id",), wip_of)
    runner, plex, sink, _ = make_runner([wip])
    plex.lists["/wip"] = [{"id": "a", "qty": 3}, {"id": "b", "qty": 5}]
    run(runner, ["wip"])
    plex.lists["/wip"] = [{"id": "a", "qty": 3}]
    run(runner, ["wip"])
    last = sink.store["wip_b"]
    assert isinstance(last, Datapoints) and last.points[-1][1] == 0.0, "WIP that is gone must read zero"
    assert sink.inactive == [], "a vanished series is not an object to flag inactive"


def test_a_lookback_longer_than_the_first_reach_never_reaches_before_the_first_run() -> None:
    weekly = Resource(
        "ncr",
        "quality",
        "/entries",
        Window("beginDate", "endDate", max_span=timedelta(days=1), lookback=timedelta(days=7)),
        ("key",),
        event_of,
    )
    clock = [NOW]
    plex, state = FakePlex(), MemoryState()
    sink = MemorySink(state)
    runner = Runner(
        pcn=PCN,
        source=plex,
        sink=sink,
        state=state,
        resources=[weekly],
        clock=lambda: clock[0],
        first_reach=timedelta(days=2),
    )
    plex.lists["/entries"] = [{"key": "old", "stamp": stamp(NOW - timedelta(days=5))}]
    run(runner, ["ncr"])
    clock[0] = NOW + timedelta(hours=1)
    run(runner, ["ncr"])
    assert not sink.written, (
        "history older than the first run's reach is backfill's job, not the second run's"
    )


def test_small_windows_are_written_together_and_committed_after_the_write() -> None:
    runner, plex, sink, state = make_runner([ENTRIES])
    plex.lists["/entries"] = [
        {"key": str(d), "stamp": stamp(NOW - timedelta(days=d, hours=1))} for d in range(7)
    ]
    report = run(runner, ["entries"])[0]
    assert report.windows == 8 and sink.calls == 1, "eight small windows must cost one write, not eight"
    assert state.get_watermark(PCN, "entries") == NOW


def test_a_failed_batched_write_commits_none_of_its_windows() -> None:
    runner, plex, sink, state = make_runner([ENTRIES])
    plex.lists["/entries"] = [{"key": "a", "stamp": stamp(NOW - timedelta(days=3))}]
    sink.fail_on_call = 1
    assert run(runner, ["entries"])[0].status == "failed"
    assert state.get_watermark(PCN, "entries") is None, "no window may be committed before its write"


def test_a_record_value_put_into_a_path_is_one_escaped_segment() -> None:
    odd = Resource(
        "ops",
        "jobs",
        "/jobs",
        Snapshot(mark_inactive=False),
        ("number",),
        job_of,
        children=Children("/jobs/{parent}/operations", "id", "operations"),
    )
    runner, plex, _, _ = make_runner([odd])
    plex.lists["/jobs"] = [{"id": "../x y", "number": "J9"}]
    run(runner, ["ops"])
    assert "/jobs/..%2Fx%20y/operations" in plex.calls, f"path not escaped: {list(plex.calls)}"


def test_parents_of_a_kind_without_children_cost_no_call() -> None:
    mode = PerParent("things", "id", param="partId", skip_when={"type": ("Raw Material",)})
    boms = Resource("boms", "master_data", "/boms", mode, ("line",), bom_of)
    runner, plex, _sink, _ = make_runner([THINGS, boms])
    kinds = ["Finished Good", "Raw Material", "Sub Assembly", "Raw Material"]
    plex.lists["/things"] = [{"id": i, "name": "x", "type": kind} for i, kind in enumerate(kinds)]
    run(runner, ["things", "boms"])
    asked = sorted(p["partId"] for p in plex.params_seen if "partId" in p)
    assert asked == ["0", "2"], "a raw-material part has no BOM: asking for one wastes a call"


def test_the_weekly_refresh_is_spread_over_the_week_and_reaches_every_parent_once() -> None:
    clock = [NOW]
    runner, plex, _sink, _ = make_runner([THINGS, BOMS], clock)
    plex.lists["/things"] = [{"id": i, "name": "x"} for i in range(700)]
    run(runner, ["things", "boms"])
    plex.params_seen.clear()
    per_day = []
    for _ in range(7):
        clock[0] += timedelta(days=1)
        before = len(plex.params_seen)
        run(runner, ["things", "boms"])
        per_day.append(len(plex.params_seen) - before - 1)  # less the parents list itself
    refreshed = Counter(p["partId"] for p in plex.params_seen if "partId" in p)
    assert len(refreshed) == 700 and set(refreshed.values()) == {1}, "each part once a week"
    assert max(per_day) <= 160, f"BOM calls per day {per_day}: the weekly refresh came as one spike"


def test_polled_parents_are_polled_at_the_cadence_the_budget_share_allows() -> None:
    clock = [NOW]
    mode = PerParent("things", "id", only_changed=False, full_refresh=None, object=True)
    status = Resource("status", "production", "/status/{parent}", mode, ("id",), bom_of)
    runner, plex, _sink, _ = make_runner([THINGS, status], clock)
    runner.poll_calls_per_minute = 1.0  # five parents: every five minutes
    plex.lists["/things"] = [{"id": i, "name": "x"} for i in range(5)]
    polled = []
    for minute in (0, 2, 4, 6, 8, 12):
        clock[0] = NOW + timedelta(minutes=minute)
        before = sum(n for path, n in plex.calls.items() if path.startswith("/status/"))
        run(runner, ["things", "status"])
        if sum(n for path, n in plex.calls.items() if path.startswith("/status/")) > before:
            polled.append(minute)
    assert polled == [0, 6, 12]


def test_a_run_stopped_while_waiting_for_the_budget_is_reported_stopped_not_failed() -> None:
    runner, plex, _sink, _state = make_runner([THINGS])
    plex.path_errors["/things"] = BudgetClosed("no further Plex call: the process is stopping")
    [report] = run(runner, ["things"])
    assert report.status == "stopped", "a SIGTERM is not a failure of the resource"
