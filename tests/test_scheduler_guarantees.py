"""The scheduler's guarantees at every concurrency (issue #15: "tests keep the scheduler's
guarantees (complete, bookmarks true after a kill) at every concurrency").

Black-box, through the CLI, so they hold for any scheduler (tap_close/sync.py, however it
splits and orders its units): for `max_concurrency` 1, 2, 5 and 8, on the sandbox's even data
and on its skewed data (an import day, one-minute bursts, growth: close_sandbox/skew.py):

1. Complete: a backfill of the default selection emits every expected record
   (expectations.py), each valid against its SCHEMA (validation.py).
2. Every STATE is true: a bookmark promises that every record whose replication key is in
   [start date, bookmark) was written before the STATE holding it; a `finished` range
   [lo, hi) promises the same for its records (tap_close/state.py, "each [lo, hi) fully
   written"). The keys come from the sandbox's stores, not from the tap's output.
3. True after a kill: SIGKILL the tap early, halfway or late, resume from the last STATE it
   printed: both runs together are complete, and each STATE of the resumed run is true of
   what the killed run wrote before that STATE plus what the resumed run wrote before it.

The order of the messages is the only clock used: no wall-clock bound anywhere.
"""

from __future__ import annotations

import bisect
import json
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

import pytest

from close_sandbox import custom_objects
from expectations import STREAMS, assert_complete, expected_ids
from tap_close.streams.event_log import HORIZON_MARGIN, RETENTION
from tap_close.timeutil import format_datetime, now_utc, parse_datetime
from tap_runner import run_tap, tap_config, write_json
from validation import assert_records_valid

ROOT = Path(__file__).resolve().parent.parent
CONCURRENCIES = (1, 2, 5, 8)
SHAPES = ("even", "skewed")
# A few hundred leads, about six thousand records in all: every windowed stream has several
# date windows (30-day windows over DAYS), activities four to eight pages per window (enough
# for a scheduler that splits dense windows to split some at higher concurrency), and the
# skewed shape one dense import day. A little latency on each request lets units really
# overlap at higher concurrency. A backfill takes 2-5 s on 2 cores.
DAYS = 200
ORG = dict(seed=151, leads=400, activities_per_lead=8, tasks_per_lead=2, events=300, days=DAYS, latency=0.01)
# The start date lies inside the data, so that the start bound is exercised as well: records
# older than it are neither expected nor promised by any bookmark.
START_AFTER_DATA = timedelta(days=15)
# Up to this much of Close's time may pass between the moment a test notes "now" and the
# tap's reading of Close's clock (it rounds down: tap_close/close_clock.py), and the tap's
# event-log horizon follows that reading. Events this close to the 30-day horizon are not
# checked (they are Close's to expire, not the scheduler's to order).
HORIZON_SLACK = timedelta(minutes=1)
# Problems listed in an assertion message (counts cover them all).
SHOWN = 8


# -- what the sandbox holds -----------------------------------------------------------------

@dataclass(frozen=True)
class Keyed:
    """A stream whose state carries a bookmark on `key`: where the sandbox keeps its records."""
    key: str
    records: Callable[[object], list[dict]]


def _activities(sb):
    return sb.store.records("activity")


# Every bookmarked stream whose records the sandbox can list, with its replication key
# (README "Streams" table). The windowed ones are the scheduler's concern; users and
# custom_fields (one full-scan unit each, bookmarked at the run's start) and event_log
# (7-day windows) are checked alike.
KEYED = {
    "leads": Keyed("date_updated", lambda sb: sb.store.records("lead")),
    "contacts": Keyed("date_updated", lambda sb: sb.store.records("contact")),
    "opportunities": Keyed("date_updated", lambda sb: sb.store.records("opportunity")),
    "tasks": Keyed("date_updated", lambda sb: sb.store.records("task")),
    "activities": Keyed("date_created", _activities),
    "custom_activities": Keyed("date_created",
                               lambda sb: [a for a in _activities(sb) if a.get("custom_activity_type_id")]),
    "custom_objects": Keyed("date_updated", lambda sb: custom_objects.of(sb).records()),
    "event_log": Keyed("date_updated", lambda sb: sb.store.records("event")),
    "users": Keyed("date_updated", lambda sb: sb.store.records("user")),
    "custom_fields": Keyed("date_updated",
                           lambda sb: sb.store.records("custom_field") + custom_objects.of(sb).definitions),
}
# The streams read in date windows, split and ordered by the scheduler: where a kill lands.
WINDOWED = ("leads", "contacts", "opportunities", "tasks", "activities", "custom_activities", "custom_objects")


class KeyIndex:
    """One stream's records sorted by replication key: the ids in [lo, hi) in a bisect."""

    def __init__(self, records: list[dict], key: str):
        rows = sorted((parse_datetime(r[key]), r["id"]) for r in records)
        self.keys = [moment for moment, _ in rows]
        self.rows = rows

    def between(self, lo: datetime, hi: datetime) -> list[tuple[datetime, str]]:
        return self.rows[bisect.bisect_left(self.keys, lo):bisect.bisect_left(self.keys, hi)]


@dataclass
class Org:
    """A sandbox organization of one shape, its start date and its records by key. The data
    never changes (no writer): every run of the module reads the same organization."""
    shape: str
    sb: object
    start: str
    indexes: dict[str, KeyIndex]

    def config(self, concurrency: int) -> dict:
        return tap_config(self.sb, self.start, max_concurrency=concurrency)

    def expected(self, run_started: datetime) -> dict[str, set]:
        return expected_ids(self.sb, parse_datetime(self.start), run_started)


@pytest.fixture(scope="module")
def orgs(module_sandbox_factory):
    made: dict[str, Org] = {}

    def get(shape: str) -> Org:
        if shape not in made:
            sb = module_sandbox_factory(**ORG, skew=shape == "skewed")
            start = format_datetime(now_utc().replace(microsecond=0) - timedelta(days=DAYS) + START_AFTER_DATA)
            indexes = {stream: KeyIndex(spec.records(sb), spec.key) for stream, spec in KEYED.items()}
            made[shape] = Org(shape, sb, start, indexes)
        return made[shape]
    return get


# -- is every STATE true? -------------------------------------------------------------------

@dataclass
class Written:
    """What a target has been given so far: the messages in order, and for each stream the
    position at which each record id was first written."""
    messages: list[dict]
    first_at: dict[str, dict[str, int]]

    @classmethod
    def of(cls, *parts: list[dict]) -> "Written":
        messages = [message for part in parts for message in part]
        first_at: dict[str, dict[str, int]] = {}
        for position, message in enumerate(messages):
            # A deletion record (README "Deletions and late edits") is not the record itself;
            # the data never changes here, so a resumed run's event replay may send some for
            # events the sandbox generated, and they must not count as writing a live record.
            if message["type"] == "RECORD" and "_sdc_deleted_at" not in message["record"]:
                first_at.setdefault(message["stream"], {}).setdefault(message["record"]["id"], position)
        return cls(messages, first_at)


@dataclass
class Verdict:
    """What checking the STATEs of a run found, and how much it checked."""
    problems: list[str]
    promises: int           # (STATE, stream, range) promises checked
    records_promised: int   # records those promises covered, counted once per promise
    finished_ranges: int    # of the promises, how many were `finished` ranges


def promised_ranges(entry: dict, key: str, floor: datetime) -> list[tuple[str, datetime, datetime]]:
    """(what, lo, hi): the ranges of the key a stream's state entry says are fully written.
    Nothing below `floor` (the start date; for the event log also Close's 30-day horizon)
    was asked for, so nothing below it is promised."""
    promised = []
    if entry.get(key):
        promised.append((f"bookmark {key}={entry[key]}", floor, parse_datetime(entry[key])))
    for lo, hi in entry.get("finished") or []:
        promised.append((f"finished [{lo}, {hi})", max(floor, parse_datetime(lo)), parse_datetime(hi)))
    return [(what, lo, hi) for what, lo, hi in promised if lo < hi]


def written_positions(org: Org, written: Written, stream: str, lo: datetime, hi: datetime) -> list[tuple]:
    """(position first written, key, id) of the stream's records with key in [lo, hi), the
    last written first; a record never written has the position just past the end."""
    first_at, never = written.first_at.get(stream, {}), len(written.messages)
    return sorted(((first_at.get(rid, never), moment, rid) for moment, rid in org.indexes[stream].between(lo, hi)),
                  reverse=True)


def unwritten_problem(written: Written, position: int, stream: str, what: str, promised: list[tuple]) -> str:
    unwritten = [(at, moment, rid) for at, moment, rid in promised if at >= position]
    examples = ", ".join(f"{rid} ({format_datetime(moment)}) "
                         + (f"written at message {at}" if at < len(written.messages) else "never written")
                         for at, moment, rid in unwritten[:3])
    return (f"STATE at message {position}: {stream} {what}: {len(unwritten)} of {len(promised)} records not "
            f"yet written, e.g. {examples}")


def check_states(org: Org, written: Written, from_position: int, events_from: datetime) -> Verdict:
    """Each STATE at or after `from_position` in `written`: every record it promises was
    written at an earlier position. `events_from`: the oldest event the run had to read."""
    start = parse_datetime(org.start)
    verdict = Verdict([], 0, 0, 0)
    positions: dict[tuple, list[tuple]] = {}   # one sort per distinct promise, however many STATEs repeat it
    for position, message in enumerate(written.messages):
        if position < from_position or message["type"] != "STATE":
            continue
        bookmarks = message["value"].get("bookmarks") or {}
        for stream, spec in KEYED.items():
            floor = max(start, events_from) if stream == "event_log" else start
            for what, lo, hi in promised_ranges(bookmarks.get(stream) or {}, spec.key, floor):
                if (stream, lo, hi) not in positions:
                    positions[stream, lo, hi] = written_positions(org, written, stream, lo, hi)
                promised = positions[stream, lo, hi]
                verdict.promises += 1
                verdict.records_promised += len(promised)
                verdict.finished_ranges += what.startswith("finished")
                if promised and promised[0][0] >= position:
                    verdict.problems.append(unwritten_problem(written, position, stream, what, promised))
    return verdict


def assert_states_true(org: Org, written: Written, from_position: int, events_from: datetime,
                       promises_expected: bool = True) -> Verdict:
    verdict = check_states(org, written, from_position, events_from)
    assert not verdict.problems, (f"{len(verdict.problems)} untrue promise(s) in STATE messages:\n  "
                                  + "\n  ".join(verdict.problems[:SHOWN]))
    if promises_expected:
        # The check had cases: promises were made, and they covered records.
        assert verdict.promises and verdict.records_promised, verdict
    return verdict


def event_floor(run_started: datetime) -> datetime:
    """The oldest event a run started at `run_started` must read: Close keeps about 30 days
    of events (close-api.md §4.3, "Retention"), and the tap starts a little inside that
    horizon (streams/event_log.py), by its own reading of Close's clock."""
    return run_started - RETENTION + HORIZON_MARGIN + HORIZON_SLACK


# -- runs -----------------------------------------------------------------------------------

@dataclass
class Backfill:
    run: object
    started: datetime


@pytest.fixture(scope="module")
def backfills(orgs, tmp_path_factory):
    """One backfill per (shape, concurrency), shared by the tests that read it."""
    done: dict[tuple[str, int], Backfill] = {}

    def get(shape: str, concurrency: int) -> Backfill:
        if (shape, concurrency) not in done:
            org = orgs(shape)
            started = now_utc()
            run = run_tap([], tmp_path_factory.mktemp(f"backfill-{shape}-{concurrency}"),
                          config=org.config(concurrency))
            assert run.returncode == 0, run.stderr[-3000:]
            done[shape, concurrency] = Backfill(run, started)
        return done[shape, concurrency]
    return get


EVERY_CASE = [pytest.param(shape, concurrency, id=f"{shape}-c{concurrency}")
              for shape in SHAPES for concurrency in CONCURRENCIES]


@pytest.mark.parametrize("shape, concurrency", EVERY_CASE)
def test_a_backfill_emits_every_record_each_valid(orgs, backfills, shape, concurrency):
    org, backfill = orgs(shape), backfills(shape, concurrency)
    assert_complete(org.expected(backfill.started), backfill.run.ids)
    assert_records_valid(backfill.run, streams=STREAMS)


@pytest.mark.parametrize("shape, concurrency", EVERY_CASE)
def test_every_state_of_a_backfill_is_true(orgs, backfills, shape, concurrency):
    org, backfill = orgs(shape), backfills(shape, concurrency)
    verdict = assert_states_true(org, Written.of(backfill.run.messages), 0, event_floor(backfill.started))
    # The last STATE promises every record the run had to read, stream by stream.
    final = backfill.run.final_state["bookmarks"]
    expected = org.expected(backfill.started)
    for stream in WINDOWED:
        spec = KEYED[stream]
        promised = {rid for _, lo, hi in promised_ranges(final.get(stream) or {}, spec.key, parse_datetime(org.start))
                    for _, rid in org.indexes[stream].between(lo, hi)}
        assert expected[stream] and expected[stream] <= promised, (stream, len(expected[stream] - promised))
    print(f"{shape} c{concurrency}: {verdict.promises} promises over {verdict.records_promised} records, "
          f"{verdict.finished_ranges} of them finished ranges")


# -- killed, then resumed -------------------------------------------------------------------

@dataclass
class Killed:
    messages: list[dict]      # every message read before the kill
    resume_at: int            # position of the last STATE among them


def run_until(org: Org, concurrency: int, tmp_path: Path, records: int) -> Killed:
    """Start the tap, read its stdout line by line as a target would, and SIGKILL it once it
    has written `records` RECORDs of the windowed streams."""
    config = write_json(tmp_path / "killed.json", org.config(concurrency))
    argv = [sys.executable, "-m", "tap_close", "--config", config]
    with open(tmp_path / "killed.stderr", "w") as stderr:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=ROOT)
        messages, seen = [], 0
        try:
            for line in proc.stdout:
                messages.append(json.loads(line))
                if messages[-1]["type"] == "RECORD" and messages[-1]["stream"] in WINDOWED:
                    seen += 1
                    if seen >= records:
                        proc.send_signal(signal.SIGKILL)
                        break
        finally:
            if proc.poll() is None and seen < records:
                proc.kill()
            proc.wait()
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL, (
        f"the tap ended (exit {proc.returncode}) before writing {records} windowed records: kill point too late")
    states = [position for position, message in enumerate(messages) if message["type"] == "STATE"]
    assert states, "the tap printed no STATE before the kill: nothing to resume from"
    return Killed(messages, states[-1])


# Kill points, as a share of the windowed records a backfill writes, and the combinations
# run: each concurrency once on each shape, and each kill point on both shapes, without
# running all 24 combinations.
KILL_POINTS = {"early": 0.1, "halfway": 0.5, "late": 0.9}
KILL_CASES = [pytest.param(shape, concurrency, point, id=f"{shape}-c{concurrency}-{point}")
              for shape, concurrency, point in (
                  ("even", 1, "early"), ("skewed", 1, "late"), ("even", 2, "halfway"), ("skewed", 2, "early"),
                  ("even", 5, "late"), ("skewed", 5, "halfway"), ("even", 8, "early"), ("skewed", 8, "late"))]


@pytest.mark.parametrize("shape, concurrency, point", KILL_CASES)
def test_killed_then_resumed_from_the_last_state_is_complete_and_true(orgs, tmp_path, shape, concurrency, point):
    org = orgs(shape)
    first_started = now_utc()
    expected_first = org.expected(first_started)
    windowed_records = sum(len(expected_first[stream]) for stream in WINDOWED)
    killed = run_until(org, concurrency, tmp_path, round(KILL_POINTS[point] * windowed_records))
    # What the target has when the tap dies: everything up to the last STATE it printed (what
    # follows it in the killed output is not relied on: the strictest reading of a resume).
    before = killed.messages[:killed.resume_at + 1]
    resume_state = before[-1]["value"]
    # The killed run's own STATEs were true too. An early kill may come before any unit is
    # done (a dense window read one page at a time): then it promised nothing, and the resumed
    # run starts over. Halfway and late, some windowed stream has progress to resume from.
    assert_states_true(org, Written.of(before), 0, event_floor(first_started), promises_expected=point != "early")
    if point != "early":
        assert any(resume_state["bookmarks"].get(stream) for stream in WINDOWED), resume_state

    second_started = now_utc()
    second = run_tap([], tmp_path, config=org.config(concurrency), state=resume_state)
    assert second.returncode == 0, second.stderr[-3000:]
    assert_records_valid(second)

    # Complete: both runs together. Events are expected from the later run's 30-day horizon:
    # older ones may have expired in between (close-api.md §4.3 "Retention").
    written = Written.of(before, second.messages)
    expected = org.expected(second_started)
    assert_complete(expected, lambda stream: set(written.first_at.get(stream, {})))
    # The resume mattered: the killed run alone was not complete, and the resumed run wrote
    # windowed records.
    got_before = Written.of(before).first_at
    assert any(expected[stream] - set(got_before.get(stream, {})) for stream in WINDOWED)
    assert any(second.records(stream) for stream in WINDOWED)

    # True: each STATE of the resumed run, of what the killed run wrote before the STATE it
    # resumed from and what the resumed run wrote before that STATE.
    verdict = assert_states_true(org, written, len(before), event_floor(second_started))
    print(f"{shape} c{concurrency} {point}: killed after {len(before)} messages; resumed run "
          f"{len(second.messages)} messages, {verdict.promises} promises, {verdict.finished_ranges} finished ranges")
