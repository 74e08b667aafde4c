import io
import json

import orjson
import pytest

from tap_close.output import SingerWriter

RECORDS = [{"id": f"lead_{i}", "name": "x" * (i * 7 % 50), "n": i, "nested": {"a": [1, 2, {"b": None}]}}
           for i in range(40)]
HUGE = {"id": "lead_huge", "note": "y" * 500}


def expected(records):
    return b"".join(orjson.dumps({"type": "RECORD", "stream": "leads", "record": r, "time_extracted": "T"}) + b"\n"
                    for r in records)


@pytest.mark.parametrize("buffer_bytes", [64, 150, 1024, 1 << 20])
def test_records_are_written_whole_and_in_order_whatever_the_buffer(buffer_bytes):
    """Lines cross the buffer's end, and a record larger than the buffer goes out on its own:
    the bytes are exactly those of one JSON object per line."""
    out = io.BytesIO()
    writer = SingerWriter(out, buffer_bytes=buffer_bytes)
    pages = [RECORDS[:25], [HUGE], RECORDS[25:], []]
    for page in pages:
        writer.records("leads", page, "T")
    assert out.getvalue() == expected(RECORDS[:25] + [HUGE] + RECORDS[25:])
    lines = out.getvalue().split(b"\n")
    assert lines[-1] == b"" and all(json.loads(line)["type"] == "RECORD" for line in lines[:-1])


def test_a_page_is_written_before_records_returns():
    """The buffer is reused: nothing of a page may still be pending when the next one starts,
    or a STATE written in between would overtake its records."""
    out = io.BytesIO()
    writer = SingerWriter(out, buffer_bytes=100)
    writer.records("leads", RECORDS[:3], "T")
    assert out.getvalue() == expected(RECORDS[:3])
    writer.state({"bookmarks": {}})
    writer.records("leads", RECORDS[3:5], "T")
    assert out.getvalue() == expected(RECORDS[:3]) + b'{"type":"STATE","value":{"bookmarks":{}}}\n' + expected(RECORDS[3:5])
