"""An in-memory StateStore for tests: the SQLite store's behaviour without a file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson


class MemoryState:
    def __init__(self) -> None:
        self.watermarks: dict[tuple[str, str], datetime] = {}
        self.hashes: dict[tuple[str, str], dict[str, str]] = {}
        self.values: dict[tuple[str, str], Any] = {}

    def get_watermark(self, pcn: str, resource: str) -> datetime | None:
        return self.watermarks.get((pcn, resource))

    def commit_watermark(self, pcn: str, resource: str, value: datetime) -> None:
        self.watermarks[(pcn, resource)] = value

    def get_hashes(self, pcn: str, resource: str) -> dict[str, str]:
        return dict(self.hashes.get((pcn, resource), {}))

    def get_hashes_for(self, pcn: str, resource: str, keys: Sequence[str]) -> dict[str, str]:
        stored = self.hashes.get((pcn, resource), {})
        return {k: stored[k] for k in keys if k in stored}

    def commit_hashes(
        self, pcn: str, resource: str, hashes: Mapping[str, str], removed: Sequence[str] = ()
    ) -> None:
        slot = self.hashes.setdefault((pcn, resource), {})
        slot.update(hashes)
        for key in removed:
            slot.pop(key, None)

    def get_value(self, pcn: str, key: str) -> Any:
        return self.values.get((pcn, key))

    def set_value(self, pcn: str, key: str, value: Any) -> None:
        orjson.dumps(value)  # the SQLite store keeps values as JSON: refuse what it would refuse
        self.values[(pcn, key)] = value

    def forget_tenant(self, pcn: str) -> None:
        for slots in (self.watermarks, self.hashes, self.values):
            for slot in [s for s in slots if s[0] == pcn]:
                del slots[slot]
