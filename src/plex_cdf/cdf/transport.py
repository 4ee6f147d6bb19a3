"""The seam between the writer and CDF: JSON in, JSON out, and four outcomes the writer acts on.

`SdkApi` sends through the cognite-sdk `AsyncCogniteClient` (auth, token reuse, its retry policy for
429 and idempotent calls) but with plain dicts, so a 1,000-item batch costs no per-item SDK objects. Tests
substitute any object with the same `post`.

The body is encoded here (`encoded`), not by the SDK: the SDK gzips at level 9, which cost a tenth of a
medium cold run's CPU (bench/support/profile_medium.py); level 1 takes a quarter of that and still shrinks
the JSON about sixfold. It goes through the client's own request path (`_post` with `content=`), the one
its public `post` calls, so auth, headers and retries are the SDK's.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

import orjson
from cognite.client import AsyncCogniteClient, global_config
from cognite.client.data_classes import StateDatapointsInsert
from cognite.client.data_classes.data_modeling import NodeId
from cognite.client.exceptions import (
    CogniteAPIError,
    CogniteConnectionError,
    CogniteDuplicatedError,
    CogniteNotFoundError,
    CogniteProjectAccessError,
    CogniteReadTimeout,
)

from plex_cdf.cdf.client import CdfAuthRefused, RenewableCredentials

Json = dict[str, Any]
log = logging.getLogger(__name__)


class Duplicated(Exception):
    """409 on a create: these external ids exist already; the whole request was rejected."""

    def __init__(self, external_ids: list[str]) -> None:
        super().__init__(f"{len(external_ids)} external ids exist already, e.g. {external_ids[:3]}")
        self.external_ids = external_ids


class Missing(Exception):
    """400 naming unknown external ids (an update of a record CDF does not hold, an unknown series)."""

    def __init__(self, external_ids: list[str]) -> None:
        super().__init__(f"{len(external_ids)} external ids are unknown to CDF, e.g. {external_ids[:3]}")
        self.external_ids = external_ids


class Rejected(Exception):
    """A 400 or 422 about the content of the request (not about unknown or clashing ids): some item in it
    is invalid; the writer splits the batch to find it."""


class OutcomeUnknown(Exception):
    """A 5xx or timeout: the request may or may not have been applied."""


class CdfApi(Protocol):
    async def post(self, path: str, body: Json, params: Mapping[str, str] | None = None) -> Json:
        """POST a project-relative path (e.g. `/assets`); raises Duplicated, Missing or OutcomeUnknown."""
        ...


class StatesApi(CdfApi, Protocol):
    """The seam of the data-modeling target, which also writes the points of `state` time series."""

    async def insert_states(self, items: list[Json]) -> None:
        """Insert `{instanceId, datapoints: [{timestamp, numericValue, stringValue}]}` items (at most
        10,000 series and 100,000 points, so one request); raises Missing, Rejected or OutcomeUnknown."""
        ...


ATTEMPTS = 4  # sends of one request, after unknown outcomes (5xx, timeouts), before the error is raised
T = TypeVar("T")


async def resend_on_unknown(send: Callable[[], Awaitable[T]], attempts: int = ATTEMPTS) -> T:
    """The one retry of the writer: a request whose outcome is unknown (a 5xx, which the SDK never retries
    for a POST, or a timeout) is sent again, `attempts` sends in all, then the error is raised. Only for
    requests that may be applied twice (reads, updates, points and RAW inserts); a create is re-read by
    external id instead (`CdfCalls.create`)."""
    for attempt in range(1, attempts):
        try:
            return await send()
        except OutcomeUnknown:
            log.debug("unknown outcome, sending again (%d of %d)", attempt + 1, attempts)
    return await send()


async def read(api: CdfApi, path: str, body: Json) -> Json:
    """POST a read by id: it changes nothing, so an unknown outcome is simply asked again."""
    return await resend_on_unknown(lambda: api.post(path, body))


def _external_ids(entries: list[Any] | None) -> list[str]:
    """The external ids an error names: `{externalId}` entries, and `{instanceId: {space, externalId}}`
    ones (datapoints by instanceId) by their external id."""
    found: list[str] = []
    for entry in entries or ():
        if isinstance(entry, dict) and isinstance(entry.get("instanceId"), dict):
            entry = entry["instanceId"]
        if isinstance(entry, dict) and "externalId" in entry:
            found.append(str(entry["externalId"]))
    return found


class SdkApi:
    """CdfApi (and StatesApi) over an AsyncCogniteClient; SDK errors become the writer's outcomes."""

    def __init__(self, client: AsyncCogniteClient) -> None:
        self._client = client
        self._prefix = f"/api/v1/projects/{client.config.project}"

    async def post(self, path: str, body: Json, params: Mapping[str, str] | None = None) -> Json:
        response = await self._authorized(lambda: self._send(path, body, params))
        return _json_of(response.content)

    async def insert_states(self, items: list[Json]) -> None:
        """State points through the SDK's public `insert_states`, which sends them as protobuf (its
        `StateDatapointsPoster`, against the beta API): the only way Cognite's own client writes them, while
        no Cognite document shows state points in the JSON insert (docs/data-model.md, "State datapoints").
        A public method rather than our own protobuf encoding, so the wire format stays the SDK's to keep
        up with. Items within CDF's limits of one request are one request (the SDK splits only beyond)."""
        inserts = [
            StateDatapointsInsert(
                NodeId(item["instanceId"]["space"], item["instanceId"]["externalId"]), item["datapoints"]
            )
            for item in items
        ]
        await self._authorized(lambda: self._client.time_series.data.insert_states(inserts))

    async def _authorized(self, send: Callable[[], Awaitable[T]]) -> T:
        """`send`, once more with a fresh token after a 401; SDK errors become the writer's outcomes."""
        try:
            try:
                return await send()
            except CogniteProjectAccessError:  # the SDK's 401
                if not _renewed(self._client):
                    raise
                return await self._send_with_fresh_token(send)
        except Exception as err:
            raise _translated(err) from err

    async def _send(self, path: str, body: Json, params: Mapping[str, str] | None) -> Any:
        # In a worker thread: zlib lets go of the GIL while it compresses (about 40 MB of JSON in a medium
        # cold run), so the event loop goes on mapping the next batch on the same core or another.
        content, headers = await asyncio.to_thread(encoded, body)
        return await self._client._api_client._post(
            self._prefix + path,
            content=content,
            headers=headers,
            params=dict(params) if params else None,
            semaphore=None,
        )

    async def _send_with_fresh_token(self, send: Callable[[], Awaitable[T]]) -> T:
        """Once more with a new token (CDF forgets tokens, e.g. after an outage); a second 401 is loud."""
        try:
            return await send()
        except CogniteProjectAccessError:
            project = self._client.config.project
            refused = CdfAuthRefused(
                f"CDF refused a freshly issued token (401) for project {project!r}; fix: check that the"
                " client is a member of the project's groups and that cognite.project is right"
            )
            credentials = self._client.config.credentials
            if isinstance(credentials, RenewableCredentials):
                credentials.last_error = str(refused)
            raise refused from None


def _renewed(client: AsyncCogniteClient) -> bool:
    """Tell the client's credentials their token was refused; False when they cannot get a new one."""
    credentials = client.config.credentials
    if not isinstance(credentials, RenewableCredentials):
        return False
    credentials.renew()
    return True


GZIP_LEVEL = 1


# orjson writes only what is JSON as it stands: a datetime, a dataclass or a subclass of a JSON type
# raises, as it does in the standard library's encoder, instead of being turned into something else.
_ORJSON_STRICT = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def encoded(body: Json) -> tuple[bytes, dict[str, str]]:
    """The request body as CDF takes it: compact JSON (NaN and infinities refused, as the SDK refuses
    them: CDF's JSON has no such numbers), gzipped at level 1 unless the SDK's `disable_gzip` is set.

    orjson encodes (a tenth of the standard library's CPU on a medium cold run's bodies), but it writes NaN
    and infinities as `null`. So a body whose JSON holds `null` anywhere (none of a medium cold run's do),
    or that orjson refuses (an integer past 64 bits, a non-JSON type), is encoded again by the standard
    library, which refuses NaN and infinities and raises for what JSON cannot carry."""
    try:
        text = orjson.dumps(body, option=_ORJSON_STRICT)
    except orjson.JSONEncodeError:
        text = b"null"
    if b"null" in text:
        try:
            text = json.dumps(body, allow_nan=False, separators=(",", ":")).encode()
        except ValueError as err:
            raise ValueError(
                f"a CDF request body holds NaN or an infinity (JSON has neither): {err}"
            ) from None
    if global_config.disable_gzip:
        return text, {}
    return gzip.compress(text, compresslevel=GZIP_LEVEL), {"Content-Encoding": "gzip"}


def _json_of(content: bytes) -> Json:
    if not content:
        return {}
    loaded = orjson.loads(content)
    return loaded if isinstance(loaded, dict) else {"items": loaded}


def _translated(err: Exception) -> Exception:
    if isinstance(err, CogniteDuplicatedError) and _external_ids(err.duplicated):
        return Duplicated(_external_ids(err.duplicated))
    if isinstance(err, CogniteNotFoundError) and _external_ids(err.missing):
        return Missing(_external_ids(err.missing))
    if type(err) is CogniteAPIError and err.code in (400, 422):
        return Rejected(f"CDF rejected the request ({err.code}): {err.message}")
    if isinstance(err, CogniteAPIError) and err.code >= 500:
        return OutcomeUnknown(f"CDF answered {err.code}: {err.message}")
    if isinstance(err, CogniteReadTimeout | CogniteConnectionError):
        return OutcomeUnknown(f"no answer from CDF: {type(err).__name__}")
    return err
