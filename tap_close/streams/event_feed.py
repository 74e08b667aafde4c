"""One walk of the event log per run, shared by every stream that replays events.

`tasks` and `activities` (and any stream whose `event_object_types` has a family such as
"task.") cannot ask Close for their events by type, so each would walk every event of the
period. Walked once here instead, from the earliest point any of them needs; each stream
then takes the events of its own period and types. Only the few fields the replay needs are
requested, and only `updated`/`deleted` events of the registered types are kept.

A stream that watches exact object types ("lead", "opportunity", "activity.custom_activity")
could ask Close for them with the `object_type` and `action` filters (GET /event/, Close docs
developer.close.com/api/resources/events), a request per type and action. When a family walk
happens anyway and starts no later than such a stream's replay, it already reads every event
that stream would ask for, so the stream takes its events from the walk: its replay costs no
request. Without a family walk, or from further back than the walk goes, it asks Close
itself: walking every event of a busy account to find a few deletions would cost more.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from ..timeutil import format_datetime
from .base import required_time
from .paging import cursor_pages

EVENT_PATH = "event"
EVENT_PAGE = 50
# previous_data: a deleted object's last state, which its deletion record carries (changes.py).
EVENT_FIELDS = "id,object_type,object_id,action,date_created,date_updated,previous_data"
KEPT_ACTIONS = ("updated", "deleted")


@dataclass(frozen=True)
class Share:
    """A stream's part of the walk: the events it takes, and the exact object types the walk
    did not cover, which the stream asks Close for itself."""
    events: list[dict]
    exact_left: tuple[str, ...]


class EventFeed:
    def __init__(self, client):
        self.client = client
        self._lock = threading.Lock()
        self._walk_since: datetime | None = None   # the earliest family registrant's start: where the walk begins
        self._families: set[str] = set()
        self._exact: list[tuple[datetime, tuple[str, ...]]] = []   # (since, types) of each exact registrant
        self._covered: frozenset[str] = frozenset()  # exact types the walk keeps (decided when it starts)
        self._events: list[dict] | None = None
        self._walked = False
        self._failure: Exception | None = None
        self._waiting = 0      # streams that registered and have not taken their events yet

    def need(self, since: datetime, families=(), exact=()) -> None:
        """Called while streams plan, before any walk: what the walk may have to cover."""
        families, exact = tuple(families), tuple(exact)
        with self._lock:
            if self._walked:
                raise RuntimeError("the event feed was already walked")
            if families:
                self._walk_since = since if self._walk_since is None else min(self._walk_since, since)
                self._families.update(families)
            if exact:
                self._exact.append((since, exact))
            self._waiting += 1

    def take(self, since: datetime, families: tuple[str, ...], exact: tuple[str, ...],
             actions: tuple[str, ...]) -> Share:
        """The kept events at or after `since` of `actions` whose object type starts with one
        of `families` or is one of the `exact` types the walk covers; the exact types it does
        not cover are left to the caller. Every registered stream calls this once."""
        with self._lock:   # the first caller walks; the others wait for its result
            if not self._walked:
                self._covered = self._exact_covered()
                try:
                    self._events = list(self._walk())
                except Exception as exc:   # every stream waiting on the walk fails with its reason
                    self._failure, self._events = exc, []
                self._walked = True
            events, failure, covered = self._events, self._failure, self._covered
            self._waiting -= 1
            if self._waiting <= 0:
                self._events = []   # every stream has its share: don't hold them for the rest of the run
        served = self._walk_since is not None and since >= self._walk_since
        exact_left = tuple(t for t in exact if not (served and t in covered))
        if failure is not None and (families or len(exact_left) < len(exact)):
            raise failure
        wanted = tuple(t for t in exact if t not in exact_left)
        return Share([event for event in events if event["_at"] >= since and event["action"] in actions
                      and (event["object_type"].startswith(families) or event["object_type"] in wanted)],
                     exact_left)

    def _exact_covered(self) -> frozenset[str]:
        """The exact types of the registrants whose replay starts within the walk."""
        if self._walk_since is None:
            return frozenset()
        return frozenset(t for since, types in self._exact if since >= self._walk_since for t in types)

    def _walk(self):
        if self._walk_since is None:
            return   # no family registered: nothing is walked, exact types are asked for by type
        # To the moment of the walk, not the run's start: a change made just before the run
        # is replayed now (the replay's own bookmark is not this walk's concern).
        params = {"date_updated__gte": format_datetime(self._walk_since), "_limit": EVENT_PAGE,
                  "_fields": EVENT_FIELDS}
        families = tuple(sorted(self._families))
        for page in cursor_pages(self.client, EVENT_PATH, params):
            for event in page:
                object_type = event.get("object_type")
                if event.get("action") in KEPT_ACTIONS and isinstance(object_type, str) \
                        and (object_type.startswith(families) or object_type in self._covered):
                    yield {"object_id": event.get("object_id"), "object_type": object_type,
                           "action": event["action"], "date_created": event.get("date_created"),
                           "_at": required_time(event, "date_updated", "event"),
                           # kept for deletions only: an update's is just the changed fields
                           "previous_data": event.get("previous_data") if event["action"] == "deleted" else None}
