"""Contract tests for GET /sequence/ and GET /sequence_subscription/ (close_sandbox/sequences.py,
whose docstring gives the source of each behaviour)."""
import re

import pytest

from close_sandbox import Sandbox
from close_sandbox import sequences as sandbox_sequences
from sandbox_helpers import NOW

# Naive UTC with true microseconds (2022-11-08T12:07:06.184401): Close's docs and recorded records.
MICRO_NAIVE_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$"
SEQUENCE_KEYS = {"id", "name", "organization_id", "status", "timezone", "steps", "created_by_id",
                 "updated_by_id", "date_created", "date_updated"}
STEP_KEYS = {"id", "step_type", "delay", "step_allowed_delay", "email_template_id", "threading", "required",
             "created_by_id", "updated_by_id", "date_created", "date_updated"}
LIVE_KEYS = {"schedule", "schedule_id", "trigger_query", "allow_manual_enrollment", "owner_id"}
SUBSCRIPTION_KEYS = {"id", "sequence_id", "contact_id", "lead_id", "contact_email", "sender_account_id",
                     "sender_name", "sender_email", "calls_assigned_to", "status", "status_reason", "start_date",
                     "organization_id", "created_by_id", "updated_by_id", "date_created", "date_updated"}


def _by_sequence(sb):
    counts = {}
    for sub in sandbox_sequences.subscriptions(sb):
        counts[sub["sequence_id"]] = counts.get(sub["sequence_id"], 0) + 1
    return counts


def test_sequence_list_is_offset_paged_and_ignores_undocumented_params(api, ro_sandbox):
    expected = [s["id"] for s in sandbox_sequences.sequences(ro_sandbox)]
    assert 6 <= len(expected) <= 9
    assert [s["id"] for s in api.all("/sequence/", limit=2)] == expected
    body = api.json("/sequence/", _limit=2)
    assert set(body) == {"has_more", "data"} and body["has_more"] is True and len(body["data"]) == 2
    last = api.json("/sequence/", _skip=len(expected) - 1, _limit=2)
    assert last["has_more"] is False and [s["id"] for s in last["data"]] == expected[-1:]
    # Close documents no date filter or order here: such parameters change nothing.
    ignored = api.json("/sequence/", date_updated__gte="2099-01-01", _order_by="-date_created")
    assert [s["id"] for s in ignored["data"]] == expected
    assert api.get("/sequence/", _limit=101).status_code == 400, "no larger page than 100 is known"
    assert api.get("/sequence/", _limit=100).status_code == 200
    trimmed = api.json("/sequence/", _fields="id")["data"]
    assert [set(s) for s in trimmed] == [{"id"}] * len(expected)


def test_sequences_come_in_each_shape_the_sources_show(api):
    sequences = api.json("/sequence/")["data"]
    shapes = {"oas": [], "recorded": [], "live": []}
    for seq in sequences:
        assert SEQUENCE_KEYS <= set(seq) and re.match(r"^seq_[0-9A-Za-z]{22}$", seq["id"])
        assert "subscription_counts_by_status" not in seq, "the list carries no counts"
        assert "subscription_counts_by_status" in api.json(f"/sequence/{seq['id']}/"), "one sequence does"
        for key in ("date_created", "date_updated"):
            assert re.match(MICRO_NAIVE_RE, seq[key]), seq[key]
        assert seq["date_updated"] > seq["date_created"]
        if LIVE_KEYS <= set(seq):
            shapes["live"].append(seq)
        elif "schedule_id" in seq:
            assert "schedule" not in seq
            shapes["recorded"].append(seq)
        else:
            assert "schedule" in seq and not ({"schedule_id", "trigger_query", "owner_id"} & set(seq))
            shapes["oas"].append(seq)
    assert all(shapes.values()), {k: len(v) for k, v in shapes.items()}
    assert all(s["schedule_id"].startswith("sched_") for s in shapes["recorded"])
    schedules = [s["schedule"] for s in shapes["oas"] + shapes["live"]]
    assert None in schedules and any(s and s["ranges"][0].keys() == {"weekday", "start", "end"} for s in schedules)
    assert {s["status"] for s in sequences} == {"active", "archived"}


def test_steps_follow_their_type(api):
    sequences = api.json("/sequence/")["data"]
    steps = [(seq, step) for seq in sequences for step in seq["steps"]]
    assert {step["step_type"] for _, step in steps} == {"email", "call", "sms"}
    for seq, step in steps:
        assert STEP_KEYS <= set(step) <= STEP_KEYS | {"sms_template_id"}
        assert re.match(r"^seqstep_[0-9A-Za-z]{22}$", step["id"]) and isinstance(step["delay"], int)
        email = step["step_type"] == "email"
        assert (step["email_template_id"] is not None) is email and (step["threading"] is not None) is email
        if step["step_type"] == "sms":
            assert step["sms_template_id"] is not None and "schedule_id" in seq, "sms steps on newer shapes"
        assert step["date_created"] < step["date_updated"]
    with_sms_key = [step for _, step in steps if "sms_template_id" in step]
    assert with_sms_key and len(with_sms_key) < len(steps), "sms_template_id on some records only"
    assert {step["threading"] for _, step in steps} == {"old_thread", "new_thread", None}
    assert {step["step_allowed_delay"] for _, step in steps} == {None, 3600}
    assert {step["required"] for _, step in steps} == {True, False}


def test_one_sequence_carries_its_subscription_counts(api, ro_sandbox):
    counts = _by_sequence(ro_sandbox)
    busiest = max(counts, key=counts.get)
    one = api.json(f"/sequence/{busiest}/")
    listed = next(s for s in api.json("/sequence/")["data"] if s["id"] == busiest)
    assert {k: v for k, v in one.items() if k != "subscription_counts_by_status"} == listed
    by_status = one["subscription_counts_by_status"]
    assert set(by_status) == {"active", "paused", "finished", "goal", "error"}
    assert sum(by_status.values()) == counts[busiest] and by_status["active"] > 0


def test_unknown_ids_are_404(api, ro_sandbox):
    known = sandbox_sequences.sequences(ro_sandbox)[0]["id"]
    assert api.get(f"/sequence/{known}/").status_code == 200
    missing = api.get("/sequence/seq_0000000000000000000000/")
    assert missing.status_code == 404 and "Sequence matching query does not exist" in missing.json()["error"]
    sub = sandbox_sequences.subscriptions(ro_sandbox)[0]
    assert api.json(f"/sequence_subscription/{sub['id']}/") == sub
    assert api.get("/sequence_subscription/sub_0000000000000000000000/").status_code == 404


def test_subscriptions_need_one_of_the_three_filters(api, ro_sandbox):
    """Close's docs: "At least one of sequence_id, contact_id, and lead_id is required"."""
    for params in ({}, {"sequence_id": ""}, {"id": "x", "status": "active", "date_updated__gte": "2020-01-01"}):
        answer = api.get("/sequence_subscription/", **params)
        assert answer.status_code == 400, params
        assert "sequence_id" in answer.json()["error"]
    sub = sandbox_sequences.subscriptions(ro_sandbox)[0]
    for key in ("sequence_id", "contact_id", "lead_id"):
        found = api.json("/sequence_subscription/", **{key: sub[key]})["data"]
        assert sub["id"] in {s["id"] for s in found} and all(s[key] == sub[key] for s in found), key
    both = api.json("/sequence_subscription/", sequence_id=sub["sequence_id"], contact_id=sub["contact_id"])
    assert [s["id"] for s in both["data"]] == [sub["id"]], "the filters combine; a contact is in a sequence once"
    assert api.json("/sequence_subscription/", sequence_id="seq_0000000000000000000000") == \
        {"has_more": False, "data": []}


def test_big_sequences_page_and_some_have_none(api, ro_sandbox):
    counts = _by_sequence(ro_sandbox)
    sequences = [s["id"] for s in sandbox_sequences.sequences(ro_sandbox)]
    empty = [sid for sid in sequences if sid not in counts]
    assert len(empty) >= 2 and api.json("/sequence_subscription/", sequence_id=empty[0])["data"] == []
    busiest = max(counts, key=counts.get)
    assert counts[busiest] > 100, "more than one page of Close's default size"
    first = api.json("/sequence_subscription/", sequence_id=busiest)
    assert first["has_more"] is True and len(first["data"]) == 100
    walked = [s["id"] for s in api.all("/sequence_subscription/", limit=30, sequence_id=busiest)]
    assert walked == [s["id"] for s in sandbox_sequences.subscriptions(ro_sandbox, busiest)]
    assert len(set(walked)) == counts[busiest]
    assert api.get("/sequence_subscription/", sequence_id=busiest, _limit=101).status_code == 400


def test_subscriptions_name_real_contacts_leads_and_senders(ro_sandbox):
    contacts = {c["id"]: c for c in ro_sandbox.store.records("contact")}
    users = {u["id"]: u for u in ro_sandbox.store.records("user")}
    sequences = {s["id"] for s in sandbox_sequences.sequences(ro_sandbox)}
    subs = sandbox_sequences.subscriptions(ro_sandbox)
    assert subs
    for sub in subs:
        contact = contacts[sub["contact_id"]]
        assert sub["lead_id"] == contact["lead_id"] and sub["sequence_id"] in sequences
        assert sub["contact_email"] in {e["email"] for e in contact["emails"]}
        sender = users["user_" + sub["sender_account_id"][len("emailacct_"):]]
        assert sub["sender_email"] == sender["email"]
        assert sub["sender_name"] == f"{sender['first_name']} {sender['last_name']}"
    pairs = [(s["sequence_id"], s["contact_id"]) for s in subs]
    assert len(pairs) == len(set(pairs))


def test_subscription_records_vary_as_close_allows(ro_sandbox):
    subs = sandbox_sequences.subscriptions(ro_sandbox)
    assert all(set(s) == SUBSCRIPTION_KEYS for s in subs)
    assert all(re.match(r"^sub_[0-9A-Za-z]{22}$", s["id"]) for s in subs)
    assert {s["status"] for s in subs} == {"active", "paused", "finished", "goal", "error"}
    assert all(s["status_reason"] is None for s in subs if s["status"] == "active")
    assert {s["status_reason"] for s in subs if s["status"] == "paused"} == {"manual", "replied"}
    starts = [s["start_date"] for s in subs]
    assert None in starts
    assert any(v and re.match(MICRO_NAIVE_RE, v) for v in starts) and any(v and len(v) == 10 for v in starts)
    assigned = [s["calls_assigned_to"] for s in subs]
    assert [] in assigned and any(a and a[0].startswith("user_") for a in assigned) \
        and any(a and a[0].startswith("group_") for a in assigned)
    for sub in subs:
        assert re.match(MICRO_NAIVE_RE, sub["date_created"]) and re.match(MICRO_NAIVE_RE, sub["date_updated"])
        assert sub["date_updated"] > sub["date_created"]
    assert any(s["date_updated"][:19] != s["date_created"][:19] for s in subs), "some were edited later"


def test_same_seed_same_sequences_and_another_seed_others():
    made = []
    for seed in (21, 21, 22):
        sb = Sandbox(seed=seed, leads=20, now=NOW)
        made.append((sandbox_sequences.sequences(sb), sandbox_sequences.subscriptions(sb)))
    assert made[0] == made[1] and made[0][1]
    assert {s["id"] for s in made[0][0]}.isdisjoint({s["id"] for s in made[2][0]})


def test_mutations_stamp_the_sandbox_clock(fresh):
    sb, api = fresh
    sub = sandbox_sequences.subscriptions(sb)[0]
    sb.clock.advance(3600)
    changed = sandbox_sequences.update_subscription(sb, sub["id"], status="paused", status_reason="manual")
    assert changed["date_updated"] == "2024-06-01T13:00:00" and changed["date_created"] == sub["date_created"]
    assert changed["updated_by_id"] == sb.store.ctx.api_user["id"]
    served = api.json("/sequence_subscription/", sequence_id=sub["sequence_id"])["data"]
    assert next(s for s in served if s["id"] == sub["id"]) == changed
    members = {s["contact_id"] for s in sandbox_sequences.subscriptions(sb, sub["sequence_id"])}
    with pytest.raises(ValueError):     # a contact is in a sequence once
        sandbox_sequences.add_subscription(sb, sub["sequence_id"], sub["contact_id"])
    contact = next(c for c in sb.store.records("contact") if c["emails"] and c["id"] not in members)
    added = sandbox_sequences.add_subscription(sb, sub["sequence_id"], contact["id"])
    assert added["status"] == "active" and added["date_created"].startswith("2024-06-01T13:00:00")
    assert added["id"] in {s["id"] for s in api.json("/sequence_subscription/", contact_id=contact["id"])["data"]}


def test_list_faults_apply_to_both_lists(fresh):
    sb, api = fresh
    sequence = max(_by_sequence(sb).items(), key=lambda item: item[1])[0]
    sb.faults.deleted_404(1, group="sequence_subscription")
    assert api.get("/sequence_subscription/", sequence_id=sequence, _skip=0, _limit=5).status_code == 200
    assert api.get("/sequence_subscription/", sequence_id=sequence, _skip=5, _limit=5).status_code == 404
    before = [s["id"] for s in sandbox_sequences.sequences(sb)]
    sb.faults.offset_shift(1, group="sequence")
    served = [s["id"] for s in api.all("/sequence/", limit=2)]
    after = [s["id"] for s in sandbox_sequences.sequences(sb)]
    assert len(after) == len(before) - 1 and len(served) == len(after), "one really deleted, one never served"
    assert set(after) - set(served) and set(after) <= set(before)
