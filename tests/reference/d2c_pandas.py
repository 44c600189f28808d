"""Plain-pandas implementations of the D2C analyses: a careful analyst's groupby code.

References for ``tests/test_d2c_reference.py`` and ``benchmarks/bench_suite.py``
(issue #20): each function takes the order *lines* as a pandas DataFrame
(:func:`read_lines`: amount as float) and follows the definitions in the
docstrings of the ecrm module it mirrors — :mod:`ecrm.analysis.subscriptions`,
:mod:`ecrm.models.subscription_value`, :mod:`ecrm.analysis.channels`,
:mod:`ecrm.analysis.products`, :mod:`ecrm.analysis.cross_sell`,
:mod:`ecrm.analysis.revenue_change` — with pandas groupbys, merges and
``sort_values``, never ecrm's engine. Loops run over months, day steps or
delivery counts (a few dozen), never over orders or customers.

Subscriptions are derived from the orders (no subscriptions table: SPEC §1's
lapse rule), the path the benchmark shop exercises.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

UNKNOWN = "(unknown)"


def read_lines(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Canonical orders Parquet → pandas lines, amount as float64."""
    t = pq.read_table(path, columns=columns)
    amount = t.column("amount").cast("float64").to_numpy()
    df = t.drop_columns(["amount"]).to_pandas()
    df["amount"] = amount
    return df


def _day(as_of: Any) -> pd.Timestamp:
    return pd.Timestamp(as_of).normalize()


def upto(lines: pd.DataFrame, as_of: Any) -> pd.DataFrame:
    """Lines of the orders whose earliest line is on or before as_of (orders are atomic)."""
    end = _day(as_of) + pd.Timedelta(days=1)
    first = lines.groupby("order_id")["ordered_at"].transform("min")
    return lines[first < end]


def order_totals(lines: pd.DataFrame, as_of: Any, customers_only: bool = True) -> pd.DataFrame:
    """One row per order to as_of: customer_id, ordered_at, order_date, amount, is_purchase."""
    li = upto(lines, as_of)
    o = li.groupby("order_id", sort=False).agg(
        customer_id=("customer_id", "first"), ordered_at=("ordered_at", "min"),
        amount=("amount", "sum"),
    ).reset_index()  # fmt: skip
    if customers_only:
        o = o[o["customer_id"].notna()]
    o["order_date"] = o["ordered_at"].dt.normalize()
    o["is_purchase"] = o["amount"] > 0
    return o


def numbered_purchases(o: pd.DataFrame) -> pd.DataFrame:
    """Each customer's purchases numbered k = 0, 1, … by (ordered_at, order_id)."""
    p = o[o["is_purchase"]].sort_values(["customer_id", "ordered_at", "order_id"])
    return p.assign(k=p.groupby("customer_id").cumcount())


def largest_line(lines: pd.DataFrame, ties: list[str]) -> pd.DataFrame:
    """Each customer's largest line (amount desc, then ``ties`` ascending, missing last)."""
    s = lines.sort_values(
        ["customer_id", "amount", *ties], ascending=[True, False, *[True] * len(ties)],
        na_position="last", kind="mergesort",
    )  # fmt: skip
    return s.drop_duplicates("customer_id")


# ----------------------------------------------------------------------------- subscriptions


def deliveries(lines: pd.DataFrame, *, as_of: Any) -> pd.DataFrame:
    """Deliveries (subscription orders with net > 0) numbered per subscription."""
    li = upto(lines, as_of)
    li = li[li["subscription_id"].notna() & li["customer_id"].notna()]
    o = li.groupby("order_id", sort=False).agg(
        subscription_id=("subscription_id", "min"), customer_id=("customer_id", "min"),
        ordered_at=("ordered_at", "min"), amount=("amount", "sum"),
    ).reset_index()  # fmt: skip
    o = o[o["amount"] > 0].sort_values(["subscription_id", "ordered_at", "order_id"])
    o["delivery_no"] = o.groupby("subscription_id").cumcount() + 1
    o["order_date"] = o["ordered_at"].dt.normalize()
    cols = ["subscription_id", "delivery_no", "order_id", "customer_id", "ordered_at"]
    return o[[*cols, "order_date", "amount"]].reset_index(drop=True)


def subscriptions(lines: pd.DataFrame, *, as_of: Any, lapse_days: int = 60) -> pd.DataFrame:
    """One row per subscription: start, cancellation (last delivery + lapse + 1 day), status."""
    d = deliveries(lines, as_of=as_of)
    s = d.groupby("subscription_id").agg(
        customer_id=("customer_id", "min"), first_delivery=("order_date", "min"),
        last_delivery=("order_date", "max"), deliveries=("order_id", "count"),
        revenue=("amount", "sum"),
    ).reset_index()  # fmt: skip
    cancel = s["last_delivery"] + pd.Timedelta(days=lapse_days + 1)
    s["started_at"] = s["first_delivery"]
    s["cancelled_at"] = cancel.where(cancel <= _day(as_of))
    s["status"] = np.where(s["cancelled_at"].isna(), "active", "cancelled")
    return s


def continuation(
    lines: pd.DataFrame, *, as_of: Any, lapse_days: int = 60, max_n: int = 12
) -> pd.DataFrame:
    """定期継続率 by delivery count n = 1 … max_n and the pooled "max_n+1 +" row."""
    s = subscriptions(lines, as_of=as_of, lapse_days=lapse_days)
    k, gone = s["deliveries"], s["status"] == "cancelled"
    rows = []
    for n in range(1, max_n + 2):
        pooled = n == max_n + 1
        ends = k >= n if pooled else k == n
        rows.append(
            {
                "n": n,
                "label": f"{n}+" if pooled else str(n),
                "reached": int((k >= n).sum()),
                "continued": pd.NA if pooled else int((k >= n + 1).sum()),
                "cancelled": int((ends & gone).sum()),
                "pending": int((ends & ~gone).sum()),
            }
        )
    out = pd.DataFrame(rows)
    out["continued"] = out["continued"].astype("Int64")
    decided = out["continued"].astype("Float64") + out["cancelled"]
    out["continuation_rate"] = out["continued"].astype("Float64") / decided.where(decided > 0)
    first = out["reached"].iloc[0]
    out["survival"] = out["reached"] / first if first > 0 else np.nan
    return out


def subscription_monthly(
    lines: pd.DataFrame, *, as_of: Any, months: int = 12, lapse_days: int = 60
) -> pd.DataFrame:
    """Per month: active at the month end, new, cancelled, cancelled / previous active."""
    s = subscriptions(lines, as_of=as_of, lapse_days=lapse_days)
    d = _day(as_of)
    rows = []
    for p in pd.period_range(pd.Period(d, "M") - months, pd.Period(d, "M"), freq="M"):
        first, end = p.start_time.normalize(), min(p.end_time.normalize(), d)
        rows.append(
            {
                "month": str(p),
                "month_end": end,
                "active": int(((s.started_at <= end) & ~(s.cancelled_at <= end)).sum()),
                "new": int(s.started_at.between(first, end).sum()),
                "cancelled": int(s.cancelled_at.between(first, end).sum()),
            }
        )
    out = pd.DataFrame(rows)
    prev = out["active"].shift(1)
    out["cancellation_rate"] = out["cancelled"] / prev.where(prev > 0)
    return out.iloc[1:].reset_index(drop=True)


def lifetimes(lines: pd.DataFrame, *, as_of: Any, lapse_days: int = 60) -> pd.DataFrame:
    """(t, censored, count): cancelled → T = k ended; active → T > k − 1 running."""
    s = subscriptions(lines, as_of=as_of, lapse_days=lapse_days)
    running = s["status"] == "active"
    lt = pd.DataFrame(
        {"t": np.where(running, s["deliveries"] - 1, s["deliveries"]), "censored": running}
    )
    g = lt.groupby(["censored", "t"]).size().rename("count").reset_index()
    return g[["t", "censored", "count"]].astype({"t": "int64", "count": "int64"})


def project(lines: pd.DataFrame, *, as_of: Any, horizon: int = 24) -> pd.DataFrame:
    """The sBG projection's summary row from the pandas lifetimes and deliveries.

    The model fit itself is ecrm's :class:`~ecrm.models.sbg.ShiftedBetaGeometric`
    (there is no pandas sBG); what is checked is the data it is fed.
    """
    from ecrm.models.sbg import ShiftedBetaGeometric

    lt = lifetimes(lines, as_of=as_of)
    model = ShiftedBetaGeometric().fit(t=lt["t"], count=lt["count"], censored=lt["censored"])
    mean_value = float(deliveries(lines, as_of=as_of)["amount"].mean())
    expected = model.expected_periods(horizon=int(horizon))
    return pd.DataFrame(
        {
            "subscriptions": [int(lt["count"].sum())],
            "alpha": [model.alpha_],
            "beta": [model.beta_],
            "horizon": [int(horizon)],
            "expected_deliveries": [expected],
            "mean_delivery_value": [mean_value],
            "subscriber_ltv": [mean_value * expected],
        }
    )


# ----------------------------------------------------------------------------- channels


def acquisition(
    lines: pd.DataFrame,
    *,
    as_of: Any,
    costs: pd.DataFrame | None = None,
    step_days: int = 30,
    horizon_days: int = 360,
) -> pd.DataFrame:
    """New customers by acquisition month × first channel: revenue, LTV, F2 by day, CAC, ROAS."""
    d = _day(as_of)
    steps = list(range(step_days, horizon_days + 1, step_days))
    if steps[-1] != horizon_days:
        steps.append(horizon_days)
    o = order_totals(lines, d)
    p = numbered_purchases(o)
    first = p[p["k"] == 0][["customer_id", "order_id", "order_date"]]
    li = upto(lines, d)
    fl = li[li["customer_id"].notna()].merge(first[["customer_id", "order_id"]])
    ties = [c for c in ("product_id", "category", "taste", "brand", "channel") if c in li]
    top = largest_line(fl, ties)[["customer_id", "channel"]]
    c = first.rename(columns={"order_date": "first_purchase"})[["customer_id", "first_purchase"]]
    c = c.merge(top, on="customer_id", how="left")
    c["channel"] = c["channel"].fillna(UNKNOWN)
    oo = o.merge(c, on="customer_id")
    oo["day"] = (oo["order_date"] - oo["first_purchase"]).dt.days
    oo = oo[oo["day"] >= 0]
    second = p[p["k"] == 1].merge(c[["customer_id", "first_purchase"]])
    second["second_day"] = (second["order_date"] - second["first_purchase"]).dt.days
    c = c.merge(second[["customer_id", "second_day"]], on="customer_id", how="left")
    for s in steps:
        r = oo[oo["day"] <= s].groupby("customer_id")["amount"].sum().rename(f"r{s}")
        c = c.merge(r, on="customer_id", how="left")
        c[f"f{s}"] = (c["second_day"] <= s).astype("int64")
    c["month"] = c["first_purchase"].dt.to_period("M").astype(str)
    agg = {"new_customers": ("customer_id", "count")}
    agg.update({f"r{s}": (f"r{s}", "sum") for s in steps})
    agg.update({f"f{s}": (f"f{s}", "sum") for s in steps})
    g = c.groupby(["month", "channel"]).agg(**agg).reset_index()
    parts = []
    for s in steps:
        part = g[["month", "channel", "new_customers"]].assign(
            days=s, revenue=g[f"r{s}"].astype(float), repeaters=g[f"f{s}"]
        )
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    if costs is not None:
        seen = out[["month", "channel"]].drop_duplicates()
        idle = costs.merge(seen, how="left", indicator=True)
        idle = idle[(idle["_merge"] == "left_only") & (idle["month"] <= f"{d:%Y-%m}")]
        idle = idle[["month", "channel"]].merge(pd.DataFrame({"days": steps}), how="cross")
        idle = idle.assign(new_customers=0, revenue=0.0, repeaters=0)
        out = pd.concat([out, idle], ignore_index=True)
    month_end = pd.PeriodIndex(out["month"], freq="M").end_time.normalize()
    filled = month_end + pd.to_timedelta(out["days"], "D") <= d
    out["revenue"] = out["revenue"].where(filled)
    out["repeaters"] = out["repeaters"].astype("Int64").where(filled, pd.NA)
    out["ltv"] = out["revenue"] / out["new_customers"].where(out["new_customers"] > 0)
    out["f2_rate"] = out["repeaters"].astype(float) / out["new_customers"].where(
        out["new_customers"] > 0
    )
    if costs is not None:
        out = out.merge(costs[["month", "channel", "cost"]], how="left")
    else:
        out["cost"] = np.nan
    with np.errstate(divide="ignore"):
        out["cac"] = out["cost"] / out["new_customers"].astype(float)
    out["ltv_cac"] = out["ltv"] / out["cac"].where(out["cac"] > 0)
    out["roas"] = out["revenue"] / out["cost"].where(out["cost"] > 0)
    return out.sort_values(["month", "channel", "days"]).reset_index(drop=True)


# ----------------------------------------------------------------------------- products


def product_lines(
    lines: pd.DataFrame, as_of: Any, exclude_ids: Sequence[str], exclude_pattern: str | None
) -> pd.DataFrame:
    """Lines to as_of with a customer and a product, excluded products left out."""
    li = upto(lines, as_of)
    li = li[li["customer_id"].notna() & li["product_id"].notna()]
    li = li[~li["product_id"].isin(list(exclude_ids))]
    if exclude_pattern:
        hit = li["product_name"].str.contains(re.compile(exclude_pattern), na=False)
        li = li[~hit]
    return li


def _entries(
    lines: pd.DataFrame, as_of: Any, exclude_ids: Sequence[str], exclude_pattern: str | None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(product lines, numbered purchases, customer → entry product of the first purchase)."""
    li = product_lines(lines, as_of, exclude_ids, exclude_pattern)
    p = numbered_purchases(order_totals(lines, as_of))
    fl = li.merge(p[p["k"] == 0][["customer_id", "order_id"]])
    entry = largest_line(fl, ["product_id"])[["customer_id", "product_id"]]
    return li, p, entry.rename(columns={"product_id": "entry_product"})


def entry_products(
    lines: pd.DataFrame,
    *,
    as_of: Any,
    min_customers: int = 30,
    exclude_ids: Sequence[str] = (),
    exclude_pattern: str | None = None,
    export_complete: bool = False,
) -> pd.DataFrame:
    """Per entry product: customers, F2 within 90 / 360 days, revenue per customer in 360 days.

    Unless ``export_complete``, customers first seen in the month of the
    export's earliest line (any line, any as_of) are left out and counted.
    """
    d = _day(as_of)
    li, p, entry = _entries(lines, d, exclude_ids, exclude_pattern)
    c = p[p["k"] == 0][["customer_id", "order_date"]].rename(columns={"order_date": "first_day"})
    cohort = None if export_complete else pd.Timestamp(lines["ordered_at"].min()).to_period("M")
    n_censored = 0
    if cohort is not None:
        censored = c["first_day"].dt.to_period("M") == cohort
        n_censored = int(censored.sum())
        c = c[~censored]
    sec = p[p["k"] == 1][["customer_id", "order_date"]].rename(columns={"order_date": "second"})
    c = c.merge(entry, how="left").merge(sec, how="left")
    o = order_totals(lines, d).merge(c[["customer_id", "first_day"]])
    day = (o["order_date"] - o["first_day"]).dt.days
    r360 = o[(day >= 0) & (day <= 360)].groupby("customer_id")["amount"].sum().rename("r360")
    c = c.merge(r360, on="customer_id", how="left")
    age = (d - c["first_day"]).dt.days
    gap = (c["second"] - c["first_day"]).dt.days
    c["seen90"], c["seen360"] = age >= 90, age >= 360
    c["f2_90"] = c["seen90"] & (gap <= 90)
    c["f2_360"] = c["seen360"] & (gap <= 360)
    c["rev360"] = c["r360"].where(c["seen360"], 0.0)
    g = c.groupby("entry_product", dropna=False).agg(
        customers=("customer_id", "count"), customers_90=("seen90", "sum"),
        f2_90=("f2_90", "sum"), customers_360=("seen360", "sum"), f2_360=("f2_360", "sum"),
        revenue_360=("rev360", "sum"),
    ).reset_index()  # fmt: skip
    no_entry = int(g.loc[g["entry_product"].isna(), "customers"].sum())
    g = g[g["entry_product"].notna()]
    small = int(g.loc[g["customers"] < min_customers, "customers"].sum())
    g = g[g["customers"] >= min_customers].copy()
    for n in (90, 360):
        seen = g[f"customers_{n}"].where(g[f"customers_{n}"] > 0)
        g[f"f2_rate_{n}"] = g[f"f2_{n}"] / seen
    g["revenue_per_customer_360"] = g["revenue_360"] / g["customers_360"].where(
        g["customers_360"] > 0
    )
    named = li[li["product_name"].notna() & (li["product_name"].str.strip() != "")]
    n = named.groupby(["product_id", "product_name"]).size().rename("n").reset_index()
    n = n.sort_values(["product_id", "n", "product_name"], ascending=[True, False, True])
    names = n.drop_duplicates("product_id").set_index("product_id")["product_name"]
    g["product_name"] = g["entry_product"].map(names)
    g = g.sort_values(["customers", "entry_product"], ascending=[False, True])
    g = g.reset_index(drop=True)
    g.attrs.update(no_entry=no_entry, small=small, censored_customers=n_censored)
    g.attrs["censored_cohort"] = None if cohort is None else str(cohort)
    return g


def product_conversion(
    lines: pd.DataFrame,
    *,
    as_of: Any,
    min_customers: int = 30,
    top: int = 5,
    exclude_ids: Sequence[str] = (),
    exclude_pattern: str | None = None,
    export_complete: bool = False,
) -> pd.DataFrame:
    """P(second purchase holds product Y | entry product X), the ``top`` Y per X.

    Unless ``export_complete``, customers first seen in the export's first month are left out.
    """
    li, p, entry = _entries(lines, as_of, exclude_ids, exclude_pattern)
    cohort = None if export_complete else pd.Timestamp(lines["ordered_at"].min()).to_period("M")
    n_censored = 0
    if cohort is not None:
        first = p[p["k"] == 0]
        out = first.loc[first["order_date"].dt.to_period("M") == cohort, "customer_id"]
        n_censored = len(out)
        p, entry = p[~p["customer_id"].isin(out)], entry[~entry["customer_id"].isin(out)]
    second = p[p["k"] == 1][["customer_id", "order_id"]]
    held = li.merge(second).groupby(["customer_id", "product_id"])["amount"].sum().reset_index()
    held = held[held["amount"] > 0].rename(columns={"product_id": "second_product"})
    base = entry.merge(second[["customer_id"]])
    size = base.groupby("entry_product").size().rename("customers").reset_index()
    size = size[size["customers"] >= min_customers]
    pairs = base.merge(held[["customer_id", "second_product"]])
    pairs = pairs.groupby(["entry_product", "second_product"]).size()
    pairs = pairs.rename("customers_both").reset_index().merge(size)
    pairs["probability"] = pairs["customers_both"] / pairs["customers"]
    pairs = pairs.sort_values(
        ["customers", "entry_product", "probability", "second_product"],
        ascending=[False, True, False, True],
    )
    pairs = pairs.groupby("entry_product", sort=False).head(top)
    cols = ["entry_product", "second_product", "customers", "customers_both", "probability"]
    pairs = pairs[cols].reset_index(drop=True)
    pairs.attrs.update(censored_customers=n_censored)
    pairs.attrs["censored_cohort"] = None if cohort is None else str(cohort)
    return pairs


def cross_purchase_products(
    lines: pd.DataFrame,
    *,
    as_of: Any,
    min_customers: int = 30,
    exclude_ids: Sequence[str] = (),
    exclude_pattern: str | None = None,
) -> pd.DataFrame:
    """Pairs of products bought (net > 0) by one customer in the 12 months to as_of."""
    d = _day(as_of)
    start = d - pd.DateOffset(months=12) + pd.Timedelta(days=1)
    li = product_lines(lines, d, exclude_ids, exclude_pattern)
    li = li[li["ordered_at"] >= start]
    cp = li.groupby(["customer_id", "product_id"])["amount"].sum().reset_index()
    cp = cp[cp["amount"] > 0][["customer_id", "product_id"]]
    n = cp["customer_id"].nunique()
    per = cp.groupby("product_id").size().rename("customers")
    big = per[per >= min_customers]
    cp = cp[cp["product_id"].isin(big.index)]
    pairs = cp.merge(cp, on="customer_id", suffixes=("_a", "_b"))
    pairs = pairs[pairs["product_id_a"] < pairs["product_id_b"]]
    pairs = pairs.groupby(["product_id_a", "product_id_b"]).size().rename("customers_both")
    pairs = pairs[pairs >= min_customers].reset_index()
    pairs = pairs.rename(columns={"product_id_a": "product_a", "product_id_b": "product_b"})
    # every product of a pair is in big; int64 also when no pair is left (an empty map is str)
    pairs["customers_a"] = pairs["product_a"].map(big).astype("int64")
    pairs["customers_b"] = pairs["product_b"].map(big).astype("int64")
    pairs["support"] = pairs["customers_both"] / n
    pairs["confidence_ab"] = pairs["customers_both"] / pairs["customers_a"]
    pairs["confidence_ba"] = pairs["customers_both"] / pairs["customers_b"]
    pairs["lift"] = pairs["customers_both"] * n / (pairs["customers_a"] * pairs["customers_b"])
    pairs = pairs.sort_values(
        ["lift", "customers_both", "product_a", "product_b"], ascending=[False, False, True, True]
    )
    pairs = pairs.reset_index(drop=True)
    pairs.attrs["customers"] = n
    return pairs


# ----------------------------------------------------------------------------- KPIs


def cross_sell_monthly(lines: pd.DataFrame, *, as_of: Any, months: int = 24) -> pd.DataFrame:
    """Per month end: buyers in the 12 months to it, and those with ≥ 2 categories (net > 0)."""
    d = _day(as_of)
    o = order_totals(lines, d)
    buys = o[o["is_purchase"]][["customer_id", "order_date"]]
    li = upto(lines, d)
    li = li[li["customer_id"].notna() & li["category"].notna()]
    li = li.assign(order_date=li["ordered_at"].dt.normalize())
    now = pd.Period(d, "M")
    rows = []
    for p in pd.period_range(now - (months - 1), now, freq="M"):
        end = min(p.end_time.normalize(), d)
        start = end - pd.DateOffset(months=12) + pd.Timedelta(days=1)
        buyers = set(buys.loc[buys["order_date"].between(start, end), "customer_id"])
        w = li[li["order_date"].between(start, end)]
        net = w.groupby(["customer_id", "category"])["amount"].sum()
        cats = net[net > 0].reset_index().groupby("customer_id").size()
        cross = set(cats[cats >= 2].index) & buyers
        rows.append(
            {
                "month": p.start_time,
                "month_end": end,
                "customers": len(buyers),
                "cross_buyers": len(cross),
            }
        )
    out = pd.DataFrame(rows)
    out["cross_sell_rate"] = out["cross_buyers"] / out["customers"].where(out["customers"] > 0)
    return out


def _log_mean(a: float, b: float) -> float:
    return (a + b) / 2 if math.isclose(a, b, rel_tol=1e-12) else (a - b) / (math.log(a / b))


def revenue_change(lines: pd.DataFrame, *, as_of: Any, compare: str = "month") -> pd.DataFrame:
    """The month's revenue change split into new / repeat × customers, frequency, AOV (LMDI)."""
    d = _day(as_of)
    now = d.to_period("M")
    base = now - (1 if compare == "month" else 12)
    o = order_totals(lines, d, customers_only=False)
    fp = o[o["is_purchase"] & o["customer_id"].notna()].groupby("customer_id")["order_date"].min()
    o["month"] = o["ordered_at"].dt.to_period("M")
    o = o[o["month"].isin([base, now])].copy()
    first_month = o["customer_id"].map(fp.dt.to_period("M"))
    o["part"] = np.select(
        [o["customer_id"].notna() & (first_month == o["month"]),
         o["customer_id"].notna() & (first_month < o["month"])],
        ["new", "repeat"], "other",
    )  # fmt: skip
    o["buyer"] = o["customer_id"].where(o["is_purchase"])
    g = o.groupby(["month", "part"]).agg(
        revenue=("amount", "sum"), purchases=("is_purchase", "sum"), customers=("buyer", "nunique")
    )

    def get(m: pd.Period, part: str, col: str) -> float:
        return float(g[col].get((m, part), 0.0))

    rows = []
    for part in ("new", "repeat"):
        x = {}
        for m in (base, now):
            c, n, r = (get(m, part, k) for k in ("customers", "purchases", "revenue"))
            x[m] = [c, n / c if c > 0 else np.nan, r / n if n > 0 else np.nan]
        v0, v1 = get(base, part, "revenue"), get(now, part, "revenue")
        ok = v0 > 0 and v1 > 0 and all(v > 0 for m in (base, now) for v in x[m])
        for i, f in enumerate(("customers", "purchases_per_customer", "aov")):
            if ok:
                contribution = _log_mean(v1, v0) * math.log(x[now][i] / x[base][i])
            else:
                contribution = (v1 - v0) if i == 0 else 0.0
            rows.append(
                {
                    "part": part, "factor": f, "before": x[base][i], "after": x[now][i],
                    "contribution": contribution, "method": "lmdi" if ok else "no_split",
                }
            )  # fmt: skip
    t0 = float(g.loc[base, "revenue"].sum()) if base in g.index.get_level_values(0) else 0.0
    t1 = float(g.loc[now, "revenue"].sum()) if now in g.index.get_level_values(0) else 0.0
    o0, o1 = get(base, "other", "revenue"), get(now, "other", "revenue")
    rows.append({"part": "other", "factor": "revenue", "before": o0, "after": o1,
                 "contribution": o1 - o0, "method": "sum"})  # fmt: skip
    rows.append({"part": "total", "factor": "revenue", "before": t0, "after": t1,
                 "contribution": t1 - t0, "method": "sum"})  # fmt: skip
    out = pd.DataFrame(rows)
    out.insert(0, "base_month", str(base))
    out.insert(0, "month", str(now))
    return out


# ----------------------------------------------------------------------------- agreement

#: How each ecrm table is compared with its reference: (join keys, exact columns,
#: float columns compared to a relative 1e-9).
COMPARE: dict[str, tuple[list[str], list[str], list[str]]] = {
    "deliveries": (["subscription_id", "delivery_no"], ["order_id", "customer_id"], ["amount"]),
    "continuation": (["n"], ["label", "reached", "continued", "cancelled", "pending"],
                     ["continuation_rate", "survival"]),
    "subscription_monthly": (["month"], ["active", "new", "cancelled"], ["cancellation_rate"]),
    "lifetimes": (["t", "censored"], ["count"], []),
    "project": ([], ["subscriptions", "horizon"],
                ["alpha", "beta", "expected_deliveries", "mean_delivery_value", "subscriber_ltv"]),
    "acquisition": (["month", "channel", "days"], ["new_customers", "repeaters"],
                    ["revenue", "ltv", "f2_rate", "cost", "cac", "ltv_cac", "roas"]),
    "entry_products": (["entry_product"], ["product_name", "customers", "customers_90",
                       "customers_360"], ["f2_rate_90", "f2_rate_360", "revenue_per_customer_360"]),
    "product_conversion": (["entry_product", "second_product"], ["customers", "customers_both"],
                           ["probability"]),
    "cross_purchase_products": (["product_a", "product_b"], ["customers_a", "customers_b",
                                "customers_both"], ["support", "confidence_ab", "confidence_ba",
                                "lift"]),
    "cross_sell_monthly": (["month_end"], ["customers", "cross_buyers"], ["cross_sell_rate"]),
    "revenue_change": (["part", "factor"], ["month", "base_month", "method"],
                       ["before", "after", "contribution"]),
}  # fmt: skip


def _keys(t: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Each row's key columns joined into one string (an empty Series for no rows)."""
    if t.empty:  # agg over no rows gives a frame, not a Series
        return pd.Series([], dtype=object)
    return t[keys].astype(str).agg("|".join, axis=1)


def differences(name: str, ecrm: pd.DataFrame, ref: pd.DataFrame) -> list[str]:
    """Every disagreement between ecrm's table and the reference's (empty: they agree).

    Rows are matched on the keys (both must have the same key set, and ecrm's
    row order must be the reference's); exact columns must be equal (missing
    equal to missing), float columns within a relative 1e-9 (NaN equal to NaN).
    """
    keys, exact, floats = COMPARE[name]
    problems: list[str] = []
    e, r = ecrm.reset_index(drop=True), ref.reset_index(drop=True)
    if len(e) != len(r):
        problems.append(f"{name}: {len(e)} rows in ecrm, {len(r)} in pandas")
    if keys:
        ke, kr = _keys(e, keys), _keys(r, keys)
        if set(ke) != set(kr):
            only = sorted(set(ke) ^ set(kr))[:3]
            problems.append(f"{name}: keys differ, e.g. {only}")
            return problems
        if ke.tolist() != kr.tolist():
            problems.append(f"{name}: row order differs")
        r = r.set_index(kr).loc[ke].reset_index(drop=True)
    for c in exact:
        a, b = e[c].astype(object), r[c].astype(object)
        same = (a.isna() & b.isna()) | (a.astype(str) == b.astype(str))
        if not same.all():
            i = int(np.flatnonzero(~same.to_numpy())[0])
            problems.append(
                f"{name}.{c}: {int((~same).sum())} cells differ, e.g. {a[i]!r} vs {b[i]!r}"
            )
    for c in floats:
        a = pd.to_numeric(e[c].astype("Float64"), errors="coerce").to_numpy(
            "float64", na_value=np.nan
        )
        b = pd.to_numeric(r[c].astype("Float64"), errors="coerce").to_numpy(
            "float64", na_value=np.nan
        )
        same = np.isclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True)
        if not same.all():
            i = int(np.flatnonzero(~same)[0])
            problems.append(
                f"{name}.{c}: {int((~same).sum())} cells differ, e.g. {a[i]!r} vs {b[i]!r}"
            )
    return problems
