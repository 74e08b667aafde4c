"""What every stream shares: the declarative attributes, units of work and date windows.

A stream's sync is a sequence of independent *units* (a date window, a whole small
collection, an event-log walk). A unit yields pages of raw records and carries the bookmark
that becomes true once all its records are written; the writer in `sync.py` emits the
records and only then moves the bookmark.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, ClassVar, Iterator

from ..errors import UnexpectedResponseError
from ..schema import add_custom_fields, load_static_schema
from ..timeutil import format_datetime, parse_datetime

# Singer's convention for deletion records (honoured by meltanolabs-target-postgres & co).
DELETED_AT = "_sdc_deleted_at"
# Close's lists can show a write some time after its timestamp (a transaction committing
# late, a replica or a search index catching up: Close's 2025-02-14 "Search Indexing Delays"):
# every run reads again this much below the bookmark, and targets' upserts absorb the repeats.
LATE_VISIBILITY = timedelta(minutes=5)

@dataclass
class StreamContext:
    """What one stream's sync needs to plan and fetch."""
    client: object
    start_date: datetime
    sync_start: datetime             # the signpost: no bookmark passes it
    bookmark: datetime | None        # None on a first (or FULL_TABLE) sync
    fields: tuple[str, ...] | None   # fields to ask Close for; None asks for all
    activities_lookback: timedelta = timedelta(hours=24)
    emit_deletes: bool = True        # deletion records from the event log (config `emit_deletes`)
    late_edits: bool = True          # re-read records edited after the lookback (config `late_activity_edits`)
    event_feed: object = None        # the run's shared walk of the event log (streams/event_feed.py)
    record_fields: frozenset = frozenset()   # the selected fields: what a record may carry
    current_custom_fields: object = None     # the run's live custom field definitions (custom_field_definitions.py)
    # Ranges [lo, hi) of the replication key a previous run wrote completely beyond the
    # bookmark (state.py), and the earliest start of the runs that read them.
    finished: tuple = ()
    finished_since: datetime | None = None
    # The records edited since the bookmark that this run must fetch again, less those its
    # windows read anyway (changes.LateEdits); None when the stream fetches none.
    late_edited: object = None


@dataclass
class Unit:
    """One independent piece of a stream's sync."""
    label: str
    fetch: Callable[["Unit"], Iterator[list[dict]]]
    bookmark: datetime | None = None   # what the stream's bookmark becomes when this unit is written
    # [lo, hi) of the replication key this unit reads completely: recorded in the state as
    # finished when the unit is written, so a resumed run need not read it again.
    span: tuple[datetime, datetime] | None = None
    # The endpoint group its requests go to (client.endpoint_group); None: its stream's path's.
    group: str | None = None
    # Between two pages, the sync may ask a unit to hand part of what it has left to new units
    # (`split(wanted)`, at most `wanted` of them): window_split.py. None: it never splits.
    split: Callable[[int], "Split | None"] | None = None
    # After each page, the part of `span` read whole so far (recorded as finished in the
    # state, so a run killed midway does not read it again); None: only the whole unit counts.
    progress: Callable[[], "tuple[datetime, datetime] | None"] | None = None
    # Starts only once every other unit of its stream has ended: it reads what they did not.
    after_the_others: bool = False

    def pages(self) -> Iterator[list[dict]]:
        return self.fetch(self)


@dataclass
class Split:
    """What a unit became when it split: its own range from now on, and units for the rest."""
    span: tuple[datetime, datetime]
    bookmark: datetime
    label: str
    children: list[Unit]


def required_time(record: dict, field: str, source: str) -> datetime:
    """A timestamp the tap cannot work without: a record lacking a usable one fails loudly."""
    try:
        return parse_datetime(record[field])
    except (KeyError, TypeError, ValueError):
        raise UnexpectedResponseError(f"Close returned {source} {record.get('id')!r} without a usable "
                                      f"{field}") from None


def date_windows(start: datetime, end: datetime, size: timedelta) -> list[tuple[datetime, datetime]]:
    windows, lo = [], start
    while lo < end:
        hi = min(lo + size, end)
        windows.append((lo, hi))
        lo = hi
    return windows


def window_label(lo: datetime, hi: datetime | None) -> str:
    return f"{format_datetime(lo)}..{format_datetime(hi) if hi is not None else 'now'}"


class Stream:
    """One Close table. Subclasses declare the attributes and how to plan units."""

    tap_stream_id: ClassVar[str]
    path: ClassVar[str]
    key_properties: ClassVar[tuple[str, ...]] = ("id",)
    # None: a small dimension read whole every run (FULL_TABLE), with no bookmark.
    replication_key: ClassVar[str | None]
    page_size: ClassVar[int]
    # Off by default when a run would cost a user many requests for records they may not need.
    selected_by_default: ClassVar[bool] = True
    # Event-log object types of this stream's records ("activity." matches every
    # activity.<type>): their `deleted` events become deletion records.
    event_object_types: ClassVar[tuple[str, ...]] = ()
    # Close cannot list these by modification time: their `updated` events older than the
    # re-read range make the record be fetched again (see changes.py).
    refetch_edited: ClassVar[bool] = False
    # Where the account's custom fields go: schema path (() = the record, ("contacts",) =
    # items of its `contacts` array) → Close object type whose definitions apply.
    custom_field_slots: ClassVar[dict[tuple[str, ...], str]] = {}
    # Fields a pager needs in every record even when the user did not select them.
    paging_fields: ClassVar[tuple[str, ...]] = ()
    # Fields the tap adds to records: never asked of Close.
    local_fields: ClassVar[tuple[str, ...]] = (DELETED_AT,)

    @property
    def bookmark_properties(self) -> list[str]:
        return [self.replication_key] if self.replication_key else []

    @property
    def tracks_deletions(self) -> bool:
        return bool(self.event_object_types)

    def schema(self, custom_fields: dict[str, dict[str, dict]]) -> dict:
        schema = add_custom_fields(load_static_schema(self.tap_stream_id), self.custom_field_slots, custom_fields)
        if self.tracks_deletions:
            schema["properties"][DELETED_AT] = {
                "type": ["null", "string"], "format": "date-time",
                "description": "When the record was deleted in Close (from the event log); "
                               "set only on deletion records, which carry nothing but the id."}
        return schema

    def definition_lists(self, every_field: bool) -> tuple[str, ...]:
        """The custom field definition lists this stream reads in a run (from the run's one
        view of them, custom_field_definitions.CurrentCustomFields), when synced with every
        field selected (`every_field`) or not. The run reads one of them first: its answer
        tells Close's clock without a request of its own (sync.Sync.close_now)."""
        return ()

    def units(self, ctx: StreamContext) -> Iterator[Unit]:
        """The event-log replay first (so no bookmark passes it), then the reads."""
        from .changes import change_units   # changes.py builds on this module
        yield from change_units(self, ctx)
        yield from self.read_units(ctx)

    def read_units(self, ctx: StreamContext) -> Iterator[Unit]:
        raise NotImplementedError

    def skipped_ranges(self, ctx: StreamContext) -> list[tuple[datetime, datetime]]:
        """Ranges of the replication key above the re-read start that this run does not read
        (finished by an earlier run); only streams whose units have spans skip any."""
        return []

    def fields_param(self, ctx: StreamContext) -> dict:
        """`_fields` asks Close for the selected fields only (plus what paging needs); the
        fields the tap adds itself are not Close's to send."""
        if ctx.fields is None:
            return {}
        wanted = [name for name in ctx.fields if name not in self.local_fields] + \
                 [name for name in self.paging_fields if name not in ctx.fields]
        return {"_fields": ",".join(wanted)}
