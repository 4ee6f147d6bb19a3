"""The Data Source API: per-source metadata, Basic-auth users with per-source grants, input validation with
Plex's error codes, row limits with the exceeded flag, and the identity-mapping routes between Connect
UUIDs and the integer keys data sources use (plex_api.md §4, §10.6)."""

from __future__ import annotations

import base64
import re
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from plex_cdf.sim.plex import errors
from plex_cdf.sim.plex.catalogue import DataSourceSpec, datasource_specs
from plex_cdf.sim.plex.history import PROBLEM_TYPES, SCRAP_DELAY_MS
from plex_cdf.sim.plex.jobs import job_number
from plex_cdf.sim.plex.master import KEY_BASE, Row, number_revision
from plex_cdf.sim.plex.mix import mix, pick
from plex_cdf.sim.plex.timefmt import DAY, HOUR, DateFormatError, emit, floor_day, parse_strict

if TYPE_CHECKING:
    from plex_cdf.sim.plex.plant import Plant

Inputs = Mapping[str, Any]
MAX_MAPPINGS = 5000


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # Plex's published (SQL) type names: int, smallint, bit, datetime, varchar, decimal
    required: bool = False
    nullable: bool = True


@dataclass(frozen=True)
class Source:
    """A catalogued data source: its metadata (published, or invented to the published counts), the
    inputs the simulator applies, and where its rows come from (none for a source the plant does not
    model: it executes with its columns and no rows)."""

    id: int
    name: str
    description: str
    inputs: tuple[Field, ...]
    columns: tuple[Field, ...]
    rows: Callable[[Plant, int, Inputs], list[Row]]
    row_limit: int = 1000
    applied: frozenset[str] = frozenset()  # inputs the rows honour; any other must be left empty

    def answer(self, plant: Plant, now: int, inputs: Inputs) -> list[Row]:
        """Every row for the inputs, each with every column in metadata order (null where unknown)."""
        names = [c.name for c in self.columns]
        return [{name: row.get(name) for name in names} for row in self.rows(plant, now, inputs)]

    def metadata(self) -> Row:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "inputs": [vars(f) for f in self.inputs],
            "outputs": [],
            "columns": [{"name": c.name, "type": c.type, "nullable": c.nullable} for c in self.columns],
        }


def _window(inputs: Inputs, now: int) -> tuple[int, int]:
    """[Start_Date, End_Date), neither required: without them, from today's UTC midnight up to now."""
    begin, end = inputs.get("Start_Date"), inputs.get("End_Date")
    low = parse_strict(begin) if begin else floor_day(now)
    return low, min(parse_strict(end) if end else now, now)


def _int_set(text: object) -> set[int] | None:
    if text in (None, ""):
        return None
    return {int(part) for part in str(text).split(",") if part.strip().isdigit()}


# -- row builders ----------------------------------------------------------------------------------------
def daily_performance(plant: Plant, now: int, inputs: Inputs) -> list[Row]:
    """18765: per workcenter and part over [Start_Date, End_Date); times in hours, rate in pieces/hour."""
    begin, end = _window(inputs, now)
    jobs, history, master = plant.jobs, plant.history, plant.master
    wanted = _int_set(inputs.get("Workcenter_Keys"))
    totals: dict[tuple[int, int], list[float]] = defaultdict(lambda: [0, 0, 0.0, 0.0])
    for at, wc, job, k in history.entry_slots(begin - SCRAP_DELAY_MS[1], end):
        part = jobs.part[job]
        if at >= begin:
            totals[wc, part][0] += jobs.per_entry[job]
        scrapped = history.scrap_time(job, k, at)
        if scrapped is not None and begin <= scrapped < end:
            totals[wc, part][1] += int(history.scrap_quantity(job, k))
    # Time is the part of each status segment inside the window (a segment may start the day before).
    for at, wc, length, status, running in history.status_segments(begin - DAY, end):
        inside = min(at + length, end) - max(at, begin)
        if running is None or inside <= 0:
            continue
        job = running
        kind = master.status_kinds[status]
        cell = totals[wc, jobs.part[job]]
        cell[2] += inside / HOUR if kind not in ("idle", "off") else 0.0
        cell[3] += inside / HOUR if kind == "down" else 0.0
    rows = []
    building_of = {b["id"]: i for i, b in enumerate(master.buildings)}
    for (wc, part_index), (good, scrap, planned, down) in sorted(totals.items()):
        key = KEY_BASE["Workcenter"] + wc
        part = master.parts[part_index]
        if wanted is not None and key not in wanted:
            continue
        rows.append(
            {
                "Downtime_DB": down,
                "Multiple": 1,
                "Number_Of_Children": 0,
                "Operation_Code": part.operations[-1]["_code"],
                "Part_Key": KEY_BASE["Part"] + part_index,
                "Part_No": part.row["number"],
                "Planned_Production_Time": planned,
                "Production_Qty": int(good),
                "Reject_Qty": 0,
                "Scrap_Qty": int(scrap),
                "Standard_Production_Rate": round(part.entry_quantity * HOUR / part.entry_ms, 2),
                "Throwouts": 0,
                "Workcenter_Code": master.workcenters[wc]["workcenterCode"],
                "Workcenter_Key": key,
                "_Building_Key": KEY_BASE["Building"] + building_of[master.workcenters[wc]["buildingId"]],
                "_Workcenter_Group": master.workcenters[wc]["workcenterGroup"],
                "_Workcenter_Type": master.workcenters[wc]["workcenterType"],
                "_Part_Status": part.row["status"],
            }
        )
    return _filtered(rows, inputs, DAILY_FILTERS)


DAILY_FILTERS = {
    "Part_Key": "Part_Key",
    "Workcenter_Code": "Workcenter_Code",
    "Building_Key": "_Building_Key",
    "Workcenter_Group": "_Workcenter_Group",
    "Workcenter_Type": "_Workcenter_Type",
    "Part_Status": "_Part_Status",
}


def _filtered(rows: list[Row], inputs: Inputs, by: Mapping[str, str]) -> list[Row]:
    """Rows whose column equals each given input; the simulator's own `_` columns never leave."""
    for name, column in by.items():
        value = inputs.get(name)
        if value not in (None, ""):
            rows = [row for row in rows if str(row[column]) == str(value)]
    return [{k: v for k, v in row.items() if not k.startswith("_")} for row in rows]


def workcenter_performance(plant: Plant, now: int, inputs: Inputs) -> list[Row]:
    """22870: each workcenter's status now and its performance (%) over the last 8 hours."""
    master, jobs = plant.master, plant.jobs
    produced: dict[int, int] = defaultdict(int)
    for _, wc, slot_job, _ in plant.history.entry_slots(now - 8 * HOUR, now):
        produced[wc] += jobs.per_entry[slot_job]
    rows = []
    for wc, row in enumerate(master.workcenters):
        status, job = plant.history.status_at(wc, now)
        part = master.parts[jobs.part[job]] if job is not None else None
        standard = part.entry_quantity * 8 * HOUR / part.entry_ms if part else 0
        performance = round(100.0 * produced[wc] / standard, 1) if standard else 0.0
        kind = master.status_kinds[status]
        rows.append(
            {
                "Part_No_Revision": number_revision(part.row) if part else None,
                "Performance": performance,
                "Performance_Color": "Green"
                if performance >= 85
                else "Yellow"
                if performance >= 60
                else "Red",
                "Workcenter_Code": row["workcenterCode"],
                "Workcenter_Status": master.statuses[status]["description"],
                "Workcenter_Status_Color": {"production": "Green", "setup": "Blue", "down": "Red"}.get(
                    kind, "Gray"
                ),
                "_key": KEY_BASE["Workcenter"] + wc,
            }
        )
    wanted = inputs.get("Workcenter_Key")
    return [
        {k: v for k, v in r.items() if k != "_key"}
        for r in rows
        if wanted in (None, "") or r["_key"] == int(str(wanted))
    ]


def checksheets(plant: Plant, now: int, inputs: Inputs) -> list[Row]:
    """4142: checksheets taken in [Start_Date, End_Date)."""
    begin, end = _window(inputs, now)
    rows = []
    for _, number, wc, job in plant.history.checksheets(begin, end, now):
        sheet = plant.history.checksheet(number, now) or {}
        part_index = plant.jobs.part[job]
        part = plant.master.parts[part_index]
        inspector = plant.history.inspector(job, number % 1000)
        rows.append(
            {
                "Checksheet_No": number,
                "Checksheet_Date": sheet["inspectionDateTime"],
                "Checksheet_Type": "SPC",
                "Inspection_Mode": sheet["inspectionMode"],
                "Part_Key": KEY_BASE["Part"] + part_index,
                "Part_No": part.row["number"],
                "Part_Revision": part.row["revision"],
                "Operation_No": part.operations[-1]["operationNumber"],
                "Operation_Code": part.operations[-1]["_code"],
                "Workcenter_Key": KEY_BASE["Workcenter"] + wc,
                "Workcenter_Code": plant.master.workcenters[wc]["workcenterCode"],
                "Job_Key": KEY_BASE["Job"] + job,
                "Job_No": job_number(job),
                "Inspector": f"{inspector['firstName']} {inspector['lastName']}",
                "Out_Of_Spec": sheet["outOfSpecification"],
                "Note": None,
            }
        )
    return _filtered(
        rows, inputs, {"Part_Key": "Part_Key", "Workcenter_Key": "Workcenter_Key", "Job_Key": "Job_Key"}
    )


def specifications(plant: Plant, now: int, inputs: Inputs) -> list[Row]:
    """6429: the part specifications with their limits."""
    parts = plant.master.part_by_id
    rows = []
    for index, spec in enumerate(plant.master.specs):
        tolerance = spec["toleranceType"]
        rows.append(
            {
                "Specification_Key": 7_000_000 + index,
                "Specification_No": spec["specificationNumber"],
                "Part_Key": KEY_BASE["Part"] + parts[spec["partId"]],
                "Part_No": spec["partNumber"],
                "Part_Revision": spec["partRevision"],
                "Description": spec["description"],
                "Target": tolerance["target"],
                "Upper_Limit": round(tolerance["target"] + tolerance["targetPlus"], 4),
                "Lower_Limit": round(tolerance["target"] - tolerance["targetMinus"], 4),
                "Unit": tolerance["unit"],
                "Gage_Type": spec["defaultGageType"],
                "Customer_Specified": spec["customerSpecified"],
                "Update_Date": spec["updatedDateTime"],
            }
        )
    return _filtered(rows, inputs, {"Part_Key": "Part_Key"})


def problem_logs(plant: Plant, now: int, inputs: Inputs) -> list[Row]:
    """19938: problems reported in [Start_Date, End_Date); closed three days after they were raised."""
    begin, end = _window(inputs, now)
    master, seed = plant.master, plant.seed
    rows = []
    for at, key, wc, job in plant.history.problems(begin, end, now):
        part = master.parts[plant.jobs.part[job]] if job is not None else None
        closed = at + 3 * DAY
        reporter = master.employees[mix(seed, 24, key) % len(master.employees)]
        rows.append(
            {
                "Problem_Log_Key": key,
                "Problem_Date": emit(at, mix(seed, 26, key)),
                "Problem_Type": pick(PROBLEM_TYPES, seed, 24, key, 1),
                "Problem_Category": pick(("Internal", "Customer", "Supplier"), seed, 24, key, 2),
                "Description": f"{pick(PROBLEM_TYPES, seed, 24, key, 1)} issue on "
                f"{master.workcenters[wc]['workcenterCode']}",
                "Status": "Closed" if closed <= now else "Open",
                "Severity": 1 + mix(seed, 24, key, 3) % 3,
                "Part_Key": KEY_BASE["Part"] + part.index if part else None,
                "Part_No": part.row["number"] if part else None,
                "Workcenter_Key": KEY_BASE["Workcenter"] + wc,
                "Workcenter_Code": master.workcenters[wc]["workcenterCode"],
                "Job_No": job_number(job) if job is not None else None,
                "Reported_By": f"{reporter['firstName']} {reporter['lastName']}",
                "Closed_Date": emit(closed, mix(seed, 26, key, 1)) if closed <= now else None,
            }
        )
    return _filtered(rows, inputs, {"Workcenter_Key": "Workcenter_Key", "Status": "Status"})


def _fields(spec: str) -> tuple[Field, ...]:
    return tuple(Field(name, kind) for name, kind in (item.split(":") for item in spec.split()))


@dataclass(frozen=True)
class Model:
    """What the simulator knows of a source whose metadata Plex publishes only as counts: the inputs it
    applies and the columns it fills (the rest of the counts are invented: `Input_NN`, `Column_NN`)."""

    inputs: tuple[Field, ...]
    columns: tuple[Field, ...]
    rows: Callable[[Plant, int, Inputs], list[Row]]


_DATES = "Start_Date:datetime End_Date:datetime"
MODELS: dict[int, Model] = {
    18765: Model(
        _fields(
            f"{_DATES} Part_Key:int Workcenter_Code:varchar Workcenter_Keys:varchar Building_Key:int "
            " Workcenter_Group:varchar Workcenter_Type:varchar Part_Status:varchar"
        ),
        (),
        daily_performance,
    ),
    22870: Model(_fields("Workcenter_Key:int"), (), workcenter_performance),
    4142: Model(
        _fields(f"{_DATES} Part_Key:int Workcenter_Key:int Job_Key:int"),
        _fields(
            "Checksheet_No:int Checksheet_Date:datetime Checksheet_Type:varchar Inspection_Mode:varchar "
            "Part_Key:int Part_No:varchar Part_Revision:varchar Operation_No:int Operation_Code:varchar "
            "Workcenter_Key:int Workcenter_Code:varchar Job_Key:int Job_No:varchar Inspector:varchar "
            "Out_Of_Spec:bit Note:varchar"
        ),
        checksheets,
    ),
    6429: Model(
        _fields("Part_Key:int"),
        _fields(
            "Specification_Key:int Specification_No:varchar Part_Key:int Part_No:varchar "
            "Part_Revision:varchar Description:varchar Target:decimal Upper_Limit:decimal "
            "Lower_Limit:decimal Unit:varchar Gage_Type:varchar Customer_Specified:bit Update_Date:datetime"
        ),
        specifications,
    ),
    19938: Model(
        _fields(f"{_DATES} Workcenter_Key:int Status:varchar"),
        _fields(
            "Problem_Log_Key:int Problem_Date:datetime Problem_Type:varchar Problem_Category:varchar "
            "Description:varchar Status:varchar Severity:int Part_Key:int Part_No:varchar "
            "Workcenter_Key:int Workcenter_Code:varchar Job_No:varchar Reported_By:varchar "
            "Closed_Date:datetime"
        ),
        problem_logs,
    ),
}


def _padded(known: tuple[Field, ...], count: int, filler: str) -> tuple[Field, ...]:
    """The known fields, then invented ones up to Plex's published count."""
    if len(known) > count:
        raise ValueError(f"{len(known)} fields modelled where Plex publishes {count}")
    return known + tuple(Field(f"{filler}_{n:02d}", "varchar") for n in range(len(known) + 1, count + 1))


def _no_rows(plant: Plant, now: int, inputs: Inputs) -> list[Row]:
    return []


def _source(spec: DataSourceSpec) -> Source:
    model = MODELS.get(spec.id)
    if spec.inputs is not None:
        inputs = tuple(Field(name, kind, required) for name, kind, required in spec.inputs)
    else:
        inputs = _padded(model.inputs if model else (), spec.input_count, "Input")
    if spec.columns is not None:
        columns = tuple(Field(name, kind) for name, kind in spec.columns)
    else:
        columns = _padded(model.columns if model else (), spec.output_count, "Column")
    return Source(
        spec.id,
        spec.name,
        f"{spec.database}: {spec.name}",
        inputs,
        columns,
        model.rows if model else _no_rows,
        spec.row_limit,
        frozenset(f.name for f in model.inputs) if model else frozenset(),
    )


SOURCES: dict[int, Source] = {source_id: _source(spec) for source_id, spec in datasource_specs().items()}
MODELLED = frozenset(MODELS)
_INTEGER_RANGE = {"smallint": 2**15, "int": 2**31, "bigint": 2**63}


def _type_ok(kind: str, value: Any) -> bool:
    """Whether a JSON value converts to the input's published type, as Plex requires."""
    if kind in _INTEGER_RANGE:
        if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
            value = int(value)
        bound = _INTEGER_RANGE[kind]
        return isinstance(value, int) and not isinstance(value, bool) and -bound <= value < bound
    if kind == "bit":
        return isinstance(value, bool) or str(value).lower() in ("true", "false", "0", "1")
    if kind == "decimal":
        if isinstance(value, str):
            return bool(re.fullmatch(r"-?\d+(\.\d+)?", value))
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str | int | float) and not isinstance(value, bool)  # varchar


def _check_input(source: Source, spec: Field, value: Any, transaction: str) -> None:
    def fail(code: str, message: str) -> errors.PlexError:
        return errors.datasource_error(400, code, message, transaction)

    if value is None:
        if not spec.nullable:
            raise fail("DATA_SOURCE_INPUT_NOT_NULLABLE", f"Input '{spec.name}' cannot be null.")
        return
    if spec.type == "datetime":
        if not isinstance(value, str):
            raise fail("DATA_SOURCE_INPUT_TYPE_MISMATCH", f"Input '{spec.name}' must be a date string.")
        try:
            parse_strict(value)
        except DateFormatError:
            raise fail(
                "DATA_SOURCE_INPUT_FORMAT_INVALID", f"Input '{spec.name}' is not a valid date: {value!r}."
            ) from None
    elif not _type_ok(spec.type, value):
        raise fail(
            "DATA_SOURCE_INPUT_TYPE_MISMATCH", f"Input '{spec.name}' must be a {spec.type}, got {value!r}."
        )
    if spec.name not in source.applied and value not in ("", False, 0, "0", "false"):
        raise fail(
            "DATA_SOURCE_INPUT_NOT_ACCESSIBLE", f"not supported by the simulated Plex: input '{spec.name}'"
        )


def validate(source: Source, inputs: Inputs, transaction: str) -> dict[str, Any]:
    by_name = {spec.name: spec for spec in source.inputs}
    for name in inputs:
        if name not in by_name:
            raise errors.datasource_error(
                400,
                "DATA_SOURCE_INPUT_NOT_FOUND",
                f"Input '{name}' does not exist on data source '{source.id}'.",
                transaction,
            )
    for spec in source.inputs:
        if spec.name not in inputs:
            if spec.required:
                raise errors.datasource_error(
                    400, "DATA_SOURCE_INPUT_REQUIRED", f"Input '{spec.name}' is required.", transaction
                )
            continue
        _check_input(source, spec, inputs[spec.name], transaction)
    return dict(inputs)


def basic_user(header: str | None) -> tuple[str, str] | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


DATE_TYPES = frozenset({"date", "datetime", "smalldatetime"})
"""Column types whose values a tenant on a plant clock sends as local text."""


def local_text(value: object, zone: ZoneInfo) -> object:
    """An ISO UTC date output as a tenant with a plant time zone shows it: the plant's wall clock as
    `MM/DD/YYYY hh:mm:ss AM`, without a zone (the varchar form of UX data sources)."""
    if not isinstance(value, str):
        return value
    instant = datetime.fromtimestamp(parse_strict(value) / 1000, tz=UTC)
    return instant.astimezone(zone).strftime("%m/%d/%Y %I:%M:%S %p")


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"plant_zone {name!r} is not an IANA time zone such as America/Detroit") from None


class DataSources:
    """Users, grants, transaction numbers and the execute/metadata/identity routes.

    `plant_zone` (an IANA name) is the switch for a tenant on a plant clock: date outputs then come out as
    local text without a zone; None keeps ISO UTC."""

    def __init__(
        self,
        plant: Plant,
        clock_ms: Callable[[], int],
        user: str,
        password: str,
        flag: str,
        plant_zone: str | None = None,
    ) -> None:
        self.zone = None if plant_zone is None else _zone(plant_zone)
        self.plant = plant
        self.clock_ms = clock_ms
        self.users = {user: password}
        self.grants: dict[str, set[int]] = {user: set(MODELLED)}
        self.flag = flag

    def transaction(self) -> str:
        """Plex gives every request its own transaction number, across restarts too: a random UUID."""
        return str(uuid.uuid4())

    def authenticate(self, header: str | None) -> str:
        found = basic_user(header)
        if found is None or self.users.get(found[0]) != found[1]:
            raise errors.datasource_error(
                401, "USER_ACCESS_DENIED", "The credentials are not valid.", self.transaction()
            )
        return found[0]

    def rows(self, source_id: int, inputs: Inputs) -> list[Row]:
        """Every row the source answers now, without the row limit (validated like an execute)."""
        source = self._source(source_id, self.transaction())
        rows = source.answer(self.plant, self.clock_ms(), validate(source, inputs, "truth"))
        return self._dated(source, rows)

    def _dated(self, source: Source, rows: list[Row]) -> list[Row]:
        if self.zone is None:
            return rows
        dates = [c.name for c in source.columns if c.type in DATE_TYPES]
        zone = self.zone
        return [{**row, **{n: local_text(row.get(n), zone) for n in dates if n in row}} for row in rows]

    def _source(self, source_id: int, transaction: str) -> Source:
        source = SOURCES.get(source_id)
        if source is None:  # not in the catalogue; the Data Source API documents no 404
            raise errors.datasource_error(
                400, "DATA_SOURCE_NOT_FOUND", f"Data source '{source_id}' was not found.", transaction
            )
        return source

    def handle(
        self, method: str, path: str, query: Mapping[str, str], body: bytes, user: str
    ) -> tuple[str, Any]:
        transaction = self.transaction()
        parts = path.strip("/").split("/")  # api, datasources, ...
        if parts[2:] == ["search"] and method == "GET":
            needle = query.get("name", "").lower()
            return "/api/datasources/search", [
                {"id": s.id, "name": s.name, "description": s.description}
                for s in SOURCES.values()
                if needle in s.name.lower() and s.id in self.grants.get(user, set())
            ]
        if len(parts) in (3, 4) and parts[2].isdigit() and parts[3:] in ([], ["execute"]):
            execute = parts[3:] == ["execute"]
            template = "/api/datasources/{id}/execute" if execute else "/api/datasources/{id}"
            if method != ("POST" if execute else "GET"):
                raise errors.datasource_error(
                    405, "METHOD_NOT_ALLOWED", f"{method} is not allowed here.", transaction
                )
            source = self._source(int(parts[2]), transaction)
            if source.id not in self.grants.get(user, set()):
                raise errors.datasource_error(
                    403,
                    "DATA_SOURCE_ACCESS_DENIED",
                    f"You do not have access to data source '{source.id}'.",
                    transaction,
                )
            if not execute:
                return template, source.metadata()
            return template, self._execute(source, query, body, transaction)
        raise errors.datasource_error(404, "DATA_SOURCE_OBJECT_NOT_FOUND", f"Nothing at {path}.", transaction)

    def _execute(self, source: Source, query: Mapping[str, str], body: bytes, transaction: str) -> Row:
        try:
            payload = orjson.loads(body or b"{}")
        except orjson.JSONDecodeError:
            raise errors.datasource_error(
                400, "DATA_SOURCE_INPUT_FORMAT_INVALID", "The body is not JSON.", transaction
            ) from None
        flat = query.get("format") == "2"
        inputs = payload if flat else payload.get("inputs", {}) if isinstance(payload, dict) else None
        if not isinstance(inputs, dict):
            raise errors.datasource_error(
                400, "DATA_SOURCE_INPUT_FORMAT_INVALID", "Inputs must be an object.", transaction
            )
        rows = source.answer(self.plant, self.clock_ms(), validate(source, inputs, transaction))
        rows = self._dated(source, rows)
        exceeded = len(rows) > source.row_limit
        rows = rows[: source.row_limit]
        columns = [c.name for c in source.columns]
        if flat:
            answer: Row = {"outputs": {}, "rows": rows, "transactionNo": transaction}
        else:
            table: Row = {"columns": columns, "rows": [[row[c] for c in columns] for row in rows]}
            if self.flag == "limitExceeded":
                table["limitExceeded"] = exceeded
            answer = {"outputs": {}, "tables": [table], "transactionNo": transaction}
        if self.flag != "limitExceeded" or flat:
            answer[self.flag] = exceeded
        return answer

    def identity_mapping(self, path: str, payload: Any) -> list[Row]:
        """`ids-to-keys` / `keys-to-ids` for one standard object (Part, Workcenter, ...), at most 5000."""
        direction = path.rsplit("/", 1)[-1]
        if direction not in ("ids-to-keys", "keys-to-ids") or not isinstance(payload, dict):
            raise errors.not_found(path)
        kind = payload.get("standardObjectName")
        if kind not in KEY_BASE:
            raise errors.invalid(
                "ARGUMENT_INVALID",
                "standardObjectName",
                [str(kind)],
                f"Unknown standard object {kind!r}.",
                sorted(KEY_BASE),
            )
        wanted = (
            payload.get("ids")
            if direction == "ids-to-keys"
            else payload.get("keys", payload.get("recordIdentifiers"))
        )
        if not isinstance(wanted, list) or len(wanted) > MAX_MAPPINGS:
            raise errors.invalid(
                "ARGUMENT_INVALID",
                "ids" if direction == "ids-to-keys" else "keys",
                [str(len(wanted)) if isinstance(wanted, list) else str(wanted)],
                f"Give a list of at most {MAX_MAPPINGS} records.",
            )
        mapping = self.plant.keys(kind)
        if direction == "ids-to-keys":
            return [
                {"id": str(v).lower(), "key": mapping[str(v).lower()]}
                for v in wanted
                if str(v).lower() in mapping
            ]
        reverse = {key: uuid for uuid, key in mapping.items()}
        return [
            {"key": int(v), "id": reverse[int(v)]} for v in wanted if str(v).isdigit() and int(v) in reverse
        ]
