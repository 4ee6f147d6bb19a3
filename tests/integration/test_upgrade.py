"""The upgrade path: a CDF project round-1 plex-cdf wrote, migrated and run once, equals a fresh run.

Round 1's output for the small plant (tests/upgrade/round1_small.json.gz: round-1's code, commit 81513e4,
run by tests/upgrade/make_round1_fixture.py against today's simulated Plex and local CDF) is loaded into a
local CDF with round 1's state file. `migrate --dry-run` lists the changes and changes nothing; `migrate`
then `run --once` leave the same objects as a fresh run on an empty project: no duplicates, no orphans (the
one series no longer written is flagged retired), datapoints kept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import plex_cdf.migrate as migration
from plex_cdf.app import SetupNeeded, cdf_settings, open_state
from plex_cdf.cdf.client import build_client
from plex_cdf.cli import extract
from plex_cdf.demo import (
    DEMO_API_KEY,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_DS_PASSWORD,
    DEMO_DS_USER,
    DEMO_PCN,
    DEMO_PROJECT,
    demo_config,
)
from plex_cdf.migrate import Plan
from plex_cdf.ops import migrate, setup
from plex_cdf.sim.cdf import LocalCdf
from plex_cdf.sim.plex import SimPlex
from plex_cdf.state.sqlite import SqliteStateStore
from tests.integration.conftest import WORLD_PCN, World
from tests.upgrade.fixture import load_fixture, moment, write_state, write_store

PREFIX = f"PCN{DEMO_PCN}_"
RETIRED = f"{PREFIX}wc_scrap_quantity_"
INVENTORY = f"{PREFIX}group_inventory"  # the one round-1 group the plant-shaped tree keeps


def old_groups(round1: Content) -> set[str]:
    """Round 1's grouping assets the plant-shaped tree no longer has (docs/upgrade-notes.md)."""
    return {x for x in round1.assets if x.startswith(f"{PREFIX}group_") and x != INVENTORY}


@dataclass
class Content:
    """A project's plex-cdf objects by external id, internal ids replaced by external ids."""

    assets: dict[str, Any]
    events: dict[str, Any]
    series: dict[str, Any]
    relationships: dict[str, Any]
    points: dict[str, list[tuple[int, Any]]]
    raw: dict[str, dict[str, Any]]
    state: dict[str, Any]


def content(cdf: LocalCdf, state_path: Path) -> Content:
    store = cdf.store
    xid_of = {a["id"]: a["externalId"] for a in store.assets()}
    sets = {d["id"]: d.get("externalId") for d in store.data_sets()}

    def plain(obj: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in obj.items() if k not in ("id", "createdTime", "lastUpdatedTime", "rootId")}
        out["dataSetId"] = sets.get(obj.get("dataSetId"))
        if "parentId" in out:
            out["parentId"] = xid_of.get(out["parentId"])
        if "assetIds" in out:
            out["assetIds"] = sorted(xid_of.get(i) for i in out["assetIds"])
        if "assetId" in out:
            out["assetId"] = xid_of.get(out["assetId"])
        return out

    def mine(objects: list[dict[str, Any]]) -> dict[str, Any]:
        return {o["externalId"]: plain(o) for o in objects if str(o.get("externalId", "")).startswith(PREFIX)}

    series = mine(store.time_series())
    raw = {
        f"{db}/{table}": store.raw_rows(db, table)
        for db, tables in store.raw_databases().items()
        for table in tables
    }
    return Content(
        assets=mine(store.assets()),
        events=mine(store.events()),
        series=series,
        relationships=mine(store.relationships()),
        points={xid: list(store.datapoints(xid)) for xid in series},
        raw=raw,
        state=_state(state_path),
    )


def _state(path: Path) -> dict[str, Any]:
    import sqlite3

    with sqlite3.connect(path) as db:
        found = {t: sorted(db.execute(f"SELECT * FROM {t}")) for t in ("watermarks", "hashes", "kv")}
    db.close()
    return found


@dataclass
class Upgrade:
    round1: Content
    after_dry_run: Content
    refused: str
    dry_run: list[Plan]
    migrated: Content
    again: list[Plan]
    fresh: Content


@pytest.fixture(scope="module")
def upgrade(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upgrade]:
    fixture = load_fixture()
    now, reach = moment(fixture)
    folder = tmp_path_factory.mktemp("upgrade")
    store_path, state_path, fresh_state = folder / "store.db", folder / "state.db", folder / "fresh.db"
    write_store(fixture, store_path)
    write_state(fixture, state_path)
    sim = SimPlex(
        seed=1,
        scale="small",
        api_key=DEMO_API_KEY,
        pcn=DEMO_PCN,
        ds_user=DEMO_DS_USER,
        ds_password=DEMO_DS_PASSWORD,
        rate_limit_per_minute=100_000,
        now=now,
    )
    upgraded = LocalCdf(DEMO_PROJECT, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, persist=store_path)
    fresh = LocalCdf(DEMO_PROJECT, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
    with sim.serve() as plex, upgraded.serve() as old_cdf, fresh.serve() as new_cdf:

        def configured(cdf: Any, state: Path) -> Any:
            config = demo_config(plex.base_url, cdf.base_url, cdf.token_url, state, calls_per_minute=100_000)
            config.extractor.first_run_reach = reach
            return config

        old_config = configured(old_cdf, state_path)
        client = build_client(cdf_settings(old_config))
        round1 = content(upgraded, state_path)
        with pytest.raises(SetupNeeded, match="plex-cdf migrate") as refused:
            asyncio.run(extract(old_config, once=True, clock=lambda: now, client=client))
        dry_run = asyncio.run(migrate(old_config, client, open_state(old_config, client), dry_run=True))
        after_dry_run = content(upgraded, state_path)
        asyncio.run(migrate(old_config, client, open_state(old_config, client), dry_run=False))
        asyncio.run(setup(old_config, client))
        asyncio.run(extract(old_config, once=True, clock=lambda: now, client=client))
        migrated = content(upgraded, state_path)
        again = asyncio.run(migrate(old_config, client, open_state(old_config, client), dry_run=True))

        new_config = configured(new_cdf, fresh_state)
        new_client = build_client(cdf_settings(new_config))
        asyncio.run(setup(new_config, new_client))
        asyncio.run(extract(new_config, once=True, clock=lambda: now, client=new_client))
        yield Upgrade(
            round1, after_dry_run, str(refused.value), dry_run, migrated, again, content(fresh, fresh_state)
        )


def test_the_fixture_is_round_1_output(upgrade: Upgrade) -> None:
    assert len(upgrade.round1.assets) > 200 and len(upgrade.round1.events) > 500
    assert any(a["metadata"].get("plex_id") for a in upgrade.round1.assets.values()), (
        "round 1's metadata keys"
    )
    assert any(x.startswith(RETIRED) for x in upgrade.round1.series)


def test_a_run_before_the_migration_refuses_and_writes_nothing(upgrade: Upgrade) -> None:
    assert "layout 1" in upgrade.refused and "migrate --dry-run" in upgrade.refused
    # nothing written: after the refused run and the dry run, CDF and the state are round 1's
    assert upgrade.after_dry_run == upgrade.round1


def test_the_dry_run_lists_the_changes_and_changes_nothing(upgrade: Upgrade) -> None:
    [plan] = upgrade.dry_run
    lines = plan.lines()
    counts = plan.counts()
    assert counts["assets"] >= 68 and counts["relationships"] > 0 and counts["state"] == 1, counts
    assert counts["datapoints"] == 8, "each current-performance series is rescaled from percent"
    wc = next(
        a for x, a in upgrade.round1.assets.items() if a["metadata"].get("plex_resource") == "workcenters"
    )
    code = wc["metadata"]["workcenterCode"]
    old = next(x for x, a in upgrade.round1.assets.items() if a is wc)
    assert any(line.startswith(f"assets {old}: external id -> {PREFIX}workcenter_{code}") for line in lines)
    assert any(line.startswith(f"timeseries {RETIRED}") for line in lines)
    deleted = {line.split()[1].rstrip(":") for line in lines if line.startswith("delete ")}
    groups = old_groups(upgrade.round1)
    assert groups <= deleted and len(groups) == 8, deleted
    # the rest: assets CDF will not move to their own root, recreated there under the same new id
    created = {line.split()[1].rstrip(":") for line in lines if line.startswith("create ")}
    assert deleted - groups and deleted - groups <= created, sorted(deleted - groups - created)[:3]
    assert {f"{PREFIX}root_{key}" for key in ("parts", "suppliers", "customers")} <= created
    assert upgrade.after_dry_run == upgrade.round1, "a dry run changed CDF or the state"


def test_the_tree_is_plant_shaped_and_round_1_groups_are_gone(upgrade: Upgrade) -> None:
    """Round 1 grouped assets under `PCN{pcn}_group_*`; after migrate and a run only the Inventory group
    is left, every asset hangs where a fresh run puts it (checked whole above), and the own roots exist."""
    assets = upgrade.migrated.assets
    assert not old_groups(upgrade.round1) & set(assets), "an emptied group is left"
    assert INVENTORY in assets
    parts = [a for a in assets.values() if (a.get("metadata") or {}).get("plexResource") == "parts"]
    assert parts and {a["parentId"] for a in parts} == {f"{PREFIX}root_parts"}


def test_job_events_are_rewritten_in_the_new_shape(upgrade: Upgrade) -> None:
    """Round 1's job events carried the routing in metadata `operations` and spanned creation to
    completion; after migrate and a run none keeps `operations` and each operation is its own event."""
    old_jobs = [e for e in upgrade.round1.events.values() if e.get("type") == "job"]
    assert old_jobs and any("operations" in (e.get("metadata") or {}) for e in old_jobs), "round 1's shape"
    jobs = [e for e in upgrade.migrated.events.values() if e.get("type") == "job"]
    assert {e["externalId"] for e in old_jobs} <= {e["externalId"] for e in jobs}, "same ids, in place"
    assert not [e["externalId"] for e in jobs if "operations" in (e.get("metadata") or {})]
    assert any(e.get("type") == "job_operation" for e in upgrade.migrated.events.values())


def test_migrate_then_run_equals_a_fresh_run(upgrade: Upgrade) -> None:
    migrated, fresh = upgrade.migrated, upgrade.fresh
    for kind in ("assets", "events", "relationships"):
        got, want = getattr(migrated, kind), getattr(fresh, kind)
        assert set(got) == set(want), (
            f"{kind}: only migrated {sorted(set(got) - set(want))[:5]},"
            f" only fresh {sorted(set(want) - set(got))[:5]}"
        )
        differing = [x for x in want if got[x] != want[x]]
        assert not differing, (
            f"{kind} differ, e.g. {differing[0]}: {got[differing[0]]} != {want[differing[0]]}"
        )
    kept = {x: s for x, s in migrated.series.items() if not x.startswith(RETIRED)}
    assert set(kept) == set(fresh.series)
    differing = [x for x in fresh.series if kept[x] != fresh.series[x]]
    assert not differing, (
        f"series differ, e.g. {differing[0]}: {kept[differing[0]]} != {fresh.series[differing[0]]}"
    )
    assert {x: migrated.points[x] for x in kept} == fresh.points
    assert migrated.raw == fresh.raw


def test_no_object_is_doubled_and_nothing_is_orphaned(upgrade: Upgrade) -> None:
    by_source: dict[tuple[str, str], list[str]] = {}
    for xid, asset in upgrade.migrated.assets.items():
        meta = asset.get("metadata") or {}
        if meta.get("plexResource") == "tenants":
            continue  # the root and its group assets all come from the tenant row
        by_source.setdefault((meta.get("plexResource", ""), meta.get("sourceId", "")), []).append(xid)
    doubled = {k: v for k, v in by_source.items() if len(v) > 1}
    assert not doubled, f"one Plex record, several assets: {list(doubled.items())[:3]}"
    old_ids = set(upgrade.round1.assets) - old_groups(upgrade.round1)  # the emptied groups are deleted
    assert len(upgrade.migrated.assets) == len(upgrade.fresh.assets) >= len(old_ids)
    [plan] = upgrade.dry_run
    assert {plan.renamed.get(x, x) for x in old_ids} <= set(upgrade.migrated.assets), "an asset was lost"


def test_datapoints_are_kept_and_the_retired_series_is_flagged_not_deleted(upgrade: Upgrade) -> None:
    retired = [x for x in upgrade.round1.series if x.startswith(RETIRED)]
    assert retired
    for xid in retired:
        series = upgrade.migrated.series[xid]
        assert series["metadata"]["plexRetired"] == "true" and series["metadata"]["plexRetiredWhy"]
        assert upgrade.migrated.points[xid] == upgrade.round1.points[xid], "a retired series lost points"
    for xid, points in upgrade.round1.points.items():
        kept = dict(upgrade.migrated.points[xid])
        assert set(dict(points)) <= set(kept), f"{xid} lost points in the upgrade"
        if xid.startswith(f"{PREFIX}performance_current_"):  # round 1 wrote percent: now fractions
            assert all(abs(kept[t] - v / 100) < 1e-12 for t, v in points), xid
            assert upgrade.migrated.series[xid]["unit"] == "fraction"


def test_a_second_migrate_finds_nothing_to_do(upgrade: Upgrade) -> None:
    assert any(row[1] == "#layout" for row in upgrade.migrated.state["kv"]), "the state keeps its layout"
    [plan] = upgrade.again
    assert plan.lines() == [], "migrating a migrated project would change it again"


def test_the_command_line_refuses_a_round_1_state_until_migrate(
    world_pair: World, world_config: Path
) -> None:
    """Through `plex-cdf`: a state round 1 left (watermarks, no layout) stops `setup` and `run` with the
    fix; `migrate --dry-run` prints its plan; after `migrate` both go through."""
    from datetime import UTC, datetime

    state = SqliteStateStore(world_pair.state_path)
    state.commit_watermark(WORLD_PCN, "production_entries", datetime(2026, 1, 1, tzinfo=UTC))
    state.close()

    refused = world_pair.cli("run", "--once", "-c", str(world_config))
    assert refused.returncode == 2 and "plex-cdf migrate --dry-run" in refused.stderr, refused.stderr
    refused = world_pair.cli("setup", "-c", str(world_config))
    assert refused.returncode == 2 and "plex-cdf migrate --dry-run" in refused.stderr, refused.stderr

    listed = world_pair.cli("migrate", "--dry-run", "-c", str(world_config))
    assert listed.returncode == 0, listed.stderr
    assert f"PCN {WORLD_PCN}: would change 1 state" in listed.stdout, listed.stdout
    assert "forget watermarks" in listed.stdout

    assert world_pair.cli("migrate", "-c", str(world_config)).returncode == 0
    world_pair.setup(world_config)
    ran = world_pair.cli("run", "--once", "-c", str(world_config))
    assert ran.returncode == 0, ran.stderr


class Stopped(Exception):
    """Stands for a migrate killed midway."""


def test_a_migrate_stopped_midway_is_finished_by_the_next_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CDF moves no asset to another root, so parts, suppliers, customers and statuses are recreated under
    their own roots. A migrate killed after the new assets exist (before what pointed at the old ones is
    re-pointed and the old ones deleted) is finished by the next: nothing created twice, events and series
    re-pointed at the new internal ids, no temporary id left, and a third migrate plans nothing."""
    fixture = load_fixture()
    store_path, state_path = tmp_path / "store.db", tmp_path / "state.db"
    write_store(fixture, store_path)
    write_state(fixture, state_path)
    cdf = LocalCdf(DEMO_PROJECT, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, persist=store_path)
    with cdf.serve() as local:
        # migrate reads and writes CDF only: the Plex address is never called
        config = demo_config("http://127.0.0.1:9", local.base_url, local.token_url, state_path)
        client = build_client(cdf_settings(config))
        old = {a["id"]: a["externalId"] for a in cdf.store.assets()}
        parts = {i for i, x in old.items() if x.startswith(f"{PREFIX}part_")}
        pointing = [e for e in cdf.store.events() if parts & set(e.get("assetIds") or ())]
        linked = [
            s for s in cdf.store.time_series() if s.get("assetId") in old and "_part_" in old[s["assetId"]]
        ]
        assert pointing, "round 1's events link parts"

        async def killed(*_: Any) -> None:
            raise Stopped

        with monkeypatch.context() as patched:
            patched.setattr(migration, "_relink", killed)
            with pytest.raises(Stopped):
                asyncio.run(migrate(config, client, open_state(config, client), dry_run=False))
        half = {a["externalId"] for a in cdf.store.assets()}
        assert any(x.startswith(f"{PREFIX}migrating_") for x in half) and f"{PREFIX}root_parts" in half

        [resumed] = asyncio.run(migrate(config, client, open_state(config, client), dry_run=False))
        assert not [line for line in resumed.lines() if line.startswith("create ")], "nothing made twice"
        assert any(line.startswith("relink ") for line in resumed.lines()), "the re-pointing is left to it"
        assets = {a["id"]: a for a in cdf.store.assets()}
        assert not [a for a in assets.values() if "_migrating_" in a["externalId"]], "a temporary id is left"
        assert not [
            x
            for a in assets.values()
            if (x := a["externalId"]).startswith(f"{PREFIX}group_") and x != INVENTORY
        ]
        new_parts = {i for i, a in assets.items() if a.get("parentExternalId") == f"{PREFIX}root_parts"}
        assert new_parts and not new_parts & parts, "the parts under their own root are new assets"
        events = {e["id"]: e for e in cdf.store.events()}
        for event in pointing:
            now_linked = set(events[event["id"]].get("assetIds") or ())
            assert now_linked <= set(assets) and now_linked & new_parts, (event["externalId"], now_linked)
        series = {s["id"]: s for s in cdf.store.time_series()}
        for one in linked:
            assert series[one["id"]]["assetId"] in new_parts, one["externalId"]
        [again] = asyncio.run(migrate(config, client, open_state(config, client), dry_run=True))
        assert again.lines() == [], "a finished migrate plans nothing"
