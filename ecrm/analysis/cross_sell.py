"""Cross-sell rate (クロスセル率), month by month (SPEC §3, KPIs).

For each month end e: among the customers with a purchase in the 12 months to
e (the days after e − 12 months up to e), the share who bought two or more
distinct categories in those 12 months. A customer "bought" a category when
their net amount in it over the window is > 0 (a returned item does not
count). Lines without a category are ignored; without a category column the
rate is empty (NaN) and ``attrs["reason"]`` says why.

The work is set-based: every day carries the windows holding it as a bit
mask, a customer's purchases and categories become window masks in one
aggregate of the lines (the customers with a return line are recounted
exactly), and the months' counts are the bits of a small table
(:func:`cross_sell_monthly`, Notes).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ecrm import engine
from ecrm.analysis import periods
from ecrm.engine.run import WIDE_MAX_VALUES
from ecrm.errors import ParameterError

__all__ = ["MASK_WINDOWS", "cross_sell_monthly"]

#: Windows counted in one pass: a day's windows are the bits of a signed 64-bit mask.
MASK_WINDOWS = 62


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
    Set-based, without copying a purchase into the ≤ 12 windows holding it.
    Every day of the windows gets a bit mask of the windows that hold it
    (window w: bit w; at most :data:`MASK_WINDOWS` windows a pass). One
    aggregate of the lines gives each customer the windows of their lines
    with an amount > 0 (``b``) and, per category, the windows in which a line
    of it has an amount > 0; with few categories (at most
    ``WIDE_MAX_VALUES``) those are masks of one row per customer, otherwise
    rows per (customer, category). The windows in which two or more
    categories are bought are those in which a category is bought and so is
    one before it (``two``). For a customer without a return line that is
    exact: every line counts with amount ≥ 0, so an order is a purchase (net >
    0) exactly when one of its lines is > 0, and a category's net is > 0 in a
    window exactly when one of its lines there is; their counts need no join
    with the order totals. The customers with a return line (amount < 0) are
    counted exactly apart, from their lines as ingestion stored them beside a
    canonical file (:func:`ecrm.engine.stored_return_lines`: no second pass
    over all lines) or else picked out of the lines again: their purchases
    are their orders with a net > 0,
    and their category lines are summed per (category, mask); a category none
    of whose masks nets < 0 is bought in the windows of its masks netting > 0,
    and only the others are spread to their masks' windows, a window counting
    a category whose net there is > 0 (exact decimals). The lines of one order
    share its time (canonical files are written so; for DataFrames and Ibis
    tables each line takes its order's earliest time, as the order totals do).
    The months' counts are the bits of the (b, b & two) masks, summed over
    customers.

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
    has_category = "category" in t.columns
    names: list[str] = []
    returns = None
    if has_category:
        with engine.RunTables(orders, d) as run:
            names = run.names("category")
        returns = engine.stored_return_lines(orders)
    customers, cross = [], []
    for lo_w in range(0, len(ends), MASK_WINDOWS):
        window = ends[lo_w : lo_w + MASK_WINDOWS]
        c, x = _counts(t, d, window, names if has_category else None, returns)
        customers.extend(c)
        cross.extend(x)
    out["customers"] = np.asarray(customers, dtype="int64")
    if has_category:
        out["cross_buyers"] = np.asarray(cross, dtype="int64")
        out["cross_sell_rate"] = out["cross_buyers"] / out["customers"].where(out["customers"] > 0)
    else:
        out["cross_buyers"] = pd.array([pd.NA] * len(out), dtype="Int64")
        out["cross_sell_rate"] = float("nan")
    out.attrs["reason"] = "" if has_category else "the orders have no category column"
    return out


def _day_masks(ends: list[dt.date]) -> tuple[dt.date, pd.DataFrame, ibis.Table]:
    """Each day's windows as a bit mask, and each mask's windows.

    Window ``w`` holds the days after ``ends[w] − 12 months`` up to ``ends[w]``;
    bit ``w`` of a day's mask is set when the window holds the day. Returns the
    first day of the first window, the (start, m) rows of the days where the
    mask changes (each mask holds from its start to the next one's; the last
    row, mask 0, starts the day after ``ends[-1]``) and the (m, w) table of
    each mask's bits.
    """
    starts = [periods.shift_months(e, -12) + dt.timedelta(days=1) for e in ends]
    days = pd.date_range(starts[0], ends[-1], freq="D").date
    masks = pd.Series(
        [
            sum(1 << w for w, (s, e) in enumerate(zip(starts, ends, strict=True)) if s <= x <= e)
            for x in days
        ],
        dtype="int64",
    )
    changes = masks.ne(masks.shift())
    steps = pd.DataFrame(
        {  # the day after the last window: no window, mask 0
            "start": [*days[changes.to_numpy()], ends[-1] + dt.timedelta(days=1)],
            "m": [*masks[changes].to_numpy(), 0],
        }
    )
    bits = sorted({(m, w) for m in set(masks) for w in range(len(ends)) if m >> w & 1})
    mask_bits = ibis.memtable(pd.DataFrame(bits, columns=["m", "w"]).astype("int64"))
    return starts[0], steps, mask_bits


def _mask(when: ibis.Value, steps: pd.DataFrame) -> ir.IntegerValue:
    """The window mask of a day or time ``when`` (0 before the first window's start).

    A binary search written as nested CASEs over the ≤ 50 days where the mask
    changes: each value meets about log2 of them, not one after another. A
    timestamp is compared with the days' midnights (its shop-local day, without
    casting every value to a date).
    """
    typ = "timestamp" if when.type().is_timestamp() else "date"
    cuts = [
        ibis.literal(dt.datetime.combine(s, dt.time()) if typ == "timestamp" else s, type=typ)
        for s in steps["start"]
    ]
    masks = [int(m) for m in steps["m"]]

    def within(lo: int, hi: int) -> ir.IntegerValue:
        """The mask of a value from cuts[lo] (inclusive) to cuts[hi] (exclusive)."""
        if hi - lo == 1:
            return ibis.literal(masks[lo], "int64")
        mid = (lo + hi) // 2
        return ibis.ifelse(when >= cuts[mid], within(mid, hi), within(lo, mid))

    # the last step (mask 0) starts the day after the last window: from it on, mask 0
    inside = ibis.ifelse(when >= cuts[-1], ibis.literal(0, "int64"), within(0, len(cuts) - 1))
    return ibis.ifelse(when < cuts[0], ibis.literal(0, "int64"), inside).cast("int64")


def _counts(
    t: ir.Table,
    d: dt.date,
    ends: list[dt.date],
    names: list[str] | None,
    returns: ir.Table | None = None,
) -> tuple[list[int], list[int]]:
    """Customers and cross-buyers of the windows ending on ``ends`` (at most 62).

    ``returns``: the stored lines of the customers with a return line
    (:func:`ecrm.engine.stored_return_lines`), read for their recount instead
    of the orders' lines.
    """
    lo, steps, mask_bits = _day_masks(ends)
    lo_day = ibis.literal(lo, type="date")
    o = engine.order_totals(t, as_of=d)
    o = o.filter(o.is_purchase & (o.order_date >= lo_day))
    if names is None:
        buyers = o.group_by("customer_id").agg(b=_mask(o.order_date, steps).bit_or())
        counts = engine.to_pandas(buyers.group_by("b").agg(n=buyers.count()).mutate(x=0))
        return _bit_sums(counts, len(ends))
    lines = engine.upto(t, d)
    lines = lines.filter(lines.customer_id.notnull())
    if lines.category.type().is_null():  # a DataFrame whose categories are all missing
        lines = lines.mutate(category=lines.category.cast("string"))
    if not engine.is_canonical(t):
        # lines of one order may be stamped apart: each takes its order's time, as its total does
        lines = lines.mutate(ordered_at=lines.ordered_at.min().over(group_by="order_id"))
    lo_time = ibis.literal(dt.datetime.combine(lo, dt.time()))
    base = lines.filter(lines.ordered_at >= lo_time)
    # each line's windows, and the windows of a line with an amount > 0 (0 for the others)
    lines = base.mutate(m=_mask(base.ordered_at, steps))
    lines = lines.mutate(_mp=ibis.cases((lines.amount > 0, lines.m), else_=0))
    if len(names) <= WIDE_MAX_VALUES:
        # few categories: one row per customer, a mask per category
        per = lines.group_by("customer_id").agg(
            _neg=(lines.amount < 0).any(),
            b=lines._mp.bit_or(),
            **{
                f"_m{i}": ibis.cases((lines.category == v, lines._mp), else_=0).bit_or()
                for i, v in enumerate(names)
            },
        )
        two = _fold([per[f"_m{i}"] for i in range(len(names))])
        per = per.select("customer_id", "_neg", "b", two=two)
    else:
        cat = lines.filter(lines.category.notnull())
        pc = cat.group_by(["customer_id", "category"]).agg(m=cat._mp.bit_or())
        per = lines.group_by("customer_id").agg(_neg=(lines.amount < 0).any(), b=lines._mp.bit_or())
        per = per.left_join(_two(pc), "customer_id")
        per = per.select("customer_id", "_neg", "b", two=per.two.fill_null(0))
    # materialised: the customers without a return line are counted from it, and the
    # others are listed from it for their exact recount (no second pass for them)
    per = per.cache()
    try:
        # a customer without a return line: an order with a line > 0 is a purchase (its net
        # is > 0) and a category with a line > 0 in a window is bought there (its net is > 0)
        plain = per.filter(~per._neg)
        x = (plain.b & plain.two).name("x")
        counts = engine.to_pandas(plain.group_by([plain.b, x]).agg(n=plain.count()))
        neg = per.filter(per._neg).select("customer_id")
        if neg.count().to_pyarrow().as_py():
            if returns is not None:  # the same lines, stored apart: no second pass over all
                upto_d = ibis.literal(engine.next_day(d))
                base = returns.filter(
                    (returns.ordered_at >= lo_time) & (returns.ordered_at < upto_d)
                )
            counts = pd.concat([counts, _returned(base, o, neg, steps, mask_bits, names)])
    finally:
        per.release()
    return _bit_sums(counts, len(ends))


def _returned(
    lines: ir.Table,
    o: ir.Table,
    neg: ir.Table,
    steps: pd.DataFrame,
    mask_bits: ir.Table,
    names: list[str],
) -> pd.DataFrame:
    """The (b, x, n) counts of the customers with a return line, summed exactly.

    Their purchases are their orders with a net > 0 (``o``). Each category's
    lines are summed per (category, mask): a category none of whose masks nets
    < 0 is bought in the windows of its masks netting > 0, and only the others
    are spread to their masks' windows, a window counting a category whose net
    there is > 0 (exact decimals).
    """
    buyers = o.semi_join(neg, "customer_id")
    buyers = buyers.group_by("customer_id").agg(b=_mask(buyers.order_date, steps).bit_or())
    nl = lines.filter(lines.category.notnull()).semi_join(neg, "customer_id")
    nl = nl.mutate(m=_mask(nl.ordered_at, steps))
    net = nl.group_by(["customer_id", "category", "m"]).agg(net=nl.amount.sum()).cache()
    try:
        return engine.to_pandas(_exact_counts(buyers, net, mask_bits, names))
    finally:
        net.release()


def _exact_counts(
    buyers: ir.Table, net: ir.Table, mask_bits: ir.Table, names: list[str]
) -> ir.Table:
    """(b, x, n) of the buyers ``b`` with their exact ``net`` per (customer, category, mask)."""
    keys = ["customer_id", "category"]
    shorts = net.filter(net.net < 0).select(*keys).distinct()
    plain = net.anti_join(shorts, keys)
    plain = plain.group_by(keys).agg(m=plain.m.bit_or(where=plain.net > 0).fill_null(0))
    short = net.semi_join(shorts, keys).inner_join(mask_bits, "m")
    short = short.group_by(["customer_id", "category", "w"]).agg(net=short.net.sum())
    short = short.filter(short.net > 0)
    short = short.group_by(keys).agg(m=(ibis.literal(1, "int64") << short.w).bit_or())
    exact = _two(plain.union(short), names)
    j = buyers.left_join(exact, "customer_id")
    x = (j.b & j.two.fill_null(0)).name("x")
    return j.group_by([j.b, x]).agg(n=j.count())


def _fold(masks: list[ir.IntegerValue]) -> ir.IntegerValue:
    """The windows held by two or more of ``masks``: one mask holds it and so does one before."""
    two, seen = ibis.literal(0, "int64"), ibis.literal(0, "int64")
    for m in masks:
        two, seen = two | (m & seen), seen | m
    return two


def _two(pc: ir.Table, names: list[str] | None = None) -> ir.Table:
    """customer_id, two: the windows in which two or more of a customer's categories are bought.

    ``pc`` has a row per (customer_id, category) with its window mask ``m``: a
    window holds two categories when a category has it and so does one before it.
    With the category ``names`` (at most ``WIDE_MAX_VALUES``), a customer's
    masks are pivoted into one row and folded; otherwise a window over each
    customer's categories in order gives the masks before each.
    """
    if names is not None and len(names) <= WIDE_MAX_VALUES:
        wide = pc.group_by("customer_id").agg(
            **{f"_m{i}": pc.m.bit_or(where=pc.category == v) for i, v in enumerate(names)}
        )
        two = _fold([wide[f"_m{i}"].fill_null(0) for i in range(len(names))])
        return wide.select("customer_id", two=two)
    w = ibis.window(group_by="customer_id", order_by="category", rows=(None, -1))
    before = pc.m.bit_or().over(w).fill_null(0)
    pc = pc.mutate(_both=pc.m & before)
    return pc.group_by("customer_id").agg(two=pc._both.bit_or())


def _bit_sums(counts: pd.DataFrame, n: int) -> tuple[list[int], list[int]]:
    """The customers (bit w of b) and cross-buyers (bit w of x) of each window w < n."""
    b = counts["b"].to_numpy(dtype="int64")
    x = counts["x"].to_numpy(dtype="int64")
    k = counts["n"].to_numpy(dtype="int64")
    cust = [int(k[(b >> w) & 1 == 1].sum()) for w in range(n)]
    cross = [int(k[(x >> w) & 1 == 1].sum()) for w in range(n)]
    return cust, cross
