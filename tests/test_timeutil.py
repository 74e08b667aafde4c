import pytest

from tap_close.timeutil import normalize_date, normalize_datetime, parse_datetime


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
