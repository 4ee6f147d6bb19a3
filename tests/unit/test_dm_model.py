"""The data-modeling target's model as data: consistent tables, and the committed diagram drawn from them."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

from plex_cdf.cdf.dm import diagram, mapping, model
from plex_cdf.items import Asset, RawRow

REPO = Path(__file__).resolve().parents[2]


def test_the_committed_diagram_matches_the_model() -> None:
    committed = (REPO / "docs" / "data-model.svg").read_text(encoding="utf-8")

    assert committed == diagram.svg(), "run: .venv/bin/python -m plex_cdf.cdf.dm.diagram"


def test_the_diagram_shows_every_view_and_what_it_implements() -> None:
    text = diagram.svg()

    for view in model.VIEWS:
        assert f">{view.name} (" in text
        for parent in view.implements:
            assert f">{parent.space}:{parent.external_id}<" in text


def test_each_plex_kind_lands_in_one_view_and_every_container_is_mapped() -> None:
    kinds = [kind for view in model.VIEWS for kind in view.kinds]
    mapped = {name for view in model.VIEWS for name in view.containers}

    assert len(kinds) == len(set(kinds)), "a Plex kind in two views"
    assert mapped == set(model.CONTAINER_BY_NAME)
    assert model.VIEW_OF_KIND["workcenter"] == "PlexAsset"
    assert model.VIEW_OF_KIND["part"] == "PlexPart", "parts are not places in the asset tree"


def test_non_physical_things_implement_describable_and_sourceable_not_asset() -> None:
    for name in (
        "PlexPart",
        "PlexOperation",
        "PlexSupplier",
        "PlexCustomer",
        "PlexContainer",
        "PlexLocation",
    ):
        parents = {p.external_id for p in model.VIEW_BY_NAME[name].implements}
        assert {"CogniteDescribable", "CogniteSourceable", "CogniteExtractorData"} <= parents
        assert "CogniteAsset" not in parents


def test_the_data_model_lists_plex_views_and_the_cdm_views_used() -> None:
    built = model.data_model("plex_cdf")
    names = {(v.space, v.external_id) for v in built.views or []}  # type: ignore[union-attr]

    assert {("plex_cdf", view.name) for view in model.VIEWS} <= names
    assert ("cdf_cdm", "CogniteSourceSystem") in names
    assert ("cdf_extraction_extensions", "CogniteExtractorData") in names


def test_the_diagram_shows_derived_nodes_units_source_times_and_edge_quantities() -> None:
    text = diagram.svg()

    for shown in (
        "plex_asset_class_{facility|building|production_line|workcenter}: CogniteAssetClass",
        "CogniteAssetType",
        "CogniteEquipmentType",
        f"{model.STATE_SET_ID}: CogniteStateSet",
        "sourceCreatedTime &lt;- addDateTime, createdDate",
        "dimensionless:num &lt;- pcs",
        "bomLine edge: part -&gt; component; quantity, unit, sequence",
        "routingStep edge",
    ):
        assert shown in text, shown


def test_every_unit_is_one_the_cdf_unit_catalogue_has() -> None:
    """The ids are CDF's unit catalogue's; the local CDF installs those same nodes in cdf_cdm_units."""
    catalogue = json.loads((files("plex_cdf.sim.cdf.dms") / "system_models.json").read_text(encoding="utf-8"))
    installed = {unit["externalId"] for unit in catalogue["units"]["nodes"]}

    assert set(model.UNIT_OF_SOURCE.values()) <= installed
    assert mapping.unit_of("pcs") == "dimensionless:num", "the classic target's pieces"
    assert mapping.unit_of("fraction") == "dimensionless_ratio:fraction", "OEE and its factors"
    assert mapping.unit_of(" LB ") == "mass:lb"
    assert mapping.unit_of("widgets") is None and mapping.unit_of(None) is None


def test_state_numbers_are_stable_distinct_int32_values() -> None:
    names = ["Running", "Off", "Setup", "Down - Maintenance", "Down - No Material", "Down - No Operator"]
    numbers = [model.state_number(name) for name in names]

    assert numbers == [model.state_number(name) for name in names]
    assert len(set(numbers)) == len(names)
    assert all(0 <= n < 2**31 for n in numbers)
    points = mapping.state_points([{"timestamp": 5, "value": "Off"}])
    assert points == [{"timestamp": 5, "numericValue": model.state_number("Off"), "stringValue": "Off"}]


def test_source_times_come_from_the_first_plex_field_that_parses() -> None:
    created = mapping.source_time(
        {"createdDate": "2024-05-06T07:08:09.1234567Z"}, model.SOURCE_CREATED_FIELDS
    )
    fallback = mapping.source_time(
        {"updateDateTime": "not a date", "modifiedDate": "2024-05-06T07:08:09+02:00"},
        model.SOURCE_UPDATED_FIELDS,
    )

    assert created == "2024-05-06T07:08:09.123+00:00"
    assert fallback == "2024-05-06T05:08:09.000+00:00"
    assert mapping.source_time({}, model.SOURCE_CREATED_FIELDS) is None


def test_a_bom_row_without_a_component_part_makes_no_edge_and_a_long_type_id_is_bounded() -> None:
    spaces = mapping.Spaces("plex_cdf", "plex_1")
    supply = RawRow("bom_lines", "PCN1_bom_2", {"sourceExternalId": "PCN1_part_1", "quantity": 1})
    other = RawRow(
        "boms", "PCN1_bom_3", {"sourceExternalId": "PCN1_part_1", "targetExternalId": "PCN1_part_2"}
    )
    workcenter = Asset("PCN1_workcenter_1", "WC", None, "master", metadata={"workcenterType": "x" * 400})
    node = mapping.asset_node(workcenter, spaces, spaces.ref(model.SOURCE_SYSTEM_ID))

    assert mapping.bom_edge(supply, spaces) is None and mapping.bom_edge(other, spaces) is None
    assert node is not None
    type_id = node["sources"][0]["properties"]["type"]["externalId"]
    assert len(type_id) == 255 and type_id.startswith("plex_asset_type_workcenter_xxx")
