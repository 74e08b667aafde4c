import logging
from datetime import timedelta
from functools import partial

from ..timeutil import format_datetime
from .base import Stream, Unit, date_windows, required_time, window_label
# Close: events can become visible late or be consolidated, so the latest five minutes are
# read again; windows start a little before the retention horizon, so that every event Close
# still serves arrives.
from .changes import HORIZON_MARGIN, RESCAN, RETENTION
from .paging import cursor_pages
from .window_split import WindowRead, read_whole
from .windowed import below_margin, without_ranges

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
        horizon = ctx.sync_start - RETENTION - HORIZON_MARGIN
        if start < horizon:
            LOGGER.warning("event_log: Close keeps only about 30 days of events; events from %s to %s are no "
                           "longer available and are not replicated", format_datetime(start),
                           format_datetime(horizon))
            start = horizon
        windows = [(lo, hi, hi) for lo, hi in date_windows(start, ctx.sync_start, self.window)]
        newest_end = windows[-1][1] if windows else None
        for lo, hi, bookmark in without_ranges(windows, self.skipped_ranges(ctx)):
            # The newest window reads to the moment it is read, as in windowed.py.
            reach = None if hi == newest_end else hi
            # Newest first: after each page, the part above its last event is read whole
            # (window_split.read_whole), which a run killed midway need not read again.
            read = WindowRead(lo=lo, hi=reach, end=bookmark, descending=True)
            yield Unit(label=window_label(lo, reach), fetch=partial(self._fetch, ctx, read), bookmark=bookmark,
                       span=(lo, bookmark), progress=partial(read_whole, read))

    def skipped_ranges(self, ctx):
        """Ranges an earlier run read whole, less their top RESCAN (events show late or are
        consolidated into a newer one near the top)."""
        return below_margin(ctx.finished, RESCAN)

    def _fetch(self, ctx, read, unit):
        params = {"date_updated__gte": format_datetime(read.lo), "_limit": self.page_size}
        if read.hi is not None:
            params["date_updated__lt"] = format_datetime(read.hi)
        for page in cursor_pages(ctx.client, self.path, params):
            read.passed(min(required_time(event, "date_updated", "event") for event in page))
            yield page
            page = None   # the writer's now: not held while the next page is read (page_memory.py)
