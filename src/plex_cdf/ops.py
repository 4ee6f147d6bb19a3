"""Operations beside the extraction itself: setup, check, status, cleanup and discover.

Each returns data (rows, results); the command line renders them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cognite.client import AsyncCogniteClient
from cognite.client.data_classes import ExtractionPipelineWrite

from plex_cdf.app import (
    Service,
    SetupNeeded,
    pipeline_external_id,
    plex_settings,
    raw_database,
    resolve_data_sets,
)
from plex_cdf.cdf.dm import operations as dm_ops
from plex_cdf.cdf.dm.configured import views_of
from plex_cdf.cdf.dm.mapping import view_of
from plex_cdf.cdf.dm.schema import apply_schema
from plex_cdf.config import Config
from plex_cdf.domains.configured import domain_rows
from plex_cdf.domains.resource import PerParent, TimeRange, Window
from plex_cdf.ids import external_id
from plex_cdf.migrate import Plan, migrate_tenant
from plex_cdf.plex.check import CheckResult, check_plex
from plex_cdf.plex.client import PlexClient
from plex_cdf.plex.discover import Discovery, SourceMetadata, source_metadata
from plex_cdf.plex.discover import discover as discover_tenant
from plex_cdf.ports import StateStore
from plex_cdf.runner import own_key

# What the extractor needs from CDF, as ACL names in token/inspect's capabilities.
NEEDED_ACLS = (
    "assetsAcl",
    "eventsAcl",
    "timeSeriesAcl",
    "relationshipsAcl",
    "datasetsAcl",
    "extractionPipelinesAcl",
    "extractionRunsAcl",
    "rawAcl",
)


# ------------------------------------------------------------------------------------------------- setup


async def setup(config: Config, client: AsyncCogniteClient) -> list[str]:
    """Create what the extractor writes into (safe to repeat); returns one line per thing done or found."""
    done: list[str] = []
    data_sets = await resolve_data_sets(client, config, create=True)
    done.append(f"data sets: {', '.join(f'{k}={v}' for k, v in sorted(data_sets.items()))}")
    for tenant in config.plex.tenants:
        xid = pipeline_external_id(config, tenant.pcn)
        found = await client.extraction_pipelines.retrieve(external_id=xid)
        if found is None:
            await client.extraction_pipelines.create(
                ExtractionPipelineWrite(
                    external_id=xid,
                    name=f"plex-cdf PCN {tenant.pcn}",
                    data_set_id=data_sets["master"],
                    description="Plex Manufacturing Cloud to CDF (plex-cdf)",
                    source="plex",
                )
            )
            done.append(f"extraction pipeline {xid}: created")
        else:
            done.append(f"extraction pipeline {xid}: exists")
    existing = {db.name for db in await client.raw.databases.list(limit=None)}
    for database in _raw_databases(config):
        if database not in existing:
            await client.raw.databases.create(database)
            done.append(f"RAW database {database}: created")
        else:
            done.append(f"RAW database {database}: exists")
    if config.destination.data_modeling:
        destination = config.destination
        spaces = [destination.instance_space_of(t.pcn) for t in config.plex.tenants]
        configured = list(views_of(config.resources).values())
        done += await apply_schema(client, destination.schema_space, spaces, configured)
    async with Service(config, client=client, only=("master_data",)) as service:
        for runtime in service.tenants:
            runner = runtime.runners["master_data"]
            reports = await runner.run(["tenants"])
            status = reports[0].status if reports else "skipped"
            done.append(f"root asset {external_id(runtime.pcn, 'facility', runtime.pcn)}: {status}")
    return done


def _raw_databases(config: Config) -> list[str]:
    names = [raw_database(t.pcn) for t in config.plex.tenants]
    if config.state_store.raw is not None:
        names.append(config.state_store.raw.database)
    return names


# ------------------------------------------------------------------------------------------------- check


async def check(config: Config, client: AsyncCogniteClient) -> list[CheckResult]:
    """Plex (per tenant) and CDF, each as OK/FAIL with the fix."""
    results: list[CheckResult] = []
    endpoints, sources = _plex_surface(config)
    # Plex clients of their own, not a Service: a Service needs CDF, and a broken CDF login must still
    # leave the Plex rows of the table (and the CDF rows say what is wrong with CDF).
    for tenant in config.plex.tenants:
        async with PlexClient(plex_settings(config, tenant)) as plex:
            for result in await check_plex(plex, endpoints, sources):
                results.append(_named(result, f"PCN {tenant.pcn}: "))
    results.extend(await check_cdf(config, client))
    return results


def _plex_surface(config: Config) -> tuple[list[str], list[int]]:
    rows = [r for d in config.extractor.enabled_domains() for r in domain_rows(config.resources, d)]
    endpoints = sorted({r.path for r in rows if r.api == "connect" and r.path})
    sources = sorted({r.datasource_id for r in rows if r.datasource_id is not None})
    return endpoints, sources


def _named(result: CheckResult, prefix: str) -> CheckResult:
    return CheckResult(prefix + result.name, result.ok, result.detail, result.fix)


async def check_cdf(config: Config, client: AsyncCogniteClient) -> list[CheckResult]:
    project = config.cognite.project
    try:
        inspection = await client.iam.token.inspect()
    except Exception as err:
        return [
            CheckResult(
                "CDF token",
                False,
                f"{type(err).__name__}: {err}",
                "check cognite.idp-authentication (token-url, client-id, secret, scopes, audience)",
            )
        ]
    results = [CheckResult("CDF token", True, f"subject {inspection.subject}")]
    projects = [p.url_name for p in inspection.projects]
    results.append(
        CheckResult(
            f"CDF project {project}",
            project in projects,
            f"token grants {', '.join(projects) or 'no project'}",
            "set cognite.project to a project the client is a member of, or add it to the group",
        )
    )
    granted = {_acl_name(c) for c in inspection.capabilities}
    needed = dm_ops.NEEDED_ACLS if config.destination.data_modeling else NEEDED_ACLS
    lacking = [acl for acl in needed if acl not in granted]
    results.append(
        CheckResult(
            "CDF capabilities",
            not lacking,
            "all granted" if not lacking else f"missing {', '.join(lacking)}",
            "add the missing capabilities (read and write) to the client's group",
        )
    )
    if config.destination.data_modeling:
        results.append(await _check_spaces(config, client))
    try:
        ids = await resolve_data_sets(client, config, create=False)
        results.append(CheckResult("CDF data sets", True, f"{len(ids)} found"))
    except SetupNeeded as err:
        results.append(CheckResult("CDF data sets", False, str(err), "run `plex-cdf setup`"))
    return results


def _instance_spaces(config: Config) -> list[str]:
    return [config.destination.instance_space_of(t.pcn) for t in config.plex.tenants]


async def _check_spaces(config: Config, client: AsyncCogniteClient) -> CheckResult:
    schema = config.destination.schema_space
    try:
        configured = list(views_of(config.resources).values())
        lacking = await dm_ops.missing_schema(client, schema, _instance_spaces(config), configured)
    except Exception as err:  # e.g. no dataModelsAcl: the row says so, the others still show
        return CheckResult("CDF spaces", False, f"{type(err).__name__}: {err}", "grant dataModelsAcl read")
    detail = "all found" if not lacking else f"missing {', '.join(lacking[:4])}"
    return CheckResult(
        f"CDF spaces ({schema}, {', '.join(_instance_spaces(config))})",
        not lacking,
        detail,
        "run `plex-cdf setup`",
    )


def _acl_name(capability: Any) -> str:
    dumped = capability.dump(camel_case=True) if hasattr(capability, "dump") else dict(capability)
    names = [k for k in dumped if k.endswith("Acl")]
    return names[0] if names else type(capability).__name__


# ------------------------------------------------------------------------------------------------ status


@dataclass(frozen=True)
class StatusRow:
    pcn: str
    resource: str
    domain: str
    watermark: datetime | None
    lag_s: float | None
    last_run: dict[str, Any] | None


def status_rows(config: Config, state: StateStore, now: datetime) -> list[StatusRow]:
    rows = []
    for tenant in config.plex.tenants:
        for domain in config.extractor.enabled_domains():
            for resource in domain_rows(config.resources, domain):
                mark = state.get_watermark(tenant.pcn, resource.name)
                last = state.get_value(tenant.pcn, own_key(resource.name, "last_run"))
                lag = None if mark is None else (now - mark).total_seconds()
                rows.append(StatusRow(tenant.pcn, resource.name, domain, mark, lag, last))
    return rows


# ----------------------------------------------------------------------------------------------- cleanup


@dataclass
class CleanupPlan:
    """What plex-cdf wrote for the configured PCNs, by kind (internal ids), deepest assets first."""

    events: list[int]
    time_series: list[int]
    relationships: list[str]
    assets: list[list[int]]  # by depth, deepest first
    raw_databases: list[str]
    instances: dm_ops.InstancesPlan | None = None  # the data-modeling target's nodes, edges (and schema)

    def counts(self) -> dict[str, int]:
        return {
            "events": len(self.events),
            "time series": len(self.time_series),
            "relationships": len(self.relationships),
            "assets": sum(len(level) for level in self.assets),
            "RAW databases": len(self.raw_databases),
            **self._instance_counts(),
        }

    def _instance_counts(self) -> dict[str, int]:
        if self.instances is None:
            return {}
        found = self.instances
        counts = {"nodes": len(found.nodes), "edges": len(found.edges)}
        if found.schema_space is not None:
            counts |= {
                "data models": len(found.data_models),
                "views": len(found.views),
                "containers": len(found.containers),
                "spaces": len(found.spaces),
            }
        return counts


async def plan_cleanup(config: Config, client: AsyncCogniteClient, *, schema: bool = False) -> CleanupPlan:
    """Everything plex-cdf wrote for the configured PCNs; with `schema` (data-modeling target) also its
    containers, views, data model and spaces."""
    try:
        data_set_ids = sorted(set((await resolve_data_sets(client, config, create=False)).values()))
    except SetupNeeded:
        data_set_ids = []
    prefixes = [f"PCN{t.pcn}_" for t in config.plex.tenants]
    plan = CleanupPlan([], [], [], [], [])
    if data_set_ids:
        for prefix in prefixes:
            events = await client.events.list(
                external_id_prefix=prefix, data_set_ids=data_set_ids, limit=None
            )
            plan.events += [e.id for e in events]
            series = await client.time_series.list(
                external_id_prefix=prefix, data_set_ids=data_set_ids, limit=None
            )
            plan.time_series += [t.id for t in series]
            assets = await client.assets.list(
                external_id_prefix=prefix, data_set_ids=data_set_ids, limit=None
            )
            plan.assets = _by_depth(plan.assets, [(a.id, a.parent_id) for a in assets])
        links = await client.relationships.list(data_set_ids=data_set_ids, limit=None)
        plan.relationships = [r.external_id for r in links if r.external_id.startswith(tuple(prefixes))]
    existing = {db.name for db in await client.raw.databases.list(limit=None)}
    plan.raw_databases = [raw_database(t.pcn) for t in config.plex.tenants if raw_database(t.pcn) in existing]
    if config.destination.data_modeling:
        schema_space = config.destination.schema_space
        plan.instances = await dm_ops.plan_instances(
            client, schema_space, _instance_spaces(config), schema=schema
        )
    return plan


def _by_depth(levels: list[list[int]], pairs: Sequence[tuple[int, int | None]]) -> list[list[int]]:
    parent = dict(pairs)
    depth: dict[int, int] = {}

    def depth_of(node: int) -> int:
        if node not in depth:
            up = parent.get(node)
            depth[node] = 0 if up is None or up not in parent else depth_of(up) + 1
        return depth[node]

    for node in parent:
        depth_of(node)
    deepest = max(depth.values(), default=-1)
    ordered = [[n for n, d in depth.items() if d == level] for level in range(deepest, -1, -1)]
    return levels + [level for level in ordered if level]


async def execute_cleanup(
    plan: CleanupPlan, client: AsyncCogniteClient, config: Config, state: StateStore
) -> None:
    """Delete children first, then forget the tenants' state so the next run writes everything again."""
    if plan.events:
        await client.events.delete(id=plan.events, ignore_unknown_ids=True)
    if plan.time_series:
        await client.time_series.delete(id=plan.time_series, ignore_unknown_ids=True)
    if plan.relationships:
        await client.relationships.delete(external_id=plan.relationships, ignore_unknown_ids=True)
    for level in plan.assets:
        await client.assets.delete(id=level, ignore_unknown_ids=True)
    for database in plan.raw_databases:
        await client.raw.databases.delete(database, recursive=True)
    if plan.instances is not None:
        await dm_ops.delete_instances(client, plan.instances)
    for tenant in config.plex.tenants:
        state.forget_tenant(tenant.pcn)


# --------------------------------------------------------------------------------------------- reconcile


@dataclass(frozen=True)
class Reconciled:
    pcn: str
    resource: str
    in_plex: int  # assets and events Plex's records map to
    in_cdf: int  # of those, found in CDF
    missing: list[str]


async def reconcile(config: Config, client: AsyncCogniteClient) -> list[Reconciled]:
    """For each snapshot resource (and windowed ones over the first-run reach), the assets and events Plex's
    records map to, and which of them CDF lacks."""
    from plex_cdf.items import Asset, Event
    from plex_cdf.windows import plan, window_start

    rows = {name for name, view in views_of(config.resources).items() if view.target == "raw"}
    out: list[Reconciled] = []
    domains = config.extractor.enabled_domains()
    async with Service(config, client=client, only=domains, dry_run=True) as service:
        for runtime in service.tenants:
            runner = next(iter(runtime.runners.values()))
            now = service.clock()
            for domain in domains:
                for resource in domain_rows(config.resources, domain):
                    if resource.fallback_for is not None or isinstance(resource.mode, PerParent):
                        continue
                    windows: list[TimeRange | None] = [None]
                    mode = resource.mode
                    if isinstance(mode, Window):
                        begin = window_start(None, now, mode.lookback, config.extractor.first_run_reach)
                        # Figures over whole days or shifts are asked for the windows a run plans.
                        whole = mode.plant_days or mode.shift_days or mode.align is not None
                        windows = (
                            [*plan(begin, now, mode, runner.plant)] if whole else [TimeRange(begin, now)]
                        )
                    try:
                        items = [i for w in windows for i in await runner.expected_items(resource, w)]
                    except Exception as err:  # one resource's trouble must not hide the others
                        out.append(Reconciled(runtime.pcn, resource.name, 0, 0, [f"(not checked: {err})"]))
                        continue
                    assets = sorted({i.external_id for i in items if isinstance(i, Asset)})
                    events = sorted({i.external_id for i in items if isinstance(i, Event)})
                    if config.destination.data_modeling:  # nodes holding plex-cdf data, not placeholders
                        assets = [x for x in assets if view_of(x)] + _row_nodes(runtime.pcn, rows, items)
                        space = config.destination.instance_space_of(runtime.pcn)
                        schema = config.destination.schema_space
                        found = await dm_ops.filled_nodes(client, schema, space, assets + events)
                    else:
                        found = await _existing(client.assets, assets) | await _existing(
                            client.events, events
                        )
                    missing = [x for x in assets + events if x not in found]
                    out.append(
                        Reconciled(runtime.pcn, resource.name, len(assets) + len(events), len(found), missing)
                    )
    return out


def _row_nodes(pcn: str, rows: set[str], items: list[Any]) -> list[str]:
    """The nodes a configured `raw` resource's records become on the data-modeling target."""
    from plex_cdf.items import RawRow

    mine = [i for i in items if isinstance(i, RawRow) and i.table in rows]
    return sorted({external_id(pcn, i.table, i.key) for i in mine})


async def _existing(api: Any, external_ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(external_ids), 1000):
        chunk = external_ids[start : start + 1000]
        got = await api.retrieve_multiple(external_ids=chunk, ignore_unknown_ids=True)
        found.update(x.external_id for x in got)
    return found


# ---------------------------------------------------------------------------------------------- discover


async def discover(config: Config) -> list[Discovery]:
    """Per configured tenant: the Connect products its key reaches and the data sources it is granted.
    Plex only: a CDF that is down or misconfigured does not hide what Plex offers."""
    found: list[Discovery] = []
    for tenant in config.plex.tenants:
        async with PlexClient(plex_settings(config, tenant)) as plex:
            found.append(await discover_tenant(plex, tenant.pcn))
    return found


async def discover_source(config: Config, source_id: int, pcn: str | None = None) -> SourceMetadata:
    """One data source's published metadata, read as the tenant `pcn` (default: the first) reads it."""
    tenants = [t for t in config.plex.tenants if pcn is None or t.pcn == pcn]
    if not tenants:
        raise ValueError(f"--pcn {pcn}: no such tenant in the configuration")
    async with PlexClient(plex_settings(config, tenants[0])) as plex:
        return await source_metadata(plex, source_id)


# ----------------------------------------------------------------------------------------------- migrate


async def migrate(
    config: Config, client: AsyncCogniteClient, state: StateStore, *, dry_run: bool
) -> list[Plan]:
    """`plex-cdf migrate`: every configured tenant's project brought to this layout (plex_cdf.migrate)."""
    if config.destination.data_modeling:
        raise SetupNeeded(
            "plex-cdf migrate moves the classic target's objects; data-modeling instances cannot change their"
            " external id: delete them (plex-cdf cleanup) and run again (docs/upgrade-notes.md)"
        )
    try:
        data_set_ids = sorted(set((await resolve_data_sets(client, config, create=False)).values()))
    except SetupNeeded:
        data_set_ids = []
    return [
        await migrate_tenant(client, state, t.pcn, data_set_ids, raw_database(t.pcn), dry_run=dry_run)
        for t in config.plex.tenants
    ]
