"""Streams read through date windows: each window is a unit whose end becomes the bookmark
once all its records are written. Inside a window, records are read with keyset paging."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any, ClassVar, Iterator

from ..timeutil import parse_datetime
from .base import Stream, StreamContext, Unit, date_windows, window_label
from .paging import Keyset, keyset_pages


class WindowedStream(Stream):
    window: ClassVar[timedelta] = timedelta(days=30)
    sort_field: ClassVar[str]        # the field keyset paging re-anchors on

    def window_start(self, ctx: StreamContext) -> datetime:
        return ctx.bookmark or ctx.start_date

    def windows(self, ctx: StreamContext) -> list[tuple[datetime, datetime, datetime]]:
        """(lo, hi, bookmark once written) for each window, oldest first."""
        return [(lo, hi, hi) for lo, hi in date_windows(self.window_start(ctx), ctx.sync_start, self.window)]

    def units(self, ctx: StreamContext) -> Iterator[Unit]:
        for lo, hi, bookmark in self.windows(ctx):
            yield Unit(label=window_label(lo, hi), fetch=partial(self.fetch_window, ctx, lo, hi), bookmark=bookmark)

    def fetch_window(self, ctx: StreamContext, lo: datetime, hi: datetime, unit: Unit) -> Iterator[list[dict]]:
        return keyset_pages(ctx.client, self.path, self.keyset(ctx, lo, hi))

    def keyset(self, ctx: StreamContext, lo: datetime, hi: datetime) -> Keyset:
        return Keyset(params=lambda boundary, skip: {**self.window_query(lo, hi, boundary, skip),
                                                     **self.fields_param(ctx)},
                      key=self.sort_key)

    def window_query(self, lo: datetime, hi: datetime, boundary: Any, skip: int) -> dict:
        raise NotImplementedError

    def sort_key(self, record: dict) -> Any:
        return parse_datetime(record[self.sort_field])


def with_skip(params: dict, skip: int) -> dict:
    if skip:
        params["_skip"] = skip
    return params
