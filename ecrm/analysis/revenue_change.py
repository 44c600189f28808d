"""Revenue change: why a month's revenue moved, split so the parts add up exactly.

SPEC §3 (Revenue change). The change of revenue between as_of's month and the
month before (``compare="month"``) or the same month a year earlier
(``compare="year"``) is split into new-customer revenue, repeat-customer
revenue and the rest, and each customer part into

    revenue = customers × purchases per customer × revenue per purchase (AOV)

with the logarithmic mean Divisia index (LMDI-I, Ang 2004): the contribution of
a factor x to the change of V = Π x is ``L(V1, V0) · ln(x1 / x0)`` with the
logarithmic mean ``L(a, b) = (a − b) / (ln a − ln b)`` (``L(a, a) = a``). The
contributions of the three factors add up to the part's change exactly, and
the parts to the month's change — no residual term.

Definitions (as :mod:`ecrm.analysis.kpi`, so the figures match the KPI page):

* month revenue: the net amount of every order of the month, guests included;
* new: customers whose first purchase falls in the month (for the whole month);
  repeat: customers of the month whose first purchase was earlier;
  customers count those with a purchase in the month;
* a part's revenue is the net revenue of its customers' orders in the month
  (their returns included), its purchases their orders with net > 0;
  AOV = revenue / purchases;
* ``other`` = month revenue − new − repeat: guest orders and the orders of
  customers who have no purchase yet (a return alone).

Where a part's revenue or one of its factors is ≤ 0 in either month (no new
customer that month, or returns larger than purchases), logarithms do not
exist: the part's whole change is given to its customers factor and the row
says so (``method`` = ``"no_split"``). as_of's month runs from its first day
to as_of (the report month's last day in a monthly report); the compared
month is a whole calendar month.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Literal

import ibis
import pandas as pd

from ecrm import engine
from ecrm.analysis import periods
from ecrm.errors import ParameterError

__all__ = ["FACTORS", "PARTS", "log_mean", "revenue_change"]

#: The customer parts and the factors of each, in the table's order.
PARTS: tuple[str, ...] = ("new", "repeat")
FACTORS: tuple[str, ...] = ("customers", "purchases_per_customer", "aov")


def log_mean(a: float, b: float) -> float:
    """The logarithmic mean ``(a − b) / (ln a − ln b)`` of two positive numbers (a if equal).

    >>> round(log_mean(2.0, 1.0), 6)
    1.442695
    """
    if a <= 0 or b <= 0:
        raise ParameterError(f"the logarithmic mean needs positive numbers, got {a}, {b}")
    if math.isclose(a, b, rel_tol=1e-12):
        return (a + b) / 2
    return (a - b) / (math.log(a) - math.log(b))


def _month_figures(
    orders: engine.OrdersLike, months: list[dt.date], as_of: dt.date
) -> pd.DataFrame:
    """Per month: revenue and, for new and repeat customers, revenue, customers, purchases."""
    o_all = engine.order_totals(orders, as_of=as_of, customers_only=False)
    p = o_all.filter(o_all.is_purchase & o_all.customer_id.notnull())
    first = p.group_by("customer_id").agg(first_month=p.order_date.min().truncate("M"))
    o = o_all.mutate(month=o_all.ordered_at.truncate("M").date())
    o = o.filter(o.month.isin([ibis.literal(m, type="date") for m in months]))
    o = o.left_join(first, "customer_id").drop("customer_id_right")
    member = o.customer_id.notnull()
    part = ibis.cases(
        (member & (o.first_month == o.month), "new"),
        (member & (o.first_month < o.month), "repeat"),
        else_="other",
    )
    o = o.mutate(part=part)
    by_part = o.group_by(["month", "part"]).agg(
        revenue=o.amount.sum(),
        purchases=o.is_purchase.cast("int64").sum(),
        customers=o.customer_id.nunique(where=o.is_purchase),
    )
    df = engine.to_pandas(by_part)
    df["month"] = pd.to_datetime(df["month"]).dt.date
    return df


def revenue_change(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    compare: Literal["month", "year"] = "month",
) -> pd.DataFrame:
    """Split the change of the month's revenue into its drivers (LMDI, adding up exactly).

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders (SPEC §1); guest lines count for revenue.
    as_of : date or str
        Last day of the analysis (the report month's last day), inclusive.
    compare : {"month", "year"}, default "month"
        Against the previous month, or the same month a year earlier.

    Returns
    -------
    DataFrame
        One row per (part, factor): ``new`` and ``repeat`` × customers,
        purchases_per_customer, aov; ``other`` × revenue; then ``total`` ×
        revenue. Columns: month, base_month (YYYY-MM), part, factor, before,
        after (the factor's values), contribution (currency; the parts' rows
        sum to the total row's), method (``"lmdi"``, ``"no_split"`` or
        ``"sum"`` for other and total).

    Raises
    ------
    ParameterError
        compare is neither "month" nor "year".

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({
    ...     "order_id": ["1", "2", "3", "4"], "customer_id": ["a", "a", "b", None],
    ...     "ordered_at": pd.to_datetime(["2026-09-03", "2026-10-04", "2026-10-09", "2026-10-10"]),
    ...     "amount": [1000, 1500, 2000, 300]})
    >>> t = revenue_change(orders, as_of="2026-10-31")
    >>> bool(round(t["contribution"].iloc[:-1].sum(), 6) == t["contribution"].iloc[-1] == 2800.0)
    True
    """
    if compare not in ("month", "year"):
        raise ParameterError(f"compare must be 'month' or 'year', got {compare!r}")
    d = engine.as_of_date(as_of)
    now = dt.date(d.year, d.month, 1)
    base = periods.shift_months(now, -1 if compare == "month" else -12)
    figs = _month_figures(orders, [base, now], d)

    def get(month: dt.date, part: str, col: str) -> float:
        hit = figs[(figs["month"] == month) & (figs["part"] == part)]
        return float(hit[col].iloc[0]) if len(hit) else 0.0

    rows: list[dict[str, Any]] = []
    for part in PARTS:
        v0, v1 = get(base, part, "revenue"), get(now, part, "revenue")
        x = {}
        for m in (base, now):
            c, n, r = get(m, part, "customers"), get(m, part, "purchases"), get(m, part, "revenue")
            x[m] = {
                "customers": c,
                "purchases_per_customer": n / c if c > 0 else float("nan"),
                "aov": r / n if n > 0 else float("nan"),
            }
        usable = v0 > 0 and v1 > 0 and all(x[m][f] > 0 for m in (base, now) for f in FACTORS)
        weight = log_mean(v1, v0) if usable else float("nan")
        for f in FACTORS:
            if usable:
                contribution, method = weight * math.log(x[now][f] / x[base][f]), "lmdi"
            else:
                contribution = (v1 - v0) if f == "customers" else 0.0
                method = "no_split"
            rows.append(
                {
                    "part": part,
                    "factor": f,
                    "before": x[base][f],
                    "after": x[now][f],
                    "contribution": contribution,
                    "method": method,
                }
            )
    total0 = float(figs.loc[figs["month"] == base, "revenue"].sum())
    total1 = float(figs.loc[figs["month"] == now, "revenue"].sum())
    o0, o1 = get(base, "other", "revenue"), get(now, "other", "revenue")
    rows.append(
        {
            "part": "other",
            "factor": "revenue",
            "before": o0,
            "after": o1,
            "contribution": o1 - o0,
            "method": "sum",
        }
    )
    rows.append(
        {
            "part": "total",
            "factor": "revenue",
            "before": total0,
            "after": total1,
            "contribution": total1 - total0,
            "method": "sum",
        }
    )
    out = pd.DataFrame(rows)
    out.insert(0, "base_month", f"{base:%Y-%m}")
    out.insert(0, "month", f"{now:%Y-%m}")
    return out
