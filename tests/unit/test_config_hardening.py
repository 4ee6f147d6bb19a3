"""Configuration files an operator (or an attacker) can hand plex-cdf that must end in one line, never a
traceback or unbounded memory: not UTF-8, an alias bomb, a line break inside a URL or the project."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from plex_cdf.config import ConfigError, load_config
from tests.unit.test_config import MINIMAL, merged


def load_text(tmp_path: Path, text: str | bytes) -> None:
    path = tmp_path / "config.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    load_config(path, {}, dotenv=None)


def test_a_file_that_is_not_utf8_is_one_line_naming_the_byte_and_the_fix(tmp_path: Path) -> None:
    tenant = {"pcn": 1, "name": "München"}
    text = yaml.safe_dump(merged(MINIMAL, {"plex": {"tenants": [tenant]}}), allow_unicode=True)
    latin1 = text.encode("latin-1")

    with pytest.raises(ConfigError) as error:
        load_text(tmp_path, latin1)

    assert "not UTF-8" in str(error.value) and "save the file as UTF-8" in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.timeout(20)
def test_an_alias_bomb_is_refused_before_it_grows(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]

    with pytest.raises(ConfigError, match="aliases expand to more than"):
        load_text(tmp_path, "\n".join(lines) + "\n")


def test_ordinary_aliases_and_merge_keys_still_load(tmp_path: Path) -> None:
    text = yaml.safe_dump(MINIMAL) + (
        "extractor:\n"
        "  jobs: &every-minute {interval: 1m}\n"
        "  production: *every-minute\n"
        "  quality: {<<: *every-minute, enabled: false}\n"
    )
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")

    config = load_config(path, {}, dotenv=None)

    assert config.extractor.production.interval.total_seconds() == 60
    assert config.extractor.quality.enabled is False


@pytest.mark.parametrize(
    ("patch", "where"),
    [
        ({"cognite": {"host": "https://westeurope-1.cognitedata.com\n/x"}}, "cognite.host"),
        ({"cognite": {"project": "plant\ndata"}}, "cognite.project"),
        ({"plex": {"connect-url": "https://connect.plex.com\r\nX-Injected: 1"}}, "plex.connect-url"),
    ],
)
def test_a_line_break_in_a_url_or_the_project_is_one_line_naming_the_key(
    tmp_path: Path, patch: dict[str, object], where: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load_text(tmp_path, yaml.safe_dump(merged(MINIMAL, patch)))

    message = str(error.value)
    assert where in message, message
    assert "\n" not in message and "\r" not in message.replace("\\r", ""), message
