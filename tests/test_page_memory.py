"""Memory is bounded by the pages in flight (page_memory.py): a worker waits before its
request while the answers read and not yet written reach the limit, and no pager keeps a page
it handed over while it reads the next one."""

import threading
import time
import weakref
from datetime import datetime, timedelta, timezone

import pytest

from tap_close.errors import Cancelled
from tap_close.page_memory import PageMemory
from tap_close.streams.base import StreamContext
from tap_close.streams.paging import cursor_pages, offset_pages
from tap_close.streams.search import SearchSpec, search_pages
from tap_close.streams.window_split import WindowRead
from tap_close.streams.windowed import WindowedStream
from tap_close.timeutil import format_datetime

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


# -- the budget ----------------------------------------------------------------------------------
class Worker(threading.Thread):
    """A worker thread counting its answers: it runs `steps` (callables on the budget) in turn."""

    def __init__(self, memory, *steps):
        super().__init__(daemon=True)
        self.memory, self.steps, self.done, self.error = memory, steps, [], None
        self.go = threading.Event()
        self.finished = threading.Event()

    def run(self):
        with self.memory.counting():
            for step in self.steps:
                if step == "pause":
                    self.go.wait(30)
                    continue
                try:
                    self.done.append(step(self.memory))
                except Cancelled as exc:
                    self.error = exc
                    break
        self.finished.set()


def admit(memory):
    memory.admit("lead")
    return "admitted"


def answer(size):
    def step(memory):
        memory.answered(size)
        return memory.take() if size else 0
    return step


def holding(memory, size):
    """A worker that read a page of `size` bytes and holds it for the writer, until `.go` is set."""
    before = memory.held
    worker = Worker(memory, admit, answer(size), "pause")
    worker.start()
    wait_until(lambda: memory.held == before + size, "the page is held")
    return worker


def wait_until(condition, what):
    """Polls for a state another thread reaches; the deadline only keeps a broken build from hanging."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.001)


def test_a_request_waits_while_the_pages_held_reach_the_limit_and_goes_once_the_writer_frees_them():
    memory = PageMemory(limit_bytes=100)
    first = holding(memory, 80)
    second = Worker(memory, admit, answer(80))           # 80 held + about 80 expected > 100
    second.start()
    wait_until(lambda: memory.waiting == 1, "the second request waits")
    assert second.done == [], "the second request was sent over the limit"
    memory.release(first.done[1])                        # the writer wrote the first page
    assert second.finished.wait(30) and second.done[0] == "admitted"
    assert memory.held == 80 and memory.peak == 80
    first.go.set()


def test_a_request_goes_while_the_pages_held_leave_room():
    memory = PageMemory(limit_bytes=200)
    first = holding(memory, 80)
    second = Worker(memory, admit, answer(80))           # 80 + 80 <= 200
    second.start()
    assert second.finished.wait(30) and second.done[0] == "admitted"
    assert memory.held == 160
    first.go.set()


def test_a_worker_finishing_a_page_read_in_several_requests_is_never_held_back():
    """The writer can free only pages a worker has finished: a worker holding part of its page
    is admitted over the limit, one that holds nothing is not."""
    memory = PageMemory(limit_bytes=100)
    other = holding(memory, 90)
    # A page in two requests: its first answer (not yet a page: not taken), then a second request.
    partway = Worker(memory, admit, lambda m: m.answered(50), admit, "pause")
    partway.start()
    wait_until(lambda: memory.waiting == 1, "the new page's first request waits")
    memory.release(other.done[1])   # the other page is written
    other.go.set()
    # 50 held and about 70 expected (the group's mean) would be over 100 for a new page.
    wait_until(lambda: len(partway.done) == 3, "the page's second request went")
    assert partway.done == ["admitted", None, "admitted"] and memory.held == 50
    partway.go.set()


def test_with_nothing_held_one_request_goes_whatever_its_size():
    memory = PageMemory(limit_bytes=10)
    worker = Worker(memory, admit, answer(500))
    worker.start()
    assert worker.finished.wait(30) and worker.done == ["admitted", 500]


def test_a_failed_request_frees_what_was_expected_of_it():
    memory = PageMemory(limit_bytes=150)
    held = holding(memory, 60)
    failed = Worker(memory, admit, answer(0), "pause")   # admitted (60 expected), then nothing kept
    failed.start()
    wait_until(lambda: failed.done == ["admitted", 0], "the request failed")
    # 60 held + 60 for this one fit in 150; were the failed request still expected, 180 would not.
    after = Worker(memory, admit)
    after.start()
    assert after.finished.wait(30) and after.done == ["admitted"]
    failed.go.set()
    held.go.set()


def test_a_groups_first_requests_are_not_held_back_by_a_guess():
    """Before a group's first answer nothing is expected of its requests: the run's first
    requests all go (their Pacer bounds them), however many groups start at once."""
    memory = PageMemory(limit_bytes=100)
    held = holding(memory, 90)
    other_group = Worker(memory, lambda m: m.admit("task"))
    other_group.start()
    assert other_group.finished.wait(30) and other_group.done == [None]
    same_group = Worker(memory, admit)    # 90 held + 90 expected > 100
    same_group.start()
    wait_until(lambda: memory.waiting == 1, "a request of the group with a known size waits")
    memory.cancelled.set()
    assert same_group.finished.wait(30) and isinstance(same_group.error, Cancelled)
    held.go.set()


def test_a_waiting_request_gives_up_when_the_run_stops():
    memory = PageMemory(limit_bytes=100)
    first = holding(memory, 90)
    second = Worker(memory, admit)
    second.start()
    wait_until(lambda: memory.waiting == 1, "the second request waits")
    memory.cancelled.set()
    assert second.finished.wait(30)
    assert isinstance(second.error, Cancelled) and second.done == []
    first.go.set()


def test_threads_that_read_no_pages_for_the_writer_are_not_counted():
    memory = PageMemory(limit_bytes=10)
    with memory.counting():
        memory.admit("lead")
        memory.answered(50)
    assert memory.held == 0, "a worker's bytes not handed over are freed when it stops"
    memory.admit("lead")      # a planning thread: not counted, never waits
    memory.answered(500)
    assert memory.held == 0 and memory.take() == 0


# -- pagers hand their pages over ----------------------------------------------------------------
class Rec(dict):
    """A record that can be watched for being freed (plain dicts take no weak references)."""
    __slots__ = ("__weakref__",)


class PageServer:
    """Serves `pages` of Rec records in turn; at each request, checks that every record the
    consumer let go of is freed: a pager holding its last page would keep them alive."""

    def __init__(self, pages=3, size=4):
        self.pages, self.size, self.served = pages, size, 0
        self.released: list[weakref.ref] = []
        self.held_at_request: list[int] = []

    def records(self, start=None):
        start = self.served * self.size if start is None else start
        self.served += 1
        return [Rec(id=f"r{i}", date_updated=format_datetime(T0 + timedelta(seconds=i)))
                for i in range(start, min(start + self.size, self.pages * self.size))]

    def _check(self):
        self.held_at_request.append(sum(1 for ref in self.released if ref() is not None))

    def get(self, path, params):
        self._check()
        if path == "user":   # offset paging: the page at `_skip`
            data = self.records(params["_skip"])
            return {"data": data, "has_more": params["_skip"] + len(data) < self.pages * self.size}
        more = self.served + 1 < self.pages
        return {"data": self.records(), "has_more": more, "cursor_next": "next" if more else None}

    def search(self, body):
        self._check()
        more = self.served + 1 < self.pages
        return {"data": self.records(), "cursor": "c" if more else None}


def consume(pages, server):
    count = 0
    for page in pages:
        count += 1
        server.released += [weakref.ref(record) for record in page]
        page = None   # the writer wrote it
    return count


class Things(WindowedStream):
    tap_stream_id, path, replication_key, sort_field, page_size = "things", "thing", "date_updated", "date_updated", 4

    def window_query(self, lo, hi, boundary, skip):
        return {"date_updated__gte": format_datetime(boundary or lo), "_skip": skip}


def windowed(server):
    ctx = StreamContext(client=server, start_date=T0, sync_start=T0 + timedelta(days=1), bookmark=None, fields=None)
    return Things().window_unit(ctx, T0, None, T0 + timedelta(days=1)).pages()


@pytest.mark.parametrize("pager", [
    pytest.param(lambda server: offset_pages(server, "user", {}, 4), id="offset_pages"),
    pytest.param(lambda server: cursor_pages(server, "event", {}), id="cursor_pages"),
    pytest.param(lambda server: search_pages(server, SearchSpec("lead", "date_updated", ("id",)),
                                             WindowRead(lo=T0, hi=None, end=T0 + timedelta(days=1))),
                 id="search_pages"),
    pytest.param(windowed, id="a window read with keyset paging"),
])
def test_no_pager_holds_a_page_it_handed_over_while_it_reads_the_next(pager):
    server = PageServer(pages=3, size=4)
    assert consume(pager(server), server) >= 2
    assert len(server.held_at_request) >= 3, "each page was a request"
    assert server.held_at_request[1:] == [0] * (len(server.held_at_request) - 1)
