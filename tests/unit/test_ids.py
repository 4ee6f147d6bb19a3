"""External ids are deterministic and PCN-scoped."""

from plex_cdf.ids import external_id, hashed_key, joined_key, root_external_id


def test_root_keeps_the_predecessors_id() -> None:
    assert root_external_id("340884") == "PCN340884_facility_340884"


def test_external_id_shape() -> None:
    assert external_id("340884", "part", "abc") == "PCN340884_part_abc"


def test_joined_key_keeps_order_and_blanks_nulls() -> None:
    record = {"a": 1, "b": None, "c": "x"}
    assert joined_key(record, ("c", "b", "a")) == "x||1"


def test_hashed_key_is_stable_and_short() -> None:
    assert hashed_key("x||1") == hashed_key("x||1")
    assert hashed_key("x||1") != hashed_key("x||2")
    assert len(hashed_key("x||1")) == 20
