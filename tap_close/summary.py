"""The run summary: one line per stream at the end of every run (stderr), and the same as JSON
with `--summary-json FILE`, for a person reading a cron log or an alert reading a file.

Requests are attributed to the stream whose work made them: the fetch thread names its stream
(`attribute`) and the HTTP client counts each response (`count_response`) against it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

LOGGER = logging.getLogger("tap_close")
_current = threading.local()
_lock = threading.Lock()


@dataclass
class StreamSummary:
    stream: str
    status: str = "not finished"     # ok | failed | not finished (the run stopped first)
    records: int = 0
    deletion_records: int = 0
    requests: int = 0
    rate_limited: int = 0            # 429 answers, each waited out and retried
    seconds: float = 0.0
    bookmark: dict | None = None     # the stream's entry in the final STATE
    reason: str | None = None
    _started: float | None = field(default=None, repr=False)


class RunSummary:
    def __init__(self):
        self.streams: dict[str, StreamSummary] = {}

    def stream(self, name: str) -> StreamSummary:
        with _lock:
            if name not in self.streams:
                self.streams[name] = StreamSummary(name)
            return self.streams[name]

    def started(self, name: str) -> None:
        entry = self.stream(name)
        if entry._started is None:
            entry._started = time.monotonic()

    def finished(self, name: str, bookmark: dict | None) -> None:
        entry = self.stream(name)
        entry.status, entry.bookmark = "ok", bookmark
        entry.seconds = self._elapsed(entry)

    def failed(self, name: str, reason: str) -> None:
        entry = self.stream(name)
        entry.status, entry.reason = "failed", reason
        entry.seconds = self._elapsed(entry)

    def close(self, bookmarks: dict) -> None:
        """At the end: the bookmark of every stream that did not finish, as the final STATE
        has it (a failed stream's stays where its last written unit left it)."""
        for entry in self.streams.values():
            if entry.status == "not finished":
                entry.seconds = self._elapsed(entry)
            if entry.status != "ok":
                entry.bookmark = bookmarks.get(entry.stream)

    @staticmethod
    def _elapsed(entry: StreamSummary) -> float:
        return round(time.monotonic() - entry._started, 1) if entry._started is not None else 0.0

    def ordered(self) -> list[StreamSummary]:
        """Failed streams first (what an alert needs), then the unfinished, then the rest."""
        rank = {"failed": 0, "not finished": 1, "ok": 2}
        return sorted(self.streams.values(), key=lambda s: (rank[s.status], s.stream))

    def log(self) -> None:
        entries = self.ordered()
        if not entries:
            return
        LOGGER.info("summary: %d stream(s), %d ok, %d failed, %d not finished", len(entries),
                    sum(e.status == "ok" for e in entries), sum(e.status == "failed" for e in entries),
                    sum(e.status == "not finished" for e in entries))
        for e in entries:
            line = (f"summary: {e.stream} {e.status}: {e.records} records ({e.deletion_records} deletions), "
                    f"{e.requests} requests, {e.rate_limited} rate-limited, {e.seconds:.1f} s, "
                    f"bookmark {json.dumps(e.bookmark, sort_keys=True) if e.bookmark else 'none'}")
            if e.reason:
                line += f"; reason: {e.reason}"
            (LOGGER.error if e.status == "failed" else LOGGER.info)("%s", line)

    def to_json(self) -> dict:
        def public(entry):
            return {k: v for k, v in asdict(entry).items() if not k.startswith("_")}
        entries = self.ordered()
        return {"status": "failed" if any(e.status != "ok" for e in entries) else "ok",
                "streams": [public(e) for e in entries]}


@contextmanager
def attribute(summary: RunSummary | None, stream: str):
    """Requests made in this block (this thread) count against `stream`."""
    previous = getattr(_current, "entry", None)
    _current.entry = summary.stream(stream) if summary is not None else None
    try:
        yield
    finally:
        _current.entry = previous


def current_attribution():
    """What this thread's requests count against: handed to threads that work for it."""
    return getattr(_current, "entry", None)


@contextmanager
def attributed_to(entry):
    """Requests made in this block count against `entry` (from `current_attribution`)."""
    previous = getattr(_current, "entry", None)
    _current.entry = entry
    try:
        yield
    finally:
        _current.entry = previous


def count_response(status: int) -> None:
    """Called by the HTTP client for every response (and retried failure)."""
    entry = getattr(_current, "entry", None)
    if entry is None:
        return
    with _lock:
        entry.requests += 1
        if status == 429:
            entry.rate_limited += 1
