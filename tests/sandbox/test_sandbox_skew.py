"""The sandbox's `skew` option (close_sandbox/skew.py): an import day holding about a quarter of
the period's activities, one-minute bursts, growth over time; off by default, and then the data
is what it was before the option existed."""
import hashlib
import json
from collections import Counter
from datetime import timedelta

import pytest

from close_sandbox import Sandbox, timefmt
from close_sandbox.__main__ import parse_args
from sandbox_helpers import NOW, Api

KINDS = ("user", "lead", "activity", "task", "custom_field", "event", "contact", "opportunity")
SIZE = dict(seed=11, leads=240, activities_per_lead=6, tasks_per_lead=2, events=100, now=NOW)
DAYS = 365


@pytest.fixture(scope="module")
def even():
    return Sandbox(**SIZE)


@pytest.fixture(scope="module")
def skewed():
    return Sandbox(skew=True, **SIZE)


def _times(sb, kind, field):
    return [timefmt.parse(r[field]) for r in sb.store.records(kind)]


def _import_day(sb):
    lo, _ = sb.skew["import"]
    day = lo.replace(hour=0, minute=0, second=0, microsecond=0)
    return timefmt.to_us(day), timefmt.to_us(day + timedelta(days=1))


def _share_within(times, lo, hi):
    return sum(lo <= t < hi for t in times) / len(times)


def _busiest_minute(times):
    return Counter(t // timefmt.MINUTE for t in times).most_common(1)[0]


def test_the_import_day_holds_about_a_quarter_of_the_activities(even, skewed):
    day = _import_day(skewed)
    assert 0.2 <= _share_within(_times(skewed, "activity", "date_created"), *day) <= 0.3
    # ... and the leads and contacts that import created
    assert 0.2 <= _share_within(_times(skewed, "lead", "date_created"), *day) <= 0.3
    assert 0.15 <= _share_within(_times(skewed, "contact", "date_created"), *day) <= 0.35
    # Without skew that day is an ordinary one (same seed and size).
    assert _share_within(_times(even, "activity", "date_created"), *day) < 0.03
    assert even.skew is None


def test_the_api_serves_the_import_day_as_a_quarter_of_the_activities(skewed):
    lo, hi = (timefmt.from_us(us) for us in _import_day(skewed))
    api = Api(skewed.start())
    try:
        served = api.all("/activity/", date_created__gte=lo.isoformat(), date_created__lt=hi.isoformat())
        day_before = api.all("/activity/", date_created__gte=(lo - timedelta(days=1)).isoformat(),
                             date_created__lt=lo.isoformat())
    finally:
        skewed.stop()
    total = len(skewed.store.records("activity"))
    assert 0.2 <= len(served) / total <= 0.3
    assert len(day_before) < len(served) / 10


def test_campaign_and_bulk_edit_minutes_hold_many_records(even, skewed):
    minute, n = _busiest_minute(_times(skewed, "activity", "date_created"))
    assert n >= 10
    assert minute * timefmt.MINUTE in {timefmt.to_us(m) for m in skewed.skew["campaigns"]}
    in_minute = [a for a in skewed.store.records("activity")
                 if timefmt.parse(a["date_created"]) // timefmt.MINUTE == minute]
    assert {a["_type"] for a in in_minute} == {"Email"}          # a campaign sends emails
    bursts = {timefmt.to_us(m) // timefmt.MINUTE for m in skewed.skew["bulk_edits"] + skewed.skew["campaigns"]}
    # Contacts and leads are bulk-edited (a lead after all its children's changes, since its
    # date_updated follows its newest child: a campaign Email can be that child too).
    for kind in ("contact", "lead"):
        minute, n = _busiest_minute(_times(skewed, kind, "date_updated"))
        assert n >= 5 and minute in bursts, kind
    # Evenly spread data has no such minute.
    assert _busiest_minute(_times(even, "activity", "date_created"))[1] <= 3
    assert _busiest_minute(_times(even, "contact", "date_updated"))[1] <= 3


def test_recent_months_hold_more_than_old_ones(even, skewed):
    def quarters(sb):
        """Leads created per quarter of the period, the import day left out."""
        start = timefmt.to_us(NOW) - DAYS * timefmt.DAY
        lo, hi = _import_day(skewed)
        created = [t for t in _times(sb, "lead", "date_created") if not lo <= t < hi]
        counts = Counter(min(3, (t - start) * 4 // (DAYS * timefmt.DAY)) for t in created)
        return [counts[q] for q in range(4)]

    first, *_, last = quarters(skewed)
    assert last > 1.5 * first
    first, *_, last = quarters(even)            # evenly spread: about the same
    assert 0.6 * first < last < 1.5 * first
    activities = Counter(t < timefmt.to_us(NOW) - DAYS * timefmt.DAY * 3 // 4
                         for t in _times(skewed, "activity", "date_created"))
    assert activities[True] > 0 and activities[False] > 10 * activities[True]


def test_skewed_data_keeps_the_organization_consistent(skewed):
    now = timefmt.to_us(NOW)
    leads = {lead["id"]: lead for lead in skewed.store.records("lead")}
    for kind in ("activity", "contact", "opportunity", "task"):
        records = skewed.store.records(kind)
        assert records, kind
        for record in records:
            lead = leads[record["lead_id"]]
            created, updated = timefmt.parse(record["date_created"]), timefmt.parse(record["date_updated"])
            assert timefmt.parse(lead["date_created"]) <= created <= updated <= now, (kind, record["id"])
            assert updated <= timefmt.parse(lead["date_updated"]), (kind, record["id"])


def test_cluster_windows_stay_exact_under_skew():
    sb = Sandbox(skew=True, minute_cluster=7, day_cluster=9, **{**SIZE, "leads": 120})
    for name, n in (("minute", 7), ("day", 9)):
        lo, hi = (timefmt.to_us(t) for t in sb.clusters[name])
        assert sum(lo <= t < hi for t in _times(sb, "activity", "date_created")) == n, name
        assert sum(lo <= t < hi for t in _times(sb, "task", "date_updated")) == n, name
    assert 0.15 <= _share_within(_times(sb, "activity", "date_created"), *_import_day(sb)) <= 0.35


def test_skew_is_deterministic_and_changes_the_data(skewed):
    again = Sandbox(skew=True, **SIZE)
    assert _dump(again) == _dump(skewed)
    assert again.skew == skewed.skew
    assert _dump(Sandbox(**SIZE))["activity"] != _dump(skewed)["activity"]


# sha256 of every record's (kind, id, date_created, date_updated) for the organization below,
# generated by the code before the skew option existed (commit 73d0c61). A deliberate change
# to the default generation must update it; an accidental one (a random number drawn by skew
# code with skew off) fails here.
BEFORE_SKEW = "a4319ce98772950d6a40ab6ff4aceb0337dd404fed169a802f4a46ac8104b86d"


def test_default_off_gives_the_same_data_as_before():
    kw = dict(seed=7, leads=60, users=5, activities_per_lead=4, tasks_per_lead=2, events=150, days=200, now=NOW)
    default, off = Sandbox(**kw), Sandbox(skew=False, **kw)
    assert _fingerprint(default) == BEFORE_SKEW
    assert _dump(off) == _dump(default)
    assert _fingerprint(Sandbox(skew=True, **kw)) != BEFORE_SKEW


def test_the_cli_flag():
    assert parse_args(["--skew"]).skew is True
    assert parse_args([]).skew is False


def _dump(sb):
    return {k: sb.store.records(k, **({"include_expired": True} if k == "event" else {})) for k in KINDS}


def _fingerprint(sb):
    rows = sorted((kind, r["id"], r.get("date_created"), r.get("date_updated"))
                  for kind, records in _dump(sb).items() for r in records)
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()
