"""The second wave of streams: contacts (incremental through Close's search), opportunities
(incremental windows), custom activity instances (typed custom fields) and the small
configuration tables (full table every run)."""

import json

import pytest

from expectations import bookmark_entry
from tap_close.timeutil import parse_datetime
from tap_runner import run_tap, select, tap_config
from validation import assert_records_valid, schema_changes

START = "2025-06-01T00:00:00Z"
DIMENSIONS = ("lead_statuses", "opportunity_statuses", "pipelines", "custom_activity_types")


def config_for(sb, **extra):
    return tap_config(sb, START, **extra)


@pytest.fixture(scope="module")
def org(module_sandbox_factory):
    return module_sandbox_factory(seed=43, leads=90, activities_per_lead=4, events=150, days=200)


@pytest.fixture(scope="module")
def catalog(org, tmp_path_factory):
    catalog = json.loads(run_tap(["--discover"], tmp_path_factory.mktemp("disc"), config=config_for(org)).stdout)
    return select(catalog, ("contacts", "opportunities", "custom_activities", *DIMENSIONS))


@pytest.fixture(scope="module")
def first(org, catalog, tmp_path_factory):
    run = run_tap([], tmp_path_factory.mktemp("first"), config=config_for(org), catalog=catalog)
    assert run.returncode == 0, run.stderr[-2000:]
    return run


def test_records_are_valid_and_custom_fields_typed(org, first):
    # Every selected stream has records, and each matches its SCHEMA (custom fields included:
    # a `date` custom field must hold a real YYYY-MM-DD, a number field a number).
    assert_records_valid(first, streams=("contacts", "opportunities", "custom_activities", *DIMENSIONS))
    # ...without the tap having to widen a schema to make them fit (validation.schema_changes).
    widened = schema_changes(first)
    assert not widened, f"SCHEMAs widened mid-run (stream: property: (before, after)): {widened}"
    for stream, object_type in (("contacts", "contact"), ("opportunities", "opportunity"),
                                ("custom_activities", "activity")):
        props = first.schemas()[stream]["schema"]["properties"]
        definitions = org.store.custom_fields(object_type)
        assert definitions, f"the sandbox org should have {object_type} custom fields to test"
        for definition in definitions:
            assert f"custom.{definition['id']}" in props, (stream, definition["id"])
        assert any(k.startswith("custom.cf_") for r in first.records(stream) for k in r), stream
    # The format checks above had something to check: custom date and date-time values.
    formats = {props.get("format") for stream in ("contacts", "opportunities", "custom_activities")
               for record in first.records(stream)
               for key, props in first.schemas()[stream]["schema"]["properties"].items()
               if key.startswith("custom.cf_") and record.get(key) is not None}
    assert {"date", "date-time"} <= formats, formats


def test_contacts_are_incremental_through_search(org, catalog, first, tmp_path):
    contacts = org.store.records("contact")
    assert first.ids("contacts") == {c["id"] for c in contacts if parse_datetime(c["date_updated"]) >= parse_datetime(START)}
    changed = org.update_contact(contacts[7]["id"], title="Chief Tester")
    before = len(org.request_log)
    second = run_tap([], tmp_path, config=config_for(org), catalog=catalog, state=first.final_state)
    assert second.returncode == 0, second.stderr[-2000:]
    mark = parse_datetime(first.final_state["bookmarks"]["contacts"]["date_updated"])
    expected = {c["id"] for c in org.store.records("contact") if parse_datetime(c["date_updated"]) >= mark}
    assert changed["id"] in expected
    assert {r["id"] for r in second.records("contacts") if "_sdc_deleted_at" not in r} == expected
    assert len(expected) < len(contacts) / 4, "only what changed since the bookmark (and its overlap)"
    assert next(r for r in second.records("contacts") if r["id"] == changed["id"])["title"] == "Chief Tester"
    assert_records_valid(second, streams=["contacts"])
    searches = [r for r in org.request_log[before:] if r["group"] == "data"
                and r["body"]["query"]["queries"][0]["object_type"] == "contact"]
    assert len(searches) == 1, "one search page for a few changed contacts"
    assert not [r for r in org.request_log[before:] if r["group"] == "contact"], "GET /contact/ is not paged"


def test_opportunities_are_incremental(org, catalog, first, tmp_path):
    expected = {o["id"] for o in org.store.records("opportunity") if parse_datetime(o["date_updated"]) >= parse_datetime(START)}
    assert first.ids("opportunities") == expected
    target = org.store.records("opportunity")[3]["id"]
    org.update_opportunity(target, confidence=99)
    second = run_tap([], tmp_path, config=config_for(org), catalog=catalog, state=first.final_state)
    assert second.returncode == 0
    got = {r["id"]: r for r in second.records("opportunities") if "_sdc_deleted_at" not in r}
    assert got[target]["confidence"] == 99
    assert len(got) < len(expected) / 4, "only the changes (and ties at the bookmark)"


def test_custom_activities_are_the_custom_instances(org, first):
    expected = {a["id"] for a in org.store.records("activity")
                if a["_type"] == "CustomActivity" and parse_datetime(a["date_created"]) >= parse_datetime(START)}
    assert expected and first.ids("custom_activities") == expected


def test_dimensions_are_full_table_every_run(org, catalog, first, tmp_path):
    store = {"lead_statuses": org.store.ctx.lead_statuses, "opportunity_statuses": org.store.ctx.opp_statuses,
             "pipelines": org.store.ctx.pipelines, "custom_activity_types": org.store.ctx.custom_activity_types}
    second = run_tap([], tmp_path, config=config_for(org), catalog=catalog, state=first.final_state)
    assert second.returncode == 0, second.stderr[-2000:]
    # The incremental streams of the same run do keep a position (their replication key).
    assert bookmark_entry(second.final_state["bookmarks"]["opportunities"]).keys() == {"date_updated"}
    for stream in DIMENSIONS:
        ids = {r["id"] for r in store[stream]}
        assert ids, f"the sandbox org should have {stream} to test"
        assert first.ids(stream) == ids == second.ids(stream), stream
        assert first.schemas()[stream]["bookmark_properties"] == []
        # No position to resume from: only the version of the full-table pass (ACTIVATE_VERSION).
        assert set(second.final_state["bookmarks"][stream]) == {"version", "version_complete"}, stream
    pipeline = first.records("pipelines")[0]
    assert pipeline["date_created"].endswith("Z"), "naive pipeline times are written as UTC"
