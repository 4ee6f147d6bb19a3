"""Performance (OEE): the formulas, and the figures from data source 18765, from 22870 and from Connect
alone, checked against values worked out by hand from the fixtures (tests/unit/fixtures/plex_ivq)."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plex_cdf.domains import performance
from plex_cdf.domains.performance import (
    RESOURCES,
    OeeTotals,
    availability,
    oee,
    oee_figures,
    quality,
)
from plex_cdf.domains.resource import Context, DataSourceWindow, Quarantine, Resource, TimeRange, Window
from plex_cdf.items import Datapoints, Item, TimeSeries
from plex_cdf.plant import UTC_PLANT, PlantTime, Shift, day_range
from plex_cdf.plex.dates import format_plex_datetime
from plex_cdf.sim.plex import connect as sim_connect
from plex_cdf.sim.plex import datasources
from plex_cdf.sim.plex.plant import build_plant
from plex_cdf.sim.plex.scales import scale_named
from plex_cdf.windows import plan
from tests.unit.fixtures.plex_ivq import DAY, NOW, PCN, load

ZERO = timedelta(0)
HISTORY = "/production/v1/production-history/"

DAY_MS = 1_795_737_600_000
WC_A = "7e1d0c2b-9a8f-4e6d-8c5b-4a3f2e1d0c01"
WC_B = "7e1d0c2b-9a8f-4e6d-8c5b-4a3f2e1d0c02"


def resource(name: str) -> Resource:
    return next(r for r in RESOURCES if r.name == name)


def context(name: str, **extra: Any) -> Context:
    lookups = {lookup: load(lookup) for lookup in resource(name).lookup}
    return Context(pcn=PCN, resource=name, now=NOW, window=DAY, lookups=lookups, **extra)


def run_resource(name: str, records: Sequence[dict[str, Any]], ctx: Context | None = None) -> list[Item]:
    """What the runner does with one window: the transform per record, then finish over all of them."""
    row = resource(name)
    ctx = ctx or context(name)
    items: list[Item] = []
    for record in records:
        items.extend(row.transform(record, ctx))
    if row.finish is not None:
        items.extend(row.finish(records, ctx))
    return items


def points(items: Iterable[Item]) -> dict[str, float | str]:
    """The single point of each series, by external id."""
    out: dict[str, float | str] = {}
    for item in items:
        if isinstance(item, Datapoints):
            assert len(item.points) == 1, f"{item.external_id} got {len(item.points)} points for one day"
            out[item.external_id] = item.points[0][1]
    return out


def series_ids(items: Iterable[Item]) -> set[str]:
    return {item.external_id for item in items if isinstance(item, TimeSeries)}


def expected(wc: str, a: Fraction, p: Fraction, q: Fraction) -> dict[str, float]:
    return {
        f"PCN{PCN}_availability_daily_{wc}": float(a),
        f"PCN{PCN}_performance_daily_{wc}": float(p),
        f"PCN{PCN}_quality_daily_{wc}": float(q),
        f"PCN{PCN}_oee_daily_{wc}": float(a * p * q),
    }


def assert_figures(got: dict[str, float | str], want: dict[str, float]) -> None:
    for external_id, value in want.items():
        assert external_id in got, f"no datapoint written for {external_id}"
        assert math.isclose(float(got[external_id]), value, rel_tol=0, abs_tol=1e-9), (
            f"{external_id} = {got[external_id]}, the documented formula gives {value}"
        )


# --- The formulas ---------------------------------------------------------------------------------


def test_formulas_give_the_textbook_example() -> None:
    figures = oee_figures(
        OeeTotals(planned_hours=8, run_hours=6, ideal_hours=4.5, good_count=95, total_count=100)
    )
    assert figures.availability == 0.75
    assert figures.performance == 0.75
    assert figures.quality == 0.95
    assert figures.oee == pytest.approx(0.75 * 0.75 * 0.95, abs=1e-12)


def test_zero_denominators_leave_the_figure_undefined_rather_than_zero() -> None:
    figures = oee_figures(OeeTotals())
    assert figures == performance.OeeFigures(None, None, None, None), (
        "a workcenter with no planned time and no counts must get no OEE point, not a 0 % day"
    )


def test_downtime_beyond_planned_time_clamps_availability_to_zero() -> None:
    assert availability(planned_hours=2, run_hours=-1) == 0.0
    assert availability(planned_hours=2, run_hours=5) == 1.0


def test_performance_above_one_is_reported_not_hidden() -> None:
    assert performance.performance(ideal_hours=3, run_hours=2) == 1.5, (
        "a standard rate set too low should show as performance above 100 %, not be capped"
    )


def test_oee_is_undefined_when_any_factor_is() -> None:
    assert oee(0.5, None, 1.0) is None
    assert quality(good_count=5, total_count=0) is None


def test_a_run_time_too_short_to_divide_by_leaves_performance_and_oee_undefined_not_infinite() -> None:
    """Found by the generated examples: 4 ideal hours over 2.2e-308 run hours overflowed to infinity, and
    OEE became NaN (infinity x a quality of 0), values no datapoint holds."""
    figures = oee_figures(OeeTotals(2.2250738585072014e-308, 2.2250738585072014e-308, 4.0, 0.0, 1.0))
    assert (figures.performance, figures.oee) == (None, None)
    assert figures.availability == 1.0 and figures.quality == 0.0


amounts = st.floats(min_value=0, max_value=1e7, allow_nan=False, allow_infinity=False)


@given(planned=amounts, downtime=amounts, ideal=amounts, good=amounts, bad=amounts)
def test_figures_stay_in_their_bounds_and_oee_is_their_product(
    planned: float, downtime: float, ideal: float, good: float, bad: float
) -> None:
    totals = OeeTotals(planned, max(planned - downtime, 0.0), ideal, good, good + bad)
    figures = oee_figures(totals)
    assert figures.availability is None or 0 <= figures.availability <= 1
    assert figures.quality is None or 0 <= figures.quality <= 1
    assert figures.performance is None or figures.performance >= 0
    if figures.oee is not None:
        assert figures.availability is not None and figures.performance is not None
        assert figures.quality is not None
        product = figures.availability * figures.performance * figures.quality
        assert abs(figures.oee - product) <= 1e-12 * max(1.0, product)
    assert (figures.availability is None) == (planned <= 0)
    assert (figures.quality is None) == (good + bad <= 0)


# --- Data source 18765, daily report ---------------------------------------------------------------


def test_daily_report_figures_equal_the_formulas_on_the_fixture() -> None:
    items = run_resource("daily_performance", load("daily_performance"))
    # WC-A: planned 8 + 4 h, run 7 + 2 h, good 900 + 190, total 1000 + 200,
    # ideal 1000/150 + 200/100 h.
    a = Fraction(9, 12)
    p = (Fraction(1000, 150) + Fraction(200, 100)) / 9
    q = Fraction(1090, 1200)
    assert_figures(points(items), expected(WC_A, a, p, q))


def test_daily_points_sit_at_the_start_of_the_utc_day() -> None:
    items = run_resource("daily_performance", load("daily_performance"))
    stamps = {item.points[0][0] for item in items if isinstance(item, Datapoints)}
    assert stamps == {DAY_MS}, f"daily OEE points written at {stamps}, not at 2026-11-27T00:00Z"


def test_a_workcenter_without_planned_time_gets_series_but_no_points() -> None:
    items = run_resource("daily_performance", load("daily_performance"))
    series = {i.external_id for i in items if isinstance(i, TimeSeries)}
    assert f"PCN{PCN}_oee_daily_{WC_B}" in series
    figures = [
        i
        for i in items
        if isinstance(i, Datapoints) and WC_B in i.external_id and "quantity" not in i.external_id
    ]
    assert not figures, "WC-B planned nothing that day; a 0 % OEE point would be a lie"


def test_daily_series_hang_under_their_workcenter() -> None:
    items = run_resource("daily_performance", load("daily_performance"))
    for item in items:
        if isinstance(item, TimeSeries):
            code = item.metadata["workcenterCode"]
            assert item.asset_external_id == f"PCN{PCN}_workcenter_{code}", "linked by the code Plex shows"
            assert item.data_set == "production"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"Workcenter_Key": None}, "Workcenter_Key"),
        ({"Workcenter_Key": 777}, "Workcenter_Key"),
        ({"Workcenter_Key": "five"}, "Workcenter_Key"),
        ({"Planned_Production_Time": "8h"}, "Planned_Production_Time"),
        ({"Downtime_DB": -1}, "Downtime_DB"),
        ({"Production_Qty": True}, "Production_Qty"),
        ({"Standard_Production_Rate": [150]}, "Standard_Production_Rate"),
        # A positive rate so small that the row's pieces take an infinite ideal time (found by hypothesis).
        ({"Standard_Production_Rate": 1e-320}, "Standard_Production_Rate"),
    ],
)
def test_a_bad_daily_row_is_quarantined_by_name_and_left_out(change: dict[str, Any], field: str) -> None:
    rows = load("daily_performance")
    bad = {**rows[0], **change}
    with pytest.raises(Quarantine, match=field):
        list(resource("daily_performance").transform(bad, context("daily_performance")))
    finish = resource("daily_performance").finish
    assert finish is not None
    got = points(finish([bad, rows[1]], context("daily_performance")))
    # Only the second row counts: planned 4, run 2, good 190, total 200, ideal 2 h.
    assert_figures(got, expected(WC_A, Fraction(1, 2), Fraction(1), Fraction(19, 20)))


def test_daily_figures_refuse_a_window_that_does_not_start_at_midnight() -> None:
    shifted = TimeRange(datetime(2026, 11, 27, 22, tzinfo=UTC), datetime(2026, 11, 28, tzinfo=UTC))
    ctx = Context(pcn=PCN, resource="daily_performance", now=NOW, window=shifted)
    finish = resource("daily_performance").finish
    assert finish is not None
    with pytest.raises(ValueError, match="local midnight"):
        list(finish([], ctx))


# --- Data source 22870, current performance ----------------------------------------------------------


def test_current_performance_is_a_latest_only_point_on_the_workcenter_named_by_code() -> None:
    items = run_resource("workcenter_performance", load("workcenter_performance"))
    [series] = [i for i in items if isinstance(i, TimeSeries)]
    [dps] = [i for i in items if isinstance(i, Datapoints)]
    assert series.external_id == f"PCN{PCN}_performance_current_{WC_A}"
    assert series.asset_external_id == f"PCN{PCN}_workcenter_WC-A"
    assert series.unit == "fraction", "OEE and its factors share one scale: fractions"
    assert dps.latest_only, "a sampled current value must be written only when it changes"
    assert dps.points == ((int(NOW.timestamp() * 1000), 0.875),), "Plex's 87.5 % is 0.875"


def test_current_performance_of_an_unknown_workcenter_code_is_quarantined() -> None:
    row = {**load("workcenter_performance")[0], "Workcenter_Code": "WC-Ø"}
    with pytest.raises(Quarantine, match="Workcenter_Code"):
        list(resource("workcenter_performance").transform(row, context("workcenter_performance")))


@pytest.mark.parametrize("bad", ["87 %", float("nan"), float("inf"), [87.5]])
def test_current_performance_rejects_anything_but_a_finite_number(bad: object) -> None:
    row = {**load("workcenter_performance")[0], "Performance": bad}
    with pytest.raises(Quarantine, match="Performance"):
        list(resource("workcenter_performance").transform(row, context("workcenter_performance")))


# --- Connect alone ----------------------------------------------------------------------------------


def test_connect_figures_equal_the_formulas_on_the_fixture() -> None:
    items = run_resource("oee_from_connect", load("workcenter_status_entries"))
    # Statuses (duration in seconds): Off 2 h and Idle 0.5 h are not planned; Setup 1, Production 4 + 2,
    # Down 0.5 h -> planned 7.5 h, down 0.5 h, run 7 h (setup runs, as in Plex's daily report). Counts: good
    # 300 + 200 + 200 + 100, scrap 20. Ideal time: (500 + 20) / 130 + 200 / 200 (standard rate, no ideal
    # rate) + 100 pieces with no rate (0 h) = 5 h.
    assert_figures(points(items), expected(WC_A, Fraction(14, 15), Fraction(5, 7), Fraction(800, 820)))


def test_connect_and_data_source_routes_write_the_same_series() -> None:
    connect = series_ids(run_resource("oee_from_connect", load("workcenter_status_entries")))
    daily = series_ids(run_resource("daily_performance", load("daily_performance")))
    assert f"PCN{PCN}_oee_daily_{WC_A}" in connect & daily, (
        "a tenant that gains data source 18765 would otherwise see its OEE history split in two series"
    )


def test_connect_counts_without_status_time_give_quality_only() -> None:
    got = points(run_resource("oee_from_connect", load("workcenter_status_entries")))
    assert got.get(f"PCN{PCN}_quality_daily_{WC_B}") == 1.0
    assert f"PCN{PCN}_oee_daily_{WC_B}" not in got


def test_an_unknown_status_is_quarantined_and_not_counted() -> None:
    entries = load("workcenter_status_entries")
    odd = {**entries[2], "workcenterStatus": "Lunch ☕"}
    with pytest.raises(Quarantine, match="workcenterStatus"):
        list(resource("oee_from_connect").transform(odd, context("oee_from_connect")))
    got = points(run_resource("oee_from_connect", [*entries[:2], *entries[3:]], context("oee_from_connect")))
    assert got[f"PCN{PCN}_availability_daily_{WC_A}"] == pytest.approx(3 / 3.5, abs=1e-12), (
        "without the 4 h production entry, run time is 3 h of 3.5 h planned"
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"duration": "1h"}, "duration"),
        ({"duration": -60}, "duration"),
        ({"duration": 1e306}, "duration"),
        ({"workcenterId": None}, "workcenterId"),
        ({"logDate": "27/11/2026"}, "logDate"),
        ({"workcenterStatus": {"description": "Production"}}, "workcenterStatus"),
    ],
)
def test_a_bad_status_entry_is_quarantined_by_name(change: dict[str, Any], field: str) -> None:
    bad = {**load("workcenter_status_entries")[0], **change}
    with pytest.raises(Quarantine, match=field):
        list(resource("oee_from_connect").transform(bad, context("oee_from_connect")))


def test_a_bad_production_entry_is_left_out_of_the_counts() -> None:
    ctx = context("oee_from_connect")
    broken = [{**load("production_entries")[0], "quantity": "300"}, *load("production_entries")[1:]]
    lookups = {**ctx.lookups, "production_entries": broken}
    ctx = Context(pcn=PCN, resource="oee_from_connect", now=NOW, window=DAY, lookups=lookups)
    got = points(run_resource("oee_from_connect", load("workcenter_status_entries"), ctx))
    assert got[f"PCN{PCN}_quality_daily_{WC_A}"] == pytest.approx(500 / 520, abs=1e-12)


def test_approved_workcenters_are_a_lookup_that_writes_nothing() -> None:
    row = resource("approved_workcenters")
    assert [
        list(row.transform(r, context("approved_workcenters"))) for r in load("approved_workcenters")
    ] == [
        [],
        [],
        [],
    ]
    with pytest.raises(Quarantine, match="idealRate"):
        list(row.transform({"workcenterId": WC_A, "idealRate": "fast"}, context("approved_workcenters")))


# --- Rows --------------------------------------------------------------------------------------------


def test_the_connect_route_runs_only_when_the_daily_report_is_not_offered() -> None:
    assert resource("oee_from_connect").fallback_for == "daily_performance"
    assert resource("daily_performance").optional, "a tenant without 18765 must warn, not fail the domain"


def test_data_source_rows_name_their_ids_and_windows() -> None:
    daily = resource("daily_performance")
    assert (daily.api, daily.datasource_id) == ("datasource", 18765)
    assert resource("workcenter_performance").datasource_id == 22870
    assert isinstance(daily.mode, DataSourceWindow) and daily.mode.plant_days


def test_no_row_asks_plex_for_pages() -> None:
    for row in RESOURCES:
        asked = {name.lower() for name in (*row.params, *row.datasource_inputs)}
        assert not asked & {"limit", "offset", "page", "pagesize"}, f"{row.name} sends paging parameters"


def test_every_series_carries_lineage() -> None:
    items = [
        *run_resource("daily_performance", load("daily_performance")),
        *run_resource("oee_from_connect", load("workcenter_status_entries")),
        *run_resource("workcenter_performance", load("workcenter_performance")),
    ]
    for item in items:
        if isinstance(item, TimeSeries):
            assert item.metadata.get("plexResource") in {r.name for r in RESOURCES}, item.external_id
            assert item.metadata.get("sourceId"), f"{item.external_id} has no plex_id"


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.text(min_size=250, max_size=300),  # beyond the 200-character key limit
    st.sampled_from(["2026-02-30T00:00:00Z", "2026-11-27T10:00:00.123456789Z", "27.11.2026", "Ω\u0000"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@given(data=st.data())
def test_any_record_is_mapped_or_quarantined_and_never_yields_a_non_finite_point(data: st.DataObject) -> None:
    for name, fixture in (
        ("daily_performance", "daily_performance"),
        ("oee_from_connect", "workcenter_status_entries"),
    ):
        base = data.draw(st.sampled_from(load(fixture)))
        fields = data.draw(st.lists(st.sampled_from(sorted(base)), max_size=4))
        record = {**base, **{field: data.draw(scalars) for field in fields}}
        with contextlib.suppress(Quarantine):
            assert list(resource(name).transform(record, context(name))) == []
        finish = resource(name).finish
        assert finish is not None
        for value in points(finish([record], context(name))).values():
            assert isinstance(value, float) and math.isfinite(value), f"{name} wrote {value!r} from {record}"


# --- On a simulated plant: the documented formulas applied to what Plex holds ------------------------


@dataclass
class Tally:
    planned: float = 0.0
    run: float = 0.0
    ideal: float = 0.0
    good: float = 0.0
    total: float = 0.0

    def figures(self) -> dict[str, float]:
        """The documented formulas, written out once more, by hand."""
        out = {}
        if self.planned > 0:
            out["availability"] = self.run / self.planned
        if self.run > 0:
            out["performance"] = self.ideal / self.run
        if self.total > 0:
            out["quality"] = self.good / self.total
        if len(out) == 3:
            out["oee"] = out["availability"] * out["performance"] * out["quality"]
        return out


class SimulatedPlant:
    """A small seeded plant from the simulator, read in process the way the runner would read it."""

    start = datetime(2026, 11, 27, 12, tzinfo=UTC)
    day = TimeRange(datetime(2026, 11, 26, tzinfo=UTC), datetime(2026, 11, 27, tzinfo=UTC))

    def __init__(self, clock: PlantTime = UTC_PLANT, day: TimeRange | None = None) -> None:
        self.now_ms = int(self.start.timestamp() * 1000)
        self.plant = build_plant(7, scale_named("small"), self.now_ms, PCN, None)
        self.clock = clock
        self.day = day or self.day

    def connect(
        self, path: str, windowed: bool = False, reach_back: timedelta = ZERO
    ) -> list[dict[str, Any]]:
        dates = [
            ("beginDate", format_plex_datetime(self.day.begin - reach_back)),
            ("endDate", format_plex_datetime(self.day.end)),
        ]
        answer = sim_connect.answer(
            self.plant, self.now_ms, path, sim_connect.lower_params(dates if windowed else [])
        )
        rows: list[dict[str, Any]] = answer[1]
        return rows

    def connect_lookups(self) -> dict[str, list[dict[str, Any]]]:
        """What the Connect OEE rows look up, for the day."""
        definitions = "/production/v1/production-definitions/"
        return {
            "production_entries": self.connect(HISTORY + "production-entries", windowed=True),
            "scrap_entries": self.connect(HISTORY + "scrap-entries", windowed=True),
            "workcenter_statuses": self.connect(definitions + "workcenter-statuses"),
            "approved_workcenters": self.connect(definitions + "approved-workcenters"),
        }

    def daily_report(self) -> list[dict[str, Any]]:
        inputs = {
            "Start_Date": format_plex_datetime(self.day.begin),
            "End_Date": format_plex_datetime(self.day.end),
        }
        return datasources.SOURCES[18765].rows(self.plant, self.now_ms, inputs)

    def context(self, name: str, lookups: dict[str, list[dict[str, Any]]]) -> Context:
        return Context(
            pcn=PCN, resource=name, now=self.start, window=self.day, lookups=lookups, plant=self.clock
        )


def figures_by_workcenter(items: Iterable[Item]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for external_id, value in points(items).items():
        kind, _, workcenter = external_id.removeprefix(f"PCN{PCN}_").partition("_daily_")
        if "quantity" not in kind:
            out.setdefault(workcenter, {})[kind] = float(value)
    return out


def assert_same_figures(got: dict[str, dict[str, float]], want: dict[str, dict[str, float]]) -> None:
    assert got.keys() == want.keys(), "a workcenter's daily figures are missing or extra"
    for workcenter, figures in want.items():
        assert got[workcenter].keys() == figures.keys(), f"{workcenter}: figures {sorted(got[workcenter])}"
        for kind, value in figures.items():
            assert math.isclose(got[workcenter][kind], value, rel_tol=0, abs_tol=1e-9), (
                f"{workcenter} {kind} = {got[workcenter][kind]}, the documented formula gives {value}"
            )


def test_daily_report_oee_on_a_simulated_plant_equals_the_formulas() -> None:
    sim = SimulatedPlant()
    rows = sim.daily_report()
    workcenter_of = {key: plex_id for plex_id, key in sim.plant.keys("Workcenter").items()}
    key_map: list[dict[str, Any]] = [{"key": key, "id": plex_id} for key, plex_id in workcenter_of.items()]
    ctx = sim.context("daily_performance", {"workcenter_key_map": key_map})
    want: dict[str, Tally] = {}
    for row in rows:
        tally = want.setdefault(workcenter_of[row["Workcenter_Key"]], Tally())
        total = row["Production_Qty"] + row["Scrap_Qty"] + row["Reject_Qty"]
        tally.planned += row["Planned_Production_Time"]
        tally.run += max(row["Planned_Production_Time"] - row["Downtime_DB"], 0)
        tally.good += row["Production_Qty"]
        tally.total += total
        tally.ideal += total / row["Standard_Production_Rate"] if row["Standard_Production_Rate"] else 0
    assert rows, "the simulated plant produced nothing that day; the test would prove nothing"
    got = run_resource("daily_performance", rows, ctx)
    assert_same_figures(
        figures_by_workcenter(got), {wc: t.figures() for wc, t in want.items() if t.figures()}
    )


def test_connect_oee_on_a_simulated_plant_equals_the_formulas() -> None:
    sim = SimulatedPlant()
    lookups = sim.connect_lookups()
    entries = sim.connect(HISTORY + "workcenter-status-entries", windowed=True)
    statuses = {s["description"]: s for s in lookups["workcenter_statuses"]}
    rates = {
        (a["workcenterId"], a["partOperationId"]): a["idealRate"] or a["standardProductionRate"]
        for a in lookups["approved_workcenters"]
    }
    want: dict[str, Tally] = {}
    for entry in entries:
        status, tally = statuses[entry["workcenterStatus"]], want.setdefault(entry["workcenterId"], Tally())
        if not (status["offStatus"] or status["idleStatus"]):
            tally.planned += entry["duration"] / 3600
            tally.run += entry["duration"] / 3600 if not status["downtimeStatus"] else 0
    for name, good in (("production_entries", True), ("scrap_entries", False)):
        for entry in lookups[name]:
            tally = want.setdefault(entry["workcenterId"], Tally())
            rate = rates.get((entry["workcenterId"], entry["partOperationId"]))
            tally.ideal += entry["quantity"] / rate if rate else 0
            tally.good += entry["quantity"] if good else 0
            tally.total += entry["quantity"]
    assert entries and lookups["production_entries"], "the simulated plant logged nothing that day"
    got = run_resource("oee_from_connect", entries, sim.context("oee_from_connect", lookups))
    assert_same_figures(
        figures_by_workcenter(got), {wc: t.figures() for wc, t in want.items() if t.figures()}
    )


DETROIT = PlantTime(ZoneInfo("America/Detroit"))


def both_routes(sim: SimulatedPlant) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Daily figures of one plant day from data source 18765 and from Connect alone (status entries
    fetched from a day before, as the row's reach_back asks)."""
    workcenter_of = {key: plex_id for plex_id, key in sim.plant.keys("Workcenter").items()}
    key_map: list[dict[str, Any]] = [{"key": key, "id": plex_id} for key, plex_id in workcenter_of.items()]
    report = run_resource(
        "daily_performance",
        sim.daily_report(),
        sim.context("daily_performance", {"workcenter_key_map": key_map}),
    )
    lookups = sim.connect_lookups()
    entries = sim.connect(HISTORY + "workcenter-status-entries", windowed=True, reach_back=performance.DAY)
    connect = run_resource("oee_from_connect", entries, sim.context("oee_from_connect", lookups))
    return figures_by_workcenter(report), figures_by_workcenter(connect)


@pytest.mark.parametrize(
    ("clock", "day"),
    [
        (UTC_PLANT, SimulatedPlant.day),
        (DETROIT, day_range(date(2026, 11, 26), DETROIT.zone)),
    ],
    ids=["utc", "america-detroit"],
)
def test_availability_from_status_intervals_agrees_with_the_daily_report(
    clock: PlantTime, day: TimeRange
) -> None:
    report, connect = both_routes(SimulatedPlant(clock, day))
    compared = [wc for wc in report if "availability" in report[wc]]
    assert compared, "the simulated plant planned no time that day; the test would prove nothing"
    for workcenter in compared:
        got, want = connect[workcenter]["availability"], report[workcenter]["availability"]
        assert math.isclose(got, want, rel_tol=1e-9), (
            f"{workcenter}: availability {got} from status intervals, {want} from data source 18765"
        )


def test_every_oee_series_is_a_fraction_with_its_unit() -> None:
    items = [
        *run_resource("daily_performance", load("daily_performance")),
        *run_resource("oee_from_connect", load("workcenter_status_entries")),
    ]
    units = {i.external_id: i.unit for i in items if isinstance(i, TimeSeries)}
    figures = {x: u for x, u in units.items() if "quantity" not in x}
    assert figures and set(figures.values()) == {"fraction"}, figures
    assert {u for x, u in units.items() if "quantity" in x} == {"pcs"}, "daily good and scrap are pieces"
    fractions = {x: v for x, v in points(items).items() if "performance" not in x and "quantity" not in x}
    assert fractions and all(0 <= float(v) <= 1 for v in fractions.values())


SHIFTS = PlantTime(
    ZoneInfo("UTC"),
    (Shift("Early", time(2), time(6)), Shift("Long", time(6), time(2))),  # Long ends next day
)


def test_per_shift_figures_cut_status_time_at_the_shift_bounds_across_midnight() -> None:
    mode = resource("oee_per_shift").mode
    assert isinstance(mode, Window)
    window, *_ = plan(
        datetime(2026, 11, 27, 3, tzinfo=UTC), datetime(2026, 11, 28, 3, tzinfo=UTC), mode, SHIFTS
    )
    assert (window.begin, window.end) == (
        datetime(2026, 11, 27, 2, tzinfo=UTC),
        datetime(2026, 11, 28, 2, tzinfo=UTC),
    ), "a shift day runs from the earliest shift start to the next day's"
    ctx = replace(context("oee_per_shift"), window=window, plant=SHIFTS)
    got: dict[str, dict[int, float | str]] = {}
    for item in run_resource("oee_per_shift", load("workcenter_status_entries"), ctx):
        if isinstance(item, Datapoints):
            got.setdefault(item.external_id, {}).update(dict(item.points))
    early = int(window.begin.timestamp() * 1000)
    long = early + 4 * 3_600_000
    # Early 02-06: setup 1 h + production 3 h, nothing down. Long 06-02 (+1 day): production 1 h, down 0.5 h,
    # production 2 h; the off and idle entries are not planned.
    availability = got[f"PCN{PCN}_availability_shift_{WC_A}"]
    assert availability.keys() == {early, long}, "one point at each shift's start"
    assert availability[early] == 1.0
    assert availability[long] == pytest.approx(3 / 3.5, abs=1e-12)


def test_a_plant_without_shifts_has_no_shift_windows_and_makes_no_call() -> None:
    mode = resource("oee_per_shift").mode
    assert isinstance(mode, Window)
    begin = datetime(2026, 11, 27, tzinfo=UTC)
    assert list(plan(begin, begin + timedelta(days=3), mode, UTC_PLANT)) == []
