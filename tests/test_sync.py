"""Full and incremental syncs through the CLI, checked record by record against the
sandbox's own data."""

import json
import re
from datetime import timedelta

import pytest

from expectations import BOOKMARKED, FULL_TABLE, STREAMS, bookmark_entry, expected_ids, may_emit_beyond, since
from tap_close.streams.base import LATE_VISIBILITY
from tap_close.timeutil import now_utc, parse_datetime
from tap_runner import run_tap, tap_config
from validation import assert_records_valid, schema_changes

START = "2025-06-01T00:00:00Z"


def config_for(sb, **extra):
    return tap_config(sb, START, **extra)


@pytest.fixture(scope="module")
def org(module_sandbox_factory):
    return module_sandbox_factory(seed=11, leads=120, activities_per_lead=4, events=400, days=500)


@pytest.fixture(scope="module")
def full_run(org, tmp_path_factory):
    started = now_utc()
    run = run_tap([], tmp_path_factory.mktemp("full"), config=config_for(org))
    assert run.returncode == 0, run.stderr[-3000:]
    return started, run


def test_full_sync_emits_every_record_the_rules_call_for(org, full_run):
    started, run = full_run
    expected = expected_ids(org, parse_datetime(START), started)
    beyond = may_emit_beyond(org, parse_datetime(START), started)
    assert set(run.schemas()) == set(STREAMS), "every stream is on by default"
    for stream in STREAMS:
        ids = expected[stream]
        assert ids, f"the sandbox org should have {stream} to test"
        got = run.ids(stream)
        extra = got - ids - beyond.get(stream, set())
        assert ids <= got and not extra, (stream, len(got), len(ids), sorted(ids - got)[:5], sorted(extra)[:5])


def test_dimensions_ignore_start_date(org, full_run):
    _, run = full_run
    start = parse_datetime(START)
    assert any(parse_datetime(r["date_updated"]) < start for r in org.store.records("user")) or \
        any(parse_datetime(r["date_updated"]) < start for r in org.store.records("custom_field")), \
        "the org should have dimensions older than the start date"
    assert run.ids("users") == {r["id"] for r in org.store.records("user")}


def test_every_record_is_valid_against_its_schema(full_run):
    """Each RECORD against its stream's SCHEMA (date-time and date really checked, no field
    the SCHEMA does not declare), every stream with records to check."""
    _, run = full_run
    assert_records_valid(run, streams=STREAMS)


def test_message_order_and_state(full_run):
    _, run = full_run
    seen_schema, records = set(), 0
    for message in run.messages:
        if message["type"] == "SCHEMA":
            seen_schema.add(message["stream"])
        if message["type"] == "RECORD":
            assert message["stream"] in seen_schema
            assert message["time_extracted"].endswith("Z")
            records += 1
    assert seen_schema == set(STREAMS) and records, "the order checks above ran over every stream's messages"
    assert run.messages[-1]["type"] == "STATE"
    state = run.final_state
    assert state["currently_syncing"] is None
    assert set(state["bookmarks"]) == set(STREAMS)
    for stream in BOOKMARKED:
        (key, value), = bookmark_entry(state["bookmarks"][stream]).items()
        assert parse_datetime(value) <= now_utc()
    # The full-table dimensions keep no position, only the version of their last pass.
    for stream in FULL_TABLE:
        assert set(state["bookmarks"][stream]) == {"version", "version_complete"}, stream


def test_no_schema_had_to_be_widened(full_run):
    """The tap sends a stream's SCHEMA again only when a value did not fit it and it widened
    the schema to keep the value (tap_close/transform.py). The sandbox models Close, so a
    widening here means the static schema and the modelled data disagree: one of them is
    wrong, and since the widened output still validates, only this check can see it."""
    _, run = full_run
    assert set(run.schemas()) == set(STREAMS), "every stream's SCHEMA was looked at"
    widened = schema_changes(run)
    assert not widened, f"SCHEMAs widened mid-run (stream: property: (before, after)): {widened}"


def test_dates_are_rfc3339_utc(full_run):
    _, run = full_run
    event = run.records("event_log")[0]
    assert event["date_created"].endswith("Z") and "T" in event["date_created"]
    lead = run.records("leads")[0]
    assert lead["date_updated"].endswith("Z")
    # A task's date is passed on as Close sends it: a date for an ordinary task, a date-time
    # with its offset for a timed one (the sandbox sends both; which comes first varies).
    dates = [r["date"] for r in run.records("tasks") if r.get("date")]
    date_only = [d for d in dates if re.fullmatch(r"\d{4}-\d{2}-\d{2}", d)]
    timed = [d for d in dates if re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)", d)]
    assert date_only and timed, "both forms arrive"
    assert len(date_only) + len(timed) == len(dates), "no third form"


def test_state_after_each_window_and_currently_syncing(full_run):
    _, run = full_run
    states = [m["value"] for m in run.of_type("STATE")]
    assert any(s.get("currently_syncing") == "activities" for s in states)
    activity_marks = [s["bookmarks"]["activities"]["date_created"] for s in states
                      if s.get("bookmarks", {}).get("activities", {}).get("date_created")]
    assert len(set(activity_marks)) > 3, "activities bookmark should advance window by window"
    assert activity_marks == sorted(activity_marks, key=parse_datetime)


def test_incremental_sync_emits_changes_and_few_unchanged(org, full_run, tmp_path):
    _, first = full_run
    state = first.final_state
    leads = org.store.records("lead")
    tasks = org.store.records("task")
    changed_leads = [org.update_lead(lead["id"], description="changed")["id"] for lead in leads[:3]]
    new_activity = org.add_activity(leads[5]["id"], _type="Note", note="fresh")["id"]
    changed_task = org.update_task(tasks[0]["id"], text="changed task")["id"]
    user = org.store.records("user")[0]
    org.update_user(user["id"], first_name="Renamed")
    run = run_tap([], tmp_path, config=config_for(org), state=state)
    assert run.returncode == 0, run.stderr[-3000:]
    assert set(changed_leads) <= run.ids("leads")
    assert new_activity in run.ids("activities")
    assert changed_task in run.ids("tasks")
    assert user["id"] in run.ids("users")
    assert run.ids("users") == {user["id"]} | _same_minute_users(org, state)
    # Unchanged records: only the re-read minute of leads and the lookback day of activities.
    total_first = len(first.records())
    assert len(run.records()) < total_first / 4
    # The mutations above each logged an event in the sandbox: all of them reach event_log.
    changed_events = {e["id"] for e in org.store.records("event")} - first.ids("event_log")
    assert changed_events, "the mutations should have added events"
    assert changed_events <= run.ids("event_log")
    assert_records_valid(run, streams=("leads", "activities", "tasks", "users", "event_log"))


def _same_minute_users(org, state):
    mark = parse_datetime(state["bookmarks"]["users"]["date_updated"])
    return {u["id"] for u in org.store.records("user") if parse_datetime(u["date_updated"]) >= mark}


def test_activities_reread_the_lookback_window(org, full_run, tmp_path):
    _, first = full_run
    state = first.final_state
    before = len(org.request_log)
    run = run_tap([], tmp_path, config=config_for(org, activities_lookback_hours=48), state=state)
    assert run.returncode == 0
    mark = parse_datetime(state["bookmarks"]["activities"]["date_created"])
    activity_requests = [r for r in org.request_log[before:] if r["path"].startswith("/activity")]
    first_lo = parse_datetime(activity_requests[0]["params"]["date_created__gte"])
    assert first_lo == mark - timedelta(hours=48)
    assert run.ids("activities") == since(org.store.records("activity"), "date_created", first_lo)


def test_leads_search_reads_again_below_the_bookmark_for_the_index_lag(org, full_run, tmp_path):
    _, first = full_run
    state = first.final_state
    mark = parse_datetime(state["bookmarks"]["leads"]["date_updated"])
    before = len(org.request_log)
    run = run_tap([], tmp_path, config=config_for(org), state=state)
    assert run.returncode == 0
    searches = [r["body"] for r in org.request_log[before:] if r["group"] == "data"
                and r["body"]["query"]["queries"][0]["object_type"] == "lead"]
    assert searches, "leads are read through the search API"
    since_ = searches[0]["query"]["queries"][1]["condition"]["on_or_after"]["value"]
    assert parse_datetime(since_) == (mark - LATE_VISIBILITY).replace(microsecond=0)
    assert not [r for r in org.request_log[before:] if r["path"].startswith("/lead")], "no GET /lead/?query="


def test_field_selection_prunes_schema_records_and_request(org, tmp_path):
    disc = run_tap(["--discover"], tmp_path, config=config_for(org))
    catalog = json.loads(disc.stdout)
    for entry in catalog["streams"]:
        if entry["tap_stream_id"] != "users":
            continue
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = True
            elif item["breadcrumb"][1] not in ("id", "date_updated", "email"):
                item["metadata"]["selected"] = False
    before = len(org.request_log)
    run = run_tap([], tmp_path, config=config_for(org), catalog=catalog)
    assert run.returncode == 0, run.stderr
    assert set(run.schemas()) == {"users"}
    assert set(run.schemas()["users"]["schema"]["properties"]) == {"id", "date_updated", "email"}
    assert run.ids("users") == {u["id"] for u in org.store.records("user")}
    # The records match the pruned SCHEMA: the three fields, none of the deselected ones.
    assert all(set(r) == {"id", "date_updated", "email"} for r in run.records("users"))
    assert_records_valid(run, streams=["users"])
    fields = [r["params"].get("_fields") for r in org.request_log[before:] if r["path"].startswith("/user")]
    assert fields and all(set(f.split(",")) == {"id", "date_updated", "email"} for f in fields)


def test_legacy_properties_flag_and_unknown_custom_field(org, tmp_path):
    disc = run_tap(["--discover"], tmp_path, config=config_for(org))
    catalog = json.loads(disc.stdout)
    catalog["streams"] = [e for e in catalog["streams"] if e["tap_stream_id"] == "leads"]
    entry = catalog["streams"][0]
    entry["metadata"][0]["metadata"]["selected"] = True
    unknown = next(k for k in entry["schema"]["properties"] if k.startswith("custom.cf_"))
    del entry["schema"]["properties"][unknown]      # a custom field created after discovery
    path = tmp_path / "props.json"
    path.write_text(json.dumps(catalog))
    run = run_tap(["--properties", str(path)], tmp_path, config=config_for(org))
    assert run.returncode == 0, run.stderr
    assert unknown in run.stderr and "discovery" in run.stderr
    # Close has values for the field; the tap keeps them and declares the field in a SCHEMA
    # sent again before the first record that carries it (the validator checks each record
    # against the SCHEMA in force at that point).
    assert any(r.get(unknown) is not None for r in run.records("leads")), unknown
    schemas = [m["schema"] for m in run.of_type("SCHEMA") if m["stream"] == "leads"]
    assert unknown not in schemas[0]["properties"] and unknown in schemas[-1]["properties"]
    assert_records_valid(run, streams=["leads"])


def test_old_start_date_warns_about_the_event_horizon(org, full_run):
    _, run = full_run
    assert "30 days" in run.stderr and "event_log" in run.stderr


def test_api_key_never_printed(org, full_run):
    _, run = full_run
    assert org.api_key and run.stdout and run.stderr, "there was a key, and output to look through"
    assert org.api_key not in run.stdout and org.api_key not in run.stderr


def test_empty_years_before_the_data_cost_few_requests(org, tmp_path):
    """A start date decades before the account: windows begin where the records do."""
    before = len(org.request_log)
    started = now_utc()
    run = run_tap([], tmp_path, config={**config_for(org), "start_date": "1995-01-01"})
    assert run.returncode == 0, run.stderr[-2000:]
    expected = expected_ids(org, parse_datetime("1995-01-01"), started)
    for stream in ("leads", "tasks", "activities", "opportunities", "custom_activities"):
        assert run.ids(stream) == expected[stream], stream
    requests_by_path = {}
    for entry in org.request_log[before:]:
        path = entry["path"].split("/api/v1/", 1)[-1].strip("/")
        requests_by_path[path] = requests_by_path.get(path, 0) + 1
    # 31 years of 30-day windows would be ~380 requests per stream
    assert requests_by_path["activity"] < 60 and requests_by_path["activity/custom"] < 60
    assert requests_by_path["data/search"] < 60, "leads and contacts"
    assert requests_by_path["task"] < 30 and requests_by_path["opportunity"] < 30


def test_a_range_without_records_still_moves_the_bookmark(module_sandbox_factory, tmp_path):
    sb = module_sandbox_factory(seed=12, leads=3, activities_per_lead=1, tasks_per_lead=0, events=5, days=20)
    assert not sb.store.records("task") and sb.store.records("lead"), "an org with leads but no task"
    started = now_utc()
    run = run_tap([], tmp_path, config={"api_key": sb.api_key, "start_date": "1990-01-01", "base_url": sb.url})
    assert run.returncode == 0
    assert run.ids("leads") and not run.records("tasks")
    # The bookmark moved to this run's own start (the end of the range), not somewhere in 1990.
    (value,) = run.final_state["bookmarks"]["tasks"].values()
    # (Close's now comes from its Date header, whole seconds: up to a second before ours.)
    assert started - timedelta(seconds=1) <= parse_datetime(value) <= now_utc()
    assert len([r for r in sb.request_log if r["group"] == "task"]) == 1, "one question, no empty windows"
    # and the activities probe found the org's 20 days, not 36 years of windows
    assert len([r for r in sb.request_log if r["group"] == "activity"]) < 40


def test_long_field_lists_go_through_the_get_override(org, tmp_path):
    """Deselecting one of ~170 activity fields makes `_fields` too long for a URL: Close takes
    the same query as a POST with `x-http-method-override: GET`."""
    disc = run_tap(["--discover"], tmp_path, config=config_for(org))
    catalog = json.loads(disc.stdout)
    catalog["streams"] = [e for e in catalog["streams"] if e["tap_stream_id"] == "activities"]
    for item in catalog["streams"][0]["metadata"]:
        if item["breadcrumb"] == []:
            item["metadata"]["selected"] = True
        elif item["breadcrumb"][1] == "note_html":
            item["metadata"]["selected"] = False
    before = len(org.request_log)
    started = now_utc()
    run = run_tap([], tmp_path, config=config_for(org), catalog=catalog)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.ids("activities") == expected_ids(org, parse_datetime(START), started)["activities"]
    # Close has note_html for some of them; the tap asked for none and emitted none.
    assert any("note_html" in a for a in org.store.records("activity"))
    assert all("note_html" not in r for r in run.records("activities"))
    methods = {r["method"] for r in org.request_log[before:] if r["group"] == "activity"}
    assert methods == {"POST"}
