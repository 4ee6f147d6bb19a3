"""The CDF writer: every item lands once, stays current, links to its assets, and survives a crash.

Per `write` call, kinds go in dependency order (assets, time series, events, relationships, datapoints,
RAW). Only items whose content hash differs from the last acknowledged write are sent; a batch's hashes
are committed right after CDF acknowledged that batch, so a crash at any instant costs at most a rewrite.
Items the state has never seen are created (a 409 turns the clashing ones into updates, which is what a
rerun after a crash meets); seen ones are updated in *replace* mode (a 400 `missing` turns them into
creates). After a 5xx or timeout on a create, CDF is asked which of the items it now holds before
anything is sent again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from cognite.client import AsyncCogniteClient

from plex_cdf.cdf.hashing import (
    INACTIVE_PREFIX,
    PENDING_SUFFIX,
    content_hash,
    kind_of,
    kind_of_hash,
    state_key,
)
from plex_cdf.cdf.hierarchy import hierarchy_order
from plex_cdf.cdf.limits import RAW_KEY_MAX, Alterations, fit_external_id, fit_point
from plex_cdf.cdf.payloads import (
    asset_body,
    event_body,
    relationship_body,
    replace_update,
    time_series_body,
)
from plex_cdf.cdf.resolver import AssetIds
from plex_cdf.cdf.transport import CdfApi, Duplicated, Json, Missing, OutcomeUnknown, Rejected, SdkApi
from plex_cdf.items import Asset, Datapoints, DataSetKey, Event, Item, RawRow, Relationship, TimeSeries
from plex_cdf.ports import StateStore, WriteReport

ITEMS_PER_CALL = 1000  # CDF's create/update/byids limit for classic resources
DATAPOINT_SERIES_PER_CALL = 10_000
DATAPOINTS_PER_CALL = 100_000
RAW_ROWS_PER_CALL = 10_000
MAX_ATTEMPTS = 4  # sends of one batch after unknown outcomes before the error is raised
PENDING_KEY = "cdf.pending_links"
PATHS: Mapping[str, str] = {
    "asset": "/assets",
    "event": "/events",
    "timeseries": "/timeseries",
    "relationship": "/relationships",
}
KIND_ORDER = ("asset", "timeseries", "event", "relationship", "datapoints", "raw")
WRITE_OPS = frozenset({"create", "update", "insert"})

log = logging.getLogger(__name__)


@dataclass
class WriterCounters:
    """Totals since the writer was made: alterations by kind of cut, calls by `kind.op`, links waiting."""

    alterations: Alterations = field(default_factory=Alterations)
    calls: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)  # items CDF refused, by kind
    unresolved_links: int = 0
    assets_waiting: int = 0

    @property
    def write_calls(self) -> int:
        return sum(n for name, n in self.calls.items() if name.rsplit(".", 1)[-1] in WRITE_OPS)


@dataclass
class Planned:
    """One changed item on its way: where its hash goes and the body to send."""

    resource: str
    key: str  # `{kind}:{external id}` in the state
    digest: str
    item: Item
    body: Json = field(default_factory=dict)
    missing_links: tuple[str, ...] = ()

    @property
    def committed_digest(self) -> str:
        return self.digest + PENDING_SUFFIX if self.missing_links else self.digest


def _inactive_due(hashes: Mapping[str, str], external_ids: Sequence[str], kind: str) -> list[str]:
    """The external ids of `kind` (asset or event) written and not yet flagged inactive."""
    return [
        xid
        for xid in external_ids
        if (value := hashes.get(xid))
        and not value.startswith(INACTIVE_PREFIX)
        and kind_of_hash(value) == kind
    ]


def _chunks(seq: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [seq[i : i + size] for i in range(0, len(seq), size)]


class Writer:
    """A `plex_cdf.ports.Sink` writing to CDF for one tenant (PCN)."""

    def __init__(
        self,
        client: AsyncCogniteClient | CdfApi,
        pcn: str,
        data_set_ids: Mapping[str, int],
        state: StateStore,
        raw_database: str | None = None,
        max_concurrency: int = 4,
    ) -> None:
        self._api: CdfApi = SdkApi(client) if isinstance(client, AsyncCogniteClient) else client
        self.pcn = pcn
        self._data_set_ids = dict(data_set_ids)
        self._state = state
        self._raw_database = raw_database
        self._gate = asyncio.Semaphore(max_concurrency)
        self.counters = WriterCounters()
        self._assets = AssetIds(self._api, self.counters.calls)
        self._hashes: dict[str, dict[str, str]] = {}
        self._waiting: dict[str, Planned] = {}  # asset external id -> asset whose parent is not in CDF
        self._pending: dict[str, dict[str, Any]] | None = None  # loaded from the state on first use

    # -- Sink -------------------------------------------------------------------------------------------

    async def write(self, resource: str, items: Sequence[Item]) -> WriteReport:
        report = WriteReport()
        planned = self._plan(resource, items, report)
        await self._write_assets(planned["asset"], report)
        await self._write_time_series(planned["timeseries"], report)
        await self._write_events(planned["event"], report)
        await self._write_plain("relationship", planned["relationship"], report)
        await self._write_datapoints(planned["datapoints"], report)
        await self._write_raw(planned["raw"], report)
        report.unresolved_links = len(self._waiting) + len(self._pending_links())
        self.counters.unresolved_links = report.unresolved_links
        self.counters.assets_waiting = len(self._waiting)
        return report

    async def mark_inactive(self, resource: str, external_ids: Sequence[str]) -> WriteReport:
        """Metadata `plex_active` = "false" on assets/events; the hash changes so a return rewrites it."""
        report = WriteReport()
        hashes = self._hashes_of(resource)
        for kind in ("asset", "event"):
            due = _inactive_due(hashes, external_ids, kind)
            for chunk in _chunks(due, ITEMS_PER_CALL):
                await self._flag_inactive(resource, kind, list(chunk), report)
        return report

    async def link_pending(self) -> WriteReport:
        """Retry waiting assets and asset links of events and time series written before their assets."""
        report = WriteReport()
        waiting = list(self._waiting.values())
        self._waiting.clear()
        await self._write_assets(waiting, report)
        pending = self._pending_links()
        await self._assets.look_up(xid for entry in pending.values() for xid in entry["assets"])
        linkable = {
            xid: entry
            for xid, entry in pending.items()
            if all(self._assets.known(a) for a in entry["assets"])
        }
        for kind in ("event", "timeseries"):
            entries = [(xid, e) for xid, e in linkable.items() if e["kind"] == kind]
            for chunk in _chunks(entries, ITEMS_PER_CALL):
                await self._link(kind, list(chunk), report)
        report.unresolved_links = len(self._waiting) + len(self._pending_links())
        self.counters.unresolved_links = report.unresolved_links
        self.counters.assets_waiting = len(self._waiting)
        return report

    # -- planning ---------------------------------------------------------------------------------------

    def _plan(self, resource: str, items: Sequence[Item], report: WriteReport) -> dict[str, list[Planned]]:
        """Changed items by kind, the last one winning when an external id repeats."""
        hashes = self._hashes_of(resource)
        latest: dict[str, Planned] = {}
        for item in items:
            key = state_key(item)
            if key in latest:
                self.counters.alterations["duplicate_in_batch"] += 1
                report.altered += 1
            latest[key] = Planned(resource, key, content_hash(item, self._data_set_id(item)), item)
        planned: dict[str, list[Planned]] = {kind: [] for kind in KIND_ORDER}
        for entry in latest.values():
            if hashes.get(entry.key) == entry.digest:
                report.unchanged += 1
            else:
                planned[kind_of(entry.item)].append(entry)
        return planned

    def _data_set_id(self, item: Item) -> int | None:
        key: DataSetKey | None = getattr(item, "data_set", None)
        return None if key is None else self._data_set_ids.get(key)

    def _hashes_of(self, resource: str) -> dict[str, str]:
        if resource not in self._hashes:
            self._hashes[resource] = self._state.get_hashes(self.pcn, resource)
        return self._hashes[resource]

    def _is_known(self, entry: Planned) -> bool:
        return entry.key in self._hashes_of(entry.resource)

    def _commit(self, entries: Iterable[Planned]) -> None:
        """Record acknowledged writes: their hashes, per resource, in one state commit each."""
        by_resource: dict[str, dict[str, str]] = {}
        for entry in entries:
            by_resource.setdefault(entry.resource, {})[entry.key] = entry.committed_digest
        for resource, hashes in by_resource.items():
            self._state.commit_hashes(self.pcn, resource, hashes)
            self._hashes_of(resource).update(hashes)

    def _alteration_total(self) -> int:
        return sum(self.counters.alterations.values())

    def _note_altered(self, report: WriteReport, before: int) -> None:
        """Count an item once in `report.altered` if any limit cut it since `before`."""
        if self._alteration_total() > before:
            report.altered += 1

    # -- assets -----------------------------------------------------------------------------------------

    async def _write_assets(self, planned: list[Planned], report: WriteReport) -> None:
        entries = {e.body["externalId"]: e for e in self._with_bodies(planned, report)}
        for xid in list(self._waiting):
            entries.setdefault(xid, self._waiting.pop(xid))
        outside = {
            parent
            for e in entries.values()
            if (parent := e.body.get("parentExternalId")) and parent not in entries
        }
        await self._assets.look_up(outside)
        ready, waiting = hierarchy_order([e.body for e in entries.values()], self._assets.known)
        for body in waiting:
            self._waiting[body["externalId"]] = entries[body["externalId"]]
        for chunk in _chunks([entries[b["externalId"]] for b in ready], ITEMS_PER_CALL):
            await self._send_upserts("asset", list(chunk), report)

    def _with_bodies(self, planned: list[Planned], report: WriteReport) -> list[Planned]:
        for entry in planned:
            asset = entry.item
            assert isinstance(asset, Asset)
            before = self._alteration_total()
            entry.body = asset_body(asset, self._data_set_ids.get(asset.data_set), self.counters.alterations)
            self._note_altered(report, before)
        return planned

    # -- events and time series (linked to assets) ------------------------------------------------------

    async def _write_events(self, planned: list[Planned], report: WriteReport) -> None:
        await self._assets.look_up(
            fit_external_id(a)
            for e in planned
            if isinstance(e.item, Event)
            for a in e.item.asset_external_ids
        )
        for entry in planned:
            event = entry.item
            assert isinstance(event, Event)
            links = [fit_external_id(a) for a in event.asset_external_ids]
            entry.missing_links = tuple(a for a in links if not self._assets.known(a))
            ids = [i for a in links if (i := self._assets.get(a)) is not None]
            before = self._alteration_total()
            entry.body = event_body(
                event, self._data_set_ids.get(event.data_set), ids, self.counters.alterations
            )
            self._note_altered(report, before)
        await self._send_concurrently("event", planned, report)

    async def _write_time_series(self, planned: list[Planned], report: WriteReport) -> None:
        await self._assets.look_up(
            fit_external_id(e.item.asset_external_id)
            for e in planned
            if isinstance(e.item, TimeSeries) and e.item.asset_external_id
        )
        for entry in planned:
            series = entry.item
            assert isinstance(series, TimeSeries)
            link = fit_external_id(series.asset_external_id) if series.asset_external_id else None
            entry.missing_links = (link,) if link and not self._assets.known(link) else ()
            asset_id = self._assets.get(link) if link else None
            before = self._alteration_total()
            entry.body = time_series_body(
                series, self._data_set_ids.get(series.data_set), asset_id, self.counters.alterations
            )
            self._note_altered(report, before)
        await self._send_concurrently("timeseries", planned, report)

    async def _write_plain(self, kind: str, planned: list[Planned], report: WriteReport) -> None:
        for entry in planned:
            relationship = entry.item
            assert isinstance(relationship, Relationship)
            before = self._alteration_total()
            entry.body = relationship_body(
                relationship, self._data_set_ids.get(relationship.data_set), self.counters.alterations
            )
            self._note_altered(report, before)
        await self._send_concurrently(kind, planned, report)

    async def _send_concurrently(self, kind: str, planned: list[Planned], report: WriteReport) -> None:
        await asyncio.gather(
            *(self._send_upserts(kind, list(chunk), report) for chunk in _chunks(planned, ITEMS_PER_CALL))
        )

    # -- create/update with recovery --------------------------------------------------------------------

    async def _send_upserts(self, kind: str, entries: list[Planned], report: WriteReport) -> None:
        """Create the never-seen, update the seen; then record hashes and pending links. A batch CDF
        rejects for its content is halved until the invalid items are found; they are counted, logged and
        left uncommitted (so tried again next run), and the rest land."""
        creates = [e.body for e in entries if not self._is_known(e)]
        updates = [e.body for e in entries if self._is_known(e)]
        try:
            answers = await self._create(kind, creates, report) if creates else []
            answers += await self._update(kind, updates, report) if updates else []
        except Rejected as err:
            if len(entries) == 1:
                self._reject(kind, entries[0], err, report)
                return
            half = len(entries) // 2
            await self._send_upserts(kind, entries[:half], report)
            await self._send_upserts(kind, entries[half:], report)
            return
        if kind == "asset":
            self._assets.learn(answers)
        self._remember_links(kind, entries)
        self._commit(entries)
        report.written += len(entries)
        report.by_kind[kind] = report.by_kind.get(kind, 0) + len(entries)

    def _reject(self, kind: str, entry: Planned, err: Rejected, report: WriteReport) -> None:
        self.counters.rejected[kind] += 1
        report.by_kind[f"{kind}_rejected"] = report.by_kind.get(f"{kind}_rejected", 0) + 1
        log.warning("CDF refused %s %s of %s: %s", kind, entry.body.get("externalId"), entry.resource, err)

    async def _call(
        self,
        kind: str,
        op: str,
        path: str,
        body: Json,
        report: WriteReport,
        params: Mapping[str, str] | None = None,
    ) -> Json:
        self.counters.calls[f"{kind}.{op}"] += 1
        if op in WRITE_OPS:
            report.write_calls += 1
        async with self._gate:
            return await self._api.post(path, body, params)

    async def _create(
        self, kind: str, bodies: list[Json], report: WriteReport, attempt: int = 1
    ) -> list[Json]:
        try:
            answer = await self._call(kind, "create", PATHS[kind], {"items": bodies}, report)
            return list(answer.get("items", []))
        except Duplicated as err:
            clash = set(err.external_ids)
            return await self._split(kind, bodies, clash, report, attempt)
        except Missing as err:  # e.g. a parent CDF no longer holds: the items cannot be created as they are
            raise Rejected(str(err)) from err
        except OutcomeUnknown:
            if attempt >= MAX_ATTEMPTS:
                raise
            held = await self._held(kind, [b["externalId"] for b in bodies], report)
            return await self._split(kind, bodies, held, report, attempt)

    async def _split(
        self, kind: str, bodies: list[Json], existing: set[str], report: WriteReport, attempt: int
    ) -> list[Json]:
        """Update what CDF holds, create the rest."""
        old = [b for b in bodies if b["externalId"] in existing]
        new = [b for b in bodies if b["externalId"] not in existing]
        answers = await self._update(kind, old, report, attempt + 1) if old else []
        return answers + (await self._create(kind, new, report, attempt + 1) if new else [])

    async def _update(
        self, kind: str, bodies: list[Json], report: WriteReport, attempt: int = 1
    ) -> list[Json]:
        items = [replace_update(kind, b) for b in bodies]
        try:
            answer = await self._call(kind, "update", PATHS[kind] + "/update", {"items": items}, report)
            return list(answer.get("items", []))
        except Missing as err:
            if attempt >= MAX_ATTEMPTS:
                raise
            absent = set(err.external_ids)
            present = {b["externalId"] for b in bodies} - absent
            return await self._split(kind, bodies, present, report, attempt)
        except OutcomeUnknown:
            if attempt >= MAX_ATTEMPTS:
                raise
            return await self._update(kind, bodies, report, attempt + 1)

    async def _held(self, kind: str, external_ids: list[str], report: WriteReport) -> set[str]:
        body = {"items": [{"externalId": x} for x in external_ids], "ignoreUnknownIds": True}
        answer = await self._call(kind, "byids", PATHS[kind] + "/byids", body, report)
        if kind == "asset":
            self._assets.learn(answer.get("items", []))
        return {str(item["externalId"]) for item in answer.get("items", [])}

    # -- pending links ----------------------------------------------------------------------------------

    def _pending_links(self) -> dict[str, dict[str, Any]]:
        if self._pending is None:
            self._pending = dict(self._state.get_value(self.pcn, PENDING_KEY) or {})
        return self._pending

    def _remember_links(self, kind: str, entries: list[Planned]) -> None:
        """Persist which written items still wait for assets, before their hashes are committed."""
        pending = self._pending_links()
        before = len(pending)
        changed = False
        for entry in entries:
            xid = entry.body.get("externalId")
            if entry.missing_links:
                links = self._links_of(entry.item)
                pending[str(xid)] = {
                    "kind": kind,
                    "resource": entry.resource,
                    "key": entry.key,
                    "digest": entry.digest,
                    "assets": links,
                }
                changed = True
            elif xid in pending:
                del pending[str(xid)]
                changed = True
        if changed or len(pending) != before:
            self._state.set_value(self.pcn, PENDING_KEY, pending)

    @staticmethod
    def _links_of(item: Item) -> list[str]:
        if isinstance(item, Event):
            return [fit_external_id(a) for a in item.asset_external_ids]
        if isinstance(item, TimeSeries) and item.asset_external_id:
            return [fit_external_id(item.asset_external_id)]
        return []

    async def _link(self, kind: str, entries: list[tuple[str, dict[str, Any]]], report: WriteReport) -> None:
        items = [self._link_update(kind, xid, entry) for xid, entry in entries]
        try:
            await self._call(kind, "update", PATHS[kind] + "/update", {"items": items}, report)
        except Missing as err:
            gone = set(err.external_ids)
            for xid in gone:
                del self._pending_links()[xid]
            entries = [(xid, e) for xid, e in entries if xid not in gone]
            if entries:
                await self._link(kind, entries, report)
            return
        pending = self._pending_links()
        for xid, entry in entries:
            del pending[xid]
            self._state.commit_hashes(self.pcn, entry["resource"], {entry["key"]: entry["digest"]})
            self._hashes_of(entry["resource"])[entry["key"]] = entry["digest"]
        self._state.set_value(self.pcn, PENDING_KEY, pending)
        report.written += len(entries)
        report.by_kind[f"{kind}_linked"] = report.by_kind.get(f"{kind}_linked", 0) + len(entries)

    def _link_update(self, kind: str, xid: str, entry: Mapping[str, Any]) -> Json:
        ids = sorted({i for a in entry["assets"] if (i := self._assets.get(a)) is not None})
        field_update: Json = {"assetIds": {"set": ids}} if kind == "event" else {"assetId": {"set": ids[0]}}
        return {"externalId": xid, "update": field_update}

    # -- mark inactive ----------------------------------------------------------------------------------

    async def _flag_inactive(self, resource: str, kind: str, keys: list[str], report: WriteReport) -> None:
        xids = [fit_external_id(k) for k in keys]
        items = [{"externalId": x, "update": {"metadata": {"add": {"plex_active": "false"}}}} for x in xids]
        try:
            await self._call(kind, "update", PATHS[kind] + "/update", {"items": items}, report)
        except Missing as err:
            gone = set(err.external_ids)
            kept = [k for k, x in zip(keys, xids, strict=True) if x not in gone]
            if kept:
                await self._flag_inactive(resource, kind, kept, report)
            return
        hashes = self._hashes_of(resource)
        flagged = {k: INACTIVE_PREFIX + hashes[k] for k in keys}
        self._state.commit_hashes(self.pcn, resource, flagged)
        hashes.update(flagged)
        report.written += len(keys)
        report.by_kind[f"{kind}_inactive"] = report.by_kind.get(f"{kind}_inactive", 0) + len(keys)

    # -- datapoints -------------------------------------------------------------------------------------

    async def _write_datapoints(self, planned: list[Planned], report: WriteReport) -> None:
        for entry in planned:
            before = self._alteration_total()
            entry.body = self._datapoints_body(entry.item)
            self._note_altered(report, before)
        sendable = [e for e in planned if e.body["datapoints"]]
        self._commit(e for e in planned if not e.body["datapoints"])
        batches = self._datapoint_batches(sendable)
        await asyncio.gather(*(self._insert_datapoints(batch, report) for batch in batches))

    def _datapoints_body(self, item: Item) -> Json:
        assert isinstance(item, Datapoints)
        points = sorted(item.points, key=lambda p: p[0])
        if item.latest_only:
            points = points[-1:]
        fitted = [p for t, v in points if (p := fit_point(t, v, self.counters.alterations)) is not None]
        return {
            "externalId": fit_external_id(item.external_id),
            "datapoints": [{"timestamp": t, "value": v} for t, v in fitted],
        }

    @staticmethod
    def _datapoint_batches(planned: list[Planned]) -> list[list[Planned]]:
        """Up to 10,000 series and 100,000 points per call; a longer series is split across calls."""
        batches: list[list[Planned]] = [[]]
        points = 0
        for entry in planned:
            for part in _chunks(entry.body["datapoints"], DATAPOINTS_PER_CALL):
                if len(batches[-1]) >= DATAPOINT_SERIES_PER_CALL or points + len(part) > DATAPOINTS_PER_CALL:
                    batches.append([])
                    points = 0
                piece = Planned(entry.resource, entry.key, entry.digest, entry.item, dict(entry.body))
                piece.body["datapoints"] = list(part)
                batches[-1].append(piece)
                points += len(part)
        return [b for b in batches if b]

    async def _insert_datapoints(self, batch: list[Planned], report: WriteReport, attempt: int = 1) -> None:
        try:
            await self._call(
                "datapoints", "insert", "/timeseries/data", {"items": [e.body for e in batch]}, report
            )
        except Missing as err:
            unknown = set(err.external_ids)
            self.counters.alterations["datapoints.series_missing"] += len(unknown)
            report.by_kind["datapoints_series_missing"] = report.by_kind.get(
                "datapoints_series_missing", 0
            ) + len(unknown)
            batch = [e for e in batch if e.body["externalId"] not in unknown]
            if batch and attempt < MAX_ATTEMPTS:
                await self._insert_datapoints(batch, report, attempt + 1)
            return
        except OutcomeUnknown:
            if attempt >= MAX_ATTEMPTS:
                raise
            await self._insert_datapoints(batch, report, attempt + 1)
            return
        self._commit(batch)
        report.written += len(batch)
        report.by_kind["datapoints"] = report.by_kind.get("datapoints", 0) + len(batch)

    # -- RAW --------------------------------------------------------------------------------------------

    async def _write_raw(self, planned: list[Planned], report: WriteReport) -> None:
        if not planned:
            return
        if self._raw_database is None:
            report.by_kind["raw_skipped"] = report.by_kind.get("raw_skipped", 0) + len(planned)
            return
        by_table: dict[str, list[Planned]] = {}
        for entry in planned:
            row = entry.item
            assert isinstance(row, RawRow)
            key = row.key if len(row.key) <= RAW_KEY_MAX else fit_external_id(row.key)
            if key != row.key:
                self.counters.alterations["raw.key"] += 1
                report.altered += 1
            entry.body = {"key": key, "columns": dict(row.columns)}
            by_table.setdefault(row.table, []).append(entry)
        await asyncio.gather(
            *(
                self._insert_rows(table, list(chunk), report)
                for table, entries in by_table.items()
                for chunk in _chunks(entries, RAW_ROWS_PER_CALL)
            )
        )

    async def _insert_rows(self, table: str, entries: list[Planned], report: WriteReport) -> None:
        path = f"/raw/dbs/{quote(str(self._raw_database), safe='')}/tables/{quote(table, safe='')}/rows"
        body = {"items": [e.body for e in entries]}
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                await self._call("raw", "insert", path, body, report, {"ensureParent": "true"})
                break
            except OutcomeUnknown:
                if attempt == MAX_ATTEMPTS:
                    raise
        self._commit(entries)
        report.written += len(entries)
        report.by_kind["raw"] = report.by_kind.get("raw", 0) + len(entries)


class DryRunSink:
    """A `Sink` that plans exactly like the Writer (hashes from the state, limits) and sends nothing.

    `written` counts what would be created or updated; the state is only read, never committed.
    """

    def __init__(self, pcn: str, data_set_ids: Mapping[str, int], state: StateStore | None = None) -> None:
        self.pcn = pcn
        self._data_set_ids = dict(data_set_ids)
        self._state = state
        self.counters = WriterCounters()
        self.planned: Counter[str] = Counter()  # would-write items by kind

    def _hashes(self, resource: str) -> dict[str, str]:
        return {} if self._state is None else self._state.get_hashes(self.pcn, resource)

    async def write(self, resource: str, items: Sequence[Item]) -> WriteReport:
        report = WriteReport()
        hashes = self._hashes(resource)
        latest = {state_key(item): item for item in items}
        for key, item in latest.items():
            if hashes.get(key) == content_hash(item, self._data_set_id(item)):
                report.unchanged += 1
                continue
            before = sum(self.counters.alterations.values())
            _preview_body(item, self._data_set_ids, self.counters.alterations)
            report.altered += int(sum(self.counters.alterations.values()) > before)
            kind = kind_of(item)
            report.written += 1
            report.by_kind[kind] = report.by_kind.get(kind, 0) + 1
            self.planned[kind] += 1
        return report

    def _data_set_id(self, item: Item) -> int | None:
        key: DataSetKey | None = getattr(item, "data_set", None)
        return None if key is None else self._data_set_ids.get(key)

    async def mark_inactive(self, resource: str, external_ids: Sequence[str]) -> WriteReport:
        hashes = self._hashes(resource)
        due = [xid for kind in ("asset", "event") for xid in _inactive_due(hashes, external_ids, kind)]
        self.planned["inactive"] += len(due)
        return WriteReport(written=len(due), by_kind={"inactive": len(due)} if due else {})

    async def link_pending(self) -> WriteReport:
        return WriteReport()


def _preview_body(item: Item, data_set_ids: Mapping[str, int], alterations: Alterations) -> None:
    """Build the body the Writer would send, for its limit alterations only (links left unresolved)."""
    data_set_id = data_set_ids.get(getattr(item, "data_set", ""))
    if isinstance(item, Asset):
        asset_body(item, data_set_id, alterations)
    elif isinstance(item, Event):
        event_body(item, data_set_id, (), alterations)
    elif isinstance(item, TimeSeries):
        time_series_body(item, data_set_id, None, alterations)
    elif isinstance(item, Relationship):
        relationship_body(item, data_set_id, alterations)
    elif isinstance(item, Datapoints):
        for timestamp, value in item.points:
            fit_point(timestamp, value, alterations)
