"""Metric lines (tap_close/metrics.py) are built without singer-python, in its exact format."""

import logging

import pytest
from singer.metrics import Point, log as singer_log, parse as singer_parse

from tap_close import metrics


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def logger():
    logger = logging.getLogger("tap_close.test_metrics")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = Lines()
    logger.addHandler(handler)
    yield logger, handler.lines
    logger.removeHandler(handler)


@pytest.mark.parametrize("point", [
    Point("counter", "record_count", 1234, {"endpoint": "leads"}),
    Point("timer", "http_request_duration", 0.0123, {"endpoint": "user", "http_status_code": 200,
                                                      "status": "succeeded"}),
])
def test_a_metric_line_is_the_one_singer_python_writes(logger, point):
    logger, lines = logger
    metrics.log(logger, point.metric_type, point.metric, point.value, point.tags)
    singer_log(logger, point)
    ours, theirs = lines
    assert ours == theirs and ours.startswith("METRIC: {")
    assert singer_parse("INFO " + ours) == point


def test_record_count_and_the_request_timer(monkeypatch):
    seen = []
    monkeypatch.setattr(metrics, "log", lambda logger, *point: seen.append((logger.name, point)))
    metrics.record_count("leads", 7)
    assert seen == [("tap_close", ("counter", "record_count", 7, {"endpoint": "leads"}))]
    seen.clear()
    level = metrics.REQUEST_LOGGER.level
    metrics.REQUEST_LOGGER.setLevel(logging.WARNING)     # request metrics off: nothing built
    try:
        with metrics.http_request_timer("user") as tags:
            tags["http_status_code"] = 200
        assert seen == []
        metrics.REQUEST_LOGGER.setLevel(logging.INFO)
        with pytest.raises(KeyError):
            with metrics.http_request_timer("user") as tags:
                raise KeyError("boom")
        [(name, (kind, metric, seconds, tags))] = seen
        assert (name, kind, metric) == ("tap_close.metrics.requests", "timer", "http_request_duration")
        assert seconds >= 0 and tags == {"endpoint": "user", "status": "failed"}
    finally:
        metrics.REQUEST_LOGGER.setLevel(level)
