"""Liveness and readiness beside the metrics: what an orchestrator's probes get."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from plex_cdf.health import Health
from plex_cdf.observe import Metrics, start_metrics_server


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def served() -> Iterator[tuple[Metrics, str]]:
    metrics = Metrics()
    server = start_metrics_server("127.0.0.1", 0, metrics.registry, metrics.health)
    try:
        yield metrics, f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()


def test_readiness_is_false_until_the_service_opened_then_true(served: tuple[Metrics, str]) -> None:
    metrics, url = served

    before = httpx2.get(f"{url}/readyz", timeout=5)
    metrics.health.opened()
    after = httpx2.get(f"{url}/readyz", timeout=5)

    assert before.status_code == 503 and "starting" in before.text
    assert after.status_code == 200, after.text


def test_readiness_is_false_while_a_check_fails_and_names_it(served: tuple[Metrics, str]) -> None:
    metrics, url = served
    problem: list[str | None] = ["the token endpoint refused the client credentials"]
    metrics.health.add_check("CDF token", lambda: problem[0])
    metrics.health.opened()

    failing = httpx2.get(f"{url}/readyz", timeout=5)
    problem[0] = None
    recovered = httpx2.get(f"{url}/readyz", timeout=5)

    assert failing.status_code == 503
    assert "CDF token: the token endpoint refused" in failing.text
    assert recovered.status_code == 200


def test_liveness_fails_when_the_loop_stops_beating() -> None:
    clock = Clock()
    health = Health(stale_after_s=60, clock=clock)
    health.beat()
    clock.now += 59
    assert health.live()[0]

    clock.now += 2

    alive, why = health.live()
    assert not alive and "has not turned for 61 s" in why


def test_the_metrics_stay_on_every_other_path(served: tuple[Metrics, str]) -> None:
    metrics, url = served
    metrics.records_fetched.labels("1", "parts").inc()

    assert httpx2.get(f"{url}/healthz", timeout=5).status_code == 200
    assert "plex_cdf_records_fetched_total" in httpx2.get(f"{url}/metrics", timeout=5).text
