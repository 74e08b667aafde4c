"""The second wave of streams: contacts (off by default, read whole), opportunities
(incremental windows), custom activity instances (typed custom fields) and the small
configuration tables (full table every run)."""

import json
import math

import jsonschema
import pytest

from tap_close.timeutil import parse_datetime
from tap_runner import run_tap, tap_config

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
    for entry in catalog["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = entry["tap_stream_id"] in ("contacts", "opportunities",
                                                                          "custom_activities", *DIMENSIONS)
    return catalog


@pytest.fixture(scope="module")
def first(org, catalog, tmp_path_factory):
    run = run_tap([], tmp_path_factory.mktemp("first"), config=config_for(org), catalog=catalog)
    assert run.returncode == 0, run.stderr[-2000:]
    return run


def test_records_are_valid_and_custom_fields_typed(org, first):
    for stream, message in first.schemas().items():
        validator = jsonschema.Draft4Validator(message["schema"], format_checker=jsonschema.FormatChecker())
        for record in first.records(stream):
            assert not list(validator.iter_errors(record)), (stream, record["id"])
            assert set(record) <= set(message["schema"]["properties"]), stream
    for stream, object_type in (("contacts", "contact"), ("opportunities", "opportunity"),
                                ("custom_activities", "activity")):
        props = first.schemas()[stream]["schema"]["properties"]
        for definition in org.store.custom_fields(object_type):
            assert f"custom.{definition['id']}" in props, (stream, definition["id"])
        assert any(k.startswith("custom.cf_") for r in first.records(stream) for k in r), stream


def test_contacts_are_read_whole_and_emitted_when_changed(org, catalog, first, tmp_path):
    contacts = org.store.records("contact")
    assert first.ids("contacts") == {c["id"] for c in contacts}, "every contact, whatever the start date"
    # The bookmark is where the run's view ended (its deletion replay starts there next
    # time), not the newest contact change, which may be older than Close's 30 days of events.
    newest = max(parse_datetime(c["date_updated"]) for c in contacts)
    assert parse_datetime(first.final_state["bookmarks"]["contacts"]["date_updated"]) > newest
    changed = org.update_contact(contacts[7]["id"], title="Chief Tester")
    before = len(org.request_log)
    second = run_tap([], tmp_path, config=config_for(org), catalog=catalog, state=first.final_state)
    assert second.returncode == 0, second.stderr[-2000:]
    mark = parse_datetime(first.final_state["bookmarks"]["contacts"]["date_updated"])
    expected = {c["id"] for c in org.store.records("contact") if parse_datetime(c["date_updated"]) >= mark}
    assert changed["id"] in expected
    assert {r["id"] for r in second.records("contacts") if "_sdc_deleted_at" not in r} == expected
    assert next(r for r in second.records("contacts") if r["id"] == changed["id"])["title"] == "Chief Tester"
    pages = [r for r in org.request_log[before:] if r["group"] == "contact"]
    assert len(pages) == math.ceil(len(contacts) / 100), "one pass over the collection, 100 a page"


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
                if a["_type"] == "Custom" and parse_datetime(a["date_created"]) >= parse_datetime(START)}
    assert expected and first.ids("custom_activities") == expected


def test_dimensions_are_full_table_every_run(org, catalog, first, tmp_path):
    store = {"lead_statuses": org.store.ctx.lead_statuses, "opportunity_statuses": org.store.ctx.opp_statuses,
             "pipelines": org.store.ctx.pipelines, "custom_activity_types": org.store.ctx.custom_activity_types}
    second = run_tap([], tmp_path, config=config_for(org), catalog=catalog, state=first.final_state)
    for stream in DIMENSIONS:
        ids = {r["id"] for r in store[stream]}
        assert first.ids(stream) == ids == second.ids(stream), stream
        assert first.schemas()[stream]["bookmark_properties"] == []
        assert stream not in second.final_state["bookmarks"]
    pipeline = first.records("pipelines")[0]
    assert pipeline["date_created"].endswith("Z"), "naive pipeline times are written as UTC"
