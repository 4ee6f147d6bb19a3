"""Remote configuration: the configuration kept as revisions of the extraction pipeline in CDF (`type:
remote` in the local file, as Cognite's extractors do), and a watch that picks up a new revision while the
service runs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from cognite.client import AsyncCogniteClient
from cognite.client.exceptions import CogniteAPIError

from plex_cdf.config import Config, ConfigError
from plex_cdf.config.loader import config_from_revision
from plex_cdf.config.models import RemoteConfig

log = logging.getLogger("plex_cdf.remote")


@dataclass(frozen=True)
class Revision:
    number: int
    config: Config


class RemoteConfiguration:
    """The pipeline's configuration: `load()` the latest revision; `watch()` for newer ones."""

    def __init__(self, local: RemoteConfig, client: AsyncCogniteClient) -> None:
        self.local = local
        self.client = client
        self.external_id = local.pipeline.external_id
        self.current: int | None = None
        self.pending: Revision | None = None  # a newer valid revision, waiting for the domains to stop
        self._refused: set[int] = set()  # invalid revisions, reported once each

    async def load(self) -> Revision:
        """The latest revision as a Config; ConfigError naming the pipeline and revision otherwise."""
        revision = await self._latest()
        assert revision is not None  # nothing to be newer than, and an invalid one raised
        self.current = revision.number
        return revision

    async def watch(self, on_new: Callable[[Revision], None]) -> None:
        """Every `config-poll`, look for a revision newer than the running one; a valid one is kept in
        `pending` and `on_new` is told (the service then stops its domains at a safe point and restarts them
        with it). An invalid revision is logged once and the running configuration stays."""
        every = self.local.pipeline.config_poll.total_seconds()
        while self.pending is None:
            await asyncio.sleep(every)
            try:
                found = await self._latest(newer_than=self.current)
            except ConfigError as err:
                log.error("%s; the running configuration (revision %s) stays", err, self.current)
                continue
            except Exception as err:  # CDF unreachable for a while: the running configuration stays
                log.warning("could not check pipeline %s for a new configuration: %s", self.external_id, err)
                continue
            if found is not None:
                log.warning(
                    "configuration revision %d of pipeline %s: restarting the domains with it",
                    found.number,
                    self.external_id,
                )
                self.pending = found
                on_new(found)

    def take(self) -> Revision:
        """The pending revision, now the running one."""
        assert self.pending is not None
        taken, self.pending = self.pending, None
        self.current = taken.number
        return taken

    async def _latest(self, newer_than: int | None = None) -> Revision | None:
        try:
            found = await self.client.extraction_pipelines.config.retrieve(self.external_id)
        except CogniteAPIError as err:
            if err.code in (400, 404):
                raise ConfigError(
                    f"extraction pipeline {self.external_id!r} has no configuration in CDF ({err.code}:"
                    f" {err.message}); fix: upload one (CDF's Extraction pipelines page, or the config API)"
                ) from None
            raise
        number = int(found.revision or 0)
        if (newer_than is not None and number <= newer_than) or number in self._refused:
            return None
        where = f"configuration revision {number} of pipeline {self.external_id!r}: "
        try:
            config = config_from_revision(found.config or "", self.local, where)
        except ConfigError:
            self._refused.add(number)
            raise
        return Revision(number, config)
