"""The simulated Plex's rate limit and injected faults, which the product's retry policy is tested against."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx2
import pytest

from plex_cdf.sim.plex import SimPlex
from plex_cdf.sim.plex.server import Traffic

START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
KEY = {"X-Plex-Connect-Api-Key": "sim-key"}
MOVES = "/inventory/v1/inventory-history/container-location-moves"
WINDOW = {"beginDate": "2026-11-20T00:00Z", "endDate": "2026-11-28T00:00Z"}


@pytest.mark.parametrize("retry_after", [True, False])
def test_the_request_past_the_budget_is_429_with_or_without_retry_after(retry_after: bool) -> None:
    sim = SimPlex(now=START, rate_limit_per_minute=5, rate_limit_window_s=30.0, retry_after=retry_after)
    with sim.serve() as server, httpx2.Client(base_url=server.base_url, headers=KEY) as plex:
        answers = [plex.get("/mdm/v1/tenants") for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429], (
        "the 6th call within the window was not throttled"
    )
    throttled = answers[-1]
    assert throttled.json()["code"] == "TOO_MANY_REQUESTS"
    assert "Try again in" in throttled.json()["message"]
    if retry_after:
        assert 1 <= int(throttled.headers["Retry-After"]) <= 30
    else:
        assert "Retry-After" not in throttled.headers


def test_the_budget_is_per_key() -> None:
    sim = SimPlex(now=START, rate_limit_per_minute=2)
    sim.add_key("second", tenants=[sim.truth.pcn])
    with sim.serve() as server, httpx2.Client(base_url=server.base_url) as plex:
        first = [plex.get("/mdm/v1/tenants", headers=KEY).status_code for _ in range(3)]
        other = plex.get("/mdm/v1/tenants", headers={"X-Plex-Connect-Api-Key": "second"}).status_code
    assert first == [200, 200, 429]
    assert other == 200, "another key's budget was spent by the first key"


def test_the_window_rolls_so_a_waiting_key_gets_back_in() -> None:
    wall = [100.0]
    traffic = Traffic(monotonic=lambda: wall[0])
    assert traffic.admit("key:k", limit=2, window_s=60.0) is None
    wall[0] += 30.0
    assert traffic.admit("key:k", limit=2, window_s=60.0) is None
    assert traffic.admit("key:k", limit=2, window_s=60.0) == pytest.approx(30.0), (
        "wait is until the oldest leaves"
    )
    wall[0] += 30.0
    assert traffic.admit("key:k", limit=2, window_s=60.0) is None, (
        "the oldest call left the window but still counted"
    )


def test_request_counts_and_log_record_every_call_by_path_template() -> None:
    sim = SimPlex(now=START)
    with sim.serve() as server, httpx2.Client(base_url=server.base_url, headers=KEY) as plex:
        job_id = plex.get("/scheduling/v1/jobs").json()[0]["id"]
        plex.get(f"/scheduling/v1/jobs/{job_id}")
        plex.get(f"/scheduling/v1/jobs/{job_id}/operations")
        plex.get("/scheduling/v1/jobs", params={"limit": 10})
    counts = sim.request_counts()
    assert counts["GET /scheduling/v1/jobs"] == 2
    assert counts["GET /scheduling/v1/jobs/{id}"] == 1
    assert counts["GET /scheduling/v1/jobs/{id}/operations"] == 1
    log = sim.request_log()
    assert [entry[4] for entry in log] == [200] * 4
    assert log[-1][2:4] == ("/scheduling/v1/jobs", "limit=10")


def test_injected_5xx_and_429_are_plex_shaped_and_switchable() -> None:
    sim = SimPlex(now=START, fault_5xx=1.0)
    with sim.serve() as server, httpx2.Client(base_url=server.base_url, headers=KEY) as plex:
        failed = plex.get("/mdm/v1/parts")
        sim.set_faults(fault_5xx=0.0, fault_429=1.0)
        throttled = plex.get("/mdm/v1/parts")
        sim.set_faults(fault_429=0.0)
        healthy = plex.get("/mdm/v1/parts")
    assert failed.status_code == 500 and failed.json()["code"] == "REQUEST_PROCESSING_ERROR"
    assert throttled.status_code == 429 and "Retry-After" in throttled.headers
    assert healthy.status_code == 200


def test_moves_switch_reproduces_the_400_some_tenants_give() -> None:
    sim = SimPlex(now=START)
    with sim.serve() as server, httpx2.Client(base_url=server.base_url, headers=KEY) as plex:
        normal = plex.get(MOVES, params=WINDOW)
        sim.set_faults(moves_400=True)
        refused = plex.get(MOVES, params=WINDOW)
        adjustments = plex.get("/inventory/v1/inventory-history/container-adjustments", params=WINDOW)
    assert normal.status_code == 200 and normal.json(), "no container moves in a week of small-plant history"
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["metadata"] == [], "no parameter is at fault: the tenant refuses"
    assert adjustments.status_code == 200, "the moves switch must not touch other routes"


def test_latency_is_added_to_every_answer() -> None:
    sim = SimPlex(now=START, latency_ms=150)
    with sim.serve() as server, httpx2.Client(base_url=server.base_url, headers=KEY) as plex:
        answer = plex.get("/mdm/v1/tenants")
    assert answer.status_code == 200
    assert answer.elapsed.total_seconds() >= 0.15, f"answer came after {answer.elapsed}, not ≥ 150 ms"


@pytest.mark.parametrize(
    ("switch", "culprit"),
    [
        ({"fault_5xx": 1.5}, "fault_5xx"),
        ({"fault_429": -0.1}, "fault_429"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"row_limit_flag": "rowsExceeded"}, "row_limit_flag"),
        ({"rate_limit_per_minute": 0}, "rate_limit"),
        ({"scale": "huge"}, "huge"),
        ({"plant_zone": "Mars/Olympus"}, "plant_zone"),
    ],
)
def test_bad_switches_are_refused_with_the_culprit_named(switch: dict[str, object], culprit: str) -> None:
    with pytest.raises(ValueError, match=culprit):
        SimPlex(now=START, **switch)  # type: ignore[arg-type]
