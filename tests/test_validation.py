"""The shared record validator (tests/validation.py) must itself be able to fail: it rejects
what a strict target would reject, names the stream, record and field, and follows the latest
SCHEMA of each stream."""

import pytest

from validation import (
    assert_records_valid, check_records, is_rfc3339_date, is_rfc3339_date_time, log_lines, schema_changes,
)

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "count": {"type": ["null", "integer"]},
        "date_updated": {"type": ["null", "string"], "format": "date-time"},
        "date_won": {"type": ["null", "string"], "format": "date"},
    },
}


def schema_message(stream="leads", schema=SCHEMA):
    return {"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": ["id"]}


def record_message(record, stream="leads"):
    return {"type": "RECORD", "stream": stream, "record": record, "time_extracted": "2026-01-01T00:00:00.000000Z"}


def only_problem(messages):
    problems, _ = check_records(messages)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


@pytest.mark.parametrize("value", [
    "2026-13-01T00:00:00Z",      # no 13th month
    "2026-01-01 00:00",          # a space, no seconds, no offset
    "yesterday",
    "2026-02-30T00:00:00Z",      # no 30 February
    "2026-01-01T00:00:00",       # no offset: not a point in time
    "2026-01-01T24:00:00Z",      # hours stop at 23
    "2026-01-01T00:00:00+01",    # offset minutes are required
    "2026-01-01",                # a date is not a date-time
])
def test_a_bad_date_time_is_rejected_with_stream_record_and_field(value):
    problem = only_problem([schema_message(), record_message({"id": "lead_1", "date_updated": value})])
    assert (problem.stream, problem.record_id, problem.field) == ("leads", "lead_1", "date_updated")
    assert repr(value) in problem.message and "date-time" in problem.message


@pytest.mark.parametrize("value", [
    "2026-02-30",                # not a calendar date
    "2025-02-29",                # 2025 is not a leap year
    "2026-01-01T00:00:00Z",      # a date-time where a date is declared
    "2026-1-05",                 # RFC 3339 full-date has two-digit months (jsonschema 2.6.0 accepts it)
    "01/05/2026",
])
def test_a_bad_date_is_rejected(value):
    problem = only_problem([schema_message(), record_message({"id": "opp_1", "date_won": value})])
    assert (problem.stream, problem.record_id, problem.field) == ("leads", "opp_1", "date_won")
    assert "'date'" in problem.message


@pytest.mark.parametrize("field, value", [("count", "3"), ("count", 2.5), ("id", 7), ("date_updated", 1767225600)])
def test_a_wrong_type_is_rejected(field, value):
    problem = only_problem([schema_message(), record_message({"id": "lead_1", field: value} if field != "id"
                                                             else {"id": value})])
    assert (problem.stream, problem.field) == ("leads", field)
    assert "type" in problem.message


def test_a_record_before_any_schema_of_its_stream_is_rejected():
    """A SCHEMA for another stream, or one sent after the record, does not count."""
    messages = [schema_message("users"), record_message({"id": "lead_1"}), schema_message("leads"),
                record_message({"id": "lead_2"})]
    problem = only_problem(messages)
    assert (problem.stream, problem.record_id, problem.position) == ("leads", "lead_1", 1)
    assert "before any valid SCHEMA" in problem.message


def test_a_field_the_schema_does_not_declare_is_reported():
    problem = only_problem([schema_message(), record_message({"id": "lead_1", "surprise": 1})])
    assert (problem.record_id, problem.field) == ("lead_1", "surprise")
    problems, _ = check_records([schema_message(), record_message({"id": "lead_1", "surprise": 1})],
                                allow_undeclared=True)
    assert problems == []


def test_a_bad_time_extracted_is_reported():
    message = {**record_message({"id": "lead_1"}), "time_extracted": "2026-01-01 10:00"}
    problem = only_problem([schema_message(), message])
    assert problem.field == "time_extracted"


def test_good_values_are_accepted():
    good = [
        {"id": "lead_1", "date_updated": "2026-01-01T00:00:00Z", "date_won": "2024-02-29", "count": 3},
        {"id": "lead_2", "date_updated": "2026-01-01T00:00:00.123456Z", "date_won": None, "count": None},
        {"id": "lead_3", "date_updated": "2024-02-29T23:59:59+05:30", "date_won": "2026-12-31"},
        {"id": "lead_4", "date_updated": "2026-06-30T23:59:60-00:00"},     # a leap second (RFC 3339 §5.7)
        {"id": "lead_5", "date_updated": "2026-01-01t00:00:00z"},          # lower case (RFC 3339 §5.6 NOTE)
        {"id": "lead_6", "date_updated": None},
    ]
    problems, checked = check_records([schema_message()] + [record_message(r) for r in good])
    assert problems == [], [str(p) for p in problems]
    assert checked == {"leads": len(good)}, "every record was looked at"


def test_a_later_schema_that_widens_a_field_applies_to_the_records_after_it():
    wide = {**SCHEMA, "properties": {**SCHEMA["properties"], "count": {"type": ["null", "integer", "string"]}}}
    messages = [schema_message(), record_message({"id": "lead_1", "count": 1}),
                record_message({"id": "lead_2", "count": "many"}),        # invalid under the first SCHEMA
                schema_message(schema=wide), record_message({"id": "lead_3", "count": "many"})]
    problem = only_problem(messages)
    assert (problem.record_id, problem.field) == ("lead_2", "count")


def test_a_later_schema_that_narrows_a_field_applies_too():
    narrow = {**SCHEMA, "properties": {**SCHEMA["properties"], "count": {"type": "integer"}}}
    messages = [schema_message(), record_message({"id": "lead_1", "count": None}),
                schema_message(schema=narrow), record_message({"id": "lead_2", "count": None})]
    assert only_problem(messages).record_id == "lead_2"


def test_an_invalid_schema_is_reported_and_its_records_are_not_validated_against_it():
    messages = [schema_message(schema={"type": "object", "properties": {"id": {"type": "text"}}}),
                record_message({"id": "lead_1"})]
    problems, _ = check_records(messages)
    assert [p.message for p in problems][0].startswith("its SCHEMA is not a valid draft 4 schema")
    assert "before any valid SCHEMA" in problems[1].message


def test_assert_records_valid_fails_on_problems_and_on_streams_without_records():
    valid = [schema_message(), record_message({"id": "lead_1"}), schema_message("users")]
    assert assert_records_valid(valid, streams=["leads"]) == {"leads": 1}
    with pytest.raises(AssertionError, match=r"no RECORD to validate for \['users'\]"):
        assert_records_valid(valid, streams=["leads", "users"])
    with pytest.raises(AssertionError, match="no RECORD at all"):
        assert_records_valid([schema_message()])
    with pytest.raises(AssertionError, match=r"leads record 'lead_2' \(message 3\), field count"):
        assert_records_valid(valid + [record_message({"id": "lead_2", "count": "x"})])


def test_the_format_checks_on_their_own():
    assert is_rfc3339_date_time("2026-03-29T01:30:00.5+01:00") and is_rfc3339_date("2000-02-29")
    assert not is_rfc3339_date_time("2026-03-29T01:30:00+24:00") and not is_rfc3339_date("1900-02-29")
    assert not is_rfc3339_date_time("2026-01-01T00:00:00Z\n") and not is_rfc3339_date("２０２６-01-01")
    assert is_rfc3339_date_time(None) and is_rfc3339_date(20260101), "formats only apply to strings"


def test_schema_changes_names_the_widened_properties_only():
    wide = {**SCHEMA, "properties": {**SCHEMA["properties"], "count": {"type": ["null", "integer", "string"]}}}
    messages = [schema_message(), schema_message("users"), record_message({"id": "lead_1"}),
                schema_message(schema=wide), schema_message("users")]          # users re-sent unchanged
    assert schema_changes(messages) == {"leads": {"count": (SCHEMA["properties"]["count"],
                                                            wide["properties"]["count"])}}
    assert schema_changes(messages[:3]) == {}


def test_log_lines_reads_the_level_with_or_without_a_timestamp():
    stderr = "\n".join(["CRITICAL config key 'api_key' is required",
                        "2026-12-01T22:41:07Z CRITICAL state file not found",
                        "2026-12-01T22:41:07Z INFO METRIC: {\"type\": \"counter\"}",
                        "WARNING retrying lead after HTTP 503 on lead (try 1)",
                        "Traceback (most recent call last):"])
    assert log_lines(stderr, "CRITICAL") == ["config key 'api_key' is required", "state file not found"]
    assert log_lines(stderr, "WARNING") == ["retrying lead after HTTP 503 on lead (try 1)"]
    assert log_lines(stderr, "ERROR") == []
