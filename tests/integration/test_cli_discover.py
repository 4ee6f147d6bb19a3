"""`plex-cdf discover` through the real command line against the simulated Plex: every product the key is
subscribed to, every data source the web-service user is granted with its published inputs and columns,
one source's metadata with a ready-to-paste block, and one clear line for a source that is not granted."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from plex_cdf.config.resources import ConfiguredResource
from plex_cdf.domains.configured import check_against_metadata
from plex_cdf.sim.plex import connect
from plex_cdf.sim.plex.datasources import SOURCES
from tests.integration.conftest import WORLD_API_KEY, WORLD_DS_USER, WORLD_PCN, World, world_row


def test_discover_json_lists_products_and_granted_sources(world_pair: World, world_config: Path) -> None:
    world_pair.plex.subscribe(api_key=WORLD_API_KEY, namespace="sales", subscribed=False)
    world_pair.plex.grant_datasource(user=WORLD_DS_USER, source_id=18765, granted=False)
    granted = sorted(world_pair.plex.datasources.grants[WORLD_DS_USER])

    done = world_pair.cli("discover", "-c", str(world_config), "--json")

    assert done.returncode == 0, f"discover failed:\n{done.stdout}\n{done.stderr}"
    (tenant,) = json.loads(done.stdout)
    assert tenant["pcn"] == WORLD_PCN
    subscribed = {p["product"]: p["subscribed"] for p in tenant["products"]}
    assert set(subscribed) == set(connect.NAMESPACES), "discover must probe every documented product"
    assert subscribed["sales"] is False, "an unsubscribed product was reported as subscribed"
    assert all(v for k, v in subscribed.items() if k != "sales"), f"products reported missing: {subscribed}"
    sales = next(p for p in tenant["products"] if p["product"] == "sales")
    assert "subscribe the app" in sales["fix"], f"no fix for the unsubscribed product: {sales}"
    listed = [s["id"] for s in tenant["data_sources"]]
    assert listed == granted, f"discover lists {listed}, the user is granted {granted}"
    for source in tenant["data_sources"]:
        published = SOURCES[source["id"]].metadata()
        assert source["name"] == published["name"]
        assert source["inputs"] == [
            {"name": i["name"], "type": i["type"], "required": i["required"]} for i in published["inputs"]
        ], f"inputs of {source['id']} differ from the published metadata"
        assert source["columns"] == [{"name": c["name"], "type": c["type"]} for c in published["columns"]]


def test_discover_table_for_people(world_pair: World, world_config: Path) -> None:
    done = world_pair.cli("discover", "-c", str(world_config))

    assert done.returncode == 0, done.stderr
    assert world_row(done.stdout, "production")[1] == "yes"
    row = world_row(done.stdout, "4142")
    assert row[1] == "Checksheets_Get"
    assert "Start_Date: datetime" in row[2], f"the inputs cell lacks the date input: {row}"


def test_discover_one_source_prints_metadata_and_a_config_block(
    world_pair: World, world_config: Path
) -> None:
    done = world_pair.cli("discover", "-c", str(world_config), "--source", "4142")

    assert done.returncode == 0, done.stderr
    assert world_row(done.stdout, "Start_Date")[1:] == ["datetime", "no"]
    assert world_row(done.stdout, "Checksheet_No")[1] == "int"
    block_text = done.stdout.split("# paste under `resources:` in the configuration", 1)[1]
    (block,) = yaml.safe_load(block_text)
    assert block["data-source"] == 4142
    assert block["mode"] == "windows"
    assert block["windows"]["begin"] == "Start_Date" and block["windows"]["end"] == "End_Date"
    assert block["key"] == ["Checksheet_No"], f"the block's key is not the first identifier: {block['key']}"
    entry = ConfiguredResource.model_validate(block)
    problems = check_against_metadata(entry, SOURCES[4142].metadata())
    assert problems == [], f"the printed block does not fit the source's metadata: {problems}"


def test_discover_source_not_granted_names_the_fix(world_pair: World, world_config: Path) -> None:
    done = world_pair.cli("discover", "-c", str(world_config), "--source", "6001")

    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got:\n{done.stderr}"
    assert "not granted data source 6001" in lines[0] and f"'{WORLD_DS_USER}'" in lines[0], lines[0]
    assert "fix: ask Plex to grant data source 6001" in lines[0], lines[0]


def test_discover_one_source_as_json(world_pair: World, world_config: Path) -> None:
    done = world_pair.cli("discover", "-c", str(world_config), "--source", "19938", "--json")

    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    published = SOURCES[19938].metadata()
    assert found["id"] == 19938 and found["name"] == published["name"]
    assert [c["name"] for c in found["columns"]] == [c["name"] for c in published["columns"]]
    assert found["config_block"]["key"] == ["Problem_Log_Key"]
    assert found["config_block"]["windows"] == {
        "begin": "Start_Date",
        "end": "End_Date",
        "max-span": "1d",
        "lookback": "2h",
    }
