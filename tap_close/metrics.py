"""Singer metric lines (`INFO METRIC: {...}`), in singer-python's format.

The line is exactly what singer-python's `singer.metrics.log` writes for a point: `METRIC: `
then `json.dumps` of `{"type", "metric", "value", "tags"}` in that order (singer-python
6.8.0, singer/metrics.py; tests/test_logging.py reads every line back with its `parse`). It is
built here rather than through singer-python: importing `singer` imports its whole package,
requests and backoff with it, ~25 ms of CPU at every start (bench/run.py, issue #15); and its
`http_request_timer`/`record_counter` helpers call `get_logger()`, which re-reads its logging
config file on every call and replaces our stderr handler (and with it the API-key redaction).

The per-request timers have a logger of their own, which the `request_metrics` setting
switches on or off (tap_close/logs.py); `record_count` is always logged at INFO.
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager

from .logs import REQUEST_METRICS_LOGGER

LOGGER = logging.getLogger("tap_close")
REQUEST_LOGGER = logging.getLogger(REQUEST_METRICS_LOGGER)


def log(logger: logging.Logger, metric_type: str, metric: str, value, tags: dict) -> None:
    """One point, as singer-python's `singer.metrics.log(logger, Point(...))` logs it."""
    logger.info("METRIC: %s", json.dumps({"type": metric_type, "metric": metric, "value": value, "tags": tags}))


@contextmanager
def http_request_timer(endpoint: str):
    tags = {"endpoint": endpoint}
    start = time.monotonic()
    try:
        yield tags
        tags.setdefault("status", "succeeded")
    except BaseException:
        tags["status"] = "failed"
        raise
    finally:
        # Off by default: skip building and serialising a point nobody will see.
        if REQUEST_LOGGER.isEnabledFor(logging.INFO):
            log(REQUEST_LOGGER, "timer", "http_request_duration", time.monotonic() - start, tags)


def record_count(stream: str, count: int) -> None:
    log(LOGGER, "counter", "record_count", count, {"endpoint": stream})
