"""The `resources:` section: what a user may declare, the one line each mistake gives before any call, the
rows it becomes (ordinary rows: the same modes as the built-in ones), and the generic transforms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from plex_cdf.config import ConfigError
from plex_cdf.config.resources import ConfiguredResource
from plex_cdf.domains.configured import build_row, check_against_metadata, domain_rows, rows_with
from plex_cdf.domains.registry import ALL
from plex_cdf.domains.resource import Context, DataSource, PerParent, Quarantine, Snapshot, Window
from plex_cdf.items import Datapoints, Event, RawRow, TimeSeries
from tests.unit.test_config import MINIMAL, load

DOCS = Path(__file__).resolve().parents[2] / "docs" / "resources"
PO = {"name": "pos", "path": "/purchasing/v1/purchase-orders", "key": ["id"]}
DS = {"name": "sheets", "data-source": 4142, "domain": "quality", "key": ["Checksheet_No"]}
CTX = Context(pcn="340884", resource="x", now=datetime(2026, 1, 2, tzinfo=UTC))


def spec(**entry: Any) -> ConfiguredResource:
    return ConfiguredResource.model_validate(entry)


def error_of(tmp_path: Path, *entries: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, {**MINIMAL, "resources": list(entries)})
    return str(caught.value)


# --- one clear line per mistake, per field ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        (
            {**PO, "name": "Bad Name"},
            "resources[0].name: 'Bad Name' is not a resource name: use lower-case letters",
        ),
        ({**PO, "path": None}, "give exactly one of path (a Connect GET path) or data-source"),
        ({**PO, "data-source": 4142}, "give exactly one of path"),
        ({**DS, "data-source": 0}, "resources[0].data-source: input should be greater than 0"),
        ({**PO, "domain": "sales"}, "resources[0].domain: input should be 'master_data'"),
        ({**PO, "key": []}, "resources[0].key: needs at least 1 entry"),
        (
            {**PO, "key": ["poNumbr"]},
            "key[0]: 'poNumbr' is not a field /purchasing/v1/purchase-orders answers",
        ),
        ({**PO, "path": "/purchasing/v1/purchase-order"}, "did you mean /purchasing/v1/purchase-orders"),
        ({**PO, "params": {"colour": "red"}}, "params: 'colour' is not a query parameter of"),
        ({**PO, "inputs": {"Part_Key": 1}}, "inputs are for data sources; a Connect path takes params"),
        ({**DS, "params": {"x": "1"}}, "params are for Connect paths; a data source takes inputs"),
        ({**PO, "mode": "daily"}, "resources[0].mode: input should be 'snapshot', 'windows' or 'per-parent'"),
        ({**PO, "mode": "windows"}, "mode windows needs a windows section"),
        ({**PO, "windows": {"begin": "a", "end": "b"}}, "a windows section is given but mode is snapshot"),
        (
            {**PO, "mode": "windows", "windows": {"begin": "poDate", "end": "dueDateEnd"}},
            "windows.begin: 'poDate' is not a query parameter of /purchasing/v1/purchase-orders",
        ),
        (
            {**PO, "mode": "windows", "windows": {"begin": "status", "end": "dueDateEnd"}},
            "windows.begin: 'status' of /purchasing/v1/purchase-orders is a string, not a date",
        ),
        (
            {
                **PO,
                "mode": "windows",
                "windows": {"begin": "dueDateBegin", "end": "dueDateEnd", "max-span": "x"},
            },
            "windows.max-span: not a duration",
        ),
        ({**PO, "mode": "per-parent"}, "mode per-parent needs a per-parent section"),
        (
            {**PO, "path": "/purchasing/v1/purchase-orders/{poId}/line-items"},
            "needs {poId}: use mode per-parent to fill it",
        ),
        ({**PO, "path": "/purchasing/v1/purchase-orders/{id}"}, "needs {id}: use mode per-parent"),
        ({**PO, "interval": "soon"}, "resources[0].interval: not a duration"),
        ({**PO, "target": "assets"}, "resources[0].target: input should be 'raw', 'events' or 'time-series'"),
        ({**PO, "target": "events"}, "target events needs a events section"),
        (
            {**PO, "target": "events", "events": {"type": "po", "start-time": "poDat"}},
            "events.start-time: 'poDat' is not a field",
        ),
        (
            {
                **PO,
                "target": "events",
                "events": {"type": "po", "start-time": "poDate", "asset-links": {"x": "part"}},
            },
            "events.asset-links.x: 'x' is not a field",
        ),
        ({**PO, "target": "time-series"}, "target time-series needs a time-series section"),
        (
            {**PO, "target": "time-series", "time-series": {"value": "total", "series-key": ["id"]}},
            "time-series.value: 'total' is not a field",
        ),
        (
            {**PO, "target": "time-series", "time-series": {"value": "lineItemTotal", "series-key": []}},
            "time-series.series-key: needs at least 1 entry",
        ),
        ({**PO, "data-set": "sales"}, "resources[0].data-set: input should be 'master'"),
        ({**PO, "colour": "red"}, "resources[0].colour: unknown key"),
        ({**PO, "name": "parts"}, "resource 'parts': that name is a built-in resource's"),
        (
            {
                **PO,
                "mode": "per-parent",
                "path": "/sales/v1/orders/{id}/lines",
                "per-parent": {"resource": "orders", "field": "id"},
            },
            "per-parent.resource names no resource: 'orders'",
        ),
    ],
)
def test_each_mistake_gives_one_line_naming_it(tmp_path: Path, entry: dict[str, Any], says: str) -> None:
    message = error_of(tmp_path, {k: v for k, v in entry.items() if v is not None})
    assert says in message, message
    assert "\n" not in message


def test_a_name_used_twice(tmp_path: Path) -> None:
    assert "resource 'pos': the name is used twice" in error_of(tmp_path, PO, PO)


# --- against a data source's published metadata ----------------------------------------------------------

METADATA = {
    "id": 4142,
    "name": "Checksheets_Get",
    "inputs": [
        {"name": "Start_Date", "type": "datetime", "required": False},
        {"name": "End_Date", "type": "datetime", "required": False},
        {"name": "Part_Key", "type": "int", "required": False},
        {"name": "Plant", "type": "varchar", "required": True},
    ],
    "columns": [{"name": "Checksheet_No", "type": "int"}, {"name": "Checksheet_Date", "type": "datetime"}],
}


def test_a_data_source_entry_is_checked_against_published_metadata() -> None:
    good = spec(
        **DS, inputs={"Plant": "A"}, mode="windows", windows={"begin": "Start_Date", "end": "End_Date"}
    )
    assert check_against_metadata(good, METADATA) == []
    bad = spec(
        **{**DS, "key": ["Sheet"]},
        inputs={"Colour": "red"},
        mode="windows",
        windows={"begin": "Part_Key", "end": "Finish"},
    )
    problems = check_against_metadata(bad, METADATA)
    assert problems == [
        "resources: 'sheets' (data source 4142): windows.begin 'Part_Key' is a int, not a date",
        "resources: 'sheets' (data source 4142): windows.end 'Finish' is not an input "
        "(it has: End_Date, Part_Key, Plant, Start_Date)",
        "resources: 'sheets' (data source 4142): inputs.Colour is not an input "
        "(it has: End_Date, Part_Key, Plant, Start_Date)",
        "resources: 'sheets' (data source 4142): input 'Plant' is required: give it under inputs",
        "resources: 'sheets' (data source 4142): key[0] 'Sheet' is not a column "
        "(it has: Checksheet_Date, Checksheet_No)",
    ]


# --- the rows ------------------------------------------------------------------------------------------


def test_configured_rows_are_ordinary_rows_in_their_domain() -> None:
    pos = spec(**PO, domain="inventory", interval="1h")
    lines = spec(
        name="po_lines",
        path="/purchasing/v1/purchase-orders/{poId}/line-items",
        domain="inventory",
        key=["id"],
        mode="per-parent",
        **{"per-parent": {"resource": "pos", "field": "id"}},
    )
    rows = rows_with([pos, lines])
    assert rows[: len(ALL)] == ALL
    assert [r.name for r in domain_rows([pos, lines], "inventory")][-2:] == ["pos", "po_lines"]
    po_row, line_row = rows[-2:]
    assert isinstance(po_row.mode, Snapshot) and po_row.interval == timedelta(hours=1)
    assert isinstance(line_row.mode, PerParent) and line_row.mode.parent == "pos"
    assert line_row.path == "/purchasing/v1/purchase-orders/{parent}/line-items"


def test_windows_become_connect_windows_or_data_source_windows() -> None:
    connect = build_row(
        spec(**PO, mode="windows", windows={"begin": "dueDateBegin", "end": "dueDateEnd", "max-span": "6h"})
    )
    assert isinstance(connect.mode, Window) and connect.mode.max_span == timedelta(hours=6)
    source = build_row(spec(**DS, mode="windows", windows={"begin": "Start_Date", "end": "End_Date"}))
    assert isinstance(source.mode, Window) and source.source == DataSource(4142, {})
    assert source.api == "datasource" and source.datasource_id == 4142


def test_raw_target_copies_the_record_under_its_key() -> None:
    row = build_row(spec(**PO))
    (item,) = row.transform({"id": "a1", "poNumber": "PO-1"}, CTX)
    assert item == RawRow("pos", "a1", {"id": "a1", "poNumber": "PO-1"})
    with pytest.raises(Quarantine, match="missing key id"):
        list(row.transform({"poNumber": "PO-1"}, CTX))


def test_events_target_links_assets_and_reads_plex_times() -> None:
    entry = spec(
        **PO,
        target="events",
        events={"type": "purchase_order", "start-time": "poDate", "asset-links": {"supplierId": "supplier"}},
    )
    (event,) = build_row(entry).transform(
        {"id": "a1", "poDate": "2026-01-01T10:00:00Z", "supplierId": "s9"}, CTX
    )
    assert isinstance(event, Event)
    assert event.external_id == "PCN340884_pos_a1" and event.type == "purchase_order"
    assert event.start_time == int(datetime(2026, 1, 1, 10, tzinfo=UTC).timestamp() * 1000)
    assert event.asset_external_ids == ("PCN340884_supplier_s9",)
    with pytest.raises(Quarantine, match="poDate"):
        list(build_row(entry).transform({"id": "a2", "poDate": "yesterday"}, CTX))


def test_time_series_target_one_series_per_key_with_all_its_points() -> None:
    entry = spec(
        **PO,
        target="time-series",
        **{
            "time-series": {
                "value": "lineItemTotal",
                "time": "poDate",
                "series-key": ["supplierId"],
                "unit": "USD",
            }
        },
    )
    row = build_row(entry)
    records = [
        {"id": "a", "supplierId": "s1", "poDate": "2026-01-01T00:00:00Z", "lineItemTotal": 5},
        {"id": "b", "supplierId": "s1", "poDate": "2026-01-01T01:00:00Z", "lineItemTotal": 7.5},
        {"id": "c", "supplierId": "s2", "poDate": "2026-01-01T00:00:00Z", "lineItemTotal": "n/a"},
    ]
    (series,) = row.transform(records[0], CTX)
    assert (
        isinstance(series, TimeSeries) and series.external_id == "PCN340884_pos_s1" and series.unit == "USD"
    )
    with pytest.raises(Quarantine, match="lineItemTotal is not a number"):
        list(row.transform(records[2], CTX))
    assert row.finish is not None
    (points,) = row.finish(records, CTX)
    assert points == Datapoints("PCN340884_pos_s1", ((1767225600000, 5.0), (1767229200000, 7.5)))


def test_the_ready_made_blocks_are_valid_entries() -> None:
    for path in sorted(DOCS.glob("*.yaml")):
        entries = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert [ConfiguredResource.model_validate(e).name for e in entries], path


# --- through the runner, as ordinary rows -------------------------------------------------------------


def test_a_configured_row_quarantines_what_it_cannot_map_and_writes_the_rest_once() -> None:
    from tests.unit.test_runner import make_runner, run

    entry = spec(**PO, target="events", events={"type": "purchase_order", "start-time": "poDate"})
    runner, plex, sink, _ = make_runner([build_row(entry)])
    plex.lists["/purchasing/v1/purchase-orders"] = [
        {"id": "a", "poDate": "2026-01-01T10:00:00Z"},
        {"id": "b", "poDate": "not a date"},
        {"id": "c", "poDate": "2026-01-01T11:00:00Z"},
    ]

    (report,) = run(runner, ["pos"])
    (again,) = run(runner, ["pos"])

    assert report.status == "ok" and report.quarantined == 1 and report.write.written == 2
    assert again.write.written == 0 and again.write.unchanged == 2, "an unchanged record was written again"
    assert sorted(sink.store) == ["PCN1_pos_a", "PCN1_pos_c"]
