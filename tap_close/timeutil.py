"""Parsing and formatting of the timestamps Close writes and the ones the tap emits.

Close writes `2013-02-08T06:17:00.583000+00:00`, drops the fraction when it is zero
(`2022-11-12T18:00:00+00:00`) and writes naive UTC on event roots
(`2023-04-07T10:01:14.670000`). The tap emits RFC 3339 UTC with six fractional digits and a
`Z`, so targets see one format per column.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

UTC = timezone.utc
_CLOSE_DT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?(\+00:00)?")
_OUR_DT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
_DATE = re.compile(r"\d{4}-\d\d-\d\d")
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


def parse_datetime(value: str) -> datetime:
    """Parse an ISO 8601 date or date-time; naive values are UTC. Raises ValueError."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"not a date-time: {value!r}")
    text = value.strip()
    if _DATE.fullmatch(text):
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        import pendulum  # only for forms the standard library cannot read; slow to import
        try:
            parsed = pendulum.parse(text, strict=False)
        except Exception as exc:  # pendulum raises its own hierarchy; all mean "unparseable"
            raise ValueError(f"not a date-time: {value!r}") from exc
        if not isinstance(parsed, datetime):
            raise ValueError(f"not a date-time: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_start_date(value: str) -> datetime:
    """start_date accepts ISO dates, ISO date-times and Close's own form `MM/DD/YYYY`."""
    text = value.strip() if isinstance(value, str) else value
    match = _US_DATE.fullmatch(text) if isinstance(text, str) else None
    if match:
        month, day, year = (int(g) for g in match.groups())
        return datetime(year, month, day, tzinfo=UTC)
    return parse_datetime(text)


def format_datetime(value: datetime) -> str:
    """RFC 3339 UTC, microseconds, `Z`: the one format the tap writes."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalize_datetime(value: str) -> str:
    """Close's timestamp string to the tap's format; fast path for Close's own forms."""
    if _CLOSE_DT.fullmatch(value):
        if len(value) == 32:  # 2013-02-08T06:17:00.583000+00:00
            return value[:26] + "Z"
        if len(value) == 26:  # naive with fraction (event roots)
            return value + "Z"
        if len(value) == 25:  # whole second, +00:00
            return value[:19] + ".000000Z"
        return value + ".000000Z"  # naive whole second
    if _OUR_DT.fullmatch(value):  # already normalised (a re-read record, a mapped stream)
        return value
    return format_datetime(parse_datetime(value))


def is_date(value: str) -> bool:
    """`YYYY-MM-DD` naming a day that exists (RFC 3339 full-date)."""
    if not _DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)")


def is_rfc3339(value: str) -> bool:
    """An RFC 3339 date-time naming a real instant (as a strict target's format check wants)."""
    if not _RFC3339.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def normalize_date(value: str) -> str:
    """Date-only values stay `YYYY-MM-DD`; anything else (or a day that does not exist) raises."""
    if is_date(value):
        return value
    raise ValueError(f"not a date: {value!r}")


def floor_minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def floor_second(value: datetime) -> datetime:
    return value.replace(microsecond=0)


def now_utc() -> datetime:
    # Millisecond precision: Close stores milliseconds, and a bookmark finer than the
    # source's precision could sit between two records of the same millisecond.
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)

