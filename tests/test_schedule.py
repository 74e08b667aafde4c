"""How the sync spreads its workers over streams (sync.Sync._schedule), without a server:
units are recorded as submitted, never run."""

from types import SimpleNamespace

from tap_close.config import Config
from tap_close.state import State
from tap_close.timeutil import now_utc
from tap_close.streams.base import StreamContext, Unit
from tap_close.sync import StreamRun, Sync, launch_order


class RecordingPool:
    def __init__(self):
        self.submitted = []

    def submit(self, fn, run, index):
        self.submitted.append((run.stream_id, index))


class SilentWriter:
    def schema(self, *args):
        pass

    def state(self, value):
        pass


def stream_run(name, units, large_pages=False):
    stream = SimpleNamespace(tap_stream_id=name, large_pages=large_pages, key_properties=("id",),
                             bookmark_properties=[])
    unit_list = [Unit(label=f"{name} {i}", fetch=lambda unit: iter(())) for i in range(units)]
    return StreamRun(stream, SimpleNamespace(schema={}), StreamContext(client=None, start_date=None, sync_start=None, bookmark=None, fields=None),
                     None, unit_list, launch_order(units))


def schedule(concurrency, runs):
    config = Config(api_key="k", start_date=None)
    sync = Sync(client=SimpleNamespace(clock=SimpleNamespace(known=True, now=now_utc)), config=config, state=State(None), writer=SilentWriter(),
                concurrency=concurrency)
    pool = RecordingPool()
    sync._schedule(pool, runs, set(), concurrency)
    return [stream for stream, _ in pool.submitted]


def test_streams_share_the_workers_while_each_has_units_to_start():
    launched = schedule(4, [stream_run("activities", 6), stream_run("tasks", 6)])
    assert sorted(launched) == ["activities", "activities", "tasks", "tasks"]


def test_the_last_stream_with_units_left_gets_every_worker():
    # tasks starts its only unit; activities, alone with units to start, takes the rest
    # instead of leaving them idle at half the workers.
    launched = schedule(4, [stream_run("activities", 6), stream_run("tasks", 1)])
    assert launched.count("activities") == 3 and launched.count("tasks") == 1


def test_a_stream_of_large_pages_gets_a_quarter_of_the_workers_even_alone():
    launched = schedule(8, [stream_run("leads", 6, large_pages=True), stream_run("users", 1)])
    assert launched.count("leads") == 2 and launched.count("users") == 1
