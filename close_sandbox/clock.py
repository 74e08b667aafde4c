"""The sandbox clock: Close's "now", which every Close-visible time in the sandbox reads
(generation anchor, mutation stamps, events, the event-log horizon, task `view`, the search
index lag, the HTTP `Date` header).

- now=None follows the real UTC clock at every call, shifted by `offset` seconds: a real Close
  server's clock is not the client's, and a tap that takes "now" from Close (the `Date` header)
  instead of its host must be testable against a server that is minutes ahead or behind [I].
- A fixed aware datetime freezes it (deterministic generation and mutation timestamps) until
  advance()/set() moves it. A frozen clock is already whatever time it is given, so it takes no
  offset."""
import threading
from datetime import datetime, timedelta, timezone

from . import timefmt


def _offset_us(seconds):
    return int(round(float(seconds) * timefmt.SECOND))


class Clock:
    def __init__(self, now=None, offset=0.0):
        self._lock = threading.Lock()
        self._frozen = None
        self._offset_us = 0
        if now is not None:
            if now.tzinfo is None:
                raise ValueError("now must be an aware datetime")
            if offset:
                raise ValueError("clock_offset shifts the real clock; a frozen clock (now=...) "
                                 "is already at the time it is given")
            self._frozen = timefmt.to_us(now)
        self._offset_us = _offset_us(offset)

    @property
    def frozen(self):
        return self._frozen is not None

    @property
    def offset(self):
        """Seconds the sandbox's now runs ahead of the host's (negative: behind)."""
        return self._offset_us / timefmt.SECOND

    @offset.setter
    def offset(self, seconds):
        """Change the offset at run time (e.g. to make Close's clock jump mid-sync)."""
        with self._lock:
            if self._frozen is not None:
                raise ValueError("a frozen clock takes no offset: move it with advance() or set()")
            self._offset_us = _offset_us(seconds)

    def now_us(self):
        """Current instant at millisecond precision (Close stores ms)."""
        with self._lock:
            if self._frozen is not None:
                return timefmt.floor_ms(self._frozen)
            offset = self._offset_us
        return timefmt.floor_ms(timefmt.to_us(datetime.now(timezone.utc)) + offset)

    def now(self):
        return timefmt.from_us(self.now_us())

    def timestamp(self):
        """now() as POSIX seconds (for the HTTP Date header)."""
        return self.now_us() / timefmt.SECOND

    def advance(self, seconds):
        """Move a frozen clock forward (no-op for the real clock)."""
        with self._lock:
            if self._frozen is not None:
                self._frozen += int(timedelta(seconds=seconds) / timedelta(microseconds=1))

    def set(self, when):
        """Freeze the clock at `when` (the offset no longer applies)."""
        with self._lock:
            self._frozen = timefmt.to_us(when)
