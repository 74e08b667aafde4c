"""One walk of the event log per run for the streams that watch a family of object types.

`tasks` and `activities` (and any stream whose `event_object_types` has a family such as
"task.") cannot ask Close for their events by type, so each would walk every event of the
period. Walked once here instead, from the earliest point any of them needs; each stream
then takes the events of its own period and types. Only the few fields the replay needs are
requested, and only `updated`/`deleted` events of the registered families are kept.
"""

from __future__ import annotations

import threading
from datetime import datetime

from ..timeutil import format_datetime
from .base import required_time
from .paging import cursor_pages

EVENT_PATH = "event"
EVENT_PAGE = 50
# previous_data: a deleted object's last state, which its deletion record carries (changes.py).
EVENT_FIELDS = "id,object_type,object_id,action,date_created,date_updated,previous_data"
KEPT_ACTIONS = ("updated", "deleted")


class EventFeed:
    def __init__(self, client):
        self.client = client
        self._lock = threading.Lock()
        self._since: datetime | None = None
        self._families: set[str] = set()
        self._events: list[dict] | None = None
        self._walked = False
        self._failure: Exception | None = None
        self._waiting = 0      # streams that registered and have not taken their events yet

    def need(self, since: datetime, families) -> None:
        """Called while streams plan, before any walk: what the walk must cover."""
        with self._lock:
            if self._walked:
                raise RuntimeError("the event feed was already walked")
            self._since = since if self._since is None else min(self._since, since)
            self._families.update(families)
            self._waiting += 1

    def events(self, since: datetime, prefixes: tuple[str, ...], actions: tuple[str, ...]) -> list[dict]:
        """The kept events at or after `since` whose object type starts with one of `prefixes`."""
        with self._lock:   # the first caller walks; the others wait for its result
            if not self._walked:
                try:
                    self._events = list(self._walk())
                except Exception as exc:   # every stream waiting on the walk fails with its reason
                    self._failure, self._events = exc, []
                self._walked = True
            events, failure = self._events, self._failure
            self._waiting -= 1
            if self._waiting <= 0:
                self._events = []   # every stream has its share: don't hold them for the rest of the run
        if failure is not None:
            raise failure
        return [event for event in events if event["_at"] >= since and event["action"] in actions
                and event["object_type"].startswith(prefixes)]

    def _walk(self):
        if self._since is None:
            return
        # To the moment of the walk, not the run's start: a change made just before the run
        # is replayed now (the replay's own bookmark is not this walk's concern).
        params = {"date_updated__gte": format_datetime(self._since), "_limit": EVENT_PAGE, "_fields": EVENT_FIELDS}
        families = tuple(sorted(self._families))
        for page in cursor_pages(self.client, EVENT_PATH, params):
            for event in page:
                object_type = event.get("object_type")
                if event.get("action") in KEPT_ACTIONS and isinstance(object_type, str) \
                        and object_type.startswith(families):
                    yield {"object_id": event.get("object_id"), "object_type": object_type,
                           "action": event["action"], "date_created": event.get("date_created"),
                           "_at": required_time(event, "date_updated", "event"),
                           # kept for deletions only: an update's is just the changed fields
                           "previous_data": event.get("previous_data") if event["action"] == "deleted" else None}
