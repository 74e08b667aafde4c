"""Close's "now", read from the `Date` header of its responses.

Bookmark ceilings must come from Close's clock, not the host's: when the host runs ahead,
a ceiling from the host's "now" passes writes Close stamped a moment ago, and the next run
starts after them. A `Date` header has one-second resolution and is written before the
response travels, so `Date - time received` is a lower bound of Close's offset from us (off
by under a second plus the latency); the largest lower bound seen is kept. Estimating low is
the safe side: a ceiling a little early only re-reads a little more next run.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from .timeutil import now_utc

LOGGER = logging.getLogger("tap_close")
# Skew beyond this is worth a line in the log: it usually means the host's clock is wrong.
NOTABLE_SKEW = timedelta(seconds=30)
# How far below Close's true time the estimate may be (the header's second, the latency): a
# bookmark a previous run took from Close's clock may be this much ahead of our estimate.
ESTIMATE_SLACK = timedelta(seconds=5)


class CloseClock:
    def __init__(self):
        self._lock = threading.Lock()
        self._offset: timedelta | None = None
        self._warned = False

    def observe(self, date_header: str | None, received: datetime) -> None:
        try:
            close_time = parsedate_to_datetime(date_header) if date_header else None
        except (TypeError, ValueError, IndexError):
            close_time = None
        if close_time is None or close_time.tzinfo is None:
            return       # no usable Date header: nothing learnt from this response
        offset = close_time - received
        with self._lock:
            if self._offset is None or offset > self._offset:
                self._offset = offset
            warn = not self._warned and abs(self._offset) > NOTABLE_SKEW
            self._warned = self._warned or warn
        if warn:
            LOGGER.warning("Close's clock is %s %s this host's (from its Date header); bookmarks follow "
                           "Close's clock", _duration(abs(offset)), "ahead of" if offset > timedelta(0) else "behind")

    @property
    def known(self) -> bool:
        return self._offset is not None

    def now(self) -> datetime:
        """Close's current time (a lower bound), or the host's while no response has said."""
        offset = self._offset
        now = now_utc() + (offset or timedelta(0))
        return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"
