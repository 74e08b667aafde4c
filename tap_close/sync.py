"""Sync: runs each selected stream's units in order through one writer, so every STATE the
tap prints is true: a bookmark moves only after every record before it is written."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from . import metrics
from .catalog import SelectedStream
from .config import Config
from .output import SingerWriter
from .state import State
from .streams import STREAMS, StreamContext
from .timeutil import format_datetime, now_utc
from .transform import RecordTransformer

LOGGER = logging.getLogger("tap_close")
PROGRESS_EVERY_SECONDS = 30.0


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


class Progress:
    def __init__(self, stream: str, clock=time.monotonic):
        self.stream, self.clock = stream, clock
        self.count = 0
        self.last = clock()

    def add(self, count: int, label: str) -> None:
        self.count += count
        if self.clock() - self.last >= PROGRESS_EVERY_SECONDS:
            self.last = self.clock()
            LOGGER.info("%s: %d records so far, reading %s", self.stream, self.count, label)
            metrics.record_count(self.stream, self.count)


def sync_stream(client, config: Config, selected: SelectedStream, state: State, writer: SingerWriter,
                sync_start) -> int:
    stream = STREAMS[selected.tap_stream_id]
    stream_id = stream.tap_stream_id
    state.set_currently_syncing(stream_id)
    writer.state(state.to_dict())
    writer.schema(stream_id, selected.schema, stream.key_properties, [stream.replication_key])
    bookmark = None
    if selected.replication_method == "INCREMENTAL":
        bookmark = state.bookmark(stream_id, stream.replication_key, sync_start)
    ctx = StreamContext(
        client=client, start_date=config.start_date, sync_start=sync_start, bookmark=bookmark,
        fields=selected.fields if selected.deselected else None,
        activities_lookback=timedelta(hours=config.activities_lookback_hours),
    )
    transform = RecordTransformer(stream_id, selected.schema, selected.deselected).transform
    LOGGER.info("%s: syncing from %s", stream_id,
                format_datetime(bookmark) if bookmark else f"the start date {format_datetime(config.start_date)}")
    progress = Progress(stream_id)
    for unit in stream.units(ctx):
        for page in unit.pages():
            extracted = format_datetime(now_utc())
            writer.records(stream_id, [transform(record) for record in page], extracted)
            progress.add(len(page), unit.label)
        if unit.bookmark is not None:
            state.advance_bookmark(stream_id, stream.replication_key, unit.bookmark)
        writer.state(state.to_dict())
    state.set_currently_syncing(None)
    writer.state(state.to_dict())
    metrics.record_count(stream_id, progress.count)
    LOGGER.info("%s: done, %d records", stream_id, progress.count)
    return progress.count


def sync(client, config: Config, selected: list[SelectedStream], state: State, writer: SingerWriter) -> dict:
    sync_start = now_utc()
    counts = {}
    try:
        for item in stream_order(selected, state):
            counts[item.tap_stream_id] = sync_stream(client, config, item, state, writer, sync_start)
    finally:
        # Whatever happens, end with a true STATE: bookmarks only ever cover fully written
        # windows, and some targets (target-jsonl) forget any state followed by a RECORD.
        try:
            writer.state(state.to_dict())
        except (BrokenPipeError, ValueError):
            pass  # the reader is gone: nothing more can be delivered
    return counts
