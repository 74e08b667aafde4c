from ..timeutil import format_datetime, parse_datetime
from .paging import read_page
from .windowed import WindowedStream, with_skip


class Opportunities(WindowedStream):
    """GET /opportunity/ in `date_updated` windows, keyset-paged in ascending `date_updated`
    (Close sorts opportunities by `_order_by=date_updated` and filters `date_updated__gte`)."""
    tap_stream_id = "opportunities"
    path = "opportunity"
    replication_key = "date_updated"
    sort_field = "date_updated"
    page_size = 250
    custom_field_slots = {(): "opportunity"}
    paging_fields = ("id", "date_updated")
    event_object_types = ("opportunity",)

    def window_query(self, lo, hi, boundary, skip):
        since = lo if boundary is None else boundary
        params = {"date_updated__gte": format_datetime(since), "_order_by": "date_updated", "_limit": self.page_size}
        if hi is not None:
            params["date_updated__lt"] = format_datetime(hi)
        return with_skip(params, skip)

    def earliest_record(self, ctx, lo, hi):
        params = {**self.window_query(lo, hi, None, 0), "_limit": 1, "_fields": "id,date_updated"}
        data, _ = read_page(ctx.client, self.path, params)
        return parse_datetime(data[0]["date_updated"]) if data else None
