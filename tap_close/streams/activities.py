from datetime import timedelta

from ..timeutil import format_datetime
from .windowed import WindowedStream, with_skip


class Activities(WindowedStream):
    """GET /activity/: every activity type, newest first by date_created.

    Close cannot filter activities by modification time, so each run re-reads a lookback
    ("attribution") window before the bookmark to catch recent edits. Keyset paging walks
    each window downwards from its end: `date_created__lte` the oldest record seen.
    """
    tap_stream_id = "activities"
    path = "activity"
    replication_key = "date_created"
    sort_field = "date_created"
    page_size = 100
    window = timedelta(days=7)
    custom_field_slots = {(): "activity"}
    paging_fields = ("id", "date_created")

    def window_start(self, ctx):
        if ctx.bookmark is None:
            return ctx.start_date
        return max(ctx.start_date, ctx.bookmark - ctx.activities_lookback)

    def window_query(self, lo, hi, boundary, skip):
        params = {"date_created__gte": format_datetime(lo), "_limit": self.page_size}
        if boundary is None:
            params["date_created__lt"] = format_datetime(hi)
        else:
            params["date_created__lte"] = format_datetime(boundary)
        return with_skip(params, skip)
