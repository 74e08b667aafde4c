"""Failure isolation: a stream that fails (a 400, an answer that is not Close's envelope,
retries exhausted) stops alone; every other stream runs to its end and is bookmarked, the
tap exits 1 with one CRITICAL line per failed stream, and the next run from the final STATE
completes the failed one. A rejected key still stops everything at once.

Every run selects every stream, as `meltano select tap-close '*.*'` does (discovery, then
demo/select_all.py, like tests/test_targets.py)."""

import json
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

from expectations import ALL_STREAMS, assert_complete, bookmark_entry, expected_ids
from tap_close import client as client_module
from tap_close.catalog import SelectedStream
from tap_close.config import Config
from tap_close.errors import BadRequestError
from tap_close.state import State
from tap_close.streams import STREAMS as REGISTRY
from tap_close.streams.base import Stream, Unit
from tap_close.page_memory import PageMemory
from tap_close.sync import Sync
from tap_close.timeutil import now_utc, parse_datetime
from tap_runner import run_in_process, run_tap, tap_config, write_json
from validation import assert_records_valid, log_lines

START = "2025-09-01T00:00:00Z"
SMALL = dict(leads=40, activities_per_lead=3, events=120, days=200)
ROOT = Path(__file__).resolve().parent.parent
# Close's own text for a `_limit` above a resource's maximum (close_sandbox/params.py; the text
# is the sandbox's, modelled on Close's max_skip message: close_sandbox/README.md).
MAX_LIMIT_MESSAGE = "The limit you set is larger than the maximum limit for this resource (max_limit = 100)"
OPPORTUNITY_MAX_LIMIT = 250   # the sandbox's default maximum for /opportunity/ (close_sandbox/README.md)


def select_all(sb, tmp_path) -> str:
    """A catalog file with every stream selected: the tap's discovery, then demo/select_all.py."""
    discovered = run_tap(["--discover"], tmp_path, config=tap_config(sb, START))
    assert discovered.returncode == 0, discovered.stderr[-2000:]
    selected = subprocess.run([sys.executable, str(ROOT / "demo" / "select_all.py")], input=discovered.stdout,
                              capture_output=True, text=True, check=True).stdout
    return write_json(tmp_path / "selected.json", json.loads(selected))


def sync_all(sb, tmp_path, catalog, state=None, **settings):
    return run_tap(["--catalog", catalog, "--summary-json", str(tmp_path / "summary.json")], tmp_path,
                   config=tap_config(sb, START, **settings), state=state)


def failure_lines(run) -> list[str]:
    return [line for line in log_lines(run.stderr, "ERROR") if "failed, other streams go on" in line]


def assert_synced(sb, run, started, streams, start=START):
    """Each of `streams` delivered every record, valid, and has its bookmark in the final STATE."""
    assert_complete(expected_ids(sb, parse_datetime(start), started), run.ids, streams=streams)
    assert_records_valid(run, streams=streams)
    bookmarks = run.final_state["bookmarks"]
    for stream in streams:
        key = REGISTRY[stream].replication_key
        if key is None:   # full table: the pass's version is activated
            assert bookmarks[stream]["version_complete"] is True, (stream, bookmarks.get(stream))
        else:
            assert bookmarks[stream][key], (stream, bookmarks.get(stream))


def assert_failed_alone(sb, run, started, failed: dict[str, str]):
    """Exactly the streams of `failed` failed (each CRITICAL line holding its fragment of
    Close's answer), the others are complete; exit 1, no traceback, the key never shown."""
    assert run.returncode == 1, run.stderr[-3000:]
    critical = log_lines(run.stderr, "CRITICAL")
    assert len(critical) == len(failed), critical
    for line, (stream, fragment) in zip(critical, sorted(failed.items())):
        assert line.startswith(f"{stream} failed: ") and fragment in line, (line, stream, fragment)
    assert sorted(line.split(":")[0] for line in failure_lines(run)) == sorted(failed)
    assert "Traceback" not in run.stderr and sb.api_key not in run.stderr
    others = [s for s in ALL_STREAMS if s not in failed]
    assert_synced(sb, run, started, others)
    assert run.messages[-1]["type"] == "STATE" and run.final_state["currently_syncing"] is None


def read_summary(tmp_path) -> dict:
    summary = json.loads((tmp_path / "summary.json").read_text())
    return {entry["stream"]: entry for entry in summary["streams"]} | {"": summary}


def test_a_permanent_400_fails_its_stream_alone_and_the_next_run_completes_it(sandbox_factory, tmp_path):
    sb = sandbox_factory(seed=61, **SMALL)
    catalog = select_all(sb, tmp_path)
    sb.max_limit("opportunity", 100)   # every opportunities page asks _limit=250: a 400 each time
    started = now_utc()
    # Two units at a time per endpoint group: the stream has more windows than that.
    first = sync_all(sb, tmp_path, catalog, max_concurrency=2)
    assert_failed_alone(sb, first, started, {"opportunities": MAX_LIMIT_MESSAGE})
    # Opportunities was tried (and answered 400), and got neither records nor a bookmark.
    assert sb.stats()["status"]["opportunity"].keys() == {400}
    assert not first.records("opportunities") and first.records("tasks")
    assert "opportunities" not in first.final_state["bookmarks"] and "tasks" in first.final_state["bookmarks"]
    # STATE went on while the others synced; no stream stays "currently syncing".
    syncing = {m["value"]["currently_syncing"] for m in first.of_type("STATE")}
    assert syncing - {None} and "opportunities" not in syncing
    summary = read_summary(tmp_path)
    assert summary[""]["status"] == "failed"
    assert summary["opportunities"]["status"] == "failed" and MAX_LIMIT_MESSAGE in summary["opportunities"]["reason"]
    assert all(summary[s]["status"] == "ok" for s in ALL_STREAMS if s != "opportunities")
    opportunity_requests = sb.stats()["requests"]["opportunity"]

    # The next run, Close fixed: opportunities is read whole, the others incrementally.
    sb.max_limit("opportunity", OPPORTUNITY_MAX_LIMIT)
    seen = len(sb.request_log)
    started = now_utc()
    second = sync_all(sb, tmp_path, catalog, state=first.final_state)
    assert second.returncode == 0, second.stderr[-3000:]
    assert log_lines(second.stderr, "CRITICAL") == [] and failure_lines(second) == []
    assert_synced(sb, second, started, ["opportunities"])
    assert read_summary(tmp_path)[""]["status"] == "ok"
    # No unit of the failed stream started after its failure: the first run asked for fewer
    # windows than the stream has (all of them read in the second run).
    # (A window is named by its upper bound; the newest has none: it reads to the moment it is read.)
    windows = {r["params"].get("date_updated__lt") for r in sb.request_log[seen:] if r["group"] == "opportunity"}
    assert 0 < opportunity_requests < len(windows), (opportunity_requests, len(windows))


def test_an_answer_that_is_not_closes_envelope_fails_its_stream_alone(sandbox_factory, tmp_path):
    sb = sandbox_factory(seed=62, **SMALL)
    catalog = select_all(sb, tmp_path)
    sb.faults.malformed(1000, group="task", kind="not_object")
    started = now_utc()
    run = sync_all(sb, tmp_path, catalog)
    assert_failed_alone(sb, run, started, {"tasks": "Close answered GET task with JSON list"})
    assert "tasks" not in run.final_state["bookmarks"] and "activities" in run.final_state["bookmarks"]
    assert not run.records("tasks") and run.records("activities")


def test_retries_exhausted_fail_their_stream_alone(sandbox_factory, tmp_path, monkeypatch, capsys):
    sb = sandbox_factory(seed=63, **SMALL)
    catalog = select_all(sb, tmp_path)
    sb.faults.fail_burst(1000, status=503, group="user")
    # The real policy (MAX_SERVER_TRIES tries, exponential waits) with waits from 10 ms, as
    # test_reliability.py shortens them.
    monkeypatch.setattr(client_module, "RETRY_FACTOR", 0.01)
    started = now_utc()
    run = run_in_process(["--catalog", catalog], tmp_path, capsys, config=tap_config(sb, START))
    assert_failed_alone(sb, run, started, {"users": f"after {client_module.MAX_SERVER_TRIES} tries"})
    assert "503" in log_lines(run.stderr, "CRITICAL")[0]
    # The whole retry budget of the one users unit, no more.
    assert sb.stats()["status"]["user"] == {503: client_module.MAX_SERVER_TRIES}


def test_two_failing_streams_give_two_critical_lines(sandbox_factory, tmp_path):
    sb = sandbox_factory(seed=64, **SMALL)
    catalog = select_all(sb, tmp_path)
    sb.max_limit("opportunity", 100)
    sb.faults.malformed(1000, group="task", kind="no_data")
    started = now_utc()
    run = sync_all(sb, tmp_path, catalog)
    assert_failed_alone(sb, run, started, {"opportunities": MAX_LIMIT_MESSAGE, "tasks": "GET task"})
    summary = read_summary(tmp_path)
    assert [s for s in ALL_STREAMS if summary[s]["status"] == "failed"] == ["opportunities", "tasks"]


def test_a_rejected_key_on_one_group_still_stops_everything_at_once(sandbox_factory, tmp_path):
    sb = sandbox_factory(seed=65, **SMALL)
    catalog = select_all(sb, tmp_path)
    sb.faults.fail_every(1, status=401, group="task")
    # One request at a time per endpoint group: "at once" means no group asks more than the
    # one request it had in flight when the 401 came back and one already past the run's
    # check when the tap learned of it (the sandbox logs a request when it answers it).
    run = sync_all(sb, tmp_path, catalog, max_concurrency=1)
    assert run.returncode == 1
    critical = log_lines(run.stderr, "CRITICAL")
    assert len(critical) == 1 and "api_key" in critical[0] and "GET task" in critical[0], critical
    assert failure_lines(run) == [] and "Traceback" not in run.stderr
    log = sb.request_log
    refused = [i for i, r in enumerate(log) if r["status"] == 401]
    assert len(refused) == 1 and log[refused[0]]["group"] == "task"
    assert {r["status"] for r in log if r["status"] != 401} == {200}
    after = [r["group"] for r in log[refused[0] + 1:]]
    assert all(after.count(group) <= 2 for group in after) and "task" not in after, after
    before = {r["group"] for r in log[:refused[0]]}
    assert "activity" in before, "other groups were being read when the 401 came"
    # What the run had read is bookmarked; tasks has no bookmark.
    bookmarks = run.final_state["bookmarks"]
    assert "tasks" not in bookmarks and len(log) < 200, len(log)
    assert run.messages[-1]["type"] == "STATE"


OPEN_END = "9999-12-31T00:00:00Z"


def windows_done_before_the_failure(log, group, key):
    """{window start: window end} of the windows of `group` read whole before its failing
    request (one request at a time: the failing window was the only one in flight). A window
    is named by its `<key>__lt` bound (the newest window has none: it reads to the moment it is
    read, and its end is OPEN_END here); its first request's `<key>__gte` is its start."""
    requests = [r for r in log if r["group"] == group]
    failing = next(r for r in requests if r["status"] == 400)
    starts = {}
    for r in requests[:requests.index(failing)]:
        starts.setdefault(r["params"].get(f"{key}__lt", OPEN_END), r["params"][f"{key}__gte"])
    starts.pop(failing["params"].get(f"{key}__lt", OPEN_END), None)
    return {parse_datetime(lo): parse_datetime(hi) for hi, lo in starts.items()}


def test_a_stream_failing_midway_keeps_the_bookmark_of_its_written_windows(sandbox_factory, tmp_path):
    sb = sandbox_factory(seed=66, **SMALL)
    catalog = select_all(sb, tmp_path)
    # The 4th opportunities request fails. One unit per group at a time, oldest first: the
    # windows before it (a page each) are written whole, the failing one is not.
    sb.faults.fail_every(4, status=400, group="opportunity")
    started = now_utc()
    first = sync_all(sb, tmp_path, catalog, max_concurrency=1)
    assert_failed_alone(sb, first, started, {"opportunities": "GET opportunity"})
    done = windows_done_before_the_failure(sb.request_log, "opportunity", "date_updated")
    # The bookmark is the end of the longest run of written windows from the start date.
    expected = last_written_start = parse_datetime(START)
    while expected in done:
        last_written_start, expected = expected, done[expected]
    assert expected > parse_datetime(START), done
    assert expected == max(done.values()), "oldest first: the written windows are one run"
    bookmark = first.final_state["bookmarks"]["opportunities"]["date_updated"]
    assert parse_datetime(bookmark) == expected
    assert bookmark_entry(read_summary(tmp_path)["opportunities"]["bookmark"]) == {"date_updated": bookmark}
    assert not first.final_state["bookmarks"]["opportunities"].get("finished"), "nothing past a gap"
    # Only the pages read before the failure were written: the windows done, nothing else.
    assert first.ids("opportunities"), "the windows written before the failure"

    # The next run resumes opportunities from that bookmark and completes it.
    sb.faults.clear()
    seen = len(sb.request_log)
    started = now_utc()
    second = sync_all(sb, tmp_path, catalog, state=first.final_state, max_concurrency=1)
    assert second.returncode == 0, second.stderr[-3000:]
    # From the bookmark (a stream may read a little below it again: streams/windowed.py),
    # not from the start of the windows already written.
    resumed_from = min(parse_datetime(r["params"]["date_updated__gte"]) for r in sb.request_log[seen:]
                       if r["group"] == "opportunity")
    assert last_written_start < resumed_from <= expected, (last_written_start, resumed_from, expected)
    expected_ids_now = expected_ids(sb, parse_datetime(START), started)["opportunities"]
    assert expected_ids_now and expected_ids_now <= first.ids("opportunities") | second.ids("opportunities")
    # Past every window the first run wrote (both runs' ends are Close's "now", which its Date
    # header gives to the second: two quick runs may share one).
    assert parse_datetime(second.final_state["bookmarks"]["opportunities"]["date_updated"]) >= expected


def test_a_failing_event_log_fails_each_stream_that_replays_it(sandbox_factory, tmp_path):
    sb = sandbox_factory(seed=67, **SMALL)
    catalog = select_all(sb, tmp_path)
    first = sync_all(sb, tmp_path, catalog)
    assert first.returncode == 0, first.stderr[-3000:]
    # Incremental: every stream that tracks deletions replays the event log first; tasks and
    # activities share one walk of it (streams/event_feed.py), the others ask for their types.
    sb.faults.fail_every(1, status=400, group="event")
    started = now_utc()
    second = sync_all(sb, tmp_path, catalog, state=first.final_state)
    replaying = {s for s in ALL_STREAMS if REGISTRY[s].event_object_types} | {"event_log"}
    assert {"tasks", "activities"} <= replaying and "users" not in replaying
    assert second.returncode == 1, second.stderr[-3000:]
    critical = log_lines(second.stderr, "CRITICAL")
    assert sorted(line.split(" failed: ")[0] for line in critical) == sorted(replaying)
    assert all("GET event" in line for line in critical), critical
    reasons = {line.split(" failed: ")[0]: line.split(" failed: ", 1)[1] for line in critical}
    assert reasons["tasks"] == reasons["activities"], "both met the shared walk's failure"
    others = [s for s in ALL_STREAMS if s not in replaying]
    assert others and all(s in second.final_state["bookmarks"] for s in others)
    assert_complete(expected_ids(sb, parse_datetime(START), started), second.ids,
                    streams=[s for s in others if REGISTRY[s].replication_key is None])
    # The failed streams keep the first run's bookmarks, untouched.
    for stream in replaying:
        assert bookmark_entry(second.final_state["bookmarks"][stream]) == \
            bookmark_entry(first.final_state["bookmarks"][stream]), stream


def test_a_stream_whose_planning_fails_fails_alone(sandbox_factory, tmp_path):
    """Over more than PROBE_AFTER_WINDOWS windows (8 years of 120-day windows), opportunities
    asks Close where its records begin while planning (streams/windowed.py): a 400 there fails
    that stream only."""
    sb = sandbox_factory(seed=68, **SMALL)
    catalog = select_all(sb, tmp_path)
    sb.faults.fail_every(1, status=400, group="opportunity")
    long_ago = "2016-01-01T00:00:00Z"
    started = now_utc()
    run = run_tap(["--catalog", catalog], tmp_path, config=tap_config(sb, long_ago))
    assert run.returncode == 1, run.stderr[-3000:]
    critical = log_lines(run.stderr, "CRITICAL")
    assert len(critical) == 1 and critical[0].startswith("opportunities failed: "), critical
    assert [r["params"]["_limit"] for r in sb.request_log if r["group"] == "opportunity"] == ["1"], \
        "the planning probe, and no window after it"
    plans = [line.split(":")[0] for line in log_lines(run.stderr, "INFO") if ": syncing from" in line]
    assert "opportunities" not in plans and "tasks" in plans
    others = [s for s in ALL_STREAMS if s != "opportunities"]
    assert_synced(sb, run, started, others, start=long_ago)
    assert "opportunities" not in run.final_state["bookmarks"]


class Things(Stream):
    """A stream of three units, driven by the test. Unit 0 writes page a, then, after unit 2
    has failed but before the writer has heard of it, either sends page b (and page c once
    the stream is failed) or ends; unit 1 must never start."""
    tap_stream_id = "things"
    path = "thing"
    replication_key = "date_updated"
    page_size = 10

    def __init__(self, late, sync_ref, writing_first_page, trail):
        self.late, self.sync_ref, self.writing_first_page, self.trail = late, sync_ref, writing_first_page, trail

    def units(self, ctx):
        ends = [datetime(2026, 1, day, tzinfo=timezone.utc) for day in (2, 3, 4)]
        # Started oldest first, two at a time: "first" and "failing"; "second" waits.
        return [Unit("first", self.first, ends[0]), Unit("failing", self.failing, ends[1]),
                Unit("second", self.second, ends[2])]

    def first(self, unit):
        self.trail.append("first")
        yield [{"id": "a"}]
        self.writing_first_page.wait()
        while self.sync_ref[0].events.qsize() < 1:   # the failure is queued, not yet handled
            time.sleep(0.001)
        if self.late == "done":
            return                                    # "done" queued behind the failure
        yield [{"id": "b"}]                           # queued behind the failure
        while not self.sync_ref[0].runs[0].failed:
            time.sleep(0.001)
        yield [{"id": "c"}]
        self.trail.append("read on after its stream failed")

    def second(self, unit):
        self.trail.append("second")
        yield [{"id": "d"}]

    def failing(self, unit):
        self.trail.append("failing")
        self.writing_first_page.wait()
        raise BadRequestError("Close rejected the request on GET thing: no", 400)
        yield


class HoldingWriter:
    """Collects what is written; holds page a until two more events (the failure, then unit
    0's late page or its end) are queued behind it."""

    def __init__(self, sync_ref, writing_first_page):
        self.sync_ref, self.writing_first_page = sync_ref, writing_first_page
        self.records_written, self.states = [], []

    def schema(self, *args):
        pass

    def activate_version(self, *args):
        pass

    def state(self, value):
        self.states.append(json.loads(json.dumps(value)))

    def records(self, stream, records, extracted, version=None):
        self.records_written += [record["id"] for record in records]
        if records[0]["id"] == "a":
            self.writing_first_page.set()
            while self.sync_ref[0].events.qsize() < 2:
                time.sleep(0.001)


@pytest.mark.parametrize("late", ["page", "done"])
def test_what_a_failed_streams_units_in_flight_send_is_dropped(monkeypatch, late):
    """In process, without a server: a page or an end of unit already queued when its stream
    failed is neither written nor committed, a unit in flight stops at its next page, no unit
    of the stream starts after the failure, and its bookmark stays where it was."""
    sync_ref, writing_first_page, trail = [], threading.Event(), []
    monkeypatch.setitem(REGISTRY, "things", Things(late, sync_ref, writing_first_page, trail))
    schema = {"type": "object", "properties": {"id": {"type": "string"}}}
    selected = SelectedStream("things", schema, ("id",), frozenset(), "INCREMENTAL")
    writer = HoldingWriter(sync_ref, writing_first_page)
    config = Config(api_key="k", start_date=datetime(2026, 1, 1, tzinfo=timezone.utc))
    client = SimpleNamespace(cancelled=threading.Event(), clock=SimpleNamespace(known=True, now=now_utc),
                             memory=PageMemory())
    runner = Sync(client, config, State(None), writer, concurrency=2)
    sync_ref.append(runner)
    runner.run([selected])
    assert writer.records_written == ["a"], "what came after the failure is dropped"
    assert sorted(trail) == ["failing", "first"], "the second unit never started, the first stopped at c"
    assert runner.failures() == {"things": "Close rejected the request on GET thing: no"}
    # Unit 0 was read whole in the "done" case, yet its stream's bookmark does not move.
    assert writer.states and all("things" not in state["bookmarks"] for state in writer.states)
