"""The CDF writer: every item lands once, stays current, links to its assets, and survives a crash.

Per `write` call, kinds go in dependency order (assets, time series, events, relationships, datapoints,
RAW). Only items whose content hash differs from the last acknowledged write are sent (`plan.py`); a
batch's hashes are committed right after CDF acknowledged that batch, so a crash at any instant costs at
most a rewrite. How a batch is sent and recovered is in `calls.py`; waiting asset links in `links.py`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from cognite.client import AsyncCogniteClient

from plex_cdf.cdf.calls import PATHS, CdfCalls
from plex_cdf.cdf.dryrun import DryRunSink
from plex_cdf.cdf.hashing import INACTIVE_PREFIX, state_key
from plex_cdf.cdf.hierarchy import hierarchy_order
from plex_cdf.cdf.limits import RAW_KEY_MAX, fit_external_id
from plex_cdf.cdf.links import PendingLinks, link_update, links_of
from plex_cdf.cdf.payloads import asset_body, event_body, relationship_body, time_series_body
from plex_cdf.cdf.plan import (
    Planned,
    WriterCounters,
    chunks,
    commit_planned,
    count_kind,
    data_set_id,
    delete_in_chunks,
    inactive_due,
    plan_changes,
    retire_vanished,
)
from plex_cdf.cdf.points import datapoint_batches, datapoints_body, merged_by_series
from plex_cdf.cdf.resolver import AssetIds
from plex_cdf.cdf.transport import ATTEMPTS, CdfApi, Missing, Rejected, SdkApi, resend_on_unknown
from plex_cdf.items import Asset, Datapoints, Event, Item, RawRow, Relationship, TimeSeries, item_id
from plex_cdf.ports import Expiry, Point, StateStore, WriteReport

__all__ = ["DryRunSink", "Writer", "WriterCounters"]

ITEMS_PER_CALL = 1000  # CDF's create/update/byids limit for classic resources
INACTIVE_KEY = "plexActive"  # metadata key of a vanished record (the one metadata style: lowerCamelCase)
RAW_ROWS_PER_CALL = 10_000

log = logging.getLogger(__name__)


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
        api: CdfApi = SdkApi(client) if isinstance(client, AsyncCogniteClient) else client
        self.pcn = pcn
        self.counters = WriterCounters()
        self._data_set_ids = dict(data_set_ids)
        self._state = state
        self._raw_database = raw_database
        self._cdf = CdfCalls(api, self.counters.calls, max_concurrency)
        self._assets = AssetIds(api, self.counters.calls)
        self._waiting: dict[str, Planned[Asset]] = {}  # asset external id -> asset whose parent is not in CDF
        self._pending = PendingLinks(state, pcn)

    # -- Sink -------------------------------------------------------------------------------------------

    async def write(self, resource: str, items: Sequence[Item]) -> WriteReport:
        report = WriteReport()
        # Only this batch's hashes are read: memory stays bounded however long the history.
        hashes = self._state.get_hashes_for(self.pcn, resource, [state_key(item) for item in items])
        plan = plan_changes(resource, items, hashes, self._data_set_ids, self.counters, report)
        await self._write_assets(plan.asset, report)
        await self._write_time_series(plan.timeseries, report)
        await self._write_events(plan.event, report)
        await self._write_relationships(plan.relationship, report)
        await self._write_datapoints(plan.datapoints, report)
        await self._write_raw(plan.raw, report)
        self._note_unresolved(report)
        return report

    async def mark_inactive(self, resource: str, external_ids: Sequence[str]) -> WriteReport:
        """Metadata `plexActive` = "false" on assets/events; the hash changes so a return rewrites it."""
        report = WriteReport()
        hashes = self._state.get_hashes_for(self.pcn, resource, external_ids)
        for kind in ("asset", "event"):
            for chunk in chunks(inactive_due(hashes, external_ids, kind), ITEMS_PER_CALL):
                await self._flag_inactive(resource, kind, list(chunk), report)
        return report

    async def retire_vanished(
        self,
        resource: str,
        kept: Sequence[Item],
        *,
        mark_inactive: bool,
        end_point: Point | None,
        expiry: Expiry | None = None,
    ) -> WriteReport:
        return await retire_vanished(
            self,
            self._state,
            self.pcn,
            resource,
            kept,
            mark_inactive=mark_inactive,
            end_point=end_point,
            expiry=expiry,
        )

    async def delete(self, resource: str, external_ids: Sequence[str]) -> WriteReport:
        """Assets deleted 1,000 per call (an id already gone is no error); their state forgotten."""
        return await delete_in_chunks(
            self._state,
            self.pcn,
            resource,
            external_ids,
            ITEMS_PER_CALL,
            self._delete_assets,
            "asset_deleted",
        )

    async def _delete_assets(self, keys: list[str], report: WriteReport) -> None:
        body = {"items": [{"externalId": fit_external_id(k)} for k in keys], "ignoreUnknownIds": True}
        # Deleting again is harmless: an unknown outcome is simply sent again.
        await resend_on_unknown(
            lambda: self._cdf.call("asset", "delete", PATHS["asset"] + "/delete", body, report)
        )

    async def link_pending(self) -> WriteReport:
        """Retry waiting assets, then set the asset links of items written before their assets."""
        report = WriteReport()
        waiting = list(self._waiting.values())
        self._waiting.clear()
        await self._write_assets(waiting, report)
        await self._assets.look_up(self._pending.wanted_assets())
        for kind in ("event", "timeseries"):
            for chunk in chunks(self._pending.linkable(self._assets, kind), ITEMS_PER_CALL):
                await self._link(kind, list(chunk), report)
        self._note_unresolved(report)
        return report

    def _note_unresolved(self, report: WriteReport) -> None:
        """Links still waiting after this call, over all resources of the tenant."""
        report.unresolved_links = len(self._waiting) + len(self._pending)
        self.counters.unresolved_links = report.unresolved_links
        self.counters.assets_waiting = len(self._waiting)

    # -- state ------------------------------------------------------------------------------------------

    def _commit(self, entries: Iterable[Planned[Any]]) -> None:
        commit_planned(self._state, self.pcn, entries)

    def _acknowledged(self, kind: str, entries: list[Planned[Any]], report: WriteReport) -> None:
        self._commit(entries)
        report.written += len(entries)
        count_kind(report, kind, len(entries))

    def _alteration_total(self) -> int:
        return sum(self.counters.alterations.values())

    def _note_altered(self, report: WriteReport, before: int) -> None:
        """Count an item once in `report.altered` if any limit cut it since `before`."""
        if self._alteration_total() > before:
            report.altered += 1

    # -- assets -----------------------------------------------------------------------------------------

    async def _write_assets(self, planned: list[Planned[Asset]], report: WriteReport) -> None:
        """Parents first, 1,000 per call, one call after the other; orphans wait for their parents."""
        for entry in planned:
            before = self._alteration_total()
            entry.body = asset_body(
                entry.item, data_set_id(entry.item, self._data_set_ids), self.counters.alterations
            )
            self._note_altered(report, before)
        entries = {e.body["externalId"]: e for e in planned}
        for xid in list(self._waiting):
            entries.setdefault(xid, self._waiting.pop(xid))
        outside = {p for e in entries.values() if (p := e.body.get("parentExternalId")) and p not in entries}
        await self._assets.look_up(outside)
        ready, waiting = hierarchy_order([e.body for e in entries.values()], self._assets.known)
        for body in waiting:
            self._waiting[body["externalId"]] = entries[body["externalId"]]
        for chunk in chunks([entries[b["externalId"]] for b in ready], ITEMS_PER_CALL):
            await self._send_upserts("asset", list(chunk), report)

    # -- events, time series, relationships -------------------------------------------------------------

    async def _write_events(self, planned: list[Planned[Event]], report: WriteReport) -> None:
        await self._assets.look_up(a for e in planned for a in links_of(e.item))
        for entry in planned:
            links = links_of(entry.item)
            entry.missing_links = tuple(a for a in links if not self._assets.known(a))
            ids = [i for a in links if (i := self._assets.get(a)) is not None]
            before = self._alteration_total()
            data_set = data_set_id(entry.item, self._data_set_ids)
            entry.body = event_body(entry.item, data_set, ids, self.counters.alterations)
            self._note_altered(report, before)
        await self._send_concurrently("event", planned, report)

    async def _write_time_series(self, planned: list[Planned[TimeSeries]], report: WriteReport) -> None:
        await self._assets.look_up(a for e in planned for a in links_of(e.item))
        for entry in planned:
            link = next(iter(links_of(entry.item)), None)
            entry.missing_links = (link,) if link and not self._assets.known(link) else ()
            asset_id = self._assets.get(link) if link else None
            before = self._alteration_total()
            data_set = data_set_id(entry.item, self._data_set_ids)
            entry.body = time_series_body(entry.item, data_set, asset_id, self.counters.alterations)
            self._note_altered(report, before)
        await self._send_concurrently("timeseries", planned, report)

    async def _write_relationships(self, planned: list[Planned[Relationship]], report: WriteReport) -> None:
        for entry in planned:
            before = self._alteration_total()
            data_set = data_set_id(entry.item, self._data_set_ids)
            entry.body = relationship_body(entry.item, data_set, self.counters.alterations)
            self._note_altered(report, before)
        await self._send_concurrently("relationship", planned, report)

    async def _send_concurrently(self, kind: str, planned: list[Planned[Any]], report: WriteReport) -> None:
        batches = chunks(planned, ITEMS_PER_CALL)
        await asyncio.gather(*(self._send_upserts(kind, list(batch), report) for batch in batches))

    async def _send_upserts(self, kind: str, entries: list[Planned[Any]], report: WriteReport) -> None:
        """Create the never-seen, update the seen; then record pending links and hashes. A batch CDF
        rejects for its content is halved until the invalid items are found; they are counted, logged and
        left uncommitted (so tried again next run), and the rest land."""
        creates = [e.body for e in entries if not e.known]
        updates = [e.body for e in entries if e.known]
        try:
            answers = await self._cdf.upsert(kind, creates, updates, report)
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
        self._pending.remember(kind, entries)
        self._acknowledged(kind, entries, report)

    def _reject(self, kind: str, entry: Planned[Any], err: Rejected, report: WriteReport) -> None:
        self.counters.rejected[kind] += 1
        report.refused += 1
        report.refused_ids.append(item_id(entry.item))
        count_kind(report, f"{kind}_rejected", 1)
        log.warning("CDF refused %s %s of %s: %s", kind, entry.body.get("externalId"), entry.resource, err)

    # -- links and inactive flags (patches) -------------------------------------------------------------

    async def _link(
        self, kind: str, entries: list[tuple[str, dict[str, object]]], report: WriteReport
    ) -> None:
        items = [link_update(kind, xid, entry, self._assets) for xid, entry in entries]
        try:
            await self._cdf.call(kind, "update", PATHS[kind] + "/update", {"items": items}, report)
        except Missing as err:  # the item itself is gone from CDF: nothing left to link
            self._pending.forget(err.external_ids)
            rest = [(xid, e) for xid, e in entries if xid not in set(err.external_ids)]
            if rest:
                await self._link(kind, rest, report)
            return
        for _, entry in entries:
            resource, key, digest = str(entry["resource"]), str(entry["key"]), str(entry["digest"])
            self._state.commit_hashes(self.pcn, resource, {key: digest})
        self._pending.forget([xid for xid, _ in entries])
        report.written += len(entries)
        count_kind(report, f"{kind}_linked", len(entries))

    async def _flag_inactive(self, resource: str, kind: str, keys: list[str], report: WriteReport) -> None:
        xids = [fit_external_id(k) for k in keys]
        items = [{"externalId": x, "update": {"metadata": {"add": {INACTIVE_KEY: "false"}}}} for x in xids]
        try:
            await self._cdf.call(kind, "update", PATHS[kind] + "/update", {"items": items}, report)
        except Missing as err:  # gone from CDF already: nothing to flag
            gone = set(err.external_ids)
            kept = [k for k, x in zip(keys, xids, strict=True) if x not in gone]
            if kept:
                await self._flag_inactive(resource, kind, kept, report)
            return
        hashes = self._state.get_hashes_for(self.pcn, resource, keys)
        flagged = {k: INACTIVE_PREFIX + hashes[k] for k in keys}
        self._state.commit_hashes(self.pcn, resource, flagged)
        report.written += len(keys)
        count_kind(report, f"{kind}_inactive", len(keys))

    # -- datapoints -------------------------------------------------------------------------------------

    async def _write_datapoints(self, planned: list[Planned[Datapoints]], report: WriteReport) -> None:
        for entry in planned:
            before = self._alteration_total()
            entry.body = datapoints_body(entry.item, self.counters.alterations)
            self._note_altered(report, before)
        self._commit(e for e in planned if not e.body["datapoints"])  # nothing valid left to send
        sendable = [e for e in planned if e.body["datapoints"]]
        await asyncio.gather(*(self._insert_datapoints(b, report) for b in datapoint_batches(sendable)))

    async def _insert_datapoints(
        self, batch: list[Planned[Datapoints]], report: WriteReport, attempt: int = 1
    ) -> None:
        """Points of series CDF does not hold are left out (counted, not committed: tried next run)."""
        body = {"items": merged_by_series(e.body for e in batch)}
        try:  # inserting the same points again is harmless: an unknown outcome is simply sent again
            await resend_on_unknown(
                lambda: self._cdf.call("datapoints", "insert", "/timeseries/data", body, report),
                ATTEMPTS - attempt + 1,
            )
        except Missing as err:
            unknown = set(err.external_ids)
            self.counters.alterations["datapoints.series_missing"] += len(unknown)
            count_kind(report, "datapoints_series_missing", len(unknown))
            report.refused += len(unknown)
            report.refused_ids.extend(item_id(e.item) for e in batch if e.body["externalId"] in unknown)
            rest = [e for e in batch if e.body["externalId"] not in unknown]
            if rest and attempt < ATTEMPTS:
                await self._insert_datapoints(rest, report, attempt + 1)
            return
        except Rejected as err:  # e.g. text for a numeric series: find the series, let the rest land
            if len(batch) == 1:
                self._reject("datapoints", batch[0], err, report)
                return
            half = len(batch) // 2
            await self._insert_datapoints(batch[:half], report, attempt)
            await self._insert_datapoints(batch[half:], report, attempt)
            return
        self._acknowledged("datapoints", batch, report)

    # -- RAW --------------------------------------------------------------------------------------------

    async def _write_raw(self, planned: list[Planned[RawRow]], report: WriteReport) -> None:
        if not planned:
            return
        if self._raw_database is None:
            count_kind(report, "raw_skipped", len(planned))
            return
        by_table: dict[str, list[Planned[RawRow]]] = {}
        for entry in planned:
            row = entry.item
            key = row.key if len(row.key) <= RAW_KEY_MAX else fit_external_id(row.key)
            if key != row.key:
                self.counters.alterations["raw.key"] += 1
                report.altered += 1
            entry.body = {"key": key, "columns": dict(row.columns)}
            by_table.setdefault(row.table, []).append(entry)
        sends = [
            self._insert_rows(table, list(chunk), report)
            for table, entries in by_table.items()
            for chunk in chunks(entries, RAW_ROWS_PER_CALL)
        ]
        await asyncio.gather(*sends)

    async def _insert_rows(self, table: str, entries: list[Planned[RawRow]], report: WriteReport) -> None:
        """RAW inserts are upserts, so an unknown outcome is simply sent again."""
        path = f"/raw/dbs/{quote(str(self._raw_database), safe='')}/tables/{quote(table, safe='')}/rows"
        body = {"items": [e.body for e in entries]}
        await resend_on_unknown(
            lambda: self._cdf.call("raw", "insert", path, body, report, {"ensureParent": "true"})
        )
        self._acknowledged("raw", entries, report)
