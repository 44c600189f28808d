"""Cross-sell rate (クロスセル率), month by month (SPEC §3, KPIs).

For each month end e: among the customers with a purchase in the 12 months to
e (the days after e − 12 months up to e), the share who bought two or more
distinct categories in those 12 months. A customer "bought" a category when
their net amount in it over the window is > 0 (a returned item does not
count). Lines without a category are ignored; without a category column the
rate is empty (NaN) and ``attrs["reason"]`` says why.

The work is set-based: the lines are summed once per (customer, category,
bucket of days), and the months' counts come from running sums over the points
where a bucket enters or leaves a window (:func:`cross_sell_monthly`, Notes).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from ecrm import engine
from ecrm.analysis import periods
from ecrm.errors import ParameterError

__all__ = ["cross_sell_monthly"]


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

    Notes
    -----
    Set-based, without copying each purchase into the ≤ 12 windows holding
    it: the days are cut into buckets that lie wholly inside or outside each
    window (months, and the part of a month where a mid-month window
    begins); a bucket's net per (customer, category) *enters* the running sum
    at its first window and *leaves* after its last, so a running sum over
    those change points (exact decimals) says in which windows each
    category's net is positive, and a second running count per customer in
    which windows it has ≥ 2 such categories and a purchase. The changes of
    those flags, summed per window, accumulate to the monthly counts.

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
    windows, span = _window_buckets(ends)
    o = engine.order_totals(t, as_of=d)
    o = o.filter(o.order_date >= ibis.literal(lo, type="date"))
    # purchase buckets per customer: +1 when a bucket enters the window, -1 after it leaves
    buy = o.filter(o.is_purchase)
    buy = buy.group_by(["customer_id", _bucket(buy.order_date, windows)]).agg()
    b_events = _events(
        buy.inner_join(span, "bucket"), ["customer_id"], ibis.literal(1, "int64"), "db"
    )
    has_category = "category" in t.columns
    if not has_category:
        events = b_events.select("customer_id", "w", dn=ibis.literal(0, "int64"), db=b_events.db)
    else:
        lines = engine.upto(t, d)
        lines = lines.filter(lines.customer_id.notnull() & lines.category.notnull())
        lines = lines.mutate(order_date=lines.ordered_at.date())
        lines = lines.filter(lines.order_date >= ibis.literal(lo, type="date"))
        cm = lines.group_by(["customer_id", "category", _bucket(lines.order_date, windows)]).agg(
            net=lines.amount.sum()
        )
        # each category's net in the window (exact decimals) changes only where a bucket
        # enters or leaves: a running sum over those points says where it is positive
        c_events = _events(
            cm.inner_join(span, "bucket"), ["customer_id", "category"], "net", "dnet"
        )
        wc = ibis.window(group_by=["customer_id", "category"], order_by="w")
        run_c = ibis.cumulative_window(group_by=["customer_id", "category"], order_by="w")
        pos = c_events.mutate(_pos=(c_events.dnet.sum().over(run_c) > 0).cast("int32"))
        pos = pos.mutate(dn=pos._pos - pos._pos.lag().over(wc).fill_null(0))
        pos = pos.filter(pos.dn != 0)
        pos = pos.select("customer_id", "w", dn=pos.dn.cast("int64"), db=ibis.literal(0, "int64"))
        buys = b_events.select("customer_id", "w", dn=ibis.literal(0, "int64"), db=b_events.db)
        events = pos.union(buys)
    events = events.group_by(["customer_id", "w"]).agg(dn=events.dn.sum(), db=events.db.sum())
    wu = ibis.window(group_by="customer_id", order_by="w")
    run_u = ibis.cumulative_window(group_by="customer_id", order_by="w")
    state = events.mutate(_n=events.dn.sum().over(run_u), _b=events.db.sum().over(run_u))
    state = state.mutate(
        buyer=(state._b > 0).cast("int32"), cross=((state._b > 0) & (state._n >= 2)).cast("int32")
    )
    state = state.mutate(
        d_buyer=state.buyer - state.buyer.lag().over(wu).fill_null(0),
        d_cross=state.cross - state.cross.lag().over(wu).fill_null(0),
    )
    steps = state.group_by("w").agg(d_buyer=state.d_buyer.sum(), d_cross=state.d_cross.sum())
    steps = engine.to_pandas(steps).set_index("w").reindex(range(len(ends)), fill_value=0)
    # the windows' counts: the flags' changes accumulated from the first window
    out["customers"] = steps["d_buyer"].cumsum().to_numpy().astype("int64")
    if has_category:
        out["cross_buyers"] = steps["d_cross"].cumsum().to_numpy().astype("int64")
        out["cross_sell_rate"] = out["cross_buyers"] / out["customers"].where(out["customers"] > 0)
    else:
        out["cross_buyers"] = pd.array([pd.NA] * len(out), dtype="Int64")
        out["cross_sell_rate"] = float("nan")
    rate_reason = "" if has_category else "the orders have no category column"
    out.attrs["reason"] = rate_reason
    return out


def _window_buckets(ends: list[dt.date]) -> tuple[pd.DataFrame, ibis.Table]:
    """The windows' day ranges cut into buckets, and the windows each bucket lies in.

    Window ``w`` is the days after ``ends[w] − 12 months`` up to ``ends[w]``.
    Every window start and every day after a window end is a bucket boundary,
    so a bucket (a calendar month, or the part of one where a window begins
    mid-month) lies wholly inside or outside each window; as the windows slide
    forward, the windows holding a bucket are a contiguous range ``lo … hi``.
    Returns the bucket starts (sorted, with their integer ``bucket`` code) and
    the (bucket, lo, hi) table of the buckets some window holds.
    """
    starts = [periods.shift_months(e, -12) + dt.timedelta(days=1) for e in ends]
    bounds = sorted({*starts, *(e + dt.timedelta(days=1) for e in ends)})
    buckets = pd.DataFrame({"start": bounds[:-1], "bucket": range(len(bounds) - 1)})
    rows = []
    for b, bs in zip(buckets["bucket"], buckets["start"], strict=True):
        inside = [w for w, (s, e) in enumerate(zip(starts, ends, strict=True)) if s <= bs <= e]
        if inside:
            rows.append((int(b), inside[0], inside[-1]))
    span = ibis.memtable(pd.DataFrame(rows, columns=["bucket", "lo", "hi"])).mutate(
        bucket=ibis._.bucket.cast("int32"), lo=ibis._.lo.cast("int32"), hi=ibis._.hi.cast("int32")
    )
    return buckets, span


def _events(t: ir.Table, keys: list[str], value: Any, name: str) -> ir.Table:
    """``value`` at window ``lo`` and ``-value`` after window ``hi``, summed per key and window.

    ``t`` has ``keys``, lo and hi (a bucket's windows, :func:`_window_buckets`).
    The event after the last window (hi + 1 past the table) is kept: no state is
    read there, and dropping it would not change the running sums before it.
    """
    v = t[value] if isinstance(value, str) else value
    enter = t.select(*keys, w=t.lo, **{name: v})
    leave = t.select(*keys, w=(t.hi + 1).cast("int32"), **{name: -v})
    ev = enter.union(leave)
    return ev.group_by([*keys, "w"]).agg(**{name: ev[name].sum()})


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
