"""Production: history entries as events, per-workcenter quantity series, the current status series."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plex_cdf.domains import production as prod
from plex_cdf.domains.resource import PerParent, Quarantine, Window
from plex_cdf.ids import hashed_key
from plex_cdf.items import Datapoints, Event, TimeSeries
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

ROWS = {r.name: r for r in prod.RESOURCES}
WC1_ID = "0b5e6f2a-1c3d-4e5f-8a9b-0c1d2e3f4a51"
WC1 = f"PCN{PCN}_workcenter_NFF-01"
PART = f"PCN{PCN}_part_FG-1000-B"
ENTRIES = {
    "production_entries": ("production_entries", (*prod.PRODUCTION_FIELDS, "employeeName")),
    "scrap_entries": ("scrap_entries", prod.SCRAP_FIELDS),
    "workcenter_status_entries": ("workcenter_status_entries", prod.STATUS_FIELDS),
    "labor_entries": ("labor_entries", (*prod.LABOR_FIELDS, "employee")),
}
CONTROL_FIELDS = (
    "id",
    "code",
    "name",
    "type",
    "statusId",
    "statusDescription",
    "jobId",
    "jobNumber",
    "jobOperationId",
    "operationNumber",
    "operationCode",
    "jobOperationQuantity",
    "lotId",
    "productionLineId",
    "batches",
    "operators",
)


def entry(resource: str, index: int = 0) -> dict[str, Any]:
    record: dict[str, Any] = copy.deepcopy(load(ENTRIES[resource][0])[index])
    return record


def event_of(resource: str, record: dict[str, Any]) -> Event:
    items = run(ROWS[resource].transform, record, resource)
    assert len(items) == 1 and isinstance(items[0], Event), f"{resource} should give one event, got {items}"
    return items[0]


def test_production_entry_is_an_event_keyed_by_its_documented_key_fields() -> None:
    event = event_of("production_entries", entry("production_entries"))
    joined = f"{WC1_ID}|2025-03-01T08:15:00Z|S000123|c0ffee00-1111-4222-8333-444455556601"
    assert event.metadata["sourceId"] == joined, "plex_id is the key fields joined in Resource.key order"
    assert event.external_id == f"PCN{PCN}_production_{hashed_key(joined)}"
    assert event.type == "production" and event.subtype == "FREEZE"
    assert event.start_time == event.end_time == 1740816900000
    assert event.asset_external_ids == (WC1, PART)
    assert event.metadata["quantity"] == "60"
    assert event.data_set == "production"


def test_employee_names_stay_in_plex_while_the_employee_id_is_kept() -> None:
    production = event_of("production_entries", entry("production_entries"))
    labor = event_of("labor_entries", entry("labor_entries"))
    for event in (production, labor):
        assert "Zoë Ölçer" not in event.metadata.values(), "personal names must not be copied into CDF"
        assert event.metadata["employeeId"] == "e1e2e3e4-0000-4000-8000-00000000e001"


def test_entry_with_nulls_links_only_what_it_names() -> None:
    event = event_of("production_entries", entry("production_entries", 2))
    assert event.asset_external_ids == (f"PCN{PCN}_workcenter_PKG-02",)
    assert event.metadata["sourceId"].endswith("||"), "null key fields join as empty strings"
    assert "partId" not in event.metadata


def test_the_same_entry_seen_in_two_overlapping_windows_keeps_one_id() -> None:
    first = event_of("production_entries", entry("production_entries"))
    again = entry("production_entries")
    again["quantity"] = 61
    assert event_of("production_entries", again).external_id == first.external_id


def test_scrap_entry_is_typed_by_its_reason() -> None:
    event = event_of("scrap_entries", entry("scrap_entries"))
    assert event.type == "scrap" and event.subtype == "Crust burnt – ãé"
    assert event.external_id.startswith(f"PCN{PCN}_scrap_")


def test_status_entry_keeps_duration_as_plex_sends_it() -> None:
    event = event_of("workcenter_status_entries", entry("workcenter_status_entries"))
    assert event.type == "workcenter_status" and event.subtype == "Running"
    assert event.metadata["duration"] == "3600"
    assert event.metadata["sourceId"] == f"{WC1_ID}|2025-03-01T07:00:00Z"


def test_labor_entry_spans_begin_to_end() -> None:
    event = event_of("labor_entries", entry("labor_entries"))
    assert (event.start_time, event.end_time) == (1740808800000, 1740837600000)
    assert event.subtype == "Direct"


@pytest.mark.parametrize(
    ("resource", "field", "value", "why"),
    [
        ("production_entries", "transactionDate", None, "missing transactionDate"),
        ("production_entries", "transactionDate", "01.03.2025 08:15", "transactionDate"),
        ("production_entries", "workcenterId", [], "workcenterId is not text"),
        ("production_entries", "serialNo", {"no": 1}, "serialNo is not text"),
        ("production_entries", "quantity", "60", "quantity is not a number"),
        ("production_entries", "bestByDateTime", "soon", "bestByDateTime"),
        ("workcenter_status_entries", "logDate", "", "missing logDate"),
        ("labor_entries", "endTime", "2025-03-01T05:00:00Z", "endTime.*before beginTime"),
        ("labor_entries", "duration", "8h", "duration is not a number"),
    ],
)
def test_entries_that_cannot_be_mapped_are_quarantined_naming_the_field(
    resource: str, field: str, value: object, why: str
) -> None:
    record = entry(resource)
    record[field] = value
    with pytest.raises(Quarantine, match=why):
        run(ROWS[resource].transform, record, resource)


def test_odd_but_usable_values_are_kept() -> None:
    numeric_id = dict(entry("production_entries"), workcenterId=4711)
    assert event_of("production_entries", numeric_id).metadata["workcenterId"] == "4711"
    no_quantity = dict(entry("scrap_entries"), quantity=None)
    assert "quantity" not in event_of("scrap_entries", no_quantity).metadata, "a null is left out, not 'None'"


def test_good_quantity_series_sums_per_workcenter_and_transaction_time() -> None:
    items = list(prod.good_quantities(load("production_entries"), context("production_entries")))
    series = {i.external_id: i for i in items if isinstance(i, TimeSeries)}
    points = {i.external_id: i.points for i in items if isinstance(i, Datapoints)}
    wc1 = f"PCN{PCN}_wc_good_quantity_{WC1_ID}"
    assert points[wc1] == ((1740816900000, 100.0),), "two entries booked at one instant add up"
    assert series[wc1].name == "NFF-01 good quantity"
    assert series[wc1].asset_external_id == WC1 and series[wc1].data_set == "production"
    assert len(series) == 2


def test_quantity_series_skip_records_their_transform_quarantines() -> None:
    bad = [dict(entry("scrap_entries"), quantity="x"), dict(entry("scrap_entries"), transactionDate=None)]
    items = list(prod.scrap_quantities([*bad, entry("scrap_entries")], context("scrap_entries")))
    points = [i.points for i in items if isinstance(i, Datapoints)]
    assert points == [((1740817200000, 3.0),)]


def test_current_status_is_a_string_step_series_sampled_now() -> None:
    control = load("control_workcenter")
    items = run(
        prod.workcenter_current_status, control, "workcenter_control_status", parent=load("workcenters")[0]
    )
    series, points = items
    assert isinstance(series, TimeSeries) and isinstance(points, Datapoints)
    assert series.external_id == f"PCN{PCN}_wc_status_{WC1_ID}"
    assert series.is_step and series.is_string
    assert series.name == "NFF-01 - Liquid Nitrogen Flash Freezer status"
    assert points.latest_only, "a sampled status is written only when it changes"
    assert points.points == ((int(NOW.timestamp() * 1000), "Running"),)


def test_a_workcenter_without_status_gets_its_series_but_no_point() -> None:
    control = dict(load("control_workcenter"), statusDescription=None, id=None)
    items = run(
        prod.workcenter_current_status, control, "workcenter_control_status", parent=load("workcenters")[1]
    )
    (series,) = items
    assert isinstance(series, TimeSeries), f"expected only the series, got {items}"
    assert series.external_id == f"PCN{PCN}_wc_status_0b5e6f2a-1c3d-4e5f-8a9b-0c1d2e3f4a52"


def test_history_rows_use_date_windows_with_lookback_and_the_configured_first_reach() -> None:
    for name in ENTRIES:
        mode = ROWS[name].mode
        assert isinstance(mode, Window) and (mode.begin_param, mode.end_param) == ("beginDate", "endDate")
        assert mode.lookback.total_seconds() > 0, f"{name}: late entries would be missed"
        assert mode.first_reach is None, f"{name}: the first run's reach comes from configuration (7 days)"


def test_control_status_polls_every_workcenter_every_run() -> None:
    mode = ROWS["workcenter_control_status"].mode
    assert isinstance(mode, PerParent) and mode.object and mode.parent == "workcenters"
    assert not mode.only_changed, "a status changes without the workcenter record changing"
    assert ROWS["workcenter_control_status"].path.endswith("/{parent}")


def test_no_row_asks_plex_for_paging() -> None:
    assert paging_params(prod.RESOURCES) == [], "Plex ignores paging parameters; sending them is a bug"


def test_fixtures_carry_exactly_the_documented_fields() -> None:
    for fixture, fields in ENTRIES.values():
        assert all(sorted(r) == sorted(fields) for r in load(fixture)), f"{fixture}.json drifted"
    assert sorted(load("control_workcenter")) == sorted(CONTROL_FIELDS)


def test_every_item_carries_its_lineage() -> None:
    for resource, (fixture, _) in ENTRIES.items():
        row = ROWS[resource]
        items = [i for r in load(fixture) for i in run(row.transform, r, resource)]
        if row.finish is not None:
            items += list(row.finish(load(fixture), context(resource)))
        assert lineage_problems(items, resource) == [], f"{resource}: objects not traceable to Plex"
    control = run(prod.workcenter_current_status, load("control_workcenter"), "workcenter_control_status")
    assert lineage_problems(control, "workcenter_control_status") == []


def test_mapping_doc_names_every_field_of_every_row() -> None:
    rows = [(ROWS[name], fields) for name, (_, fields) in ENTRIES.items()]
    rows.append((ROWS["workcenter_control_status"], CONTROL_FIELDS))
    missing = [m for row, fields in rows for m in undocumented(row, fields)]
    assert missing == [], f"docs/mapping.md misses: {missing}"


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=300),
    st.sampled_from(["2025-03-01T06:00:00Z", "2025-03-01T06:00:00.12345678Z", "2025-13-01T00:00Z", "x"]),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_entry_is_mapped_or_quarantined_and_series_never_crash(data: st.DataObject) -> None:
    for resource, (_, fields) in ENTRIES.items():
        records = data.draw(st.lists(st.fixed_dictionaries({f: VALUES for f in fields}), max_size=3))
        row = ROWS[resource]
        for record in records:
            try:
                run(row.transform, record, resource)
            except Quarantine as err:
                assert str(err), f"{resource}: a quarantine must say why"
        if row.finish is not None:
            made = list(row.finish(records, context(resource)))
            assert all(isinstance(i, TimeSeries | Datapoints) for i in made), f"{resource}: {made}"


def test_quantities_in_different_units_are_never_added_up() -> None:
    entries = [
        entry("production_entries", 0),
        dict(entry("production_entries", 0), unit="kg", partId="p-steel", quantity=2.5),
        dict(entry("production_entries", 0), unit="EA", quantity=1.0),
    ]
    items = list(prod.good_quantities(entries, context("production_entries")))
    series = {i.external_id: i for i in items if isinstance(i, TimeSeries)}
    points = {i.external_id: i.points for i in items if isinstance(i, Datapoints)}
    pieces = f"PCN{PCN}_wc_good_quantity_{WC1_ID}"
    kilos = f"PCN{PCN}_wc_part_good_quantity_{WC1_ID}_p-steel"
    assert series[pieces].unit == "pcs" and series[kilos].unit == "kg"
    assert points[kilos][0][1] == 2.5, "kilograms have their own series per workcenter and part"
    assert points[pieces][0][1] == entries[0]["quantity"] + 1.0, "'ea' and 'EA' are both pieces"
    assert series[pieces].metadata["measure"] == "quantity per entry", "a per-entry quantity, not a counter"


def test_scrap_names_no_unit_so_it_is_per_workcenter_and_part() -> None:
    items = list(prod.scrap_quantities([entry("scrap_entries")], context("scrap_entries")))
    [series] = [i for i in items if isinstance(i, TimeSeries)]
    assert series.external_id.startswith(f"PCN{PCN}_wc_part_scrap_quantity_{WC1_ID}_")
    assert series.metadata["partId"] == entry("scrap_entries")["partId"]
