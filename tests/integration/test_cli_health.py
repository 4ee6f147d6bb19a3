"""The service's health endpoints and metrics as an orchestrator and Prometheus see them: readiness false
while the CDF token fails and true again after, and metrics that move per window during a long first pass."""

from __future__ import annotations

import re
import signal
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from plex_cdf.sim.cdf.auth import TokenIssuer
from tests.integration.conftest import World, world_serving, world_wait

EXIT_DEADLINE_S = 45.0
REPO = Path(__file__).resolve().parents[2]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")
    except OSError:
        return 0, ""


def served_base(world: World) -> str:
    world_wait(lambda: "metrics on http://" in world.output(), 30, "the metrics endpoint to start")
    found = re.search(r"metrics on (http://\S+)/metrics", world.output())
    assert found is not None
    return found.group(1)


def issue_with_secret(world: World, secret: str) -> None:
    """Swap the local CDF's token issuer: earlier tokens are forgotten, new ones need `secret`."""
    old = world.cdf.app.issuer
    world.cdf.app.issuer = TokenIssuer(old.client_id, secret, old.ttl_s)


def test_readiness_is_false_while_the_cdf_token_fails_and_true_again_after(world_pair: World) -> None:
    tree = world_pair.config_tree()
    tree["metrics"] = {"server": {"host": "127.0.0.1", "port": 0}}
    config = world_pair.write_config(tree)
    world_pair.setup(config)
    right_secret = world_pair.cdf.app.issuer.client_secret
    assert right_secret is not None

    process = world_pair.start("run", "-c", str(config))
    try:
        base = served_base(world_pair)
        world_wait(lambda: get(f"{base}/readyz")[0] == 200, 60, "readiness once the service opened")
        assert get(f"{base}/healthz")[0] == 200

        issue_with_secret(world_pair, "rotated-elsewhere")
        world_wait(lambda: get(f"{base}/readyz")[0] == 503, 30, "readiness to drop while the token fails")
        why = get(f"{base}/readyz")[1]
        issue_with_secret(world_pair, right_secret)
        world_wait(lambda: get(f"{base}/readyz")[0] == 200, 30, "readiness to return with a good token")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=EXIT_DEADLINE_S)

    assert "CDF token" in why and "refused the client credentials" in why, why
    assert right_secret not in why


def test_metrics_move_per_window_during_a_long_first_pass(tmp_path: Path) -> None:
    with world_serving(tmp_path / "work", latency_ms=150) as world:
        tree = world.config_tree()
        tree["metrics"] = {"server": {"host": "127.0.0.1", "port": 0}}
        tree["extractor"]["first-run-reach"] = "4d"
        config = world.write_config(tree)
        world.setup(world.write_config(name="setup.yaml"))

        process = world.start("run", "-c", str(config))
        seen: list[str] = []
        try:
            base = served_base(world)

            def mid_pass() -> bool:
                text = get(f"{base}/metrics")[1]
                lagging = set(re.findall(r'plex_cdf_lag_seconds\{pcn="\d+",resource="(\w+)"\}', text))
                done = set(re.findall(r'plex_cdf_records_fetched_total\{pcn="\d+",resource="(\w+)"\}', text))
                seen[:] = sorted(lagging - done)
                return bool(seen)

            world_wait(mid_pass, 120, "a resource's lag in the metrics before its pass ended")
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=EXIT_DEADLINE_S)

    assert seen, "no resource showed its lag before the end of its first pass"


def test_the_kubernetes_probes_ask_paths_the_service_answers() -> None:
    from plex_cdf.observe import Metrics, start_metrics_server

    documents = list(yaml.safe_load_all((REPO / "deploy" / "kubernetes.yaml").read_text(encoding="utf-8")))
    containers = [
        container
        for doc in documents
        if doc and doc.get("kind") == "Deployment"
        for container in doc["spec"]["template"]["spec"]["containers"]
    ]
    assert containers, "the manifest has no Deployment"
    metrics = Metrics()
    metrics.health.opened()
    server = start_metrics_server("127.0.0.1", 0, metrics.registry, metrics.health)
    try:
        for container in containers:
            for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                asked = container[probe]["httpGet"]["path"]
                assert asked == path, f"{container['name']}: {probe} asks {asked}, not {path}"
                assert get(f"http://127.0.0.1:{server.port}{asked}")[0] == 200
    finally:
        server.stop()
