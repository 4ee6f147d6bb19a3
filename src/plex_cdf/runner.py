"""One tenant's resource runs: windows -> fetch -> transform -> write -> commit.

Nothing moves backwards: a window's watermark (or a parent's or record's digest) is committed only after
the sink has acknowledged every item made from it. A crash anywhere means the next run fetches it again and
writes the same deterministic external ids again.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import orjson

from plex_cdf.domains.resource import (
    Children,
    Context,
    Domain,
    Get,
    NotListedYet,
    PerParent,
    Quarantine,
    Record,
    Resource,
    Snapshot,
    TimeRange,
    Window,
)
from plex_cdf.ids import hashed_key, joined_key
from plex_cdf.items import (
    Asset,
    Datapoints,
    Event,
    Item,
    RawRow,
    Relationship,
    TimeSeries,
    identity,
    item_id,
)
from plex_cdf.plant import UTC_PLANT, PlantTime
from plex_cdf.plex.budget import BudgetClosed, fan_out_lane
from plex_cdf.plex.dates import to_epoch_ms
from plex_cdf.plex.errors import PlexConfigError, PlexNotOffered, PlexRequestError
from plex_cdf.ports import Expiry, Params, PlexSource, Sink, StateStore, WriteReport
from plex_cdf.windows import plan, refresh_due, window_start

log = logging.getLogger("plex_cdf.runner")
T = TypeVar("T")

Status = Literal["ok", "not_offered", "failed", "stopped"]
ErrorKind = Literal["not_offered", "fatal", "failed"]
# One fetch per (resource, window), shared by whoever needs the records while it is in the cache.
FetchCache = dict[tuple[str, TimeRange | None], "asyncio.Future[list[dict[str, Any]]]"]
# Rows sharing a FetchCache that still have to read each list (its own row, lookups, per-parent rows):
# once none is left, the list is let go, however long the run goes on.
Readers = Counter[str]
# Items of consecutive windows are written together once there are this many: full 1,000-item CDF calls
# instead of one part-filled call per kind and window. Their watermark moves only after that write.
FLUSH_ITEMS = 8000
# A snapshot's records are transformed this many at a time, and written once FLUSH_ITEMS items are made.
TRANSFORM_SLICE = 1000
# How many parents (or records needing children) are fetched, written and committed together.
PARENT_BATCH = 100
FIRST_BATCH = 10
# Windows of a tenant between fetch and transform at once (their bodies and records are the bulk of a
# large plant's memory); the domains still fetch, write and wait on Plex concurrently.
WINDOWS_IN_HAND = 2
QUARANTINE_LOG_LIMIT = 5
# A snapshot losing more than this share of its records at once is read a second time before it is used.
SNAPSHOT_LOSS_THRESHOLD = 0.2
# How long an asset of a `Snapshot(expire_vanished=True)` row stays (inactive) after it left Plex's list.
VANISHED_RETENTION = timedelta(days=30)


@dataclass
class ResourceReport:
    """What one resource run did; the summary table and the metrics read it."""

    resource: str
    domain: str
    fetched: int = 0
    quarantined: int = 0
    pending: int = 0  # windows, parents or records left to fetch again (a quarantine or a refusal)
    windows: int = 0
    seconds: float = 0.0
    status: Status = "ok"
    message: str = ""
    write: WriteReport = field(default_factory=WriteReport)


def record_digest(record: Record) -> str:
    """A stable digest of a record exactly as Plex sent it (key order does not matter)."""
    return hashlib.sha256(orjson.dumps(record, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()[:32]


def dedupe(items: Iterable[Item]) -> list[Item]:
    """One item per (kind, external id), the last one winning; points of the same series are merged.

    Plex lists may repeat a row, and CDF rejects a request that names one external id twice.
    """
    merged: dict[tuple[str, str, str], Item] = {}
    for item in items:
        slot = identity(item)  # a series' points per segment (window)
        previous = merged.get(slot)
        if isinstance(item, Datapoints) and isinstance(previous, Datapoints):
            points = dict(previous.points)
            points.update(item.points)
            item = replace(item, points=tuple(sorted(points.items())))
        merged[slot] = item
    return list(merged.values())


def unique_records(records: Sequence[Record], key: Sequence[str]) -> list[Record]:
    """One record per key (the key its event is written under), the last one winning: a row Plex repeats
    must not count twice in an aggregate."""
    if not key:
        return list(records)
    by_key: dict[object, Record] = {}
    for position, record in enumerate(records):
        by_key[joined_key(record, key) if isinstance(record, Mapping) else position] = record
    return list(by_key.values())


def projection(records: Sequence[Record], key: Sequence[str], fields: Sequence[str]) -> list[Record]:
    """One record per key (as `unique_records`), each cut down to `fields` (a field a record lacks stays
    absent): what rows looking a list up keep of it instead of the records Plex sent."""
    return [
        {name: record[name] for name in fields if name in record}
        for record in unique_records(records, key)
        if isinstance(record, Mapping)
    ]


@dataclass(frozen=True)
class Kept:
    """A looked-up list as the rows reading it keep it (`projection`), and when it was read."""

    records: list[Record]
    read_at: datetime
    serial: int  # the store's count of reads when this one was kept: which pass it belongs to


class KeptLookups:
    """The projections of looked-up lists, shared by a tenant's runners: a list read by any of them (as its
    own row, a parent list or a lookup) leaves its projection here, and the rows looking it up read that
    until the list's own row's cadence has passed, with no call of their own."""

    def __init__(self) -> None:
        self._kept: dict[str, Kept] = {}
        self.serial = 0

    def get(self, name: str) -> Kept | None:
        return self._kept.get(name)

    def keep(self, name: str, records: list[Record], at: datetime) -> Kept:
        self.serial += 1
        kept = self._kept[name] = Kept(records, at, self.serial)
        return kept

    def forget(self, name: str) -> None:
        self._kept.pop(name, None)


# Access a tenant may simply not have: that resource (or domain) is skipped with one warning.
MISSING_ACCESS = frozenset(
    {"product", "forbidden", "datasource_grant", "datasource_access", "ds_credentials"}
)


def classify_error(exc: BaseException, resource: Resource) -> ErrorKind:
    """What a failed resource run means for the others.

    A bad key or an ungranted tenant stops everything (nothing can work); missing access to one product or
    data source, or a tenant refusing an optional call, skips that resource with one warning; anything else
    fails the resource, and the scheduler backs it off while the others carry on.
    """
    if isinstance(exc, PlexConfigError):
        return "not_offered" if exc.problem in MISSING_ACCESS else "fatal"
    if isinstance(exc, PlexNotOffered):
        return "not_offered"
    if isinstance(exc, PlexRequestError) and resource.optional:
        return "not_offered"
    return "failed"


class Runner:
    """Runs resource rows for one tenant (PCN) against a Plex source, a CDF sink and a state store."""

    def __init__(
        self,
        *,
        pcn: str,
        source: PlexSource,
        sink: Sink,
        state: StateStore,
        resources: Sequence[Resource],
        clock: Callable[[], datetime],
        first_reach: timedelta = timedelta(days=7),
        raw_copy: bool = False,
        poll_calls_per_minute: float | None = None,
        classify: Callable[[BaseException, Resource], ErrorKind] = classify_error,
        cache: FetchCache | None = None,
        plant: PlantTime = UTC_PLANT,
        snapshot_loss_threshold: float = SNAPSHOT_LOSS_THRESHOLD,
        mask: Callable[[str], str] = str,
        window_gate: asyncio.Semaphore | None = None,
        vanished_retention: timedelta = VANISHED_RETENTION,
        readers: Readers | None = None,
        kept: KeptLookups | None = None,
        intervals: Mapping[Domain, timedelta] | None = None,
    ) -> None:
        self.pcn = pcn
        self.source = source
        self._plex = CountedSource(source)  # every Plex call of this runner counted once
        self.sink = sink
        self.state = state
        self.resources = {r.name: r for r in resources}
        # Lists other rows read whole (lookups, parents of per-parent rows): kept for the run when shared; any
        # other list is let go once its own row is done, so a run does not hold every list at once.
        # A row that may be placed again in the pass (it looks up a `keep_as` row) reads its list twice.
        keepers = kept_rows(resources)
        self._referenced = (
            {name for r in resources for name in set(r.lookup) - projected_lists(r)}
            | {r.mode.parent for r in resources if isinstance(r.mode, PerParent)}
            | {r.name for r in resources if keepers & set(r.lookup)}
        )
        self.clock = clock
        self.first_reach = first_reach
        self.raw_copy = raw_copy
        # The budget share polled per-record rows may use (None: poll every pass).
        self.poll_calls_per_minute = poll_calls_per_minute
        # Shared by a tenant's runners: how many windows may be between fetch and transform at once.
        self.window_gate = window_gate or asyncio.Semaphore(WINDOWS_IN_HAND)
        self.classify = classify
        self.plant = plant
        self.snapshot_loss_threshold = snapshot_loss_threshold
        self.vanished_retention = vanished_retention
        self.mask = mask  # every message is masked before the state keeps it (SQLite file or CDF RAW)
        self.not_offered: set[str] = set()
        # Checked between windows and batches: a stop request ends the run at the next safe point.
        self.should_stop: Callable[[], bool] = lambda: False
        # Called after each committed window (backfill progress bars).
        self.on_window: Callable[[Resource, TimeRange], None] = lambda resource, window: None
        self.flush_items = FLUSH_ITEMS
        self._warned: set[str] = set()
        # Given a cache, runners share one fetch per list for the whole run (e.g. the parts list that master
        # data writes and quality looks up); without one, every pass fetches afresh.
        self._shared = cache is not None
        self._cache: FetchCache = {} if cache is None else cache
        # Rows with `PerParent.keep_as` whose kept children changed since `rows_to_place_again` last asked.
        self._children_changed: set[str] = set()
        self._readers = readers  # shared with the cache's other runners; None: lists live for the pass
        self._read: set[tuple[str, str]] = set()  # (row, list) this runner no longer reads
        # Looked-up lists kept as the fields their readers declared (`Resource.lookup_fields`), shared by a
        # tenant's runners, and each list's cadence: its own row's interval, else its domain's (None: the
        # list is read again each pass, or once per run with a shared cache).
        self._fields = projected_fields(resources)
        self._projections = kept or KeptLookups()
        self.intervals: Mapping[Domain, timedelta] = intervals or {}
        self._pass_serial = 0  # the store's serial when this runner's pass began
        self._reread: set[str] = set()  # lists read again this pass for a record they lacked

    @property
    def plex_calls(self) -> int:
        """Plex calls made so far (a data-source window split by the row limit counts once)."""
        return self._plex.calls

    # ---------------------------------------------------------------- the public surface

    def new_pass(self) -> None:
        """Forget what the previous pass fetched, so every pass sees Plex as it is now (a looked-up list
        kept as a projection is read again once its own row's cadence has passed)."""
        if not self._shared:
            self._cache.clear()
            for name in self._fields:
                if self._cadence(name) is None:
                    self._projections.forget(name)
        self._pass_serial = self._projections.serial
        self._reread.clear()
        self.not_offered.clear()

    async def run(
        self, names: Iterable[str], backfill: TimeRange | None = None, *, read_ahead: bool = False
    ) -> list[ResourceReport]:
        """Run the named resources in order; a fallback runs only when its target was not offered. With
        `read_ahead`, while one row is transformed and written the next row's list (a due snapshot) is
        already being read: for rows others wait for, when nothing else keeps the Plex budget busy (it
        holds two lists at once)."""
        reports = []
        rows = [self.resources[name] for name in names]
        ahead: dict[str, asyncio.Future[list[dict[str, Any]]]] = {}  # read ahead for rows not reached yet
        try:
            for number, resource in enumerate(rows):
                if self.should_stop():
                    break
                ahead.pop(resource.name, None)
                try:
                    if not self._runs_now(resource, backfill):
                        continue
                    following = rows[number + 1] if number + 1 < len(rows) else None
                    # A fallback is not read ahead: whether it runs is known only once its target ran.
                    if (
                        read_ahead
                        and following is not None
                        and isinstance(following.mode, Snapshot)
                        and following.fallback_for is None
                        and self._runs_now(following, backfill)
                    ):
                        started = self._read_ahead(following, None)
                        if started is not None:
                            ahead[following.name] = started
                    reports.append(await self.run_resource(resource, backfill))
                finally:
                    self._done_reading(resource)
        finally:
            # A list read ahead for a row the run did not reach (a stop, a failure) is let go, not
            # cancelled: a runner sharing the cache may be waiting for it (a stop ends it at once).
            for name, future in ahead.items():
                if self._cache.get((name, None)) is future:
                    del self._cache[(name, None)]
        return reports

    def _runs_now(self, resource: Resource, backfill: TimeRange | None) -> bool:
        """Whether `run` runs the row: a fallback only when its target was not offered; in a backfill only
        windowed rows; otherwise a row whose own interval has passed."""
        if resource.fallback_for is not None and resource.fallback_for not in self.not_offered:
            return False
        if backfill is not None:
            return isinstance(resource.mode, Window)
        return self._interval_passed(resource)

    def done_placing(self, names: Iterable[str]) -> None:
        """The pass placed again what it had to (`rows_to_place_again`): the lists the rows of `names`
        that could have been placed again read are let go when no other row is left to read them."""
        keepers = kept_rows(self.resources.values())
        for name in names:
            resource = self.resources[name]
            if keepers & set(resource.lookup):
                self._done_reading(resource, again=True)

    def _done_reading(self, resource: Resource, only: str | None = None, *, again: bool = False) -> None:
        """A row ran (or was skipped), or is done with the list `only`: the shared lists no row is left
        to read are let go."""
        if self._readers is None:
            return
        row = f"{resource.name}#again" if again else resource.name
        for name in lists_read(resource) if only is None else {only}:
            if (row, name) in self._read:
                continue
            self._read.add((row, name))
            self._readers[name] -= 1
            if self._readers[name] <= 0:
                for slot in [slot for slot in self._cache if slot[0] == name]:
                    del self._cache[slot]

    async def run_resource(self, resource: Resource, backfill: TimeRange | None = None) -> ResourceReport:
        report = ResourceReport(resource.name, resource.domain)
        started = time.perf_counter()
        try:
            await self._dispatch(resource, report, backfill)
        except BudgetClosed:  # stopping: what was written is committed, the rest waits for the next run
            report.status = "stopped"
            report.message = "stopped before it finished; the next run carries on"
        except Exception as exc:
            kind = self.classify(exc, resource)
            if kind == "fatal":
                raise
            report.status = "not_offered" if kind == "not_offered" else "failed"
            report.message = str(exc)
            if kind == "not_offered":
                self.not_offered.add(resource.name)
                self._warn_once(resource.name, f"{resource.name}: not offered by this tenant, skipped: {exc}")
            else:  # a transform's bug carries its traceback into the log
                log.error("%s: failed: %s", resource.name, exc, exc_info=isinstance(exc, TransformFailed))
        report.seconds = time.perf_counter() - started
        self._remember(report)
        return report

    def _interval_passed(self, resource: Resource) -> bool:
        """Whether a row with its own interval is due: its last run is at least that long ago."""
        if resource.interval is None:
            return True
        last = self.state.get_value(self.pcn, own_key(resource.name, "last_run"))
        at = last.get("at") if isinstance(last, dict) else None
        return _due(at, resource.interval, self.clock())

    def _remember(self, report: ResourceReport) -> None:
        """The last run of each resource, for `plex-cdf status`."""
        self.state.set_value(
            self.pcn,
            own_key(report.resource, "last_run"),
            {
                "at": self.clock().isoformat(),
                "status": report.status,
                "fetched": report.fetched,
                "written": report.write.written,
                "unchanged": report.write.unchanged,
                "quarantined": report.quarantined,
                "pending": report.pending,
                "message": self.mask(report.message)[:500],
            },
        )

    def rows_to_place_again(self, names: Iterable[str]) -> list[str]:
        """Of `names`, the rows that look up a row whose kept children changed since the last call: run
        again, they place their objects by what was just learnt (e.g. workcenters under their line)."""
        changed, self._children_changed = self._children_changed, set()
        return [name for name in names if changed & set(self.resources[name].lookup)]

    async def records_of(self, name: str, window: TimeRange | None = None) -> list[dict[str, Any]]:
        """A resource's records as Plex sends them, fetched once per pass (per window for windowed ones);
        for a per-parent row that keeps its children, the children its runs kept (no Plex call)."""
        resource = self.resources[name]
        if isinstance(resource.mode, PerParent) and resource.mode.keep_as is not None:
            return [child for children in self._kept(name).values() for child in children]
        if not isinstance(resource.mode, Window):
            window = None
        slot = (name, window)
        pending = self._cache.get(slot)
        if pending is None:
            pending = self._cache[slot] = asyncio.ensure_future(self._fetch_and_keep(resource, window))
        try:
            return await asyncio.shield(pending)
        except BaseException:
            if self._cache.get(slot) is pending:
                del self._cache[slot]  # a failed fetch is not remembered
            raise

    async def expected_items(self, resource: Resource, window: TimeRange | None = None) -> list[Item]:
        """What CDF should hold for a snapshot (or one window) of a resource, as Plex has it now."""
        records = await self.records_of(resource.name, window)
        report = ResourceReport(resource.name, resource.domain)
        return await self._items(resource, records, await self._context(resource, window), report)

    # ---------------------------------------------------------------- modes

    async def _dispatch(self, resource: Resource, report: ResourceReport, backfill: TimeRange | None) -> None:
        mode = resource.mode
        if isinstance(mode, Snapshot):
            await self._run_snapshot(resource, mode, report)
        elif isinstance(mode, PerParent):
            await self._run_per_parent(resource, mode, report)
        else:
            await self._run_windows(resource, mode, report, backfill)

    async def _run_snapshot(self, resource: Resource, mode: Snapshot, report: ResourceReport) -> None:
        records = await self._confirmed_snapshot(resource)
        own = resource.name not in self._referenced
        if own:
            self._cache.pop((resource.name, None), None)
        report.fetched = len(records)
        ctx = await self._context(resource, None)
        # A list no other row reads is consumed as it is transformed (a copy of a shared one is).
        todo = records if own else list(records)
        del records
        if resource.children is not None:
            await self._run_with_children(resource, resource.children, todo, ctx, report)
            return
        kept = await self._write_snapshot(resource, todo, ctx, report)
        # Quarantined records and refused items are not committed: the next run's snapshot tries them again.
        report.pending = report.quarantined + report.write.refused
        if mode.mark_inactive or mode.vanished_value is not None or mode.expire_vanished:
            end = None if mode.vanished_value is None else (to_epoch_ms(ctx.now), mode.vanished_value)
            expiry = Expiry(ctx.now, self.vanished_retention) if mode.expire_vanished else None
            report.write.add(
                await self.sink.retire_vanished(
                    resource.name, kept, mark_inactive=mode.mark_inactive, end_point=end, expiry=expiry
                )
            )

    async def _write_snapshot(
        self, resource: Resource, records: list[dict[str, Any]], ctx: Context, report: ResourceReport
    ) -> list[Item]:
        """Transform and write a snapshot a slice at a time, taking its records out of `records` as it
        goes: a large list, its items and their bodies are never in memory whole. Returns what the
        snapshot keeps, each item by its identity only (what `retire_vanished` compares)."""
        if resource.finish is not None:  # an aggregate over every record: transformed whole
            items = await self._items(resource, records, ctx, report)
            records.clear()
            for part in in_write_order(items, self.flush_items):
                report.write.add(await self.sink.write(resource.name, part))
            return [identity_only(item) for item in items]
        kept: list[Item] = []
        pending: list[Item] = []
        while True:
            chunk = records[:TRANSFORM_SLICE]
            del records[:TRANSFORM_SLICE]
            pending += await self._items(resource, chunk, ctx, report)
            del chunk
            if records and len(pending) < self.flush_items:
                continue
            for part in in_write_order(dedupe(pending), self.flush_items):
                report.write.add(await self.sink.write(resource.name, part))
            kept += (identity_only(item) for item in pending)
            pending = []
            if not records:
                return kept

    async def _confirmed_snapshot(self, resource: Resource) -> list[dict[str, Any]]:
        """The snapshot's records; one that lost more than `snapshot_loss_threshold` of the last run's records
        at once (a 404 taken as "no data", a partial answer) is read a second time, and only that second
        read is used, so a suspicious answer never marks anything inactive, zeroes a figure or writes a
        value. The count of the answer used is kept for the next run's comparison."""
        records = await self.records_of(resource.name)
        count_key = own_key(resource.name, "count")
        before = self.state.get_value(self.pcn, count_key)
        if (
            isinstance(before, int)
            and before > 0
            and before - len(records) > before * self.snapshot_loss_threshold
        ):
            log.warning(
                "%s: Plex answered %d records where the last run had %d; reading it again before anything"
                " is marked inactive or zeroed",
                resource.name,
                len(records),
                before,
            )
            self._cache.pop((resource.name, None), None)
            records = await self.records_of(resource.name)
            if before - len(records) > before * self.snapshot_loss_threshold:
                log.warning("%s: the second read confirms %d records", resource.name, len(records))
        self.state.set_value(self.pcn, count_key, len(records))
        return records

    async def _run_windows(
        self,
        resource: Resource,
        mode: Window,
        report: ResourceReport,
        backfill: TimeRange | None,
    ) -> None:
        now = self.clock()
        if backfill is None:
            key = resource.name
            mark = self.state.get_watermark(self.pcn, key)
            begin = self._reach(
                resource, mark, window_start(mark, now, mode.lookback, mode.first_reach or self.first_reach)
            )
            end = now
        else:
            key = backfill_key(resource.name, backfill)
            begin = self.state.get_watermark(self.pcn, key) or backfill.begin
            end = backfill.end
        # Windows always start on multiples of their span (UTC) or on plant midnights: a rerun that reaches
        # back for late rows then fetches exactly the windows it fetched before, so aggregates over a window
        # come out equal.
        planned = list(plan(begin, end, mode, self.plant))
        pending = self._pending_windows(key)
        # Windows an earlier run left pending (a record quarantined, an item CDF refused) come first; once
        # they go through clean they are no longer pending.
        retried = sorted(pending - set(planned), key=lambda w: w.begin)
        report.pending = len(pending)
        batch = WindowBatch(resource, key)
        windows = [*retried, *planned]
        if resource.children is not None:
            await self._run_parent_windows(
                resource, resource.children, key, windows, retried, pending, report
            )
            return
        for window in windows:
            if self.should_stop():
                break
            # A window's body, records and lookups are in memory only between its fetch and its transform,
            # and only for as many windows at once as the tenant's gate lets in (a large plant's day of
            # entries is tens of MB): then they are let go, before the write and the next fetch.
            quarantined = report.quarantined
            async with self.window_gate:
                records, ctx = await self._window_records(resource, window, report)
                items = _segmented(await self._items(resource, records, ctx, report), window)
                del records, ctx
            batch.add(window, items)
            if report.quarantined > quarantined:
                batch.troubled_windows.add(window)
            if window in retried:
                await self._flush(batch, report, pending, retry=True)
                batch = WindowBatch(resource, key)
            elif len(batch.items) >= self.flush_items:
                await self._flush(batch, report, pending)
                batch = WindowBatch(resource, key)
            report.pending = len(pending)
        await self._flush(batch, report, pending)
        report.pending = len(pending)

    async def _run_parent_windows(
        self,
        resource: Resource,
        children: Children,
        key: str,
        windows: Sequence[TimeRange],
        retried: Sequence[TimeRange],
        pending: set[TimeRange],
        report: ResourceReport,
    ) -> None:
        """The windows of a row whose records have sub-lists (jobs and their operations), one after the
        other, each committed once its records and sub-lists are written."""
        ramp = Ramp()
        try:
            for number, window in enumerate(windows):
                if self.should_stop():
                    break
                records, ctx = await self._window_records(resource, window, report)
                # The next window's list is read while this one's sub-lists are fetched and written, so the
                # fan-out does not stall at every window's edge (its own write still waits for this one).
                if number + 1 < len(windows):
                    self._read_ahead(resource, windows[number + 1])
                quarantined = report.quarantined
                mine = records if resource.name not in self._referenced else list(records)
                del records
                written = await self._run_with_children(resource, children, mine, ctx, report, ramp)
                single = WindowBatch(resource, key, [window], troubled=written.refused > 0)
                single.troubled |= report.quarantined > quarantined
                self._commit_windows(single, pending, retry=window in retried)
        finally:
            self._drop_read_ahead(resource, windows)
        report.pending = len(pending)

    def _read_ahead(
        self, resource: Resource, window: TimeRange | None
    ) -> asyncio.Future[list[dict[str, Any]]] | None:
        """Start reading a row's records (of one window), unless stopping or already read or on their way:
        `records_of` then finds them. A failure surfaces when the row (window) is reached."""
        slot = (resource.name, window)
        if self.should_stop() or slot in self._cache:
            return None
        future = self._cache[slot] = asyncio.ensure_future(self._fetch_and_keep(resource, window))
        future.add_done_callback(_retrieved)
        return future

    def _drop_read_ahead(self, resource: Resource, windows: Sequence[TimeRange]) -> None:
        """A window read ahead but not reached (a stop, a failure) is let go, its read cancelled."""
        for window in windows:
            ahead = self._cache.pop((resource.name, window), None)
            if ahead is not None:
                ahead.cancel()

    async def _window_records(
        self, resource: Resource, window: TimeRange, report: ResourceReport
    ) -> tuple[list[dict[str, Any]], Context]:
        records = await self.records_of(resource.name, window)
        report.fetched += len(records)
        report.windows += 1
        ctx = await self._context(resource, window)
        self._cache.pop((resource.name, window), None)
        return records, ctx

    async def _flush(
        self, batch: WindowBatch, report: ResourceReport, pending: set[TimeRange], retry: bool = False
    ) -> None:
        """Write the buffered windows' items together (full CDF batches), then commit their watermark."""
        if batch.windows:
            written = await self.sink.write(batch.resource.name, dedupe(batch.items))
            report.write.add(written)
            batch.note_refused(written)
            self._commit_windows(batch, pending, retry)

    def _commit_windows(self, batch: WindowBatch, pending: set[TimeRange], retry: bool = False) -> None:
        """Move the watermark past the batch (a retried window moves none) and keep the windows with a
        quarantined record or a refused item pending, so later runs fetch them again until they land."""
        for window in batch.windows:
            if batch.troubled or window in batch.troubled_windows:
                pending.add(window)
            else:
                pending.discard(window)
        self._save_pending(batch.key, pending)
        if not retry:
            self.state.commit_watermark(self.pcn, batch.key, batch.windows[-1].end)
        for window in batch.windows:
            self.on_window(batch.resource, window)

    def _pending_windows(self, key: str) -> set[TimeRange]:
        stored = self.state.get_value(self.pcn, own_key(key, "pending"))
        if not isinstance(stored, list):
            return set()
        return {
            TimeRange(datetime.fromisoformat(begin), datetime.fromisoformat(end)) for begin, end in stored
        }

    def _save_pending(self, key: str, pending: set[TimeRange]) -> None:
        slot = own_key(key, "pending")
        if pending or self.state.get_value(self.pcn, slot):
            ordered = sorted(pending, key=lambda w: w.begin)
            self.state.set_value(self.pcn, slot, [[w.begin.isoformat(), w.end.isoformat()] for w in ordered])

    def _reach(self, resource: Resource, mark: datetime | None, begin: datetime) -> datetime:
        """Never before where the first run began: a lookback longer than the first run's reach must not
        fetch (and write) history the first run chose to leave to `backfill`."""
        reach_key = own_key(resource.name, "reach")
        if mark is None:
            self.state.set_value(self.pcn, reach_key, begin.isoformat())
            return begin
        reach = self.state.get_value(self.pcn, reach_key)
        return max(begin, datetime.fromisoformat(reach)) if isinstance(reach, str) else begin

    async def _run_per_parent(self, resource: Resource, mode: PerParent, report: ResourceReport) -> None:
        if not mode.only_changed and not self._poll_due(resource):
            return  # not even the parent list is read before the poll is due
        listed = await self.records_of(mode.parent)
        # One call per distinct parent (a list may repeat a row), none for a kind that has no children.
        parents = list(
            {str(p.get(mode.parent_key)): p for p in listed if not without_children(p, mode)}.values()
        )
        del listed
        # The lookups once for all parents, read before the parent list may go (a BOM row's parent list,
        # the parts, is also its lookup for their codes: held for the pass, not fetched twice).
        shared = await self._context(resource, None)
        self._done_reading(resource, only=mode.parent)  # this row keeps the parents it needs, no more
        now = self.clock()
        if mode.keep_as is not None:  # children of parents no longer listed are no longer anyone's
            listed_keys = {str(p.get(mode.parent_key)) for p in parents}
            kept = self._kept(resource.name)
            if set(kept) - listed_keys:
                self._keep(resource.name, {k: v for k, v in kept.items() if k in listed_keys})
        if not mode.only_changed:
            await self._poll(resource, mode, parents, now, report, shared)
            return
        digests_key = own_key(resource.name, "parents")
        # The end of the last completed pass's refresh slice; none yet means the first pass is still to
        # complete, and parents it already fetched (an interrupted cold start) are not fetched again.
        refresh_key = own_key(resource.name, "full_refresh_at")
        since = _instant(self.state.get_value(self.pcn, refresh_key))
        known = self.state.get_hashes(self.pcn, digests_key)
        todo = [(p, str(p.get(mode.parent_key)), record_digest(p)) for p in parents]
        todo = [
            (p, k, d)
            for p, k, d in todo
            if known.get(k) != d
            or (
                since is not None
                and mode.full_refresh is not None
                and refresh_due(k, since, now, mode.full_refresh)
            )
        ]
        changed = [p for p, _, _ in todo]
        del parents, todo, known
        if await self._fetch_children_of(resource, mode, changed, report, digests_key, shared):
            self.state.set_value(self.pcn, refresh_key, now.isoformat())

    async def _poll(
        self,
        resource: Resource,
        mode: PerParent,
        parents: list[dict[str, Any]],
        now: datetime,
        report: ResourceReport,
        shared: Context,
    ) -> None:
        """Every parent, at most as often as the polling share of the budget allows (every pass without
        a budget): N parents at P calls a minute are polled every N/P minutes."""
        polled_key = own_key(resource.name, "polled_at")
        last = _instant(self.state.get_value(self.pcn, polled_key))
        count = len(parents)
        if last is not None and now - last < poll_every(count, self.poll_calls_per_minute):
            return
        if await self._fetch_children_of(resource, mode, parents, report, None, shared):
            self.state.set_value(self.pcn, polled_key, now.isoformat())
            self.state.set_value(self.pcn, own_key(resource.name, "polled_parents"), count)

    def _poll_due(self, resource: Resource) -> bool:
        """Whether a polled row may be due: unless the last poll, over as many parents as it polled then,
        is more recent than the polling cadence (then the pass makes no call for it, not even the list)."""
        last = _instant(self.state.get_value(self.pcn, own_key(resource.name, "polled_at")))
        count = self.state.get_value(self.pcn, own_key(resource.name, "polled_parents"))
        if last is None or not isinstance(count, int):
            return True
        return self.clock() - last >= poll_every(count, self.poll_calls_per_minute)

    async def _fetch_children_of(
        self,
        resource: Resource,
        mode: PerParent,
        parents: list[dict[str, Any]],
        report: ResourceReport,
        digests_key: str | None,
        shared: Context,
    ) -> bool:
        """Fetch, write and commit the parents' children in batches (in the fan-out lane), taking each
        batch out of `parents` (a long BOM pass lets its parts go as it goes); False when a stop request
        ended it early. One batch ahead: the next batch's children are fetched while this one is written,
        so Plex and CDF overlap (a write no longer halts the row's calls under Plex's budget); a batch is
        still committed only after its own write. `shared` holds the row's lookups, read once for all its
        parents (e.g. the parts list a BOM row reads its codes from)."""
        batches = Ramp().batches(parents)
        ahead = None if self.should_stop() else self._children_ahead(resource, mode, next(batches, None))
        try:
            while ahead is not None and not self.should_stop():
                batch, fetching = ahead
                answers = await fetching
                following = None if self.should_stop() else next(batches, None)
                ahead = self._children_ahead(resource, mode, following)
                await self._write_children(resource, mode, batch, answers, report, digests_key, shared)
        finally:
            if ahead is not None:  # stopped or failed: the batch fetched ahead is not used
                _let_go(ahead[1])
        return ahead is None and not parents  # every batch taken out of `parents` was written

    def _children_ahead(
        self, resource: Resource, mode: PerParent, batch: list[dict[str, Any]] | None
    ) -> tuple[list[dict[str, Any]], asyncio.Future[list[Any]]] | None:
        """A batch of parents with the fetch of their children (started now, in the fan-out lane): each
        parent's children, or what Plex raised for it."""
        if batch is None:
            return None
        calls = (self._children_of(resource, mode, p) for p in batch)
        return batch, _fanned_out(calls, return_exceptions=True)

    async def _write_children(
        self,
        resource: Resource,
        mode: PerParent,
        batch: list[dict[str, Any]],
        answers: list[Any],
        report: ResourceReport,
        digests_key: str | None,
        shared: Context,
    ) -> None:
        """Transform, write and commit one batch of parents' children."""
        refusals = _refusals(answers)
        if mode.keep_as is not None:
            self._keep_children(resource.name, mode, batch, answers)
        items: list[Item] = []
        clean: dict[str, str] = {}  # parents whose children all mapped: their digest may be committed
        for parent, children in zip(batch, answers, strict=True):
            if isinstance(children, BaseException):
                # Plex refused this parent's value (e.g. a malformed part id): that parent is
                # quarantined, the others go on; it is asked again next run.
                self._quarantine(resource, {mode.parent_key: parent.get(mode.parent_key)}, children, report)
                continue
            report.fetched += len(children)
            ctx = replace(shared, parent=parent, now=self.clock())
            quarantined = report.quarantined
            items.extend(await self._items(resource, children, ctx, report))
            if report.quarantined == quarantined:
                clean[str(parent.get(mode.parent_key))] = record_digest(parent)
        if refusals == len(batch) > 1:  # every parent refused: the call is wrong, not the parents
            raise next(a for a in answers if isinstance(a, BaseException))
        written = await self.sink.write(resource.name, items)
        report.write.add(written)
        report.pending += len(batch) - (0 if written.refused else len(clean))
        if digests_key is not None and not written.refused:
            # A parent with a quarantined child (or a batch with a refused item) stays changed: its
            # children are fetched again next run, until they land.
            self.state.commit_hashes(self.pcn, digests_key, clean)

    def _kept(self, name: str) -> dict[str, list[dict[str, Any]]]:
        """The children a `keep_as` row kept, by its parents' key values."""
        kept = self.state.get_value(self.pcn, own_key(name, "children"))
        return kept if isinstance(kept, dict) else {}

    def _keep(self, name: str, kept: dict[str, list[dict[str, Any]]]) -> None:
        self.state.set_value(self.pcn, own_key(name, "children"), kept)
        self._children_changed.add(name)

    def _keep_children(
        self, name: str, mode: PerParent, parents: Sequence[Record], answers: Sequence[object]
    ) -> None:
        """Each answered parent's children, its key value under `mode.keep_as`; kept only when changed."""
        kept = self._kept(name)
        fresh = dict(kept)
        for parent, children in zip(parents, answers, strict=True):
            if isinstance(children, list):
                value = str(parent.get(mode.parent_key))
                fresh[value] = [
                    {**child, str(mode.keep_as): value} for child in children if isinstance(child, Mapping)
                ]
        if fresh != kept:
            self._keep(name, fresh)

    async def _run_with_children(
        self,
        resource: Resource,
        children: Children,
        records: list[dict[str, Any]],
        ctx: Context,
        report: ResourceReport,
        ramp: Ramp | None = None,
    ) -> WriteReport:
        """Only records new or changed since the last run get their sub-list fetched and are written;
        `records` is emptied, and each batch let go once written (a long pass holds only what is left).
        `ramp`: the batch sizes, carried from one window to the next (a fresh ramp by default)."""
        total = WriteReport()
        known = self.state.get_hashes(self.pcn, own_key(resource.name, "records"))
        for record in records:
            if not isinstance(record, Mapping):  # no key, no sub-list to fetch: quarantined here
                self._quarantine(resource, record, _not_an_object(record), report)
        todo = [(r, joined_key(r, resource.key), record_digest(r)) for r in records if isinstance(r, Mapping)]
        todo = [(r, k, d) for r, k, d in todo if known.get(k) != d]
        records.clear()
        del known
        batches = list((ramp or Ramp()).batches(todo))
        del todo
        # One batch ahead: the next batch's sub-lists are fetched while this one is written, so Plex and
        # CDF overlap; a batch is still committed only after its own write.
        ahead = self._sub_lists(children, batches[0]) if batches else None
        try:
            for number, batch in enumerate(batches):
                if self.should_stop() or ahead is None:
                    return total
                subs = await ahead
                following = batches[number + 1] if number + 1 < len(batches) else None
                stop = following is None or self.should_stop()
                ahead = None if following is None or stop else self._sub_lists(children, following)
                total.add(await self._write_with_children(resource, children, batch, subs, ctx, report))
                batches[number] = []  # let the written batch go
                del subs
        finally:
            if ahead is not None:  # stopped or failed: the batch fetched ahead is not used
                _let_go(ahead)
        return total

    def _sub_lists(
        self, children: Children, batch: Sequence[tuple[Record, str, str]]
    ) -> asyncio.Future[list[list[dict[str, Any]]]]:
        """The sub-lists of a batch of records, fetched in the fan-out lane (started now)."""
        calls = (
            self._plex.get_list(children.path.format(parent=_segment(r.get(children.parent_key))))
            for r, _, _ in batch
        )
        return _fanned_out(calls)

    async def _write_with_children(
        self,
        resource: Resource,
        children: Children,
        batch: Sequence[tuple[Record, str, str]],
        subs: Sequence[list[dict[str, Any]]],
        ctx: Context,
        report: ResourceReport,
    ) -> WriteReport:
        """Write a batch of records with their sub-lists attached, then commit their digests."""
        enriched = [{**r, children.attach_as: sub} for (r, _, _), sub in zip(batch, subs, strict=True)]
        failed: set[int] = set()
        items = await self._items(resource, enriched, ctx, report, failed)
        written = await self.sink.write(resource.name, items)
        report.write.add(written)
        # A quarantined record (or a batch with a refused item) keeps its old digest: fetched again next run,
        # until it lands.
        done = {} if written.refused else {k: d for n, (_, k, d) in enumerate(batch) if n not in failed}
        report.pending += len(batch) - len(done)
        self.state.commit_hashes(self.pcn, own_key(resource.name, "records"), done)
        return written

    # ---------------------------------------------------------------- fetch, transform

    async def _fetch(self, resource: Resource, window: TimeRange | None) -> list[dict[str, Any]]:
        """A resource's records of one window (or all of them): its source knows the call."""
        return await resource.source.fetch(self._plex, resource.mode, _Needs(self, resource, window))

    async def _fetch_and_keep(self, resource: Resource, window: TimeRange | None) -> list[dict[str, Any]]:
        """`_fetch`; a list others look up leaves its projection (their declared fields) as it is read."""
        records = await self._fetch(resource, window)
        if resource.name in self._fields:
            self._keep_projection(resource.name, records)
        return records

    def _keep_projection(self, name: str, records: Sequence[Record]) -> Kept:
        kept = projection(records, self.resources[name].key, self._fields[name])
        return self._projections.keep(name, kept, self.clock())

    def _cadence(self, name: str) -> timedelta | None:
        """How often a looked-up list is read again: its own row's interval, else its domain's."""
        row = self.resources[name]
        return row.interval or self.intervals.get(row.domain)

    def _fresh(self, name: str, kept: Kept) -> bool:
        """Read since this runner's pass began, or within the list's cadence."""
        every = self._cadence(name)
        return every is None or kept.serial > self._pass_serial or self.clock() - kept.read_at < every

    async def _projection(self, name: str) -> list[Record]:
        """The looked-up list `name` as its readers keep it: the kept projection while its cadence has not
        passed, else read now (the whole list is let go at once unless a row still reads it whole)."""
        kept = self._projections.get(name)
        if kept is not None and self._fresh(name, kept):
            return kept.records
        fetched = (name, None) in self._cache
        records = await self.records_of(name)
        kept = self._projections.get(name)
        if kept is None or not self._fresh(name, kept):
            kept = self._keep_projection(name, records)
        del records
        if not fetched and (self._readers is None or self._readers[name] <= 0):
            self._cache.pop((name, None), None)
        return kept.records

    async def _children_of(self, resource: Resource, mode: PerParent, parent: Record) -> list[dict[str, Any]]:
        source = resource.source
        if not isinstance(source, Get):  # a row cannot be made so (Resource checks it)
            raise TypeError(f"{resource.name}: one call per parent needs a Connect GET source")
        return await source.for_parent(self._plex, mode, str(parent.get(mode.parent_key)))

    async def _context(
        self, resource: Resource, window: TimeRange | None, parent: Record | None = None
    ) -> Context:
        # The runner's own dict: a list read again for a record it lacked replaces its entry (`_items`).
        lookups: dict[str, Sequence[Record]] = {}
        projected = projected_lists(resource)
        for name in resource.lookup:
            if name in projected:
                lookups[name] = await self._projection(name)
            else:
                lookups[name] = unique_records(await self.records_of(name, window), self.resources[name].key)
        return Context(
            pcn=self.pcn,
            resource=resource.name,
            now=self.clock(),
            window=window,
            lookups=lookups,
            parent=parent,
            plant=self.plant,
        )

    async def _items(
        self,
        resource: Resource,
        records: Sequence[Record],
        ctx: Context,
        report: ResourceReport,
        failed: set[int] | None = None,
    ) -> list[Item]:
        """Transform every record; a record the transform cannot map is quarantined and counted (and its
        position added to `failed`). A record naming an id its kept lookup list lacks (a part newer than
        the list) has the list read again, once a pass, and every record mapped again with it."""
        while True:
            try:
                return self._mapped(resource, records, ctx, report, failed)
            except _ReadAgain as again:
                await self._read_again(again.name, ctx)

    def _mapped(
        self,
        resource: Resource,
        records: Sequence[Record],
        ctx: Context,
        report: ResourceReport,
        failed: set[int] | None,
    ) -> list[Item]:
        items: list[Item] = []
        refused: list[tuple[object, Quarantine, int | None]] = []  # counted once every record is mapped
        for position, record in enumerate(records):
            try:
                if not isinstance(record, Mapping):
                    raise _not_an_object(record)
                items.extend(dated_since_1970(list(resource.transform(record, ctx))))
            except Quarantine as exc:
                self._check_read_again(resource, exc)
                refused.append((record, exc, position))
                continue
            except Exception as exc:  # a bug, not bad data: the resource fails, loudly
                raise TransformFailed(resource.name, joined_key(record, resource.key), exc) from exc
            if self.raw_copy:
                items.append(RawRow(resource.name, _raw_key(resource, record, ctx), record))
        if resource.finish is not None:
            # The others are quarantined above; a row Plex repeats counts once, as its event does.
            objects = unique_records([r for r in records if isinstance(r, Mapping)], resource.key)
            try:
                items.extend(resource.finish(objects, ctx))
            except Quarantine as exc:
                self._check_read_again(resource, exc)
                refused.append(({"window": str(ctx.window)}, exc, None))
            except Exception as exc:
                raise TransformFailed(resource.name, f"aggregate over {ctx.window}", exc) from exc
        for bad, reason, at in refused:
            self._quarantine(resource, bad, reason, report)
            if failed is not None and at is not None:
                failed.add(at)
        return dedupe(items)

    def _check_read_again(self, resource: Resource, exc: Quarantine) -> None:
        """Raise _ReadAgain when the quarantine is an id missing from a kept lookup list that this pass
        has not read yet (read once per run with a shared cache, as every list is)."""
        name = exc.list_name if isinstance(exc, NotListedYet) else None
        if name is None or self._shared or name in self._reread or name not in projected_lists(resource):
            return
        raise _ReadAgain(name) from exc

    async def _read_again(self, name: str, ctx: Context) -> None:
        """Read the kept list `name` again (unless another row read it since this pass began) and put it
        into the context's lookups, which every context of the run shares."""
        self._reread.add(name)
        kept = self._projections.get(name)
        if kept is None or kept.serial <= self._pass_serial:
            self._projections.forget(name)
            self._cache.pop((name, None), None)
        records = await self._projection(name)
        if isinstance(ctx.lookups, dict):
            ctx.lookups[name] = records

    def _quarantine(
        self, resource: Resource, record: object, exc: BaseException, report: ResourceReport
    ) -> None:
        report.quarantined += 1
        if report.quarantined <= QUARANTINE_LOG_LIMIT:
            key = joined_key(record, resource.key) if isinstance(record, Mapping) else repr(record)[:80]
            log.warning("%s: record %r quarantined: %s: %s", resource.name, key, type(exc).__name__, exc)

    def _warn_once(self, slot: str, message: str) -> None:
        if slot not in self._warned:
            self._warned.add(slot)
            log.warning("%s", message)


def lists_read(resource: Resource) -> set[str]:
    """The lists a row reads whole from a fetch cache: its own, its lookups (but those it keeps only a
    projection of), its parents."""
    parent = {resource.mode.parent} if isinstance(resource.mode, PerParent) else set()
    whole = set(resource.lookup) - projected_lists(resource)
    return {resource.name, *whole, *parent}


def projected_lists(resource: Resource) -> set[str]:
    """The row's lookups it reads only some fields of (`Resource.lookup_fields`)."""
    return {name for name in resource.lookup if name in resource.lookup_fields}


def projected_fields(resources: Iterable[Resource]) -> dict[str, tuple[str, ...]]:
    """Per looked-up list, every field some row declared it reads of it: one projection per list read,
    shared by all its readers."""
    fields: dict[str, dict[str, None]] = {}
    for resource in resources:
        for name in projected_lists(resource):
            fields.setdefault(name, {}).update(dict.fromkeys(resource.lookup_fields[name]))
    return {name: tuple(found) for name, found in fields.items()}


def readers_of(resources: Iterable[Resource]) -> Readers:
    """For runners sharing one fetch cache over one pass of these rows: how many rows read each list. A
    row that looks up a `keep_as` row may run a second time in the pass (`Runner.rows_to_place_again`):
    it counts twice, so the lists it reads stay for that run (`Runner.done_placing` lets them go)."""
    rows = list(resources)
    keepers = kept_rows(rows)
    return Counter(
        name
        for resource in rows
        for _ in range(2 if keepers & set(resource.lookup) else 1)
        for name in lists_read(resource)
    )


def kept_rows(resources: Iterable[Resource]) -> set[str]:
    """Per-parent rows that keep their children for other rows to look up (`PerParent.keep_as`)."""
    return {r.name for r in resources if isinstance(r.mode, PerParent) and r.mode.keep_as is not None}


# The order a sink writes kinds in within one call (assets before what links to them, series before
# their points); slices of one snapshot keep it across calls.
_WRITE_RANK: dict[type, int] = {
    Asset: 0,
    TimeSeries: 1,
    Event: 2,
    Relationship: 3,
    Datapoints: 4,
    RawRow: 5,
}


_NOTHING: Mapping[str, Any] = MappingProxyType({})


def identity_only(item: Item) -> Item:
    """The item without its content (metadata, points, columns): what names it, all a sink compares
    when it asks which items a snapshot still makes."""
    if isinstance(item, Datapoints):
        return replace(item, points=())
    if isinstance(item, RawRow):
        return replace(item, columns=_NOTHING)
    if isinstance(item, Relationship):
        return item
    return replace(item, description=None, metadata=_NOTHING)


def in_write_order(items: list[Item], size: int) -> Iterable[list[Item]]:
    """The items in one write, or, past `size`, in slices of `size` in the sink's order of kinds (so a
    slice never holds points or links for a series or asset a later slice creates)."""
    if len(items) <= size:
        yield items
        return
    ordered = sorted(items, key=lambda item: _WRITE_RANK[type(item)])
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def _segmented(items: list[Item], window: TimeRange) -> list[Item]:
    """Points computed over a window belong to that window: their change detection is per window."""
    segment = window.begin.isoformat()
    return [
        replace(item, segment=segment) if isinstance(item, Datapoints) and not item.latest_only else item
        for item in items
    ]


def _fanned_out(
    calls: Iterable[Awaitable[Any]], *, return_exceptions: bool = False
) -> asyncio.Future[list[Any]]:
    """The calls' answers in their order, the calls started now in the fan-out lane (with
    `return_exceptions`, a call's error is its answer)."""
    with fan_out_lane():
        gathered: asyncio.Future[list[Any]] = asyncio.ensure_future(
            asyncio.gather(*calls, return_exceptions=return_exceptions)
        )
    return gathered


def _let_go(future: asyncio.Future[Any]) -> None:
    """An unused fetch: cancelled, and its outcome marked as seen."""
    future.cancel()
    future.add_done_callback(_retrieved)


def _retrieved(future: asyncio.Future[Any]) -> None:
    """Mark a future's outcome as seen (an unused fetch that failed is not an unhandled error)."""
    if not future.cancelled():
        future.exception()


def _refusals(answers: Sequence[object]) -> int:
    """How many per-parent answers Plex refused for a request value (400); any other failure is raised."""
    refused = 0
    for answer in answers:
        if isinstance(answer, PlexRequestError) and answer.status == 400:
            refused += 1
        elif isinstance(answer, BaseException):
            raise answer
    return refused


LAST_MS = int(datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC).timestamp() * 1000)
"""The last instant a CDF timestamp (data modeling's `timestamp`, ISO 8601 with a 4-digit year) can hold."""


def dated_since_1970(items: list[Item]) -> list[Item]:
    """The items, or Quarantine for an event dated before 1970 (its time would be negative, which CDF
    refuses: a mistyped year in Plex, typically) or after the year 9999 (no timestamp holds it)."""
    for item in items:
        if isinstance(item, Event):
            for name, value in (("start", item.start_time), ("end", item.end_time)):
                if value is not None and value < 0:
                    when = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=value)
                    raise Quarantine(f"{name} time {when:%Y-%m-%d %H:%M} is before 1970, which CDF refuses")
                if value is not None and value > LAST_MS:
                    raise Quarantine(f"{name} time {value} ms is after the year 9999: no timestamp holds it")
    return items


def _not_an_object(record: object) -> Quarantine:
    return Quarantine(f"record is a {type(record).__name__}, not an object")


class _ReadAgain(Exception):
    """A record named an id its kept lookup list `name` lacks: read the list again and map once more."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class TransformFailed(RuntimeError):
    """A transform raised something other than Quarantine: a bug. Names the record by its key only (never
    its content, which may hold what must not be logged); the traceback is the cause's."""

    def __init__(self, resource: str, key: str, error: Exception) -> None:
        super().__init__(
            f"{resource}: the transform failed on record {key[:200]!r} with {type(error).__name__}: {error}"
            " (a bug, not bad data: fix the transform)"
        )


class CountedSource:
    """The PlexSource, counting calls."""

    def __init__(self, plex: PlexSource) -> None:
        self.plex = plex
        self.calls = 0

    async def get_list(self, path: str, params: Params | None = None) -> list[dict[str, Any]]:
        self.calls += 1
        return await self.plex.get_list(path, params)

    async def post_list(self, path: str, body: Mapping[str, object]) -> list[dict[str, Any]]:
        self.calls += 1
        return await self.plex.post_list(path, body)

    async def get_object(self, path: str, params: Params | None = None) -> dict[str, Any] | None:
        self.calls += 1
        return await self.plex.get_object(path, params)

    async def execute_datasource(self, source_id: int, inputs: Mapping[str, object]) -> list[dict[str, Any]]:
        self.calls += 1
        return await self.plex.execute_datasource(source_id, inputs)

    async def execute_datasource_window(self, *args: Any, **named: Any) -> list[dict[str, Any]]:
        self.calls += 1  # one call however often the row limit splits the window
        return await self.plex.execute_datasource_window(*args, **named)


@dataclass(frozen=True)
class _Needs:
    """What a source may ask while making its call: the window, and the full context (POST bodies)."""

    runner: Runner
    resource: Resource
    window: TimeRange | None

    async def full(self) -> Context:
        return await self.runner._context(self.resource, self.window)


@dataclass
class WindowBatch:
    """Consecutive windows of one resource whose items are written together."""

    resource: Resource
    key: str  # the watermark's key
    windows: list[TimeRange] = field(default_factory=list)
    troubled: bool = False  # CDF refused an item of the batch: every window of it stays pending
    items: list[Item] = field(default_factory=list)
    troubled_windows: set[TimeRange] = field(default_factory=set)  # a record of these was quarantined

    ids: dict[TimeRange, set[str]] = field(default_factory=dict)  # what each window's items name in CDF

    def add(self, window: TimeRange, items: list[Item]) -> None:
        self.windows.append(window)
        self.items.extend(items)
        self.ids[window] = {item_id(item) for item in items}

    def note_refused(self, written: WriteReport) -> None:
        """The windows whose items CDF refused stay pending (all of them if the sink named none)."""
        refused = set(written.refused_ids)
        if written.refused and not refused:
            self.troubled = True
        self.troubled_windows.update(w for w, ids in self.ids.items() if ids & refused)


def own_key(resource: str, what: str) -> str:
    """The state key of what the runner keeps about a resource beside the sink's hashes: `last_run`,
    `reach`, `count`, `pending`, `parents`, `records`, `full_refresh_at`, `children`, `polled_at`,
    `polled_parents`."""
    return f"{resource}#{what}"


def backfill_key(resource: str, window: TimeRange) -> str:
    """The watermark key of one backfill range, so an interrupted backfill resumes where it stopped."""
    return own_key(resource, f"backfill:{window.begin.isoformat()}:{window.end.isoformat()}")


def _raw_key(resource: Resource, record: Record, ctx: Context) -> str:
    joined = joined_key(record, resource.key)
    if ctx.parent is not None and isinstance(resource.mode, PerParent):
        joined = f"{ctx.parent.get(resource.mode.parent_key)}|{joined}"
    return joined if 0 < len(joined) <= 200 else hashed_key(joined)  # CDF refuses an empty RAW key


def _segment(value: object) -> str:
    """A record's value as one URL path segment (escaped, so an odd id cannot reach another path)."""
    return quote(str(value), safe="")


def _due(last: object, every: timedelta | None, now: datetime) -> bool:
    if every is None:
        return last is None
    if not isinstance(last, str):
        return True
    return now - datetime.fromisoformat(last) >= every


def poll_every(parents: int, calls_per_minute: float | None) -> timedelta:
    """How often `parents` can all be polled within `calls_per_minute` (every pass when None)."""
    if calls_per_minute is None or parents == 0:
        return timedelta(0)
    return timedelta(minutes=parents / calls_per_minute)


def _instant(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def without_children(parent: Record, mode: PerParent) -> bool:
    """A parent whose kind has no children by definition (e.g. a raw-material part has no BOM)."""
    return any(parent.get(name) in values for name, values in mode.skip_when.items())


@dataclass
class Ramp:
    """Batch sizes of records whose sub-lists are fetched: FIRST_BATCH, doubling up to PARENT_BATCH, so
    the first children are written after a few calls and later ones in full batches. One ramp serves
    every window of a pass: a later window starts where the last one left off, not at FIRST_BATCH."""

    size: int = FIRST_BATCH

    def batches(self, values: list[T]) -> Iterator[list[T]]:
        """Each batch taken out of `values` (so what was done is let go)."""
        while values:
            batch = values[: self.size]
            del values[: self.size]
            yield batch
            self.size = min(self.size * 2, PARENT_BATCH)
