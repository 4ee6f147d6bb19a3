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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import orjson

from plex_cdf.cdf.hashing import state_key
from plex_cdf.domains.resource import (
    Children,
    Context,
    DataSourceWindow,
    PerParent,
    Record,
    Resource,
    Snapshot,
    TimeRange,
    Window,
)
from plex_cdf.ids import hashed_key, joined_key
from plex_cdf.items import Datapoints, Item, RawRow
from plex_cdf.plex.budget import BudgetClosed, fan_out_lane
from plex_cdf.plex.dates import format_plex_datetime, to_epoch_ms
from plex_cdf.plex.errors import PlexConfigError, PlexNotOffered, PlexRequestError
from plex_cdf.ports import PlexSource, Sink, StateStore, WriteReport
from plex_cdf.windows import refresh_due, split, window_start

log = logging.getLogger("plex_cdf.runner")
T = TypeVar("T")

Status = Literal["ok", "not_offered", "failed", "stopped"]
ErrorKind = Literal["not_offered", "fatal", "failed"]
# One fetch per (resource, window), shared by whoever needs the records while it is in the cache.
FetchCache = dict[tuple[str, TimeRange | None], "asyncio.Future[list[dict[str, Any]]]"]
POINTS_KEY = "datapoints:"
NOT_OBJECT_KEYS = (POINTS_KEY, "raw:")  # state keys of points and RAW rows; any other key is an external id
# Items of consecutive windows are written together once there are this many: full 1,000-item CDF calls
# instead of one part-filled call per kind and window. Their watermark moves only after that write.
FLUSH_ITEMS = 8000
# How many parents (or records needing children) are fetched, written and committed together.
PARENT_BATCH = 100
FIRST_BATCH = 10
# Windows of a tenant between fetch and transform at once (their bodies and records are the bulk of a
# large plant's memory); the domains still fetch, write and wait on Plex concurrently.
WINDOWS_IN_HAND = 2
QUARANTINE_LOG_LIMIT = 5


@dataclass
class ResourceReport:
    """What one resource run did; the summary table and the metrics read it."""

    resource: str
    domain: str
    fetched: int = 0
    quarantined: int = 0
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
    merged: dict[tuple[str, str], Item] = {}
    for item in items:
        slot = (type(item).__name__, state_key(item))  # a series' points per segment (window)
        previous = merged.get(slot)
        if isinstance(item, Datapoints) and isinstance(previous, Datapoints):
            points = dict(previous.points)
            points.update(item.points)
            item = replace(item, points=tuple(sorted(points.items())))
        merged[slot] = item
    return list(merged.values())


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
        window_gate: asyncio.Semaphore | None = None,
    ) -> None:
        self.pcn = pcn
        self.source = source
        self.sink = sink
        self.state = state
        self.resources = {r.name: r for r in resources}
        # Lists other rows read (lookups, parents of per-parent rows): kept for the run when shared; any
        # other list is let go once its own row is done, so a run does not hold every list at once.
        self._referenced = {name for r in resources for name in r.lookup} | {
            r.mode.parent for r in resources if isinstance(r.mode, PerParent)
        }
        self.clock = clock
        self.first_reach = first_reach
        self.raw_copy = raw_copy
        # The budget share polled per-record rows may use (None: poll every pass).
        self.poll_calls_per_minute = poll_calls_per_minute
        # Shared by a tenant's runners: how many windows may be between fetch and transform at once.
        self.window_gate = window_gate or asyncio.Semaphore(WINDOWS_IN_HAND)
        self.classify = classify
        self.not_offered: set[str] = set()
        # Checked between windows and batches: a stop request ends the run at the next safe point.
        self.should_stop: Callable[[], bool] = lambda: False
        # Called after each committed window (backfill progress bars).
        self.on_window: Callable[[Resource, TimeRange], None] = lambda resource, window: None
        self.plex_calls = 0
        self.flush_items = FLUSH_ITEMS
        self._warned: set[str] = set()
        # Given a cache, runners share one fetch per list for the whole run (e.g. the parts list that master
        # data writes and quality looks up); without one, every pass fetches afresh.
        self._shared = cache is not None
        self._cache: FetchCache = {} if cache is None else cache

    # ---------------------------------------------------------------- the public surface

    def new_pass(self) -> None:
        """Forget what the previous pass fetched, so every pass sees Plex as it is now."""
        if not self._shared:
            self._cache.clear()
        self.not_offered.clear()

    async def run(self, names: Iterable[str], backfill: TimeRange | None = None) -> list[ResourceReport]:
        """Run the named resources in order; a fallback runs only when its target was not offered."""
        reports = []
        for name in names:
            if self.should_stop():
                break
            resource = self.resources[name]
            if resource.fallback_for is not None and resource.fallback_for not in self.not_offered:
                continue
            if backfill is not None and not isinstance(resource.mode, Window | DataSourceWindow):
                continue
            reports.append(await self.run_resource(resource, backfill))
        return reports

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
            else:
                log.error("%s: failed: %s", resource.name, exc)
        report.seconds = time.perf_counter() - started
        self._remember(report)
        return report

    def _remember(self, report: ResourceReport) -> None:
        """The last run of each resource, for `plex-cdf status`."""
        self.state.set_value(
            self.pcn,
            f"{report.resource}#last_run",
            {
                "at": self.clock().isoformat(),
                "status": report.status,
                "fetched": report.fetched,
                "written": report.write.written,
                "unchanged": report.write.unchanged,
                "quarantined": report.quarantined,
                "message": report.message[:500],
            },
        )

    async def records_of(self, name: str, window: TimeRange | None = None) -> list[dict[str, Any]]:
        """A resource's records as Plex sends them, fetched once per pass (per window for windowed ones)."""
        resource = self.resources[name]
        if not isinstance(resource.mode, Window | DataSourceWindow):
            window = None
        slot = (name, window)
        pending = self._cache.get(slot)
        if pending is None:
            pending = self._cache[slot] = asyncio.ensure_future(self._fetch(resource, window))
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
        return self._items(resource, records, await self._context(resource, window), report)

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
        records = await self.records_of(resource.name)
        if resource.name not in self._referenced:
            self._cache.pop((resource.name, None), None)
        report.fetched = len(records)
        ctx = await self._context(resource, None)
        if resource.children is not None:
            await self._run_with_children(resource, resource.children, records, ctx, report)
            return
        items = self._items(resource, records, ctx, report)
        del records  # let go before the write (a large list and its items would otherwise both stay)
        report.write.add(await self.sink.write(resource.name, items))
        if not mode.mark_inactive and mode.vanished_value is None:
            return
        # Compared in the sink's own state keys (external ids; `datapoints:{id}` for series' points).
        vanished = set(self.state.get_hashes(self.pcn, resource.name)) - {state_key(i) for i in items}
        objects = sorted(k for k in vanished if not k.startswith(NOT_OBJECT_KEYS))
        if mode.mark_inactive and objects:
            report.write.add(await self.sink.mark_inactive(resource.name, objects))
        if mode.vanished_value is not None:
            now = to_epoch_ms(ctx.now)
            gone = sorted(
                k.removeprefix(POINTS_KEY) for k in vanished if k.startswith(POINTS_KEY) and "@" not in k
            )
            ends = [Datapoints(xid, ((now, mode.vanished_value),), latest_only=True) for xid in gone]
            if ends:
                report.write.add(await self.sink.write(resource.name, ends))

    async def _run_windows(
        self,
        resource: Resource,
        mode: Window | DataSourceWindow,
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
        # Windows always start on multiples of their span (UTC): a rerun that reaches back for late rows
        # then fetches exactly the windows it fetched before, so aggregates over a window come out equal.
        batch = WindowBatch(resource, key)
        for window in split(begin, end, mode.max_span, mode.align or mode.max_span):
            if self.should_stop():
                break
            if resource.children is not None:
                records, ctx = await self._window_records(resource, window, report)
                await self._run_with_children(resource, resource.children, records, ctx, report)
                self._commit_windows(WindowBatch(resource, key, [window]))
                continue
            # A window's body, records and lookups are in memory only between its fetch and its transform,
            # and only for as many windows at once as the tenant's gate lets in (a large plant's day of
            # entries is tens of MB): then they are let go, before the write and the next fetch.
            async with self.window_gate:
                records, ctx = await self._window_records(resource, window, report)
                items = _segmented(self._items(resource, records, ctx, report), window)
                del records, ctx
            batch.add(window, items)
            if len(batch.items) >= self.flush_items:
                await self._flush(batch, report)
                batch = WindowBatch(resource, key)
        await self._flush(batch, report)

    async def _window_records(
        self, resource: Resource, window: TimeRange, report: ResourceReport
    ) -> tuple[list[dict[str, Any]], Context]:
        records = await self.records_of(resource.name, window)
        report.fetched += len(records)
        report.windows += 1
        ctx = await self._context(resource, window)
        self._cache.pop((resource.name, window), None)
        return records, ctx

    async def _flush(self, batch: WindowBatch, report: ResourceReport) -> None:
        """Write the buffered windows' items together (full CDF batches), then commit their watermark."""
        if batch.windows:
            report.write.add(await self.sink.write(batch.resource.name, dedupe(batch.items)))
            self._commit_windows(batch)

    def _commit_windows(self, batch: WindowBatch) -> None:
        self.state.commit_watermark(self.pcn, batch.key, batch.windows[-1].end)
        for window in batch.windows:
            self.on_window(batch.resource, window)

    def _reach(self, resource: Resource, mark: datetime | None, begin: datetime) -> datetime:
        """Never before where the first run began: a lookback longer than the first run's reach must not
        fetch (and write) history the first run chose to leave to `backfill`."""
        reach_key = f"{resource.name}#reach"
        if mark is None:
            self.state.set_value(self.pcn, reach_key, begin.isoformat())
            return begin
        reach = self.state.get_value(self.pcn, reach_key)
        return max(begin, datetime.fromisoformat(reach)) if isinstance(reach, str) else begin

    async def _run_per_parent(self, resource: Resource, mode: PerParent, report: ResourceReport) -> None:
        listed = await self.records_of(mode.parent)
        # One call per distinct parent (a list may repeat a row), none for a kind that has no children.
        parents = list(
            {str(p.get(mode.parent_key)): p for p in listed if not without_children(p, mode)}.values()
        )
        now = self.clock()
        if not mode.only_changed:
            await self._poll(resource, mode, parents, now, report)
            return
        digests_key = f"{resource.name}#parents"
        # The end of the last completed pass's refresh slice; none yet means the first pass is still to
        # complete, and parents it already fetched (an interrupted cold start) are not fetched again.
        refresh_key = f"{resource.name}#full_refresh_at"
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
        if await self._fetch_children_of(resource, mode, [p for p, _, _ in todo], report, digests_key):
            self.state.set_value(self.pcn, refresh_key, now.isoformat())

    async def _poll(
        self,
        resource: Resource,
        mode: PerParent,
        parents: Sequence[Record],
        now: datetime,
        report: ResourceReport,
    ) -> None:
        """Every parent, at most as often as the polling share of the budget allows (every pass without
        a budget): N parents at P calls a minute are polled every N/P minutes."""
        polled_key = f"{resource.name}#polled_at"
        last = _instant(self.state.get_value(self.pcn, polled_key))
        every = poll_every(len(parents), self.poll_calls_per_minute)
        if last is not None and now - last < every:
            return
        if await self._fetch_children_of(resource, mode, parents, report, None):
            self.state.set_value(self.pcn, polled_key, now.isoformat())

    async def _fetch_children_of(
        self,
        resource: Resource,
        mode: PerParent,
        parents: Sequence[Record],
        report: ResourceReport,
        digests_key: str | None,
    ) -> bool:
        """Fetch, write and commit the parents' children in batches (in the fan-out lane); False when a
        stop request ended it early."""
        for batch in _ramped(parents):
            if self.should_stop():
                return False
            with fan_out_lane():
                answers = await asyncio.gather(*(self._children_of(resource, mode, p) for p in batch))
            items: list[Item] = []
            for parent, children in zip(batch, answers, strict=True):
                report.fetched += len(children)
                ctx = await self._context(resource, None, parent=parent)
                items.extend(self._items(resource, children, ctx, report))
            report.write.add(await self.sink.write(resource.name, items))
            if digests_key is not None:
                self.state.commit_hashes(
                    self.pcn, digests_key, {str(p.get(mode.parent_key)): record_digest(p) for p in batch}
                )
        return True

    async def _run_with_children(
        self,
        resource: Resource,
        children: Children,
        records: Sequence[Record],
        ctx: Context,
        report: ResourceReport,
    ) -> None:
        """Only records new or changed since the last run get their sub-list fetched and are written."""
        digests_key = f"{resource.name}#records"
        known = self.state.get_hashes(self.pcn, digests_key)
        for record in records:
            if not isinstance(record, Mapping):  # no key, no sub-list to fetch: quarantined here
                self._quarantine(resource, record, _not_an_object(record), report)
        todo = [(r, joined_key(r, resource.key), record_digest(r)) for r in records if isinstance(r, Mapping)]
        todo = [(r, k, d) for r, k, d in todo if known.get(k) != d]
        for batch in _ramped(todo):
            if self.should_stop():
                return
            with fan_out_lane():
                subs = await asyncio.gather(
                    *(
                        self._fetch_path(
                            children.path.format(parent=_segment(r.get(children.parent_key))), None
                        )
                        for r, _, _ in batch
                    )
                )
            enriched = [{**r, children.attach_as: sub} for (r, _, _), sub in zip(batch, subs, strict=True)]
            report.write.add(
                await self.sink.write(resource.name, self._items(resource, enriched, ctx, report))
            )
            self.state.commit_hashes(self.pcn, digests_key, {k: d for _, k, d in batch})

    # ---------------------------------------------------------------- fetch, transform

    async def _fetch(self, resource: Resource, window: TimeRange | None) -> list[dict[str, Any]]:
        mode = resource.mode
        if resource.api == "datasource":
            self.plex_calls += 1
            source_id = _source_id(resource)
            if isinstance(mode, DataSourceWindow) and window is not None:
                return await self.source.execute_datasource_window(
                    source_id, resource.datasource_inputs, mode.begin_input, mode.end_input, window
                )
            return await self.source.execute_datasource(source_id, resource.datasource_inputs)
        if resource.post_bodies is not None:
            bodies = resource.post_bodies(await self._context(resource, window))
            self.plex_calls += len(bodies)
            answers = await asyncio.gather(*(self.source.post_list(resource.path, body) for body in bodies))
            return [row for rows in answers for row in rows]
        params: dict[str, str | Sequence[str]] = dict(resource.params)
        if isinstance(mode, Window) and window is not None:
            params[mode.begin_param] = format_plex_datetime(window.begin)
            params[mode.end_param] = format_plex_datetime(window.end)
        return await self._fetch_path(resource.path, params)

    async def _fetch_path(
        self, path: str, params: Mapping[str, str | Sequence[str]] | None
    ) -> list[dict[str, Any]]:
        self.plex_calls += 1
        return await self.source.get_list(path, params)

    async def _children_of(self, resource: Resource, mode: PerParent, parent: Record) -> list[dict[str, Any]]:
        value = str(parent.get(mode.parent_key))
        params: dict[str, str | Sequence[str]] = dict(resource.params)
        if mode.param is not None:
            params[mode.param] = value
        path = resource.path.format(parent=_segment(value))
        self.plex_calls += 1
        if mode.object:
            answer = await self.source.get_object(path, params or None)
            return [] if answer is None else [answer]
        return await self.source.get_list(path, params)

    async def _context(
        self, resource: Resource, window: TimeRange | None, parent: Record | None = None
    ) -> Context:
        lookups = {name: await self.records_of(name, window) for name in resource.lookup}
        return Context(
            pcn=self.pcn,
            resource=resource.name,
            now=self.clock(),
            window=window,
            lookups=lookups,
            parent=parent,
        )

    def _items(
        self, resource: Resource, records: Sequence[Record], ctx: Context, report: ResourceReport
    ) -> list[Item]:
        """Transform every record; a record the transform cannot map is quarantined and counted."""
        items: list[Item] = []
        for record in records:
            try:
                if not isinstance(record, Mapping):
                    raise _not_an_object(record)
                items.extend(resource.transform(record, ctx))
            except Exception as exc:
                self._quarantine(resource, record, exc, report)
                continue
            if self.raw_copy:
                items.append(RawRow(resource.name, _raw_key(resource, record, ctx), record))
        if resource.finish is not None:
            objects = [r for r in records if isinstance(r, Mapping)]  # the others are quarantined above
            try:
                items.extend(resource.finish(objects, ctx))
            except Exception as exc:
                self._quarantine(resource, {"window": str(ctx.window)}, exc, report)
        return dedupe(items)

    def _quarantine(self, resource: Resource, record: object, exc: Exception, report: ResourceReport) -> None:
        report.quarantined += 1
        if report.quarantined <= QUARANTINE_LOG_LIMIT:
            key = joined_key(record, resource.key) if isinstance(record, Mapping) else repr(record)[:80]
            log.warning("%s: record %r quarantined: %s: %s", resource.name, key, type(exc).__name__, exc)

    def _warn_once(self, slot: str, message: str) -> None:
        if slot not in self._warned:
            self._warned.add(slot)
            log.warning("%s", message)


def _segmented(items: list[Item], window: TimeRange) -> list[Item]:
    """Points computed over a window belong to that window: their change detection is per window."""
    segment = window.begin.isoformat()
    return [
        replace(item, segment=segment) if isinstance(item, Datapoints) and not item.latest_only else item
        for item in items
    ]


def _not_an_object(record: object) -> TypeError:
    return TypeError(f"record is a {type(record).__name__}, not an object")


@dataclass
class WindowBatch:
    """Consecutive windows of one resource whose items are written together."""

    resource: Resource
    key: str  # the watermark's key
    windows: list[TimeRange] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)

    def add(self, window: TimeRange, items: list[Item]) -> None:
        self.windows.append(window)
        self.items.extend(items)


def backfill_key(resource: str, window: TimeRange) -> str:
    """The watermark key of one backfill range, so an interrupted backfill resumes where it stopped."""
    return f"{resource}#backfill:{window.begin.isoformat()}:{window.end.isoformat()}"


def _raw_key(resource: Resource, record: Record, ctx: Context) -> str:
    joined = joined_key(record, resource.key)
    if ctx.parent is not None and isinstance(resource.mode, PerParent):
        joined = f"{ctx.parent.get(resource.mode.parent_key)}|{joined}"
    return joined if 0 < len(joined) <= 200 else hashed_key(joined)  # CDF refuses an empty RAW key


def _segment(value: object) -> str:
    """A record's value as one URL path segment (escaped, so an odd id cannot reach another path)."""
    return quote(str(value), safe="")


def _source_id(resource: Resource) -> int:
    if resource.datasource_id is None:
        raise ValueError(f"{resource.name}: a data-source row needs datasource_id")
    return resource.datasource_id


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


def _ramped(values: Sequence[T]) -> Iterable[Sequence[T]]:
    """Batches of FIRST_BATCH, doubling up to PARENT_BATCH: the first children are written after a few
    calls, later ones in full batches."""
    start, size = 0, FIRST_BATCH
    while start < len(values):
        yield values[start : start + size]
        start, size = start + size, min(size * 2, PARENT_BATCH)
