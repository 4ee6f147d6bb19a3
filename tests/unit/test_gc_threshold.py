"""A run raises the young generation's collection threshold (app.GC_YOUNG_THRESHOLD; the CPU it saves is
measured by bench/extract_medium.py), and leaves alone a process that set a higher one or none."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from plex_cdf.app import GC_YOUNG_THRESHOLD, collect_young_garbage_less_often


@pytest.fixture(autouse=True)
def restored() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


def test_the_default_threshold_is_raised_and_the_older_generations_keep_theirs() -> None:
    gc.set_threshold(700, 10, 10)
    collect_young_garbage_less_often()
    assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, 10, 10)


@pytest.mark.parametrize("young", [0, GC_YOUNG_THRESHOLD * 5])
def test_a_collector_turned_off_or_set_higher_is_left_as_it_was(young: int) -> None:
    gc.set_threshold(young, 7, 9)
    collect_young_garbage_less_often()
    assert gc.get_threshold() == (young, 7, 9)
