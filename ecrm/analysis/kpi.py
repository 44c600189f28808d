"""Monthly KPIs (SPEC §3) with month-on-month and year-on-year change.

For each calendar month (the last one ends at ``as_of``):

* ``revenue``: net amount of every line in the month, guest orders included;
* ``orders``: purchases (orders with net amount > 0), guest orders included;
* ``customers``: customers with a purchase in the month;
* ``new_customers``: customers whose first purchase falls in the month (new for
  the whole month, a second order that month included); ``repeat_customers``:
  customers of the month whose first purchase was earlier;
* ``new_revenue`` / ``repeat_revenue``: net revenue in the month of customers
  whose first purchase is in / before the month (their returns included);
* ``aov`` = revenue / orders; ``purchases_per_customer`` = customers'
  purchases / customers; ``repeat_rate`` = repeat_customers / customers;
* ``f2_rate``: of the customers first buying ``f2_lag_months`` (3) months
  earlier, the share with a second purchase within ``f2_days`` (90) days of the
  first — counted as known at this month's end (a customer acquired on the last
  day of that month may have had a day or two less);
* ``lapse_rate``: of the customers active at the previous month end
  (recency < CPM lapse_days), the share whose recency reached lapse_days during
  this month;
* ``ltv_12m``: of the customers first buying ``ltv_lag_months`` (12) months
  earlier, net revenue from each customer's first purchase up to
  ``horizon_days`` (360) days after it (an order dated before the first
  purchase — a return with no purchase yet — is not part of it), as known at
  this month's end, per cohort customer;
* ``cross_sell_rate`` (クロスセル率): of the customers with a purchase in the
  12 months to the month end, the share who bought two or more categories then
  (:func:`ecrm.analysis.cross_sell.cross_sell_monthly`); empty (NaN) without a
  category column. A rate: its MoM/YoY are differences in points.

**The export's first month** (SPEC §3 Cohort, left-censored): unless the shop's
settings say ``export_complete: true``, every customer of that month counts as
new, so its new/repeat split (:data:`CENSORED_MONTH_KPIS`) is empty, and so are
the F2 rate and 12-month LTV reported for that cohort (``f2_lag_months`` and
``ltv_lag_months`` later). Their MoM/YoY against it are then empty too.

``mom`` and ``yoy`` are relative changes (value / earlier − 1) for amounts and
counts, and differences in points (value − earlier) for rates (``change`` says
which).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import pandas as pd

from ecrm import engine
from ecrm.analysis import censoring, cross_sell, periods
from ecrm.settings import ShopSettings

__all__ = ["KPIS", "RATE_KPIS", "kpi_latest", "kpi_table", "kpi_wide"]

KPIS: tuple[str, ...] = (
    "revenue",
    "orders",
    "customers",
    "new_customers",
    "repeat_customers",
    "new_revenue",
    "repeat_revenue",
    "aov",
    "purchases_per_customer",
    "repeat_rate",
    "f2_rate",
    "lapse_rate",
    "ltv_12m",
    "cross_sell_rate",
)
#: KPIs left empty in the export's first month when the export is not complete: they
#: split the month's customers into new and repeat, and every customer is "new" there.
CENSORED_MONTH_KPIS: list[str] = [
    "new_customers",
    "repeat_customers",
    "new_revenue",
    "repeat_revenue",
    "repeat_rate",
]

RATE_KPIS: frozenset[str] = frozenset({"repeat_rate", "f2_rate", "lapse_rate", "cross_sell_rate"})


def _month_starts(as_of: dt.date, n: int) -> list[dt.date]:
    first = dt.date(as_of.year, as_of.month, 1)
    return [periods.shift_months(first, -k) for k in range(n - 1, -1, -1)]


def kpi_wide(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    settings: ShopSettings | None = None,
    months: int | None = None,
) -> pd.DataFrame:
    """One row per month, one column per KPI (no change columns).

    Returns
    -------
    DataFrame
        month (first day), month_end, and the columns of :data:`KPIS`.
    """
    s = settings.analysis if settings else ShopSettings.model_fields["analysis"].default
    n = months or s.kpi.months
    as_of_d = engine.as_of_date(as_of)
    starts = _month_starts(as_of_d, n)
    lo = starts[0]
    t = engine.orders_table(orders)

    # every order (guests too) up to as_of
    o_all = engine.order_totals(t, as_of=as_of_d, customers_only=False)
    # every KPI reads the order totals: build them once in the engine
    o_all = o_all.mutate(month=o_all.ordered_at.truncate("M").date()).cache()
    # each customer's first and second purchase, in one window pass, kept in the engine
    # (the monthly counts, F2 and LTV all read it)
    p = o_all.filter(o_all.is_purchase & o_all.customer_id.notnull())
    w = ibis.window(group_by="customer_id", order_by=["ordered_at", "order_id"])
    p = p.mutate(_k=ibis.row_number().over(w))
    p = p.filter(p._k <= 1)
    first = p.group_by("customer_id").agg(
        first_purchase=p.order_date.min(where=p._k == 0),
        second_purchase=p.order_date.min(where=p._k == 1),
    )
    first = first.mutate(first_month=first.first_purchase.truncate("M")).cache()
    o = o_all.filter(o_all.month >= ibis.literal(lo, type="date"))
    o = o.left_join(first.select("customer_id", "first_month"), "customer_id").drop(
        "customer_id_right"
    )
    is_member = o.customer_id.notnull()
    is_new = is_member & (o.first_month == o.month)
    is_rep = is_member & (o.first_month < o.month)
    sums = o.group_by("month").agg(
        revenue=o.amount.sum(),
        orders=o.is_purchase.cast("int64").sum(),
        member_purchases=(o.is_purchase & is_member).cast("int64").sum(),
        new_revenue=o.amount.sum(where=is_new),
        repeat_revenue=o.amount.sum(where=is_rep),
    )
    # distinct buyers per month: one grouping by (month, customer) instead of
    # three distinct counts
    buyers = (
        o.filter(o.is_purchase & is_member)
        .group_by(["month", "customer_id"])
        .agg(_first_month=ibis._.first_month.min())
    )
    buyers = buyers.group_by("month").agg(
        customers=buyers.count(),
        new_customers=(buyers._first_month == buyers.month).cast("int64").sum(),
        repeat_customers=(buyers._first_month < buyers.month).cast("int64").sum(),
    )
    monthly = sums.left_join(buyers, "month").drop("month_right")
    df = engine.to_pandas(monthly)
    df["month"] = pd.to_datetime(df["month"]).dt.date
    df = df.set_index("month").reindex(starts)
    counts = ["orders", "member_purchases", "customers", "new_customers", "repeat_customers"]
    df[counts] = df[counts].fillna(0).astype("int64")
    df[["revenue", "new_revenue", "repeat_revenue"]] = df[
        ["revenue", "new_revenue", "repeat_revenue"]
    ].fillna(0.0)
    df["aov"] = df["revenue"] / df["orders"].where(df["orders"] > 0)
    df["purchases_per_customer"] = df["member_purchases"] / df["customers"].where(
        df["customers"] > 0
    )
    df["repeat_rate"] = df["repeat_customers"] / df["customers"].where(df["customers"] > 0)

    # cohort measures: F2 within f2_days and LTV within horizon_days, per cohort month,
    # truncated at the end of the KPI month they are reported in
    coh = first
    f2_lag, ltv_lag = s.kpi.f2_lag_months, s.kpi.ltv_lag_months
    f2_until = periods_end_expr(coh.first_month, f2_lag)
    coh = coh.mutate(
        _f2=(
            coh.second_purchase.notnull()
            & (coh.second_purchase.delta(coh.first_purchase, unit="day") <= s.kpi.f2_days)
            & (coh.second_purchase <= f2_until)
        ).cast("int64")
    )
    f2 = coh.group_by("first_month").agg(cohort=coh.count(), f2=coh._f2.sum())
    f2 = engine.to_pandas(f2)
    f2["month"] = [periods.shift_months(d, f2_lag) for d in pd.to_datetime(f2.first_month).dt.date]
    df["f2_rate"] = (f2.set_index("month")["f2"] / f2.set_index("month")["cohort"]).reindex(starts)

    lo_all = o_all.filter(o_all.customer_id.notnull())
    lj = lo_all.inner_join(first.drop("second_purchase"), "customer_id")
    ltv_until = periods_end_expr(lj.first_month, ltv_lag)
    days = lj.order_date.delta(lj.first_purchase, unit="day")
    keep = (days >= 0) & (days <= s.ltv.horizon_days) & (lj.order_date <= ltv_until)
    ltv = lj.group_by("first_month").agg(revenue=lj.amount.sum(where=keep))
    sizes = first.group_by("first_month").agg(cohort=first.count())
    ltv = engine.to_pandas(ltv.inner_join(sizes, "first_month"))
    ltv["month"] = [
        periods.shift_months(d, ltv_lag) for d in pd.to_datetime(ltv.first_month).dt.date
    ]
    ltv = ltv.set_index("month")
    df["ltv_12m"] = (ltv["revenue"].fillna(0.0) / ltv["cohort"]).reindex(starts)

    # lapse rate in one pass over purchase days: a customer's purchase on day p
    # keeps it active until its next purchase n or until p + lapse_days, the day
    # its recency reaches lapse_days; it lapses in the month of p + lapse_days if
    # it has not bought again by that month's end.
    ends = [periods.month_end(d) for d in starts[:-1]] + [as_of_d]
    df["lapse_rate"] = _lapse_rates(o_all, starts, as_of_d, s.cpm.lapse_days)
    cs = cross_sell.cross_sell_monthly(t, as_of=as_of_d, months=n)
    df["cross_sell_rate"] = cs.set_index(cs["month"].dt.date)["cross_sell_rate"].reindex(starts)

    # months before the shop's first order are unknown, not zero
    first_month = engine.to_pandas(o_all.aggregate(m=o_all.month.min()))["m"].iloc[0]
    censored: list[tuple[dt.date, str]] = []
    if pd.notna(first_month):
        first_d = pd.Timestamp(first_month).date()
        df.loc[[m < first_d for m in df.index], KPIS] = float("nan")
        if not censoring.export_complete_setting(settings):
            # the left-censored first month: its "new" customers are everyone who bought
            # before the export began, so no figure that splits new from repeat, nor
            # the F2 / LTV of that cohort, is shown (SPEC §3 Cohort)
            censored = [(first_d, k) for k in CENSORED_MONTH_KPIS] + [
                (periods.shift_months(first_d, lag), k)
                for k, lag in (("f2_rate", f2_lag), ("ltv_12m", ltv_lag))
            ]
            for month, kpi_name in censored:
                df.loc[[m == month for m in df.index], kpi_name] = float("nan")
    df = df.reset_index().rename(columns={"index": "month"})
    df.insert(1, "month_end", ends)
    out = df[["month", "month_end", *KPIS]].reset_index(drop=True)
    # (month, kpi) cells left empty because they come from the censored cohort
    out.attrs["censored_cells"] = censored
    return out


def _lapse_rates(o_all: Any, starts: list[dt.date], as_of: dt.date, lapse: int) -> list[float]:
    """Lapse rate of each month of ``starts`` (see the module docstring)."""
    p = o_all.filter(o_all.is_purchase & o_all.customer_id.notnull())
    p = p.select("customer_id", "order_date").distinct()
    nxt = p.order_date.lead().over(ibis.window(group_by="customer_id", order_by="order_date"))
    p = p.mutate(_next=nxt, _lapse_day=(p.order_date + ibis.interval(days=lapse)).cast("date"))
    p = p.cache()  # three counts below read it
    stop = ibis.ifelse(p._next.isnull() | (p._next > p._lapse_day), p._lapse_day, p._next)
    as_of_lit = ibis.literal(as_of, type="date")
    lapse_month_end = ibis.least(periods_end_expr(p._lapse_day.truncate("M"), 0), as_of_lit)
    lapsed = (p._lapse_day <= as_of_lit) & (p._next.isnull() | (p._next > lapse_month_end))
    plus = p.group_by(month=p.order_date.truncate("M")).agg(plus=p.count())
    minus = p.group_by(month=stop.truncate("M")).agg(minus=p.count())
    newly = p.filter(lapsed).group_by(month=p._lapse_day.truncate("M")).agg(newly=ibis._.count())
    frames = [engine.to_pandas(x).set_index("month") for x in (plus, minus, newly)]
    months = pd.concat(frames, axis=1, sort=True).fillna(0)
    months.index = pd.to_datetime(months.index).date
    # active at the end of each month = purchases started − purchases stopped so far
    # (a purchase that stops on day d is no longer active at the end of d's month)
    active_end = (months["plus"] - months["minus"]).cumsum()
    out = []
    for m in starts:
        prev = periods.shift_months(m, -1)
        active_prev = (
            float(active_end[active_end.index <= prev].iloc[-1])
            if (active_end.index <= prev).any()
            else 0.0
        )
        n = float(months["newly"].get(m, 0.0)) if m in months.index else 0.0
        out.append(n / active_prev if active_prev > 0 else float("nan"))
    return out


def periods_end_expr(first_month: Any, lag: int) -> Any:
    """Ibis expression: last day of the month ``lag`` months after ``first_month``."""
    return (first_month + ibis.interval(months=lag + 1) - ibis.interval(days=1)).cast("date")


def kpi_table(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    settings: ShopSettings | None = None,
    months: int | None = None,
) -> pd.DataFrame:
    """The monthly KPIs of the last ``months`` (24) months, tidy, with MoM and YoY.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders (guest lines count for revenue and orders).
    as_of : date or str
        Last day of the last month, inclusive.
    settings : ShopSettings, optional
        kpi (months, f2_days, lags), cpm.lapse_days and ltv.horizon_days.
    months : int, optional
        Overrides ``analysis.kpi.months``.

    Returns
    -------
    DataFrame
        month, month_end, kpi, value, prev_month, mom, prev_year, yoy, change
        ("ratio" or "points"), left_censored (bool: the value would come from the
        export's left-censored first month or cohort, so it is empty; see the
        module docstring); one row per month and KPI.
    """
    n = months or (settings.analysis.kpi.months if settings else 24)
    wide = kpi_wide(orders, as_of=as_of, settings=settings, months=n + 12)
    long = wide.melt(id_vars=["month", "month_end"], var_name="kpi", value_name="value")
    long = long.sort_values(["kpi", "month"]).reset_index(drop=True)
    g = long.groupby("kpi")["value"]
    long["prev_month"] = g.shift(1)
    long["prev_year"] = g.shift(12)
    is_rate = long["kpi"].isin(RATE_KPIS)
    ratio_m = long["value"] / long["prev_month"].where(long["prev_month"] != 0) - 1
    ratio_y = long["value"] / long["prev_year"].where(long["prev_year"] != 0) - 1
    long["mom"] = ratio_m.where(~is_rate, long["value"] - long["prev_month"])
    long["yoy"] = ratio_y.where(~is_rate, long["value"] - long["prev_year"])
    long["change"] = is_rate.map({True: "points", False: "ratio"})
    cells = pd.MultiIndex.from_tuples(wide.attrs.get("censored_cells") or [], names=["m", "k"])
    long["left_censored"] = pd.MultiIndex.from_arrays([long["month"], long["kpi"]]).isin(cells)
    last = sorted(wide["month"])[-n:]
    long = long[long["month"].isin(last)]
    order = {k: i for i, k in enumerate(KPIS)}
    long = long.assign(_o=long["kpi"].map(order)).sort_values(["month", "_o"])
    return long.drop(columns="_o").reset_index(drop=True)


def kpi_latest(table: pd.DataFrame) -> pd.DataFrame:
    """The last month of a :func:`kpi_table`: one row per KPI.

    Returns
    -------
    DataFrame
        kpi, value, prev_month, mom, prev_year, yoy, change — in :data:`KPIS` order.
    """
    last = table[table["month"] == table["month"].max()]
    cols = ["kpi", "value", "prev_month", "mom", "prev_year", "yoy", "change"]
    return last[cols].reset_index(drop=True)
