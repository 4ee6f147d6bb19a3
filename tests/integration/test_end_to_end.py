"""End to end: the real product against the simulated Plex (medium plant) and the local CDF.

One world is run three times: cold, again with nothing changed, and after the simulated clock advances six
hours, across midnight. History is read in windows that begin at midnight, so CDF then keeps a day more
than a cold run at the later time would reach: the truth reaches back to the cold run. What CDF holds is
compared, object by object, with the product's pure pipeline applied to the tenant's ground truth
(tests/integration/truth.py), and with invariants a plant engineer would check by eye: a complete
hierarchy, resolved links, readable names, one call per list, no paging parameters.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from plex_cdf.app import cdf_settings
from plex_cdf.cdf.client import build_client
from plex_cdf.cli import extract
from plex_cdf.demo import DEMO_PCN, local_world
from plex_cdf.domains.master_data import OWN_ROOTS, own_root_external_id
from plex_cdf.ids import root_external_id
from plex_cdf.ops import setup
from tests.integration.truth import Expected, Span, expected_objects, job_spans

PREFIX = f"PCN{DEMO_PCN}_"
ADVANCE = timedelta(hours=6)
# A fixed start, so the run does not depend on the time of day: six hours later is the next day.
START = datetime(2026, 11, 30, 20, 10, tzinfo=UTC)


@dataclass
class Snapshot:
    assets: dict[str, dict[str, Any]]
    events: dict[str, dict[str, Any]]
    series: dict[str, dict[str, Any]]
    points: dict[str, list[tuple[int, float | str]]]
    id_to_xid: dict[int, str]


@dataclass
class Phase:
    results: dict[str, Any]
    writes: int  # CDF write requests during the phase
    requests: Counter[str]  # Plex requests during the phase, by route template
    queries: list[str]
    expected: Expected
    cdf: Snapshot
    jobs: tuple[dict[str, Span], dict[tuple[str, int], Span]]  # what the simulated plant's jobs did
    reach_start: int  # jobs completed since then must be in CDF


@dataclass
class Runs:
    cold: Phase
    warm: Phase
    advanced: Phase
    truth_workcenters: list[dict[str, Any]]


def snapshot(cdf: Any) -> Snapshot:
    store = cdf.store
    assets = {a["externalId"]: a for a in store.assets() if a.get("externalId", "").startswith(PREFIX)}
    events = {e["externalId"]: e for e in store.events() if e.get("externalId", "").startswith(PREFIX)}
    series = {t["externalId"]: t for t in store.time_series() if t.get("externalId", "").startswith(PREFIX)}
    points = {xid: list(store.datapoints(xid)) for xid in series}
    id_to_xid = {a["id"]: a["externalId"] for a in store.assets()}
    return Snapshot(assets, events, series, points, id_to_xid)


def run_phase(world: Any, client: Any, since_cold: timedelta = timedelta(0)) -> Phase:
    """One `run --once`; `since_cold`: how long after the cold run, so the truth reaches as far back."""
    world.cdf.reset_counts()
    log_start = len(world.sim.request_log())
    counts_before = Counter(world.sim.request_counts())
    results = asyncio.run(extract(world.config, once=True, clock=world.clock, client=client))
    log = world.sim.request_log()[log_start:]
    reach = world.config.extractor.first_run_reach + since_cold
    expected = expected_objects(world.sim, DEMO_PCN, world.clock, reach)
    requests = Counter(world.sim.request_counts())
    requests.subtract(counts_before)
    return Phase(
        results,
        world.cdf.write_count(),
        +requests,
        [entry[3] for entry in log],
        expected,
        snapshot(world.cdf),
        job_spans(world.sim, world.sim.clock.now_ms()),
        int((world.clock() - reach).timestamp() * 1000),
    )


@pytest.fixture(scope="module")
def runs() -> Iterator[Runs]:
    with local_world(scale="medium", calls_per_minute=100_000, now=START) as world:
        client = build_client(cdf_settings(world.config))
        asyncio.run(setup(world.config, client))
        cold = run_phase(world, client)
        warm = run_phase(world, client)
        world.sim.clock.advance(ADVANCE)
        advanced = run_phase(world, client, since_cold=ADVANCE)
        workcenters = world.sim.truth.get("/production/v1/production-definitions/workcenters", {})
        yield Runs(cold, warm, advanced, list(workcenters))


def same_value(left: object, right: object) -> bool:
    if isinstance(left, float) and isinstance(right, float | int):
        return math.isclose(left, float(right), rel_tol=1e-9, abs_tol=1e-12)
    return left == right


def differences(expected: Expected, cdf: Snapshot) -> list[str]:
    """Every way CDF differs from the ground truth, as lines a person can read."""
    out: list[str] = []
    for xid, asset in expected.assets.items():
        got = cdf.assets.get(xid)
        if got is None:
            out.append(f"asset {xid} missing")
            continue
        parent = cdf.id_to_xid.get(got.get("parentId")) if got.get("parentId") else None
        if (got["name"], parent) != (asset.name, asset.parent_external_id):
            out.append(f"asset {xid}: {(got['name'], parent)} != {(asset.name, asset.parent_external_id)}")
        if dict(got.get("metadata") or {}) != dict(asset.metadata):
            out.append(f"asset {xid}: metadata differs")
    for xid, event in expected.events.items():
        got = cdf.events.get(xid)
        if got is None:
            out.append(f"event {xid} missing")
            continue
        links = {cdf.id_to_xid.get(i) for i in got.get("assetIds") or []}
        want = (event.type, event.subtype, event.start_time, event.end_time, set(event.asset_external_ids))
        have = (got.get("type"), got.get("subtype"), got.get("startTime"), got.get("endTime"), links)
        if want != have:
            out.append(f"event {xid}: {have} != {want}")
        if dict(got.get("metadata") or {}) != dict(event.metadata):
            out.append(f"event {xid}: metadata differs")
    for xid, series in expected.series.items():
        got = cdf.series.get(xid)
        if got is None:
            out.append(f"time series {xid} missing")
            continue
        linked = cdf.id_to_xid.get(got.get("assetId")) if got.get("assetId") else None
        if (got["name"], linked, got.get("isStep", False)) != (
            series.name,
            series.asset_external_id,
            series.is_step,
        ):
            out.append(
                f"time series {xid}: {(got['name'], linked)} != {(series.name, series.asset_external_id)}"
            )
    for xid, points in expected.points.items():
        have = dict(cdf.points.get(xid, []))
        if set(have) != set(points) or not all(same_value(have[t], v) for t, v in points.items()):
            out.append(f"datapoints of {xid}: {len(have)} in CDF, {len(points)} in Plex, or values differ")
    for xid, value in expected.latest.items():
        have = cdf.points.get(xid) or []
        if not have or not same_value(max(have)[1], value):
            out.append(f"latest value of {xid}: {max(have)[1] if have else None!r} != {value!r}")
    made = set(expected.assets) | set(expected.events) | set(expected.series)
    # A WIP series whose containers are all gone stays in CDF, its last value zero.
    zeroed = {
        xid for xid in cdf.series if "_wip_" in xid and cdf.points.get(xid) and max(cdf.points[xid])[1] == 0
    }
    extra = (set(cdf.assets) | set(cdf.events) | set(cdf.series)) - made - zeroed
    out += [f"{xid} is in CDF but not in Plex" for xid in sorted(extra)[:20]]
    return out


def test_cold_run_leaves_cdf_equal_to_the_tenant(runs: Runs) -> None:
    problems = differences(runs.cold.expected, runs.cold.cdf)
    assert not problems, f"{len(problems)} differences, first: {problems[:10]}"


def test_every_domain_ran_and_wrote(runs: Runs) -> None:
    statuses = {r.resource: r.status for result in runs.cold.results.values() for r in result.reports}
    assert all(s == "ok" for s in statuses.values()), statuses
    kinds = Counter(e["type"] for e in runs.cold.cdf.events.values())
    for kind in (
        "job",
        "job_operation",
        "production",
        "scrap",
        "workcenter_status",
        "labor",
        "container_adjustment",
        "checksheet",
        "ncr",
    ):
        assert kinds[kind] > 0, f"no {kind} events reached CDF: {kinds}"
    assert any("oee_daily" in xid for xid in runs.cold.cdf.series), "no daily OEE series"


def test_the_hierarchy_is_complete_under_the_product_made_root(runs: Runs) -> None:
    assets = runs.cold.cdf.assets
    root = assets.get(f"{PREFIX}facility_{DEMO_PCN}")
    assert root is not None and root.get("parentId") is None, "the product must create the facility root"
    orphans = [
        x for x, a in assets.items() if a.get("parentId") and a["parentId"] not in runs.cold.cdf.id_to_xid
    ]
    assert not orphans, f"assets whose parent is not in CDF: {orphans[:5]}"
    roots = {a["id"]: x for x, a in assets.items() if a.get("parentId") is None}
    assert set(roots.values()) == {root_external_id(DEMO_PCN)} | {
        own_root_external_id(DEMO_PCN, key) for key, _ in OWN_ROOTS
    }, "the facility and the roots of parts, suppliers, customers and statuses, nothing else"
    kinds_under_facility = {x.split("_")[1] for x, a in assets.items() if a.get("rootId") == root["id"]}
    assert not kinds_under_facility & {"part", "supplier", "customer"}, "only plant things under the facility"


def test_the_tree_is_shaped_like_the_plant(runs: Runs) -> None:
    assets, names = runs.cold.cdf.assets, runs.cold.cdf.id_to_xid
    parent_kind = Counter(
        (xid.split("_")[1], names[a["parentId"]].split("_")[1])
        for xid, a in assets.items()
        if a.get("parentId")
    )
    for child, parent in (
        ("building", "facility"),
        ("production", "building"),  # production_line under its building
        ("workcenter", "production"),  # workcenters on a line
        ("workcenter", "building"),  # workcenters no line lists
    ):
        assert parent_kind[(child, parent)] > 0, f"no {child} under a {parent}: {parent_kind}"
    assert not [k for k in parent_kind if k[1] == "group" and k[0] != "location"], (
        "no plant thing hangs under a grouping asset any more"
    )


def test_events_link_to_their_part_and_workcenter_assets(runs: Runs) -> None:
    unlinked = [
        x
        for x, e in runs.cold.cdf.events.items()
        if e["type"] in ("job", "job_operation", "production") and not e.get("assetIds")
    ]
    assert not unlinked, f"{len(unlinked)} job/production events without asset links, e.g. {unlinked[:3]}"


def plant_differences(phase: Phase) -> list[str]:
    """How CDF's job and job-operation events differ from what the simulated plant's jobs did."""
    jobs, operations = phase.jobs
    events = phase.cdf.events
    out: list[str] = []
    for number, span in jobs.items():
        got = events.get(f"{PREFIX}job_{number}")
        if got is None:
            if span.status != "Complete" or (span.end or 0) >= phase.reach_start:
                out.append(f"job {number} ({span.status}) missing")
            continue
        have = (got.get("subtype"), got.get("startTime"), got.get("endTime"))
        if have != (span.status, span.start, span.end):
            out.append(f"job {number}: {have} != {(span.status, span.start, span.end)}")
    for (number, op), span in operations.items():
        if f"{PREFIX}job_{number}" not in events:
            continue
        got = events.get(f"{PREFIX}job_operation_{number}_{op}")
        if got is None:
            out.append(f"operation {op} of job {number} missing")
            continue
        workcenters = {
            phase.cdf.id_to_xid.get(i) for i in got.get("assetIds") or [] if i in phase.cdf.id_to_xid
        }
        have = (
            got.get("subtype"),
            got.get("startTime"),
            got.get("endTime"),
            f"{PREFIX}workcenter_{span.workcenter_code}" in workcenters,
        )
        if have != (span.status, span.start, span.end, True):
            out.append(
                f"operation {op} of job {number}: {have} != {(span.status, span.start, span.end, True)}"
            )
        if (got.get("metadata") or {}).get("jobExternalId") != f"{PREFIX}job_{number}":
            out.append(f"operation {op} of job {number} does not name its job's event")
    made = {f"{PREFIX}job_{n}" for n in jobs} | {f"{PREFIX}job_operation_{n}_{o}" for n, o in operations}
    extra = {x for x, e in events.items() if e["type"] in ("job", "job_operation")} - made
    return out + [f"{x} is in CDF but not in the plant" for x in sorted(extra)[:10]]


@pytest.mark.parametrize("phase", ["cold", "advanced"])
def test_jobs_and_operations_span_what_the_plant_did(runs: Runs, phase: str) -> None:
    """Start, end and status of every job and operation against the simulated plant's own job tables:
    open jobs have no end, canceled ones close at their start, operations run at their workcenter."""
    ran: Phase = getattr(runs, phase)
    problems = plant_differences(ran)
    assert not problems, f"{len(problems)} differences, first: {problems[:10]}"
    jobs = ran.jobs[0]
    statuses = Counter(span.status for span in jobs.values())
    assert statuses["Complete"] and statuses["Canceled"] and statuses["In Process"], statuses
    assert sum(1 for e in ran.cdf.events.values() if e["type"] == "job_operation") > len(
        [e for e in ran.cdf.events.values() if e["type"] == "job"]
    ), "jobs have operations of their own"


def test_workcenters_carry_readable_names(runs: Runs) -> None:
    by_xid = runs.cold.cdf.assets
    for wc in runs.truth_workcenters:
        asset = by_xid[f"{PREFIX}workcenter_{wc['workcenterCode']}"]  # keyed by the code Plex shows
        assert asset["name"] == f"{wc['workcenterCode']} - {wc['name']}"
        assert asset["metadata"]["sourceId"] == wc["workcenterId"]


def test_lists_of_a_thousand_rows_come_in_one_call_and_no_request_pages(runs: Runs) -> None:
    assert len(runs.cold.expected.assets) > 1000
    assert runs.cold.requests["GET /mdm/v1/parts"] == 1, "the 1,500-part list must be fetched in one call"
    assert runs.cold.requests["GET /scheduling/v1/jobs"] >= 1
    paging = [
        q
        for phase in (runs.cold, runs.warm, runs.advanced)
        for q in phase.queries
        if any(f"{word}=" in q.lower() for word in ("limit", "offset", "page"))
    ]
    assert not paging, f"requests carried paging parameters: {paging[:3]}"


def test_a_second_run_over_unchanged_plex_writes_nothing(runs: Runs) -> None:
    assert runs.warm.writes == 0, f"an unchanged tenant still cost {runs.warm.writes} CDF write requests"
    assert runs.warm.requests["GET /engineering/v1/boms"] == 0, (
        "BOMs of unchanged parts must not be re-fetched"
    )


def test_after_the_clock_advances_cdf_again_equals_the_tenant(runs: Runs) -> None:
    problems = differences(runs.advanced.expected, runs.advanced.cdf)
    assert not problems, f"{len(problems)} differences, first: {problems[:10]}"


def test_after_the_clock_advances_exactly_the_new_and_changed_records_are_written(runs: Runs) -> None:
    before, after = runs.warm.cdf, runs.advanced.cdf
    expected_before, expected_after = runs.warm.expected, runs.advanced.expected
    changed_in_plex = {
        xid
        for mine, theirs in (
            (expected_after.assets, expected_before.assets),
            (expected_after.events, expected_before.events),
        )
        for xid, item in mine.items()
        if theirs.get(xid) != item
    }
    touched_in_cdf = {
        xid
        for now, then in ((after.assets, before.assets), (after.events, before.events))
        for xid, obj in now.items()
        if xid not in then or obj.get("lastUpdatedTime") != then[xid].get("lastUpdatedTime")
    }
    vanished = {
        x for x in before.assets if (after.assets[x].get("metadata") or {}).get("plexActive") == "false"
    }
    assert changed_in_plex, "six hours of plant time must change something"
    assert runs.advanced.writes > 0
    assert touched_in_cdf - vanished == changed_in_plex, (
        f"written but unchanged: {sorted(touched_in_cdf - vanished - changed_in_plex)[:5]}; "
        f"changed but not written: {sorted(changed_in_plex - touched_in_cdf)[:5]}"
    )
