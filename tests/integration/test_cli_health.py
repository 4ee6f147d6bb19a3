"""The service's health endpoints and metrics as an orchestrator and Prometheus see them: readiness false
while the CDF token fails and true again after, and metrics that move per window during a long first pass."""

from __future__ import annotations

import contextlib
import json
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


DEPLOY = REPO / "deploy"
METRIC_NAME = re.compile(r"\bplex_cdf_[a-z_]+\b")


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text(encoding="utf-8"))
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    exprs += [v["query"] for v in dashboard["templating"]["list"] if v.get("type") == "query"]
    return exprs


def alert_expressions() -> dict[str, str]:
    rules = yaml.safe_load((DEPLOY / "prometheus-alerts.yaml").read_text(encoding="utf-8"))
    return {rule["alert"]: rule["expr"] for group in rules["groups"] for rule in group["rules"]}


def test_the_alerts_cover_what_an_operator_must_know() -> None:
    alerts = alert_expressions()
    wanted = {
        "a resource failing": "plex_cdf_resource_failed",
        "lag over its interval": "plex_cdf_interval_seconds",
        "the Plex budget near its limit": "plex_cdf_plex_budget_used_ratio",
        "quarantined records": "plex_cdf_records_quarantined_total",
        "the pipeline heartbeat missing": "plex_cdf_pipeline_last_report_timestamp",
    }
    for what, metric in wanted.items():
        assert any(metric in expr for expr in alerts.values()), f"no alert for {what} ({metric})"


def test_every_metric_the_dashboard_and_alerts_use_exists_in_a_real_runs_metrics(world_pair: World) -> None:
    tree = world_pair.config_tree()
    tree["metrics"] = {"server": {"host": "127.0.0.1", "port": 0}}
    config = world_pair.write_config(tree)
    world_pair.setup(config)
    used = {
        name
        for expr in [*dashboard_expressions(), *alert_expressions().values()]
        for name in METRIC_NAME.findall(expr)
    }
    assert len(used) >= 10, f"the dashboard and alerts use only {sorted(used)}"

    process = world_pair.start("run", "-c", str(config))
    scraped = [""]
    try:
        base = served_base(world_pair)

        def all_there() -> bool:
            scraped[0] = get(f"{base}/metrics")[1]
            return all(re.search(rf"^{name}[{{ ]", scraped[0], re.MULTILINE) for name in used)

        with contextlib.suppress(AssertionError):  # the assertion below names what is missing
            world_wait(all_there, 90, "every metric the dashboard and alerts use")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=EXIT_DEADLINE_S)

    missing = [name for name in sorted(used) if not re.search(rf"^{name}[{{ ]", scraped[0], re.MULTILINE)]
    assert not missing, f"the dashboard or alerts use metrics a run does not export: {missing}"
