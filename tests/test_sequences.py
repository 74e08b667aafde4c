"""The `sequences` (full table) and `sequence_subscriptions` (every sequence walked each run,
changes since the bookmark emitted) streams, through the CLI against the sandbox."""

import json
from datetime import timedelta

import pytest

from close_sandbox import sequences as sandbox_sequences
from tap_close.streams.base import LATE_VISIBILITY
from tap_close.timeutil import now_utc, parse_datetime
from tap_runner import run_tap, select, tap_config
from validation import assert_records_valid, schema_changes

# Inside the organization's year of data, so that some subscriptions are older than it.
START = (now_utc() - timedelta(days=200)).strftime("%Y-%m-%dT00:00:00Z")
STREAMS = ("sequences", "sequence_subscriptions")


def config_for(sb):
    return tap_config(sb, START)


@pytest.fixture(scope="module")
def org(module_sandbox_factory):
    # 100 leads: enough emailable contacts for one sequence to hold more than a 100-record page.
    return module_sandbox_factory(seed=17, leads=100, activities_per_lead=1, tasks_per_lead=1, events=30)


@pytest.fixture(scope="module")
def catalog(org, tmp_path_factory):
    discovered = run_tap(["--discover"], tmp_path_factory.mktemp("disc"), config=config_for(org))
    assert discovered.returncode == 0, discovered.stderr[-2000:]
    return select(json.loads(discovered.stdout), STREAMS)


@pytest.fixture(scope="module")
def first(org, catalog, tmp_path_factory):
    before = len(org.request_log)
    run = run_tap([], tmp_path_factory.mktemp("first"), config=config_for(org), catalog=catalog)
    assert run.returncode == 0, run.stderr[-2000:]
    return run, org.request_log[before:]


def _top(entry):
    return next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])


def test_discovery_lists_both_streams_with_their_replication(catalog):
    entries = {e["tap_stream_id"]: e for e in catalog["streams"]}
    sequences, subscriptions = _top(entries["sequences"]), _top(entries["sequence_subscriptions"])
    assert sequences["forced-replication-method"] == "FULL_TABLE" and "valid-replication-keys" not in sequences
    assert subscriptions["forced-replication-method"] == "INCREMENTAL"
    assert subscriptions["valid-replication-keys"] == ["date_updated"]
    # Subscriptions cost a request per sequence every run: a user selects them.
    for stream_id, automatic, default in (("sequences", {"id"}, True),
                                          ("sequence_subscriptions", {"id", "date_updated"}, False)):
        entry = entries[stream_id]
        assert entry["key_properties"] == ["id"] and _top(entry)["selected-by-default"] is default
        inclusion = {m["breadcrumb"][1]: m["metadata"]["inclusion"] for m in entry["metadata"] if m["breadcrumb"]}
        assert {name for name, value in inclusion.items() if value == "automatic"} == automatic
        assert "_sdc_deleted_at" not in entry["schema"]["properties"] and "status" in entry["schema"]["properties"]
    steps = entries["sequences"]["schema"]["properties"]["steps"]["items"]["properties"]
    assert steps["date_created"]["format"] == "date-time" and "sms_template_id" in steps


def test_first_sync_is_complete_and_valid(org, first):
    run, _ = first
    assert run.ids("sequences") == {s["id"] for s in sandbox_sequences.sequences(org)}
    subscriptions = sandbox_sequences.subscriptions(org)
    # A first sync emits every subscription, whatever the start date (as users and custom fields).
    assert any(parse_datetime(s["date_updated"]) < parse_datetime(START) for s in subscriptions)
    assert run.ids("sequence_subscriptions") == {s["id"] for s in subscriptions}
    assert len(run.records("sequence_subscriptions")) == len(subscriptions), "each once"
    assert_records_valid(run, streams=STREAMS)
    widened = schema_changes(run)
    assert not widened, f"SCHEMAs widened mid-run (stream: property: (before, after)): {widened}"
    sequence = run.records("sequences")[0]
    assert sequence["date_created"].endswith("Z") and sequence["steps"][0]["date_updated"].endswith("Z"), \
        "Close's naive times are written as UTC"


def test_only_the_full_table_stream_activates_a_version(first):
    run, _ = first
    # (A first pass activates its version before its records too, the Singer convention.)
    activated = [m["stream"] for m in run.of_type("ACTIVATE_VERSION")]
    assert activated and set(activated) == {"sequences"}
    assert set(run.final_state["bookmarks"]["sequences"]) == {"version", "version_complete"}
    (key, value), = run.final_state["bookmarks"]["sequence_subscriptions"].items()
    assert key == "date_updated" and parse_datetime(value) > parse_datetime(START)


def test_each_sequence_costs_a_request_and_a_big_one_pages(org, first):
    _, log = first
    sequence_ids = {s["id"] for s in sandbox_sequences.sequences(org)}
    lists = [r for r in log if r["path"] == "/sequence/"]
    assert len(lists) == 2, "one for the sequences stream, one to walk them for their subscriptions"
    assert {r["params"].get("_fields") for r in lists} == {None, "id"}
    reads = [r for r in log if r["path"] == "/sequence_subscription/"]
    assert all(r["status"] == 200 and r["params"]["_limit"] == "100" for r in reads)
    first_pages = [r["params"]["sequence_id"] for r in reads if r["params"]["_skip"] == "0"]
    assert sorted(first_pages) == sorted(sequence_ids), "every sequence read once"
    counts = {sid: len(sandbox_sequences.subscriptions(org, sid)) for sid in sequence_ids}
    big = {sid for sid, n in counts.items() if n > 100}
    assert big and 0 in counts.values(), "the org has a sequence of several pages and one without any"
    later_pages = {r["params"]["sequence_id"] for r in reads if r["params"]["_skip"] != "0"}
    assert later_pages == big


def test_second_run_emits_only_the_changes(org, catalog, first, tmp_path):
    run, _ = first
    bookmark = parse_datetime(run.final_state["bookmarks"]["sequence_subscriptions"]["date_updated"])
    old = sandbox_sequences.subscriptions(org)
    paused = sandbox_sequences.update_subscription(org, old[3]["id"], status="paused", status_reason="manual")
    sequence = old[0]["sequence_id"]
    members = {s["contact_id"] for s in old if s["sequence_id"] == sequence}
    newcomer = next(c for c in org.store.records("contact") if c["emails"] and c["id"] not in members)
    added = sandbox_sequences.add_subscription(org, sequence, newcomer["id"])
    second = run_tap([], tmp_path, config=config_for(org), catalog=catalog, state=run.final_state)
    assert second.returncode == 0, second.stderr[-2000:]
    expected = {s["id"] for s in sandbox_sequences.subscriptions(org)
                if parse_datetime(s["date_updated"]) >= bookmark - LATE_VISIBILITY}
    assert {paused["id"], added["id"]} <= expected
    assert second.ids("sequence_subscriptions") == expected
    assert len(expected) < len(old) / 10, "the changes (and the re-read margin), not every subscription"
    emitted = {r["id"]: r for r in second.records("sequence_subscriptions")}
    assert emitted[paused["id"]]["status"] == "paused" and emitted[paused["id"]]["status_reason"] == "manual"
    assert_records_valid(second, streams=STREAMS)
    # The sequences stream has no position: the whole table again, under a new version.
    assert second.ids("sequences") == run.ids("sequences")
    activated = [m["stream"] for m in second.of_type("ACTIVATE_VERSION")]
    assert activated and set(activated) == {"sequences"}
    moved = parse_datetime(second.final_state["bookmarks"]["sequence_subscriptions"]["date_updated"])
    assert moved >= bookmark
