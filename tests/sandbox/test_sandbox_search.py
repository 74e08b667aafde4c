"""Contract tests of the sandbox's Advanced Filtering API, POST /api/v1/data/search/
(close_sandbox/search.py; sources in close_sandbox/README.md)."""
import base64
import re
from datetime import timedelta

import pytest
import requests

from close_sandbox import search, timefmt
from sandbox_helpers import AUTH, NOW, Api

SEARCH = "/data/search/"


# -- query builders ---------------------------------------------------------------------------
def of_type(object_type, *conditions, **extra):
    return dict({"type": "and", "queries": [{"type": "object_type", "object_type": object_type}, *conditions]},
                **extra)


def regular(object_type, name):
    return {"type": "regular_field", "object_type": object_type, "field_name": name}


def custom(cf_id):
    return {"type": "custom_field", "custom_field_id": cf_id}


def condition(field, cond, negate=False):
    node = {"type": "field_condition", "field": field, "condition": cond}
    if negate:
        node["negate"] = True
    return node


def moments(on_or_after=None, before=None):
    return {"type": "moment_range", "on_or_after": on_or_after, "before": before}


def utc(value):
    return {"type": "fixed_utc", "value": value}


def local_date(day, which):
    return {"type": "fixed_local_date", "value": day, "which": which}


def sort_by(object_type, name, direction="asc"):
    return {"direction": direction, "field": regular(object_type, name)}


def updated_since(object_type, value):
    return condition(regular(object_type, "date_updated"), moments(utc(value)))


# -- client -------------------------------------------------------------------------------------
class Search:
    def __init__(self, sb, auth=AUTH):
        self.sb = sb
        self.s = requests.Session()
        self.s.auth = auth

    def post(self, body):
        return self.s.post(self.sb.url + SEARCH, json=body, timeout=10)

    def ok(self, body):
        r = self.post(body)
        assert r.status_code == 200, (r.status_code, r.text)
        return r.json()

    def ids(self, query, **body):
        return [item["id"] for item in self.walk(dict(body, query=query))]

    def walk(self, body):
        """Every item of a cursor walk, pages in order."""
        out, cursor = [], None
        while True:
            page = self.ok(dict(body, cursor=cursor) if cursor else body)
            out += page["data"]
            cursor = page["cursor"]
            if not cursor:
                return out


def bad(response, key):
    assert response.status_code == 400, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error", "errors", "field-errors"} and key in body["field-errors"], body
    return body


def us(value):
    return timefmt.parse(value)


@pytest.fixture
def ro_search(ro_sandbox):
    return Search(ro_sandbox)


@pytest.fixture
def leads(ro_sandbox):
    return ro_sandbox.store.records("lead")


# -- object types, nodes, conditions ----------------------------------------------------------
def test_object_type_node_selects_all_of_a_type_as_ids_only(ro_search, ro_sandbox, leads):
    got = ro_search.walk({"query": of_type("lead"), "_limit": 200})
    assert sorted(i["id"] for i in got) == sorted(l["id"] for l in leads) and got
    assert all(set(i) == {"__object_type", "id"} and i["__object_type"] == "lead" for i in got)
    contacts = ro_sandbox.store.records("contact")
    got = ro_search.ids({"type": "object_type", "object_type": "contact"}, _limit=200)
    assert sorted(got) == sorted(c["id"] for c in contacts) and got


def test_match_all_and_opportunities(ro_search, ro_sandbox):
    opps = ro_sandbox.store.records("opportunity")
    got = ro_search.ids(of_type("opportunity", {"type": "match_all"}))
    assert sorted(got) == sorted(o["id"] for o in opps) and got


@pytest.mark.parametrize("query, key_text", [
    ({"type": "match_all"}, "object type"),
    ({"type": "and", "queries": [{"type": "object_type", "object_type": "lead", "negate": True}]}, "object type"),
    (of_type("lead", {"type": "object_type", "object_type": "contact"}), "several"),
    (of_type("activity.call"), "not modelled"),
    (of_type("leads"), "Unknown object_type"),
    (of_type("lead", {"type": "field_conditon"}), "Unknown query node"),
    (of_type("lead", {"type": "has_related", "this_object_type": "lead", "related_object_type": "contact",
                      "related_query": {"type": "match_all"}}), "not modelled"),
    (of_type("lead", condition(regular("lead", "date_updated"), {"type": "moment_rang"})), "Unknown condition"),
    (of_type("lead", condition(regular("lead", "date_updated"), {"type": "moment_range", "gte": None})),
     "Unknown moment_range keys"),
    (of_type("lead", condition(regular("lead", "date_updated"), moments({"type": "fixed_utc", "value": "soon"}))),
     "fixed_utc"),
    (of_type("lead", condition(regular("lead", "date_updated"), moments(local_date("2024-02-30", "start")))),
     "not a date"),
    (of_type("lead", condition(regular("lead", "date_updated"), moments({"type": "fixed_local", "value": "x"}))),
     "Unknown moment"),
    (of_type("lead", condition(regular("contact", "date_updated"), moments(utc("2024-01-01")))), "searched type"),
    (of_type("lead", condition(regular("lead", "date_udpated"), moments(utc("2024-01-01")))), "Unknown lead field"),
    (of_type("lead", condition(regular("lead", "name"), moments(utc("2024-01-01")))), "date field"),
    (of_type("lead", condition(custom("cf_nope"), {"type": "text", "mode": "full_words", "value": "x"})),
     "Unknown custom field"),
    (of_type("lead", condition(regular("lead", "name"), {"type": "text", "mode": "contains", "value": "x"})),
     "text condition"),
    (of_type("lead", {"type": "match_all", "negate": "yes"}), "negate"),
])
def test_malformed_queries_are_400_with_field_errors_query(ro_search, query, key_text):
    body = bad(ro_search.post({"query": query}), "query")
    assert key_text in body["field-errors"]["query"]
    assert ro_search.post({"query": of_type("lead")}).status_code == 200


def test_body_problems_are_400(ro_search, ro_sandbox):
    bad(ro_search.post({"sort": []}), "query")
    r = requests.post(ro_sandbox.url + SEARCH, data=b"{not json", auth=AUTH, timeout=10)
    assert r.status_code == 400 and "JSON" in r.json()["error"]
    r = ro_search.post([{"query": of_type("lead")}])
    assert r.status_code == 400 and "object" in r.json()["error"]
    # unknown top-level keys (here _skip, which the Search API ignores) are ignored
    plain = ro_search.ok({"query": of_type("lead")})
    assert ro_search.ok({"query": of_type("lead"), "_skip": 50, "bogus": 1})["data"] == plain["data"]
    assert plain["data"]


def test_moment_range_bounds_inclusive_and_exclusive(ro_search, leads):
    edge = sorted(leads, key=lambda l: us(l["date_updated"]))[len(leads) // 2]["date_updated"]
    since = ro_search.ids(of_type("lead", condition(regular("lead", "date_updated"), moments(utc(edge)))))
    before = ro_search.ids(of_type("lead", condition(regular("lead", "date_updated"), moments(None, utc(edge)))))
    assert sorted(since) == sorted(l["id"] for l in leads if us(l["date_updated"]) >= us(edge))
    assert sorted(before) == sorted(l["id"] for l in leads if us(l["date_updated"]) < us(edge))
    edge_ids = {l["id"] for l in leads if l["date_updated"] == edge}
    assert edge_ids and edge_ids <= set(since) and not edge_ids & set(before)
    # the same bounds where no index span applies (inside an `or`): the condition itself decides
    for bounds, want in ((moments(utc(edge)), since), (moments(None, utc(edge)), before)):
        alone = {"type": "or", "queries": [condition(regular("lead", "date_updated"), bounds)]}
        assert sorted(ro_search.ids(of_type("lead", alone))) == sorted(want)
    # both bounds; instants with Z or another offset are the same moment
    lo, hi = "2024-03-01T00:00:00Z", "2024-04-01T02:00:00+02:00"
    both = ro_search.ids(of_type("lead", condition(regular("lead", "date_created"), moments(utc(lo), utc(hi)))))
    want = [l["id"] for l in leads if us(lo) <= us(l["date_created"]) < us("2024-04-01T00:00:00")]
    assert sorted(both) == sorted(want) and want


def test_fixed_local_date_start_and_end_of_a_utc_day(ro_search, ro_sandbox, leads):
    day = ro_sandbox.clusters["day"][0].date().isoformat()
    got = ro_search.ids(of_type("lead", condition(regular("lead", "date_updated"),
                                                  moments(local_date(day, "start"), local_date(day, "end")))))
    start = us(day)
    want = [l["id"] for l in leads if start <= us(l["date_updated"]) < start + timefmt.DAY]
    assert sorted(got) == sorted(want) and len(want) >= 9          # the day cluster's 9 leads
    after_day = ro_search.ids(of_type("lead", condition(regular("lead", "date_updated"),
                                                        moments(local_date(day, "end")))))
    assert sorted(after_day) == sorted(l["id"] for l in leads if us(l["date_updated"]) >= start + timefmt.DAY)
    assert not set(after_day) & set(got) and after_day


def test_text_full_words_and_exact_value(ro_search, leads):
    name = next(l["name"] for l in leads if len(l["name"].split()) >= 2)
    word = name.split()[1]
    words_of = lambda s: set(re.findall(r"\w+", s.lower()))
    got = ro_search.ids(of_type("lead", condition(regular("lead", "name"),
                                                  {"type": "text", "mode": "full_words", "value": word.upper()})))
    assert sorted(got) == sorted(l["id"] for l in leads if word.lower() in words_of(l["name"])) and got
    partial = word[:-1]
    assert not ro_search.ids(of_type("lead", condition(regular("lead", "name"),
                                                       {"type": "text", "mode": "full_words", "value": partial})))
    exact = ro_search.ids(of_type("lead", condition(regular("lead", "name"),
                                                    {"type": "text", "mode": "exact_value", "value": name})))
    assert sorted(exact) == sorted(l["id"] for l in leads if l["name"] == name) and exact
    assert not ro_search.ids(of_type("lead", condition(regular("lead", "name"),
                                                       {"type": "text", "mode": "exact_value", "value": name.lower()})))


def test_reference_on_status_and_contact_lead(ro_search, ro_sandbox, leads):
    status = leads[0]["status_id"]
    got = ro_search.ids(of_type("lead", condition(regular("lead", "status_id"),
                                                  {"type": "reference", "reference_type": "status.lead",
                                                   "object_ids": [status]})))
    assert sorted(got) == sorted(l["id"] for l in leads if l["status_id"] == status) and got
    lead = next(l for l in leads if len(l["contacts"]) > 1)
    got = ro_search.ids(of_type("contact", condition(regular("contact", "lead_id"),
                                                     {"type": "reference", "reference_type": "lead",
                                                      "object_ids": [lead["id"]]})))
    assert sorted(got) == sorted(c["id"] for c in lead["contacts"])


def test_negate_and_or(ro_search, leads):
    statuses = sorted({l["status_id"] for l in leads})
    ref = lambda s, **kw: condition(regular("lead", "status_id"),
                                    {"type": "reference", "reference_type": "status.lead", "object_ids": [s]}, **kw)
    not_first = ro_search.ids(of_type("lead", ref(statuses[0], negate=True)))
    assert sorted(not_first) == sorted(l["id"] for l in leads if l["status_id"] != statuses[0]) and not_first
    either = ro_search.ids(of_type("lead", {"type": "or", "queries": [ref(statuses[0]), ref(statuses[1])]}))
    assert sorted(either) == sorted(l["id"] for l in leads if l["status_id"] in statuses[:2]) and either
    neither = ro_search.ids(of_type("lead", {"type": "or", "negate": True,
                                             "queries": [ref(statuses[0]), ref(statuses[1])]}))
    assert sorted(neither) == sorted(l["id"] for l in leads if l["status_id"] not in statuses[:2]) and neither


def test_term_and_custom_field_conditions(ro_search, ro_sandbox, leads):
    defs = {d["name"]: d["id"] for d in ro_sandbox.store.custom_fields("lead")}
    tags = "custom." + defs["Tags"]                       # a multi-valued choices field
    got = ro_search.ids(of_type("lead", condition(custom(defs["Tags"]), {"type": "term", "values": ["vip"]})))
    assert sorted(got) == sorted(l["id"] for l in leads if "vip" in (l.get(tags) or [])) and got
    industry = "custom." + defs["Industry"]
    value = next(l[industry] for l in leads if l.get(industry))
    got = ro_search.ids(of_type("lead", condition(custom(defs["Industry"]),
                                                  {"type": "text", "mode": "exact_value", "value": value})))
    assert sorted(got) == sorted(l["id"] for l in leads if l.get(industry) == value) and got
    owner = "custom." + defs["Owner"]                     # a user field: a reference
    user = next(l[owner] for l in leads if l.get(owner))
    got = ro_search.ids(of_type("lead", condition(custom(defs["Owner"]), {"type": "reference", "reference_type": "user",
                                                                          "object_ids": [user]})))
    assert sorted(got) == sorted(l["id"] for l in leads if l.get(owner) == user) and got


def test_moment_range_on_a_date_custom_field(ro_search, ro_sandbox, leads):
    cf = next(d["id"] for d in ro_sandbox.store.custom_fields("lead") if d["type"] == "date")
    got = ro_search.ids(of_type("lead", condition(custom(cf), moments(local_date("2024-06-01", "start")))))
    want = [l["id"] for l in leads if l.get("custom." + cf) and l["custom." + cf] >= "2024-06-01"]
    assert sorted(got) == sorted(want) and want


# -- precision ----------------------------------------------------------------------------------
@pytest.fixture
def two_in_one_second(sandbox_factory):
    """Leads A and B updated at 12:00:00.250 and 12:00:00.700 (same second), on a frozen clock."""
    def make(precision):
        sb = sandbox_factory(seed=11, leads=6, activities_per_lead=1, tasks_per_lead=1, events=5,
                             now=NOW, search_time_precision=precision)
        a, b = sorted(l["id"] for l in sb.store.records("lead"))[:2]
        sb.clock.advance(0.25)
        sb.update_lead(a, description="a")
        sb.clock.advance(0.45)
        sb.update_lead(b, description="b")
        return sb, a, b
    return make


@pytest.mark.parametrize("precision, since_want, before_want", [
    ("us", set(), {"a"}),          # exact microseconds: .700000 < .700500, .250000 < .250400
    ("ms", {"b"}, set()),          # both sides at the millisecond: .700 >= .700, .250 < .250 is false
    ("s", {"a", "b"}, set()),      # both in second 12:00:00: >= 12:00:00, < 12:00:00 is false
])
def test_time_precision_truncates_record_and_query(two_in_one_second, precision, since_want, before_want):
    sb, a, b = two_in_one_second(precision)
    names = {a: "a", b: "b"}
    field = regular("lead", "date_updated")
    since = Search(sb).ids(of_type("lead", condition(field, moments(utc("2024-06-01T12:00:00.700500+00:00")))))
    before = Search(sb).ids(of_type("lead", condition(field, moments(None, utc("2024-06-01T12:00:00.250400Z")))))
    assert {names[i] for i in since if i in names} == since_want
    assert {names[i] for i in before if i in names} == before_want
    older = set(before) - {a, b}                  # the four leads updated before 12:00
    assert len(older) == 4 and not older & set(since)
    assert len(Search(sb).ids(of_type("lead"))) == 6


@pytest.mark.parametrize("precision, tied", [("us", False), ("ms", False), ("s", True)])
def test_sort_uses_the_truncated_value(two_in_one_second, precision, tied):
    sb, a, b = two_in_one_second(precision)
    query = of_type("lead", updated_since("lead", "2024-06-01T12:00:00Z"))
    asc = Search(sb).ids(query, sort=[sort_by("lead", "date_updated", "asc")])
    desc = Search(sb).ids(query, sort=[sort_by("lead", "date_updated", "desc")])
    assert sorted(asc) == sorted([a, b])
    if tied:      # one value: the tie order, the same both ways
        assert asc == desc
    else:
        assert asc == [a, b] and desc == [b, a]


def test_unknown_precision_is_refused():
    from close_sandbox import Sandbox
    with pytest.raises(ValueError):
        Sandbox(leads=1, search_time_precision="minute")


# -- sort ---------------------------------------------------------------------------------------
def test_sort_asc_desc_and_several_keys(ro_search, ro_sandbox):
    contacts = {c["id"]: c for c in ro_sandbox.store.records("contact")}
    for direction in ("asc", "desc"):
        got = ro_search.ids(of_type("contact"), sort=[sort_by("contact", "date_updated", direction)], _limit=50)
        values = [us(contacts[i]["date_updated"]) for i in got]
        assert values == sorted(values, reverse=direction == "desc") and len(got) == len(contacts)
    got = ro_search.ids(of_type("contact"), sort=[sort_by("contact", "date_created", "asc"),
                                                  sort_by("contact", "date_updated", "desc")], _limit=50)
    keys = [(us(contacts[i]["date_created"]), -us(contacts[i]["date_updated"])) for i in got]
    assert keys == sorted(keys) and len(got) == len(contacts)


def test_ties_are_not_in_id_order(fresh):
    sb, _ = fresh
    same = [sb.add_lead()["id"] for _ in range(8)]          # frozen clock: one date_updated
    query = of_type("lead", updated_since("lead", NOW.isoformat()))
    asc = Search(sb).ids(query, sort=[sort_by("lead", "date_updated", "asc")])
    desc = Search(sb).ids(query, sort=[sort_by("lead", "date_updated", "desc")])
    assert sorted(asc) == sorted(same)
    assert asc == desc and asc != sorted(same) and asc != sorted(same, reverse=True)
    assert Search(sb).ids(query, sort=[sort_by("lead", "date_updated", "asc")]) == asc     # stable


def test_bad_sort_is_400(ro_search):
    bad(ro_search.post({"query": of_type("lead"), "sort": [sort_by("lead", "name")]}), "sort")
    bad(ro_search.post({"query": of_type("lead"), "sort": [sort_by("contact", "date_updated")]}), "sort")
    bad(ro_search.post({"query": of_type("lead"), "sort": [{"direction": "up",
                                                             "field": regular("lead", "date_updated")}]}), "sort")
    assert ro_search.post({"query": of_type("lead"), "sort": [sort_by("lead", "date_created")]}).status_code == 200


# -- _fields ------------------------------------------------------------------------------------
def test_fields_bring_exactly_the_named_keys(ro_search, ro_sandbox, leads):
    api = Api(ro_sandbox)
    lead = next(l for l in leads if l["contacts"] and l["addresses"]
                and sum(k.startswith("custom.") for k in l) >= 2)
    cf, absent_cf = sorted(k for k in lead if k.startswith("custom."))[0], "custom.cf_not_a_field"
    wanted = ["name", "custom", cf, absent_cf, "contacts", "addresses", "tasks", "no_such_field"]
    got = ro_search.walk({"query": of_type("lead"), "_fields": {"lead": wanted, "contact": ["title"]},
                          "_limit": 200})
    item = next(i for i in got if i["id"] == lead["id"])
    served = api.json("/lead/%s/" % lead["id"])
    assert set(item) == {"__object_type", "id", "name", "custom", cf, "contacts", "addresses", "tasks"}
    assert all(item[k] == served[k] for k in item if k != "__object_type")
    assert item["contacts"] == served["contacts"] and item["contacts"]       # nested lists as GET serves them
    # `custom` is only the lead's dict: not every custom.cf_* key
    other_cfs = {k for k in lead if k.startswith("custom.")} - {cf}
    assert other_cfs and not other_cfs & set(item)


def test_contact_fields_and_no_fields_entry(ro_search, ro_sandbox):
    contact = next(c for c in ro_sandbox.store.records("contact") if any(k.startswith("custom.") for k in c))
    cf = next(k for k in contact if k.startswith("custom."))
    body = {"query": of_type("contact", condition(regular("contact", "lead_id"),
                                                  {"type": "reference", "reference_type": "lead",
                                                   "object_ids": [contact["lead_id"]]}))}
    got = ro_search.ok(dict(body, _fields={"contact": ["emails", cf, "custom"]}))["data"]
    item = next(i for i in got if i["id"] == contact["id"])
    assert item == {"__object_type": "contact", "id": contact["id"], "emails": contact["emails"], cf: contact[cf]}
    ids_only = ro_search.ok(dict(body, _fields={"lead": ["name"]}))["data"]        # no entry for contact
    assert ids_only and all(set(i) == {"__object_type", "id"} for i in ids_only)
    bad(ro_search.post(dict(body, _fields=["emails"])), "_fields")


# -- _limit, counts, results_limit ------------------------------------------------------------
def test_limit_bounds(ro_search):
    for limit in (201, 0, -1, "10", 2.5, True):
        bad(ro_search.post({"query": of_type("lead"), "_limit": limit}), "_limit")
    assert len(ro_search.ok({"query": of_type("lead"), "_limit": 200})["data"]) == 120
    assert len(ro_search.ok({"query": of_type("lead")})["data"]) == search.DEFAULT_LIMIT


def test_include_counts_and_results_limit(ro_search, leads):
    query = of_type("lead", updated_since("lead", "2024-05-01T00:00:00Z"))
    want = sorted(l["id"] for l in leads if us(l["date_updated"]) >= us("2024-05-01"))
    page = ro_search.ok({"query": query, "include_counts": True, "_limit": 5})
    assert page["count"] == {"total": len(want)} and len(page["data"]) == 5 and len(want) > 12
    assert "count" not in ro_search.ok({"query": query, "_limit": 5})
    only_count = ro_search.ok({"query": query, "include_counts": True, "results_limit": 0})
    assert only_count == {"data": [], "cursor": None, "count": {"total": len(want)}}
    capped = ro_search.walk({"query": query, "_limit": 5, "results_limit": 12})
    assert len(capped) == 12 and len({i["id"] for i in capped}) == 12 and set(i["id"] for i in capped) <= set(want)
    bad(ro_search.post({"query": query, "results_limit": -1}), "results_limit")
    bad(ro_search.post({"query": query, "include_counts": "yes"}), "include_counts")


# -- cursor -------------------------------------------------------------------------------------
def test_cursor_walk_returns_every_match_once(ro_search, leads):
    query = of_type("lead", updated_since("lead", "2024-02-01T00:00:00Z"))
    want = sorted(l["id"] for l in leads if us(l["date_updated"]) >= us("2024-02-01"))
    pages = []
    body = {"query": query, "_limit": 7, "sort": [sort_by("lead", "date_updated")]}
    while True:
        page = ro_search.ok(body)
        pages.append(page)
        if not page["cursor"]:
            break
        body["cursor"] = page["cursor"]
    got = [i["id"] for p in pages for i in p["data"]]
    assert sorted(got) == want and len(pages) == -(-len(want) // 7) and len(pages) > 3
    assert all(p["cursor"] for p in pages[:-1]) and pages[-1]["cursor"] is None


def test_writes_between_pages_move_records_without_breaking_the_cursor(fresh):
    sb, _ = fresh
    s = Search(sb)
    body = {"query": of_type("lead"), "_limit": 5, "sort": [sort_by("lead", "date_updated")]}
    first = s.ok(body)
    before = [l["id"] for l in sb.store.records("lead")]
    served_first = [i["id"] for i in first["data"]]
    moved = next(i for i in before if i not in served_first)
    sb.clock.advance(10)
    sb.update_lead(moved, description="moved to the end")      # a later date_updated: a later position
    rest = s.walk(dict(body, cursor=first["cursor"]))
    got = served_first + [i["id"] for i in rest]
    assert sorted(got) == sorted(before) and got[-1] == moved


def test_cursor_cap(sandbox_factory):
    sb = sandbox_factory(seed=5, leads=30, activities_per_lead=1, tasks_per_lead=1, events=10, now=NOW,
                         search_cursor_cap=10)
    s = Search(sb)
    body = {"query": of_type("lead"), "_limit": 4}
    sizes, cursor = [], None
    for _ in range(3):
        page = s.ok(dict(body, cursor=cursor))
        sizes.append(len(page["data"]))
        cursor = page["cursor"]
    assert sizes == [4, 4, 2] and cursor
    body_ = bad(s.post(dict(body, cursor=cursor)), "cursor")
    assert "maximum" in body_["field-errors"]["cursor"]
    sb.search_cursor_cap = 10000                  # the same walk, uncapped, ends by itself
    assert len(s.walk(body)) == 30


def test_cursor_expiry(fresh):
    sb, _ = fresh
    s = Search(sb)
    body = {"query": of_type("lead"), "_limit": 5}
    sb.search_cursor_ttl = 10 ** 9               # no test timing can make this one expire
    cursor = s.ok(body)["cursor"]
    assert s.post(dict(body, cursor=cursor)).status_code == 200        # within the TTL: valid
    sb.search_cursor_ttl = 0
    assert "expired" in bad(s.post(dict(body, cursor=cursor)), "cursor")["field-errors"]["cursor"]


def test_cursor_of_another_query_or_garbage_is_400(ro_search):
    body = {"query": of_type("lead"), "_limit": 5}
    cursor = ro_search.ok(body)["cursor"]
    assert ro_search.post(dict(body, cursor=cursor, _limit=9)).status_code == 200    # _limit may change
    other = {"query": of_type("lead", {"type": "match_all"}), "cursor": cursor}
    assert "different query" in bad(ro_search.post(other), "cursor")["field-errors"]["cursor"]
    resorted = dict(body, cursor=cursor, sort=[sort_by("lead", "date_created")])
    bad(ro_search.post(resorted), "cursor")
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    tampered = base64.urlsafe_b64encode(raw.replace(b'"n":5', b'"n":0')).decode().rstrip("=")
    assert tampered != cursor
    for garbage in ("garbage", tampered, 12, "e30"):
        bad(ro_search.post(dict(body, cursor=garbage)), "cursor")
    assert ro_search.ok(dict(body, cursor=""))["data"] == ro_search.ok(body)["data"]     # empty: no cursor


# -- index lag ----------------------------------------------------------------------------------
def test_index_lag_hides_fresh_writes_until_the_lag_has_passed(sandbox_factory):
    sb = sandbox_factory(seed=5, leads=30, activities_per_lead=1, tasks_per_lead=1, events=10, now=NOW,
                         search_index_lag=60)
    s = Search(sb)
    everyone = sorted(l["id"] for l in sb.store.records("lead"))
    assert sorted(s.ids(of_type("lead"))) == everyone            # generated data is older than the lag
    touched = everyone[3]
    sb.clock.advance(5)
    sb.update_lead(touched, description="fresh")
    added = sb.add_lead()["id"]
    query = of_type("lead", updated_since("lead", "2024-01-01T00:00:00Z"))
    visible = s.ids(query)
    assert touched not in visible and added not in visible and len(visible) == 29
    assert s.ok({"query": query, "include_counts": True})["count"] == {"total": 29}
    sb.clock.advance(60)
    visible = s.ids(query)
    assert touched in visible and added in visible and len(visible) == 31


# -- performance: bisected, cached -------------------------------------------------------------
def test_date_range_is_bisected_and_the_result_cached(fresh, monkeypatch):
    sb, _ = fresh
    contacts = sb.store.records("contact")
    since = sorted(us(c["date_updated"]) for c in contacts)[-12]
    calls = {"matching": 0, "candidates": []}
    matching, candidates = search._matching, search._candidates

    def counting_matching(coll, req):
        calls["matching"] += 1
        return matching(coll, req)

    def recording_candidates(coll, ranges):
        out = candidates(coll, ranges)
        calls["candidates"].append(len(out))
        return out
    monkeypatch.setattr(search, "_matching", counting_matching)
    monkeypatch.setattr(search, "_candidates", recording_candidates)
    query = of_type("contact", updated_since("contact", timefmt.fmt(since)))
    got = Search(sb).walk({"query": query, "_limit": 5})
    assert len(got) == sum(us(c["date_updated"]) >= since for c in contacts) >= 12
    assert calls["matching"] == 1                          # three pages, one selection
    assert calls["candidates"] == [len(got)] and len(got) < len(contacts)     # only the index span
    sb.update_contact(got[0]["id"], title="x")             # a write: a new collection version
    Search(sb).ok({"query": query})
    assert calls["matching"] == 2


# -- HTTP: method, auth, rate limit group, request log, drift -----------------------------------
def test_only_post_and_only_with_the_key(ro_sandbox, ro_search):
    body = {"query": of_type("lead")}
    r = requests.get(ro_sandbox.url + SEARCH, auth=AUTH, timeout=10)
    assert r.status_code == 405 and r.json()["error"] == "The method is not allowed for the requested URL."
    r = requests.post(ro_sandbox.url + SEARCH, json={"_params": {}}, auth=AUTH, timeout=10,
                      headers={"x-http-method-override": "GET"})
    assert r.status_code == 405
    assert requests.post(ro_sandbox.url + SEARCH, json=body, timeout=10).status_code == 401
    assert requests.post(ro_sandbox.url + SEARCH, json=body, auth=("wrong", ""), timeout=10).status_code == 401
    assert ro_search.post(body).status_code == 200
    assert requests.post(ro_sandbox.url + "/lead/", json=body, auth=AUTH, timeout=10).status_code == 405


def test_rate_limit_group_data_is_its_own(sandbox_factory):
    sb = sandbox_factory(seed=6, leads=10, rate=0.01, burst=2)
    s, api = Search(sb), Api(sb)
    body = {"query": of_type("lead")}
    assert [s.post(body).status_code for _ in range(3)] == [200, 200, 429]
    assert api.get("/lead/").status_code == 200
    assert sb.stats()["rate_limited"] == {"data": 1}
    assert {e["group"] for e in sb.request_log if e["path"] == SEARCH} == {"data"}


def test_request_log_keeps_the_body(fresh):
    sb, api = fresh
    body = {"query": of_type("lead"), "_limit": 3}
    Search(sb).ok(body)
    api.get("/lead/", _limit=1)
    search_entry, list_entry = sb.request_log[-2:]
    assert search_entry["method"] == "POST" and search_entry["path"] == SEARCH and search_entry["body"] == body
    assert "body" not in list_entry and list_entry["path"] == "/lead/"


def test_drift_reaches_search_results(fresh):
    sb, _ = fresh
    sb.faults.drift("contact", "title", {"text": "CEO"}, after=1)
    contact_body = {"query": of_type("contact"), "_fields": {"contact": ["title"]}, "_limit": 200}
    first = Search(sb).ok(contact_body)["data"]          # a contact search counts as a contact list
    assert first and all(c["title"] != {"text": "CEO"} for c in first)
    contacts = Search(sb).ok(contact_body)["data"]
    assert contacts and all(c["title"] == {"text": "CEO"} for c in contacts)
    leads = Search(sb).ok({"query": of_type("lead"), "_fields": {"lead": ["contacts"]}, "_limit": 200})["data"]
    nested = [c for i in leads for c in i["contacts"]]
    assert nested and all(c["title"] == {"text": "CEO"} for c in nested)        # inside leads too
    ids_only = Search(sb).ok({"query": of_type("contact")})["data"]       # fields not asked for stay out
    assert ids_only and all(set(c) == {"__object_type", "id"} for c in ids_only)


def test_knobs_through_the_control_endpoint(fresh):
    sb, _ = fresh
    control = sb.url.replace("/api/v1", "") + "/_sandbox/limits"
    r = requests.post(control, json={"search_index_lag": 5, "search_time_precision": "s",
                                     "search_cursor_cap": 50, "search_cursor_ttl": 7}, timeout=10)
    assert r.status_code == 200
    assert (sb.search_index_lag, sb.search_time_precision, sb.search_cursor_cap, sb.search_cursor_ttl) == \
        (5, "s", 50, 7)
    assert requests.post(control, json={"search_time_precision": "minute"}, timeout=10).status_code == 400
    assert sb.search_time_precision == "s"


# -- GET /contact/ ignores what it does not know ----------------------------------------------
def test_contact_list_ignores_date_filters_and_order(api, ro_sandbox):
    everything = [c["id"] for c in api.all("/contact/")]
    assert everything and len(everything) == len(ro_sandbox.store.records("contact"))
    future = (NOW + timedelta(days=30)).isoformat()
    assert [c["id"] for c in api.all("/contact/", date_updated__gt=future)] == everything
    assert [c["id"] for c in api.all("/contact/", _order_by="date_updated", date_created__lt="2000-01-01")] == everything

