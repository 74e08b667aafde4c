"""What a nightly cron job's log shows: every stderr line starts with a UTC ISO 8601 time and
the level, Singer METRIC payloads stay JSON, per-request metrics only when asked for, the
level setting works (the environment overriding the config), and the API key never shows."""

import base64
import json
import logging
import re
from datetime import datetime, timezone

import pytest
from singer.metrics import parse as singer_parse_metric

from tap_close import logs
from tap_runner import run_tap, tap_config

KEY = "logtest-key-Q7wZ"
# Written out here rather than taken from tap_close.logs, so the format is checked, not echoed.
TIMESTAMPED = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S")
# A zone far from UTC, in POSIX form so that it works without a time-zone database: a
# timestamp in local time would be 5.5 hours off.
FAR_FROM_UTC = {"TZ": "IST-5:30"}
# The environment a run starts from: no override of the settings under test.
NO_OVERRIDES = {logs.LEVEL_ENV: "", logs.REQUEST_METRICS_ENV: ""}


@pytest.fixture(scope="module")
def org(module_sandbox_factory):
    return module_sandbox_factory(api_key=KEY, seed=5, leads=12, activities_per_lead=2, tasks_per_lead=1,
                                  events=30, days=60)


def run(org, tmp_path, env=None, state=None, **settings):
    return run_tap([], tmp_path, config=tap_config(org, "2025-06-01", **settings), state=state,
                   env={**NO_OVERRIDES, **FAR_FROM_UTC, **(env or {})})


def lines(run_result):
    found = run_result.stderr.splitlines()
    assert found, "the run logged nothing"
    return found


def metrics(run_result, name):
    return [json.loads(line.split("METRIC: ", 1)[1]) for line in lines(run_result)
            if "METRIC: " in line and json.loads(line.split("METRIC: ", 1)[1])["metric"] == name]


def levels(run_result):
    return {TIMESTAMPED.match(line).group(2) for line in lines(run_result)}


def test_the_timestamp_check_rejects_a_line_without_one():
    assert TIMESTAMPED.match("2026-12-01T22:41:07Z INFO activities: done, 1234 records")
    assert not TIMESTAMPED.match("INFO activities: done, 1234 records")
    assert not TIMESTAMPED.match("2026-12-01 22:41:07 INFO activities: done")    # not ISO 8601 with T
    assert not TIMESTAMPED.match("2026-12-01T22:41:07+01:00 INFO activities: done")  # not UTC
    # tap_close.logs.LINE, offered to log tooling, reads the same lines.
    assert logs.LINE.match("2026-12-01T22:41:07Z INFO activities: done").group("level") == "INFO"
    assert not logs.LINE.match("INFO activities: done")


def test_every_line_has_the_utc_time_and_a_level(org, tmp_path):
    before = datetime.now(timezone.utc).replace(microsecond=0)
    result = run(org, tmp_path)
    after = datetime.now(timezone.utc)
    assert result.returncode == 0, result.stderr[-2000:]
    for line in lines(result):
        match = TIMESTAMPED.match(line)
        assert match, line
        # UTC, not the local time of TZ: the time falls within the run.
        logged = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        assert before <= logged <= after, (line, before, after)
    assert any(" INFO leads: " in line for line in lines(result))


def test_metric_payloads_are_json_and_singer_python_reads_them(org, tmp_path):
    result = run(org, tmp_path)
    metric_lines = [line for line in lines(result) if "METRIC: " in line]
    assert metric_lines
    for line in metric_lines:
        payload = json.loads(line.split("METRIC: ", 1)[1])
        assert set(payload) >= {"type", "metric", "value", "tags"}, payload
        # Without its first field (the time) the line is singer-python's own form.
        point = singer_parse_metric(line.split(" ", 1)[1])
        assert point is not None and point.metric == payload["metric"], line
    counts = {m["tags"]["endpoint"]: m["value"] for m in metrics(result, "record_count")}
    assert counts["leads"] == len(result.records("leads")) > 0


def test_request_metrics_are_off_by_default_and_on_when_asked(org, tmp_path):
    default = run(org, tmp_path)
    assert metrics(default, "record_count")                      # metrics are logged...
    assert metrics(default, "http_request_duration") == []       # ...but not one per request

    org.request_log.clear()
    asked = run(org, tmp_path, request_metrics=True)
    timers = metrics(asked, "http_request_duration")
    # one timer per request the sandbox answered
    assert len(timers) == len(org.request_log) > 0
    assert all(t["type"] == "timer" and t["tags"]["http_status_code"] == 200 for t in timers)
    assert metrics(asked, "record_count")


def test_request_metrics_environment_overrides_the_config(org, tmp_path):
    on = run(org, tmp_path, env={logs.REQUEST_METRICS_ENV: "true"}, request_metrics=False)
    assert metrics(on, "http_request_duration")
    off = run(org, tmp_path, env={logs.REQUEST_METRICS_ENV: "false"}, request_metrics=True)
    assert metrics(off, "record_count") and metrics(off, "http_request_duration") == []


def test_log_level_setting(org, tmp_path):
    bad_state = {"bookmarks": "not an object"}     # logged as a WARNING, and the run goes on
    quiet = run(org, tmp_path, state=bad_state, log_level="warning")
    assert quiet.returncode == 0 and quiet.records("leads")
    assert levels(quiet) == {"WARNING"}                          # the warning, and no INFO or METRIC line
    assert "'bookmarks' is not an object" in quiet.stderr

    verbose = run(org, tmp_path, log_level="DEBUG")
    assert {"DEBUG", "INFO"} <= levels(verbose)


def test_log_level_environment_overrides_the_config(org, tmp_path):
    result = run(org, tmp_path, env={logs.LEVEL_ENV: "DEBUG"}, log_level="ERROR")
    assert {"DEBUG", "INFO"} <= levels(result)
    quiet = run(org, tmp_path, env={logs.LEVEL_ENV: "WARNING"}, state={"bookmarks": []}, log_level="DEBUG")
    assert levels(quiet) == {"WARNING"}


def test_an_unusable_environment_value_is_named_and_ignored(org, tmp_path):
    result = run(org, tmp_path, env={logs.LEVEL_ENV: "LOUD", logs.REQUEST_METRICS_ENV: "maybe"})
    assert result.returncode == 0
    warnings = [line for line in lines(result) if TIMESTAMPED.match(line).group(2) == "WARNING"]
    assert any(logs.LEVEL_ENV in line and "'LOUD'" in line for line in warnings), warnings
    assert any(logs.REQUEST_METRICS_ENV in line and "'maybe'" in line for line in warnings), warnings
    assert "INFO" in levels(result) and metrics(result, "http_request_duration") == []


def test_the_api_key_never_appears(org, tmp_path):
    # The most talkative run: every request URL at DEBUG and a metric per request.
    result = run(org, tmp_path, log_level="DEBUG", request_metrics=True)
    assert result.returncode == 0
    assert any(" DEBUG GET " in line for line in lines(result)) and metrics(result, "http_request_duration")
    assert KEY not in result.stderr and KEY not in result.stdout
    failed = run_tap([], tmp_path, config={"api_key": KEY, "start_date": "2025-06-01", "base_url": org.url,
                                           "log_level": "loud"}, env=NO_OVERRIDES)
    assert failed.returncode == 1 and "'log_level'" in failed.stderr
    assert TIMESTAMPED.match(failed.stderr.splitlines()[0]).group(2) == "CRITICAL"
    assert KEY not in failed.stderr


def test_the_key_is_scrubbed_from_any_logger_and_traceback(capsys):
    # Whatever writes it (a library's logger, an exception's text), the key or its Basic-auth
    # form is replaced before the line is written. The redactor and the root logger are
    # process-wide: earlier in-process runs may have registered their keys, so they are set
    # aside for this test and put back after it.
    root = logging.getLogger()
    saved_handlers, saved_level, saved_secrets = root.handlers[:], root.level, logs.REDACTOR.secrets[:]
    try:
        logs.REDACTOR.secrets[:] = []
        logs.setup_logging()
        logs.apply_settings("DEBUG", False)
        logs.REDACTOR.add(KEY)
        basic = base64.b64encode(f"{KEY}:".encode()).decode()
        logging.getLogger("some.library").warning("sent key %s and header Basic %s", KEY, basic)
        try:
            raise ValueError(f"bad key {KEY}")
        except ValueError:
            logging.getLogger("tap_close").debug("traceback", exc_info=True)
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        logs.REDACTOR.secrets[:] = saved_secrets
    err = capsys.readouterr().err
    assert "sent key <redacted> and header Basic <redacted>" in err and "ValueError: bad key <redacted>" in err
    assert KEY not in err and basic not in err
