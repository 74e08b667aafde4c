"""How the sync spreads units over endpoint groups (sync.Sync._schedule) and takes in a unit's
split (sync.Sync._split), without a server: units are recorded as submitted, never run."""

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

from tap_close.config import Config
from tap_close.state import State
from tap_close.streams.base import Split, StreamContext, Unit
from tap_close.sync import StreamRun, Sync
from tap_close.timeutil import now_utc

DAY0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def day(n):
    return DAY0 + timedelta(days=n)


class RecordingPool:
    def __init__(self):
        self.submitted = []

    def submit(self, fn, run, unit, group):
        self.submitted.append((run.stream_id, unit.label, group))


class SilentWriter:
    def __init__(self):
        self.states = []

    def schema(self, *args):
        pass

    def state(self, value):
        self.states.append(value)


def stream_run(name, path, units, group=None):
    stream = SimpleNamespace(tap_stream_id=name, path=path, key_properties=("id",), bookmark_properties=[],
                             replication_key="date_updated")
    unit_list = [Unit(label=f"{name} {i}", fetch=lambda unit: iter(()), bookmark=day(i + 1), span=(day(i), day(i + 1)),
                      group=group) for i in range(units)]
    return StreamRun(stream, SimpleNamespace(schema={}), StreamContext(client=None, start_date=None, sync_start=None,
                                                                       bookmark=None, fields=None),
                     None, pending=list(unit_list), waiting=list(unit_list))


def new_sync(concurrency):
    config = Config(api_key="k", start_date=None)
    return Sync(client=SimpleNamespace(clock=SimpleNamespace(known=True, now=now_utc)), config=config,
                state=State(None), writer=SilentWriter(), concurrency=concurrency)


def schedule(concurrency, runs):
    sync, pool = new_sync(concurrency), RecordingPool()
    sync._schedule(pool, runs)
    return pool.submitted


def test_each_endpoint_group_runs_up_to_the_concurrency_on_its_own():
    submitted = schedule(3, [stream_run("activities", "activity", 6), stream_run("tasks", "task", 6),
                             stream_run("users", "user", 1)])
    groups = [group for _, _, group in submitted]
    assert groups.count("activity") == 3 and groups.count("task") == 3 and groups.count("user") == 1
    # every stream starts its units in order, oldest first
    assert [label for stream, label, _ in submitted if stream == "activities"] == \
        ["activities 0", "activities 1", "activities 2"]


def test_streams_sharing_a_group_take_turns_in_it():
    submitted = schedule(4, [stream_run("leads", "data/search", 6), stream_run("contacts", "data/search", 6)])
    assert [stream for stream, _, _ in submitted] == ["leads", "contacts", "leads", "contacts"]
    assert {group for _, _, group in submitted} == {"data"}


def test_a_unit_of_another_group_than_its_stream_s_takes_that_group_s_turn():
    run = stream_run("tasks", "task", 4)
    replay = Unit(label="changes", fetch=lambda unit: iter(()), group="event")
    run.pending.insert(0, replay)
    run.waiting.insert(0, replay)
    submitted = schedule(2, [run])
    assert ("tasks", "changes", "event") in submitted
    assert [group for _, _, group in submitted].count("task") == 2


def test_a_split_puts_the_pieces_beside_the_unit_in_bookmark_order_and_the_bookmark_waits_for_them():
    sync, pool = new_sync(4), RecordingPool()
    run = stream_run("opportunities", "opportunity", 2)
    sync.runs = [run]
    sync._load = {"opportunity": 2}
    sync._schedule(pool, [run])
    first, second = run.pending
    # Ascending: the first unit keeps [day 0, day 0.5) and hands on [day 0.5, day 1) in two pieces.
    half, three_quarters = day(0) + timedelta(hours=12), day(0) + timedelta(hours=18)
    pieces = [Unit(label="piece a", fetch=None, bookmark=three_quarters, span=(half, three_quarters)),
              Unit(label="piece b", fetch=None, bookmark=day(1), span=(three_quarters, day(1)))]
    sync._load["opportunity"] += 2
    sync._split(run, first, Split(span=(day(0), half), bookmark=half, label="kept", children=pieces))
    assert [unit.label for unit in run.pending] == ["kept", "piece a", "piece b", "opportunities 1"]
    assert first.bookmark == half and first.span == (day(0), half)
    sync._schedule(pool, [run])
    assert [label for _, label, _ in pool.submitted] == ["opportunities 0", "opportunities 1", "piece a", "piece b"]
    # The kept part and the second unit are written: the bookmark stops before the pieces.
    for unit in (first, second):
        sync._unit_ended(run, unit)
        run.written.add(id(unit))
        sync._record_finished(run, unit)
        sync._commit(run)
    entry = sync.state.to_dict()["bookmarks"]["opportunities"]
    assert entry["date_updated"].startswith("2026-01-01T12:00:00"), entry
    assert entry["finished"] == [["2026-01-02T00:00:00.000000Z", "2026-01-03T00:00:00.000000Z"]], entry
    for unit in pieces:
        sync._unit_ended(run, unit)
        run.written.add(id(unit))
        sync._record_finished(run, unit)
        sync._commit(run)
    entry = sync.state.to_dict()["bookmarks"]["opportunities"]
    assert entry["date_updated"].startswith("2026-01-03T00:00:00") and entry["finished"] is None, entry
    assert sync._load["opportunity"] == 0 and sync.running["opportunity"] == 0


def test_a_descending_split_puts_the_older_pieces_before_the_unit():
    sync, pool = new_sync(4), RecordingPool()
    run = stream_run("activities", "activity", 1)
    sync._load = {"activity": 1}
    sync._schedule(pool, [run])
    unit = run.pending[0]
    half = day(0) + timedelta(hours=12)
    piece = Unit(label="older", fetch=None, bookmark=half, span=(day(0), half))
    sync._load["activity"] += 1
    sync._split(run, unit, Split(span=(half, day(1)), bookmark=day(1), label="kept", children=[piece]))
    assert [u.label for u in run.pending] == ["older", "kept"]
    sync._unit_ended(run, unit)
    run.written.add(id(unit))
    sync._record_finished(run, unit)
    sync._commit(run)
    entry = sync.state.to_dict()["bookmarks"]["activities"]
    assert entry.get("date_updated") is None, "the older piece is not written yet"
    assert entry["finished"] == [["2026-01-01T12:00:00.000000Z", "2026-01-02T00:00:00.000000Z"]], entry


def test_a_unit_after_the_others_starts_once_every_other_unit_of_its_stream_has_ended():
    for concurrency in (1, 2, 8):
        sync, pool = new_sync(concurrency), RecordingPool()
        run = stream_run("activities", "activity", 3)
        late = Unit(label="late edits", fetch=lambda unit: iter(()), after_the_others=True)
        run.pending.insert(0, late)     # first in bookmark order: no bookmark passes it
        run.waiting.insert(0, late)
        sync._load = {"activity": 4}

        def started():
            return [label for _, label, _ in pool.submitted]

        def end(unit):
            sync._unit_ended(run, unit)
            run.written.add(id(unit))
            sync._record_finished(run, unit)
            sync._commit(run)

        sync._schedule(pool, [run])
        assert started()[0] == "activities 0", (concurrency, started())
        for index in range(3):
            end(next(u for u in run.pending if u.label == f"activities {index}"))
            assert sync.state.to_dict()["bookmarks"]["activities"].get("date_updated") is None, \
                "no bookmark passes the unit not run yet"
            sync._schedule(pool, [run])
            assert ("late edits" in started()) == (index == 2), (concurrency, index, started())
        assert started() == ["activities 0", "activities 1", "activities 2", "late edits"]
        end(late)
        entry = sync.state.to_dict()["bookmarks"]["activities"]
        assert entry["date_updated"].startswith("2026-01-04T00:00:00") and entry["finished"] is None, entry
