"""Dense windows split themselves (streams/window_split.py, sync.Sync._offer_split): the
arithmetic of a split, and through the CLI on skewed data, that pieces are read in parallel
and nothing is lost."""

import json
from collections import Counter
from datetime import datetime, timedelta, timezone

from expectations import assert_complete, expected_ids
from tap_close.ratelimit import Pacer
from tap_close.streams.window_split import (MIN_PIECE_PAGES, PIECE_PAGES, PROOF_PAGES, RECENT_PAGES, WindowRead,
                                            plan_split, read_whole)
from tap_close.timeutil import now_utc, parse_datetime
from tap_runner import run_tap, select, tap_config, write_json

LO = datetime(2026, 1, 1, tzinfo=timezone.utc)
HI = datetime(2026, 1, 31, tzinfo=timezone.utc)
MINUTE = timedelta(minutes=1)


def read_after(*lasts, descending=False, lo=LO, hi=HI):
    read = WindowRead(lo=lo, hi=hi, end=hi, descending=descending)
    for last in lasts:
        read.passed(last)
    return read


def paced(position, span, descending=False, pages=PROOF_PAGES):
    """The last keys of pages read up to `position`, the last `pages` of them each over `span`."""
    back = span if descending else -span     # where the earlier pages ended
    return [position + back * k for k in range(pages, -1, -1)]


def whole_seconds(*moments):
    return all(moment.microsecond == 0 for moment in moments)


# -- the arithmetic -----------------------------------------------------------------------------

def test_an_ascending_read_keeps_the_piece_next_to_it_and_hands_on_the_rest():
    # Pages of ten minutes: the rest of the month is thousands of pages, so split as wide as asked.
    position = LO + timedelta(days=10, seconds=0.5)
    read = read_after(*paced(position, 10 * MINUTE))
    keeps, pieces = plan_split(read, wanted=3)
    assert keeps[0] == LO and len(pieces) == 3
    # next to the read, pieces of PIECE_PAGES pages at the pace just seen; the last takes the rest
    assert keeps[1] - (position.replace(microsecond=0) + timedelta(seconds=1)) == PIECE_PAGES * 10 * MINUTE
    assert [b - a for a, b in pieces[:2]] == [PIECE_PAGES * 10 * MINUTE] * 2
    assert pieces[-1][1] == HI
    edges = [keeps[1]] + [edge for piece in pieces for edge in piece]
    assert whole_seconds(*edges)
    assert all(a < b for a, b in pieces) and keeps[1] == pieces[0][0] and pieces[0][1] == pieces[1][0]


def test_a_descending_read_hands_on_the_older_part():
    position = HI - timedelta(days=2, seconds=0.25)
    read = read_after(*paced(position, 10 * MINUTE, descending=True), descending=True)
    keeps, pieces = plan_split(read, wanted=2)
    assert keeps[1] == HI and keeps[0] < position and whole_seconds(keeps[0])
    assert pieces[0][0] == LO and pieces[-1][1] == keeps[0]
    assert position - keeps[0] < PIECE_PAGES * 10 * MINUTE + timedelta(seconds=1)


def test_a_sparse_or_almost_done_window_is_not_split():
    # pages of 5 days: what is left is about two pages
    sparse = read_after(*paced(LO + timedelta(days=20), timedelta(days=5)))
    assert plan_split(sparse, wanted=7) is None
    # dense, but within a second of the end
    nearly = read_after(*paced(HI - timedelta(seconds=1.2), timedelta(seconds=0.05)))
    assert plan_split(nearly, wanted=7) is None
    # dense, but the group has no room
    dense = read_after(*paced(LO + 5 * MINUTE, MINUTE))
    assert plan_split(dense, wanted=0) is None
    assert plan_split(dense, wanted=1) is not None


def test_pieces_are_not_made_smaller_than_a_few_pages():
    # The rest is about 2.5 pieces' worth of MIN_PIECE_PAGES: at most 2 parts, whatever is asked.
    span = (HI - LO) / (2.5 * MIN_PIECE_PAGES + PROOF_PAGES + 1)
    read = read_after(*paced(LO + PROOF_PAGES * span, span))
    keeps, pieces = plan_split(read, wanted=7)
    assert len(pieces) == 1


def test_a_window_is_cut_only_once_it_has_been_dense_for_several_pages_in_a_row():
    # Sparse pages, then dense ones: no cut until PROOF_PAGES dense pages in a row.
    lasts = paced(LO + timedelta(days=10), timedelta(days=5), pages=2)
    lasts += [lasts[-1] + 10 * MINUTE * k for k in range(1, PROOF_PAGES + 1)]
    read = WindowRead(lo=LO, hi=HI, end=HI)
    for i, last in enumerate(lasts):
        read.passed(last)
        dense_in_a_row = max(0, i - 2)
        assert (plan_split(read, wanted=7) is not None) == (dense_in_a_row >= PROOF_PAGES), i
    # and the pieces are sized by the sparsest of those pages
    read.passed(read.position + 20 * MINUTE)
    keeps, pieces = plan_split(read, wanted=3)
    assert pieces[0][1] - pieces[0][0] == PIECE_PAGES * 20 * MINUTE


def test_a_burst_in_a_sparse_window_does_not_cut_it():
    """Newest first through a day's lookback, as an incremental run reads it: pages of hours,
    then a campaign's minute of ~300 records (the page that reaches it, then two pages of 20
    seconds). The 20-second pages alone would have the sparse rest cut into pieces of a few
    minutes, nearly empty, each costing a request."""
    lo = HI - timedelta(hours=24)
    spans = [timedelta(hours=4), timedelta(hours=5), timedelta(hours=8), timedelta(minutes=58),
             timedelta(seconds=21), timedelta(seconds=20)]
    read = WindowRead(lo=lo, hi=None, end=HI, descending=True)
    position = HI
    for span in spans:
        position -= span
        read.passed(position)
        assert plan_split(read, wanted=7) is None, span
    # Dense for as many pages as a cut needs, the same rest is cut.
    dense = WindowRead(lo=lo, hi=None, end=HI, descending=True)
    for last in paced(HI - timedelta(hours=18), timedelta(seconds=20), descending=True):
        dense.passed(last)
    assert plan_split(dense, wanted=7) is not None


def test_the_part_read_whole_ends_below_the_second_a_record_of_which_may_still_come():
    up = read_after(LO + timedelta(days=3, seconds=7.5))
    assert read_whole(up) == (LO, LO + timedelta(days=3, seconds=7))
    down = read_after(HI - timedelta(days=3, seconds=7.5), descending=True)
    assert read_whole(down) == (HI - timedelta(days=3, seconds=7), HI)
    assert read_whole(WindowRead(lo=LO, hi=HI, end=HI)) is None


def test_a_group_that_waited_for_its_budget_is_at_its_limit_for_a_moment():
    now = [100.0]
    pacer = Pacer(clock=lambda: now[0], sleep=lambda seconds: now.__setitem__(0, now[0] + seconds))
    pacer.acquire("activity")
    pacer.release("activity", {"RateLimit": "limit=20, remaining=0, reset=1"})
    assert not pacer.at_its_limit("activity")
    pacer.acquire("activity")          # waits for the reset: the group is at its limit
    assert pacer.at_its_limit("activity") and not pacer.at_its_limit("task")
    now[0] += 1
    assert not pacer.at_its_limit("activity")


# -- through the CLI ----------------------------------------------------------------------------

START = "2025-06-01T00:00:00Z"


def test_a_dense_window_is_read_in_pieces_at_once_and_completely(sandbox_factory, tmp_path):
    """Skewed data (an import day holding a quarter of the activities, close_sandbox/skew.py),
    no rate limit: the window holding the import day splits, its pieces are read side by side,
    and every activity arrives once the run ends, with its bookmark at the run's start."""
    sb = sandbox_factory(seed=5, leads=250, activities_per_lead=8, events=100, days=300, skew=True)
    config = tap_config(sb, START, max_concurrency=4)
    discovered = run_tap(["--discover"], tmp_path, config=config)
    catalog = write_json(tmp_path / "catalog.json", select(json.loads(discovered.stdout), ["activities"]))
    started = now_utc()
    run = run_tap(["--catalog", catalog], tmp_path, config=config)
    assert run.returncode == 0, run.stderr[-2000:]
    assert_complete(expected_ids(sb, parse_datetime(START), started), run.ids, streams=["activities"])
    emitted = [r["id"] for r in run.records("activities")]
    assert len(emitted) == len(set(emitted)), "nothing changed during the run: no record read twice"
    requests = [r for r in sb.request_log if r["path"] == "/activity/" and r["params"].get("_limit") != "1"]
    # A unit's first request has no `date_created__lte` (keyset paging adds it from the 2nd page
    # on): more units started than the windows planned means windows split.
    planned = int(next(line for line in run.stderr.splitlines() if "activities: syncing from" in line)
                  .split(" in ")[1].split(" unit")[0])
    starts = Counter(r["params"]["date_created__gte"] for r in requests if "date_created__lte" not in r["params"])
    assert planned >= 1 and sum(starts.values()) > planned, (planned, starts)
    # The pieces are read at the same time: requests of different units overlap in the log.
    units_in_turn = [r["params"]["date_created__gte"] for r in requests]
    switches = sum(1 for a, b in zip(units_in_turn, units_in_turn[1:]) if a != b)
    assert switches > len(starts), "units took turns rather than one reading after the other"
    final = run.final_state["bookmarks"]["activities"]
    assert not final.get("finished") and parse_datetime(final["date_created"]) >= started - timedelta(seconds=5)


def moment_range(body):
    condition = body["query"]["queries"][1]["condition"]
    before = condition.get("before")
    return condition["on_or_after"]["value"], before["value"] if before else None


def test_a_dense_search_window_splits_upwards_and_loses_nothing_whatever_the_search_precision(
        sandbox_factory, tmp_path):
    """Leads read ascending through the search API: 1,200 of them changed within one minute
    (minute_cluster) make a 30-day window dense; its pieces are cut at whole seconds and read
    side by side, and a search comparing moments to the second loses none of the records on a
    cut (search.py: `before` S+1 and `on_or_after` S hold whatever the precision)."""
    sb = sandbox_factory(seed=9, leads=1500, activities_per_lead=0, tasks_per_lead=0, events=20, days=90,
                         minute_cluster=1200)
    sb.search_time_precision = "s"
    config = tap_config(sb, START, max_concurrency=4)
    discovered = run_tap(["--discover"], tmp_path, config=config)
    catalog = write_json(tmp_path / "catalog.json", select(json.loads(discovered.stdout), ["leads"]))
    run = run_tap(["--catalog", catalog], tmp_path, config=config)
    assert run.returncode == 0, run.stderr[-2000:]
    expected = {r["id"] for r in sb.store.records("lead") if parse_datetime(r["date_updated"]) >= parse_datetime(START)}
    assert len(expected) >= 1500 and run.ids("leads") == expected
    emitted = [r["id"] for r in run.records("leads")]
    assert len(emitted) == len(set(emitted)), "nothing changed during the run: no record read twice"
    searches = [r["body"] for r in sb.request_log if r["path"] == "/data/search/" and "cursor" not in r["body"]]
    ranges = {moment_range(body) for body in searches}
    ends = {end for _, end in ranges if end is not None}
    # Cuts inside the planned 30-day windows: an upper bound that is not on a window's day
    # boundary (the planned windows start at the start date, whole days apart).
    cuts = {end for end in ends if not end.endswith("T00:00:00.000000Z")}
    assert cuts, sorted(ranges)[:10]
    assert all(parse_datetime(cut).microsecond == 0 for cut in cuts), "pieces are cut at whole seconds"
    # Each cut is the start of the next piece: a range begins where another ends.
    starts = {start for start, _ in ranges}
    assert cuts <= starts, sorted(cuts - starts)[:5]


def test_a_window_split_again_and_again_is_read_once_and_whole():
    """Each split leaves the unit and its new pieces a partition of what the unit had left:
    after splits in a row (the unit reading on between them), the pieces and the unit cover
    the window once. (A unit that kept its old end split a rest it had handed on already.)"""
    from types import SimpleNamespace
    from tap_close.streams.opportunities import Opportunities
    from tap_close.streams.activities import Activities

    for stream in (Opportunities(), Activities()):
        ctx = SimpleNamespace(client=None, fields=None)
        unit = stream.window_unit(ctx, LO, None, HI)     # the newest window: read to the moment
        read = unit.split.args[1]
        units, position = [unit], (LO if not stream.descending else HI)
        # Each run of pages denser than the last: the unit, left with a few pages' worth, splits again.
        for step in (timedelta(hours=5), timedelta(minutes=20), timedelta(minutes=1)):
            for _ in range(PROOF_PAGES):
                position = position + step if not stream.descending else position - step
                read.passed(position)
            split = unit.split(3)
            assert split is not None
            unit.span, unit.bookmark = split.span, split.bookmark
            units += split.children
        spans = sorted(u.span for u in units)
        assert spans[0][0] == LO and spans[-1][1] == HI, (stream.tap_stream_id, spans)
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:])), (stream.tap_stream_id, spans)
        assert all(lo < hi for lo, hi in spans)
        # Each unit's reads stay inside its span, and only the newest piece reads to the moment.
        reads = {id(u): (u.split.args[1] if u.split else None) for u in units}
        for u in units:
            r = reads[id(u)]
            assert r.lo == u.span[0] and r.end == u.span[1]
            assert (r.hi is None) == (u.span[1] == HI) and (r.hi is None or r.hi == u.span[1])


def test_a_piece_starts_with_the_evidence_it_was_cut_on():
    """A piece of a stretch proved dense splits after its own first page when that page is
    dense too (so an import day is spread over the units within a few pages, as before the
    proof was asked for), and not when its first page turns out sparse."""
    window = read_after(*paced(LO + timedelta(days=10), 10 * MINUTE))
    keeps, pieces = plan_split(window, wanted=3)
    a, b = pieces[0]

    def piece_after(first_page_span):
        piece = WindowRead(lo=a, hi=b, end=b, page_spans=window.page_spans)
        piece.passed(a + first_page_span)
        return piece

    assert plan_split(piece_after(10 * MINUTE), wanted=3) is not None
    assert plan_split(piece_after(b - a - timedelta(minutes=1)), wanted=3) is None
    # Without the evidence, the same dense first page is not enough.
    fresh = WindowRead(lo=a, hi=b, end=b)
    fresh.passed(a + 10 * MINUTE)
    assert plan_split(fresh, wanted=3) is None


def test_the_pieces_a_window_unit_hands_on_carry_its_evidence():
    from tap_close.streams import STREAMS
    stream = STREAMS["opportunities"]
    unit = stream.window_unit(None, LO, HI, HI)
    read = unit.fetch.args[1]
    for last in paced(LO + timedelta(days=10), 10 * MINUTE):
        read.passed(last)
    split = unit.split(3)
    assert split is not None and split.children
    assert all(child.fetch.args[1].page_spans == read.evidence() for child in split.children)
    assert read.evidence() == read.page_spans[-PROOF_PAGES:] and len(read.evidence()) == PROOF_PAGES


def test_a_burst_longer_than_the_proof_does_not_cut_a_window_sparse_before_it():
    """The bench's skewed lookback: five pages of hours, then a campaign minute of 509
    activities (five pages of ~12 s). The proof is passed, but most recent pages are sparse:
    the rest (six hours) is not cut into pieces of a few minutes past the burst."""
    lo = HI - timedelta(hours=24)
    read = WindowRead(lo=lo, hi=None, end=HI, descending=True)
    position = HI
    for span in [timedelta(hours=2.4), timedelta(hours=3), timedelta(hours=3.7), timedelta(hours=4.4),
                 timedelta(hours=4.6)] + [timedelta(seconds=12)] * 5:
        position -= span
        read.passed(position)
        assert plan_split(read, wanted=7) is None, span
    assert read.pace() is not None and read.pace() < MINUTE, "the proof alone would have allowed a cut"


def test_a_long_dense_stretch_after_sparse_pages_is_cut_once_most_recent_pages_are_dense():
    """An import day reached after sparse pages: cut once the dense pages are most of the
    recent ones, as widely as asked (the rest of the month is thousands of its pages)."""
    read = WindowRead(lo=LO, hi=HI, end=HI)
    position = LO
    sparse = 6       # pages of three days: the month holds ten of them, not worth a cut
    for page in range(sparse + RECENT_PAGES):
        position += timedelta(days=3) if page < sparse else MINUTE
        read.passed(position)
        dense = max(0, page + 1 - sparse)
        split = plan_split(read, wanted=7)
        if split is not None:
            assert dense == sparse + 1, "cut as soon as the dense pages are most of the recent ones"
            keeps, pieces = split
            assert len(pieces) == 7
            return
    raise AssertionError("never cut")
