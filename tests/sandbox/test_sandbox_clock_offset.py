"""The sandbox clock's offset from the host (Sandbox(clock_offset=...), close_sandbox/clock.py) and
the HTTP `Date` header that carries it (close_sandbox/server.py).

Real-clock tests bracket each sandbox time between two host readings taken around the call,
shifted by the offset: no tolerance is needed beyond the clock's own resolution (ms for records,
s for the Date header), and nothing depends on how fast the machine is."""
import re
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest
import requests

from close_sandbox import Sandbox, timefmt
from sandbox_helpers import AUTH, NOW

# RFC 7231 section 7.1.1.1 IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
IMF_FIXDATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} "
                         r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$")
SMALL = dict(seed=5, leads=25, users=4, activities_per_lead=2, tasks_per_lead=2, events=60)


def host_now():
    return datetime.now(timezone.utc)


def date_headers(response):
    """Every Date header of the response, repeats included (requests would join them)."""
    return response.raw.headers.getlist("Date")


def served_date(response):
    values = date_headers(response)
    assert len(values) == 1, values
    assert IMF_FIXDATE.match(values[0]), values[0]
    return parsedate_to_datetime(values[0])


def floor_second(dt):
    return dt.replace(microsecond=0)


def floor_ms(dt):
    return dt.replace(microsecond=dt.microsecond - dt.microsecond % 1000)


def parse(value):
    """A Close timestamp ('+00:00' or naive UTC, as events have) as an aware datetime."""
    return timefmt.from_us(timefmt.parse(value.replace("+00:00", "")))


def newest_date_updated(sb, kind):
    return max(parse(rec["date_updated"]) for rec in sb.store.records(kind))


# -- the Date header and mutations follow the offset --------------------------------------------
@pytest.mark.parametrize("offset", [-600, 600, 0])
def test_date_header_and_mutations_run_at_the_offset(sandbox_factory, offset):
    sb = sandbox_factory(clock_offset=offset, **SMALL)
    shift = timedelta(seconds=offset)
    assert sb.clock.offset == offset

    before = host_now()
    response = requests.get(sb.url + "/lead/", params={"_limit": 1}, auth=AUTH, timeout=10)
    after = host_now()
    assert response.status_code == 200
    assert floor_second(before + shift) <= served_date(response) <= after + shift

    lead = sb.store.records("lead")[0]
    before = host_now()
    changed = sb.update_lead(lead["id"], description="moved by the clock test")
    after = host_now()
    stamped = parse(changed["date_updated"])
    assert floor_ms(before + shift) <= stamped <= after + shift
    assert stamped <= sb.clock.now()
    # the event the mutation logged carries the same sandbox time
    events = [e for e in sb.store.records("event") if e["object_id"] == lead["id"] and e["action"] == "updated"]
    assert events and parse(events[0]["date_updated"]) == stamped


def test_generated_data_is_anchored_at_the_sandbox_now(sandbox_factory):
    """The same seed on a clock 10 minutes behind gives the same organization 10 minutes earlier:
    every kind's newest timestamp moves by the offset (README: timestamps keep the same offsets
    from "now"; up to 1 s apart because ctx._snap rounds some values to the second)."""
    behind = sandbox_factory(clock_offset=-600, **SMALL)
    level = sandbox_factory(clock_offset=0, **SMALL)
    for kind in ("lead", "contact", "opportunity", "activity", "task", "user", "event"):
        newest_behind, newest_level = newest_date_updated(behind, kind), newest_date_updated(level, kind)
        assert newest_behind <= behind.clock.now(), kind
        gap = (newest_level - newest_behind).total_seconds()
        assert abs(gap - 600) < 2, (kind, gap)


def test_the_offset_can_change_while_serving(sandbox_factory):
    sb = sandbox_factory(**SMALL)
    sb.clock.offset = 3600
    before = host_now()
    response = requests.get(sb.url + "/user/", auth=AUTH, timeout=10)
    after = host_now()
    hour = timedelta(hours=1)
    assert floor_second(before + hour) <= served_date(response) <= after + hour


def test_error_and_control_responses_carry_the_sandbox_date_too(sandbox_factory):
    sb = sandbox_factory(clock_offset=-600, **SMALL)
    shift = timedelta(seconds=-600)
    before = host_now()
    responses = [requests.get(sb.url + "/lead/", auth=("wrong-key", ""), timeout=10),        # 401
                 requests.get(sb.url + "/no_such_thing/", auth=AUTH, timeout=10),              # 404
                 requests.get(sb.url.replace("/api/v1", "/_sandbox/stats"), timeout=10)]       # control
    after = host_now()
    assert [r.status_code for r in responses] == [401, 404, 200]
    for r in responses:
        assert floor_second(before + shift) <= served_date(r) <= after + shift


# -- a frozen clock -------------------------------------------------------------------------------
def test_a_frozen_clock_dates_responses_with_its_own_time(fresh):
    sb, api = fresh
    response = api.get("/lead/", _limit=1)
    assert date_headers(response) == ["Sat, 01 Jun 2024 12:00:00 GMT"]      # NOW
    sb.clock.advance(90.7)
    response = api.get("/lead/", _limit=1)
    assert date_headers(response) == ["Sat, 01 Jun 2024 12:01:30 GMT"]      # 1-second resolution
    assert served_date(response) == floor_second(NOW + timedelta(seconds=90.7))


def test_a_frozen_clock_takes_no_offset():
    with pytest.raises(ValueError, match="frozen"):
        Sandbox(now=NOW, clock_offset=-600, leads=1)
    sb = Sandbox(now=NOW, leads=1)
    with pytest.raises(ValueError, match="frozen"):
        sb.clock.offset = 30
    assert sb.clock.now() == NOW and sb.clock.offset == 0


# -- Close-visible computations read the sandbox clock --------------------------------------------
def test_search_index_lag_is_measured_on_the_sandbox_clock(sandbox_factory):
    """A write is stamped 10 minutes behind the host; a 60 s lag measured on the host clock would
    already have let it through, measured on the sandbox clock it hides it (search.py _lagging)."""
    sb = sandbox_factory(clock_offset=-600, search_index_lag=60, **SMALL)
    leads = sb.store.records("lead")
    touched, untouched = leads[0]["id"], leads[1]["id"]
    sb.update_lead(touched, description="fresh")
    query = {"type": "and", "queries": [{"type": "object_type", "object_type": "lead"}]}
    response = requests.post(sb.url + "/data/search/", json={"query": query, "_limit": 200},
                             auth=AUTH, timeout=10)
    assert response.status_code == 200, response.text
    found = {item["id"] for item in response.json()["data"]}
    assert untouched in found and touched not in found


def test_task_view_uses_the_sandbox_day(sandbox_factory):
    """Two days behind the host, a task due on the host's today is still in the future
    (Close's `view`: inbox up to today, future after; tasks.view_of)."""
    sb = sandbox_factory(clock_offset=-2 * 86400, **SMALL)
    task = next(t for t in sb.store.records("task") if t["_type"] == "lead" and not t["is_complete"])
    host_today = host_now().date().isoformat()
    updated = sb.update_task(task["id"], date=host_today, due_date=host_today)
    assert updated["view"] == "future"

    def listed(view):
        response = requests.get(sb.url + "/task/", params={"_type": "all", "id": task["id"], "view": view},
                                auth=AUTH, timeout=10)
        assert response.status_code == 200, response.text
        return [t["id"] for t in response.json()["data"]]

    assert listed("future") == [task["id"]]
    assert listed("inbox") == []
