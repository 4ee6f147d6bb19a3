"""History as a pure function of (seed, window): production, scrap, workcenter-status and labor entries,
container moves and adjustments, checksheets and problem logs. Nothing is stored; a row exists once its
timestamp is before the simulated now. Rows carry no id, as in Plex."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from plex_cdf.sim.plex.jobs import NORMAL, JobTable, job_number
from plex_cdf.sim.plex.master import (
    ADJUST,
    CHECKSHEET,
    HISTORY,
    MOVE,
    PROBLEM,
    ContainerBase,
    Master,
    Row,
    number_revision,
    style_of,
)
from plex_cdf.sim.plex.mix import mix, pick, rng, unit
from plex_cdf.sim.plex.timefmt import DAY, HOUR, MINUTE, emit, floor_day

SCRAP_SHARE = 0.06
SCRAP_DELAY_MS = (60_000, 300_000)
SCRAP_REASONS = ("Dimensional", "Porosity", "Surface Finish", "Setup Scrap", "Material Defect")
ADJUST_CODES = ("Cycle Count", "Correction", "Damaged", "Found")
SHIFT_MS = 8 * HOUR
CHECK_EVERY_MS = 4 * HOUR
PROBLEM_TYPES = ("Quality", "Machine", "Material", "Safety")


# The part and operation a history row names (in Plex's order), and the job fields that lead them.
PART_FIELDS = (
    "partId",
    "partNumber",
    "revision",
    "partNumberRevision",
    "partOperationId",
    "operationNumber",
    "operationCode",
)
JOB_FIELDS = ("jobId", "jobCode", *PART_FIELDS)


class History:
    """Windowed history of one plant; every method answers rows with their time in [begin, end) and
    before `now`, in time order."""

    def __init__(self, master: Master, jobs: JobTable) -> None:
        self.master = master
        self.jobs = jobs
        self.seed = master.seed
        self._status_day = lru_cache(maxsize=4096)(self._status_day_uncached)

    # -- shared pieces ---------------------------------------------------------------------------------
    def _job_fields(self, job: int | None) -> Row:
        if job is None:
            return dict.fromkeys(JOB_FIELDS)
        part = self.master.parts[self.jobs.part[job]]
        op = part.operations[-1]
        return {
            "jobId": self.jobs.ids[job],
            "jobCode": job_number(job),
            "partId": part.row["id"],
            "partNumber": part.row["number"],
            "revision": part.row["revision"],
            "partNumberRevision": number_revision(part.row),
            "partOperationId": op["id"],
            "operationNumber": op["operationNumber"],
            "operationCode": op["_code"],
        }

    def _workcenter_fields(self, wc: int) -> Row:
        row = self.master.workcenters[wc]
        return {"workcenterId": row["workcenterId"], "workcenterCode": row["workcenterCode"]}

    def operator(self, job: int, shift: int) -> Row:
        employees = self.master.employees
        return employees[mix(self.seed, HISTORY, job, shift, 7) % len(employees)]

    def _normal_jobs(self, begin: int, end: int) -> Iterator[tuple[int, int]]:
        for wc in range(len(self.master.workcenters)):
            for job in self.jobs.jobs_on(wc, begin, end):
                if self.jobs.flag[job] == NORMAL:
                    yield wc, job

    # -- production and scrap --------------------------------------------------------------------------
    def entry_slots(self, begin: int, end: int) -> Iterator[tuple[int, int, int, int]]:
        """(time, workcenter, job, k) of every production entry with time in [begin, end)."""
        jobs = self.jobs
        for wc, job in self._normal_jobs(begin, end):
            first = max(0, (begin - jobs.start[job]) // jobs.pace[job] - 2)
            last = min(jobs.entries[job], (end - jobs.start[job]) // jobs.pace[job] + 1)
            for k in range(first, last):
                at = jobs.entry_time(job, k)
                if begin <= at < end:
                    yield at, wc, job, k

    def production_entries(self, begin: int, end: int, now: int) -> list[Row]:
        found = sorted(self.entry_slots(begin, min(end, now)))
        return [self._production_row(*item) for item in found]

    def _production_row(self, at: int, wc: int, job: int, k: int) -> Row:
        employee = self.operator(job, at // SHIFT_MS)
        quantity = float(self.jobs.per_entry[job])
        row: Row = {
            "transactionDate": emit(at, style_of(self.seed, HISTORY, job, k)),
            **self._workcenter_fields(wc),
            "serialNo": f"P{job:07d}{k:04d}",
            "lotNo": None,
            "employeeId": employee["id"],
            "employeeName": f"{employee['firstName']} {employee['lastName']}",
            "quantity": quantity,
        }
        fields = self._job_fields(job)
        row.update({"jobId": fields["jobId"], "jobCode": fields["jobCode"], "jobNo": fields["jobCode"]})
        row.update({key: fields[key] for key in PART_FIELDS})
        row.update(dict.fromkeys(("masterUnitNo", "masterUnitId", "lotId", "heatCode", "heatNo", "heatId")))
        row.update(
            {
                "unit": "Ea",
                "trackingNo": None,
                "shelfDateTime": None,
                "manufacturedDateTime": row["transactionDate"],
                "bestByDateTime": None,
                "useByDateTime": None,
                "sellByDateTime": None,
            }
        )
        return row

    def scrap_time(self, job: int, k: int, at: int) -> int | None:
        if unit(self.seed, HISTORY, job, k, 1) >= SCRAP_SHARE:
            return None
        low, high = SCRAP_DELAY_MS
        return at + low + mix(self.seed, HISTORY, job, k, 2) % (high - low)

    def scrap_quantity(self, job: int, k: int) -> float:
        return float(1 + mix(self.seed, HISTORY, job, k, 5) % 3)

    def scrap_entries(self, begin: int, end: int, now: int) -> list[Row]:
        limit = min(end, now)
        found = []
        for at, wc, job, k in self.entry_slots(begin - SCRAP_DELAY_MS[1], limit):
            scrapped = self.scrap_time(job, k, at)
            if scrapped is not None and begin <= scrapped < limit:
                found.append((scrapped, wc, job, k))
        found.sort()
        return [self._scrap_row(*item) for item in found]

    def _scrap_row(self, at: int, wc: int, job: int, k: int) -> Row:
        fields = self._job_fields(job)
        return {
            "transactionDate": emit(at, style_of(self.seed, HISTORY, job, k, 3)),
            "scrapReason": pick(SCRAP_REASONS, self.seed, HISTORY, job, k, 4),
            "transactionType": "Scrap",
            "quantity": self.scrap_quantity(job, k),
            **self._workcenter_fields(wc),
            "jobId": fields["jobId"],
            "jobCode": fields["jobCode"],
            **{key: fields[key] for key in PART_FIELDS},
            "serialNo": f"P{job:07d}{k:04d}",
        }

    # -- workcenter status -----------------------------------------------------------------------------
    def _status_day_uncached(self, wc: int, day: int) -> tuple[tuple[int, int, int, int | None], ...]:
        """(logDate, duration ms, status index, job) segments of one workcenter's UTC day."""
        jobs, day_end, cursor = self.jobs, day + DAY, day
        segments = []
        while cursor < day_end:
            job = jobs.running(wc, cursor)
            if job is None:
                following = jobs.next_start(wc, cursor)
                stop, status = min(following or day_end, day_end), 2  # Idle
            elif cursor < jobs.setup_end(job):
                stop, status = min(jobs.setup_end(job), day_end), 1  # Setup
            else:
                draw = rng(self.seed, HISTORY, wc, cursor)
                if draw.random() < 0.85:
                    stop, status = cursor + draw.randrange(30, 180) * MINUTE, 0  # Running
                else:
                    stop, status = cursor + draw.randrange(10, 60) * MINUTE, draw.choice((3, 4, 5))
                stop = min(stop, jobs.completion(job) + 1, day_end)
            stop = min(-(-stop // 1000) * 1000, day_end)  # Plex logs whole seconds (`duration` in seconds)
            segments.append((cursor, stop - cursor, status, job))
            cursor = stop
        return tuple(segments)

    def status_segments(self, begin: int, end: int) -> Iterator[tuple[int, int, int, int, int | None]]:
        """(logDate, workcenter, duration ms, status, job) with logDate in [begin, end), time-ordered."""
        found = []
        for day in range(max(floor_day(begin), self.master.origin_ms), end, DAY):
            for wc in range(len(self.master.workcenters)):
                for at, length, status, job in self._status_day(wc, day):
                    if begin <= at < end:
                        found.append((at, wc, length, status, job))
        found.sort(key=lambda item: (item[0], item[1]))
        return iter(found)

    def status_at(self, wc: int, at: int) -> tuple[int, int | None]:
        for start, length, status, job in self._status_day(wc, floor_day(at)):
            if start <= at < start + length:
                return status, job
        return 2, None

    def workcenter_status_entries(self, begin: int, end: int, now: int) -> list[Row]:
        rows = []
        for at, wc, length, status, job in self.status_segments(begin, min(end, now)):
            fields = self._job_fields(job)
            rows.append(
                {
                    **self._workcenter_fields(wc),
                    "logDate": emit(at, style_of(self.seed, HISTORY, wc, at)),
                    "workcenterStatus": self.master.statuses[status]["description"],
                    **fields,
                    "duration": length // 1000,  # seconds, as the OpenAPI document states
                }
            )
        return rows

    # -- labor -----------------------------------------------------------------------------------------
    def labor_entries(self, begin: int, end: int, now: int) -> list[Row]:
        """One row per operator shift on a running job; `duration` in minutes."""
        limit = min(end, now)
        found = []
        for wc, job in self._normal_jobs(begin - SHIFT_MS, limit):
            run_end = self.jobs.completion(job)
            cursor = int(self.jobs.start[job])
            while cursor < run_end:
                stop = min(run_end, (cursor // SHIFT_MS + 1) * SHIFT_MS)
                if begin <= cursor < limit:
                    found.append((cursor, wc, job, stop))
                cursor = stop
        found.sort()
        return [self._labor_row(*item) for item in found]

    def _labor_row(self, at: int, wc: int, job: int, stop: int) -> Row:
        employee = self.operator(job, at // SHIFT_MS)
        return {
            "employee": f"{employee['firstName']} {employee['lastName']}",
            "employeeId": employee["id"],
            "accountId": employee["id"],
            "costActivity": "Setup" if at == self.jobs.start[job] else "Run",
            **self._workcenter_fields(wc),
            **self._job_fields(job),
            "beginTime": emit(at, style_of(self.seed, HISTORY, job, at)),
            "endTime": emit(stop, style_of(self.seed, HISTORY, job, stop)),
            "duration": (stop - at) // MINUTE,
        }

    # -- containers ------------------------------------------------------------------------------------
    def _events_before(self, first: int | None, period: int, tag: int, index: int, at: int) -> int:
        if first is None or at <= first:
            return 0
        slots = (at - first) // period
        return int(slots + (1 if self._event_time(first, period, tag, index, slots) < at else 0))

    def _event_time(self, first: int, period: int, tag: int, index: int, k: int) -> int:
        return first + k * period + mix(self.seed, tag, index, k) % HOUR

    def location_after(self, container: ContainerBase, moves: int) -> int:
        inventory = self.master.inventory_locations
        home = inventory.index(container.home_location)
        step = 1 + mix(self.seed, MOVE, container.index, 3) % max(1, len(inventory) - 1)
        return inventory[(home + moves * step) % len(inventory)]

    def quantity_at(self, container: ContainerBase, at: int) -> int:
        done = self._events_before(
            container.adjust_first_ms, container.adjust_period_ms, ADJUST, container.index, at
        )
        return container.base_quantity + sum(self._adjust_delta(container, k) for k in range(done))

    def _adjust_delta(self, container: ContainerBase, k: int) -> int:
        return mix(self.seed, ADJUST, container.index, k, 4) % 7 - 3 or 1

    def container_state(self, container: ContainerBase, now: int) -> Row:
        """The container as `/inventory/v1/inventory-tracking/containers` shows it at `now`."""
        moves = self._events_before(
            container.move_first_ms, container.move_period_ms, MOVE, container.index, now
        )
        adjusts = self._events_before(
            container.adjust_first_ms, container.adjust_period_ms, ADJUST, container.index, now
        )
        location = self.master.locations[self.location_after(container, moves)]
        quantity = self.quantity_at(container, now)
        changed = [container.row["addDateTime"]]
        updated = 0
        if moves:
            updated = self._event_time(
                container.move_first_ms or 0, container.move_period_ms, MOVE, container.index, moves - 1
            )
        if adjusts:
            updated = max(
                updated,
                self._event_time(
                    container.adjust_first_ms or 0,
                    container.adjust_period_ms,
                    ADJUST,
                    container.index,
                    adjusts - 1,
                ),
            )
        net = round(quantity * 0.25, 3)
        row = dict(container.row)
        row.update(
            {
                "locationId": location["locationId"],
                "location": location["locationCode"],
                "quantity": float(quantity),
                "quantityInventoryUnit": "Ea",  # documented as text: the unit of `quantity`
                "netWeight": net,
                "grossWeight": round(net + row["tareWeight"], 3),
                "updateDateTime": emit(updated, style_of(self.seed, MOVE, container.index, updated))
                if updated
                else changed[0],
            }
        )
        return row

    def _container_part_fields(self, container: ContainerBase) -> Row:
        row = container.row
        return {
            "partId": row["partId"],
            "partNumber": row["partNo"],
            "revision": row["revision"],
            "partNumberRevision": row["partNoRevision"],
            "partOperationId": row["partOperationId"],
            "operationCode": row["operationCode"],
            "operationNumber": row["operationNo"],
        }

    def _container_events(self, tag: int, begin: int, end: int) -> list[tuple[int, int, int]]:
        found = []
        for container in self.master.containers:
            first, period = (
                (container.move_first_ms, container.move_period_ms)
                if tag == MOVE
                else (container.adjust_first_ms, container.adjust_period_ms)
            )
            low = self._events_before(first, period, tag, container.index, begin)
            high = self._events_before(first, period, tag, container.index, end)
            for k in range(low, high):
                found.append(
                    (self._event_time(first or 0, period, tag, container.index, k), container.index, k)
                )
        found.sort()
        return found

    def container_moves(self, begin: int, end: int, now: int) -> list[Row]:
        rows = []
        locations = self.master.locations
        for at, index, k in self._container_events(MOVE, begin, min(end, now)):
            container = self.master.containers[index]
            to, came = (
                locations[self.location_after(container, k + 1)],
                locations[self.location_after(container, k)],
            )
            quantity = self.quantity_at(container, at)
            rows.append(
                {
                    "adjustmentDate": emit(at, style_of(self.seed, MOVE, index, k)),
                    "serialNo": container.row["serialNo"],
                    "quantity": float(quantity),
                    "netWeight": round(quantity * 0.25, 3),
                    "adjustmentCode": "Location Move",
                    **self._container_part_fields(container),
                    "location": to["locationCode"],
                    "locationId": to["locationId"],
                    "movedFromLocation": came["locationCode"],
                    "movedFromLocationId": came["locationId"],
                }
            )
        return rows

    def container_adjustments(self, begin: int, end: int, now: int) -> list[Row]:
        rows = []
        for at, index, k in self._container_events(ADJUST, begin, min(end, now)):
            container = self.master.containers[index]
            moves = self._events_before(container.move_first_ms, container.move_period_ms, MOVE, index, at)
            location = self.master.locations[self.location_after(container, moves)]
            delta = self._adjust_delta(container, k)
            rows.append(
                {
                    "adjustmentDate": emit(at, style_of(self.seed, ADJUST, index, k)),
                    "serialNo": container.row["serialNo"],
                    "quantity": float(delta),
                    "netWeight": round(delta * 0.25, 3),
                    "adjustmentCode": pick(ADJUST_CODES, self.seed, ADJUST, index, k, 5),
                    **self._container_part_fields(container),
                    "location": location["locationCode"],
                    "locationId": location["locationId"],
                }
            )
        return rows

    # -- quality ---------------------------------------------------------------------------------------
    def checksheets(self, begin: int, end: int, now: int) -> list[tuple[int, int, int, int]]:
        """(inspection time, checksheet number, workcenter, job), one every 4 hours of a running job."""
        limit = min(end, now)
        found = []
        for wc, job in self._normal_jobs(begin - CHECK_EVERY_MS, limit):
            q = max(0, (begin - int(self.jobs.start[job]) - 30 * MINUTE) // CHECK_EVERY_MS)
            while True:
                at = self.checksheet_time(job, q)
                if at >= limit or at >= self.jobs.completion(job):
                    break
                if at >= begin:
                    found.append((at, checksheet_number(job, q), wc, job))
                q += 1
        found.sort()
        return found

    def checksheet_time(self, job: int, q: int) -> int:
        return (
            int(self.jobs.start[job])
            + 30 * MINUTE
            + q * CHECK_EVERY_MS
            + mix(self.seed, CHECKSHEET, job, q) % MINUTE
        )

    def inspector(self, job: int, q: int) -> Row:
        employees = self.master.employees
        return employees[mix(self.seed, CHECKSHEET, job, q, 1) % len(employees)]

    def checksheet(self, number: int, now: int) -> Row | None:
        """`/quality/v1/checksheets/{id}`, or None when no such checksheet exists (yet)."""
        job, q = divmod(number, 1000)
        job -= 1
        if not 0 <= job < len(self.jobs) or self.jobs.flag[job] != NORMAL:
            return None
        at = self.checksheet_time(job, q)
        if at >= now or at >= self.jobs.completion(job):
            return None
        wc = self.jobs.workcenter[job]
        fields = self._job_fields(job)
        part = self.master.parts[self.jobs.part[job]]
        inspector = self.inspector(job, q)
        return {
            "checksheetNumber": number,
            "inspectionMode": "First Piece" if q == 0 else "In Process",
            "operationId": part.operations[-1]["operationId"],
            "inspectionDateTime": emit(at, style_of(self.seed, CHECKSHEET, job, q)),
            "partId": fields["partId"],
            "partNumber": fields["partNumber"],
            "partRevision": fields["revision"],
            "partOperationId": fields["partOperationId"],
            "workcenterId": self.master.workcenters[wc]["workcenterId"],
            "jobId": fields["jobId"],
            "jobOperationId": None,
            "spcChecksheetContainerText": None,
            "spcChecksheetHeatText": None,
            "spcChecksheetProductionText": None,
            "containerSerialNumbers": [],
            "inspectorEmployeeId": inspector["id"],
            "note": None,
            "outOfSpecification": unit(self.seed, CHECKSHEET, job, q, 2) < 0.04,
        }

    def problems(self, begin: int, end: int, now: int) -> list[tuple[int, int, int, int | None]]:
        """(reported time, problem key, workcenter, job running then)."""
        limit = min(end, now)
        found = []
        per_day = self.master.scale.problems_per_day
        for day in range(max(floor_day(begin), self.master.origin_ms), limit, DAY):
            draw = rng(self.seed, PROBLEM, day)
            for i in range(draw.randint(per_day // 2, per_day + per_day // 2)):
                at = day + draw.randrange(DAY)
                wc = draw.randrange(len(self.master.workcenters))
                if begin <= at < limit:
                    found.append((at, (day // DAY) * 1000 + i, wc, self.jobs.running(wc, at)))
        found.sort()
        return found


def checksheet_number(job: int, q: int) -> int:
    return (job + 1) * 1000 + q
