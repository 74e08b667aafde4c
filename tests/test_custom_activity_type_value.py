"""Close's custom activity records carry `_type` `CustomActivity` in its OpenAPI examples, while
its filters use `Custom`; which one a live account sends is unconfirmed. The tap must be
complete and valid whichever value the records carry."""

import pytest

from expectations import expected_ids
from tap_close.timeutil import parse_datetime
from tap_runner import run_tap, tap_config
from validation import assert_records_valid

START = "2026-02-01T00:00:00Z"


@pytest.mark.parametrize("record_type", ["CustomActivity", "Custom"])
def test_custom_activities_complete_whichever_type_value(sandbox_factory, tmp_path, record_type):
    sb = sandbox_factory(seed=71, leads=40, activities_per_lead=4, events=30, days=150,
                         custom_activity_record_type=record_type)
    customs = [a for a in sb.store.records("activity") if a.get("custom_activity_type_id")]
    assert customs and {a["_type"] for a in customs} == {record_type}
    started = sb.clock.now()
    run = run_tap([], tmp_path, config=tap_config(sb, START))
    assert run.returncode == 0, run.stderr[-2000:]
    assert_records_valid(run, streams=("activities", "custom_activities"))
    expected = expected_ids(sb, parse_datetime(START), started)
    assert expected["custom_activities"], "custom activities after the start date to compare"
    assert run.ids("custom_activities") == expected["custom_activities"]
    assert expected["custom_activities"] <= run.ids("activities")
    assert {r["_type"] for r in run.records("custom_activities")} == {record_type}
