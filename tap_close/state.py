"""The Singer state: `{"bookmarks": {stream: {replication key: RFC 3339}}, "currently_syncing": stream|null}`.

Meltano deep-merges the states a failed run printed into the last good one and never removes
keys, so a key is cleared by writing null, and null reads as absent; a list is replaced whole
(Meltano's merge does not merge lists element by element).

Beside its bookmark, a stream may record the ranges of its replication key read completely
beyond it (units finished out of order, before the ones below them):
`"finished": [[lo, hi], ...]` (each [lo, hi) fully written; sorted, adjacent ranges merged,
none at or below the bookmark) and `"finished_since"`, the start of the earliest run whose
reads they record (a record edited after that may have been read before its edit: the event
log is replayed from there, changes.py). A resumed run skips these ranges, so it repeats at
most the units in flight when the previous run stopped. As the bookmark reaches a range, it
jumps to the range's end and the range is dropped; both keys are null when no range is left.
"""

from __future__ import annotations

import copy
import functools
import logging
from datetime import datetime, timedelta

from .timeutil import format_datetime, parse_datetime

LOGGER = logging.getLogger("tap_close")
FINISHED = "finished"
FINISHED_SINCE = "finished_since"


class State:
    def __init__(self, raw=None):
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            LOGGER.warning("state is a JSON %s, not an object; starting without a state", type(raw).__name__)
            raw = {}
        self.value = copy.deepcopy(raw)
        bookmarks = self.value.get("bookmarks")
        if bookmarks is None:
            self.value["bookmarks"] = {}
        elif not isinstance(bookmarks, dict):
            LOGGER.warning("state 'bookmarks' is not an object; ignoring it")
            self.value["bookmarks"] = {}
        syncing = self.value.get("currently_syncing")
        if syncing is not None and not isinstance(syncing, str):
            LOGGER.warning("state 'currently_syncing' is not a stream name; ignoring it")
            self.value["currently_syncing"] = None

    @property
    def currently_syncing(self) -> str | None:
        return self.value.get("currently_syncing")

    def set_currently_syncing(self, stream: str | None) -> None:
        self.value["currently_syncing"] = stream

    def bookmark(self, stream: str, key: str, ceiling: datetime,
                 slack: timedelta = timedelta(0)) -> datetime | None:
        """The stream's bookmark; an unusable one is ignored with a warning (the stream is
        then read from the start date: nothing is lost), a future one is lowered to `ceiling`
        (Close's now) in the state as well when it is more than `slack` (the uncertainty of
        the estimate of Close's now) ahead of it."""
        entry = self.value["bookmarks"].get(stream)
        if entry is None:
            return None
        if not isinstance(entry, dict):
            LOGGER.warning("state bookmark for %s is not an object; reading it from the start date", stream)
            return None
        raw = entry.get(key)
        if raw is None:
            return None
        try:
            value = parse_datetime(raw)
        except ValueError:
            LOGGER.warning("state bookmark %s.%s is not a date-time (%.40r); reading it from the start date",
                           stream, key, raw)
            return None
        if value > ceiling + slack:
            # Written on a host whose clock was wrong, or by hand. Kept, it would make every
            # run read nothing until Close's clock passed it: lowered in the STATE too.
            LOGGER.warning("state bookmark %s.%s is in the future by Close's clock (%s); healed to Close's now, %s",
                           stream, key, raw, format_datetime(ceiling))
            entry[key] = format_datetime(ceiling)
            return ceiling
        return value

    def advance_bookmark(self, stream: str, key: str, value: datetime) -> None:
        """Move the bookmark forward (never back: a lookback re-read must not lower it), and on
        over the finished ranges it reaches."""
        entry = self._entry(stream)
        current = entry.get(key)
        try:
            if current is not None and parse_datetime(current) >= value:
                return
        except ValueError:
            pass
        entry[key] = format_datetime(value)
        self._compact(entry, key)

    def written_up_to(self, stream: str, key: str, value: datetime) -> None:
        """Every record of the stream below `value` is written (the units before a unit in
        progress are): the bookmark moves there (never back), and on over the finished ranges
        it reaches, those of the unit in progress among them."""
        entry = self._entry(stream)
        current = _parse_time(entry.get(key))
        if current is None or current < value:
            entry[key] = format_datetime(value)
        self._compact(entry, key, extend=True)

    # -- finished ranges beyond the bookmark -------------------------------------------------
    def finished(self, stream: str, key: str, ceiling: datetime,
                 slack: timedelta = timedelta(0)) -> tuple[list[tuple[datetime, datetime]], datetime | None]:
        """(the ranges recorded finished beyond the bookmark, the earliest run start that read
        them). Unusable entries are ignored with a warning: the ranges are then read again,
        nothing is lost. A range reaching past Close's now (a host with a wrong clock) too."""
        entry = self.value["bookmarks"].get(stream)
        if not isinstance(entry, dict) or entry.get(FINISHED) is None:
            return [], None
        ranges = _parse_ranges(entry.get(FINISHED))
        if ranges == []:
            return [], None
        since = _parse_time(entry.get(FINISHED_SINCE))
        if ranges is None or since is None:
            LOGGER.warning("state %s.%s is not a list of [from, to] date-time pairs with a %s; reading those "
                           "ranges again", stream, FINISHED, FINISHED_SINCE)
            return [], None
        bookmark = _parse_time(entry.get(key))
        ranges = [(lo, hi) for lo, hi in _merged(ranges)
                  if hi <= ceiling + slack and (bookmark is None or hi > bookmark)]
        return ranges, (since if ranges else None)

    def add_finished(self, stream: str, key: str, lo: datetime, hi: datetime, run_start: datetime) -> None:
        """Record [lo, hi) as fully written (a unit done before those below it), read by a run
        that started at `run_start`."""
        entry = self._entry(stream)
        ranges = _parse_ranges(entry.get(FINISHED)) or []
        since = _parse_time(entry.get(FINISHED_SINCE))
        entry[FINISHED] = _encode(ranges + [(lo, hi)])
        entry[FINISHED_SINCE] = format_datetime(min(run_start, since) if since else run_start)
        # Not over the bookmark, even when the range begins below it: units before this one (the
        # event-log replay that must start from the bookmark) may not be done yet. The bookmark
        # passes the range when the units in order reach it (advance_bookmark).
        self._compact(entry, key, extend=False)

    def _entry(self, stream: str) -> dict:
        entry = self.value["bookmarks"].get(stream)
        if not isinstance(entry, dict):
            entry = self.value["bookmarks"][stream] = {}
        return entry

    @staticmethod
    def _compact(entry: dict, key: str, extend: bool = True) -> None:
        """Merge adjacent ranges and drop those the bookmark covers; with `extend` (the bookmark
        was just moved by units complete in order), a range starting at or below the bookmark
        extends it (every record below the bookmark and in the range is written)."""
        if entry.get(FINISHED) is None:
            return
        ranges = _merged(_parse_ranges(entry.get(FINISHED)) or [])
        bookmark = _parse_time(entry.get(key))
        if bookmark is not None:
            ranges = [(lo, hi) for lo, hi in ranges if hi > bookmark]
            while extend and ranges and ranges[0][0] <= bookmark:
                lo, hi = ranges.pop(0)
                bookmark = hi
                entry[key] = format_datetime(hi)
        entry[FINISHED] = _encode(ranges) if ranges else None
        if not ranges:
            entry[FINISHED_SINCE] = None   # cleared by null: Meltano's merge keeps a removed key

    # -- full-table versions (ACTIVATE_VERSION) ----------------------------------------------
    def table_version(self, stream: str) -> tuple[int | None, bool]:
        """(version of the stream's latest full-table pass, whether that pass completed)."""
        entry = self.value["bookmarks"].get(stream)
        if not isinstance(entry, dict):
            return None, False
        version = entry.get("version")
        if not isinstance(version, int) or isinstance(version, bool) or version <= 0:
            if version is not None:
                LOGGER.warning("state version of %s is not a positive integer (%.40r); starting a new one",
                               stream, version)
            return None, False
        return version, entry.get("version_complete") is True

    def set_table_version(self, stream: str, version: int, complete: bool) -> None:
        entry = self.value["bookmarks"].get(stream)
        if not isinstance(entry, dict):
            entry = self.value["bookmarks"][stream] = {}
        entry["version"] = version
        entry["version_complete"] = complete

    def to_dict(self) -> dict:
        return self.value


def _parse_time(raw) -> datetime | None:
    if not isinstance(raw, str):
        return None
    return _parsed(raw)


@functools.lru_cache(maxsize=4096)
def _parsed(raw: str) -> datetime | None:
    # The state's ranges are read back after every page (add_finished, _compact): the same
    # few strings, parsed once.
    try:
        return parse_datetime(raw)
    except ValueError:
        return None


def _parse_ranges(raw) -> list[tuple[datetime, datetime]] | None:
    """[[lo, hi], ...] as date-time pairs; None when anything in it is not one."""
    if not isinstance(raw, list):
        return None
    ranges = []
    for item in raw:
        if not isinstance(item, list) or len(item) != 2:
            return None
        lo, hi = _parse_time(item[0]), _parse_time(item[1])
        if lo is None or hi is None or hi < lo:
            return None
        ranges.append((lo, hi))
    return ranges


def _merged(ranges: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Sorted, overlapping and adjacent ranges merged into one."""
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def _encode(ranges: list[tuple[datetime, datetime]]) -> list[list[str]]:
    return [[format_datetime(lo), format_datetime(hi)] for lo, hi in _merged(ranges)]
