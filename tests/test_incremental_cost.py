"""An incremental run with nothing changed is cheap (issue #15): one request per stream at most,
plus the reads the run shares (Close's clock, the event replays' walk, the custom field
definitions), each counted through the sandbox's request log.

The shared reads: the search streams name every custom field in `_fields` and the custom_fields
stream emits the definitions, from one read of each list per run (custom_field_definitions.py);
the streams replaying exact event types (leads, contacts, ...) take their events from the walk
that tasks and activities need anyway (streams/event_feed.py), when it covers their period."""

import json
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from close_sandbox import custom_objects, org_tables
from tap_close.catalog import select_defaults
from tap_close.custom_field_definitions import CurrentCustomFields
from tap_close.errors import AuthError, ServerError
from tap_close.schema import CUSTOM_FIELD_OBJECT_TYPES
from tap_close.streams import STREAMS
from tap_close.streams.event_feed import EVENT_FIELDS, EventFeed
from tap_close.streams.search import SearchStream
from tap_close.timeutil import format_datetime, parse_datetime
from tap_runner import run_tap, select, tap_config

START = "2025-06-01T00:00:00Z"
SEARCH_STREAMS = sorted(name for name, stream in STREAMS.items()
                        if isinstance(stream, SearchStream) and stream.selected_by_default)


@pytest.fixture(scope="module")
def org(module_sandbox_factory):
    return module_sandbox_factory(seed=83, leads=40, activities_per_lead=2, events=60, days=60)


def discovered(sb, tmp_path) -> dict:
    run = run_tap(["--discover"], tmp_path, config=tap_config(sb, START))
    assert run.returncode == 0, run.stderr[-2000:]
    return json.loads(run.stdout)


def logged_run(sb, tmp_path, catalog, state=None, **config):
    """A sync and the requests it made (the sandbox's log), with its --summary-json."""
    mark = len(sb.request_log)
    run = run_tap(["--summary-json", str(tmp_path / "summary.json")], tmp_path,
                  config=tap_config(sb, START, **config), catalog=catalog, state=state)
    assert run.returncode == 0, run.stderr[-3000:]
    summary = {entry["stream"]: entry for entry in json.loads((tmp_path / "summary.json").read_text())["streams"]}
    return run, sb.request_log[mark:], summary


@pytest.fixture(scope="module")
def default_catalog(org, tmp_path_factory):
    """What a user gets without choosing: the streams selected by default (discovery apart, so
    the runs' logs hold the syncs' requests only)."""
    return select_defaults(discovered(org, tmp_path_factory.mktemp("discovery")))


@pytest.fixture(scope="module")
def first(org, default_catalog, tmp_path_factory):
    return logged_run(org, tmp_path_factory.mktemp("first"), default_catalog)


@pytest.fixture(scope="module")
def second(org, default_catalog, first, tmp_path_factory):
    """The same selection again from the first run's STATE, nothing changed in between."""
    return logged_run(org, tmp_path_factory.mktemp("second"), default_catalog, state=first[0].final_state)


def definitions(sb, object_type):
    if object_type == "custom_object_type":   # the sandbox keeps these with the custom objects
        return custom_objects.of(sb).definitions
    return sb.store.custom_fields(object_type)


def event_requests(log):
    """(the replays' walk, the event_log stream's reads, the requests for one object type)."""
    events = [r for r in log if r["group"] == "event"]
    walk = [r for r in events if r["params"].get("_fields") == EVENT_FIELDS and "object_type" not in r["params"]]
    by_type = [r for r in events if "object_type" in r["params"]]
    own = [r for r in events if "_fields" not in r["params"]]
    return walk, own, by_type


def test_nothing_changed_costs_a_request_per_stream_beside_the_shared_reads(org, second):
    run, log, _ = second
    # The activities' 24-hour lookback fits in one page here: one request reads it.
    for stream in ("activities", "custom_activities"):
        assert len(run.records(stream)) < STREAMS[stream].page_size, stream
    groups = org_tables.of(org).records("group")
    assert groups, "the org has groups, each fetched for its members"
    expected = {
        # No GET /me/: Close's clock comes from the first custom field list read (sync.close_now).
        "event": 2,                        # the replays' one walk, and the event_log stream's read
        "data": len(SEARCH_STREAMS),       # one search per search stream: its re-read window
        "activity": 2,                     # activities' and custom activities' lookback
        "task": 1, "opportunity": 1,       # their re-read windows
        # Read whole every run (Close has no date filter for them): what a perfect client reads.
        "custom_field": len(CUSTOM_FIELD_OBJECT_TYPES),   # each list once, shared with the searches
        "email_template": len(STREAMS["email_templates"].partition[1]),
        "group": 1 + len(groups),
        "user": 1, "status": 2, "pipeline": 1, "custom_activity": 1, "custom_object_type": 1, "sequence": 1,
        "sms_template": 1, "role": 1, "saved_search": 1, "phone_number": 1,
    }
    assert Counter(r["group"] for r in log) == expected


def test_closes_clock_comes_from_a_read_the_run_needs_anyway(org, default_catalog, second, tmp_path):
    """Before planning, the run needs Close's "now": it reads a custom field list a selected
    stream reads anyway, and asks GET /me/ only when no selected stream reads one."""
    _, log, _ = second
    assert log[0]["group"] == "custom_field" and not any(r["group"] == "me" for r in log)
    catalog = select(default_catalog, ["users", "tasks"])
    run, log, _ = logged_run(org, tmp_path, catalog)
    assert log[0]["group"] == "me" and [r["group"] for r in log].count("me") == 1
    assert not any(r["group"] == "custom_field" for r in log)
    assert run.records("users") and run.final_state["bookmarks"]["users"]


def test_each_custom_field_list_is_read_once_per_run_and_serves_every_stream(org, first, second):
    lists = {f"/custom_field/{object_type}/" for object_type in CUSTOM_FIELD_OBJECT_TYPES}
    for run, log, _ in (first, second):
        assert Counter(r["path"] for r in log if r["group"] == "custom_field") == {path: 1 for path in lists}
    run, log, _ = first
    # The custom_fields stream emitted every definition from those reads...
    emitted = {(r["object_type"], r["id"]) for r in run.records("custom_fields")}
    assert emitted == {(t, d["id"]) for t in CUSTOM_FIELD_OBJECT_TYPES for d in definitions(org, t)}
    # ...and the lead search named every lead custom field from them.
    lead_search = next(r["body"] for r in log if r["group"] == "data"
                       and r["body"]["query"]["queries"][0]["object_type"] == "lead")
    lead_fields = {f"custom.{d['id']}" for d in org.store.custom_fields("lead")}
    assert lead_fields and lead_fields <= set(lead_search["_fields"]["lead"])


def test_the_replays_take_their_events_from_the_one_walk(second):
    _, log, _ = second
    walk, own, by_type = event_requests(log)
    assert len(walk) == 1 and len(own) == 1, (walk, own)
    assert by_type == [], "leads, contacts, opportunities, custom objects and custom activities asked nothing"


def test_group_members_are_counted_against_the_groups_stream(org, second):
    # Fetched side by side in threads of their own (streams/full_scan.py in_parallel).
    _, log, summary = second
    fetched = [r for r in log if r["group"] == "group"]
    assert len(fetched) > 1 and summary["groups"]["requests"] == len(fetched)


def test_a_deletion_of_an_exact_type_comes_from_the_walk(sandbox_factory, tmp_path):
    sb = sandbox_factory(seed=84, leads=30, activities_per_lead=2, events=40, days=60)
    catalog = select_defaults(discovered(sb, tmp_path))
    first, _, _ = logged_run(sb, tmp_path, catalog)
    lead = next(lead for lead in sb.store.records("lead") if lead["contacts"])
    sb.delete_lead(lead["id"])
    second, log, _ = logged_run(sb, tmp_path, catalog, state=first.final_state)
    walk, _, by_type = event_requests(log)
    assert walk and by_type == []
    assert lead["id"] in {r["id"] for r in second.records("leads") if "_sdc_deleted_at" in r}
    contacts = {contact["id"] for contact in lead["contacts"]}
    assert contacts <= {r["id"] for r in second.records("contacts") if "_sdc_deleted_at" in r}


def test_without_a_walk_each_stream_asks_for_its_own_types(sandbox_factory, tmp_path):
    # Neither tasks nor activities: no walk happens, and one would read every event of the
    # period; two questions by type cost less on a busy account.
    sb = sandbox_factory(seed=85, leads=30, activities_per_lead=2, events=40, days=60)
    catalog = select(discovered(sb, tmp_path), ("leads", "contacts"))
    first, _, _ = logged_run(sb, tmp_path, catalog)
    lead = sb.store.records("lead")[0]
    sb.delete_lead(lead["id"])
    second, log, _ = logged_run(sb, tmp_path, catalog, state=first.final_state)
    walk, own, by_type = event_requests(log)
    assert walk == [] and own == []
    assert sorted((r["params"]["object_type"], r["params"]["action"]) for r in by_type) == \
        [("contact", "deleted"), ("lead", "deleted")]
    assert lead["id"] in {r["id"] for r in second.records("leads") if "_sdc_deleted_at" in r}


def test_a_replay_reaching_further_back_than_the_walk_asks_for_its_types(org, default_catalog, first, tmp_path):
    state = json.loads(json.dumps(first[0].final_state))
    leads = state["bookmarks"]["leads"]
    leads["date_updated"] = format_datetime(parse_datetime(leads["date_updated"]) - timedelta(hours=1))
    _, log, _ = logged_run(org, tmp_path, default_catalog, state=state)
    walk, _, by_type = event_requests(log)
    assert len(walk) == 1
    assert [(r["params"]["object_type"], r["params"]["action"]) for r in by_type] == [("lead", "deleted")]


# -- the shared walk and the shared definitions, with fake clients --------------------------------
T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


def event(object_type, object_id, action, at):
    stamp = at.replace(tzinfo=None).isoformat()
    return {"id": f"ev_{object_id}", "object_type": object_type, "object_id": object_id, "action": action,
            "date_created": stamp, "date_updated": stamp, "previous_data": {"name": object_id}}


class EventLogClient:
    """One page of events, newest first; or a failure on every request."""

    def __init__(self, events, failure=None):
        self.events, self.failure, self.asked = events, failure, []

    def get(self, path, params):
        self.asked.append(params)
        if self.failure is not None:
            raise self.failure
        return {"data": self.events, "cursor_next": None}


def test_the_walk_serves_the_exact_types_of_the_replays_it_covers():
    client = EventLogClient([event("lead", "lead_new", "deleted", T0 + timedelta(minutes=30)),
                             event("contact", "cont_new", "deleted", T0 + timedelta(minutes=30)),
                             event("task.lead", "task_1", "deleted", T0 + timedelta(minutes=20)),
                             event("lead", "lead_old", "deleted", T0 - timedelta(minutes=30))])
    feed = EventFeed(client)
    feed.need(T0, families=("task.",))
    feed.need(T0, exact=("lead",))                             # covered: starts where the walk does
    feed.need(T0 - timedelta(hours=1), exact=("contact",))     # starts before the walk: not covered
    tasks = feed.take(T0, ("task.",), (), ("deleted",))
    assert [e["object_id"] for e in tasks.events] == ["task_1"] and tasks.exact_left == ()
    leads = feed.take(T0, (), ("lead",), ("deleted",))
    assert [e["object_id"] for e in leads.events] == ["lead_new"] and leads.exact_left == ()
    contacts = feed.take(T0 - timedelta(hours=1), (), ("contact",), ("deleted",))
    assert contacts.events == [] and contacts.exact_left == ("contact",)
    assert len(client.asked) == 1 and client.asked[0]["date_updated__gte"] == format_datetime(T0)


def test_a_failed_walk_fails_the_replays_it_covers_only():
    client = EventLogClient([], failure=ServerError("Close did not answer GET event"))
    feed = EventFeed(client)
    feed.need(T0, families=("activity.",))
    feed.need(T0, exact=("opportunity",))
    feed.need(T0 - timedelta(hours=1), exact=("contact",))
    for families, exact, since in ((("activity.",), (), T0), ((), ("opportunity",), T0)):
        with pytest.raises(ServerError):
            feed.take(since, families, exact, ("deleted",))
    assert feed.take(T0 - timedelta(hours=1), (), ("contact",), ("deleted",)).exact_left == ("contact",)


def test_no_family_no_walk():
    client = EventLogClient([event("lead", "lead_new", "deleted", T0)])
    feed = EventFeed(client)
    feed.need(T0, exact=("lead",))
    assert feed.take(T0, (), ("lead",), ("deleted",)).exact_left == ("lead",)
    assert client.asked == []


class DefinitionsClient:
    """Custom field lists: `refused` answer 403; every request is counted."""

    def __init__(self, refused=()):
        self.refused, self.asked = set(refused), Counter()

    def get(self, path, params):
        object_type = path.split("/")[1]
        self.asked[object_type] += 1
        if object_type in self.refused:
            raise AuthError("the API key is not allowed to read this (403)", 403)
        return {"has_more": False, "data": [{"id": f"cf_{object_type}", "name": object_type, "type": "text",
                                             "associations": [{"object_type": "lead"}]}]}


def test_a_refused_definitions_list_is_asked_once_and_stays_refused():
    client = DefinitionsClient(refused=("shared",))
    current = CurrentCustomFields(client)
    assert set(current.properties("lead")) == {"custom.cf_lead"}, "the lead fields, none from the refused list"
    assert set(current.properties("contact")) == {"custom.cf_contact"}
    with pytest.raises(AuthError) as refused:
        current.definitions("shared")
    assert refused.value.status == 403   # the custom_fields stream meets the 403 as it would alone
    first = current.definitions("lead")
    first[0]["object_type"] = "lead"      # the stream's records are its own to change
    assert "object_type" not in current.definitions("lead")[0]
    assert client.asked == {"lead": 1, "shared": 1, "contact": 1}
