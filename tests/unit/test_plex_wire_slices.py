"""A large Plex list body is parsed a slice of its objects at a time: same records, far smaller peak."""

from __future__ import annotations

import tracemalloc
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from plex_cdf.plex.wire import loads

# Strings that look like the cut between two objects, or like its pieces, inside values and keys.
TRICKY = st.sampled_from(["},{", "} , {", '"},{"', "\\", '"', "]", "[", "{}", "}\n,\n{", "é", "\u2028"])
TEXT = st.lists(st.one_of(TRICKY, st.text(max_size=6)), max_size=4).map("".join)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
RECORDS = st.lists(st.dictionaries(TEXT, VALUES, max_size=5), max_size=40)


@settings(max_examples=200, deadline=None)
@given(RECORDS, st.sampled_from([None, 2, "pretty"]))
def test_a_sliced_parse_gives_exactly_the_whole_parse(records: list[dict[str, Any]], layout: object) -> None:
    body = orjson.dumps(records, option=orjson.OPT_INDENT_2 if layout == "pretty" else 0)
    if layout == 2:  # white space around the commas between objects
        body = b"  \n[" + b"  ,\n ".join(orjson.dumps(r) for r in records) + b"]\n"
    assert loads(body, slice_bytes=16) == orjson.loads(body)


@pytest.mark.parametrize(
    "body",
    [
        b'[{"a": 1}, {"b": 2}, {"c": ',  # cut off mid-object
        b'[{"a": 1}, {"b": 2}, {"c": 3}',  # no closing bracket
        b'[{"a": 1}, {"b": 2} {"c": 3}]',  # a comma missing
        b'[{"a": "},{"}, {"b": 2}, {"c": 3}, x]',  # garbage after the last object
    ],
)
def test_invalid_json_raises_as_the_whole_parse_would(body: bytes) -> None:
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(body)
    with pytest.raises(orjson.JSONDecodeError):
        loads(body, slice_bytes=4)


def test_what_is_not_a_list_of_objects_is_parsed_as_it_is() -> None:
    for value in ({"rows": [{"a": 1}, {"a": 2}]}, [1, 2, 3] * 10, [[{"a": 1}, {"b": 2}]] * 10, "text"):
        assert loads(orjson.dumps(value), slice_bytes=4) == value


def peak_bytes(parse: Any, body: bytes) -> int:
    tracemalloc.start()
    try:
        rows = parse(body)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(rows) == 20_000
    return peak


def test_a_large_list_peaks_at_about_its_records_not_at_the_whole_bodys_parse_document() -> None:
    """A Plex list of 20,000 records (about 6 MB): the whole parse builds a document of the body first."""
    record = {
        "id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
        "number": "PN-100200-A",
        "name": "Bracket, left hand, zinc plated",
        "type": "Finished Good",
        "status": "Active",
        "revision": "B",
        "weight": 1.25,
        "active": True,
        "createdDate": "2024-01-01T00:00:00Z",
    }
    body = orjson.dumps([{**record, "number": f"PN-{i:06d}"} for i in range(20_000)])
    whole, sliced = peak_bytes(orjson.loads, body), peak_bytes(loads, body)
    assert sliced < 0.6 * whole, (
        f"sliced parse peaked at {sliced / 1e6:.1f} MB, whole at {whole / 1e6:.1f} MB"
    )
