"""Sync: fetch units of work concurrently, write everything from one thread.

Worker threads read pages of raw records (date windows of several streams at once, as many
as `max_concurrency` allows); the main thread transforms and writes every RECORD and STATE,
so output is never interleaved mid-line and every STATE is true: a stream's bookmark moves to
the end of the longest run of its units, in order, whose records are all written, whatever
order the units finish in. A bounded queue between them keeps memory flat: when the writer
falls behind, the fetchers wait.

A failure is the failing stream's alone (as Airbyte's framework isolates them, and Meltano
keeps the states a failed run printed): the stream starts no more units, drops the pages of
those in flight and keeps its bookmark; every other stream runs to its end, and the run then
raises `StreamsFailed`. Only what every stream would meet stops everything at once (see
`fails_only_its_stream`).
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from . import metrics
from .catalog import SelectedStream
from .config import Config
from .close_clock import ESTIMATE_SLACK
from .custom_field_definitions import CurrentCustomFields
from .errors import AuthError, Cancelled, StreamsFailed, Terminated
from .output import SingerWriter
from .state import State
from .streams import STREAMS, Stream, StreamContext, Unit
from .streams.base import DELETED_AT
from .streams.event_feed import EventFeed
from .summary import RunSummary, attribute
from .timeutil import format_datetime, now_utc
from .transform import RecordTransformer

LOGGER = logging.getLogger("tap_close")
TERMINATED = "stopped by {signal}; the last STATE printed is where to resume"
_active: list["Sync"] = []   # the running sync, for a stop requested by a signal


def _reason(exc: BaseException) -> str:
    """One line for the summary: the error's own message (they never hold the API key)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# Failures that are not one stream's: a rejected key (401/403) would fail every stream, and
# SIGTERM or a request cancelled because the run is stopping mean the run is ending anyway.
RUN_FAILURES = (AuthError, Terminated, Cancelled)


def fails_only_its_stream(exc: BaseException) -> bool:
    """A unit's (or a stream's planning) error that fails its stream and no other: a Close
    error (4xx, an unexpected answer, retries exhausted) or a bug in that stream's code.
    Not KeyboardInterrupt and the like (BaseException), not RUN_FAILURES."""
    return isinstance(exc, Exception) and not isinstance(exc, RUN_FAILURES)


def request_stop(signal_name: str) -> bool:
    """Ask the running sync to stop now (called from a signal handler): requests waiting on a
    rate limit or a retry give up at once, and the writer stops at its next line. False
    when no sync is running."""
    if not _active:
        return False
    runner = _active[0]
    runner.stop_signal = signal_name
    runner.stop_requested.set()
    runner.client.cancelled.set()
    return True


def close_now(client):
    """Close's current time from the Date header of its answers; before any answer, one cheap
    request asks for it."""
    if not client.clock.known:
        client.check_access()
    return client.clock.now()
PROGRESS_EVERY_SECONDS = 30.0
# Parsed pages waiting for the writer. With a slow target, every worker also holds the page it
# could not hand over yet: memory is bounded by queue + workers pages, whatever the run's size.
QUEUE_PAGES = 2


def stream_order(selected: list[SelectedStream], state: State) -> list[SelectedStream]:
    """Registry order, rotated so an interrupted stream resumes first; the streams before it
    follow after the rest (rotated, not dropped)."""
    ordered = sorted(selected, key=lambda s: list(STREAMS).index(s.tap_stream_id))
    current = state.currently_syncing
    names = [s.tap_stream_id for s in ordered]
    if current is None:
        return ordered
    if current not in names:
        LOGGER.warning("state says %s was being synced, but it is not selected; ignoring that", current)
        return ordered
    index = names.index(current)
    LOGGER.info("resuming with %s, where the previous run stopped", current)
    return ordered[index:] + ordered[:index]


def launch_order(count: int) -> list[int]:
    """Newest window, oldest, second newest, second oldest, ...: recent windows hold the most
    records (accounts grow), and a big window started last would end the run alone, one page
    at a time; starting from the oldest too keeps the bookmark (which only advances over the
    oldest windows done) moving for a run that is interrupted."""
    order, low, high = [], 0, count - 1
    while low <= high:
        order.append(high)
        if low < high:
            order.append(low)
        low, high = low + 1, high - 1
    return order


@dataclass
class StreamRun:
    """One stream's progress in this run: its units, which are done, what was written."""
    stream: Stream
    selected: SelectedStream
    ctx: StreamContext
    transformer: RecordTransformer    # widens selected.schema in place when a record needs it
    units: list[Unit]
    launch_order: list[int] = field(default_factory=list)
    next_unit: int = 0
    in_flight: int = 0
    done: set = field(default_factory=set)
    committed: int = 0               # units[:committed] are all written and bookmarked
    recorded: bool = False           # a finished range went into the state: a STATE is due
    version: int | None = None       # FULL_TABLE: this pass's table version (ACTIVATE_VERSION)
    first_version: bool = False      # no version in the state yet: activate at the start too
    count: int = 0
    deletions: int = 0
    last_progress: float = field(default_factory=time.monotonic)
    failure: str | None = None       # why the stream failed: it starts no unit and writes nothing more

    @property
    def stream_id(self) -> str:
        return self.stream.tap_stream_id

    @property
    def finished(self) -> bool:
        return self.failure is None and self.committed == len(self.units)

    @property
    def failed(self) -> bool:
        return self.failure is not None


class _Stop(Exception):
    """Raised in a worker when the run is being abandoned, or its unit's stream failed."""


class Sync:
    def __init__(self, client, config: Config, state: State, writer: SingerWriter, concurrency: int,
                 summary: RunSummary | None = None):
        self.client, self.config, self.state, self.writer = client, config, state, writer
        self.concurrency = max(1, concurrency)
        self.events: queue.Queue = queue.Queue(maxsize=QUEUE_PAGES)
        # A stream's units in flight at once while others wait (see _stream_limit): leaves room
        # for the other streams' rate limits and bounds how many large pages are held at a time.
        self.per_stream = max(1, (self.concurrency + 1) // 2)
        self.stopping = threading.Event()
        self.stop_requested = threading.Event()
        self.stop_signal = "a signal"
        # Every bookmark ceiling of the run: Close's "now", never this host's (close_clock.py).
        self.sync_start = close_now(client)
        self.summary = summary if summary is not None else RunSummary()
        self.runs: list[StreamRun] = []
        # One walk of the event log for every stream that replays a family of its object types.
        self.event_feed = EventFeed(client)
        self.current_custom_fields = CurrentCustomFields(client)

    # -- planning ---------------------------------------------------------------------------
    def plan(self, selected: SelectedStream) -> StreamRun:
        stream = STREAMS[selected.tap_stream_id]
        bookmark, finished, finished_since = None, [], None
        if selected.replication_method == "INCREMENTAL":
            bookmark = self.state.bookmark(stream.tap_stream_id, stream.replication_key, self.sync_start,
                                           ESTIMATE_SLACK)
            finished, finished_since = self.state.finished(stream.tap_stream_id, stream.replication_key,
                                                           self.sync_start, ESTIMATE_SLACK)
        ctx = StreamContext(
            client=self.client, start_date=self.config.start_date, sync_start=self.sync_start,
            bookmark=bookmark, fields=selected.fields if selected.deselected else None,
            activities_lookback=timedelta(hours=self.config.activities_lookback_hours),
            emit_deletes=self.config.emit_deletes, late_edits=self.config.late_activity_edits,
            event_feed=self.event_feed, record_fields=frozenset(selected.fields),
            current_custom_fields=self.current_custom_fields,
            finished=tuple(finished), finished_since=finished_since,
        )
        transformer = RecordTransformer(stream.tap_stream_id, selected.schema, selected.deselected)
        try:
            with attribute(self.summary, stream.tap_stream_id):   # planning may ask Close
                units = list(stream.units(ctx))
        except Exception as exc:
            if not fails_only_its_stream(exc):
                raise
            run = StreamRun(stream, selected, ctx, transformer, [])
            self._fail(run, exc)
            return run
        run = StreamRun(stream, selected, ctx, transformer, units, launch_order(len(units)))
        if selected.replication_method == "FULL_TABLE":
            self._plan_version(run)
        return run

    def _plan_version(self, run: StreamRun) -> None:
        """A full-table pass writes its records under a version and activates it when the
        whole table is written, so targets that support ACTIVATE_VERSION drop the rows Close
        no longer has. An interrupted pass is resumed under its own version."""
        version, complete = self.state.table_version(run.stream_id)
        run.first_version = version is None
        if version is not None and not complete:
            run.version = version
        else:
            # Milliseconds since the epoch, the Singer convention; never below the last version.
            run.version = max(int(time.time() * 1000), (version or 0) + 1)

    # -- workers ----------------------------------------------------------------------------
    def _fetch(self, run: StreamRun, index: int) -> None:
        """Ends with one event the writer counts the unit off by: done, error or abandoned
        (its stream failed meanwhile); none when the whole run is stopping."""
        unit = run.units[index]
        try:
            with attribute(self.summary, run.stream_id):
                for page in unit.pages():
                    self._put(("page", run, index, page, format_datetime(now_utc())))
                self._put(("done", run, index, None, None))
        except _Stop:
            if not self.stopping.is_set():
                self._put(("abandoned", run, index, None, None), force=True)
        except BaseException as exc:  # handed to the writer thread, which decides (_unit_failed)
            self._put(("error", run, index, exc, None), force=True)

    def _put(self, event, force=False) -> None:
        while True:
            # A failed stream's unit stops at its next page rather than read what is dropped.
            if not force and (self.stopping.is_set() or event[1].failed):
                raise _Stop
            try:
                self.events.put(event, timeout=0.2)
                return
            except queue.Full:
                if force and self.stopping.is_set():
                    return

    # -- the writer -------------------------------------------------------------------------
    def run(self, selected: list[SelectedStream]) -> dict[str, int]:
        # Planning may ask Close where a stream's records begin: plan the streams together.
        try:
            with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="plan") as planners:
                runs = self.runs = list(planners.map(self.plan, stream_order(selected, self.state)))
        except Cancelled:
            if self.stop_requested.is_set():
                raise self._terminated() from None
            raise
        for run in (run for run in runs if not run.failed):
            LOGGER.info("%s: syncing from %s in %d unit(s)", run.stream_id,
                        format_datetime(run.ctx.bookmark) if run.ctx.bookmark
                        else f"the start date {format_datetime(self.config.start_date)}", len(run.units))
        started: set[str] = set()
        pending = 0
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="fetch")
        try:
            while True:
                pending += self._schedule(pool, runs, started, self.concurrency - pending)
                self._update_currently_syncing(runs)
                if pending == 0:
                    break
                try:
                    kind, run, index, payload, extracted = self.events.get(timeout=0.2)
                except queue.Empty:
                    kind = None
                if self.stop_requested.is_set():
                    raise self._terminated()
                if kind is None:
                    continue
                if kind == "page":
                    if not run.failed:   # a failed stream's late pages are dropped
                        self._write_page(run, index, payload, extracted)
                    continue
                pending -= 1
                run.in_flight -= 1
                if kind == "done" and not run.failed:
                    run.done.add(index)
                    self._record_finished(run, index)
                    self._commit(run)
                elif kind == "error":
                    self._unit_failed(run, payload)
        finally:
            self.stopping.set()
            self.client.cancelled.set()
            # Stopped by a signal: a request may be waiting on a slow answer for up to its
            # timeout; the run does not wait for it (cli.console exits without it).
            pool.shutdown(wait=not self.stop_requested.is_set(), cancel_futures=True)
        self.state.set_currently_syncing(None)
        self.writer.state(self.state.to_dict())
        return {run.stream_id: run.count for run in runs}

    def _terminated(self) -> Terminated:
        return Terminated(TERMINATED.format(signal=self.stop_signal), self.stop_signal)

    def _unit_failed(self, run: StreamRun, exc: BaseException) -> None:
        if not fails_only_its_stream(exc):
            self.summary.failed(run.stream_id, _reason(exc))
            raise exc
        if run.failed:   # another unit of a stream already failed: its first reason stands
            LOGGER.debug("%s: another unit failed too: %s", run.stream_id, _reason(exc))
            return
        self._fail(run, exc)

    def _fail(self, run: StreamRun, exc: BaseException) -> None:
        """The stream stops here: no unit starts, nothing more is written or committed, so its
        bookmark stays at the end of its last contiguous written unit and a full-table
        version is not activated (the next run resumes both)."""
        run.failure = _reason(exc)
        self.summary.failed(run.stream_id, run.failure)
        LOGGER.error("%s: failed, other streams go on: %s", run.stream_id, run.failure)
        LOGGER.debug("%s: failure", run.stream_id, exc_info=exc)

    def failures(self) -> dict[str, str]:
        """Each failed stream's reason, in stream name order."""
        return {run.stream_id: run.failure for run in sorted(self.runs, key=lambda r: r.stream_id) if run.failed}

    def _schedule(self, pool, runs, started, free: int) -> int:
        """Start units, one stream after the other in turn, so that every endpoint group (and
        so every rate limit) has work; a stream starts (SCHEMA first) when its first unit does."""
        launched = 0
        while launched < free:
            waiting = [run for run in runs if run.next_unit < len(run.units) and not run.failed]
            candidates = [run for run in waiting if run.in_flight < self._stream_limit(run, len(waiting))]
            if not candidates:
                break
            run = min(candidates, key=lambda r: (r.in_flight, runs.index(r)))
            if run.stream_id not in started:
                started.add(run.stream_id)
                self._start_stream(run)
            index, run.next_unit = run.launch_order[run.next_unit], run.next_unit + 1
            run.in_flight += 1
            pool.submit(self._fetch, run, index)
            launched += 1
        for run in runs:  # streams with nothing to read still get their SCHEMA and a done line
            if not run.units and not run.failed and run.stream_id not in started:
                started.add(run.stream_id)
                self._start_stream(run)
                self._commit(run)
        return launched

    def _send_schema(self, run: StreamRun) -> None:
        self.writer.schema(run.stream_id, run.selected.schema, run.stream.key_properties,
                           run.stream.bookmark_properties)

    def _start_stream(self, run: StreamRun) -> None:
        self.summary.started(run.stream_id)
        self._send_schema(run)
        if run.version is not None:
            if run.first_version:
                # A first sync activates its version at once (the Singer convention), so the
                # table exists in the target even before the pass ends.
                self.writer.activate_version(run.stream_id, run.version)
            self.state.set_table_version(run.stream_id, run.version, complete=False)
            self.writer.state(self.state.to_dict())

    def _stream_limit(self, run: StreamRun, streams_waiting: int) -> int:
        """Units of one stream in flight at once: half the workers while other streams have
        units to start, so that every endpoint group has work; every worker once it is the
        only one left (the others would sit idle at the end of a run). A stream of large pages
        gets a quarter of them, always: its pages in flight are most of the tap's memory."""
        if run.stream.large_pages:
            return max(1, self.per_stream // 2)
        if streams_waiting > 1:
            return self.per_stream
        return self.concurrency

    def _write_page(self, run: StreamRun, index: int, page: list[dict], extracted: str) -> None:
        transform = run.transformer.transform
        records = [transform(record) for record in page]
        if run.transformer.take_schema_change():
            # Close sent a value the schema did not allow: the widened schema goes out before
            # the records that need it (Singer allows a new SCHEMA mid-stream).
            self._send_schema(run)
        self.writer.records(run.stream_id, records, extracted, run.version)
        run.count += len(page)
        if run.stream.tracks_deletions:
            run.deletions += sum(1 for record in records if record.get(DELETED_AT) is not None)
        if time.monotonic() - run.last_progress >= PROGRESS_EVERY_SECONDS:
            run.last_progress = time.monotonic()
            LOGGER.info("%s: %d records so far, reading %s", run.stream_id, run.count, run.units[index].label)
            metrics.record_count(run.stream_id, run.count)

    def _record_finished(self, run: StreamRun, index: int) -> None:
        """A unit written before those below it: its range goes into the state (printed by
        _commit), so that a resumed run does not read it again. One the bookmark is about to
        pass needs no record."""
        span = run.units[index].span
        if span is None or index == run.committed:
            return
        self.state.add_finished(run.stream_id, run.stream.replication_key, *span, run_start=self.sync_start)
        run.recorded = True

    def _commit(self, run: StreamRun) -> None:
        """Move the bookmark over the units now complete in order, then print a STATE."""
        moved, run.recorded = run.recorded, False
        while run.committed in run.done:
            unit = run.units[run.committed]
            if unit.bookmark is not None:
                self.state.advance_bookmark(run.stream_id, run.stream.replication_key, unit.bookmark)
            run.done.discard(run.committed)
            run.committed += 1
            moved = True
        if run.finished and run.version is not None:
            # Every record of the pass is written: the target may now drop the other versions.
            self.writer.activate_version(run.stream_id, run.version)
            self.state.set_table_version(run.stream_id, run.version, complete=True)
            moved = True
        if moved:
            self.writer.state(self.state.to_dict())
        if run.finished:
            self._finish(run)

    def _finish(self, run: StreamRun) -> None:
        metrics.record_count(run.stream_id, run.count)
        LOGGER.info("%s: done, %d records", run.stream_id, run.count)
        self.summary.finished(run.stream_id, self.state.to_dict()["bookmarks"].get(run.stream_id))

    def close_summary(self, runs) -> None:
        """Counts for every stream, finished or not, as the run ends."""
        for run in runs:
            entry = self.summary.stream(run.stream_id)
            entry.records, entry.deletion_records = run.count, run.deletions
        self.summary.close(self.state.to_dict()["bookmarks"])

    def _update_currently_syncing(self, runs) -> None:
        """The first stream still in progress, in run order: where a rerun after a crash
        begins. A failed stream is over for this run (its bookmark says where it resumes)."""
        current = next((run.stream_id for run in runs if not run.finished and not run.failed), None)
        if current != self.state.currently_syncing:
            self.state.set_currently_syncing(current)
            self.writer.state(self.state.to_dict())


def sync(client, config: Config, selected: list[SelectedStream], state: State, writer: SingerWriter,
         summary: RunSummary | None = None) -> dict:
    """Runs the sync; `summary` (filled in, and logged at the end whatever happens) is the
    caller's to write out as JSON."""
    runner = Sync(client, config, state, writer, config.max_concurrency, summary)
    _active.append(runner)
    # Records are short-lived, acyclic dicts that reference counting frees at once; with the
    # default thresholds the cyclic collector scans them every 700 allocations for nothing.
    # Collect less often, but keep full collections regular: the HTTP stack leaves a little
    # cyclic garbage per request, which must not pile up over a long run. Objects alive now
    # (modules, schemas) are frozen out of every collection.
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 10, 10)
    try:
        counts = runner.run(selected)
    finally:
        gc.set_threshold(*thresholds)
        # Whatever happens, end with a true STATE: bookmarks only ever cover fully written
        # units, and some targets (target-jsonl) forget any state followed by a RECORD.
        try:
            writer.state(state.to_dict())
        except (BrokenPipeError, ValueError):
            pass  # the reader is gone: nothing more can be delivered
        finally:
            _active.remove(runner)
            runner.close_summary(runner.runs)
            runner.summary.log()
    failures = runner.failures()
    if failures:   # raised once the final STATE is written and the summary logged
        raise StreamsFailed(failures)
    return counts
