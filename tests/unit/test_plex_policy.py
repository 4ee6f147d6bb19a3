"""The error policy table, retry delays and Plex's wait hints."""

from __future__ import annotations

import random

import httpx2
import pytest

from plex_cdf.plex.breaker import CircuitBreakers, endpoint_of
from plex_cdf.plex.policy import (
    CONNECT_STATUS,
    DATASOURCE_STATUS,
    Action,
    action_for,
    backoff_s,
    retry_after_s,
)


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (200, Action.OK),
        (400, Action.INVALID),
        (401, Action.AUTH),
        (403, Action.FORBIDDEN),
        (404, Action.NO_DATA),
        (409, Action.INVALID),
        (429, Action.THROTTLED),
        (500, Action.RETRY),
        (502, Action.RETRY),
        (503, Action.RETRY),
        (504, Action.RETRY),
    ],
)
def test_connect_status_to_action(status: int, action: Action) -> None:
    assert action_for(status, CONNECT_STATUS) is action


@pytest.mark.parametrize(
    ("status", "code", "action"),
    [
        (403, "DATA_SOURCE_ACCESS_DENIED", Action.GRANT),
        (403, "CUSTOMER_ACCESS_DENIED", Action.FORBIDDEN),
        (401, None, Action.AUTH),
        (404, "DATA_SOURCE_NOT_FOUND", Action.NOT_OFFERED),
        (400, "DATA_SOURCE_NOT_FOUND", Action.NOT_OFFERED),
        (400, "DATA_SOURCE_INPUT_REQUIRED", Action.INVALID),
        (500, "REQUEST_PROCESSING_ERROR", Action.RETRY),
        (200, "DATA_SOURCE_ACCESS_DENIED", Action.OK),
    ],
)
def test_data_source_codes_override_the_status(status: int, code: str | None, action: Action) -> None:
    assert action_for(status, DATASOURCE_STATUS, code) is action


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    rng = random.Random(7)
    delays = [backoff_s(attempt, 1.0, 60.0, rng) for attempt in range(10)]
    for attempt, delay in enumerate(delays):
        step = min(60.0, 2.0**attempt)
        assert step / 2 <= delay <= step, f"attempt {attempt} waited {delay} s"
    assert len({round(d, 6) for d in delays}) == len(delays), "jitter must spread retries"


def test_retry_after_header_in_seconds_wins() -> None:
    headers = httpx2.Headers({"Retry-After": "7"})
    assert retry_after_s(headers, "Try again in 30 seconds.") == 7.0


def test_retry_after_as_an_http_date_in_the_past_means_now() -> None:
    headers = httpx2.Headers({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    assert retry_after_s(headers, None) == 0.0


def test_without_header_the_message_hint_is_used_and_else_none() -> None:
    assert retry_after_s(httpx2.Headers(), "Rate limit is exceeded. Try again in 12 seconds.") == 12.0
    assert retry_after_s(httpx2.Headers({"Retry-After": "soon"}), "busy") is None


def test_per_parent_paths_share_one_endpoint() -> None:
    uuid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert endpoint_of(f"/scheduling/v1/jobs/{uuid}/operations") == "/scheduling/v1/jobs/{id}/operations"
    assert endpoint_of("/api/datasources/18765/execute") == "/api/datasources/{id}/execute"
    assert endpoint_of("/mdm/v1/parts") == "/mdm/v1/parts"


def test_breaker_opens_after_the_threshold_and_half_opens_for_one_probe() -> None:
    now = [0.0]
    breakers = CircuitBreakers(threshold=3, cooldown_s=30.0, clock=lambda: now[0])
    assert [breakers.failed("e") for _ in range(3)] == [False, False, True]
    assert breakers.blocked_for("e") == pytest.approx(30.0)
    now[0] = 31.0
    assert breakers.blocked_for("e") is None, "after the cooldown one probe may go"
    assert breakers.blocked_for("e") == 0.0, "a second caller waits for the probe"
    assert breakers.failed("e") is True, "a failed probe reopens the circuit"
    now[0] = 62.0
    assert breakers.blocked_for("e") is None
    breakers.succeeded("e")
    assert breakers.blocked_for("e") is None and breakers.open_endpoints() == []


def test_success_resets_the_failure_count() -> None:
    breakers = CircuitBreakers(threshold=2, cooldown_s=1.0, clock=lambda: 0.0)
    breakers.failed("e")
    breakers.succeeded("e")
    assert breakers.failed("e") is False, "failures must be consecutive to open the circuit"


def test_an_inconclusive_probe_lets_the_next_caller_probe() -> None:
    now = [0.0]
    breakers = CircuitBreakers(threshold=1, cooldown_s=5.0, clock=lambda: now[0])
    breakers.failed("e")
    now[0] = 6.0
    assert breakers.blocked_for("e") is None
    breakers.inconclusive("e")
    assert breakers.blocked_for("e") is None, "a 429 or a cancelled probe must not wedge the circuit"
