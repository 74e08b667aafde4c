from datetime import datetime, timezone

from close_sandbox import timefmt
from sandbox_helpers import Api


def ts(s):
    return timefmt.parse(s)


# -- activities ----------------------------------------------------------------
def test_activity_date_created_filters_and_newest_first(api, ro_sandbox):
    lo, hi = "2024-02-01T00:00:00", "2024-03-15T12:30:00"
    got = api.all("/activity/", date_created__gte=lo, date_created__lt=hi)
    want = [a for a in ro_sandbox.store.records("activity") if ts(lo) <= ts(a["date_created"]) < ts(hi)]
    assert [a["id"] for a in got] == [a["id"] for a in want] and got
    keys = [(ts(a["date_created"]), a["id"]) for a in got]
    assert keys == sorted(keys, reverse=True)
    # gt/lte are exclusive/inclusive at full precision
    edge = got[3]["date_created"]
    assert edge not in [a["date_created"] for a in api.all("/activity/", date_created__gt=edge)]
    assert edge in [a["date_created"] for a in api.all("/activity/", date_created__lte=edge, date_created__gte=edge)]


def test_activity_date_formats_accepted(api):
    for value in ("2024-03-01", "2024-03-01T00:00", "2024-03-01T00:00:00", "2024-03-01T00:00:00.000000",
                  "2024-03-01T00:00:00Z", "2024-03-01T02:00:00+02:00", "2024-02-29T19:00:00-05:00"):
        assert api.json("/activity/", date_created__gt=value, _fields="id") == \
            api.json("/activity/", date_created__gt="2024-03-01T00:00:00", _fields="id"), value
    for bad in ("yesterday", "2024-13-01", "2024-03-01T25:00", "1709251200"):
        r = api.get("/activity/", date_created__gt=bad)
        assert r.status_code == 400 and "error" in r.json()


def test_activity_has_no_date_updated_filter(api):
    everything = api.json("/activity/", _fields="id")
    ignored = api.json("/activity/", date_updated__gt="2099-01-01", date_updated__lt="2000-01-01", _fields="id")
    assert ignored == everything and everything["data"]


def test_activity_order_by_ignored_org_wide(api):
    assert api.json("/activity/", _order_by="date_created", _fields="id") == api.json("/activity/", _fields="id")


def test_typed_activity_endpoints(api, ro_sandbox):
    recs = ro_sandbox.store.records("activity")
    for endpoint, _type in [("note", "Note"), ("call", "Call"), ("email", "Email"), ("emailthread", "EmailThread"),
                            ("sms", "SMS"), ("meeting", "Meeting"), ("created", "Created"),
                            ("status_change/lead", "LeadStatusChange"),
                            ("status_change/opportunity", "OpportunityStatusChange"),
                            ("task_completed", "TaskCompleted"), ("custom", "CustomActivity")]:
        got = api.all("/activity/%s/" % endpoint)
        assert got and {a["_type"] for a in got} == {_type}, endpoint
        assert [a["id"] for a in got] == [a["id"] for a in recs if a["_type"] == _type]


def test_activity_type_filter_needs_single_lead(api, ro_sandbox):
    for name in ("_type", "_type__in", "user_id", "contact_id"):
        r = api.get("/activity/", **{name: "Call"})
        assert r.status_code == 400 and "lead_id" in r.json()["error"]
    lead = next(l for l in ro_sandbox.store.records("lead")
                if len({a["_type"] for a in ro_sandbox.store.records("activity") if a["lead_id"] == l["id"]}) > 2)
    mine = [a for a in ro_sandbox.store.records("activity") if a["lead_id"] == lead["id"]]
    got = api.all("/activity/", lead_id=lead["id"])
    assert [a["id"] for a in got] == [a["id"] for a in mine]
    types = sorted({a["_type"] for a in mine})[:2]
    got = api.all("/activity/", lead_id=lead["id"], _type__in=",".join(types))
    assert [a["id"] for a in got] == [a["id"] for a in mine if a["_type"] in types]


# -- tasks -----------------------------------------------------------------------
def test_task_type_defaults_to_lead(api, ro_sandbox):
    every = ro_sandbox.store.records("task")
    default = api.all("/task/")
    assert {t["_type"] for t in default} == {"lead"}
    assert len(default) == sum(t["_type"] == "lead" for t in every)
    assert len(api.all("/task/", _type="all")) == len(every)
    got = api.all("/task/", _type__in="missed_call,voicemail")
    assert {t["_type"] for t in got} == {"missed_call", "voicemail"}
    assert {t["_type"] for t in api.all("/task/", _type="email_followup")} == {"email_followup"}
    assert {t["is_complete"] for t in default} == {True, False}
    assert {t["is_complete"] for t in api.all("/task/", is_complete="false")} == {False}


def test_task_date_updated_filter_and_orders(api, ro_sandbox):
    lo = "2024-04-01T00:00:00"
    got = api.all("/task/", _type="all", date_updated__gt=lo, _order_by="date_created")
    want = [t for t in ro_sandbox.store.records("task") if ts(t["date_updated"]) > ts(lo)]
    assert sorted(t["id"] for t in got) == sorted(t["id"] for t in want) and got
    keys = [(ts(t["date_created"]), t["id"]) for t in got]
    assert keys == sorted(keys)
    default = api.all("/task/", _type="all")
    keys = [(ts(t["date_created"]), t["id"]) for t in default]
    assert keys == sorted(keys, reverse=True)                     # default -date_created
    by_date = [t["date"] or "" for t in api.all("/task/", _type="all", _order_by="-date")]
    assert by_date == sorted(by_date, reverse=True)
    assert api.get("/task/", _order_by="-date_updated").status_code == 400
    got = api.all("/task/", _type="all", date_created__gte="2024-05-01", date_created__lte="2024-05-20")
    assert all("2024-05-01" <= t["date_created"][:10] <= "2024-05-20" for t in got) and got


# -- users, opportunities ----------------------------------------------------------
def test_user_order_by(api):
    users = api.json("/user/", _order_by="last_name,first_name")["data"]
    assert [(u["last_name"], u["first_name"]) for u in users] == sorted((u["last_name"], u["first_name"]) for u in users)
    users = api.json("/user/", _order_by="first_name,last_name")["data"]
    assert [(u["first_name"], u["last_name"]) for u in users] == sorted((u["first_name"], u["last_name"]) for u in users)
    assert api.get("/user/", _order_by="-date_created").status_code == 400


def test_opportunity_filters(api, ro_sandbox):
    lo = "2024-03-01"
    got = api.all("/opportunity/", date_updated__gte=lo, _order_by="date_updated", limit=250)
    want = [o for o in ro_sandbox.store.records("opportunity") if ts(o["date_updated"]) >= ts(lo)]
    assert sorted(o["id"] for o in got) == sorted(o["id"] for o in want) and got
    keys = [(ts(o["date_updated"]), o["id"]) for o in got]
    assert keys == sorted(keys)
    lead_id = got[0]["lead_id"]
    assert {o["lead_id"] for o in api.all("/opportunity/", lead_id=lead_id)} == {lead_id}


# -- lead search -------------------------------------------------------------------
def test_lead_query_minute_precision(sandbox_factory):
    sb = sandbox_factory(seed=4, leads=10, now=datetime(2024, 5, 1, 12, 34, 30, tzinfo=timezone.utc))
    api = Api(sb)
    lead_id = sb.store.records("lead")[-1]["id"]
    assert sb.update_lead(lead_id, name="Minute Corp")["date_updated"] == "2024-05-01T12:34:30+00:00"

    def ids(q):
        return {l["id"] for l in api.all("/lead/", query=q)}
    assert lead_id in ids('date_updated>="2024-05-01T12:34"')
    assert lead_id not in ids('date_updated>"2024-05-01T12:34"')
    assert lead_id in ids('date_updated>"2024-05-01T12:33"')
    assert lead_id in ids('date_updated<="2024-05-01T12:34"')
    assert lead_id not in ids('date_updated<"2024-05-01T12:34"')
    assert lead_id in ids("date_updated>=2024-05-01T12:34:59")     # seconds truncated too
    assert lead_id in ids("date_updated >= 2024-05-01 sort:updated")
    assert ids('date_updated>"2024-05-01T12:34"') == set()


def test_lead_query_matches_reference_model(api, ro_sandbox):
    lo, hi = "2024-01-10T08:15", "2024-04-02T17:45"
    got = api.all("/lead/", limit=200, query='sort:updated date_updated > "%s" date_updated <= "%s"' % (lo, hi))
    minute = lambda v: timefmt.floor_minute(ts(v))
    want = [l for l in ro_sandbox.store.records("lead") if minute(lo) < minute(l["date_updated"]) <= minute(hi)]
    assert sorted(l["id"] for l in got) == sorted(l["id"] for l in want) and got
    keys = [(ts(l["date_updated"]), l["id"]) for l in got]
    assert keys == sorted(keys)


def test_lead_sort_orders(api):
    def keys(query, field):
        return [(ts(l[field]), l["id"]) for l in api.all("/lead/", limit=200, query=query)]
    for q, field, desc in [("sort:date_updated", "date_updated", False), ("sort:-date_updated", "date_updated", True),
                           ("sort:updated", "date_updated", False), ("sort:created", "date_created", False),
                           ("sort:date_created", "date_created", False), ("sort:-date_created", "date_created", True),
                           ("", "date_created", True)]:
        k = keys(q, field)
        assert k == sorted(k, reverse=desc) and len(k) == 120, q
    assert api.get("/lead/", query="sort:bogus").status_code == 400
    assert api.get("/lead/", query='date_updated>="not a date"').status_code == 400


def test_lead_total_results_follows_query(api):
    q = 'date_created>="2024-04-01"'
    body = api.json("/lead/", query=q, _limit=0)
    assert body["total_results"] == len(api.all("/lead/", query=q)) > 0


def test_task_and_opportunity_lead_filters_and_desc_order(api, ro_sandbox):
    task = next(t for t in ro_sandbox.store.records("task") if t["_type"] == "lead")
    got = api.all("/task/", lead_id=task["lead_id"])
    assert task["id"] in {t["id"] for t in got} and {t["lead_id"] for t in got} == {task["lead_id"]}
    opps = api.all("/opportunity/", _order_by="-date_updated", limit=250)
    keys = [(ts(o["date_updated"]), o["id"]) for o in opps]
    assert keys == sorted(keys, reverse=True) and len(opps) == len(ro_sandbox.store.records("opportunity"))
    assert api.get("/opportunity/", _order_by="value").status_code == 400


def test_method_override_list_values(api, ro_sandbox):
    import requests
    lead = ro_sandbox.store.records("lead")[0]
    want = api.json("/task/", _type__in="lead,missed_call", lead_id=lead["id"])
    r = requests.post(ro_sandbox.url + "/task/", auth=("test-key", ""), headers={"X-HTTP-Method-Override": "GET"},
                      json={"_params": {"_type__in": ["lead", "missed_call"], "lead_id": lead["id"]}})
    assert r.status_code == 200 and r.json() == want
