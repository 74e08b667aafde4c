"""Streams Close cannot filter by date: read the whole collection and emit the records
changed since the bookmark. Being dimensions, a first sync emits all of them, whatever the
start date. A stream without a replication key (statuses, pipelines) is emitted whole
every run (FULL_TABLE)."""

from __future__ import annotations

from typing import ClassVar, Iterator

from ..timeutil import parse_datetime
from .base import LATE_VISIBILITY, Stream, StreamContext, Unit
from .paging import offset_pages


class FullScanStream(Stream):
    params: ClassVar[dict] = {}

    def collections(self, ctx: StreamContext) -> Iterator[tuple[str, dict, dict]]:
        """(path, query params, values added to each record) for each list to read."""
        yield self.path, dict(self.params), {}

    def read_units(self, ctx: StreamContext) -> Iterator[Unit]:
        yield Unit(label="all records", fetch=lambda unit: self._fetch(ctx, unit))

    def _fetch(self, ctx: StreamContext, unit: Unit) -> Iterator[list[dict]]:
        for path, params, added in self.collections(ctx):
            for page in offset_pages(ctx.client, path, {**params, **self.fields_param(ctx)}, self.page_size):
                kept = []
                if self.replication_key is None:
                    for record in page:
                        record.update(added)
                    yield page
                    continue
                since = ctx.bookmark - LATE_VISIBILITY if ctx.bookmark is not None else None
                for record in page:
                    changed = _parse_or_none(record.get(self.replication_key))
                    # A record without a usable timestamp is emitted: losing it would be worse.
                    if changed is None or since is None or changed >= since:
                        record.update(added)
                        kept.append(record)
                if kept:
                    yield kept
        if self.replication_key is None:
            return
        # The whole collection was read after the run began (by Close's clock): the next run
        # emits what changed since then. Not the newest change seen: a record edited on a page
        # already read, while a later page held a newer edit, would never be emitted again.
        unit.bookmark = ctx.sync_start


def _parse_or_none(value):
    try:
        return parse_datetime(value)
    except ValueError:
        return None
