"""Sending batches with CDF's recovery rules; every call counted by `kind.op`.

Never-seen items are created: a 409 turns the clashing ones into updates. Seen ones are updated in replace
mode: a 400 `missing` turns the absent ones into creates. After a 5xx or timeout on a create, CDF is asked
which of the items it holds (`byids`) before anything is sent again; an update is simply resent (it is
idempotent). A create CDF answers with unknown references (e.g. a vanished parent) is Rejected.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from plex_cdf.cdf.payloads import replace_update
from plex_cdf.cdf.plan import WRITE_OPS
from plex_cdf.cdf.transport import (
    ATTEMPTS,
    CdfApi,
    Duplicated,
    Json,
    Missing,
    OutcomeUnknown,
    Rejected,
    resend_on_unknown,
)
from plex_cdf.ports import WriteReport

T = TypeVar("T")
PATHS: Mapping[str, str] = {
    "asset": "/assets",
    "event": "/events",
    "timeseries": "/timeseries",
    "relationship": "/relationships",
}


class CdfCalls:
    def __init__(self, api: CdfApi, calls: Counter[str], max_concurrency: int) -> None:
        self._api = api
        self._calls = calls
        self._gate = asyncio.Semaphore(max_concurrency)

    async def call(
        self,
        kind: str,
        op: str,
        path: str,
        body: Json,
        report: WriteReport,
        params: Mapping[str, str] | None = None,
    ) -> Json:
        return await self.counted(kind, op, report, lambda: self._api.post(path, body, params))

    async def counted(self, kind: str, op: str, report: WriteReport, send: Callable[[], Awaitable[T]]) -> T:
        """`send` one request (a seam method other than `post`, e.g. `insert_states`), counted as `kind.op`
        and within the concurrency limit like every other call."""
        self._calls[f"{kind}.{op}"] += 1
        if op in WRITE_OPS:
            report.write_calls += 1
        async with self._gate:
            return await send()

    async def upsert(
        self, kind: str, creates: list[Json], updates: list[Json], report: WriteReport
    ) -> list[Json]:
        """The answers' items (with ids) of creating `creates` and updating `updates`."""
        answers = await self.create(kind, creates, report) if creates else []
        return answers + (await self.update(kind, updates, report) if updates else [])

    async def create(
        self, kind: str, bodies: list[Json], report: WriteReport, attempt: int = 1
    ) -> list[Json]:
        try:
            answer = await self.call(kind, "create", PATHS[kind], {"items": bodies}, report)
            return list(answer.get("items", []))
        except Duplicated as err:
            return await self._split(kind, bodies, set(err.external_ids), report, attempt)
        except Missing as err:
            raise Rejected(str(err)) from err
        except OutcomeUnknown:  # never sent again blind: what CDF holds now decides update or create
            if attempt >= ATTEMPTS:
                raise
            held = await self.held(kind, [b["externalId"] for b in bodies], report)
            return await self._split(kind, bodies, held, report, attempt)

    async def update(
        self, kind: str, bodies: list[Json], report: WriteReport, attempt: int = 1
    ) -> list[Json]:
        items = [replace_update(kind, b) for b in bodies]
        path = PATHS[kind] + "/update"
        try:  # an update is idempotent: an unknown outcome is simply sent again
            answer = await resend_on_unknown(
                lambda: self.call(kind, "update", path, {"items": items}, report), ATTEMPTS - attempt + 1
            )
            return list(answer.get("items", []))
        except Missing as err:
            if attempt >= ATTEMPTS:
                raise
            present = {b["externalId"] for b in bodies} - set(err.external_ids)
            return await self._split(kind, bodies, present, report, attempt)

    async def _split(
        self, kind: str, bodies: list[Json], existing: set[str], report: WriteReport, attempt: int
    ) -> list[Json]:
        """Update what CDF holds, create the rest."""
        old = [b for b in bodies if b["externalId"] in existing]
        new = [b for b in bodies if b["externalId"] not in existing]
        answers = await self.update(kind, old, report, attempt + 1) if old else []
        return answers + (await self.create(kind, new, report, attempt + 1) if new else [])

    async def held(self, kind: str, external_ids: list[str], report: WriteReport) -> set[str]:
        """Which of these CDF holds now."""
        body = {"items": [{"externalId": x} for x in external_ids], "ignoreUnknownIds": True}
        answer = await resend_on_unknown(
            lambda: self.call(kind, "byids", PATHS[kind] + "/byids", body, report)
        )
        return {str(item["externalId"]) for item in answer.get("items", [])}
