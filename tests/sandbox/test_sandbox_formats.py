import close_sandbox.tasks
import re

from close_sandbox import activities

from sandbox_helpers import DATE_RE, TS_RE

TS_KEYS = {"date_created", "date_updated", "activity_at", "date_sent", "date_answered", "starts_at", "ends_at",
           "email_verified_at"}


def _walk_ts(obj, found):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in TS_KEYS and isinstance(v, str):
                found.append(v)
            else:
                _walk_ts(v, found)
    elif isinstance(obj, list):
        for v in obj:
            _walk_ts(v, found)
    return found


def test_timestamps_close_format(api):
    found = []
    for path in ("/lead/", "/activity/", "/user/", "/custom_field/lead/", "/contact/", "/opportunity/"):
        _walk_ts(api.all(path, limit=100 if path != "/lead/" else 200), found)
    _walk_ts(api.all("/task/", _type="all", limit=1000), found)
    bad = [v for v in found if not re.match(TS_RE, v)]
    assert not bad, bad[:5]
    whole = [v for v in found if "." not in v]
    frac = [v for v in found if "." in v]
    assert whole and frac
    assert 0.02 < len(whole) / len(found) < 0.25       # ~1 in 20, plus on-the-hour meetings


def test_date_only_fields(api, ro_sandbox):
    tasks = api.all("/task/", _type="all", limit=1000)
    # A task's date is a date, or a date-time for a timed task (Close's tasks page); due_date
    # mirrors it where a task has one.
    timed = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\+00:00$"
    assert all(t["date"] is None or re.match(DATE_RE, t["date"]) or re.match(timed, t["date"]) for t in tasks)
    assert any(t["date"] and re.match(DATE_RE, t["date"]) for t in tasks)
    assert any(t["date"] and re.match(timed, t["date"]) for t in tasks)
    with_due = [t for t in tasks if "due_date" in t]
    assert with_due and all(t["due_date"] == t["date"] for t in with_due)
    opps = api.all("/opportunity/", limit=250)
    won = [o["date_won"] for o in opps if o["date_won"]]
    assert won and all(re.match(DATE_RE, d) for d in won)
    assert all(o["date_lost"] is None or re.match(DATE_RE, o["date_lost"]) for o in opps)
    date_cfs = {d["id"] for d in ro_sandbox.store.custom_fields("lead") if d["type"] == "date"}
    values = [l["custom." + c] for l in api.all("/lead/", limit=200) for c in date_cfs if "custom." + c in l]
    assert values and all(re.match(DATE_RE, v) for v in values)
    osc = api.all("/activity/status_change/opportunity/")
    assert all(a["opportunity_date_won"] is None or re.match(TS_RE, a["opportunity_date_won"]) for a in osc)


def test_one_key_set_per_kind(api, ro_sandbox):
    def base_keys(rec):
        return frozenset(k for k in rec if not k.startswith("custom."))
    for path in ("/lead/", "/contact/", "/opportunity/", "/user/"):
        assert len({base_keys(r) for r in api.all(path, limit=100)}) == 1, path
    by_type = {}
    for a in ro_sandbox.store.records("activity"):
        by_type.setdefault(a["_type"], set()).add(activities.stable_keys(a))
    assert all(len(v) == 1 for v in by_type.values()), {k: len(v) for k, v in by_type.items()}
    by_type = {}
    for t in ro_sandbox.store.records("task"):
        # the 2025 keys (is_new, sequence ids, ...) appear only on newer tasks
        by_type.setdefault((t["_type"], "is_new" in t), set()).add(base_keys(t))
    assert all(len(v) == 1 for v in by_type.values())
    for ot in ("lead", "contact", "opportunity", "activity", "shared"):
        assert len({frozenset(d) for d in ro_sandbox.store.custom_fields(ot)}) == 1


def test_reference_fields_present(api, ro_sandbox):
    lead = api.json("/lead/", _limit=1)["data"][0]
    assert {"id", "name", "display_name", "description", "url", "status_id", "status_label", "html_url",
            "organization_id", "date_created", "date_updated", "created_by", "created_by_name", "updated_by",
            "updated_by_name", "addresses", "contacts", "opportunities", "tasks", "integration_links",
            "custom"} <= set(lead)
    user = api.json("/user/")["data"][0]
    assert set(user) == {"id", "first_name", "last_name", "email", "email_verified_at", "image",
                         "google_profile_image_url", "organizations", "last_used_timezone",
                         "date_created", "date_updated"}
    call = api.json("/activity/call/", _limit=1)["data"][0]
    assert {"direction", "status", "disposition", "duration", "voicemail_duration", "phone", "local_phone",
            "remote_phone", "source", "call_method", "note", "note_html", "recording_url", "voicemail_url",
            "cost", "dialer_id", "sequence_id", "date_answered", "users", "user_name", "activity_at"} <= set(call)
    email = api.json("/activity/email/", _limit=1)["data"][0]
    assert {"subject", "body_text", "body_html", "body_preview", "direction", "status", "sender", "to", "cc",
            "bcc", "envelope", "thread_id", "message_ids", "references", "in_reply_to_id", "attachments",
            "opens", "opens_summary", "template_id", "template_name", "date_sent", "date_scheduled",
            "email_account_id", "sequence_id", "send_attempts", "need_smtp_credentials",
            "bulk_email_action_id"} <= set(email)
    task = api.json("/task/", _limit=1)["data"][0]
    assert {"id", "_type", "lead_id", "lead_name", "contact_id", "contact_name", "assigned_to",
            "assigned_to_name", "text", "date", "due_date", "is_complete", "is_dateless", "view",
            "object_type", "object_id", "organization_id", "created_by", "created_by_name", "updated_by",
            "updated_by_name", "date_created", "date_updated"} == set(task) - set(close_sandbox.tasks.MODERN_KEYS)
    fu = api.json("/task/", _type="email_followup", _limit=1)["data"][0]
    assert fu["id"].startswith("noti_") and {"email_id", "subject", "body_preview"} <= set(fu)
    assert fu["object_type"] == "emailthread"
    due = api.json("/task/", _type="opportunity_due", _limit=1)["data"][0]
    assert {"opportunity_value", "opportunity_value_formatted", "opportunity_note"} <= set(due)


def test_ids(api, ro_sandbox):
    pat = re.compile(r"^[a-z]+_[0-9A-Za-z]{43}$")
    for path, prefix in (("/lead/", "lead_"), ("/activity/", "acti_"), ("/user/", "user_"),
                         ("/contact/", "cont_"), ("/opportunity/", "oppo_"), ("/custom_field/lead/", "cf_")):
        for r in api.json(path)["data"]:
            assert r["id"].startswith(prefix) and pat.match(r["id"]), r["id"]
    tasks = api.all("/task/", _type="all", limit=1000)
    assert all(t["id"].startswith("task_" if t["_type"] == "lead" else "noti_") for t in tasks)
    assert all(re.match(r"^actitype_[0-9A-Za-z]{22}$", t["id"]) for t in api.json("/custom_activity/")["data"])
    assert all(re.match(r"^pipe_[0-9A-Za-z]{22}$", p["id"]) for p in api.json("/pipeline/")["data"])


def test_custom_fields_every_type_everywhere(ro_sandbox):
    want = {("text", False), ("textarea", False), ("number", False), ("date", False), ("datetime", False),
            ("choices", False), ("choices", True), ("user", False), ("contact", False), ("hidden", False)}
    for ot in ("lead", "contact", "opportunity", "activity"):
        defs = ro_sandbox.store.custom_fields(ot)
        assert {(d["type"], d["accepts_multiple_values"]) for d in defs} == want, ot
    act = ro_sandbox.store.custom_fields("activity")
    assert all(d["custom_activity_type_id"].startswith("actitype_") and isinstance(d["required"], bool) for d in act)
    shared = ro_sandbox.store.custom_fields("shared")
    assert shared and all(d["is_shared"] and d["associations"] for d in shared)
    assert any(a["object_type"] == "lead" for d in shared for a in d["associations"])
    every = ro_sandbox.store.records("custom_field")
    assert len(every) == sum(len(ro_sandbox.store.custom_fields(t)) for t in
                             ("lead", "contact", "opportunity", "activity", "shared"))
    assert all("object_type" not in d for d in every)


def test_custom_values_typed(ro_sandbox):
    defs = {d["id"]: d for d in ro_sandbox.store.custom_fields("lead") + ro_sandbox.store.custom_fields("shared")}
    leads = ro_sandbox.store.records("lead")
    users = {u["id"] for u in ro_sandbox.store.records("user")}
    seen = set()
    for lead in leads:
        contacts = {c["id"] for c in lead["contacts"]}
        for k, v in lead.items():
            if not k.startswith("custom."):
                continue
            d = defs[k[7:]]
            seen.add(d["id"])
            assert lead["custom"][d["name"]] == v
            if d["type"] == "choices" and d["accepts_multiple_values"]:
                assert isinstance(v, list) and set(v) <= set(d["choices"])
            elif d["type"] == "choices":
                assert v in d["choices"]
            elif d["type"] == "user":
                assert v in users
            elif d["type"] == "contact":
                assert v in contacts
            elif d["type"] == "number":
                assert isinstance(v, (int, float))
            elif d["type"] == "datetime":
                assert re.match(TS_RE, v)
    lead_shared = {d["id"] for d in ro_sandbox.store.custom_fields("shared")
                   if any(a["object_type"] == "lead" for a in d["associations"])}
    assert lead_shared <= seen
    assert any(len([k for k in l if k.startswith("custom.")]) < len(seen) for l in leads)   # some absent
    customs = [a for a in ro_sandbox.store.records("activity") if a["_type"] == "CustomActivity"]
    assert customs and any(k.startswith("custom.cf_") for a in customs for k in a)
    assert all(a["custom_activity_type_id"].startswith("actitype_") for a in customs)
    contacts = ro_sandbox.store.records("contact")
    assert any(k.startswith("custom.cf_") for c in contacts for k in c)
