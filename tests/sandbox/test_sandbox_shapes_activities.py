"""The activity family's shapes match what Close sends (audit: /tmp/h/audit_activities.md;
sources cited in close_sandbox/activities.py and customfields.py): custom activity types
with field OBJECTS, EmailThread latest_emails/emails, the custom activity `_type` knob,
and the documented variants of every other activity type. Every absence check has a
presence check beside it."""
import re

import pytest

from close_sandbox import Sandbox, activities
from close_sandbox.__main__ import parse_args

from sandbox_helpers import NOW, TS_RE, Api

NAIVE_MICRO_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$"
RFC2822_RE = r"^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$"
TYPE_KEYS = {"id", "name", "description", "api_create_only", "editable_with_roles", "fields",
             "organization_id", "created_by", "updated_by", "date_created", "date_updated"}
TYPE_FIELD_KEYS = {"id", "name", "description", "type", "required", "accepts_multiple_values", "is_shared",
                   "editable_with_roles", "referenced_custom_type_id", "back_reference_is_visible",
                   "converting_to_type"}
PREVIEW_KEYS = {"id", "subject", "body_preview", "sender", "to", "cc", "bcc", "direction", "status",
                "date_sent", "date_created", "date_updated", "user_id", "has_attachments", "opens_summary",
                "send_as_id", "envelope"}
ENVELOPE_KEYS = {"from", "sender", "to", "cc", "bcc", "reply_to", "date", "in_reply_to", "is_autoreply",
                 "message_id", "subject"}
MESSAGE_STATUSES = {"inbox", "draft", "scheduled", "outbox", "sent", "error"}


def _of_type(ro_sandbox, *types):
    return [a for a in ro_sandbox.store.records("activity") if a["_type"] in types]


# -- custom activity types: GET /custom_activity/ ---------------------------------------------
def test_type_fields_are_objects_with_the_real_keys_and_no_choices(api):
    types = api.json("/custom_activity/")["data"]
    fields = [f for t in types for f in t["fields"]]
    assert fields and all(isinstance(f, dict) and set(f) == TYPE_FIELD_KEYS for f in fields)
    # a choices field is there, and still carries no `choices`
    assert any(f["type"] == "choices" for f in fields)
    assert all("choices" not in f for f in fields)
    assert any(f["is_shared"] for f in fields) and any(not f["is_shared"] for f in fields)


def test_type_fields_agree_with_the_activity_and_shared_definitions(api):
    types = api.json("/custom_activity/")["data"]
    own = api.json("/custom_field/activity/")["data"]
    shared = api.json("/custom_field/shared/")["data"]
    assert own and shared
    for t in types:
        expected = [d for d in own if d["custom_activity_type_id"] == t["id"]]
        expected += [d for d in shared for a in d["associations"]
                     if a["object_type"] == "custom_activity_type" and a.get("custom_activity_type_id") == t["id"]]
        assert [f["id"] for f in t["fields"]] == [d["id"] for d in expected], t["name"]
        for f, d in zip(t["fields"], expected):
            assert (f["name"], f["type"], f["accepts_multiple_values"], f["description"]) == \
                (d["name"], d["type"], d["accepts_multiple_values"], d["description"])
            assert f["is_shared"] == d["is_shared"]
    assert any(t["fields"] for t in types) and any(not t["fields"] for t in types)


def test_type_level_keys_timestamps_and_is_archived_both_ways(api):
    types = api.json("/custom_activity/")["data"]
    assert len(types) >= 2
    for t in types:
        assert set(t) - {"is_archived"} == TYPE_KEYS, t["name"]
        assert re.match(NAIVE_MICRO_RE, t["date_created"]) and re.match(NAIVE_MICRO_RE, t["date_updated"])
    assert any("is_archived" in t for t in types) and any("is_archived" not in t for t in types)
    assert any(t["description"] is None for t in types) and any(isinstance(t["description"], str) for t in types)
    assert any(t["api_create_only"] for t in types) and any(not t["api_create_only"] for t in types)
    one = api.json("/custom_activity/%s/" % types[0]["id"])
    assert one == types[0]


# -- EmailThread ----------------------------------------------------------------------------------
def test_thread_latest_emails_are_truncated_email_summaries(ro_sandbox):
    threads = [t for t in _of_type(ro_sandbox, "EmailThread") if "latest_emails" in t]
    assert threads
    for t in threads:
        assert isinstance(t["n_emails"], int) and 1 <= len(t["latest_emails"]) == min(t["n_emails"], 5)
        for e in t["latest_emails"]:
            assert set(e) == PREVIEW_KEYS
            assert e["direction"] in ("incoming", "outgoing") and e["status"] in MESSAGE_STATUSES
            assert all(isinstance(x, str) for x in e["to"] + e["cc"] + e["bcc"])
            assert re.match(TS_RE, e["date_created"]) and (e["date_sent"] is None or re.match(TS_RE, e["date_sent"]))
    assert any(len(t["latest_emails"]) < t["n_emails"] for t in threads), "some lists are cut"
    assert any(len(t["latest_emails"]) == t["n_emails"] for t in threads)
    previews = [e for t in threads for e in t["latest_emails"]]
    envelopes = [e["envelope"] for e in previews if e["envelope"]]
    assert envelopes and all(set(env) == ENVELOPE_KEYS and re.match(RFC2822_RE, env["date"]) for env in envelopes)


def test_threads_come_with_latest_emails_emails_or_both(ro_sandbox):
    threads = _of_type(ro_sandbox, "EmailThread")
    with_emails = [t for t in threads if "emails" in t]
    with_latest = [t for t in threads if "latest_emails" in t]
    assert with_emails and with_latest
    assert any("emails" not in t for t in with_latest), "the real form has no emails key"
    assert any("latest_emails" not in t for t in with_emails), "the documented example has no latest_emails"
    assert all("emails" in t or "latest_emails" in t for t in threads)
    for t in with_emails:
        assert len(t["emails"]) == t["n_emails"]
        assert all(e["_type"] == "Email" and e["thread_id"] == t["id"] and "body_text" not in e for e in t["emails"])
    assert all(t["contact_id"] is None and isinstance(t["participants"], list) for t in threads)
    assert any(t["participants"] for t in threads)
    assert any(t["created_by"] is None for t in threads) and any(t["created_by"] for t in threads)


# -- Email ----------------------------------------------------------------------------------------
def test_email_values_have_close_shapes(ro_sandbox):
    emails = _of_type(ro_sandbox, "Email")
    assert emails
    for e in emails:
        assert all(isinstance(x, str) for x in e["to"] + e["cc"] + e["bcc"])
        assert e["status"] in MESSAGE_STATUSES
        assert (e["date_sent"] is None) == (e["status"] not in ("sent", "inbox"))
    envelopes = [e["envelope"] for e in emails if e["envelope"] is not None]
    assert envelopes and all(re.match(RFC2822_RE, env["date"]) for env in envelopes), "a Date header, not ISO"
    assert any(e["created_by"] is None for e in emails) and any(e["created_by"] for e in emails)
    assert any(isinstance(e["body_text_quoted"], list) for e in emails)
    assert all(e["body_text_quoted"] is None or all(set(q) == {"expand", "text"} for q in e["body_text_quoted"])
               for e in emails)
    assert all(isinstance(e["has_reply"], bool) for e in emails)
    assert any("followup_sequence_add_cc_bcc" in e for e in emails)
    assert any("followup_sequence_add_cc_bcc" not in e for e in emails)


# -- custom activity records and the `_type` knob --------------------------------------------------
def test_custom_activity_records(ro_sandbox):
    customs = _of_type(ro_sandbox, "CustomActivity")
    assert customs and not _of_type(ro_sandbox, "Custom"), "the default record value"
    required = {t["id"]: {f["id"] for f in t["fields"] if f["required"]}
                for t in ro_sandbox.store.ctx.custom_activity_types}
    for a in customs:
        assert a["status"] in ("published", "draft") and isinstance(a["pinned"], bool)
        assert a["mentions"] == [] and a["custom_activity_type_id"] in required
        assert (a["last_published_at"] is None) == (a["status"] == "draft")
    assert {a["status"] for a in customs} == {"published", "draft"}
    assert any(k.startswith("custom.cf_") for a in customs for k in a)
    published = [a for a in customs if a["status"] == "published"]
    assert any(required[a["custom_activity_type_id"]] for a in published)
    assert all("custom." + cf in a for a in published for cf in required[a["custom_activity_type_id"]]), \
        "a published custom activity carries its required fields"


def _custom_ids(sb):
    return [a["id"] for a in sb.store.records("activity") if a["_type"] in ("CustomActivity", "Custom")]


def test_record_type_knob_relabels_the_same_organization():
    kw = dict(seed=5, leads=30, activities_per_lead=3, tasks_per_lead=2, events=60, now=NOW)
    long_name, short_name = Sandbox(**kw), Sandbox(custom_activity_record_type="Custom", **kw)
    a, b = long_name.store.records("activity"), short_name.store.records("activity")
    assert [r["id"] for r in a] == [r["id"] for r in b]
    assert _custom_ids(long_name) and _custom_ids(long_name) == _custom_ids(short_name)
    assert {r["_type"] for r in a if r["id"] in set(_custom_ids(long_name))} == {"CustomActivity"}
    assert {r["_type"] for r in b if r["id"] in set(_custom_ids(short_name))} == {"Custom"}
    with pytest.raises(ValueError):
        Sandbox(custom_activity_record_type="custom", **kw)


@pytest.mark.parametrize("record_type", ["CustomActivity", "Custom"])
def test_custom_filters_find_custom_records_whichever_type(sandbox_factory, record_type):
    """Needs resources.py to compare through activities.matches_type (see the report)."""
    sb = sandbox_factory(seed=5, leads=30, activities_per_lead=3, tasks_per_lead=2, events=60, now=NOW,
                         custom_activity_record_type=record_type)
    api = Api(sb)
    expected = _custom_ids(sb)
    assert expected
    assert [r["id"] for r in api.all("/activity/custom/")] == expected
    one = api.json("/activity/custom/%s/" % expected[0])
    assert one["_type"] == record_type
    lead_id = one["lead_id"]
    mine = [r["id"] for r in sb.store.records("activity") if r["lead_id"] == lead_id and r["id"] in set(expected)]
    got = api.all("/activity/", lead_id=lead_id, _type="Custom")
    assert mine and [r["id"] for r in got] == mine


def test_cli_flag_for_the_record_type():
    assert parse_args([]).custom_activity_record_type == "CustomActivity"
    assert parse_args(["--custom-activity-record-type", "Custom"]).custom_activity_record_type == "Custom"


# -- the other activity types ----------------------------------------------------------------------
def test_one_key_set_per_type_apart_from_documented_variants(ro_sandbox):
    by_type = {}
    for a in ro_sandbox.store.records("activity"):
        by_type.setdefault(a["_type"], set()).add(activities.stable_keys(a))
    assert len(by_type) >= 10 and all(len(v) == 1 for v in by_type.values()), \
        {k: len(v) for k, v in by_type.items()}
    for _type, modern in activities.MODERN_KEYS.items():
        recs = _of_type(ro_sandbox, _type)
        extras = {frozenset(k for k in a if not k.startswith("custom.")) - activities.stable_keys(a) for a in recs}
        assert extras == {frozenset(), frozenset(modern)}, _type    # older and current generation both


def test_task_completed_has_no_contact_id(ro_sandbox):
    done = _of_type(ro_sandbox, "TaskCompleted")
    assert done and all("contact_id" not in a for a in done)
    assert all("contact_id" in a for a in _of_type(ro_sandbox, "Note", "Call", "Created"))
    assert all({"task_id", "task_text", "task_assigned_to", "task_assigned_to_name"} <= set(a) for a in done)


def test_call_variants(ro_sandbox):
    calls = _of_type(ro_sandbox, "Call")
    assert calls
    dispositions = {c["disposition"] for c in calls}
    assert {"answered", "vm-left", None} <= dispositions
    assert any(c["local_phone"] is None and c["local_country_iso"] == "" for c in calls)
    assert any(c["local_phone"] and c["local_phone_formatted"].startswith("+1 ") for c in calls)
    assert any(c["user_id"] is None and c["created_by"] is None for c in calls)
    assert any(c["user_id"] for c in calls)
    assert all(c["cost"] is None or isinstance(c["cost"], str) for c in calls)
    assert all(c["has_recording"] == (c["recording_url"] is not None) for c in calls)
    assert any(c["has_recording"] for c in calls)


def test_sms_and_meeting_variants(ro_sandbox):
    sms = _of_type(ro_sandbox, "SMS")
    assert sms and {"inbox", "sent", "draft"} <= {s["status"] for s in sms}
    assert all((s["date_sent"] is None) == (s["status"] != "sent") for s in sms)
    assert any(s["created_by"] is None for s in sms) and any(s["created_by"] for s in sms)
    meetings = _of_type(ro_sandbox, "Meeting")
    assert meetings and all(m["source"] == "calendar" and m["users"] == [m["user_id"]] for m in meetings)
    assert any("outcome_id" in m for m in meetings) and any("outcome_id" not in m for m in meetings)
    assert any(att["name"] is None for m in meetings for att in m["attendees"])


def test_opportunity_status_changes_name_their_pipelines(api, ro_sandbox):
    pipelines = {p["id"]: p["name"] for p in api.json("/pipeline/")["data"]}
    changes = _of_type(ro_sandbox, "OpportunityStatusChange")
    assert changes and pipelines
    for c in changes:
        assert pipelines[c["old_pipeline_id"]] == c["old_pipeline_name"]
        assert pipelines[c["new_pipeline_id"]] == c["new_pipeline_name"]
        assert c["opportunity_value_formatted"] is None or c["opportunity_value"]


def test_created_activity_source_and_import_id(ro_sandbox):
    created = _of_type(ro_sandbox, "Created")
    assert created and {c["source"] for c in created} <= {"ui", "api", "import"}
    assert "ui" in {c["source"] for c in created}
    assert all((c["import_id"] is not None) == (c["source"] == "import") for c in created)


def test_activity_events_name_the_typed_endpoint_in_their_request_path(ro_sandbox):
    """An event's meta.request_path is the path of the request that made it: for activities the
    typed endpoint (`activity/custom/`, `activity/status_change/lead/`), not the `_type` lowered."""
    paths = {e["meta"]["request_path"] for e in ro_sandbox.store.records("event", include_expired=True)
             if e["object_type"].startswith("activity.") and e.get("meta")}
    assert paths, "activity events with a request path to check"
    endpoints = set()
    for path in paths:
        assert path.startswith("/api/v1/activity/") and path.endswith("/"), path
        segments = path[len("/api/v1/activity/"):-1].split("/")
        endpoints.add("/".join(s for s in segments if not s.startswith("acti_")))
    assert endpoints <= set(activities.ENDPOINT_TYPES), sorted(endpoints - set(activities.ENDPOINT_TYPES))
    assert {"custom", "status_change/lead"} <= endpoints
