"""The commands on the data-modeling target, through the real command line against both simulators:
setup, check (DMS capabilities and spaces), run, status --reconcile, cleanup (schema only with --schema),
backfill and `demo --target data-modeling`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from cognite.client.data_classes import data_modeling as dm

from plex_cdf.cdf.dm import model
from tests.integration.conftest import WORLD_PCN, LocalCdfHandle, World, world_cli_env, world_row, world_table
from tests.integration.test_cli_backfill import backfill_range

SPACE = f"plex_{WORLD_PCN}"
SCHEMA = "plex_cdf"
PRODUCTION = f"PCN{WORLD_PCN}_production_"


def dm_config(world: World) -> Path:
    tree = world.config_tree()
    tree["destination"] = {"type": "data-modeling"}
    return world.write_config(tree)


def client(world: World) -> Any:
    return LocalCdfHandle(world.cdf, world.cdf_server).client()


def node_ids(world: World) -> set[str]:
    return {n.external_id for n in client(world).data_modeling.instances.list("node", space=SPACE, limit=-1)}


def test_check_verifies_dms_capabilities_and_the_spaces(world_pair: World) -> None:
    config = dm_config(world_pair)

    before = world_pair.cli("check", "-c", str(config))
    world_pair.setup(config)
    after = world_pair.cli("check", "-c", str(config))

    assert before.returncode == 1
    spaces = world_row(before.stdout, "CDF spaces (plex_cdf, plex_340884)")
    assert "FAIL" in " ".join(spaces) and "space plex_cdf" in " ".join(spaces), spaces
    assert after.returncode == 0, after.stdout[-3000:]
    assert "OK" in " ".join(world_row(after.stdout, "CDF spaces (plex_cdf, plex_340884)"))
    assert "OK" in " ".join(world_row(after.stdout, "CDF capabilities"))


def test_reconcile_names_a_missing_node_and_cleanup_deletes_instances_then_the_schema(
    world_pair: World,
) -> None:
    config = dm_config(world_pair)
    world_pair.setup(config)
    run = world_pair.cli("run", "--once", "-c", str(config))
    assert run.returncode == 0, run.stderr[-3000:]

    complete = world_pair.cli("status", "--reconcile", "-c", str(config))
    customer = sorted(x for x in node_ids(world_pair) if x.startswith(f"PCN{WORLD_PCN}_customer_"))[0]
    client(world_pair).data_modeling.instances.delete(nodes=dm.NodeId(SPACE, customer))
    gap = world_pair.cli("status", "--reconcile", "-c", str(config))

    assert complete.returncode == 0, complete.stdout[-3000:]
    assert gap.returncode == 1
    rows = [
        r for r in world_table(gap.stdout.split("--reconcile", 1)[-1]) if len(r) == 6 and r[1] == "customers"
    ]
    assert rows and rows[0][4] == "1" and customer in rows[0][5].replace(" ", ""), rows

    listed = world_pair.cli("cleanup", "-c", str(config))
    assert listed.returncode == 0 and int(world_row(listed.stdout, "nodes")[1].replace(",", "")) > 100
    assert len(node_ids(world_pair)) > 100, "listing deleted nothing"
    deleted = world_pair.cli("cleanup", "--yes", "-c", str(config))
    assert deleted.returncode == 0, deleted.stderr[-3000:]
    assert node_ids(world_pair) == set()
    views = client(world_pair).data_modeling.views.list(space=SCHEMA, limit=-1)
    assert len(views) > 0, "the schema stays without --schema"

    dropped = world_pair.cli("cleanup", "--yes", "--schema", "-c", str(config))
    assert dropped.returncode == 0, dropped.stderr[-3000:]
    spaces = {s.space for s in client(world_pair).data_modeling.spaces.list(limit=-1)}
    assert SCHEMA not in spaces and SPACE not in spaces


def test_backfill_writes_history_as_activities(world_pair: World) -> None:
    config = dm_config(world_pair)
    world_pair.setup(config)

    begin, end = backfill_range(world_pair)

    done = world_pair.cli("backfill", "--from", begin, "--to", end, "--only", "production", "-c", str(config))

    assert done.returncode == 0, done.stderr[-3000:]
    activity = model.view_id(SCHEMA, "PlexActivity")
    nodes = client(world_pair).data_modeling.instances.list("node", space=SPACE, sources=activity, limit=-1)
    starts = [n.properties[activity]["startTime"] for n in nodes if n.external_id.startswith(PRODUCTION)]
    assert len(starts) > 100
    assert all(begin <= start[:10] < end for start in starts), "only the range is loaded"


def test_demo_on_the_data_modeling_target(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "plex_cdf", "demo", "--target", "data-modeling"],
        cwd=tmp_path,
        env=world_cli_env(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-3000:]
    assert f"views v1: {len(model.VIEWS)} created" in done.stdout
    assert "Instance space plex_340884 in the local CDF:" in done.stdout
