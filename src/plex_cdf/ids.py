"""The external-id scheme: deterministic, PCN-scoped, `PCN{pcn}_{kind}_{key}`.

The root asset is `PCN{pcn}_facility_{pcn}`, the predecessor's id, so existing CDF projects carry over.
Rows that Plex gives no id get a stable hash of their key fields (`hashed_key`). The things people look up
(workcenters, parts, locations; jobs by their number) are keyed by what Plex shows (`readable_keys`), the
Plex id staying in metadata `sourceId`.
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
    parts = []
    for name in fields:  # a loop, not a generator reading each field twice: this keys every record
        value = record.get(name)
        parts.append("" if value is None else value if type(value) is str else str(value))
    return KEY_SEPARATOR.join(parts)


def hashed_key(joined: str) -> str:
    """A stable 20-hex-digit digest of a joined key (used where Plex gives a row no id)."""
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:20]


# --- readable keys: what an operator sees on a Plex screen ------------------------------------------------

MAX_READABLE_CHARS = 200
"""A readable key longer than this is cut and given a digest, so `PCN{pcn}_{kind}_{key}` stays within
CDF's 255 characters."""
COLLISION_MARK = "~"
"""Between a readable key and the start of the Plex id, for records whose readable keys collide."""


def readable_key(shown: str) -> str:
    """A code or number as Plex shows it, fit for an external id: unchanged when it is printable, has no
    surrounding blanks and is at most MAX_READABLE_CHARS long (CDF takes any such text); otherwise its
    printable part, cut, then `~` and a 10-hex-digit digest of the whole text (two texts that differ only
    in what was cut or replaced still get different keys)."""
    if shown and shown.isprintable() and shown == shown.strip() and len(shown) <= MAX_READABLE_CHARS:
        return shown
    printable = "".join(c if c.isprintable() else "?" for c in shown.strip())
    digest = hashlib.sha256(shown.encode("utf-8")).hexdigest()[:10]
    return f"{printable[: MAX_READABLE_CHARS - 11]}{COLLISION_MARK}{digest}"


def part_number_revision(number: str, revision: str | None) -> str:
    """A part as Plex shows it (`partNumberRevision`): `{number}-{revision}`, or the number alone."""
    return f"{number}-{revision}" if revision else number


def readable_keys(shown_by_id: Mapping[str, str | None]) -> dict[str, str]:
    """Plex id -> readable key for one list (e.g. every workcenter): the shown code made safe; where two
    ids share a key (Plex allows a repeated code, or two texts become one key), each of them gets
    `~{first 8 characters of its Plex id}` added, so none wins by the order Plex lists them. An id with no
    code shown keeps the id as its key. Ids are compared in lower case (Connect UUIDs)."""
    keys = {i.lower(): readable_key(shown) if shown else i.lower() for i, shown in shown_by_id.items()}
    count: dict[str, int] = {}
    for key in keys.values():
        count[key] = count.get(key, 0) + 1
    return {
        plex_id: key if count[key] == 1 else f"{key[: MAX_READABLE_CHARS - 9]}{COLLISION_MARK}{plex_id[:8]}"
        for plex_id, key in keys.items()
    }
