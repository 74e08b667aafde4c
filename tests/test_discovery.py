"""Discovery through the CLI against the sandbox."""

import json

import pytest

from tap_close.logs import LINE
from tap_close.streams import STREAMS
from tap_runner import run_tap

EXPECTED_STREAMS = {"activities", "contacts", "custom_activities", "custom_activity_types", "custom_fields",
                    "event_log", "lead_statuses", "leads", "opportunities", "opportunity_statuses", "pipelines",
                    "tasks", "users"}
FULL_TABLE = {"custom_activity_types", "lead_statuses", "opportunity_statuses", "pipelines"}
ORG_TABLES = {"email_templates", "groups", "phone_numbers", "roles", "smart_views", "sms_templates"}
EXPECTED_STREAMS, FULL_TABLE = EXPECTED_STREAMS | ORG_TABLES, FULL_TABLE | ORG_TABLES   # streams/org_tables.py
EXPECTED_STREAMS |= {"custom_object_types", "custom_objects"}; FULL_TABLE |= {"custom_object_types"}   # custom objects
EXPECTED_STREAMS |= {"sequences", "sequence_subscriptions"}; FULL_TABLE |= {"sequences"}   # streams/sequences.py
OFF_BY_DEFAULT = {"sequence_subscriptions"}   # every run reads every subscription
DELETABLE = {"activities", "contacts", "custom_activities", "leads", "opportunities", "tasks"}
DELETABLE |= {"custom_objects"}   # Close logs custom_object deleted events


@pytest.fixture(scope="module")
def discovered(module_sandbox_factory, tmp_path_factory):
    sb = module_sandbox_factory(seed=3, leads=30)
    run = run_tap(["--discover"], tmp_path_factory.mktemp("disc"),
                  config={"api_key": sb.api_key, "start_date": "2020-01-01", "base_url": sb.url})
    assert run.returncode == 0, run.stderr
    return sb, json.loads(run.stdout)


def _meta(entry, breadcrumb=()):
    return next(m["metadata"] for m in entry["metadata"] if tuple(m["breadcrumb"]) == tuple(breadcrumb))


def test_catalog_has_every_stream_with_standard_metadata(discovered):
    _, catalog = discovered
    entries = {e["tap_stream_id"]: e for e in catalog["streams"]}
    assert set(entries) == EXPECTED_STREAMS
    for stream_id, entry in entries.items():
        stream = STREAMS[stream_id]
        top = _meta(entry)
        assert top["table-key-properties"] == ["id"] == entry["key_properties"]
        if stream_id in FULL_TABLE:
            assert top["forced-replication-method"] == "FULL_TABLE"
            assert "valid-replication-keys" not in top
        else:
            assert top["forced-replication-method"] == "INCREMENTAL"
            assert top["valid-replication-keys"] == [stream.replication_key]
        assert top["selected-by-default"] is (stream_id not in OFF_BY_DEFAULT)
        assert "selected" not in top
        assert ("_sdc_deleted_at" in entry["schema"]["properties"]) is (stream_id in DELETABLE)
        for name in entry["schema"]["properties"]:
            inclusion = _meta(entry, ("properties", name))["inclusion"]
            expected = "automatic" if name in ("id", stream.replication_key) else "available"
            assert inclusion == expected, (stream_id, name)


def test_custom_fields_are_typed_columns(discovered):
    sb, catalog = discovered
    entries = {e["tap_stream_id"]: e for e in catalog["streams"]}
    lead_props = entries["leads"]["schema"]["properties"]
    contact_props = lead_props["contacts"]["items"]["properties"]
    opp_props = lead_props["opportunities"]["items"]["properties"]
    activity_props = entries["activities"]["schema"]["properties"]
    expected_type = {"text": "string", "textarea": "string", "hidden": "string", "number": "number",
                     "date": "string", "datetime": "string", "choices": "string", "user": "string",
                     "contact": "string", "custom_object": "string"}
    seen_types = set()
    for object_type, props in (("lead", lead_props), ("contact", contact_props),
                               ("opportunity", opp_props), ("activity", activity_props)):
        definitions = sb.store.custom_fields(object_type)
        assert definitions, object_type
        for definition in definitions:
            prop = props[f"custom.{definition['id']}"]
            seen_types.add(definition["type"])
            if definition.get("accepts_multiple_values"):
                assert prop["type"] == ["null", "array"]
                assert prop["items"]["type"] == expected_type[definition["type"]]
            else:
                assert prop["type"] == ["null", expected_type[definition["type"]]]
                if definition["type"] == "date":
                    assert prop["format"] == "date"
                if definition["type"] == "datetime":
                    assert prop["format"] == "date-time"
    assert {"text", "number", "date", "datetime", "choices", "user"} <= seen_types
    for shared in sb.store.custom_fields("shared"):
        assert any(f"custom.{shared['id']}" in props for props in (lead_props, contact_props, opp_props,
                                                                      activity_props))


def test_discovery_checks_the_api_key(sandbox, tmp_path):
    run = run_tap(["--discover"], tmp_path,
                  config={"api_key": "wrong-key-123", "start_date": "2020-01-01", "base_url": sandbox.url})
    assert run.returncode == 1
    assert run.stdout == ""
    lines = [line for line in run.stderr.strip().splitlines() if "METRIC" not in line]
    assert len(lines) == 1 and LINE.match(lines[0])["level"] == "CRITICAL" and "api_key" in lines[0]
    assert "wrong-key-123" not in run.stderr
    assert "Traceback" not in run.stderr
