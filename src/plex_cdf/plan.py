"""`plex-cdf plan`: what the configuration will cost in Plex calls, before it runs.

From a tenant's current sizes (its parts, workcenters, open, canceled and recently completed jobs: five
list calls) and the configured intervals, every resource row's expected calls a minute in steady state and
calls for a cold start, the share of the budget they take, and how long a cold start needs. The figures
are pure functions of the rows (`plan_tenant`); only `tenant_sizes` talks to Plex.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from plex_cdf.config import Config
from plex_cdf.domains.configured import domain_rows
from plex_cdf.domains.registry import by_name
from plex_cdf.domains.resource import Context, PerParent, Record, Resource, Snapshot, Window
from plex_cdf.plant import PlantTime
from plex_cdf.plex.client import PlexClient
from plex_cdf.plex.dates import format_plex_datetime
from plex_cdf.runner import poll_every, without_children
from plex_cdf.windows import plan as plan_windows

DAY = timedelta(days=1)
# The lists the plan reads: the parents of the per-parent rows and the jobs whose operations are fetched.
SIZED = ("parts", "workcenters", "production_lines", "jobs_open", "jobs_canceled")
COMPLETED = "jobs_completed"


@dataclass(frozen=True)
class Sizes:
    lists: Mapping[str, Sequence[Record]]  # records of the SIZED rows, by row name
    completed_per_day: int  # jobs completed in the last day


@dataclass(frozen=True)
class Line:
    resource: str
    domain: str
    lane: str  # "main" (lists and history) or "fan-out" (one call per parent or record)
    per_minute: float  # steady state, calls a minute
    cold_calls: int  # a cold start's calls
    knob: str  # the setting that lowers per_minute


@dataclass(frozen=True)
class Plan:
    pcn: str
    limit: int  # calls a minute
    fan_out_share: float
    lines: tuple[Line, ...]

    @property
    def per_minute(self) -> float:
        return sum(line.per_minute for line in self.lines)

    @property
    def share(self) -> float:
        return self.per_minute / self.limit

    def cold_calls(self, lane: str | None = None) -> int:
        return sum(line.cold_calls for line in self.lines if lane in (None, line.lane))

    @property
    def first_data_minutes(self) -> float:
        """Lists and history (the main lane) have the whole budget first."""
        return self.cold_calls("main") / self.limit

    @property
    def cold_minutes(self) -> float:
        """Until a cold start's last call: the whole budget, per-parent calls at most their share of it."""
        return max(
            self.cold_calls() / self.limit, self.cold_calls("fan-out") / (self.limit * self.fan_out_share)
        )

    def warnings(self) -> list[str]:
        if self.per_minute <= self.limit:
            return []
        worst = max(self.lines, key=lambda line: line.per_minute)
        return [
            f"PCN {self.pcn}: the plan needs {self.per_minute:.0f} calls a minute, over the budget of"
            f" {self.limit}; the most goes to {worst.resource} ({worst.per_minute:.1f} a minute):"
            f" fix: {worst.knob}"
        ]


def plan_tenant(config: Config, pcn: str, limit: int, sizes: Sizes, now: datetime) -> Plan:
    """Every enabled row's expected calls, from the tenant's sizes and the configured intervals; a row
    whose records each get a sub-list (a job's operations) has a second, fan-out line for those."""
    lines = []
    plant = next(t.plant.plant_time() for t in config.plex.tenants if t.pcn == pcn)
    for domain in config.extractor.enabled_domains():
        for row in domain_rows(config.resources, domain):
            if row.fallback_for is not None:
                continue  # runs only in place of a row the tenant does not offer
            # A row with its own, longer interval runs only in the domain's passes once it is due.
            interval = max(config.extractor.domain(domain).interval, row.interval or timedelta(0))
            lines.append(_line(config, row, interval, limit, sizes, now, pcn, plant))
            if row.children is not None:
                per_pass, cold = _children(row, interval, config.extractor.first_run_reach, sizes)
                minutes = interval.total_seconds() / 60
                knob = f"raise extractor.{row.domain.replace('_', '-')}.interval"
                lines.append(
                    Line(
                        f"{row.name}.{row.children.attach_as}",
                        domain,
                        "fan-out",
                        per_pass / minutes,
                        cold,
                        knob,
                    )
                )
    return Plan(pcn, limit, config.plex.fan_out_share, tuple(lines))


def _line(
    config: Config,
    row: Resource,
    interval: timedelta,
    limit: int,
    sizes: Sizes,
    now: datetime,
    pcn: str,
    plant: PlantTime,
) -> Line:
    minutes = interval.total_seconds() / 60
    knob = f"raise extractor.{row.domain.replace('_', '-')}.interval (now {_duration(interval)})"
    mode = row.mode
    if isinstance(mode, PerParent):
        parents = [p for p in sizes.lists.get(mode.parent, ()) if not without_children(p, mode)]
        if not mode.only_changed:
            every = max(interval, poll_every(len(parents), config.plex.poll_share * limit))
            per_minute = len(parents) / (every.total_seconds() / 60) if parents else 0.0
            knob = f"lower plex.poll-share (now {config.plex.poll_share:g})"
        else:
            refresh = mode.full_refresh.total_seconds() / 60 if mode.full_refresh else math.inf
            per_minute = len(parents) / refresh
            spread = _duration(mode.full_refresh) if mode.full_refresh else "ever"
            knob = f"the refresh is spread over {spread}; nothing to tune"
        return Line(row.name, row.domain, "fan-out", per_minute, len(parents), knob)
    per_pass, cold = _list_calls(config, row, interval, sizes, now, pcn, plant)
    return Line(row.name, row.domain, "main", per_pass / minutes, cold, knob)


def _list_calls(
    config: Config,
    row: Resource,
    interval: timedelta,
    sizes: Sizes,
    now: datetime,
    pcn: str,
    plant: PlantTime,
) -> tuple[int, int]:
    """(calls a pass, calls a cold start) of the row's own list or windows (cut as a run cuts them: plant
    days, shift days or aligned spans)."""
    mode = row.mode
    if isinstance(mode, Window):
        reach = mode.first_reach or config.extractor.first_run_reach
        per_pass = len(list(plan_windows(now - interval - mode.lookback, now, mode, plant)))
        return per_pass, len(list(plan_windows(now - reach, now, mode, plant)))
    if isinstance(mode, Snapshot) and row.post_bodies is not None:
        lookups = {name: sizes.lists.get(name, ()) for name in row.lookup}
        bodies = len(row.post_bodies(Context(pcn, row.name, now, lookups=lookups))) or 1
        return bodies, bodies
    return 1, 1


def _children(row: Resource, interval: timedelta, reach: timedelta, sizes: Sizes) -> tuple[float, int]:
    """(sub-list calls a pass, a cold start's) of a row whose records each get a sub-list (a job's
    operations): records new or changed since the last pass. In steady state, each job completed in a
    pass changes at least once while open and once more on completion, so twice the completions."""
    if row.children is None:
        return 0.0, 0
    completions = sizes.completed_per_day * (interval / DAY)
    if row.name == COMPLETED:
        return completions, round(sizes.completed_per_day * (reach / DAY))
    listed = len(sizes.lists.get(row.name, ()))
    return (completions if row.name == "jobs_open" else 0.0), listed


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


async def tenant_sizes(plex: PlexClient, now: datetime) -> Sizes:
    """The lists a plan needs (six calls): the SIZED rows, and the jobs completed in the last day."""
    rows = by_name()
    lists = {name: await plex.get_list(rows[name].path, rows[name].params or None) for name in SIZED}
    completed = rows[COMPLETED]
    assert isinstance(completed.mode, Window)
    window = {
        completed.mode.begin_param: format_plex_datetime(now - DAY),
        completed.mode.end_param: format_plex_datetime(now),
    }
    return Sizes(lists, len(await plex.get_list(completed.path, window)))


async def plans(config: Config, now: datetime) -> list[Plan]:
    """A plan per configured tenant, from its sizes in Plex now."""
    from plex_cdf.app import plex_settings

    found = []
    for tenant in config.plex.tenants:
        async with PlexClient(plex_settings(config, tenant)) as plex:
            sizes = await tenant_sizes(plex, now)
        found.append(plan_tenant(config, tenant.pcn, config.plex.budget(tenant), sizes, now))
    return found


def report(plan: Plan) -> list[str]:
    """The plan as text: one line per resource, then the totals and any warning."""
    width = max(len(line.resource) for line in plan.lines)
    out = [
        f"PCN {plan.pcn}: budget {plan.limit} calls a minute, per-parent calls at most"
        f" {plan.fan_out_share:.0%} of it",
        f"{'resource':<{width}}  {'lane':<7}  {'calls/min':>9}  {'cold start':>10}",
    ]
    for line in sorted(plan.lines, key=lambda item: -item.per_minute):
        out.append(
            f"{line.resource:<{width}}  {line.lane:<7}  {line.per_minute:>9.2f}  {line.cold_calls:>10,}"
        )
    out += [
        f"steady state: {plan.per_minute:.1f} calls a minute, {plan.share:.1%} of the budget",
        f"cold start: {plan.cold_calls():,} calls ({plan.cold_calls('fan-out'):,} per-parent);"
        f" lists and history within {plan.first_data_minutes:.1f} min, everything within"
        f" {plan.cold_minutes:.0f} min",
    ]
    return out + [f"warning: {text}" for text in plan.warnings()]
