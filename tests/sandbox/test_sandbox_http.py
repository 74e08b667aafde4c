import requests

from sandbox_helpers import AUTH


def test_trailing_slash_optional(api):
    a = api.json("/lead/", _limit=5)
    b = api.json("/lead", _limit=5)
    assert a == b
    assert api.json("/user")["data"] == api.json("/user/")["data"]
    lead_id = a["data"][0]["id"]
    assert api.json("/lead/%s" % lead_id)["id"] == lead_id


def test_double_slash_tolerated(api, ro_sandbox):
    r = requests.get(ro_sandbox.url + "//custom_field/lead/", auth=AUTH)
    assert r.status_code == 200 and r.json()["data"]


def test_unknown_url_404(api, ro_sandbox):
    for path in ("/nope/", "/activity/bogus/", "/custom_field/", "/lead/a/b/"):
        r = api.get(path)
        assert r.status_code == 404, path
        assert isinstance(r.json()["error"], str)
    r = requests.get(ro_sandbox.url.replace("/api/v1", "/api/v2") + "/lead/", auth=AUTH)
    assert r.status_code == 404


def test_unknown_ids_404(api):
    cases = {"/lead/lead_nope/": "Lead", "/opportunity/oppo_nope/": "Opportunity",
             "/task/task_nope/": "Task", "/user/user_nope/": "User", "/contact/cont_nope/": "Contact",
             "/custom_field/lead/cf_nope/": "LeadCustomField", "/activity/call/acti_nope/": "Call"}
    for path, model in cases.items():
        r = api.get(path)
        assert r.status_code == 404
        assert r.json() == {"error": "Empty query: %s matching query does not exist." % model}


def test_single_fetch_matches_list(api):
    lead = api.json("/lead/", _limit=1)["data"][0]
    assert api.json("/lead/%s/" % lead["id"]) == lead
    call = api.json("/activity/call/", _limit=1)["data"][0]
    assert api.json("/activity/call/%s/" % call["id"]) == call
    # a call fetched through another type's endpoint does not exist there
    assert api.get("/activity/note/%s/" % call["id"]).status_code == 404
    task = api.json("/task/", _limit=1)["data"][0]
    assert api.json("/task/%s/" % task["id"]) == task
    cf = api.json("/custom_fields/lead/")["data"][0]
    assert api.json("/custom_field/lead/%s/" % cf["id"]) == cf


def test_method_override_post(api, ro_sandbox):
    params = {"date_created__gte": "2024-03-01", "_limit": 7, "_skip": 3}
    want = api.json("/activity/", **params)
    r = requests.post(ro_sandbox.url + "/activity/", auth=AUTH, json={"_params": params},
                      headers={"x-http-method-override": "GET"})
    assert r.status_code == 200
    assert r.json() == want
    assert ro_sandbox.request_log[-1]["params"]["_skip"] == "3"


def test_post_without_override_405(api, ro_sandbox):
    r = requests.post(ro_sandbox.url + "/lead/", auth=AUTH, json={"name": "x"})
    assert r.status_code == 405 and "error" in r.json()


def test_envelopes(api):
    lead = api.json("/lead/", _limit=2)
    assert set(lead) == {"has_more", "total_results", "data"}
    opp = api.json("/opportunity/", _limit=2)
    assert {"has_more", "total_results", "data"} <= set(opp)
    for path in ("/activity/", "/activity/call/", "/activity/status_change/lead/", "/task/", "/user/",
                 "/custom_field/lead/", "/custom_field/shared/", "/contact/", "/status/lead/",
                 "/status/opportunity/", "/pipeline/", "/custom_activity/"):
        assert set(api.json(path, _limit=2)) == {"has_more", "data"}, path
    assert set(api.json("/event/")) == {"data", "cursor_next", "cursor_previous"}


def test_me_shape(api, ro_sandbox):
    me = api.json("/me/")
    assert me["id"].startswith("user_")
    assert isinstance(me["organizations"][0], dict) and me["organizations"][0]["id"].startswith("orga_")
    assert me["email_accounts"][0]["id"].startswith("emailacct_")
    assert set(me["email_accounts"][0]) >= {"_type", "id", "identities", "organization_id", "user_id"}
    assert me["memberships"][0]["role_id"]
    user = api.json("/user/%s/" % me["id"])
    assert user["organizations"] == [me["organizations"][0]["id"]]   # ids on /user/
    assert api.json("/me/", _fields="id,email") == {"id": me["id"], "email": me["email"]}


def test_keep_alive_and_content_length(api):
    r1 = api.get("/user/")
    r2 = api.get("/user/")
    assert int(r1.headers["Content-Length"]) == len(r1.content)
    assert r2.status_code == 200
