"""Configured resources on the data-modeling target, through the real command line against the simulated
Plex and the local CDF: the ready-made blocks (snapshots and per-parent rows, `view:` given) land as nodes
of their views equal to the simulator's ground truth, and a rerun applies nothing; data-source windows as
CogniteActivity nodes of a view, a snapshot as CogniteTimeSeries nodes with datapoints by instanceId;
setup is safe to repeat and a changed field list is a new view version (and data model version) beside the
old one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cognite.client import CogniteClient
from cognite.client.data_classes import data_modeling as dm
from cognite.client.data_classes.data_modeling import filters as F

from plex_cdf.cdf.dm import configured, model
from plex_cdf.cdf.dm.mapping import Spaces
from plex_cdf.config.resources import ConfiguredResource
from plex_cdf.ids import external_id
from plex_cdf.items import RawRow
from plex_cdf.plex.dates import format_plex_datetime
from plex_cdf.windows import floor_to
from tests.integration.conftest import (
    WORLD_PCN,
    World,
    world_row,
    world_table,
)
from tests.integration.test_configured_resources import SCRAP_EVENTS, WC_PERFORMANCE, ready_made, truth_rows

SPACES = Spaces("plex_cdf", f"plex_{WORLD_PCN}")
SOURCE = SPACES.ref(model.SOURCE_SYSTEM_ID)


def dm_tree(world: World, resources: list[dict[str, Any]]) -> dict[str, Any]:
    tree = world.config_tree()
    tree["destination"] = {"type": "data-modeling"}
    tree["resources"] = resources
    return tree


def client_of(world: World) -> CogniteClient:
    return world.cdf_client()


def nodes_of(client: CogniteClient, view: dm.ViewId) -> dict[str, dict[str, Any]]:
    """Every node with data in `view`'s container, with its properties through the view."""
    found = client.data_modeling.instances.list(
        "node",
        space=SPACES.instances,
        sources=[view],
        limit=-1,
        filter=F.HasData(views=[view]),
    )
    return {node.external_id: dict(node.properties[view]) for node in found}


def applies(world: World) -> int:
    return sum(c for key, c in world.cdf.request_counts().items() if key == "POST /models/instances")


def test_ready_made_blocks_land_as_nodes_of_their_views_equal_to_the_ground_truth(world_pair: World) -> None:
    config = world_pair.write_config(dm_tree(world_pair, ready_made()))
    world_pair.setup(config)
    again = world_pair.cli("setup", "-c", str(config))
    assert again.returncode == 0 and "(configured resource lots): unchanged" in again.stdout, again.stdout

    done = world_pair.cli("run", "--once", "-c", str(config), "--only", "master-data,inventory,jobs")

    assert done.returncode == 0, f"run failed:\n{done.stdout}\n{done.stderr}"
    client = client_of(world_pair)
    for entry in ready_made():
        view = configured.view_of(ConfiguredResource.model_validate(entry))
        assert view is not None
        want = {
            external_id(WORLD_PCN, entry["name"], key): configured.row_node(
                view, RawRow(entry["name"], key, record), SPACES, SOURCE, WORLD_PCN
            )
            for key, record in truth_rows(world_pair, entry).items()
        }
        got = nodes_of(client, view.view_id(SPACES.schema))
        assert want, f"the simulated tenant holds no {entry['name']}: the test would prove nothing"
        assert sorted(got) == sorted(want), f"{entry['name']}: nodes differ from the tenant's records"
        for xid, node in want.items():
            expected = {**node.sources[0].properties, "source": SOURCE}
            shown = {k: v for k, v in got[xid].items() if v is not None and v != []}
            assert shown == expected, f"{entry['name']} {xid}: properties differ from Plex's record"

    world_pair.cdf.reset_counts()
    rerun = world_pair.cli("run", "--once", "-c", str(config), "--only", "master-data,inventory,jobs")
    assert rerun.returncode == 0, rerun.stderr
    assert applies(world_pair) == 0, "an unchanged rerun applied instances"

    check = world_pair.cli("check", "-c", str(config))
    assert "OK" in " ".join(world_row(check.stdout, f"CDF spaces (plex_cdf, {SPACES.instances})")), (
        check.stdout
    )
    lot = sorted(nodes_of(client, lot_view()))[0]
    client.data_modeling.instances.delete(nodes=dm.NodeId(SPACES.instances, lot))
    gap = world_pair.cli("status", "--reconcile", "-c", str(config))
    rows = [r for r in world_table(gap.stdout.split("--reconcile", 1)[-1]) if len(r) == 6 and r[1] == "lots"]
    assert rows and rows[0][4] == "1" and lot in rows[0][5].replace(" ", ""), gap.stdout[-2000:]
    deleted = world_pair.cli("cleanup", "--yes", "-c", str(config))
    assert deleted.returncode == 0, deleted.stderr[-3000:]
    assert nodes_of(client, lot_view()) == {}, "cleanup left the configured nodes"


def lot_view() -> dm.ViewId:
    entry = next(e for e in ready_made() if e["name"] == "lots")
    view = configured.view_of(ConfiguredResource.model_validate(entry))
    assert view is not None
    return view.view_id(SPACES.schema)


def test_windows_as_activities_and_a_snapshot_as_time_series_nodes_of_their_views(world_pair: World) -> None:
    scrap = {**SCRAP_EVENTS, "view": "PlexScrapEvent"}
    performance = {**WC_PERFORMANCE, "view": "PlexWorkcenterPerformance"}
    config = world_pair.write_config(dm_tree(world_pair, [scrap, performance]))
    world_pair.setup(config)

    done = world_pair.cli("run", "--once", "-c", str(config), "--only", "master-data,quality")

    assert done.returncode == 0, f"run failed:\n{done.stdout}\n{done.stderr}"
    client = client_of(world_pair)
    scrap_view = configured.view_of(ConfiguredResource.model_validate(scrap))
    series_view = configured.view_of(ConfiguredResource.model_validate(performance))
    assert scrap_view is not None and series_view is not None
    now = world_pair.plex.clock.now()
    begin = floor_to(now - timedelta(days=2), timedelta(days=1))  # first-run reach, cut at whole days
    records = world_pair.plex.truth.get(
        scrap["path"], {"beginDate": format_plex_datetime(begin), "endDate": format_plex_datetime(now)}
    )
    keys = {"|".join(str(r[f]) for f in scrap["key"]) for r in records}
    activities = nodes_of(client, scrap_view.view_id(SPACES.schema))
    assert records and set(activities) == {external_id(WORLD_PCN, "scrap_events", k) for k in keys}
    as_activity = nodes_of(client, model.cdm("CogniteActivity"))
    for record in records[:20]:
        key = "|".join(str(record[f]) for f in scrap["key"])
        xid = external_id(WORLD_PCN, "scrap_events", key)
        node = activities[xid]
        assert node["workcenterId"] == record["workcenterId"] and node["plexType"] == "scrap", xid
        assert node["sourceId"] == key and xid in as_activity, "not a CogniteActivity"
        workcenter = external_id(WORLD_PCN, "workcenter", record["workcenterCode"])  # readable
        assert node["assets"] == [{"space": SPACES.instances, "externalId": workcenter}], key
    series = nodes_of(client, series_view.view_id(SPACES.schema))
    as_series = nodes_of(client, model.cdm("CogniteTimeSeries"))
    for row in world_pair.plex.truth.datasource(22870, {}):
        xid = external_id(WORLD_PCN, "wc_performance", row["Workcenter_Code"])
        assert series[xid]["Workcenter_Code"] == row["Workcenter_Code"] and xid in as_series, xid
        assert series[xid]["sourceUnit"] == "%"
        points = client.time_series.data.retrieve(instance_id=dm.NodeId(SPACES.instances, xid))
        assert points is not None and list(points.value)[-1] == row["Performance"], xid


def test_a_changed_field_list_is_a_new_view_version_beside_the_old_one(world_pair: World) -> None:
    entry = {"name": "sheets", "data-source": 4142, "domain": "quality", "key": ["Checksheet_No"]}
    first = {**entry, "view": "PlexChecksheetRow"}
    config = world_pair.write_config(dm_tree(world_pair, [first]))
    world_pair.setup(config)
    assert world_pair.cli("run", "--once", "-c", str(config), "--only", "quality").returncode == 0
    old = configured.view_of(ConfiguredResource.model_validate(first))
    wider = {**first, "key": ["Checksheet_No", "Part_No"]}  # one more field the entry names
    new = configured.view_of(ConfiguredResource.model_validate(wider))
    assert old is not None and new is not None and old.version != new.version
    config = world_pair.write_config(dm_tree(world_pair, [wider]))

    world_pair.setup(config)
    done = world_pair.cli("run", "--once", "-c", str(config), "--only", "quality")

    assert done.returncode == 0, done.stderr
    client = client_of(world_pair)
    views = client.data_modeling.views.list(space=SPACES.schema, all_versions=True, limit=-1)
    versions = {v.version for v in views if v.external_id == "PlexChecksheetRow"}
    assert versions == {old.version, new.version}, "the old version was overwritten"
    rows = {x: p for x, p in nodes_of(client, new.view_id(SPACES.schema)).items() if "|" in p["sourceId"]}
    assert rows and all("Part_No" in props for props in rows.values()), "the new field is not a property"
    models = client.data_modeling.data_models.list(space=SPACES.schema, all_versions=True, limit=-1)
    listed = {m.version: set(m.views) for m in models if m.external_id == model.DATA_MODEL}
    old_model = model.data_model_version([old.view_id(SPACES.schema)])
    new_model = model.data_model_version([new.view_id(SPACES.schema)])
    assert set(listed) == {old_model, new_model}, "setup lists the configured view in a new model version"
    assert old.view_id(SPACES.schema) in listed[old_model] and new.view_id(SPACES.schema) in listed[new_model]
    assert model.view_id(SPACES.schema, "PlexJob") in listed[new_model]

    dropped = world_pair.cli("cleanup", "--yes", "--schema", "-c", str(config))
    assert dropped.returncode == 0, dropped.stderr[-3000:]
    assert SPACES.schema not in {s.space for s in client.data_modeling.spaces.list(limit=-1)}, (
        "cleanup --schema left a data model version behind (its space cannot go)"
    )
