"""The Singer state: `{"bookmarks": {stream: {replication key: RFC 3339}}, "currently_syncing": stream|null}`.

Meltano deep-merges the states a failed run printed into the last good one and never removes
keys, so a key is cleared by writing null, and null reads as absent.
"""

from __future__ import annotations

import copy
import logging
from datetime import datetime, timedelta

from .timeutil import format_datetime, parse_datetime

LOGGER = logging.getLogger("tap_close")


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
        """Move the bookmark forward (never back: a lookback re-read must not lower it)."""
        entry = self.value["bookmarks"].get(stream)
        if not isinstance(entry, dict):
            entry = self.value["bookmarks"][stream] = {}
        current = entry.get(key)
        try:
            if current is not None and parse_datetime(current) >= value:
                return
        except ValueError:
            pass
        entry[key] = format_datetime(value)

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
