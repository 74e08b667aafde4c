"""Streams read through date windows: each window is a unit whose end becomes the bookmark
once all its records are written. Inside a window, records are read with keyset paging; a
window that turns out dense splits (window_split.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any, ClassVar, Iterator

from ..timeutil import parse_datetime
from .base import LATE_VISIBILITY, Split, Stream, StreamContext, Unit, date_windows, window_label
from .paging import Keyset, keyset_pages
from .window_split import WindowRead, plan_split, read_whole


# Below this many windows, empty ones cost less than asking where the records begin.
PROBE_AFTER_WINDOWS = 24


class WindowedStream(Stream):
    # Windows are the units a backfill starts from; dense ones split as they are read
    # (window_split.py), so a few large ones give a group its first units without the
    # request each window costs at its end. A stream whose pages are not sorted on the
    # window's key cannot split and declares smaller windows (tasks).
    window: ClassVar[timedelta] = timedelta(days=120)
    sort_field: ClassVar[str]        # the field keyset paging re-anchors on
    descending: ClassVar[bool] = False   # Close lists the records newest first (only)

    def window_start(self, ctx: StreamContext) -> datetime:
        if ctx.bookmark is None:
            return ctx.start_date
        return max(ctx.start_date, ctx.bookmark - self.reread(ctx))

    def reread(self, ctx: StreamContext) -> timedelta:
        """How far below the bookmark a run reads again."""
        return LATE_VISIBILITY

    def windows(self, ctx: StreamContext) -> list[tuple[datetime, datetime, datetime]]:
        """(lo, hi, bookmark once written) for each window, oldest first."""
        lo, hi = self.data_start(ctx, self.window_start(ctx), ctx.sync_start)
        return [(a, b, b) for a, b in date_windows(lo, hi, self.window)]

    def read_units(self, ctx: StreamContext) -> Iterator[Unit]:
        """A unit per window, less the ranges an earlier run finished; with no record in the
        range at all, one empty unit that moves the bookmark to the end of the range without
        a request."""
        windows = self.windows(ctx)
        if not windows:
            yield Unit(label="no records", fetch=lambda unit: iter(()), bookmark=self.bookmark_ceiling(ctx))
            return
        newest_end = windows[-1][1]
        for lo, hi, bookmark in without_ranges(windows, self.skipped_ranges(ctx)):
            # The newest window is read to the moment it is read: a write Close stamped just
            # before the run (after the estimate of Close's "now", a lower bound) comes now
            # rather than next run. Its bookmark stays at the run's start all the same.
            yield self.window_unit(ctx, lo, None if hi == newest_end else hi, bookmark)

    def window_unit(self, ctx: StreamContext, lo: datetime, reach: datetime | None, bookmark: datetime,
                    page_spans: tuple = ()) -> Unit:
        """The unit reading [lo, reach) (reach None: to the moment it is read), which becomes
        the bookmark `bookmark` once written; `page_spans`: the density its pages showed so far
        (a piece cut from a window starts with the window's)."""
        read = WindowRead(lo=lo, hi=reach, end=bookmark, descending=self.descending, page_spans=page_spans)
        unit = Unit(label=window_label(lo, reach), fetch=partial(self._read_window, ctx, read),
                    bookmark=bookmark, span=(lo, bookmark))
        if self.sort_field == self.replication_key:   # then a piece of the sort is a piece of the window
            unit.split = partial(self._split_window, ctx, read)
            unit.progress = partial(read_whole, read)
        return unit

    def _read_window(self, ctx: StreamContext, read: WindowRead, unit: Unit) -> Iterator[list[dict]]:
        for page in self.fetch_window(ctx, read):
            read.passed(self.sort_key(page[-1]))
            if ctx.late_edited is not None:
                ctx.late_edited.read(page)
            yield page
            page = None   # the writer's now: not held while the next page is read (page_memory.py)

    def _split_window(self, ctx: StreamContext, read: WindowRead, wanted: int) -> Split | None:
        """Called between two pages (the read is paused): narrow the read to the piece it keeps
        and make a unit of every other piece."""
        plan = plan_split(read, wanted)
        if plan is None:
            return None
        (lo, hi), pieces = plan
        reach, end = read.hi, read.end
        # The piece ending at the window's end reads as far as the window did (to the moment
        # it is read, for the newest window).
        # Each piece starts with the evidence the window's density was cut on: a piece of a
        # stretch proved dense splits after its own first page if that page is dense too (an
        # import day is spread over the units within a few pages), and one whose first page
        # turns out sparse does not (window_split.WindowRead.pace).
        children = [self.window_unit(ctx, a, reach if b == end else b, b, read.evidence()) for a, b in pieces]
        read.lo, read.hi, read.end = lo, reach if hi == end else hi, hi
        return Split(span=(lo, hi), bookmark=hi, label=window_label(lo, read.hi), children=children)

    def skipped_ranges(self, ctx: StreamContext) -> list[tuple[datetime, datetime]]:
        """The finished ranges less their top `reread(ctx)`: a write that shows late, or (for
        activities) an edit within the lookback, is caught below a finished range's end as
        below a bookmark. What is skipped must not hold edits this run misses: streams keyed
        on date_updated see an edit move its record to the newest window, and activities'
        late edits are fetched again through the event log (changes.py `_refetch`)."""
        # Edits an event replay fetches again need no re-read: only a write that shows late does.
        margin = LATE_VISIBILITY if self.refetch_edited and ctx.late_edits else self.reread(ctx)
        return below_margin(ctx.finished, margin)

    def bookmark_ceiling(self, ctx: StreamContext) -> datetime:
        """The furthest this run may move the bookmark."""
        return ctx.sync_start

    def data_start(self, ctx: StreamContext, lo: datetime, hi: datetime) -> tuple[datetime, datetime]:
        """Where windows should begin: a start date years before the account's first record
        would otherwise cost one request per empty window. Over a long range, ask Close where
        the records begin; with none at all, there is no window to read."""
        if hi - lo <= PROBE_AFTER_WINDOWS * self.window:
            return lo, hi
        first = self.earliest_record(ctx, lo, hi)
        return (hi if first is None else max(lo, first)), hi

    def earliest_record(self, ctx: StreamContext, lo: datetime, hi: datetime) -> datetime | None:
        """A time at or before the first record in [lo, hi), or None when there is none."""
        return lo

    def fetch_window(self, ctx: StreamContext, read: WindowRead) -> Iterator[list[dict]]:
        return keyset_pages(ctx.client, self.path, self.keyset(ctx, read))

    def keyset(self, ctx: StreamContext, read: WindowRead) -> Keyset:
        # Each page's query reads the window's bounds anew: a split may have narrowed them.
        return Keyset(params=lambda boundary, skip: {**self.window_query(read.lo, read.hi, boundary, skip),
                                                     **self.fields_param(ctx)},
                      key=self.sort_key)

    def window_query(self, lo: datetime, hi: datetime | None, boundary: Any, skip: int) -> dict:
        """The query of one window, [lo, hi) (hi None: no upper bound), from `boundary` on."""
        raise NotImplementedError

    def sort_key(self, record: dict) -> Any:
        return parse_datetime(record[self.sort_field])


def below_margin(ranges, margin: timedelta) -> list[tuple[datetime, datetime]]:
    """Finished ranges less their top `margin`, which is read again (a write that shows late
    lands there); ranges shorter than the margin are left out."""
    return [(lo, hi - margin) for lo, hi in ranges if hi - margin > lo]


def without_ranges(windows: list[tuple[datetime, datetime, datetime]],
                   skipped: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime, datetime]]:
    """(lo, hi, bookmark) windows with the `skipped` ranges cut out; a piece ending early has
    its own end as bookmark (the state then carries the bookmark over the skipped range)."""
    pieces = []
    for lo, hi, bookmark in windows:
        parts = [(lo, hi)]
        for cut_lo, cut_hi in skipped:
            parts = [part for a, b in parts
                     for part in ((a, min(b, cut_lo)), (max(a, cut_hi), b)) if part[0] < part[1]]
        pieces += [(a, b, bookmark if b == hi else b) for a, b in parts]
    return pieces


def with_skip(params: dict, skip: int) -> dict:
    if skip:
        params["_skip"] = skip
    return params
