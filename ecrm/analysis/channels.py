"""Channels and acquisition cost (広告LTV): what a customer from each channel is worth.

SPEC §3. New customers are grouped by acquisition month (the month of their
first purchase) and **first channel** (the channel of the first purchase's
largest line, SPEC §2; ``(unknown)`` where it has none). For each group and
each d = step_days, 2·step_days … horizon_days (30 … 360):

* ``revenue``: the group's net revenue within d days of each customer's first
  purchase (the LTV transition's rule: the first purchase included, returns
  lower it, an order dated before the first purchase does not count);
* ``ltv`` = revenue / new customers; ``f2_rate``: the share with a second
  purchase within d days;
* filled only when every customer of the month was observable for d days
  (the month's last day + d ≤ as_of), NaN otherwise — as in the LTV table.

With a **costs** table (month, channel, cost — SPEC §1): ``cac`` = cost / new
customers, ``ltv_cac`` = ltv / cac, ``roas`` = revenue / cost, and, per group,
the **payback day**: the first d at which ltv ≥ cac, empty when not reached by
as_of. With ``gross_margin`` every money figure is margin (revenue ×
gross_margin) and ``basis`` says so; the page says which basis it shows.

A cost row of a month and channel that brought no new customer still shows
(new_customers 0, CAC infinite, ROAS 0 where observable): money spent with
nobody acquired; a channel with customers and no cost row has no CAC.

The **left-censored** acquisition month (SPEC §3 Cohort: the export's first
month, holding everyone who bought before the export began;
:func:`ecrm.analysis.censoring.censored_month`) is flagged ``left_censored``
in :func:`acquisition`; :func:`acquisition_summary` leaves it out (its "new"
customers are not new), and :func:`censored_customers` counts them for the
page. Without a costs table the cost columns (cost, CAC, LTV/CAC, ROAS,
payback day) are left out of both tables: empty columns say nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ecrm import engine
from ecrm.analysis import customers, ltv, periods
from ecrm.errors import ColumnsError, ParameterError

__all__ = [
    "CHANNEL_KPIS",
    "COST_COLUMNS",
    "UNKNOWN_CHANNEL",
    "acquisition",
    "acquisition_summary",
    "censored_customers",
    "channel_kpis",
    "check_costs",
]

#: The columns that need a costs table (left out without one).
COST_COLUMNS = ("cost", "cac", "ltv_cac", "roas")

UNKNOWN_CHANNEL = "(unknown)"


def check_costs(costs: pd.DataFrame, *, channels: Sequence[str] | None = None) -> pd.DataFrame:
    """Validate a costs table; return it with month as ``YYYY-MM`` and cost as float.

    Parameters
    ----------
    costs : DataFrame
        Columns month (YYYY-MM or a date), channel, cost.
    channels : sequence of str, optional
        The channels the orders know; a cost row naming another is an error.

    Returns
    -------
    DataFrame
        month (str), channel (str), cost (float).

    Raises
    ------
    ParameterError
        Missing columns, a month that is not a month, a negative or missing
        cost, a duplicate (month, channel) row, or an unknown channel — each
        naming the rows (1-based, after the header) and values.
    """
    missing = [c for c in ("month", "channel", "cost") if c not in costs.columns]
    if missing:
        raise ParameterError(
            f"the costs table needs columns month, channel, cost; missing {missing}"
        )
    out = costs[["month", "channel", "cost"]].copy()
    rows = pd.Series(range(2, len(out) + 2), index=out.index)  # header is row 1
    month = pd.to_datetime(out["month"].astype(str).str.strip(), format="mixed", errors="coerce")
    bad = month.isna()
    if bad.any():
        raise ParameterError(
            f"costs: month is not a month in rows {rows[bad].tolist()[:5]}: "
            f"{out.loc[bad, 'month'].tolist()[:5]}"
        )
    out["month"] = month.dt.strftime("%Y-%m")
    out["channel"] = out["channel"].astype(str).str.strip()
    cost = pd.to_numeric(out["cost"], errors="coerce")
    bad = cost.isna() | (cost < 0)
    if bad.any():
        raise ParameterError(
            f"costs: cost must be a number >= 0; rows {rows[bad].tolist()[:5]} hold "
            f"{out.loc[bad, 'cost'].tolist()[:5]}"
        )
    out["cost"] = cost.astype(float)
    dup = out.duplicated(["month", "channel"], keep=False)
    if dup.any():
        pairs = out.loc[dup, ["month", "channel"]].drop_duplicates().values.tolist()[:5]
        raise ParameterError(
            f"costs: duplicate (month, channel) rows {rows[dup].tolist()[:6]}: {pairs}"
        )
    if channels is not None:
        unknown = sorted(set(out["channel"]) - set(channels))
        if unknown:
            raise ParameterError(
                f"costs name channels the orders do not have: {unknown}; "
                f"the orders' channels are {sorted(channels)}"
            )
    return out.reset_index(drop=True)


def acquisition(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    costs: pd.DataFrame | None = None,
    gross_margin: float | None = None,
    step_days: int = 30,
    horizon_days: int = 360,
    censored_month: dt.date | None = None,
) -> pd.DataFrame:
    """New customers by acquisition month × first channel, their value by day, and cost.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders (SPEC §1) with the ``channel`` column.
    as_of : date or str
        Last day of the analysis, inclusive; later orders are ignored.
    costs : DataFrame, optional
        Acquisition spend: month, channel, cost (checked by :func:`check_costs`).
    gross_margin : float, optional
        Share of revenue kept as margin (0 < m ≤ 1); money is then margin.
    step_days, horizon_days : int, default 30 and 360
        The days d of the table.
    censored_month : date, optional
        First day of the left-censored acquisition month
        (:func:`ecrm.analysis.censoring.censored_month`); None: none.

    Returns
    -------
    DataFrame
        One row per (month, channel, days), months oldest first: month
        (YYYY-MM), channel, days, new_customers, revenue, ltv, repeaters
        (Int64), f2_rate, cost, cac, ltv_cac, roas (these four only with a
        costs table; NaN for a month and channel without a cost row), basis
        ("revenue" or "margin"), left_censored (bool). Unfilled cells (not
        observable yet) are NaN / <NA>.

    Raises
    ------
    ColumnsError
        The orders have no channel column.
    ParameterError
        A bad costs table, gross_margin outside (0, 1], bad day steps.
    """
    t = engine.orders_table(orders)
    if "channel" not in t.columns:
        raise ColumnsError(
            "channel analyses need the orders column channel (SPEC §1); the orders table has "
            f"{sorted(t.columns)}. Map it in the shop settings and ingest again."
        )
    if gross_margin is not None and not 0 < gross_margin <= 1:
        raise ParameterError(f"gross_margin must be in (0, 1], got {gross_margin}")
    steps = ltv.day_steps(int(step_days), int(horizon_days))
    d = engine.as_of_date(as_of)
    with engine.RunTables(orders, d) as run:
        stored = engine.stored_first_purchases(orders, as_of=d, columns=["channel"])
        main = engine.stored_main_lines(orders, ["channel"]) if stored is None else None
        g = _acquired(t, d, run.purchases, steps, main, stored)
    g["month"] = pd.to_datetime(g["month"])
    long = []
    for s in steps:
        part = g[["month", "channel", "new_customers"]].copy()
        part["days"] = s
        part["revenue"] = g[f"r{s}"].astype(float).fillna(0.0)
        part["repeaters"] = g[f"f{s}"].astype("int64")
        long.append(part)
    out = pd.concat(long, ignore_index=True)
    month_end = out["month"] + pd.offsets.MonthEnd(0)
    filled = (month_end + pd.to_timedelta(out["days"], "D")).dt.date <= d
    basis = "margin" if gross_margin is not None else "revenue"
    if gross_margin is not None:
        out["revenue"] = out["revenue"] * gross_margin
    out["revenue"] = out["revenue"].where(filled)
    out["repeaters"] = out["repeaters"].astype("Int64").where(filled, pd.NA)
    out["ltv"] = out["revenue"] / out["new_customers"]
    out["f2_rate"] = out["repeaters"].astype("Float64").astype(float) / out["new_customers"]
    out["month"] = out["month"].dt.strftime("%Y-%m")
    if costs is not None:
        c = check_costs(costs)
        seen = out[["month", "channel"]].drop_duplicates()
        spent = c.merge(seen, on=["month", "channel"], how="left", indicator=True)
        spent = spent[(spent["_merge"] == "left_only") & (spent["month"] <= f"{d:%Y-%m}")]
        if len(spent):  # money spent, nobody acquired: the rows still belong on the page
            idle = spent[["month", "channel"]].merge(pd.DataFrame({"days": steps}), how="cross")
            idle["new_customers"] = 0
            ends = pd.to_datetime(idle["month"]) + pd.offsets.MonthEnd(0)
            seen_d = (ends + pd.to_timedelta(idle["days"], "D")).dt.date <= d
            idle["revenue"] = np.where(seen_d, 0.0, np.nan)
            idle["repeaters"] = pd.array([0 if x else pd.NA for x in seen_d], dtype="Int64")
            idle["ltv"] = np.nan
            idle["f2_rate"] = np.nan
            out = pd.concat([out, idle], ignore_index=True)
        out = out.merge(c, on=["month", "channel"], how="left")
    else:
        out["cost"] = np.nan
    out["cac"] = out["cost"] / out["new_customers"].where(out["new_customers"] > 0, 0).astype(float)
    out["ltv_cac"] = out["ltv"] / out["cac"].where(out["cac"] > 0)
    out["roas"] = out["revenue"] / out["cost"].where(out["cost"] > 0)
    out["basis"] = basis
    cm = f"{censored_month:%Y-%m}" if censored_month is not None else None
    out["left_censored"] = out["month"] == cm
    cols = [
        "month",
        "channel",
        "days",
        "new_customers",
        "revenue",
        "ltv",
        "repeaters",
        "f2_rate",
        "cost",
        "cac",
        "ltv_cac",
        "roas",
        "basis",
        "left_censored",
    ]
    if costs is None:
        cols = [c for c in cols if c not in COST_COLUMNS]
    return out[cols].sort_values(["month", "channel", "days"]).reset_index(drop=True)


def _acquired(
    t: ir.Table,
    d: dt.date,
    purchases: ir.Table,
    steps: Sequence[int],
    main: ir.Table | None,
    stored: ir.Table | None = None,
) -> pd.DataFrame:
    """month, channel, new_customers, r<s> (revenue by day s), f<s> (second purchase by day s).

    The first and second purchases come from the run's numbering (shared with
    the product analyses); the first channel is the first purchase's largest
    line's (SPEC §2, :func:`ecrm.analysis.customers.first_line`). Read, in
    order of preference, from ``stored`` (:func:`ecrm.engine.stored_first_purchases`:
    the first purchases with their largest line's channel in one scan, no
    join), from ``main`` (:func:`ecrm.engine.stored_main_lines`, the same pick
    stored by ingestion for every order, joined to the first purchases), else
    picked from the first orders' lines. Revenue is summed straight into the
    (month, channel) groups, not per customer first.
    """
    p = purchases
    if stored is not None:  # the first purchases and their channel, as ingestion stored them
        first = stored.select(
            "customer_id",
            first_purchase=stored.order_date,
            month=stored.order_date.truncate("M"),
            channel=ibis.coalesce(stored.channel.cast("string"), ibis.literal(UNKNOWN_CHANNEL)),
        )
    else:
        firsts = p.filter(p.seq == 1)
        first_orders = firsts.select("customer_id", "order_id", first_purchase=firsts.order_date)
        key = first_orders.select("customer_id", "order_id")
        if main is not None:  # each order's largest line as stored: no pass over the lines
            fl = key.inner_join(main, "order_id").select("customer_id", "channel")
        else:
            # probed by order alone (an order's lines share its customer): one key
            lines = engine.upto(t, d)
            lines = lines.filter(lines.customer_id.notnull()).drop("customer_id")
            fl = customers.first_line(lines.inner_join(key, "order_id"), ["channel"])
        first = first_orders.left_join(fl, "customer_id").select(
            "customer_id",
            "first_purchase",
            month=first_orders.first_purchase.truncate("M"),
            channel=ibis.coalesce(fl.channel.cast("string"), ibis.literal(UNKNOWN_CHANNEL)),
        )
    # materialised: both aggregates read it, and the lines are read once
    first = first.cache()
    try:
        return _sums(t, d, p, first, steps)
    finally:
        first.release()


def _sums(
    t: ir.Table, d: dt.date, p: ir.Table, first: ir.Table, steps: Sequence[int]
) -> pd.DataFrame:
    """:func:`_acquired`'s groups from the customers' first purchase, month and channel.

    Each order counts once, in the step of its day (the first step s with
    day ≤ s): the orders are summed into (month, channel, step) groups and the
    steps accumulated on that small table (exact decimals), rather than one
    filtered sum per step over every order.
    """
    o = engine.order_totals(t, as_of=d)
    o = o.inner_join(first, "customer_id")
    o = o.mutate(day=o.order_date.delta(o.first_purchase, unit="day").cast("int64"))
    o = o.filter((o.day >= 0) & (o.day <= int(steps[-1])))
    step = ibis.cases(*((o.day <= int(s), i) for i, s in enumerate(steps)))
    by_step = o.group_by(["month", "channel", step.name("_i")]).agg(_r=o.amount.sum())
    upto_step = ibis.memtable({"_j": list(range(len(steps)))})
    cum = by_step.cross_join(upto_step).filter(lambda x: x._i <= x._j)
    rev = cum.group_by(["month", "channel"]).agg(
        **{f"r{s}": cum._r.sum(where=cum._j == i) for i, s in enumerate(steps)}
    )
    second = p.filter(p.seq == 2).select("customer_id", _second=p.order_date)
    c = first.left_join(second, "customer_id")
    gap = c._second.delta(c.first_purchase, unit="day")
    aggs: dict[str, Any] = {"new_customers": c.count()}
    for s in steps:
        aggs[f"f{s}"] = (c._second.notnull() & (gap <= s)).cast("int64").sum()
    cust = c.group_by(["month", "channel"]).agg(**aggs)
    g = cust.left_join(rev, ["month", "channel"]).drop("month_right", "channel_right")
    return engine.to_pandas(g)


def acquisition_summary(
    table: pd.DataFrame, *, days: Sequence[int] = (90, 180, 360)
) -> pd.DataFrame:
    """One row per (month, channel): new customers, LTV and F2 at ``days``, CAC, payback day.

    Parameters
    ----------
    table : DataFrame
        :func:`acquisition`'s table.
    days : sequence of int, default (90, 180, 360)
        The days to show as columns (each must be one of the table's days).

    Returns
    -------
    DataFrame
        month, channel, new_customers, ``ltv_<d>``, ``f2_rate_<d>`` for each
        d and, with costs (the table has a ``cost`` column), ``ltv_cac_<d>``,
        ``roas_<d>``, cost, cac, payback_day (the first day d of the table
        with ltv ≥ cac; <NA> when not reached by as_of or without a cost).
        The left-censored month's rows are left out (see
        :func:`censored_customers`).
    """
    have = set(table["days"])
    wrong = [x for x in days if x not in have]
    if wrong:
        raise ParameterError(f"days {wrong} are not in the table (it has {sorted(have)})")
    if "left_censored" in table.columns:
        table = table[~table["left_censored"].astype(bool)]
    costed = "cost" in table.columns
    key = ["month", "channel"]
    firsts = ["new_customers", *(["cost", "cac"] if costed else [])]
    base = table.groupby(key, sort=True)[firsts].first()
    shown = ("ltv", "f2_rate", *(("ltv_cac", "roas") if costed else ()))
    for x in days:
        at = table[table["days"] == x].set_index(key)
        for col in shown:
            base[f"{col}_{x}"] = at[col]
    if costed:
        reached = table[(table["ltv"] >= table["cac"]) & table["cac"].notna()]
        payback = reached.groupby(key)["days"].min()
        base["payback_day"] = payback.reindex(base.index).astype("Int64")
    return base.reset_index()


def censored_customers(table: pd.DataFrame) -> tuple[str | None, int]:
    """The left-censored month of :func:`acquisition`'s table and its customers.

    Returns
    -------
    (str or None, int)
        The month (YYYY-MM; None when no row is flagged) and the customers
        :func:`acquisition_summary` leaves out for it.
    """
    if "left_censored" not in table.columns or not table["left_censored"].any():
        return None, 0
    rows = table[table["left_censored"].astype(bool)]
    per = rows.groupby("channel")["new_customers"].first()
    return str(rows["month"].iloc[0]), int(per.sum())


#: The measures of :func:`channel_kpis`, in order.
CHANNEL_KPIS = ("revenue", "orders", "customers", "new_customers")


def channel_kpis(orders: engine.OrdersLike, *, as_of: Any) -> pd.DataFrame:
    """The month's headline KPIs split by channel, with month-on-month and year-on-year change.

    For as_of's month, the month before and the same month a year earlier,
    per channel (``(unknown)`` for lines without one):

    * ``revenue``: net amount of the channel's lines in the month (guests
      included), so the channels add up to the shop's revenue KPI;
    * ``orders``: purchases (net > 0) whose **order channel** is the channel —
      the channel of the order's largest line (SPEC §2's rule), ties by the
      smaller channel name; so the channels add up to the orders KPI;
    * ``customers``: customers with a purchase of that order channel in the
      month (a customer buying on two channels counts in both);
    * ``new_customers``: customers whose first purchase is in the month, by
      their **first channel** (as :func:`acquisition`): the channels add up
      to the new-customers KPI.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders with the ``channel`` column.
    as_of : date or str
        Last day of the month shown, inclusive.

    Returns
    -------
    DataFrame
        One row per channel with anything in as_of's month or the month
        before (a channel that stopped shows its fall), by revenue descending:
        channel, then for each measure m of
        ``revenue, orders, customers, new_customers``: m, ``m_mom``, ``m_yoy``
        (relative change: value / earlier value − 1; NaN when the earlier
        value is 0), and ``revenue_share`` (of the month's revenue).
        ``attrs["month"]`` is the month (YYYY-MM).

    Raises
    ------
    ColumnsError
        The orders have no channel column.
    """
    t = engine.orders_table(orders)
    if "channel" not in t.columns:
        raise ColumnsError(
            "channel KPIs need the orders column channel (SPEC §1); the orders table has "
            f"{sorted(t.columns)}"
        )
    d = engine.as_of_date(as_of)
    month = dt.date(d.year, d.month, 1)
    prev, year = periods.shift_months(month, -1), periods.shift_months(month, -12)
    lo = ibis.literal(dt.datetime.combine(year, dt.time()))
    lines = engine.upto(t, d)
    lines = lines.filter(lines.ordered_at >= lo)
    lines = lines.mutate(
        channel=ibis.coalesce(lines.channel.cast("string"), ibis.literal(UNKNOWN_CHANNEL)),
        month=lines.ordered_at.truncate("M").date(),
    )
    keep = [ibis.literal(x) for x in (month, prev, year)]
    lines = lines.filter(lines.month.isin(keep))
    revenue = lines.group_by(["month", "channel"]).agg(revenue=lines.amount.sum())
    oc = lines.group_by(["order_id", "channel"]).agg(
        part=lines.amount.sum(), month=lines.month.min(), customer_id=lines.customer_id.min()
    )
    w = ibis.window(group_by=oc.order_id, order_by=[ibis.desc(oc.part), oc.channel])
    oc = oc.mutate(_k=ibis.row_number().over(w))
    main = oc.filter(oc._k == 0).select("order_id", "channel", "month", "customer_id")
    total = oc.group_by("order_id").agg(net=oc.part.sum())
    o = main.inner_join(total, "order_id")
    buys = o.filter(o.net > 0)
    counts = buys.group_by(["month", "channel"]).agg(
        orders=buys.count(), customers=buys.customer_id.nunique()
    )
    m = customers.measures_table(t, as_of=d, attributes=True)
    new = m.mutate(
        month=m.first_purchase.truncate("M"),
        channel=ibis.coalesce(m.first_channel.cast("string"), ibis.literal(UNKNOWN_CHANNEL)),
    )
    new = new.filter(new.month.isin(keep))
    new = new.group_by(["month", "channel"]).agg(new_customers=new.count())
    frames = [engine.to_pandas(x) for x in (revenue, counts, new)]
    for f in frames:
        f["month"] = pd.to_datetime(f["month"]).dt.strftime("%Y-%m")
    key = ["month", "channel"]
    allk = pd.concat([f[key] for f in frames]).drop_duplicates()
    g = allk
    for f in frames:
        g = g.merge(f, on=key, how="left")
    g[list(CHANNEL_KPIS)] = g[list(CHANNEL_KPIS)].astype(float).fillna(0.0)
    wide = g.pivot(index="channel", columns="month", values=list(CHANNEL_KPIS))
    now, before, ago = (f"{x:%Y-%m}" for x in (month, prev, year))
    out = pd.DataFrame(index=wide.index)
    for k in CHANNEL_KPIS:
        cur = wide[k].get(now, pd.Series(0.0, index=wide.index)).fillna(0.0)
        out[k] = cur
        for suffix, when in (("mom", before), ("yoy", ago)):
            base = wide[k].get(when, pd.Series(0.0, index=wide.index)).fillna(0.0)
            out[f"{k}_{suffix}"] = cur / base.where(base != 0) - 1
    lately = [wide[k].get(before, pd.Series(0.0, index=wide.index)) for k in CHANNEL_KPIS]
    earlier = pd.concat(lately, axis=1).fillna(0.0).ne(0).any(axis=1)
    out = out[(out[list(CHANNEL_KPIS)] != 0).any(axis=1) | earlier]
    for k in ("orders", "customers", "new_customers"):
        out[k] = out[k].astype("int64")
    month_rev = out["revenue"].sum()
    out["revenue_share"] = out["revenue"] / month_rev if month_rev else float("nan")
    out = out.sort_values(["revenue", "orders"], ascending=False).reset_index()
    out.columns.name = None
    out.attrs["month"] = now
    return out
