"""Master data: the facility hierarchy, parts and their routing, BOM lines, partners, equipment."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plex_cdf.domains import master_data as md
from plex_cdf.domains.resource import Context, PerParent, Quarantine, Snapshot
from plex_cdf.items import Asset, RawRow, Relationship
from tests.unit.fixtures.plex import (
    NOW,
    PCN,
    context,
    lineage_problems,
    load,
    paging_params,
    run,
    undocumented,
)

ROWS = {r.name: r for r in md.RESOURCES}
FIXTURES = {
    "buildings": ("buildings", md.BUILDING_FIELDS),
    "workcenters": ("workcenters", md.WORKCENTER_FIELDS),
    "production_lines": ("production_lines", md.PRODUCTION_LINE_FIELDS),
    "workcenter_statuses": (
        "workcenter_statuses",
        md.WORKCENTER_STATUS_FIELDS + md.WORKCENTER_STATUS_STRUCTURED,
    ),
    "parts": ("parts", md.PART_FIELDS),
    "operations": ("operations", md.OPERATION_FIELDS),
    "part_operations": ("part_operations", md.PART_OPERATION_FIELDS),
    "boms": ("boms", md.BOM_FIELDS),
    "suppliers": ("suppliers", md.SUPPLIER_FIELDS),
    "customers": ("customers", md.CUSTOMER_FIELDS),
    "equipment": ("equipment", md.EQUIPMENT_FIELDS + md.EQUIPMENT_STRUCTURED),
    "tenants": ("tenants", md.TENANT_FIELDS),
}
LOOKUPS: dict[str, Any] = {
    "operations": load("operations"),
    "buildings": load("buildings"),
    "parts": load("parts"),
    "workcenters": load("workcenters"),
}
ROOT = f"PCN{PCN}_facility_{PCN}"
BUILDING = f"PCN{PCN}_building_3c9a7e10-5f2d-4b8c-9e1a-6d4f2b8c0a11"
LINE_ID = "d4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f01"
WORKCENTER = f"PCN{PCN}_workcenter_NFF-01"


def one(name: str, index: int = 0) -> dict[str, Any]:
    record: dict[str, Any] = copy.deepcopy(load(name)[index])
    return record


def asset_of(resource: str, record: dict[str, Any]) -> Asset:
    items = run(ROWS[resource].transform, record, resource, lookups=LOOKUPS)
    assert len(items) == 1 and isinstance(items[0], Asset), f"{resource} should give one asset, got {items}"
    return items[0]


# --- the facility root -------------------------------------------------------------------------------


def test_root_comes_from_the_tenant_whose_code_is_configured() -> None:
    tenants = load("tenants")
    items = list(md.facility(tenants, context("tenants")))
    root = items[0]
    assert isinstance(root, Asset)
    assert root.external_id == f"PCN{PCN}_facility_{PCN}", "the predecessor's root id must carry over"
    assert root.parent_external_id is None
    assert root.name == f"PCN {PCN} - Facility", "no tenant names the PCN here, so the name falls back"
    only = next(iter(md.facility([tenants[0]], context("tenants"))))
    assert isinstance(only, Asset) and only.name == "RADEMO - Facility", "a sole tenant is the configured one"
    assert only.metadata["sourceId"] == tenants[0]["id"]


def test_root_matches_a_tenant_by_code_case_insensitively() -> None:
    tenants = [{"id": "x-1", "code": "other"}, {"id": "x-2", "code": "rademo"}]
    root = next(iter(md.facility(tenants, Context(pcn="RADEMO", resource="tenants", now=NOW))))
    assert isinstance(root, Asset) and root.metadata["sourceId"] == "x-2"


def test_only_the_inventory_group_hangs_under_the_facility_and_non_physical_kinds_get_own_roots() -> None:
    items = [
        a for a in md.facility([{"id": "t-1", "code": "RADEMO"}], context("tenants")) if isinstance(a, Asset)
    ]
    children = {a.external_id for a in items if a.parent_external_id == ROOT}
    assert children == {f"PCN{PCN}_group_inventory"}, "inventory locations need their parent group; no other"
    roots = {a.external_id: a.name for a in items if a.parent_external_id is None and a.external_id != ROOT}
    assert roots == {
        f"PCN{PCN}_root_parts": "RADEMO - Parts",
        f"PCN{PCN}_root_suppliers": "RADEMO - Suppliers",
        f"PCN{PCN}_root_customers": "RADEMO - Customers",
        f"PCN{PCN}_root_workcenter_statuses": "RADEMO - Workcenter statuses",
    }


def test_an_empty_tenant_list_still_gives_a_root() -> None:
    root = next(iter(md.facility([], context("tenants"))))
    assert isinstance(root, Asset) and root.external_id == f"PCN{PCN}_facility_{PCN}", "no root, no hierarchy"


# --- plant structure ---------------------------------------------------------------------------------


def test_workcenter_is_named_code_dash_name_under_its_building_when_no_line_lists_it() -> None:
    asset = asset_of("workcenters", one("workcenters"))
    assert asset.name == "NFF-01 - Liquid Nitrogen Flash Freezer"
    assert asset.external_id == WORKCENTER
    assert asset.parent_external_id == BUILDING
    assert asset.metadata["tankSilo"] == "false"
    assert asset.data_set == "master"


def kept(*rows: tuple[str, str, str | None]) -> list[dict[str, Any]]:
    """Line-workcenter records as the per-parent row keeps them: (line id, workcenter id, building id)."""
    return [{md.LINE_ID: line, "workcenterId": wc, "buildingId": b} for line, wc, b in rows]


def placed(resource: str, record: dict[str, Any], rows: list[dict[str, Any]]) -> str | None:
    items = run(ROWS[resource].transform, record, resource, lookups={**LOOKUPS, md.LINE_WORKCENTERS: rows})
    assert len(items) == 1 and isinstance(items[0], Asset)
    return items[0].parent_external_id


def test_workcenter_goes_under_the_production_line_that_lists_it() -> None:
    wc = one("workcenters")
    rows = kept((LINE_ID, wc["workcenterId"], wc["buildingId"]))
    assert placed("workcenters", wc, rows) == f"PCN{PCN}_production_line_{LINE_ID}"


def test_a_workcenter_two_lines_list_goes_under_the_lowest_line_id() -> None:
    wc = one("workcenters")
    rows = kept(("line-b", wc["workcenterId"], None), ("line-a", wc["workcenterId"], None))
    assert placed("workcenters", wc, rows) == f"PCN{PCN}_production_line_line-a"


def test_workcenter_of_an_unlisted_building_or_none_goes_under_the_facility() -> None:
    wc = one("workcenters")
    wc["buildingId"] = "not-in-the-buildings-list"
    assert placed("workcenters", wc, []) == ROOT, "a parent that never comes would leave it waiting forever"
    assert placed("workcenters", one("workcenters", 1), []) == ROOT


def test_production_line_goes_under_the_building_its_workcenters_share() -> None:
    line = one("production_lines")
    building = one("buildings")["id"]
    assert placed(
        "production_lines", line, kept((LINE_ID, "wc-1", building), (LINE_ID, "wc-2", building))
    ) == (BUILDING)


@pytest.mark.parametrize(
    ("rows", "why"),
    [
        ([], "no workcenter listed"),
        (
            [(LINE_ID, "wc-1", "3c9a7e10-5f2d-4b8c-9e1a-6d4f2b8c0a11"), (LINE_ID, "wc-2", "other")],
            "two buildings",
        ),
        ([(LINE_ID, "wc-1", "3c9a7e10-5f2d-4b8c-9e1a-6d4f2b8c0a11"), (LINE_ID, "wc-2", None)], "one unknown"),
        ([("another-line", "wc-1", "3c9a7e10-5f2d-4b8c-9e1a-6d4f2b8c0a11")], "only another line's"),
    ],
)
def test_production_line_without_one_building_goes_under_the_facility(
    rows: list[tuple[str, str, str | None]], why: str
) -> None:
    assert placed("production_lines", one("production_lines"), kept(*rows)) == ROOT, why


def test_line_workcenters_are_fetched_per_line_in_the_fan_out_and_kept_for_the_tree() -> None:
    row = ROWS[md.LINE_WORKCENTERS]
    assert isinstance(row.mode, PerParent) and row.mode.parent == "production_lines"
    assert row.mode.keep_as == md.LINE_ID and row.mode.param is None
    assert row.path == "/production/v1/production-definitions/production-lines/{parent}/workcenters"
    assert row.mode.only_changed and row.mode.full_refresh is not None, "changed lines plus a daily refresh"
    for name in ("workcenters", "production_lines"):
        assert md.LINE_WORKCENTERS in ROWS[name].lookup, f"{name} are placed by what the lines list"
    order = [r.name for r in md.RESOURCES]
    assert order.index("buildings") < order.index("production_lines") < order.index("workcenters"), (
        "parents are listed before their children"
    )


def test_workcenter_without_a_name_is_named_by_its_code_and_nulls_are_left_out() -> None:
    asset = asset_of("workcenters", one("workcenters", 1))
    assert asset.name == "PKG-02"
    assert "buildingId" not in asset.metadata, "a null field must not land as the text 'None'"


@pytest.mark.parametrize(
    ("value", "why"),
    [(None, "missing workcenterId"), ("  ", "missing workcenterId"), (["a"], "workcenterId is not text")],
)
def test_workcenter_with_a_bad_id_is_quarantined_naming_the_field(value: object, why: str) -> None:
    record = one("workcenters")
    record["workcenterId"] = value
    with pytest.raises(Quarantine, match=why):
        asset_of("workcenters", record)


def test_building_keeps_unicode_and_its_readable_name() -> None:
    asset = asset_of("buildings", one("buildings"))
    assert asset.name == "B1 - Hauptwerk Köln"
    assert asset.metadata["city"] == "Köln"
    assert asset.parent_external_id == ROOT, "buildings are the first level under the facility"


def test_production_line_is_named_code_dash_description() -> None:
    asset = asset_of("production_lines", one("production_lines"))
    assert asset.name == "L1 - Frozen line — Nord"
    assert asset.metadata["updateDateTime"] == "2025-03-01T10:15:30.1234567Z"


def test_workcenter_status_keeps_its_flags_and_structured_lists_as_json() -> None:
    asset = asset_of("workcenter_statuses", one("workcenter_statuses"))
    assert asset.name == "Running"
    assert asset.metadata["productionStatus"] == "true"
    assert asset.metadata["workcenterGroupWorkcenters"].startswith('[{"workcenterGroup":"Freezing"')
    assert "linkedWorkcenterEvents" not in asset.metadata, "an empty list carries nothing"


def test_equipment_hangs_under_its_workcenter_in_the_maintenance_data_set() -> None:
    asset = asset_of("equipment", one("equipment"))
    assert asset.parent_external_id == f"PCN{PCN}_workcenter_NFF-01"
    assert asset.data_set == "maintenance"
    assert asset.name == "COMP-7 - Nitrogen compressor"
    assert asset.metadata["equipmentAttributes"] == '[{"name":"Pressure","value":"8 bar"}]'


def test_equipment_without_a_workcenter_hangs_under_its_building_else_the_facility() -> None:
    record = one("equipment", 1)
    assert asset_of("equipment", record).parent_external_id == ROOT
    record["buildingId"] = one("buildings")["id"]
    assert asset_of("equipment", record).parent_external_id == BUILDING


def test_workcenter_statuses_hang_under_their_own_root() -> None:
    asset = asset_of("workcenter_statuses", one("workcenter_statuses"))
    assert asset.parent_external_id == f"PCN{PCN}_root_workcenter_statuses"


# --- parts, routing, BOM -----------------------------------------------------------------------------


def test_part_is_named_number_and_revision_with_its_plex_name_as_description() -> None:
    asset = asset_of("parts", one("parts"))
    assert asset.name == "FG-1000 B"
    assert asset.description == "Frozen pizza «Margherita» 🍕"
    assert asset.external_id == f"PCN{PCN}_part_FG-1000-B"
    assert asset.metadata["allergens"] == "Gluten,Milk"
    assert asset.metadata["leadTimeDays"] == "3"
    assert asset.parent_external_id == f"PCN{PCN}_root_parts", "parts are not places in the plant"


def test_part_without_revision_is_named_by_its_number() -> None:
    assert asset_of("parts", one("parts", 1)).name == "RM-2000"


def test_part_with_text_where_a_number_belongs_is_quarantined() -> None:
    record = one("parts")
    record["leadTimeDays"] = "three"
    with pytest.raises(Quarantine, match="leadTimeDays is not a number"):
        asset_of("parts", record)


def test_part_operation_is_a_routing_step_under_its_part_named_from_the_operations_lookup() -> None:
    asset = asset_of("part_operations", one("part_operations"))
    assert asset.parent_external_id == f"PCN{PCN}_part_FG-1000-B"
    assert asset.name == "Op 10 FREEZE"
    assert asset.metadata["operationCode"] == "FREEZE"
    assert asset.metadata["operationNumber"] == "10"


def test_part_operation_whose_operation_is_unknown_keeps_its_number() -> None:
    asset = asset_of("part_operations", one("part_operations", 1))
    assert asset.name == "Op 20"
    assert "operationCode" not in asset.metadata


def test_part_operation_without_its_part_is_quarantined() -> None:
    record = one("part_operations")
    del record["partId"]
    with pytest.raises(Quarantine, match="missing partId"):
        asset_of("part_operations", record)


def test_bom_line_is_a_part_to_component_relationship_with_quantities_in_raw() -> None:
    items = run(md.bom_line, one("boms"), "boms", parent=load("parts")[0])
    relationship = next(i for i in items if isinstance(i, Relationship))
    raw = next(i for i in items if isinstance(i, RawRow))
    assert relationship.source_external_id == f"PCN{PCN}_part_FG-1000-B"
    assert relationship.target_external_id == f"PCN{PCN}_part_RM-2000"
    assert relationship.external_id == f"PCN{PCN}_bom_b0b0b0b0-0000-4000-8000-000000000001"
    assert raw.key == relationship.external_id, "the quantities must be findable from the relationship"
    assert raw.table == "bom_lines", "quantities must not mix with the optional raw copies in `boms`"
    assert raw.columns["quantity"] == 0.125
    assert raw.columns["componentUnitOfMeasure"] == "kg"
    assert raw.columns["note"] == "Käse – fein gerieben"


def test_bom_line_of_a_supply_item_keeps_only_its_raw_row() -> None:
    items = run(md.bom_line, one("boms", 1), "boms")
    assert [type(i) for i in items] == [RawRow], (
        "a supply item is no asset, so no relationship can point to it"
    )
    raw = items[0]
    assert isinstance(raw, RawRow) and "targetExternalId" not in raw.columns
    assert raw.columns["componentSupplyItemNumber"] == "BOX-12"


@pytest.mark.parametrize(("field", "value"), [("quantity", "1,5"), ("minimumQuantity", True)])
def test_bom_line_with_a_bad_quantity_is_quarantined(field: str, value: object) -> None:
    record = one("boms")
    record[field] = value
    with pytest.raises(Quarantine, match=field):
        run(md.bom_line, record, "boms")


# --- partners ----------------------------------------------------------------------------------------


def test_supplier_and_customer_are_named_code_dash_name() -> None:
    supplier = asset_of("suppliers", one("suppliers"))
    customer = asset_of("customers", one("customers"))
    assert supplier.name == "MOZZ - Caseificio Ñandú S.p.A."
    assert supplier.parent_external_id == f"PCN{PCN}_root_suppliers"
    assert customer.parent_external_id == f"PCN{PCN}_root_customers"
    assert customer.name == "ACME - ACME Foods 株式会社"
    assert customer.metadata["industries"] == "Food,Retail"
    assert "defaultCarrierIds" not in customer.metadata


# --- rows as a whole ---------------------------------------------------------------------------------


def test_every_row_is_a_snapshot_except_boms_which_run_per_changed_part() -> None:
    boms = ROWS["boms"].mode
    assert isinstance(boms, PerParent) and boms.parent == "parts" and boms.param == "partId"
    assert boms.only_changed and boms.full_refresh is not None, "BOMs: changed parts plus a periodic refresh"
    per_parent = {"boms", md.LINE_WORKCENTERS}
    others = [r for r in md.RESOURCES if r.name not in per_parent]
    assert all(isinstance(r.mode, Snapshot) for r in others)
    vanishing = {r.name for r in others if isinstance(r.mode, Snapshot) and r.mode.mark_inactive}
    assert vanishing == set(ROWS) - per_parent - {"tenants", "operations"}


def test_no_row_asks_plex_for_paging() -> None:
    assert paging_params(md.RESOURCES) == [], "Plex ignores paging parameters; sending them is a bug"


def test_row_names_are_unique_and_every_row_is_master_data() -> None:
    assert len(ROWS) == len(md.RESOURCES)
    assert {r.domain for r in md.RESOURCES} == {"master_data"}


def test_fixtures_carry_exactly_the_documented_fields() -> None:
    for fixture, fields in FIXTURES.values():
        for record in load(fixture):
            assert sorted(record) == sorted(fields), f"{fixture}.json drifted from the field list"


def test_every_item_from_every_fixture_carries_its_lineage() -> None:
    for resource, (fixture, _) in FIXTURES.items():
        row = ROWS[resource]
        items = [i for r in load(fixture) for i in run(row.transform, r, resource, lookups=LOOKUPS)]
        if row.finish is not None:
            items += list(row.finish(load(fixture), context(resource)))
        assert lineage_problems(items, resource) == [], f"{resource}: objects not traceable to Plex"


def test_mapping_doc_names_every_field_of_every_row() -> None:
    missing = [m for resource, (_, fields) in FIXTURES.items() for m in undocumented(ROWS[resource], fields)]
    assert missing == [], f"docs/mapping.md misses: {missing}"


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=300),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_record_is_mapped_or_quarantined_never_crashes(data: st.DataObject) -> None:
    for resource, (_, fields) in FIXTURES.items():
        record = data.draw(st.fixed_dictionaries({f: VALUES for f in fields}), label=resource)
        try:
            run(ROWS[resource].transform, record, resource, lookups=LOOKUPS)
        except Quarantine as err:
            assert str(err), f"{resource}: a quarantine must say why"


@settings(max_examples=60, deadline=None)
@given(
    tenants=st.lists(st.one_of(st.dictionaries(st.sampled_from(["id", "code"]), VALUES), VALUES), max_size=3)
)
def test_the_root_is_built_whatever_the_tenant_list_holds(tenants: list[Any]) -> None:
    root = next(iter(md.facility(tenants, context("tenants"))))
    assert isinstance(root, Asset) and root.external_id == f"PCN{PCN}_facility_{PCN}"
    assert root.name.endswith(" - Facility") and root.metadata["sourceId"]
