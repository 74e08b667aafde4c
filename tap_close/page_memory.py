"""The run's memory bound: bytes of Close's answers read and not yet written out.

A run's memory beyond its fixed part is the pages it holds: read by a worker, waiting for the
writer, or being written. With every endpoint group reading up to `max_concurrency` units at
once, and a writer (or a target) slower than Close, those could be every worker's page at
once, and how many workers are busy grows with the account (more units, more groups at work).
So the client asks this budget before each request a worker sends: while the answers held
(and the answers expected for the requests already admitted, at their group's mean size) reach
LIMIT_BYTES, the request waits for the writer to free some. A waiting worker holds no page.

The budget is taken after the endpoint group's Pacer has let the request go, so a request
waiting for its rate limit holds none of it (a group at its limit never starves another of
memory). A worker already holding part of a page (a page read in several requests) is always
admitted: the writer can only free what a worker has finished. Requests of threads that do not
read pages for the writer (planning) are not counted.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from .errors import Cancelled

# About 45 MB of parsed records (a page of JSON parses into 2.5-3 times its size). Answers
# held only while in flight are written within a round trip, so at Close's rates this is
# room for every group's requests in flight (a page of tasks or leads is about 1 MB); it
# binds when the writer falls behind, where every worker would otherwise hold a page.
LIMIT_BYTES = 16 * 1024 * 1024
WAIT_SECONDS = 0.25      # a waiting request looks this often whether the run stopped


class _GroupSizes:
    __slots__ = ("answers", "total")

    def __init__(self):
        self.answers, self.total = 0, 0

    def mean(self) -> float:
        # Before its first answer a group's requests are bounded by its Pacer's in-flight
        # limit alone: a guess would hold back the run's first requests for nothing.
        return self.total / self.answers if self.answers else 0.0


class PageMemory:
    def __init__(self, limit_bytes: int = LIMIT_BYTES, cancelled: threading.Event | None = None):
        self.limit = limit_bytes
        self.cancelled = cancelled or threading.Event()
        self._changed = threading.Condition()
        self._held = 0            # bytes read and not yet released by the writer
        self._expected = 0.0      # admitted requests' answers, at their group's mean size
        self._sizes: dict[str, _GroupSizes] = {}
        self._local = threading.local()
        self.peak = 0             # the most bytes held at once
        self.waiting = 0          # requests waiting for room now

    # -- a worker thread ------------------------------------------------------------------------
    @contextmanager
    def counting(self) -> Iterator["PageMemory"]:
        """On a worker thread, for the time it reads pages: its answers count against the limit."""
        local = self._local
        local.bytes, local.guesses = 0, []
        try:
            yield self
        finally:
            # What the thread still holds (a page it did not hand over) is free when it stops.
            self.release(local.bytes)
            del local.bytes, local.guesses

    def _thread_bytes(self) -> int | None:
        """Bytes this thread read since its last page was handed over; None: not counted."""
        return getattr(self._local, "bytes", None)

    def admit(self, group: str) -> None:
        """Before a request is sent (its group's Pacer let it go): waits while the answers held
        and expected reach the limit. Raises Cancelled when the run stops meanwhile."""
        held_by_me = self._thread_bytes()
        if held_by_me is None:
            return
        with self._changed:
            guess = self._sizes.setdefault(group, _GroupSizes()).mean()
            # Nothing held or expected: one request always goes, however large its group's pages.
            while held_by_me == 0 and self._held + self._expected > 0 \
                    and self._held + self._expected + guess > self.limit:
                if self.cancelled.is_set():
                    raise Cancelled("a request abandoned: the run is stopping")
                self.waiting += 1
                try:
                    self._changed.wait(WAIT_SECONDS)
                finally:
                    self.waiting -= 1
            self._expected += guess
        self._local.guesses.append((group, guess))

    def answered(self, size: int) -> None:
        """The answer to this thread's last admitted request: `size` bytes kept (0 when the
        request failed and nothing is kept)."""
        if self._thread_bytes() is None or not self._local.guesses:
            return
        group, guess = self._local.guesses.pop()
        with self._changed:
            self._expected -= guess
            if size:
                sizes = self._sizes[group]
                sizes.answers += 1
                sizes.total += size
                self._held += size
                self.peak = max(self.peak, self._held)
            self._changed.notify_all()
        self._local.bytes += size

    def take(self) -> int:
        """The bytes behind the page this thread just read: now the writer's to release."""
        size = self._thread_bytes() or 0
        if size:
            self._local.bytes = 0
        return size

    # -- the writer ------------------------------------------------------------------------------
    def release(self, size: int) -> None:
        """A page's records are written (or dropped): its bytes are free."""
        if not size:
            return
        with self._changed:
            self._held -= size
            self._changed.notify_all()

    @property
    def held(self) -> int:
        with self._changed:
            return self._held
