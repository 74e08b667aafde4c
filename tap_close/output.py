"""Writes Singer messages to stdout, one JSON object per line.

Records are serialised here directly rather than through singer-python's message classes:
building a message object per record and re-encoding it costs more than the encoding itself.
"""

from __future__ import annotations

import json
import sys

_dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


class SingerWriter:
    def __init__(self, out=None):
        self.out = out or sys.stdout

    def schema(self, stream: str, schema: dict, key_properties, bookmark_properties) -> None:
        self._write(_dumps({"type": "SCHEMA", "stream": stream, "schema": schema,
                            "key_properties": list(key_properties),
                            "bookmark_properties": list(bookmark_properties)}) + "\n")

    def records(self, stream: str, records: list[dict], time_extracted: str) -> None:
        head = '{"type":"RECORD","stream":' + _dumps(stream) + ',"record":'
        tail = ',"time_extracted":"' + time_extracted + '"}\n'
        self.out.write("".join([head + _dumps(record) + tail for record in records]))

    def state(self, value: dict) -> None:
        self._write(_dumps({"type": "STATE", "value": value}) + "\n")
        self.out.flush()

    def _write(self, line: str) -> None:
        self.out.write(line)
