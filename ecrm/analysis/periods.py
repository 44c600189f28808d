"""Calendar helpers: month ends, report months and "the 12 months to as_of".

All functions are pure date arithmetic on the shop-local calendar (SPEC §1).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pandas as pd

from ecrm.engine import as_of_date
from ecrm.errors import ParameterError

__all__ = [
    "month_end",
    "month_ends",
    "month_of",
    "parse_month",
    "period_start",
    "shift_months",
]

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(month: str) -> dt.date:
    """Parse ``YYYY-MM`` to that month's last day (the report's as_of).

    Raises
    ------
    ParameterError
        Not a real month in ``YYYY-MM`` form.
    """
    m = _MONTH.match(str(month).strip()) if isinstance(month, str) else None
    if not m or not (1 <= int(m.group(2)) <= 12) or int(m.group(1)) < 1900:
        raise ParameterError(f"month must be YYYY-MM (e.g. 2026-10), got {month!r}")
    return month_end(dt.date(int(m.group(1)), int(m.group(2)), 1))


def month_end(d: Any) -> dt.date:
    """Last day of the month of ``d``."""
    d = as_of_date(d)
    nxt = dt.date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def month_of(d: Any) -> str:
    """``YYYY-MM`` of ``d``."""
    d = as_of_date(d)
    return f"{d.year:04d}-{d.month:02d}"


def shift_months(d: Any, months: int) -> dt.date:
    """``d`` moved by ``months`` calendar months, the day clipped to the month's length."""
    return (pd.Timestamp(as_of_date(d)) + pd.DateOffset(months=months)).date()


def period_start(as_of: Any, months: int) -> dt.date:
    """First day of "the ``months`` months to as_of" (SPEC §1).

    The period is the days after ``as_of − months`` up to ``as_of`` inclusive:
    as_of 2026-10-31, 12 months → 2025-11-01.
    """
    return shift_months(as_of, -months) + dt.timedelta(days=1)


def month_ends(as_of: Any, n: int) -> list[dt.date]:
    """The snapshot dates of the last ``n`` months, oldest first.

    The last one is ``as_of`` itself (a report month's last day, or a mid-month
    date for an ad hoc look); the others are the ends of the ``n − 1`` months
    before it.
    """
    if n < 1:
        raise ParameterError(f"n must be at least 1, got {n}")
    last = as_of_date(as_of)
    ends = [month_end(shift_months(dt.date(last.year, last.month, 1), -k)) for k in range(1, n)]
    return [*reversed(ends), last]
