"""Bad config, state, catalog and API answers: one clear CRITICAL line, exit 1, no
traceback, no secret; or a warning and a safe continuation where that loses nothing."""

import json

import pytest

from tap_runner import run_tap
from validation import log_lines

KEY = "secret-key-XYZ"


def assert_one_line_failure(run, *fragments):
    assert run.returncode == 1, run.stderr
    critical = log_lines(run.stderr, "CRITICAL")
    assert len(critical) == 1, run.stderr.splitlines()
    for fragment in fragments:
        assert fragment in critical[0], critical[0]
    assert "Traceback" not in run.stderr
    assert KEY not in run.stderr and KEY not in run.stdout


@pytest.fixture
def good(sandbox_factory):
    sb = sandbox_factory(seed=5, leads=15, api_key=KEY, activities_per_lead=2, events=40, days=100)
    return sb, {"api_key": KEY, "start_date": "2026-01-01", "base_url": sb.url}


@pytest.mark.parametrize("mutate, fragment", [
    (lambda c: c.pop("api_key"), "'api_key' is required"),
    (lambda c: c.update(api_key=12345), "'api_key' must be"),
    (lambda c: c.pop("start_date"), "'start_date' is required"),
    (lambda c: c.update(start_date="next tuesday"), "'start_date' is not a date"),
    (lambda c: c.update(start_date="2999-01-01"), "'start_date' is in the future"),
    (lambda c: c.update(request_timeout="fast"), "'request_timeout'"),
    (lambda c: c.update(base_url="not a url"), "'base_url'"),
])
def test_bad_config_values(good, tmp_path, mutate, fragment):
    _, config = good
    mutate(config)
    assert_one_line_failure(run_tap([], tmp_path, config=config), fragment)


def test_config_file_missing_unreadable_or_not_json(tmp_path):
    assert_one_line_failure(run_tap(["--config", str(tmp_path / "nope.json")], tmp_path), "not found")
    (tmp_path / "bad.json").write_text('{"api_key": "' + KEY + '", ')
    assert_one_line_failure(run_tap(["--config", str(tmp_path / "bad.json")], tmp_path), "not valid JSON")
    (tmp_path / "dir.json").mkdir()
    assert_one_line_failure(run_tap(["--config", str(tmp_path / "dir.json")], tmp_path), "unreadable")
    assert_one_line_failure(run_tap([], tmp_path), "--config is required")


def test_state_file_missing_or_not_json(good, tmp_path):
    _, config = good
    run = run_tap(["--state", str(tmp_path / "none.json")], tmp_path, config=config)
    assert_one_line_failure(run, "state file not found")
    (tmp_path / "s.json").write_text("{{")
    assert_one_line_failure(run_tap(["--state", str(tmp_path / "s.json")], tmp_path, config=config),
                            "state file", "not valid JSON")


def test_catalog_missing_not_json_or_unknown_stream(good, tmp_path):
    _, config = good
    assert_one_line_failure(run_tap(["--catalog", str(tmp_path / "none.json")], tmp_path, config=config),
                            "catalog file not found")
    (tmp_path / "c.json").write_text("[")
    assert_one_line_failure(run_tap(["--catalog", str(tmp_path / "c.json")], tmp_path, config=config),
                            "not valid JSON")
    catalog = {"streams": [{"tap_stream_id": "deals", "schema": {"properties": {}},
                            "metadata": [{"breadcrumb": [], "metadata": {"selected": True}}]}]}
    assert_one_line_failure(run_tap([], tmp_path, config=config, catalog=catalog), "unknown stream 'deals'")
    assert_one_line_failure(run_tap([], tmp_path, config=config, catalog={"streams": "all"}), "'streams' list")


def test_state_of_unknown_shape_warns_and_syncs_everything(good, tmp_path):
    sb, config = good
    run = run_tap([], tmp_path, config=config, state={"bookmarks": {"leads": "yesterday"}, "currently_syncing": 3})
    assert run.returncode == 0, run.stderr
    assert "WARNING" in run.stderr and "bookmark for leads is not an object" in run.stderr
    assert run.ids("leads") and run.ids("users") == {u["id"] for u in sb.store.records("user")}


def test_deselected_stream_bookmark_is_kept(good, tmp_path):
    _, config = good
    disc = json.loads(run_tap(["--discover"], tmp_path, config=config).stdout)
    for entry in disc["streams"]:
        if entry["tap_stream_id"] == "users":
            entry["metadata"][0]["metadata"]["selected"] = True
    state = {"bookmarks": {"leads": {"date_updated": "2026-03-01T00:00:00Z"}}, "currently_syncing": "leads"}
    run = run_tap([], tmp_path, config=config, state=state, catalog=disc)
    assert run.returncode == 0, run.stderr
    assert run.final_state["bookmarks"]["leads"] == {"date_updated": "2026-03-01T00:00:00Z"}
    assert "users" in run.final_state["bookmarks"]
    assert "leads was being synced, but it is not selected" in run.stderr


@pytest.mark.parametrize("kind", ["not_json", "not_object", "no_data"])
def test_unexpected_api_answers(good, tmp_path, kind):
    sb, config = good
    sb.faults.malformed(1, group="data", kind=kind)      # leads' or contacts' first search
    run = run_tap([], tmp_path, config=config)
    assert_one_line_failure(run, "POST data/search")
    assert run.messages[-1]["type"] == "STATE"


def test_debug_logs_every_request_without_the_key(good, tmp_path):
    _, config = good
    run = run_tap([], tmp_path, config=config, env={"TAP_CLOSE_LOG_LEVEL": "DEBUG"})
    assert run.returncode == 0
    assert "DEBUG GET " in run.stderr and "/api/v1/opportunity/?" in run.stderr
    assert "DEBUG POST " in run.stderr and '/api/v1/data/search/ {"query": ' in run.stderr
    assert KEY not in run.stderr
