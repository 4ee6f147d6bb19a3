"""The HTTP face of the simulator: Plex's gatekeeping (key, tenant, subscription, rate limit, faults) in
front of the Connect routes and the Data Source API, as one ASGI app."""

from __future__ import annotations

import asyncio
import logging
import math
import random
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote

import anyio.to_thread
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from plex_cdf.sim.plex import connect, errors

if TYPE_CHECKING:
    from plex_cdf.sim.plex.datasources import DataSources

LogEntry = tuple[float, str, str, str, int]
LOG = logging.getLogger(__name__)
CUSTOMER_HEADER = "x-plex-connect-customer-id"
TENANT_HEADER = "x-plex-connect-tenant-id"
KEY_HEADER = "x-plex-connect-api-key"


@dataclass
class Faults:
    fault_5xx: float = 0.0
    fault_429: float = 0.0
    latency_ms: int = 0
    moves_400: bool = False


BAD_ANSWER_KINDS = ("empty", "object", "404")


@dataclass
class BadAnswer:
    """A fault injection (not Plex's normal behaviour): GETs of `path` whose decoded query contains `query`
    get a 200 with an empty body ("empty"), the list wrapped in an object ("object"), or a 404 ("404"),
    `times` times (None: until cleared)."""

    path: str
    kind: str
    query: str = ""
    times: int | None = None


@dataclass
class Traffic:
    """What the simulator saw: counts per route template and a log for budget checks."""

    counts: Counter[str] = field(default_factory=Counter)
    log: list[LogEntry] = field(default_factory=list)
    windows: dict[str, deque[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    monotonic: Callable[[], float] = time.monotonic  # seconds; tests substitute their own

    def record(self, method: str, template: str, path: str, query: str, status: int) -> None:
        with self.lock:
            self.counts[f"{method} {template}"] += 1
            self.log.append((self.monotonic(), method, path, query, status))

    def admit(self, who: str, limit: int, window_s: float) -> float | None:
        """None when the caller may proceed, else seconds until the oldest request leaves the window."""
        now = self.monotonic()
        with self.lock:
            seen = self.windows.setdefault(who, deque())
            while seen and seen[0] <= now - window_s:
                seen.popleft()
            if len(seen) >= limit:
                return seen[0] + window_s - now
            seen.append(now)
            return None


_DS_TEMPLATES = (
    (re.compile(r"^/api/datasources/\d+/execute$"), "/api/datasources/{id}/execute"),
    (re.compile(r"^/api/datasources/\d+$"), "/api/datasources/{id}"),
)


def template_of(path: str) -> str:
    """The path template a request counts under, e.g. `GET /scheduling/v1/jobs/{id}`."""
    for pattern, template in _DS_TEMPLATES:
        if pattern.match(path):
            return template
    found = connect.match(path)
    return found[0].template if found else path


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


class TenantId(Protocol):
    @property
    def tenant_id(self) -> str: ...


class Tenant(Protocol):
    """What the HTTP face needs of the simulated tenant (`SimPlex` has it): its switches, traffic and
    answers. A protocol, so this module never imports the simulator that serves it."""

    seed: int
    faults: Faults
    traffic: Traffic
    datasources: DataSources
    rate_limit_per_minute: int
    rate_limit_window_s: float
    retry_after: bool
    empty_as_404: bool

    @property
    def truth(self) -> TenantId: ...

    def tenant_for(
        self, api_key: str | None, customer_id: str | None, tenant_id: str | None
    ) -> str | None: ...

    def subscriptions(self, api_key: str) -> set[str]: ...

    def take_bad_answer(self, path: str, query: str) -> str | None: ...

    def answer_connect(
        self, path: str, params: Mapping[str, Sequence[str]], api_key: str | None, tenant: str | None
    ) -> tuple[str, Any]: ...


class PlexApp:
    """ASGI app over one simulated tenant."""

    def __init__(self, sim: Tenant) -> None:
        self.sim = sim
        self.random = random.Random(sim.seed ^ 0x5EED)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        template, response = await self._respond(request)
        self.sim.traffic.record(
            request.method, template, request.url.path, request.url.query, response.status_code
        )
        await response(scope, receive, send)

    async def _respond(self, request: Request) -> tuple[str, Response]:
        path = request.url.path.rstrip("/") or "/"
        template = template_of(path)
        try:
            if self.sim.faults.latency_ms:
                await asyncio.sleep(self.sim.faults.latency_ms / 1000)
            who, tenant = self._caller(request, path)
            self._throttle(who)
            self._inject_faults()
            if path.startswith("/api/datasources"):
                template, body = await self._datasource(request, path, who)
            else:
                template, body = await self._connect(request, path, who.removeprefix("key:"), tenant)
            return template, Response(body, 200, media_type="application/json")
        except errors.PlexError as error:
            return template, json_response(error.status, error.body, error.headers)
        except Exception:  # a simulator bug still answers like Plex, and says where in the log
            LOG.exception("simulated Plex failed on %s %s", request.method, path)
            failure = errors.server_error()
            return template, json_response(failure.status, failure.body)

    def _caller(self, request: Request, path: str) -> tuple[str, str]:
        """(who, tenant): who is calling, for the rate limit, and the tenant the call runs against;
        raises 401 for bad credentials."""
        if path.startswith("/api/datasources"):
            user = self.sim.datasources.authenticate(request.headers.get("authorization"))
            return "ds:" + user, self.sim.truth.tenant_id
        key = request.headers.get(KEY_HEADER)
        tenant = self.sim.tenant_for(
            key, request.headers.get(CUSTOMER_HEADER), request.headers.get(TENANT_HEADER)
        )
        if tenant is None:
            raise errors.not_authenticated()
        namespace = path.strip("/").split("/")[0]
        if namespace in connect.NAMESPACES and namespace not in self.sim.subscriptions(str(key)):
            raise errors.not_authenticated()
        return "key:" + str(key), tenant

    def _throttle(self, who: str) -> None:
        wait = self.sim.traffic.admit(who, self.sim.rate_limit_per_minute, self.sim.rate_limit_window_s)
        if wait is not None:
            raise errors.rate_limited(max(1, math.ceil(wait)), self.sim.retry_after)

    def _inject_faults(self) -> None:
        faults = self.sim.faults
        if faults.fault_429 and self.random.random() < faults.fault_429:
            raise errors.rate_limited(1 + self.random.randrange(3), self.sim.retry_after)
        if faults.fault_5xx and self.random.random() < faults.fault_5xx:
            raise errors.server_error()

    async def _connect(self, request: Request, path: str, key: str, tenant: str) -> tuple[str, bytes]:
        if request.method == "POST" and path.startswith("/platform/identity-mappings/v1/"):
            payload = await _json_body(request)
            return path, orjson.dumps(self.sim.datasources.identity_mapping(path, payload))
        if request.method != "GET":
            found = connect.match(path)
            if found is None:
                raise errors.not_found(path)
            raise errors.PlexError(
                405, {"code": "METHOD_NOT_ALLOWED", "message": f"{request.method} is not allowed."}
            )
        if self.sim.faults.moves_400 and path == "/inventory/v1/inventory-history/container-location-moves":
            raise errors.refused("Container location moves are not available for this tenant.")
        params = connect.lower_params(request.query_params.multi_items())
        template, result = await anyio.to_thread.run_sync(self.sim.answer_connect, path, params, key, tenant)
        if self.sim.empty_as_404 and result == []:
            raise errors.not_found("no data")
        bad = self.sim.take_bad_answer(path, unquote(request.url.query))
        if bad == "404":
            raise errors.not_found("no data")
        if bad == "empty":
            return template, b""
        if bad == "object":
            result = {"data": result}
        return template, await anyio.to_thread.run_sync(orjson.dumps, result)

    async def _datasource(self, request: Request, path: str, user: str) -> tuple[str, bytes]:
        body = await request.body() if request.method == "POST" else b""
        template, result = await anyio.to_thread.run_sync(
            self.sim.datasources.handle, request.method, path, dict(request.query_params), body, user[3:]
        )
        pretty = request.query_params.get("pretty", "").lower() == "true"
        return template, orjson.dumps(result, option=orjson.OPT_INDENT_2 if pretty else None)


async def _json_body(request: Request) -> Any:
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise errors.PlexError(
            400, {"code": "REQUEST_MALFORMED", "message": "The request body is not JSON."}
        ) from None
