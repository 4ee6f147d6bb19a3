"""The product's own copy of Plex's documented route list matches the one the simulated Plex serves (both
derived from Plex's API documents), and configured paths find their documented route."""

from __future__ import annotations

from plex_cdf.plex.discover import SourceColumn, SourceInput, SourceMetadata, config_block, date_inputs
from plex_cdf.plex.routes import documented_routes, nearest_routes, products, route_for
from plex_cdf.sim.plex.catalogue import connect_routes


def test_product_routes_equal_the_simulators_derived_list() -> None:
    ours = documented_routes()
    theirs = {r.path: r for r in connect_routes()}
    assert sorted(ours) == sorted(theirs), "the product's route list differs from the derived catalogue"
    for path, route in ours.items():
        spec = theirs[path]
        assert route.answer == spec.answer, path
        assert [(p.name, p.where, p.required, p.type) for p in route.params] == [
            (p.name, p.where, p.required, p.type) for p in spec.params
        ], path
        assert set(route.fields) == set(spec.fields), path


def test_products_group_routes_by_namespace() -> None:
    assert "purchasing" in products() and "sales" in products()
    assert all(r.namespace == "purchasing" for r in products()["purchasing"])


def test_route_for_accepts_other_placeholder_names_and_refuses_unknown_paths() -> None:
    found = route_for("/purchasing/v1/purchase-orders/{id}/line-items")
    assert found is not None and found.path == "/purchasing/v1/purchase-orders/{poId}/line-items"
    assert route_for("/purchasing/v1/purchase-order") is None
    assert "/purchasing/v1/purchase-orders" in nearest_routes("/purchasing/v1/purchase-order")


def _source(*inputs: SourceInput) -> SourceMetadata:
    columns = (
        SourceColumn("Quantity", "decimal"),
        SourceColumn("Lot_Key", "int"),
        SourceColumn("Lot_No", "varchar"),
    )
    return SourceMetadata(9001, "Lots_Get", "", inputs, columns)


def test_config_block_reads_a_period_in_windows_and_keys_on_the_first_identifier_column() -> None:
    source = _source(
        SourceInput("Begin_Date", "datetime", False),
        SourceInput("End_Date", "datetime", False),
        SourceInput("Plant", "varchar", True),
    )
    assert date_inputs(source) == ("Begin_Date", "End_Date")
    block = config_block(source)
    assert block["name"] == "lots" and block["data-source"] == 9001 and block["key"] == ["Lot_Key"]
    assert block["mode"] == "windows" and block["windows"]["begin"] == "Begin_Date"
    assert block["inputs"] == {"Plant": "FILL_IN"}, "a required input must be left for the user to fill"


def test_config_block_without_date_inputs_is_a_snapshot() -> None:
    block = config_block(_source(SourceInput("Part_Key", "int", False)))
    assert block["mode"] == "snapshot" and "windows" not in block and "inputs" not in block
