"""Assembles a running plex-cdf from its configuration.

One CDF client per process; per tenant (PCN) one Plex client (with its own call budget), one sink and one
runner per domain, all sharing one state store. The scheduler runs the domains; this module only wires.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from cognite.client import AsyncCogniteClient
from cognite.client.data_classes import DataSetWrite

from plex_cdf.cdf.client import CdfSettings, RenewableCredentials, build_client
from plex_cdf.cdf.dm.configured import views_of
from plex_cdf.cdf.dm.mapping import Spaces
from plex_cdf.cdf.dm.sink import FLUSH_ITEMS as DM_FLUSH_ITEMS
from plex_cdf.cdf.dm.sink import DataModelingSink
from plex_cdf.cdf.pipeline import PipelineReporter
from plex_cdf.cdf.remote import RemoteConfiguration
from plex_cdf.cdf.writer import DryRunSink, Writer
from plex_cdf.config import CogniteConfig, Config, ConfigError, Tenant
from plex_cdf.config.masking import SecretMasker, mask_secrets
from plex_cdf.domains.configured import check_against_metadata, domain_rows, rows_with
from plex_cdf.domains.resource import DOMAINS, Domain, PerParent, Resource, TimeRange
from plex_cdf.health import BEAT_EVERY_S, Health
from plex_cdf.items import DATA_SETS, DataSetKey
from plex_cdf.migrate import layout_problem
from plex_cdf.observe import Metrics
from plex_cdf.plex.client import PlexClient
from plex_cdf.plex.settings import PlexSettings
from plex_cdf.ports import Sink, StateStore
from plex_cdf.runner import WINDOWS_IN_HAND, FetchCache, KeptLookups, ResourceReport, Runner, readers_of
from plex_cdf.scheduler import DomainTask, Scheduler
from plex_cdf.state.sqlite import SqliteStateStore

log = logging.getLogger("plex_cdf.app")

DATA_SET_NAMES: dict[DataSetKey, str] = {
    "master": "Plex master data",
    "scheduling": "Plex scheduling (jobs)",
    "production": "Plex production history and performance",
    "inventory": "Plex inventory",
    "quality": "Plex quality",
    "maintenance": "Plex maintenance",
}
PIPELINE_EXTERNAL_ID = "plex-cdf-{pcn}"
PENDING_LINKS = "(asset links)"  # the summary row for links set after their assets arrived


class PassMetrics:
    """Feeds a pass's reports and the Plex client's counts into the Prometheus metrics."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        self._plex_seen: dict[tuple[str, str], int] = {}

    def record(
        self,
        pcn: str,
        reports: Sequence[ResourceReport],
        state: StateStore,
        now: datetime,
        interval: timedelta | None = None,
    ) -> None:
        m = self.metrics
        for r in reports:
            labels = (pcn, r.resource)
            m.resource_failed.labels(*labels).set(1 if r.status == "failed" else 0)
            if interval is not None:
                m.interval_seconds.labels(*labels).set(interval.total_seconds())
            m.records_fetched.labels(*labels).inc(r.fetched)
            m.records_written.labels(*labels).inc(r.write.written)
            m.records_unchanged.labels(*labels).inc(r.write.unchanged)
            m.records_quarantined.labels(*labels).inc(r.quarantined)
            m.cdf_requests.inc(r.write.write_calls)
            if r.status == "ok":
                m.last_success_timestamp.labels(*labels).set(now.timestamp())
            mark = state.get_watermark(pcn, r.resource)
            if mark is not None:
                m.lag_seconds.labels(*labels).set(max(0.0, (now - mark).total_seconds()))

    def record_plex(self, pcn: str, plex: PlexClient) -> None:
        stats = plex.stats
        for status, total in (("all", stats.calls), ("429", stats.status_429), ("5xx", stats.status_5xx)):
            self.metrics.plex_requests.labels(pcn, status).inc(self._delta((pcn, status), total))
        self.metrics.plex_retries.labels(pcn).inc(self._delta((pcn, "retries"), stats.retries))
        self.metrics.plex_budget_used_ratio.labels(pcn).set(stats.budget_use)

    def on_report(self, pcn: str) -> Callable[[str, bool], None]:
        """Per extraction-pipeline report: when CDF last took one (the heartbeat alert), or a failure."""
        self.metrics.pipeline_report_failures.labels(pcn)  # shown as 0 from the start, for rate() and alerts

        def reported(status: str, taken: bool) -> None:
            if taken:
                self.metrics.pipeline_last_report_timestamp.labels(pcn).set_to_current_time()
            else:
                self.metrics.pipeline_report_failures.labels(pcn).inc()

        return reported

    def on_window(self, pcn: str, now: Callable[[], datetime]) -> Callable[[Resource, TimeRange], None]:
        """Per committed window (so a long first pass shows progress): its lag and the window count."""

        def committed(resource: Resource, window: TimeRange) -> None:
            labels = (pcn, resource.name)
            self.metrics.windows_committed.labels(*labels).inc()
            self.metrics.lag_seconds.labels(*labels).set(max(0.0, (now() - window.end).total_seconds()))

        return committed

    def _delta(self, slot: tuple[str, str], total: int) -> int:
        previous = self._plex_seen.get(slot, 0)
        self._plex_seen[slot] = total
        return max(0, total - previous)


def _key_problem_of(plex: PlexClient) -> Callable[[], str | None]:
    return lambda: plex.key_problem


async def _beat(health: Health) -> None:
    """Liveness: the event loop turns as long as this keeps beating."""
    while True:
        health.beat()
        await asyncio.sleep(BEAT_EVERY_S)


class SetupNeeded(RuntimeError):
    """Something `plex-cdf setup` creates is missing; the message names it."""


def cdf_settings(config: Config) -> CdfSettings:
    return cdf_settings_of(config.cognite)


def cdf_settings_of(cognite: CogniteConfig) -> CdfSettings:
    idp = cognite.idp_authentication
    return CdfSettings(
        host=str(cognite.host),
        project=cognite.project,
        token_url=str(idp.token_url),
        client_id=idp.client_id,
        client_secret=idp.secret.get_secret_value(),
        scopes=tuple(idp.scopes or ()),
        audience=idp.audience,
        resource=idp.resource,
        timeout_s=max(1, int(cognite.timeout.total_seconds())),
        max_workers=cognite.max_concurrency,
    )


def plex_settings(config: Config, tenant: Tenant) -> PlexSettings:
    plex = config.plex
    ds = tenant.data_source
    return PlexSettings(
        connect_url=str(plex.connect_url),
        datasource_url=plex.datasource_url_for(tenant),
        api_key=plex.api_key.get_secret_value(),
        api_secret=None if plex.api_secret is None else plex.api_secret.get_secret_value(),
        customer_id=None if tenant.tenant_id is not None else tenant.pcn,
        tenant_id=None if tenant.tenant_id is None else str(tenant.tenant_id),
        ds_username=None if ds is None else ds.username,
        ds_password=None if ds is None else ds.password.get_secret_value(),
        calls_per_minute=plex.budget(tenant),
        fan_out_share=plex.fan_out_share,
        max_concurrency=plex.max_concurrency,
        timeout_s=plex.timeout.total_seconds(),
        verify_tls=plex.verify_tls,
    )


def pipeline_external_id(config: Config, pcn: str) -> str:
    configured = config.cognite.extraction_pipeline
    if configured is not None and len(config.plex.tenants) == 1:
        return configured.external_id
    return PIPELINE_EXTERNAL_ID.format(pcn=pcn)


def raw_database(pcn: str) -> str:
    return f"plex_PCN{pcn}"


def open_state(config: Config, client: AsyncCogniteClient) -> StateStore:
    local = config.state_store.local
    if local is not None:
        return SqliteStateStore(local.path)
    from plex_cdf.state.raw import RawStateStore

    raw = config.state_store.raw
    assert raw is not None  # the config guarantees one backend
    return RawStateStore(client, raw.database, raw.table)


async def resolve_data_sets(client: AsyncCogniteClient, config: Config, *, create: bool) -> dict[str, int]:
    """Data-set ids per key: given ids as they are, external ids looked up (and created by `setup`)."""
    refs = {key: config.data_set(key) for key in DATA_SETS}
    ids: dict[str, int] = {key: ref.id for key, ref in refs.items() if ref.id is not None}
    wanted = {key: ref.external_id for key, ref in refs.items() if ref.id is None and ref.external_id}
    if not wanted:
        return ids
    found = await client.data_sets.retrieve_multiple(
        external_ids=sorted(set(wanted.values())), ignore_unknown_ids=True
    )
    by_xid = {ds.external_id: ds.id for ds in found}
    missing = sorted({xid for xid in wanted.values() if xid not in by_xid})
    if missing and create:
        key_of = {xid: key for key, xid in wanted.items()}
        made = await client.data_sets.create(
            [
                DataSetWrite(
                    external_id=xid, name=DATA_SET_NAMES[key_of[xid]], description="Written by plex-cdf"
                )
                for xid in missing
            ]
        )
        by_xid.update({ds.external_id: ds.id for ds in made})
    elif missing:
        raise SetupNeeded(
            f"data set {missing[0]!r} does not exist in CDF project {config.cognite.project!r}:"
            " run `plex-cdf setup` first, or name an existing data set in extractor.data-sets"
        )
    return {**ids, **{key: by_xid[xid] for key, xid in wanted.items()}}


@dataclass
class TenantRuntime:
    """What one PCN runs with."""

    pcn: str
    plex: PlexClient
    sink: Sink
    runners: dict[Domain, Runner] = field(default_factory=dict)
    pipeline: PipelineReporter | None = None


def data_modeling_sink(
    config: Config, client: AsyncCogniteClient, pcn: str, state: StateStore
) -> DataModelingSink:
    destination = config.destination
    spaces = Spaces(destination.schema_space, destination.instance_space_of(pcn))
    return DataModelingSink(
        client,
        pcn,
        spaces,
        state,
        max_concurrency=config.cognite.max_concurrency,
        configured=views_of(config.resources),
    )


class Service:
    """`async with Service(config) as service:` opens every client; `tasks()` gives the scheduler its work."""

    def __init__(
        self,
        config: Config,
        *,
        dry_run: bool = False,
        only: Sequence[Domain] | None = None,
        clock: Callable[[], datetime] | None = None,
        client: AsyncCogniteClient | None = None,
        metrics: Metrics | None = None,
        once: bool = False,
    ) -> None:
        self.config = config
        self.pass_metrics = None if metrics is None else PassMetrics(metrics)
        self.health = None if metrics is None else metrics.health
        self.once = once  # one coherent run: the domains of a tenant share their fetches
        self.dry_run = dry_run or config.extractor.dry_run
        self.domains: tuple[Domain, ...] = tuple(only) if only else config.extractor.enabled_domains()
        self.clock = clock or (lambda: datetime.now(UTC))
        self._given_client = client
        self._stack = AsyncExitStack()
        self.tenants: list[TenantRuntime] = []
        self.data_set_ids: dict[str, int] = {}
        self.plex_calls: dict[str, int] = {}  # by task name: Plex calls of its last pass
        self.masker = SecretMasker(config.secrets())

    async def __aenter__(self) -> Service:
        try:
            self.client = self._given_client or build_client(cdf_settings(self.config))
            self.state = open_state(self.config, self.client)
            self._check_layout()
            self.data_set_ids = await self._data_sets()
            for tenant in self.config.plex.tenants:
                self.tenants.append(await self._open_tenant(tenant))
            if self.health is not None:
                self._watch_health(self.health)
        except BaseException:
            # `async with` calls no __aexit__ when __aenter__ fails: close what was opened before the
            # failure (a tenant's Plex connections, the state) here, e.g. after a configuration mistake.
            await self._close()
            raise
        return self

    def _check_layout(self) -> None:
        """Refuse to write over an earlier plex-cdf's layout before `plex-cdf migrate` (plex_cdf.migrate)."""
        names = [r.name for r in rows_with(self.config.resources)]
        for tenant in self.config.plex.tenants:
            problem = layout_problem(self.state, tenant.pcn, names, record=not self.dry_run)
            if problem is not None:
                raise SetupNeeded(problem)

    def _watch_health(self, health: Health) -> None:
        """Readiness checks (each tenant's Plex key, the CDF token) and the liveness beat."""
        secrets = self.config.secrets()

        def masked(check: Callable[[], str | None]) -> Callable[[], str | None]:
            return lambda: None if (problem := check()) is None else mask_secrets(problem, secrets)

        for tenant in self.tenants:
            health.add_check(f"PCN {tenant.pcn} Plex key", masked(_key_problem_of(tenant.plex)))
        credentials = self.client.config.credentials
        if isinstance(credentials, RenewableCredentials):
            health.add_check("CDF token", masked(lambda: credentials.last_error))
        beat = asyncio.get_running_loop().create_task(_beat(health))
        self._stack.callback(beat.cancel)
        self._stack.callback(health.opened, False)
        health.opened()

    async def __aexit__(self, *exc: object) -> None:
        await self._close()

    async def _close(self) -> None:
        await self._stack.aclose()
        close = getattr(getattr(self, "state", None), "close", None)
        if callable(close):
            close()

    async def _data_sets(self) -> dict[str, int]:
        try:
            return await resolve_data_sets(self.client, self.config, create=False)
        except SetupNeeded:
            if not self.dry_run:
                raise
            log.warning("dry run: data sets not set up yet; objects are shown without data-set ids")
            return {}

    async def _open_tenant(self, tenant: Tenant) -> TenantRuntime:
        plex = await self._stack.enter_async_context(PlexClient(plex_settings(self.config, tenant)))
        sink: Sink
        # Transforms keep some facts only in RAW (e.g. BOM quantities), so the tenant's RAW database is used
        # whether or not raw copies of every record are on.
        raw_db = raw_database(tenant.pcn)
        if self.dry_run:
            sink = DryRunSink(tenant.pcn, self.data_set_ids, self.state)
        elif self.config.destination.data_modeling:
            sink = data_modeling_sink(self.config, self.client, tenant.pcn, self.state)
        else:
            sink = Writer(self.client, tenant.pcn, self.data_set_ids, self.state, raw_database=raw_db)
        await self._check_configured_sources(plex)
        runtime = TenantRuntime(tenant.pcn, plex, sink)
        shared: FetchCache | None = {} if self.once else None
        # One pass of every domain: a shared list is let go once the last row reading it is done.
        readers = readers_of(r for d in self.domains for r in domain_rows(self.config.resources, d))
        gate = asyncio.Semaphore(WINDOWS_IN_HAND)
        # What the tenant's rows keep of the lists they look up, shared by its domains: as a service, a
        # list is read again at its own domain's interval (master data's, for parts and workcenters), not
        # at each pass of every domain that links to it; a run reads each list once.
        kept = KeptLookups()
        intervals = None if self.once else {d: self.config.extractor.domain(d).interval for d in DOMAINS}
        for domain in self.domains:
            runner = runtime.runners[domain] = Runner(
                pcn=tenant.pcn,
                source=plex,
                sink=sink,
                state=self.state,
                resources=rows_with(self.config.resources),
                clock=self.clock,
                first_reach=self.config.extractor.first_run_reach,
                raw_copy=self.config.extractor.raw_copy,
                poll_calls_per_minute=self.config.plex.poll_share * self.config.plex.budget(tenant),
                cache=shared,
                readers=readers if self.once else None,
                kept=kept,
                intervals=intervals,
                plant=tenant.plant.plant_time(),
                snapshot_loss_threshold=self.config.extractor.snapshot_loss_threshold,
                mask=self.masker,
                window_gate=gate,
                vanished_retention=self.config.extractor.inventory.container_retention,
            )
            if isinstance(sink, DataModelingSink):
                runner.flush_items = DM_FLUSH_ITEMS
            if self.pass_metrics is not None:
                runner.on_window = self.pass_metrics.on_window(tenant.pcn, self.clock)
        if not self.dry_run:
            runtime.pipeline = PipelineReporter(self.client, pipeline_external_id(self.config, tenant.pcn))
            if self.pass_metrics is not None:
                runtime.pipeline.on_report = self.pass_metrics.on_report(tenant.pcn)
        return runtime

    async def _check_configured_sources(self, plex: PlexClient) -> None:
        """Configured data-source rows against each source's published metadata, before any data call;
        raises ConfigError with one line per mistake."""
        problems: list[str] = []
        for spec in self.config.resources:
            if spec.data_source is not None and spec.domain in self.domains:
                problems += check_against_metadata(spec, await plex.datasource_metadata(spec.data_source))
        if problems:
            raise ConfigError("\n".join(problems))

    def tasks(self, backfill: TimeRange | None = None) -> list[DomainTask]:
        tasks = []
        for tenant in self.tenants:
            for domain, runner in tenant.runners.items():
                ready = asyncio.Event()
                name = f"{tenant.pcn}/{domain}"
                first = domain == "master_data" and backfill is None
                tasks.append(
                    DomainTask(
                        name=name,
                        interval=self.config.extractor.domain(domain).interval,
                        run_pass=self._pass(name, tenant, domain, runner, backfill, ready, first),
                        first=first,
                        ready=ready,
                    )
                )
        return tasks

    def _pass(
        self,
        task: str,
        tenant: TenantRuntime,
        domain: Domain,
        runner: Runner,
        backfill: TimeRange | None,
        ready: asyncio.Event,
        first: bool,
    ) -> Callable[[], Any]:
        rows = domain_rows(self.config.resources, domain)
        # Lists first, then the per-parent rows (one call per part, per workcenter): once the lists are
        # written the other domains may start, while the per-parent calls go on in the fan-out lane.
        lists = [r.name for r in rows if not isinstance(r.mode, PerParent)]
        per_parent = [r.name for r in rows if isinstance(r.mode, PerParent)]

        async def run_pass() -> list[ResourceReport]:
            runner.new_pass()
            calls_before = runner.plex_calls
            # The others wait for a first domain's lists (master data's) until its first pass has
            # written them: meanwhile each next list is read while one is written.
            reports = await runner.run(lists, backfill, read_ahead=first and not ready.is_set())
            ready.set()
            reports += await runner.run(per_parent, backfill)
            # Lists placed by what a per-parent row keeps (workcenters under their production line) are
            # placed again at once when it learnt something new, from the lists fetched this pass.
            for again in await runner.run(runner.rows_to_place_again(lists), backfill):
                _fold_into(reports, again)
            runner.done_placing(lists)
            self.plex_calls[task] = runner.plex_calls - calls_before
            if self.pass_metrics is not None:
                interval = self.config.extractor.domain(domain).interval
                self.pass_metrics.record(tenant.pcn, reports, self.state, self.clock(), interval)
                self.pass_metrics.record_plex(tenant.pcn, tenant.plex)
            linked = await tenant.sink.link_pending()
            if linked.written or linked.write_calls:
                links = ResourceReport(
                    PENDING_LINKS, domain
                )  # links set for items written before their assets
                links.write = linked
                reports.append(links)
            return reports

        return run_pass

    def request_stop(self) -> None:
        """Stop at the next safe point; Plex calls that would wait for the budget end at once, calls in
        flight finish (their window is written and committed)."""
        for tenant in self.tenants:
            for runner in tenant.runners.values():
                runner.should_stop = lambda: True
            tenant.plex.stop()

    def abandon_reads(self) -> None:
        """The grace period is running out: Plex reads still in flight end now."""
        for tenant in self.tenants:
            tenant.plex.abandon()


def _fold_into(reports: list[ResourceReport], again: ResourceReport) -> None:
    """A row run a second time in one pass (placed again) counts once: its writes and time are added to
    its first report (its records were counted when fetched), a failure replaces its status."""
    first = next((r for r in reports if r.resource == again.resource), None)
    if first is None:
        reports.append(again)
        return
    first.write.add(again.write)
    first.seconds += again.seconds
    first.quarantined = max(first.quarantined, again.quarantined)
    if again.status != "ok":
        first.status, first.message = again.status, again.message


# ------------------------------------------------------------------------------------ run orchestration

ABANDON_READS_BEFORE_S = 10.0  # a Plex read still in flight this long before the grace ends is abandoned
STOP_GRACE_S = 30.0  # after SIGTERM: how long the current window may take to finish before it is cancelled
STOP_REQUESTED = threading.Event()  # set by SIGTERM/SIGINT: the run ends cleanly (exit 0)


@dataclass
class DomainResult:
    """One domain pass of one tenant."""

    task: str  # "{pcn}/{domain}"
    reports: list[ResourceReport]
    plex_calls: int

    def failed(self) -> list[ResourceReport]:
        return [r for r in self.reports if r.status == "failed"]

    def totals(self) -> dict[str, float]:
        return {
            "fetched": sum(r.fetched for r in self.reports),
            "written": sum(r.write.written for r in self.reports),
            "unchanged": sum(r.write.unchanged for r in self.reports),
            "deleted": sum(r.write.deleted for r in self.reports),
            "quarantined": sum(r.quarantined for r in self.reports),
            "cdf_calls": sum(r.write.write_calls for r in self.reports),
            "seconds": sum(r.seconds for r in self.reports),
        }


class Progress(Protocol):
    """Follows a run's windows (the backfill progress bars)."""

    def attach(self, service: Service) -> None: ...


GC_YOUNG_THRESHOLD = 10_000
"""Allocations between collections of the youngest generation (CPython's default is 700). Records come in
lists of thousands and live until their batch is written, so at 700 the collector ran some 1,250 times in
a medium cold run, each time walking the records that had just arrived: about 1.1 s of its 12 s of CPU.
At 10,000 it runs some 70 times (0.3 s). The older generations keep their thresholds, so cyclic garbage
is still freed; what waits longer is at most 10,000 young objects."""


def collect_young_garbage_less_often() -> None:
    """Raise the young generation's threshold to GC_YOUNG_THRESHOLD; a higher one, or a collector turned
    off (threshold 0), is left as the embedding process set it."""
    young, older, oldest = gc.get_threshold()
    if 0 < young < GC_YOUNG_THRESHOLD:
        gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


async def extract(
    config: Config,
    *,
    once: bool,
    dry_run: bool = False,
    only: Sequence[Domain] | None = None,
    backfill: TimeRange | None = None,
    clock: Callable[[], datetime] | None = None,
    client: AsyncCogniteClient | None = None,
    progress: Progress | None = None,
    metrics: Metrics | None = None,
    remote: RemoteConfiguration | None = None,
) -> dict[str, DomainResult]:
    """Run the scheduler until done (once) or stopped (SIGTERM/SIGINT, or a new revision of the `remote`
    configuration); returns the last pass by task."""
    collect_young_garbage_less_often()
    results: dict[str, DomainResult] = {}

    one_shot = once or backfill is not None
    async with Service(
        config, dry_run=dry_run, only=only, clock=clock, client=client, metrics=metrics, once=one_shot
    ) as service:

        async def on_pass(task: DomainTask, outcome: list[ResourceReport] | BaseException) -> None:
            if isinstance(outcome, list):
                results[task.name] = DomainResult(task.name, outcome, service.plex_calls.get(task.name, 0))
                await _report_pass(service, task, outcome)

        scheduler = Scheduler(service.tasks(backfill), once=one_shot, on_pass=on_pass)
        if progress is not None:
            progress.attach(service)
        with _stopping_on_signals(scheduler, service):
            heartbeats = [
                t.pipeline.start_heartbeat(config.cognite.extraction_pipeline.heartbeat.total_seconds())
                for t in service.tenants
                if t.pipeline is not None and not once and config.cognite.extraction_pipeline is not None
            ]
            if remote is not None:  # a new configuration revision stops the domains at a safe point
                heartbeats.append(asyncio.create_task(remote.watch(lambda _: _restart(scheduler, service))))
            try:
                await scheduler.run()
            except Exception as err:  # fatal (bad key, ungranted tenant, ...): the pipeline hears of it too
                for tenant in service.tenants:
                    if tenant.pipeline is not None:
                        await tenant.pipeline.report("failure", _masked(config, f"run stopped: {err}"))
                raise
            finally:
                for beat in heartbeats:
                    beat.cancel()
        for tenant in service.tenants:
            if tenant.pipeline is not None and (once or backfill is not None):
                failed = [
                    r
                    for name, result in results.items()
                    if name.startswith(f"{tenant.pcn}/")
                    for r in result.failed()
                ]
                message = _failures(failed) or "run completed"
                await tenant.pipeline.report("failure" if failed else "success", _masked(config, message))
    return results


def _restart(scheduler: Scheduler, service: Service) -> None:
    scheduler.request_stop()
    service.request_stop()


async def _report_pass(service: Service, task: DomainTask, reports: list[ResourceReport]) -> None:
    failed = [r for r in reports if r.status == "failed"]
    if not failed:
        return
    pcn = task.name.split("/", 1)[0]
    for tenant in service.tenants:
        if tenant.pcn == pcn and tenant.pipeline is not None:
            message = _failures(failed)
            await tenant.pipeline.report("failure", _masked(service.config, message))


def _failures(reports: Sequence[ResourceReport]) -> str:
    """What failed, one `resource: reason` per failed resource, for an extraction-pipeline run."""
    return "; ".join(f"{r.resource}: {r.message}" for r in reports)


def _masked(config: Config, message: str) -> str:
    return mask_secrets(message, config.secrets())


@contextmanager
def _stopping_on_signals(scheduler: Scheduler, service: Service) -> Iterator[None]:
    """SIGTERM and SIGINT stop fetching at the next safe point; a second signal or the grace period
    cancels what is still running (state is committed only after acknowledged writes, so nothing is lost)."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()

    def stop() -> None:
        if scheduler.stop.is_set():
            if main is not None:
                main.cancel()
            return
        log.warning("stop requested: finishing the current window, then exiting")
        STOP_REQUESTED.set()
        scheduler.request_stop()
        service.request_stop()
        loop.call_later(STOP_GRACE_S - ABANDON_READS_BEFORE_S, service.abandon_reads)
        if main is not None:
            loop.call_later(STOP_GRACE_S, main.cancel)

    installed = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop)
            installed.append(sig)
        except (NotImplementedError, RuntimeError):
            pass
    try:
        yield
    except asyncio.CancelledError:
        if not scheduler.stop.is_set():
            raise
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
