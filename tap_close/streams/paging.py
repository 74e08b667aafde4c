"""The three ways of reading a Close list, each a generator of pages (lists of records).

- `offset_pages`: `_skip`/`_limit` through a small collection (users, custom fields).
- `keyset_pages`: a sorted query re-anchored after every page at the last record's sort
  value, so no request ever needs a deep `_skip` (Close caps it per resource) and a record
  deleted or moved while we page cannot shift an unseen record past us.
- `cursor_pages`: the event log's opaque `cursor_next`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from ..errors import BadRequestError, CloseAPIError, NotFoundError, UnexpectedResponseError

LOGGER = logging.getLogger("tap_close")
# Close answers a list request with 404 when the record at that offset was deleted while we
# paged ("Document has been deleted."). Asking again reads on from the same place.
DELETED_RETRIES = 5
# The deepest `_skip` Close is known to accept (activities). Other resources may stop earlier:
# their 400 is recognised by the walk, not by its message text.
MAX_SKIP = 250_000
Page = list[dict]


def read_page(client, path: str, params: dict) -> tuple[Page, bool]:
    body = client.get(path, params)
    data, has_more = body.get("data"), body.get("has_more")
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise UnexpectedResponseError(f"Close answered GET {path} without a 'data' list of objects")
    if not isinstance(has_more, bool):
        raise UnexpectedResponseError(f"Close answered GET {path} without a boolean 'has_more'")
    if has_more and not data:
        raise UnexpectedResponseError(f"Close answered GET {path} with has_more but no data")
    return data, has_more


def offset_pages(client, path: str, params: dict, page_size: int) -> Iterator[Page]:
    """Records inserted while we page push the ones already read onto the next page: those
    are dropped by id against the previous page only, so memory stays one page whatever the
    collection's size. A record deleted under us makes Close answer 404: the walk starts
    over, and records emitted before the restart may be emitted again (targets upsert on
    `id`); none is skipped."""
    skip, previous, retries = 0, set(), 0
    while True:
        try:
            data, has_more = read_page(client, path, {**params, "_skip": skip, "_limit": page_size})
        except NotFoundError:
            if skip == 0 or retries >= DELETED_RETRIES:
                raise
            retries += 1
            LOGGER.info("a record was deleted while paging %s; reading it again from the start", path)
            skip, previous = 0, set()
            continue
        fresh = [record for record in data if record.get("id") not in previous] if previous else data
        previous = {record.get("id") for record in data}
        if fresh:
            yield fresh
        if not has_more:
            return
        skip += len(data)


@dataclass
class Keyset:
    """How to walk one sorted query without deep `_skip`."""
    params: Callable[[Any, int], dict]   # (boundary or None, skip) → query, inclusive of boundary
    key: Callable[[dict], Any]           # a record's sort value, at the precision the filter compares
    step: Callable[[Any], Any] | None = None                  # the first boundary past a tie group
    split: Callable[[Any], Iterator[Page]] | None = None      # another way through one tie group


class _SkipCapReached(Exception):
    pass


def keyset_pages(client, path: str, keyset: Keyset, overlap: int = 10, max_skip: int = MAX_SKIP) -> Iterator[Page]:
    """Page a sorted query, re-anchoring after each page at the last record's key.

    Records sharing that key are read again by the next query and dropped by id; when more
    of them share one key than a page holds, `_skip` steps over those already seen, less an
    `overlap` that absorbs deletions among them. When even `_skip` cannot reach the end of a
    tie group (Close answers 400 past its per-resource `max_skip`), the group is read through
    `keyset.split` and the walk goes on past it; without a split the run fails loudly
    rather than lose records.
    """
    boundary, seen_at_boundary, retries = None, set(), 0
    while True:
        skip = max(0, len(seen_at_boundary) - overlap)
        try:
            if skip > max_skip:
                raise _SkipCapReached
            data, has_more = read_page(client, path, keyset.params(boundary, skip))
        except NotFoundError:
            if (boundary is None and skip == 0) or retries >= DELETED_RETRIES:
                raise
            retries += 1
            LOGGER.info("a record was deleted while paging %s; asking again", path)
            continue
        except (BadRequestError, _SkipCapReached):
            if skip == 0:
                raise  # a genuinely bad query, not the skip cap
            if keyset.split is None or keyset.step is None:
                raise CloseAPIError(
                    f"more records of {path} share the sort value {boundary} than Close lets a query "
                    f"page through (stopped at _skip={skip}); no record was skipped") from None
            LOGGER.info("%s: more than %d records share %s; reading them another way", path, skip, boundary)
            for page in keyset.split(boundary):
                fresh = [record for record in page if record.get("id") not in seen_at_boundary]
                seen_at_boundary.update(record.get("id") for record in fresh)
                if fresh:
                    yield fresh
            boundary, seen_at_boundary = keyset.step(boundary), set()
            continue
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
