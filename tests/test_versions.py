"""ACTIVATE_VERSION for full-table streams (Singer convention: tap-postgres, tap-mysql; Meltano
documents the message as an SDK extension): every RECORD of a full-table pass carries the
pass's version, a first sync activates it at once, every pass activates it when the whole
table is written, and the version lives in the state so an interrupted pass resumes under it."""

import pytest

from expectations import FULL_TABLE
from tap_runner import run_tap, tap_config

START = "2026-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def org(module_sandbox_factory):
    return module_sandbox_factory(seed=53, leads=20, activities_per_lead=2, events=40, days=120)


def messages_of(run, stream):
    return [m for m in run.messages if m.get("stream") == stream or m["type"] == "STATE"]


def versions(run, stream):
    return [m["version"] for m in run.of_type("ACTIVATE_VERSION") if m["stream"] == stream]


def test_a_first_sync_activates_each_full_table_version_at_its_start_and_end(org, tmp_path):
    run = run_tap([], tmp_path, config=tap_config(org, START))
    assert run.returncode == 0, run.stderr[-2000:]
    for stream in FULL_TABLE:
        kinds = [m["type"] for m in run.messages if m.get("stream") == stream]
        assert kinds[0] == "SCHEMA" and kinds[1] == "ACTIVATE_VERSION" and kinds[-1] == "ACTIVATE_VERSION", stream
        assert kinds.count("RECORD") >= 1, stream
        first, last = versions(run, stream)
        assert first == last and first > 1_600_000_000_000, "one version per pass, milliseconds since the epoch"
        records = [m for m in run.of_type("RECORD") if m["stream"] == stream]
        assert {m.get("version") for m in records} == {first}, f"{stream}: every record carries the version"
        assert run.final_state["bookmarks"][stream] == {"version": first, "version_complete": True}
    # Incremental streams keep their bookmarks and get neither versions nor activations.
    assert "activities" in {m["stream"] for m in run.of_type("RECORD")}
    assert "activities" not in {m["stream"] for m in run.of_type("ACTIVATE_VERSION")}
    assert all("version" not in m for m in run.of_type("RECORD") if m["stream"] == "activities")


def test_the_state_between_activations_marks_the_pass_incomplete(org, tmp_path):
    run = run_tap([], tmp_path, config=tap_config(org, START))
    stream = "pipelines"
    ordered = messages_of(run, stream)
    activations = [i for i, m in enumerate(ordered) if m["type"] == "ACTIVATE_VERSION"]
    between = [m for m in ordered[activations[0]:activations[1]] if m["type"] == "STATE"]
    assert between, "a STATE is printed while the pass runs"
    assert all(m["value"]["bookmarks"][stream]["version_complete"] is False for m in between)
    after = [m for m in ordered[activations[1]:] if m["type"] == "STATE"]
    assert after and after[0]["value"]["bookmarks"][stream]["version_complete"] is True


def test_a_later_pass_takes_a_new_version_and_activates_only_at_its_end(org, tmp_path):
    first = run_tap([], tmp_path, config=tap_config(org, START))
    second = run_tap([], tmp_path, config=tap_config(org, START), state=first.final_state)
    assert second.returncode == 0, second.stderr[-2000:]
    for stream in FULL_TABLE:
        (old,) = versions(first, stream)[-1:]
        (new,) = versions(second, stream)
        assert new > old, stream
        kinds = [m["type"] for m in second.messages if m.get("stream") == stream]
        assert kinds.index("ACTIVATE_VERSION") > kinds.index("RECORD"), "no activation before the records"


def test_an_interrupted_pass_resumes_under_its_own_version(org, tmp_path):
    state = {"bookmarks": {"lead_statuses": {"version": 1_700_000_000_000, "version_complete": False},
                           "pipelines": {"version": 1_700_000_000_000, "version_complete": True}}}
    run = run_tap([], tmp_path, config=tap_config(org, START), state=state)
    assert run.returncode == 0, run.stderr[-2000:]
    assert versions(run, "lead_statuses") == [1_700_000_000_000]
    (pipelines,) = versions(run, "pipelines")
    assert pipelines > 1_700_000_000_000


def test_a_bad_version_in_the_state_starts_a_new_one_with_a_warning(org, tmp_path):
    state = {"bookmarks": {"lead_statuses": {"version": "soon", "version_complete": False}}}
    run = run_tap([], tmp_path, config=tap_config(org, START), state=state)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stderr.count("version of lead_statuses is not a positive integer") == 1, "warned once"
    first, last = versions(run, "lead_statuses")
    assert first == last and isinstance(first, int)
