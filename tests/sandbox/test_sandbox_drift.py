"""Type drift: sb.faults.drift(kind, field, value, after) changes a field's type
in what the HTTP API serves, after `after` more list requests of the kind's
endpoint group; the store's records never change; clear() restores."""
import pytest
import requests

from sandbox_helpers import AUTH


def _control(sb, payload):
    return requests.post(sb.url.replace("/api/v1", "") + "/_sandbox/faults", json=payload, auth=AUTH, timeout=10)


def test_field_drifts_after_n_list_requests_and_clear_restores(fresh):
    sb, api = fresh
    original = api.json("/task/", _type="all", _limit=5)["data"]
    assert all(isinstance(t["date"], (str, type(None))) for t in original)
    drifted_value = {"starts": "2026-11-16T08:00:00+00:00"}         # an object where a string was
    sb.faults.drift("task", "date", drifted_value, after=2)
    for _ in range(2):                                                # the two counted requests: original
        assert api.json("/task/", _type="all", _limit=5)["data"] == original
    for _ in range(2):                                                # from then on: drifted, every record
        page = api.json("/task/", _type="all", _limit=5)["data"]
        assert [t["date"] for t in page] == [drifted_value] * len(page)
        assert [dict(t, date=o["date"]) for t, o in zip(page, original)] == original   # only that field
    sb.faults.clear()
    assert api.json("/task/", _type="all", _limit=5)["data"] == original


def test_only_list_requests_of_the_kinds_group_count(fresh):
    sb, api = fresh
    sb.faults.drift("user", "email", 12345, after=2)
    user = api.json("/user/")["data"][0]                              # 1st counted list: original
    api.json("/user/%s/" % user["id"])                                # a single fetch does not count
    api.json("/task/")                                               # nor another group's list
    assert api.json("/user/%s/" % user["id"])["email"] == user["email"]
    assert api.json("/user/")["data"][0]["email"] == user["email"]    # 2nd counted list: original
    assert api.json("/user/")["data"][0]["email"] == 12345            # from then on: drifted
    assert api.json("/user/%s/" % user["id"])["email"] == 12345       # ...single fetches too


def test_store_records_stay_unchanged(fresh):
    sb, api = fresh
    before = sb.store.records("opportunity")
    sb.faults.drift("opportunity", "value", "1,000.00")               # a string where a number was
    served = api.all("/opportunity/", limit=250)
    assert served and all(o["value"] == "1,000.00" for o in served)
    assert sb.store.records("opportunity") == before
    assert all(isinstance(o["value"], int) for o in before)


def test_nested_lead_children_drift_with_their_kind(fresh):
    sb, api = fresh
    sb.faults.drift("contact", "title", ["a", "list"])
    sb.faults.drift("task", "date", "2026-11-16T08:00:00+00:00")      # a date-time where a date was
    leads = api.all("/lead/", limit=200)
    contacts = [c for lead in leads for c in lead["contacts"]]
    nested_tasks = [t for lead in leads for t in lead["tasks"]]
    assert contacts and all(c["title"] == ["a", "list"] for c in contacts)
    assert nested_tasks and all(t["date"] == "2026-11-16T08:00:00+00:00" for t in nested_tasks)
    assert not [lead for lead in leads if "title" in lead]                 # a contact drift does not touch the lead
    assert api.all("/contact/")[0]["title"] == ["a", "list"]


def test_fields_param_keeps_an_untrimmed_field_out(fresh):
    sb, api = fresh
    sb.faults.drift("lead", "description", 7)
    trimmed = api.json("/lead/", _fields="id,name", _limit=3)["data"]
    assert trimmed and all(set(l) == {"id", "name"} for l in trimmed)
    asked = api.json("/lead/", _fields="id,description", _limit=3)["data"]
    assert asked and all(l["description"] == 7 for l in asked)


@pytest.mark.parametrize("kind,path,field", [
    ("pipeline", "/pipeline/", "created_by"),
    ("opportunity_status", "/status/opportunity/", "type"),
    ("custom_field", "/custom_field/lead/", "choices"),
    ("event", "/event/", "date_updated"),
])
def test_organization_level_kinds_drift(fresh, kind, path, field):
    sb, api = fresh
    assert api.json(path)["data"][0].get(field) != {"drifted": True}
    sb.faults.drift(kind, field, {"drifted": True})
    data = api.json(path)["data"]
    assert data and all(r[field] == {"drifted": True} for r in data)


def test_lead_status_drift_leaves_opportunity_statuses_alone(fresh):
    sb, api = fresh
    sb.faults.drift("lead_status", "label", 1)
    assert all(s["label"] == 1 for s in api.json("/status/lead/")["data"])
    opp = api.json("/status/opportunity/")["data"]
    assert opp and all(isinstance(s["label"], str) for s in opp)


def test_control_endpoint_sets_and_clears_drift(fresh):
    sb, api = fresh
    r = _control(sb, {"drift": {"kind": "task", "field": "is_complete", "value": "yes", "after": 1}})
    assert r.status_code == 200 and r.json()["drift"][0]["remaining"] == 1
    first = api.json("/task/", _type="all")["data"]
    assert first and all(isinstance(t["is_complete"], bool) for t in first)
    assert all(t["is_complete"] == "yes" for t in api.json("/task/", _type="all")["data"])
    assert _control(sb, {"clear": True}).json()["drift"] == []
    assert all(isinstance(t["is_complete"], bool) for t in api.json("/task/", _type="all")["data"])


@pytest.mark.parametrize("payload", [
    {"kind": "nope", "field": "x", "value": 1},
    {"kind": "task", "field": "", "value": 1},
    {"kind": "task", "field": "date", "value": 1, "after": -1},
    {"kind": "task", "field": "date"},                                 # no value
])
def test_control_endpoint_rejects_bad_drift(fresh, payload):
    sb, _ = fresh
    r = _control(sb, {"drift": payload})
    assert r.status_code == 400 and "error" in r.json()
    assert _control(sb, {}).json()["drift"] == []


def test_python_api_rejects_values_that_are_not_json(fresh):
    sb, _ = fresh
    with pytest.raises(TypeError):
        sb.faults.drift("task", "date", object())
    with pytest.raises(ValueError):
        sb.faults.drift("tasks", "date", 1)
    assert sb.faults.snapshot()["drift"] == []
