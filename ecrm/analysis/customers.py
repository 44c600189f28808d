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

__all__ = ["FIRST_ATTRIBUTES", "first_line", "measures", "measures_table", "snapshots_table"]

#: Line attributes reported for each customer's first purchase, as ``first_<name>``, in
#: the order the measures show them: the columns of :data:`ecrm.engine.MAIN_LINE_COLUMNS`
#: (whose order is the largest line's tie order), product last.
FIRST_ATTRIBUTES: tuple[str, ...] = ("category", "taste", "brand", "channel", "product_id")


def measures_table(orders: engine.OrdersLike, *, as_of: Any, attributes: bool = True) -> ir.Table:
    """Per-customer measures at ``as_of`` as an Ibis expression.

    See :func:`measures` for the definitions; ``monetary`` and ``aov`` stay exact
    decimals here so that bins built on them are the same on every run. With
    ``attributes=False`` the first-purchase attributes are left out (they cost a
    pass over the order lines).
    """
    as_of_d = engine.as_of_date(as_of)
    t = engine.orders_table(orders)
    o = engine.order_totals(t, as_of=as_of_d)
    per = engine.customer_measures(o, as_of_d)
    per = per.mutate(aov=(per.monetary / per.frequency).cast(engine.AMOUNT))
    attrs = [c for c in FIRST_ATTRIBUTES if c in t.columns] if attributes else []
    if not attrs:
        return per
    purchases = o.filter(o.is_purchase)
    w = ibis.window(group_by="customer_id", order_by=["ordered_at", "order_id"])
    first_orders = purchases.mutate(_rank=ibis.row_number().over(w))
    first_orders = first_orders.filter(first_orders._rank == 0).select("customer_id", "order_id")
    lines = engine.upto(t, as_of_d)
    lines = lines.filter(lines.customer_id.notnull())
    fl = first_line(lines.inner_join(first_orders, ["customer_id", "order_id"]), attrs)
    fl = fl.rename({f"first_{'product' if c == 'product_id' else c}": c for c in attrs})
    return per.left_join(fl, "customer_id").drop("customer_id_right")


def first_line(lines: ir.Table, columns: list[str] | tuple[str, ...]) -> ir.Table:
    """Each customer's largest line of the given lines, as ``customer_id`` and ``columns``.

    The largest line is the one with the largest amount; ties go to the smallest
    product_id, then category, taste, brand, channel (those present), missing
    values last (:func:`ecrm.engine.largest_line`, one aggregate). SPEC §2's
    first-purchase attributes are the ``columns`` of the largest line of the
    first purchase.

    Parameters
    ----------
    lines : ibis Table
        Order lines with customer_id, amount and ``columns``.
    columns : sequence of str
        Columns to return.

    Returns
    -------
    ibis Table
        One row per customer_id.
    """
    return engine.largest_line(lines, "customer_id", columns)


def snapshots_table(
    orders: engine.OrdersLike, *, dates: list[Any], pairs: bool = False
) -> ir.Table:
    """Customer measures at several dates (month ends) in one set-based pass.

    A customer's state only changes in months with orders, so the orders are
    aggregated per customer and month, accumulated with a window, and each
    cumulative state is joined to the snapshot dates for which it is the latest
    (``valid_from <= date < valid_to``). No per-date re-run of the analysis.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders.
    dates : list of date
        Snapshot dates (each inclusive, like ``as_of``), e.g. from
        :func:`ecrm.analysis.periods.month_ends`.
    pairs : bool, default False
        Pair each snapshot with the previous one (see Returns).

    Returns
    -------
    ibis.Table
        snapshot (date), period_revenue (net revenue since the previous snapshot —
        for the first snapshot, since the first day of its month — exact decimal),
        customer_id, frequency, monetary (exact decimal),
        first_purchase, last_purchase, recency_days, tenure_days — the columns of
        :func:`measures` at each snapshot, for customers with a purchase by then.
        With ``pairs=True``: from the second date on, snapshot, customer_id,
        frequency, monetary, recency_days, tenure_days, and the same measures of
        the customer at the previous date as prev_snapshot, prev_frequency,
        prev_monetary, prev_recency_days, prev_tenure_days (null where the
        customer had no purchase by then) — consecutive snapshots side by side
        without a self-join.
    """
    snaps = sorted({engine.as_of_date(d) for d in dates})
    if not snaps:
        raise ValueError("dates must not be empty")

    def states() -> ir.Table:
        # each customer's cumulative state after each snapshot period with orders,
        # valid until the next such period (_next): the compact form of the
        # snapshots, kept in the engine for a canonical file (several analyses
        # read the same month ends)
        o = engine.order_totals(orders, as_of=snaps[-1])
        # Bucket each order into the first snapshot on or after its date.
        bucket = ibis.cases(
            *[(o.order_date <= ibis.literal(d, type="date"), i) for i, d in enumerate(snaps)]
        )
        o = o.mutate(_bucket=bucket)
        # The first snapshot's period is its calendar month (there is no earlier
        # snapshot to start from); later periods run from the previous snapshot.
        first_month = ibis.literal(snaps[0].replace(day=1), type="date")
        in_period = (o._bucket > 0) | (o.order_date >= first_month)
        per = o.group_by(["customer_id", "_bucket"]).agg(
            _n=o.is_purchase.cast("int64").sum(),
            _m=o.amount.sum().cast(engine.AMOUNT),
            _p=o.amount.sum(where=in_period).cast(engine.AMOUNT),
            _first=o.order_date.min(where=o.is_purchase),
            _last=o.order_date.max(where=o.is_purchase),
        )
        w = ibis.window(group_by="customer_id", order_by="_bucket", preceding=None, following=0)
        cum = per.mutate(
            frequency=per._n.sum().over(w),
            monetary=per._m.sum().over(w).cast(engine.AMOUNT),
            first_purchase=per._first.min().over(w),
            last_purchase=per._last.max().over(w),
            _next=per._bucket.lead().over(ibis.window(group_by="customer_id", order_by="_bucket")),
        )
        # the state before this row (the previous row's), for snapshot pairs
        wp = ibis.window(group_by="customer_id", order_by="_bucket")
        cum = cum.mutate(
            _next=cum._next.fill_null(len(snaps)),
            _pf=cum.frequency.lag().over(wp),
            _pm=cum.monetary.lag().over(wp),
            _pfirst=cum.first_purchase.lag().over(wp),
            _plast=cum.last_purchase.lag().over(wp),
        )
        cum = cum.filter(cum.frequency > 0)  # frequency never falls: filter before expanding
        return cum.select(
            "customer_id",
            "_bucket",
            "_next",
            "_p",
            "frequency",
            "monetary",
            "first_purchase",
            "last_purchase",
            "_pf",
            "_pm",
            "_pfirst",
            "_plast",
        )

    cum = engine.cache.table(orders, ("snapshot_states", tuple(snaps)), states)
    idx = ibis.memtable(
        {"_i": list(range(len(snaps))), "snapshot": snaps, "_prev_snapshot": [None, *snaps[:-1]]},
        schema={"_i": "int64", "snapshot": "date", "_prev_snapshot": "date"},
    )
    j = cum.join(idx, [cum._bucket <= idx._i, idx._i < cum._next])
    if pairs:
        # the state at the previous snapshot: this row's own if it was already
        # valid then, else the row before it (none when that had no purchase)
        own = j._bucket < j._i
        f_freq = ibis.ifelse(own, j.frequency, j._pf)
        f_first = ibis.ifelse(own, j.first_purchase, j._pfirst)
        f_last = ibis.ifelse(own, j.last_purchase, j._plast)
        j = j.filter(j._i > 0)
        return j.select(
            "snapshot",
            "customer_id",
            "frequency",
            "monetary",
            recency_days=j.snapshot.delta(j.last_purchase, unit="day").cast("int64"),
            tenure_days=j.last_purchase.delta(j.first_purchase, unit="day").cast("int64"),
            prev_snapshot=j._prev_snapshot,
            prev_frequency=ibis.ifelse(f_freq > 0, f_freq, ibis.null("int64")),
            prev_monetary=ibis.ifelse(f_freq > 0, ibis.ifelse(own, j.monetary, j._pm), None),
            prev_recency_days=j._prev_snapshot.delta(f_last, unit="day").cast("int64"),
            prev_tenure_days=f_last.delta(f_first, unit="day").cast("int64"),
        )
    j = j.mutate(
        period_revenue=ibis.ifelse(j._bucket == j._i, j._p.fill_null(0), 0).cast(engine.AMOUNT)
    )
    j = j.select(
        "snapshot",
        "period_revenue",
        "customer_id",
        "frequency",
        "monetary",
        "first_purchase",
        "last_purchase",
        recency_days=j.snapshot.delta(j.last_purchase, unit="day").cast("int64"),
        tenure_days=j.last_purchase.delta(j.first_purchase, unit="day").cast("int64"),
    )
    return j


def measures(orders: engine.OrdersLike, *, as_of: Any, attributes: bool = True) -> pd.DataFrame:
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
    attributes : bool, default True
        Include the first-purchase attributes (first_category, ...).

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
    expr = measures_table(orders, as_of=as_of, attributes=attributes).order_by("customer_id")
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
