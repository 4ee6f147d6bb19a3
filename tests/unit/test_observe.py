"""What an operator sees: logs without secrets at any level, and metrics without secrets."""

from __future__ import annotations

import json
import logging
import string
from collections.abc import Iterator
from logging.handlers import TimedRotatingFileHandler
from pathlib import Path

import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from plex_cdf.config import Config, LoggerConfig
from plex_cdf.observe import (
    Metrics,
    mask_secrets,
    setup_logging,
    start_metrics_server,
)

API_KEY = "plex-key-7Qx"
CLIENT_SECRET = "cdf+secret/with=chars"
DS_PASSWORD = "ds-pass-9Zt"


@pytest.fixture
def config() -> Config:
    return Config.model_validate(
        {
            "cognite": {
                "project": "p",
                "idp-authentication": {
                    "token-url": "https://login.example.com/token",
                    "client-id": "c",
                    "secret": CLIENT_SECRET,
                },
            },
            "plex": {
                "api-key": API_KEY,
                "tenants": [
                    {"pcn": 340884, "data-source": {"username": "PlantWs@plex.com", "password": DS_PASSWORD}}
                ],
            },
        }
    )


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            handler.close()
    root.handlers[:] = handlers
    root.setLevel(level)


def logger_config(tmp_path: Path, file_format: str = "text") -> LoggerConfig:
    return LoggerConfig.model_validate(
        {
            "console": {"level": "debug", "format": "text"},
            "file": {
                "path": str(tmp_path / "logs" / "plex-cdf.log"),
                "level": "DEBUG",
                "format": file_format,
            },
        }
    )


def assert_no_secret(text: str, config: Config, where: str) -> None:
    leaked = [secret for secret in config.secrets() if secret in text]
    assert not leaked, f"{where} shows a secret: {text[:300]!r}"


# --- masking ------------------------------------------------------------------------------------------


def test_masking_replaces_every_secret_and_its_encoded_forms() -> None:
    text = f"key={CLIENT_SECRET} form=cdf%2Bsecret%2Fwith%3Dchars plus=cdf%2Bsecret%2Fwith%3Dchars other=fine"

    masked = mask_secrets(text, [CLIENT_SECRET])

    assert masked == "key=*** form=*** plus=*** other=fine"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer eyJhbGciOi.payload.sig", "Authorization: Bearer ***"),
        (
            '{"access_token": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln", "expires_in": 3600}',
            '{"access_token": "***", "expires_in": 3600}',
        ),
        ("access_token=abcdefgh12345&token_type=Bearer", "access_token=***&token_type=Bearer"),
    ],
)
def test_oauth_access_tokens_are_masked_by_shape(text: str, expected: str) -> None:
    assert mask_secrets(text, []) == expected


@given(
    secrets=st.lists(
        st.text(alphabet=string.ascii_letters + string.digits + "+/=-_.@", min_size=4), max_size=4
    ),
    text=st.text(),
    spots=st.lists(st.integers(min_value=0), max_size=6),
)
def test_no_secret_survives_masking_wherever_it_sits(secrets: list[str], text: str, spots: list[int]) -> None:
    for spot, secret in zip(spots, secrets * len(spots), strict=False):
        cut = spot % (len(text) + 1)
        text = text[:cut] + secret + text[cut:]

    masked = mask_secrets(text, secrets)

    assert not any(secret in masked for secret in secrets), f"{masked!r} still shows one of {secrets}"


def test_masking_prefers_the_longer_of_overlapping_secrets() -> None:
    assert mask_secrets("abcdef and abc", ["abc", "abcdef"]) == "*** and ***"


def test_masking_without_secrets_changes_nothing() -> None:
    assert mask_secrets("nothing to hide", ["", *[]]) == "nothing to hide"


@pytest.mark.parametrize("file_format", ["text", "json"])
def test_debug_logs_mask_secrets_in_message_args_and_traceback(
    tmp_path: Path, config: Config, capsys: pytest.CaptureFixture[str], file_format: str
) -> None:
    setup_logging(logger_config(tmp_path, file_format), secrets=config.secrets())
    log = logging.getLogger("plex_cdf.plex.client")

    log.debug(f"calling with key {API_KEY}")
    log.debug("token request: client_secret=%s password=%r", CLIENT_SECRET, DS_PASSWORD)
    try:
        raise PermissionError(f"401 for key {API_KEY} and Basic {config.secrets()[-1]}")
    except PermissionError:
        log.exception("Plex refused the request")
    log.debug("where am I", stack_info=True, extra={"url": f"https://h/?k={API_KEY}"})

    console = capsys.readouterr().err
    written = (tmp_path / "logs" / "plex-cdf.log").read_text(encoding="utf-8")
    assert "calling with key ***" in console and "Plex refused the request" in console
    assert "PermissionError: 401 for key *** and Basic ***" in console, "the traceback should stay readable"
    assert_no_secret(console, config, "the console log")
    assert_no_secret(written, config, f"the {file_format} log file")
    assert written.count("client_secret=***") == 1


def test_libraries_logs_are_masked_too(
    tmp_path: Path, config: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging(logger_config(tmp_path), secrets=config.secrets())

    logging.getLogger("httpx2").debug(
        "HTTP Request: POST https://login.example.com/token?secret=%s", CLIENT_SECRET
    )

    console = capsys.readouterr().err
    assert "HTTP Request: POST" in console
    assert_no_secret(console, config, "a library's log line")


def test_json_lines_carry_time_level_logger_message_and_extras(tmp_path: Path, config: Config) -> None:
    setup_logging(logger_config(tmp_path, "json"), secrets=config.secrets())

    logging.getLogger("plex_cdf.runner").info(
        "wrote %d items", 12, extra={"resource": "jobs", "pcn": "340884"}
    )

    line = json.loads((tmp_path / "logs" / "plex-cdf.log").read_text(encoding="utf-8").splitlines()[-1])
    assert line["message"] == "wrote 12 items"
    assert (line["level"], line["logger"], line["resource"], line["pcn"]) == (
        "INFO",
        "plex_cdf.runner",
        "jobs",
        "340884",
    )
    assert line["time"].endswith("Z"), "log times are UTC"


def test_the_file_log_rotates_at_utc_midnight_keeping_retention_days(tmp_path: Path) -> None:
    config = LoggerConfig.model_validate(
        {"console": None, "file": {"path": str(tmp_path / "x.log"), "retention": 3}}
    )

    setup_logging(config)

    rotating = [h for h in logging.getLogger().handlers if isinstance(h, TimedRotatingFileHandler)]
    assert len(rotating) == 1, "one rotating file handler expected"
    assert (rotating[0].when, rotating[0].utc, rotating[0].backupCount) == ("MIDNIGHT", True, 3)


def test_setting_up_twice_does_not_print_lines_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging(logger_config(tmp_path))
    setup_logging(logger_config(tmp_path))

    logging.getLogger("plex_cdf").info("once")

    assert capsys.readouterr().err.count("once") == 1


def test_the_console_level_filters_debug_lines(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(LoggerConfig.model_validate({"console": {"level": "info"}}))

    logging.getLogger("plex_cdf").debug("noise")
    logging.getLogger("plex_cdf").info("signal")

    err = capsys.readouterr().err
    assert "signal" in err and "noise" not in err


# --- metrics ------------------------------------------------------------------------------------------


def record_a_run(metrics: Metrics) -> None:
    metrics.records_fetched.labels(pcn="340884", resource="jobs").inc(120)
    metrics.records_written.labels(pcn="340884", resource="jobs").inc(100)
    metrics.records_unchanged.labels(pcn="340884", resource="jobs").inc(18)
    metrics.records_quarantined.labels(pcn="340884", resource="jobs").inc(2)
    metrics.plex_requests.labels(pcn="340884", status="200").inc(7)
    metrics.plex_retries.labels(pcn="340884").inc()
    metrics.plex_budget_used_ratio.labels(pcn="340884").set(0.35)
    metrics.cdf_requests.inc(3)
    metrics.lag_seconds.labels(pcn="340884", resource="jobs").set(42)
    metrics.last_success_timestamp.labels(pcn="340884", resource="jobs").set(1_800_000_000)


def test_metrics_expose_records_requests_budget_and_lag(config: Config) -> None:
    metrics = Metrics()
    record_a_run(metrics)

    text = metrics.exposition()

    for line in (
        'plex_cdf_records_fetched_total{pcn="340884",resource="jobs"} 120.0',
        'plex_cdf_records_quarantined_total{pcn="340884",resource="jobs"} 2.0',
        'plex_cdf_plex_requests_total{pcn="340884",status="200"} 7.0',
        'plex_cdf_plex_budget_used_ratio{pcn="340884"} 0.35',
        "plex_cdf_cdf_requests_total 3.0",
        'plex_cdf_lag_seconds{pcn="340884",resource="jobs"} 42.0',
    ):
        assert line in text, f"metrics lack {line}"
    assert_no_secret(text, config, "the metrics exposition")


def test_two_metrics_objects_do_not_collide() -> None:
    first, second = Metrics(), Metrics()
    first.cdf_requests.inc()

    assert "plex_cdf_cdf_requests_total 0.0" in second.exposition()


def test_the_metrics_endpoint_serves_the_registry_and_stops(config: Config) -> None:
    metrics = Metrics()
    record_a_run(metrics)
    server = start_metrics_server("127.0.0.1", 0, metrics.registry)
    try:
        answer = httpx2.get(f"http://127.0.0.1:{server.port}/metrics", timeout=5)
    finally:
        server.stop()

    assert answer.status_code == 200
    assert 'plex_cdf_records_written_total{pcn="340884",resource="jobs"} 100.0' in answer.text
    assert_no_secret(answer.text, config, "the scraped metrics")
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(f"http://127.0.0.1:{server.port}/metrics", timeout=5)


def test_metrics_carry_no_created_series_that_would_double_their_count() -> None:
    metrics = Metrics()
    metrics.records_fetched.labels("340884", "parts").inc(3)

    text = metrics.exposition()

    assert "plex_cdf_records_fetched_total" in text
    assert "_created" not in text, "prometheus-client's _created series are still exported"


def test_the_log_file_and_its_rotated_successors_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "plex-cdf.log"
    setup_logging(LoggerConfig.model_validate({"console": None, "file": {"path": str(path)}}))
    logging.getLogger("plex_cdf.test").warning("written")
    assert path.stat().st_mode & 0o777 == 0o600
    rotating = next(h for h in logging.getLogger().handlers if isinstance(h, TimedRotatingFileHandler))
    rotating.doRollover()
    assert path.stat().st_mode & 0o777 == 0o600
