"""What the commands print: rich tables and progress bars. Pure presentation; no I/O but the console."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.tree import Tree

from plex_cdf.domains.resource import DataSourceWindow, Resource, TimeRange, Window
from plex_cdf.windows import split

if TYPE_CHECKING:  # annotations only: the CLI's tables do not need the CDF client loaded
    from plex_cdf.app import DomainResult


def summary(console: Console, results: Mapping[str, DomainResult]) -> None:
    """One row per tenant and domain; fits an 80-column terminal (the PCN goes to the title when there is
    one tenant; the deleted column (containers gone longer than the retention) appears only when something
    was deleted, the notes column only when a resource was skipped or failed)."""
    pcns = sorted({name.split("/", 1)[0] for name in results})
    single = len(pcns) == 1
    notes = {name: _notes(result) for name, result in results.items()}
    title = f"plex-cdf run summary, PCN {pcns[0]}" if single else "plex-cdf run summary"
    table = Table(
        title=title,
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        pad_edge=False,
        show_edge=False,
        collapse_padding=True,
    )
    table.add_column("domain" if single else "PCN/domain", no_wrap=True)
    deleted = any(result.totals()["deleted"] for result in results.values())
    counts = ("fetched", "written", "unchanged", *(("deleted",) if deleted else ()), "quarantined")
    for column in (*counts, "Plex\ncalls", "CDF\ncalls", "seconds"):
        table.add_column(column, justify="right", no_wrap=True)
    if any(notes.values()):
        table.add_column("notes")
    for name in sorted(results):
        t = results[name].totals()
        row = [
            name.split("/", 1)[1] if single else name,
            f"{int(t['fetched']):,}",
            f"{int(t['written']):,}",
            f"{int(t['unchanged']):,}",
            *((f"{int(t['deleted']):,}",) if deleted else ()),
            f"{int(t['quarantined']):,}",
            f"{results[name].plex_calls:,}",
            f"{int(t['cdf_calls']):,}",
            f"{t['seconds']:.1f}",
        ]
        if any(notes.values()):
            row.append(notes[name])
        table.add_row(*row)
    console.print(table)


def _notes(result: DomainResult) -> str:
    return "; ".join(f"{r.resource}: {r.status}" for r in result.reports if r.status != "ok")


def checks(console: Console, results: Iterable[Any]) -> None:
    table = Table(title="plex-cdf check")
    for column in ("check", "result", "detail", "fix"):
        table.add_column(column)
    for r in results:
        table.add_row(
            r.name, "[green]OK[/green]" if r.ok else "[red]FAIL[/red]", r.detail, "" if r.ok else r.fix
        )
    console.print(table)


def status(console: Console, rows: Sequence[Any]) -> None:
    table = Table(title="plex-cdf status")
    for column in (
        "PCN",
        "domain",
        "resource",
        "watermark (UTC)",
        "lag",
        "last run",
        "result",
        "fetched",
        "written",
        "pending",
    ):
        table.add_column(column)
    for row in rows:
        last = row.last_run or {}
        table.add_row(
            row.pcn,
            row.domain,
            row.resource,
            "-" if row.watermark is None else row.watermark.strftime("%Y-%m-%d %H:%M:%S"),
            "-" if row.lag_s is None else _duration(row.lag_s),
            str(last.get("at", "never"))[:19],
            str(last.get("status", "-")),
            str(last.get("fetched", "-")),
            str(last.get("written", "-")),
            str(last.get("pending", "-")),  # windows, parents or records to fetch again until they land
        )
    console.print(table)


def reconcile(console: Console, results: Sequence[Any]) -> None:
    table = Table(title="plex-cdf status --reconcile")
    for column in ("PCN", "resource", "in Plex", "in CDF", "missing", "first missing"):
        table.add_column(column)
    for r in results:
        table.add_row(
            r.pcn, r.resource, str(r.in_plex), str(r.in_cdf), str(len(r.missing)), ", ".join(r.missing[:3])
        )
    console.print(table)


def cleanup(console: Console, plan: Any, *, done: bool) -> None:
    table = Table(title="deleted" if done else "would delete (run again with --yes to delete)")
    table.add_column("kind")
    table.add_column("count", justify="right")
    for kind, count in plan.counts().items():
        table.add_row(kind, f"{count:,}")
    console.print(table)


def asset_tree(console: Console, assets: Sequence[Any], *, depth: int = 3, per_level: int = 4) -> None:
    """An excerpt of the asset hierarchy: the root, a few children per level, counts of the rest."""
    children: dict[int | None, list[Any]] = {}
    for asset in assets:
        children.setdefault(asset.parent_id, []).append(asset)
    roots = children.get(None, [])
    for root in roots:
        tree = Tree(f"[bold]{root.name}[/bold]  ({root.external_id})")
        _grow(tree, root.id, children, depth, per_level)
        console.print(tree)


def _grow(
    node: Tree, parent: int, children: Mapping[int | None, list[Any]], depth: int, per_level: int
) -> None:
    if depth == 0:
        return
    kids = sorted(children.get(parent, []), key=lambda a: a.name)
    for kid in kids[:per_level]:
        branch = node.add(f"{kid.name}")
        _grow(branch, kid.id, children, depth - 1, per_level)
    if len(kids) > per_level:
        node.add(f"[dim]… and {len(kids) - per_level:,} more[/dim]")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


class BackfillProgress:
    """One bar per windowed resource, advanced as each window is committed, with an ETA."""

    def __init__(self, console: Console, span: TimeRange) -> None:
        self.span = span
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        self.bars: dict[str, Any] = {}

    def __enter__(self) -> BackfillProgress:
        self.progress.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.progress.__exit__(kind, value, trace)

    def attach(self, service: Any) -> None:
        for tenant in service.tenants:
            for runner in tenant.runners.values():
                runner.on_window = self._advance(tenant.pcn)

    def _advance(self, pcn: str) -> Any:
        def advance(resource: Resource, window: TimeRange) -> None:
            label = f"{pcn} {resource.name}"
            if label not in self.bars:
                self.bars[label] = self.progress.add_task(label, total=self._windows(resource))
            self.progress.advance(self.bars[label])

        return advance

    def _windows(self, resource: Resource) -> int:
        mode = resource.mode
        if not isinstance(mode, Window | DataSourceWindow):
            return 1
        return sum(
            1 for _ in split(self.span.begin, self.span.end, mode.max_span, mode.align or mode.max_span)
        )


# ---------------------------------------------------------------------------------------------- discover


def discovery(console: Console, found: Any) -> None:
    """One tenant's reach (a plex.discover.Discovery): products, then granted data sources."""
    products = Table(title=f"PCN {found.pcn}: Connect products")
    for column in ("product", "subscribed", "detail / fix"):
        products.add_column(column)
    products.add_row("(key and tenant)", _yes(found.connect.ok), found.connect.detail or found.connect.fix)
    for p in found.products:
        name = p.name.removeprefix("Connect product '").removesuffix("'")
        products.add_row(name, _yes(p.ok), p.detail if p.ok else f"{p.detail}; fix: {p.fix}")
    console.print(products)
    if found.sources_error:
        console.print(f"PCN {found.pcn}: data sources not listed: {found.sources_error}", markup=False)
        return
    sources = Table(title=f"PCN {found.pcn}: data sources granted ({len(found.sources)})")
    for column in ("id", "name", "inputs (* required)", "columns"):
        sources.add_column(column)
    for s in found.sources:
        inputs = ", ".join(f"{i.name}{'*' if i.required else ''}: {i.type}" for i in s.inputs) or "none"
        columns = s.error or f"{len(s.columns)}: " + ", ".join(c.name for c in s.columns)
        sources.add_row(str(s.id), s.name, inputs, columns)
    console.print(sources)


def source_metadata(console: Console, source: Any, block: str) -> None:
    """One data source's inputs and columns (a plex.discover.SourceMetadata), then a config block."""
    console.print(f"data source {source.id} {source.name}: {source.description}", markup=False)
    inputs = Table(title="inputs")
    for column in ("name", "type", "required"):
        inputs.add_column(column)
    for i in source.inputs:
        inputs.add_row(i.name, i.type, "yes" if i.required else "no")
    columns = Table(title="columns")
    for column in ("name", "type"):
        columns.add_column(column)
    for c in source.columns:
        columns.add_row(c.name, c.type)
    console.print(inputs)
    console.print(columns)
    console.print("# paste under `resources:` in the configuration", markup=False, highlight=False)
    console.print(block, markup=False, highlight=False)


def _yes(ok: bool) -> str:
    return "[green]yes[/green]" if ok else "[red]no[/red]"
