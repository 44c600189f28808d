"""Plain-pandas reference of ecrm's cohort and LTV tables (ecrm.cohort, ecrm.ltv).

Written from SPEC §1 and §3 and the public docstrings of ``ecrm.cohort`` and
``ecrm.ltv`` only, to check the engine (Ibis/DuckDB, set-based) against an
independent, obviously-correct computation. It imports nothing from ecrm. It
loops over cohorts, periods, days and purchase counts (small), never over
customers; the per-customer work is ordinary pandas groupby.

Conventions
-----------
* Money is held as exact integers of 1/10,000 of the currency unit (``units``);
  returned money is float (units / 10,000), as ecrm returns it.
* A day is ``ordered_at`` normalised to midnight (shop-local wall time).
* Guests (missing customer_id) and lines after as_of are dropped first; an
  order's lines are summed, an order with net amount > 0 is a purchase.
* Purchases are numbered per customer in (ordered_at, order_id) order, where an
  order's ordered_at is its earliest line's.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

SCALE = 10_000  # money units per currency unit (decimal(18, 4))
ATTRIBUTES = ("category", "taste", "brand", "channel", "product_id")


# --------------------------------------------------------------------------- basics


def read_orders(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Canonical orders Parquet → pandas, amount as float (exact to 1/10,000 here)."""
    t = pq.read_table(path, columns=columns)
    amount = t.column("amount").cast("float64").to_numpy()
    df = t.drop_columns(["amount"]).to_pandas()
    df["amount"] = amount
    return df


def units(amount: pd.Series) -> np.ndarray:
    """Amounts as exact int64 units of 1/10,000."""
    if amount.dtype == object:
        return np.array([int(Decimal(str(a)) * SCALE) for a in amount], dtype="int64")
    values = amount.to_numpy(dtype="float64")
    return np.round(values * SCALE).astype("int64")


def month_no(dates: pd.Series | pd.Timestamp) -> pd.Series | int:
    """Months since year 0 of each date."""
    if isinstance(dates, pd.Timestamp):
        return dates.year * 12 + dates.month - 1
    return dates.dt.year * 12 + dates.dt.month - 1


def month_text(m: int) -> str:
    return f"{m // 12:04d}-{m % 12 + 1:02d}"


def month_last_day(m: int) -> pd.Timestamp:
    return pd.Period(year=m // 12, month=m % 12 + 1, freq="M").end_time.normalize()


def customer_lines(orders: pd.DataFrame, as_of) -> pd.DataFrame:
    """Lines of customers (no guests) up to as_of, with ``units`` and a datetime ordered_at."""
    end = pd.Timestamp(as_of).normalize() + pd.Timedelta(days=1)
    df = orders[orders["customer_id"].notna()].copy()
    df["ordered_at"] = pd.to_datetime(df["ordered_at"])
    df = df[df["ordered_at"] < end]
    df["units"] = units(df["amount"])
    return df


def customer_orders(orders: pd.DataFrame, as_of) -> pd.DataFrame:
    """One row per order of a customer up to as_of, with the customer's first purchase.

    Columns: customer_id, order_id, ordered_at (earliest line), units, date,
    purchase (bool), first (first purchase date), day (days since first),
    cohort (month number of first). Customers without a purchase are dropped.
    """
    lines = customer_lines(orders, as_of)
    o = lines.groupby(["customer_id", "order_id"], as_index=False).agg(
        ordered_at=("ordered_at", "min"), units=("units", "sum")
    )
    o["date"] = o["ordered_at"].dt.normalize()
    o["purchase"] = o["units"] > 0
    first = o[o["purchase"]].groupby("customer_id")["date"].min().rename("first")
    o = o.merge(first, left_on="customer_id", right_index=True, how="inner")
    o = o.reset_index(drop=True)  # an empty merge keeps customer_id as the index name
    o["day"] = (o["date"] - o["first"]).dt.days
    o["cohort"] = month_no(o["first"])
    return o


def numbered_purchases(o: pd.DataFrame) -> pd.DataFrame:
    """Purchases sorted per customer, with ``k`` (0-based number) and ``gap`` (days since
    the previous purchase)."""
    p = o[o["purchase"]].sort_values(["customer_id", "ordered_at", "order_id"]).copy()
    p["k"] = p.groupby("customer_id").cumcount()
    p["gap"] = p.groupby("customer_id")["date"].diff().dt.days
    return p


def first_attribute(orders: pd.DataFrame, as_of, attribute: str) -> pd.Series:
    """Per customer: ``attribute`` of the first purchase's largest line (SPEC §2).

    Ties among the lines: product_id, then the CTB attributes, ascending.
    """
    lines = customer_lines(orders, as_of)
    o = customer_orders(orders, as_of)
    p = numbered_purchases(o)
    first_orders = p.loc[p["k"] == 0, ["customer_id", "order_id"]]
    fl = lines.merge(first_orders, on=["customer_id", "order_id"], how="inner")
    keys = [c for c in ("product_id", *ATTRIBUTES) if c in fl.columns]
    keys = list(dict.fromkeys(keys))
    fl = fl.sort_values(
        ["customer_id", "units", *keys],
        ascending=[True, False, *[True] * len(keys)],
        na_position="last",
        kind="stable",
    )
    return fl.groupby("customer_id").head(1).set_index("customer_id")[attribute]


# --------------------------------------------------------------------------- cohort


def cohort_table(
    orders: pd.DataFrame,
    *,
    as_of,
    months: int = 24,
    by: str | None = None,
    export_complete: bool = False,
):
    """Reference of ``ecrm.cohort.cohort_table``."""
    censored = censored_cohort(orders, export_complete)
    as_of = pd.Timestamp(as_of)
    last = month_no(as_of)
    o = customer_orders(orders, as_of)
    custs = o.groupby("customer_id")["cohort"].first().to_frame()
    custs = custs[custs["cohort"] > last - months]
    by_col = None
    if by is not None:
        src = "product_id" if by == "product" else by
        by_col = "first_product" if by == "product" else f"first_{by}"
        attr = first_attribute(orders, as_of, src)
        custs[by_col] = attr.reindex(custs.index).astype(object)
        custs[by_col] = custs[by_col].where(custs[by_col].notna(), "(unknown)").astype(str)
        group_keys = [by_col, "cohort"]
    else:
        group_keys = ["cohort"]
    if custs.empty:
        return pd.DataFrame()
    max_period = min(months - 1, last - int(custs["cohort"].min()))
    o = o[o["customer_id"].isin(custs.index)]
    o = o.assign(period=month_no(o["date"]) - o["cohort"])
    o = o[o["period"] >= 0]
    if by_col:
        o = o.merge(custs[[by_col]], left_on="customer_id", right_index=True)
    orders_by_group = dict(iter(o.groupby(group_keys)))
    rows = []
    for key, members in custs.groupby(group_keys):
        key = key if isinstance(key, tuple) else (key,)
        cohort = key[-1]
        size = len(members)
        mo = orders_by_group.get(key, o.iloc[:0])
        for k in range(max_period + 1):
            row = dict(zip(group_keys, key, strict=True))
            row.update(cohort=month_text(cohort), period=k, cohort_size=size)
            row["left_censored"] = cohort == censored
            if cohort + k > last:
                row.update(active=None, retention=np.nan, revenue=np.nan)
                row["cum_revenue_per_customer"] = np.nan
            else:
                month = mo[mo["period"] == k]
                active = month.loc[month["purchase"], "customer_id"].nunique()
                upto = mo.loc[mo["period"] <= k, "units"].sum()
                row.update(
                    active=active,
                    retention=active / size,
                    revenue=month["units"].sum() / SCALE,
                    cum_revenue_per_customer=upto / SCALE / size,
                )
            rows.append(row)
    cols = [*group_keys[:-1], "cohort", "period", "cohort_size", "active", "retention"]
    return pd.DataFrame(rows)[[*cols, "revenue", "cum_revenue_per_customer", "left_censored"]]


# --------------------------------------------------------------------------- LTV, F2


def censored_cohort(orders: pd.DataFrame, export_complete: bool) -> int | None:
    """Month number of the export's first order (every line counts), or None when complete."""
    if export_complete or orders.empty:
        return None
    return int(month_no(pd.to_datetime(orders["ordered_at"]).min()))


def _cohort_days(
    o: pd.DataFrame,
    as_of,
    days: list[int],
    months: int | None,
    revenue: bool,
    censored: int | None = None,
):
    as_of = pd.Timestamp(as_of)
    last = month_no(as_of)
    if months is not None:
        o = o[o["cohort"] > last - months]
    p = numbered_purchases(o)
    second_day = p[p["k"] == 1].set_index("customer_id")["day"]
    custs = o.groupby("customer_id")["cohort"].first().to_frame()
    custs["second_day"] = second_day.reindex(custs.index)
    orders_by_cohort = dict(iter(o.groupby("cohort")))
    rows = []
    for cohort, members in custs.groupby("cohort"):
        size = len(members)
        mo = orders_by_cohort[cohort]
        observable_days = (as_of - month_last_day(cohort)).days
        for d in days:
            row = {"cohort": month_text(cohort), "days": d, "cohort_size": size}
            if d <= observable_days:
                rep = int((members["second_day"] <= d).sum())
                row.update(repeaters=rep, f2_rate=rep / size)
                if revenue:
                    rev = mo.loc[(mo["day"] >= 0) & (mo["day"] <= d), "units"].sum() / SCALE
                    row.update(revenue=rev, ltv=rev / size)
            else:
                row.update(repeaters=None, f2_rate=np.nan)
                if revenue:
                    row.update(revenue=np.nan, ltv=np.nan)
            row["_filled"] = d <= observable_days
            row["left_censored"] = cohort == censored
            rows.append(row)
    per = pd.DataFrame(rows)
    for d in days:  # the weighted all-cohort row: pool the filled, uncensored cohorts
        f = per[(per["days"] == d) & per["_filled"] & ~per["left_censored"]] if len(per) else per
        size = int(f["cohort_size"].sum()) if len(f) else 0
        row = {"cohort": "all", "days": d, "cohort_size": size}
        if size:
            row.update(repeaters=int(f["repeaters"].sum()))
            row["f2_rate"] = row["repeaters"] / size
            if revenue:
                row.update(revenue=float(f["revenue"].sum()))
                row["ltv"] = row["revenue"] / size
        else:
            row.update(repeaters=None, f2_rate=np.nan)
            if revenue:
                row.update(revenue=np.nan, ltv=np.nan)
        row["_filled"] = bool(size)
        row["left_censored"] = False
        rows.append(row)
    cols = ["cohort", "days", "cohort_size", *(["revenue", "ltv"] if revenue else [])]
    return pd.DataFrame(rows)[[*cols, "repeaters", "f2_rate", "left_censored"]]


def ltv_transition(
    orders: pd.DataFrame,
    *,
    as_of,
    step_days: int = 30,
    horizon_days: int = 360,
    months: int | None = None,
    export_complete: bool = False,
):
    """Reference of ``ecrm.ltv.ltv_transition``."""
    days = list(range(step_days, horizon_days + 1, step_days))
    if days[-1] != horizon_days:
        days.append(horizon_days)
    cens = censored_cohort(orders, export_complete)
    return _cohort_days(customer_orders(orders, as_of), as_of, days, months, True, cens)


def f2_conversion(
    orders: pd.DataFrame,
    *,
    as_of,
    windows=(30, 60, 90, 180, 360),
    months: int | None = None,
    export_complete: bool = False,
):
    """Reference of ``ecrm.ltv.f2_conversion``."""
    days = sorted(set(windows))
    cens = censored_cohort(orders, export_complete)
    return _cohort_days(customer_orders(orders, as_of), as_of, days, months, False, cens)


# --------------------------------------------------------------------------- ladder


def purchase_ladder(orders: pd.DataFrame, *, as_of, max_n: int = 10, lapse_days: int = 240):
    """Reference of ``ecrm.ltv.purchase_ladder``."""
    as_of = pd.Timestamp(as_of).normalize()
    o = customer_orders(orders, as_of)
    per = o.groupby("customer_id").agg(
        frequency=("purchase", "sum"),
        units=("units", "sum"),
    )
    per["last"] = o[o["purchase"]].groupby("customer_id")["date"].max()
    per["recency"] = (as_of - per["last"]).dt.days
    per["lapsed"] = per["recency"] >= lapse_days
    p = numbered_purchases(o)
    reached_1 = int((per["frequency"] >= 1).sum())
    rows = []
    for n in range(1, max_n + 2):
        pooled = n > max_n
        if pooled:
            stops = per["frequency"] > max_n
            gaps = p.loc[p["k"] >= n, "gap"]
            continued = None
        else:
            stops = per["frequency"] == n
            gaps = p.loc[p["k"] == n, "gap"]
            continued = int((per["frequency"] >= n + 1).sum())
        reached = int((per["frequency"] >= n).sum())
        customers = int(stops.sum())
        revenue = per.loc[stops, "units"].sum() / SCALE
        rows.append(
            {
                "n": n,
                "label": f"{max_n + 1}+" if pooled else str(n),
                "reached": reached,
                "continued": continued,
                "lapsed": int((stops & per["lapsed"]).sum()),
                "pending": int((stops & ~per["lapsed"]).sum()),
                "continuation_rate": (
                    continued / reached if continued is not None and reached else np.nan
                ),
                "survival": reached / reached_1 if reached_1 else np.nan,
                "customers": customers,
                "revenue": revenue,
                "revenue_per_customer": revenue / customers if customers else np.nan,
                "median_days_to_next": float(gaps.median()) if len(gaps) else np.nan,
            }
        )
    return pd.DataFrame(rows)


def interpurchase_intervals(orders: pd.DataFrame, *, as_of, max_n: int = 10):
    """Reference of ``ecrm.ltv.interpurchase_intervals``."""
    p = numbered_purchases(customer_orders(orders, as_of))
    p = p[p["k"] >= 1]
    rows = []
    for n in range(1, max_n + 2):
        gaps = p.loc[p["k"] >= n, "gap"] if n > max_n else p.loc[p["k"] == n, "gap"]
        counts = gaps.astype("int64").value_counts().sort_index()
        total = counts.sum()
        cum = 0
        for days, count in counts.items():
            cum += count
            rows.append(
                {
                    "n": n,
                    "label": f"{max_n + 1}+" if n > max_n else str(n),
                    "days": int(days),
                    "intervals": int(count),
                    "share": count / total,
                    "cum_share": cum / total,
                }
            )
    return pd.DataFrame(rows, columns=["n", "label", "days", "intervals", "share", "cum_share"])
