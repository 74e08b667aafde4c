"""The command line a user meets: help, version, about, the connection test, progress and
metrics on stderr."""

import dataclasses
import json
from pathlib import Path

from tap_close import __version__, sync as sync_module
from tap_close.config import Config
from tap_runner import run_in_process, run_tap
from validation import assert_records_valid


def test_help_explains_every_option_and_points_to_the_readme(tmp_path):
    run = run_tap(["--help"], tmp_path)
    assert run.returncode == 0
    for option in ("--config", "--state", "--catalog", "--properties", "--discover", "--test", "--about",
                   "--format", "--version"):
        assert option in run.stdout
    assert "README" in run.stdout


def test_version(tmp_path):
    run = run_tap(["--version"], tmp_path)
    assert run.returncode == 0 and run.stdout.strip() == f"tap-close {__version__}"


def test_about_in_three_formats_without_config(tmp_path):
    text = run_tap(["--about"], tmp_path)
    assert text.returncode == 0 and "api_key" in text.stdout and "start_date" in text.stdout
    info = json.loads(run_tap(["--about", "--format", "json"], tmp_path).stdout)
    assert info["name"] == "tap-close" and info["version"] == __version__
    assert set(info["capabilities"]) == {"catalog", "discover", "state", "about"}
    assert set(info["settings"]["required"]) == {"api_key", "start_date"}
    # Every config key is described, here and in the Meltano plugin definition.
    keys = {f.name for f in dataclasses.fields(Config)}
    assert set(info["settings"]["properties"]) == keys
    plugin = (Path(__file__).resolve().parent.parent / "meltano" / "tap-close.yml").read_text()
    assert {line.split(":", 1)[1].strip() for line in plugin.splitlines() if line.startswith("- name:")} == keys
    sample = json.loads((Path(__file__).resolve().parent.parent / "sample_config.json").read_text())
    assert set(sample) == keys
    markdown = run_tap(["--about", "--format", "markdown"], tmp_path).stdout
    assert markdown.startswith("# tap-close") and "| api_key | yes |" in markdown


def test_connection_check(sandbox, tmp_path):
    ok = run_tap(["--test"], tmp_path, config={"api_key": sandbox.api_key, "start_date": "2026-01-01",
                                               "base_url": sandbox.url})
    assert ok.returncode == 0 and ok.stdout.startswith("OK: connected to")
    bad = run_tap(["--test"], tmp_path, config={"api_key": "nope", "start_date": "2026-01-01",
                                                "base_url": sandbox.url})
    assert bad.returncode == 1 and "api_key" in bad.stderr and bad.stdout == ""
    down = run_tap(["--test"], tmp_path, config={"api_key": "k", "start_date": "2026-01-01",
                                                 "base_url": "http://127.0.0.1:9/api/v1"})
    assert down.returncode == 1 and "ConnectionError" in down.stderr


def test_progress_lines_and_singer_metrics(sandbox, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sync_module, "PROGRESS_EVERY_SECONDS", 0)
    # The per-request timers are off by default where `request_metrics` exists (tap_close/logs.py).
    monkeypatch.setenv("TAP_CLOSE_REQUEST_METRICS", "true")
    run = run_in_process([], tmp_path, capsys, config={"api_key": sandbox.api_key, "start_date": "2025-01-01",
                                                        "base_url": sandbox.url})
    assert run.returncode == 0
    assert "INFO activities: " in run.stderr and "records so far, reading" in run.stderr
    metrics = [json.loads(line.split("METRIC: ", 1)[1]) for line in run.stderr.splitlines() if "METRIC: " in line]
    timers = [m for m in metrics if m["metric"] == "http_request_duration"]
    counters = [m for m in metrics if m["metric"] == "record_count"]
    assert timers and all(m["type"] == "timer" and m["tags"]["http_status_code"] == 200 for m in timers)
    final_counts = {m["tags"]["endpoint"]: m["value"] for m in counters}
    assert run.records("leads") and final_counts["leads"] == len(run.records("leads"))
    assert_records_valid(run, streams=["leads"])
