import time

import pytest
import requests

from sandbox_helpers import AUTH, Api


def test_fail_every(fresh):
    sb, api = fresh
    sb.faults.fail_every(3, status=503)
    codes = [api.get("/user/") for _ in range(6)]
    assert [r.status_code for r in codes] == [200, 200, 503, 200, 200, 503]
    bad = codes[2]
    assert bad.content == b"" and bad.headers["Content-Type"] == "application/json"
    sb.faults.clear()
    assert api.get("/user/").status_code == 200


def test_fail_burst_per_group(fresh):
    sb, api = fresh
    sb.faults.fail_burst(2, status=502, group="lead")
    assert api.get("/user/").status_code == 200
    assert [api.get("/lead/").status_code for _ in range(3)] == [502, 502, 200]
    assert sb.stats()["status"]["lead"] == {502: 2, 200: 1}


def test_deleted_404_mid_pagination(fresh):
    sb, api = fresh
    sb.faults.deleted_404(1, group="activity")
    assert api.get("/activity/", _skip=0, _limit=5).status_code == 200       # only _skip>0
    r = api.get("/activity/", _skip=5, _limit=5)
    assert r.status_code == 404 and r.json() == {"error": "Empty query: Document has been deleted."}
    assert api.get("/activity/", _skip=6, _limit=5).status_code == 200
    sb.faults.deleted_404(1, group="opportunity", any_page=True)
    first = api.get("/opportunity/", _limit=5)
    assert first.status_code == 404 and first.json() == {"error": "Empty query: Document has been deleted."}
    assert api.get("/opportunity/", _limit=5).status_code == 200


def test_rate_limit_storm(fresh):
    sb, api = fresh
    sb.faults.rate_limit_storm(2, group="task", retry_after=2)
    r = api.get("/task/")
    assert r.status_code == 429 and r.headers["Retry-After"] == "2"
    assert r.json()["error"]["rate_reset"] == 2.0
    assert "remaining=0" in r.headers["RateLimit"]
    assert api.get("/task/").status_code == 429
    assert api.get("/task/").status_code == 200
    sb.faults.rate_limit_storm(1, body="empty", retry_after_header=False)
    r = api.get("/lead/")
    assert r.status_code == 429 and r.content == b"" and "Retry-After" not in r.headers
    assert sb.stats()["rate_limited"] == {"task": 2, "lead": 1}


def test_latency(fresh):
    sb, api = fresh
    sb.faults.latency(0.2, group="user")
    t = time.monotonic()
    api.get("/user/")
    assert time.monotonic() - t >= 0.2
    t = time.monotonic()
    api.get("/lead/", _limit=1)
    assert time.monotonic() - t < 0.2


def test_die_after(sandbox_factory):
    sb = sandbox_factory(seed=7, leads=5)
    api = Api(sb)
    sb.faults.die_after(2)
    assert api.get("/user/").status_code == 200
    assert api.get("/user/").status_code == 200
    with pytest.raises(requests.ConnectionError):
        api.get("/user/")
    with pytest.raises(requests.ConnectionError):
        requests.get(sb.url + "/me/", auth=AUTH, timeout=5)
    sb.stop()          # still safe after a crash


def test_die_drops_in_flight(sandbox_factory):
    sb = sandbox_factory(seed=7, leads=5)
    sb.faults.latency(0.5)
    result = {}

    def slow():
        try:
            result["r"] = requests.get(sb.url + "/user/", auth=AUTH, timeout=5)
        except requests.ConnectionError as e:
            result["e"] = e
    import threading
    th = threading.Thread(target=slow)
    th.start()
    time.sleep(0.15)
    sb.faults.die_after(0)
    th.join(5)
    assert "e" in result, result


@pytest.mark.parametrize("kind, check", [
    ("not_json", lambda r: r.text.startswith("<html>")),
    ("not_object", lambda r: r.json() == [1, 2, 3]),
    ("no_data", lambda r: "data" not in r.json()),
])
def test_malformed_answers(fresh, kind, check):
    sb, api = fresh
    sb.faults.malformed(1, group="user", kind=kind)
    bad = api.get("/user/")
    assert bad.status_code == 200 and check(bad)
    assert api.get("/user/").json()["data"]
