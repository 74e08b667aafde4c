"""What a stream's list endpoint cannot tell: deletions, and edits Close cannot filter by.

Close keeps a change log (`GET /event/`, about 30 days). On an incremental run, each stream
that declares `event_object_types` replays the events since its bookmark as one unit, placed
before its reads so that no bookmark passes it:

- a `deleted` event becomes a deletion record, which targets honouring that convention
  delete or flag (config `emit_deletes`): the object's last state from the event's
  `previous_data` (the selected fields of it), with `id` and `_sdc_deleted_at`; only `id` and
  `_sdc_deleted_at` when Close gives no `previous_data` (for non-admin keys it does so only
  for events under an hour old). A target that ignores `_sdc_deleted_at` and upserts then
  keeps the row's last values instead of blanking it;
- for streams with `refetch_edited` (activities, which Close lists by creation time only),
  an `updated` event on a record created before this run's re-read range makes the tap
  fetch that record again (`id__in`, a page of ids per request) and emit it (config
  `late_activity_edits`). An event says nothing of its record's creation time, so this
  fetch is a unit of its own that starts once the stream's windows have ended and asks only
  for the edited records they did not read (`LateEdits`): most edits are to recent records,
  which the re-read range brings anyway. It stands before the windows in bookmark order,
  so the bookmark moves only once it is written (their ranges are recorded as finished).

A family ("activity.", "task.") has too many types to ask one by one, so the events of the
period are walked once per run for every such stream (`event_feed.py`) and matched here.
Exact object types ("lead", "contact", ...) are taken from that walk too when it covers
their period, so with nothing changed a replay costs no request of its own; otherwise they
are asked of Close with its `object_type`+`action` filter. Only the few fields needed are
requested.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from functools import partial
from typing import Iterator

from ..errors import UnexpectedResponseError
from ..timeutil import format_datetime
from .base import DELETED_AT, Stream, StreamContext, Unit, required_time
from .event_feed import EVENT_FIELDS, EVENT_PAGE, EVENT_PATH, EventFeed
from .paging import cursor_pages, read_page

LOGGER = logging.getLogger("tap_close")
RETENTION = timedelta(days=30)
# Events can become visible late (Close's advice): replay the five minutes before the bookmark.
RESCAN = timedelta(minutes=5)
# Close keeps "about" 30 days: reads start this much further back, so that every event Close
# still serves arrives (the cursor walk simply ends where its events do).
HORIZON_MARGIN = timedelta(minutes=10)
REFETCH_BATCH = 50           # ids per `id__in` request; longer lists go out as a POST override
DELETIONS_PER_PAGE = 500


def change_units(stream: Stream, ctx: StreamContext) -> list[Unit]:
    """The replay of the events since the bookmark and, for a stream that fetches edited
    records again, the unit that does once the reads have ended; none on a first sync."""
    actions = wanted_actions(stream, ctx)
    anchor = replay_anchor(ctx)
    if not actions or anchor is None:
        return []   # a first sync reads everything that exists: nothing to delete or re-read
    since = anchor - RESCAN
    horizon = ctx.sync_start - RETENTION - HORIZON_MARGIN
    if since < horizon:
        LOGGER.warning("%s: the bookmark is older than the 30 days of events Close keeps; %s from %s to %s "
                       "may no longer be seen", stream.tap_stream_id, " and ".join(_describe(a) for a in actions),
                       format_datetime(since), format_datetime(horizon))
        since = horizon
    if ctx.event_feed is None:
        ctx.event_feed = EventFeed(ctx.client)   # a stream planned on its own
    ctx.event_feed.need(since, _families(stream), _exact_types(stream))
    # Its wait is for the shared walk of the event log: it takes a turn of the event group,
    # not one of the stream's own windows'.
    units = [Unit(label=f"changes since {format_datetime(since)}", bookmark=None, group=EVENT_PATH,
                  fetch=partial(_replay, stream, ctx, since, actions))]
    if "updated" in actions:
        ctx.late_edited = LateEdits()
        units.append(Unit(label="records edited since, not read again", bookmark=None, after_the_others=True,
                          fetch=partial(_fetch_late_edits, stream, ctx)))
    return units


class LateEdits:
    """The records the replay found edited, less those this run's windows read (they carry
    the edit already). The windows report each page (`read`, from their threads); before
    the replay has found its ids, every id is kept: the pages read while the event walk
    runs, of the order of the events the walk holds itself."""

    def __init__(self):
        self._lock = threading.Lock()
        self._edited: set[str] | None = None
        self._read: set[str] = set()

    def read(self, page: list[dict]) -> None:
        with self._lock:
            ids = (record.get("id") for record in page)
            self._read.update(ids if self._edited is None else (i for i in ids if i in self._edited))

    def found(self, edited: set[str]) -> None:
        with self._lock:
            self._edited = set(edited)
            self._read &= self._edited

    def unread(self) -> tuple[list[str], int]:
        """(the edited ids no window read, how many were edited), once the replay is done."""
        with self._lock:
            if self._edited is None:
                raise RuntimeError("late edits asked for before the event replay found them")
            return sorted(self._edited - self._read), len(self._edited)


def replay_anchor(ctx: StreamContext) -> datetime | None:
    """Where the replay starts (less RESCAN): the bookmark, or, when ranges a run finished
    beyond it are skipped, the start of the earliest run that read them, whichever is older.
    A skipped range's records were read after that start: an edit or deletion since is in the
    events from there. (Inferred from the state's invariants, state.py.)"""
    moments = [moment for moment in (ctx.bookmark, ctx.finished_since if ctx.finished else None)
               if moment is not None]
    return min(moments) if moments else None


def wanted_actions(stream: Stream, ctx: StreamContext) -> tuple[str, ...]:
    actions = []
    if stream.refetch_edited and ctx.late_edits:
        actions.append("updated")
    # A user who deselected _sdc_deleted_at gets no deletion records (they would be bare ids).
    if stream.tracks_deletions and ctx.emit_deletes and (ctx.fields is None or DELETED_AT in ctx.fields):
        actions.append("deleted")
    return tuple(actions)


def _describe(action: str) -> str:
    return {"updated": "late edits", "deleted": "deletions"}[action]


def _replay(stream: Stream, ctx: StreamContext, since: datetime, actions: tuple[str, ...],
            unit: Unit) -> Iterator[list[dict]]:
    deleted: dict[str, dict] = {}
    edited: set[str] = set()
    for event in _events(stream, ctx, since, actions):
        object_id = event.get("object_id")
        if not isinstance(object_id, str):
            continue
        if event.get("action") == "deleted":
            deleted[object_id] = deletion_record(ctx, object_id, _event_time(event), event.get("previous_data"))
        elif event.get("action") == "updated":
            edited.add(object_id)
    if ctx.late_edited is not None:
        ctx.late_edited.found(edited - deleted.keys())
    if deleted:
        records = [deleted[object_id] for object_id in sorted(deleted)]
        for start in range(0, len(records), DELETIONS_PER_PAGE):
            yield records[start:start + DELETIONS_PER_PAGE]
        LOGGER.info("%s: %d deletion record(s) from the event log", stream.tap_stream_id, len(records))


def deletion_record(ctx: StreamContext, object_id: str, deleted_at: str, previous) -> dict:
    """The deleted object's last known state (its selected fields), then id and deletion time."""
    record = {}
    if isinstance(previous, dict):
        record = {key: value for key, value in previous.items() if key in ctx.record_fields}
    record["id"] = object_id
    record[DELETED_AT] = deleted_at
    return record


def _families(stream: Stream) -> tuple[str, ...]:
    return tuple(t for t in stream.event_object_types if t.endswith("."))


def _exact_types(stream: Stream) -> tuple[str, ...]:
    return tuple(t for t in stream.event_object_types if not t.endswith("."))


def _events(stream: Stream, ctx: StreamContext, since: datetime, actions: tuple[str, ...]) -> Iterator[dict]:
    share = ctx.event_feed.take(since, _families(stream), _exact_types(stream), actions)
    yield from share.events
    # The exact types the shared walk does not cover, by type and action. To the moment of the
    # query (as the shared feed walks): a change made just before the run is replayed by this
    # run. With previous_data, for deletion records.
    window = {"date_updated__gte": format_datetime(since), "_limit": EVENT_PAGE, "_fields": EVENT_FIELDS}
    for object_type in share.exact_left:
        for action in actions:
            for page in cursor_pages(ctx.client, EVENT_PATH, {**window, "object_type": object_type, "action": action}):
                yield from page


def _event_time(event: dict) -> str:
    """Event roots carry naive UTC times; write them like every other timestamp."""
    return format_datetime(required_time(event, "date_created", "event"))


def _fetch_late_edits(stream: Stream, ctx: StreamContext, unit: Unit) -> Iterator[list[dict]]:
    ids, edited = ctx.late_edited.unread()
    if edited:
        LOGGER.info("%s: %d record(s) edited since the bookmark, %d of them not read again by this run's windows",
                    stream.tap_stream_id, edited, len(ids))
    if ids:
        yield from _refetch(stream, ctx, ids)


def _refetch(stream: Stream, ctx: StreamContext, ids: list[str]) -> Iterator[list[dict]]:
    """Fetch edited records again, keeping those the windows of this run do not re-read:
    created before the re-read start, or in a range an earlier run finished (skipped)."""
    reread_from = stream.window_start(ctx)
    skipped = stream.skipped_ranges(ctx)
    emitted = 0
    for start in range(0, len(ids), REFETCH_BATCH):
        batch = ids[start:start + REFETCH_BATCH]
        params = {"id__in": ",".join(batch), "_limit": len(batch), **stream.fields_param(ctx)}
        data, _ = read_page(ctx.client, stream.path, params)
        strangers = {record.get("id") for record in data} - set(batch)
        if strangers:   # an ignored filter would otherwise lose the edits without a word
            raise UnexpectedResponseError(f"Close answered GET {stream.path} with id__in by records not asked "
                                          f"for (e.g. {sorted(map(str, strangers))[0]})")
        late = [record for record in data if _not_reread(stream, ctx, reread_from, skipped, record)]
        emitted += len(late)
        if late:
            yield late
        data = late = None   # the writer's now: not held while the next batch is read
    LOGGER.info("%s: %d record(s) edited after the lookback window, fetched again (%d asked for)",
                stream.tap_stream_id, emitted, len(ids))


def _not_reread(stream: Stream, ctx: StreamContext, reread_from: datetime,
                skipped: list[tuple[datetime, datetime]], record: dict) -> bool:
    created = _created(stream, record)
    if created < ctx.start_date:
        return False
    return created < reread_from or any(lo <= created < hi for lo, hi in skipped)


def _created(stream: Stream, record: dict) -> datetime:
    # Streams that refetch edits are replicated on their creation time.
    return required_time(record, stream.replication_key, f"{stream.path} record")
