"""Writes Singer messages to stdout, one JSON object per line.

Records are serialised with orjson straight to bytes and written to the binary stdout in few,
large writes of whole lines: the standard json module and a text layer cost more than the rest
of the record path together. The output is plain Singer: one compact JSON object per line, UTF-8.
"""

from __future__ import annotations

import os
import sys

import orjson


# Records are serialised into one buffer, allocated once and reused, and written a buffer at a
# time: a fresh page-sized bytes object per page (a page of leads is over a megabyte) would be
# mapped from the system and faulted in page by page, every page.
BUFFER_BYTES = 1 << 20


def widen_pipe(out, size: int) -> None:
    """Let a pipe hold `size` bytes (Linux's fcntl F_SETPIPE_SZ; never shrinks one).

    A Linux pipe holds 64 kB by default (pipe(7)), so a buffer of records went out 64 kB at a
    time, the tap sleeping until the target had read each piece: about 5,000 sleeps and
    wake-ups in a backfill of 35k records (70 MB), a fifth of the writer's CPU (bench/run.py,
    whose reader reads line by line as targets do). Up to /proc/sys/fs/pipe-max-size (1 MB by
    default) needs no privilege. Anything else (a file, a terminal, another system) is left as
    it is."""
    try:
        import fcntl
        descriptor = out.fileno()
        if fcntl.fcntl(descriptor, fcntl.F_GETPIPE_SZ) < size:      # fails on anything but a pipe
            fcntl.fcntl(descriptor, fcntl.F_SETPIPE_SZ, size)
    except (ImportError, AttributeError, OSError, ValueError):
        pass     # no fcntl or no such operation here, no descriptor, or over the system's limit


class RawStdout:
    """Standard output written with `os.write`, each write looped until every byte is out.

    The records are buffered here already (SingerWriter), so Python's buffered stdout adds
    nothing, and it lost data: a large write cut short by SIGTERM or SIGINT (the pipe full, the
    target reading) and resumed after the signal handler ran left the RECORD line torn and the
    rest of the write missing, the final STATE following the torn line (seen in
    tests/test_prompt_stop.py, about one stop in ten). `os.write` returns how much it wrote
    and the loop writes the rest."""

    def __init__(self, buffered=None):
        buffered = buffered if buffered is not None else sys.stdout.buffer
        buffered.flush()     # anything written through it before goes first
        self._descriptor = buffered.fileno()

    def fileno(self) -> int:
        return self._descriptor

    def write(self, data) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._descriptor, view):]

    def flush(self) -> None:
        pass    # nothing is held back


def standard_output():
    """Where messages go by default: stdout's file descriptor (RawStdout), or, when stdout has
    none (a test capturing it in memory), its buffer."""
    try:
        return RawStdout()
    except (AttributeError, OSError, ValueError):    # io.UnsupportedOperation is an OSError
        return sys.stdout.buffer


class SingerWriter:
    def __init__(self, out=None, buffer_bytes: int = BUFFER_BYTES):
        self.out = out if out is not None else standard_output()
        self._buffer = bytearray(buffer_bytes)
        self._view = memoryview(self._buffer)
        widen_pipe(self.out, buffer_bytes)

    def schema(self, stream: str, schema: dict, key_properties, bookmark_properties) -> None:
        self.out.write(orjson.dumps({"type": "SCHEMA", "stream": stream, "schema": schema,
                                     "key_properties": list(key_properties),
                                     "bookmark_properties": list(bookmark_properties)}) + b"\n")

    def activate_version(self, stream: str, version: int) -> None:
        """Singer's ACTIVATE_VERSION: targets that support it keep only this version's rows."""
        self.out.write(orjson.dumps({"type": "ACTIVATE_VERSION", "stream": stream, "version": version}) + b"\n")

    def records(self, stream: str, records: list[dict], time_extracted: str, version: int | None = None) -> None:
        dumps, newline, write = orjson.dumps, orjson.OPT_APPEND_NEWLINE, self.out.write
        buffer, view, used = self._buffer, self._view, 0
        size = len(buffer)
        for record in records:
            message = {"type": "RECORD", "stream": stream, "record": record, "time_extracted": time_extracted}
            if version is not None:
                message["version"] = version
            line = dumps(message, option=newline)
            end = used + len(line)
            if end > size:
                if used:
                    write(view[:used])
                used, end = 0, len(line)
                if end > size:   # a record larger than the buffer goes out on its own
                    write(line)
                    continue
            buffer[used:end] = line
            used = end
        if used:
            write(view[:used])

    def state(self, value: dict) -> None:
        self.out.write(orjson.dumps({"type": "STATE", "value": value}) + b"\n")
        self.out.flush()
