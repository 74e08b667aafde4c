"""Sync: fetch units of work concurrently, write everything from one thread.

The model, whole:
- Close limits each endpoint group on its own, so each group is scheduled on its own: it runs
  up to `max_concurrency` units at once (and the client's Pacer keeps its requests in flight to
  that many and paced by Close's headers). Its units start oldest first, the streams sharing a
  group taking turns; a unit that reads what its stream's others did not (the late edits of
  streams/changes.py) starts once they have ended.
- A unit that turns out dense while its group has room splits between two pages: it keeps
  reading part of its range and hands the rest to new units (streams/window_split.py). So a
  group's rate is filled whatever the shape of the data, without per-stream tuning.
- Worker threads read pages of raw records; the main thread transforms and writes every RECORD
  and STATE, so output is never interleaved mid-line and every STATE is true: a stream's
  bookmark moves to the end of the longest run of its units, in order, whose records are all
  written, whatever order the units finish in. Memory is bounded by the pages in flight: each
  running unit holds at most one page, a bounded queue hands them to the writer, and the bytes
  of every page read and not yet written are bounded across the run (page_memory.py: when the
  writer falls behind, the fetchers wait before their next request).

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
from datetime import datetime, timedelta
from functools import partial

from . import metrics
from .catalog import SelectedStream
from .client import endpoint_group
from .config import Config
from .close_clock import ESTIMATE_SLACK
from .custom_field_definitions import CurrentCustomFields
from .errors import AuthError, Cancelled, StreamsFailed, Terminated
from .output import SingerWriter
from .state import State
from .streams import STREAMS, Stream, StreamContext, Unit
from .streams.base import DELETED_AT, Split
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


def close_now(client, first_read=None):
    """Close's current time from the Date header of its answers. Before any answer, the run's
    `first_read` (a read it needs anyway) is made now to learn it; without one, or when that
    answer had no Date, one cheap request of its own asks."""
    if not client.clock.known and first_read is not None:
        first_read()
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


@dataclass
class StreamRun:
    """One stream's progress in this run: its units, which are done, what was written."""
    stream: Stream
    selected: SelectedStream
    ctx: StreamContext
    transformer: RecordTransformer    # widens selected.schema in place when a record needs it
    pending: list[Unit]              # not yet bookmarked, in bookmark order (splits insert here)
    waiting: list[Unit] = field(default_factory=list)   # not started yet, in start order
    written: set = field(default_factory=set)           # ids of pending units all written
    running: int = 0
    started: bool = False            # its SCHEMA (and a first version) went out
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
        return self.failure is None and not self.pending

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
        self.running: dict[str, int] = {}    # units running per endpoint group (the writer's count)
        # Units running or waiting per group, which workers read to decide on a split; their
        # claims for new units are counted at once, so two splits don't both fill one gap.
        self._load_lock = threading.Lock()
        self._load: dict[str, int] = {}
        self.run_failure: BaseException | None = None   # the first failure that ends the whole run
        self.stopping = threading.Event()
        self.stop_requested = threading.Event()
        self.stop_signal = "a signal"
        # Every bookmark ceiling of the run: Close's "now", never this host's (close_clock.py);
        # learnt when the run starts (run) unless the client has heard from Close already.
        self.sync_start: datetime | None = client.clock.now() if client.clock.known else None
        self.summary = summary if summary is not None else RunSummary()
        self.runs: list[StreamRun] = []
        # One walk of the event log for every stream that replays a family of its object types.
        self.event_feed = EventFeed(client)
        self.current_custom_fields = CurrentCustomFields(client)

    # -- planning ---------------------------------------------------------------------------
    def _first_read(self, selected: list[SelectedStream]):
        """A read the selected streams need anyway, whose answer tells Close's clock: one of the
        custom field definition lists they read (kept for them); None when they read none."""
        lists = [name for chosen in selected
                 for name in STREAMS[chosen.tap_stream_id].definition_lists(not chosen.deselected)]
        return partial(self.current_custom_fields.read, lists[0]) if lists else None

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
        run = StreamRun(stream, selected, ctx, transformer, pending=list(units), waiting=list(units))
        with self._load_lock:
            for unit in units:
                group = self.group_of(run, unit)
                self._load[group] = self._load.get(group, 0) + 1
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

    @staticmethod
    def group_of(run: StreamRun, unit: Unit) -> str:
        return unit.group or endpoint_group(run.stream.path)

    # -- workers ----------------------------------------------------------------------------
    def _fetch(self, run: StreamRun, unit: Unit, group: str) -> None:
        """Ends with one event the writer counts the unit off by: done, error or abandoned
        (its stream failed meanwhile); none when the whole run is stopping."""
        memory = self.client.memory
        try:
            with attribute(self.summary, run.stream_id), memory.counting():
                for page in unit.pages():
                    # What this page completes, known now: the unit reads on only when asked.
                    whole = unit.progress() if unit.progress is not None else None
                    size = memory.take()   # the writer frees these bytes once the page is written
                    try:
                        self._put(("page", run, unit, page, (format_datetime(now_utc()), whole, size)))
                    except _Stop:
                        memory.release(size)
                        raise
                    page = None   # not held while the next one is read
                    if unit.split is not None:
                        self._offer_split(run, unit, group)
                self._put(("done", run, unit, None, None))
        except _Stop:
            if not self.stopping.is_set():
                self._put(("abandoned", run, unit, None, None), force=True)
        except BaseException as exc:  # handed to the writer thread, which decides (_unit_failed)
            if not fails_only_its_stream(exc):
                # The run ends: no other group sends another request, and their units end with
                # Cancelled, which the writer may hear of first: it reports this failure instead.
                with self._load_lock:
                    self.run_failure = self.run_failure or exc
                self.client.cancelled.set()
            self._put(("error", run, unit, exc, None), force=True)

    def _offer_split(self, run: StreamRun, unit: Unit, group: str) -> None:
        """Between two pages: when the unit's group has room for more units than it has and is
        below its rate limit, the unit may hand part of its rest to new ones (it decides
        whether that is worth it). A group at its limit gains nothing from more units: each
        piece would only cost its partial last page."""
        if self.client.pacer.at_its_limit(group):
            return
        with self._load_lock:
            room = self.concurrency - self._load.get(group, 0)
            split = unit.split(room) if room > 0 else None
            if split is None:
                return
            self._load[group] += len(split.children)
        self._put(("split", run, unit, split, None), force=True)

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
        self.sync_start = close_now(self.client, self._first_read(selected))
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
                        else f"the start date {format_datetime(self.config.start_date)}", len(run.pending))
        # Each group runs up to `concurrency` units: a thread each (they hold no page while
        # they wait for their turn in the Pacer).
        groups = {self.group_of(run, unit) for run in runs for unit in run.waiting}
        pool = ThreadPoolExecutor(max_workers=self.concurrency * max(1, len(groups)), thread_name_prefix="fetch")
        self._update_currently_syncing(runs)   # before the first STATE a stream's start prints
        try:
            written = False   # the last event was a page: no unit started or ended
            while True:
                if not written:
                    self._schedule(pool, runs)
                    self._update_currently_syncing(runs)
                    if not any(self.running.values()):
                        break
                written = False
                try:
                    kind, run, unit, payload, extracted = self.events.get(timeout=0.2)
                except queue.Empty:
                    kind = None
                if self.stop_requested.is_set():
                    raise self._terminated()
                if kind is None:
                    continue
                if kind == "page":
                    extracted_at, whole, size = extracted
                    if not run.failed:   # a failed stream's late pages are dropped
                        self._write_page(run, unit, payload, extracted_at)
                        self._record_progress(run, unit, whole)
                    payload = None
                    self.client.memory.release(size)
                    written = True
                    continue
                if kind == "split":
                    self._split(run, unit, payload)
                    continue
                self._unit_ended(run, unit)
                if kind == "done" and not run.failed:
                    run.written.add(id(unit))
                    self._record_finished(run, unit)
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
            exc = self.run_failure or exc
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

    def _schedule(self, pool, runs) -> None:
        """Fill every endpoint group up to `concurrency` running units: the streams sharing a
        group take turns (the one with fewest running first), each starting its units in
        order (a unit `after_the_others` once they have all ended). A stream starts (SCHEMA
        first) when its first unit does."""
        while True:
            startable = [(run, unit) for run in runs if not run.failed
                         for unit in [next((u for u in run.waiting if self._may_start(run, u)), None)]
                         if unit is not None]
            if not startable:
                break
            run, unit = min(startable, key=lambda pair: (pair[0].running, runs.index(pair[0])))
            self._launch(pool, run, unit)
        for run in runs:  # streams with nothing to read still get their SCHEMA and a done line
            if not run.pending and not run.failed and not run.started:
                self._start_stream(run)
                self._commit(run)

    def _may_start(self, run: StreamRun, unit: Unit) -> bool:
        if unit.after_the_others and (run.running or len(run.waiting) > 1):
            return False
        return self.running.get(self.group_of(run, unit), 0) < self.concurrency

    def _launch(self, pool, run: StreamRun, unit: Unit) -> None:
        if not run.started:
            self._start_stream(run)
        group = self.group_of(run, unit)
        run.waiting.remove(unit)
        run.running += 1
        self.running[group] = self.running.get(group, 0) + 1
        pool.submit(self._fetch, run, unit, group)

    def _unit_ended(self, run: StreamRun, unit: Unit) -> None:
        group = self.group_of(run, unit)
        run.running -= 1
        self.running[group] -= 1
        with self._load_lock:
            self._load[group] -= 1

    def _split(self, run: StreamRun, unit: Unit, split: Split) -> None:
        """The unit now reads only `split.span`; its children, beside it in bookmark order, are
        started as soon as their group has room (they were made because it has)."""
        if run.failed:   # they will never run
            with self._load_lock:
                self._load[self.group_of(run, unit)] -= len(split.children)
            return
        unit.span, unit.bookmark, unit.label = split.span, split.bookmark, split.label
        at = run.pending.index(unit)
        if split.children[0].span[0] >= split.span[1]:
            at += 1   # the rest came after the part the unit keeps (an ascending read)
        run.pending[at:at] = split.children
        run.waiting[0:0] = split.children
        LOGGER.debug("%s: %s split off %d unit(s)", run.stream_id, unit.label, len(split.children))

    def _send_schema(self, run: StreamRun) -> None:
        self.writer.schema(run.stream_id, run.selected.schema, run.stream.key_properties,
                           run.stream.bookmark_properties)

    def _start_stream(self, run: StreamRun) -> None:
        run.started = True
        self.summary.started(run.stream_id)
        self._send_schema(run)
        if run.version is not None:
            if run.first_version:
                # A first sync activates its version at once (the Singer convention), so the
                # table exists in the target even before the pass ends.
                self.writer.activate_version(run.stream_id, run.version)
            self.state.set_table_version(run.stream_id, run.version, complete=False)
            self.writer.state(self.state.to_dict())

    def _write_page(self, run: StreamRun, unit: Unit, page: list[dict], extracted: str) -> None:
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
            LOGGER.info("%s: %d records so far, reading %s", run.stream_id, run.count, unit.label)
            metrics.record_count(run.stream_id, run.count)

    def _record_progress(self, run: StreamRun, unit: Unit, whole) -> None:
        """Part of a unit is written whole: recorded as finished (and, for the oldest unit not
        yet bookmarked, passed by the bookmark), so that a run killed now need not read it again."""
        if whole is None:
            return
        key = run.stream.replication_key
        self.state.add_finished(run.stream_id, key, *whole, run_start=self.sync_start)
        if unit is run.pending[0]:
            self.state.written_up_to(run.stream_id, key, unit.span[0])
        self.writer.state(self.state.to_dict())

    def _record_finished(self, run: StreamRun, unit: Unit) -> None:
        """A unit written before those below it: its range goes into the state (printed by
        _commit), so that a resumed run does not read it again. One the bookmark is about to
        pass needs no record."""
        if unit.span is None or unit is run.pending[0]:
            return
        self.state.add_finished(run.stream_id, run.stream.replication_key, *unit.span, run_start=self.sync_start)
        run.recorded = True

    def _commit(self, run: StreamRun) -> None:
        """Move the bookmark over the units now complete in order, then print a STATE."""
        moved, run.recorded = run.recorded, False
        while run.pending and id(run.pending[0]) in run.written:
            unit = run.pending.pop(0)
            run.written.discard(id(unit))
            if unit.bookmark is not None:
                self.state.advance_bookmark(run.stream_id, run.stream.replication_key, unit.bookmark)
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
