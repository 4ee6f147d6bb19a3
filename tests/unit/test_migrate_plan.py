"""`plex_cdf.migrate.plan`: the moves as data, turned into exact updates from what CDF holds (pure)."""

from __future__ import annotations

from typing import Any

from plex_cdf.migrate import LAYOUT, MOVED_FROM, MOVES, Project, RetireSeries, plan

PCN = "1"


def workcenter(internal: int, uuid: str, code: str, **extra: str) -> dict[str, Any]:
    metadata = {"plex_resource": "workcenters", "plex_id": uuid, "workcenterCode": code, **extra}
    return {"id": internal, "externalId": f"PCN1_workcenter_{uuid}", "metadata": metadata}


def test_round_1_workcenters_are_renamed_in_place_by_internal_id_with_their_keys_restyled() -> None:
    project = Project(assets=[workcenter(7, "aaaa-1", "WC100")])
    [change, state] = plan(PCN, project, None).changes
    assert change.update == {
        "id": 7,
        "update": {
            "externalId": {"set": "PCN1_workcenter_WC100"},
            "metadata": {
                "set": {"plexResource": "workcenters", "sourceId": "aaaa-1", "workcenterCode": "WC100"}
            },
        },
    }
    assert state.kind == "state", "a round-1 project's state is re-read"


def test_a_code_two_workcenters_share_is_told_apart_as_a_run_does() -> None:
    project = Project(assets=[workcenter(1, "aaaa1111-x", "WC1"), workcenter(2, "bbbb2222-y", "WC1")])
    renamed = plan(PCN, project, None).renamed
    assert renamed == {
        "PCN1_workcenter_aaaa1111-x": "PCN1_workcenter_WC1~aaaa1111",
        "PCN1_workcenter_bbbb2222-y": "PCN1_workcenter_WC1~bbbb2222",
    }


def test_an_inactive_asset_whose_code_an_active_one_took_keeps_its_id() -> None:
    project = Project(
        assets=[workcenter(1, "old-1", "WC1", plex_active="false"), workcenter(2, "new-2", "WC1")]
    )
    assert plan(PCN, project, None).renamed == {"PCN1_workcenter_new-2": "PCN1_workcenter_WC1"}


def test_relationships_and_bom_rows_follow_the_renamed_parts() -> None:
    part = {
        "id": 3,
        "externalId": "PCN1_part_p-1",
        "metadata": {"plexResource": "parts", "sourceId": "p-1", "number": "10045", "revision": "B"},
    }
    link = {
        "externalId": "PCN1_bom_9",
        "sourceExternalId": "PCN1_part_p-1",
        "targetExternalId": "PCN1_part_x",
    }
    row = {"key": "PCN1_bom_9", "columns": {"plex_id": "9", "sourceExternalId": "PCN1_part_p-1"}}
    changes = plan(
        PCN, Project(assets=[part], relationships=[link], raw={"bom_lines": [row]}), LAYOUT
    ).changes
    by_kind = {c.kind: c for c in changes}
    assert by_kind["relationships"].update == {
        "externalId": "PCN1_bom_9",
        "update": {"sourceExternalId": {"set": "PCN1_part_10045-B"}},
    }
    assert by_kind["raw"].row == {
        "key": "PCN1_bom_9",
        "columns": {"sourceId": "9", "sourceExternalId": "PCN1_part_10045-B"},
    }
    assert "state" not in by_kind, "a state already at this layout is kept"


def test_a_retired_series_is_flagged_and_a_project_in_this_layout_plans_nothing() -> None:
    retired = next(m for m in MOVES if isinstance(m, RetireSeries))
    series = {"id": 5, "externalId": f"PCN1_{retired.kind}_w", "metadata": {"sourceId": "w"}}
    [change] = plan(PCN, Project(timeseries=[series]), LAYOUT).changes
    assert change.update["update"]["metadata"]["set"]["plexRetired"] == "true"
    flagged = {**series, "metadata": change.update["update"]["metadata"]["set"]}
    assert plan(PCN, Project(timeseries=[flagged]), LAYOUT).changes == []


META = {"plexResource": "tenants", "sourceId": "t"}
ROOT = {"id": 1, "externalId": "PCN1_facility_1", "metadata": META}
INVENTORY = {"id": 3, "externalId": "PCN1_group_inventory", "parentId": 1, "metadata": META}


def test_round_1_groups_of_plant_places_are_emptied_into_the_facility_then_deleted_keeping_ids() -> None:
    buildings = {"id": 2, "externalId": "PCN1_group_buildings", "parentId": 1, "metadata": META}
    building = {"id": 4, "externalId": "PCN1_building_B", "parentId": 2, "metadata": {"sourceId": "b"}}
    changes = plan(PCN, Project(assets=[ROOT, buildings, INVENTORY, building]), LAYOUT).changes
    assert [(c.kind, c.target) for c in changes] == [
        ("assets", "PCN1_building_B"),
        ("delete", "PCN1_group_buildings"),
    ]
    assert changes[0].update == {"id": 4, "update": {"parentId": {"set": 1}}}, "moved by internal id"
    assert "the next run places it" in changes[0].what
    emptied = Project(assets=[ROOT, INVENTORY, {**building, "parentId": 1}])
    assert plan(PCN, emptied, LAYOUT).changes == [], "the inventory group stays; a second migrate is idle"


PARTS = {"id": 2, "externalId": "PCN1_group_parts", "parentId": 1, "metadata": META, "dataSetId": 9}
PART = {"id": 4, "externalId": "PCN1_part_X", "parentId": 2, "name": "X", "metadata": {"plex_id": "p"}}
OPERATION = {"id": 5, "externalId": "PCN1_part_operation_o", "parentId": 4, "name": "o", "metadata": {}}
SERIES = {"id": 6, "externalId": "PCN1_part_qty_X", "assetId": 4, "metadata": {}}
EVENT = {"id": 7, "externalId": "PCN1_quality_e", "assetIds": [5, 1], "metadata": {}}


def test_parts_are_recreated_under_their_own_root_then_repointed_and_the_old_ones_deleted() -> None:
    """CDF moves no asset to another root: the part and its child get new assets under the parts root
    (same external id, given up first by the old one), what pointed at them follows, the old go."""
    project = Project(assets=[ROOT, PARTS, INVENTORY, PART, OPERATION], timeseries=[SERIES], events=[EVENT])
    changes = plan(PCN, project, LAYOUT).changes
    assert [(c.kind, c.target) for c in changes] == [
        ("create", "PCN1_root_parts"),
        ("assets", "PCN1_part_X"),
        ("create", "PCN1_part_X"),
        ("relink", "PCN1_part_qty_X"),
        ("assets", "PCN1_part_operation_o"),
        ("create", "PCN1_part_operation_o"),
        ("relink", "PCN1_quality_e"),
        ("delete", "PCN1_part_operation_o"),  # deepest first
        ("delete", "PCN1_part_X"),
        ("delete", "PCN1_group_parts"),
    ]
    by = {(c.kind, c.target): c for c in changes}
    assert by["assets", "PCN1_part_X"].update == {
        "id": 4,
        "update": {
            "externalId": {"set": "PCN1_migrating_part_X"},
            "metadata": {"add": {MOVED_FROM: "PCN1_part_X"}},
        },
    }, "the old asset frees its external id, by internal id"
    assert by["create", "PCN1_part_X"].row == {
        "externalId": "PCN1_part_X",
        "parentExternalId": "PCN1_root_parts",
        "name": "X",
        "metadata": {"sourceId": "p"},
    }
    assert by["create", "PCN1_part_operation_o"].row == {
        "externalId": "PCN1_part_operation_o",
        "parentExternalId": "PCN1_part_X",
        "name": "o",
    }
    assert by["create", "PCN1_root_parts"].row == {
        "externalId": "PCN1_root_parts",
        "name": "Parts",
        "dataSetId": 9,
    }
    assert by["relink", "PCN1_part_qty_X"].row == {
        "api": "timeseries",
        "id": 6,
        "from": 4,
        "to": "PCN1_part_X",
    }
    assert by["relink", "PCN1_quality_e"].row == {
        "api": "events",
        "id": 7,
        "from": 5,
        "to": "PCN1_part_operation_o",
    }
    assert [c.update for c in changes if c.kind == "delete"] == [
        {"id": 5},
        {"id": 4},
        {"externalId": "PCN1_group_parts"},
    ]


def test_a_migrate_stopped_midway_is_finished_by_the_next_one() -> None:
    """Stopped after the part was recreated, before its series was re-pointed and before the child was
    touched: the next plan creates nothing twice, re-points and finishes; relationships find the new id."""
    renamed = {"id": 4, "externalId": "PCN1_migrating_part_Y", "parentId": 2, "name": "X"}
    renamed["metadata"] = {"plex_id": "p", MOVED_FROM: "PCN1_part_p"}
    new_part = {"id": 10, "externalId": "PCN1_part_Y", "parentId": 11, "name": "X", "metadata": {}}
    own_root = {"id": 11, "externalId": "PCN1_root_parts", "metadata": META}
    link = {"externalId": "PCN1_bom_1", "sourceExternalId": "PCN1_part_p", "targetExternalId": "PCN1_z"}
    project = Project(
        assets=[ROOT, PARTS, INVENTORY, own_root, renamed, new_part, OPERATION],
        timeseries=[SERIES],
        relationships=[link],
    )
    the_plan = plan(PCN, project, LAYOUT)
    assert [(c.kind, c.target) for c in the_plan.changes] == [
        ("relink", "PCN1_part_qty_X"),
        ("assets", "PCN1_part_operation_o"),
        ("create", "PCN1_part_operation_o"),
        ("delete", "PCN1_part_operation_o"),
        ("delete", "PCN1_part_Y"),
        ("delete", "PCN1_group_parts"),
        ("relationships", "PCN1_bom_1"),
    ]
    assert the_plan.changes[0].row == {"api": "timeseries", "id": 6, "from": 4, "to": "PCN1_part_Y"}
    assert (
        the_plan.changes[2].row is not None and the_plan.changes[2].row["parentExternalId"] == "PCN1_part_Y"
    )
    assert the_plan.changes[-1].update["update"] == {"sourceExternalId": {"set": "PCN1_part_Y"}}
    finished = Project(assets=[ROOT, INVENTORY, own_root, {**new_part, "metadata": {"sourceId": "p"}}])
    assert plan(PCN, finished, LAYOUT).changes == [], "a finished move plans nothing"
