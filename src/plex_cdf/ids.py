"""The external-id scheme: deterministic, PCN-scoped, `PCN{pcn}_{kind}_{key}`.

The root asset is `PCN{pcn}_facility_{pcn}`, the predecessor's id, so existing CDF projects carry over.
Rows that Plex gives no id get a stable hash of their key fields (`hashed_key`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

KEY_SEPARATOR = "|"


def external_id(pcn: str, kind: str, key: str) -> str:
    return f"PCN{pcn}_{kind}_{key}"


def root_external_id(pcn: str) -> str:
    return external_id(pcn, "facility", pcn)


def joined_key(record: Mapping[str, Any], fields: Iterable[str]) -> str:
    """The key fields' values joined by `|` in the given order; None becomes the empty string."""
    return KEY_SEPARATOR.join("" if record.get(f) is None else str(record.get(f)) for f in fields)


def hashed_key(joined: str) -> str:
    """A stable 20-hex-digit digest of a joined key (used where Plex gives a row no id)."""
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:20]
