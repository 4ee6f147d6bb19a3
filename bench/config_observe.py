"""Figures for configuration and logging: the time to load config.example.yaml, to mask one log line, and
to write one masked JSON log line to a file.

Run: .venv/bin/python bench/config_observe.py
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from plex_cdf.config import LoggerConfig, load_config
from plex_cdf.config.masking import SecretMasker
from plex_cdf.observe import setup_logging

REPO = Path(__file__).resolve().parents[1]
ENVIRON = {
    "CDF_CLUSTER": "westeurope-1",
    "CDF_PROJECT": "demo",
    "CDF_TOKEN_URL": "https://datamosaix-prod.us.auth0.com/oauth/token",
    "CDF_CLIENT_ID": "client",
    "CDF_CLIENT_SECRET": "client-secret-value",
    "PLEX_API_KEY": "plex-key-value",
    "PLEX_DS_USERNAME": "PlantWs@plex.com",
    "PLEX_DS_PASSWORD": "ds-password-value",
}
LINE = (
    "GET https://connect.plex.com/production/v1/production-history/production-entries"
    "?beginDate=2026-11-28T00:00:00Z&endDate=2026-11-29T00:00:00Z 200 in 123 ms"
)


def per_call_us(action: Callable[[], object], repeat: int) -> float:
    start = time.perf_counter()
    for _ in range(repeat):
        action()
    return (time.perf_counter() - start) / repeat * 1e6


def main() -> None:
    config = load_config(REPO / "config.example.yaml", ENVIRON, dotenv=None)
    load_us = per_call_us(lambda: load_config(REPO / "config.example.yaml", ENVIRON, dotenv=None), 200)
    print(f"load and validate config.example.yaml: {load_us / 1000:.2f} ms")
    masker = SecretMasker(config.secrets())
    masking = per_call_us(lambda: masker(LINE), 100_000)
    print(f"mask a {len(LINE)}-character line ({len(config.secrets())} secrets): {masking:.1f} us")
    with tempfile.TemporaryDirectory() as folder:
        file_only = {"console": None, "file": {"path": f"{folder}/bench.log", "format": "json"}}
        setup_logging(LoggerConfig.model_validate(file_only), config.secrets())
        log = logging.getLogger("bench")
        written = per_call_us(lambda: log.info("wrote %d items for %s", 120, "jobs"), 20_000)
        print(f"write one masked JSON log line to a file: {written:.1f} us")
        logging.shutdown()


if __name__ == "__main__":
    main()
