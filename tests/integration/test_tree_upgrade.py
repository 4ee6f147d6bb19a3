"""A tenant whose CDF holds round 1's tree (everything under grouping assets) gets the plant-shaped tree
from a plain run: each asset is updated in place to its new parent, the own roots are created, and the
round-1 grouping assets are left behind, empty, for `plex-cdf migrate` to delete (docs/upgrade-notes.md)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from cognite.client.data_classes import AssetUpdate, AssetWrite

from plex_cdf.app import cdf_settings
from plex_cdf.cdf.client import build_client
from plex_cdf.cli import extract
from plex_cdf.demo import DEMO_PCN, local_world
from plex_cdf.domains.master_data import OWN_ROOTS, group_external_id, own_root_external_id
from plex_cdf.ids import root_external_id
from plex_cdf.ops import setup
from tests.integration.truth import plant_tree

PREFIX = f"PCN{DEMO_PCN}_"
ROUND_ONE_GROUPS = {  # kind of the external id -> round 1's grouping asset
    "building": "buildings",
    "workcenter": "workcenters",
    "production_line": "production_lines",
    "part": "parts",
    "supplier": "suppliers",
    "customer": "customers",
    "workcenter_status": "workcenter_statuses",
    "equipment": "equipment",
}


def kind_of(xid: str) -> str:
    rest = xid.removeprefix(PREFIX)
    return max((k for k in ROUND_ONE_GROUPS if rest.startswith(k + "_")), key=len, default="")


def round_one_parent(xid: str, parent: str | None) -> str | None:
    """Where round 1 hung an asset: its group, except equipment with a workcenter and what was not grouped."""
    kind = kind_of(xid)
    if not kind or (kind == "equipment" and parent and "_workcenter_" in parent):
        return parent
    return group_external_id(DEMO_PCN, ROUND_ONE_GROUPS[kind])


async def rewind_to_round_one(client: Any, assets: dict[str, dict[str, Any]]) -> None:
    """Make CDF hold round 1's tree: the groups under the facility, every grouped asset under its group,
    the own roots gone."""
    root = root_external_id(DEMO_PCN)
    groups = [
        AssetWrite(external_id=group_external_id(DEMO_PCN, key), name=key, parent_external_id=root)
        for key in sorted(set(ROUND_ONE_GROUPS.values()))
    ]
    await client.assets.create(groups)
    moves = [
        AssetUpdate(external_id=xid).parent_external_id.set(wanted)
        for xid, asset in assets.items()
        if (wanted := round_one_parent(xid, asset.get("parentExternalId"))) != asset.get("parentExternalId")
    ]
    await client.assets.update(moves)
    await client.assets.delete(external_id=[own_root_external_id(DEMO_PCN, key) for key, _ in OWN_ROOTS])


def test_a_plain_run_moves_round_one_assets_into_the_plant_tree_and_leaves_the_groups_empty(
    tmp_path: Path,
) -> None:
    with local_world(scale="small", calls_per_minute=100_000, state_dir=tmp_path) as world:
        for domain in ("jobs", "production", "inventory", "quality", "performance"):
            getattr(world.config.extractor, domain).enabled = False
        client = build_client(cdf_settings(world.config))
        asyncio.run(setup(world.config, client))

        def cdf_assets() -> dict[str, dict[str, Any]]:
            return {
                a["externalId"]: a for a in world.cdf.store.assets() if a["externalId"].startswith(PREFIX)
            }

        asyncio.run(extract(world.config, once=True, clock=world.clock, client=client))
        asyncio.run(rewind_to_round_one(client, cdf_assets()))
        groups = {group_external_id(DEMO_PCN, key) for key in ROUND_ONE_GROUPS.values()}
        grouped = [x for x, a in cdf_assets().items() if a.get("parentExternalId") in groups]
        assert len(grouped) > 50 and not {own_root_external_id(DEMO_PCN, "parts")} & set(cdf_assets())
        (tmp_path / "state.db").unlink()  # round 1's state knew nothing of the new rows
        world.sim.clock.advance(timedelta(hours=1))
        asyncio.run(extract(world.config, once=True, clock=world.clock, client=client))

        after = cdf_assets()
        tree = plant_tree(world.sim, DEMO_PCN)
        wrong = {
            x: a.get("parentExternalId")
            for x, a in after.items()
            if x in tree and a.get("parentExternalId") != tree[x]
        }
        assert not wrong, f"{len(wrong)} assets not moved to the plant tree, e.g. {list(wrong.items())[:3]}"
        assert groups <= set(after), "a run deletes no round-1 group: that is migrate's"
        children = {a.get("parentExternalId") for a in after.values()}
        assert not groups & children, "every round-1 group is left empty"
