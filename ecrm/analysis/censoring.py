"""The left-censored first cohort (SPEC §3 Cohort).

An export rarely starts with the shop's first order. The month of its earliest
order holds, as "new" customers, everyone who bought before the export began:
their first purchase in the data is not their first purchase. That cohort is
**left-censored**. Every cohort, LTV and F2 table flags it
(``left_censored = true``); headline figures (the KPI tiles, the LTV page's
summary sentence, the findings) and tables pooled over cohorts (first-purchase
category or product, channel of acquisition) leave it out, unless the shop's
settings say the export is complete (``export_complete: true``).

Choices where SPEC is silent
----------------------------
* The export's first month is the month of the earliest order of the canonical
  table, whatever its as_of, guests and orders with net amount ≤ 0 included:
  it is a property of the export, not of an analysis date.
* Only that one month is censored. A customer first seen in the second month
  may have bought before the export too, but the first month absorbs the bulk
  (every active customer of the shop) and the later ones are ordinary cohorts
  with a small, decaying share of returning customers, as in any cohort table.
* Without a whole shop's settings (``settings`` None or one analysis section)
  the export is not known to be complete, so the first cohort is flagged.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis.expr.types as ir

from ecrm import engine
from ecrm.settings import ShopSettings

__all__ = [
    "censored_label",
    "censored_month",
    "export_complete_setting",
    "first_order_month",
    "history_months",
    "is_censored",
]


def export_complete_setting(settings: Any) -> bool:
    """Whether the shop's settings say its export holds its whole history.

    Parameters
    ----------
    settings : ShopSettings, an analysis section or None
        Only a whole shop's settings can say so (``export_complete: true``).

    Returns
    -------
    bool

    Examples
    --------
    >>> export_complete_setting(None)
    False
    """
    return bool(isinstance(settings, ShopSettings) and settings.export_complete)


def first_order_month(orders: engine.OrdersLike) -> dt.date | None:
    """The first day of the month of the export's earliest order (None without orders).

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders; every line counts (guests, returns).

    Returns
    -------
    datetime.date or None

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({"order_id": ["1", "2"], "customer_id": ["a", None],
    ...     "ordered_at": pd.to_datetime(["2026-03-15", "2026-02-03"]), "amount": [100, -5]})
    >>> first_order_month(orders)
    datetime.date(2026, 2, 1)
    """
    t = engine.orders_table(orders)
    first = t.ordered_at.min().execute()
    if first is None or first != first:  # None or NaT
        return None
    d = first.date() if hasattr(first, "date") else first
    return dt.date(d.year, d.month, 1)


def censored_month(orders: engine.OrdersLike, *, settings: Any = None) -> dt.date | None:
    """The left-censored cohort's month (its first day), or None when there is none.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders.
    settings : ShopSettings, an analysis section or None
        ``export_complete: true`` in a shop's settings: no cohort is censored.

    Returns
    -------
    datetime.date or None
        The month of the export's earliest order; None when the export is
        complete or holds no order.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({"order_id": ["1"], "customer_id": ["a"],
    ...     "ordered_at": pd.to_datetime(["2010-12-01"]), "amount": [10]})
    >>> censored_month(orders)
    datetime.date(2010, 12, 1)
    """
    if export_complete_setting(settings):
        return None
    return first_order_month(orders)


def is_censored(cohort_month: ir.DateValue, month: dt.date | None) -> ir.BooleanValue:
    """Ibis expression: whether a cohort month (any day of it) is the censored one.

    Parameters
    ----------
    cohort_month : ibis date expression
        A day of the cohort's month (e.g. the first purchase's date).
    month : datetime.date or None
        :func:`censored_month`; None: nothing is censored.
    """
    import ibis

    if month is None:
        return ibis.literal(False)
    return (cohort_month.year() == month.year) & (cohort_month.month() == month.month)


def history_months(orders: engine.OrdersLike, *, as_of: Any) -> int:
    """Calendar months from the export's first order's month to as_of's month, both included.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders.
    as_of : date or str
        Last day of the analysis.

    Returns
    -------
    int
        0 without orders (or with as_of before the first order's month).

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({"order_id": ["1"], "customer_id": ["a"],
    ...     "ordered_at": pd.to_datetime(["2010-12-01"]), "amount": [10]})
    >>> history_months(orders, as_of="2011-11-30")
    12
    """
    first = first_order_month(orders)
    if first is None:
        return 0
    d = engine.as_of_date(as_of)
    return max(0, (d.year - first.year) * 12 + d.month - first.month + 1)


def censored_label(
    orders: Any, *, settings: Any = None, export_complete: bool | None = None
) -> str | None:
    """``YYYY-MM`` of the left-censored cohort, as the cohort tables label it (None: none).

    Parameters
    ----------
    orders : DataFrame, ibis Table, path or PurchaseHistory
        Canonical orders, or a :class:`ecrm.analysis.cohort.PurchaseHistory`
        (its order lines are read).
    settings : ShopSettings, an analysis section or None
        ``export_complete: true`` in a shop's settings: no cohort is censored.
    export_complete : bool, optional
        Overrides the settings (True: nothing is censored; False: the first
        month is, whatever the settings say).

    Returns
    -------
    str or None

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({"order_id": ["1"], "customer_id": ["a"],
    ...     "ordered_at": pd.to_datetime(["2010-12-01"]), "amount": [10]})
    >>> censored_label(orders), censored_label(orders, export_complete=True)
    ('2010-12', None)
    """
    complete = export_complete_setting(settings) if export_complete is None else export_complete
    if complete:
        return None
    first = first_order_month(getattr(orders, "lines", orders))
    return None if first is None else f"{first.year:04d}-{first.month:02d}"
