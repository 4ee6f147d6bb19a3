"""Helpers every transform shares: lineage metadata, metadata stringification, Plex times as epoch ms.

Every classic metadata key goes through `meta_key` (lowerCamelCase, the style of Plex's own Connect field
names), so keys from Connect, from Data Source columns (`Part_Key`) and from the product itself follow one
rule; docs/mapping.md states it.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from plex_cdf.domains.resource import Context, NotListedYet, Quarantine, Record
from plex_cdf.ids import (
    external_id,
    hashed_key,
    joined_key,
    part_number_revision,
    readable_key,
    readable_keys,
)
from plex_cdf.plex.dates import parse_datasource_datetime, parse_plex_datetime, to_epoch_ms

META_KEY_RULE = re.compile(r"^[a-z][A-Za-z0-9]*$")
"""The one metadata key style: lowerCamelCase, ASCII letters and digits (`workcenterCode`, `sourceId`)."""
_WORD_BREAK = re.compile(r"[^0-9A-Za-z]+")

SOURCE_ID = "sourceId"
"""The Plex identity of the object (the UUID, or the joined key of a row Plex gives no id)."""
PLEX_RESOURCE = "plexResource"
"""The resource row that wrote the object."""


@functools.lru_cache(maxsize=8192)
def meta_key(name: str) -> str:
    """A field name in the one metadata style: `Part_Key` -> `partKey`, `OEE` -> `oee`, `plex_id` ->
    `plexId`, `workcenterCode` unchanged. A word all in capitals is an acronym and is lowered; a name
    starting with a digit gets an `n` in front; a name without letters or digits becomes `field`.
    Remembered: a run styles the same few hundred field names about a million times."""
    words = [w for w in _WORD_BREAK.split(name) if w]
    if not words:
        return "field"
    parts = []
    for i, word in enumerate(words):
        if word.isupper():
            word = word.lower()
        parts.append(word[0].lower() + word[1:] if i == 0 else word[0].upper() + word[1:])
    key = "".join(parts)
    return "n" + key if key[0].isdigit() else key


class Styled(dict[str, str]):
    """Metadata whose every key is already in the one style: what `metadata_from`, `lineage` and `merged`
    return, which `merged` takes as it is instead of styling each key again (a medium run merges about a
    million keys). Serialized, hashed and compared as the plain dict it is."""

    __slots__ = ()


def meta(values: Mapping[str, str]) -> dict[str, str]:
    """Metadata with every key in the one style; on two names meaning the same key the first wins."""
    out: dict[str, str] = {}
    for name, value in values.items():
        out.setdefault(meta_key(name), value)
    return out


def lineage(resource: str, plex_id: str) -> dict[str, str]:
    """Every CDF object keeps its Plex identity: the resource row's name and the Plex id (the UUID, or the
    joined key of a row Plex gives no id) as `sourceId`."""
    return Styled({PLEX_RESOURCE: resource, SOURCE_ID: plex_id})


def metadata_from(record: Record, fields: Iterable[str]) -> dict[str, str]:
    """The named fields as CDF metadata strings; nulls and empty strings are left out (so a field cleared
    in Plex disappears from CDF on the next replace)."""
    out: dict[str, str] = Styled()
    for name, key in _styled(fields) if type(fields) is tuple else ((n, meta_key(n)) for n in fields):
        value = record.get(name)
        if value is None or value == "":
            continue
        if key not in out:
            out[key] = value if type(value) is str else _as_text(value)
    return out


@functools.lru_cache(maxsize=1024)
def _styled(fields: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """A transform's field list with each field's metadata key: one lookup a record, not one a field."""
    return tuple((name, meta_key(name)) for name in fields)


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(_as_text(v) for v in value)
    return str(value)


def required(record: Record, name: str) -> Any:
    """The field's value, or Quarantine naming the field when it is missing or null."""
    value = record.get(name)
    if value is None or value == "":
        raise Quarantine(f"missing {name}")
    return value


def plex_ms(record: Record, name: str, *, required_field: bool = False) -> int | None:
    """A Plex date-time field as epoch milliseconds; Quarantine when present but unparseable."""
    return _date_ms(record, name, required_field, parse_plex_datetime)


def datasource_ms(record: Record, name: str, ctx: Context, *, required_field: bool = False) -> int | None:
    """A Data Source API date column as epoch milliseconds: with a zone as sent, without one (local text)
    on the plant's clock; Quarantine when present but unparseable."""
    return _date_ms(
        record, name, required_field, lambda text: parse_datasource_datetime(text, ctx.plant.zone)
    )


def _date_ms(record: Record, name: str, required_field: bool, parse: Callable[[str], datetime]) -> int | None:
    value = record.get(name)
    if value is None or value == "":
        if required_field:
            raise Quarantine(f"missing {name}")
        return None
    if not isinstance(value, str):
        raise Quarantine(f"{name} is not a date-time: {value!r}")
    try:
        return to_epoch_ms(parse(value))
    except ValueError as err:
        raise Quarantine(f"{name}: {err}") from None


def number(record: Record, name: str) -> float | None:
    """A numeric field as float, None when null; Quarantine when it is not a number."""
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Quarantine(f"{name} is not a number: {value!r}")
    return float(value)


def merged(*parts: Mapping[str, str]) -> dict[str, str]:
    """Metadata parts in order (a later part wins a key), every key in the one style (`meta_key`)."""
    out: dict[str, str] = Styled()
    for part in parts:
        out.update(part if type(part) is Styled else meta(part))
    return out


MAX_KEY_CHARS = 200
"""A key longer than this cannot make an external id within CDF's 255 characters once prefixed."""


def text(record: Record, name: str) -> str | None:
    """A scalar field as stripped text, None when null or blank; Quarantine for lists, objects, booleans."""
    value = record.get(name)
    if type(value) is str:  # the common case first: this runs about half a million times a medium run
        return value.strip() or None
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise Quarantine(f"{name} is not text: {value!r}")
    stripped = str(value).strip()
    return stripped or None


def required_text(record: Record, name: str) -> str:
    """Like `text`, but Quarantine naming the field when it is missing or blank."""
    value = text(record, name)
    if value is None:
        raise Quarantine(f"missing {name}")
    return value


def key_text(record: Record, name: str) -> str:
    """A required id field fit for an external id: text, at most MAX_KEY_CHARS characters."""
    value = required_text(record, name)
    if len(value) > MAX_KEY_CHARS:
        raise Quarantine(f"{name} is longer than {MAX_KEY_CHARS} characters: {value[:40]!r}...")
    return value


def json_metadata(record: Record, fields: Iterable[str]) -> dict[str, str]:
    """Structured fields (lists of objects, objects) as compact, key-sorted JSON metadata strings; empty
    and null values are left out."""
    out: dict[str, str] = {}
    for name in fields:
        value = record.get(name)
        if value is None or value == [] or value == {}:
            continue
        out[meta_key(name)] = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
        )
    return out


def readable_name(*parts: str | None, separator: str = " - ") -> str | None:
    """Non-blank parts joined, e.g. `"{code} - {name}"`; None when every part is blank."""
    present = [p for p in parts if p]
    return separator.join(present) if present else None


def unique(values: Iterable[str | None]) -> tuple[str, ...]:
    """Non-null values, first occurrence first (e.g. an event's asset links)."""
    return tuple(dict.fromkeys(v for v in values if v))


_index_memo: list[tuple[Sequence[Record], str, dict[str, Record]]] = []


def index_by(records: Sequence[Record], field_name: str) -> Mapping[str, Record]:
    """Records by the text of one field (e.g. lookups by id). Remembers the last index built, by identity
    of the list, so a transform called once per record builds it once per run."""
    for seen, seen_field, index in _index_memo:
        if seen is records and seen_field == field_name:
            return index
    built = {
        str(r[field_name]): r for r in records if isinstance(r, Mapping) and r.get(field_name) is not None
    }
    _index_memo[:] = [*_index_memo[-7:], (records, field_name, built)]
    return built


# ASCII digits only: `str.isdigit` also takes `²` and other digits `int()` refuses; one sign at most.
_INTEGER_TEXT = re.compile(r"-?[0-9]+")


def integer_key(record: Record, name: str) -> int | None:
    """A Classic integer key (`Part_Key`, `Workcenter_Key`): an int or its decimal text; None when null;
    Quarantine otherwise."""
    value = record.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        return int(value.strip())
    raise Quarantine(f"{name} is not an integer key: {value!r}")


_YES_TEXT = frozenset({"true", "yes", "y", "1"})
_NO_TEXT = frozenset({"false", "no", "n", "0"})


def flag(record: Record, name: str) -> bool:
    """A Plex yes/no field: a boolean, 0/1 or their usual texts; null means no; Quarantine otherwise."""
    value = record.get(name)
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _YES_TEXT | _NO_TEXT:
        return value.strip().lower() in _YES_TEXT
    raise Quarantine(f"{name} is not a yes/no value: {value!r}")


KEY_MAP_FIELDS = ("key", "id")
"""What a row reads of a key map it looks up (`mapped_id`): the Classic key and the Connect id."""


def mapped_id(ctx: Context, key_map: str, key: int | None) -> str | None:
    """The Connect UUID (lower case) for a Classic integer key, from the lookup `key_map` whose records are
    `{"key": <int>, "id": "<uuid>"}`; None when the key is null or not in the map."""
    if key is None:
        return None
    found = index_by(ctx.lookups.get(key_map, ()), "key").get(str(key))
    plex_id = None if found is None else found.get("id")
    return str(plex_id).strip().lower() if isinstance(plex_id, str) and plex_id.strip() else None


def check_numbers(record: Record, names: Iterable[str]) -> None:
    """Quarantine when any named field holds something other than a number or null (before it lands in
    metadata as text, where a wrong type would pass unseen)."""
    for name in names:
        number(record, name)


def row_key(pcn: str, kind: str, record: Record, key: Sequence[str]) -> tuple[str, str]:
    """For a row Plex gives no id: its external id (a hash of the key fields) and the joined key, which
    goes into metadata `sourceId`."""
    joined = joined_key(record, key)
    return external_id(pcn, kind, hashed_key(joined)), joined


# --- readable external ids: workcenters, parts, locations by what Plex shows ---------------------------


@dataclass(frozen=True)
class Readable:
    """A kind whose external id is the code Plex shows: the master-data list that holds it (`list`, a
    resource row read as a lookup), the field with the Plex id, the code as shown, and the fields `shown`
    reads (all a link needs of the list)."""

    list: str
    id_field: str
    shown: Callable[[Record], str | None]
    shown_from: tuple[str, ...]

    @property
    def fields(self) -> tuple[str, ...]:
        """What a row linking this kind reads of its list: the Plex id and what the code is made of."""
        return (self.id_field, *self.shown_from)


def _part_shown(record: Record) -> str | None:
    number = text(record, "number")
    return part_number_revision(number, text(record, "revision")) if number else None


READABLE: Mapping[str, Readable] = {
    "workcenter": Readable(
        "workcenters", "workcenterId", lambda r: text(r, "workcenterCode"), ("workcenterCode",)
    ),
    "part": Readable("parts", "id", _part_shown, ("number", "revision")),
    "location": Readable("locations", "locationId", lambda r: text(r, "locationCode"), ("locationCode",)),
}
"""Kind -> where its readable key comes from. A row that writes or links one of these kinds names the
list in its `lookup`, so the Plex ids its records carry become the codes."""

LINK_FIELDS: Mapping[str, tuple[str, ...]] = {spec.list: spec.fields for spec in READABLE.values()}
"""A row's `lookup_fields` for the lists its links read (`Resource.lookup_fields`): of the parts, the
workcenters and the locations only the Plex id and the code's fields are kept, not the whole records."""

_keys_memo: list[tuple[Sequence[Record], str, dict[str, str]]] = []


def keys_of(records: Sequence[Record], kind: str) -> Mapping[str, str]:
    """Plex id (lower case) -> readable key for every record of a master-data list (collisions resolved
    by `ids.readable_keys`); remembered by identity of the list, like `index_by`."""
    for seen, seen_kind, keys in _keys_memo:
        if seen is records and seen_kind == kind:
            return keys
    spec = READABLE[kind]
    shown: dict[str, str | None] = {}
    for record in records:
        plex_id = record.get(spec.id_field) if isinstance(record, Mapping) else None
        if isinstance(plex_id, str) and plex_id.strip():
            try:
                shown[plex_id.strip()] = spec.shown(record)
            except Quarantine:
                shown[plex_id.strip()] = None
    built = readable_keys(shown)
    _keys_memo[:] = [*_keys_memo[-7:], (records, kind, built)]
    return built


def readable_id(ctx: Context, kind: str, plex_id: str, shown: str | None = None) -> str:
    """The external id of the workcenter, part or location with this Plex id: `PCN{pcn}_{kind}_{code}`.

    With the kind's list among the row's lookups, the code comes from that list (a record carries the
    Plex id, and the code it carries may be an old one); an id the list does not hold is quarantined, so
    the record waits (its window stays pending) until its master data arrives. A row that reads no such
    list (a unit test's bare context) gets the code the record shows, else the id."""
    spec = READABLE[kind]
    records = ctx.lookups.get(spec.list)
    if records is None:
        return external_id(ctx.pcn, kind, readable_key(shown) if shown else plex_id)
    key = keys_of(records, kind).get(plex_id.strip().lower())
    if key is None:
        raise NotListedYet(
            f"{spec.id_field} {plex_id!r} is not in the {spec.list} list yet (waits for it)", spec.list
        )
    return external_id(ctx.pcn, kind, key)


def linked_id(ctx: Context, kind: str, plex_id: str | None, shown: str | None = None) -> str | None:
    """An aggregate's (a series') link to a workcenter, part or location: none, rather than a failed
    aggregate, while the list lacks the id; the next run that finds it there sets the link."""
    try:
        return optional_readable_id(ctx, kind, plex_id, shown)
    except Quarantine:
        return None


def optional_readable_id(
    ctx: Context, kind: str, plex_id: str | None, shown: str | None = None
) -> str | None:
    """`readable_id` for a link a record may lack (None when the record names no id)."""
    return None if not plex_id else readable_id(ctx, kind, plex_id, shown)
