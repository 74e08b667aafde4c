"""Singer metric lines (`INFO METRIC: {...}`) written through singer-python's formatter.

singer-python's `http_request_timer`/`record_counter` helpers call `get_logger()`, which
re-reads its logging config file on every call: that costs a file read per request and
replaces our stderr handler (and with it the API-key redaction). So the points are built
here and logged with `singer.metrics.log` on our own loggers.

The per-request timers have a logger of their own, which the `request_metrics` setting
switches on or off (tap_close/logs.py); `record_count` is always logged at INFO.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager

from singer.metrics import Point, log

from .logs import REQUEST_METRICS_LOGGER

LOGGER = logging.getLogger("tap_close")
REQUEST_LOGGER = logging.getLogger(REQUEST_METRICS_LOGGER)


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
            log(REQUEST_LOGGER, Point("timer", "http_request_duration", time.monotonic() - start, tags))


def record_count(stream: str, count: int) -> None:
    log(LOGGER, Point("counter", "record_count", count, {"endpoint": stream}))
