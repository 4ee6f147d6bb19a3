"""The ASGI application: token endpoint, Bearer checks, gzip bodies, faults, counts and the route table.

Handlers run inline on the event loop under the store lock: the store is in-memory, so a request costs
microseconds and needs no thread pool.
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
import logging
import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from plex_cdf.sim.cdf.auth import TokenIssuer
from plex_cdf.sim.cdf.dms.states import protobuf_body
from plex_cdf.sim.cdf.errors import CdfError, Json
from plex_cdf.sim.cdf.routes import ROUTES, Call, Router
from plex_cdf.sim.cdf.store import Store

TOKEN_PATH = "/oauth2/token"
INSPECT_PATH = "/api/v1/token/inspect"
ADMIN_PREFIX = "/_local/"
SERVER_ERRORS = (500, 502, 503)
# The capabilities behind the routes this server serves (token/inspect lists them for every client).
SERVED_ACLS = (
    "assetsAcl",
    "eventsAcl",
    "timeSeriesAcl",
    "relationshipsAcl",
    "datasetsAcl",
    "extractionPipelinesAcl",
    "extractionRunsAcl",
    "rawAcl",
    "dataModelsAcl",
    "dataModelInstancesAcl",
)
logger = logging.getLogger(__name__)


@dataclass
class Faults:
    """Shares (0..1) of project requests answered 429 or 5xx before touching the store; added latency."""

    fault_429: float = 0.0
    fault_5xx: float = 0.0
    latency_ms: int = 0
    server_errors: tuple[int, ...] = SERVER_ERRORS  # drawn evenly; note the SDK never retries a 500

    def __post_init__(self) -> None:
        if not self.server_errors or any(not 500 <= code <= 599 for code in self.server_errors):
            raise ValueError(f"server_errors must be 5xx codes, got {self.server_errors}")
        for name, share in (("fault_429", self.fault_429), ("fault_5xx", self.fault_5xx)):
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"{name} must be a share between 0 and 1, got {share}")
        if self.fault_429 + self.fault_5xx > 1.0:
            raise ValueError("fault_429 + fault_5xx must not exceed 1")
        if self.latency_ms < 0:
            raise ValueError(f"latency_ms must be >= 0, got {self.latency_ms}")


class Counts:
    """Requests per route key, thread-safe (the server thread writes, tests read)."""

    def __init__(self, write_keys: frozenset[str]) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._write_keys = write_keys

    def add(self, key: str) -> None:
        with self._lock:
            self._counts[key] += 1

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self._counts)

    def writes(self) -> int:
        with self._lock:
            return sum(n for key, n in self._counts.items() if key in self._write_keys)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


class CdfApp:
    """One local CDF project as an ASGI callable."""

    def __init__(
        self, store: Store, project: str, issuer: TokenIssuer, faults: Faults, seed: int | None = None
    ) -> None:
        self.store = store
        self.project = project
        self.issuer = issuer
        self.faults = faults
        self.router = Router(ROUTES)
        self.counts = Counts(self.router.write_keys)
        self._random = random.Random(seed)
        self._request_ids = itertools.count(1)
        self._prefix = f"/api/v1/projects/{project}"
        self.on_snapshot: Callable[[], None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        response = await self._respond(request)
        response.headers["x-request-id"] = f"local-{next(self._request_ids)}"
        await response(scope, receive, send)

    async def _respond(self, request: Request) -> Response:
        path = request.scope.get("raw_path", b"").decode().split("?", 1)[0] or request.url.path
        try:
            if path == TOKEN_PATH and request.method == "POST":
                return await self._token(request)
            if path == INSPECT_PATH and request.method == "GET":
                return self._inspect(request)
            if path.startswith(ADMIN_PREFIX):
                return await self._admin(request, path[len(ADMIN_PREFIX) :])
            if path.startswith(self._prefix + "/"):
                return await self._project_call(request, path[len(self._prefix) :])
            if path.startswith("/api/v1/projects/"):
                raise CdfError(403, f"Unknown project: this local CDF serves only {self.project!r}")
            raise CdfError(404, f"No route {request.method} {path}")
        except CdfError as error:
            return _json(error.body(), error.status)
        except ClientDisconnect:  # the client went away mid-request (e.g. killed): nobody to answer
            logger.info("client left during %s %s", request.method, path)
            return _json(CdfError(499, "client closed the request").body(), 499)
        except Exception as exc:  # a bug here must reach the client as an answer, not a dropped connection
            logger.exception("local CDF failed on %s %s", request.method, path)
            return _json(CdfError(500, f"local CDF internal error: {type(exc).__name__}").body(), 500)

    async def _token(self, request: Request) -> Response:
        self.counts.add(f"POST {TOKEN_PATH}")
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        status, body = self.issuer.issue(form, request.headers.get("authorization"))
        return _json(body, status)

    def _inspect(self, request: Request) -> Response:
        """Any valid token may use every route, so inspection grants read and write on all they serve."""
        self.counts.add(f"GET {INSPECT_PATH}")
        self._require_token(request)
        return _json(
            {
                "subject": self.issuer.client_id or "local-client",
                "projects": [{"projectUrlName": self.project, "groups": [1]}],
                "capabilities": [
                    {
                        acl: {"actions": ["READ", "WRITE"], "scope": {"all": {}}},
                        "projectScope": {"allProjects": {}},
                    }
                    for acl in SERVED_ACLS
                ],
            }
        )

    def _require_token(self, request: Request) -> None:
        if not self.issuer.valid(request.headers.get("authorization")):
            raise CdfError(401, "Unauthorized: a valid Bearer token from the token endpoint is required")

    async def _project_call(self, request: Request, path: str) -> Response:
        found = self.router.match(request.method, path)
        if found is None:
            raise CdfError(404, f"The local CDF has no route {request.method} {path}")
        route, args = found
        self.counts.add(route.key)
        if self.faults.latency_ms:
            await asyncio.sleep(self.faults.latency_ms / 1000)
        self._maybe_fail()
        self._require_token(request)
        call = Call(
            store=self.store,
            body=await _body(request) if request.method == "POST" else {},
            params=_params(request.url.query),
            args=args,
            wants_protobuf="application/protobuf" in request.headers.get("accept", ""),
            sent_protobuf=_is_protobuf(request),
        )
        with self.store.lock:  # serialized under the lock: answers may share the store's own dicts
            answer = route.answer(call)
            if not isinstance(answer, bytes):
                return _json(answer, route.status)
        return Response(answer, 200, media_type="application/protobuf")

    async def _admin(self, request: Request, action: str) -> Response:
        """Test access for a server in another process: counts, reset, faults, snapshot (loopback only)."""
        match request.method, action:
            case "GET", "counts":
                return _json({"requests": dict(self.counts.snapshot()), "writes": self.counts.writes()})
            case "POST", "counts/reset":
                self.counts.reset()
                return _json({})
            case "POST", "faults":
                body = await _body(request)
                try:
                    self.faults = Faults(
                        float(body.get("fault429", 0.0)),
                        float(body.get("fault5xx", 0.0)),
                        int(body.get("latencyMs", 0)),
                    )
                except ValueError as exc:
                    raise CdfError(400, str(exc)) from exc
                return _json({})
            case "POST", "snapshot" if self.on_snapshot is not None:
                self.on_snapshot()
                return _json({})
        raise CdfError(404, f"No local admin route {request.method} {ADMIN_PREFIX}{action}")

    def _maybe_fail(self) -> None:
        draw = self._random.random()
        if draw < self.faults.fault_429:
            raise CdfError(429, "Too many requests: the project's request rate is over its limit (injected)")
        if draw < self.faults.fault_429 + self.faults.fault_5xx:
            raise CdfError(self._random.choice(self.faults.server_errors), "Server error (injected)")


def _params(query: str) -> dict[str, str]:
    """Query parameters; a repeated one (e.g. the SDK's `usedFor=node&usedFor=edge`) joined by commas."""
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params[key] = f"{params[key]},{value}" if key in params else value
    return params


async def _body(request: Request) -> Json:
    raw = await request.body()
    if request.headers.get("content-encoding") == "gzip":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise CdfError(400, "Request body is not valid gzip") from exc
    if not raw:
        return {}
    if _is_protobuf(request):
        return protobuf_body(raw)  # datapoints inserts (the SDK sends state datapoints this way)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise CdfError(400, f"Request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise CdfError(400, "Request body must be a JSON object")
    return body


def _is_protobuf(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("application/protobuf")


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status, media_type="application/json")
