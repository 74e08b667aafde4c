"""Contract tests for the endpoints behind the second wave of streams: contacts,
opportunities, statuses, pipelines, custom activity types and instances, `id__in` on the
activity lists, and single-object deletions with their events."""
import re

from sandbox_helpers import NAIVE_RE, TS_RE


def test_contacts_page_by_offset_without_date_filters(api, ro_sandbox):
    """Close's /contact/ has no date filter (reference 4.1, PostHog's note): one is ignored."""
    everything = api.all("/contact/", limit=100)
    assert {c["id"] for c in everything} == {c["id"] for c in ro_sandbox.store.records("contact")}
    filtered = api.all("/contact/", limit=100, date_updated__gte="2099-01-01")
    assert len(filtered) == len(everything)
    assert api.get("/contact/", _limit=101).status_code == 400, "100 is the contact page maximum"
    body = api.json("/contact/", _limit=5)
    assert set(body) == {"has_more", "data"} and body["has_more"] is True
    contact = body["data"][0]
    assert re.match(TS_RE, contact["date_updated"]) and contact["id"].startswith("cont_")
    assert any(k.startswith("custom.cf_") for c in everything for k in c)


def test_opportunities_sort_and_filter_on_date_updated(api, ro_sandbox):
    rows = api.all("/opportunity/", limit=250, _order_by="date_updated")
    stamps = [r["date_updated"] for r in rows]
    assert stamps == sorted(stamps) and len(rows) == len(ro_sandbox.store.records("opportunity"))
    middle = stamps[len(stamps) // 2]
    later = api.all("/opportunity/", limit=250, _order_by="date_updated", date_updated__gte=middle)
    assert all(r["date_updated"] >= middle for r in later) and len(later) < len(rows)
    body = api.json("/opportunity/", _limit=1)
    assert "total_results" in body and "count_by_value_period" in body
    assert api.get("/opportunity/", _limit=251).status_code == 400


def test_statuses_pipelines_and_custom_activity_types(api, ro_sandbox):
    lead_statuses = api.json("/status/lead/")
    assert set(lead_statuses) == {"has_more", "data"} and lead_statuses["has_more"] is False
    assert all(set(s) >= {"id", "label"} and s["id"].startswith("stat_") for s in lead_statuses["data"])
    opp_statuses = api.json("/status/opportunity/")["data"]
    pipelines = api.json("/pipeline/")["data"]
    assert {s["pipeline_id"] for s in opp_statuses} == {p["id"] for p in pipelines}
    assert {s["id"] for p in pipelines for s in p["statuses"]} == {s["id"] for s in opp_statuses}
    assert all(re.match(NAIVE_RE + "|" + r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$", p["date_created"])
               for p in pipelines), "pipelines carry naive timestamps (reference 8)"
    types = api.json("/custom_activity/")["data"]
    assert types and all(t["id"].startswith("actitype_") and isinstance(t["fields"], list) for t in types)
    assert api.json("/custom_activity/%s/" % types[0]["id"])["id"] == types[0]["id"]


def test_custom_activities_list_only_custom_instances(api, ro_sandbox):
    rows = api.all("/activity/custom/")
    assert rows and all(r["_type"] == "CustomActivity" and r["custom_activity_type_id"].startswith("actitype_")
                        for r in rows)
    assert {r["id"] for r in rows} == {a["id"] for a in ro_sandbox.store.records("activity")
                                       if a["_type"] == "CustomActivity"}
    assert api.get("/activity/custom/", custom_activity_type_id=rows[0]["custom_activity_type_id"]).status_code == 400


def test_activities_by_id_in_org_wide(api, ro_sandbox):
    chosen = [a["id"] for a in ro_sandbox.store.records("activity")[::37]][:5]
    got = api.json("/activity/", id__in=",".join(chosen), _limit=100)["data"]
    assert sorted(a["id"] for a in got) == sorted(chosen)
    dates = [a["date_created"] for a in got]
    assert dates == sorted(dates, reverse=True), "still newest first"
    custom = next(a["id"] for a in ro_sandbox.store.records("activity") if a["_type"] == "CustomActivity")
    other = next(a["id"] for a in ro_sandbox.store.records("activity") if a["_type"] == "Note")
    assert [a["id"] for a in api.json("/activity/custom/", id__in=f"{custom},{other}")["data"]] == [custom]


def test_deleting_one_child_emits_a_deleted_event(fresh):
    sb, api = fresh
    for kind, path, object_type, nested in (("opportunity", "/opportunity/", "opportunity", "opportunities"),
                                            ("contact", "/contact/", "contact", "contacts"),
                                            ("task", "/task/", "task.", None), ("activity", "/activity/", "activity.", None)):
        victim = sb.store.records(kind)[0]
        lead_before = api.json("/lead/%s/" % victim["lead_id"])
        sb.clock.advance(5)
        sb.delete_child(kind, victim["id"])
        assert api.get("%s%s/" % (path, victim["id"])).status_code == 404
        (event,) = [e for e in api.events(object_id=victim["id"], action="deleted")]
        assert event["object_type"].startswith(object_type) and event["data"] is None
        assert event["previous_data"]["id"] == victim["id"] and re.match(NAIVE_RE, event["date_created"])
        if nested:
            lead_after = api.json("/lead/%s/" % victim["lead_id"])
            assert victim["id"] not in {c["id"] for c in lead_after[nested]}
            assert lead_after["date_updated"] > lead_before["date_updated"]
