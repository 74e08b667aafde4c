import pytest

from tap_close.timeutil import is_date, is_rfc3339, normalize_date, normalize_datetime, parse_datetime


@pytest.mark.parametrize("value, expected", [
    ("2013-02-08T06:17:00.583000+00:00", "2013-02-08T06:17:00.583000Z"),   # Close's usual form
    ("2022-11-12T18:00:00+00:00", "2022-11-12T18:00:00.000000Z"),          # fraction omitted when zero
    ("2023-04-07T10:01:14.670000", "2023-04-07T10:01:14.670000Z"),         # naive event root: UTC
    ("2023-04-07T10:01:14", "2023-04-07T10:01:14.000000Z"),
    ("2021-07-13T11:36:04.983404", "2021-07-13T11:36:04.983404Z"),         # true microseconds (pipelines)
    ("2023-04-07T12:01:14.5+02:00", "2023-04-07T10:01:14.500000Z"),        # other offsets converted
    ("2023-04-07T10:01:14Z", "2023-04-07T10:01:14.000000Z"),
])
def test_normalize_datetime(value, expected):
    assert normalize_datetime(value) == expected


def test_unparseable_raises_value_error():
    with pytest.raises(ValueError):
        normalize_datetime("not a date")
    with pytest.raises(ValueError):
        normalize_date("2022-11-12T10:00:00")
    assert normalize_date("2022-11-12") == "2022-11-12"


def test_parse_datetime_naive_is_utc():
    assert parse_datetime("2024-01-01T00:00:00").utcoffset().total_seconds() == 0


@pytest.mark.parametrize("value, ok", [("2024-02-29", True), ("2026-02-30", False), ("2026-13-01", False),
                                       ("2026-1-05", False), ("2026-01-05T00:00:00Z", False)])
def test_is_date_names_a_real_day(value, ok):
    assert is_date(value) is ok
    if not ok:
        with pytest.raises(ValueError):
            normalize_date(value)


@pytest.mark.parametrize("value, ok", [("2026-01-05T08:00:00Z", True), ("2026-01-05t08:00:00.5+02:00", True),
                                       ("2026-13-01T00:00:00Z", False), ("2026-01-05T25:00:00Z", False),
                                       ("2026-01-05 08:00:00Z", False), ("2026-01-05T08:00:00", False)])
def test_is_rfc3339_names_a_real_instant(value, ok):
    assert is_rfc3339(value) is ok
