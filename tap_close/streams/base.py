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

from ..schema import add_custom_fields, load_static_schema
from ..timeutil import format_datetime


@dataclass
class StreamContext:
    """What one stream's sync needs to plan and fetch."""
    client: object
    start_date: datetime
    sync_start: datetime             # the signpost: no bookmark passes it
    bookmark: datetime | None        # None on a first (or FULL_TABLE) sync
    fields: tuple[str, ...] | None   # fields to ask Close for; None asks for all
    activities_lookback: timedelta = timedelta(hours=24)


@dataclass
class Unit:
    """One independent piece of a stream's sync."""
    label: str
    fetch: Callable[["Unit"], Iterator[list[dict]]]
    bookmark: datetime | None = None   # what the stream's bookmark becomes when this unit is written

    def pages(self) -> Iterator[list[dict]]:
        return self.fetch(self)


def date_windows(start: datetime, end: datetime, size: timedelta) -> list[tuple[datetime, datetime]]:
    windows, lo = [], start
    while lo < end:
        hi = min(lo + size, end)
        windows.append((lo, hi))
        lo = hi
    return windows


def window_label(lo: datetime, hi: datetime) -> str:
    return f"{format_datetime(lo)}..{format_datetime(hi)}"


class Stream:
    """One Close table. Subclasses declare the attributes and how to plan units."""

    tap_stream_id: ClassVar[str]
    path: ClassVar[str]
    key_properties: ClassVar[tuple[str, ...]] = ("id",)
    replication_key: ClassVar[str]
    page_size: ClassVar[int]
    # Where the account's custom fields go: schema path (() = the record, ("contacts",) =
    # items of its `contacts` array) → Close object type whose definitions apply.
    custom_field_slots: ClassVar[dict[tuple[str, ...], str]] = {}
    # Fields a pager needs in every record even when the user did not select them.
    paging_fields: ClassVar[tuple[str, ...]] = ()

    def schema(self, custom_fields: dict[str, dict[str, dict]]) -> dict:
        return add_custom_fields(load_static_schema(self.tap_stream_id), self.custom_field_slots, custom_fields)

    def units(self, ctx: StreamContext) -> Iterator[Unit]:
        raise NotImplementedError

    def fields_param(self, ctx: StreamContext) -> dict:
        """`_fields` asks Close for the selected fields only (plus what paging needs)."""
        if ctx.fields is None:
            return {}
        wanted = list(ctx.fields) + [name for name in self.paging_fields if name not in ctx.fields]
        return {"_fields": ",".join(wanted)}
