import re
from datetime import timedelta

import requests

from close_sandbox import Sandbox, timefmt
from sandbox_helpers import NOW, TS_RE


def _events(sb, **match):
    return [e for e in sb.store.records("event") if all(e[k] == v for k, v in match.items())]


def test_update_lead_moves_date_updated_and_emits_event(fresh):
    sb, api = fresh
    sb.clock.advance(60)
    lead = sb.store.records("lead")[5]
    new = sb.update_lead(lead["id"], name="Renamed Inc", description="changed")
    assert new["date_updated"] == timefmt.fmt(timefmt.to_us(NOW + timedelta(seconds=60)))
    assert new["date_updated"] > lead["date_updated"] and new["name"] == "Renamed Inc"
    assert api.json("/lead/%s/" % lead["id"]) == new
    evs = _events(sb, object_id=lead["id"], action="updated")
    ev = evs[0]
    assert ev["object_type"] == "lead" and ev["lead_id"] == lead["id"]
    assert {"name", "display_name", "description", "date_updated"} <= set(ev["changed_fields"])
    assert ev["previous_data"]["name"] == lead["name"] and ev["data"]["name"] == "Renamed Inc"
    assert ev["meta"] == {"request_path": "/api/v1/lead/%s/" % lead["id"], "request_method": "PUT"}
    assert api.events(object_type="lead", object_id=lead["id"])[0]["id"] == ev["id"]
    # the lead now sorts last by date_updated
    got = api.all("/lead/", query="sort:date_updated", limit=200)
    assert got[-1]["id"] == lead["id"]


def test_custom_value_update(fresh):
    sb, api = fresh
    cf = next(d for d in sb.store.custom_fields("lead") if d["type"] == "text")
    lead = sb.store.records("lead")[0]
    new = sb.update_lead(lead["id"], **{"custom." + cf["id"]: "hello"})
    assert new["custom." + cf["id"]] == "hello" and new["custom"][cf["name"]] == "hello"


def test_activity_moves_lead_without_lead_event(fresh):
    sb, api = fresh
    sb.clock.advance(120)
    lead = sb.store.records("lead")[3]
    before = len(_events(sb, object_type="lead", object_id=lead["id"]))
    act = sb.add_activity(lead["id"], _type="Call", note="new call")
    assert act["_type"] == "Call" and act["lead_id"] == lead["id"] and re.match(TS_RE, act["date_created"])
    moved = api.json("/lead/%s/" % lead["id"])
    assert moved["date_updated"] == act["date_created"] > lead["date_updated"]
    assert len(_events(sb, object_type="lead", object_id=lead["id"])) == before
    created = _events(sb, object_id=act["id"])
    assert [(e["object_type"], e["action"]) for e in created] == [("activity.call", "created")]
    assert api.json("/activity/", _limit=1)["data"][0]["id"] == act["id"]        # newest first
    sb.clock.advance(5)
    edited = sb.update_activity(act["id"], note="edited")
    assert edited["date_updated"] > edited["date_created"] and edited["note_html"] == "<body><p>edited</p></body>"
    assert api.json("/lead/%s/" % lead["id"])["date_updated"] == edited["date_updated"]
    assert _events(sb, object_id=act["id"])[0]["changed_fields"] == sorted(
        ["date_updated", "note", "note_html", "updated_by", "updated_by_name"]) or \
        {"date_updated", "note", "note_html"} <= set(_events(sb, object_id=act["id"])[0]["changed_fields"])


def test_tasks(fresh):
    sb, api = fresh
    sb.clock.advance(30)
    lead = sb.store.records("lead")[1]
    task = sb.add_task(lead["id"], text="Call back")
    assert task["id"].startswith("task_") and task["is_complete"] is False
    assert task["id"] in [t["id"] for t in api.json("/lead/%s/" % lead["id"])["tasks"]]
    sb.clock.advance(30)
    done = sb.update_task(task["id"], is_complete=True)
    assert done["view"] == "archive" and done["date_updated"] > task["date_updated"]
    assert task["id"] not in [t["id"] for t in api.json("/lead/%s/" % lead["id"])["tasks"]]
    got = api.all("/task/", date_updated__gte=done["date_updated"])
    assert [t["id"] for t in got] == [task["id"]]
    ev = _events(sb, object_id=task["id"])
    assert [e["action"] for e in ev] == ["updated", "created"] and ev[0]["object_type"] == "task.lead"
    assert "is_complete" in ev[0]["changed_fields"] and ev[0]["previous_data"]["is_complete"] is False


def test_delete_lead_cascades(fresh):
    sb, api = fresh
    lead = next(l for l in sb.store.records("lead") if l["opportunities"] and l["contacts"])
    lid = lead["id"]
    kids = {k: [r["id"] for r in sb.store.records(k) if r["lead_id"] == lid]
            for k in ("contact", "opportunity", "task", "activity")}
    assert kids["activity"] and kids["contact"]
    sb.delete_lead(lid)
    assert api.get("/lead/%s/" % lid).status_code == 404
    for kind, ids in kids.items():
        assert not set(ids) & {r["id"] for r in sb.store.records(kind)}, kind
    assert not [a for a in api.all("/activity/") if a["lead_id"] == lid]
    evs = [e for e in api.events(lead_id=lid) if e["action"] == "deleted"]
    assert {e["object_id"] for e in evs} == {lid, *[i for ids in kids.values() for i in ids]}
    assert all(e["data"] is None for e in evs)
    assert len({e["request_id"] for e in evs}) == 1


def test_add_lead(fresh):
    sb, api = fresh
    total = api.json("/lead/", _limit=0)["total_results"]
    lead = sb.add_lead(name="Brand New LLC")
    assert lead["display_name"] == "Brand New LLC" and lead["contacts"]
    assert api.json("/lead/", _limit=0)["total_results"] == total + 1
    assert api.json("/lead/", _limit=1)["data"][0]["id"] == lead["id"]
    assert {e["object_type"] for e in api.events(lead_id=lead["id"])} >= {"lead", "contact"}


def test_user_and_custom_field_updates(fresh):
    sb, api = fresh
    sb.clock.advance(10)
    uid = sb.store.records("user")[1]["id"]
    u = sb.update_user(uid, first_name="Zed")
    assert api.json("/user/%s/" % uid) == u and u["date_updated"] == timefmt.fmt(sb.clock.now_us())
    cf = sb.store.custom_fields("contact")[0]
    new = sb.update_custom_field("contact", cf["id"], description="now documented")
    assert api.json("/custom_field/contact/%s/" % cf["id"])["description"] == "now documented"
    assert new["date_updated"] > cf["date_updated"]


def test_add_event(fresh):
    sb, api = fresh
    ev = sb.add_event(object_type="opportunity", action="updated",
                      date_created=NOW - timedelta(minutes=3), date_updated=NOW - timedelta(minutes=1),
                      lead_id=None, user_id=None)
    assert ev["date_created"] == timefmt.fmt_naive(timefmt.to_us(NOW - timedelta(minutes=3)))
    assert api.json("/event/%s/" % ev["id"]) == ev
    assert ev["id"] in {e["id"] for e in api.events()}


def test_control_mutations_deterministic():
    def run():
        sb = Sandbox(seed=11, leads=15, activities_per_lead=2, events=30, now=NOW).start()
        try:
            base = sb.url.replace("/api/v1", "/_sandbox")
            out = []
            for body in ({"action": "touch_leads", "count": 3}, {"action": "add_activities", "count": 4},
                         {"action": "update_tasks", "count": 2}, {"action": "delete_leads", "count": 1},
                         {"action": "add_leads", "count": 2}):
                r = requests.post(base + "/mutate", json=body)
                assert r.status_code == 200, r.text
                assert r.json()["action"] == body["action"]
                out.append(r.json()["ids"])
            assert len(out[0]) == 3 and len(out[1]) == 4 and len(out[4]) == 2
            stats = requests.get(base + "/stats").json()
            assert set(stats) == {"requests", "status", "rate_limited"}
            return out, sb.store.records("lead")
        finally:
            sb.stop()
    a, b = run(), run()
    assert a == b


def test_control_faults_and_limits(fresh):
    sb, api = fresh
    base = sb.url.replace("/api/v1", "/_sandbox")
    assert requests.post(base + "/faults", json={"fail_burst": {"n": 1, "status": 504}}).status_code == 200
    assert api.get("/user/").status_code == 504
    requests.post(base + "/limits", json={"group": "user", "rate": 1, "burst": 1, "body": "empty"})
    assert [api.get("/user/").status_code for _ in range(2)] == [200, 429]
    requests.post(base + "/limits", json={"max_skip": {"group": "lead", "n": 3}})
    assert "max_skip = 3" in api.get("/lead/", _skip=4).json()["error"]
    requests.post(base + "/faults", json={"clear": True})
    log = requests.get(base + "/requests").json()
    assert log["total"] == len(log["requests"]) and log["requests"][-1]["path"] == "/lead/"
