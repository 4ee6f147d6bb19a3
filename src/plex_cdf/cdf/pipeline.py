"""Extraction-pipeline runs: success or failure at the end of a run, and a periodic "seen" heartbeat.

CDF rejects run messages over 1,000 characters, so messages are cut (keeping the start, which names the
error). A failed report is logged and never ends the extractor: the pipeline is observation, not data.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Literal

from cognite.client import AsyncCogniteClient

from plex_cdf.cdf.transport import CdfApi, SdkApi

RunStatus = Literal["success", "failure", "seen"]
MAX_MESSAGE = 1000
DEFAULT_HEARTBEAT_S = 600.0

log = logging.getLogger(__name__)


def fit_message(message: str | None) -> str | None:
    if message is None or len(message) <= MAX_MESSAGE:
        return message
    return message[: MAX_MESSAGE - 1] + "…"


class PipelineReporter:
    """Reports runs of one extraction pipeline (by external id)."""

    def __init__(self, client: AsyncCogniteClient | CdfApi, external_id: str) -> None:
        self._api: CdfApi = SdkApi(client) if isinstance(client, AsyncCogniteClient) else client
        self.external_id = external_id
        self.reported = 0
        self.failed_reports = 0
        # Told of every report and whether CDF took it (the metrics watch the heartbeat with it).
        self.on_report: Callable[[RunStatus, bool], None] = lambda status, taken: None

    async def report(self, status: RunStatus, message: str | None = None) -> bool:
        """True when CDF took the run; a failure to report is logged, not raised."""
        run: dict[str, object] = {
            "externalId": self.external_id,
            "status": status,
            "createdTime": int(time.time() * 1000),
        }
        if (fitted := fit_message(message)) is not None:
            run["message"] = fitted
        try:
            await self._api.post("/extpipes/runs", {"items": [run]})
        except Exception as err:
            self.failed_reports += 1
            log.warning(
                "could not report a %s run to extraction pipeline %s: %s", status, self.external_id, err
            )
            self.on_report(status, False)
            return False
        self.reported += 1
        self.on_report(status, True)
        return True

    async def heartbeat(self, interval_s: float = DEFAULT_HEARTBEAT_S) -> None:
        """Report "seen" every `interval_s` seconds until cancelled."""
        while True:
            await self.report("seen")
            await asyncio.sleep(interval_s)

    def start_heartbeat(self, interval_s: float = DEFAULT_HEARTBEAT_S) -> asyncio.Task[None]:
        """The heartbeat as a task; cancel it at shutdown."""
        return asyncio.create_task(self.heartbeat(interval_s), name=f"heartbeat {self.external_id}")
