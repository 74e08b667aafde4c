from datetime import timedelta

from ..timeutil import format_datetime, parse_datetime
from .paging import read_page
from .windowed import WindowedStream, with_skip


class Tasks(WindowedStream):
    """GET /task/: every task type (`_type=all`; Close returns only lead tasks without it),
    in `date_updated` windows, keyset-paged in ascending `date_created` order so that a task
    edited while we page (and so leaving the window) cannot shift an unread one past us."""
    tap_stream_id = "tasks"
    path = "task"
    replication_key = "date_updated"
    sort_field = "date_created"
    page_size = 1000
    # Paged by date_created inside date_updated windows: a window cannot split (a piece of
    # the sort is not a piece of the window), so smaller windows give the task group its units.
    window = timedelta(days=30)
    paging_fields = ("id", "date_created")
    event_object_types = ("task.",)   # task.lead, task.email_followup, ...

    def window_query(self, lo, hi, boundary, skip):
        params = {"_type": "all", "date_updated__gte": format_datetime(lo), "_order_by": "date_created",
                  "_limit": self.page_size}
        if hi is not None:
            params["date_updated__lt"] = format_datetime(hi)
        if boundary is not None:
            params["date_created__gte"] = format_datetime(boundary)
        return with_skip(params, skip)

    def earliest_record(self, ctx, lo, hi):
        # No task is updated before it is created: the oldest creation among the tasks
        # updated in range bounds every one of their updates from below.
        params = {**self.window_query(lo, hi, None, 0), "_limit": 1, "_fields": "id,date_created"}
        data, _ = read_page(ctx.client, self.path, params)
        return parse_datetime(data[0]["date_created"]) if data else None
