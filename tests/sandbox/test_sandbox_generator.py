import time
from datetime import timedelta

from close_sandbox import Sandbox, timefmt
from sandbox_helpers import NOW, Api

KINDS = ("user", "lead", "activity", "task", "custom_field", "event", "contact", "opportunity")


def _dump(sb):
    return {k: sb.store.records(k, **({"include_expired": True} if k == "event" else {})) for k in KINDS}


def test_same_seed_same_data_different_seed_differs():
    kw = dict(leads=25, activities_per_lead=3, events=60, now=NOW)
    a, b, c = Sandbox(seed=1, **kw), Sandbox(seed=1, **kw), Sandbox(seed=2, **kw)
    assert _dump(a) == _dump(b)
    da, dc = _dump(a), _dump(c)
    assert all(da[k] != dc[k] for k in KINDS)


def test_counts_and_span():
    sb = Sandbox(seed=8, leads=40, users=4, activities_per_lead=5, tasks_per_lead=2, events=90, days=100, now=NOW)
    s = sb.store
    assert len(s.records("lead")) == 40 and len(s.records("user")) == 4
    assert 40 * 5 * 0.6 < len(s.records("activity")) < 40 * 5 * 1.4
    assert len(s.records("event", include_expired=True)) == 90
    lo = timefmt.to_us(NOW - timedelta(days=100))
    assert all(lo <= timefmt.parse(l["date_created"]) <= timefmt.to_us(NOW) for l in s.records("lead"))
    assert {a["_type"] for a in s.records("activity")} >= {
        "Note", "Call", "Email", "EmailThread", "SMS", "Meeting", "LeadStatusChange",
        "OpportunityStatusChange", "TaskCompleted", "Created", "CustomActivity"}
    assert {t["_type"] for t in s.records("task")} >= {"lead", "email_followup", "missed_call", "opportunity_due"}
    assert {t["is_complete"] for t in s.records("task")} == {True, False}
    leads = {l["id"]: l for l in s.records("lead")}
    for a in s.records("activity"):
        lead = leads[a["lead_id"]]
        assert lead["date_created"] <= a["date_created"] or \
            timefmt.parse(lead["date_created"]) <= timefmt.parse(a["date_created"])
        assert timefmt.parse(a["date_updated"]) >= timefmt.parse(a["date_created"])
        assert timefmt.parse(lead["date_updated"]) >= timefmt.parse(a["date_updated"])
    assert any(a["date_updated"] != a["date_created"] for a in s.records("activity"))
    # custom field definitions older than any start date, a few edited recently
    defs = s.records("custom_field")
    assert all(timefmt.parse(d["date_created"]) < lo for d in defs)
    assert any(timefmt.parse(d["date_updated"]) > timefmt.to_us(NOW - timedelta(days=11)) for d in defs)


def test_minute_and_day_clusters(ro_sandbox):
    api = Api(ro_sandbox)
    (m0, m1), (d0, d1) = ro_sandbox.clusters["minute"], ro_sandbox.clusters["day"]
    assert m1 - m0 == timedelta(minutes=1) and d1 - d0 == timedelta(days=1)
    fmt = lambda d: d.strftime("%Y-%m-%dT%H:%M")
    leads = api.all("/lead/", query='date_updated>="%s" date_updated<"%s"' % (fmt(m0), fmt(m1)))
    assert len(leads) == 7
    acts = api.all("/activity/", date_created__gte=m0.isoformat(), date_created__lt=m1.isoformat())
    assert len(acts) == 7
    tasks = api.all("/task/", _type="all", date_updated__gte=m0.isoformat(), date_updated__lt=m1.isoformat())
    assert len(tasks) == 7
    assert len(api.all("/lead/", query='date_updated>="%s" date_updated<"%s"' % (fmt(d0), fmt(d1)))) == 9
    assert len(api.all("/activity/", date_created__gte=d0.isoformat(), date_created__lt=d1.isoformat())) == 9
    assert len(api.all("/task/", _type="all", date_updated__gte=d0.isoformat(),
                       date_updated__lt=d1.isoformat())) == 9


def test_real_clock_default():
    sb = Sandbox(seed=1, leads=5, events=10)
    newest = max(timefmt.parse(l["date_updated"]) for l in sb.store.records("lead"))
    assert newest <= sb.clock.now_us() and not sb.clock.frozen
    before = sb.clock.now_us()
    time.sleep(0.01)
    assert sb.clock.now_us() > before


def test_ids_do_not_depend_on_generation_time():
    later = NOW + timedelta(days=3, seconds=17, milliseconds=123)
    a = Sandbox(seed=12, leads=20, activities_per_lead=3, events=50, now=NOW)
    b = Sandbox(seed=12, leads=20, activities_per_lead=3, events=50, now=later)
    for kind in ("lead", "activity", "task", "contact", "user"):
        assert sorted(r["id"] for r in a.store.records(kind)) == sorted(r["id"] for r in b.store.records(kind)), kind
    shift = timefmt.to_us(later) - timefmt.to_us(NOW)
    la = {l["id"]: timefmt.parse(l["date_created"]) for l in a.store.records("lead")}
    lb = {l["id"]: timefmt.parse(l["date_created"]) for l in b.store.records("lead")}
    assert all(abs(lb[i] - la[i] - shift) < 1_000_000 for i in la)      # same offsets from "now"
