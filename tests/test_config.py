import json

import pytest

from tap_close.config import DEFAULT_TIMEOUT, load_config, parse_config
from tap_close.errors import ConfigError

BASE = {"api_key": "k123", "start_date": "2024-01-01"}


def test_minimal_config_gets_defaults():
    config = parse_config(BASE)
    assert config.start_date.isoformat() == "2024-01-01T00:00:00+00:00"
    assert config.base_url == "https://api.close.com/api/v1"
    assert config.request_timeout == DEFAULT_TIMEOUT
    assert config.activities_lookback_hours == 24


@pytest.mark.parametrize("value, expected", [
    ("2024-01-15", "2024-01-15T00:00:00+00:00"),
    ("2024-01-15T10:30:00Z", "2024-01-15T10:30:00+00:00"),
    ("2024-01-15T10:30:00+02:00", "2024-01-15T08:30:00+00:00"),
    ("2024-01-15 10:00", "2024-01-15T10:00:00+00:00"),      # Meltano's naive form: UTC
    ("01/15/2024", "2024-01-15T00:00:00+00:00"),            # Close's connection form
])
def test_start_date_forms(value, expected):
    assert parse_config({**BASE, "start_date": value}).start_date.isoformat() == expected


@pytest.mark.parametrize("raw, key", [
    ({"start_date": "2024-01-01"}, "api_key"),
    ({"api_key": "", "start_date": "2024-01-01"}, "api_key"),
    ({"api_key": 5, "start_date": "2024-01-01"}, "api_key"),
    ({"api_key": "k"}, "start_date"),
    ({"api_key": "k", "start_date": "yesterday-ish"}, "start_date"),
    ({"api_key": "k", "start_date": "2999-01-01"}, "start_date"),
    ({"api_key": "k", "start_date": 20240101}, "start_date"),
    ({**BASE, "base_url": "ftp://x"}, "base_url"),
    ({**BASE, "request_timeout": "soon"}, "request_timeout"),
    ({**BASE, "request_timeout": -1}, "request_timeout"),
    ({**BASE, "activities_lookback_hours": "x"}, "activities_lookback_hours"),
    ({**BASE, "activities_lookback_hours": True}, "activities_lookback_hours"),
    ({**BASE, "max_concurrency": 0}, "max_concurrency"),
    ({**BASE, "max_concurrency": 2.5}, "max_concurrency"),
    ({**BASE, "max_concurrency": 100}, "max_concurrency"),
    ({**BASE, "emit_deletes": "yes please"}, "emit_deletes"),
    ({**BASE, "emit_deletes": 1}, "emit_deletes"),
    ({**BASE, "late_activity_edits": "off"}, "late_activity_edits"),
    ({**BASE, "log_level": "loud"}, "log_level"),
    ({**BASE, "log_level": 10}, "log_level"),
    ({**BASE, "request_metrics": "sometimes"}, "request_metrics"),
])
def test_bad_values_name_the_key(raw, key):
    with pytest.raises(ConfigError) as info:
        parse_config(raw)
    assert f"'{key}'" in str(info.value)


@pytest.mark.parametrize("raw, expected", [("120", 120.0), (45, 45.0), (0, DEFAULT_TIMEOUT), ("0", DEFAULT_TIMEOUT),
                                           ("", DEFAULT_TIMEOUT), (None, DEFAULT_TIMEOUT)])
def test_request_timeout_accepts_strings_and_zero_means_default(raw, expected):
    assert parse_config({**BASE, "request_timeout": raw}).request_timeout == expected


def test_max_concurrency_accepts_whole_numbers_and_strings():
    assert parse_config({**BASE, "max_concurrency": "3"}).max_concurrency == 3
    assert parse_config(BASE).max_concurrency == 8


@pytest.mark.parametrize("raw, expected", [(None, True), ("", True), (True, True), (False, False),
                                           ("false", False), ("True", True), (" FALSE ", False)])
def test_switches_accept_booleans_and_meltano_strings(raw, expected):
    config = parse_config({**BASE, "emit_deletes": raw, "late_activity_edits": raw})
    assert config.emit_deletes is expected and config.late_activity_edits is expected


def test_logging_settings_default_to_info_without_request_metrics():
    config = parse_config(BASE)
    assert config.log_level == "INFO" and config.request_metrics is False


@pytest.mark.parametrize("raw, expected", [("debug", "DEBUG"), (" Warning ", "WARNING"), ("ERROR", "ERROR"),
                                           ("", "INFO"), (None, "INFO")])
def test_log_level_accepts_any_case(raw, expected):
    assert parse_config({**BASE, "log_level": raw}).log_level == expected


@pytest.mark.parametrize("raw, expected", [(True, True), ("true", True), ("False", False), ("", False)])
def test_request_metrics_accepts_booleans_and_meltano_strings(raw, expected):
    assert parse_config({**BASE, "request_metrics": raw}).request_metrics is expected


def test_key_never_in_repr():
    assert "k123" not in repr(parse_config(BASE))


def test_config_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(str(bad))
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps([1]))
    with pytest.raises(ConfigError, match="JSON object"):
        load_config(str(listed))
