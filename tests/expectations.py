"""What a sync must deliver, computed from the sandbox's own data by the stream rules."""

from close_sandbox import org_tables
from close_sandbox import custom_objects
from close_sandbox import sequences as sandbox_sequences
from tap_close.streams.event_log import HORIZON_MARGIN, RETENTION
from tap_close.timeutil import parse_datetime

# What a run without a catalog syncs: every stream selected by default.
STREAMS = ("activities", "contacts", "custom_activities", "custom_activity_types", "custom_fields",
           "custom_object_types", "custom_objects", "email_templates", "event_log", "groups", "lead_statuses",
           "leads", "opportunities", "opportunity_statuses", "phone_numbers", "pipelines", "roles", "sequences",
           "smart_views", "sms_templates", "tasks", "users")
# Small configuration tables read whole every run, without a bookmark.
FULL_TABLE = ("custom_activity_types", "custom_object_types", "email_templates", "groups", "lead_statuses",
              "opportunity_statuses", "phone_numbers", "pipelines", "roles", "sequences", "smart_views",
              "sms_templates")
BOOKMARKED = tuple(s for s in STREAMS if s not in FULL_TABLE)
# What `meltano select tap-close '*.*'` (demo/select_all.py) syncs: every stream, those off by
# default (costly on large accounts) too.
OFF_BY_DEFAULT = ("sequence_subscriptions",)
ALL_STREAMS = tuple(sorted(STREAMS + OFF_BY_DEFAULT))


# What a stream's state entry holds beside its bookmark: the date windows finished beyond it
# (tap_close/state.py), null once the bookmark has caught up.
PROGRESS_KEYS = ("finished", "finished_since")


def bookmark_entry(entry) -> dict:
    """A stream's state entry without its record of windows finished beyond the bookmark."""
    return {key: value for key, value in (entry or {}).items() if key not in PROGRESS_KEYS}


def since(records, field, bound):
    return {r["id"] for r in records if parse_datetime(r[field]) >= bound}


def expected_ids(sb, start, run_started):
    """Ids each stream must emit in a full sync from `start` that began at `run_started`."""
    # Every event Close served throughout the run: younger than its 30 days when the run ended
    # too (the tap reads from a little before the horizon, streams/event_log.py, and so may
    # emit a few older ones: `may_emit_beyond`).
    horizon = run_started - RETENTION + HORIZON_MARGIN
    activities = sb.store.records("activity")
    return {
        "contacts": since(sb.store.records("contact"), "date_updated", start),
        "opportunities": since(sb.store.records("opportunity"), "date_updated", start),
        "custom_activities": since([a for a in activities if a.get("custom_activity_type_id")], "date_created", start),
        "lead_statuses": {r["id"] for r in sb.store.ctx.lead_statuses},
        "opportunity_statuses": {r["id"] for r in sb.store.ctx.opp_statuses},
        "pipelines": {r["id"] for r in sb.store.ctx.pipelines},
        "custom_activity_types": {r["id"] for r in sb.store.ctx.custom_activity_types},
        "users": {r["id"] for r in sb.store.records("user")},
        "custom_fields": {r["id"] for r in sb.store.records("custom_field") + custom_objects.of(sb).definitions},
        "custom_object_types": {r["id"] for r in custom_objects.of(sb).types},
        "custom_objects": since(custom_objects.of(sb).records(), "date_updated", start),
        "leads": since(sb.store.records("lead"), "date_updated", start),
        "tasks": since(sb.store.records("task"), "date_updated", start),
        "activities": since(activities, "date_created", start),
        "sequences": {r["id"] for r in sandbox_sequences.sequences(sb)},
        "sequence_subscriptions": {r["id"] for r in sandbox_sequences.subscriptions(sb)},   # all on a first sync
        "email_templates": {r["id"] for r in org_tables.of(sb).records("email_template")},
        "sms_templates": {r["id"] for r in org_tables.of(sb).records("sms_template")},
        "roles": {r["id"] for r in org_tables.of(sb).records("role")},
        "groups": {r["id"] for r in org_tables.of(sb).records("group")},
        "smart_views": {r["id"] for r in org_tables.of(sb).records("saved_search")},
        "phone_numbers": {r["id"] for r in org_tables.of(sb).records("phone_number")},
        "event_log": {r["id"] for r in sb.store.records("event")
                      if parse_datetime(r["date_updated"]) >= max(start, horizon)},
    }


def assert_complete(expected, got_by_stream, streams=STREAMS):
    for stream in streams:
        ids, got = expected[stream], got_by_stream(stream)
        assert ids, f"the sandbox org should have {stream} to test"
        missing = ids - got
        assert not missing, (stream, f"{len(missing)} of {len(ids)} missing", sorted(missing)[:5])


def may_emit_beyond(sb, start, run_started) -> dict[str, set]:
    """Ids a full sync from `start` begun at `run_started` may emit beyond `expected_ids`: the
    events from a little before Close's horizon (streams/event_log.py), expired or not."""
    floor = max(start, run_started - RETENTION - HORIZON_MARGIN)
    return {"event_log": {r["id"] for r in sb.store.records("event", include_expired=True)
                          if parse_datetime(r["date_updated"]) >= floor}}
