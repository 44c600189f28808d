import datetime as dt

import pytest

from ecrm.analysis import periods
from ecrm.errors import ParameterError


def test_period_start_follows_spec_example():
    assert periods.period_start("2026-10-31", 12) == dt.date(2025, 11, 1)
    assert periods.period_start("2024-02-29", 12) == dt.date(2023, 3, 1)


def test_month_ends_end_with_as_of():
    assert periods.month_ends("2026-10-31", 3) == [
        dt.date(2026, 8, 31),
        dt.date(2026, 9, 30),
        dt.date(2026, 10, 31),
    ]
    assert periods.month_ends("2026-03-15", 2) == [dt.date(2026, 2, 28), dt.date(2026, 3, 15)]


@pytest.mark.parametrize("bad", ["2026-13", "2026-1", "26-10", "2026-10-01", "", "../x"])
def test_parse_month_rejects_non_months(bad):
    with pytest.raises(ParameterError):
        periods.parse_month(bad)


def test_parse_month_gives_last_day():
    assert periods.parse_month("2024-02") == dt.date(2024, 2, 29)
