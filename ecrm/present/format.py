"""The one number formatter: every number a reader sees goes through here.

Narration (:mod:`ecrm.present.narrate`), the notebook tables
(:func:`ecrm.present.tables.format_table`), the index page
(:mod:`ecrm.render.report`) and the plot labels (:mod:`ecrm.present.plotting`)
spell numbers the same way, in Japanese and English:

* **money** with the shop's currency: its symbol (``¥``, ``£``, ``$``, ``€``)
  before the amount, or its ISO code after it for currencies without a symbol
  here, and as many decimals as the currency's ISO 4217 minor unit (JPY 0,
  GBP/USD/EUR 2): ``¥12,346``, ``£1,234.50``, ``-£12.30``, ``1,234.50 CHF``;
* **rates** in percent: ``12.3%`` (``signed`` for changes: ``+1.2%``);
* **percentage points** for differences of rates: ``+1.2ポイント`` /
  ``+1.2 points`` (``short``: ``+1.2pt`` in both languages);
* **days**: ``30日`` / ``30 days``;
* **counts** with thousands separators: ``1,234``; other numbers with a fixed
  number of decimals: ``1,234.57``.

A missing value (None, NaN, NA) is always :data:`MISSING` (``—``).

Examples
--------
>>> money(12345.6, "JPY")
'¥12,346'
>>> money(-12.3, "GBP")
'-£12.30'
>>> rate(0.1234)
'12.3%'
>>> points(0.012, lang="en")
'+1.2 points'
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ecrm.present.labels import check_lang, kpi_label
from ecrm.settings import CURRENCIES

__all__ = [
    "MINOR_UNITS",
    "MISSING",
    "SYMBOLS",
    "count",
    "days",
    "kpi_change",
    "kpi_summary",
    "kpi_value",
    "minor_unit",
    "money",
    "number",
    "points",
    "rate",
    "tick_formatter",
]

#: What a missing value shows as.
MISSING = "—"

#: ISO 4217 minor units (decimals) of every active currency: the one table,
#: :data:`ecrm.settings.CURRENCIES` (a currency not listed has 2).
MINOR_UNITS: dict[str, int] = CURRENCIES

#: Symbols written before the amount; other currencies show their code after it.
SYMBOLS: dict[str, str] = {"JPY": "¥", "GBP": "£", "USD": "$", "EUR": "€"}

#: KPIs of :mod:`ecrm.analysis.kpi` that are money amounts (the others are counts,
#: ``purchases_per_customer`` a ratio, and ``RATE_KPIS`` rates).
MONEY_KPIS: frozenset[str] = frozenset(
    {"revenue", "new_revenue", "repeat_revenue", "aov", "ltv_12m"}
)
_RATE_KPIS: frozenset[str] = frozenset({"repeat_rate", "f2_rate", "lapse_rate", "cross_sell_rate"})
_RATIO_KPIS: frozenset[str] = frozenset({"purchases_per_customer"})


def _missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(math.isnan(v))
    except TypeError:
        import pandas as pd

        return bool(pd.isna(v))


def minor_unit(currency: str) -> int:
    """Decimals of ``currency``'s minor unit (ISO 4217; 2 when not in :data:`MINOR_UNITS`)."""
    return MINOR_UNITS.get(currency.upper(), 2)


def money(v: Any, currency: str = "JPY", *, decimals: int | None = None) -> str:
    """An amount in ``currency``: symbol or code, thousands separators, minor-unit decimals.

    Parameters
    ----------
    v : float
        The amount; NaN or None gives :data:`MISSING`.
    currency : str
        ISO 4217 code (the shop's ``currency`` setting).
    decimals : int, optional
        Overrides the currency's minor unit (e.g. 0 for axis ticks).

    Examples
    --------
    >>> money(1234.5, "GBP"), money(1234.5, "JPY"), money(-5, "CHF")
    ('£1,234.50', '¥1,234', '-5.00 CHF')
    """
    if _missing(v):
        return MISSING
    code = currency.upper()
    d = minor_unit(code) if decimals is None else decimals
    value = float(v)
    body = f"{abs(value):,.{d}f}"
    sign = "-" if value < 0 and body.strip("0.,") else ""  # no "-¥0"
    sym = SYMBOLS.get(code)
    return f"{sign}{sym}{body}" if sym else f"{sign}{body} {code}"


def rate(v: Any, *, decimals: int = 1, signed: bool = False) -> str:
    """A share or rate in percent (``0.123`` → ``12.3%``); ``signed`` adds ``+``."""
    if _missing(v):
        return MISSING
    return f"{float(v):+.{decimals}%}" if signed else f"{float(v):.{decimals}%}"


def points(v: Any, *, lang: str = "ja", decimals: int = 1, short: bool = False) -> str:
    """A difference of rates in percentage points, signed (``0.012`` → ``+1.2ポイント``).

    ``short`` writes ``+1.2pt`` in both languages (for KPI cards and tables).
    """
    check_lang(lang)
    if _missing(v):
        return MISSING
    n = f"{float(v) * 100:+.{decimals}f}"
    if short:
        return f"{n}pt"
    return f"{n}ポイント" if lang == "ja" else f"{n} points"


def days(v: Any, *, lang: str = "ja", decimals: int = 0) -> str:
    """A number of days: ``30日`` / ``30 days`` (``1 day``)."""
    check_lang(lang)
    if _missing(v):
        return MISSING
    n = f"{float(v):,.{decimals}f}"
    if lang == "ja":
        return f"{n}日"
    return f"{n} day" if float(v) == 1 else f"{n} days"


def count(v: Any) -> str:
    """A count with thousands separators (``1234`` → ``1,234``; fractions are rounded)."""
    if _missing(v):
        return MISSING
    return f"{round(float(v)):,}"


def number(v: Any, *, decimals: int = 2, signed: bool = False) -> str:
    """Any other number, with thousands separators and ``decimals`` decimals."""
    if _missing(v):
        return MISSING
    return f"{float(v):+,.{decimals}f}" if signed else f"{float(v):,.{decimals}f}"


# ----------------------------------------------------------------------------- KPIs


def kpi_value(code: str, v: Any, *, currency: str = "JPY") -> str:
    """A KPI's value: money for amounts, percent for rates, a count otherwise."""
    if code in _RATE_KPIS:
        return rate(v)
    if code in MONEY_KPIS:
        return money(v, currency)
    if code in _RATIO_KPIS:
        return number(v)
    return count(v)


def kpi_change(code: str, v: Any, *, lang: str = "ja") -> str:
    """A KPI's MoM/YoY change: points for rates, a signed percent otherwise."""
    return points(v, lang=lang, short=True) if code in _RATE_KPIS else rate(v, signed=True)


def kpi_summary(table: Any, *, lang: str = "ja", currency: str = "JPY") -> Any:
    """The last month's KPIs as a table to show: code, name, value, MoM and YoY as numbers.

    The numbers stay numbers (the CSV a client opens holds ``0.051``, not
    ``"+5.1%"``); they are formatted only when shown, by
    :func:`ecrm.present.tables.format_table` (table ``kpi_summary``): amounts
    with the currency in the header, rates in percent and their changes in
    points, other changes in signed percent (:func:`kpi_value`, :func:`kpi_change`).

    Parameters
    ----------
    table : DataFrame
        :func:`ecrm.analysis.kpi.kpi_table` (month, kpi, value, mom, yoy).
    lang : {"ja", "en"}
        Language of ``kpi_name``.
    currency : str
        The shop's currency (kept for the call's signature; amounts are numbers).

    Returns
    -------
    DataFrame
        kpi (code), kpi_name (display name in ``lang``), value, mom, yoy (floats;
        NaN where there is no earlier month to compare with).
    """
    import pandas as pd

    from ecrm.analysis.kpi import kpi_latest

    check_lang(lang)
    last = kpi_latest(table)
    codes = [str(k) for k in last["kpi"]]
    return pd.DataFrame(
        {
            "kpi": pd.array(codes, dtype="string"),
            "kpi_name": pd.array([kpi_label(k, lang) for k in codes], dtype="string"),
            "value": pd.to_numeric(last["value"], errors="coerce").to_numpy(dtype=float),
            "mom": pd.to_numeric(last["mom"], errors="coerce").to_numpy(dtype=float),
            "yoy": pd.to_numeric(last["yoy"], errors="coerce").to_numpy(dtype=float),
        }
    )


# ----------------------------------------------------------------------------- plots


def tick_formatter(kind: str, *, currency: str = "JPY", lang: str = "ja") -> Any:
    """A matplotlib tick formatter spelling axis numbers like the rest of the report.

    Parameters
    ----------
    kind : {"count", "money", "rate", "days"}
        ``rate`` ticks are shares (0.25 → ``25%``, decimals chosen by matplotlib
        from the axis range); ``money`` ticks carry the currency without decimals.

    Returns
    -------
    matplotlib.ticker.Formatter
    """
    from matplotlib.ticker import FuncFormatter, PercentFormatter

    if kind == "rate":
        return PercentFormatter(1.0)
    funcs: dict[str, Callable[[float], str]] = {
        "count": lambda v: f"{v:,.0f}",
        "money": lambda v: money(v, currency, decimals=0),
        "days": lambda v: days(v, lang=lang),
    }
    if kind not in funcs:
        raise ValueError(f"kind must be one of count, money, rate, days; got {kind!r}")
    f = funcs[kind]
    return FuncFormatter(lambda v, _pos: f(v))
