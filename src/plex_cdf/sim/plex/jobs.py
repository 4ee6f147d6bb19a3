"""Jobs kept compactly (parallel arrays, one slot per job) and rendered to Plex rows against the clock.

Each workcenter runs its jobs one after another on a timeline that starts where the plant's history begins
and reaches `future_days` past the start instant, so advancing the clock turns scheduled jobs into running
and complete ones. A job posts production entry k at a fixed pace: `start + (k + 1) * pace + jitter(k)`.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from plex_cdf.sim.plex.master import (
    JOB,
    JOB_OP,
    Master,
    Row,
    number_revision,
    style_of,
    workcenter_of_operation,
)
from plex_cdf.sim.plex.mix import make_uuid, mix, rng
from plex_cdf.sim.plex.timefmt import DAY, HOUR, MINUTE, emit

NORMAL, CANCELED, HOLD = 0, 1, 2
JITTER_MS = 20_000  # production entries land up to 20 s after their pace slot
SETUP_MS = (20 * MINUTE, 60 * MINUTE)


@dataclass
class JobTable:
    seed: int
    workcenter: array  # type: ignore[type-arg]
    part: array  # type: ignore[type-arg]
    start: array  # type: ignore[type-arg]
    pace: array  # type: ignore[type-arg]
    entries: array  # type: ignore[type-arg]
    per_entry: array  # type: ignore[type-arg]
    flag: array  # type: ignore[type-arg]
    created: array  # type: ignore[type-arg]
    due: array  # type: ignore[type-arg]
    by_workcenter: list[array]  # type: ignore[type-arg]
    starts_by_workcenter: list[array]  # type: ignore[type-arg]
    ids: list[str]
    done: array = field(default_factory=lambda: array("q"))  # type: ignore[type-arg]

    def __len__(self) -> int:
        return len(self.start)

    def entry_time(self, job: int, k: int) -> int:
        return int(self.start[job] + (k + 1) * self.pace[job] + mix(self.seed, JOB, job, k) % JITTER_MS)

    def completion(self, job: int) -> int:
        """When the last production entry posts; the job is Complete after it."""
        return int(self.done[job])

    def entries_before(self, job: int, now: int) -> int:
        if self.flag[job] != NORMAL or now <= self.start[job]:
            return 0
        slots = (now - self.start[job]) // self.pace[job]
        done = max(0, slots - 1) + (1 if slots >= 1 and self.entry_time(job, slots - 1) < now else 0)
        return int(min(self.entries[job], done))

    def setup_end(self, job: int) -> int:
        low, high = SETUP_MS
        return int(self.start[job] + low + mix(self.seed, JOB, job, -1) % (high - low))

    def jobs_on(self, workcenter: int, begin: int, end: int) -> list[int]:
        """Jobs of a workcenter whose run [start, completion) may touch [begin, end), in time order."""
        starts = self.starts_by_workcenter[workcenter]
        first = max(0, bisect_right(starts, begin) - 1)
        last = bisect_left(starts, end)
        return list(self.by_workcenter[workcenter][first:last])

    def running(self, workcenter: int, at: int) -> int | None:
        """The normal job that is running on a workcenter at an instant, if any."""
        starts = self.starts_by_workcenter[workcenter]
        slot = bisect_right(starts, at) - 1
        if slot < 0:
            return None
        job = self.by_workcenter[workcenter][slot]
        return job if self.flag[job] == NORMAL and at < self.completion(job) else None

    def next_start(self, workcenter: int, at: int) -> int | None:
        starts = self.starts_by_workcenter[workcenter]
        slot = bisect_right(starts, at)
        return int(starts[slot]) if slot < len(starts) else None


# Plex's jobs carry priority as a word (the predecessor learnt this the hard way).
PRIORITIES = ("Low", "Medium", "High")


def build_jobs(master: Master) -> JobTable:
    """Lay every workcenter's jobs end to end over history plus the scheduled future, then number them by
    start time."""
    seed, scale = master.seed, master.scale
    workcenters = len(master.workcenters)
    span = (scale.history_days + scale.future_days) * DAY
    laid: list[tuple[int, int, int, int, int, int, int, int, int]] = []
    busy = [wc for wc in range(workcenters) if master.parts_of_workcenter[wc]]  # the rest idle
    for position, wc in enumerate(busy):
        count = scale.jobs // len(busy) + (1 if position < scale.jobs % len(busy) else 0)
        draw = rng(seed, JOB, wc)
        slot = span // max(1, count)
        cursor = master.origin_ms + draw.randrange(0, HOUR * 12)
        own = master.parts_of_workcenter[wc]
        for _ in range(count):
            part = master.parts[own[draw.randrange(len(own))]]
            pace = int(part.entry_ms * draw.uniform(0.95, 1.35))
            length = int(slot * draw.uniform(0.55, 0.9))
            entries = max(1, (length - SETUP_MS[1]) // pace)
            roll = draw.random()
            flag = CANCELED if roll < 0.03 else HOLD if roll < 0.05 else NORMAL
            created = cursor - draw.randrange(DAY, 14 * DAY)
            due = cursor + length + draw.randrange(0, 3 * DAY)
            laid.append((cursor, wc, part.index, pace, entries, part.entry_quantity, flag, created, due))
            cursor += slot + draw.randrange(-slot // 10, slot // 10 + 1)
    laid.sort()
    columns = list(zip(*laid, strict=True)) if laid else [()] * 9
    table = JobTable(
        seed=seed,
        start=array("q", columns[0]),
        workcenter=array("i", columns[1]),
        part=array("i", columns[2]),
        pace=array("q", columns[3]),
        entries=array("i", columns[4]),
        per_entry=array("i", columns[5]),
        flag=array("b", columns[6]),
        created=array("q", columns[7]),
        due=array("q", columns[8]),
        by_workcenter=[array("i") for _ in range(workcenters)],
        starts_by_workcenter=[array("q") for _ in range(workcenters)],
        ids=[make_uuid(seed, JOB, j) for j in range(len(laid))],
    )
    for job, wc in enumerate(table.workcenter):
        table.by_workcenter[wc].append(job)
        table.starts_by_workcenter[wc].append(table.start[job])
        table.done.append(table.entry_time(job, table.entries[job] - 1))
    return table


def job_number(job: int) -> str:
    return f"{100001 + job}"


def job_status(table: JobTable, job: int, now: int) -> str:
    if table.flag[job] == CANCELED:
        return "Canceled"
    if table.flag[job] == HOLD:
        return "Hold"
    if now >= table.completion(job):
        return "Complete"
    if now >= table.start[job]:
        return "In Process"
    return "Scheduled" if table.start[job] - now <= 3 * DAY else "Open"


def render_job(master: Master, table: JobTable, job: int, now: int) -> Row:
    """The job as `/scheduling/v1/jobs` shows it at `now`."""
    part = master.parts[table.part[job]].row
    building = master.buildings[table.workcenter[job] % len(master.buildings)]
    status = job_status(table, job, now)
    seed = master.seed
    flavour = mix(seed, JOB, job, 3)  # one hash, its bit ranges pick code, priority and date styles
    return {
        "id": table.ids[job],
        "externalJobCode": f"EXT-{job:06d}" if flavour % 5 == 0 else None,
        "jobNumber": job_number(job),
        "createdDate": emit(table.created[job], flavour >> 8),
        "partId": part["id"],
        "partNumber": part["number"],
        "partRevision": part["revision"],
        "partNumberRevision": number_revision(part),
        "dueDate": emit(table.due[job], flavour >> 11),
        "completedDate": emit(table.completion(job), flavour >> 14) if status == "Complete" else None,
        "quantity": float(table.entries[job] * table.per_entry[job]),
        "quantityCompleted": float(table.entries_before(job, now) * table.per_entry[job]),
        "jobStatus": status,
        "buildingId": building["id"],
        "buildingCode": building["buildingCode"],
        "jobType": "Production",
        "earliestStartDateTime": emit(table.start[job], flavour >> 17),
        "priority": None if flavour % 3 == 0 else PRIORITIES[flavour % len(PRIORITIES)],
    }


def visible_jobs(table: JobTable, now: int) -> list[int]:
    return [job for job in range(len(table)) if table.created[job] <= now]


def render_job_operations(master: Master, table: JobTable, job: int, now: int) -> list[Row]:
    """`/scheduling/v1/jobs/{id}/operations`: one row per routing step; the last one runs on the job's
    workcenter, earlier ones on their approved workcenters ahead of it. A job on hold or canceled never
    runs (its quantity completed stays 0), so none of its operations progresses either. The rate is in
    pieces per hour, one of the three units the document names ("hrs", "hrs/pc", "pcs/hr")."""
    part = master.parts[table.part[job]]
    position = master.made_parts.index(part.index) if part.index in master.made_parts else 0
    job_row = render_job(master, table, job, now)
    rows = []
    count = len(part.operations)
    for o, op in enumerate(part.operations):
        last = o == count - 1
        wc_index = (
            table.workcenter[job]
            if last
            else workcenter_of_operation(position, o, count, len(master.workcenters))
        )
        wc = master.workcenters[wc_index]
        scheduled = int(table.start[job] - (count - 1 - o) * 8 * HOUR)
        runs = table.flag[job] == NORMAL
        done = job_row["jobStatus"] == "Complete" or (runs and not last and now >= table.start[job])
        rows.append(
            {
                "jobId": job_row["id"],
                "jobNumber": job_row["jobNumber"],
                "partId": job_row["partId"],
                "partNumber": job_row["partNumber"],
                "partRevision": job_row["partRevision"],
                "partNumberRevision": job_row["partNumberRevision"],
                "jobOperationId": make_uuid(master.seed, JOB_OP, job, o),
                "jobOperationNumber": op["operationNumber"],
                "operationCode": op["_code"],
                "workcenterId": wc["workcenterId"],
                "workcenterCode": wc["workcenterCode"],
                "quantity": job_row["quantity"],
                "quantityCompleted": job_row["quantity"]
                if done and not last
                else job_row["quantityCompleted"],
                "dueDate": job_row["dueDate"],
                "scheduledStartDate": emit(scheduled, style_of(master.seed, JOB_OP, job, o)),
                "completedDate": (job_row["completedDate"] if last else emit(int(table.start[job]), 0))
                if done
                else None,
                "jobOperationStatus": "Complete"
                if done
                else (
                    "In Process"
                    if last and now >= table.start[job] and job_row["jobStatus"] == "In Process"
                    else "Open"
                ),
                "setupTime": 0.5,
                "rate": round(table.per_entry[job] * HOUR / table.pace[job], 2),
                "unitOfMeasure": "pcs/hr",
                "runTime": round(table.entries[job] * table.pace[job] / HOUR, 2),
                "batchCriteria": None,
                "partOperationType": "Production",
                "batchOperation": False,
                "preProcessOperation": False,
            }
        )
    return rows
