"""What CDF should hold: the product's pure pipeline (resource rows and transforms) applied to the simulated
tenant's ground truth, without HTTP, budgets, faults, CDF or state in between.

End-to-end tests compare this with what the real run left in the local CDF: any record the client, the
windows, the writer or the state lost, doubled or mangled on the way shows up as a difference.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from plex_cdf.domains import master_data as md
from plex_cdf.domains.registry import ALL, BY_DOMAIN
from plex_cdf.domains.resource import DOMAINS, TimeRange
from plex_cdf.ids import external_id, root_external_id
from plex_cdf.items import Asset, Datapoints, Event, Item, RawRow, Relationship, TimeSeries
from plex_cdf.plant import UTC_PLANT, PlantTime
from plex_cdf.plex.dates import format_plex_datetime
from plex_cdf.plex.errors import PlexConfigError, PlexNotOffered
from plex_cdf.ports import Expiry, Point, WriteReport
from plex_cdf.runner import Runner
from plex_cdf.sim.plex.jobs import (
    CANCELED,
    NORMAL,
    job_number,
    job_status,
    render_job_operations,
    visible_jobs,
)
from plex_cdf.sim.plex.master import number_revision
from plex_cdf.sim.plex.timefmt import HOUR
from tests.memory import MemoryState


class TruthSource:
    """A PlexSource that answers from the simulator's ground truth, as the routes would without faults.

    `ungranted` data sources and `refused` paths answer as a tenant without that access does."""

    def __init__(
        self, sim: Any, ungranted: frozenset[int] = frozenset(), refused: frozenset[str] = frozenset()
    ) -> None:
        self.sim = sim
        self.ungranted = ungranted
        self.refused = refused

    async def get_list(self, path: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        if path in self.refused:
            raise PlexNotOffered(f"{path} refused by this tenant")
        answer = self.sim.truth.get(path, _plain(params))
        return answer if isinstance(answer, list) else [answer]

    async def get_object(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        answer = self.sim.truth.get(path, _plain(params))
        return answer if isinstance(answer, dict) else None

    async def post_list(self, path: str, body: Mapping[str, object]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.sim.datasources.identity_mapping(path, dict(body))
        return rows

    async def execute_datasource(self, source_id: int, inputs: Mapping[str, object]) -> list[dict[str, Any]]:
        if source_id in self.ungranted:
            raise PlexConfigError(f"data source {source_id} not granted", "datasource_grant")
        rows: list[dict[str, Any]] = self.sim.truth.datasource(source_id, dict(inputs))
        return rows

    async def execute_datasource_window(
        self,
        source_id: int,
        inputs: Mapping[str, object],
        begin_input: str,
        end_input: str,
        window: TimeRange,
    ) -> list[dict[str, Any]]:
        bounded = {
            **inputs,
            begin_input: format_plex_datetime(window.begin),
            end_input: format_plex_datetime(window.end),
        }
        return await self.execute_datasource(source_id, bounded)


def _plain(params: Mapping[str, Any] | None) -> dict[str, str | list[str]]:
    return {k: v if isinstance(v, str) else list(v) for k, v in (params or {}).items()}


@dataclass
class Expected:
    """Items by kind and external id; points merged per series."""

    assets: dict[str, Asset] = field(default_factory=dict)
    events: dict[str, Event] = field(default_factory=dict)
    series: dict[str, TimeSeries] = field(default_factory=dict)
    points: dict[str, dict[int, float | str]] = field(default_factory=dict)
    latest: dict[str, float | str] = field(default_factory=dict)  # latest-only series: their last value
    relationships: dict[str, Relationship] = field(default_factory=dict)
    raw: dict[tuple[str, str], Mapping[str, object]] = field(default_factory=dict)
    resource_of: dict[str, str] = field(default_factory=dict)
    not_offered: set[str] = field(default_factory=set)

    def add(self, resource: str, items: Sequence[Item]) -> None:
        for item in items:
            if isinstance(item, RawRow):
                self.raw[(item.table, item.key)] = item.columns
                continue
            self.resource_of[item.external_id] = resource
            if isinstance(item, Asset):
                self.assets[item.external_id] = item
            elif isinstance(item, Event):
                self.events[item.external_id] = item
            elif isinstance(item, TimeSeries):
                self.series[item.external_id] = item
            elif isinstance(item, Relationship):
                self.relationships[item.external_id] = item
            elif isinstance(item, Datapoints) and item.latest_only:
                if item.points:
                    self.latest[item.external_id] = max(item.points)[1]
            elif isinstance(item, Datapoints):
                self.points.setdefault(item.external_id, {}).update(dict(item.points))


class RecordingSink:
    def __init__(self, expected: Expected) -> None:
        self.expected = expected

    async def write(self, resource: str, items: Sequence[Item]) -> WriteReport:
        self.expected.add(resource, items)
        return WriteReport(written=len(items))

    async def mark_inactive(self, resource: str, external_ids: Sequence[str]) -> WriteReport:
        return WriteReport()

    async def retire_vanished(
        self,
        resource: str,
        kept: Sequence[Item],
        *,
        mark_inactive: bool,
        end_point: Point | None,
        expiry: Expiry | None = None,
    ) -> WriteReport:
        return WriteReport()

    async def delete(self, resource: str, external_ids: Sequence[str]) -> WriteReport:
        return WriteReport(deleted=len(external_ids))

    async def link_pending(self) -> WriteReport:
        return WriteReport()


def expected_objects(
    sim: Any,
    pcn: str,
    clock: Callable[[], datetime],
    first_reach: Any,
    ungranted: frozenset[int] = frozenset(),
    refused: frozenset[str] = frozenset(),
    plant: PlantTime = UTC_PLANT,
) -> Expected:
    """Every domain's rows over the ground truth, domain by domain as the service runs them."""
    expected = Expected()
    sink = RecordingSink(expected)
    for domain in DOMAINS:
        runner = Runner(
            pcn=pcn,
            source=TruthSource(sim, ungranted, refused),
            sink=sink,
            state=MemoryState(),
            resources=ALL,
            clock=clock,
            first_reach=first_reach,
            plant=plant,
        )
        reports = asyncio.run(runner.run([r.name for r in BY_DOMAIN[domain]]))
        failed = [r for r in reports if r.status == "failed"]
        assert not failed, (
            f"the pure pipeline failed on the ground truth: {[(r.resource, r.message) for r in failed]}"
        )
        expected.not_offered |= runner.not_offered
    for xid, parent in plant_tree(sim, pcn).items():
        if xid in expected.assets:
            expected.assets[xid] = replace(expected.assets[xid], parent_external_id=parent)
    return expected


@dataclass(frozen=True)
class Span:
    """What a job or job operation did in the simulated plant: its status, its run, where it ran."""

    status: str
    start: int
    end: int | None
    workcenter_code: str | None = None  # the readable key of its workcenter (the simulated codes are unique)


def job_spans(sim: Any, now: int) -> tuple[dict[str, Span], dict[tuple[str, int], Span]]:
    """Jobs and their operations from the simulated plant's own tables (not from any Plex answer or the
    product's rules): a job is laid out on its workcenter from its start (Plex's `earliestStartDateTime`) to
    its last production entry (its completion); a canceled job never ran, so it closes at its start; an
    open one has no end. Operation `o` of `n` is scheduled `(n - 1 - o) * 8` hours before the job's start;
    the earlier ones finish when the job starts (on a job that runs), the last one when the job completes.
    Keyed by job number, and by (job number, operation number)."""
    plant = sim.plant
    table = plant.jobs
    jobs: dict[str, Span] = {}
    operations: dict[tuple[str, int], Span] = {}
    for job in visible_jobs(table, now):
        status = job_status(table, job, now)
        start = int(table.start[job])
        end = (
            table.completion(job) if status == "Complete" else start if table.flag[job] == CANCELED else None
        )
        number = job_number(job)
        jobs[number] = Span(status, start, end)
        steps = plant.master.parts[table.part[job]].operations
        rows = render_job_operations(plant.master, table, job, now)  # only for each step's workcenter
        for o, (step, row) in enumerate(zip(steps, rows, strict=True)):
            last = o == len(steps) - 1
            ran = status == "Complete" or (table.flag[job] == NORMAL and not last and now >= start)
            finished = (table.completion(job) if last else start) if ran else None
            scheduled = start - (len(steps) - 1 - o) * 8 * HOUR
            operations[(number, int(step["operationNumber"]))] = Span(
                row["jobOperationStatus"], scheduled, finished, row["workcenterCode"]
            )
    return jobs, operations


def plant_tree(sim: Any, pcn: str) -> dict[str, str | None]:
    """Where each asset hangs, from the simulated tenant's own records (its master data, never the
    product's transforms), by the rule docs/mapping.md states: facility -> building -> production line ->
    workcenter -> equipment; a line under the one building all its workcenters stand in, a workcenter under
    its line, else its building, else the facility; parts, suppliers, customers and workcenter statuses
    under their own roots. External ids come from the product's id helpers, so only the shape is checked;
    workcenters and parts are keyed by the code the simulated Plex shows (`readable`)."""
    master = sim.plant.master
    root = root_external_id(pcn)
    buildings = {str(b["id"]) for b in master.buildings}
    workcenter_ids = readable(
        pcn, "workcenter", {wc["workcenterId"]: wc["workcenterCode"] for wc in master.workcenters}
    )
    parts = sim.truth.get("/mdm/v1/parts")
    part_ids = readable(pcn, "part", {p["id"]: number_revision(p) for p in parts})

    def building_or_root(building_id: object) -> str:
        return md.building_external_id(pcn, str(building_id)) if building_id in buildings else root

    line_buildings: dict[str, set[object]] = {}
    for wc in master.workcenters:
        if wc["productionLineId"]:
            line_buildings.setdefault(wc["productionLineId"], set()).add(wc["buildingId"])
    tree: dict[str, str | None] = {root: None, md.group_external_id(pcn, "inventory"): root}
    tree.update({md.own_root_external_id(pcn, key): None for key, _ in md.OWN_ROOTS})
    tree.update({md.building_external_id(pcn, b): root for b in buildings})
    for line in master.lines:
        held = line_buildings.get(line["id"], set())
        tree[md.production_line_external_id(pcn, line["id"])] = (
            building_or_root(next(iter(held))) if len(held) == 1 else root
        )
    for wc in master.workcenters:
        line_id = wc["productionLineId"]
        tree[workcenter_ids[wc["workcenterId"]]] = (
            md.production_line_external_id(pcn, line_id) if line_id else building_or_root(wc["buildingId"])
        )
    for item in master.equipment:
        tree[external_id(pcn, "equipment", item["id"])] = (
            workcenter_ids[item["workcenterId"]]
            if item["workcenterId"]
            else building_or_root(item["buildingId"])
        )
    for kind, records, key in (
        ("supplier", master.suppliers, "suppliers"),
        ("customer", master.customers, "customers"),
        ("workcenter_status", master.statuses, "workcenter_statuses"),
    ):
        tree.update({external_id(pcn, kind, r["id"]): md.own_root_external_id(pcn, key) for r in records})
    tree.update({part_id: md.own_root_external_id(pcn, "parts") for part_id in part_ids.values()})
    return tree


def readable(pcn: str, kind: str, shown_by_id: Mapping[str, str]) -> dict[str, str]:
    """Plex id -> `PCN{pcn}_{kind}_{code}`: the readable-id rule (docs/mapping.md) for codes that are
    printable, unpadded, short and unique, which the simulated plant's are (checked here, so a change to
    the simulator that breaks this shows up as this failure, not as a wrong expectation)."""
    codes = list(shown_by_id.values())
    assert len(set(codes)) == len(codes), f"the simulated {kind} codes repeat; the collision rule would apply"
    assert all(c and c.isprintable() and c == c.strip() and len(c) <= 200 for c in codes), kind
    return {plex_id: external_id(pcn, kind, code) for plex_id, code in shown_by_id.items()}
