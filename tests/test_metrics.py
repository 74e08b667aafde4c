"""Metric lines (tap_close/metrics.py): singer-python's points, logged on the tap's loggers."""

import logging

import pytest
from singer.metrics import Point, parse as singer_parse

from tap_close import metrics


def test_record_count_and_the_request_timer(monkeypatch):
    seen = []
    monkeypatch.setattr(metrics, "log", lambda logger, point: seen.append((logger.name, point)))
    metrics.record_count("leads", 7)
    assert seen == [("tap_close", Point("counter", "record_count", 7, {"endpoint": "leads"}))]
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
        [(name, point)] = seen
        assert (name, point.metric_type, point.metric) == ("tap_close.metrics.requests", "timer",
                                                          "http_request_duration")
        assert point.value >= 0 and point.tags == {"endpoint": "user", "status": "failed"}
    finally:
        metrics.REQUEST_LOGGER.setLevel(level)


def test_a_metric_line_parses_back_with_singer_python(caplog):
    with caplog.at_level(logging.INFO, logger="tap_close"):
        metrics.record_count("leads", 1234)
    [line] = [r.getMessage() for r in caplog.records if "METRIC" in r.getMessage()]
    assert singer_parse("INFO " + line) == Point("counter", "record_count", 1234, {"endpoint": "leads"})
