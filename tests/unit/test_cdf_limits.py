"""CDF limits: what gets cut, that the cut is stable, and that every cut is counted."""

from __future__ import annotations

import math

from plex_cdf.cdf.hierarchy import hierarchy_order
from plex_cdf.cdf.limits import (
    LIMITS,
    Alterations,
    cut_text,
    fit_external_id,
    fit_metadata,
    fit_point,
)
from plex_cdf.cdf.payloads import replace_update


def test_long_external_ids_become_a_stable_255_char_id() -> None:
    long = "PCN1_part_" + "é" * 400
    assert len(fit_external_id(long)) == 255
    assert fit_external_id(long) == fit_external_id(long), "the same id must always map to the same id"
    assert fit_external_id(long) != fit_external_id(long + "x"), "different ids must stay different"
    assert fit_external_id("PCN1_part_1") == "PCN1_part_1"


def test_text_is_cut_on_character_boundaries() -> None:
    assert cut_text("ééé", 3) == "é"
    assert cut_text("abc", 10) == "abc"


def test_metadata_fits_key_value_count_and_total_limits() -> None:
    alterations = Alterations()
    limits = LIMITS["asset"].metadata
    big = {f"k{n:03d}": "v" * 100 for n in range(300)}
    big["x" * 200] = "y" * 20000
    fitted = fit_metadata(big, limits, "asset", alterations)
    assert len(fitted) <= limits.pairs
    assert sum(len(k.encode()) + len(v.encode()) for k, v in fitted.items()) <= limits.total_bytes
    assert alterations["asset.metadata.key"] == 1 and alterations["asset.metadata.value"] == 1
    assert alterations["asset.metadata.dropped"] == 301 - len(fitted)


def test_datapoints_are_made_valid_or_dropped_and_counted() -> None:
    alterations = Alterations()
    assert fit_point(0, math.inf, alterations) is None
    assert fit_point(-3_000_000_000_000, 1.0, alterations) is None
    assert fit_point(0, 1e200, alterations) == (0, 1e100)
    assert fit_point(0, "s" * 2000, alterations) == (0, "s" * 1023)
    assert fit_point(5, 2.5, alterations) == (5, 2.5)
    assert sum(alterations.values()) == 4


def test_replace_update_clears_what_the_item_no_longer_has() -> None:
    update = replace_update("event", {"externalId": "e", "type": "job", "metadata": {"a": "1"}})
    assert update["update"]["description"] == {"setNull": True}
    assert update["update"]["assetIds"] == {"set": []}
    assert update["update"]["metadata"] == {"set": {"a": "1"}}
    assert replace_update("asset", {"externalId": "a", "name": "n"})["update"]["metadata"] == {"set": {}}


def test_hierarchy_order_puts_parents_first_and_holds_back_orphans_and_cycles() -> None:
    bodies = [
        {"externalId": "c", "parentExternalId": "b"},
        {"externalId": "b", "parentExternalId": "a"},
        {"externalId": "a", "parentExternalId": "root"},
        {"externalId": "orphan", "parentExternalId": "nowhere"},
        {"externalId": "x", "parentExternalId": "y"},
        {"externalId": "y", "parentExternalId": "x"},
        {"externalId": "root"},
    ]
    ready, waiting = hierarchy_order(bodies, in_cdf=lambda xid: False)
    assert [b["externalId"] for b in ready] == ["root", "a", "b", "c"]
    assert {b["externalId"] for b in waiting} == {"orphan", "x", "y"}
    ready, _ = hierarchy_order(
        [{"externalId": "k", "parentExternalId": "known"}], in_cdf=lambda x: x == "known"
    )
    assert [b["externalId"] for b in ready] == ["k"]
