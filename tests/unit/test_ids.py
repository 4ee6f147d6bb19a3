"""External ids are deterministic and PCN-scoped."""

from plex_cdf.ids import (
    MAX_READABLE_CHARS,
    external_id,
    hashed_key,
    joined_key,
    part_number_revision,
    readable_key,
    readable_keys,
    root_external_id,
)


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


def test_a_readable_key_is_the_code_as_plex_shows_it() -> None:
    assert readable_key("WC-100") == "WC-100"
    assert readable_key("Lager Süd – Ω") == "Lager Süd – Ω", "any printable text is a valid external id"


def test_an_unfit_code_is_cut_and_digested_so_two_unfit_codes_stay_apart() -> None:
    long_a, long_b = "A" * 300, "A" * 299 + "B"
    assert len(readable_key(long_a)) <= MAX_READABLE_CHARS
    assert readable_key(long_a) != readable_key(long_b)
    assert readable_key("tab\there") != readable_key("tab?here"), "a replaced character still differs"
    assert readable_key(" padded ").isprintable() and readable_key(" padded ") != "padded"
    assert len(external_id("340884", "workcenter", readable_key(long_a))) <= 255


def test_a_part_is_its_number_and_revision_as_plex_joins_them() -> None:
    assert part_number_revision("FG-1000", "B") == "FG-1000-B"
    assert part_number_revision("RM-2000", None) == "RM-2000"


def test_codes_that_collide_each_get_the_start_of_their_plex_id_whatever_the_order() -> None:
    shown = {"AAAA1111-x": "WC1", "bbbb2222-y": "WC1", "cccc3333-z": "WC2", "dddd4444-w": None}
    keys = readable_keys(shown)
    assert keys == {
        "aaaa1111-x": "WC1~aaaa1111",
        "bbbb2222-y": "WC1~bbbb2222",
        "cccc3333-z": "WC2",
        "dddd4444-w": "dddd4444-w",
    }
    assert readable_keys(dict(reversed(list(shown.items())))) == keys, "no winner by Plex's order"
    # a number+revision that reads like another part's number: told apart, deterministically
    twins = {"p1": part_number_revision("A-B", None), "p2": part_number_revision("A", "B")}
    assert len(set(readable_keys(twins).values())) == 2
