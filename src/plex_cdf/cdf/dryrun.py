"""A Sink that plans exactly like the Writer (hashes from the state, CDF limits) and sends nothing.

`written` counts what would be created or updated; the state is only read, never committed; there is no
client, so a dry run cannot make a call.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from plex_cdf.cdf.limits import Alterations
from plex_cdf.cdf.payloads import asset_body, event_body, relationship_body, time_series_body
from plex_cdf.cdf.plan import (
    WriterCounters,
    count_kind,
    data_set_id,
    inactive_due,
    plan_changes,
    retire_vanished,
)
from plex_cdf.cdf.points import datapoints_body
from plex_cdf.items import Asset, Datapoints, Event, Item, Relationship, TimeSeries
from plex_cdf.ports import Expiry, Point, StateStore, WriteReport


class DryRunSink:
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
        plan = plan_changes(
            resource, items, self._hashes(resource), self._data_set_ids, self.counters, report
        )
        for kind, entries in plan.by_kind():
            for entry in entries:
                before = sum(self.counters.alterations.values())
                _preview(entry.item, data_set_id(entry.item, self._data_set_ids), self.counters.alterations)
                report.altered += int(sum(self.counters.alterations.values()) > before)
            if entries:
                report.written += len(entries)
                count_kind(report, kind, len(entries))
                self.planned[kind] += len(entries)
        return report

    async def mark_inactive(self, resource: str, external_ids: Sequence[str]) -> WriteReport:
        hashes = self._hashes(resource)
        due = [xid for kind in ("asset", "event") for xid in inactive_due(hashes, external_ids, kind)]
        self.planned["inactive"] += len(due)
        return WriteReport(written=len(due), by_kind={"inactive": len(due)} if due else {})

    async def retire_vanished(
        self,
        resource: str,
        kept: Sequence[Item],
        *,
        mark_inactive: bool,
        end_point: Point | None,
        expiry: Expiry | None = None,
    ) -> WriteReport:
        return await retire_vanished(  # what a run would delete is counted; no vanish time is kept
            self,
            self._state,
            self.pcn,
            resource,
            kept,
            mark_inactive=mark_inactive,
            end_point=end_point,
            expiry=expiry,
            record=False,
        )

    async def delete(self, resource: str, external_ids: Sequence[str]) -> WriteReport:
        self.planned["deleted"] += len(external_ids)
        deleted = len(external_ids)
        return WriteReport(deleted=deleted, by_kind={"asset_deleted": deleted} if deleted else {})

    async def link_pending(self) -> WriteReport:
        return WriteReport()


def _preview(item: Item, data_set: int | None, alterations: Alterations) -> None:
    """Build the body the Writer would send, for its limit alterations only (links left unresolved)."""
    if isinstance(item, Asset):
        asset_body(item, data_set, alterations)
    elif isinstance(item, Event):
        event_body(item, data_set, (), alterations)
    elif isinstance(item, TimeSeries):
        time_series_body(item, data_set, None, alterations)
    elif isinstance(item, Relationship):
        relationship_body(item, data_set, alterations)
    elif isinstance(item, Datapoints):
        datapoints_body(item, alterations)
