"""The seam between the writer and CDF: JSON in, JSON out, and four outcomes the writer acts on.

`SdkApi` sends through the cognite-sdk `AsyncCogniteClient` (auth, token reuse, gzip, its retry policy for
429 and idempotent calls) but with plain dicts, so a 1,000-item batch costs no per-item SDK objects. Tests
substitute any object with the same `post`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

import orjson
from cognite.client import AsyncCogniteClient
from cognite.client.exceptions import (
    CogniteAPIError,
    CogniteConnectionError,
    CogniteDuplicatedError,
    CogniteNotFoundError,
    CogniteReadTimeout,
)

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
    return [str(e["externalId"]) for e in entries or () if isinstance(e, dict) and "externalId" in e]


class SdkApi:
    """CdfApi over an AsyncCogniteClient; SDK errors become the writer's three outcomes."""

    def __init__(self, client: AsyncCogniteClient) -> None:
        self._client = client
        self._prefix = f"/api/v1/projects/{client.config.project}"

    async def post(self, path: str, body: Json, params: Mapping[str, str] | None = None) -> Json:
        try:
            response = await self._client.post(
                self._prefix + path, json=body, params=dict(params) if params else None
            )
        except Exception as err:
            raise _translated(err) from err
        return _json_of(response.content)


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
