"""What a sync must deliver, computed from the sandbox's own data by the stream rules."""

from tap_close.streams.event_log import HORIZON_MARGIN, RETENTION
from tap_close.timeutil import floor_minute, parse_datetime

STREAMS = ("activities", "custom_fields", "event_log", "leads", "tasks", "users")


def since(records, field, bound):
    return {r["id"] for r in records if parse_datetime(r[field]) >= bound}


def expected_ids(sb, start, run_started):
    """Ids each stream must emit in a full sync from `start` that began at `run_started`."""
    horizon = run_started - RETENTION + HORIZON_MARGIN
    return {
        "users": {r["id"] for r in sb.store.records("user")},
        "custom_fields": {r["id"] for r in sb.store.records("custom_field")},
        "leads": since(sb.store.records("lead"), "date_updated", floor_minute(start)),
        "tasks": since(sb.store.records("task"), "date_updated", start),
        "activities": since(sb.store.records("activity"), "date_created", start),
        "event_log": {r["id"] for r in sb.store.records("event")
                      if parse_datetime(r["date_updated"]) >= max(start, horizon)},
    }


def assert_complete(expected, got_by_stream, streams=STREAMS):
    for stream in streams:
        ids, got = expected[stream], got_by_stream(stream)
        assert ids, f"the sandbox org should have {stream} to test"
        missing = ids - got
        assert not missing, (stream, f"{len(missing)} of {len(ids)} missing", sorted(missing)[:5])
