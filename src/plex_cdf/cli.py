"""Every command of `plex-cdf`: run, backfill, setup, check, status, cleanup, discover, demo, sim.

Commands are thin: load the configuration, open the service, render what the operation returns. Every
failure a user can cause ends in one line naming the culprit (secrets masked) and a non-zero exit code:
2 for configuration and usage, 1 for a failed check or run.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from plex_cdf import render
from plex_cdf.config import Config, ConfigError, load_config
from plex_cdf.domains.resource import DOMAINS, Domain, TimeRange
from plex_cdf.sim.cdf.command import cdf_command
from plex_cdf.sim.plex.command import plex_command

app = typer.Typer(
    name="plex-cdf",
    help="Keeps Cognite Data Fusion current with a Plex Manufacturing Cloud tenant.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
sim_app = typer.Typer(help="Serve the simulated Plex or the local CDF (for tests, benchmarks and the demo).")
app.add_typer(sim_app, name="sim")
sim_app.command("cdf")(cdf_command)
sim_app.command("plex")(plex_command)

PIPED_WIDTH = 1000  # columns when stdout is not a terminal: no row is cut for a file, pipe or collector


def _stdout_console() -> Console:
    """The terminal's width on a terminal (or COLUMNS when set); full width when piped or redirected,
    where rich would otherwise assume 80 columns and cut or wrap the tables."""
    probe = Console()
    columns = os.environ.get("COLUMNS", "").strip()
    if probe.is_terminal or (columns.isascii() and columns.isdigit()):
        return probe
    return Console(width=PIPED_WIDTH)


console = _stdout_console()
err_console = Console(stderr=True)
log = logging.getLogger("plex_cdf")
T = TypeVar("T")

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="YAML configuration; without it, the predecessor's environment variables."
    ),
]
OnlyOption = Annotated[
    str | None, typer.Option("--only", help=f"Comma-separated domains: {', '.join(DOMAINS)}.")
]


def fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"plex-cdf: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def load(path: Path | None) -> Config:
    return load_with_remote(path)[0]


def load_with_remote(path: Path | None) -> tuple[Config, Any]:
    """The configuration, and for a `type: remote` file the RemoteConfiguration it came from (else None)."""
    from plex_cdf.config.loader import load_config_file

    if path is not None and not path.is_file():
        fail(f"config file not found: {path}")
    try:
        loaded = load_config(None) if path is None else load_config_file(path)
    except ConfigError as err:
        fail(f"config error: {err}")
    if isinstance(loaded, Config):
        return loaded, None
    from plex_cdf.app import cdf_settings_of
    from plex_cdf.cdf.client import build_client
    from plex_cdf.cdf.remote import RemoteConfiguration

    remote = RemoteConfiguration(loaded, build_client(cdf_settings_of(loaded.cognite)))
    secret = loaded.cognite.idp_authentication.secret.get_secret_value()
    revision = guarded(None, remote.load(), secrets=[secret])
    return revision.config, remote


def parse_only(only: str | None) -> tuple[Domain, ...] | None:
    if not only:
        return None
    names = [n.strip().replace("-", "_") for n in only.split(",") if n.strip()]
    unknown = [n for n in names if n not in DOMAINS]
    if unknown:
        fail(f"--only: unknown domain {unknown[0]!r}; choose from {', '.join(DOMAINS)}")
    return tuple(n for n in DOMAINS if n in names)


def parse_day(text: str, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{option}: not a date or date-time: {text!r} (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)")
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time())
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def guarded(config: Config | None, work: Awaitable[T], secrets: Sequence[str] = ()) -> T:
    """Run a coroutine; turn every failure a user can cause into one masked line and an exit code."""
    from plex_cdf.app import SetupNeeded
    from plex_cdf.cdf.client import CdfAuthUnavailable, CdfSettingsError
    from plex_cdf.observe import mask_secrets
    from plex_cdf.plex.errors import PlexError
    from plex_cdf.state.lock import StateInUse
    from plex_cdf.state.sqlite import StateCorrupt, StateUnavailable

    secrets = [*secrets, *(config.secrets() if config is not None else [])]
    try:
        return asyncio.run(_as_coroutine(work))
    except (SetupNeeded, CdfSettingsError, StateCorrupt, StateUnavailable, StateInUse, ValueError) as err:
        fail(mask_secrets(str(err), secrets), 2)
    except PlexError as err:
        fail(mask_secrets(f"Plex: {err}", secrets), 1)
    except CdfAuthUnavailable as err:
        fail(mask_secrets(f"CDF: {err}", secrets), 1)
    except Exception as err:
        if type(err).__module__.startswith("cognite"):
            fail(mask_secrets(_cdf_problem(config, err), secrets), 1)
        raise


def _cdf_problem(config: Config | None, err: Exception) -> str:
    """One line for an SDK error: where CDF could not be reached, or what it answered."""
    from cognite.client.exceptions import CogniteConnectionError, CogniteReadTimeout

    host = config.cognite.host if config is not None else "CDF"
    if isinstance(err, CogniteConnectionError | CogniteReadTimeout):
        cause = err.__cause__ or err
        detail = " ".join(str(cause).split()) or type(cause).__name__
        return (
            f"CDF: cannot reach {host} ({type(err).__name__}: {detail}); fix: check cognite.host and the"
            " network, or retry later"
        )
    return "CDF: " + " ".join(f"{type(err).__name__}: {err}".split())


async def _as_coroutine(work: Awaitable[T]) -> T:
    return await work


def start_observing(config: Config) -> Any:
    """Logging (secrets masked) and, when configured, the Prometheus endpoint; returns the metrics or None."""
    from plex_cdf.observe import Metrics, setup_logging, start_metrics_server

    setup_logging(config.logger, secrets=config.secrets())
    if not config.plex.verify_tls:
        log.warning(
            "plex.verify-tls is false: Plex's TLS certificate is not checked, so anyone on the network path"
            " could read the API key and the data; fix: set plex.verify-tls: true"
        )
    server = config.metrics.server
    if server is None:
        return None
    metrics = Metrics()
    started = start_metrics_server(server.host, server.port, metrics.registry, metrics.health)
    log.info("metrics on http://%s:%d/metrics", server.host, started.port)
    log.info("health on http://%s:%d/healthz and /readyz", server.host, started.port)
    return metrics


# ------------------------------------------------------------------------------------------------- run


@app.command()
def run(
    config_path: ConfigOption = None,
    once: Annotated[bool, typer.Option("--once", help="One pass of every domain, then exit.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would be written; write nothing.")
    ] = False,
    only: OnlyOption = None,
) -> None:
    """Extract continuously (or once) into CDF."""
    config, remote = load_with_remote(config_path)
    domains = parse_only(only)
    metrics = start_observing(config)
    once = once or config.extractor.run_once
    from plex_cdf.app import STOP_REQUESTED, extract

    with _one_run_per_state(config):
        while True:
            watch = None if once else remote
            summary = guarded(
                config,
                extract(config, once=once, dry_run=dry_run, only=domains, metrics=metrics, remote=watch),
            )
            if watch is None or watch.pending is None or STOP_REQUESTED.is_set():
                break
            config = watch.take().config  # a new revision of the remote configuration: run with it
    if once:
        render.summary(console, summary)
    # A stop by signal is a clean end (what failed before it was logged and reported to the pipeline):
    # exit 0, so a service manager does not count an asked-for stop as a crash.
    if not STOP_REQUESTED.is_set() and any(result.failed() for result in summary.values()):
        raise typer.Exit(1)


@contextmanager
def _one_run_per_state(config: Config) -> Iterator[None]:
    """Hold the local state file's lock while this `run` works; a second `run` on it exits at once."""
    from plex_cdf.state.lock import StateInUse, state_lock

    local = config.state_store.local
    if local is None:
        yield
        return
    with ExitStack() as stack:
        try:
            stack.enter_context(state_lock(local.path))
        except StateInUse as err:
            fail(str(err), 2)
        except OSError as err:
            problem = err.strerror or err
            fail(
                f"cannot lock the state file {local.path} ({problem}); fix: let this user write to its folder"
            )
        yield


# -------------------------------------------------------------------------------------------- backfill


@app.command()
def backfill(
    from_: Annotated[str, typer.Option("--from", help="First day (UTC), e.g. 2025-01-01.")],
    to: Annotated[str | None, typer.Option("--to", help="End (exclusive, UTC); default now.")] = None,
    config_path: ConfigOption = None,
    only: OnlyOption = None,
) -> None:
    """Fetch history over a date range, resumably (an interrupted backfill continues where it stopped)."""
    config = load(config_path)
    begin = parse_day(from_, "--from")
    end = parse_day(to, "--to") if to else datetime.now(UTC)
    if begin >= end:
        fail(f"--from ({begin:%Y-%m-%d %H:%M}) must be before --to ({end:%Y-%m-%d %H:%M})")
    domains = parse_only(only)
    start_observing(config)
    from plex_cdf.app import extract

    with render.BackfillProgress(console, TimeRange(begin, end)) as progress:
        summary = guarded(
            config,
            extract(config, once=True, only=domains, backfill=TimeRange(begin, end), progress=progress),
        )
    render.summary(console, summary)
    if any(result.failed() for result in summary.values()):
        raise typer.Exit(1)


# ----------------------------------------------------------------------------------- setup, check, ...


def _with_client(config: Config, work: Callable[[Any], Awaitable[T]]) -> T:
    from plex_cdf.app import cdf_settings
    from plex_cdf.cdf.client import build_client

    async def go() -> T:
        return await work(build_client(cdf_settings(config)))

    return guarded(config, go())


@app.command()
def setup(config_path: ConfigOption = None) -> None:
    """Create data sets, extraction pipelines, the RAW database and the root asset (safe to repeat)."""
    from plex_cdf import ops

    config = load(config_path)
    start_observing(config)
    for line in _with_client(config, lambda client: ops.setup(config, client)):
        console.print(line, markup=False, highlight=False)


@app.command()
def check(config_path: ConfigOption = None) -> None:
    """Check the Plex key, tenant, subscriptions, data-source grants and the CDF connection."""
    from plex_cdf import ops

    config = load(config_path)
    start_observing(config)
    results = _with_client(config, lambda client: ops.check(config, client))
    render.checks(console, results)
    if not all(r.ok for r in results):
        raise typer.Exit(1)


@app.command()
def status(
    config_path: ConfigOption = None,
    reconcile: Annotated[
        bool, typer.Option("--reconcile", help="Compare each resource's count in Plex with CDF's.")
    ] = False,
) -> None:
    """Show watermarks, last runs, counts and lag per resource."""
    from plex_cdf import ops

    config = load(config_path)
    start_observing(config)

    async def work(client: Any) -> Any:
        from plex_cdf.app import open_state

        state = open_state(config, client)
        rows = ops.status_rows(config, state, datetime.now(UTC))
        missing = await ops.reconcile(config, client) if reconcile else None
        return rows, missing

    rows, missing = _with_client(config, work)
    render.status(console, rows)
    if missing is not None:
        render.reconcile(console, missing)
        if any(m.missing for m in missing):
            raise typer.Exit(1)


@app.command()
def plan(config_path: ConfigOption = None) -> None:
    """Expected Plex calls a minute per resource, budget share and cold-start time, from Plex's sizes now."""
    from plex_cdf import plan as planning

    config = load(config_path)
    start_observing(config)
    plans = guarded(config, planning.plans(config, datetime.now(UTC)))
    for one in plans:
        for line in planning.report(one):
            console.print(line, markup=False, highlight=False)


@app.command()
def cleanup(
    config_path: ConfigOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Delete what is listed (otherwise only list).")] = False,
    schema: Annotated[
        bool,
        typer.Option(
            "--schema", help="Data-modeling target: also delete plex-cdf's views, containers, spaces."
        ),
    ] = False,
) -> None:
    """Delete what plex-cdf wrote for the configured PCNs (lists first, acts with --yes)."""
    from plex_cdf import ops

    config = load(config_path)
    start_observing(config)

    async def work(client: Any) -> Any:
        from plex_cdf.app import open_state

        plan = await ops.plan_cleanup(config, client, schema=schema)
        if yes:
            await ops.execute_cleanup(plan, client, config, open_state(config, client))
        return plan

    plan = _with_client(config, work)
    render.cleanup(console, plan, done=yes)


@app.command()
def migrate(
    config_path: ConfigOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would change; change nothing.")
    ] = False,
) -> None:
    """Bring a CDF project written by an earlier plex-cdf to this layout (readable ids, metadata style,
    retired series), in place: no duplicates, datapoints kept (docs/upgrade-notes.md)."""
    from plex_cdf import ops

    config = load(config_path)
    start_observing(config)

    async def work(client: Any) -> Any:
        from plex_cdf.app import open_state

        return await ops.migrate(config, client, open_state(config, client), dry_run=dry_run)

    for the_plan in _with_client(config, work):
        counts = ", ".join(f"{n} {kind}" for kind, n in sorted(the_plan.counts().items())) or "nothing"
        verb = "would change" if dry_run else "changed"
        console.print(f"PCN {the_plan.pcn}: {verb} {counts}", markup=False, highlight=False)
        if dry_run:
            for line in the_plan.lines():
                console.print(f"  {line}", markup=False, highlight=False)


@app.command()
def discover(
    config_path: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
    source: Annotated[
        int | None, typer.Option("--source", help="One data source's metadata and a config block.")
    ] = None,
    pcn: Annotated[str | None, typer.Option("--pcn", help="With --source: read as this tenant.")] = None,
) -> None:
    """What each tenant's key and web-service user can reach: Connect products and granted data sources."""
    import json

    import yaml

    from plex_cdf import ops
    from plex_cdf.plex.discover import config_block

    config = load(config_path)
    if source is not None:
        found = guarded(config, ops.discover_source(config, source, pcn))
        block = yaml.safe_dump([config_block(found)], sort_keys=False).rstrip()
        if as_json:
            console.print_json(json.dumps({**found.as_json(), "config_block": config_block(found)}))
        else:
            render.source_metadata(console, found, block)
        return
    tenants = guarded(config, ops.discover(config))
    if as_json:
        print(json.dumps([t.as_json() for t in tenants], indent=2))
        return
    for tenant in tenants:
        render.discovery(console, tenant)


@app.command()
def demo(
    serve: Annotated[
        bool, typer.Option("--serve", help="Keep everything running with the clock advancing.")
    ] = False,
    scale: Annotated[str, typer.Option("--scale", help="Plant size: small, medium or large.")] = "small",
    target: Annotated[
        str, typer.Option("--target", help="Where items go: classic or data-modeling (Core Data Model).")
    ] = "classic",
) -> None:
    """Start the simulated Plex and a local CDF, run every domain once, print a summary."""
    from plex_cdf.demo import run_demo

    if target not in ("classic", "data-modeling"):
        fail(f"--target: classic or data-modeling, not {target!r}")
    raise typer.Exit(run_demo(console, serve=serve, scale=scale, target=target))


def main() -> None:
    app()


def __getattr__(name: str) -> Any:
    """`extract` moved to `plex_cdf.app` (run orchestration is not the CLI's); still importable from here."""
    if name == "extract":
        from plex_cdf.app import extract

        return extract
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["app", "main"]
