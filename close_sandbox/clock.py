"""The sandbox clock. now=None follows the real UTC clock at every call; a
fixed aware datetime freezes it (deterministic generation and mutation
timestamps) until advance()/set() moves it."""
import threading
from datetime import datetime, timedelta, timezone

from . import timefmt


class Clock:
    def __init__(self, now=None):
        self._lock = threading.Lock()
        self._frozen = None
        if now is not None:
            if now.tzinfo is None:
                raise ValueError("now must be an aware datetime")
            self._frozen = timefmt.to_us(now)

    @property
    def frozen(self):
        return self._frozen is not None

    def now_us(self):
        """Current instant at millisecond precision (Close stores ms)."""
        with self._lock:
            if self._frozen is not None:
                return timefmt.floor_ms(self._frozen)
        return timefmt.floor_ms(timefmt.to_us(datetime.now(timezone.utc)))

    def now(self):
        return timefmt.from_us(self.now_us())

    def advance(self, seconds):
        """Move a frozen clock forward (no-op for the real clock)."""
        with self._lock:
            if self._frozen is not None:
                self._frozen += int(timedelta(seconds=seconds) / timedelta(microseconds=1))

    def set(self, when):
        with self._lock:
            self._frozen = timefmt.to_us(when)
