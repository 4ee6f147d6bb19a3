"""The Plex client against the simulated Plex over loopback HTTP: the shared budget as Plex counts it,
fault storms, one diagnostic per configuration mistake, row-limit splitting and `check_plex`."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator
from datetime import timedelta
from typing import Any, TypeVar

import orjson
import pytest

from plex_cdf.domains.resource import TimeRange
from plex_cdf.plex.check import CheckResult, check_plex
from plex_cdf.plex.client import PlexClient, PlexSettings
from plex_cdf.plex.dates import format_plex_datetime
from plex_cdf.plex.errors import PlexConfigError
from plex_cdf.sim.plex import simulator
from plex_cdf.sim.plex.simulator import SimPlex

T = TypeVar("T")

# Eight domains' worth of list endpoints, each answered whole by the simulator.
DOMAIN_PATHS = [
    "/mdm/v1/parts",
    "/mdm/v1/buildings",
    "/mdm/v1/operations",
    "/mdm/v1/suppliers",
    "/scheduling/v1/jobs",
    "/production/v1/production-definitions/workcenters",
    "/production/v1/production-definitions/workcenter-statuses",
    "/inventory/v1/inventory-definitions/locations",
]


@pytest.fixture
def sim() -> SimPlex:
    return SimPlex(seed=1, scale="small")


@pytest.fixture
def base_url(sim: SimPlex) -> Iterator[str]:
    with sim.serve() as server:
        yield server.base_url


def plex_settings(base_url: str, **overrides: Any) -> PlexSettings:
    values: dict[str, Any] = {
        "connect_url": base_url,
        "datasource_url": base_url,
        "api_key": simulator.DEFAULT_API_KEY,
        "customer_id": simulator.DEFAULT_PCN,
        "ds_username": simulator.DEFAULT_DS_USER,
        "ds_password": simulator.DEFAULT_DS_PASSWORD,
        "backoff_base_s": 0.05,
        "backoff_cap_s": 0.5,
        "timeout_s": 30.0,
    }
    values.update(overrides)
    return PlexSettings(**values)


def with_client(settings: PlexSettings, scenario: Callable[[PlexClient], Coroutine[Any, Any, T]]) -> T:
    async def go() -> T:
        async with PlexClient(settings) as client:
            return await scenario(client)

    return asyncio.run(go())


def canonical(rows: Any) -> Counter[bytes]:
    return Counter(orjson.dumps(row, option=orjson.OPT_SORT_KEYS) for row in rows)


def eight_domains(client: PlexClient, rounds: int) -> Coroutine[Any, Any, dict[str, list[Any]]]:
    async def domain(path: str) -> list[Any]:
        return [await client.get_list(path) for _ in range(rounds)]

    async def all_domains() -> dict[str, list[Any]]:
        answers = await asyncio.gather(*(domain(path) for path in DOMAIN_PATHS))
        return dict(zip(DOMAIN_PATHS, answers, strict=True))

    return all_domains()


def assert_every_record_once(sim: SimPlex, answers: dict[str, list[Any]]) -> None:
    for path, rounds in answers.items():
        truth = canonical(sim.truth.get(path))
        for rows in rounds:
            assert canonical(rows) == truth, f"{path}: records lost or duplicated"


def max_in_any_window(times: list[float], window: float) -> int:
    ordered = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(ordered):
        while ordered[start] + window <= t:
            start += 1
        best = max(best, end - start + 1)
    return best


# -- budget ---------------------------------------------------------------------------------------


def test_eight_domains_never_exceed_the_budget() -> None:
    """How much of the budget a backlog uses is a speed figure, measured by bench/plex_budget.py (a
    wall-clock share asserted here would fail on a busy machine, not on a wrong budget)."""
    sim = SimPlex(seed=1, scale="small", rate_limit_per_minute=40, rate_limit_window_s=1.0)
    with sim.serve() as server:
        settings = plex_settings(server.base_url, calls_per_minute=40, window_seconds=1.0)
        answers = with_client(settings, lambda c: eight_domains(c, rounds=20))
    log = sim.request_log()
    assert [entry for entry in log if entry[4] == 429] == [], "Plex counted more calls than the budget"
    arrivals = [entry[0] for entry in log]
    assert len(arrivals) == 160 and max_in_any_window(arrivals, 1.0) <= 40
    assert_every_record_once(sim, answers)


def test_a_404_for_no_data_reads_as_an_empty_list() -> None:
    sim = SimPlex(seed=1, scale="small", empty_as_404=True)
    with sim.serve() as server:

        async def scenario(client: PlexClient) -> tuple[list[Any], list[Any], int]:
            none = await client.get_list("/mdm/v1/parts", {"number": "no-such-part"})
            parts = await client.get_list("/mdm/v1/parts")
            return none, parts, client.stats.not_found_as_empty

        none, parts, empty = with_client(plex_settings(server.base_url), scenario)
    assert none == [] and empty == 1
    assert canonical(parts) == canonical(sim.truth.get("/mdm/v1/parts"))


# -- faults ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("retry_after", [True, False])
def test_429_storms_and_10_percent_5xx_are_survived_with_every_record_once(retry_after: bool) -> None:
    sim = SimPlex(seed=2, scale="small", retry_after=retry_after, fault_429=0.3, fault_5xx=0.1)
    with sim.serve() as server:

        async def scenario(client: PlexClient) -> tuple[dict[str, list[Any]], int, int]:
            answers = await eight_domains(client, rounds=3)
            return answers, client.stats.status_429, client.stats.status_5xx

        answers, throttled, failed = with_client(plex_settings(server.base_url, max_retries=10), scenario)
    statuses = Counter(entry[4] for entry in sim.request_log())
    assert statuses[429] == throttled > 0 and statuses[500] == failed > 0, statuses
    assert_every_record_once(sim, answers)


# -- one diagnostic per configuration mistake -----------------------------------------------------


def config_problem(
    settings: PlexSettings, call: Callable[[PlexClient], Coroutine[Any, Any, Any]]
) -> PlexConfigError:
    with pytest.raises(PlexConfigError) as caught:
        with_client(settings, call)
    return caught.value


def test_each_configuration_mistake_has_its_own_diagnostic(sim: SimPlex, base_url: str) -> None:
    def workcenters(client: PlexClient) -> Coroutine[Any, Any, Any]:
        return client.get_list("/production/v1/production-definitions/workcenters")

    sim.subscribe(simulator.DEFAULT_API_KEY, "production", subscribed=False)
    sim.grant_datasource(simulator.DEFAULT_DS_USER, 22870, granted=False)
    found = {
        "bad key": config_problem(plex_settings(base_url, api_key="not-the-key-0000"), workcenters),
        "tenant": config_problem(plex_settings(base_url, customer_id="999999"), workcenters),
        "product": config_problem(plex_settings(base_url), workcenters),
        "grant": config_problem(
            plex_settings(base_url), lambda c: c.execute_datasource(22870, {"Workcenter_Key": 1})
        ),
    }
    assert [e.problem for e in found.values()] == ["bad_key", "tenant", "product", "datasource_grant"]
    assert len({str(e) for e in found.values()}) == 4, "each mistake must read differently"
    assert "customer id (PCN) 999999" in str(found["tenant"])
    assert "'production' API product" in str(found["product"])
    assert "not granted data source 22870" in str(found["grant"])
    for error in found.values():
        assert simulator.DEFAULT_DS_PASSWORD not in str(error)
        assert "not-the-key-0000" not in str(error) and simulator.DEFAULT_API_KEY not in str(error)


# -- row limit ------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["rowLimitExceeded", "rowLimitedExceeded", "limitExceeded"])
def test_row_limit_splitting_returns_every_row_exactly_once(flag: str) -> None:
    sim = SimPlex(seed=1, scale="medium", row_limit_flag=flag)
    now = sim.clock.now()
    window = TimeRange(now - timedelta(days=60), now)
    inputs = {"Start_Date": format_plex_datetime(window.begin), "End_Date": format_plex_datetime(window.end)}
    truth = canonical(sim.truth.datasource(19938, inputs))
    assert sum(truth.values()) > 1000, "the window must exceed the data source's row limit"
    with sim.serve() as server:

        async def scenario(client: PlexClient) -> tuple[list[dict[str, Any]], int]:
            rows = await client.execute_datasource_window(19938, {}, "Start_Date", "End_Date", window)
            return rows, client.stats.row_limit_splits

        rows, splits = with_client(plex_settings(server.base_url), scenario)
    assert splits >= 1
    assert canonical(rows) == truth, "rows lost or fetched twice across the split windows"


# -- check ----------------------------------------------------------------------------------------

ENDPOINTS = ["/mdm/v1/parts", "/production/v1/production-history/production-entries", "/scheduling/v1/jobs"]


def run_check(settings: PlexSettings) -> dict[str, CheckResult]:
    results = with_client(settings, lambda c: check_plex(c, ENDPOINTS, [18765, 22870]))
    return {r.name: r for r in results}


def test_check_is_all_ok_on_a_well_configured_tenant(base_url: str) -> None:
    results = run_check(plex_settings(base_url))
    assert all(r.ok for r in results.values()), [r for r in results.values() if not r.ok]
    assert len(results) == 6


def test_check_names_each_failure_with_its_fix(sim: SimPlex, base_url: str) -> None:
    sim.subscribe(simulator.DEFAULT_API_KEY, "scheduling", subscribed=False)
    sim.grant_datasource(simulator.DEFAULT_DS_USER, 18765, granted=False)
    results = run_check(plex_settings(base_url))
    failed = {name: r for name, r in results.items() if not r.ok}
    assert set(failed) == {"Connect product 'scheduling'", "data source 18765"}
    assert all(r.fix for r in failed.values())
    assert not run_check(plex_settings(base_url, api_key="wrong-key-000000"))["Connect key and tenant"].ok
    bad_ds = run_check(plex_settings(base_url, ds_password="wrong"))["data source 22870"]
    assert not bad_ds.ok and "ds_password" in bad_ds.fix
