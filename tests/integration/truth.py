"""What CDF should hold: the product's pure pipeline (resource rows and transforms) applied to the simulated
tenant's ground truth, without HTTP, budgets, faults, CDF or state in between.

End-to-end tests compare this with what the real run left in the local CDF: any record the client, the
windows, the writer or the state lost, doubled or mangled on the way shows up as a difference.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from plex_cdf.domains.registry import ALL, BY_DOMAIN
from plex_cdf.domains.resource import DOMAINS, TimeRange
from plex_cdf.items import Asset, Datapoints, Event, Item, RawRow, Relationship, TimeSeries
from plex_cdf.plant import UTC_PLANT, PlantTime
from plex_cdf.plex.dates import format_plex_datetime
from plex_cdf.plex.errors import PlexConfigError, PlexNotOffered
from plex_cdf.ports import Point, WriteReport
from plex_cdf.runner import Runner
from plex_cdf.sim.plex.jobs import (
    CANCELED,
    NORMAL,
    job_number,
    job_status,
    render_job_operations,
    visible_jobs,
)
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
        self, resource: str, kept: Sequence[Item], *, mark_inactive: bool, end_point: Point | None
    ) -> WriteReport:
        return WriteReport()

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
    return expected


@dataclass(frozen=True)
class Span:
    """What a job or job operation did in the simulated plant: its status, its run, where it ran."""

    status: str
    start: int
    end: int | None
    workcenter_id: str | None = None


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
                row["jobOperationStatus"], scheduled, finished, row["workcenterId"]
            )
    return jobs, operations
