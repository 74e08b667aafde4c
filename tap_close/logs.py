"""Logging to stderr, one line per event: `2026-12-01T22:41:07Z INFO message`, with the API
key scrubbed from every line whatever logger wrote it.

The UTC timestamp in front is for logs nobody watches live (a nightly cron job appending
stderr to a file): it says when each thing happened. After it comes Singer's own
`LEVEL message`, so a metric line reads `<time> INFO METRIC: {json}`: the JSON still runs to
the end of the line after `METRIC: ` (where Meltano's SDK taps also put a timestamp in front),
and dropping the first field gives exactly the `INFO METRIC: ` form that singer-python's
`singer.metrics.parse` expects.

Settings (config keys, each overridden by its environment variable for a one-off run):
- `log_level` / TAP_CLOSE_LOG_LEVEL: DEBUG, INFO (default), WARNING or ERROR.
- `request_metrics` / TAP_CLOSE_REQUEST_METRICS: one `http_request_duration` METRIC line per
  HTTP request, off by default (a long run makes tens of thousands of requests, and its log
  would be mostly those lines). The per-stream `record_count` metrics are always on.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import sys
import time

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_LEVEL = "INFO"
LEVEL_ENV = "TAP_CLOSE_LOG_LEVEL"
REQUEST_METRICS_ENV = "TAP_CLOSE_REQUEST_METRICS"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
FORMAT = "%(asctime)s %(levelname)s %(message)s"
# How to read a line back (tests and log tooling): time, level, message.
LINE = re.compile(r"^(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (?P<level>[A-Z]+) (?P<message>.*)$")
# The per-request timer metrics go through their own logger so that `request_metrics` can
# switch them off alone (tap_close/metrics.py).
REQUEST_METRICS_LOGGER = "tap_close.metrics.requests"


class RedactSecrets(logging.Filter):
    def __init__(self):
        super().__init__()
        self.secrets: list[str] = []

    def add(self, secret: str) -> None:
        if secret and secret not in self.secrets:
            self.secrets.append(secret)
            self.secrets.append(base64.b64encode(f"{secret}:".encode()).decode())

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            for secret in self.secrets:
                message = message.replace(secret, "<redacted>")
                if record.exc_text:
                    record.exc_text = record.exc_text.replace(secret, "<redacted>")
            record.msg, record.args = message, None
        return True


REDACTOR = RedactSecrets()


def _utc_formatter() -> logging.Formatter:
    formatter = logging.Formatter(FORMAT, datefmt=TIME_FORMAT)
    formatter.converter = time.gmtime   # the `Z` in TIME_FORMAT promises UTC, whatever TZ says
    return formatter


def setup_logging() -> None:
    """Called first thing, before the config is read, so that a bad config is reported in
    the same format; the level comes from the environment until `apply_settings`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_utc_formatter())
    handler.addFilter(REDACTOR)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    # requests' connection pool chatter is not ours to show at debug level.
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    apply_settings(DEFAULT_LEVEL, False, warn=False)


def apply_settings(level: str, request_metrics: bool, warn: bool = True) -> None:
    """The config's `log_level` and `request_metrics`, unless the environment says otherwise
    (an unusable environment value is named in a warning once the config is read)."""
    level = _env_level(warn) or level
    request_metrics = _env_switch(REQUEST_METRICS_ENV, request_metrics, warn)
    logging.getLogger().setLevel(level)
    # WARNING drops the timer lines (they are logged at INFO); NOTSET leaves them to `level`.
    logging.getLogger(REQUEST_METRICS_LOGGER).setLevel(logging.NOTSET if request_metrics else logging.WARNING)


def _env_level(warn: bool) -> str | None:
    raw = os.environ.get(LEVEL_ENV, "").strip()
    if not raw:
        return None
    if raw.upper() in LEVELS:
        return raw.upper()
    if warn:
        logging.getLogger("tap_close").warning("%s=%r is not one of %s; ignored", LEVEL_ENV, raw, ", ".join(LEVELS))
    return None


def _env_switch(name: str, default: bool, warn: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if raw in ("true", "1", "yes", "on"):
        return True
    if raw in ("false", "0", "no", "off"):
        return False
    if raw and warn:
        logging.getLogger("tap_close").warning("%s=%r is neither true nor false; ignored", name, raw)
    return default
