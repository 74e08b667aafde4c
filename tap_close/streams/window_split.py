"""Dense date windows split themselves, so that no endpoint group is left with one window read
one page at a time while its rate limit has room.

Keyset paging inside a window is sequential by nature: each page's query starts where the
last one ended. Real accounts are skewed (an import puts a quarter of a year's activities on
one day, a campaign thousands of records in one minute), so one window can hold most of a
stream. After each page the sync asks the unit whether it would split (when its endpoint group
has fewer units than it could run at once); the last pages' spans of the key say how dense the
rest is (the pace of the whole window so far would not: a dense import day in a quiet month
looks sparse averaged over the month). A rest worth several pages is cut,
at whole seconds, into pieces of even span; the unit reads on through the first piece and the
others become units of their own, which split again when they in turn turn out dense. A piece
costs about one request more than reading on would (its last, partial page), so pieces are
made only for groups with idle room and only over at least MIN_PIECE_PAGES pages each.

The density is believed only once the window has shown it on PROOF_PAGES pages in a row, and
the rest is estimated at the sparsest of them: a burst shorter than that (a campaign's minute
of a few hundred records fills two or three pages) cannot make a sparse rest look dense and
have it cut into pieces that turn out nearly empty, each costing a request (an incremental
run's lookback, read while its group is idle, would cost more requests than its pages). A
stretch worth splitting (an import day) is dense for dozens of pages: it is cut a few pages
later, as finely, and its pieces start with that evidence, so that a piece whose own first page
is dense too splits at once (windowed.py). A longer burst (a campaign minute of five pages)
passes that proof; the number of parts is then bounded by the rest's pages at the median
pace of the last RECENT_PAGES pages too, which a burst of fewer pages than the sparse ones
read before it leaves sparse.

Cuts are whole seconds: Close's search compares moments at a precision its docs do not state,
and a record of second S is `before` S+1 and `on_or_after` S at any precision (search.py).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..timeutil import floor_second

SECOND = timedelta(seconds=1)
# A piece is made only when the rest of the window is estimated at this many pages per piece:
# its partial last page is then a small share of its requests.
MIN_PIECE_PAGES = 4
# The size of the pieces cut next to the read, in pages at the density the last pages showed.
PIECE_PAGES = 16
# Pages in a row a window must have been dense on before it is cut: as many as the smallest
# piece is estimated to hold, so that no piece is made on less evidence than it bets on.
PROOF_PAGES = MIN_PIECE_PAGES
# The pages whose median pace also bounds the number of parts (plan_split): a piece's worth.
RECENT_PAGES = PIECE_PAGES


@dataclass
class WindowRead:
    """One window's read as it goes: the bounds its queries use, which a split narrows between
    two pages, and how far it has come."""
    lo: datetime
    hi: datetime | None          # where queries stop; None: at the moment each is sent
    end: datetime                # the window's end by this run's clock (its bookmark)
    descending: bool = False     # read newest first (Close lists activities only so)
    position: datetime | None = None   # the sort key of the furthest record read
    page_spans: tuple[timedelta, ...] = ()   # the spans of the key the last pages covered (up to RECENT_PAGES), newest last

    def passed(self, last: datetime) -> None:
        """A page was read; `last` is its last record's sort key."""
        # A page's span runs from where the previous one ended (a window's first page from
        # the window's edge): empty stretches count as the sparse data they are.
        start = self.position if self.position is not None else (self.end if self.descending else self.lo)
        self.page_spans = (*self.page_spans, abs(last - start))[-RECENT_PAGES:]
        if self.position is None:
            self.position = last
        else:
            self.position = min(self.position, last) if self.descending else max(self.position, last)

    def pace(self) -> timedelta | None:
        """The span of the key a page of the rest is estimated to cover: the sparsest of the
        last PROOF_PAGES pages (at least a second), or None before that many were read."""
        if len(self.page_spans) < PROOF_PAGES:
            return None
        return max(*self.evidence(), SECOND)

    def recent_pace(self) -> timedelta:
        """The median span of the last RECENT_PAGES pages (at least a second): what most of
        them covered, which one long empty stretch does not move."""
        return max(statistics.median_high(self.page_spans), SECOND)

    def evidence(self) -> tuple[timedelta, ...]:
        """What a piece cut from this read starts with: the spans its density was proved on."""
        return self.page_spans[-PROOF_PAGES:]


def read_whole(read: WindowRead) -> tuple[datetime, datetime] | None:
    """The part of the window every record of which has been read: below the last page's
    second when reading upwards, above it when reading newest first (a record of that very
    second may still come)."""
    if read.position is None:
        return None
    if read.descending:
        lo, hi = floor_second(read.position) + SECOND, read.end
    else:
        lo, hi = read.lo, floor_second(read.position)
    return (lo, hi) if lo < hi else None


def plan_split(read: WindowRead, wanted: int) -> tuple[tuple[datetime, datetime], list[tuple[datetime, datetime]]] | None:
    """([lo, hi) the read keeps, the pieces for new units oldest first), or None when the rest of
    the window is not worth splitting in up to `wanted` + 1 parts."""
    pace = read.pace()
    if pace is None or wanted < 1:
        return None
    if read.descending:
        start, stop = read.lo, floor_second(read.position)
    else:
        start, stop = floor_second(read.position) + SECOND, read.end
    if stop - start < 2 * SECOND:
        return None
    pages_left = (stop - start) / pace
    # No more parts than the rest holds pages at the recent pages' median pace as well: a
    # burst read just now (a campaign minute of a few pages) leaves most recent pages as
    # sparse as the window was before it, and the rest is not cut into pieces past the burst,
    # nearly empty and a request each. A stretch dense for longer (an import day) soon makes
    # most of them; its pieces start with the proof only (evidence) and split at their own pace.
    pages_at_recent_pace = (stop - start) / read.recent_pace()
    count = min(wanted + 1, int(pages_left // MIN_PIECE_PAGES), int(pages_at_recent_pace // MIN_PIECE_PAGES))
    if count < 2:
        return None
    # Pieces next to where the read is, of PIECE_PAGES pages at the density just seen, and the
    # rest of the window as the last piece: density is known only near the read (an import
    # day is dense for a day, not for the month), and a rest that turns out dense splits in turn.
    step = min((stop - start) / count, PIECE_PAGES * pace)
    if read.descending:
        cuts = {floor_second(stop - step * i) for i in range(1, count)}
    else:
        cuts = {floor_second(start + step * i) for i in range(1, count)}
    cuts = sorted(cut for cut in cuts if start < cut < stop)
    if not cuts:
        return None
    ranges = list(zip([start, *cuts], [*cuts, stop]))
    if read.descending:
        return (ranges[-1][0], read.end), ranges[:-1]
    return (read.lo, ranges[0][1]), ranges[1:]
