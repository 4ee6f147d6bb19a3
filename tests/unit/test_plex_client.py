"""The Plex client against a scripted Plex (httpx2.MockTransport) on virtual time: headers, no paging, the
error policy, 401 diagnosis, retries, throttling, the circuit breaker and the Data Source API."""

from __future__ import annotations

import asyncio
import base64
import random
import re
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx2
import orjson
import pytest
from hypothesis import given
from hypothesis import settings as settings_h
from hypothesis import strategies as st

from plex_cdf.domains.resource import TimeRange
from plex_cdf.plex.client import PlexClient, PlexSettings
from plex_cdf.plex.errors import (
    PlexConfigError,
    PlexError,
    PlexNotOffered,
    PlexRequestError,
    PlexRowLimitError,
    PlexUnavailable,
)
from plex_cdf.plex.requester import absolute_url
from plex_cdf.plex.wire import Call, query
from tests.unit.test_plex_budget import VirtualTime, max_in_any_window

T = TypeVar("T")
KEY = "KEY-0123456789abcdef"
SECRET = "SECRET-xyz-123"
PASSWORD = "PW-very-secret"
Handler = Callable[[httpx2.Request], httpx2.Response]


def settings(**overrides: Any) -> PlexSettings:
    values: dict[str, Any] = {
        "connect_url": "https://connect.example",
        "datasource_url": "https://ds.example",
        "api_key": KEY,
        "api_secret": SECRET,
        "customer_id": "340884",
        "ds_username": "AcmeWs@plex.com",
        "ds_password": PASSWORD,
        "calls_per_minute": 1000,
        "max_retries": 4,
    }
    values.update(overrides)
    return PlexSettings(**values)


def run(
    handler: Handler,
    scenario: Callable[[PlexClient], Coroutine[Any, Any, T]],
    vt: VirtualTime | None = None,
    **overrides: Any,
) -> T:
    vt = vt or VirtualTime()

    async def go() -> T:
        client = PlexClient(
            settings(**overrides),
            transport=httpx2.MockTransport(handler),
            clock=vt.clock,
            sleep=vt.sleep,
            rng=random.Random(3),
        )
        async with client:
            return await scenario(client)

    return vt.run(go())


def json(status: int, body: object, headers: dict[str, str] | None = None) -> httpx2.Response:
    return httpx2.Response(status, content=orjson.dumps(body), headers=headers)


NOT_AUTHENTICATED = {
    "code": "REQUEST_NOT_AUTHENTICATED",
    "message": "The request could not be authenticated.",
}


def assert_masked(text: str) -> None:
    for secret in (KEY, SECRET, PASSWORD):
        assert secret not in text, f"a secret leaked into: {text}"


# -- Connect basics -------------------------------------------------------------------------------


def test_connect_calls_carry_key_secret_and_customer_id_and_repeat_list_params() -> None:
    seen: list[httpx2.Request] = []

    def plex(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return json(200, [{"id": "a"}])

    rows = run(plex, lambda c: c.get_list("/scheduling/v1/jobs", {"jobStatuses": ["Open", "Scheduled"]}))
    assert rows == [{"id": "a"}]
    request = seen[0]
    assert request.headers["X-Plex-Connect-Api-Key"] == KEY
    assert request.headers["X-Plex-Connect-Api-Secret"] == SECRET
    assert request.headers["X-Plex-Connect-Customer-Id"] == "340884"
    assert "X-Plex-Connect-Tenant-Id" not in request.headers
    assert request.url.path == "/scheduling/v1/jobs"
    assert request.url.params.get_list("jobStatuses") == ["Open", "Scheduled"]


def test_tenant_id_is_sent_when_configured_instead_of_customer_id() -> None:
    seen: list[httpx2.Request] = []

    def plex(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return json(200, [])

    run(plex, lambda c: c.get_list("/mdm/v1/parts"), customer_id=None, tenant_id="t-uuid", api_secret=None)
    assert seen[0].headers["X-Plex-Connect-Tenant-Id"] == "t-uuid"
    assert "X-Plex-Connect-Customer-Id" not in seen[0].headers
    assert "X-Plex-Connect-Api-Secret" not in seen[0].headers


def test_a_base_url_with_a_path_prefix_is_kept() -> None:
    seen: list[str] = []

    def plex(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.url.path)
        return json(200, [])

    run(plex, lambda c: c.get_list("/mdm/v1/parts"), connect_url="http://127.0.0.1:9/sim")
    assert seen == ["/sim/mdm/v1/parts"]


_PARAM = st.text(st.characters(codec="utf-8"), max_size=8)
# One client per base URL, built once: a client loads the CA bundle when built (tens of ms), and TLS plays
# no part in building a URL.
_CLIENTS = {
    base: httpx2.AsyncClient(base_url=base, verify=False)
    for base in ("https://connect.example", "https://connect.example/", "http://127.0.0.1:9/sim/")
}


@settings_h(max_examples=300, deadline=None)
@given(
    base=st.sampled_from(sorted(_CLIENTS)),
    # a path of segments (as Plex's are: "//host" would be another host's, to httpx2 as to a browser)
    path=st.lists(
        st.text(st.characters(codec="utf-8", exclude_characters="/#"), min_size=1, max_size=6), max_size=3
    ).map(lambda segments: "/" + "/".join(segments)),
    params=st.none() | st.dictionaries(_PARAM, _PARAM | st.lists(_PARAM, max_size=3), max_size=3),
)
def test_the_url_built_once_is_the_url_httpx2_builds_from_base_url_path_and_params(
    base: str, path: str, params: dict[str, Any] | None
) -> None:
    http = _CLIENTS[base]
    call = Call("connect", "GET", path, params)
    assert _url_or_refusal(lambda: absolute_url(http, call)) == _url_or_refusal(
        lambda: http.build_request("GET", path, params=query(params)).url
    )


def _url_or_refusal(build: Callable[[], httpx2.URL]) -> httpx2.URL | str:
    """The URL, or the name of the error httpx2 refuses it with (a control character in a path)."""
    try:
        return build()
    except httpx2.InvalidURL as err:
        return type(err).__name__


@pytest.mark.parametrize("name", ["limit", "offset", "page", "pageSize"])
def test_paging_params_are_refused_because_plex_ignores_them(name: str) -> None:
    with pytest.raises(ValueError, match=f"ignores '{name}'"):
        run(lambda r: json(200, []), lambda c: c.get_list("/mdm/v1/parts", {name: "1000"}))


def test_a_list_404_means_no_data_and_an_object_404_means_none() -> None:
    def plex(request: httpx2.Request) -> httpx2.Response:
        return json(404, {"code": "RESOURCE_NOT_FOUND", "message": "Not found"})

    async def scenario(c: PlexClient) -> tuple[object, object, int]:
        return await c.get_list("/x/v1/y"), await c.get_object("/x/v1/y/1"), c.stats.not_found_as_empty

    assert run(plex, scenario) == ([], None, 1)


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        (httpx2.Response(200, content=b""), "an empty body (200)"),
        (httpx2.Response(200, content=b"  \n"), "an empty body (200)"),
        (json(200, {"data": [{"id": 1}]}), "a JSON object where the documented list"),
        (json(200, [1, 2]), "a JSON list holding something other than objects"),
    ],
)
def test_a_200_that_is_not_the_documented_list_is_a_failed_call_after_retries_never_no_data(
    answer: httpx2.Response, named: str
) -> None:
    calls: list[str] = []

    def plex(request: httpx2.Request) -> httpx2.Response:
        calls.append(request.url.path)
        return answer

    with pytest.raises(PlexError, match=re.escape(named)) as caught:
        run(plex, lambda c: c.get_list("/production/v1/production-history/production-entries"))
    assert len(calls) == 3  # asked again before giving up
    assert "production-entries" in str(caught.value)
    with pytest.raises(PlexError, match=re.escape(named)):
        run(plex, lambda c: c.post_list("/platform/identity-mappings/v1/x", {"a": 1}))


def test_a_bad_answer_followed_by_the_list_gives_the_list() -> None:
    answers = iter([httpx2.Response(200, content=b""), json(200, {"id": 1}), json(200, [{"id": 1}])])
    rows = run(lambda r: next(answers), lambda c: c.get_list("/mdm/v1/parts"))
    assert rows == [{"id": 1}]


def test_a_hundred_thousand_row_body_arrives_whole() -> None:
    body = orjson.dumps([{"id": i, "jobNumber": f"J{i:06d}"} for i in range(100_000)])
    rows = run(lambda r: httpx2.Response(200, content=body), lambda c: c.get_list("/scheduling/v1/jobs"))
    assert len(rows) == 100_000 and rows[-1] == {"id": 99_999, "jobNumber": "J099999"}


# -- 401 diagnosis and other configuration errors -------------------------------------------------


def auth_world(key_ok: bool, tenant_ok: bool, subscribed: set[str]) -> Handler:
    """A Plex that answers the same 401 for all three reasons, like the real one."""

    def plex(request: httpx2.Request) -> httpx2.Response:
        has_tenant = "X-Plex-Connect-Customer-Id" in request.headers
        namespace = request.url.path.strip("/").split("/")[0]
        if not key_ok or (has_tenant and not tenant_ok) or namespace not in subscribed | {"mdm"}:
            return json(401, NOT_AUTHENTICATED)
        return json(200, [{"id": "t1", "code": "acme"}])

    return plex


@pytest.mark.parametrize(
    ("key_ok", "tenant_ok", "problem", "words"),
    [
        (False, True, "bad_key", ["rejected the Connect API key", "ending '…cdef'", "expire"]),
        (True, False, "tenant", ["no access to customer id (PCN) 340884", "customer_id"]),
        (True, True, "product", ["not subscribed to the 'production' API product", "developer portal"]),
    ],
)
def test_each_401_cause_gets_its_own_one_line_diagnostic(
    key_ok: bool, tenant_ok: bool, problem: str, words: list[str]
) -> None:
    plex = auth_world(key_ok, tenant_ok, subscribed=set())
    with pytest.raises(PlexConfigError) as caught:
        run(plex, lambda c: c.get_list("/production/v1/production-definitions/workcenters"))
    message = str(caught.value)
    assert caught.value.problem == problem
    for word in words:
        assert word in message, f"the diagnostic should say {word!r}: {message}"
    assert "\n" not in message
    assert_masked(message)


def test_a_diagnosis_is_made_once_per_product_namespace() -> None:
    calls: list[str] = []
    inner = auth_world(True, True, subscribed=set())

    def plex(request: httpx2.Request) -> httpx2.Response:
        calls.append(request.url.path)
        return inner(request)

    async def scenario(c: PlexClient) -> None:
        for _ in range(3):
            with pytest.raises(PlexConfigError):
                await c.get_list("/production/v1/production-history/production-entries")

    run(plex, scenario)
    assert calls.count("/mdm/v1/tenants") == 2, "the key and the tenant are checked once, not per call"


def test_a_403_fails_fast_naming_path_and_tenant() -> None:
    calls = 0

    def plex(request: httpx2.Request) -> httpx2.Response:
        nonlocal calls
        calls += 1
        return json(403, {"code": "FORBIDDEN", "message": "Access denied"})

    with pytest.raises(PlexConfigError, match=r"forbids /mdm/v1/parts .*\(PCN\) 340884 \(403: Access denied"):
        run(plex, lambda c: c.get_list("/mdm/v1/parts"))
    assert calls == 1, "a 403 must not be retried"


def test_a_400_names_the_request_and_plex_message_with_secrets_masked() -> None:
    body = {
        "code": "REQUEST_VALIDATION_FAILED",
        "message": "Validation failed",
        "errors": [
            {
                "code": "ARGUMENT_INVALID",
                "message": "bad date",
                "metadata": [{"field": "beginDate", "providedValues": ["2024-01-01"], "validValues": []}],
            }
        ],
    }
    path = "/production/v1/production-history/production-entries"
    with pytest.raises(PlexRequestError) as caught:
        run(lambda r: json(400, body), lambda c: c.get_list(path, {"beginDate": "2024-01-01", "note": KEY}))
    message = str(caught.value)
    assert path in message and "beginDate=2024-01-01" in message
    assert (
        "REQUEST_VALIDATION_FAILED" in message
        and "bad date" in message
        and "beginDate=['2024-01-01']" in message
    )
    assert caught.value.status == 400
    assert_masked(message)


@pytest.mark.parametrize("field", [None, "locationId"])
def test_a_400_that_faults_nothing_we_sent_means_the_tenant_does_not_offer_it(field: str | None) -> None:
    errors = [{"code": "X", "message": "n/a", "metadata": [{"field": field, "providedValues": []}]}]
    body = {"code": "REQUEST_VALIDATION_FAILED", "message": "The request is invalid.", "errors": errors}
    path = "/inventory/v1/inventory-history/container-location-moves"
    with pytest.raises(PlexNotOffered, match="does not offer it") as caught:
        run(lambda r: json(400, body), lambda c: c.get_list(path, {"beginDate": "2024-01-01T00:00:00Z"}))
    assert path in str(caught.value) and "The request is invalid." in str(caught.value)


def test_a_400_for_a_missing_required_parameter_is_a_request_error() -> None:
    errors = [{"code": "ARGUMENT_REQUIRED", "message": "required", "metadata": [{"field": "endDate"}]}]
    body = {"code": "REQUEST_VALIDATION_FAILED", "message": "The request is invalid.", "errors": errors}
    path = "/production/v1/production-history/production-entries"
    with pytest.raises(PlexRequestError, match="ARGUMENT_REQUIRED required endDate"):
        run(lambda r: json(400, body), lambda c: c.get_list(path, {"beginDate": "2024-01-01T00:00:00Z"}))


# -- retries, throttling, breaker ---------------------------------------------------------------


def flaky(failures: list[httpx2.Response | Exception], then: object) -> Handler:
    script = list(failures)

    def plex(request: httpx2.Request) -> httpx2.Response:
        if script:
            step = script.pop(0)
            if isinstance(step, Exception):
                raise step
            return step
        return json(200, then)

    return plex


def test_5xx_and_connection_errors_are_retried_with_jittered_backoff() -> None:
    vt = VirtualTime()
    failures: list[httpx2.Response | Exception] = [
        json(500, {"code": "REQUEST_PROCESSING_ERROR", "message": "boom"}),
        httpx2.ReadError("connection reset by peer"),
        json(503, {}),
    ]

    async def scenario(c: PlexClient) -> tuple[list[dict[str, Any]], int, int]:
        return await c.get_list("/mdm/v1/parts"), c.stats.retries, c.stats.status_5xx

    rows, retries, five_xx = run(flaky(failures, [{"id": 1}]), scenario, vt)
    assert rows == [{"id": 1}]
    assert (retries, five_xx) == (3, 2)
    for attempt, slept in enumerate(vt.slept):
        step = 2.0**attempt
        assert step / 2 <= slept <= step, f"retry {attempt} waited {slept} s"


def test_429_waits_as_long_as_retry_after_says_and_pauses_the_whole_budget() -> None:
    vt = VirtualTime()
    throttled = json(429, {"message": "Rate limit is exceeded."}, {"Retry-After": "20"})

    async def scenario(c: PlexClient) -> float:
        await c.get_list("/mdm/v1/parts")
        return vt.now

    finished_at = run(flaky([throttled], []), scenario, vt)
    assert 20.0 <= finished_at <= 22.0, f"the retry came after {finished_at} s instead of ~20 s"


def test_429_without_retry_after_uses_the_message_hint_or_backoff() -> None:
    vt = VirtualTime()
    hinted = json(429, {"message": "Rate limit is exceeded. Try again in 9 seconds."})
    bare = json(429, {})

    async def scenario(c: PlexClient) -> tuple[float, int]:
        await c.get_list("/mdm/v1/parts")
        return vt.now, c.stats.status_429

    finished_at, throttles = run(flaky([hinted, bare], []), scenario, vt)
    assert throttles == 2
    assert 9.0 + 1.0 <= finished_at <= 9.0 + 0.9 + 2.0, f"finished after {finished_at} s"


def test_exhausted_retries_raise_unavailable_with_the_last_problem_masked() -> None:
    def plex(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ReadTimeout(f"timed out reading with key {KEY}")

    with pytest.raises(PlexUnavailable, match=r"failed 5 times, last: ReadTimeout") as caught:
        run(plex, lambda c: c.get_list("/scheduling/v1/jobs"), breaker_threshold=100)
    assert_masked(str(caught.value))


def test_the_circuit_opens_after_repeated_failures_and_half_opens_later() -> None:
    vt = VirtualTime()
    calls = 0
    healthy = False

    def plex(request: httpx2.Request) -> httpx2.Response:
        nonlocal calls
        calls += 1
        return json(200, [{"id": 1}]) if healthy else json(502, {})

    async def scenario(c: PlexClient) -> list[dict[str, Any]]:
        nonlocal healthy
        with pytest.raises(PlexUnavailable):
            await c.get_list("/mdm/v1/parts")
        sent = calls
        with pytest.raises(PlexUnavailable, match="circuit open for connect:/mdm/v1/parts"):
            await c.get_list("/mdm/v1/parts")
        assert calls == sent, "an open circuit must not call Plex"
        assert c.stats.circuit_opens == 1
        healthy = True
        await vt.sleep(31.0)
        return await c.get_list("/mdm/v1/parts")

    assert run(plex, scenario, vt, breaker_threshold=3, breaker_cooldown_s=30.0) == [{"id": 1}]


def test_eight_domains_share_one_budget_that_is_never_exceeded_and_nearly_used() -> None:
    vt = VirtualTime()
    arrivals: list[float] = []

    def plex(request: httpx2.Request) -> httpx2.Response:
        arrivals.append(vt.now)
        return json(200, [])

    async def scenario(c: PlexClient) -> None:
        async def domain(name: str) -> None:
            for _ in range(25):
                await c.get_list(f"/{name}/v1/things")

        await asyncio.gather(*(domain(f"d{i}") for i in range(8)))

    run(plex, scenario, vt, calls_per_minute=40, window_seconds=2.0)
    assert len(arrivals) == 200
    assert max_in_any_window(arrivals, 2.0) <= 40, "Plex would have counted more than the budget"
    windows = (max(arrivals) - min(arrivals)) / 2.0
    assert len(arrivals) >= 0.9 * 40 * windows, f"{len(arrivals)} calls in {windows} windows"


# -- Data Source API ------------------------------------------------------------------------------


def test_execute_posts_flat_inputs_with_basic_auth_and_plex_dates() -> None:
    seen: list[httpx2.Request] = []

    def plex(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return json(200, {"outputs": {}, "rows": [{"A": 1}], "transactionNo": "1", "rowLimitExceeded": False})

    start = datetime(2024, 3, 1, 6, 30, tzinfo=UTC)
    rows = run(plex, lambda c: c.execute_datasource(18765, {"Start_Date": start, "Part_Key": 5}))
    assert rows == [{"A": 1}]
    request = seen[0]
    assert request.method == "POST" and request.url.path == "/api/datasources/18765/execute"
    assert request.url.params["format"] == "2"
    assert orjson.loads(request.content) == {"Start_Date": "2024-03-01T06:30:00Z", "Part_Key": 5}
    expected = base64.b64encode(f"AcmeWs@plex.com:{PASSWORD}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert "X-Plex-Connect-Api-Key" not in request.headers, "the Connect key must not go to the DS host"


def test_missing_ds_credentials_fail_before_any_call() -> None:
    def plex(request: httpx2.Request) -> httpx2.Response:
        raise AssertionError("no call expected")

    with pytest.raises(PlexConfigError, match="needs Data Source API credentials") as caught:
        run(plex, lambda c: c.execute_datasource(1, {}), ds_password=None)
    assert caught.value.problem == "ds_credentials"


@pytest.mark.parametrize(
    ("status", "code", "error", "words"),
    [
        (401, None, PlexConfigError, "rejected web-service user 'AcmeWs@plex.com'"),
        (403, "DATA_SOURCE_ACCESS_DENIED", PlexConfigError, "not granted data source 22870"),
        (403, "DATA_SOURCE_API_ACCESS_DENIED", PlexConfigError, "enable Data Source API access"),
        (404, "DATA_SOURCE_NOT_FOUND", PlexNotOffered, "data source 22870 does not exist"),
        (
            400,
            "DATA_SOURCE_INPUT_REQUIRED",
            PlexRequestError,
            "data source 22870 with inputs Workcenter_Key=7",
        ),
    ],
)
def test_data_source_errors_map_to_their_own_diagnostic(
    status: int, code: str | None, error: type[Exception], words: str
) -> None:
    body = {"errors": [{"code": code, "message": "Plex says no"}], "transactionNo": "t"} if code else {}
    with pytest.raises(error, match=words) as caught:
        run(lambda r: json(status, body), lambda c: c.execute_datasource(22870, {"Workcenter_Key": 7}))
    assert_masked(str(caught.value))


def test_a_truncated_answer_is_an_error_not_silent_data_loss() -> None:
    body = {"rows": [{"A": 1}], "rowLimitedExceeded": True}
    with pytest.raises(PlexRowLimitError, match="hit its row limit \\(1 rows"):
        run(lambda r: json(200, body), lambda c: c.execute_datasource(4142, {}))


def windowed_source(times: list[datetime], row_limit: int, shape: str) -> Handler:
    """A data source over [Start_Date, End_Date) that truncates at `row_limit` rows."""

    def plex(request: httpx2.Request) -> httpx2.Response:
        inputs = orjson.loads(request.content)
        begin = datetime.fromisoformat(inputs["Start_Date"])
        end = datetime.fromisoformat(inputs["End_Date"])
        rows = [{"At": t.isoformat(), "N": i} for i, t in enumerate(times) if begin <= t < end]
        limited = len(rows) > row_limit
        rows = rows[:row_limit]
        if shape == "tables":
            table = {
                "columns": ["At", "N"],
                "rows": [[r["At"], r["N"]] for r in rows],
                "limitExceeded": limited,
            }
            return json(200, {"outputs": {}, "tables": [table]})
        return json(200, {"outputs": {}, "rows": rows, "rowLimitExceeded": limited})

    return plex


@pytest.mark.parametrize("shape", ["rows", "tables"])
def test_window_splitting_returns_every_row_exactly_once(shape: str) -> None:
    begin = datetime(2024, 1, 1, tzinfo=UTC)
    rng = random.Random(5)
    times = sorted(begin + timedelta(seconds=rng.randrange(86_400)) for _ in range(2_500))
    window = TimeRange(begin, begin + timedelta(days=1))

    async def scenario(c: PlexClient) -> tuple[list[dict[str, Any]], int]:
        rows = await c.execute_datasource_window(18765, {"Part_Key": 1}, "Start_Date", "End_Date", window)
        return rows, c.stats.row_limit_splits

    rows, splits = run(windowed_source(times, 1_000, shape), scenario)
    assert sorted(r["N"] for r in rows) == list(range(2_500)), "a row was lost or fetched twice"
    assert [r["N"] for r in rows] == sorted(r["N"] for r in rows), "rows come back in window order"
    assert splits >= 2


def test_a_second_that_alone_exceeds_the_row_limit_is_reported() -> None:
    at = datetime(2024, 1, 1, tzinfo=UTC)
    plex = windowed_source([at] * 5, 3, "rows")
    window = TimeRange(at, at + timedelta(seconds=3))
    with pytest.raises(PlexRowLimitError, match="cannot be split"):
        run(plex, lambda c: c.execute_datasource_window(1, {}, "Start_Date", "End_Date", window))


# -- settings ---------------------------------------------------------------------------------------


def test_settings_hide_secrets_and_refuse_nonsense_with_the_culprit() -> None:
    text = repr(settings())
    assert_masked(text)
    with pytest.raises(ValueError, match="choose one tenant selector"):
        settings(tenant_id="t")
    with pytest.raises(ValueError, match="connect_url is not an http"):
        settings(connect_url="connect.plex.com")
    with pytest.raises(ValueError, match="api_key is empty"):
        settings(api_key=" ")
    with pytest.raises(ValueError, match="calls_per_minute must be at least 1, got 0"):
        settings(calls_per_minute=0)
    with pytest.raises(ValueError, match="max_retries must be at least 0, got -1"):
        settings(max_retries=-1)
    with pytest.raises(ValueError, match="window_seconds must be positive"):
        settings(window_seconds=0)


def test_stats_count_calls_per_endpoint_and_budget_use() -> None:
    vt = VirtualTime()

    async def scenario(c: PlexClient) -> dict[str, object]:
        for job in ("0f8fad5b-d9cb-469f-a165-70867728950e", "7c9e6679-7425-40de-944b-e07fc1f90ae7"):
            await c.get_list(f"/scheduling/v1/jobs/{job}/operations")
        return c.stats.summary()

    summary = run(lambda r: json(200, []), scenario, vt, calls_per_minute=4)
    assert summary["calls"] == 2 and summary["throttled_waits"] == 0
    assert summary["per_endpoint"] == {"connect:/scheduling/v1/jobs/{id}/operations": 2}
    assert summary["budget_use"] == 0.5


@pytest.mark.parametrize(
    "refusal",
    [
        httpx2.ConnectError("[Errno 111] Connection refused"),
        httpx2.ConnectError("[Errno -2] Name or service not known"),
    ],
)
def test_a_host_that_refuses_or_does_not_resolve_fails_at_once_and_the_next_calls_do_not_try(
    refusal: Exception,
) -> None:
    vt = VirtualTime()
    attempts: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        attempts.append(request.url.path)
        raise refusal

    async def scenario(c: PlexClient) -> list[str]:
        messages = []
        for path in ("/mdm/v1/parts", "/mdm/v1/suppliers", "/scheduling/v1/jobs"):
            with pytest.raises(PlexUnavailable) as error:
                await c.get_list(path)
            messages.append(str(error.value))
        return messages

    messages = run(handler, scenario, vt)
    assert attempts == ["/mdm/v1/parts"], f"an unreachable host was tried {len(attempts)} times: {attempts}"
    assert vt.slept == [], f"an unreachable host was waited for: {vt.slept}"
    for message in messages:
        assert "cannot reach Plex at https://connect.example" in message and "fix:" in message, message


def test_an_unreachable_host_is_tried_again_after_the_cooldown() -> None:
    vt = VirtualTime()
    answers: list[httpx2.Response | Exception] = [httpx2.ConnectError("[Errno 111] Connection refused")]

    async def scenario(c: PlexClient) -> list[dict[str, Any]]:
        with pytest.raises(PlexUnavailable):
            await c.get_list("/mdm/v1/parts")
        await vt.sleep(c.settings.breaker_cooldown_s + 1)
        return await c.get_list("/mdm/v1/parts")

    assert run(flaky(answers, [{"id": 1}]), scenario, vt) == [{"id": 1}]


@pytest.mark.parametrize(("key_ok", "tenant_ok"), [(False, True), (True, False)])
def test_a_refused_key_or_tenant_is_kept_for_readiness_until_a_good_answer(
    key_ok: bool, tenant_ok: bool
) -> None:
    state = {"refusing": True}
    refusing = auth_world(key_ok, tenant_ok, subscribed=set())
    good = auth_world(True, True, subscribed=set())

    def plex(request: httpx2.Request) -> httpx2.Response:
        return refusing(request) if state["refusing"] else good(request)

    async def scenario(c: PlexClient) -> tuple[str | None, str | None]:
        with pytest.raises(PlexConfigError):
            await c.get_list("/mdm/v1/parts")
        while_refused = c.key_problem
        state["refusing"] = False
        await c.get_list("/mdm/v1/parts")
        return while_refused, c.key_problem

    while_refused, after = run(plex, scenario)
    assert while_refused is not None and "fix" in while_refused, while_refused
    assert_masked(while_refused)
    assert after is None, "readiness stays false after Plex accepted the key again"


def test_an_unsubscribed_product_does_not_make_the_key_look_refused() -> None:
    async def scenario(c: PlexClient) -> str | None:
        with pytest.raises(PlexConfigError):
            await c.get_list("/production/v1/production-definitions/workcenters")
        return c.key_problem

    assert run(auth_world(True, True, subscribed=set()), scenario) is None
