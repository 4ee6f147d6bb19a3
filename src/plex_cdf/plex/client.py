"""One async client per Plex tenant: what Connect REST and Data Source answers mean (lists, objects, rows,
the 401 diagnosis, configuration errors), on top of the `Requester` that spends the tenant's call budget
and retries. Satisfies `plex_cdf.ports.PlexSource`.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping
from datetime import datetime
from types import TracebackType
from typing import Any

import httpx2
import orjson

from plex_cdf.plex import diagnostics
from plex_cdf.plex.budget import CallBudget, Clock, Sleep
from plex_cdf.plex.datasource import DataSourceAnswer, UnexpectedShape, read_answer, split_window
from plex_cdf.plex.dates import format_plex_datetime, window_params
from plex_cdf.plex.errors import (
    Masker,
    PlexConfigError,
    PlexError,
    PlexNotOffered,
    PlexRequestError,
    PlexRowLimitError,
)
from plex_cdf.plex.policy import CONNECT_STATUS, DATASOURCE_STATUS, Action, action_for, backoff_s
from plex_cdf.plex.requester import Requester
from plex_cdf.plex.settings import PlexSettings
from plex_cdf.plex.stats import PlexStats
from plex_cdf.plex.wire import Answer, Call, Params, blames_request, error_detail, loads
from plex_cdf.windows import TimeRange

__all__ = ["PlexClient", "PlexSettings"]

# Plex has no paging and ignores these silently; a caller sending them believes in pages that never come.
PAGING_PARAMS = frozenset({"limit", "offset", "page", "pagesize"})
# How often a list call is asked when Plex answers 200 with something that is not the documented list.
MALFORMED_ATTEMPTS = 3


class PlexClient:
    """Use as `async with PlexClient(settings) as plex:`. `transport`, `clock`, `sleep` and `rng` are
    seams for tests; `budget` lets several clients of one key share one budget."""

    def __init__(
        self,
        settings: PlexSettings,
        *,
        transport: httpx2.AsyncBaseTransport | None = None,
        budget: CallBudget | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.budget = budget or CallBudget(
            settings.calls_per_minute,
            settings.window_seconds,
            fan_out_share=settings.fan_out_share,
            clock=clock,
            sleep=sleep,
        )
        self.stats = PlexStats(self.budget)
        self._mask = Masker(settings.secrets)
        self._requester = Requester(
            settings, self.stats, transport=transport, clock=clock, sleep=sleep, rng=rng or random.Random()
        )
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._diagnosis_lock = asyncio.Lock()
        self._diagnosed: dict[str, PlexConfigError] = {}
        # While Plex refuses the key or the tenant: the diagnosis (for readiness); None after a good answer.
        self.key_problem: str | None = None

    async def __aenter__(self) -> PlexClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._requester.aclose()

    def stop(self) -> None:
        """The process is stopping: calls that would wait for the budget (or a backoff) end with
        BudgetClosed; calls in flight finish."""
        self.budget.stop()

    def abandon(self) -> None:
        """The grace period is running out: calls in flight end with BudgetClosed too."""
        self.budget.close()

    # -- Connect ------------------------------------------------------------------------------------

    async def get_list(self, path: str, params: Params | None = None) -> list[dict[str, Any]]:
        """The whole list in one answer (Plex has no paging); a 404 means no data and gives []."""
        _refuse_paging(path, params)
        return await self._read_list(Call("connect", "GET", path, params))

    async def post_list(self, path: str, body: Mapping[str, object]) -> list[dict[str, Any]]:
        """A Connect POST that reads (e.g. the identity mappings) and answers a list; a 404 gives []."""
        return await self._read_list(Call("connect", "POST", path, None, orjson.dumps(body)))

    async def _read_list(self, call: Call) -> list[dict[str, Any]]:
        """The list a Connect list call answers. Only what Plex documents as "no data" (an empty list, a
        404) is empty; a 200 with an empty body or with anything but a list of objects is a failed call:
        asked again a few times, then a PlexError, so no window or snapshot ever counts it as no records."""
        problem = ""
        for attempt in range(MALFORMED_ATTEMPTS):
            if attempt:
                self.stats.retries += 1
                await self._sleep(
                    backoff_s(
                        attempt - 1, self.settings.backoff_base_s, self.settings.backoff_cap_s, self._rng
                    )
                )
            answer = await self._connect(call)
            if answer is None:
                self.stats.not_found_as_empty += 1
                return []
            if not answer.content.strip():
                problem = "an empty body (200)"
                continue
            body = self._parse(answer, call.path)
            if isinstance(body, list) and all(isinstance(row, dict) for row in body):
                return body
            problem = f"a JSON {_json_kind(body)} where the documented list of objects belongs"
        raise PlexError(
            f"Plex answered {call.method} {call.path} with {problem}, {MALFORMED_ATTEMPTS} times; "
            "the call counts as failed (nothing is taken as 'no data') and is retried next run"
        )

    async def get_object(self, path: str, params: Params | None = None) -> dict[str, Any] | None:
        """One object; None when Plex answers 404."""
        answer = await self._connect(Call("connect", "GET", path, params))
        if answer is None:
            return None
        body = self._parse(answer, path)
        if not isinstance(body, dict):
            raise PlexError(f"Plex answered GET {path} with {type(body).__name__}, not an object")
        return body

    async def tenants(self) -> list[dict[str, Any]]:
        """The tenants the key may reach (the auth canary), asked with the configured tenant selected."""
        return await self.get_list(diagnostics.TENANTS_PATH)

    async def _connect(self, call: Call) -> Answer | None:
        answer = await self._requester.exchange(call)
        action = action_for(answer.status, CONNECT_STATUS)
        if action is Action.OK:
            self.key_problem = None
            return answer
        if action is Action.NO_DATA:
            return None
        if action is Action.AUTH:
            raise await self._diagnose_401(call.path)
        if action is Action.FORBIDDEN:
            raise diagnostics.forbidden(self.settings, call.path, self._mask.text(answer.message))
        request = f"{call.method} {call.path} with {self._mask.params(call.params)}"
        if answer.status == 400 and not blames_request(answer.errors, call.params):
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
            found = self._diagnosed[namespace]
            if found.problem in ("bad_key", "tenant"):
                self.key_problem = str(found)
            return found

    async def _diagnosis(self, path: str) -> PlexConfigError:
        tenants = diagnostics.TENANTS_PATH
        if (await self._requester.exchange(Call("connect", "GET", tenants, with_tenant=False))).status == 401:
            return diagnostics.bad_key(self.settings)
        if (await self._requester.exchange(Call("connect", "GET", tenants))).status == 401:
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
        bounded = {**inputs, **window_params(window, begin_input, end_input)}
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
        answer = await self._datasource(Call("datasource", "GET", f"/api/datasources/{source_id}"), source_id)
        body = self._parse(answer, f"/api/datasources/{source_id}")
        if not isinstance(body, dict):
            raise PlexError(f"Plex answered data source {source_id} metadata with {type(body).__name__}")
        return body

    async def search_datasources(self, name: str = "") -> list[dict[str, Any]]:
        """The data sources the web-service user may call whose name contains `name`."""
        call = Call("datasource", "GET", "/api/datasources/search", {"name": name})
        body = self._parse(await self._datasource(call, None), call.path)
        if not isinstance(body, list):
            raise PlexError(f"Plex answered the data source search with {type(body).__name__}, not a list")
        return [row for row in body if isinstance(row, dict)]

    async def _execute(self, source_id: int, inputs: Mapping[str, object]) -> DataSourceAnswer:
        path = f"/api/datasources/{source_id}/execute"
        body = orjson.dumps(dict(inputs), default=_input_value, option=orjson.OPT_PASSTHROUGH_DATETIME)
        answer = await self._datasource(Call("datasource", "POST", path, {"format": "2"}, body), source_id)
        try:
            return read_answer(self._parse(answer, path))
        except UnexpectedShape as err:
            raise PlexError(
                f"Plex answered data source {source_id} execute in an unknown shape: {err}"
            ) from None

    async def _datasource(self, call: Call, source_id: int | None) -> Answer:
        if not self.settings.ds_username or not self.settings.ds_password:
            raise diagnostics.ds_credentials(self.settings, source_id)
        answer = await self._requester.exchange(call)
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

    # -- helpers ------------------------------------------------------------------------------------

    def _parse(self, answer: Answer, path: str) -> Any:
        if not answer.content.strip():
            return []
        try:
            return loads(answer.content)  # a large list a slice at a time
        except orjson.JSONDecodeError as err:
            raise PlexError(f"Plex answered {path} with invalid JSON ({err})") from None

    def _request_error(self, request: str, answer: Answer) -> PlexRequestError:
        details = "; ".join(error_detail(e) for e in answer.errors if isinstance(e, dict))
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

    def _decoded_inputs(self, call: Call) -> str:
        inputs = orjson.loads(call.body) if call.body else None
        return self._mask.params(inputs if isinstance(inputs, dict) else None)


def _refuse_paging(path: str, params: Params | None) -> None:
    for name in params or {}:
        if name.lower() in PAGING_PARAMS:
            raise ValueError(
                f"Plex has no paging and ignores '{name}' on {path}: the whole list comes at once"
            )


def _json_kind(body: object) -> str:
    if isinstance(body, dict):
        return "object"
    if isinstance(body, list):
        return "list holding something other than objects"
    return type(body).__name__


def _input_value(value: object) -> object:
    if isinstance(value, datetime):
        return format_plex_datetime(value)
    raise TypeError(f"data source input of type {type(value).__name__} is not JSON")
