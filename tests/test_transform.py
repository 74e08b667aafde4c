import logging

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


def test_nulls_pass():
    out = RecordTransformer("s", SCHEMA).transform({"id": None, "date_updated": None, "contacts": None})
    assert out == {"id": None, "date_updated": None, "contacts": None}


def test_misfit_values_are_logged_once_and_passed_on(caplog):
    transformer = RecordTransformer("s", SCHEMA)
    with caplog.at_level(logging.WARNING, logger="tap_close"):
        first = transformer.transform({"id": "1", "date_updated": "garbage", "count": "many"})
        second = transformer.transform({"id": "2", "date_updated": "garbage too", "count": "lots"})
    assert first == {"id": "1", "date_updated": "garbage", "count": "many"}
    assert second["date_updated"] == "garbage too"
    assert transformer.mismatches == 4
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if "date_updated" in m]) == 1


def test_unknown_fields_dropped_with_one_warning_deselected_quietly(caplog):
    schema = {"type": "object", "properties": {"id": {"type": ["null", "string"]}}}
    transformer = RecordTransformer("leads", schema, deselected=frozenset({"name"}))
    with caplog.at_level(logging.WARNING, logger="tap_close"):
        out = transformer.transform({"id": "1", "name": "n", "custom.cf_new": "v"})
        transformer.transform({"id": "2", "custom.cf_new": "w"})
    assert out == {"id": "1"}
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "custom.cf_new" in warnings[0] and "discovery" in warnings[0]
