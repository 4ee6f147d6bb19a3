"""Secrets (the Plex API key, the Data Source password, the CDF client secret) never appear in what the
product leaves behind: stdout, stderr, DEBUG logs (text on the console, JSON in a file), the Prometheus
scrape, the SQLite state file or what it writes to CDF (objects, RAW rows, extraction-pipeline run messages)
— neither as they are nor base64- or URL-encoded.

The CLI runs against both simulators: `setup`, `check`, one pass of `run` with the metrics server on (then
SIGTERM), `status`, and runs that fail on a wrong API key and on a wrong client secret (error paths are
where a secret is most likely echoed).
"""

from __future__ import annotations

import base64
import json
import signal
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

from plex_cdf.domains.registry import ALL
from tests.faults.world import PCN, ROOT, Secrets, World, cli_command, cli_env, run_cli, world

SECRETS = Secrets(
    api_key="PlexKey+7Qz/w=9kT",
    ds_user="faults-ws-user",
    ds_password="DsPass+3x/Yq=5vW",
    client_secret="CdfSecret+8r/Tn=2mQ",
)
WRONG_API_KEY = "WrongKey+4b/Hs=1pZ"
WRONG_CLIENT_SECRET = "WrongSecret+6c/Lm=0xR"
PASS_DEADLINE_S = 240.0


def encoded_forms(secret: str) -> dict[str, str]:
    from urllib.parse import quote, quote_plus

    raw = secret.encode()
    return {
        "as is": secret,
        "base64": base64.b64encode(raw).decode(),
        "base64url": base64.urlsafe_b64encode(raw).decode(),
        "base64 unpadded": base64.b64encode(raw).decode().rstrip("="),
        "URL-encoded": quote(secret, safe=""),
        "form-encoded": quote_plus(secret),
        "JSON-escaped": json.dumps(secret)[1:-1],
    }


def forbidden() -> dict[str, str]:
    """Every form of every secret, by a name that says which it is."""
    basic = f"{SECRETS.ds_user}:{SECRETS.ds_password}"
    found: dict[str, str] = {}
    for name, secret in (
        ("Plex API key", SECRETS.api_key),
        ("Data Source password", SECRETS.ds_password),
        ("CDF client secret", SECRETS.client_secret),
        ("wrong API key", WRONG_API_KEY),
        ("wrong client secret", WRONG_CLIENT_SECRET),
    ):
        found.update({f"{name} ({form})": text for form, text in encoded_forms(secret).items()})
    found["Data Source Basic credential"] = base64.b64encode(basic.encode()).decode()
    return found


def observed_config(w: World, logs: Path, **changes: str) -> Path:
    tree = w.config_tree(
        logger={
            "console": {"level": "DEBUG", "format": "text"},
            "file": {"path": str(logs / "plex-cdf.log"), "level": "DEBUG", "format": "json"},
        },
        metrics={"server": {"host": "127.0.0.1", "port": 0}},
    )
    if "api_key" in changes:
        tree["plex"]["api-key"] = changes["api_key"]
    if "client_secret" in changes:
        tree["cognite"]["idp-authentication"]["secret"] = changes["client_secret"]
    import yaml

    path = w.folder / f"config-{len(list(w.folder.glob('config-*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(tree, sort_keys=False))
    return path


def log_lines(log_file: Path) -> list[str]:
    return log_file.read_text().splitlines() if log_file.exists() else []


def metrics_url(log_file: Path, after: int, deadline: float) -> str:
    """The scrape URL the running process announced in its JSON log (after the log's first lines, which
    earlier commands wrote)."""
    while time.monotonic() < deadline:
        if log_file.exists():
            for line in log_lines(log_file)[after:]:
                message = json.loads(line).get("message", "")
                if message.startswith("metrics on "):
                    return str(message.removeprefix("metrics on "))
        time.sleep(0.1)
    raise AssertionError("the running extractor never announced its metrics endpoint")


def pass_unfinished(state: Path) -> list[str]:
    """The resources (of those that run by default) that have not recorded a last run yet."""
    wanted = {f"{r.name}#last_run" for r in ALL if r.fallback_for is None}
    if not state.exists():
        return sorted(wanted)
    try:
        with sqlite3.connect(state) as db:
            keys = {key for (key,) in db.execute("select key from kv")}
    except sqlite3.OperationalError:
        return sorted(wanted)
    return sorted(wanted - keys)


def one_pass_with_metrics(w: World, config: Path, log_file: Path) -> tuple[str, str, str]:
    """`plex-cdf run` until its first pass is done; (stdout, stderr, the /metrics scrape)."""
    out_path, err_path = w.folder / "run.out", w.folder / "run.err"
    with out_path.open("w") as out, err_path.open("w") as err:  # files: a DEBUG console never fills a pipe
        earlier = len(log_lines(log_file))
        process = subprocess.Popen(
            cli_command("run", "-c", str(config)), stdout=out, stderr=err, env=cli_env(), cwd=ROOT
        )
        try:
            deadline = time.monotonic() + PASS_DEADLINE_S
            url = metrics_url(log_file, earlier, deadline)
            while unfinished := pass_unfinished(w.state_path):
                assert process.poll() is None, f"`plex-cdf run` exited early:\n{err_path.read_text()[-3000:]}"
                assert time.monotonic() < deadline, f"the first pass never ran {unfinished}"
                time.sleep(0.2)
            with urllib.request.urlopen(url, timeout=10) as answer:
                scrape = answer.read().decode()
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=90)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert "plex_cdf_records_fetched_total" in scrape, "the scrape holds no plex-cdf metrics"
    return out_path.read_text(), err_path.read_text(), scrape


def cdf_contents(w: World) -> str:
    """Everything the product wrote to CDF (objects, RAW rows, extraction-pipeline run messages) as JSON."""
    store = w.cdf.store
    held: dict[str, object] = {
        "assets": store.assets(),
        "events": store.events(),
        "time series": store.time_series(),
        "relationships": store.relationships(),
        "data sets": store.data_sets(),
        "raw": {
            f"{db}/{table}": store.raw_rows(db, table)
            for db, tables in store.raw_databases().items()
            for table in tables
        },
        "pipeline runs": store.extpipe_runs(f"plex-cdf-{PCN}"),
    }
    assert held["pipeline runs"], "no extraction-pipeline run was reported: its messages went unchecked"
    return json.dumps(held, ensure_ascii=False, default=str)


def test_no_secret_in_output_logs_metrics_or_state(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    with world(tmp_path, secrets=SECRETS) as w:
        config = observed_config(w, logs)
        seen: dict[str, str] = {}
        for name, args in (("setup", ["setup"]), ("check", ["check"])):
            result = run_cli(*args, "-c", str(config))
            assert result.returncode == 0, f"`plex-cdf {name}` failed:\n{result.stderr}"
            seen[f"{name} stdout"], seen[f"{name} stderr"] = result.stdout, result.stderr

        out, err, scrape = one_pass_with_metrics(w, config, logs / "plex-cdf.log")
        seen["run stdout"], seen["run stderr"], seen["/metrics"] = out, err, scrape
        assert "DEBUG" in err, "the console was not logging at DEBUG: the test would prove little"

        status = run_cli("status", "-c", str(config))
        seen["status stdout"], seen["status stderr"] = status.stdout, status.stderr

        bad_key = run_cli("run", "--once", "-c", str(observed_config(w, logs, api_key=WRONG_API_KEY)))
        assert bad_key.returncode == 1, (
            f"a run with a wrong Plex API key did not fail on Plex:\n{bad_key.stderr}"
        )
        seen["wrong key stdout"], seen["wrong key stderr"] = bad_key.stdout, bad_key.stderr
        bad_secret = run_cli("check", "-c", str(observed_config(w, logs, client_secret=WRONG_CLIENT_SECRET)))
        assert bad_secret.returncode != 0, "a check with a wrong CDF client secret succeeded"
        seen["wrong secret stdout"], seen["wrong secret stderr"] = bad_secret.stdout, bad_secret.stderr
        seen["what CDF holds"] = cdf_contents(w)

    for path in sorted(logs.iterdir()):
        seen[f"log file {path.name}"] = path.read_text(errors="replace")
    assert any("DEBUG" in text for name, text in seen.items() if name.startswith("log file"))
    state_files = sorted(tmp_path.glob("state.db*"))
    assert state_files, "no state file was written"
    for path in state_files:
        seen[f"state file {path.name}"] = path.read_bytes().decode("latin-1")

    configs = "".join(path.read_text() for path in tmp_path.glob("config-*.yaml"))
    assert all(
        secret in configs for secret in (SECRETS.api_key, SECRETS.ds_password, SECRETS.client_secret)
    ), "the search would find nothing even where the secrets are: the configuration files lack them"
    leaks = [
        f"{what} in {where}"
        for where, text in seen.items()
        for what, secret in forbidden().items()
        if secret in text
    ]
    assert leaks == [], "secrets leaked:\n" + "\n".join(leaks)
