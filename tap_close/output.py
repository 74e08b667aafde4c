"""Writes Singer messages to stdout, one JSON object per line.

Records are serialised with orjson straight to bytes and written to the binary stdout in few,
large writes of whole lines: the standard json module and a text layer cost more than the rest
of the record path together. The output is plain Singer: one compact JSON object per line, UTF-8.
"""

from __future__ import annotations

import sys

import orjson


# Records are serialised into one buffer, allocated once and reused, and written a buffer at a
# time: a fresh page-sized bytes object per page (a page of leads is over a megabyte) would be
# mapped from the system and faulted in page by page, every page.
BUFFER_BYTES = 1 << 20


class SingerWriter:
    def __init__(self, out=None, buffer_bytes: int = BUFFER_BYTES):
        self.out = out if out is not None else sys.stdout.buffer
        self._buffer = bytearray(buffer_bytes)
        self._view = memoryview(self._buffer)

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
