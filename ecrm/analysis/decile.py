"""Decile analysis (デシル分析, SPEC §3).

Customers with at least one purchase in a period (default: the 12 months to
as_of) are ranked by their net revenue in the period, highest first, ties by
customer_id, and split into 10 groups whose sizes differ by at most one, the
larger groups first. Decile 1 is the top.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from ecrm import engine
from ecrm.analysis import customers, periods
from ecrm.settings import DecileSettings, ShopSettings, section

__all__ = [
    "decile_assignments",
    "decile_migration",
    "decile_table",
    "pareto_curve",
]


def _period_revenue(orders: engine.OrdersLike, start: Any, end: Any) -> ir.Table:
    """Per customer: net revenue and purchases in [start, end] (dates inclusive)."""
    o = engine.order_totals(orders, as_of=end)
    o = o.filter(o.order_date >= ibis.literal(engine.as_of_date(start), type="date"))
    g = o.group_by("customer_id").agg(
        revenue=o.amount.sum().cast(engine.AMOUNT),
        purchases=o.is_purchase.cast("int64").sum(),
    )
    return g.filter(g.purchases > 0)


def decile_assignments_table(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    months: int = 12,
    groups: int = 10,
    by: str | None = None,
) -> ir.Table:
    """Ibis expression of :func:`decile_assignments`."""
    start = periods.period_start(as_of, months)
    g = _period_revenue(orders, start, as_of)
    part: list[Any] = []
    if by:
        attrs = customers.measures_table(orders, as_of=as_of).select("customer_id", by)
        g = g.left_join(attrs, "customer_id").drop("customer_id_right")
        g = g.mutate(**{by: g[by].fill_null("(unknown)")})
        part = [by]
    w = ibis.window(group_by=part or None, order_by=[ibis.desc("revenue"), "customer_id"])
    return g.mutate(decile=(ibis.ntile(groups).over(w) + 1).cast("int16"))


def decile_assignments(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    settings: ShopSettings | DecileSettings | None = None,
    months: int | None = None,
    by: str | None = None,
) -> pd.DataFrame:
    """Each buying customer's decile for the period ending at ``as_of``.

    Returns
    -------
    DataFrame
        customer_id, [by,] revenue (net, in the period), purchases, decile
        (1 = top). Sorted by decile, then revenue descending, then customer_id.
    """
    s = section(settings, DecileSettings)
    expr = decile_assignments_table(
        orders, as_of=as_of, months=months or s.period_months, groups=s.groups, by=by
    )
    keys = [by] if by else []
    df = engine.to_pandas(expr.order_by([*keys, "decile", ibis.desc("revenue"), "customer_id"]))
    return df.reset_index(drop=True)


def decile_table(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    settings: ShopSettings | DecileSettings | None = None,
    months: int | None = None,
    by: str | None = None,
) -> pd.DataFrame:
    """The decile table for the ``months`` months to ``as_of``.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders.
    as_of : date or str
        Last day of the period, inclusive.
    settings : ShopSettings or DecileSettings, optional
        Period length and number of groups (default 12 months, 10 groups).
    months : int, optional
        Overrides the period length.
    by : str, optional
        A first-purchase attribute of :func:`ecrm.analysis.customers.measures`
        (e.g. ``"first_channel"``): deciles are then ranked within each group.

    Returns
    -------
    DataFrame
        [by,] decile, customers, revenue, revenue_share, cumulative_share,
        avg_revenue, min_revenue, max_revenue, avg_purchases; one row per decile
        (ten unless fewer customers bought).

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({"order_id": list("abc"), "customer_id": list("xyz"),
    ...     "ordered_at": pd.to_datetime(["2026-10-01"] * 3), "amount": [300, 100, 600]})
    >>> decile_table(orders, as_of="2026-10-31")["revenue"].tolist()
    [600.0, 300.0, 100.0]
    """
    s = section(settings, DecileSettings)
    a = decile_assignments_table(
        orders, as_of=as_of, months=months or s.period_months, groups=s.groups, by=by
    )
    keys = [by] if by else []
    g = a.group_by([*keys, "decile"]).agg(
        customers=a.count(),
        revenue=a.revenue.sum(),
        min_revenue=a.revenue.min(),
        max_revenue=a.revenue.max(),
        purchases=a.purchases.sum(),
    )
    df = engine.to_pandas(g.order_by([*keys, "decile"]))
    df["decile"] = df["decile"].astype("int64")
    grp = df.groupby(keys)["revenue"] if keys else df["revenue"]
    total = grp.transform("sum") if keys else df["revenue"].sum()
    df["revenue_share"] = df["revenue"] / total
    df["cumulative_share"] = (
        df.groupby(keys)["revenue_share"].cumsum() if keys else df["revenue_share"].cumsum()
    )
    df["avg_revenue"] = df["revenue"] / df["customers"]
    df["avg_purchases"] = df["purchases"] / df["customers"]
    cols = [
        *keys,
        "decile",
        "customers",
        "revenue",
        "revenue_share",
        "cumulative_share",
        "avg_revenue",
        "min_revenue",
        "max_revenue",
        "avg_purchases",
    ]
    return df[cols].reset_index(drop=True)


def pareto_curve(assignments: pd.DataFrame, *, points: int = 100) -> pd.DataFrame:
    """Cumulative revenue share against cumulative customer share (the Pareto curve).

    Parameters
    ----------
    assignments : DataFrame
        Output of :func:`decile_assignments` (revenue, sorted best first).
    points : int
        Number of points on the curve (plus the origin).

    Returns
    -------
    DataFrame
        customer_share (0…1), revenue_share (cumulative, 0…1).
    """
    rev = assignments["revenue"].sort_values(ascending=False).to_numpy()
    n = len(rev)
    if n == 0:
        return pd.DataFrame({"customer_share": [0.0], "revenue_share": [0.0]})
    cum = rev.cumsum() / rev.sum()
    idx = sorted({max(1, round(n * k / points)) for k in range(1, points + 1)})
    return pd.DataFrame(
        {
            "customer_share": [0.0] + [i / n for i in idx],
            "revenue_share": [0.0] + [float(cum[i - 1]) for i in idx],
        }
    )


def decile_migration(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    settings: ShopSettings | DecileSettings | None = None,
    months: int | None = None,
) -> pd.DataFrame:
    """Movement of customers between the previous and the current period's deciles.

    The current period is the ``months`` months to ``as_of``; the previous one the
    ``months`` months before it. A customer who did not buy in a period is in
    ``"none"`` for it.

    Returns
    -------
    DataFrame
        from_decile, to_decile (strings "1"…"10" or "none"), customers — every
        pair of the (groups + 1)² grid but none → none (customers who bought in
        neither period are not counted), 0 where nobody moved that way.
    """
    s = section(settings, DecileSettings)
    n = months or s.period_months
    prev_end = periods.shift_months(as_of, -n)
    cur = decile_assignments_table(orders, as_of=as_of, months=n, groups=s.groups)
    prev = decile_assignments_table(orders, as_of=prev_end, months=n, groups=s.groups)
    j = prev.select("customer_id", from_decile="decile").outer_join(
        cur.select("customer_id", to_decile="decile"), "customer_id"
    )
    j = j.mutate(
        from_decile=j.from_decile.cast("string").fill_null("none"),
        to_decile=j.to_decile.cast("string").fill_null("none"),
    )
    g = j.group_by(["from_decile", "to_decile"]).agg(customers=j.count()).to_pandas()
    labels = [str(i) for i in range(1, s.groups + 1)] + ["none"]
    full = pd.MultiIndex.from_product([labels, labels], names=["from_decile", "to_decile"])
    g = g.set_index(["from_decile", "to_decile"]).reindex(full, fill_value=0).reset_index()
    g = g[~((g.from_decile == "none") & (g.to_decile == "none"))]
    g["customers"] = g["customers"].astype("int64")
    return g.reset_index(drop=True)
