import io
import json
import os
import sys

import orjson
import pytest

from tap_close.output import BUFFER_BYTES, SingerWriter

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


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pipe sizes are Linux's (fcntl F_SETPIPE_SZ)")
def test_a_pipe_is_widened_to_the_buffer_and_never_narrowed():
    """A 64 kB pipe made the tap sleep and wake for every 64 kB of records (output.widen_pipe)."""
    import fcntl
    read_end, write_end = os.pipe()
    try:
        assert fcntl.fcntl(write_end, fcntl.F_GETPIPE_SZ) < BUFFER_BYTES     # Linux's default, 64 kB
        with os.fdopen(write_end, "wb", closefd=False) as out:
            SingerWriter(out)
        assert fcntl.fcntl(write_end, fcntl.F_GETPIPE_SZ) == BUFFER_BYTES
        # A smaller buffer asks for less: the pipe keeps the room it has.
        with os.fdopen(write_end, "wb", closefd=False) as out:
            SingerWriter(out, buffer_bytes=4096)
        assert fcntl.fcntl(write_end, fcntl.F_GETPIPE_SZ) == BUFFER_BYTES
    finally:
        os.close(read_end)
        os.close(write_end)


def test_outputs_that_are_not_pipes_are_left_alone(tmp_path):
    with open(tmp_path / "out.jsonl", "wb") as out:
        SingerWriter(out).records("leads", RECORDS[:2], "T")
    assert (tmp_path / "out.jsonl").read_bytes() == expected(RECORDS[:2])
    memory = io.BytesIO()                      # no descriptor at all
    SingerWriter(memory).records("leads", RECORDS[:2], "T")
    assert memory.getvalue() == expected(RECORDS[:2])


def test_raw_stdout_finishes_a_write_the_system_cut_short(monkeypatch):
    """os.write may write less than asked (a full pipe interrupted by a signal): RawStdout
    writes the rest, so no line is torn."""
    import os
    from tap_close.output import RawStdout

    read_end, write_end = os.pipe()
    real_write, calls = os.write, []

    def stingy(descriptor, data):
        calls.append(len(data))
        return real_write(descriptor, bytes(data[:7]))     # 7 bytes at most per call

    class Buffered:
        def flush(self):
            pass

        def fileno(self):
            return write_end

    out = RawStdout(Buffered())
    monkeypatch.setattr(os, "write", stingy)
    out.write(b'{"type":"STATE","value":{}}\n')
    monkeypatch.setattr(os, "write", real_write)
    os.close(write_end)
    assert os.read(read_end, 1000) == b'{"type":"STATE","value":{}}\n'
    assert len(calls) > 1, "the write was cut short and finished by further calls"
    os.close(read_end)
