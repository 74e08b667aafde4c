"""Streams read through Close's Advanced Filtering API, `POST /data/search/`.

Close deprecated the lead list's `query=` (2022-02-14) for this API, and it is the only way to
read contacts by modification time (`GET /contact/` filters by nothing but `lead_id`). Its
paging has no `_skip`: a cursor, which Close lets walk about 10,000 objects and keeps for
about 30 seconds (close-api-search-and-shapes.md §Q1). So a window is read sorted ascending by
`date_updated` and every page is a new query re-anchored at the last page's final second:
no cursor walk grows long or old, and a record edited while we read moves to the end of the
sort, where it is read again rather than skipped. The cursor is only used to step through
one second holding more records than a page.

Search results come from an index that can lag writes: like every windowed stream, each run
reads again `LATE_VISIBILITY` below the bookmark (windowed.py).

Anchors are whole seconds because Close's docs do not say at what precision a `fixed_utc`
moment is compared (a search index may keep milliseconds or seconds): `on_or_after` a whole
second includes every record of that second whatever the precision, and the ones already
emitted are dropped by id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, Iterator

from ..errors import BadRequestError, CloseAPIError, UnexpectedResponseError
from ..schema import definition_lists_of
from ..timeutil import floor_second, format_datetime
from .base import StreamContext, required_time
from .window_split import WindowRead
from .windowed import WindowedStream

LOGGER = logging.getLogger("tap_close")
SEARCH_PAGE_LIMIT = 200     # Close's maximum `_limit` for search (§Q1)
# A refused cursor (expired, or past its cap) makes the walk ask again from its anchor; a
# retry that brings nothing new means one second holds more records than a cursor can walk.
CURSOR_RESTARTS = 3


@dataclass(frozen=True)
class SearchSpec:
    """One object type's search: what to ask for and what to order and anchor on."""
    object_type: str
    field: str                   # the date field windows filter and pages are sorted on
    fields: tuple[str, ...]      # `_fields` for the object type: what each record carries
    limit: int = SEARCH_PAGE_LIMIT

    def body(self, lo: datetime, hi: datetime | None, cursor: str | None = None, limit: int | None = None) -> dict:
        field = {"type": "regular_field", "object_type": self.object_type, "field_name": self.field}
        moments = {"on_or_after": _fixed_utc(lo), "before": _fixed_utc(hi) if hi is not None else None}
        body = {
            "query": {"type": "and", "queries": [
                {"type": "object_type", "object_type": self.object_type},
                {"type": "field_condition", "field": field, "condition": {"type": "moment_range", **moments}},
            ]},
            "sort": [{"direction": "asc", "field": field}],
            "_fields": {self.object_type: list(self.fields)},
            "_limit": limit or self.limit,
        }
        if cursor:
            body["cursor"] = cursor
        return body


def _fixed_utc(value: datetime) -> dict:
    return {"type": "fixed_utc", "value": format_datetime(value)}


def read_search_page(client, body: dict) -> tuple[list[dict], str | None]:
    answer = client.search(body)
    data, cursor = answer.get("data"), answer.get("cursor")
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise UnexpectedResponseError("Close answered POST data/search without a 'data' list of objects")
    if cursor is not None and not isinstance(cursor, str):
        raise UnexpectedResponseError("Close answered POST data/search with a cursor that is not a string")
    for item in data:
        item.pop("__object_type", None)   # the search API's marker, not a field of the record
    return data, cursor or None


def search_pages(client, spec: SearchSpec, read: WindowRead) -> Iterator[list[dict]]:
    """Every record of `spec.object_type` whose `spec.field` is in [read.lo, read.hi), in pages;
    a record edited while we read may come twice (targets upsert on `id`), none is skipped.
    `read.hi` is read for every new query (a split may lower it between two pages); a cursor
    goes on with the query it came from."""
    anchor, seen, cursor, cursor_hi, barren_restarts = floor_second(read.lo), set(), None, None, 0
    while True:
        hi = cursor_hi if cursor else read.hi
        try:
            data, next_cursor = read_search_page(client, spec.body(anchor, hi, cursor))
        except BadRequestError:
            if cursor is None:
                raise     # the query itself was refused
            # Close refuses a cursor that expired or walked its ~10,000 objects: ask again from
            # the anchor, dropping by id what was already emitted.
            barren_restarts += 1
            if barren_restarts > CURSOR_RESTARTS:
                raise CloseAPIError(
                    f"more {spec.object_type}s share the {spec.field} second {format_datetime(anchor)} than "
                    f"Close's search lets one cursor walk; no record was skipped, the stream stops here") from None
            LOGGER.info("%s search: Close refused the cursor at %s; asking again from there",
                        spec.object_type, format_datetime(anchor))
            cursor = None
            continue
        fresh = [record for record in data if record.get("id") not in seen]
        if hi != read.hi and read.hi is not None:
            # A split lowered the window's end while this cursor walked on with its old query:
            # what lies past the new end is a new unit's to read (window_split.py).
            fresh = [record for record in fresh
                     if required_time(record, spec.field, f"a {spec.object_type}") < read.hi]
        if fresh:
            barren_restarts = 0
            yield fresh
        if not next_cursor or not data:
            return
        last = floor_second(required_time(data[-1], spec.field, f"a {spec.object_type}"))
        if last > anchor:
            # Re-anchor: a fresh query from the last second, whose records already emitted
            # are the only ones to drop.
            anchor, cursor = last, None
            seen = {record.get("id") for record in data
                    if floor_second(required_time(record, spec.field, f"a {spec.object_type}")) == last}
        else:
            # The whole page is one second: walk on with the cursor through that second.
            seen.update(record.get("id") for record in data)
            cursor, cursor_hi = next_cursor, hi
        data = fresh = None   # the writer's now: not held while the next page is read (page_memory.py)


class SearchStream(WindowedStream):
    """A stream of one search object type, in `date_updated` windows read in parallel."""
    object_type: ClassVar[str]
    replication_key = "date_updated"
    sort_field = "date_updated"
    page_size = SEARCH_PAGE_LIMIT
    paging_fields = ("id", "date_updated")

    def definition_lists(self, every_field: bool) -> tuple[str, ...]:
        # With every field selected, `_fields` names the custom fields defined now (spec below).
        if every_field and () in self.custom_field_slots:
            return definition_lists_of(self.custom_field_slots[()])
        return ()

    def spec(self, ctx: StreamContext) -> SearchSpec:
        """`_fields` from the selected schema: without it Close sends ids only, and no wildcard
        is documented, so every field (each `custom.cf_…` too) is named."""
        wanted = [name for name in sorted(ctx.record_fields) if name not in self.local_fields]
        wanted += [name for name in self.paging_fields if name not in wanted]
        if ctx.fields is None and ctx.current_custom_fields is not None and () in self.custom_field_slots:
            # Every field is selected: custom fields created since discovery are wanted too
            # (the transformer declares them from their first value).
            live = ctx.current_custom_fields.properties(self.custom_field_slots[()])
            wanted += sorted(name for name in live if name not in ctx.record_fields)
        return SearchSpec(self.object_type, self.sort_field, tuple(wanted), self.page_size)

    def fetch_window(self, ctx: StreamContext, read: WindowRead) -> Iterator[list[dict]]:
        return search_pages(ctx.client, self.spec(ctx), read)

    def earliest_record(self, ctx: StreamContext, lo: datetime, hi: datetime) -> datetime | None:
        spec = SearchSpec(self.object_type, self.sort_field, ("id", self.sort_field))
        data, _ = read_search_page(ctx.client, spec.body(lo, hi, limit=1))
        return floor_second(required_time(data[0], self.sort_field, f"a {self.object_type}")) if data else None
