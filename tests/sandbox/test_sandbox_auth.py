import base64

import requests

from sandbox_helpers import KEY

AUTH_TEXT = ("The server could not verify that you are authorized to access the URL requested.  "
             "You either supplied the wrong credentials (e.g. a bad password), or your browser "
             "doesn't understand how to supply the credentials required.")


def test_good_key(api):
    r = api.get("/me/")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"


def _assert_401(r):
    assert r.status_code == 401
    assert r.json() == {"error": AUTH_TEXT}
    assert "RateLimit" in r.headers


def test_wrong_key(ro_sandbox):
    _assert_401(requests.get(ro_sandbox.url + "/lead/", auth=("nope", "")))


def test_missing_auth(ro_sandbox):
    _assert_401(requests.get(ro_sandbox.url + "/lead/"))


def test_non_empty_password(ro_sandbox):
    _assert_401(requests.get(ro_sandbox.url + "/lead/", auth=(KEY, "secret")))


def test_bearer_and_garbage(ro_sandbox):
    _assert_401(requests.get(ro_sandbox.url + "/me/", headers={"Authorization": "Bearer " + KEY}))
    _assert_401(requests.get(ro_sandbox.url + "/me/", headers={"Authorization": "Basic !!!"}))
    no_colon = base64.b64encode(KEY.encode()).decode()
    _assert_401(requests.get(ro_sandbox.url + "/me/", headers={"Authorization": "Basic " + no_colon}))


def test_key_never_logged(sandbox_factory):
    sb = sandbox_factory(seed=2, leads=5, api_key="sekrit-key-123")
    requests.get(sb.url + "/me/", auth=("sekrit-key-123", ""))
    requests.get(sb.url + "/me/", auth=("wrong-key-456", ""))
    dump = repr(sb.request_log) + repr(sb.stats())
    token = base64.b64encode(b"sekrit-key-123:").decode()
    assert "sekrit" not in dump and token not in dump and "wrong-key" not in dump
    assert {e["status"] for e in sb.request_log} == {200, 401}
    assert set(sb.request_log[0]) == {"method", "path", "group", "params", "status", "ts", "user_agent"}
    via_http = requests.get(sb.url.replace("/api/v1", "") + "/_sandbox/requests").text
    assert "sekrit" not in via_http and token not in via_http
