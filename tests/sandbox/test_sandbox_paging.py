import pytest

from sandbox_helpers import Api

MAX_SKIP_TEXT = ("The skip you set is larger than the maximum skip for this resource "
                 "(max_skip = %d). Please refine your search query.")


@pytest.mark.parametrize("path,limit,kind", [
    ("/lead/", 200, "lead"), ("/activity/", 100, "activity"), ("/user/", 1000, "user"),
    ("/contact/", 100, "contact"), ("/opportunity/", 250, "opportunity")])
def test_paging_yields_each_record_once(api, ro_sandbox, path, limit, kind):
    small = api.all(path, limit=7)
    ids = [r["id"] for r in small]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(r["id"] for r in ro_sandbox.store.records(kind))
    assert [r["id"] for r in api.all(path, limit=limit)] == ids


def test_paging_tasks_and_custom_fields(api, ro_sandbox):
    ids = [t["id"] for t in api.all("/task/", limit=13, _type="all")]
    assert len(ids) == len(set(ids)) == len(ro_sandbox.store.records("task"))
    cf = [d["id"] for d in api.all("/custom_field/lead/", limit=3)]
    assert cf == [d["id"] for d in ro_sandbox.store.custom_fields("lead")]


def test_has_more_formula(api):
    total = api.json("/lead/", _limit=1)["total_results"]
    assert api.json("/lead/", _skip=total - 5, _limit=5)["has_more"] is False
    assert api.json("/lead/", _skip=total - 6, _limit=5)["has_more"] is True
    past = api.json("/lead/", _skip=total + 10, _limit=5)
    assert past["data"] == [] and past["has_more"] is False
    assert len(api.json("/activity/")["data"]) == 100        # default _limit


def test_lead_limit_zero_gives_total_only(api, ro_sandbox):
    body = api.json("/lead/", _limit=0)
    assert body["data"] == [] and body["total_results"] == len(ro_sandbox.store.records("lead"))
    assert api.get("/activity/", _limit=0).status_code == 400


@pytest.mark.parametrize("path,maximum", [("/lead/", 200), ("/activity/", 100), ("/activity/call/", 100),
                                          ("/task/", 1000), ("/user/", 1000), ("/custom_field/lead/", 1000),
                                          ("/contact/", 100), ("/opportunity/", 250), ("/status/lead/", 100)])
def test_limit_maximum(api, path, maximum):
    assert api.get(path, _limit=maximum).status_code == 200
    r = api.get(path, _limit=maximum + 1)
    assert r.status_code == 400
    assert "max_limit = %d" % maximum in r.json()["error"]


def test_bad_paging_values(api):
    for params in ({"_limit": "abc"}, {"_skip": "-1"}, {"_limit": "-5"}):
        r = api.get("/lead/", **params)
        assert r.status_code == 400 and isinstance(r.json()["error"], str)


def test_max_skip_exact_message(api):
    assert api.get("/activity/", _skip=250000).status_code == 200
    r = api.get("/activity/email/", _skip=250100, _limit=100, date_created__gt="2024-01-01")
    assert r.status_code == 400
    assert r.json() == {"error": MAX_SKIP_TEXT % 250000}


def test_max_skip_configurable(sandbox_factory):
    sb = sandbox_factory(seed=9, leads=20, max_skip=50)
    sb.max_skip("lead", 10)
    api = Api(sb)
    assert api.get("/lead/", _skip=10).status_code == 200
    assert api.get("/lead/", _skip=11).json() == {"error": MAX_SKIP_TEXT % 10}
    assert api.get("/activity/", _skip=51).json() == {"error": MAX_SKIP_TEXT % 50}
    sb.max_limit("user", 2)
    assert api.get("/user/", _limit=3).status_code == 400


def test_fields_trimming(api, ro_sandbox):
    acts = api.json("/activity/", _fields="id,_type,date_created,nonexistent", _limit=5)["data"]
    assert all(set(a) == {"id", "_type", "date_created"} for a in acts)
    leads = api.json("/lead/", _fields="id,custom", _limit=50)["data"]
    assert all("custom" in l and set(l) - {"id", "custom"} == {k for k in l if k.startswith("custom.")} for l in leads)
    assert any(k.startswith("custom.cf_") for l in leads for k in l)
    cf_id = ro_sandbox.store.custom_fields("lead")[0]["id"]
    one = api.json("/lead/", _fields="id,custom." + cf_id, _limit=200)["data"]
    assert all(set(l) <= {"id", "custom." + cf_id} for l in one)
    assert any("custom." + cf_id in l for l in one)
    assert all("custom" not in l for l in one)
