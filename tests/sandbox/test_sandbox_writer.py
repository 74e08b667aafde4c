"""The concurrent writer (close_sandbox/writer.py, `sb.writer(...)`) and the store creations it
needs (Store.add_contact, add_opportunity, add_user).

Runs are bounded by counts (`wait_for(n)`: n log entries), never by wall time."""
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
import requests

from close_sandbox import Sandbox, timefmt, writer as writer_module
from sandbox_helpers import AUTH, NOW

SMALL = dict(seed=5, leads=30, users=4, activities_per_lead=3, tasks_per_lead=2, events=60)
EVENT_KINDS = ("lead", "contact", "opportunity", "task", "activity")   # users have no events (store.py)


def parse(value):
    return timefmt.from_us(timefmt.parse(value.replace("+00:00", "")))


def last_writes(log):
    """(kind, id) -> the last Write of that record."""
    last = {}
    for w in log:
        last[(w.kind, w.id)] = w
    return last


def current(sb):
    return {kind: {r["id"]: r for r in sb.store.records(kind)} for kind in writer_module.KINDS}


# -- a run alongside the HTTP server --------------------------------------------------------------
def test_a_run_writes_every_kind_and_the_store_shows_each_write(sandbox_factory):
    sb = sandbox_factory(**SMALL)
    session = requests.Session()
    session.auth = AUTH
    statuses = Counter()
    with sb.writer(rate=200, seed=1) as w:
        # Read over HTTP while it writes, until it has written enough: every read must succeed.
        while len(w.log) < 500 and w.running:
            for path, params in (("/lead/", {"_limit": 200}), ("/task/", {"_type": "all", "_limit": 1000}),
                                 ("/activity/", {"_limit": 100}), ("/event/", {})):
                statuses[session.get(sb.url + path, params=params, timeout=10).status_code] += 1
        w.wait_for(500)
    assert not w.running and w.error is None
    assert set(statuses) == {200} and sum(statuses.values()) >= 4

    assert {x.kind for x in w.log} == set(writer_module.KINDS)
    assert {x.action for x in w.log} == {"created", "updated", "deleted", "touched"}
    for kind in ("contact", "opportunity", "task", "activity"):
        assert {x.action for x in w.log if x.kind == kind} == {"created", "updated", "deleted"}, kind
    assert {x.action for x in w.log if x.kind == "user"} == {"created", "updated"}

    now = current(sb)
    deleted = present = 0
    for (kind, rid), last in last_writes(w.log).items():
        if last.action == "deleted":
            assert rid not in now[kind], (kind, rid)
            deleted += 1
        else:
            assert now[kind][rid]["date_updated"] == last.stamp, (kind, rid, last)
            present += 1
    assert deleted and present


def test_each_write_has_the_event_close_would_log(sandbox_factory):
    sb = sandbox_factory(**SMALL)
    with sb.writer(rate=200, seed=2) as w:
        w.wait_for(150)
    events = {(e["object_id"], e["action"], e["date_updated"]) for e in sb.store.records("event")}
    checked = 0
    for x in w.log:
        if x.kind in EVENT_KINDS and x.action != "touched":
            # event roots are naive UTC (timefmt.fmt_naive)
            assert (x.id, x.action, timefmt.fmt_naive(timefmt.to_us(x.at))) in events, x
            checked += 1
    assert checked
    # a child change moves its lead without a lead event (store.py, reference section 8)
    lead_writes = {(x.id, x.at) for x in w.log if x.kind == "lead" and x.action != "touched"}
    only_touched = [x for x in w.log if x.action == "touched" and (x.id, x.at) not in lead_writes]
    assert only_touched
    assert not any((x.id, "updated", timefmt.fmt_naive(timefmt.to_us(x.at))) in events for x in only_touched)


def test_writes_are_spread_over_the_run_in_order(sandbox_factory):
    sb = sandbox_factory(**SMALL)
    with sb.writer(rate=100, seed=3) as w:
        w.wait_for(120)
    stamps = [x.at for x in w.log]
    assert stamps == sorted(stamps)
    # paced at 10 ms a write on a ms clock: not one burst at the start
    assert len(set(stamps)) > len(stamps) // 4


def test_writes_follow_the_sandbox_clock_offset(sandbox_factory):
    sb = sandbox_factory(clock_offset=-600, **SMALL)
    shift = timedelta(seconds=-600)
    before = datetime.now(timezone.utc)
    with sb.writer(rate=200, seed=4) as w:
        w.wait_for(40)
    after = datetime.now(timezone.utc)
    assert len(w.log) >= 40
    low = before + shift - timedelta(milliseconds=1)     # stamps are floored to the ms
    assert all(low <= x.at <= after + shift for x in w.log), (before, after, w.log[:3])
    touched = [x for x in w.log if x.kind == "lead"]
    assert touched and all(sb.store.leads.get(x.id) for x in touched)


# -- stepping on a frozen clock ---------------------------------------------------------------
def test_step_stamps_the_frozen_time_and_follows_it(fresh):
    sb, _ = fresh
    w = sb.writer(seed=5)
    first = w.step(5)
    assert first and {x.at for x in first} == {NOW}
    sb.clock.advance(90)
    later = w.step(5)
    assert {x.at for x in later} == {NOW + timedelta(seconds=90)}
    assert w.log == first + later
    assert w.ids("lead", until=NOW + timedelta(seconds=1)) == {x.id for x in first if x.kind == "lead"}
    assert w.ids("lead", since=NOW + timedelta(seconds=90)) == {x.id for x in later if x.kind == "lead"}
    assert w.ids("lead") and not w.ids("lead", since=NOW + timedelta(seconds=91))


def test_the_same_seeds_and_sequence_give_the_same_writes():
    def run(writer_seed):
        sb = Sandbox(now=NOW, **SMALL)
        w = sb.writer(seed=writer_seed)
        for n in (20, 20, 20):
            w.step(n)
            sb.clock.advance(1)
        return [tuple(x) for x in w.log], {k: sorted(v.items()) for k, v in current(sb).items()}

    log_a, store_a = run(7)
    log_b, store_b = run(7)
    log_c, _ = run(8)
    assert log_a == log_b and store_a == store_b
    assert log_a != log_c


def test_kinds_limit_what_is_written(fresh):
    sb, _ = fresh
    w = sb.writer(kinds=("task",), seed=6)
    w.step(30)
    assert {x.kind for x in w.log} == {"task", "lead"}               # tasks, and the leads they touch
    assert {x.action for x in w.log if x.kind == "lead"} == {"touched"}


# -- lifecycle ------------------------------------------------------------------------------
def test_stop_is_clean_and_a_writer_can_start_again(sandbox_factory):
    sb = sandbox_factory(**SMALL)
    w = sb.writer(rate=200, seed=7).start()
    assert w.start() is w and w.running                              # starting twice is harmless
    w.wait_for(10)
    w.stop()
    assert not w.running
    count, version = len(w.log), sb.store.version
    w.stop()                                                         # stopping twice too
    assert len(w.log) == count and sb.store.version == version       # nothing written once stopped
    with pytest.raises(RuntimeError, match="not running"):
        w.wait_for(count + 1)
    with w:
        w.wait_for(count + 10)
    assert len(w.log) >= count + 10 and not w.running


def test_a_failing_write_stops_the_writer_and_is_reported(sandbox_factory, monkeypatch):
    sb = sandbox_factory(**SMALL)

    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(sb.store, "update_lead", broken)
    monkeypatch.setattr(sb.store, "add_lead", broken)
    w = sb.writer(rate=200, kinds=("lead", "user"), seed=8).start()
    with pytest.raises(RuntimeError, match="failed"):
        w.wait_for(10_000)
    assert not w.running and isinstance(w.error, KeyError)
    with pytest.raises(KeyError, match="boom"):
        w.stop()
    assert all(x.kind == "user" for x in w.log)                       # what it did before is kept


def test_bad_options_are_refused(fresh):
    sb, _ = fresh
    with pytest.raises(ValueError, match="kinds"):
        sb.writer(kinds=("lead", "pipeline"))
    with pytest.raises(ValueError, match="kinds"):
        sb.writer(kinds=())
    with pytest.raises(ValueError, match="rate"):
        sb.writer(rate=0)
    assert sb.writer(kinds="lead").kinds == ("lead",)


# -- the store creations the writer uses ---------------------------------------------------------
def _plain_keys(rec):
    return {k for k in rec if not k.startswith("custom.")}


def test_add_contact_and_opportunity_are_shaped_and_logged_like_other_children(fresh):
    sb, api = fresh
    sb.clock.advance(60)
    stamp = timefmt.fmt(timefmt.to_us(NOW + timedelta(seconds=60)))
    lead = sb.store.records("lead")[3]
    contact = sb.store.add_contact(lead["id"])
    opportunity = sb.store.add_opportunity(lead["id"])
    old_contact = sb.store.records("contact")[-1]
    old_opportunity = sb.store.records("opportunity")[-1]
    assert _plain_keys(contact) == _plain_keys(old_contact)
    assert _plain_keys(opportunity) == _plain_keys(old_opportunity)
    for rec in (contact, opportunity):
        assert rec["lead_id"] == lead["id"] and rec["date_created"] == rec["date_updated"] == stamp
    served = api.json("/lead/%s/" % lead["id"])
    assert served["date_updated"] == stamp
    assert contact["id"] in {c["id"] for c in served["contacts"]}
    assert opportunity["id"] in {o["id"] for o in served["opportunities"]}
    created = {(e["object_id"], e["object_type"]) for e in sb.store.records("event") if e["action"] == "created"}
    assert {(contact["id"], "contact"), (opportunity["id"], "opportunity")} <= created
    assert not [e for e in sb.store.records("event") if e["object_id"] == lead["id"] and e["action"] == "updated"]


def test_add_user_joins_the_organization_without_an_event(fresh):
    sb, api = fresh
    sb.clock.advance(30)
    before = sb.store.records("user")
    events_before = len(sb.store.records("event", include_expired=True))
    me = api.json("/me/")["id"]
    user = sb.store.add_user(first_name="Grace")
    assert set(user) == set(before[0])
    assert user["first_name"] == "Grace" and user["email_verified_at"] is None
    assert user["date_created"] == user["date_updated"] == timefmt.fmt(timefmt.to_us(NOW + timedelta(seconds=30)))
    assert user["email"] not in {u["email"] for u in before}
    served = api.json("/user/", _limit=1000)["data"]
    assert [u["id"] for u in served] == [u["id"] for u in before] + [user["id"]]     # creation order
    assert len(sb.store.records("event", include_expired=True)) == events_before
    assert api.json("/me/")["id"] == me != user["id"]                 # the API key's user is unchanged
