from datetime import timedelta

from ..timeutil import floor_minute, parse_datetime
from .windowed import WindowedStream, with_skip

MINUTE = timedelta(minutes=1)


def _minute(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M")


class Leads(WindowedStream):
    """GET /lead/ with Close's search query, ascending by date_updated.

    Close's lead search compares dates to the minute, so windows and keyset boundaries are
    whole minutes, bookmarks are truncated to the minute and that minute is read again
    next run (targets upsert on `id`). Contacts, opportunities, addresses and tasks stay
    nested as Close returns them.
    """
    tap_stream_id = "leads"
    path = "lead"
    replication_key = "date_updated"
    sort_field = "date_updated"
    page_size = 200
    window = timedelta(days=30)
    custom_field_slots = {(): "lead", ("contacts",): "contact", ("opportunities",): "opportunity"}
    paging_fields = ("id", "date_updated")

    def windows(self, ctx):
        # The current minute is read too, but the bookmark stays at its start: records
        # updated later in that minute are read again next run.
        start = floor_minute(ctx.bookmark or ctx.start_date)
        last_minute = floor_minute(ctx.sync_start)
        result, lo = [], start
        while lo <= last_minute:
            hi = min(lo + self.window, last_minute + MINUTE)
            result.append((lo, hi, min(hi, last_minute)))
            lo = hi
        return result

    def window_query(self, lo, hi, boundary, skip):
        since = boundary if boundary is not None else lo
        query = f'date_updated>="{_minute(since)}" date_updated<"{_minute(hi)}" sort:date_updated'
        return with_skip({"query": query, "_limit": self.page_size}, skip)

    def sort_key(self, record):
        return floor_minute(parse_datetime(record["date_updated"]))
