"""The container and Kubernetes files: Docker cannot run here, so the Dockerfile is read for its essentials;
the configuration the image and the ConfigMap carry is loaded as plex-cdf loads it, and runs for real
against the simulators with its state in CDF RAW (stateless pods)."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import yaml

from plex_cdf.config import load_config
from tests.integration.conftest import (
    WORLD_API_KEY,
    WORLD_CLIENT_ID,
    WORLD_DS_PASSWORD,
    WORLD_DS_USER,
    WORLD_PCN,
    WORLD_PROJECT,
    WORLD_SECRET,
    World,
)

REPO = Path(__file__).resolve().parents[2]
ENTRYPOINT = ["plex-cdf", "run", "-c", "/config/config.yaml"]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines]


def test_dockerfile_builds_on_python_3_11_slim_runs_as_a_non_root_user_with_the_run_entrypoint() -> None:
    steps = dockerfile_instructions()
    bases = [args.split()[0] for op, args in steps if op == "FROM"]
    assert bases and bases[-1] == "python:3.11-slim", f"the final image is based on {bases}"
    final = steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM") :]
    users = [args for op, args in final if op == "USER"]
    assert users, "the final image runs as root (no USER)"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"the final image runs as {users[-1]}"
    entrypoints = [args for op, args in final if op == "ENTRYPOINT"]
    assert entrypoints and json.loads(entrypoints[-1]) == ENTRYPOINT, f"entrypoint {entrypoints}"
    copies = [shlex.split(args) for op, args in final if op == "COPY"]
    assert ["deploy/config.yaml", "/config/config.yaml"] in copies, "the image carries no default config"
    assert ("STOPSIGNAL", "SIGTERM") in final, "the image does not stop plex-cdf with SIGTERM"


def test_dockerignore_keeps_credentials_state_and_the_venv_out_of_the_image() -> None:
    ignored = {
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip()
    }
    for entry in (".env", "*.db", ".venv", ".git"):
        assert entry in ignored, f".dockerignore lets {entry} into the build context"


def secret_environment(docs: list[dict[str, Any]]) -> dict[str, str]:
    secret = next(d for d in docs if d["kind"] == "Secret")
    return {key: str(value) for key, value in secret["stringData"].items()}


def test_kubernetes_example_one_deployment_per_pcn_config_from_configmap_secrets_by_variable(
    tmp_path: Path,
) -> None:
    docs = [d for d in yaml.safe_load_all((REPO / "deploy" / "kubernetes.yaml").read_text()) if d]
    config_map = next(d for d in docs if d["kind"] == "ConfigMap")
    text = config_map["data"]["config.yaml"]
    assert text == (REPO / "deploy" / "config.yaml").read_text(), (
        "the ConfigMap and deploy/config.yaml differ"
    )
    secrets = secret_environment(docs)
    for name in ("CDF_CLIENT_SECRET", "PLEX_API_KEY", "PLEX_DS_PASSWORD"):
        assert f"${{{name}}}" in text, f"the configuration does not take {name} from the environment"
        assert name in secrets, f"the Secret lacks {name}"
    deployments = [d for d in docs if d["kind"] == "Deployment"]
    assert len(deployments) >= 2, "the example shows fewer than two PCNs"
    pcns = []
    for deployment in deployments:
        spec = deployment["spec"]
        name = deployment["metadata"]["name"]
        assert spec["replicas"] == 1 and spec["strategy"]["type"] == "Recreate", (
            f"{name}: two writers per PCN"
        )
        pod = spec["template"]["spec"]
        assert pod["terminationGracePeriodSeconds"] > 30, f"{name}: SIGKILL before the 30 s stop grace"
        assert pod["securityContext"]["runAsNonRoot"] is True, f"{name}: may run as root"
        container = pod["containers"][0]
        assert "command" not in container and "args" not in container, f"{name}: overrides the entrypoint"
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes[mounts["/config"]]["configMap"]["name"] == config_map["metadata"]["name"]
        assert container["envFrom"][0]["secretRef"]["name"] == "plex-cdf-secrets"
        env = {**secrets, **{e["name"]: e["value"] for e in container["env"]}}
        path = tmp_path / f"{name}-config.yaml"
        path.write_text(text, encoding="utf-8")
        config = load_config(path, environ=env, dotenv=None)
        assert [t.pcn for t in config.plex.tenants] == [env["PLEX_PCN"]], (
            f"{name}: not one PCN per Deployment"
        )
        assert config.state_store.raw is not None, f"{name}: state on the pod's disk, not in CDF RAW"
        assert config.cognite.idp_authentication.secret.get_secret_value() == secrets["CDF_CLIENT_SECRET"]
        pcns.append(env["PLEX_PCN"])
    assert len(set(pcns)) == len(pcns), f"two Deployments serve the same PCN: {pcns}"


def test_the_image_config_runs_against_the_simulators_with_state_in_cdf_raw(world_pair: World) -> None:
    env = {
        "CDF_HOST": world_pair.cdf_server.base_url,
        "CDF_PROJECT": WORLD_PROJECT,
        "CDF_TOKEN_URL": world_pair.cdf_server.token_url,
        "CDF_CLIENT_ID": WORLD_CLIENT_ID,
        "CDF_CLIENT_SECRET": WORLD_SECRET,
        "PLEX_API_KEY": WORLD_API_KEY,
        "PLEX_PCN": WORLD_PCN,
        "PLEX_DS_USERNAME": WORLD_DS_USER,
        "PLEX_DS_PASSWORD": WORLD_DS_PASSWORD,
    }
    tree = yaml.safe_load((REPO / "deploy" / "config.yaml").read_text())
    # the only change: where Plex is (the image talks to connect.plex.com) and a quieter console
    tree["plex"].update({"connect-url": world_pair.plex_url, "datasource-url": world_pair.plex_url})
    tree["plex"]["calls-per-minute"] = 1200
    tree["metrics"] = {}
    config = world_pair.write_config(tree, "image-config.yaml")

    setup = world_pair.cli("setup", "-c", str(config), env=env)
    assert setup.returncode == 0, f"setup with the image's config failed:\n{setup.stderr[-2000:]}"
    done = world_pair.cli("run", "--once", "-c", str(config), env=env)

    assert done.returncode == 0, f"run with the image's config failed:\n{done.stderr[-3000:]}"
    rows = world_pair.cdf.store.raw_rows("plex_cdf_state", f"pcn_{WORLD_PCN}")
    assert rows, "no state rows in CDF RAW plex_cdf_state/pcn_340884"
    local_files = [p.name for p in world_pair.folder.iterdir() if p.suffix in (".db", ".sqlite")]
    assert not local_files, f"the stateless configuration wrote local state files: {local_files}"
    runs = world_pair.cdf.store.extpipe_runs(f"plex-cdf-{WORLD_PCN}")
    assert [r["status"] for r in runs] == ["success"], f"pipeline runs: {runs}"
