"""What an operator sees: logs (readable or JSON, rotated daily) with every secret masked, and Prometheus
metrics. (Extraction-pipeline runs and heartbeats live in `plex_cdf.cdf.pipeline`.)"""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from logging.handlers import TimedRotatingFileHandler
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any, Literal
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    disable_created_metrics,
    generate_latest,
    make_wsgi_app,
)

from plex_cdf.config import LoggerConfig
from plex_cdf.config.masking import SecretMasker, mask_secrets
from plex_cdf.config.models import ConsoleLog, FileLog
from plex_cdf.files import create_private
from plex_cdf.health import Health, health_app

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# Attributes every LogRecord has; anything else on a record came from `extra=` and goes into JSON lines.
_RECORD_FIELDS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_HANDLER_MARK = "_plex_cdf_handler"
# Libraries that log every HTTP request at INFO (httpx2, which both clients use, its transport, the SDK):
# below WARNING their records are DEBUG for us, so an INFO console shows what an operator acts on and a
# DEBUG file keeps them.
CHATTY_LIBRARIES = ("httpx2", "httpcore2", "cognite", "urllib3", "uvicorn.access")

# `_created` series double the metric count and say nothing a scrape's own timestamps do not.
disable_created_metrics()  # type: ignore[no-untyped-call]

log = logging.getLogger(__name__)


class MaskingFilter(logging.Filter):
    """Bakes a record's message, arguments, traceback and stack into masked text before any handler
    formats it, so no secret reaches a console, a file or a JSON line, whatever the level."""

    def __init__(self, masker: SecretMasker) -> None:
        super().__init__()
        self._mask = masker

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit the format string
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = self._mask(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self._mask(record.stack_info)
        return True


class DemoteChattyLibraries(logging.Filter):
    """Turns the per-request chatter of CHATTY_LIBRARIES (below WARNING) into DEBUG records, and lets a
    handler keep them only when it is at DEBUG."""

    def __init__(self, handler: logging.Handler) -> None:
        super().__init__()
        self._handler = handler

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING and is_chatty(record.name):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return record.levelno >= self._handler.level


def is_chatty(logger_name: str) -> bool:
    return any(logger_name == name or logger_name.startswith(f"{name}.") for name in CHATTY_LIBRARIES)


class UtcTextFormatter(logging.Formatter):
    """`2026-11-29T01:02:03.456Z INFO    plex_cdf.runner: message`: readable, in UTC."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _utc_stamp(record.created)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, exception, and any `extra=` fields;
    masked once more as a whole, since extra fields bypass the record's message."""

    def __init__(self, masker: SecretMasker) -> None:
        super().__init__()
        self._mask = masker

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _utc_stamp(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        line.update({k: v for k, v in record.__dict__.items() if k not in _RECORD_FIELDS})
        return self._mask(json.dumps(line, default=str, ensure_ascii=False))


def _utc_stamp(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def setup_logging(config: LoggerConfig, secrets: Sequence[str] = ()) -> None:
    """Route every logger (ours and the libraries') to the configured console and file, masked.
    Calling it again replaces the handlers it installed before."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(handler)
        handler.close()
    masker = SecretMasker(secrets)
    handlers = [_console_handler(config.console, masker)] if config.console else []
    handlers += [_file_handler(config.file, masker)] if config.file else []
    for handler in handlers:
        handler.addFilter(DemoteChattyLibraries(handler))
        handler.addFilter(MaskingFilter(masker))
        setattr(handler, _HANDLER_MARK, True)
        root.addHandler(handler)
    root.setLevel(min((h.level for h in handlers), default=logging.WARNING))


def _console_handler(config: ConsoleLog, masker: SecretMasker) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(config.level)
    handler.setFormatter(_formatter(config.format, masker))
    return handler


class PrivateFileHandler(TimedRotatingFileHandler):
    """A daily-rotated log file created 0600, the rotated-in files too."""

    def _open(self) -> io.TextIOWrapper:
        create_private(self.baseFilename)
        return super()._open()


def _file_handler(config: FileLog, masker: SecretMasker) -> logging.Handler:
    path = Path(config.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = PrivateFileHandler(
        path, when="midnight", utc=True, backupCount=config.retention, encoding="utf-8"
    )
    handler.setLevel(config.level)
    handler.setFormatter(_formatter(config.format, masker))
    return handler


def _formatter(kind: Literal["text", "json"], masker: SecretMasker) -> logging.Formatter:
    return JsonFormatter(masker) if kind == "json" else UtcTextFormatter()


class Metrics:
    """The product's Prometheus metrics, in their own registry (a fresh one unless given). Label values
    are PCNs, resource names and HTTP status codes only: never a secret, never a record's content."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        each = ("pcn", "resource")
        self.records_fetched = self._counter("records_fetched", "Plex records fetched", each)
        self.records_written = self._counter("records_written", "Items created or updated in CDF", each)
        self.records_unchanged = self._counter("records_unchanged", "Items with unchanged content", each)
        self.records_quarantined = self._counter(
            "records_quarantined", "Records that could not be mapped", each
        )
        self.plex_requests = self._counter("plex_requests", "Plex HTTP requests by status", ("pcn", "status"))
        self.plex_retries = self._counter("plex_retries", "Plex requests retried", ("pcn",))
        self.cdf_requests = self._counter("cdf_requests", "CDF write calls", ())
        self.plex_budget_used_ratio = self._gauge(
            "plex_budget_used_ratio", "Share of the Plex calls-per-minute budget used (0..1)", ("pcn",)
        )
        self.lag_seconds = self._gauge("lag_seconds", "Now minus the resource's watermark, in seconds", each)
        self.last_success_timestamp = self._gauge(
            "last_success_timestamp", "Unix time in seconds of the resource's last successful run", each
        )
        self.resource_failed = self._gauge(
            "resource_failed", "1 when the resource's last run failed, else 0", each
        )
        self.interval_seconds = self._gauge(
            "interval_seconds", "The resource's extraction interval, in seconds (its domain's)", each
        )
        self.pipeline_last_report_timestamp = self._gauge(
            "pipeline_last_report_timestamp",
            "Unix time in seconds of the last run (seen, success or failure) CDF took for the pipeline",
            ("pcn",),
        )
        self.pipeline_report_failures = self._counter(
            "pipeline_report_failures", "Pipeline runs (heartbeats included) CDF did not take", ("pcn",)
        )
        self.windows_committed = self._counter(
            "windows_committed", "Windows whose watermark moved (counted as each commits)", each
        )
        self.health = Health()  # what /healthz and /readyz answer beside /metrics

    def _counter(self, name: str, documentation: str, labels: Sequence[str]) -> Counter:
        return Counter(f"plex_cdf_{name}", documentation, labels, registry=self.registry)

    def _gauge(self, name: str, documentation: str, labels: Sequence[str]) -> Gauge:
        return Gauge(f"plex_cdf_{name}", documentation, labels, registry=self.registry)

    def exposition(self) -> str:
        """The text a Prometheus scrape would get."""
        return generate_latest(self.registry).decode("utf-8")


@dataclass
class MetricsServer:
    """A running scrape endpoint (`/metrics`); `port` is the bound one (useful with port 0)."""

    host: str
    port: int
    _stop: Callable[[], None]

    def stop(self) -> None:
        self._stop()


def start_metrics_server(
    host: str, port: int, registry: CollectorRegistry, health: Health | None = None
) -> MetricsServer:
    """Serve `/metrics` (and, given `health`, `/healthz` and `/readyz`) on a daemon thread; port 0 picks
    a free port."""
    app = make_wsgi_app(registry)
    server = make_server(
        host,
        port,
        health_app(health, app) if health is not None else app,
        ThreadingWSGIServer,
        handler_class=_QuietHandler,
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="plex-cdf-metrics")
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return MetricsServer(host=host, port=int(server.server_port), _stop=stop)


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """One thread per scrape or probe, so a slow scraper never blocks a liveness probe."""

    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    """Probes every few seconds must not fill the log with access lines."""

    def log_message(self, format: str, *args: Any) -> None:
        return


__all__ = [
    "MaskingFilter",
    "Metrics",
    "MetricsServer",
    "SecretMasker",
    "mask_secrets",
    "setup_logging",
    "start_metrics_server",
]
