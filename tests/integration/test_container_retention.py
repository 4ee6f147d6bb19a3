"""Containers that left Plex's active list leave the asset tree after the retention, on the simulated clock:
inactive first, deleted once gone for `extractor.inventory.container-retention`, counted in the summary."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from plex_cdf import render
from plex_cdf.app import cdf_settings
from plex_cdf.cdf.client import build_client
from plex_cdf.cli import extract
from plex_cdf.demo import DEMO_PCN, local_world
from plex_cdf.ops import setup
from plex_cdf.state.sqlite import SqliteStateStore

RETENTION = timedelta(hours=4)


def containers(world: Any) -> dict[str, dict[str, Any]]:
    return {a["externalId"]: a for a in world.cdf.store.assets() if "_container_" in a.get("externalId", "")}


def inactive(world: Any) -> set[str]:
    return {x for x, a in containers(world).items() if (a.get("metadata") or {}).get("plexActive") == "false"}


def test_containers_gone_longer_than_the_retention_leave_the_tree_and_the_summary_counts_them(
    tmp_path: Path,
) -> None:
    with local_world(scale="small", calls_per_minute=100_000, state_dir=tmp_path) as world:
        world.config.extractor.inventory.container_retention = RETENTION
        for domain in ("jobs", "production", "quality", "performance"):
            getattr(world.config.extractor, domain).enabled = False
        client = build_client(cdf_settings(world.config))
        asyncio.run(setup(world.config, client))

        def run_once() -> Any:
            return asyncio.run(extract(world.config, once=True, clock=world.clock, client=client))

        def deleted(results: Any) -> int:
            return sum(r.write.deleted for result in results.values() for r in result.reports)

        run_once()
        # Three containers leave Plex's active list (consumed, shipped): the plant stops listing them.
        listed = world.sim.plant.master.containers
        leaving, listed[:] = listed[:3], listed[3:]
        world.sim.clock.advance(timedelta(hours=6))
        assert deleted(run_once()) == 0
        gone = inactive(world)
        assert gone == {f"PCN{DEMO_PCN}_container_{c.row['serialNo']}" for c in leaving}, (
            "flagged inactive first"
        )
        world.sim.clock.advance(RETENTION - timedelta(hours=1))
        assert deleted(run_once()) == 0 and gone <= set(containers(world)), (
            "kept (inactive) for the retention"
        )
        world.sim.clock.advance(timedelta(hours=2))
        results = run_once()

        assert not gone & set(containers(world)), "containers gone for the retention must leave the tree"
        assert deleted(results) == len(gone)
        hashes = SqliteStateStore(tmp_path / "state.db").get_hashes(DEMO_PCN, "containers")
        assert not gone & set(hashes), "the state forgets a deleted container"
        console = Console(record=True, width=100)
        render.summary(console, results)
        assert "deleted" in console.export_text(), "the run summary shows what was deleted"
