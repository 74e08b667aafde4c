"""Sequences (Workflows in Close's app) and their subscriptions.

`GET /sequence/` takes `_limit` and `_skip` only (Close's docs:
https://developer.close.com/api/resources/sequences/list): nothing to be incremental on, so the
sequences are read whole every run, as the other configuration tables are.

`GET /sequence_subscription/` needs one of `sequence_id`, `contact_id` or `lead_id` and has no
date filter or order either (https://developer.close.com/api/resources/sequences/list-subscriptions;
Close's changelog 2021-03-31 made a filter mandatory). So every run lists the sequences and reads
each one's subscriptions, emitting those changed since the bookmark (less the re-read margin);
the bookmark becomes the run's start once every sequence is read (full_scan.py). Cost: one
request for the sequence list, then one per sequence and one more per 100 of its subscriptions,
every run, whatever changed. The sequences are read one after another, a page at a time:
reading several at once would hold their subscriptions in memory together, and memory would
grow with the account (the bench measured +22-27% from N to 4N records).
"""

from __future__ import annotations

from .dimensions import DimensionStream
from .full_scan import FullScanStream
from .paging import offset_pages


class Sequences(DimensionStream):
    """GET /sequence/: the organization's sequences with their steps nested."""
    tap_stream_id = "sequences"
    path = "sequence"


class SequenceSubscriptions(FullScanStream):
    """GET /sequence_subscription/?sequence_id=... for every sequence: who is (or was) in which
    sequence, with the subscription's status."""
    tap_stream_id = "sequence_subscriptions"
    path = "sequence_subscription"
    replication_key = "date_updated"
    page_size = 100   # Close's documented default; no larger page is documented
    # Every run reads every subscription (no date filter): tens of requests even when nothing
    # changed, so a user asks for it (README: its cost).
    selected_by_default = False

    def collections(self, ctx):
        # Read inside the unit, so the list is as fresh as the subscriptions read after it.
        # `_fields` is Close's general field filter: only the ids are needed here.
        for page in offset_pages(ctx.client, Sequences.path, {"_fields": "id"}, Sequences.page_size):
            for sequence in page:
                yield self.path, {"sequence_id": sequence["id"]}, {}
