"""The data-modeling Sink: items as nodes and edges in the tenant's instance space, datapoints by instanceId.

The same promises as the classic Writer, from the same machinery: `plan.plan_changes` and the content
hashes decide what changed (unchanged: no call), an instance's hash is committed right after CDF
acknowledged the call that carried it, `plan.retire_vanished` decides what vanished,
`transport.resend_on_unknown` is the one retry. An instance apply is an upsert, so an unknown outcome is
simply sent again. The instances of every write of the tenant (its domains write concurrently) share apply
calls of up to 1,000, sent in parallel up to the writer's concurrency (`pool.ApplyPool`); `write` returns
once its own instances are acknowledged, then writes its datapoints. A call CDF refuses for its content is
halved until the refused instances are found; they are counted and left uncommitted (tried again next
run), the rest land.

Links to nodes not written yet are applied with `autoCreateDirectRelations` (and start/end nodes for
edges): CDF makes an empty node that the real one fills when it arrives, whatever the order of the calls;
`placeholders()` counts the ones still empty.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any

from cognite.client import AsyncCogniteClient

from plex_cdf.cdf.calls import CdfCalls
from plex_cdf.cdf.dm import configured, mapping, model
from plex_cdf.cdf.dm.bodies import instance_body
from plex_cdf.cdf.dm.configured import ConfiguredView
from plex_cdf.cdf.dm.derived import DerivedNodes
from plex_cdf.cdf.dm.mapping import Spaces
from plex_cdf.cdf.dm.pool import ApplyPool
from plex_cdf.cdf.hashing import INACTIVE_PREFIX, state_key
from plex_cdf.cdf.plan import (
    Plan,
    Planned,
    WriterCounters,
    chunks,
    commit_planned,
    count_kind,
    delete_in_chunks,
    inactive_due,
    plan_changes,
    retire_vanished,
)
from plex_cdf.cdf.points import datapoint_batches, datapoints_body, merged_by_series
from plex_cdf.cdf.transport import Json, Missing, Rejected, SdkApi, StatesApi, read, resend_on_unknown
from plex_cdf.items import Datapoints, Item, item_id
from plex_cdf.ports import Expiry, Point, StateStore, WriteReport

INSTANCES_PER_CALL = 1000  # CDF's limit for one instances apply
# Items of consecutive windows the runner writes together on this target (the classic one: 8,000). Each
# write ends in a part-filled apply call that waits for its own acknowledgement, so a bulk load's calls
# fill only when its groups are large (a group of 9,000 instances or more averages 900 or more per call);
# still bounded, as a group's items and bodies stay in memory until CDF has acknowledged them.
FLUSH_ITEMS = 20_000
INSTANCES_PATH = "/models/instances"
DESCRIBABLE = {"type": "container", "space": model.CDM, "externalId": "CogniteDescribable"}

log = logging.getLogger(__name__)


def view_key(resource: str) -> str:
    """The state value naming the view version a configured resource's nodes were last written through."""
    return f"dm_view:{resource}"


def _point_items(batch: list[Planned[Datapoints]]) -> list[Json]:
    """One insert item per series (its segments merged): `{instanceId, datapoints}`."""
    merged = merged_by_series(e.body for e in batch)
    return [{"instanceId": m["instanceId"], "datapoints": m["datapoints"]} for m in merged]


Send = Callable[[list[Any], WriteReport], Awaitable[None]]


class DataModelingSink:
    """A `plex_cdf.ports.Sink` writing Core Data Model instances for one tenant (PCN)."""

    def __init__(
        self,
        client: AsyncCogniteClient | StatesApi,
        pcn: str,
        spaces: Spaces,
        state: StateStore,
        max_concurrency: int = 4,
        configured: Mapping[str, ConfiguredView] | None = None,
    ) -> None:
        api: StatesApi = SdkApi(client) if isinstance(client, AsyncCogniteClient) else client
        self.pcn = pcn
        self.spaces = spaces
        self.counters = WriterCounters()
        self.apply_sizes: list[int] = []  # instances per apply call, for the bench
        self._api = api
        self._state = state
        self._cdf = CdfCalls(api, self.counters.calls, max_concurrency)
        self._source = spaces.ref(model.SOURCE_SYSTEM_ID)
        self._derived = DerivedNodes(pcn, spaces, state, self._source)
        self._configured = dict(configured or {})  # configured resources with a view, by resource name
        self._pool = ApplyPool(self._send, self._landed, self._quarantine, size=INSTANCES_PER_CALL)

    # -- Sink -------------------------------------------------------------------------------------------

    async def write(self, resource: str, items: Sequence[Item]) -> WriteReport:
        report = WriteReport()
        view = self._configured.get(resource)
        hashes = self._state.get_hashes_for(self.pcn, resource, [state_key(item) for item in items])
        new_version = view is not None and self._state.get_value(self.pcn, view_key(resource)) != view.version
        if new_version:  # a new view version of a configured resource: every record goes through it
            hashes = {}
        plan = plan_changes(resource, items, hashes, {}, self.counters, report)
        instances, raw = self._instances(plan, view, report)
        points = [e.item for e in plan.datapoints]
        send_derived = partial(self._send, report=report)
        await self._derived.ensure(items, (e.body for e in instances), points, send_derived)
        await self._pool.apply(instances, report)
        await self._write_datapoints(plan.datapoints, report)
        if raw:  # RAW rows are the classic target's side copies; this target keeps none
            self._commit(raw)
            count_kind(report, "raw_skipped", len(raw))
        if view is not None and new_version:
            self._state.set_value(self.pcn, view_key(resource), view.version)
        return report

    def _instances(
        self, plan: Plan, view: ConfiguredView | None, report: WriteReport
    ) -> tuple[list[Planned[Any]], list[Planned[Any]]]:
        """The changed items as instance bodies (plex-cdf's views, or a configured resource's view), and
        the RAW rows this target keeps no copy of (a BOM line's row is its edge)."""
        instances: list[Planned[Any]] = []
        for entry in plan.asset:
            node = mapping.asset_node(entry.item, self.spaces, self._source)
            if node is None:  # a kind this model has no view for: remembered, so not planned again
                self._state.commit_hashes(self.pcn, entry.resource, {entry.key: entry.digest})
                count_kind(report, "not_modelled", 1)
                continue
            entry.body = node
            instances.append(entry)
            edge = mapping.routing_edge(entry.item, self.spaces)
            if edge is not None:  # a routing step: its edge part -> step travels with the step's node
                instances.append(
                    Planned(entry.resource, entry.key, entry.digest, entry.item, instance_body(edge))
                )
        for ts in plan.timeseries:
            node = mapping.time_series_node(ts.item, self.spaces, self._source)
            ts.body = self._configured_body(view, "time-series", node)
            instances.append(ts)
        for event in plan.event:
            node = mapping.event_node(event.item, self.spaces, self._source)
            event.body = self._configured_body(view, "events", node)
            instances.append(event)
        rows = {row.item.key for row in plan.raw}
        for rel in plan.relationship:
            if rel.item.external_id in rows:  # a BOM line: its edge, with quantities, comes from its row
                self._commit([rel])
                continue
            rel.body = instance_body(mapping.relationship_edge(rel.item, self.spaces))
            instances.append(rel)
        raw_skipped: list[Planned[Any]] = []
        for row in plan.raw:
            if view is not None and view.target == "raw":
                row.body = instance_body(
                    configured.row_node(view, row.item, self.spaces, self._source, self.pcn)
                )
                instances.append(row)
                continue
            bom = mapping.bom_edge(row.item, self.spaces)
            if bom is None:
                raw_skipped.append(row)
                continue
            row.body = instance_body(bom)
            instances.append(row)
        return instances, raw_skipped

    def _configured_body(self, view: ConfiguredView | None, target: str, body: Json) -> Json:
        """The node's body, in a configured resource's own view when it has one for this target."""
        if view is None or view.target != target:
            return body
        return instance_body(configured.item_node(view, body, self.spaces, self._source, self.pcn))

    async def mark_inactive(self, resource: str, external_ids: Sequence[str]) -> WriteReport:
        """`active` = false on the nodes (PlexRecord container only); the hash changes so a return
        rewrites the whole node."""
        report = WriteReport()
        hashes = self._state.get_hashes_for(self.pcn, resource, external_ids)
        due = [x for kind in ("asset", "event") for x in inactive_due(hashes, external_ids, kind)]
        for chunk in chunks(due, INSTANCES_PER_CALL):
            keys = list(chunk)
            nodes = [instance_body(mapping.inactive_node(key, self.spaces)) for key in keys]
            await self._send(nodes, report)
            self._state.commit_hashes(self.pcn, resource, {k: INACTIVE_PREFIX + hashes[k] for k in keys})
            report.written += len(keys)
            count_kind(report, "node_inactive", len(keys))
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
        """The nodes deleted, 1,000 per call (one already gone is no error); their state forgotten."""
        return await delete_in_chunks(
            self._state,
            self.pcn,
            resource,
            external_ids,
            INSTANCES_PER_CALL,
            self._delete_nodes,
            "node_deleted",
        )

    async def _delete_nodes(self, keys: list[str], report: WriteReport) -> None:
        body = {"items": [{"instanceType": "node", **self.spaces.ref(k)} for k in keys]}
        # Deleting again is harmless: an unknown outcome is simply sent again.
        await resend_on_unknown(
            lambda: self._cdf.call("instances", "delete", INSTANCES_PATH + "/delete", body, report)
        )

    async def link_pending(self) -> WriteReport:
        """Nothing waits here: a link to a node not written yet is a placeholder the node later fills."""
        return WriteReport()

    # -- instances --------------------------------------------------------------------------------------

    async def _send(self, bodies: list[Json], report: WriteReport) -> None:
        body = {
            "items": bodies,
            "autoCreateDirectRelations": True,
            "autoCreateStartNodes": True,
            "autoCreateEndNodes": True,
        }
        self.apply_sizes.append(len(bodies))
        await resend_on_unknown(lambda: self._cdf.call("instance", "apply", INSTANCES_PATH, body, report))

    def _landed(self, entries: list[Planned[Any]], report: WriteReport) -> None:
        self._commit(entries)
        report.written += len(entries)
        for entry in entries:
            count_kind(report, str(entry.body["instanceType"]), 1)

    async def _halving(self, send: Send, entries: list[Planned[Any]], report: WriteReport) -> None:
        """`send` the entries; a batch CDF refuses for its content is halved until the refused ones are
        found and quarantined, and the rest land."""
        try:
            await send(entries, report)
        except (Missing, Rejected) as err:
            if len(entries) == 1:
                self._quarantine(entries[0], err, report)
                return
            half = len(entries) // 2
            await self._halving(send, entries[:half], report)
            await self._halving(send, entries[half:], report)

    def _quarantine(self, entry: Planned[Any], err: Exception, report: WriteReport) -> None:
        """A refused instance (or series' points): counted, named in the report, left uncommitted."""
        kind = "datapoints" if isinstance(entry.item, Datapoints) else str(entry.body["instanceType"])
        self.counters.rejected[kind] += 1
        report.refused += 1
        report.refused_ids.append(item_id(entry.item))
        count_kind(report, f"{kind}_refused", 1)
        log.warning("CDF refused %s %s of %s: %s", kind, item_id(entry.item), entry.resource, err)

    def _commit(self, entries: Iterable[Planned[Any]]) -> None:
        commit_planned(self._state, self.pcn, entries)

    # -- datapoints -------------------------------------------------------------------------------------

    async def _write_datapoints(self, planned: list[Planned[Datapoints]], report: WriteReport) -> None:
        """Numeric and string points in the JSON insert; a status series' points as state points through
        `StatesApi.insert_states` (protobuf, as cognite-sdk sends them). Each kind in its own calls, a
        refused call halved like an apply."""
        for entry in planned:
            body = datapoints_body(entry.item, self.counters.alterations)
            if mapping.is_state_series(entry.item.external_id):
                body["datapoints"] = mapping.state_points(body["datapoints"])
            entry.body = {"instanceId": self.spaces.ref(entry.item.external_id), **body}
        self._commit(e for e in planned if not e.body["datapoints"])
        sendable = [e for e in planned if e.body["datapoints"]]
        states = [e for e in sendable if mapping.is_state_series(e.item.external_id)]
        others = [e for e in sendable if not mapping.is_state_series(e.item.external_id)]
        await asyncio.gather(
            *(self._halving(self._insert, batch, report) for batch in datapoint_batches(others)),
            *(self._halving(self._insert_states, batch, report) for batch in datapoint_batches(states)),
        )

    async def _insert(self, batch: list[Planned[Datapoints]], report: WriteReport) -> None:
        body = {"items": _point_items(batch)}
        # inserting the same points again is harmless
        await resend_on_unknown(
            lambda: self._cdf.call("datapoints", "insert", "/timeseries/data", body, report)
        )
        self._points_landed(batch, report)

    async def _insert_states(self, batch: list[Planned[Datapoints]], report: WriteReport) -> None:
        items = _point_items(batch)
        # inserting the same states again is harmless too
        await resend_on_unknown(
            lambda: self._cdf.counted(
                "state_datapoints", "insert", report, lambda: self._api.insert_states(items)
            )
        )
        self._points_landed(batch, report)

    def _points_landed(self, batch: list[Planned[Datapoints]], report: WriteReport) -> None:
        self._commit(batch)
        report.written += len(batch)
        count_kind(report, "datapoints", len(batch))

    # -- reconcile --------------------------------------------------------------------------------------

    async def placeholders(self) -> list[str]:
        """Nodes of the instance space without plex-cdf data: made for a link, never filled (yet)."""
        record = {"type": "container", "space": self.spaces.schema, "externalId": model.RECORD.name}
        body: Json = {
            "instanceType": "node",
            "limit": 1000,
            "filter": {
                "and": [
                    {"equals": {"property": ["node", "space"], "value": self.spaces.instances}},
                    {"not": {"hasData": [record]}},
                    {"not": {"hasData": [DESCRIBABLE]}},  # derived nodes (classes, types, states)
                    {
                        "not": {
                            "equals": {"property": ["node", "externalId"], "value": model.SOURCE_SYSTEM_ID}
                        }
                    },
                ]
            },
        }
        found: list[str] = []
        while True:
            answer = await read(self._api, INSTANCES_PATH + "/list", body)
            found += [str(item["externalId"]) for item in answer.get("items", [])]
            cursor = answer.get("nextCursor")
            if not cursor:
                return found
            body = {**body, "cursor": cursor}
