"""The predecessor's `.env`, unchanged but for its URLs (pointed at the simulators) and three added
variables, runs `plex-cdf run --once` with no config file."""

from __future__ import annotations

from cognite.client.data_classes import DataSetWrite

from tests.integration.conftest import (
    WORLD_API_KEY,
    WORLD_CLIENT_ID,
    WORLD_DS_PASSWORD,
    WORLD_DS_USER,
    WORLD_PCN,
    WORLD_PROJECT,
    WORLD_SECRET,
    LocalCdfHandle,
    World,
    world_summary,
)

# The predecessor's .env as its README shows it (comments and inline comments kept); {placeholders} are
# filled with the local world's values. Only the last block is new.
PREDECESSOR_ENV = """\
# CDF Configuration
CDF_HOST={cdf_host}
CDF_PROJECT={project}
CDF_CLIENT_ID={client_id}
CDF_CLIENT_SECRET={client_secret}
CDF_TOKEN_URL={token_url}
CDF_CLUSTER=westeurope-1

# Plex Configuration
PLEX_API_KEY={api_key}
PLEX_CUSTOMER_ID={pcn}
PLEX_PCN_CODE=ra-process

# Dataset IDs (created by setup_datasets.py)
CDF_DATASET_PLEXPRODUCTION={production}
CDF_DATASET_PLEXSCHEDULING={scheduling}
CDF_DATASET_PLEXQUALITY={quality}
CDF_DATASET_PLEXINVENTORY={inventory}
CDF_DATASET_PLEXMAINTENANCE={maintenance}
CDF_DATASET_PLEXMASTER={master}

# Data Source API (for Quality/Performance)
PLEX_DS_USERNAME={ds_user}
PLEX_DS_PASSWORD={ds_password}
PLEX_USE_TEST=false

# Extraction Intervals
MASTER_DATA_EXTRACTION_INTERVAL=86400  # 24 hours
JOBS_EXTRACTION_INTERVAL=300           # 5 minutes
PRODUCTION_EXTRACTION_INTERVAL=300     # 5 minutes
INVENTORY_EXTRACTION_INTERVAL=300      # 5 minutes
QUALITY_EXTRACTION_INTERVAL=300        # 5 minutes
PERFORMANCE_EXTRACTION_INTERVAL=900    # 15 minutes

# Orchestrator Settings
ENABLE_JOBS_EXTRACTOR=true
ENABLE_PRODUCTION_EXTRACTOR=true
ENABLE_INVENTORY_EXTRACTOR=true
ENABLE_MASTER_DATA_EXTRACTOR=true
ENABLE_QUALITY_EXTRACTOR=false  # Disable if Data Source API not working
ENABLE_PERFORMANCE_EXTRACTOR=false  # Requires Data Source API

# Added for plex-cdf: where Plex is, and where the state lives
PLEX_CONNECT_URL={plex_url}
PLEX_DATASOURCE_URL={plex_url}
STATE_STORE_PATH=state.db
"""

DATA_SET_KEYS = ("production", "scheduling", "quality", "inventory", "maintenance", "master")


def predecessor_data_sets(world: World) -> dict[str, int]:
    """The data sets the predecessor's setup_datasets.py created, by key: their ids go into the .env."""
    client = LocalCdfHandle(world.cdf, world.cdf_server).client()
    made = client.data_sets.create(
        [DataSetWrite(external_id=f"plex{key}", name=f"Plex {key}") for key in DATA_SET_KEYS]
    )
    return {str(ds.external_id).removeprefix("plex"): int(ds.id) for ds in made}


def test_the_predecessors_env_runs_unchanged_without_a_config_file(world_pair: World) -> None:
    ids = predecessor_data_sets(world_pair)
    env_text = PREDECESSOR_ENV.format(
        cdf_host=world_pair.cdf_server.base_url,
        token_url=world_pair.cdf_server.token_url,
        project=WORLD_PROJECT,
        client_id=WORLD_CLIENT_ID,
        client_secret=WORLD_SECRET,
        api_key=WORLD_API_KEY,
        pcn=WORLD_PCN,
        ds_user=WORLD_DS_USER,
        ds_password=WORLD_DS_PASSWORD,
        plex_url=world_pair.plex_url,
        **ids,
    )
    (world_pair.folder / ".env").write_text(env_text, encoding="utf-8")

    done = world_pair.cli("run", "--once")

    assert done.returncode == 0, f"the predecessor's .env did not run:\n{done.stdout}\n{done.stderr[-3000:]}"
    tasks = set(world_summary(done.stdout))
    assert tasks == {"master_data", "jobs", "production", "inventory"}, (
        f"ENABLE_*_EXTRACTOR=false was not honoured; ran {sorted(tasks)}"
    )
    assert (world_pair.folder / "state.db").is_file(), "STATE_STORE_PATH was not used for the state"
    store = world_pair.cdf.store
    roots = [a for a in store.assets() if a["externalId"] == f"PCN{WORLD_PCN}_facility_{WORLD_PCN}"]
    assert roots, "the predecessor's root asset id PCN340884_facility_340884 was not written"
    assert roots[0]["dataSetId"] == ids["master"], "the root asset is not in CDF_DATASET_PLEXMASTER"
    jobs = [e for e in store.events() if e.get("type") == "job"]
    assert jobs and {e["dataSetId"] for e in jobs} == {ids["scheduling"]}, (
        "job events are not in the data set CDF_DATASET_PLEXSCHEDULING names"
    )
    assert WORLD_SECRET not in done.stdout + done.stderr, "the CDF client secret appeared in the output"
    assert WORLD_DS_PASSWORD not in done.stdout + done.stderr, (
        "the Data Source password appeared in the output"
    )
