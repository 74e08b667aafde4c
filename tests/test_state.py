from datetime import datetime, timezone

from tap_close.catalog import SelectedStream
from tap_close.state import State
from tap_close.timeutil import parse_datetime
from tap_close.sync import stream_order

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_bookmark_round_trip_and_only_forward():
    state = State({"bookmarks": {"leads": {"date_updated": "2025-06-01T00:00:00Z"}}})
    assert state.bookmark("leads", "date_updated", NOW) == datetime(2025, 6, 1, tzinfo=timezone.utc)
    state.advance_bookmark("leads", "date_updated", datetime(2025, 5, 1, tzinfo=timezone.utc))
    assert state.to_dict()["bookmarks"]["leads"]["date_updated"] == "2025-06-01T00:00:00Z"  # untouched
    state.advance_bookmark("leads", "date_updated", datetime(2025, 7, 1, tzinfo=timezone.utc))
    assert state.to_dict()["bookmarks"]["leads"]["date_updated"] == "2025-07-01T00:00:00.000000Z"


def test_bad_shapes_warn_and_read_from_start(caplog):
    assert State([1, 2]).to_dict() == {"bookmarks": {}}
    state = State({"bookmarks": {"leads": "oops", "tasks": {"date_updated": "nope"},
                                 "users": {"date_updated": None}}, "currently_syncing": 5})
    assert state.bookmark("leads", "date_updated", NOW) is None
    assert state.bookmark("tasks", "date_updated", NOW) is None
    assert state.bookmark("users", "date_updated", NOW) is None          # null means absent (Meltano)
    assert state.currently_syncing is None
    assert "not a date-time" in caplog.text


def test_future_bookmark_is_healed_in_the_state_too(caplog):
    state = State({"bookmarks": {"leads": {"date_updated": "2999-01-01T00:00:00Z"},
                                 "tasks": {"date_updated": "2001-01-01T00:00:00Z"}}})
    assert state.bookmark("leads", "date_updated", NOW) == NOW
    assert parse_datetime(state.to_dict()["bookmarks"]["leads"]["date_updated"]) == NOW, "lowered, not kept"
    assert "leads.date_updated is in the future" in caplog.text
    # A bookmark in the past is left as it is.
    assert state.bookmark("tasks", "date_updated", NOW) == parse_datetime("2001-01-01T00:00:00Z")
    assert state.to_dict()["bookmarks"]["tasks"]["date_updated"] == "2001-01-01T00:00:00Z"
    assert "tasks.date_updated" not in caplog.text


def _sel(name):
    return SelectedStream(name, {"properties": {}}, (), frozenset(), "INCREMENTAL")


def test_currently_syncing_rotates_not_truncates():
    selected = [_sel(n) for n in ("event_log", "users", "leads", "activities")]
    order = [s.tap_stream_id for s in stream_order(selected, State({"currently_syncing": "event_log"}))]
    assert order == ["event_log", "users", "activities", "leads"]
    order = [s.tap_stream_id for s in stream_order(selected, State({"currently_syncing": "tasks"}))]
    assert order == ["activities", "leads", "event_log", "users"]
