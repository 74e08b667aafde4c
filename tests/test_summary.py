"""The run summary at the end of every run: one line per stream on stderr (failed streams
first, with their reason) and the same as JSON with `--summary-json FILE`."""

import json

import pytest

from expectations import STREAMS
from tap_close.logs import LINE
from tap_runner import run_tap, tap_config

START = "2026-03-01T00:00:00Z"


@pytest.fixture(scope="module")
def org(module_sandbox_factory):
    return module_sandbox_factory(seed=67, leads=30, activities_per_lead=2, events=40, days=150)


def summary_lines(stderr):
    lines = [LINE.match(line) for line in stderr.splitlines()]
    return [(m["level"], m["message"]) for m in lines if m and m["message"].startswith("summary: ")]


def test_a_good_run_summarises_every_stream_with_exact_request_and_429_counts(org, tmp_path):
    org.faults.rate_limit_storm(2, group="opportunity", retry_after=1)
    first_request = len(org.request_log)
    run = run_tap(["--summary-json", str(tmp_path / "summary.json")], tmp_path, config=tap_config(org, START))
    assert run.returncode == 0, run.stderr[-2000:]
    log = org.request_log[first_request:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    by_stream = {entry["stream"]: entry for entry in summary["streams"]}
    assert summary["status"] == "ok" and set(by_stream) == set(STREAMS)
    opportunities = by_stream["opportunities"]
    # Only the opportunities stream asks /opportunity/: its counts are the sandbox's own.
    assert opportunities["requests"] == sum(r["group"] == "opportunity" for r in log) > 2
    assert opportunities["rate_limited"] == sum(r["group"] == "opportunity" and r["status"] == 429 for r in log) == 2
    assert by_stream["users"]["rate_limited"] == 0 and by_stream["users"]["requests"] >= 1
    for stream in STREAMS:
        entry = by_stream[stream]
        emitted = len(run.records(stream))
        assert entry["status"] == "ok" and entry["records"] == emitted, stream
        assert entry["bookmark"] == run.final_state["bookmarks"][stream], stream
    assert sum(entry["records"] for entry in summary["streams"]) > 0
    lines = summary_lines(run.stderr)
    assert lines[0] == ("INFO", f"summary: {len(STREAMS)} stream(s), {len(STREAMS)} ok, 0 failed, 0 not finished")
    assert len(lines) == len(STREAMS) + 1
    assert any(f"opportunities ok: {opportunities['records']} records" in message and "2 rate-limited" in message
               for _, message in lines)


def test_a_failed_stream_comes_first_with_its_reason_in_the_log_and_the_json(org, tmp_path):
    org.faults.malformed(1, group="user", kind="no_data")
    run = run_tap(["--summary-json", str(tmp_path / "summary.json")], tmp_path, config=tap_config(org, START))
    assert run.returncode == 1
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["status"] == "failed"
    failed = summary["streams"][0]
    assert failed["stream"] == "users" and failed["status"] == "failed" and failed["reason"]
    assert all(entry["status"] != "failed" for entry in summary["streams"][1:])
    level, message = summary_lines(run.stderr)[1]
    assert level == "ERROR" and message.startswith("summary: users failed") and "reason: " in message
    assert org.api_key not in run.stderr and org.api_key not in (tmp_path / "summary.json").read_text()


def test_an_unwritable_summary_file_is_one_error_line_and_the_sync_still_succeeds(org, tmp_path):
    run = run_tap(["--summary-json", str(tmp_path / "missing-dir" / "summary.json")], tmp_path,
                  config=tap_config(org, START))
    assert run.returncode == 0
    errors = [line for line in run.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "could not write the run summary" in errors[0]
    assert "Traceback" not in run.stderr
    assert run.records("leads"), "the sync itself went through"
