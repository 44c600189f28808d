"""Month-end segment tracking shared by CPM and lifecycle segments.

A segment rule is a function from a table of customer measures (frequency,
monetary, recency_days, tenure_days) to a segment code. :func:`monthly` applies
it to every month end at once (through :func:`ecrm.analysis.customers.snapshots_table`)
and :func:`transitions` compares consecutive (or any two) snapshots.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import ibis
import ibis.expr.types as ir
import pandas as pd

from ecrm import engine
from ecrm.analysis import customers, periods
from ecrm.errors import ColumnsError
from ecrm.settings import CURRENCIES, ShopSettings, section

__all__ = [
    "Window",
    "classify",
    "data_window",
    "monetary_quantiles",
    "money_auto",
    "monthly",
    "snapshot_segments",
    "summary",
    "transitions",
]

Rule = Callable[[ir.Table], ir.StringValue]


def classify(
    orders: engine.OrdersLike, *, as_of: Any, rule: Rule, attributes: bool = False
) -> pd.DataFrame:
    """Customer measures at ``as_of`` plus ``segment`` from ``rule``, sorted by customer_id."""
    m = customers.measures_table(orders, as_of=as_of, attributes=attributes)
    df = engine.to_pandas(m.mutate(segment=rule(m)).order_by("customer_id"))
    for c in ("first_purchase", "last_purchase"):
        df[c] = pd.to_datetime(df[c]).dt.date
    return df.reset_index(drop=True)


def snapshot_segments(
    orders: engine.OrdersLike,
    *,
    dates: Sequence[Any],
    rule: Rule,
    by: str | None = None,
) -> ir.Table:
    """Segment of every customer at every date, as an Ibis expression.

    Returns
    -------
    ibis.Table
        snapshot, customer_id, segment, monetary, period_revenue [, by].
    """
    snap = customers.snapshots_table(orders, dates=list(dates))
    snap = snap.mutate(segment=rule(snap))
    cols = ["snapshot", "customer_id", "segment", "monetary", "period_revenue"]
    if by:
        attrs = customers.measures_table(orders, as_of=max(dates)).select("customer_id", by)
        snap = snap.left_join(attrs, "customer_id").drop("customer_id_right")
        snap = snap.mutate(**{by: snap[by].fill_null("(unknown)")})
        cols.append(by)
    return snap.select(*cols)


def monthly(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    months: int,
    rule: Rule,
    codes: Sequence[str],
    by: str | None = None,
) -> pd.DataFrame:
    """Customers and revenue per segment at each of the last ``months`` month ends.

    Returns
    -------
    DataFrame
        month_end, [by,] segment, customers, share (of the month end's customers),
        monetary (sum of the segment's cumulative net spend), revenue (net revenue
        of the segment's customers in that month). Every segment appears at every
        month end (0 when empty), in ``codes`` order.
    """
    # the snapshots of months + 1 month ends (the first left out below) are those
    # the month-to-month transitions read: computed once for both
    dates = periods.month_ends(as_of, months)
    s = snapshot_segments(orders, dates=periods.month_ends(as_of, months + 1), rule=rule, by=by)
    s = s.filter(s.snapshot >= dates[0])
    keys = ["snapshot", *([by] if by else []), "segment"]
    g = s.group_by(keys).agg(
        customers=s.count(), monetary=s.monetary.sum(), revenue=s.period_revenue.sum()
    )
    df = engine.to_pandas(g).rename(columns={"snapshot": "month_end"})
    df["month_end"] = pd.to_datetime(df["month_end"]).dt.date
    groups = sorted(df[by].unique()) if by else [None]
    full = pd.MultiIndex.from_tuples(
        [(d, *([b] if by else []), c) for d in dates for b in groups for c in codes],
        names=["month_end", *([by] if by else []), "segment"],
    )
    df = df.set_index(full.names).reindex(full).reset_index()
    df = df.fillna({"customers": 0, "monetary": 0.0, "revenue": 0.0})
    df["customers"] = df["customers"].astype("int64")
    tot = df.groupby(["month_end", *([by] if by else [])])["customers"].transform("sum")
    df["share"] = df["customers"] / tot.where(tot > 0)
    return df[
        ["month_end", *([by] if by else []), "segment", "customers", "share", "monetary", "revenue"]
    ]


def transitions(
    orders: engine.OrdersLike,
    *,
    pairs: Sequence[tuple[Any, Any]],
    rule: Rule,
    codes: Sequence[str],
) -> pd.DataFrame:
    """Movement of customers between the segments of two dates, for several pairs.

    Parameters
    ----------
    pairs : sequence of (from_date, to_date)
        Each pair gives one transition matrix.

    Returns
    -------
    DataFrame
        from_date, to_date, from_segment, to_segment, customers — the full
        grid for each pair (0 where nobody moved that way). Customers without a
        purchase by from_date come from ``"none"``.
    """
    pairs_d = [(engine.as_of_date(a), engine.as_of_date(b)) for a, b in pairs]
    dates = sorted({d for p in pairs_d for d in p})
    before = {b: a for a, b in itertools.pairwise(dates)}
    if all(before.get(b) == a for a, b in pairs_d):
        # every pair compares neighbouring dates: each customer's state at a date
        # and at the previous one side by side, from the compact snapshot states
        p = customers.snapshots_table(orders, dates=dates, pairs=True)
        p = p.mutate(to_segment=rule(p))
        prev = p.mutate(
            frequency=p.prev_frequency,
            monetary=p.prev_monetary,
            recency_days=p.prev_recency_days,
            tenure_days=p.prev_tenure_days,
        )
        j = prev.mutate(
            from_segment=ibis.ifelse(prev.frequency.isnull(), "none", rule(prev)),
            from_date=prev.prev_snapshot,
            to_date=prev.snapshot,
        )
        j = j.filter(j.to_date.isin([b for _, b in pairs_d]))
    else:
        # any pairs: each customer's segment at a pair's to_date matched with its
        # segment at the pair's from_date ("none" without a purchase by then)
        pt = ibis.memtable(
            {"from_date": [a for a, _ in pairs_d], "to_date": [b for _, b in pairs_d]},
            schema={"from_date": "date", "to_date": "date"},
        )
        s = snapshot_segments(orders, dates=dates, rule=rule)
        tb = s.select("snapshot", "customer_id", to_segment="segment")
        tb = tb.join(pt, tb.snapshot == pt.to_date).drop("snapshot")
        fa = s.select(_from="snapshot", _cid="customer_id", from_segment="segment")
        j = tb.left_join(fa, [tb.customer_id == fa._cid, tb.from_date == fa._from])
        j = j.mutate(from_segment=j.from_segment.fill_null("none"))
    g = j.group_by(["from_date", "to_date", "from_segment", "to_segment"]).agg(customers=j.count())
    df = g.to_pandas()
    for c in ("from_date", "to_date"):
        df[c] = pd.to_datetime(df[c]).dt.date
    full = pd.MultiIndex.from_tuples(
        [
            (engine.as_of_date(a), engine.as_of_date(b), f, t)
            for a, b in pairs
            for f in ["none", *codes]
            for t in codes
        ],
        names=["from_date", "to_date", "from_segment", "to_segment"],
    )
    df = df.set_index(full.names).reindex(full, fill_value=0).reset_index()
    df["customers"] = df["customers"].astype("int64")
    return df


def summary(
    per_customer: pd.DataFrame, *, codes: Sequence[str], by: str | None = None
) -> pd.DataFrame:
    """Customers, revenue and shares per segment of a per-customer table.

    Parameters
    ----------
    per_customer : DataFrame
        customer_id, segment, monetary [, by].
    codes : sequence of str
        Every segment code, in display order (all appear, 0 when empty).
    by : str, optional
        Split by this column; shares are within each group.

    Returns
    -------
    DataFrame
        [by,] segment, customers, share, revenue (sum of cumulative net spend),
        revenue_share, avg_monetary.
    """
    keys = [by] if by else []
    if by and by not in per_customer.columns:
        raise ColumnsError(
            f"the table has no {by!r} column: compute it with attributes=True "
            "(e.g. cpm.cpm(orders, as_of=..., attributes=True))"
        )
    g = per_customer.groupby([*keys, "segment"]).agg(
        customers=("customer_id", "size"), revenue=("monetary", "sum")
    )
    if by:
        groups = sorted(per_customer[by].dropna().unique())
        full = pd.MultiIndex.from_product([groups, list(codes)], names=[by, "segment"])
    else:
        full = pd.Index(list(codes), name="segment")
    g = g.reindex(full).fillna(0).reset_index()
    g["customers"] = g["customers"].astype("int64")
    if by:
        tot = g.groupby(by)[["customers", "revenue"]].transform("sum")
        tot_c, tot_r = tot["customers"], tot["revenue"]
    else:
        tot_c, tot_r = g["customers"].sum(), g["revenue"].sum()
    g["share"] = g["customers"] / tot_c
    g["revenue_share"] = g["revenue"] / tot_r
    g["avg_monetary"] = g["revenue"] / g["customers"].where(g["customers"] > 0)
    return g[[*keys, "segment", "customers", "share", "revenue", "revenue_share", "avg_monetary"]]


def money_auto(settings: Any, kind: type, field: str) -> tuple[Any, str, bool]:
    """Whether a section's money threshold ``field`` is derived from the data (SPEC §3).

    Parameters
    ----------
    settings : ShopSettings, section or None
        As every analysis takes it.
    kind : type
        The section class (``RfmSettings`` or ``CpmSettings``).
    field : str
        The money threshold field (``monetary``, ``spend_cutoff``).

    Returns
    -------
    tuple
        (section, currency, auto). ``auto`` is True when the section says
        ``money_thresholds: auto``, or says nothing and the shop's currency is
        not JPY and ``field`` is not set (its default is in yen). A section or
        None given alone stands for a JPY shop.
    """
    s = section(settings, kind)
    currency = settings.currency if isinstance(settings, ShopSettings) else "JPY"
    mode = s.money_thresholds
    if mode is None:
        mode = "auto" if currency != "JPY" and field not in s.model_fields_set else "fixed"
    return s, currency, mode == "auto"


def monetary_quantiles(
    m: ir.Table, qs: Sequence[float], currency: str, *, where: Any = None
) -> tuple[float, ...]:
    """Quantiles of ``m.monetary`` (linear interpolation), rounded to the minor unit.

    ``where`` filters the customers; NaN when no customer is left. Rounding to
    the currency's ISO 4217 minor unit lets a page print the exact thresholds.
    """
    x = m.monetary.cast("float64")
    agg = m.aggregate(**{f"q{i}": x.quantile(q, where=where) for i, q in enumerate(qs)})
    row = engine.to_pandas(agg).iloc[0]
    digits = CURRENCIES.get(currency, 2)
    return tuple(float("nan") if pd.isna(v) else round(float(v), digits) for v in row)


class Window(NamedTuple):
    """A window an analysis asked for (``start`` … ``end``, inclusive) and the data's first day.

    SPEC's windows ("the 12 months to as_of", "a year ago") can reach before a
    shop's export begins; the sentences then state the part the data covers
    (:attr:`used_start` … ``end``) instead of the window's name.
    """

    start: dt.date
    end: dt.date
    first_order: dt.date | None

    @property
    def used_start(self) -> dt.date:
        """The window's first day that the data covers (``start`` when it covers it all)."""
        return max(self.start, self.first_order) if self.first_order else self.start

    @property
    def full(self) -> bool:
        """The data begin on or before ``start``: the whole window is covered."""
        return self.first_order is not None and self.first_order <= self.start

    @property
    def empty(self) -> bool:
        """The data begin after ``end`` (or there are none): nothing of the window is covered."""
        return self.first_order is None or self.first_order > self.end


def data_window(orders: engine.OrdersLike, *, start: Any, end: Any) -> Window:
    """The window ``start`` … ``end`` and the shop's first order day (shop-local).

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders (every line counts).
    start, end : date or str
        The window's first and last day, inclusive.

    Returns
    -------
    Window

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({"order_id": ["1"], "customer_id": ["a"],
    ...     "ordered_at": pd.to_datetime(["2026-03-15"]), "amount": [100]})
    >>> w = data_window(orders, start="2025-11-01", end="2026-10-31")
    >>> w.used_start, w.full, w.empty
    (datetime.date(2026, 3, 15), False, False)
    """
    t = engine.orders_table(orders)
    first = t.ordered_at.min().execute()
    day = None if first is None or first != first else pd.Timestamp(first).date()
    return Window(pd.Timestamp(start).date(), pd.Timestamp(end).date(), day)
