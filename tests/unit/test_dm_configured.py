"""Configured resources on the data-modeling target: the `view:` key's checks, the view each entry gets, and
its nodes (pure; the end-to-end runs are in tests/integration/test_configured_resources_dm.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from plex_cdf.cdf.dm import configured, mapping, model
from plex_cdf.cdf.dm.bodies import instance_body
from plex_cdf.config.resources import ConfiguredResource
from plex_cdf.items import Event, RawRow, TimeSeries
from tests.unit.test_config import MINIMAL, load
from tests.unit.test_configured_resources import PO, error_of

DM = {"destination": {"type": "data-modeling"}}
SPACES = mapping.Spaces("plex_cdf", "plex_340884")
SOURCE = SPACES.ref(model.SOURCE_SYSTEM_ID)
PCN = "340884"


def spec(**entry: Any) -> ConfiguredResource:
    return ConfiguredResource.model_validate(entry)


# --- the view key's checks: one line per mistake -----------------------------------------------------------


@pytest.mark.parametrize(
    ("view", "says"),
    [
        ("purchase orders", "view 'purchase orders' is not a view name: a letter, then letters, digits or _"),
        ("1Orders", "view '1Orders' is not a view name"),
        ("Orders_", "view 'Orders_' is not a view name"),
        ("TimeSeries", "view 'TimeSeries' is a name CDF reserves; choose another, e.g. PlexTimeSeries"),
        ("PlexPart", "view 'PlexPart' is one of plex-cdf's own views; choose another name"),
    ],
)
def test_a_bad_view_name_gives_one_line_naming_it(tmp_path: Path, view: str, says: str) -> None:
    message = error_of(tmp_path, {**PO, "view": view})
    assert says in message and "\n" not in message, message


def test_one_view_for_two_resources_is_refused(tmp_path: Path) -> None:
    message = error_of(tmp_path, {**PO, "view": "PlexPo"}, {**PO, "name": "pos2", "view": "PlexPo"})
    assert "resource 'pos': view 'PlexPo' is named by another resource too; one view each" in message


def test_the_data_modeling_target_needs_a_view_for_raw_rows(tmp_path: Path) -> None:
    with pytest.raises(Exception) as caught:
        load(tmp_path, {**MINIMAL, **DM, "resources": [PO]})
    message = str(caught.value)
    assert "resource 'pos': the data-modeling target writes no RAW tables; give it a view" in message
    assert "(e.g. view: PlexPos)" in message and "\n" not in message


def test_a_view_is_accepted_and_ignored_on_the_classic_target_and_used_on_data_modeling(
    tmp_path: Path,
) -> None:
    classic = load(tmp_path, {**MINIMAL, "resources": [{**PO, "view": "PlexPurchaseOrder"}]})
    dm = load(tmp_path, {**MINIMAL, **DM, "resources": [{**PO, "view": "PlexPurchaseOrder"}]})
    events = {**PO, "target": "events", "events": {"type": "po", "start-time": "poDate"}}
    without = load(tmp_path, {**MINIMAL, **DM, "resources": [events]})

    assert classic.resources[0].view == "PlexPurchaseOrder" and not classic.destination.data_modeling
    assert list(configured.views_of(dm.resources)) == ["pos"]
    assert configured.views_of(without.resources) == {}, "events without a view go to PlexActivity"


# --- the view of an entry ---------------------------------------------------------------------------------


def test_a_connect_entry_gets_its_routes_published_fields_typed_less_the_names_cdm_uses() -> None:
    view = configured.view_of(spec(**PO, view="PlexPurchaseOrder"))
    assert view is not None
    own = dict(view.own)

    assert (own["poNumber"], own["lineItemCount"], own["lineItemTotal"]) == ("text", "int64", "float64")
    assert (own["receive"], own["poDate"], own["id"]) == ("boolean", "text", "text")
    assert "type" not in own and "active" not in own, "CDM and PlexRecord use these names: extractedData"
    written = view.view("plex_cdf")
    assert written.implements == [
        model.cdm("CogniteDescribable"),
        model.cdm("CogniteSourceable"),
        model.EXTRACTOR_DATA,
    ]
    assert set(written.properties) == {*own, "plexKind", "plexType", "plexSubtype", "active"}
    assert set(view.container("plex_cdf").properties) == set(own)


def test_events_implement_activity_and_series_implement_time_series() -> None:
    events = configured.view_of(
        spec(**PO, view="PlexPoEvent", target="events", events={"type": "po", "start-time": "poDate"})
    )
    series = configured.view_of(
        spec(
            **PO,
            view="PlexPoTotal",
            target="time-series",
            **{"time-series": {"value": "lineItemTotal", "series-key": ["supplierId"]}},
        )
    )
    assert events is not None and series is not None

    assert events.view("s").implements == [model.cdm("CogniteActivity"), model.EXTRACTOR_DATA]
    assert series.view("s").implements == [model.cdm("CogniteTimeSeries"), model.EXTRACTOR_DATA]
    assert series.own == (("supplierId", "text"),)


def test_a_data_source_entry_gets_the_fields_it_names_as_text() -> None:
    view = configured.view_of(
        spec(name="sheets", **{"data-source": 4142}, key=["Checksheet_No"], view="PlexChecksheetRow")
    )
    assert view is not None and view.own == (("Checksheet_No", "text"),)


def test_a_changed_field_list_is_a_new_view_version_and_the_same_one_is_stable() -> None:
    one = configured.ConfiguredView("r", "PlexR", "raw", (("a", "text"),))
    same = configured.ConfiguredView("r", "PlexR", "raw", (("a", "text"),))
    more = configured.ConfiguredView("r", "PlexR", "raw", (("a", "text"), ("b", "int64")))
    retyped = configured.ConfiguredView("r", "PlexR", "raw", (("a", "int64"),))

    assert one.version == same.version
    assert len({one.version, more.version, retyped.version}) == 3
    assert one.version.startswith("c") and len(one.version) == 9


# --- nodes ------------------------------------------------------------------------------------------------


def test_a_raw_row_becomes_a_node_with_own_properties_and_the_rest_in_extracted_data() -> None:
    view = configured.view_of(spec(**PO, view="PlexPurchaseOrder"))
    assert view is not None
    record = {"id": "po-1", "poNumber": "PO-9", "lineItemCount": 3, "type": "Blanket", "note": "", "x": None}
    row = RawRow("pos", "po-1", record)

    body = instance_body(configured.row_node(view, row, SPACES, SOURCE, PCN))

    assert body["externalId"] == "PCN340884_pos_po-1"
    (source,) = body["sources"]
    assert source["source"] == view.view_id("plex_cdf").dump()
    assert source["properties"] == {
        "id": "po-1",
        "poNumber": "PO-9",
        "lineItemCount": 3,
        "name": "po-1",
        "sourceId": "po-1",
        "plexKind": "pos",
        "active": True,
        "extractedData": {"type": "Blanket"},
        "source": SOURCE,
    }


def test_a_value_that_does_not_fit_its_type_goes_to_extracted_data() -> None:
    view = configured.ConfiguredView("r", "PlexR", "raw", (("n", "int64"), ("ok", "boolean")))
    assert view.split({"n": "twelve", "ok": "true"}) == ({"ok": True}, {"n": "twelve"})
    assert view.split({"n": "12", "ok": 1}) == ({"n": 12}, {"ok": 1})


def test_an_event_of_a_configured_entry_lands_in_its_view_with_its_times_and_links() -> None:
    entry = spec(
        **PO,
        view="PlexPoEvent",
        target="events",
        events={"type": "po", "start-time": "poDate", "asset-links": {"supplierId": "supplier"}},
    )
    view = configured.view_of(entry)
    assert view is not None
    event = Event(
        "PCN340884_pos_po-1",
        "inventory",
        "po",
        start_time=1000,
        metadata={"poNumber": "PO-9", "lineItemCount": "3", "plex_id": "po-1"},
        asset_external_ids=("PCN340884_workcenter_7",),
    )
    base = mapping.event_node(event, SPACES, SOURCE)

    props = instance_body(configured.item_node(view, base, SPACES, SOURCE, PCN))["sources"][0]["properties"]

    assert props["sourceId"] == "po-1" and props["plexKind"] == "pos" and props["plexType"] == "po"
    assert props["startTime"] == "1970-01-01T00:00:01.000+00:00"
    assert props["assets"] == [SPACES.ref("PCN340884_workcenter_7")]
    assert (props["poNumber"], props["lineItemCount"]) == ("PO-9", 3), "read back from the metadata text"
    assert props["extractedData"] == {"plex_id": "po-1"}


def test_a_series_of_a_configured_entry_is_a_cognite_time_series_node_in_its_view() -> None:
    view = configured.ConfiguredView("po_totals", "PlexPoTotal", "time-series", (("supplierId", "text"),))
    series = TimeSeries("PCN340884_po_totals_s1", "po_totals s1", "inventory", metadata={"supplierId": "s1"})

    node = configured.item_node(view, mapping.time_series_node(series, SPACES, SOURCE), SPACES, SOURCE, PCN)
    props = instance_body(node)["sources"][0]["properties"]

    assert node.sources[0].source == view.view_id("plex_cdf")  # the entry's view, not PlexTimeSeries
    assert (props["type"], props["supplierId"], props["sourceId"]) == ("numeric", "s1", "s1")
