"""Twenty malformed configurations: `plex-cdf run --once -c bad.yaml` answers each with exactly one line on
stderr that names the offending key, exit code 2, and no traceback. Nothing is contacted: the file is
refused before any connection is made."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.faults.world import run_cli

SECRET = "cfg-secret-Zq81"


def valid_tree() -> dict[str, Any]:
    return {
        "cognite": {
            "host": "http://127.0.0.1:9",
            "project": "plex-cdf",
            "idp-authentication": {
                "token-url": "http://127.0.0.1:9/oauth2/token",
                "client-id": "plex-cdf",
                "secret": SECRET,
                "scopes": ["user_impersonation"],
            },
        },
        "plex": {
            "connect-url": "http://127.0.0.1:9",
            "datasource-url": "http://127.0.0.1:9",
            "api-key": SECRET,
            "tenants": [{"pcn": "340884", "data-source": {"username": "sim-user", "password": SECRET}}],
        },
        "extractor": {"production": {"interval": "5m"}},
        "state-store": {"local": {"path": "state.db"}},
        "logger": {"console": {"level": "WARNING"}},
    }


Edit = Callable[[dict[str, Any]], None]


def setting(path: str, value: Any) -> Edit:
    """Set a dotted path (list indexes as numbers) to a value."""

    def edit(tree: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = tree
        for part in parents:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        node[last] = value

    return edit


def removing(path: str) -> Edit:
    def edit(tree: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = tree
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[last]

    return edit


# (what is wrong, how the file is broken, what the one line must name)
CASES: list[tuple[str, Edit | str, str]] = [
    ("project missing", removing("cognite.project"), "cognite.project"),
    ("project empty", setting("cognite.project", ""), "cognite.project"),
    ("misspelt top-level section", setting("cognit", {"project": "x"}), "cognit"),
    ("API key missing", removing("plex.api-key"), "plex.api-key"),
    ("API key a list", setting("plex.api-key", [SECRET]), "plex.api-key"),
    ("no tenants", setting("plex.tenants", []), "plex.tenants"),
    ("PCN not a number", setting("plex.tenants.0.pcn", "abc"), "plex.tenants[0].pcn"),
    ("tenant id not a UUID", setting("plex.tenants.0.tenant-id", "tenant-1"), "plex.tenants[0].tenant-id"),
    ("zero call budget", setting("plex.calls-per-minute", 0), "plex.calls-per-minute"),
    ("call budget in words", setting("plex.calls-per-minute", "many"), "plex.calls-per-minute"),
    ("Plex concurrency too high", setting("plex.max-concurrency", 1000), "plex.max-concurrency"),
    ("token URL not a URL", setting("cognite.idp-authentication.token-url", "token"), "token-url"),
    ("client secret missing", removing("cognite.idp-authentication.secret"), "idp-authentication.secret"),
    ("interval not a duration", setting("extractor.production.interval", "soon"), "production.interval"),
    ("enabled not a boolean", setting("extractor.jobs.enabled", "maybe"), "extractor.jobs.enabled"),
    ("unknown log level", setting("logger.console.level", "LOUD"), "logger.console.level"),
    ("metrics port out of range", setting("metrics.server.port", 70000), "metrics.server.port"),
    ("data set named twice", setting("extractor.data-sets.production", {"id": 1, "external-id": "x"}),
     "extractor.data-sets.production"),
    ("unset variable", setting("plex.api-key", "${PLEX_CDF_FAULTS_UNSET_KEY}"), "PLEX_CDF_FAULTS_UNSET_KEY"),
    ("section given twice", "cognite:\n  project: a\ncognite:\n  project: b\n", "cognite"),
]  # fmt: skip


def write_bad(tmp_path: Path, broken: Edit | str) -> Path:
    path = tmp_path / "bad.yaml"
    if isinstance(broken, str):
        path.write_text(broken)
    else:
        tree = copy.deepcopy(valid_tree())
        broken(tree)
        path.write_text(yaml.safe_dump(tree, sort_keys=False))
    return path


def test_the_valid_tree_is_valid(tmp_path: Path) -> None:
    """The cases break one thing each in a file that is otherwise accepted."""
    from plex_cdf.config import load_config

    path = write_bad(tmp_path, lambda tree: None)
    assert load_config(path, environ={}, dotenv=None).cognite.project == "plex-cdf"


def test_there_are_twenty_cases() -> None:
    assert len(CASES) == 20
    assert len({what for what, _, _ in CASES}) == 20


@pytest.mark.parametrize(("what", "broken", "key"), CASES, ids=[c[0] for c in CASES])
def test_a_malformed_config_is_one_line_naming_the_key_and_exit_2(
    tmp_path: Path, what: str, broken: Edit | str, key: str
) -> None:
    path = write_bad(tmp_path, broken)
    result = run_cli("run", "--once", "-c", str(path), timeout=60)
    lines = result.stderr.splitlines()
    assert "Traceback" not in result.stderr + result.stdout, (
        f"{what}: the user saw a traceback:\n{result.stderr}"
    )
    assert result.returncode == 2, f"{what}: exit code {result.returncode}, stderr:\n{result.stderr}"
    assert len(lines) == 1, f"{what}: expected one line on stderr, got {len(lines)}:\n{result.stderr}"
    assert key in lines[0], f"{what}: the error does not name {key!r}: {lines[0]}"
    assert SECRET not in result.stderr + result.stdout, f"{what}: the error line shows a secret: {lines[0]}"
