"""The sandbox's non-activity records have the shapes Close sends (sources in
close_sandbox/tasks.py and records.py; the audit is /tmp/h/audit_records.md):
tasks in every documented variant, completed lead tasks linked to their
TaskCompleted activity, pipelines, statuses, opportunities, null variants."""
import re

from close_sandbox import tasks as task_builders, timefmt
from sandbox_helpers import DATE_RE, NOW

TIMED_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:(00|30):00\+00:00$"   # Close's example 2015-01-10T05:00:00+00:00
USER_TYPES = {"lead", "outgoing_call"}
# Fields each type carries beyond the common ones (close_sandbox/tasks.py sources).
TYPE_FIELDS = {
    "lead": {"text", "due_date", "is_dateless"},
    "outgoing_call": {"text", "due_date", "is_dateless", "phone"},
    "incoming_email": {"emails", "subject", "body_preview", "cleared_followups", "total_emails_count_in_thread"},
    "email_followup": {"email_id", "subject", "body_preview"},
    "missed_call": {"phone", "phone_formatted", "phone_number_description", "local_phone"},
    "answered_detached_call": {"phone", "phone_formatted", "phone_number_description", "recording_url"},
    "voicemail": {"phone", "phone_formatted", "phone_number_description", "local_phone", "voicemail_url",
                  "voicemail_duration"},
    "opportunity_due": {"opportunity_value", "opportunity_value_formatted", "opportunity_value_period",
                        "opportunity_note"},
    "incoming_sms": {"local_phone", "remote_phone", "remote_phone_formatted", "remote_phone_description", "text"},
}
COMMON = {"id", "_type", "lead_id", "lead_name", "contact_id", "contact_name", "assigned_to", "assigned_to_name",
          "date", "is_complete", "view", "object_type", "object_id", "organization_id", "created_by",
          "created_by_name", "updated_by", "updated_by_name", "date_created", "date_updated"}
OBJECT_TYPES = {"incoming_email": "emailthread", "email_followup": "emailthread", "missed_call": "call",
                "answered_detached_call": "call", "voicemail": "call", "opportunity_due": "opportunity",
                "incoming_sms": "sms"}
MODERN = set(task_builders.MODERN_KEYS)


def _all_tasks(api, **params):
    return api.all("/task/", _type="all", limit=1000, **params)


# -- tasks: date forms ------------------------------------------------------------
def test_task_dates_are_date_only_or_close_timed(api):
    dated = [t["date"] for t in _all_tasks(api) if t["date"] is not None]
    date_only = [d for d in dated if re.match(DATE_RE, d)]
    timed = [d for d in dated if re.match(TIMED_RE, d)]
    assert date_only and timed
    assert len(date_only) + len(timed) == len(dated), [d for d in dated if d not in date_only + timed][:5]
    assert 0.15 < len(timed) / len(dated) < 0.35              # brief: 20-30% of dated tasks
    # forms Close does not send for a task date: fraction, Z, naive date-time
    assert not [d for d in dated if "." in d or d.endswith("Z") or re.match(r"^.{19}$", d)]


def test_only_user_created_types_are_timed_and_due_date_mirrors_date(api):
    tasks = _all_tasks(api)
    timed_types = {t["_type"] for t in tasks if t["date"] and "T" in t["date"]}
    assert timed_types and timed_types <= USER_TYPES
    user = [t for t in tasks if t["_type"] in USER_TYPES]
    assert user and all(t["due_date"] == t["date"] for t in user)
    notif = [t for t in tasks if t["_type"] not in USER_TYPES]
    assert notif and not [t for t in notif if {"due_date", "is_dateless"} & set(t)]


def test_is_dateless_null_false_true(api):
    lead_tasks = [t for t in _all_tasks(api) if t["_type"] == "lead"]
    by_value = {v: [t for t in lead_tasks if t["is_dateless"] is v] for v in (None, False, True)}
    assert all(by_value.values()), {k: len(v) for k, v in by_value.items()}
    assert all(t["date"] is None and t["due_date"] is None for t in by_value[True])
    assert all(t["date"] is not None for t in by_value[None] + by_value[False])
    # null only on the oldest records: each predates every task carrying the 2025 keys
    newest_null = max(t["date_created"] for t in by_value[None])
    oldest_modern = min(t["date_created"] for t in lead_tasks if "is_new" in t)
    assert newest_null < oldest_modern


def test_view_variants_follow_date_and_completion(api):
    tasks = _all_tasks(api)
    today = NOW.date().isoformat()
    assert {t["view"] for t in tasks} == {"inbox", "future", "archive", None}
    assert all(t["view"] == "archive" for t in tasks if t["is_complete"])
    future = [t for t in tasks if t["view"] == "future"]
    inbox = [t for t in tasks if t["view"] == "inbox"]
    assert future and all(t["date"][:10] > today for t in future)
    assert inbox and all(t["date"] is None or t["date"][:10] <= today for t in inbox)
    assert all(not t["is_complete"] for t in tasks if t["view"] is None)


def test_order_by_date_handles_both_forms(api):
    served = _all_tasks(api, _order_by="date")
    dated = [t["date"] for t in served if t["date"] is not None]
    assert any("T" in d for d in dated) and any("T" not in d for d in dated)
    keys = [timefmt.task_date_key(d) for d in dated]
    assert keys == sorted(keys)
    # a date-only task sorts before a timed task of the same day
    same_day = {d[:10] for d in dated if "T" in d} & {d for d in dated if "T" not in d}
    assert same_day
    day = sorted(same_day)[0]
    first_timed = next(i for i, d in enumerate(dated) if d.startswith(day + "T"))
    assert dated.index(day) < first_timed


# -- tasks: completion link, type fields, 2025 keys ------------------------------------
def test_completed_lead_tasks_point_at_their_task_completed_activity(api):
    tasks = [t for t in _all_tasks(api) if t["_type"] == "lead"]
    done = [t for t in tasks if t["is_complete"]]
    assert done and all(t["object_type"] == "taskcompleted" for t in done)
    acts = {a["id"]: a for a in api.all("/activity/task_completed/")}
    for t in done:
        a = acts[t["object_id"]]
        assert (a["task_id"], a["task_text"], a["task_assigned_to"], a["task_assigned_to_name"], a["lead_id"]) == \
            (t["id"], t["text"], t["assigned_to"], t["assigned_to_name"], t["lead_id"]), t["id"]
        assert timefmt.parse(a["date_created"]) <= timefmt.parse(t["date_updated"])
    open_ = [t for t in tasks if not t["is_complete"]]
    assert open_ and all(t["object_type"] is None and t["object_id"] is None for t in open_)


def test_each_task_type_has_its_own_fields(api):
    tasks = _all_tasks(api)
    for _type, fields in TYPE_FIELDS.items():
        of_type = [t for t in tasks if t["_type"] == _type]
        assert of_type, _type
        for t in of_type:
            assert set(t) - MODERN == COMMON | fields, (_type, sorted(set(t) ^ (COMMON | fields | MODERN)))
        if _type in OBJECT_TYPES:
            assert {t["object_type"] for t in of_type} == {OBJECT_TYPES[_type]}
            assert all(t["id"].startswith("noti_") for t in of_type)
    lead_keys = set().union(*(set(t) for t in tasks if t["_type"] == "lead"))
    assert "emails" not in lead_keys and "phone" not in lead_keys and "text" in lead_keys


def test_type_specific_values(api):
    tasks = _all_tasks(api)
    emails = [t for t in tasks if t["_type"] == "incoming_email"]
    assert emails and all(t["emails"] and all(e.startswith("acti_") for e in t["emails"]) for t in emails)
    assert all(isinstance(t["total_emails_count_in_thread"], int)
               and t["total_emails_count_in_thread"] >= len(t["emails"]) for t in emails)
    vm = [t for t in tasks if t["_type"] == "voicemail"]
    assert vm and all(isinstance(t["voicemail_duration"], int) and t["voicemail_url"].startswith("https://")
                      for t in vm)
    opps = {o["id"]: o for o in api.all("/opportunity/", limit=250)}
    due = [t for t in tasks if t["_type"] == "opportunity_due"]
    assert due
    for t in due:
        o = opps[t["object_id"]]
        assert (o["lead_id"], o["value"], o["value_period"], o["note"], o["contact_id"]) == \
            (t["lead_id"], t["opportunity_value"], t["opportunity_value_period"], t["opportunity_note"],
             t["contact_id"])


def test_2025_keys_on_newer_tasks_only(api):
    tasks = _all_tasks(api)
    with_keys = [t for t in tasks if MODERN <= set(t)]
    without = [t for t in tasks if not MODERN & set(t)]
    assert with_keys and without and len(with_keys) + len(without) == len(tasks)   # never partial
    assert max(t["date_created"] for t in without) <= min(t["date_created"] for t in with_keys)
    assert {t["is_primary_lead_notification"] for t in with_keys} == {True, False}
    assert all(isinstance(t["is_new"], bool) and t["deduplication_key"] is None for t in with_keys)
    sequenced = [t for t in with_keys if t["sequence_id"] is not None]
    assert sequenced and all(re.match(r"^seq_[0-9A-Za-z]{22}$", t["sequence_id"]) for t in sequenced)


def test_new_task_from_a_mutation_carries_the_2025_keys(fresh):
    sb, api = fresh
    lead_id = sb.store.records("lead")[0]["id"]
    task = sb.add_task(lead_id)
    served = api.json("/task/", id=task["id"])["data"]
    assert len(served) == 1 and MODERN <= set(served[0]) and served[0]["is_dateless"] in (True, False)


def test_lead_nested_tasks_are_the_task_records(api):
    by_id = {t["id"]: t for t in _all_tasks(api)}
    nested = [t for lead in api.all("/lead/", limit=200) for t in lead["tasks"]]
    assert nested and any(t["date"] and "T" in t["date"] for t in nested)
    assert all(by_id[t["id"]] == t for t in nested)
    assert all(not t["is_complete"] for t in nested)


# -- organization-level records ------------------------------------------------------
def test_pipelines_carry_created_by_and_updated_by(api):
    pipes = api.json("/pipeline/")["data"]
    users = {u["id"] for u in api.all("/user/")}
    assert pipes and all({"created_by", "updated_by"} <= set(p) for p in pipes)
    assert any(p["created_by"] is None for p in pipes)                    # Close's sign-up pipeline
    made = [p for p in pipes if p["created_by"] is not None]
    assert made and all(p["created_by"] in users and p["updated_by"] in users for p in made)


def test_status_shapes(api):
    opp = api.json("/status/opportunity/")["data"]
    lead = api.json("/status/lead/")["data"]
    # Close's real records have exactly {id, label, type, pipeline_id, organization_id};
    # /status/opportunity/ still adds pipeline_name until resources.statuses drops it.
    assert opp and all(set(s) - {"pipeline_name"} == {"id", "label", "type", "pipeline_id", "organization_id"}
                       for s in opp)
    me_opp = api.json("/me/")["organizations"][0]["opportunity_statuses"]
    assert me_opp and all(set(s) == {"id", "label", "type", "pipeline_id"} for s in me_opp)
    assert lead and all(set(s) == {"id", "label", "organization_id"} for s in lead)
    pipes = {p["id"]: {s["id"] for s in p["statuses"]} for p in api.json("/pipeline/")["data"]}
    assert all(s["id"] in pipes[s["pipeline_id"]] for s in opp)


def test_me_lists_pipelines(api):
    org = api.json("/me/")["organizations"][0]
    assert [p["id"] for p in org["pipelines"]] == [p["id"] for p in api.json("/pipeline/")["data"]]


def test_opportunity_derived_values(api):
    opps = api.all("/opportunity/", limit=250)
    factor = {"one_time": 1, "monthly": 12, "annual": 1}
    assert opps
    for o in opps:
        annual = o["value"] * factor[o["value_period"]]
        assert (o["expected_value"], o["annualized_value"], o["annualized_expected_value"]) == \
            (round(o["value"] * o["confidence"] / 100), annual, round(annual * o["confidence"] / 100)), o["id"]
        assert o["status_display_name"] == o["status_label"] and o["integration_links"] == []
    active = [o for o in opps if o["status_type"] == "active"]
    assert any(o["date_won"] for o in active) and any(o["date_won"] is None for o in active)


def test_null_and_empty_variants(api):
    leads = api.all("/lead/", limit=200)
    assert {type(l["description"]) for l in leads} == {str, type(None)} and any(l["description"] == "" for l in leads)
    contacts = api.all("/contact/")
    titles = [c["title"] for c in contacts]
    assert None in titles and "" in titles and any(titles)
    countries = [p["country"] for c in contacts for p in c["phones"]]
    assert None in countries and "US" in countries


def test_custom_field_definitions_carry_2025_keys(api):
    defs = api.all("/custom_field/lead/") + api.all("/custom_field/shared/")
    assert defs and all({"always_visible", "enrichment_enabled", "enrichment_options"} <= set(d) for d in defs)


def test_task_date_key():
    assert timefmt.task_date_key("2015-01-12") < timefmt.task_date_key("2015-01-12T00:00:00+00:00") \
        < timefmt.task_date_key("2015-01-12T08:00:00+00:00") < timefmt.task_date_key("2015-01-13")
    assert timefmt.task_date_key(None) is None
    assert timefmt.fmt_task_date(timefmt.parse("2015-01-10"), 300) == "2015-01-10T05:00:00+00:00"
    assert timefmt.fmt_task_date(timefmt.parse("2015-01-10T23:59:00")) == "2015-01-10"
