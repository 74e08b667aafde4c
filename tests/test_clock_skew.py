"""End to end: no write is lost when it lands while a run reads, nor when Close's clock and the
host's disagree.

What the tap promises (README "Reliability": "Close's clock, not ours" and "Changes during a
run, and writes that show late"; tap_close/close_clock.py, streams/base.py, state.py):
- every bookmark ceiling ("now") is Close's clock, read from the `Date` header of its
  responses, never the host's. A host running behind Close would set ceilings before writes
  Close already stamped; a host running ahead would set bookmarks Close has not reached yet,
  and the next run would start after writes Close stamps meanwhile;
- every stream reads again an overlap below its bookmark (`LATE_VISIBILITY`, 5 minutes;
  activities `activities_lookback_hours`), so a write that becomes visible a little after its
  timestamp is caught by the next run;
- the full scans (users, custom_fields) bookmark the run's start by Close's clock;
- a bookmark in Close's future (a state written on a host whose clock was wrong, or by hand)
  is healed: no emitted STATE keeps it, and a warning names the stream.

The sandbox runs its clock `clock_offset` seconds ahead of (or behind) the host's: every
stamp, event and `Date` header follows it (close_sandbox/clock.py; its README "Close's
clock: `clock_offset`"). Its
concurrent writer (close_sandbox/writer.py) edits, creates and deletes records of every kind
while the tap reads, each write stamped by the sandbox clock, with Close's events.

The checks compare what the tap emitted with the sandbox's store after the writes stopped:
for each record, the latest version (its `date_updated`) must have been emitted by one of the
two runs; each deletion must have its deletion record (`_sdc_deleted_at`, README "Deletions
and late edits"); each event Close keeps must be in `event_log`.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest

from expectations import STREAMS, bookmark_entry
from tap_close.streams.event_log import HORIZON_MARGIN, RETENTION
from tap_close.timeutil import format_datetime, parse_datetime
from tap_runner import run_tap, tap_config
from validation import assert_records_valid, log_lines

DELETED_AT = "_sdc_deleted_at"
# Close's search index lags writes (its 2025-02-14 "Search Indexing Delays" incident,
# reference close-api-search-and-shapes.md §Q1 1.4): leads and contacts changed within this
# many seconds of Close's now are not found yet. A write landing just before a run's ceiling
# is then only caught by the next run's re-read below the bookmark (LATE_VISIBILITY).
SEARCH_INDEX_LAG = 3.0
# A modest organization, with a little latency on every request so that a run lasts a few
# seconds on 2 cores and the writer's writes really land while the tap reads.
ORG = dict(leads=120, activities_per_lead=3, days=120, events=200, latency=0.05)
CONCURRENCY = 2
# Writes per second: a few hundred over the first run and the moments after it.
WRITE_RATE = 80
# Writes the writer makes before the first run starts: for longer than the index lag, so that
# the run's first searches miss some writes stamped below its ceiling (only the next run's
# re-read below the bookmark catches them). And after it ends ("a little after").
WRITES_BEFORE = int(WRITE_RATE * (SEARCH_INDEX_LAG + 1))
WRITES_AFTER = 40
# Writes that must land between the first run's first and last request: less would not test
# writes during a run.
MIN_WRITES_DURING_RUN = 20
# Streams whose records carry `date_updated` (their version), with the store kind holding them.
VERSIONED = {"leads": "lead", "contacts": "contact", "opportunities": "opportunity", "tasks": "task",
             "users": "user", "activities": "activity", "custom_activities": "activity",
             "custom_fields": "custom_field"}
# The writer's kinds (close_sandbox/writer.py KINDS) and the stream each one's records are in.
STREAM_OF_KIND = {"lead": "leads", "contact": "contacts", "opportunity": "opportunities", "task": "tasks",
                  "activity": "activities", "user": "users"}
# Streams with deletion records (README "Deletions and late edits": leads, contacts,
# opportunities, tasks, activities, custom_activities); the writer deletes none of the leads.
DELETION_STREAMS = ("contacts", "opportunities", "tasks", "activities", "custom_activities")
# The bookmarked streams of the future-bookmark case and their replication keys (README table).
FUTURE_BOOKMARKS = {"leads": "date_updated", "contacts": "date_updated", "opportunities": "date_updated",
                    "tasks": "date_updated", "users": "date_updated", "custom_fields": "date_updated",
                    "activities": "date_created", "event_log": "date_updated"}
# The tap knows Close's now from `Date` headers, which have one-second resolution: its
# estimate is up to a second low (tap_close/close_clock.py: a lower bound, "the safe side"), so
# a write in the last second before a run starts may legitimately wait for the run after; and
# the search index shows a write SEARCH_INDEX_LAG after it. Before the run that must catch
# every write, this much of Close's time passes after the last one.
QUIET_BEFORE_LAST_RUN = timedelta(seconds=2 + SEARCH_INDEX_LAG)
# How far below the start of the generated data the start date is.
START_MARGIN = timedelta(days=10)
# Problems listed per stream in an assertion message (the counts cover them all).
SHOWN = 5


# -- what the store holds ---------------------------------------------------------------------

def custom_activity_ids(sb) -> set:
    """Custom activities (listed by /activity/custom/ as well as /activity/); the writer never
    creates one, so the set taken before it starts is complete."""
    return {a["id"] for a in sb.store.records("activity") if a.get("custom_activity_type_id")}


def store_versions(sb, custom_ids: set) -> dict[str, dict]:
    """{stream: {id: date_updated}} of every record the store holds now."""
    versions = {}
    for stream, kind in VERSIONED.items():
        records = sb.store.records(kind)
        if stream == "custom_activities":
            records = [r for r in records if r["id"] in custom_ids]
        versions[stream] = {r["id"]: parse_datetime(r["date_updated"]) for r in records}
    return versions


def writer_deletions(writer, custom_ids: set) -> dict[str, set]:
    """{stream: ids the writer deleted}; a deleted custom activity is in both activity streams."""
    deleted = {stream: set() for stream in DELETION_STREAMS}
    for write in writer.changes(actions={"deleted"}):
        deleted[STREAM_OF_KIND[write.kind]].add(write.id)
        if write.kind == "activity" and write.id in custom_ids:
            deleted["custom_activities"].add(write.id)
    return deleted


# -- what the tap emitted ---------------------------------------------------------------------

def emitted_versions(runs, stream: str) -> dict[str, set]:
    """{id: every date_updated emitted} over the runs' RECORDs (deletion records aside)."""
    versions: dict[str, set] = {}
    for run in runs:
        for record in run.records(stream):
            if record.get(DELETED_AT) is None and record.get("date_updated"):
                versions.setdefault(record["id"], set()).add(parse_datetime(record["date_updated"]))
    return versions


def emitted_deletions(runs, stream: str) -> set:
    return {r["id"] for run in runs for r in run.records(stream) if r.get(DELETED_AT) is not None}


def latest_versions_missing(expected: dict[str, dict], runs) -> dict[str, str]:
    """Per stream with losses: how many records' latest version no run emitted, and a few."""
    problems = {}
    for stream, versions in expected.items():
        emitted = emitted_versions(runs, stream)
        missing = sorted((rid, format_datetime(at)) for rid, at in versions.items()
                         if at not in emitted.get(rid, ()))
        if missing:
            problems[stream] = f"{len(missing)} of {len(versions)} latest versions missing, e.g. {missing[:SHOWN]}"
    return problems


def deletions_missing(expected: dict[str, set], runs) -> dict[str, str]:
    problems = {}
    for stream, ids in expected.items():
        missing = sorted(ids - emitted_deletions(runs, stream))
        if missing:
            problems[stream] = f"{len(missing)} of {len(ids)} deletion records missing, e.g. {missing[:SHOWN]}"
    return problems


def bookmarks_after(state: dict, close_now) -> dict[str, str]:
    """Bookmarks (every date-time in the state's bookmarks) later than Close's `close_now`."""
    late = {}
    for stream, entry in state["bookmarks"].items():
        for key, value in bookmark_entry(entry).items():
            if key in ("version", "version_complete") or value is None:
                continue
            if parse_datetime(value) > close_now:
                late[f"{stream}.{key}"] = value
    return late


def report(heading: str, problems: dict[str, str]) -> str:
    """One line per stream, so that a failure shows every stream's losses in full."""
    return "\n".join([heading] + [f"  {stream}: {text}" for stream, text in sorted(problems.items())])


def assert_run_ok(run, label: str) -> None:
    assert run.returncode == 0, (label, run.stderr[-3000:])


def ceiling_problems(run, close_now, label: str) -> dict[str, str]:
    """The run's final bookmarks that Close's clock had not reached when it ended: a ceiling
    taken from the host's clock (Close's clock must set every ceiling)."""
    late = bookmarks_after(run.final_state, close_now)
    if not late:
        return {}
    return {f"{label} bookmarks": f"{len(late)} later than Close's now {format_datetime(close_now)}, "
                                  f"e.g. {sorted(late.items())[:3]}"}


def let_close_clock_pass(sb, moment) -> None:
    """Wait until Close's clock is QUIET_BEFORE_LAST_RUN past `moment` (not a time bound on
    the tap: no tap is running)."""
    while sb.clock.now() < moment + QUIET_BEFORE_LAST_RUN:
        time.sleep(0.05)


def start_date_for(sb) -> str:
    return format_datetime(sb.clock.now() - timedelta(days=ORG["days"]) - START_MARGIN)


def run_dir(tmp_path, name):
    path = tmp_path / name
    path.mkdir()
    return path


# -- writes during a run, under a skewed clock ----------------------------------------------

@pytest.mark.parametrize("offset", [-600, 0, 600], ids=["close-behind", "in-step", "close-ahead"])
def test_no_write_is_lost_during_a_run_or_under_a_skewed_clock(sandbox_factory, tmp_path, offset):
    sb = sandbox_factory(seed=41, clock_offset=offset, search_index_lag=SEARCH_INDEX_LAG, **ORG)
    custom_ids = custom_activity_ids(sb)
    start = start_date_for(sb)
    config = tap_config(sb, start, max_concurrency=CONCURRENCY)
    writer = sb.writer(rate=WRITE_RATE, seed=5)   # every kind it supports
    writer.start()
    try:
        writer.wait_for(WRITES_BEFORE)             # writes are landing when the run starts
        first_request = len(sb.request_log)
        # A first sync (no catalog: every stream), while the writer writes.
        first = run_tap([], run_dir(tmp_path, "first"), config=config)
        first_end = sb.clock.now()
        run_requests = sb.request_log[first_request:]
        writer.wait_for(len(writer.log) + WRITES_AFTER)    # and a little after it ends
    finally:
        writer.stop()
    t2 = sb.clock.now()
    assert_run_ok(first, "first run")
    let_close_clock_pass(sb, t2)
    second = run_tap([], run_dir(tmp_path, "second"), config=config, state=first.final_state)
    second_end = sb.clock.now()
    assert_run_ok(second, "second run")

    # The writes really overlapped the reads: the request log's `ts` is host time, the
    # writer's `at` the sandbox's (close_sandbox/README.md "Close's clock: `clock_offset`").
    assert run_requests, "the first run made no request"
    reads_from = run_requests[0]["ts"] + sb.clock.offset
    reads_until = run_requests[-1]["ts"] + sb.clock.offset
    during = [w for w in writer.log if reads_from <= w.at.timestamp() <= reads_until]
    assert len(during) >= MIN_WRITES_DURING_RUN, (len(during), len(writer.log))
    written_kinds = {w.kind for w in writer.log}
    assert written_kinds == set(STREAM_OF_KIND), written_kinds

    runs = (first, second)
    # Nothing missing: every record in the store (those the writer touched included) has its
    # latest version in one of the runs.
    expected = store_versions(sb, custom_ids)
    touched = {}
    for write in writer.changes(actions={"created", "updated", "touched"}):
        touched.setdefault(STREAM_OF_KIND[write.kind], set()).add(write.id)
    deleted = writer_deletions(writer, custom_ids)
    for stream, ids in touched.items():
        # Presence: each record the writer touched is checked, by its version or its deletion.
        unchecked = ids - set(expected[stream]) - deleted.get(stream, set())
        assert not unchecked, (stream, "touched records neither in the store nor deleted", sorted(unchecked)[:SHOWN])
    assert all(expected[stream] for stream in VERSIONED), {s: len(v) for s, v in expected.items()}
    assert sum(len(ids) for ids in deleted.values()) > 0, "the writer should have deleted something"
    problems = latest_versions_missing(expected, runs)
    problems.update({f"{stream} deletions": text for stream, text in deletions_missing(deleted, runs).items()})
    problems.update(ceiling_problems(first, first_end, "first run"))
    problems.update(ceiling_problems(second, second_end, "second run"))

    # Every event Close keeps (README "event_log": about 30 days) that was created before T2.
    horizon = first_end - RETENTION + HORIZON_MARGIN
    events = {e["id"] for e in sb.store.records("event")
              if parse_datetime(e["date_updated"]) >= max(parse_datetime(start), horizon)
              and parse_datetime(e["date_created"]) <= t2}     # T2 was noted after the last write
    # Presence: the writer's own events are among them.
    written_events = {e["id"] for e in sb.store.records("event")
                      if parse_datetime(e["date_updated"]) >= writer.log[0].at}
    assert written_events and written_events <= events, (len(events), len(written_events))
    lost_events = sorted(events - first.ids("event_log") - second.ids("event_log"))
    if lost_events:
        problems["event_log"] = f"{len(lost_events)} of {len(events)} events missing, e.g. {lost_events[:SHOWN]}"

    assert not problems, report(f"Close's clock {offset:+d} s from the host's; {len(writer.log)} writes, "
                                f"{len(during)} during the first run; lost:", problems)
    assert_records_valid(first, streams=STREAMS)
    assert_records_valid(second, streams=("leads", "event_log"))


# -- a bookmark in Close's future ----------------------------------------------------------------

# A host ahead of Close (Close behind, -600) is the dangerous case: a ceiling from the host's
# clock would itself be in Close's future.
@pytest.mark.parametrize("offset", [-600, 0], ids=["close-behind", "in-step"])
def test_a_bookmark_in_closes_future_is_healed_and_loses_nothing(sandbox_factory, tmp_path, offset):
    sb = sandbox_factory(seed=42, clock_offset=offset, search_index_lag=SEARCH_INDEX_LAG, leads=40,
                         activities_per_lead=2, days=60, events=80)
    config = tap_config(sb, start_date_for(sb), max_concurrency=CONCURRENCY)
    a_year_ahead = format_datetime(sb.clock.now() + timedelta(days=365))
    state = {"bookmarks": {stream: {key: a_year_ahead} for stream, key in FUTURE_BOOKMARKS.items()},
             "currently_syncing": None}

    first = run_tap([], run_dir(tmp_path, "first"), config=config, state=state)
    first_end = sb.clock.now()
    assert first.returncode == 0, first.stderr[-3000:]
    final = first.final_state["bookmarks"]
    not_healed = {stream: final.get(stream, {}).get(key) for stream, key in FUTURE_BOOKMARKS.items()
                  if final.get(stream, {}).get(key) is None
                  or parse_datetime(final[stream][key]) > first_end}
    assert not not_healed, (f"bookmarks still after Close's now {format_datetime(first_end)}", not_healed)
    # Every STATE the run printed, not only the last: a target may keep any of them.
    kept = [s["value"]["bookmarks"] for s in first.of_type("STATE")
            if bookmarks_after(s["value"], first_end)]
    assert not kept, ("a STATE kept a future bookmark", kept[:1])

    warnings = log_lines(first.stderr, "WARNING")
    assert warnings, first.stderr[-3000:]
    unnamed = [stream for stream in FUTURE_BOOKMARKS
               if not any(re.search(rf"\b{stream}\b", line) and "bookmark" in line for line in warnings)]
    assert not unnamed, ("no warning names these healed streams", unnamed, warnings)

    # Writes after the first run: the next run, from its STATE, emits every one of them.
    custom_ids = custom_activity_ids(sb)
    with sb.writer(rate=WRITE_RATE, seed=6) as writer:
        writer.wait_for(60)
    let_close_clock_pass(sb, sb.clock.now())
    second = run_tap([], run_dir(tmp_path, "second"), config=config, state=first.final_state)
    second_end = sb.clock.now()
    assert_run_ok(second, "second run")

    versions = store_versions(sb, custom_ids)
    expected = {}
    for write in writer.changes(actions={"created", "updated", "touched"}):
        stream = STREAM_OF_KIND[write.kind]
        if write.id in versions[stream]:
            expected.setdefault(stream, {})[write.id] = versions[stream][write.id]
    deleted = {stream: ids for stream, ids in writer_deletions(writer, custom_ids).items() if ids}
    assert expected and len(expected) >= 4, {s: len(v) for s, v in expected.items()}
    problems = latest_versions_missing(expected, (second,))
    problems.update({f"{stream} deletions": text for stream, text in deletions_missing(deleted, (second,)).items()})
    problems.update(ceiling_problems(second, second_end, "second run"))
    assert not problems, report(f"Close's clock {offset:+d} s from the host's; written after the healed run and "
                                f"lost:", problems)
    assert_records_valid(first)
    assert_records_valid(second, streams=("leads",))
