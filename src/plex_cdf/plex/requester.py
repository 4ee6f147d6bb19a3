"""Sends one call until Plex gives an answer that is not transient: bounded concurrency, the tenant's
call budget, retries with backoff, 429 pauses and per-endpoint circuit breakers. Knows nothing of what
the answers mean beyond "transient or not"."""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import ssl

import httpx2

from plex_cdf.plex.breaker import CircuitBreakers, endpoint_of
from plex_cdf.plex.budget import CallBudget, Clock, Sleep, current_lane
from plex_cdf.plex.errors import Masker, PlexUnavailable, PlexUnreachable
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
from plex_cdf.plex.wire import Answer, Api, Call, answer_of, query

log = logging.getLogger("plex_cdf.plex")


class Requester:
    """One per client; owns the two pooled HTTP clients (Connect, Data Source)."""

    def __init__(
        self,
        settings: PlexSettings,
        stats: PlexStats,
        *,
        transport: httpx2.AsyncBaseTransport | None,
        clock: Clock,
        sleep: Sleep,
        rng: random.Random,
    ) -> None:
        self.settings = settings
        self.stats = stats
        self.budget: CallBudget = stats.budget
        self._sleep = sleep
        self._rng = rng
        self._mask = Masker(settings.secrets)
        self._clock = clock
        self._breakers = CircuitBreakers(settings.breaker_threshold, settings.breaker_cooldown_s, clock)
        # An API whose host refused the connection or did not resolve, until when, and what it said: every
        # call meanwhile fails at once instead of each resource retrying its way through the same outage.
        self._unreachable: dict[Api, tuple[float, PlexUnreachable]] = {}
        self._concurrency = asyncio.Semaphore(settings.max_concurrency)
        self._http: dict[Api, httpx2.AsyncClient] = {
            "connect": self._http_client(settings.connect_url, self._connect_headers(), None, transport),
            "datasource": self._http_client(settings.datasource_url, {}, self._ds_auth(), transport),
        }

    async def aclose(self) -> None:
        for http in self._http.values():
            await http.aclose()

    async def exchange(self, call: Call) -> Answer:
        """The first answer that is not transient; PlexUnavailable when retries run out or the endpoint's
        circuit is open."""
        # Each data source is its own stored procedure, so its own circuit; Connect ids fold into {id}.
        endpoint = f"{call.api}:{endpoint_of(call.path) if call.api == 'connect' else call.path}"
        problem = "no answer"
        for attempt in range(self.settings.max_retries + 1):
            self._check_reachable(call.api)
            self._check_circuit(endpoint, problem)
            try:
                outcome = await self._attempt(call, endpoint)
            except BaseException:
                self._breakers.inconclusive(endpoint)
                raise
            if isinstance(outcome, httpx2.ConnectError):
                raise self._mark_unreachable(call.api, outcome)
            self._unreachable.pop(call.api, None)
            if isinstance(outcome, Answer):
                action = _action(call.api, outcome)
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

    async def _attempt(self, call: Call, endpoint: str) -> Answer | Exception:
        # The budget comes before a connection: a fan-out call waiting for its lane must not hold one of
        # the connections a main-lane call needs. A stop (budget closed) abandons the read in flight.
        lane = current_lane()
        await self.budget.acquire(lane)
        try:
            async with self._concurrency:
                self.stats.calls += 1
                self.stats.per_endpoint[endpoint] += 1
                http = self._http[call.api]
                response = await self.budget.interruptible(
                    http.request(
                        call.method,
                        absolute_url(http, call),
                        content=call.body,
                        headers=self._call_headers(call),
                    )
                )
        except RETRYABLE_EXCEPTIONS as err:
            self.stats.transport_errors += 1
            return err
        finally:
            self.budget.release(lane)
        return answer_of(response)

    async def _back_off(self, action: Action, attempt: int, endpoint: str, outcome: object) -> None:
        self.stats.retries += 1
        delay = backoff_s(attempt, self.settings.backoff_base_s, self.settings.backoff_cap_s, self._rng)
        if isinstance(outcome, Answer) and outcome.status >= 500:
            self.stats.status_5xx += 1
        if action is Action.THROTTLED and isinstance(outcome, Answer):
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
        await self.budget.unless_stopping(self._sleep(delay))

    def _check_reachable(self, api: Api) -> None:
        down = self._unreachable.get(api)
        if down is not None and self._clock() < down[0]:
            raise down[1]

    def _mark_unreachable(self, api: Api, error: httpx2.ConnectError) -> PlexUnreachable:
        """Connection refused or a name that does not resolve: retrying in seconds will not help."""
        base = self.settings.connect_url if api == "connect" else self.settings.datasource_url
        setting = "plex.connect-url" if api == "connect" else "the tenant's datasource-url (or its code)"
        reason = self._mask.text(" ".join(str(error).split())) or type(error).__name__
        failure = PlexUnreachable(
            f"cannot reach Plex at {base} ({reason}); fix: check {setting}, DNS and the network"
        )
        self._unreachable[api] = (self._clock() + self.settings.breaker_cooldown_s, failure)
        return failure

    def _check_circuit(self, endpoint: str, problem: str) -> None:
        remaining = self._breakers.blocked_for(endpoint)
        if remaining is not None:
            raise PlexUnavailable(
                f"Plex circuit open for {endpoint} after repeated failures "
                f"(last: {self._mask.text(problem)}); next try in {remaining:.0f} s"
            )

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

    def _call_headers(self, call: Call) -> dict[str, str]:
        if call.api == "datasource":
            return {"Content-Type": "application/json; charset=utf-8"} if call.body is not None else {}
        return self._tenant_headers() if call.with_tenant else {}

    def _ds_auth(self) -> httpx2.BasicAuth | None:
        if self.settings.ds_username and self.settings.ds_password:
            return httpx2.BasicAuth(self.settings.ds_username, self.settings.ds_password)
        return None

    def _http_client(
        self,
        base_url: str,
        headers: dict[str, str],
        auth: httpx2.BasicAuth | None,
        transport: httpx2.AsyncBaseTransport | None,
    ) -> httpx2.AsyncClient:
        limit = self.settings.max_concurrency
        return httpx2.AsyncClient(
            base_url=base_url,
            headers=headers,
            auth=auth,
            transport=transport,
            verify=_verifying() if self.settings.verify_tls else False,
            timeout=httpx2.Timeout(self.settings.timeout_s, connect=self.settings.connect_timeout_s),
            limits=httpx2.Limits(max_connections=limit, max_keepalive_connections=limit),
        )


def absolute_url(http: httpx2.AsyncClient, call: Call) -> httpx2.URL:
    """The URL `http.request(call.path, params=...)` would send to, parsed once: given a path and params,
    httpx2 parses the path, the path joined to the base URL and the URL with the query. Building a
    request this way takes 85-115 us instead of 150-190 us, of the roughly 800 us of CPU a call costs."""
    base = str(http.base_url)  # httpx2 keeps a base URL's path ending in "/" (a bare host's shows none)
    text = base + ("" if base.endswith("/") else "/") + call.path.lstrip("/")
    params = query(call.params)
    if not params:  # none, or only names without values
        return httpx2.URL(text)
    if "?" in text:  # a query in the path too: merged as httpx2 merges it (a name in both: the param's)
        return httpx2.URL(text).copy_merge_params(params)
    return httpx2.URL(f"{text}?{params}")


@functools.cache
def _verifying() -> ssl.SSLContext:
    """httpx2's default verifying context (the system's trust store, or `SSL_CERT_FILE`/`SSL_CERT_DIR`, as
    for CDF), built once: each client built its own, loading the CA bundle anew (about 60 ms of CPU a
    client, two a tenant)."""
    return httpx2.create_ssl_context(verify=True)


def _action(api: Api, answer: Answer) -> Action:
    if api == "connect":
        return action_for(answer.status, CONNECT_STATUS)
    return action_for(answer.status, DATASOURCE_STATUS, answer.code)
