"""Streams Close cannot filter by date: read the whole collection and emit the records
changed since the bookmark. Being dimensions, a first sync emits all of them, whatever the
start date. A stream without a replication key (statuses, pipelines) is emitted whole
every run (FULL_TABLE)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, ClassVar, Iterable, Iterator, TypeVar

from .. import summary
from ..timeutil import parse_datetime
from .base import LATE_VISIBILITY, Stream, StreamContext, Unit
from .paging import offset_pages

Item, Result = TypeVar("Item"), TypeVar("Result")
# Requests one unit sends side by side when it needs one per item (each group's members, the
# two custom field lists a search names): the client keeps this many connections beyond the
# run's workers (client.PLANNING_EXTRA_CONNECTIONS), and its Pacer holds each endpoint group
# to `max_concurrency` requests in flight whatever the threads.
ITEM_CONCURRENCY = 4


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
                kept = self.emitted(ctx, page, added)
                if kept:
                    yield kept
                page = kept = None   # the writer's now: not held while the next page is read
        self.read_whole(ctx, unit)

    def emitted(self, ctx: StreamContext, records: list[dict], added: dict) -> list[dict]:
        """The records to emit, each with `added` set: every one for a table without a
        replication key, else those changed since the bookmark (less the re-read margin)."""
        if self.replication_key is None or ctx.bookmark is None:
            kept = records
        else:
            since = ctx.bookmark - LATE_VISIBILITY
            # A record without a usable timestamp is emitted: losing it would be worse.
            kept = [record for record in records
                    if (changed := _parse_or_none(record.get(self.replication_key))) is None or changed >= since]
        for record in kept:
            record.update(added)
        return kept

    def read_whole(self, ctx: StreamContext, unit: Unit) -> None:
        """Called once the whole collection is read: the unit's bookmark becomes the run's start."""
        if self.replication_key is None:
            return
        # The whole collection was read after the run began (by Close's clock): the next run
        # emits what changed since then. Not the newest change seen: a record edited on a page
        # already read, while a later page held a newer edit, would never be emitted again.
        unit.bookmark = ctx.sync_start


def in_parallel(function: Callable[[Item], Result], items: Iterable[Item]) -> Iterator[Result]:
    """`function(item)` for each item, up to ITEM_CONCURRENCY at once, the results in the items'
    order. Their requests count against the calling thread's stream in the run summary, as the
    caller's own would (summary.attribute is per thread)."""
    items = list(items)
    if len(items) <= 1:
        yield from map(function, items)
        return
    caller = summary.current_attribution()

    def attributed(item):
        with summary.attributed_to(caller):
            return function(item)

    with ThreadPoolExecutor(max_workers=min(ITEM_CONCURRENCY, len(items)), thread_name_prefix="items") as pool:
        yield from pool.map(attributed, items)


def _parse_or_none(value):
    try:
        return parse_datetime(value)
    except ValueError:
        return None
