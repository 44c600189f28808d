"""Customer measures (SPEC §2): one row per customer at ``as_of``.

This is the engine contract every analysis builds on: :func:`measures_table`
returns an Ibis expression (exact decimals, lazily evaluated in the engine);
:func:`measures` executes it into a pandas DataFrame.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from ecrm import engine

__all__ = ["FIRST_ATTRIBUTES", "measures", "measures_table"]

#: Line attributes reported for each customer's first purchase, as ``first_<name>``.
FIRST_ATTRIBUTES: tuple[str, ...] = ("category", "taste", "brand", "channel", "product_id")


def measures_table(orders: engine.OrdersLike, *, as_of: Any) -> ir.Table:
    """Per-customer measures at ``as_of`` as an Ibis expression.

    See :func:`measures` for the definitions; ``monetary`` and ``aov`` stay exact
    decimals here so that bins built on them are the same on every run.
    """
    as_of_d = engine.as_of_date(as_of)
    t = engine.orders_table(orders)
    o = engine.order_totals(t, as_of=as_of_d)
    per = o.group_by("customer_id").agg(
        frequency=o.is_purchase.cast("int64").sum(),
        monetary=o.amount.sum().cast(engine.AMOUNT),
        first_purchase=o.order_date.min(where=o.is_purchase),
        last_purchase=o.order_date.max(where=o.is_purchase),
    )
    per = per.filter(per.frequency > 0)
    asof = ibis.literal(as_of_d, type="date")
    per = per.mutate(
        recency_days=asof.delta(per.last_purchase, unit="day").cast("int64"),
        tenure_days=per.last_purchase.delta(per.first_purchase, unit="day").cast("int64"),
        aov=(per.monetary / per.frequency).cast(engine.AMOUNT),
    )
    attrs = [c for c in FIRST_ATTRIBUTES if c in t.columns]
    if not attrs:
        return per
    purchases = o.filter(o.is_purchase)
    w = ibis.window(group_by="customer_id", order_by=["ordered_at", "order_id"])
    first_orders = purchases.mutate(_rank=ibis.row_number().over(w))
    first_orders = first_orders.filter(first_orders._rank == 0).select("customer_id", "order_id")
    lines = engine.upto(t, as_of_d)
    lines = lines.filter(lines.customer_id.notnull())
    fl = lines.inner_join(first_orders, ["customer_id", "order_id"])
    order_by = [ibis.desc("amount")] + [c for c in ("product_id", *attrs) if c in fl.columns]
    wl = ibis.window(group_by="customer_id", order_by=order_by)
    fl = fl.mutate(_line=ibis.row_number().over(wl))
    fl = fl.filter(fl._line == 0).select(
        "customer_id", **{f"first_{'product' if c == 'product_id' else c}": c for c in attrs}
    )
    return per.left_join(fl, "customer_id").drop("customer_id_right")


def measures(orders: engine.OrdersLike, *, as_of: Any) -> pd.DataFrame:
    """Customer measures at ``as_of`` (SPEC §2), one row per customer.

    A customer is anyone with at least one purchase (an order with net amount
    > 0) on or before ``as_of``; guest lines are left out. Customers whose orders
    up to ``as_of`` are all returns or zero-value are not customers yet and are
    absent. Orders after ``as_of`` are ignored.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders: order_id, customer_id, ordered_at, amount; optional
        category, taste, brand, channel, product_id.
    as_of : date or str
        Last day of the analysis, inclusive.

    Returns
    -------
    DataFrame
        customer_id; first_purchase, last_purchase (dates of the first and last
        purchase); frequency (purchases); monetary (net sum of all the
        customer's orders, returns included); recency_days = as_of −
        last_purchase; tenure_days = last_purchase − first_purchase;
        aov = monetary / frequency; and, where the orders have them,
        first_category, first_taste, first_brand, first_channel, first_product:
        the attributes of the first purchase's largest line (ties by product_id).
        Sorted by customer_id.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({
    ...     "order_id": ["1", "2"], "customer_id": ["a", "a"],
    ...     "ordered_at": pd.to_datetime(["2026-01-01", "2026-03-01"]),
    ...     "amount": [1000, 500]})
    >>> m = measures(orders, as_of="2026-03-31")
    >>> m[["frequency", "monetary", "recency_days", "tenure_days"]].to_dict("records")
    [{'frequency': 2, 'monetary': 1500.0, 'recency_days': 30, 'tenure_days': 59}]
    """
    expr = measures_table(orders, as_of=as_of).order_by("customer_id")
    lead = [
        "customer_id",
        "first_purchase",
        "last_purchase",
        "frequency",
        "monetary",
        "recency_days",
        "tenure_days",
        "aov",
    ]
    expr = expr.select(*lead, *[c for c in expr.columns if c not in lead])
    df = engine.to_pandas(expr)
    for c in ("first_purchase", "last_purchase"):
        df[c] = pd.to_datetime(df[c]).dt.date
    return df.reset_index(drop=True)
