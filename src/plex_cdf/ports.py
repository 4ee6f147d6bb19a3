"""The seams between the runner and the outside: where records come from, where items go, where state lives.

The Plex client (`plex/`) satisfies PlexSource, the CDF writer (`cdf/`) satisfies Sink, and the state
backends (`state/`) satisfy StateStore; tests may substitute any of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from plex_cdf.items import Item
from plex_cdf.windows import TimeRange

Params = Mapping[str, str | Sequence[str]]
Point = tuple[int, float]  # epoch ms, value


class PlexSource(Protocol):
    async def get_list(self, path: str, params: Params | None = None) -> list[dict[str, Any]]:
        """A Connect list endpoint's whole answer (Plex has no paging); 404-as-no-data gives []."""
        ...

    async def post_list(self, path: str, body: Mapping[str, object]) -> list[dict[str, Any]]:
        """A Connect POST that only reads (the identity mappings) and answers a list."""
        ...

    async def get_object(self, path: str, params: Params | None = None) -> dict[str, Any] | None:
        """A Connect object endpoint; None when Plex answers 404 for it."""
        ...

    async def execute_datasource(self, source_id: int, inputs: Mapping[str, object]) -> list[dict[str, Any]]:
        """Rows of a Data Source execute (format=2 shape normalised to dicts)."""
        ...

    async def execute_datasource_window(
        self,
        source_id: int,
        inputs: Mapping[str, object],
        begin_input: str,
        end_input: str,
        window: TimeRange,
    ) -> list[dict[str, Any]]:
        """Every row of the window, splitting it in two while the row limit is hit."""
        ...


@dataclass
class WriteReport:
    """What one `Sink.write` did, in items."""

    written: int = 0  # created or updated in CDF
    unchanged: int = 0  # skipped: content hash equal to the last acknowledged write
    altered: int = 0  # made valid to fit CDF's limits (names cut, metadata trimmed, ...)
    unresolved_links: int = 0  # asset links waiting for their assets
    refused: int = 0  # items CDF refused (400) or points of series it lacks: left uncommitted, tried again
    deleted: int = 0  # objects deleted from CDF (containers gone from Plex longer than the retention)
    write_calls: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    refused_ids: list[str] = field(default_factory=list)  # the external ids (or RAW keys) of those items

    def add(self, other: WriteReport) -> None:
        self.written += other.written
        self.unchanged += other.unchanged
        self.altered += other.altered
        self.unresolved_links += other.unresolved_links
        self.refused += other.refused
        self.deleted += other.deleted
        self.refused_ids.extend(other.refused_ids)
        self.write_calls += other.write_calls
        for kind, count in other.by_kind.items():
            self.by_kind[kind] = self.by_kind.get(kind, 0) + count


@dataclass(frozen=True)
class Expiry:
    """Vanished objects are deleted once they have been gone from their snapshot for `after` (counted from
    the run that first saw them gone); `now` is the run's clock."""

    now: datetime
    after: timedelta


class Sink(Protocol):
    async def write(self, resource: str, items: Sequence[Item]) -> WriteReport:
        """Write what changed; return only after CDF acknowledged it and its hashes are committed."""
        ...

    async def mark_inactive(self, resource: str, external_ids: Sequence[str]) -> WriteReport:
        """Records that vanished from a Plex snapshot: flagged inactive in CDF, never deleted."""
        ...

    async def retire_vanished(
        self,
        resource: str,
        kept: Sequence[Item],
        *,
        mark_inactive: bool,
        end_point: Point | None,
        expiry: Expiry | None = None,
    ) -> WriteReport:
        """What this resource wrote before and a snapshot's items (`kept`) no longer make: its assets and
        events flagged inactive (when `mark_inactive`), its latest-only series given `end_point` (e.g. WIP
        0 now) when one is given, and with an `expiry` its assets gone that long deleted. The sink alone
        knows how it keeps what it wrote."""
        ...

    async def delete(self, resource: str, external_ids: Sequence[str]) -> WriteReport:
        """Assets this resource wrote, deleted from CDF (gone from Plex longer than the retention); what
        the sink kept about them is forgotten, so a return writes them afresh."""
        ...

    async def link_pending(self) -> WriteReport:
        """Retry asset links that were waiting for their assets."""
        ...


class StateStore(Protocol):
    """Per tenant (PCN) and resource: a watermark, content hashes by external id, small JSON values."""

    def get_watermark(self, pcn: str, resource: str) -> datetime | None: ...

    def commit_watermark(self, pcn: str, resource: str, value: datetime) -> None: ...

    def get_hashes(self, pcn: str, resource: str) -> dict[str, str]: ...

    def get_hashes_for(self, pcn: str, resource: str, keys: Sequence[str]) -> dict[str, str]:
        """The stored hashes of just these keys (a writer's batch), so memory stays bounded by the batch."""
        ...

    def commit_hashes(
        self, pcn: str, resource: str, hashes: Mapping[str, str], removed: Sequence[str] = ()
    ) -> None: ...

    def get_value(self, pcn: str, key: str) -> Any: ...

    def set_value(self, pcn: str, key: str, value: Any) -> None: ...

    def forget_tenant(self, pcn: str) -> None:
        """Drop everything kept for one PCN (after `cleanup` deleted what it described)."""
        ...
