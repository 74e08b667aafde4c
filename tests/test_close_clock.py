"""Close's clock from Date headers: a lower bound of Close's now, whatever the host's clock says."""

import logging
from datetime import timedelta
from email.utils import format_datetime as http_date

from tap_close.close_clock import CloseClock
from tap_close.timeutil import now_utc


def test_close_time_follows_the_date_header_not_the_host():
    clock = CloseClock()
    received = now_utc()
    clock.observe(http_date(received + timedelta(minutes=10), usegmt=True), received)
    ahead = clock.now() - now_utc()
    assert timedelta(minutes=10) - timedelta(seconds=2) <= ahead <= timedelta(minutes=10), ahead
    behind = CloseClock()
    behind.observe(http_date(received - timedelta(minutes=10), usegmt=True), received)
    lag = now_utc() - behind.now()
    assert timedelta(minutes=10) <= lag <= timedelta(minutes=10, seconds=2), lag


def test_the_tightest_lower_bound_is_kept():
    clock = CloseClock()
    received = now_utc().replace(microsecond=0)
    clock.observe(http_date(received - timedelta(seconds=5), usegmt=True), received)   # a slow response
    clock.observe(http_date(received, usegmt=True), received)
    clock.observe(http_date(received - timedelta(seconds=3), usegmt=True), received)
    assert abs(clock.now() - now_utc()) < timedelta(seconds=1)


def test_missing_or_garbled_headers_teach_nothing():
    clock = CloseClock()
    for header in (None, "", "yesterday", "Tue, 99 Foo 2026 99:99:99 GMT", "2026-12-01 10:00:00"):
        clock.observe(header, now_utc())
    assert not clock.known
    assert abs(clock.now() - now_utc()) < timedelta(seconds=1), "the host's clock until Close says"
    clock.observe(http_date(now_utc() + timedelta(hours=1), usegmt=True), now_utc())
    assert clock.known and clock.now() - now_utc() > timedelta(minutes=59)


def test_a_large_skew_is_logged_once(caplog):
    clock = CloseClock()
    with caplog.at_level(logging.WARNING, logger="tap_close"):
        for _ in range(3):
            clock.observe(http_date(now_utc() - timedelta(minutes=10), usegmt=True), now_utc())
    warnings = [r.getMessage() for r in caplog.records if "Close's clock" in r.getMessage()]
    assert len(warnings) == 1 and "behind" in warnings[0] and "10 min" in warnings[0], warnings
    small = CloseClock()
    with caplog.at_level(logging.WARNING, logger="tap_close"):
        small.observe(http_date(now_utc(), usegmt=True), now_utc())
    assert len([r for r in caplog.records if "Close's clock" in r.getMessage()]) == 1, "no line for no skew"
