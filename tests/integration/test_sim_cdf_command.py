"""`plex-cdf sim cdf` as a subprocess: one ready line: SDK works, SIGTERM exits 0, state persists."""

from __future__ import annotations

import math
import re
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
from cognite.client import ClientConfig, CogniteClient, global_config
from cognite.client.credentials import OAuthClientCredentials
from cognite.client.data_classes import AssetWrite, TimeSeriesWrite

from plex_cdf.sim.cdf import LocalCdf

READY = re.compile(
    r"^local CDF ready: (?P<base>http://127\.0\.0\.1:\d+) project=(?P<project>\S+) token_url=(?P<token>\S+)$"
)


@contextmanager
def sim_cdf(*args: str) -> Iterator[tuple[subprocess.Popen[str], re.Match[str]]]:
    command = [sys.executable, "-m", "plex_cdf", "sim", "cdf", "--port", "0", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().rstrip("\n")
        ready = READY.match(line)
        assert ready, (
            f"expected one ready line, got {line!r} (stderr: {process.stderr.read() if not line else ''})"
        )
        yield process, ready
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def client_for(ready: re.Match[str], secret: str) -> CogniteClient:
    global_config.disable_pypi_version_check = True
    credentials = OAuthClientCredentials(
        token_url=ready["token"], client_id="extractor", client_secret=secret, scopes=["user_impersonation"]
    )
    return CogniteClient(
        ClientConfig(
            client_name="t", project=ready["project"], credentials=credentials, base_url=ready["base"]
        )
    )


@pytest.mark.timeout(60)
def test_the_command_serves_counts_and_persists_across_restarts(tmp_path: Path) -> None:
    store_file = tmp_path / "cdf.sqlite"
    options = ("--project", "acme", "--client-id", "extractor", "--client-secret", "s3cret", "--persist")
    with sim_cdf(*options, str(store_file)) as (process, ready):
        assert ready["project"] == "acme" and ready["token"] == ready["base"] + "/oauth2/token"
        client_for(ready, "s3cret").assets.create(AssetWrite(external_id="root", name="Plant"))
        counts = httpx2.get(ready["base"] + "/_local/counts").json()
        assert counts["requests"]["POST /assets"] == 1 and counts["writes"] == 1
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, "SIGTERM must end the server cleanly with exit code 0"
        assert process.stdout is not None and process.stdout.read() == "", "exactly one line on stdout"

    with sqlite3.connect(store_file) as db:
        rows = db.execute("SELECT external_id FROM objects WHERE kind = 'assets'").fetchall()
    assert rows == [("root",)], "what the run wrote is in the SQLite file after shutdown"

    with sim_cdf(*options, str(store_file)) as (process, ready):
        assert client_for(ready, "s3cret").assets.retrieve(external_id="root") is not None, "state reloads"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0


@pytest.mark.timeout(60)
def test_the_command_enforces_the_configured_secret() -> None:
    with sim_cdf("--client-id", "extractor", "--client-secret", "s3cret") as (process, ready):
        answer = httpx2.post(
            ready["token"],
            data={"grant_type": "client_credentials", "client_id": "extractor", "client_secret": "x"},
        )
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
        assert "s3cret" not in answer.text, "the secret never appears in an answer"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


def test_bad_options_fail_with_a_one_line_reason() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "plex_cdf", "sim", "cdf", "--fault-429", "2"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "fault_429 must be a share between 0 and 1" in result.stderr


def test_an_in_process_snapshot_can_be_read_back(tmp_path: Path) -> None:
    store_file = tmp_path / "snap.sqlite"
    cdf = LocalCdf(persist=store_file)
    with cdf.serve() as server:
        credentials = OAuthClientCredentials(
            token_url=server.token_url, client_id="plex-cdf", client_secret="local-secret", scopes=["x"]
        )
        global_config.disable_pypi_version_check = True
        client = CogniteClient(
            ClientConfig(
                client_name="t", project="plex-cdf", credentials=credentials, base_url=server.base_url
            )
        )
        client.raw.rows.insert("db", "t", {"k": {"v": 1}}, ensure_parent=True)
        client.time_series.create(
            [TimeSeriesWrite(external_id="n"), TimeSeriesWrite(external_id="s", is_string=True)]
        )
        client.time_series.data.insert([(1, 0.1), (2, math.nan), (3, -math.inf)], external_id="n")
        client.time_series.data.insert([(1, "RUNNING")], external_id="s")
        cdf.snapshot()
        assert store_file.exists(), "snapshot() writes the file on demand, before shutdown"
    reloaded = LocalCdf(persist=store_file)
    assert reloaded.store.raw_rows("db", "t") == {"k": {"v": 1}}
    numbers = reloaded.store.datapoints("n")
    assert numbers[0] == (1, 0.1) and math.isnan(float(numbers[1][1])) and numbers[2] == (3, -math.inf)
    assert reloaded.store.datapoints("s") == [(1, "RUNNING")], "string points survive a snapshot exactly"


def test_a_busy_port_is_reported_with_the_address() -> None:
    with LocalCdf().serve() as server:
        second = LocalCdf().serve(port=server.port)
        with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1:{server.port}"):
            second.__enter__()
