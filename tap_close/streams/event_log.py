import logging
from datetime import timedelta
from functools import partial

from ..timeutil import format_datetime
from .base import Stream, Unit, date_windows, window_label
# Close: events can become visible late or be consolidated, so the latest five minutes are
# read again; windows start a little inside the retention horizon, never at events Close is
# expiring at that moment.
from .changes import HORIZON_MARGIN, RESCAN, RETENTION
from .paging import cursor_pages

LOGGER = logging.getLogger("tap_close")


class EventLog(Stream):
    """GET /event/: Close's change log, cursor-paged newest first, kept for about 30 days.
    Read in date_updated windows, each walked with its cursor, so every window is a unit."""
    tap_stream_id = "event_log"
    path = "event"
    replication_key = "date_updated"
    page_size = 50
    window = timedelta(days=7)

    def read_units(self, ctx):
        start = ctx.start_date if ctx.bookmark is None else max(ctx.start_date, ctx.bookmark - RESCAN)
        horizon = ctx.sync_start - RETENTION + HORIZON_MARGIN
        if start < horizon:
            LOGGER.warning("event_log: Close keeps only 30 days of events; events from %s to %s are no "
                           "longer available and are not replicated", format_datetime(start),
                           format_datetime(horizon))
            start = horizon
        windows = date_windows(start, ctx.sync_start, self.window)
        for number, (lo, hi) in enumerate(windows, 1):
            # The newest window reads to the moment it is read, as in windowed.py.
            reach = None if number == len(windows) else hi
            yield Unit(label=window_label(lo, reach), fetch=partial(self._fetch, ctx, lo, reach), bookmark=hi)

    def _fetch(self, ctx, lo, hi, unit):
        params = {"date_updated__gte": format_datetime(lo), "_limit": self.page_size}
        if hi is not None:
            params["date_updated__lt"] = format_datetime(hi)
        return cursor_pages(ctx.client, self.path, params)
