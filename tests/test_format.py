"""ecrm.present.format: the one number formatter, checked against exact strings."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from ecrm.present import format as fmt

NAN = float("nan")


@pytest.mark.parametrize(
    ("value", "currency", "expected"),
    [
        (12345.6, "JPY", "¥12,346"),
        (-12345.4, "JPY", "-¥12,345"),
        (0.4, "JPY", "¥0"),
        (-0.4, "JPY", "¥0"),  # no "-¥0"
        (1234.5, "GBP", "£1,234.50"),
        (-12.3, "GBP", "-£12.30"),
        (1_000_000, "USD", "$1,000,000.00"),
        (9.99, "EUR", "€9.99"),
        (1234.5, "CHF", "1,234.50 CHF"),
        (1234.5678, "KWD", "1,234.568 KWD"),
        (1234.5, "jpy", "¥1,234"),  # the code is case-insensitive
        (NAN, "JPY", "—"),
        (None, "GBP", "—"),
        (pd.NA, "GBP", "—"),
    ],
)
def test_money(value, currency, expected):
    assert fmt.money(value, currency) == expected


def test_money_decimals_override_and_minor_units():
    assert fmt.money(1234.56, "GBP", decimals=0) == "£1,235"
    assert fmt.minor_unit("JPY") == 0 and fmt.minor_unit("GBP") == 2
    assert fmt.minor_unit("XYZ") == 2  # unknown: 2


def test_rates_points_days_counts_in_both_languages():
    assert fmt.rate(0.1234) == "12.3%"
    assert fmt.rate(-0.05, signed=True) == "-5.0%"
    assert fmt.rate(0.05, signed=True) == "+5.0%"
    assert fmt.rate(0.5, decimals=0) == "50%"
    assert fmt.rate(NAN) == fmt.rate(None, signed=True) == "—"
    assert fmt.points(0.012, lang="ja") == "+1.2ポイント"
    assert fmt.points(0.012, lang="en") == "+1.2 points"
    assert fmt.points(-0.0345, lang="en") == "-3.5 points"
    assert fmt.points(-0.0345, lang="ja", short=True) == "-3.5pt"
    assert fmt.points(NAN, lang="ja") == "—"
    assert fmt.days(30, lang="ja") == "30日"
    assert fmt.days(30, lang="en") == "30 days"
    assert fmt.days(1, lang="en") == "1 day"
    assert fmt.days(1234.5, lang="en", decimals=1) == "1,234.5 days"
    assert fmt.days(NAN, lang="en") == "—"
    assert fmt.count(1234567) == "1,234,567"
    assert fmt.count(-1234.4) == "-1,234"
    assert fmt.count(NAN) == "—"
    assert fmt.number(1234.5678) == "1,234.57"
    assert fmt.number(0.5, decimals=1, signed=True) == "+0.5"
    with pytest.raises(Exception, match="fr"):
        fmt.points(0.1, lang="fr")


def _kpis() -> pd.DataFrame:
    """A two-month kpi_table by hand: October's values and changes."""
    rows = []
    for kpi, value, mom, yoy, change in [
        ("revenue", 1_234_567.0, 0.052, -0.1, "ratio"),
        ("orders", 1_234.0, 0.0, NAN, "ratio"),
        ("aov", 1_000.4, -0.0123, 0.2, "ratio"),
        ("purchases_per_customer", 1.2345, 0.01, 0.02, "ratio"),
        ("repeat_rate", 0.3456, 0.012, -0.0345, "points"),
    ]:
        rows.append(
            {
                "month": dt.date(2026, 10, 1),
                "month_end": dt.date(2026, 10, 31),
                "kpi": kpi,
                "value": value,
                "prev_month": NAN,
                "mom": mom,
                "prev_year": NAN,
                "yoy": yoy,
                "change": change,
            }
        )
        rows.append({**rows[-1], "month": dt.date(2026, 9, 1), "value": 1.0})
    return pd.DataFrame(rows)


def test_kpi_summary_keeps_numbers_and_names_the_kpis():
    s = fmt.kpi_summary(_kpis(), lang="ja", currency="JPY")
    assert list(s.columns) == ["kpi", "kpi_name", "value", "mom", "yoy"]
    assert list(s["kpi"]) == ["revenue", "orders", "aov", "purchases_per_customer", "repeat_rate"]
    assert list(s["kpi_name"]) == ["売上", "注文数", "平均注文単価", "購入頻度", "リピート率"]
    assert list(s["value"]) == [1_234_567.0, 1_234.0, 1_000.4, 1.2345, 0.3456]
    assert list(s["mom"]) == [0.052, 0.0, -0.0123, 0.01, 0.012]
    assert math.isnan(s["yoy"][1]) and s["yoy"][4] == -0.0345
    assert all(pd.api.types.is_float_dtype(s[c]) for c in ("value", "mom", "yoy"))


def test_kpi_summary_in_english():
    s = fmt.kpi_summary(_kpis(), lang="en", currency="GBP")
    assert list(s["kpi_name"])[:3] == ["Revenue", "Orders", "AOV"]


def test_kpi_value_and_change_spell_each_kind():
    assert fmt.kpi_value("revenue", 1_234_567.0, currency="JPY") == "¥1,234,567"
    assert fmt.kpi_value("aov", 1_000.4, currency="GBP") == "£1,000.40"
    assert fmt.kpi_value("repeat_rate", 0.3456) == "34.6%"
    assert fmt.kpi_value("purchases_per_customer", 1.2345) == "1.23"
    assert fmt.kpi_change("repeat_rate", -0.0345) == "-3.5pt"
    assert fmt.kpi_change("revenue", 0.052) == "+5.2%"


def test_tick_formatter_spells_axis_numbers_like_the_text():
    assert fmt.tick_formatter("money", currency="GBP")(1234.0, 0) == "£1,234"
    assert fmt.tick_formatter("count")(1234.0, 0) == "1,234"
    assert fmt.tick_formatter("days", lang="ja")(30.0, 0) == "30日"
    with pytest.raises(ValueError, match="kind"):
        fmt.tick_formatter("furlongs")


def test_money_uses_the_settings_currency_table():
    assert fmt.money(1234.5, "KWD") == "1,234.500 KWD"
    assert fmt.minor_unit("CLF") == 4 and fmt.minor_unit("BIF") == 0
