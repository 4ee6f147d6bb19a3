"""Configuration: what a plant engineer writes, what plex-cdf understands, and what it says when it cannot."""

from __future__ import annotations

import copy
import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from plex_cdf.config import Config, ConfigError, json_schema, load_config
from plex_cdf.domains.resource import Domain

REPO = Path(__file__).resolve().parents[2]

SECRETS = {"cdf": "cdf-secret-1", "plex": "plex-key-1", "ds": "ds-pass-1"}
MINIMAL: dict[str, Any] = {
    "cognite": {
        "project": "plant-data",
        "idp-authentication": {
            "token-url": "https://login.example.com/tenant/oauth2/v2.0/token",
            "client-id": "extractor",
            "secret": SECRETS["cdf"],
        },
    },
    "plex": {
        "api-key": SECRETS["plex"],
        "tenants": [
            {"pcn": 340884, "data-source": {"username": "PlantWs@plex.com", "password": SECRETS["ds"]}}
        ],
    },
}


def merged(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """The base tree with patch applied: mappings merge, None removes a key, anything else replaces."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def write(tmp_path: Path, content: dict[str, Any] | str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(content if isinstance(content, str) else yaml.safe_dump(content), encoding="utf-8")
    return path


def load(tmp_path: Path, content: dict[str, Any] | str, environ: dict[str, str] | None = None) -> Config:
    return load_config(write(tmp_path, content), environ or {}, dotenv=None)


def error_of(tmp_path: Path, content: dict[str, Any] | str, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, content, environ)
    return str(caught.value)


# --- a valid file ---------------------------------------------------------------------------------------


def test_a_minimal_file_gets_the_documented_defaults(tmp_path: Path) -> None:
    config = load(tmp_path, MINIMAL)

    assert config.cognite.host == "https://api.cognitedata.com"
    assert config.plex.connect_url == "https://connect.plex.com"
    assert config.plex.datasource_url == "https://cloud.plex.com"
    assert config.plex.calls_per_minute == 200
    assert config.plex.verify_tls is True, "TLS verification must be on unless switched off"
    assert config.plex.tenants[0].pcn == "340884", "a PCN written as a YAML number is kept as text"
    assert config.extractor.master_data.interval == timedelta(hours=24)
    assert config.extractor.performance.interval == timedelta(minutes=15)
    five_minutes: tuple[Domain, ...] = ("jobs", "production", "inventory", "quality")
    assert {config.extractor.domain(d).interval for d in five_minutes} == {timedelta(minutes=5)}
    assert config.extractor.first_run_reach == timedelta(days=7)
    assert config.extractor.raw_copy is False
    assert config.state_store.local is not None and config.state_store.local.path == "plex-cdf-state.db"
    assert config.logger.console is not None and config.logger.console.level == "INFO"
    assert config.metrics.server is None, "no metrics endpoint unless configured"


def test_use_test_points_both_plex_apis_at_the_test_environment(tmp_path: Path) -> None:
    config = load(tmp_path, merged(MINIMAL, {"plex": {"use-test": True}}))

    assert config.plex.connect_url == "https://test.connect.plex.com"
    assert config.plex.datasource_url == "https://test.cloud.plex.com"


def test_a_disabled_domain_keeps_its_default_interval(tmp_path: Path) -> None:
    config = load(tmp_path, merged(MINIMAL, {"extractor": {"jobs": {"enabled": False}}}))

    assert config.extractor.jobs.interval == timedelta(minutes=5)
    assert "jobs" not in config.extractor.enabled_domains()


def test_vanished_containers_are_kept_thirty_days_unless_configured(tmp_path: Path) -> None:
    assert load(tmp_path, MINIMAL).extractor.inventory.container_retention == timedelta(days=30)
    config = load(tmp_path, merged(MINIMAL, {"extractor": {"inventory": {"container-retention": "7d"}}}))
    assert config.extractor.inventory.container_retention == timedelta(days=7)
    assert config.extractor.inventory.interval == timedelta(minutes=5), "the interval keeps its default"
    wrong = error_of(
        tmp_path, merged(MINIMAL, {"extractor": {"inventory": {"container-retention": "a month"}}})
    )
    assert "extractor.inventory.container-retention: not a duration: 'a month'" in wrong
    other = error_of(tmp_path, merged(MINIMAL, {"extractor": {"jobs": {"container-retention": "7d"}}}))
    assert "extractor.jobs.container-retention" in other, "only the inventory section has it"


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        (30, 30),
        (1.5, 1.5),
        ("30s", 30),
        ("5m", 300),
        ("2h", 7200),
        ("1d", 86400),
        ("250ms", 0.25),
        ("90", 90),
    ],
)
def test_durations_take_seconds_or_a_unit(tmp_path: Path, written: object, seconds: float) -> None:
    config = load(tmp_path, merged(MINIMAL, {"extractor": {"lookback": written}}))

    assert config.extractor.lookback == timedelta(seconds=seconds), f"lookback {written!r} misread"


def test_every_domain_data_set_can_be_given_by_id_or_external_id(tmp_path: Path) -> None:
    sets = {"master": {"id": 4945797542267648}, "production": {"external-id": "plex-production"}}
    config = load(tmp_path, merged(MINIMAL, {"extractor": {"data-sets": sets}}))

    assert config.data_set("master").id == 4945797542267648
    assert config.data_set("production").external_id == "plex-production"
    assert config.data_set("quality").external_id == "plex-cdf-quality", "unnamed keys use setup's data set"


def test_cognite_data_set_is_the_fallback_for_unnamed_keys(tmp_path: Path) -> None:
    config = load(tmp_path, merged(MINIMAL, {"cognite": {"data-set": {"id": 77}}}))

    assert config.data_set("inventory").id == 77


def test_several_tenants_each_have_their_own_budget(tmp_path: Path) -> None:
    tenants = [
        {"pcn": 340884},
        {"pcn": "79000", "calls-per-minute": 50, "tenant-id": "2f6c9a0e-8d1b-4c1e-9a55-0b7e3c1d2a44"},
    ]
    config = load(tmp_path, merged(MINIMAL, {"plex": {"tenants": tenants, "calls-per-minute": 150}}))

    assert [config.plex.budget(t) for t in config.plex.tenants] == [150, 50]
    assert str(config.plex.tenants[1].tenant_id) == "2f6c9a0e-8d1b-4c1e-9a55-0b7e3c1d2a44"


def test_the_example_config_in_the_repository_is_valid() -> None:
    environ = {
        "CDF_CLUSTER": "westeurope-1",
        "CDF_PROJECT": "demo",
        "CDF_TOKEN_URL": "https://datamosaix-prod.us.auth0.com/oauth/token",
        "CDF_CLIENT_ID": "id",
        "CDF_CLIENT_SECRET": "secret",
        "PLEX_API_KEY": "key",
        "PLEX_DS_USERNAME": "user",
        "PLEX_DS_PASSWORD": "password",
    }
    config = load_config(REPO / "config.example.yaml", environ, dotenv=None)

    assert config.cognite.host == "https://westeurope-1.cognitedata.com"
    assert config.plex.tenants[0].name == "ra-process"
    assert config.destination.data_modeling, "the example shows the data-modeling target"
    assert config.destination.instance_space_of("340884") == "plex_340884"


# --- OAuth scopes ----------------------------------------------------------------------------------------


def test_an_auth0_token_url_defaults_to_the_datamosaix_scope(tmp_path: Path) -> None:
    auth0 = {"token-url": "https://datamosaix-prod.us.auth0.com/oauth/token"}
    config = load(tmp_path, merged(MINIMAL, {"cognite": {"idp-authentication": auth0}}))

    assert config.cognite.idp_authentication.scopes == ["user_impersonation"]


def test_another_token_url_defaults_to_the_cluster_default_scope(tmp_path: Path) -> None:
    host = {"host": "https://westeurope-1.cognitedata.com"}
    config = load(tmp_path, merged(MINIMAL, {"cognite": host}))

    assert config.cognite.idp_authentication.scopes == ["https://westeurope-1.cognitedata.com/.default"]


def test_explicit_scopes_are_kept(tmp_path: Path) -> None:
    scopes = {"scopes": ["IDENTITY", "user_impersonation"]}
    config = load(tmp_path, merged(MINIMAL, {"cognite": {"idp-authentication": scopes}}))

    assert config.cognite.idp_authentication.scopes == ["IDENTITY", "user_impersonation"]


# --- ${VAR} substitution --------------------------------------------------------------------------------


def test_a_variable_in_the_middle_of_a_quoted_string_is_substituted(tmp_path: Path) -> None:
    text = yaml.safe_dump(MINIMAL).replace(
        "https://login.example.com/tenant/oauth2/v2.0/token",
        '"https://${IDP_HOST}/${TENANT}/oauth2/v2.0/token"',
    )
    config = load(tmp_path, text, {"IDP_HOST": "login.microsoftonline.com", "TENANT": "abc"})

    assert (
        config.cognite.idp_authentication.token_url
        == "https://login.microsoftonline.com/abc/oauth2/v2.0/token"
    )


def test_a_variable_in_an_unquoted_value_is_substituted_and_converted(tmp_path: Path) -> None:
    text = yaml.safe_dump(MINIMAL) + "metrics:\n  server:\n    port: ${METRICS_PORT}\n"
    config = load(tmp_path, text, {"METRICS_PORT": "9100"})

    assert config.metrics.server is not None and config.metrics.server.port == 9100


def test_a_substituted_value_cannot_change_the_yaml_structure(tmp_path: Path) -> None:
    text = yaml.safe_dump(MINIMAL).replace("client-id: extractor", "client-id: ${CLIENT}")
    config = load(tmp_path, text, {"CLIENT": "a: b\nc: ${NOT_EXPANDED}"})

    client_id = config.cognite.idp_authentication.client_id
    assert client_id == "a: b\nc: ${NOT_EXPANDED}", "variable values are text, not YAML"


def test_a_doubled_dollar_writes_a_literal_reference(tmp_path: Path) -> None:
    text = yaml.safe_dump(MINIMAL).replace("project: plant-data", "project: cost-$${CENTER}")
    config = load(tmp_path, text)

    assert config.cognite.project == "cost-${CENTER}"


# --- .env -----------------------------------------------------------------------------------------------


def test_dotenv_fills_in_what_the_environment_lacks_and_the_environment_wins(tmp_path: Path) -> None:
    text = yaml.safe_dump(MINIMAL).replace("project: plant-data", "project: ${PROJECT}-${SUFFIX}")
    dotenv = tmp_path / ".env"
    dotenv.write_text("PROJECT=from-dotenv  # a comment\nSUFFIX=from-dotenv\n", encoding="utf-8")

    config = load_config(write(tmp_path, text), {"PROJECT": "from-environment"}, dotenv=dotenv)

    assert config.cognite.project == "from-environment-from-dotenv"


def test_a_missing_dotenv_file_is_not_an_error(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL), {}, dotenv=tmp_path / "absent.env")

    assert config.cognite.project == "plant-data"


def test_loading_leaves_the_process_environment_alone(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text("PLEX_CDF_TEST_ONLY_VARIABLE=1\n", encoding="utf-8")

    load_config(write(tmp_path, MINIMAL), None, dotenv=dotenv)

    assert "PLEX_CDF_TEST_ONLY_VARIABLE" not in os.environ, ".env must not leak into the process environment"


def test_the_destination_defaults_to_classic_with_a_space_per_tenant(tmp_path: Path) -> None:
    config = load(tmp_path, merged(MINIMAL, {"plex": {"tenants": [{"pcn": 1}, {"pcn": 22}]}}))

    assert config.destination.type == "classic"
    assert not config.destination.data_modeling
    assert [config.destination.instance_space_of(t.pcn) for t in config.plex.tenants] == ["plex_1", "plex_22"]
    assert config.destination.schema_space == "plex_cdf"


def test_the_data_modeling_destination_takes_its_spaces(tmp_path: Path) -> None:
    patch = {"destination": {"type": "data-modeling", "instance-space": "mes-{pcn}", "schema-space": "mes"}}

    config = load(tmp_path, merged(MINIMAL, patch))

    assert config.destination.data_modeling
    assert config.destination.instance_space_of("340884") == "mes-340884"
    assert config.destination.schema_space == "mes"


# --- errors: one line, naming the key -------------------------------------------------------------------

ERRORS: list[tuple[str, dict[str, Any], str]] = [
    ("unknown top-level key", {"cognit": {}}, "cognit: unknown key (did you mean cognite?)"),
    (
        "snake_case key",
        {"cognite": {"idp-authentication": {"client_id": "x"}}},
        "cognite.idp-authentication.client_id: unknown key (did you mean client-id?)",
    ),
    (
        "wrong type",
        {"metrics": {"server": {"port": "abc"}}},
        "metrics.server.port: expected an integer, got 'abc'",
    ),
    (
        "not a boolean",
        {"plex": {"verify-tls": "maybe"}},
        "plex.verify-tls: expected true or false, got 'maybe'",
    ),
    (
        "bad duration",
        {"extractor": {"jobs": {"interval": "5 minutes"}}},
        "extractor.jobs.interval: not a duration: '5 minutes'; use seconds or 30s, 5m, 2h, 1d",
    ),
    (
        "both state stores",
        {"state-store": {"local": {"path": "s.db"}, "raw": {"database": "d", "table": "t"}}},
        "state-store: give either local or raw, not both",
    ),
    ("missing required", {"cognite": {"project": None}}, "cognite.project: required key is missing"),
    ("empty required", {"cognite": {"project": ""}}, "cognite.project: must not be empty"),
    (
        "bad PCN",
        {"plex": {"tenants": [{"pcn": "ra-process"}]}},
        "plex.tenants[0].pcn: a PCN is a positive number such as 340884, got 'ra-process'",
    ),
    (
        "PCN of a digit int() refuses",
        {"plex": {"tenants": [{"pcn": "34²"}]}},
        "plex.tenants[0].pcn: a PCN is a positive number such as 340884, got '34²'",
    ),
    (
        "duplicate PCN",
        {"plex": {"tenants": [{"pcn": 1}, {"pcn": "1"}]}},
        "plex: PCN 1 is listed more than once in tenants",
    ),
    ("no tenant", {"plex": {"tenants": []}}, "plex.tenants: needs at least 1 entry"),
    (
        "bad tenant id",
        {"plex": {"tenants": [{"pcn": 1, "tenant-id": "nope"}]}},
        "plex.tenants[0].tenant-id: expected a UUID such as 2f6c9a0e-8d1b-4c1e-9a55-0b7e3c1d2a44, got 'nope'",
    ),
    (
        "data set by both id and external id",
        {"extractor": {"data-sets": {"master": {"id": 5, "external-id": "x"}}}},
        "extractor.data-sets.master: give exactly one of id or external-id",
    ),
    (
        "plain http to a remote host",
        {"cognite": {"host": "http://example.com"}},
        "cognite.host: 'http://example.com' must use https (plain http is allowed only for localhost)",
    ),
    (
        "unknown log level",
        {"logger": {"console": {"level": "verbose"}}},
        "logger.console.level: input should be 'DEBUG', 'INFO', 'WARNING', 'ERROR' or 'CRITICAL',"
        " got 'VERBOSE'",
    ),
    (
        "unknown log format",
        {"logger": {"console": {"format": "xml"}}},
        "logger.console.format: input should be 'text' or 'json', got 'xml'",
    ),
    (
        "zero budget",
        {"plex": {"calls-per-minute": 0}},
        "plex.calls-per-minute: input should be greater than 0, got 0",
    ),
    ("remote config", {"type": "remote"}, "type: input should be 'local', got 'remote'"),
    (
        "scopes not a list",
        {"cognite": {"idp-authentication": {"scopes": "user_impersonation"}}},
        "cognite.idp-authentication.scopes: expected a list, got 'user_impersonation'",
    ),
    ("section not a mapping", {"plex": "x"}, "plex: expected a mapping of keys to values, got 'x'"),
    (
        "unknown destination",
        {"destination": {"type": "dms"}},
        "destination.type: input should be 'classic' or 'data-modeling', got 'dms'",
    ),
    (
        "instance space CDF refuses",
        {"destination": {"type": "data-modeling", "instance-space": "1plex_{pcn}"}},
        "destination: '1plex_1' is not a space CDF accepts: a letter, then up to 42 letters, digits, _ or -,"
        " not ending in _ or -, not reserved (cdf_*, space, node, edge, ...)",
    ),
    (
        "reserved schema space",
        {"destination": {"schema-space": "cdf_cdm"}},
        "destination: 'cdf_cdm' is not a space CDF accepts: a letter, then up to 42 letters, digits, _ or -,"
        " not ending in _ or -, not reserved (cdf_*, space, node, edge, ...)",
    ),
    (
        "unknown placeholder",
        {"destination": {"instance-space": "plex_{tenant}"}},
        "destination: instance-space: only {pcn} may be filled in, not {tenant}",
    ),
    (
        "one space for two tenants",
        {"plex": {"tenants": [{"pcn": 1}, {"pcn": 2}]}, "destination": {"instance-space": "plex"}},
        "(top level): destination.instance-space: several tenants would share one space; use {pcn}",
    ),
    (
        "schema space equal to instance space",
        {"destination": {"instance-space": "plex", "schema-space": "plex"}},
        "destination: instance-space and schema-space must differ",
    ),
]


@pytest.mark.parametrize(("case", "patch", "expected"), ERRORS, ids=[case for case, _, _ in ERRORS])
def test_each_mistake_gets_one_line_naming_the_key(
    tmp_path: Path, case: str, patch: dict[str, Any], expected: str
) -> None:
    message = error_of(tmp_path, merged(MINIMAL, patch))

    assert message == f"{tmp_path / 'config.yaml'}: {expected}", f"{case}: the user saw {message!r}"


def test_an_undefined_variable_is_named_with_its_key_path(tmp_path: Path) -> None:
    text = yaml.safe_dump(MINIMAL).replace(f"secret: {SECRETS['cdf']}", "secret: ${CDF_CLIENT_SECRET}")

    message = error_of(tmp_path, text)

    assert message.endswith(
        "cognite.idp-authentication.secret: environment variable CDF_CLIENT_SECRET is not defined"
    ), message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("'${'", "cognite.project: unclosed ${ (write $${ for a literal ${)"),
        ("'${1A}'", "cognite.project: ${1A} is not a valid environment variable name"),
    ],
)
def test_a_malformed_reference_is_an_error(tmp_path: Path, value: str, expected: str) -> None:
    text = yaml.safe_dump(MINIMAL).replace("project: plant-data", f"project: {value}")

    assert error_of(tmp_path, text).endswith(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "cognite: [",
            "not valid YAML: line 1, column 11: expected the node content, but found '<stream end>'",
        ),
        ("- a list", "expected a mapping of sections (cognite, plex, ...) at the top level"),
        ("", "expected a mapping of sections (cognite, plex, ...) at the top level"),
        ("cognite: {}\nplex: {}\ncognite: {}\n", "not valid YAML: duplicate key 'cognite' on line 3"),
        ("cognite: {}\n1: x\n", "not valid YAML: key 1 on line 2 is not text"),
    ],
)
def test_a_file_that_is_not_a_yaml_mapping_is_named(tmp_path: Path, text: str, expected: str) -> None:
    assert error_of(tmp_path, text) == f"{tmp_path / 'config.yaml'}: {expected}"


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"absent\.yaml: cannot read the config file \(No such file or directory\)$"
    ):
        load_config(tmp_path / "absent.yaml", {}, dotenv=None)


def test_a_misspelt_section_is_named_before_the_missing_one_it_explains(tmp_path: Path) -> None:
    content = {"cognit": MINIMAL["cognite"], "plex": MINIMAL["plex"]}

    assert error_of(tmp_path, content).endswith(
        "cognit: unknown key (did you mean cognite?) (and 1 more problem)"
    )


def test_several_problems_are_counted_on_the_one_line(tmp_path: Path) -> None:
    message = error_of(tmp_path, merged(MINIMAL, {"cognite": {"project": None}, "plex": {"timeout": "soon"}}))

    assert message.endswith("cognite.project: required key is missing (and 1 more problem)")


@pytest.mark.parametrize(
    "patch",
    [
        {"plex": {"api-key": {"nested": SECRETS["plex"]}}},
        {"cognite": {"idp-authentication": {"secret": [SECRETS["cdf"]]}}},
        {
            "plex": {
                "tenants": [{"pcn": 1, "data-source": {"username": "u", "password": {"v": SECRETS["ds"]}}}]
            }
        },
    ],
)
def test_an_error_about_a_secret_never_shows_its_value(tmp_path: Path, patch: dict[str, Any]) -> None:
    message = error_of(tmp_path, merged(MINIMAL, patch))

    assert not any(secret in message for secret in SECRETS.values()), f"secret shown in: {message}"
    assert "\n" not in message


def test_a_secret_reused_under_another_key_is_masked_in_the_error(tmp_path: Path) -> None:
    tenant = {
        "pcn": 1,
        "tenant-id": SECRETS["ds"],
        "data-source": {"username": "u", "password": SECRETS["ds"]},
    }

    message = error_of(tmp_path, merged(MINIMAL, {"plex": {"tenants": [tenant]}}))

    assert message.endswith(
        "plex.tenants[0].tenant-id: expected a UUID such as 2f6c9a0e-8d1b-4c1e-9a55-0b7e3c1d2a44, got '***'"
    )


# --- secrets stay hidden --------------------------------------------------------------------------------


def test_the_config_object_never_shows_a_secret(tmp_path: Path) -> None:
    config = load(tmp_path, MINIMAL)

    shown = [repr(config), str(config), str(config.model_dump()), config.model_dump_json()]

    for text in shown:
        assert not any(secret in text for secret in SECRETS.values()), f"secret visible in {text[:80]}..."


def test_secrets_lists_every_secret_and_the_data_source_basic_token(tmp_path: Path) -> None:
    config = load(tmp_path, merged(MINIMAL, {"plex": {"api-secret": "plex-secret-2"}}))

    found = config.secrets()

    assert set(SECRETS.values()) | {"plex-secret-2"} <= set(found)
    assert "UGxhbnRXc0BwbGV4LmNvbTpkcy1wYXNzLTE=" in found, (
        "the Basic header value (base64 user:pass) is a secret"
    )


# --- the predecessor's environment variables (no config file) -----------------------------------------

# The block from the predecessor's documentation, verbatim (inline comments included), values filled in.
SEED_DOTENV = """\
# CDF Configuration
CDF_HOST=https://westeurope-1.cognitedata.com
CDF_PROJECT=essc-sandbox-44
CDF_CLIENT_ID=seed-client-id
CDF_CLIENT_SECRET=seed-client-secret
CDF_TOKEN_URL=https://datamosaix-prod.us.auth0.com/oauth/token
CDF_CLUSTER=westeurope-1

# Plex Configuration
PLEX_API_KEY=seed-plex-key
PLEX_CUSTOMER_ID=340884
PLEX_PCN_CODE=ra-process

# Dataset IDs (created by setup_datasets.py)
CDF_DATASET_PLEXPRODUCTION=869709519571885
CDF_DATASET_PLEXSCHEDULING=7195113081024241
CDF_DATASET_PLEXQUALITY=2881941287917280
CDF_DATASET_PLEXINVENTORY=8139681212033756
CDF_DATASET_PLEXMAINTENANCE=5080535668683118
CDF_DATASET_PLEXMASTER=4945797542267648

# Data Source API (for Quality/Performance)
PLEX_DS_USERNAME=RockwellWs@plex.com
PLEX_DS_PASSWORD=seed-ds-password
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
"""


@pytest.fixture
def seed_dotenv(tmp_path: Path) -> Path:
    path = tmp_path / ".env"
    path.write_text(SEED_DOTENV, encoding="utf-8")
    return path


def test_the_predecessors_dotenv_runs_unchanged_without_a_config_file(seed_dotenv: Path) -> None:
    config = load_config(None, {}, dotenv=seed_dotenv)

    assert config.cognite.host == "https://westeurope-1.cognitedata.com"
    assert config.cognite.project == "essc-sandbox-44"
    assert config.cognite.idp_authentication.token_url == "https://datamosaix-prod.us.auth0.com/oauth/token"
    assert config.cognite.idp_authentication.client_id == "seed-client-id"
    assert config.cognite.idp_authentication.scopes == ["user_impersonation"], (
        "the predecessor's scope lesson"
    )
    tenant = config.plex.tenants[0]
    assert (tenant.pcn, tenant.name) == ("340884", "ra-process")
    assert tenant.data_source is not None and tenant.data_source.username == "RockwellWs@plex.com"
    assert config.plex.connect_url == "https://connect.plex.com"
    assert config.data_set("master").id == 4945797542267648
    assert config.data_set("scheduling").id == 7195113081024241
    assert config.data_set("maintenance").id == 5080535668683118
    assert config.extractor.master_data.interval == timedelta(days=1)
    assert config.extractor.performance.interval == timedelta(minutes=15)
    assert config.extractor.enabled_domains() == ("master_data", "jobs", "production", "inventory")
    assert set(config.secrets()) >= {"seed-client-secret", "seed-plex-key", "seed-ds-password"}
    assert config.destination.type == "classic", "the predecessor's .env keeps the classic target"


def test_the_environment_overrides_the_predecessors_dotenv(seed_dotenv: Path) -> None:
    config = load_config(None, {"CDF_PROJECT": "production-project", "DRY_RUN": "true"}, dotenv=seed_dotenv)

    assert config.cognite.project == "production-project"
    assert config.extractor.dry_run is True


def test_the_test_commands_flags_are_understood(seed_dotenv: Path) -> None:
    config = load_config(None, {"DRY_RUN": "true", "RUN_ONCE": "true"}, dotenv=seed_dotenv)

    assert (config.extractor.dry_run, config.extractor.run_once) == (True, True)


def test_a_cluster_alone_gives_the_cluster_host(seed_dotenv: Path) -> None:
    text = SEED_DOTENV.replace("CDF_HOST=https://westeurope-1.cognitedata.com\n", "")
    seed_dotenv.write_text(text, encoding="utf-8")

    config = load_config(None, {"CDF_CLUSTER": "az-eastus-1"}, dotenv=seed_dotenv)

    assert config.cognite.host == "https://az-eastus-1.cognitedata.com"


def test_the_new_variables_set_base_urls_and_the_state_file(seed_dotenv: Path) -> None:
    environ = {
        "PLEX_CONNECT_URL": "http://127.0.0.1:8101",
        "PLEX_DATASOURCE_URL": "http://127.0.0.1:8102/",
        "STATE_STORE_PATH": "/var/lib/plex-cdf/state.db",
        "PLEX_USE_TEST": "true",
    }
    config = load_config(None, environ, dotenv=seed_dotenv)

    assert config.plex.connect_url == "http://127.0.0.1:8101", "an explicit URL wins over use-test"
    assert config.plex.datasource_url == "http://127.0.0.1:8102"
    assert (
        config.state_store.local is not None and config.state_store.local.path == "/var/lib/plex-cdf/state.db"
    )


def test_use_test_from_the_environment_picks_the_test_urls(seed_dotenv: Path) -> None:
    config = load_config(None, {"PLEX_USE_TEST": "true"}, dotenv=seed_dotenv)

    assert config.plex.connect_url == "https://test.connect.plex.com"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"PLEX_CUSTOMER_ID": "ra-process"},
            "environment variable PLEX_CUSTOMER_ID (plex.tenants[0].pcn):"
            " a PCN is a positive number such as 340884, got 'ra-process'",
        ),
        (
            {"JOBS_EXTRACTION_INTERVAL": "often"},
            "environment variable JOBS_EXTRACTION_INTERVAL (extractor.jobs.interval):"
            " not a duration: 'often'; use seconds or 30s, 5m, 2h, 1d",
        ),
        (
            {"CDF_DATASET_PLEXMASTER": "abc"},
            "environment variable CDF_DATASET_PLEXMASTER (extractor.data-sets.master.id):"
            " expected an integer, got 'abc'",
        ),
        (
            {"CDF_HOST": "http://westeurope-1.cognitedata.com"},
            "environment variable CDF_HOST (cognite.host): 'http://westeurope-1.cognitedata.com'"
            " must use https (plain http is allowed only for localhost)",
        ),
    ],
)
def test_a_bad_legacy_value_names_its_variable(
    seed_dotenv: Path, change: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(None, change, dotenv=seed_dotenv)

    assert str(caught.value) == expected


def test_a_missing_legacy_variable_is_named(seed_dotenv: Path) -> None:
    seed_dotenv.write_text(SEED_DOTENV.replace("PLEX_API_KEY=seed-plex-key\n", ""), encoding="utf-8")

    with pytest.raises(ConfigError) as caught:
        load_config(None, {}, dotenv=seed_dotenv)

    assert str(caught.value) == "environment variable PLEX_API_KEY is not set (needed for plex.api-key)"


def test_without_file_or_variables_the_user_is_told_what_to_give() -> None:
    with pytest.raises(
        ConfigError, match="no config file given and none of the predecessor's environment variables"
    ):
        load_config(None, {}, dotenv=None)


# --- the published schema ------------------------------------------------------------------------------


def test_the_published_schema_matches_the_models() -> None:
    published = json.loads((REPO / "docs" / "config.schema.json").read_text(encoding="utf-8"))

    assert published == json_schema(), (
        "docs/config.schema.json is stale: run scripts/regenerate_config_schema.py"
    )


def test_the_schema_names_keys_as_written_in_yaml() -> None:
    schema = json_schema()
    cognite = schema["$defs"]["CogniteConfig"]["properties"]

    assert "idp-authentication" in cognite and "idp_authentication" not in cognite
    assert schema["additionalProperties"] is False, "unknown top-level keys must be flagged by editors too"


def test_the_schema_lets_editors_accept_a_variable_where_a_number_goes() -> None:
    port = json_schema()["$defs"]["MetricsServer"]["properties"]["port"]

    assert {"type": "string", "pattern": r"\$\{[A-Za-z_][A-Za-z0-9_]*\}"} in port["anyOf"], (
        "`port: ${METRICS_PORT}` is valid for plex-cdf, so the published schema must accept it"
    )
