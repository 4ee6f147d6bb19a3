"""The rooms of the house, read from the source: which module may import which, no import circles, and a
command line that does not load the simulators it only offers."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


@cache
def modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _owner(name: str) -> str | None:
    """The product module a dotted name lives in (a module, or the module defining the name)."""
    while name and name not in modules():
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> set[str]:
    """Every product module `module` imports, anywhere in the file (also inside functions and
    TYPE_CHECKING blocks: a lazy import is still a dependency)."""
    path = modules()[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str | None] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {_owner(a.name) for a in node.names if a.name.startswith("plex_cdf")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            if base.startswith("plex_cdf"):
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    found.add(full if full in modules() else _owner(base))
    return {m for m in found if m is not None and m != module}


def cycles() -> Iterator[list[str]]:
    """Groups of modules that import each other, directly or around a circle (Tarjan)."""
    graph = {m: imports_of(m) for m in modules()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while (top := stack.pop()) != node:
                group.append(top)
            if group:
                found.append(sorted([node, *group]))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 5000))
    for node in graph:
        if node not in index:
            visit(node)
    yield from found


def test_the_product_has_no_import_circles() -> None:
    assert list(cycles()) == []


def test_the_runner_imports_nothing_under_cdf() -> None:
    assert sorted(m for m in imports_of("plex_cdf.runner") if m.startswith("plex_cdf.cdf")) == []


def test_no_module_under_plex_imports_domains() -> None:
    offending = {
        module: sorted(m for m in imports_of(module) if m.startswith("plex_cdf.domains"))
        for module in modules()
        if module.startswith("plex_cdf.plex")
    }
    assert {m: found for m, found in offending.items() if found} == {}


def test_the_simulators_never_import_the_product() -> None:
    offending = {
        module: sorted(m for m in imports_of(module) if not m.startswith("plex_cdf.sim"))
        for module in modules()
        if module.startswith("plex_cdf.sim")
    }
    assert {m: found for m, found in offending.items() if found} == {}


def test_the_command_line_loads_no_simulator_and_no_web_server() -> None:
    probe = (
        "import sys, plex_cdf.cli, plex_cdf.app\n"
        "heavy = [m for m in sys.modules if m in ('uvicorn', 'starlette') or m.startswith("
        "('plex_cdf.sim.plex.simulator', 'plex_cdf.sim.cdf.server', 'plex_cdf.sim.cdf.app'))]\n"
        "print(','.join(sorted(heavy)))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
