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


class FakeTime:
    def __init__(self):
        self.now, self.slept = 100.0, []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(round(seconds, 3))
        self.now += seconds


def test_budget_spent_waits_for_the_next_token_per_group():
    t = FakeTime()
    pacer = Pacer(clock=t.clock, sleep=t.sleep)
    pacer.acquire("lead")
    # 18 spent, back within 2 s: the budget comes back at 9 a second
    pacer.release("lead", {"RateLimit": "limit=20, remaining=2, reset=2"})
    pacer.acquire("lead")
    pacer.acquire("lead")
    assert t.slept == []
    pacer.acquire("activity")          # another group has its own budget
    assert t.slept == []
    pacer.acquire("lead")              # budget spent: wait for one to come back, not the whole reset
    assert t.slept == [round(1 / 9, 3)]


def test_in_flight_requests_count_against_the_reported_budget():
    t = FakeTime()
    pacer = Pacer(clock=t.clock, sleep=t.sleep)
    for _ in range(3):
        pacer.acquire("lead")
    # the first answer says 3 left, but two requests are still out: 1 left for us
    pacer.release("lead", {"RateLimit": "limit=20, remaining=3, reset=1"})
    pacer.acquire("lead")
    assert t.slept == []
    pacer.acquire("lead")
    assert t.slept == [round(1 / 17, 3)]


def test_after_a_429_a_spent_budget_waits_for_the_whole_reset():
    t = FakeTime()
    pacer = Pacer(clock=t.clock, sleep=t.sleep)
    pacer.acquire("lead")
    pacer.release("lead", {"RateLimit": "limit=20, remaining=0, reset=3"})
    pacer.hold("lead", 3)              # Close answered 429: its budget did not come back as assumed
    pacer.acquire("lead")
    assert t.slept == [3.0]
    pacer.release("lead", {"RateLimit": "limit=20, remaining=1, reset=4"})
    pacer.acquire("lead")
    pacer.acquire("lead")              # spent again: a fixed window, waited out whole
    assert t.slept == [3.0, 4.0]


def test_a_header_without_a_limit_waits_for_its_reset():
    t = FakeTime()
    pacer = Pacer(clock=t.clock, sleep=t.sleep)
    pacer.acquire("lead")
    pacer.release("lead", {"RateLimit": "remaining=0, reset=2"})
    pacer.acquire("lead")
    assert t.slept == [2.0]


def test_hold_after_429_and_unknown_budget_does_not_wait():
    t = FakeTime()
    pacer = Pacer(clock=t.clock, sleep=t.sleep)
    pacer.acquire("task")
    pacer.release("task", None)        # a failure without headers
    pacer.acquire("task")
    assert t.slept == []
    pacer.hold("task", 3)
    pacer.acquire("task")
    assert t.slept == [3.0]


def test_a_group_never_has_more_requests_in_flight_than_its_limit():
    import threading
    pacer = Pacer(max_in_flight=2)
    order = []
    pacer.acquire("activity")
    pacer.acquire("activity")
    pacer.acquire("task")              # other groups have slots of their own
    assert pacer.in_flight("activity") == 2 and pacer.in_flight("task") == 1

    def third():
        pacer.acquire("activity")
        order.append("third sent")

    waiter = threading.Thread(target=third)
    waiter.start()
    waiter.join(0.3)                   # it waits for a slot (it cannot be sent yet)...
    assert waiter.is_alive() and order == []
    order.append("one answered")
    pacer.release("activity", None)    # ...and goes as soon as one is answered
    waiter.join(5)
    assert order == ["one answered", "third sent"]
    assert pacer.in_flight("activity") == 2


def test_a_caller_waiting_for_a_slot_gives_up_when_its_sleep_says_so():
    class Cancelled(Exception):
        pass

    def sleep(seconds):
        raise Cancelled

    pacer = Pacer(sleep=sleep, max_in_flight=1)
    pacer.acquire("lead")
    try:
        pacer.acquire("lead")
    except Cancelled:
        pass
    else:
        raise AssertionError("a full group with a cancelled run must not wait on")
    assert pacer.in_flight("lead") == 1, "the abandoned request took no slot"
