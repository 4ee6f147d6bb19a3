"""`plex_cdf.migrate.plan`: the moves as data, turned into exact updates from what CDF holds (pure)."""

from __future__ import annotations

from typing import Any

from plex_cdf.migrate import LAYOUT, MOVES, Project, RetireSeries, plan

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


def test_round_1_groups_are_emptied_into_the_facility_then_deleted_and_their_children_keep_ids() -> None:
    meta = {"plexResource": "tenants", "sourceId": "t"}
    root = {"id": 1, "externalId": "PCN1_facility_1", "metadata": meta}
    parts = {"id": 2, "externalId": "PCN1_group_parts", "parentId": 1, "metadata": meta}
    inventory = {"id": 3, "externalId": "PCN1_group_inventory", "parentId": 1, "metadata": meta}
    part = {"id": 4, "externalId": "PCN1_part_X", "parentId": 2, "metadata": {"sourceId": "p"}}
    operation = {"id": 5, "externalId": "PCN1_part_operation_o", "parentId": 4, "metadata": {"sourceId": "o"}}
    project = Project(assets=[root, parts, inventory, part, operation])
    changes = plan(PCN, project, LAYOUT).changes
    assert [(c.kind, c.target) for c in changes] == [
        ("assets", "PCN1_part_X"),
        ("delete", "PCN1_group_parts"),
    ]
    assert changes[0].update == {"id": 4, "update": {"parentId": {"set": 1}}}, "moved by internal id"
    assert "the next run places it" in changes[0].what
    emptied = Project(assets=[root, inventory, {**part, "parentId": 1}, operation])
    assert plan(PCN, emptied, LAYOUT).changes == [], "the inventory group stays; a second migrate is idle"
