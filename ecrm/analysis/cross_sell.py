"""Cross-sell rate (クロスセル率), month by month (SPEC §3, KPIs).

For each month end e: among the customers with a purchase in the 12 months to
e (the days after e − 12 months up to e), the share who bought two or more
distinct categories in those 12 months. A customer "bought" a category when
their net amount in it over the window is > 0 (a returned item does not
count). Lines without a category are ignored; without a category column the
rate is empty (NaN) and ``attrs["reason"]`` says why.

The work is set-based: the lines are summed once per (customer, category,
month), then each month end reads its 12 months of those sums.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import pandas as pd

from ecrm import engine
from ecrm.analysis import periods, products
from ecrm.errors import ParameterError

__all__ = ["cross_sell_monthly", "name_products", "product_names"]


def cross_sell_monthly(orders: engine.OrdersLike, *, as_of: Any, months: int = 24) -> pd.DataFrame:
    """クロスセル率 for each of the ``months`` months to as_of, oldest first.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders (SPEC §1); ``category`` for the rate.
    as_of : date or str
        Last day of the analysis (the last month ends there), inclusive.
    months : int, default 24
        Months in the table.

    Returns
    -------
    DataFrame
        month (first day), month_end, customers (with a purchase in the 12
        months to month_end), cross_buyers (of them, with ≥ 2 categories),
        cross_sell_rate.

    Raises
    ------
    ParameterError
        months < 1.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({
    ...     "order_id": ["1", "1", "2"], "customer_id": ["a", "a", "b"],
    ...     "ordered_at": pd.to_datetime(["2026-10-01"] * 3),
    ...     "amount": [1000, 500, 700], "category": ["tops", "bags", "tops"]})
    >>> cross_sell_monthly(orders, as_of="2026-10-31", months=1)["cross_sell_rate"].tolist()
    [0.5]
    """
    if int(months) < 1:
        raise ParameterError(f"months must be at least 1, got {months}")
    d = engine.as_of_date(as_of)
    first = dt.date(d.year, d.month, 1)
    starts = [periods.shift_months(first, -k) for k in range(int(months) - 1, -1, -1)]
    ends = [min(periods.shift_months(s, 1) - dt.timedelta(days=1), d) for s in starts]
    out = pd.DataFrame({"month": pd.to_datetime(starts), "month_end": pd.to_datetime(ends)})
    t = engine.orders_table(orders)
    lo = periods.shift_months(ends[0], -12) + dt.timedelta(days=1)
    windows, cover = _window_buckets(ends)
    o = engine.order_totals(t, as_of=d)
    o = o.filter(o.order_date >= ibis.literal(lo, type="date"))
    # customers with a purchase in each window: (customer, bucket) pairs, each read
    # by the ≤ 13 windows that cover its bucket (an equality join on a small table)
    buy = o.filter(o.is_purchase)
    buy = buy.group_by(["customer_id", _bucket(buy.order_date, windows)]).agg()
    win = buy.inner_join(cover, "bucket")
    buyers = win.select("month_end", "customer_id").distinct()
    counts = buyers.group_by("month_end").agg(customers=buyers.count())
    if "category" not in t.columns:
        df = engine.to_pandas(counts)
        rate_reason = "the orders have no category column"
        cross = None
    else:
        lines = engine.upto(t, d)
        lines = lines.filter(lines.customer_id.notnull() & lines.category.notnull())
        lines = lines.mutate(order_date=lines.ordered_at.date())
        lines = lines.filter(lines.order_date >= ibis.literal(lo, type="date"))
        cm = lines.group_by(["customer_id", "category", _bucket(lines.order_date, windows)]).agg(
            net=lines.amount.sum()
        )
        j = cm.inner_join(cover, "bucket")
        per = j.group_by(["month_end", "customer_id", "category"]).agg(net=j.net.sum())
        per = per.filter(per.net > 0)
        ncat = per.group_by(["month_end", "customer_id"]).agg(n=per.count())
        ncat = ncat.filter(ncat.n >= 2).select("month_end", "customer_id")
        ncat = ncat.inner_join(buyers, ["month_end", "customer_id"])
        cross = ncat.group_by("month_end").agg(cross_buyers=ncat.count())
        df = engine.to_pandas(counts.left_join(cross, "month_end").drop("month_end_right"))
        rate_reason = ""
    df["month_end"] = pd.to_datetime(df["month_end"])
    out = out.merge(df, on="month_end", how="left")
    out["customers"] = out["customers"].fillna(0).astype("int64")
    if cross is None:
        out["cross_buyers"] = pd.array([pd.NA] * len(out), dtype="Int64")
        out["cross_sell_rate"] = float("nan")
    else:
        out["cross_buyers"] = out["cross_buyers"].fillna(0).astype("int64")
        out["cross_sell_rate"] = out["cross_buyers"] / out["customers"].where(out["customers"] > 0)
    out.attrs["reason"] = rate_reason
    return out


def _window_buckets(ends: list[dt.date]) -> tuple[pd.DataFrame, ibis.Table]:
    """The windows' day ranges cut into buckets, and which buckets each window covers.

    Each window is the days after ``e − 12 months`` up to ``e``. Every window
    start and every day after a window end is a bucket boundary, so a bucket
    (a calendar month, or a part of one where a window begins mid-month) lies
    wholly inside or outside each window. Returns the bucket starts (sorted,
    with their integer ``bucket`` code) and the (bucket, month_end) pairs.
    """
    starts = [periods.shift_months(e, -12) + dt.timedelta(days=1) for e in ends]
    bounds = sorted({*starts, *(e + dt.timedelta(days=1) for e in ends)})
    buckets = pd.DataFrame({"start": bounds[:-1], "bucket": range(len(bounds) - 1)})
    pairs = [
        (int(b), e)
        for s, e in zip(starts, ends, strict=True)
        for b, bs in zip(buckets["bucket"], buckets["start"], strict=True)
        if s <= bs <= e
    ]
    cover = ibis.memtable(pd.DataFrame(pairs, columns=["bucket", "month_end"])).mutate(
        bucket=ibis._.bucket.cast("int32"), month_end=ibis._.month_end.cast("date")
    )
    return buckets, cover


def _bucket(day: ibis.Value, buckets: pd.DataFrame) -> ibis.Value:
    """The bucket code of a date (a CASE over the ≤ 50 bucket starts), named ``bucket``."""
    case = ibis.cases(
        *(
            (day >= ibis.literal(s, type="date"), int(b))
            for s, b in zip(buckets["start"][::-1], buckets["bucket"][::-1], strict=True)
        ),
        else_=-1,
    )
    return case.cast("int32").name("bucket")


def product_names(orders: engine.OrdersLike, *, as_of: Any) -> pd.Series:
    """product_id → product_name: :func:`ecrm.analysis.products.product_names`.

    Kept here beside :func:`name_products`, which the D2C page uses with it.
    """
    return products.product_names(orders, as_of=as_of)


def name_products(table: pd.DataFrame, names: pd.Series, columns: tuple[str, ...]) -> pd.DataFrame:
    """A copy of ``table`` with ``<column>_name`` after each product-id column.

    A product without a name keeps its id as its name, so the page never shows
    an empty cell.
    """
    out = table.copy()
    for c in columns:
        if c in out.columns:
            named = out[c].map(names) if len(names) else pd.Series(pd.NA, index=out.index)
            out.insert(out.columns.get_loc(c) + 1, f"{c}_name", named.fillna(out[c]).astype(str))
    return out
