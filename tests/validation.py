"""Checks a tap's output as a strict Singer target would: every RECORD against the SCHEMA most
recently sent for its stream before that record, with `date-time` and `date` really checked.
Also: which SCHEMAs the tap had to widen mid-run, and the tap's stderr lines by level.

Why the formats are checked here and not by jsonschema's own FormatChecker: jsonschema 2.6.0
(the pinned test dependency) registers `date-time` only when `strict_rfc3339` or `isodate`
can be imported (jsonschema/_format.py), and the `dev` extra installs neither, so
`FormatChecker()` accepted "2026-13-01T00:00:00Z" and "yesterday". Its `date` check
(`datetime.strptime(value, "%Y-%m-%d")`, registered for draft 3 only but present in a default
`FormatChecker()`) rejects "2026-02-30" but accepts "2026-1-5". So both are registered on our
own FormatChecker instance (the class, shared by every user of jsonschema, is left alone), and
the dependency list stays as it is. (`strict-rfc3339` would also make jsonschema 2.6.0 check
`date-time`, as singer-tools' `singer-check-tap` does; it would not fix `date`.)

Sources:
- Singer SPEC (singer-conventions.md §1.1): a RECORD's schema is the SCHEMA message sent for
  its stream; a RECORD before any SCHEMA is "schema-less" and most targets reject it;
  `time_extracted` is an RFC 3339 date-time. A tap may send a new SCHEMA for a stream
  mid-stream: later records follow the newer one (singer-check-tap validates against "the
  latest SCHEMA of its stream", singer-conventions.md §4.1).
- Singer schemas are JSON Schema draft 4 (singer-check-tap and target-jsonl both use
  Draft4Validator, singer-conventions.md §4.1, §4.3). Draft 4 §7.3.1: `date-time` is a date
  representation "as defined by RFC 3339, section 5.6".
- `date` is not in draft 4; the later drafts define it as RFC 3339's `full-date` production
  (json-schema-org/json-schema-spec PR #399), which is what the tap's schemas mean by it.
- RFC 3339 §5.6 (ABNF): date-time = full-date "T" full-time; full-date = 4DIGIT "-" 2DIGIT "-"
  2DIGIT; partial-time = HH ":" MM ":" SS ["." 1*DIGIT]; time-offset = "Z" / ("+" / "-") HH ":"
  MM. §5.7: the day must exist in its month and year (leap years per Appendix C), hours 00-23,
  minutes 00-59, seconds 00-60 (60 only for a leap second). ABNF strings are case-insensitive,
  and §5.6's NOTE says "T" and "Z" may be lower case. A space in place of "T", a missing
  offset or missing seconds are not RFC 3339.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import jsonschema

# [0-9], not \d: \d would accept other scripts' digits.
_FULL_DATE = r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
_DATE = re.compile(_FULL_DATE)
_DATE_TIME = re.compile(_FULL_DATE + r"[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
                                    r"(?:[Zz]|[+-]([0-9]{2}):([0-9]{2}))")
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# How many problems an assertion message lists (the count covers them all).
SHOWN_PROBLEMS = 20


def _is_leap_year(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)       # RFC 3339 Appendix C


def _is_calendar_date(year: str, month: str, day: str) -> bool:
    year_n, month_n, day_n = int(year), int(month), int(day)
    if not 1 <= month_n <= 12:
        return False
    last_day = 29 if month_n == 2 and _is_leap_year(year_n) else _DAYS_IN_MONTH[month_n - 1]
    return 1 <= day_n <= last_day


def is_rfc3339_date(value) -> bool:
    """RFC 3339 full-date: YYYY-MM-DD, a day that exists. Non-strings pass: a format only
    applies to strings (draft 4 §7.1), `type` decides the rest."""
    if not isinstance(value, str):
        return True
    match = _DATE.fullmatch(value)
    return bool(match) and _is_calendar_date(*match.groups())


def is_rfc3339_date_time(value) -> bool:
    """RFC 3339 date-time: full-date, "T", hh:mm:ss[.frac], and "Z" or a ±hh:mm offset."""
    if not isinstance(value, str):
        return True
    match = _DATE_TIME.fullmatch(value)
    if not match:
        return False
    year, month, day, hour, minute, second, offset_hour, offset_minute = match.groups()
    return (_is_calendar_date(year, month, day) and int(hour) <= 23 and int(minute) <= 59
            and int(second) <= 60 and int(offset_hour or 0) <= 23 and int(offset_minute or 0) <= 59)


def format_checker() -> jsonschema.FormatChecker:
    """jsonschema's default checks (email, hostname, ...) with `date-time` and `date` as above."""
    checker = jsonschema.FormatChecker()      # an instance copy: registering below stays local
    checker.checks("date-time")(is_rfc3339_date_time)
    checker.checks("date")(is_rfc3339_date)
    return checker


@dataclass(frozen=True)
class Problem:
    """One reason a message would not load into a strict target."""
    stream: str
    record_id: object        # None when the record has no id
    position: int            # index of the message in the run's output
    field: str               # "" for the record as a whole
    message: str

    def __str__(self) -> str:
        where = f"{self.stream} record {self.record_id!r} (message {self.position})"
        return f"{where}, field {self.field or '(record)'}: {self.message}"


def _field_path(path) -> str:
    """`addresses[0].city` from jsonschema's deque of keys and indexes."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _short(value, limit=80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


class _StreamSchema:
    """The SCHEMA in force for one stream: its validator and its top-level properties."""

    def __init__(self, schema: dict, checker):
        self.validator = jsonschema.Draft4Validator(schema, format_checker=checker)
        self.properties = set((schema.get("properties") or {}) if isinstance(schema, dict) else ())


def _schema_problems(message: dict, position: int, checker) -> tuple[_StreamSchema | None, list[Problem]]:
    stream = message.get("stream")
    try:
        jsonschema.Draft4Validator.check_schema(message.get("schema"))
    except jsonschema.SchemaError as exc:
        return None, [Problem(stream, None, position, "", f"its SCHEMA is not a valid draft 4 schema: {exc.message}")]
    return _StreamSchema(message["schema"], checker), []


def _record_problems(message: dict, position: int, current: _StreamSchema | None,
                     allow_undeclared: bool) -> list[Problem]:
    stream, record = message.get("stream"), message.get("record")
    record_id = record.get("id") if isinstance(record, dict) else None
    problems = []
    if "time_extracted" in message and not (isinstance(message["time_extracted"], str)
                                            and is_rfc3339_date_time(message["time_extracted"])):
        problems.append(Problem(stream, record_id, position, "time_extracted",
                                f"{_short(message['time_extracted'])} is not an RFC 3339 date-time"))
    if current is None:
        return problems + [Problem(stream, record_id, position, "", "RECORD before any valid SCHEMA for its stream")]
    for error in current.validator.iter_errors(record):
        problems.append(Problem(stream, record_id, position, _field_path(error.absolute_path),
                                f"{error.message} (schema rule: {error.validator})"))
    if not allow_undeclared and isinstance(record, dict):
        # Targets drop (or reject) what the SCHEMA does not declare: a field the tap sends
        # but does not declare never reaches the warehouse.
        for name in sorted(set(record) - current.properties):
            problems.append(Problem(stream, record_id, position, name, "not declared in the stream's SCHEMA"))
    return problems


def messages_of(run_or_messages) -> list[dict]:
    """The Singer messages of a TapRun (tests/tap_runner.py) or a list of messages."""
    return list(getattr(run_or_messages, "messages", run_or_messages))


def check_records(run_or_messages, allow_undeclared: bool = False) -> tuple[list[Problem], Counter]:
    """Every problem found, in output order, and how many RECORDs of each stream were checked.

    Each RECORD is checked against the SCHEMA last sent for its stream before it; a later
    SCHEMA replaces the earlier one for the records after it. `allow_undeclared` accepts
    top-level fields missing from the SCHEMA's properties (the schema's own
    `additionalProperties` still applies)."""
    checker = format_checker()
    in_force: dict[str, _StreamSchema | None] = {}
    problems: list[Problem] = []
    checked: Counter = Counter()
    for position, message in enumerate(messages_of(run_or_messages)):
        kind = str(message.get("type", "")).upper()         # Singer types are case-insensitive
        if kind == "SCHEMA":
            in_force[message.get("stream")], found = _schema_problems(message, position, checker)
            problems += found
        elif kind == "RECORD":
            stream = message.get("stream")
            problems += _record_problems(message, position, in_force.get(stream), allow_undeclared)
            checked[stream] += 1
    return problems, checked


def schema_changes(run_or_messages) -> dict[str, dict]:
    """Streams whose SCHEMA was sent again with other content, and for each the top-level
    properties that changed, as (before, after). The tap re-sends a SCHEMA only to widen it
    for a value that did not fit (tap_close/transform.py); its records then validate, so this
    is where a mismatch between a schema and the data shows."""
    first: dict[str, dict] = {}
    changed: dict[str, dict] = {}
    for message in messages_of(run_or_messages):
        if str(message.get("type", "")).upper() != "SCHEMA":
            continue
        stream, schema = message.get("stream"), message.get("schema") or {}
        if stream not in first:
            first[stream] = schema
        elif schema != first[stream]:
            old, new = first[stream].get("properties", {}), schema.get("properties", {})
            changed[stream] = {key: (old.get(key), new.get(key)) for key in sorted(set(old) | set(new))
                               if old.get(key) != new.get(key)} or {"(schema)": (first[stream], schema)}
    return changed


# A stderr line: an optional UTC timestamp (the log format may put one first), the level,
# the message.
_LOG_LINE = re.compile(r"(?:[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z )?(?P<level>[A-Z]+) (?P<message>.*)")


def log_lines(stderr: str, level: str) -> list[str]:
    """The messages the tap logged at `level` (CRITICAL, WARNING, ...), without the prefix."""
    found = []
    for line in stderr.splitlines():
        match = _LOG_LINE.fullmatch(line)
        if match and match.group("level") == level:
            found.append(match.group("message"))
    return found


def assert_records_valid(run_or_messages, streams=(), allow_undeclared: bool = False) -> Counter:
    """Fails on any problem `check_records` finds, and on any of `streams` with no RECORD at
    all (a check over nothing proves nothing). Returns the records checked per stream."""
    problems, checked = check_records(run_or_messages, allow_undeclared)
    empty = sorted(stream for stream in streams if not checked[stream])
    assert not empty, f"no RECORD to validate for {empty}; records per stream: {dict(checked)}"
    assert sum(checked.values()), "the run emitted no RECORD at all: nothing was validated"
    if problems:
        by_stream = Counter(problem.stream for problem in problems)
        listed = "\n".join(f"  {problem}" for problem in problems[:SHOWN_PROBLEMS])
        raise AssertionError(f"{len(problems)} invalid RECORD message(s), by stream {dict(by_stream)}:\n{listed}")
    return checked
