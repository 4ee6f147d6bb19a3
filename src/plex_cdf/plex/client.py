"""One async client per Plex tenant: Connect REST and the Data Source API behind one call budget, one error
policy, per-endpoint circuit breakers and masked one-line errors. Satisfies `plex_cdf.ports.PlexSource`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Literal

import httpx
import orjson

from plex_cdf.domains.resource import TimeRange
from plex_cdf.plex import diagnostics
from plex_cdf.plex.breaker import CircuitBreakers, endpoint_of
from plex_cdf.plex.budget import CallBudget, Clock, Sleep
from plex_cdf.plex.datasource import DataSourceAnswer, UnexpectedShape, read_answer, split_window
from plex_cdf.plex.dates import format_plex_datetime
from plex_cdf.plex.errors import (
    Masker,
    PlexConfigError,
    PlexError,
    PlexNotOffered,
    PlexRequestError,
    PlexRowLimitError,
    PlexUnavailable,
)
from plex_cdf.plex.policy import (
    CONNECT_STATUS,
    DATASOURCE_STATUS,
    RETRYABLE_EXCEPTIONS,
    Action,
    action_for,
    backoff_s,
    retry_after_s,
)
from plex_cdf.plex.settings import PlexSettings
from plex_cdf.plex.stats import PlexStats

__all__ = ["PlexClient", "PlexSettings"]

log = logging.getLogger("plex_cdf.plex")

Params = Mapping[str, str | Sequence[str]]
Api = Literal["connect", "datasource"]

# Plex has no paging and ignores these silently; a caller sending them believes in pages that never come.
PAGING_PARAMS = frozenset({"limit", "offset", "page", "pagesize"})


@dataclass(frozen=True)
class _Call:
    api: Api
    method: str
    path: str
    params: Params | None = None
    body: bytes | None = None
    with_tenant: bool = True  # False only for the key canary of a 401 diagnosis


@dataclass(frozen=True)
class _Answer:
    status: int
    content: bytes
    code: str | None
    message: str
    errors: list[Any]
    headers: httpx.Headers


class PlexClient:
    """Use as `async with PlexClient(settings) as plex:`. `transport`, `clock`, `sleep` and `rng` are
    seams for tests; `budget` lets several clients of one key share one budget."""

    def __init__(
        self,
        settings: PlexSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        budget: CallBudget | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.budget = budget or CallBudget(
            settings.calls_per_minute, settings.window_seconds, clock=clock, sleep=sleep
        )
        self.stats = PlexStats(self.budget)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._mask = Masker(settings.secrets)
        self._breakers = CircuitBreakers(settings.breaker_threshold, settings.breaker_cooldown_s, clock)
        self._concurrency = asyncio.Semaphore(settings.max_concurrency)
        self._diagnosis_lock = asyncio.Lock()
        self._diagnosed: dict[str, PlexConfigError] = {}
        self._http: dict[Api, httpx.AsyncClient] = {
            "connect": self._http_client(settings.connect_url, self._connect_headers(), None, transport),
            "datasource": self._http_client(settings.datasource_url, {}, self._ds_auth(), transport),
        }

    async def __aenter__(self) -> PlexClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for http in self._http.values():
            await http.aclose()

    # -- Connect ------------------------------------------------------------------------------------

    async def get_list(self, path: str, params: Params | None = None) -> list[dict[str, Any]]:
        """The whole list in one answer (Plex has no paging); a 404 means no data and gives []."""
        _refuse_paging(path, params)
        answer = await self._connect(_Call("connect", "GET", path, params))
        if answer is None:
            self.stats.not_found_as_empty += 1
            return []
        body = self._parse(answer, path)
        if isinstance(body, dict):  # an object where a list was expected: a list of one
            return [body]
        if not isinstance(body, list) or not all(isinstance(row, dict) for row in body):
            raise PlexError(f"Plex answered GET {path} with something other than a list of objects")
        return body

    async def get_object(self, path: str, params: Params | None = None) -> dict[str, Any] | None:
        """One object; None when Plex answers 404."""
        answer = await self._connect(_Call("connect", "GET", path, params))
        if answer is None:
            return None
        body = self._parse(answer, path)
        if not isinstance(body, dict):
            raise PlexError(f"Plex answered GET {path} with {type(body).__name__}, not an object")
        return body

    async def tenants(self) -> list[dict[str, Any]]:
        """The tenants the key may reach (the auth canary), asked with the configured tenant selected."""
        return await self.get_list(diagnostics.TENANTS_PATH)

    async def _connect(self, call: _Call) -> _Answer | None:
        answer = await self._exchange(call)
        action = action_for(answer.status, CONNECT_STATUS)
        if action is Action.OK:
            return answer
        if action is Action.NO_DATA:
            return None
        if action is Action.AUTH:
            raise await self._diagnose_401(call.path)
        if action is Action.FORBIDDEN:
            raise diagnostics.forbidden(self.settings, call.path, self._mask.text(answer.message))
        request = f"GET {call.path} with {self._mask.params(call.params)}"
        if answer.status == 400 and not _blames_request(answer.errors, call.params):
            raise PlexNotOffered(
                self._mask.text(
                    f"Plex refused {request} without faulting any parameter (400 {answer.code or ''}: "
                    f"{answer.message}); this tenant probably does not offer it"
                )
            )
        raise self._request_error(request, answer)

    async def _diagnose_401(self, path: str) -> PlexConfigError:
        """Tell a bad key, an ungranted tenant and an unsubscribed product apart with the tenants list:
        without the tenant header it tests the key alone, with it the tenant grant."""
        namespace = diagnostics.namespace_of(path)
        async with self._diagnosis_lock:
            if namespace not in self._diagnosed:
                self._diagnosed[namespace] = await self._diagnosis(path)
            return self._diagnosed[namespace]

    async def _diagnosis(self, path: str) -> PlexConfigError:
        tenants = diagnostics.TENANTS_PATH
        if (await self._exchange(_Call("connect", "GET", tenants, with_tenant=False))).status == 401:
            return diagnostics.bad_key(self.settings)
        if (await self._exchange(_Call("connect", "GET", tenants))).status == 401:
            return diagnostics.ungranted_tenant(self.settings)
        return diagnostics.unsubscribed_product(self.settings, path)

    # -- Data Source API ----------------------------------------------------------------------------

    async def execute_datasource(self, source_id: int, inputs: Mapping[str, object]) -> list[dict[str, Any]]:
        """Rows of one execute; PlexRowLimitError when Plex truncated them at the row limit."""
        answer = await self._execute(source_id, inputs)
        if answer.row_limit_hit:
            raise self._row_limit_error(source_id, inputs, len(answer.rows), "narrow the inputs")
        return answer.rows

    async def execute_datasource_window(
        self,
        source_id: int,
        inputs: Mapping[str, object],
        begin_input: str,
        end_input: str,
        window: TimeRange,
    ) -> list[dict[str, Any]]:
        """Every row of [begin, end): a window whose answer hit the row limit is halved (its truncated rows
        dropped) until each part fits, so every row comes back exactly once, in window order."""
        bounded = {
            **inputs,
            begin_input: format_plex_datetime(window.begin),
            end_input: format_plex_datetime(window.end),
        }
        answer = await self._execute(source_id, bounded)
        if not answer.row_limit_hit:
            return answer.rows
        halves = split_window(window)
        if halves is None:
            raise self._row_limit_error(source_id, bounded, len(answer.rows), "the window cannot be split")
        self.stats.row_limit_splits += 1
        rows: list[dict[str, Any]] = []
        for half in halves:
            rows += await self.execute_datasource_window(source_id, inputs, begin_input, end_input, half)
        return rows

    async def datasource_metadata(self, source_id: int) -> dict[str, Any]:
        """A data source's name, inputs, outputs and columns (GET /api/datasources/{id})."""
        answer = await self._datasource(
            _Call("datasource", "GET", f"/api/datasources/{source_id}"), source_id
        )
        body = self._parse(answer, f"/api/datasources/{source_id}")
        if not isinstance(body, dict):
            raise PlexError(f"Plex answered data source {source_id} metadata with {type(body).__name__}")
        return body

    async def search_datasources(self, name: str = "") -> list[dict[str, Any]]:
        """The data sources the web-service user may call whose name contains `name`."""
        call = _Call("datasource", "GET", "/api/datasources/search", {"name": name})
        body = self._parse(await self._datasource(call, None), call.path)
        if not isinstance(body, list):
            raise PlexError(f"Plex answered the data source search with {type(body).__name__}, not a list")
        return [row for row in body if isinstance(row, dict)]

    async def _execute(self, source_id: int, inputs: Mapping[str, object]) -> DataSourceAnswer:
        path = f"/api/datasources/{source_id}/execute"
        body = orjson.dumps(dict(inputs), default=_input_value, option=orjson.OPT_PASSTHROUGH_DATETIME)
        answer = await self._datasource(_Call("datasource", "POST", path, {"format": "2"}, body), source_id)
        try:
            return read_answer(self._parse(answer, path))
        except UnexpectedShape as err:
            raise PlexError(
                f"Plex answered data source {source_id} execute in an unknown shape: {err}"
            ) from None

    async def _datasource(self, call: _Call, source_id: int | None) -> _Answer:
        if not self.settings.ds_username or not self.settings.ds_password:
            raise diagnostics.ds_credentials(self.settings, source_id)
        answer = await self._exchange(call)
        action = action_for(answer.status, DATASOURCE_STATUS, answer.code)
        if action is Action.OK:
            return answer
        if action is Action.AUTH:
            raise diagnostics.ds_credentials(self.settings, source_id)
        if action is Action.GRANT and source_id is not None:
            raise diagnostics.ds_not_granted(self.settings, source_id)
        if action in (Action.FORBIDDEN, Action.GRANT):
            raise diagnostics.ds_forbidden(self.settings, source_id or 0, answer.code)
        if action is Action.NOT_OFFERED:
            what = f"data source {source_id}" if source_id is not None else call.path
            raise PlexNotOffered(
                f"{what} does not exist at {self.settings.datasource_url} "
                f"({answer.code or answer.status}); fix: check the id on Plex's Data Sources screen"
            )
        target = f"data source {source_id}" if source_id is not None else call.path
        raise self._request_error(f"{target} with inputs {self._decoded_inputs(call)}", answer)

    # -- one exchange: budget, retries, breaker -----------------------------------------------------

    async def _exchange(self, call: _Call) -> _Answer:
        """Send until Plex gives an answer that is not transient; PlexUnavailable when retries run out or
        the endpoint's circuit is open."""
        # Each data source is its own stored procedure, so its own circuit; Connect ids fold into {id}.
        endpoint = f"{call.api}:{endpoint_of(call.path) if call.api == 'connect' else call.path}"
        problem = "no answer"
        for attempt in range(self.settings.max_retries + 1):
            self._check_circuit(endpoint, problem)
            try:
                outcome = await self._attempt(call, endpoint)
            except BaseException:
                self._breakers.inconclusive(endpoint)
                raise
            if isinstance(outcome, _Answer):
                table = CONNECT_STATUS if call.api == "connect" else DATASOURCE_STATUS
                action = action_for(outcome.status, table, outcome.code if call.api == "datasource" else None)
                if action not in (Action.RETRY, Action.THROTTLED):
                    self._breakers.succeeded(endpoint)
                    return outcome
                problem = f"HTTP {outcome.status} {outcome.code or ''} {outcome.message}".strip()
            else:
                action = Action.RETRY
                problem = f"{type(outcome).__name__}: {self._mask.text(str(outcome)) or 'no detail'}"
            if attempt < self.settings.max_retries:
                await self._back_off(action, attempt, endpoint, outcome)
        raise PlexUnavailable(
            f"Plex {call.method} {call.path} failed {self.settings.max_retries + 1} times, last: "
            f"{self._mask.text(problem)}; fix: check Plex's status or retry later"
        )

    async def _attempt(self, call: _Call, endpoint: str) -> _Answer | Exception:
        async with self._concurrency:
            await self.budget.acquire()
            try:
                self.stats.calls += 1
                self.stats.per_endpoint[endpoint] += 1
                response = await self._http[call.api].request(
                    call.method,
                    call.path,
                    params=_query(call.params),
                    content=call.body,
                    headers=self._call_headers(call),
                )
            except RETRYABLE_EXCEPTIONS as err:
                self.stats.transport_errors += 1
                return err
            finally:
                self.budget.release()
        return _answer_of(response)

    async def _back_off(self, action: Action, attempt: int, endpoint: str, outcome: object) -> None:
        self.stats.retries += 1
        delay = backoff_s(attempt, self.settings.backoff_base_s, self.settings.backoff_cap_s, self._rng)
        if isinstance(outcome, _Answer) and outcome.status >= 500:
            self.stats.status_5xx += 1
        if action is Action.THROTTLED and isinstance(outcome, _Answer):
            self.stats.status_429 += 1
            hint = retry_after_s(outcome.headers, outcome.message)
            if hint is not None:
                delay = hint + self._rng.uniform(0, min(1.0, hint / 10))
            self.budget.pause(delay)  # Plex throttles the key: every caller of this tenant waits
            self._breakers.inconclusive(endpoint)
            log.info("plex throttled %s; all calls wait %.1f s", endpoint, delay)
            return
        if self._breakers.failed(endpoint):
            self.stats.circuit_opens += 1
            log.warning("plex circuit open for %s after repeated failures", endpoint)
        await self._sleep(delay)

    def _check_circuit(self, endpoint: str, problem: str) -> None:
        remaining = self._breakers.blocked_for(endpoint)
        if remaining is not None:
            raise PlexUnavailable(
                f"Plex circuit open for {endpoint} after repeated failures "
                f"(last: {self._mask.text(problem)}); next try in {remaining:.0f} s"
            )

    # -- helpers ------------------------------------------------------------------------------------

    def _parse(self, answer: _Answer, path: str) -> Any:
        if not answer.content.strip():
            return []
        try:
            return orjson.loads(answer.content)
        except orjson.JSONDecodeError as err:
            raise PlexError(f"Plex answered {path} with invalid JSON ({err})") from None

    def _request_error(self, request: str, answer: _Answer) -> PlexRequestError:
        details = "; ".join(_error_detail(e) for e in answer.errors if isinstance(e, dict))
        text = f"Plex rejected {request} ({answer.status} {answer.code or ''}".rstrip() + ")"
        text += f": {answer.message}" if answer.message else ""
        text += f" [{details}]" if details else ""
        return PlexRequestError(self._mask.text(text.replace("\n", " ")), answer.status, answer.code)

    def _row_limit_error(
        self, source_id: int, inputs: Mapping[str, object], rows: int, why: str
    ) -> PlexRowLimitError:
        return PlexRowLimitError(
            f"data source {source_id} hit its row limit ({rows} rows returned) for inputs "
            f"{self._mask.params(inputs)}: {why}",
            rows,
        )

    def _decoded_inputs(self, call: _Call) -> str:
        inputs = orjson.loads(call.body) if call.body else None
        return self._mask.params(inputs if isinstance(inputs, dict) else None)

    def _connect_headers(self) -> dict[str, str]:
        headers = {"X-Plex-Connect-Api-Key": self.settings.api_key, "Accept": "application/json"}
        if self.settings.api_secret:
            headers["X-Plex-Connect-Api-Secret"] = self.settings.api_secret
        return headers

    def _tenant_headers(self) -> dict[str, str]:
        if self.settings.customer_id:
            return {"X-Plex-Connect-Customer-Id": self.settings.customer_id}
        if self.settings.tenant_id:
            return {"X-Plex-Connect-Tenant-Id": self.settings.tenant_id}
        return {}

    def _call_headers(self, call: _Call) -> dict[str, str]:
        if call.api == "datasource":
            return {"Content-Type": "application/json; charset=utf-8"} if call.body is not None else {}
        return self._tenant_headers() if call.with_tenant else {}

    def _ds_auth(self) -> httpx.BasicAuth | None:
        if self.settings.ds_username and self.settings.ds_password:
            return httpx.BasicAuth(self.settings.ds_username, self.settings.ds_password)
        return None

    def _http_client(
        self,
        base_url: str,
        headers: dict[str, str],
        auth: httpx.BasicAuth | None,
        transport: httpx.AsyncBaseTransport | None,
    ) -> httpx.AsyncClient:
        limit = self.settings.max_concurrency
        return httpx.AsyncClient(
            base_url=base_url,
            headers=headers,
            auth=auth,
            transport=transport,
            verify=self.settings.verify_tls,
            timeout=httpx.Timeout(self.settings.timeout_s, connect=self.settings.connect_timeout_s),
            limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit),
        )


def _answer_of(response: httpx.Response) -> _Answer:
    """Status and body, with Plex's error code and message when the body is an error (either API's
    shape: `{code, message, errors}` for Connect, `{errors: [{code, message}]}` for data sources)."""
    if response.status_code < 300:
        return _Answer(response.status_code, response.content, None, "", [], response.headers)
    try:
        body = orjson.loads(response.content) if response.content else {}
    except orjson.JSONDecodeError:
        body = {"message": response.text[:200]}
    if not isinstance(body, dict):
        body = {}
    raw_errors = body.get("errors")
    errors: list[Any] = raw_errors if isinstance(raw_errors, list) else []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    code = body.get("code") or first.get("code")
    message = body.get("message") or first.get("message") or ""
    return _Answer(
        response.status_code, b"", str(code) if code else None, str(message), errors, response.headers
    )


def _blames_request(errors: list[Any], params: Params | None) -> bool:
    """Whether Plex's 400 points at the request: a parameter we sent, or one it says is required. A 400
    that faults nothing we sent refused a request it had nothing against: the resource is not offered."""
    sent = {name.lower() for name in params or {}}
    for error in errors:
        if not isinstance(error, dict):
            continue
        required = "REQUIRED" in str(error.get("code") or "").upper()
        for meta in error.get("metadata") or []:
            field = str(meta.get("field") or "").lower() if isinstance(meta, dict) else ""
            if field and (field in sent or required):
                return True
    return False


def _error_detail(error: Mapping[str, Any]) -> str:
    fields = [
        f"{m.get('field')}={m.get('providedValues')}"
        for m in error.get("metadata") or []
        if isinstance(m, dict)
    ]
    return " ".join(str(part) for part in (error.get("code"), error.get("message"), *fields) if part)


def _query(params: Params | None) -> httpx.QueryParams | None:
    """Query pairs; a sequence value repeats its name (`?id=a&id=b`), as Plex expects."""
    if not params:
        return None
    pairs: list[tuple[str, str | int | float | bool | None]] = []
    for name, value in params.items():
        values = [value] if isinstance(value, str) else list(value)
        pairs += [(name, str(v)) for v in values]
    return httpx.QueryParams(pairs)


def _refuse_paging(path: str, params: Params | None) -> None:
    for name in params or {}:
        if name.lower() in PAGING_PARAMS:
            raise ValueError(
                f"Plex has no paging and ignores '{name}' on {path}: the whole list comes at once"
            )


def _input_value(value: object) -> object:
    if isinstance(value, datetime):
        return format_plex_datetime(value)
    raise TypeError(f"data source input of type {type(value).__name__} is not JSON")
