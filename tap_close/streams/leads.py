from datetime import timedelta

from ..timeutil import floor_minute, parse_datetime
from .paging import Keyset, keyset_pages, read_page
from .windowed import WindowedStream, with_skip

MINUTE = timedelta(minutes=1)
# Lead search reads an index that can lag writes: the bookmark stays this far behind the
# run's start so that a lead saved just before the run is read again next time.
SEARCH_INDEX_LAG = timedelta(minutes=2)


def _minute(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M")


def _minute_of(record, field):
    return floor_minute(parse_datetime(record[field]))


class Leads(WindowedStream):
    """GET /lead/ with Close's search query, ascending by date_updated.

    Close's lead search compares dates to the minute, so windows and keyset boundaries are
    whole minutes, bookmarks are truncated to the minute and that minute is read again
    next run (targets upsert on `id`). A minute holding more leads than `_skip` can reach
    (a bulk edit) is read again sorted by date_created. Contacts, opportunities, addresses
    and tasks stay nested as Close returns them.
    """
    tap_stream_id = "leads"
    path = "lead"
    replication_key = "date_updated"
    sort_field = "date_updated"
    page_size = 200
    window = timedelta(days=30)
    custom_field_slots = {(): "lead", ("contacts",): "contact", ("opportunities",): "opportunity"}
    paging_fields = ("id", "date_updated", "date_created")
    event_object_types = ("lead",)
    large_pages = True    # 200 leads with their contacts and opportunities: over a megabyte

    def windows(self, ctx):
        # The current minute is read too, but the bookmark stays behind it: records updated
        # later in that minute, or indexed late, are read again next run.
        start = floor_minute(ctx.bookmark or ctx.start_date)
        last_minute = floor_minute(ctx.sync_start)
        ceiling = self.bookmark_ceiling(ctx)
        lo, end = self.data_start(ctx, start, last_minute + MINUTE)
        if lo >= end:
            return []
        result, lo = [], floor_minute(lo)
        while lo <= last_minute:
            hi = min(lo + self.window, last_minute + MINUTE)
            result.append((lo, hi, min(hi, ceiling)))
            lo = hi
        return result

    def bookmark_ceiling(self, ctx):
        return max(floor_minute(ctx.bookmark or ctx.start_date), floor_minute(ctx.sync_start - SEARCH_INDEX_LAG))

    def window_query(self, lo, hi, boundary, skip):
        since = boundary if boundary is not None else lo
        query = f'date_updated>="{_minute(since)}" date_updated<"{_minute(hi)}" sort:date_updated'
        return with_skip({"query": query, "_limit": self.page_size}, skip)

    def sort_key(self, record):
        return _minute_of(record, "date_updated")

    def keyset(self, ctx, lo, hi):
        keyset = super().keyset(ctx, lo, hi)
        keyset.step = lambda minute: minute + MINUTE
        keyset.split = lambda minute: self._one_minute_by_creation(ctx, minute)
        return keyset

    def _one_minute_by_creation(self, ctx, minute):
        """Every lead updated in `minute`, walked by date_created instead."""
        updated = f'date_updated>="{_minute(minute)}" date_updated<"{_minute(minute + MINUTE)}"'

        def params(created, skip):
            since = f' date_created>="{_minute(created)}"' if created is not None else ""
            return with_skip({"query": f"{updated}{since} sort:date_created", "_limit": self.page_size,
                              **self.fields_param(ctx)}, skip)
        return keyset_pages(ctx.client, self.path,
                            Keyset(params=params, key=lambda record: _minute_of(record, "date_created")))

    def earliest_record(self, ctx, lo, hi):
        params = {**self.window_query(lo, hi, None, 0), "_limit": 1, "_fields": "id,date_updated"}
        data, _ = read_page(ctx.client, self.path, params)
        return self.sort_key(data[0]) if data else None
