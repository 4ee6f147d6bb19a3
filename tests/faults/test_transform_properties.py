"""Hypothesis-generated Plex records for every resource row (transform and finish): real records from the
simulated Plex with nulls, wrong types, huge strings, odd unicode and bad dates put in, run through the
product's runner. No crash; every record the transform refuses is quarantined and counted; every record it
accepts is written, as an item the local CDF would accept.

The default suite runs 15 examples per row; `make test-slow` runs 300 per row (over 10,000 in all).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plex_cdf.domains.registry import ALL
from plex_cdf.domains.resource import Context, PerParent, Resource
from plex_cdf.items import Datapoints, Item
from plex_cdf.runner import dated_since_1970, dedupe, unique_records
from tests.faults.records import (
    DAY,
    PLANT,
    ROWS,
    CheckingSink,
    GeneratedPlex,
    MemoryState,
    Record,
    SampleRunner,
    Samples,
    collect_samples,
    first_window,
    item_slot,
    records_for,
)
from tests.faults.world import NOW, PCN

ROW_NAMES = [r.name for r in ALL]
_SAMPLES: list[Samples] = []


def samples() -> Samples:
    """Real records of every row, fetched once per test session."""
    if not _SAMPLES:
        _SAMPLES.append(collect_samples())
    return _SAMPLES[0]


def test_every_row_has_real_records_to_mutate() -> None:
    """The generated records start from real ones, so every row's field names are the documented ones."""
    empty = [name for name in ROW_NAMES if not samples().records.get(name)]
    assert empty == [], f"the simulated Plex gave no records for {empty}: their fields would go untested"


def run_row(row: Resource, generated: list[Record]) -> tuple[Any, GeneratedPlex, CheckingSink]:
    state = MemoryState()
    sink = CheckingSink(state)
    plex = GeneratedPlex(row, generated, samples())
    runner = SampleRunner(
        samples(),
        row.name,
        pcn=PCN,
        source=plex,
        sink=sink,
        state=state,
        resources=ALL,
        clock=lambda: NOW,
        raw_copy=True,
        plant=PLANT,
    )
    backfill = DAY if first_window(row) is not None else None
    report = asyncio.run(runner.run_resource(row, backfill))
    return report, plex, sink


def expected_of(row: Resource, handed: list[Record]) -> tuple[int, dict[tuple[str, str], Item], int]:
    """(records the transform refuses, the items of the others, how many others) for what Plex handed."""
    s = samples()
    records: list[Record] = handed
    if row.children is not None:
        children = s.children.get(row.children.path, [])
        records = [{**r, row.children.attach_as: children} if isinstance(r, Mapping) else r for r in handed]
    parent = s.records[row.mode.parent][0] if isinstance(row.mode, PerParent) else None
    ctx = Context(
        pcn=PCN,
        resource=row.name,
        now=NOW,
        window=first_window(row),
        # A row that looks itself up (workcenters: their codes told apart over the whole list) reads what
        # Plex handed it, as the runner does.
        lookups={
            name: unique_records([r for r in handed if isinstance(r, Mapping)], row.key)
            if name == row.name
            else s.records.get(name, [])
            for name in row.lookup
        },
        parent=parent,
        plant=PLANT,
    )
    refused = 0
    items: list[Item] = []
    for record in records:
        try:
            if not isinstance(record, Mapping):
                raise TypeError("not an object")
            # A refused record contributes nothing; nor does one the runner's time check refuses (an end
            # time of 9999-12-31T23:59:59.9999 rounds to the first millisecond of the year 10000).
            items.extend(dated_since_1970(list(row.transform(record, ctx))))
        except Exception:
            refused += 1
    if row.finish is not None:
        objects = unique_records(
            [r for r in records if isinstance(r, Mapping)], row.key
        )  # a repeat counts once
        try:
            items.extend(row.finish(objects, ctx))
        except Exception as exc:
            raise AssertionError(
                f"{row.name}: the aggregate step fails on these records ({type(exc).__name__}: {exc}), so the"
                " good records' aggregates would be lost with the bad ones"
            ) from exc
    return refused, {item_slot(i): unsegmented(i) for i in dedupe(items)}, len(records) - refused


def unsegmented(item: Item) -> Item:
    """The runner tags window-computed points with their window (for change detection); the content is
    what is compared."""
    return replace(item, segment="") if isinstance(item, Datapoints) else item


def is_raw_copy(row: Resource, slot: tuple[str, str], expected: Mapping[tuple[str, str], Item]) -> bool:
    """A raw copy of a record (`extractor.raw-copy`), not a RAW row the transform itself makes."""
    return slot[0] == "RawRow" and slot not in expected


@dataclass
class Tally:
    """What the examples of one row went through."""

    examples: int = 0
    quarantined: int = 0
    accepted: int = 0


def check_row(row: Resource, generated: list[Record], tally: Tally) -> None:
    report, plex, sink = run_row(row, generated)
    assert report.status == "ok", f"{row.name}: the run failed on generated records: {report.message}"
    refused, expected, accepted = expected_of(row, plex.handed)
    assert report.quarantined == refused, (
        f"{row.name}: {report.quarantined} records reported quarantined, the transform refuses {refused}"
    )
    written = {
        slot: unsegmented(item) for slot, item in sink.store.items() if not is_raw_copy(row, slot, expected)
    }
    missing = sorted(set(expected) - set(written))
    assert not missing, (
        f"{row.name}: {len(missing)} items of accepted records never written, e.g. {missing[0]}"
    )
    extra = sorted(set(written) - set(expected))
    assert not extra, f"{row.name}: written items no accepted record made, e.g. {extra[0]}"
    changed = [slot for slot in expected if written[slot] != expected[slot]]
    assert not changed, f"{row.name}: items written differ from what the transform made, e.g. {changed[0]}"
    raw = [slot for slot in sink.store if is_raw_copy(row, slot, expected)]
    assert bool(raw) == bool(accepted), f"{row.name}: {accepted} accepted records, {len(raw)} raw copies"
    tally.examples += 1
    tally.quarantined += refused
    tally.accepted += accepted


def check_examples(name: str, examples: int) -> Tally:
    """Run `examples` generated Plex answers through the row; what they went through."""
    tally = Tally()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def prop(data: Any) -> None:
        generated = data.draw(records_for(samples().records.get(name, [])), label="Plex answer")
        check_row(ROWS[name], generated, tally)

    prop()
    return tally


@pytest.mark.parametrize("name", ROW_NAMES)
def test_generated_records_are_quarantined_or_loaded(name: str) -> None:
    tally = check_examples(name, 15)
    assert tally.examples >= 15


@pytest.mark.slow
@pytest.mark.parametrize("name", ROW_NAMES)
def test_generated_records_are_quarantined_or_loaded_300_per_row(name: str) -> None:
    """34 rows x 300 examples: over 10,000 generated Plex answers in all."""
    tally = check_examples(name, 300)
    assert tally.examples >= 300, f"{name}: hypothesis ran only {tally.examples} examples"
    assert tally.quarantined > 0, f"{name}: no generated record was ever quarantined: the nasty values missed"
    assert tally.accepted > 0, f"{name}: no generated record was ever loaded"


LIST_ROWS = [r.name for r in ALL if not (isinstance(r.mode, PerParent) and r.mode.object)]


@pytest.mark.parametrize("name", LIST_ROWS)
def test_answers_that_are_not_objects_are_quarantined_and_the_real_record_still_loads(name: str) -> None:
    """A JSON null, number, string or list where Plex should send an object: four records quarantined,
    the real record beside them loaded (also where a job's operations are fetched per record, and where
    an aggregate such as good quantity or WIP is computed over all records)."""
    tally = Tally()
    check_row(ROWS[name], [None, 7, "x", [1], samples().records[name][0]], tally)
    assert (tally.quarantined, tally.accepted) == (4, 1), (
        f"{name}: {tally.quarantined} quarantined and {tally.accepted} loaded, expected 4 and 1"
    )


def test_an_end_time_that_rounds_into_the_year_10000_is_quarantined_and_counted() -> None:
    """Found by the generated examples: Plex's end-of-time `9999-12-31T23:59:59.99999` parses (to the
    nearest millisecond) to the first millisecond of the year 10000, which no CDF timestamp holds. The
    transform accepts the record, the runner quarantines it, and the count of refused records agrees."""
    real = samples().records["problem_logs"][0]
    tally = Tally()
    check_row(ROWS["problem_logs"], [{**real, "Closed_Date": "9999-12-31T23:59:59.99999"}, real], tally)
    assert (tally.quarantined, tally.accepted) == (1, 1)
