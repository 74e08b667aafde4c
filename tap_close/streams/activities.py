from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from ..timeutil import format_datetime
from .paging import read_page
from .windowed import WindowedStream, with_skip

# Close lists activities newest first only, so the oldest one is found by bisection, to a
# day, asking about several points at once.
PROBE_RESOLUTION = timedelta(days=1)
PROBES = 4


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
    descending = True
    page_size = 100
    custom_field_slots = {(): "activity"}
    paging_fields = ("id", "date_created")
    event_object_types = ("activity.",)
    refetch_edited = True

    def reread(self, ctx):
        return max(ctx.activities_lookback, super().reread(ctx))

    def window_query(self, lo, hi, boundary, skip):
        params = {"date_created__gte": format_datetime(lo), "_limit": self.page_size}
        if boundary is not None:
            params["date_created__lte"] = format_datetime(boundary)
        elif hi is not None:
            params["date_created__lt"] = format_datetime(hi)
        return with_skip(params, skip)

    def earliest_record(self, ctx, lo, hi):
        """Bisection, PROBES points at a time: each round costs one round trip, not PROBES."""
        def any_before(moment):
            params = {"date_created__gte": format_datetime(lo), "date_created__lt": format_datetime(moment),
                      "_limit": 1, "_fields": "id"}
            return bool(read_page(ctx.client, self.path, params)[0])

        if not any_before(hi):
            return None
        empty_until, found_before = lo, hi   # none in [lo, empty_until), some in [lo, found_before)
        with ThreadPoolExecutor(max_workers=PROBES) as pool:
            while found_before - empty_until > PROBE_RESOLUTION:
                step = (found_before - empty_until) / (PROBES + 1)
                points = [empty_until + step * (i + 1) for i in range(PROBES)]
                for point, found in zip(points, pool.map(any_before, points)):
                    if found:
                        found_before = point
                        break
                    empty_until = point
        return empty_until
