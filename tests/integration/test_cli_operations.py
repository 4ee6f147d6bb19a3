"""Operating plex-cdf as a plant IT team does (issue 20): a quiet console, warnings an operator acts on,
one `run` per state file, a clean exit after SIGTERM, tables that are not cut when piped."""

from __future__ import annotations

import contextlib
import http.server
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.integration.conftest import World, world_serving, world_table, world_wait

EXIT_DEADLINE_S = 45.0  # SIGTERM: the current window finishes (grace 30 s), then the process exits
MAX_CONSOLE_LINES = 40  # start, one line per domain pass, warnings: never one per HTTP request


@pytest.mark.parametrize("scale", ["small", pytest.param("medium", marks=pytest.mark.slow)])
def test_a_run_once_at_info_prints_a_few_dozen_lines_not_one_per_request(tmp_path: Path, scale: str) -> None:
    with world_serving(tmp_path / "work", scale=scale) as world:
        config = world.write_config()
        world.setup(config)

        done = world.cli("run", "--once", "-c", str(config), timeout=600)

    assert done.returncode == 0, f"`run --once` failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    lines = done.stderr.splitlines()
    requests = [line for line in lines if "HTTP Request" in line or "HTTP/1.1" in line]
    assert not requests, f"the INFO console shows HTTP requests, e.g. {requests[:3]}"
    assert len(lines) <= MAX_CONSOLE_LINES, (
        f"a {scale} `run --once` at INFO printed {len(lines)} log lines; first ones: {lines[:10]}"
    )


def test_the_log_file_at_debug_still_gets_every_request(world_pair: World) -> None:
    tree = world_pair.config_tree()
    log_file = world_pair.folder / "plex-cdf.log"
    tree["logger"] = {"console": {"level": "INFO"}, "file": {"path": str(log_file), "level": "DEBUG"}}
    config = world_pair.write_config(tree)

    done = world_pair.cli("check", "-c", str(config))

    assert "HTTP Request" not in done.stderr, "the INFO console shows HTTP requests"
    logged = log_file.read_text(encoding="utf-8")
    assert "HTTP Request: GET" in logged, "the DEBUG log file lost the per-request lines"


def test_verify_tls_false_warns_with_the_fix(world_pair: World) -> None:
    tree = world_pair.config_tree()
    tree["plex"]["verify-tls"] = False
    config = world_pair.write_config(tree)

    done = world_pair.cli("check", "-c", str(config))

    warnings = [line for line in done.stderr.splitlines() if "verify-tls" in line]
    assert warnings, f"verify-tls: false gave no warning:\n{done.stderr[-2000:]}"
    assert "WARNING" in warnings[0] and "set plex.verify-tls: true" in warnings[0], warnings[0]


# ------------------------------------------------------------------------ one line instead of a traceback


class _TokenEndpoint(http.server.BaseHTTPRequestHandler):
    """A token endpoint that misbehaves as `behaviour` says: 502, no access_token, or no answer at all."""

    behaviour = "502"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.behaviour == "hang":
            time.sleep(HANG_S)
            return
        status, body = (502, b"<html>Bad gateway</html>") if self.behaviour == "502" else (200, b"{}")
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


HANG_S = 40.0


@contextmanager
def token_endpoint(behaviour: str) -> Iterator[str]:
    handler = type("Handler", (_TokenEndpoint,), {"behaviour": behaviour})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/oauth2/token"
    finally:
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def assert_one_line(done: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    errors = [line for line in done.stderr.splitlines() if line.startswith("plex-cdf: ")]
    assert done.returncode == code, f"exit {done.returncode}, expected {code}:\n{done.stderr[-3000:]}"
    assert "Traceback" not in done.stderr, f"a traceback instead of one line:\n{done.stderr[-3000:]}"
    assert len(errors) == 1, f"expected one `plex-cdf:` line, got:\n{done.stderr[-3000:]}"
    for needle in needles:
        assert needle in errors[0], f"the line does not name {needle!r}: {errors[0]}"
    return errors[0]


@pytest.mark.parametrize("behaviour", ["refused", "502", "no access_token", "hang"])
def test_token_endpoint_trouble_is_one_line_naming_the_token_url(world_pair: World, behaviour: str) -> None:
    tree = world_pair.config_tree()
    with contextlib.ExitStack() as stack:
        url = (
            closed_port_url() + "/oauth2/token"
            if behaviour == "refused"
            else stack.enter_context(token_endpoint(behaviour))
        )
        tree["cognite"]["idp-authentication"]["token-url"] = url
        config = world_pair.write_config(tree)

        done = world_pair.cli("run", "--once", "-c", str(config), timeout=120)

    assert_one_line(done, 1, url, "fix:")


@pytest.mark.parametrize("command", ["run", "setup"])
def test_cdf_refusing_connections_is_one_line_naming_the_host(world_pair: World, command: str) -> None:
    tree = world_pair.config_tree()
    host = closed_port_url()
    tree["cognite"]["host"] = host
    config = world_pair.write_config(tree)

    args = ["run", "--once"] if command == "run" else ["setup"]
    done = world_pair.cli(*args, "-c", str(config), timeout=120)

    assert_one_line(done, 1, host, "fix:")


def test_a_folder_as_the_state_path_is_named_a_folder_not_corrupt(world_pair: World) -> None:
    tree = world_pair.config_tree()
    folder = world_pair.folder / "state-folder"
    folder.mkdir()
    tree["state-store"] = {"local": {"path": str(folder)}}
    config = world_pair.write_config(tree)

    done = world_pair.cli("run", "--once", "-c", str(config))

    line = assert_one_line(done, 2, str(folder), "is a folder", "fix:")
    assert "corrupt" not in line, line


def test_a_state_folder_that_cannot_be_created_is_one_line(world_pair: World) -> None:
    tree = world_pair.config_tree()
    blocker = world_pair.folder / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    tree["state-store"] = {"local": {"path": str(blocker / "state" / "state.db")}}
    config = world_pair.write_config(tree)

    done = world_pair.cli("run", "--once", "-c", str(config))

    assert_one_line(done, 2, str(blocker), "fix:")


# ------------------------------------------------------------------------------- fast failure for Plex


def test_check_against_an_unreachable_plex_answers_at_once_naming_the_host(world_pair: World) -> None:
    tree = world_pair.config_tree()
    down = closed_port_url()
    tree["plex"]["connect-url"] = down
    config = world_pair.write_config(tree)

    done = world_pair.cli("check", "-c", str(config), timeout=60)

    assert done.returncode == 1, f"check against an unreachable Plex exited {done.returncode}"
    assert f"cannot reach Plex at {down}" in done.stdout, f"check did not name the host:\n{done.stdout}"
    assert world_pair.plex.traffic.counts.total() > 0, "the data sources (a reachable host) were not checked"


def test_run_once_against_an_unreachable_plex_fails_fast_without_a_retry_storm(world_pair: World) -> None:
    tree = world_pair.config_tree()
    down = closed_port_url()
    tree["plex"]["connect-url"] = down
    tree["plex"]["datasource-url"] = down
    config = world_pair.write_config(tree)
    world_pair.setup(world_pair.write_config(name="setup.yaml"))

    done = world_pair.cli("run", "--once", "-c", str(config), timeout=120)

    assert done.returncode == 1, f"a run against an unreachable Plex exited {done.returncode}"
    assert f"cannot reach Plex at {down}" in done.stderr, done.stderr[-2000:]
    assert "failed 9 times" not in done.stderr, "an unreachable host was retried"


def test_check_names_the_data_source_host_it_tried_per_tenant(world_pair: World) -> None:
    tree = world_pair.config_tree()
    del tree["plex"]["datasource-url"]
    tree["plex"]["tenants"][0]["datasource-url"] = world_pair.plex_url + "/"
    config = world_pair.write_config(tree)

    done = world_pair.cli("check", "-c", str(config))

    rows = [row for row in world_table(done.stdout) if "data source" in row[0]]
    assert rows, f"check shows no data source rows:\n{done.stdout}"
    for row in rows:
        assert f"at {world_pair.plex_url}" in row[2], f"the row does not name the host it tried: {row}"


# --------------------------------------------------------------------- one run per state, clean stops


def test_a_second_run_on_the_same_state_file_names_the_holder_and_exits(world_pair: World) -> None:
    config = world_pair.write_config()
    world_pair.setup(config)
    lock = Path(f"{world_pair.state_path}.lock")

    first = world_pair.start("run", "-c", str(config))
    try:
        world_wait(lambda: lock.exists() and str(first.pid) in lock.read_text(), 30, "the first run's lock")
        second = world_pair.cli("run", "--once", "-c", str(config), timeout=60)
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=EXIT_DEADLINE_S)

    line = assert_one_line(second, 2, str(world_pair.state_path), f"plex-cdf process {first.pid}", "fix:")
    assert "in use" in line, line


def test_the_lock_goes_with_the_process_so_the_next_run_starts(world_pair: World) -> None:
    config = world_pair.write_config()
    world_pair.setup(config)
    first = world_pair.start("run", "-c", str(config))
    lock = Path(f"{world_pair.state_path}.lock")
    world_wait(lambda: lock.exists() and str(first.pid) in lock.read_text(), 30, "the first run's lock")
    first.kill()  # SIGKILL: no clean-up runs, the kernel drops the lock
    first.wait(timeout=10)

    done = world_pair.cli("run", "--once", "--only", "master-data", "-c", str(config))

    assert done.returncode == 0, f"a run after a killed one could not start:\n{done.stderr[-2000:]}"


def test_sigterm_after_a_failed_pass_exits_0_as_documented(world_pair: World) -> None:
    tree = world_pair.config_tree()
    tree["plex"]["datasource-url"] = closed_port_url()  # quality and performance fail, the rest works
    config = world_pair.write_config(tree)
    world_pair.setup(world_pair.write_config(name="setup.yaml"))

    process = world_pair.start("run", "-c", str(config))
    try:
        world_wait(lambda: "cannot reach Plex at" in world_pair.output(), 60, "a failed resource in the log")
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=EXIT_DEADLINE_S)

    assert code == 0, f"SIGTERM after a failed pass exited {code}:\n{world_pair.output()[-2000:]}"


def test_tables_piped_to_a_file_are_full_width_not_cut_at_80_columns(world_pair: World) -> None:
    config = world_pair.write_config()

    done = world_pair.cli("check", "-c", str(config), env={"COLUMNS": ""})

    body = [line for line in done.stdout.splitlines() if line.startswith("│")]
    continued = [line for line in body if not line.strip("│ ").split("│")[0].strip()]
    assert body, f"no table in the output:\n{done.stdout}"
    assert not continued, "a piped table was wrapped at 80 columns:\n" + "\n".join(body[:6])
    assert "…" not in done.stdout, "a piped table cut a cell"
