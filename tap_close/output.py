"""Writes Singer messages to stdout, one JSON object per line.

Records are serialised with orjson straight to bytes and written to the binary stdout, one
write per page: the standard json module and a text layer cost more than the rest of the
record path together. The output is plain Singer: one compact JSON object per line, UTF-8.
"""

from __future__ import annotations

import sys

import orjson


class SingerWriter:
    def __init__(self, out=None):
        self.out = out if out is not None else sys.stdout.buffer

    def schema(self, stream: str, schema: dict, key_properties, bookmark_properties) -> None:
        self.out.write(orjson.dumps({"type": "SCHEMA", "stream": stream, "schema": schema,
                                     "key_properties": list(key_properties),
                                     "bookmark_properties": list(bookmark_properties)}) + b"\n")

    def records(self, stream: str, records: list[dict], time_extracted: str) -> None:
        dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
        self.out.write(b"".join([dumps({"type": "RECORD", "stream": stream, "record": record,
                                        "time_extracted": time_extracted}, option=newline)
                                 for record in records]))

    def state(self, value: dict) -> None:
        self.out.write(orjson.dumps({"type": "STATE", "value": value}) + b"\n")
        self.out.flush()
