"""Custom objects through the CLI: the types (full table) and the instances (incremental through
Close's search, custom fields typed per custom object type, deletions from the event log)."""

import json

import pytest

from close_sandbox import custom_objects
from tap_close.streams.base import LATE_VISIBILITY
from tap_close.streams.custom_objects import CustomObjects
from tap_close.timeutil import parse_datetime
from tap_runner import run_in_process, run_tap, select, tap_config, write_json
from validation import assert_records_valid, schema_changes

START = "2026-01-01T00:00:00Z"
MINE = ("custom_object_types", "custom_objects", "custom_fields")
JSON_TYPE = {"text": "string", "textarea": "string", "hidden": "string", "number": "number", "date": "string",
             "datetime": "string", "choices": "string", "user": "string", "contact": "string",
             "custom_object": "string"}


def config_for(sb, **extra):
    return tap_config(sb, START, **extra)


@pytest.fixture(scope="module")
def org(module_sandbox_factory):
    return module_sandbox_factory(seed=71, leads=80, activities_per_lead=2, events=100, days=700)


@pytest.fixture(scope="module")
def catalog(org, tmp_path_factory):
    run = run_tap(["--discover"], tmp_path_factory.mktemp("disc"), config=config_for(org))
    assert run.returncode == 0, run.stderr[-2000:]
    return select(json.loads(run.stdout), MINE)


@pytest.fixture(scope="module")
def first(org, catalog, tmp_path_factory):
    run = run_tap([], tmp_path_factory.mktemp("first"), config=config_for(org), catalog=catalog)
    assert run.returncode == 0, run.stderr[-2000:]
    return run


def entry_of(catalog, stream):
    return next(e for e in catalog["streams"] if e["tap_stream_id"] == stream)


def top_metadata(entry):
    return next(m["metadata"] for m in entry["metadata"] if m["breadcrumb"] == [])


def test_discovery_lists_both_streams_with_their_replication(catalog):
    types, instances = entry_of(catalog, "custom_object_types"), entry_of(catalog, "custom_objects")
    assert top_metadata(types)["forced-replication-method"] == "FULL_TABLE"
    assert "valid-replication-keys" not in top_metadata(types)
    assert top_metadata(instances)["forced-replication-method"] == "INCREMENTAL"
    assert top_metadata(instances)["valid-replication-keys"] == ["date_updated"]
    assert types["key_properties"] == instances["key_properties"] == ["id"]
    assert "_sdc_deleted_at" in instances["schema"]["properties"], "Close logs custom_object deletions"
    assert "_sdc_deleted_at" not in types["schema"]["properties"]


def test_every_custom_object_field_is_a_typed_column(org, catalog):
    props = entry_of(catalog, "custom_objects")["schema"]["properties"]
    definitions = custom_objects.of(org).definitions
    assert {d["type"] for d in definitions} == set(JSON_TYPE), "every Close type is there to be typed"
    for definition in definitions:
        prop = props[f"custom.{definition['id']}"]
        if definition["accepts_multiple_values"]:
            assert prop["type"] == ["null", "array"] and prop["items"]["type"] == JSON_TYPE[definition["type"]]
        else:
            assert prop["type"] == ["null", JSON_TYPE[definition["type"]]]
        if definition["type"] in ("date", "datetime"):
            assert prop["format"] == {"date": "date", "datetime": "date-time"}[definition["type"]]
    lead_field = org.store.custom_fields("lead")[0]["id"]
    assert f"custom.{lead_field}" in entry_of(catalog, "leads")["schema"]["properties"]
    assert f"custom.{lead_field}" not in props, "only custom object fields"


def test_a_first_sync_is_complete_valid_and_activates_the_types(org, first):
    objects = custom_objects.of(org)
    expected = {r["id"] for r in objects.records() if parse_datetime(r["date_updated"]) >= parse_datetime(START)}
    assert expected and first.ids("custom_objects") == expected
    assert len(expected) < len(objects.records()), "the start date left some out"
    assert first.ids("custom_object_types") == {t["id"] for t in objects.types}
    assert_records_valid(first, streams=MINE)
    widened = schema_changes(first)
    assert not widened, f"SCHEMAs widened mid-run (stream: property: (before, after)): {widened}"
    activations = [m for m in first.of_type("ACTIVATE_VERSION") if m["stream"] == "custom_object_types"]
    assert activations and not [m for m in first.of_type("ACTIVATE_VERSION") if m["stream"] == "custom_objects"]
    assert set(first.final_state["bookmarks"]["custom_object_types"]) == {"version", "version_complete"}
    # Null and absent custom values both arrive as Close sends them (null kept, absent absent).
    records = first.records("custom_objects")
    assert any(v is None for r in records for k, v in r.items() if k.startswith("custom."))
    assert any(isinstance(v, list) for r in records for k, v in r.items() if k.startswith("custom."))
    assert first.records("custom_object_types")[0]["date_created"].endswith("Z"), "naive times written as UTC"


def test_custom_fields_include_the_custom_object_definitions(org, first):
    emitted = {r["id"]: r for r in first.records("custom_fields")}
    mine = custom_objects.of(org).definitions
    assert mine and all(emitted[d["id"]]["object_type"] == "custom_object_type" for d in mine)
    assert all(emitted[d["id"]]["custom_object_type_id"] == d["custom_object_type_id"] for d in mine)
    assert any(r["object_type"] == "lead" for r in emitted.values())


def test_the_search_names_every_field_and_the_custom_object_type(org, first):
    searches = [r["body"] for r in org.request_log
                if r["group"] == "data" and r["body"]["query"]["queries"][0]["object_type"] == "custom_object"]
    assert searches
    named = set(searches[0]["_fields"]["custom_object"])
    assert {"name", "lead_id", "custom_object_type_id", "date_updated"} <= named
    assert {f"custom.{d['id']}" for d in custom_objects.of(org).definitions} <= named
    assert "_sdc_deleted_at" not in named
    assert not [r for r in org.request_log if r["group"] == "custom_object"], "GET /custom_object/ needs a lead"


def test_a_second_run_emits_the_changes_and_the_deletions(org, catalog, first, tmp_path):
    objects = custom_objects.of(org)
    old = sorted(objects.records(), key=lambda r: r["date_updated"])
    edited = objects.update(old[0]["id"], name="Edited Account")
    doomed = old[1]
    objects.delete(doomed["id"])
    before = len(org.request_log)
    second = run_tap([], tmp_path, config=config_for(org), catalog=catalog, state=first.final_state)
    assert second.returncode == 0, second.stderr[-2000:]
    mark = parse_datetime(first.final_state["bookmarks"]["custom_objects"]["date_updated"]) - LATE_VISIBILITY
    expected = {r["id"] for r in objects.records() if parse_datetime(r["date_updated"]) >= mark}
    live = {r["id"]: r for r in second.records("custom_objects") if "_sdc_deleted_at" not in r}
    assert edited["id"] in expected and set(live) == expected
    assert live[edited["id"]]["name"] == "Edited Account"
    assert len(expected) < len(first.ids("custom_objects")) / 3, "only what changed since the bookmark"
    (deletion,) = [r for r in second.records("custom_objects") if "_sdc_deleted_at" in r]
    assert deletion["id"] == doomed["id"] and deletion["name"] == doomed["name"], "its last known values"
    assert_records_valid(second, streams=("custom_object_types", "custom_objects"))
    searches = [r for r in org.request_log[before:] if r["group"] == "data"]
    assert len(searches) == 1, "one search page for a few changed instances"
    asked = [r["params"] for r in org.request_log[before:] if r["group"] == "event"]
    assert any(p.get("object_type") == "custom_object" and p.get("action") == "deleted" for p in asked)


def test_a_burst_in_one_second_is_walked_with_the_cursor(org, catalog, tmp_path, monkeypatch, capsys):
    # Pages of two: the bulk edits put three or more instances in one second, which only
    # Close's cursor can step through (search.py).
    monkeypatch.setattr(CustomObjects, "page_size", 2)
    before = len(org.request_log)
    selected = write_json(tmp_path / "catalog.json", select(catalog, ("custom_objects",)))
    run = run_in_process(["--catalog", selected], tmp_path, capsys, config=config_for(org))
    assert run.returncode == 0, run.stderr[-2000:]
    expected = {r["id"] for r in custom_objects.of(org).records()
                if parse_datetime(r["date_updated"]) >= parse_datetime(START)}
    assert run.ids("custom_objects") == expected
    bodies = [r["body"] for r in org.request_log[before:] if r["group"] == "data"]
    assert any(b.get("cursor") for b in bodies), "a second held more than a page"
    assert all(b["_limit"] <= 2 for b in bodies if b["_limit"] != 1)


def test_shared_fields_associated_with_a_custom_object_type_are_its_columns():
    # Close's shared custom fields list their associations; `custom_object_type` is one of the
    # association object types (Close docs: shared custom fields). The sandbox has none, so the
    # mapping is checked on definitions as Close documents them.
    from tap_close.schema import custom_fields_by_object_type
    shared = {"id": "cf_shared1", "name": "Region", "type": "text", "accepts_multiple_values": False,
              "associations": [{"object_type": "custom_object_type", "custom_object_type_id": "cotype_x",
                                "required": False, "editable_with_roles": []}]}
    lead_only = dict(shared, id="cf_shared2", associations=[{"object_type": "lead"}])
    columns = custom_fields_by_object_type({"shared": [shared, lead_only], "custom_object_type": []})
    assert columns["custom_object_type"] == {"custom.cf_shared1": {"type": ["null", "string"],
                                                                   "description": 'Custom field "Region" (text)'}}
    assert "custom.cf_shared2" in columns["lead"] and "custom.cf_shared1" not in columns["lead"]
