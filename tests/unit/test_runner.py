"""The runner: what it fetches, what it writes, and what it commits, against in-memory fakes."""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from plex_cdf.domains.resource import (
    Children,
    Context,
    DataSource,
    DataSourceWindow,
    Get,
    PerParent,
    Quarantine,
    Record,
    Resource,
    Snapshot,
    TimeRange,
    Window,
)
from plex_cdf.ids import external_id
from plex_cdf.items import Asset, Datapoints, Event, Item, RawRow, identity, item_id
from plex_cdf.plex.budget import BudgetClosed
from plex_cdf.plex.dates import parse_plex_datetime
from plex_cdf.plex.errors import PlexConfigError, PlexRequestError
from plex_cdf.ports import Expiry, Point, WriteReport
from plex_cdf.runner import ResourceReport, Runner, dedupe, record_digest
from tests.memory import MemoryState

RunnerTimeRange = TimeRange

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
PCN = "1"


class MemorySink:
    """Writes what changed by content hash, like the real writer, and can be told to fail. Keeps its own
    record of what it wrote (never the real writer's key grammar)."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state
        self.store: dict[str, Item] = {}
        self.written: Counter[str] = Counter()
        self.inactive: list[str] = []
        self.fail_on_call: int | None = None
        self.calls = 0
        self.refuse: set[str] = set()  # ids CDF refuses (400): counted, never committed
        self.held: dict[str, dict[str, bool]] = {}  # per resource: id -> a latest-only series?
        self.expiries: list[Expiry | None] = []  # what each retire_vanished was told about deleting

    async def write(self, resource: str, items: Sequence[Item]) -> WriteReport:
        self.calls += 1
        if self.fail_on_call == self.calls:
            raise RuntimeError("CDF went away")
        known = self.state.get_hashes(PCN, resource)
        fresh = {}
        report = WriteReport()
        for item in items:
            name = item_id(item)
            if name in self.refuse:
                report.refused += 1
                report.refused_ids.append(name)
                continue
            slot = "|".join(identity(item))
            digest = hashlib.sha256(orjson.dumps(repr(item))).hexdigest()
            if known.get(slot) == digest:
                report.unchanged += 1
                continue
            fresh[slot] = digest
            self.store[name] = item
            self.written[name] += 1
            report.written += 1
            if not isinstance(item, RawRow) and (not isinstance(item, Datapoints) or item.latest_only):
                self.held.setdefault(resource, {})[name] = isinstance(item, Datapoints)
        if fresh:
            report.write_calls += 1
        self.state.commit_hashes(PCN, resource, fresh)
        return report

    async def mark_inactive(self, resource: str, external_ids: Sequence[str]) -> WriteReport:
        fresh = [x for x in external_ids if x not in self.inactive]
        self.inactive.extend(fresh)
        return WriteReport(written=len(fresh))

    async def retire_vanished(
        self,
        resource: str,
        kept: Sequence[Item],
        *,
        mark_inactive: bool,
        end_point: Point | None,
        expiry: Expiry | None = None,
    ) -> WriteReport:
        held = self.held.get(resource, {})
        gone = sorted(set(held) - {item_id(i) for i in kept})
        report = WriteReport()
        objects = [x for x in gone if not held[x] and isinstance(self.store[x], Asset | Event)]
        self.expiries.append(expiry)
        if mark_inactive and objects:
            report.add(await self.mark_inactive(resource, objects))
        if end_point is not None:
            ends = [Datapoints(x, (end_point,), latest_only=True) for x in gone if held[x]]
            report.add(await self.write(resource, ends))
        return report

    async def delete(self, resource: str, external_ids: Sequence[str]) -> WriteReport:
        for xid in external_ids:
            self.store.pop(xid, None)
        return WriteReport(deleted=len(external_ids))

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
        self.next_answers: dict[str, list[list[dict[str, Any]]]] = {}  # answered once each, before `lists`

    async def get_list(self, path: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        self.calls[path] += 1
        self.params_seen.append(dict(params or {}))
        if path in self.path_errors:
            raise self.path_errors[path]
        queued = self.next_answers.get(path)
        rows = queued.pop(0) if queued else self.lists.get(path, [])
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


THINGS = Resource("things", "master_data", Get("/things"), Snapshot(), ("id",), asset_of)
ENTRIES = Resource(
    "entries",
    "production",
    Get("/entries"),
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


def test_a_snapshot_losing_most_records_at_once_is_read_again_and_the_bad_read_marks_nothing() -> None:
    runner, plex, sink, _ = make_runner([THINGS])
    plex.lists["/things"] = [{"id": i, "name": f"t{i}"} for i in range(10)]
    run(runner, ["things"])
    plex.next_answers["/things"] = [[]]  # e.g. a 404 taken as "no data", once
    report = run(runner, ["things"])[0]
    assert plex.calls["/things"] == 3, "the suspicious answer must be confirmed by a second read"
    assert sink.inactive == [] and report.fetched == 10 and report.status == "ok"


def test_a_confirmed_loss_marks_the_vanished_records_inactive() -> None:
    runner, plex, sink, _ = make_runner([THINGS])
    plex.lists["/things"] = [{"id": i, "name": f"t{i}"} for i in range(10)]
    run(runner, ["things"])
    plex.lists["/things"] = [{"id": 0, "name": "t0"}]
    run(runner, ["things"])
    assert plex.calls["/things"] == 3
    assert sorted(sink.inactive) == sorted(external_id(PCN, "thing", i) for i in range(1, 10))


def test_a_loss_within_the_configured_share_is_not_read_again() -> None:
    runner, plex, sink, _ = make_runner([THINGS])
    runner.snapshot_loss_threshold = 0.5
    plex.lists["/things"] = [{"id": i, "name": f"t{i}"} for i in range(10)]
    run(runner, ["things"])
    plex.lists["/things"] = plex.lists["/things"][:6]
    run(runner, ["things"])
    assert plex.calls["/things"] == 2 and len(sink.inactive) == 4


def _level_of(record: Record, ctx: Context) -> Iterable[Item]:
    yield Asset(external_id(ctx.pcn, "bin", record["id"]), str(record["id"]), None, "inventory")


def _levels(records: Sequence[Record], ctx: Context) -> Iterable[Item]:
    for r in records:
        yield Datapoints(external_id(ctx.pcn, "level", r["id"]), ((1, float(r["level"])),), latest_only=True)


LEVELS = Resource(
    "levels", "inventory", Get("/levels"), Snapshot(vanished_value=0.0), ("id",), _level_of, finish=_levels
)


def test_a_bad_snapshot_read_never_zeroes_a_figure() -> None:
    runner, plex, sink, _ = make_runner([LEVELS])
    plex.lists["/levels"] = [{"id": i, "level": 5 + i} for i in range(5)]
    run(runner, ["levels"])
    plex.next_answers["/levels"] = [[]]
    run(runner, ["levels"])
    latest = {xid: item for xid, item in sink.store.items() if isinstance(item, Datapoints)}
    assert len(latest) == 5
    assert all(item.points[-1][1] != 0.0 for item in latest.values()), "a false zero was written"
    plex.lists["/levels"] = []  # now Plex really holds none: confirmed by the second read
    run(runner, ["levels"])
    latest = {xid: item for xid, item in sink.store.items() if isinstance(item, Datapoints)}
    assert all(item.points[-1][1] == 0.0 for item in latest.values())


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


BOMS = Resource(
    "boms", "master_data", Get("/boms"), PerParent("things", "id", param="partId"), ("line",), bom_of
)


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


def checked_entry_of(record: Record, ctx: Context) -> Iterable[Item]:
    if record.get("bad"):
        raise Quarantine("bad quantity")
    yield Event(external_id(ctx.pcn, "entry", record["key"]), "production", "entry")


CHECKED = replace(ENTRIES, name="checked", source=Get("/checked"), transform=checked_entry_of)


def test_a_window_with_a_quarantined_record_stays_pending_until_plex_corrects_it() -> None:
    clock = [NOW]
    runner, plex, sink, state = make_runner([CHECKED], clock)
    bad = {"key": "b", "stamp": stamp(NOW - timedelta(days=3, hours=5)), "bad": True}
    plex.lists["/checked"] = [bad, {"key": "g", "stamp": stamp(NOW - timedelta(days=3, hours=4))}]
    first = run(runner, ["checked"])[0]
    assert first.quarantined == 1 and first.pending == 1
    assert state.get_watermark(PCN, "checked") == NOW  # the rest of the history moves on
    assert state.get_value(PCN, "checked#last_run")["pending"] == 1  # what `status` shows
    bad.pop("bad")  # Plex corrected the record
    clock[0] = NOW + timedelta(hours=1)
    second = run(runner, ["checked"])[0]
    assert sink.written[external_id(PCN, "entry", "b")] == 1, "the corrected record must land"
    assert second.pending == 0 and state.get_value(PCN, "checked#last_run")["pending"] == 0
    clock[0] = NOW + timedelta(hours=2)
    calls = plex.calls["/checked"]
    run(runner, ["checked"])
    assert plex.calls["/checked"] == calls + 1, "a window that landed is not fetched again"


def test_a_window_with_an_item_cdf_refused_is_fetched_again_until_it_lands() -> None:
    clock = [NOW]
    runner, plex, sink, state = make_runner([ENTRIES], clock)
    plex.lists["/entries"] = [{"key": "r", "stamp": stamp(NOW - timedelta(days=2))}]
    sink.refuse = {external_id(PCN, "entry", "r")}
    first = run(runner, ["entries"])[0]
    assert first.write.refused == 1 and first.pending == 1
    assert state.get_watermark(PCN, "entries") == NOW
    clock[0] = NOW + timedelta(hours=1)
    run(runner, ["entries"])
    assert external_id(PCN, "entry", "r") not in sink.written  # still refused: still pending
    assert state.get_value(PCN, "entries#last_run")["pending"] == 1
    sink.refuse = set()
    clock[0] = NOW + timedelta(hours=2)
    last = run(runner, ["entries"])[0]
    assert sink.written[external_id(PCN, "entry", "r")] == 1 and last.pending == 0
    assert state.get_watermark(PCN, "entries") == NOW + timedelta(hours=2)


def checked_bom_of(record: Record, ctx: Context) -> Iterable[Item]:
    if record.get("bad"):
        raise Quarantine("bad component")
    yield from bom_of(record, ctx)


def test_a_parent_with_a_quarantined_child_is_fetched_again_next_run() -> None:
    boms = replace(BOMS, transform=checked_bom_of)
    runner, plex, sink, _ = make_runner([THINGS, boms])
    plex.lists["/things"] = [{"id": i, "name": "x"} for i in range(3)]
    plex.lists["/boms"] = [{"line": 1, "bad": True}]
    first = run(runner, ["things", "boms"])
    assert first[1].quarantined == 3 and first[1].pending == 3
    plex.lists["/boms"] = [{"line": 1}]
    run(runner, ["things", "boms"])
    assert plex.calls["/boms"] == 6 and len(sink.written) == 3 + 3
    run(runner, ["things", "boms"])
    assert plex.calls["/boms"] == 6, "parents that landed cost no call"


def job_of(record: Record, ctx: Context) -> Iterable[Item]:
    links = tuple(external_id(ctx.pcn, "workcenter", op["wc"]) for op in record["operations"])
    yield Event(external_id(ctx.pcn, "job", record["number"]), "scheduling", "job", asset_external_ids=links)


JOBS = Resource(
    "jobs",
    "jobs",
    Get("/jobs"),
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


class NotingSink(MemorySink):
    """Notes, at each write, what `note` makes of the write and of what Plex had been asked for so far
    (after giving reads started ahead their turns, as while CDF "answers"); then `after_write` runs."""

    def __init__(self, state: MemoryState, note: Callable[[str, Sequence[Item]], Any]) -> None:
        super().__init__(state)
        self.note = note
        self.notes: list[Any] = []
        self.after_write: Callable[[], None] = lambda: None

    async def write(self, resource: str, items: Sequence[Item]) -> WriteReport:
        for _ in range(3):
            await asyncio.sleep(0)
        self.notes.append(self.note(resource, items))
        written = await super().write(resource, items)
        self.after_write()
        return written


def operations_asked(plex: FakePlex) -> Callable[[str, Sequence[Item]], int]:
    return lambda resource, items: sum(n for p, n in plex.calls.items() if p.endswith("/operations"))


def test_the_next_batch_of_children_is_fetched_while_one_is_written_and_a_stop_commits_written_ones() -> None:
    plex, state = FakePlex(), MemoryState()
    sink = NotingSink(state, operations_asked(plex))
    runner = Runner(pcn=PCN, source=plex, sink=sink, state=state, resources=[JOBS], clock=lambda: NOW)
    plex.lists["/jobs"] = [{"id": f"j{n}", "number": f"J{n}"} for n in range(30)]  # batches of 10 and 20

    asyncio.run(runner.run(["jobs"]))

    assert sink.notes == [30, 30], "the second batch's operations were fetched during the first write"
    stop = [False]
    runner.should_stop = lambda: stop[0]
    sink.after_write = lambda: stop.__setitem__(0, True)  # a stop request arrives during the first write
    plex.lists["/jobs"] = [{"id": f"j{n}", "number": f"J{n}", "v": 2} for n in range(30)]
    asyncio.run(runner.run(["jobs"]))
    assert len(sink.notes) == 3, "stopped after the first batch"
    stop[0] = False
    sink.after_write = lambda: None
    asyncio.run(runner.run(["jobs"]))
    assert plex.calls["/jobs/j0/operations"] == 2, "the written batch was committed: not fetched again"
    # fetched in the first run, ahead (unused) in the stopped one, and for the write of the third
    assert plex.calls["/jobs/j29/operations"] == 3, "the batch fetched ahead was not committed"


def test_a_per_parent_row_fetches_the_next_batch_while_one_is_written_and_a_stop_commits_written_ones() -> (
    None
):
    plex, state = FakePlex(), MemoryState()
    stop, stop_in_bom_write = [False], [False]

    def note(resource: str, items: Sequence[Item]) -> int | None:
        if resource != "boms":
            return None
        stop[0] = stop[0] or stop_in_bom_write[0]  # a stop request arrives during the first BOM write
        return plex.calls["/boms"]

    sink = NotingSink(state, note)
    runner = Runner(pcn=PCN, source=plex, sink=sink, state=state, resources=[THINGS, BOMS], clock=lambda: NOW)
    runner.should_stop = lambda: stop[0]
    plex.lists["/things"] = [{"id": i, "name": "x"} for i in range(30)]  # BOM batches of 10 and 20
    plex.lists["/boms"] = [{"line": 1}]
    asked: Counter[object] = Counter()
    answer = plex.get_list

    async def get_list(path: str, params: Any = None) -> list[dict[str, Any]]:
        if path == "/boms":
            asked[(params or {}).get("partId")] += 1
        return await answer(path, params)

    plex.get_list = get_list  # type: ignore[method-assign]

    run(runner, ["things", "boms"])

    assert [n for n in sink.notes if n is not None] == [30, 30], (
        "the second batch's BOMs were asked for during the first write"
    )
    assert state.get_value(PCN, "boms#full_refresh_at") is not None, (
        "a pass that wrote every batch is complete"
    )
    plex.lists["/things"] = [{"id": i, "name": "y"} for i in range(30)]  # every part changed
    state.set_value(PCN, "boms#full_refresh_at", None)
    stop_in_bom_write[0] = True
    run(runner, ["things", "boms"])
    assert state.get_value(PCN, "boms#full_refresh_at") is None, "a stopped pass is not complete"
    stop[0] = stop_in_bom_write[0] = False
    run(runner, ["things", "boms"])
    assert asked["0"] == 2, "the written batch was committed: its parts' BOMs not asked for again"
    # asked in the first run, ahead (unused) in the stopped one, and for the write of the third
    assert asked["29"] == 3, "the batch fetched ahead was not committed"
    assert len(sink.store) == 30 + 30, "every part and every BOM line landed"


WINDOWED_JOBS = replace(
    JOBS,
    name="windowed_jobs",
    source=Get("/wjobs"),
    mode=Window("beginDate", "endDate", max_span=timedelta(days=1), first_reach=timedelta(days=2)),
)


def windowed_jobs_world() -> tuple[Runner, FakePlex, NotingSink]:
    """A sink noting each write's jobs and how many windows' job lists Plex had been asked for."""
    plex, state = FakePlex(), MemoryState()
    sink = NotingSink(
        state,
        lambda resource, items: (
            sum(1 for i in items if isinstance(i, Event) and i.type == "job"),
            plex.calls["/wjobs"],
        ),
    )
    runner = Runner(
        pcn=PCN, source=plex, sink=sink, state=state, resources=[WINDOWED_JOBS], clock=lambda: NOW
    )
    # three windows (two days back, then today's part): 10 jobs, 30 jobs, none
    day = [NOW - timedelta(days=2), NOW - timedelta(days=1)]
    plex.lists["/wjobs"] = [
        {"id": f"a{n}", "number": f"A{n}", "stamp": stamp(day[0] + timedelta(minutes=n))} for n in range(10)
    ] + [{"id": f"b{n}", "number": f"B{n}", "stamp": stamp(day[1] + timedelta(minutes=n))} for n in range(30)]
    return runner, plex, sink


def test_the_next_windows_list_is_read_while_one_windows_children_are_written_and_the_ramp_carries_on() -> (
    None
):
    runner, plex, sink = windowed_jobs_world()
    runner.new_pass()
    reports = asyncio.run(runner.run(["windowed_jobs"]))
    assert reports[0].status == "ok" and len(sink.store) == 40, reports[0].message
    # The first write (window 1's ten jobs) happened after window 2's list had been asked for.
    assert sink.notes[0] == (10, 2), sink.notes
    # Window 2 continues the ramp (20, then what is left), not back at 10; window 3 has no jobs.
    assert [size for size, _ in sink.notes] == [10, 20, 10], sink.notes
    assert plex.calls["/wjobs"] == 3, "each window's list is read once"


def test_a_stop_lets_the_list_read_ahead_go_and_commits_only_the_written_window() -> None:
    runner, plex, sink = windowed_jobs_world()
    stop = [False]
    runner.should_stop = lambda: stop[0]
    sink.after_write = lambda: stop.__setitem__(0, True)  # a stop request arrives during the first write
    runner.new_pass()
    asyncio.run(runner.run(["windowed_jobs"]))
    assert len(sink.store) == 10
    assert not any(name == WINDOWED_JOBS.name for name, _ in runner._cache), "the read-ahead was let go"
    stop[0] = False
    sink.after_write = lambda: None
    runner.new_pass()
    asyncio.run(runner.run(["windowed_jobs"]))
    assert len(sink.store) == 40
    assert plex.calls["/jobs/a0/operations"] == 1, "the written window was committed: not fetched again"


OTHERS = replace(THINGS, name="others", source=Get("/others"))
FALLBACK = replace(THINGS, name="fallback", source=Get("/fallback"), fallback_for="others")


def test_the_next_rows_list_is_read_while_one_row_is_written_a_fallback_never_and_a_stop_lets_it_go() -> None:
    plex, state = FakePlex(), MemoryState()
    sink = NotingSink(state, lambda resource, items: (resource, plex.calls["/others"]))
    rows = [THINGS, OTHERS, FALLBACK]
    runner = Runner(pcn=PCN, source=plex, sink=sink, state=state, resources=rows, clock=lambda: NOW)
    plex.lists["/things"] = [{"id": "t1", "name": "one"}]
    plex.lists["/others"] = [{"id": "o1", "name": "other"}]

    runner.new_pass()
    reports = asyncio.run(runner.run(["things", "others", "fallback"], read_ahead=True))

    assert [r.resource for r in reports] == ["things", "others"]
    assert sink.notes == [("things", 1), ("others", 1)], "the others' list was read ahead"
    assert plex.calls == Counter({"/things": 1, "/others": 1}), "each list read once, the fallback never"
    assert not runner._cache, "a list no other row reads is let go once its row is done"

    stop = [False]
    runner.should_stop = lambda: stop[0]
    sink.after_write = lambda: stop.__setitem__(0, True)  # a stop request arrives during the first write
    plex.lists["/things"] = [{"id": "t1", "name": "renamed"}]
    runner.new_pass()
    reports = asyncio.run(runner.run(["things", "others"], read_ahead=True))
    assert [r.resource for r in reports] == ["things"]
    assert plex.calls["/others"] == 2, "read ahead before the stop"
    assert not runner._cache, "the list read ahead for a row the run did not reach is let go"

    stop[0] = False
    sink.after_write = lambda: None
    sink.notes.clear()
    plex.lists["/things"] = [{"id": "t1", "name": "again"}]
    run(runner, ["things", "others"])  # without read_ahead: one list at a time
    assert sink.notes[0] == ("things", 2) and plex.calls["/others"] == 3, "read after, not ahead"


def oee_of(record: Record, ctx: Context) -> Iterable[Item]:
    yield Event(external_id(ctx.pcn, "oee", "x"), "production", "oee")


OEE_DS = Resource(
    "oee",
    "performance",
    DataSource(18765),
    DataSourceWindow("Begin", "End"),
    ("k",),
    oee_of,
)
OEE_CONNECT = Resource(
    "oee_connect",
    "performance",
    Get("/entries"),
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
    moves = Resource("moves", "inventory", Get("/moves"), Snapshot(), ("id",), asset_of, optional=True)
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
    wip = Resource("wip", "inventory", Get("/wip"), Snapshot(vanished_value=0.0), ("id",), wip_of)
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
        Get("/entries"),
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
        Get("/jobs"),
        Snapshot(mark_inactive=False),
        ("number",),
        job_of,
        children=Children("/jobs/{parent}/operations", "id", "operations"),
    )
    runner, plex, _, _ = make_runner([odd])
    plex.lists["/jobs"] = [{"id": "../x y", "number": "J9"}]
    run(runner, ["ops"])
    assert "/jobs/..%2Fx%20y/operations" in plex.calls, f"path not escaped: {list(plex.calls)}"


def master_lists(lists: dict[str, Any]) -> list[Resource]:
    """The workcenter and part lists production rows read their links' codes from: workcenter `wc-1`
    (code W1), no parts; their records go into `lists` by path."""
    from plex_cdf.domains.master_data import RESOURCES as MASTER_ROWS

    rows = [r for r in MASTER_ROWS if r.name in ("workcenters", "parts")]
    lists.update({rows[0].path: [{"workcenterId": "wc-1", "workcenterCode": "W1"}], rows[1].path: []})
    return rows


def test_a_row_plex_repeats_counts_once_in_the_per_workcenter_quantity_series() -> None:
    from plex_cdf.domains.production import RESOURCES as PRODUCTION_ROWS
    from plex_cdf.domains.production import good_quantity_external_id

    production = next(r for r in PRODUCTION_ROWS if r.name == "production_entries")
    runner, plex, sink, _ = make_runner([production, *master_lists(plex_lists := {})])
    plex.lists.update(plex_lists)
    at = NOW - timedelta(hours=3)
    entry = {
        "workcenterId": "wc-1",
        "workcenterCode": "W1",
        "transactionDate": stamp(at),
        "serialNo": "S1",
        "partOperationId": "po-1",
        "quantity": 35,
        "unit": "ea",  # pieces: the workcenter's series (other units go per part)
        "stamp": stamp(at),  # what the fake Plex filters windows on
    }
    plex.lists[production.path] = [entry, dict(entry)]  # Plex repeats the row
    report = run(runner, [production.name])[0]
    assert report.status == "ok" and report.quarantined == 0
    events = [i for i in sink.store.values() if isinstance(i, Event)]
    assert len(events) == 1
    series = sink.store[good_quantity_external_id(PCN, "wc-1")]
    assert isinstance(series, Datapoints) and dict(series.points) == {int(at.timestamp() * 1000): 35.0}


def test_a_failed_runs_message_is_masked_before_the_state_keeps_it() -> None:
    from plex_cdf.config.masking import SecretMasker

    runner, plex, _sink, state = make_runner([THINGS])
    runner.mask = SecretMasker(["Cl1ent-S3cret"])
    plex.path_errors["/things"] = RuntimeError("token endpoint said: client_secret=Cl1ent-S3cret is wrong")
    report = run(runner, ["things"])[0]
    assert report.status == "failed"
    kept = state.get_value(PCN, "things#last_run")["message"]
    assert "Cl1ent-S3cret" not in kept and "client_secret=***" in kept


def test_the_service_masks_every_configured_secret_in_what_its_runners_keep(tmp_path: Path) -> None:
    from plex_cdf.app import Service
    from plex_cdf.config import load_config
    from tests.unit.test_config import MINIMAL, SECRETS, write

    service = Service(load_config(write(tmp_path, MINIMAL)), dry_run=True)
    service.state = MemoryState()

    async def open_tenant() -> list[str]:
        tenant = await service._open_tenant(service.config.plex.tenants[0])
        await tenant.plex.aclose()
        return [runner.mask(f"{s} echoed") for runner in tenant.runners.values() for s in SECRETS.values()]

    assert set(asyncio.run(open_tenant())) == {"*** echoed"}


def test_only_master_datas_first_pass_reads_its_lists_ahead(tmp_path: Path) -> None:
    from plex_cdf.app import Service
    from plex_cdf.config import load_config
    from tests.unit.test_config import MINIMAL, write

    service = Service(load_config(write(tmp_path, MINIMAL)), dry_run=True)
    service.state = MemoryState()
    asked: list[list[tuple[str, bool]]] = []  # per pass: (domain, read_ahead) of each run with rows

    async def passes() -> None:
        tenant = await service._open_tenant(service.config.plex.tenants[0])
        service.tenants.append(tenant)
        for domain, runner in tenant.runners.items():

            async def recorded(
                names: Iterable[str], backfill: Any = None, *, read_ahead: bool = False, domain: str = domain
            ) -> list[ResourceReport]:
                if list(names):
                    asked[-1].append((domain, read_ahead))
                return []

            runner.run = recorded  # type: ignore[method-assign]
        tasks = {task.name.split("/")[1]: task for task in service.tasks()}
        for _ in range(2):
            asked.append([])
            for task in tasks.values():
                await task.run_pass()
        await tenant.plex.aclose()

    asyncio.run(passes())
    first, second = asked
    assert ("master_data", True) in first, "the first pass's lists, which the others wait for"
    assert [flag for _, flag in first].count(True) == 1, first
    assert not any(flag for _, flag in second), second


@pytest.mark.parametrize(
    "ms",
    [
        # No CDF timestamp holds a year past 9999 (the data-modeling target would fail formatting it).
        pytest.param(253_402_318_800_000, id="after-the-year-9999"),  # 10000-01-01
        pytest.param(-157_766_400_000, id="before-1970"),  # 1965: not written with a negative time
    ],
)
def test_an_event_dated_outside_what_cdf_holds_is_quarantined_and_the_others_written(ms: int) -> None:
    runner, plex, sink, _ = make_runner([CHECKED])
    runner.resources["checked"] = replace(
        CHECKED,
        transform=lambda r, ctx: [
            Event(external_id(ctx.pcn, "entry", r["key"]), "production", "entry", start_time=r["ms"])
        ],
    )
    plex.lists["/checked"] = [
        {"key": "typo", "ms": ms, "stamp": stamp(NOW - timedelta(hours=5))},
        {"key": "fine", "ms": 1_700_000_000_000, "stamp": stamp(NOW - timedelta(hours=4))},
    ]
    report = run(runner, ["checked"])[0]
    assert report.quarantined == 1 and report.status == "ok"
    assert set(sink.written) == {external_id(PCN, "entry", "fine")}


def test_a_production_entry_dated_1965_is_quarantined() -> None:
    from plex_cdf.domains.production import RESOURCES as PRODUCTION_ROWS

    production = next(r for r in PRODUCTION_ROWS if r.name == "production_entries")
    runner, plex, sink, _ = make_runner([production, *master_lists(plex_lists := {})])
    plex.lists.update(plex_lists)
    plex.lists[production.path] = [
        {
            "workcenterId": "wc-1",
            "transactionDate": "1965-06-01T08:00:00Z",
            "serialNo": "S1",
            "partOperationId": "po-1",
            "quantity": 1,
            "stamp": stamp(NOW - timedelta(hours=3)),
        }
    ]
    report = run(runner, [production.name])[0]
    assert report.quarantined == 1
    assert not [i for i in sink.store.values() if isinstance(i, Event)]


PER_PART = Resource(
    "part_boms", "master_data", Get("/boms/{parent}"), PerParent("things", "id"), ("line",), bom_of
)


def test_one_malformed_part_id_quarantines_that_part_and_the_other_boms_land() -> None:
    runner, plex, sink, _ = make_runner([THINGS, PER_PART])
    plex.lists["/things"] = [
        {"id": "p1", "name": "x"},
        {"id": "bad id", "name": "y"},
        {"id": "p3", "name": "z"},
    ]
    plex.lists["/boms/p1"] = plex.lists["/boms/p3"] = [{"line": 1}]
    plex.path_errors["/boms/bad%20id"] = PlexRequestError(
        "'bad id' is not a valid UUID", 400, "ARGUMENT_INVALID"
    )
    report = run(runner, ["things", "part_boms"])[1]
    assert report.status == "ok" and report.quarantined == 1 and report.pending == 1
    assert {x for x in sink.written if "bom" in x} == {
        external_id(PCN, "bom", "p1-1"),
        external_id(PCN, "bom", "p3-1"),
    }
    run(runner, ["things", "part_boms"])
    assert plex.calls["/boms/bad%20id"] == 2 and plex.calls["/boms/p1"] == 1, (
        "only the refused part is asked again"
    )


def test_every_part_refused_is_a_wrong_call_and_fails_the_resource() -> None:
    runner, plex, _sink, _ = make_runner([THINGS, PER_PART])
    plex.lists["/things"] = [{"id": "p1", "name": "x"}, {"id": "p2", "name": "y"}]
    for part in ("p1", "p2"):
        plex.path_errors[f"/boms/{part}"] = PlexRequestError("unknown parameter", 400, "ARGUMENT_INVALID")
    assert run(runner, ["things", "part_boms"])[1].status == "failed"


def test_a_transform_raising_keyerror_fails_its_resource_loudly_with_the_key_and_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def buggy(record: Record, ctx: Context) -> Iterable[Item]:
        if record["id"] == 2:
            return [record["no such field"]]  # a bug: KeyError
        return asset_of(record, ctx)

    runner, plex, _sink, _ = make_runner([replace(THINGS, transform=buggy)])
    plex.lists["/things"] = [{"id": 1, "name": "a"}, {"id": 2, "name": "password=hunter2"}]
    report = run(runner, ["things"])[0]
    assert report.status == "failed" and report.quarantined == 0
    assert "record '2'" in report.message and "KeyError" in report.message
    assert "hunter2" not in report.message, "the record's content is never in the message"
    logged = [r for r in caplog.records if r.levelname == "ERROR" and "things" in r.getMessage()]
    assert logged and logged[0].exc_info is not None, "the traceback goes to the log"


def test_a_quarantine_still_quarantines_and_the_run_stays_ok() -> None:
    runner, plex, _sink, _ = make_runner([THINGS])
    plex.lists["/things"] = [{"id": 1}, {"name": "no id"}]
    report = run(runner, ["things"])[0]
    assert report.status == "ok" and report.quarantined == 1 and report.write.written == 1


def test_parents_of_a_kind_without_children_cost_no_call() -> None:
    mode = PerParent("things", "id", param="partId", skip_when={"type": ("Raw Material",)})
    boms = Resource("boms", "master_data", Get("/boms"), mode, ("line",), bom_of)
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


def polled_status_runner(clock: list[datetime]) -> tuple[Runner, FakePlex]:
    """A status row polled per parent (as the control status per workcenter) over five parents, at a
    budget share that polls them every five minutes."""
    mode = PerParent("things", "id", only_changed=False, full_refresh=None, object=True)
    status = Resource("status", "production", Get("/status/{parent}"), mode, ("id",), bom_of)
    runner, plex, _sink, _ = make_runner([THINGS, status], clock)
    runner.poll_calls_per_minute = 1.0  # five parents: every five minutes
    plex.lists["/things"] = [{"id": i, "name": "x"} for i in range(5)]
    return runner, plex


def test_polled_parents_are_polled_at_the_cadence_the_budget_share_allows() -> None:
    clock = [NOW]
    runner, plex = polled_status_runner(clock)
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


def member_of(record: Record, ctx: Context) -> Iterable[Item]:
    """A thing placed under the group that lists it (the kept children of `group_members`)."""
    groups = {m["memberId"]: m["groupId"] for m in ctx.lookups.get("group_members", ())}
    parent = groups.get(str(record["id"]))
    yield Asset(external_id(ctx.pcn, "thing", str(record["id"])), str(record["name"]), parent, "master")


GROUPED = Resource(
    "things", "master_data", Get("/things"), Snapshot(), ("id",), member_of, lookup=("group_members",)
)
GROUPS = Resource("groups", "master_data", Get("/groups"), Snapshot(), ("id",), asset_of)
MEMBERS = Resource(
    "group_members",
    "master_data",
    Get("/groups/{parent}/members"),
    PerParent("groups", "id", keep_as="groupId"),
    ("groupId", "memberId"),
    lambda record, ctx: (),
)


def test_kept_children_place_a_list_in_the_same_pass_and_cost_no_call_when_looked_up() -> None:
    runner, plex, sink, _ = make_runner([GROUPS, GROUPED, MEMBERS])
    plex.lists["/groups"] = [{"id": "g1", "name": "line 1"}, {"id": "g2", "name": "line 2"}]
    plex.lists["/things"] = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    plex.lists["/groups/g1/members"] = [{"memberId": "1"}]
    run(runner, ["groups", "things", "group_members"])
    assert sink.store[external_id(PCN, "thing", "1")].parent_external_id is None, "nothing learnt yet"
    again = runner.rows_to_place_again(["groups", "things"])
    assert again == ["things"], "the list that looks up what changed is placed again"
    asyncio.run(runner.run(again))
    assert sink.store[external_id(PCN, "thing", "1")].parent_external_id == "g1"
    assert sink.store[external_id(PCN, "thing", "2")].parent_external_id is None
    member_calls = plex.calls["/groups/g1/members"]
    run(runner, ["groups", "things", "group_members"])
    assert plex.calls["/groups/g1/members"] == member_calls, "unchanged groups: no call; lookup: no call"
    assert runner.rows_to_place_again(["groups", "things"]) == [], "nothing new learnt, nothing placed again"
    assert sink.written[external_id(PCN, "thing", "1")] == 2, "placed once wrong (unknown), once right"


def test_kept_children_of_a_parent_that_left_the_list_are_forgotten() -> None:
    runner, plex, sink, _ = make_runner([GROUPS, GROUPED, MEMBERS])
    plex.lists["/groups"] = [{"id": "g1", "name": "line 1"}]
    plex.lists["/things"] = [{"id": 1, "name": "a"}]
    plex.lists["/groups/g1/members"] = [{"memberId": "1"}]
    run(runner, ["groups", "group_members"])
    runner.rows_to_place_again([])
    run(runner, ["things"])
    assert sink.store[external_id(PCN, "thing", "1")].parent_external_id == "g1"
    plex.lists["/groups"] = []
    run(runner, ["groups", "group_members"])
    assert runner.rows_to_place_again(["things"]) == ["things"]
    run(runner, ["things"])
    assert sink.store[external_id(PCN, "thing", "1")].parent_external_id is None, "the group is gone"


def test_only_a_snapshot_that_expires_its_vanished_assets_tells_the_sink_when_and_after_how_long() -> None:
    expiring = Resource(
        "containers", "inventory", Get("/containers"), Snapshot(expire_vanished=True), ("id",), asset_of
    )
    plex, state = FakePlex(), MemoryState()
    sink = MemorySink(state)
    runner = Runner(
        pcn=PCN,
        source=plex,
        sink=sink,
        state=state,
        resources=[THINGS, expiring],
        clock=lambda: NOW,
        vanished_retention=timedelta(hours=5),
    )
    run(runner, ["things", "containers"])
    assert sink.expiries == [None, Expiry(NOW, timedelta(hours=5))]


def test_a_list_placed_again_in_one_pass_counts_its_records_once_and_its_writes_twice() -> None:
    from plex_cdf.app import _fold_into

    first = ResourceReport("workcenters", "master_data", fetched=40)
    first.write.written = 40
    again = ResourceReport("workcenters", "master_data", fetched=40)
    again.write.written = 30
    reports = [first]
    _fold_into(reports, again)
    assert len(reports) == 1 and reports[0].fetched == 40 and reports[0].write.written == 70
    failed = ResourceReport("workcenters", "master_data", status="failed", message="CDF went away")
    _fold_into(reports, failed)
    assert reports[0].status == "failed", "a failure when placed again is not hidden"


def test_a_polled_row_not_yet_due_reads_not_even_its_parent_list() -> None:
    """Control status per workcenter: a pass before the poll is due makes no call for it at all (the
    workcenters list is master data's, read at its own cadence)."""
    clock = [NOW]
    runner, plex = polled_status_runner(clock)
    lists_read = []
    for minute in (0, 2, 4, 6):
        clock[0] = NOW + timedelta(minutes=minute)
        before = plex.calls["/things"]
        run(runner, ["status"])
        lists_read.append(plex.calls["/things"] - before)
    assert lists_read == [1, 0, 0, 1], "the parent list is read only when the poll is due"
    assert sum(n for path, n in plex.calls.items() if path.startswith("/status/")) == 10


def test_a_service_that_fails_to_open_closes_the_plex_connections_it_had_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`async with` calls no __aexit__ when __aenter__ raises: a tenant whose setup fails after its Plex
    client was opened (e.g. a configured resource's mistake) must not leave that client's connections open."""
    from plex_cdf import app
    from plex_cdf.config import load_config
    from tests.unit.test_config import MINIMAL, write

    closed: list[str] = []

    class Recording(app.PlexClient):
        async def __aexit__(self, *exc: object) -> None:
            closed.append("plex")
            await super().__aexit__(*exc)

    def refuse(pcn: str) -> str:
        raise RuntimeError(f"tenant {pcn}: a mistake found after its Plex client was opened")

    monkeypatch.setattr(app, "PlexClient", Recording)
    monkeypatch.setattr(app, "open_state", lambda config, client: MemoryState())
    monkeypatch.setattr(app, "raw_database", refuse)
    service = app.Service(load_config(write(tmp_path, MINIMAL)), dry_run=True, client=object())  # type: ignore[arg-type]

    async def data_sets() -> dict[str, int]:
        return {}

    monkeypatch.setattr(service, "_data_sets", data_sets)

    async def enter() -> None:
        async with service:
            pass

    with pytest.raises(RuntimeError, match="after its Plex client was opened"):
        asyncio.run(enter())
    assert closed == ["plex"]
