"""Values a Plex record should never hold but might: nulls, wrong types, huge or odd strings, bad dates."""

from hypothesis import strategies as st

NASTY_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(),
    st.text(max_size=60),
    st.text(min_size=250, max_size=300),  # beyond the 200-character key limit
    st.sampled_from(["2026-02-30T00:00:00Z", "2026-11-27T10:00:00.123456789Z", "27.11.2026", "Ω\u0000"]),
    st.lists(st.text(max_size=3), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
