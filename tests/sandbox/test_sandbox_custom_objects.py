"""Custom objects in the sandbox (close_sandbox/custom_objects.py): types, their custom field
definitions, instances by lead and org-wide through /data/search/, mutations and their events."""
import re
from collections import Counter

import pytest

from close_sandbox import Sandbox, custom_objects
from sandbox_helpers import AUTH, DATE_RE, NOW, TS_RE, Api

NAIVE_MICRO_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$"
TYPE_KEYS = {"id", "name", "name_plural", "description", "api_create_only", "editable_with_roles", "fields",
             "back_reference_fields", "organization_id", "created_by", "updated_by", "date_created", "date_updated"}
FIELD_ENTRY_KEYS = {"accepts_multiple_values", "description", "editable_with_roles", "id", "name", "required", "type"}
DEFINITION_KEYS = {"id", "name", "description", "type", "accepts_multiple_values", "required", "editable_with_roles",
                   "custom_object_type_id", "referenced_custom_type_id", "back_reference_is_visible",
                   "organization_id", "created_by", "updated_by", "date_created", "date_updated"}
INSTANCE_KEYS = {"id", "name", "lead_id", "custom_object_type_id", "organization_id", "created_by", "updated_by",
                 "date_created", "date_updated"}
CLOSE_TYPES = {"text", "textarea", "number", "date", "datetime", "choices", "user", "contact", "custom_object", "hidden"}


def search(api, body):
    return api.s.post(api.sb.url + "/data/search/", json=body, timeout=10)


def of_type(*conditions, **extra):
    return {"query": {"type": "and", "queries": [{"type": "object_type", "object_type": "custom_object"},
                                                 *conditions]}, **extra}


def regular(name):
    return {"type": "regular_field", "object_type": "custom_object", "field_name": name}


def walk(api, body, limit=7):
    """Every item of a search, following the cursor."""
    out, cursor = [], None
    while True:
        answer = search(api, dict(body, _limit=limit, **({"cursor": cursor} if cursor else {})))
        assert answer.status_code == 200, answer.text
        out += answer.json()["data"]
        cursor = answer.json()["cursor"]
        if not cursor:
            return out


@pytest.fixture(scope="module")
def org(ro_sandbox):
    return custom_objects.of(ro_sandbox)


def definitions_by_type(api):
    grouped = {}
    for definition in api.all("/custom_field/custom_object_type/"):
        grouped.setdefault(definition["custom_object_type_id"], []).append(definition)
    return grouped


# -- types --------------------------------------------------------------------------------------
def test_types_are_close_s_documented_shape(api):
    body = api.json("/custom_object_type/")
    types = body["data"]
    assert body["has_more"] is False and len(types) == 4
    archived = Counter("is_archived" in t for t in types)
    assert archived[True] and archived[False], "both the 2020 form (no is_archived) and the 2024 one"
    for record in types:
        assert set(record) - {"is_archived"} == TYPE_KEYS, record["id"]
        assert re.match(r"^cotype_[0-9A-Za-z]{22}$", record["id"])
        assert re.match(NAIVE_MICRO_RE, record["date_created"]) and re.match(NAIVE_MICRO_RE, record["date_updated"])
        assert record["date_updated"] >= record["date_created"]
        assert api.json("/custom_object_type/%s/" % record["id"]) == record
    assert [t["date_created"] for t in types] == sorted(t["date_created"] for t in types)
    assert any(not t["fields"] for t in types) and any(t["fields"] for t in types)
    assert any(t["api_create_only"] for t in types) and any(t["editable_with_roles"] for t in types)


def test_type_fields_are_its_definitions_and_back_references_point_at_it(api):
    types = {t["id"]: t for t in api.json("/custom_object_type/")["data"]}
    grouped = definitions_by_type(api)
    seen_back = 0
    for type_id, record in types.items():
        assert {f["id"] for f in record["fields"]} == {d["id"] for d in grouped.get(type_id, [])}
        for entry in record["fields"] + record["back_reference_fields"]:
            expected = set(FIELD_ENTRY_KEYS)
            if entry["type"] == "choices":
                expected.add("choices")
            if entry["type"] == "custom_object":
                expected |= {"back_reference_is_visible", "referenced_custom_type_id"}
            assert set(entry) == expected, entry
        for entry in record["back_reference_fields"]:
            seen_back += 1
            assert entry["type"] == "custom_object" and entry["referenced_custom_type_id"] == type_id
            assert entry["id"] not in {f["id"] for f in record["fields"]}
    assert seen_back >= 2, "Account is referenced by custom_object fields of other types"


def test_type_404_and_paging(api):
    missing = api.get("/custom_object_type/cotype_nothinghere0000000000/")
    assert missing.status_code == 404 and "CustomObjectType" in missing.json()["error"]
    assert [t["id"] for t in api.all("/custom_object_type/", limit=1)] == \
           [t["id"] for t in api.json("/custom_object_type/")["data"]]
    assert api.sb.request_log[-1]["group"] == "custom_object_type"


# -- custom field definitions ----------------------------------------------------------------------
def test_definitions_cover_every_close_type_with_the_documented_keys(api):
    definitions = api.all("/custom_field/custom_object_type/", limit=4)
    type_ids = {t["id"] for t in api.json("/custom_object_type/")["data"]}
    assert {d["type"] for d in definitions} == CLOSE_TYPES
    assert {d["accepts_multiple_values"] for d in definitions} == {True, False}
    assert {d["required"] for d in definitions} == {True, False}
    for definition in definitions:
        expected = DEFINITION_KEYS | ({"choices"} if definition["type"] == "choices" else set())
        assert set(definition) == expected, definition
        assert definition["custom_object_type_id"] in type_ids
        assert re.match(TS_RE, definition["date_created"]) and re.match(TS_RE, definition["date_updated"])
        if definition["type"] == "custom_object":
            assert definition["referenced_custom_type_id"] in type_ids
            assert definition["back_reference_is_visible"] in (True, False)
        else:
            assert definition["referenced_custom_type_id"] is None and definition["back_reference_is_visible"] is None
        one = api.json("/custom_field/custom_object_type/%s/" % definition["id"])
        assert one == definition
    assert [d["date_created"] for d in definitions] == sorted((d["date_created"] for d in definitions), reverse=True)
    missing = api.get("/custom_field/custom_object_type/cf_missing/")
    assert missing.status_code == 404 and "CustomObjectCustomField" in missing.json()["error"]
    assert api.sb.request_log[-1]["group"] == "custom_field"


# -- instances by lead --------------------------------------------------------------------------------
def test_listing_instances_needs_a_lead_id(api, org):
    for params in ({}, {"lead_id": ""}, {"custom_object_type_id": org.types[0]["id"]}):
        answer = api.get("/custom_object/", **params)
        assert answer.status_code == 400, params
        assert answer.json()["field-errors"] == {"lead_id": "This field is required."}
    lead_id = org.records()[0]["lead_id"]
    assert api.json("/custom_object/", lead_id=lead_id)["data"], "with lead_id the list is served"


def test_a_lead_s_instances_newest_first_paged_and_filtered_by_type(api, org):
    by_lead = Counter(r["lead_id"] for r in org.records())
    busy, count = by_lead.most_common(1)[0]
    assert count >= 4, "one lead has instances of several types (paging within a lead)"
    full = api.json("/custom_object/", lead_id=busy)
    assert full["has_more"] is False and len(full["data"]) == count
    created = [r["date_created"] for r in full["data"]]
    assert created == sorted(created, reverse=True)
    assert api.all("/custom_object/", limit=1, lead_id=busy) == full["data"]
    kinds = {r["custom_object_type_id"] for r in full["data"]}
    assert len(kinds) >= 2
    for type_id in kinds:
        only = api.json("/custom_object/", lead_id=busy, custom_object_type_id=type_id)["data"]
        assert only and {r["custom_object_type_id"] for r in only} == {type_id}
    # Parameters Close does not document for this list are ignored, not refused.
    assert api.json("/custom_object/", lead_id=busy, date_updated__gt="2999-01-01", _order_by="x")["data"] == full["data"]
    assert api.json("/custom_object/", lead_id="lead_unknown")["data"] == []
    assert api.json("/custom_object/", lead_id=busy, _fields="id,name")["data"][0].keys() == {"id", "name"}


def test_instances_have_the_documented_keys_and_typed_values(api, org):
    instances = org.records()
    assert 20 <= len(instances) <= 80, "a realistic few dozen for 120 leads"
    definitions = {d["id"]: d for d in api.all("/custom_field/custom_object_type/")}
    instance_ids = {r["id"] for r in instances}
    contacts = {c["id"] for c in api.sb.store.records("contact")}
    users = {u["id"] for u in api.sb.store.records("user")}
    null, absent, present = 0, 0, 0
    for record in instances:
        regular = {k for k in record if not k.startswith("custom.")}
        assert regular == INSTANCE_KEYS, record
        assert re.match(r"^custobj_[0-9A-Za-z]{43}$", record["id"])
        assert re.match(TS_RE, record["date_created"]) and re.match(TS_RE, record["date_updated"])
        assert record["date_updated"] >= record["date_created"]
        own = {d for d, v in definitions.items() if v["custom_object_type_id"] == record["custom_object_type_id"]}
        keys = {k[len("custom."):] for k in record if k.startswith("custom.")}
        assert keys <= own, "only its own type's fields"
        absent += len(own - keys)
        for cf in keys:
            value, definition = record["custom." + cf], definitions[cf]
            if value is None:
                null += 1
                assert not definition["required"]
                continue
            present += 1
            values = value if definition["accepts_multiple_values"] else [value]
            assert isinstance(values, list) and values
            for item in values:
                kind = definition["type"]
                if kind == "number":
                    assert isinstance(item, (int, float)) and not isinstance(item, bool)
                elif kind == "date":
                    assert re.match(DATE_RE, item)
                elif kind == "datetime":
                    assert re.match(TS_RE, item)
                elif kind == "choices":
                    assert item in definition["choices"]
                elif kind == "custom_object":
                    assert item in instance_ids
                elif kind == "contact":
                    assert item in contacts
                elif kind == "user":
                    assert item in users
                else:
                    assert isinstance(item, str)
        assert api.json("/custom_object/%s/" % record["id"]) == record
    assert null and absent and present, "values set, explicit nulls and absent keys all occur"
    missing = api.get("/custom_object/custobj_missing/")
    assert missing.status_code == 404 and "CustomObject" in missing.json()["error"]
    assert api.sb.request_log[-1]["group"] == "custom_object"


def test_some_updates_fall_in_bursts(org):
    stamps = Counter(r["date_updated"] for r in org.records())
    seconds = Counter(r["date_updated"][:19] for r in org.records())
    bursts = [second for second, n in seconds.items() if n >= 3]
    assert len(bursts) >= 2, "an old and a recent bulk edit, several instances in one second each"
    assert max(stamps.values()) >= 2, "some share the very same millisecond"
    assert any(n == 1 for n in seconds.values()), "and most do not"


# -- /data/search/ ------------------------------------------------------------------------------------
def test_search_walks_every_instance_with_the_named_fields(api, org):
    expected = org.records()
    sort = [{"direction": "asc", "field": regular("date_updated")}]
    fields = ["name", "lead_id", "date_updated", "custom_object_type_id"]
    got = walk(api, of_type(sort=sort, _fields={"custom_object": fields}))
    assert sorted(r["id"] for r in got) == sorted(r["id"] for r in expected)
    assert all(set(r) == {"__object_type", "id", *fields} and r["__object_type"] == "custom_object" for r in got)
    assert [r["date_updated"][:23] for r in got] == sorted(r["date_updated"][:23] for r in got)
    bare = search(api, of_type(_limit=1, include_counts=True)).json()
    assert bare["count"]["total"] == len(expected) and set(bare["data"][0]) == {"__object_type", "id"}


def test_search_filters_by_date_type_and_custom_field(api, org):
    instances = org.records()
    account = org.types[0]["id"]
    mid = sorted(r["date_updated"] for r in instances)[len(instances) // 2]
    recent = walk(api, of_type({"type": "field_condition", "field": regular("date_updated"),
                                "condition": {"type": "moment_range", "before": None,
                                              "on_or_after": {"type": "fixed_utc", "value": mid}}}))
    assert {r["id"] for r in recent} == {r["id"] for r in instances if r["date_updated"] >= mid}
    # Airbyte's contributor branch filters one type with a term condition (AB-UTILS).
    accounts = walk(api, of_type({"type": "field_condition", "field": regular("custom_object_type_id"),
                                  "condition": {"type": "term", "values": [account]}}))
    assert accounts and {r["id"] for r in accounts} == {r["id"] for r in instances if r["custom_object_type_id"] == account}
    status = next(d for d in org.definitions if d["name"] == "Status")
    active = walk(api, of_type({"type": "field_condition",
                                "field": {"type": "custom_field", "custom_field_id": status["id"]},
                                "condition": {"type": "term", "values": ["Active"]}}))
    assert {r["id"] for r in active} == {r["id"] for r in instances if r.get("custom." + status["id"]) == "Active"}
    lead_field = search(api, of_type({"type": "field_condition", "field": {
        "type": "regular_field", "object_type": "lead", "field_name": "name"},
        "condition": {"type": "text", "mode": "full_words", "value": "x"}}))
    assert lead_field.status_code == 400 and "query" in lead_field.json()["field-errors"]
    lead_cf = api.sb.store.custom_fields("lead")[0]["id"]
    wrong_cf = search(api, of_type({"type": "field_condition", "field": {"type": "custom_field", "custom_field_id": lead_cf},
                                    "condition": {"type": "term", "values": ["x"]}}))
    assert wrong_cf.status_code == 400, "a lead custom field does not apply to custom objects"


# -- mutations, events, deletion with the lead, faults --------------------------------------------------
def test_mutations_are_stamped_and_logged_in_the_event_log(fresh):
    sb, api = fresh
    objects = custom_objects.of(sb)
    target = objects.records()[0]
    optional = next(d for d in objects.definitions
                    if d["custom_object_type_id"] == target["custom_object_type_id"] and not d["required"])
    sb.clock.advance(60)
    updated = objects.update(target["id"], name="Renamed", **{"custom." + optional["id"]: None})
    assert updated["name"] == "Renamed" and "custom." + optional["id"] not in updated
    assert api.json("/custom_object/%s/" % target["id"]) == updated
    assert updated["date_updated"] == "2024-06-01T12:01:00+00:00"
    assert updated["updated_by"] == sb.store.ctx.api_user["id"]
    (event,) = api.events(object_type="custom_object", action="updated")
    assert event["object_id"] == target["id"] and event["lead_id"] == target["lead_id"]
    assert "name" in event["changed_fields"] and "date_updated" in event["changed_fields"]
    assert event["previous_data"]["name"] == target["name"] and event["data"]["name"] == "Renamed"

    sb.clock.advance(60)
    objects.delete(target["id"])
    assert api.get("/custom_object/%s/" % target["id"]).status_code == 404
    (deleted,) = api.events(object_type="custom_object", action="deleted")
    assert deleted["object_id"] == target["id"] and deleted["data"] is None
    assert deleted["previous_data"]["name"] == "Renamed"
    assert target["id"] not in {r["id"] for r in walk(api, of_type())}

    added = objects.add(target["lead_id"], target["custom_object_type_id"], "Brand new")
    (created,) = api.events(object_type="custom_object", action="created")
    assert created["object_id"] == added["id"] and added["id"] in {r["id"] for r in walk(api, of_type())}
    with pytest.raises(ValueError):
        objects.update(added["id"], lead_id="lead_elsewhere")


def test_a_deleted_lead_takes_its_instances_with_it(fresh):
    sb, api = fresh
    objects = custom_objects.of(sb)
    lead_id = objects.records()[0]["lead_id"]
    theirs = {r["id"] for r in objects.records() if r["lead_id"] == lead_id}
    others = {r["id"] for r in objects.records()} - theirs
    assert theirs and others
    sb.delete_lead(lead_id)
    assert {r["id"] for r in walk(api, of_type())} == others
    assert api.json("/custom_object/", lead_id=lead_id)["data"] == []
    assert all(api.get("/custom_object/%s/" % rid).status_code == 404 for rid in theirs)


def test_list_faults_apply(fresh):
    sb, api = fresh
    sb.faults.deleted_404(1, group="custom_object_type", any_page=True)
    assert api.get("/custom_object_type/").status_code == 404
    assert api.get("/custom_object_type/").status_code == 200
    objects = custom_objects.of(sb)
    busy = Counter(r["lead_id"] for r in objects.records()).most_common(1)[0][0]
    listed = [r["id"] for r in api.json("/custom_object/", lead_id=busy)["data"]]
    sb.faults.offset_shift(1, group="custom_object")
    second_page = api.json("/custom_object/", lead_id=busy, _skip=1, _limit=1)["data"]
    assert [r["id"] for r in second_page] == [listed[2]], "the record before the offset was really deleted"
    assert api.get("/custom_object/%s/" % listed[0]).status_code == 404


def test_generation_is_deterministic_and_leaves_the_rest_of_the_org_alone():
    first, second = (Sandbox(seed=9, leads=25, now=NOW) for _ in range(2))
    assert custom_objects.of(first).records() == custom_objects.of(second).records()
    assert custom_objects.of(first).types == custom_objects.of(second).types
    third = Sandbox(seed=9, leads=25, now=NOW)
    # Generating custom objects draws nothing from the organization's own streams: the next
    # mutation gives the same ids whether they were generated first or not.
    assert first.add_lead()["id"] == third.add_lead()["id"]
    other = Sandbox(seed=10, leads=25, now=NOW)
    assert {r["id"] for r in custom_objects.of(other).records()} != {r["id"] for r in custom_objects.of(first).records()}


def test_the_api_key_is_required(ro_sandbox):
    anonymous = Api(ro_sandbox, auth=("wrong", ""))
    assert anonymous.get("/custom_object_type/").status_code == 401
    assert Api(ro_sandbox, auth=AUTH).get("/custom_object_type/").status_code == 200
