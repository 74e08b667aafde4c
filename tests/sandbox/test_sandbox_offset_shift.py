"""The offset_shift fault: a record really deleted before the offset while a client pages with
_skip/_limit, so the tail shifts left and a naive client (skip += len(page)) misses one record
(close_sandbox/faults.py, resources._shift_offset, Store.delete_listed)."""
import pytest
import requests


# (list path, endpoint group, the store's current items of that list, page size for the walk)
LISTS = [
    ("/user/", "user", lambda sb: sb.store.records("user"), 3),
    ("/custom_field/lead/", "custom_field", lambda sb: sb.store.custom_fields("lead"), 3),
    ("/status/lead/", "status", lambda sb: list(sb.store.ctx.lead_statuses), 2),
    ("/status/opportunity/", "status", lambda sb: list(sb.store.ctx.opp_statuses), 2),
    ("/pipeline/", "pipeline", lambda sb: list(sb.store.ctx.pipelines), 1),
    ("/custom_activity/", "custom_activity", lambda sb: list(sb.store.ctx.custom_activity_types), 1),
    ("/contact/", "contact", lambda sb: sb.store.records("contact"), 10),
]


@pytest.mark.parametrize("path, group, current, limit", LISTS, ids=[p for p, *_ in LISTS])
def test_naive_offset_client_misses_exactly_one_record(fresh, path, group, current, limit):
    sb, api = fresh
    before = [x["id"] for x in current(sb)]
    assert len(before) > limit
    sb.faults.offset_shift(1, group=group)
    served = [x["id"] for x in api.all(path, limit=limit)]        # skip += len(page)
    after = [x["id"] for x in current(sb)]
    deleted = set(before) - set(after)
    missed = set(after) - set(served)
    assert len(deleted) == 1 and len(after) == len(before) - 1          # really gone from the store
    assert deleted <= set(served)                                         # it was served before it went
    assert len(missed) == 1 and missed <= set(after)                      # a live record never served
    assert len(served) == len(set(served)) == len(before) - 1
    # the fault fired once: the next walk sees every record that is left
    assert sorted(x["id"] for x in api.all(path, limit=limit)) == sorted(after)


def test_the_record_deleted_is_the_one_before_the_offset(fresh):
    sb, api = fresh
    definitions = [d["id"] for d in sb.store.custom_fields("contact")]
    sb.faults.offset_shift(1, group="custom_field")
    assert [d["id"] for d in api.json("/custom_field/contact/", _skip=0, _limit=4)["data"]] == definitions[:4]
    page = api.json("/custom_field/contact/", _skip=4, _limit=4)["data"]
    assert [d["id"] for d in sb.store.custom_fields("contact")] == definitions[:3] + definitions[4:]
    assert [d["id"] for d in page] == definitions[5:9]        # definitions[4] is never served


def test_a_large_list_shifts_in_the_same_answer(fresh):
    sb, api = fresh
    contacts = [c["id"] for c in sb.store.records("contact")]
    sb.faults.offset_shift(1, group="contact")
    page = api.json("/contact/", _skip=10, _limit=10)
    assert [c["id"] for c in page["data"]] == contacts[11:21]      # the tail moved left at once
    assert [c["id"] for c in sb.store.records("contact")] == contacts[:9] + contacts[10:]


def test_no_shift_without_skip_and_only_in_its_group(fresh):
    sb, api = fresh
    users = [u["id"] for u in sb.store.records("user")]
    sb.faults.offset_shift(1, group="user")
    api.json("/custom_field/lead/", _skip=2, _limit=2)                # another group: untouched
    assert [u["id"] for u in api.json("/user/", _limit=3)["data"]] == users[:3]      # _skip=0: untouched
    assert [u["id"] for u in sb.store.records("user")] == users
    assert sb.faults.snapshot()["offset_shift"] == [{"n": 1, "group": "user", "records": 1}]
    api.json("/user/", _skip=3, _limit=3)
    assert len(sb.store.records("user")) == len(users) - 1 and sb.faults.snapshot()["offset_shift"] == []


def test_the_api_users_own_record_is_never_deleted(fresh):
    sb, api = fresh
    users = [u["id"] for u in sb.store.records("user")]
    me = api.json("/me/")["id"]
    at = users.index(me)
    assert at > 0, "the organization must have a user listed before the API key's own"
    sb.faults.offset_shift(1, group="user")
    api.json("/user/", _skip=at + 1, _limit=1)            # the record just before the offset is /me/
    left = [u["id"] for u in sb.store.records("user")]
    assert me in left and left == users[:at - 1] + users[at:]         # the one before it went instead
    assert api.json("/me/")["id"] == me


def test_leads_shift_and_the_deletion_is_logged_as_events(fresh):
    sb, api = fresh
    leads = [l["id"] for l in sb.store.records("lead")]
    old_events = {e["id"] for e in sb.store.records("event")}
    sb.faults.offset_shift(1, group="lead")
    served = [l["id"] for l in api.all("/lead/", limit=10)]
    gone = set(leads) - {l["id"] for l in sb.store.records("lead")}
    assert len(gone) == 1 and len(set(leads) - set(served) - gone) == 1
    new_events = [e for e in sb.store.records("event") if e["id"] not in old_events]
    assert [e["object_id"] for e in new_events if e["object_type"] == "lead"] == list(gone)
    assert {e["action"] for e in new_events} == {"deleted"}


def test_offset_shift_through_the_control_endpoint(fresh):
    sb, _ = fresh
    control = sb.url.replace("/api/v1", "") + "/_sandbox/faults"
    r = requests.post(control, json={"offset_shift": {"n": 2, "group": "pipeline"}}, timeout=10)
    assert r.status_code == 200 and r.json()["offset_shift"] == [{"n": 2, "group": "pipeline", "records": 1}]


@pytest.mark.parametrize("path, group, current, limit", [LISTS[0], LISTS[1], LISTS[6]], ids=["user", "custom_field", "contact"])
def test_a_shift_of_several_records_deletes_those_just_before_the_offset(fresh, path, group, current, limit):
    sb, api = fresh
    before = [x["id"] for x in current(sb)]
    assert len(before) > limit + 3
    sb.faults.offset_shift(1, group=group, records=3)
    page = api.json(path, _skip=limit + 1, _limit=limit)["data"]
    after = [x["id"] for x in current(sb)]
    assert set(before) - set(after) == set(before[limit - 2:limit + 1])      # the three before the offset
    assert [x["id"] for x in page] == before[limit + 4:2 * limit + 4]         # the tail moved left by three
