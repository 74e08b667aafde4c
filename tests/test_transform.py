import copy
import logging

import jsonschema
import pytest
from validation import format_checker

from tap_close.transform import RecordTransformer

SCHEMA = {"type": "object", "properties": {
    "id": {"type": ["null", "string"]},
    "date_updated": {"type": ["null", "string"], "format": "date-time"},
    "date": {"type": ["null", "string"], "format": "date"},
    "count": {"type": ["null", "integer"]},
    "value": {"type": ["null", "number"]},
    "flag": {"type": ["null", "boolean"]},
    "tags": {"type": ["null", "array"], "items": {"type": "string"}},
    "open": {"type": ["null", "object"]},
    "contacts": {"type": ["null", "array"], "items": {"type": "object", "properties": {
        "id": {"type": ["null", "string"]},
        "date_created": {"type": ["null", "string"], "format": "date-time"},
        "custom.cf_a": {"type": ["null", "number"]},
    }}},
}}


def test_dates_normalised_and_types_coerced():
    out = RecordTransformer("s", SCHEMA).transform({
        "id": "lead_1", "date_updated": "2022-11-12T18:00:00+00:00", "date": "2022-11-12",
        "count": "17", "value": "2.5", "flag": "true", "tags": ["a", 3], "open": {"x": {"y": 1}},
        "contacts": [{"id": "cont_1", "date_created": "2022-11-09T13:57:14.751000+00:00", "custom.cf_a": "4"}],
    })
    assert out == {
        "id": "lead_1", "date_updated": "2022-11-12T18:00:00.000000Z", "date": "2022-11-12",
        "count": 17, "value": 2.5, "flag": True, "tags": ["a", "3"], "open": {"x": {"y": 1}},
        "contacts": [{"id": "cont_1", "date_created": "2022-11-09T13:57:14.751000Z", "custom.cf_a": 4}],
    }


@pytest.mark.parametrize("close, emitted", [
    ("2013-02-08T06:17:00.583000+00:00", "2013-02-08T06:17:00.583000Z"),    # the usual form
    ("2022-11-12T18:00:00+00:00", "2022-11-12T18:00:00.000000Z"),           # a whole second
    ("2023-04-07T10:01:14.670000", "2023-04-07T10:01:14.670000Z"),          # naive UTC (event roots)
    ("2023-04-07T10:01:14", "2023-04-07T10:01:14.000000Z"),                 # naive, whole second
    ("2023-04-07T12:01:14.670000+02:00", "2023-04-07T10:01:14.670000Z"),    # another offset
    ("2023-04-07T10:01:14.670000Z", "2023-04-07T10:01:14.670000Z"),         # already the tap's
])
def test_close_date_time_forms_become_rfc3339_utc_at_every_level(close, emitted):
    """Close writes three forms (tap_close/timeutil.py); the record's fields and nested objects'
    take a fast path for them, every other form the general parser."""
    out = RecordTransformer("s", copy.deepcopy(SCHEMA)).transform(
        {"date_updated": close, "contacts": [{"date_created": close}]})
    assert out == {"date_updated": emitted, "contacts": [{"date_created": emitted}]}


@pytest.mark.parametrize("garbage", ["2022-11-12T18:00:00+01:0x", "20x2-11-12T18:00:00+00:00",
                                     "2023-04-07T10:01:14.67000x", "2023-04-07 10:01:14.670000"])
def test_a_string_shaped_like_close_s_forms_is_still_checked(garbage):
    """Strings as long as Close's short forms are matched whole, not by length: a misfit moves."""
    transformer = RecordTransformer("s", copy.deepcopy(SCHEMA))
    out = transformer.transform({"id": "1", "date_updated": garbage})
    if garbage == "2023-04-07 10:01:14.670000":      # a space for the T: ISO 8601 still reads it
        assert out == {"id": "1", "date_updated": "2023-04-07T10:01:14.670000Z"}
        return
    assert out == {"id": "1", "date_updated": None, "date_updated__string": garbage}
    assert transformer.take_schema_change() is True


def test_nulls_pass():
    out = RecordTransformer("s", SCHEMA).transform({"id": None, "date_updated": None, "contacts": None})
    assert out == {"id": None, "date_updated": None, "contacts": None}


def _validator(schema):
    """The transform promises records valid for the schema it leaves behind, formats included."""
    validator = jsonschema.Draft4Validator(schema, format_checker=format_checker())
    return lambda record: [error.message for error in validator.iter_errors(record)]



def test_a_column_misfit_goes_to_a_sibling_column_once_and_every_record_stays_valid(caplog):
    schema = copy.deepcopy(SCHEMA)
    transformer = RecordTransformer("s", schema)
    with caplog.at_level(logging.WARNING, logger="tap_close"):
        first = transformer.transform({"id": "1", "date_updated": "garbage", "count": "many"})
        assert transformer.take_schema_change() is True
        assert transformer.take_schema_change() is False       # reported once per change
        second = transformer.transform({"id": "2", "date_updated": "garbage too", "count": "lots"})
    # The data is whole (moved, not dropped or altered), and the declared columns keep their
    # types: a SQL target cannot alter a column, but it can add one.
    assert first == {"id": "1", "date_updated": None, "date_updated__string": "garbage",
                     "count": None, "count__string": "many"}
    assert second == {"id": "2", "date_updated": None, "date_updated__string": "garbage too",
                      "count": None, "count__string": "lots"}
    assert schema["properties"]["count"] == SCHEMA["properties"]["count"]
    assert schema["properties"]["date_updated"] == SCHEMA["properties"]["date_updated"]
    assert schema["properties"]["count__string"]["type"] == ["null", "string"]
    assert "format" not in schema["properties"]["date_updated__string"]
    assert transformer.take_schema_change() is False           # the second record needed nothing new
    assert _validator(schema)(first) == [] and _validator(schema)(second) == []
    # The declared schema rejects the record as Close sent it: moving it is what keeps it valid.
    assert _validator(SCHEMA)({"id": "1", "date_updated": "garbage", "count": "many"})
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if "date_updated" in m]) == 1
    assert len([m for m in messages if "count" in m]) == 1


@pytest.mark.parametrize("field, value, sidecar", [
    ("tags", [{"id": "cf_1", "name": "x"}], "tags__array"),   # objects where strings were declared
    ("flag", "sometimes", "flag__string"),
    ("open", "text", "open__string"),                          # an open object given a string
    ("value", {"amount": 3}, "value__object"),
    ("date", "2026-11-16T08:00:00+00:00", "date__string"),    # a date-time where a date was
    ("date", "2026-02-30", "date__string"),                   # a day that does not exist
    ("contacts", "cont_1", "contacts__string"),
])
def test_each_kind_of_column_misfit_gets_its_sibling(field, value, sidecar):
    schema = copy.deepcopy(SCHEMA)
    transformer = RecordTransformer("s", schema)
    record = transformer.transform({"id": "1", field: copy.deepcopy(value)})
    assert record[sidecar] == value and record[field] is None
    assert transformer.take_schema_change()
    assert _validator(schema)(record) == []
    assert _validator(SCHEMA)({"id": "1", field: value}), "the declared schema rejects the value"
    assert schema["properties"][field] == SCHEMA["properties"][field]


def test_a_misfit_inside_an_object_column_widens_that_node():
    """Below a column (a JSON column in SQL targets) widening changes no column type."""
    schema = copy.deepcopy(SCHEMA)
    transformer = RecordTransformer("s", schema)
    record = transformer.transform({"id": "1", "contacts": [
        {"id": "c1", "date_created": "2022-11-09T13:57:14.751000+00:00", "custom.cf_a": "four"},
        {"id": {"nested": True}, "custom.cf_a": 4}]})
    assert record["contacts"][0]["custom.cf_a"] == "four"
    assert record["contacts"][1]["id"] == {"nested": True}
    assert transformer.take_schema_change()
    contact = schema["properties"]["contacts"]["items"]["properties"]
    assert contact["custom.cf_a"]["type"] == ["null", "number", "string"]
    assert contact["id"]["type"] == ["null", "string", "object"]
    assert _validator(schema)(record) == []
    assert _validator(SCHEMA)(record), "the declared schema rejects the record"


def test_values_that_fit_leave_the_schema_alone():
    schema = copy.deepcopy(SCHEMA)
    transformer = RecordTransformer("s", schema)
    transformer.transform({"id": "1", "date": "2026-11-16", "count": "3", "tags": ["a", 2], "open": {"k": [1]},
                           "contacts": [{"id": "c", "custom.cf_a": None}]})
    assert transformer.take_schema_change() is False
    assert schema == SCHEMA


def test_null_where_the_schema_forbids_it_widens_with_null():
    schema = {"type": "object", "properties": {"id": {"type": "string"},
                                               "tags": {"type": "array", "items": {"type": "string"}}}}
    transformer = RecordTransformer("s", schema)
    good = transformer.transform({"id": "1", "tags": ["a"]})
    assert transformer.take_schema_change() is False and good == {"id": "1", "tags": ["a"]}
    record = transformer.transform({"id": None, "tags": ["a", None]})
    assert record == {"id": None, "tags": ["a", None]}
    assert transformer.take_schema_change()
    assert schema["properties"]["id"]["type"] == ["string", "null"]
    assert schema["properties"]["tags"]["items"]["type"] == ["string", "null"]
    assert _validator(schema)(record) == []


def test_unknown_fields_are_kept_and_declared_deselected_dropped_quietly(caplog):
    schema = {"type": "object", "properties": {"id": {"type": ["null", "string"]}}}
    transformer = RecordTransformer("leads", schema, deselected=frozenset({"name"}))
    with caplog.at_level(logging.WARNING, logger="tap_close"):
        out = transformer.transform({"id": "1", "name": "n", "custom.cf_new": "v", "score": 4})
        again = transformer.transform({"id": "2", "name": "m", "custom.cf_new": 17, "score": None})
    assert out == {"id": "1", "custom.cf_new": "v", "score": 4}
    assert again == {"id": "2", "custom.cf_new": "17", "score": None}   # declared string now: coerced
    assert "name" not in schema["properties"] and "name" not in out
    assert schema["properties"]["custom.cf_new"] == {"type": ["null", "string"]}
    assert schema["properties"]["score"] == {"type": ["null", "integer"]}
    assert transformer.take_schema_change()
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2 and any("custom.cf_new" in w and "discovery" in w for w in warnings)
    assert not any("name" in w.split(":")[1] for w in warnings)


PATTERNED = {"type": "object", "properties": {
    "id": {"type": ["null", "string"]},
    "due": {"type": ["null", "string"], "pattern": r"^\d{4}-\d\d-\d\d(T\d\d:\d\d:\d\d\+00:00)?$"},
    "quoted": {"type": ["null", "array", "object"]},
    "day": {"type": ["null", "string"], "format": "date"},
    "nested": {"type": ["null", "object"], "properties": {
        "when": {"type": ["null", "string"], "pattern": r"^\d{4}$"},
        "body": {"type": ["null", "object", "string"]},
    }},
}}


@pytest.mark.parametrize("record", [
    {"due": "2015-01-05", "quoted": [{"expand": False}], "day": "2024-02-29",
     "nested": {"when": "2024", "body": {"a": 1}}},
    {"due": "2015-01-10T05:00:00+00:00", "quoted": {"expand": True}, "day": None,
     "nested": {"when": None, "body": "text"}},
])
def test_unions_patterns_and_dates_that_fit_pass_unchanged(record):
    """The fast paths of union, patterned and date nodes: what fits passes as it is."""
    transformer = RecordTransformer("s", copy.deepcopy(PATTERNED))
    out = transformer.transform(copy.deepcopy(record))
    assert out == record
    assert transformer.mismatches == 0
    assert transformer.take_schema_change() is False


@pytest.mark.parametrize("field, value", [
    ("due", "2015/01/05"),              # breaks the pattern
    ("due", 20150105),                  # not a string
    ("quoted", "a string"),             # not in the union
    ("quoted", 3),
    ("day", "2024-02-30"),              # shaped like a date, not a day that exists
    ("day", "2024-2-3x"),
])
def test_a_column_value_the_fast_paths_refuse_goes_to_its_sibling(field, value):
    transformer = RecordTransformer("s", copy.deepcopy(PATTERNED))
    out = transformer.transform({"id": "1", field: value})
    kind = {str: "string", int: "integer"}[type(value)]
    assert out == {"id": "1", field: None, f"{field}__{kind}": value}
    assert transformer.take_schema_change() is True
    assert not _validator(transformer.schema)(out)


@pytest.mark.parametrize("field, value, widened", [
    ("when", "24", "pattern"),          # a pattern broken inside an object column: dropped
    ("body", 5, "type"),                # a type outside the union: added
])
def test_a_nested_value_the_fast_paths_refuse_widens_its_node_and_later_ones_pass(field, value, widened):
    transformer = RecordTransformer("s", copy.deepcopy(PATTERNED))
    node = transformer.schema["properties"]["nested"]["properties"][field]
    out = transformer.transform({"id": "1", "nested": {field: value}})
    assert out == {"id": "1", "nested": {field: value}}
    assert transformer.take_schema_change() is True
    assert ("pattern" not in node) if widened == "pattern" else ("integer" in node["type"])
    assert not _validator(transformer.schema)(out)
    # The widened node now admits such values: no further change for the next record.
    transformer.transform({"id": "2", "nested": {field: value}})
    assert transformer.take_schema_change() is False
