"""Close timestamp formatting and parsing.

Internally every instant is an int of microseconds since the Unix epoch (UTC).
Close stores milliseconds, so generated values are multiples of 1000, but
filter values may carry microseconds and are compared exactly.
"""
import re
from datetime import date, datetime, timedelta, timezone

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_NAIVE = datetime(1970, 1, 1)
SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def to_us(dt):
    """Aware (or naive = UTC) datetime -> epoch microseconds."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    delta = dt - EPOCH
    return (delta.days * 86400 + delta.seconds) * SECOND + delta.microseconds


def from_us(us):
    return EPOCH + timedelta(microseconds=us)


def fmt(us):
    """Close object timestamp: '+00:00', six fraction digits, fraction omitted
    when zero (that is exactly datetime.isoformat())."""
    return (EPOCH + timedelta(microseconds=us)).isoformat()


def fmt_naive(us):
    """Event-log roots are naive UTC: '2023-04-07T10:01:14.670000'."""
    return (EPOCH_NAIVE + timedelta(microseconds=us)).isoformat()


def fmt_date(us):
    return (EPOCH + timedelta(microseconds=us)).date().isoformat()


def floor_ms(us):
    return us - us % 1000


def floor_minute(us):
    return us - us % MINUTE


def floor_day(us):
    return us - us % DAY


_FILTER_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$"
)


def parse(value):
    """Parse a filter value: YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS[.ffffff]]
    with optional Z / +HH:MM. Naive means UTC. Raises ValueError."""
    m = _FILTER_RE.match(value.strip())
    if not m:
        raise ValueError(value)
    y, mo, d, hh, mi, ss, frac, tz = m.groups()
    if tz and hh is None:
        raise ValueError(value)  # an offset on a bare date makes no sense
    micro = int((frac or "0").ljust(6, "0"))
    dt = datetime(int(y), int(mo), int(d), int(hh or 0), int(mi or 0), int(ss or 0), micro, tzinfo=UTC)
    us = to_us(dt)
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = (int(digits[:2]) * 60 + int(digits[2:])) * MINUTE
        us -= sign * offset
    return us


def parse_date_only(value):
    return date.fromisoformat(value)


def fmt_task_date(day_us, minute_of_day=None):
    """A task `date`: date-only ('2015-01-05') or, for a timed task, Close's
    date-time form without fraction ('2015-01-10T05:00:00+00:00') [Close docs:
    developer.close.com/api/resources/tasks, both examples]."""
    if minute_of_day is None:
        return fmt_date(day_us)
    return fmt(floor_day(day_us) + minute_of_day * MINUTE)


def task_date_key(value):
    """Sort/filter key of a task `date` in either form: (epoch us, 0 for
    date-only / 1 for timed). A date-only task counts as the start of its (UTC)
    day and sorts before a timed task at the same instant [Close docs: tasks,
    "date-only tasks are ordered before date-time tasks at the given date"].
    None (a dateless task) has no key: the caller decides where it goes."""
    if value is None:
        return None
    return (parse(value), 0 if len(value) == 10 else 1)
