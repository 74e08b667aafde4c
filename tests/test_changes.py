"""What list endpoints cannot show, read from the event log: edits to activities older than
the lookback window, and deletions (records with `_sdc_deleted_at`)."""

import json
import math
from datetime import timedelta

import pytest

from tap_close.streams.changes import HORIZON_MARGIN, REFETCH_BATCH, RESCAN
from tap_close.streams.event_feed import EVENT_FIELDS
from tap_close.timeutil import now_utc, parse_datetime
from tap_runner import run_tap, tap_config
from validation import assert_records_valid, log_lines

START = "2025-06-01T00:00:00Z"
DELETABLE = ("activities", "contacts", "custom_activities", "leads", "opportunities", "tasks")
# Close keeps about 30 days of events (close-api.md, "Event log", Retention [C: S1 events]).
CLOSE_EVENT_RETENTION = timedelta(days=30)


def config_for(sb, **extra):
    return tap_config(sb, START, **extra)


def catalog_with_contacts(sb, tmp_path, deselect=()):
    """Every stream, contacts (off by default) included; `deselect` as (stream, field) pairs."""
    catalog = json.loads(run_tap(["--discover"], tmp_path, config=config_for(sb)).stdout)
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = True
            elif (entry["tap_stream_id"], item["breadcrumb"][1]) in deselect:
                item["metadata"]["selected"] = False
    return catalog


def deletion_records(run, stream):
    return {r["id"]: r for r in run.records(stream) if "_sdc_deleted_at" in r}


@pytest.fixture
def org(sandbox_factory):
    return sandbox_factory(seed=41, leads=80, activities_per_lead=5, events=200, days=120)


def old_activities(sb, days_ago, kind=None, count=3):
    """Activities created about `days_ago` days ago that carry a note (so they can be edited)."""
    now = now_utc()
    found = [a for a in sb.store.records("activity")
             if "note" in a and (kind is None or a["_type"] == kind)
             and now - timedelta(days=days_ago + 3) < parse_datetime(a["date_created"]) < now - timedelta(days=days_ago)]
    assert len(found) >= count, "the org should have old activities to edit"
    return found[:count]


def recent_activities(sb, hours, count=2):
    """Activities with a note created in the last `hours` hours: inside the next run's lookback."""
    now = now_utc()
    found = [a for a in sb.store.records("activity")
             if "note" in a and now - timedelta(hours=hours) < parse_datetime(a["date_created"]) < now]
    assert len(found) >= count, "the org should have recent activities to edit"
    return found[:count]


def test_an_activity_edited_ten_days_after_creation_is_emitted_by_the_next_run(org, tmp_path):
    first = run_tap([], tmp_path, config=config_for(org))
    assert first.returncode == 0, first.stderr[-2000:]
    edited = [org.update_activity(a["id"], note=f"edited late {i}")["id"]
              for i, a in enumerate(old_activities(org, 10))]
    # Edits within the lookback: the windows read them again, so they are not asked for by id.
    recent = [org.update_activity(a["id"], note=f"edited recently {i}")["id"]
              for i, a in enumerate(recent_activities(org, 12))]
    untouched = {a["id"] for a in old_activities(org, 10, count=6)} - set(edited)
    before = len(org.request_log)
    second = run_tap([], tmp_path, config=config_for(org), state=first.final_state)
    assert second.returncode == 0, second.stderr[-2000:]
    got = {r["id"]: r for r in second.records("activities")}
    for i, activity_id in enumerate(edited):
        assert got[activity_id]["note"] == f"edited late {i}"
    assert untouched, "the org should have old activities left unedited"
    assert not untouched & set(got), "only the edited old activities are fetched again"
    assert_records_valid(second, streams=["activities"])
    lookback_start = parse_datetime(first.final_state["bookmarks"]["activities"]["date_created"]) - timedelta(hours=24)
    older = {i for i, r in got.items() if parse_datetime(r["date_created"]) < lookback_start}
    assert older == set(edited)
    # Bounded: the events since the last run, then one `id__in` request per batch of ids.
    refetches = [r for r in org.request_log[before:] if "id__in" in r["params"]]
    assert len(refetches) == math.ceil(len(edited) / REFETCH_BATCH)
    assert sorted(refetches[0]["params"]["id__in"].split(",")) == sorted(edited)
    for i, activity_id in enumerate(recent):
        assert got[activity_id]["note"] == f"edited recently {i}"
    # Asked for once the windows had read: after every window request of the stream.
    log = org.request_log[before:]
    windows = [i for i, r in enumerate(log) if r["path"] == "/activity/" and "date_created__gte" in r["params"]]
    assert windows and log.index(refetches[0]) > max(windows)


def test_a_late_edit_to_a_custom_activity_reaches_both_activity_streams(org, tmp_path):
    first = run_tap([], tmp_path, config=config_for(org))
    now = now_utc()
    # A free-text field: words written into a date or choices field would make the record
    # invalid (Close would refuse the edit).
    text_fields = {f"custom.{d['id']}" for d in org.store.custom_fields("activity")
                   if d["type"] in ("text", "textarea")}
    custom = next(a for a in org.store.records("activity") if a["_type"] == "CustomActivity"
                  and parse_datetime(a["date_created"]) < now - timedelta(days=5)
                  and parse_datetime(a["date_created"]) > parse_datetime(START)
                  and any(k in text_fields and isinstance(v, str) for k, v in a.items()))
    field = next(k for k, v in custom.items() if k in text_fields and isinstance(v, str))
    org.update_activity(custom["id"], **{field: "changed late"})
    second = run_tap([], tmp_path, config=config_for(org), state=first.final_state)
    assert second.returncode == 0, second.stderr[-2000:]
    for stream in ("activities", "custom_activities"):
        (record,) = [r for r in second.records(stream) if r["id"] == custom["id"]]
        assert record[field] == "changed late", stream
    assert_records_valid(second, streams=("activities", "custom_activities"))


def test_late_edits_can_be_turned_off(org, tmp_path):
    first = run_tap([], tmp_path, config=config_for(org))
    (activity,) = old_activities(org, 10, count=1)
    org.update_activity(activity["id"], note="edited late")
    # A new activity beside the late edit: the run did read activities, it left out only the edit.
    fresh = org.add_activity(activity["lead_id"], _type="Note", note="fresh")["id"]
    second = run_tap([], tmp_path, config=config_for(org, late_activity_edits=False), state=first.final_state)
    assert second.returncode == 0
    assert fresh in second.ids("activities")
    assert activity["id"] not in second.ids("activities")


def test_deletions_reach_each_stream_as_deletion_records(org, tmp_path):
    catalog = catalog_with_contacts(org, tmp_path)
    first = run_tap([], tmp_path, config=config_for(org), catalog=catalog)
    assert first.returncode == 0, first.stderr[-2000:]
    store = org.store
    lead = next(l for l in store.records("lead") if l["opportunities"] and len(l["contacts"]) > 0)
    lead_name = lead["display_name"]
    cascade = {kind: {r["id"] for r in store.records(kind) if r["lead_id"] == lead["id"]}
               for kind in ("contact", "opportunity", "task", "activity")}
    others = [l["id"] for l in store.records("lead") if l["id"] != lead["id"]]
    victims = {}
    for kind in ("contact", "opportunity", "task", "activity"):
        victims[kind] = next(r["id"] for r in store.records(kind) if r["lead_id"] in others)
    victims["custom"] = next(a["id"] for a in store.records("activity")
                             if a["_type"] == "CustomActivity" and a["lead_id"] in others)
    # The sandbox's clock (ms, as Close) stamps the deletion events: they fall between these two.
    deleted_from = org.clock.now()
    for kind, rid in victims.items():
        org.delete_child("activity" if kind == "custom" else kind, rid)
    org.delete_lead(lead["id"])
    deleted_until = org.clock.now()

    second = run_tap([], tmp_path, config=config_for(org), state=first.final_state, catalog=catalog)
    assert second.returncode == 0, second.stderr[-2000:]
    expected = {
        "leads": {lead["id"]},
        "contacts": cascade["contact"] | {victims["contact"]},
        "opportunities": cascade["opportunity"] | {victims["opportunity"]},
        "tasks": cascade["task"] | {victims["task"]},
        "activities": cascade["activity"] | {victims["activity"], victims["custom"]},
        "custom_activities": {victims["custom"]},
    }
    # Every record of the run, deletion records included, matches its stream's SCHEMA.
    assert_records_valid(second, streams=DELETABLE)
    for stream in DELETABLE:
        got = deletion_records(second, stream)
        assert expected[stream] <= set(got), (stream, expected[stream] - set(got))
        for record in got.values():
            assert {"id", "_sdc_deleted_at"} <= set(record)
        for rid in expected[stream]:
            at = parse_datetime(got[rid]["_sdc_deleted_at"])
            assert deleted_from <= at <= deleted_until, (stream, rid, at)
    # A deletion record carries the object's last state (the event's previous_data).
    assert deletion_records(second, "leads")[lead["id"]].get("display_name") == lead_name
    # Nothing still alive is reported deleted.
    alive = {r["id"] for kind in ("lead", "contact", "opportunity", "task", "activity") for r in store.records(kind)}
    reported = {rid for stream in DELETABLE for rid in deletion_records(second, stream)}
    assert alive and reported, "both sides of the check hold ids"
    assert not alive & reported


def test_tasks_and_activities_share_one_walk_of_the_event_log(org, tmp_path):
    first = run_tap([], tmp_path, config=config_for(org))
    org.delete_child("task", org.store.records("task")[0]["id"])
    org.delete_child("activity", org.store.records("activity")[0]["id"])
    before = len(org.request_log)
    second = run_tap([], tmp_path, config=config_for(org), state=first.final_state)
    assert second.returncode == 0, second.stderr[-2000:]
    assert deletion_records(second, "tasks") and deletion_records(second, "activities")
    replay = [r for r in org.request_log[before:] if r["group"] == "event"
              and r["params"].get("_fields") == EVENT_FIELDS and "object_type" not in r["params"]]
    assert len([r for r in replay if "_cursor" not in r["params"]]) == 1, "one walk for both families"
    marks = [parse_datetime(first.final_state["bookmarks"][s][k]) for s, k in (("tasks", "date_updated"),
                                                                                ("activities", "date_created"))]
    assert parse_datetime(replay[0]["params"]["date_updated__gte"]) == min(marks) - RESCAN


def test_emit_deletes_off_and_a_deselected_deleted_at_emit_none(org, tmp_path):
    first = run_tap([], tmp_path, config=config_for(org))
    lead_id = org.store.records("lead")[0]["id"]
    # A task of another lead: the lead's own tasks go with it.
    task_id = next(t["id"] for t in org.store.records("task") if t["lead_id"] != lead_id)
    org.delete_lead(lead_id)
    org.delete_child("task", task_id)
    off = run_tap([], tmp_path, config=config_for(org, emit_deletes=False), state=first.final_state)
    assert off.returncode == 0
    # The run saw the deletions (event_log carries their events) yet wrote no deletion record.
    deleted_events = {e["object_id"] for e in off.records("event_log") if e["action"] == "deleted"}
    assert {lead_id, task_id} <= deleted_events
    assert off.records() and all("_sdc_deleted_at" not in r for r in off.records())
    assert not any(deletion_records(off, stream) for stream in DELETABLE)
    catalog = catalog_with_contacts(org, tmp_path, deselect={("leads", "_sdc_deleted_at")})
    deselected = run_tap([], tmp_path, config=config_for(org), state=first.final_state, catalog=catalog)
    assert deselected.returncode == 0
    assert not deletion_records(deselected, "leads")
    assert deletion_records(deselected, "tasks"), "other streams still get theirs"
    assert "_sdc_deleted_at" not in deselected.schemas()["leads"]["schema"]["properties"]
    assert "_sdc_deleted_at" in deselected.schemas()["tasks"]["schema"]["properties"]


def test_a_bookmark_older_than_the_event_log_says_what_cannot_be_seen(org, tmp_path):
    old = (now_utc() - timedelta(days=45)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    state = {"bookmarks": {"leads": {"date_updated": old}, "activities": {"date_created": old}}}
    started = now_utc()
    run = run_tap([], tmp_path, config=config_for(org), state=state)
    finished = now_utc()
    assert run.returncode == 0, run.stderr[-2000:]
    warnings = [l for l in log_lines(run.stderr, "WARNING") if "older than the 30 days of events" in l]
    assert any("leads" in l and "deletions" in l for l in warnings)
    assert any("activities" in l and "late edits and deletions" in l for l in warnings)
    # The replay starts at the horizon, never before it (Close keeps 30 days of events, and
    # would not have older ones), nor long after it (the 45-day-old bookmarks ask for all it
    # has). Bounded by the run's start and end, whatever the run's duration.
    event_starts = [parse_datetime(r["params"]["date_updated__gte"]) for r in org.request_log
                    if r["group"] == "event" and "date_updated__gte" in r["params"]]
    assert event_starts, "the run should replay the event log"
    # Close's clock is read from a Date header (whole seconds): up to a second before `started`.
    assert started - CLOSE_EVENT_RETENTION - HORIZON_MARGIN - timedelta(seconds=1) <= min(event_starts) \
        <= finished - CLOSE_EVENT_RETENTION - HORIZON_MARGIN


def test_an_event_close_is_about_to_expire_still_arrives(org, tmp_path):
    """Close keeps about 30 days of events: one a few minutes short of that is still served,
    so the event_log stream reads from a little before the horizon and emits it."""
    now = now_utc()
    edge = org.add_event(date_updated=now - CLOSE_EVENT_RETENTION + timedelta(minutes=3))["id"]
    gone = org.add_event(date_updated=now - CLOSE_EVENT_RETENTION - timedelta(minutes=3))["id"]
    young = org.add_event(date_updated=now - timedelta(days=2))["id"]
    run = run_tap([], tmp_path, config=config_for(org))
    assert run.returncode == 0, run.stderr[-2000:]
    emitted = run.ids("event_log")
    assert young in emitted and edge in emitted
    assert gone not in emitted, "Close (the sandbox) no longer serves an event past 30 days"


def test_an_ignored_id_filter_fails_loudly_instead_of_losing_edits():
    """If Close ever ignored `id__in`, the newest activities would come back instead."""
    from tap_close.errors import UnexpectedResponseError
    from tap_close.streams import STREAMS, StreamContext
    from tap_close.streams.changes import _refetch

    class IgnoresIdFilter:
        def get(self, path, params):
            return {"has_more": True, "data": [{"id": "acti_newest", "date_created": "2026-01-01T00:00:00+00:00"}]}

    now = now_utc()
    ctx = StreamContext(client=IgnoresIdFilter(), start_date=now - timedelta(days=90), sync_start=now,
                        bookmark=now - timedelta(days=1), fields=None)
    with pytest.raises(UnexpectedResponseError, match="not asked for"):
        list(_refetch(STREAMS["activities"], ctx, ["acti_edited"]))


def test_late_edits_ask_only_for_what_no_window_read():
    from tap_close.streams.changes import LateEdits

    late = LateEdits()
    late.read([{"id": "acti_read_early"}, {"id": "acti_unedited_early"}])   # before the walk is done: kept
    late.found({"acti_read_early", "acti_read_late", "acti_old"})
    late.read([{"id": "acti_read_late"}, {"id": "acti_unedited_late"}])
    assert late.unread() == (["acti_old"], 3)
    assert LateEdits().read([{"id": "x"}]) is None
    with pytest.raises(RuntimeError):
        LateEdits().unread()


def test_the_late_edit_fetch_stands_before_the_windows_and_starts_after_them():
    """Before every window in bookmark order (no bookmark passes it), started last."""
    from tap_close.streams import STREAMS, StreamContext
    from tap_close.streams.event_feed import EventFeed

    now = now_utc()
    ctx = StreamContext(client=None, start_date=now - timedelta(days=3), sync_start=now,
                        bookmark=now - timedelta(hours=2), fields=None, event_feed=EventFeed(None))
    units = list(STREAMS["activities"].units(ctx))
    assert [u.after_the_others for u in units] == [False, True] + [False] * (len(units) - 2)
    assert len(units) > 2 and units[1].bookmark is None and all(u.bookmark for u in units[2:])
    assert ctx.late_edited is not None
    off = StreamContext(client=None, start_date=ctx.start_date, sync_start=now, bookmark=ctx.bookmark,
                        fields=None, event_feed=EventFeed(None), late_edits=False)
    assert not any(u.after_the_others for u in STREAMS["activities"].units(off)) and off.late_edited is None
