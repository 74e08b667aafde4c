"""The three ways of reading a Close list, each a generator of pages (lists of records).

- `offset_pages`: `_skip`/`_limit` through a small collection (users, custom fields).
- `keyset_pages`: a sorted query re-anchored after every page at the last record's sort
  value, so no request ever needs a deep `_skip` (Close caps it per resource) and a record
  deleted or moved while we page cannot shift an unseen record past us.
- `cursor_pages`: the event log's opaque `cursor_next`.

(Leads and contacts are read through Close's search API instead: search.py.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from ..errors import BadRequestError, CloseAPIError, NotFoundError, UnexpectedResponseError

LOGGER = logging.getLogger("tap_close")
# Close answers a list page with 404 when a record it was about to serve was deleted while we
# paged ("Document has been deleted."), on any page, the first of a window included. Asking
# again reads on; a path that does not exist answers 404 every time and fails after these.
DELETED_RETRIES = 5
# The deepest `_skip` Close is known to accept (activities). Other resources may stop earlier:
# their 400 is recognised by the walk, not by its message text.
MAX_SKIP = 250_000
# Offset pages start one record before the end of the last page: finding a record of the last
# page again proves that no record was skipped. When none is there, records before it were
# deleted meanwhile (the offsets moved down): the walk steps back half a page at a time until a
# page holds one again. Each step back costs a request; an overlap wide enough to absorb a few
# deletions would cost a share of every page of every walk instead.
OFFSET_STEPS_BACK = 20   # in one walk: beyond, the list is changing faster than it can be read
Page = list[dict]


def read_page(client, path: str, params: dict) -> tuple[Page, bool]:
    for attempt in range(DELETED_RETRIES + 1):
        try:
            body = client.get(path, params)
            break
        except NotFoundError:
            if attempt == DELETED_RETRIES:
                raise
            LOGGER.info("Close answered 404 on a page of %s (a record deleted as we read); asking again", path)
    data, has_more = body.get("data"), body.get("has_more")
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise UnexpectedResponseError(f"Close answered GET {path} without a 'data' list of objects")
    if not isinstance(has_more, bool):
        raise UnexpectedResponseError(f"Close answered GET {path} without a boolean 'has_more'")
    if has_more and not data:
        raise UnexpectedResponseError(f"Close answered GET {path} with has_more but no data")
    return data, has_more


def offset_pages(client, path: str, params: dict, page_size: int) -> Iterator[Page]:
    """`_skip`/`_limit` paging, for small collections only (their ids are kept to drop
    repeats), each page overlapping the last by one record (OFFSET_STEPS_BACK)."""
    ask, last, seen, steps_back = 0, set(), set(), 0
    while True:
        data, has_more = read_page(client, path, {**params, "_skip": ask, "_limit": page_size})
        ids = [record.get("id") for record in data]
        if ask and last and not last.intersection(ids):
            steps_back += 1
            if steps_back > OFFSET_STEPS_BACK:
                raise CloseAPIError(f"{path} kept changing under the tap while it paged; read it again later")
            LOGGER.info("records of %s were deleted while paging; stepping back to read on from the last "
                        "record seen", path)
            ask = max(0, ask - max(1, page_size // 2))
            continue
        fresh = [record for record in data if record.get("id") not in seen]
        seen.update(ids)
        if fresh:
            yield fresh
        if not has_more:
            return
        # A page of one record cannot overlap the next one and still move on.
        ask, last = (ask + len(data) - 1, set(ids)) if len(data) > 1 else (ask + 1, set())
        data = fresh = None   # the writer's now: not held while the next page is read (page_memory.py)


@dataclass
class Keyset:
    """How to walk one sorted query without deep `_skip`."""
    params: Callable[[Any, int], dict]   # (boundary or None, skip) → query, inclusive of boundary
    key: Callable[[dict], Any]           # a record's sort value, at the precision the filter compares


class _SkipCapReached(Exception):
    pass


def keyset_pages(client, path: str, keyset: Keyset, overlap: int = 10, max_skip: int = MAX_SKIP) -> Iterator[Page]:
    """Page a sorted query, re-anchoring after each page at the last record's key.

    Records sharing that key are read again by the next query and dropped by id; when more
    of them share one key than a page holds, `_skip` steps over those already seen, less an
    `overlap` that absorbs deletions among them. When even `_skip` cannot reach the end of a
    tie group (Close answers 400 past its per-resource `max_skip`), the stream fails loudly
    rather than lose records.
    """
    boundary, seen_at_boundary = None, set()
    while True:
        skip = max(0, len(seen_at_boundary) - overlap)
        try:
            if skip > max_skip:
                raise _SkipCapReached
            data, has_more = read_page(client, path, keyset.params(boundary, skip))
        except (BadRequestError, _SkipCapReached):
            if skip == 0:
                raise  # a genuinely bad query, not the skip cap
            raise CloseAPIError(
                f"more records of {path} share the sort value {boundary} than Close lets a query "
                f"page through (stopped at _skip={skip}); no record was skipped") from None
        fresh = [record for record in data if record.get("id") not in seen_at_boundary] \
            if seen_at_boundary else data
        if fresh:
            yield fresh
        if not has_more:
            return
        last = _key(keyset.key, data[-1], path)
        tail = set()
        for record in reversed(data):
            if _key(keyset.key, record, path) != last:
                break
            tail.add(record.get("id"))
        data = fresh = record = None  # don't hold this page while the next one is fetched
        if last == boundary:
            seen_at_boundary |= tail
        else:
            boundary, seen_at_boundary = last, tail


def _key(key, record, path):
    try:
        return key(record)
    except (KeyError, TypeError, ValueError):
        raise UnexpectedResponseError(
            f"Close returned a record of {path} without a usable sort value (id {record.get('id')!r})") from None


def cursor_pages(client, path: str, params: dict) -> Iterator[Page]:
    cursor, seen = None, set()
    while True:
        body = client.get(path, {**params, "_cursor": cursor} if cursor else params)
        data = body.get("data")
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise UnexpectedResponseError(f"Close answered GET {path} without a 'data' list of objects")
        # Close may consolidate events while we walk; never emit one twice in a walk.
        fresh = [record for record in data if record.get("id") not in seen]
        seen.update(record.get("id") for record in fresh)
        if fresh:
            yield fresh
        cursor = body.get("cursor_next")
        if not cursor or not data:
            return
        if not isinstance(cursor, str):
            raise UnexpectedResponseError(f"Close answered GET {path} with a non-string cursor_next")
        body = data = fresh = None   # the writer's now: not held while the next page is read
