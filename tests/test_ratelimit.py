from tap_close.ratelimit import Pacer, parse_ratelimit_header, retry_wait


def test_parse_header_exact_close_format():
    assert parse_ratelimit_header("limit=100, remaining=50, reset=5") == {"limit": 100, "remaining": 50, "reset": 5}
    assert parse_ratelimit_header(None) == {}


def test_retry_wait_prefers_retry_after_then_header_then_body():
    body = {"error": {"message": "API call count exceeded", "rate_reset": 3.5}}
    assert retry_wait({"Retry-After": "7", "RateLimit": "limit=1, remaining=0, reset=9"}, body) == 7
    assert retry_wait({"RateLimit": "limit=1, remaining=0, reset=9"}, body) == 9
    assert retry_wait({}, body) == 3.5
    assert retry_wait({}, {"rate_reset": "1.25"}) == 1.25          # old top-level variant
    assert retry_wait({}, None) == 2.0                              # empty body, no headers: default
    assert retry_wait({"Retry-After": "soon"}, {"error": "x"}) == 2.0


def test_pacer_holds_a_group_when_remaining_is_zero():
    now = [100.0]
    slept = []
    pacer = Pacer(clock=lambda: now[0], sleep=slept.append)
    pacer.observe("lead", {"RateLimit": "limit=20, remaining=0, reset=2"})
    pacer.wait("activity")
    assert slept == []
    pacer.wait("lead")
    assert slept == [2.0]
    pacer.observe("lead", {"RateLimit": "limit=20, remaining=3, reset=2"})
    now[0] = 103.0
    pacer.wait("lead")
    assert slept == [2.0]
