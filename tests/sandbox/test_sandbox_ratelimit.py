import re
import time

import requests

from sandbox_helpers import Api

HEADER_RE = r"^limit=(\d+), remaining=(\d+), reset=(\d+)$"


def test_header_on_every_response(sandbox_factory):
    sb = sandbox_factory(seed=6, leads=10, rate=50, burst=10)
    api = Api(sb)
    sb.faults.fail_burst(1, status=503, group="task")
    responses = [api.get("/lead/"), api.get("/lead/", _limit=9999), api.get("/nope/"),
                 api.get("/lead/lead_nope/"), requests.get(sb.url + "/lead/", auth=("bad", "")),
                 api.get("/task/"), api.get("/event/")]
    assert [r.status_code for r in responses] == [200, 400, 404, 404, 401, 503, 200]
    for r in responses:
        assert re.match(HEADER_RE, r.headers["RateLimit"]), r.headers.get("RateLimit")


def test_unlimited_header_is_generous(api):
    m = re.match(HEADER_RE, api.get("/user/").headers["RateLimit"])
    assert int(m.group(2)) > 0 and int(m.group(1)) >= 100


def test_bucket_and_legacy_429(sandbox_factory):
    sb = sandbox_factory(seed=6, leads=10, rate=1, burst=3)
    api = Api(sb)
    seen = [re.match(HEADER_RE, api.get("/lead/").headers["RateLimit"]).groups() for _ in range(3)]
    assert [int(s[1]) for s in seen] == [2, 1, 0]
    assert all(int(s[0]) == 3 for s in seen)
    assert int(seen[0][2]) == 1 and int(seen[2][2]) == 3      # seconds until the bucket is full
    r = api.get("/lead/")
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    assert re.match(r"^limit=3, remaining=0, reset=\d+$", r.headers["RateLimit"])
    err = r.json()["error"]
    assert err["message"] == "API call count exceeded for this period"
    assert isinstance(err["rate_reset"], float) and 0 < err["rate_reset"] <= 1.0
    assert err["rate_limit"] == 3 and isinstance(err["rate_window"], int)
    assert err["rate_limit_type"] == "key" and re.match(r"^[0-9a-f]{32}$", err["rate_endpoint_group"])
    # groups are independent
    assert api.get("/activity/").status_code == 200
    assert sb.stats()["rate_limited"] == {"lead": 1}
    time.sleep(1.05)
    assert api.get("/lead/").status_code == 200               # refilled one token


def test_empty_body_and_headers_only(sandbox_factory):
    sb = sandbox_factory(seed=6, leads=5, rate=0.5, burst=1, rate_limit_body="empty", retry_after_header=False)
    api = Api(sb)
    assert api.get("/user/").status_code == 200
    r = api.get("/user/")
    assert r.status_code == 429 and r.content == b""
    assert "Retry-After" not in r.headers
    assert re.match(r"^limit=1, remaining=0, reset=[1-9]\d*$", r.headers["RateLimit"])


def test_limits_configure(sandbox_factory):
    sb = sandbox_factory(seed=6, leads=5)
    api = Api(sb)
    sb.limits.configure(group="user", rate=1, burst=1)
    assert [api.get("/user/").status_code for _ in range(2)] == [200, 429]
    assert [api.get("/lead/").status_code for _ in range(3)] == [200] * 3
    sb.limits.configure(group=None, rate=None)
    assert [api.get("/user/").status_code for _ in range(3)] == [200] * 3
    # custom_fields (legacy plural) shares the custom_field group
    sb.limits.configure(group="custom_field", rate=0.5, burst=1)
    assert api.get("/custom_field/lead/").status_code == 200
    assert api.get("/custom_fields/lead/").status_code == 429
    assert sb.request_log[-1]["group"] == "custom_field"
