"""Plain-pandas reference implementation of ecrm's segment analyses.

Written from SPEC §1–§3 and the public docstrings of ecrm only, to check ecrm's
engine (Ibis/DuckDB, one-pass month-end snapshots) against an independent and
obviously-correct computation. It imports nothing from ecrm.

Conventions
-----------
* Money is held as exact integers of 1/10,000 of the currency unit (column
  ``_units``), converted from the input's float or Decimal amounts through their
  decimal text, so that bins (M score, CPM spend cut-off) are exact. Money in the
  returned tables is float (units / 10,000), as ecrm returns it.
* Days are calendar days: ``ordered_at`` normalised to midnight (shop-local wall
  time; a time zone, if any, is dropped after conversion to local time).
* Month-end tables are computed from scratch: every month end re-runs the
  per-customer computation with that month end as ``as_of``.
"""

from __future__ import annotations

import itertools
import math
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pandas as pd

SCALE = 10_000  # money units per currency unit (decimal(18, 4))

ATTRIBUTES = {
    "category": "first_category",
    "taste": "first_taste",
    "brand": "first_brand",
    "channel": "first_channel",
    "product_id": "first_product",
}

# Settings defaults (SPEC §3).
RFM_RECENCY = (30, 90, 180, 365)  # upper inclusive edges of R = 5, 4, 3, 2
RFM_FREQUENCY = (1, 2, 4, 9)  # upper inclusive edges of F = 1, 2, 3, 4
RFM_MONETARY = (5_000, 10_000, 30_000, 100_000)  # lower inclusive edges of M = 2..5
RFM_SEGMENT_MAP: dict[str, list[str]] = {  # the documented default map of ecrm.rfm
    "champions": ["54", "55"],
    "loyal_customers": ["34", "35", "44", "45"],
    "potential_loyalists": ["42", "43", "52", "53"],
    "new_customers": ["51"],
    "promising": ["41"],
    "need_attention": ["33"],
    "about_to_sleep": ["31", "32"],
    "at_risk": ["13", "14", "23", "24"],
    "cannot_lose": ["15", "25"],
    "hibernating": ["21", "22"],
    "lost": ["11", "12"],
}
CPM_LAPSE_DAYS = 240
CPM_TENURE = (90, 210)
CPM_SPEND = 70_000
CPM_STAGES = ("first", "toddler", "steady", "fad", "loyal")
CPM_SEGMENTS = tuple(f"{st}_{state}" for state in ("active", "lapsed") for st in CPM_STAGES)
LC_ACTIVE_DAYS = 120
LC_CHURN_DAYS = 360
LC_SEGMENTS = ("new", "first_repeat", "repeat", "vip", "dormant", "churned")
RATE_KPIS = frozenset({"repeat_rate", "f2_rate", "lapse_rate", "cross_sell_rate"})
KPIS = (
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


# --------------------------------------------------------------------------- calendar


def day(d) -> pd.Timestamp:
    """A date as a midnight Timestamp."""
    return pd.Timestamp(d).normalize()


def month_start(d) -> pd.Timestamp:
    return day(d).replace(day=1)


def month_end(d) -> pd.Timestamp:
    return day(d) + pd.offsets.MonthEnd(0)


def shift_months(d, months: int) -> pd.Timestamp:
    """``d`` moved by whole months, the day clipped to the month's length."""
    return day(d) + pd.DateOffset(months=months)


def period_start(as_of, months: int) -> pd.Timestamp:
    """First day of "the ``months`` months to as_of": the day after as_of − months."""
    return shift_months(as_of, -months) + pd.Timedelta(days=1)


def month_ends(as_of, n: int) -> list[pd.Timestamp]:
    """as_of and the ends of the n − 1 months before it, oldest first."""
    first = month_start(as_of)
    return [month_end(shift_months(first, -k)) for k in range(n - 1, 0, -1)] + [day(as_of)]


def equal_groups(n: int, k: int) -> np.ndarray:
    """Group numbers 1..k for n ranked items: sizes differ by at most one, larger first."""
    sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
    return np.repeat(np.arange(1, k + 1), sizes)


# --------------------------------------------------------------------------- orders


def _to_units(x) -> int:
    d = x if isinstance(x, Decimal) else Decimal(str(float(x)))
    return int((d * SCALE).to_integral_value(rounding=ROUND_HALF_EVEN))


def prepare(orders: pd.DataFrame) -> pd.DataFrame:
    """Canonical lines with ``_units`` (exact money) and ``_day`` (calendar day).

    Guest lines (customer_id null or empty) get customer_id None. Idempotent.
    """
    if "_units" in orders.columns:
        return orders
    out = orders.copy()
    out["order_id"] = out["order_id"].astype(str)
    cid = out["customer_id"].astype(object)
    cid = cid.where(cid.notna(), None)
    out["customer_id"] = [None if c is None or str(c) == "" else str(c) for c in cid]
    ts = pd.to_datetime(out["ordered_at"])
    if ts.dt.tz is not None:
        ts = ts.dt.tz_localize(None)
    out["ordered_at"] = ts
    out["_day"] = ts.dt.normalize()
    out["_units"] = out["amount"].map(_to_units).astype("int64")
    return out


def order_totals(orders, as_of, *, customers_only: bool = True) -> pd.DataFrame:
    """One row per order up to as_of: order_id, customer_id, ordered_at, _day, _units,
    is_purchase (net amount > 0)."""
    lines = prepare(orders)
    lines = lines[lines["_day"] <= day(as_of)]
    if customers_only:
        lines = lines[lines["customer_id"].notna()]
    g = lines.groupby("order_id", sort=True)
    ot = pd.DataFrame(
        {
            "customer_id": g["customer_id"].first(),
            "ordered_at": g["ordered_at"].min(),
            "_units": g["_units"].sum(),
        }
    ).reset_index()
    ot["_day"] = ot["ordered_at"].dt.normalize()
    ot["is_purchase"] = ot["_units"] > 0
    return ot


def _money(units) -> pd.Series | float:
    return units / SCALE


# --------------------------------------------------------------------------- measures


def measures(orders, as_of) -> pd.DataFrame:
    """Customer measures at as_of (SPEC §2), sorted by customer_id.

    Columns: customer_id, first_purchase, last_purchase, frequency, monetary,
    recency_days, tenure_days, aov, first_* attributes, and ``_units`` (monetary
    in exact units).
    """
    lines = prepare(orders)
    as_of = day(as_of)
    ot = order_totals(lines, as_of)
    purchases = ot[ot["is_purchase"]]
    per = purchases.groupby("customer_id").agg(
        first_purchase=("_day", "min"),
        last_purchase=("_day", "max"),
        frequency=("order_id", "size"),
    )
    per["_units"] = ot.groupby("customer_id")["_units"].sum().reindex(per.index)
    per = per.reset_index().sort_values("customer_id", ignore_index=True)
    per["frequency"] = per["frequency"].astype("int64")
    per["monetary"] = _money(per["_units"])
    per["recency_days"] = (as_of - per["last_purchase"]).dt.days.astype("int64")
    per["tenure_days"] = (per["last_purchase"] - per["first_purchase"]).dt.days.astype("int64")
    per["aov"] = per["_units"] / per["frequency"] / SCALE

    # First purchase: earliest by ordered_at then order_id; its largest line, ties by
    # product_id.
    first_orders = purchases.sort_values(["customer_id", "ordered_at", "order_id"])
    first_orders = first_orders.drop_duplicates("customer_id")[["customer_id", "order_id"]]
    attrs = [c for c in ATTRIBUTES if c in lines.columns]
    if attrs:
        fl = lines.merge(first_orders, on=["customer_id", "order_id"])
        keys = ["customer_id", "_units"] + (["product_id"] if "product_id" in fl else [])
        asc = [True, False] + ([True] if "product_id" in fl else [])
        fl = fl.sort_values(keys, ascending=asc).drop_duplicates("customer_id")
        fl = fl[["customer_id", *attrs]].rename(columns=ATTRIBUTES)
        per = per.merge(fl, on="customer_id", how="left")
    return per


# --------------------------------------------------------------------------- RFM


def _quantile_score(df: pd.DataFrame, column: str, best_low: bool) -> np.ndarray:
    """Quintile score 5 (best) … 1 by rank, equal-size rule, ties by customer_id."""
    ranked = df.sort_values([column, "customer_id"], ascending=[best_low, True])
    score = pd.Series(6 - equal_groups(len(ranked), 5), index=ranked.index)
    return score.reindex(df.index).to_numpy()


def rfm(orders, as_of, *, method: str = "fixed", segment_map=None) -> pd.DataFrame:
    """Measures plus r, f, m, rfm and segment."""
    per = measures(orders, as_of)
    if method == "fixed":
        rec, freq, units = per["recency_days"], per["frequency"], per["_units"]
        e = RFM_RECENCY
        per["r"] = np.select([rec <= e[0], rec <= e[1], rec <= e[2], rec <= e[3]], [5, 4, 3, 2], 1)
        e = RFM_FREQUENCY
        per["f"] = np.select(
            [freq <= e[0], freq <= e[1], freq <= e[2], freq <= e[3]], [1, 2, 3, 4], 5
        )
        e = [x * SCALE for x in RFM_MONETARY]
        per["m"] = np.select(
            [units < e[0], units < e[1], units < e[2], units < e[3]], [1, 2, 3, 4], 5
        )
    elif method == "quantile":
        per["r"] = _quantile_score(per, "recency_days", best_low=True)
        per["f"] = _quantile_score(per, "frequency", best_low=False)
        per["m"] = _quantile_score(per, "_units", best_low=False)
    else:
        raise ValueError(method)
    for c in ("r", "f", "m"):
        per[c] = per[c].astype("int64")
    per["rfm"] = per["r"].astype(str) + per["f"].astype(str) + per["m"].astype(str)
    cell_to_segment = {
        cell: seg for seg, cells in (segment_map or RFM_SEGMENT_MAP).items() for cell in cells
    }
    per["segment"] = (per["r"].astype(str) + per["f"].astype(str)).map(cell_to_segment)
    return per


def _groups(df: pd.DataFrame, by: str | None):
    if by is None:
        return [(None, df)]
    return list(df.groupby(by, sort=True, dropna=False))


def _fsum(values) -> float:
    return math.fsum(float(v) for v in values)


def rfm_grid(scores: pd.DataFrame, *, by: str | None = None) -> pd.DataFrame:
    rows = []
    for key, g in _groups(scores, by):
        for r in range(1, 6):
            for f in range(1, 6):
                cell = g[(g["r"] == r) & (g["f"] == f)]
                n = len(cell)
                revenue = _fsum(cell["monetary"])
                row = {"r": r, "f": f, "customers": n, "revenue": revenue}
                row["avg_monetary"] = revenue / n if n else np.nan
                rows.append(({by: key} if by else {}) | row)
    return pd.DataFrame(rows)


def rfm_segments(scores: pd.DataFrame, *, by: str | None = None) -> pd.DataFrame:
    """Non-empty segments in map order with customers, shares and revenue."""
    rows = []
    for key, g in _groups(scores, by):
        total_n, total_rev = len(g), _fsum(g["monetary"])
        for seg in RFM_SEGMENT_MAP:
            s = g[g["segment"] == seg]
            if s.empty:
                continue
            rev = _fsum(s["monetary"])
            row = {
                "segment": seg,
                "customers": len(s),
                "share": len(s) / total_n,
                "revenue": rev,
                "revenue_share": rev / total_rev if total_rev else np.nan,
                "avg_monetary": rev / len(s),
            }
            rows.append(({by: key} if by else {}) | row)
    return pd.DataFrame(rows)


def _migrate(start_segments: pd.DataFrame, end_segments: pd.DataFrame) -> pd.DataFrame:
    """Per customer: from_segment (or "none") and to_segment (or "none")."""
    m = start_segments[["customer_id", "segment"]].merge(
        end_segments[["customer_id", "segment"]],
        on="customer_id",
        how="outer",
        suffixes=("_from", "_to"),
    )
    return pd.DataFrame(
        {
            "customer_id": m["customer_id"],
            "from_segment": m["segment_from"].fillna("none"),
            "to_segment": m["segment_to"].fillna("none"),
        }
    )


def rfm_migration(orders, *, start, end, method: str = "fixed") -> pd.DataFrame:
    """Non-zero (from_segment, to_segment) pairs with customers and shares."""
    lines = prepare(orders)
    moved = _migrate(rfm(lines, start, method=method), rfm(lines, end, method=method))
    out = moved.groupby(["from_segment", "to_segment"]).size().rename("customers").reset_index()
    out["share_of_from"] = out["customers"] / out.groupby("from_segment")["customers"].transform(
        "sum"
    )
    out["share_of_to"] = out["customers"] / out.groupby("to_segment")["customers"].transform("sum")
    return out


# --------------------------------------------------------------------------- decile


def decile_assignments(
    orders, as_of, *, months: int = 12, groups: int = 10, by: str | None = None
) -> pd.DataFrame:
    """customer_id, [by,] revenue, purchases, decile (+ ``_units``)."""
    lines = prepare(orders)
    as_of = day(as_of)
    ot = order_totals(lines, as_of)
    ot = ot[ot["_day"] >= period_start(as_of, months)]
    per = ot.groupby("customer_id").agg(_units=("_units", "sum"), purchases=("is_purchase", "sum"))
    per = per[per["purchases"] > 0].reset_index()
    per["purchases"] = per["purchases"].astype("int64")
    if by is not None:
        per = per.merge(measures(lines, as_of)[["customer_id", by]], on="customer_id", how="left")
    per = per.sort_values(["_units", "customer_id"], ascending=[False, True])
    parts = []
    for _, g in _groups(per, by):
        g = g.copy()
        g["decile"] = equal_groups(len(g), groups)
        parts.append(g)
    cols = ["customer_id", *([by] if by else []), "_units", "purchases", "decile"]
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    out["revenue"] = _money(out["_units"])
    keys = ([by] if by else []) + ["decile", "_units", "customer_id"]
    asc = ([True] if by else []) + [True, False, True]
    out = out.sort_values(keys, ascending=asc, ignore_index=True)
    return out[["customer_id", *([by] if by else []), "revenue", "purchases", "decile", "_units"]]


def decile_table(
    orders, as_of, *, months: int = 12, groups: int = 10, by: str | None = None
) -> pd.DataFrame:
    a = decile_assignments(orders, as_of, months=months, groups=groups, by=by)
    rows = []
    for key, g in _groups(a, by):
        total = int(g["_units"].sum())
        cumulative = 0
        for dec, d in g.groupby("decile", sort=True):
            units = int(d["_units"].sum())
            cumulative += units
            row = {
                "decile": int(dec),
                "customers": len(d),
                "revenue": units / SCALE,
                "revenue_share": units / total,
                "cumulative_share": cumulative / total,
                "avg_revenue": units / len(d) / SCALE,
                "min_revenue": d["_units"].min() / SCALE,
                "max_revenue": d["_units"].max() / SCALE,
                "avg_purchases": d["purchases"].sum() / len(d),
            }
            rows.append(({by: key} if by else {}) | row)
    return pd.DataFrame(rows)


def pareto_curve(assignments: pd.DataFrame, *, points: int = 100) -> pd.DataFrame:
    """Cumulative revenue share of the top x share of customers (linear between
    whole customers; exact wherever x · n is a whole number)."""
    revenue = np.sort(assignments["revenue"].to_numpy(dtype=float))[::-1]
    n = len(revenue)
    cumulative = np.concatenate([[0.0], np.cumsum(revenue)])
    x = np.arange(points + 1) / points
    y = np.interp(x * n, np.arange(n + 1), cumulative) / cumulative[-1]
    return pd.DataFrame({"customer_share": x, "revenue_share": y})


def decile_migration(orders, as_of, *, months: int = 12, groups: int = 10) -> pd.DataFrame:
    """from_decile, to_decile, customers: every pair of the (groups + 1)² grid."""
    lines = prepare(orders)
    current = decile_assignments(lines, as_of, months=months, groups=groups)
    previous = decile_assignments(lines, shift_months(as_of, -months), months=months, groups=groups)
    moved = _migrate(
        previous.assign(segment=previous["decile"].astype(str)),
        current.assign(segment=current["decile"].astype(str)),
    )
    counts = moved.groupby(["from_segment", "to_segment"]).size()
    labels = [str(i) for i in range(1, groups + 1)] + ["none"]
    rows = [
        {"from_decile": a, "to_decile": b, "customers": int(counts.get((a, b), 0))}
        for a in labels
        for b in labels
    ]
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- segments


def cpm(orders, as_of) -> pd.DataFrame:
    """Measures plus stage, state and segment (``<stage>_<state>``)."""
    per = measures(orders, as_of)
    freq, tenure, units = per["frequency"], per["tenure_days"], per["_units"]
    per["stage"] = np.select(
        [freq == 1, tenure < CPM_TENURE[0], units < CPM_SPEND * SCALE, tenure < CPM_TENURE[1]],
        ["first", "toddler", "steady", "fad"],
        "loyal",
    )
    per["state"] = np.where(per["recency_days"] < CPM_LAPSE_DAYS, "active", "lapsed")
    per["segment"] = per["stage"] + "_" + per["state"]
    return per


def lifecycle(orders, as_of) -> pd.DataFrame:
    """Measures plus segment."""
    per = measures(orders, as_of)
    rec, repeats = per["recency_days"], per["frequency"] - 1
    per["segment"] = np.select(
        [
            rec > LC_CHURN_DAYS,
            rec > LC_ACTIVE_DAYS,
            repeats == 0,
            repeats == 1,
            repeats <= 4,
        ],
        ["churned", "dormant", "new", "first_repeat", "repeat"],
        "vip",
    )
    return per


def summary(per_customer: pd.DataFrame, codes, *, by: str | None = None) -> pd.DataFrame:
    rows = []
    for key, g in _groups(per_customer, by):
        total_n, total_rev = len(g), _fsum(g["monetary"])
        for seg in codes:
            s = g[g["segment"] == seg]
            n, rev = len(s), _fsum(s["monetary"])
            row = {
                "segment": seg,
                "customers": n,
                "share": n / total_n,
                "revenue": rev,
                "revenue_share": rev / total_rev if total_rev else np.nan,
                "avg_monetary": rev / n if n else np.nan,
            }
            rows.append(({by: key} if by else {}) | row)
    return pd.DataFrame(rows)


def cpm_summary(per_customer, *, by=None):
    return summary(per_customer, CPM_SEGMENTS, by=by)


def lifecycle_summary(per_customer, *, by=None):
    return summary(per_customer, LC_SEGMENTS, by=by)


def monthly(orders, as_of, *, months: int, classify, codes, by=None) -> pd.DataFrame:
    """Segment counts per month end, each month end computed from scratch.

    revenue is the net revenue of the segment's customers in that month (from the
    first day of the month end's month up to the month end).
    """
    lines = prepare(orders)
    rows = []
    for end in month_ends(as_of, months):
        per = classify(lines, end)
        ot = order_totals(lines, end)
        in_month = ot[ot["_day"] >= month_start(end)].groupby("customer_id")["_units"].sum()
        per["_period_units"] = in_month.reindex(per["customer_id"]).fillna(0).to_numpy()
        for key, g in _groups(per, by):
            cells = g.groupby("segment").agg(
                customers=("customer_id", "size"),
                units=("_units", "sum"),
                period_units=("_period_units", "sum"),
            )
            cells = cells.reindex(list(codes), fill_value=0)
            for seg, cell in cells.iterrows():
                row = {
                    "month_end": end,
                    "segment": seg,
                    "customers": int(cell["customers"]),
                    "share": cell["customers"] / len(g),
                    "monetary": cell["units"] / SCALE,
                    "revenue": cell["period_units"] / SCALE,
                }
                rows.append(({by: key} if by else {}) | row)
    return pd.DataFrame(rows)


def transitions(orders, pairs, *, classify, codes) -> pd.DataFrame:
    """Full grid ("none" + codes) × codes of customers per pair of dates; a
    customer missing at to_date (which should not happen) adds a "none" row."""
    lines = prepare(orders)
    rows = []
    for a, b in pairs:
        moved = _migrate(classify(lines, a), classify(lines, b))
        counts = moved.groupby(["from_segment", "to_segment"]).size()
        for frm in ("none", *codes):
            for to in codes:
                rows.append(
                    {
                        "from_date": day(a),
                        "to_date": day(b),
                        "from_segment": frm,
                        "to_segment": to,
                        "customers": int(counts.get((frm, to), 0)),
                    }
                )
        for (frm, to), n in counts.items():
            if to not in codes:
                rows.append(
                    {
                        "from_date": day(a),
                        "to_date": day(b),
                        "from_segment": frm,
                        "to_segment": to,
                        "customers": int(n),
                    }
                )
    return pd.DataFrame(rows)


class Memo:
    """A classify function (:func:`cpm`, :func:`lifecycle`) remembered per date for one
    order set, so that several month-end tables share the from-scratch snapshots."""

    def __init__(self, orders, classify) -> None:
        self.lines = prepare(orders)
        self.classify = classify
        self.seen: dict[pd.Timestamp, pd.DataFrame] = {}

    def __call__(self, _orders, as_of) -> pd.DataFrame:
        key = day(as_of)
        if key not in self.seen:
            self.seen[key] = self.classify(self.lines, key)
        return self.seen[key].copy()


def cpm_monthly(orders, as_of, *, months: int = 12, by=None, classify=cpm):
    return monthly(orders, as_of, months=months, classify=classify, codes=CPM_SEGMENTS, by=by)


def lifecycle_monthly(orders, as_of, *, months: int = 12, by=None, classify=lifecycle):
    return monthly(orders, as_of, months=months, classify=classify, codes=LC_SEGMENTS, by=by)


def cpm_movement(frm: str, to: str) -> str:
    """new (from none), lapsed (active → lapsed), reactivated (lapsed → active), else
    up / stayed / down by stage order."""
    if frm == "none":
        return "new"
    stage_from, state_from = frm.split("_")
    stage_to, state_to = to.split("_")
    if state_from == "active" and state_to == "lapsed":
        return "lapsed"
    if state_from == "lapsed" and state_to == "active":
        return "reactivated"
    a, b = CPM_STAGES.index(stage_from), CPM_STAGES.index(stage_to)
    return "up" if b > a else "down" if b < a else "stayed"


def transition_pairs(as_of, compare: str, months: int = 12):
    ends = month_ends(as_of, months + 1)
    if compare == "month":
        return [(ends[-2], ends[-1])]
    if compare == "year":
        return [(month_ends(as_of, 13)[0], day(as_of))]
    if compare == "all":
        return list(itertools.pairwise(ends))
    raise ValueError(compare)


def cpm_transitions(orders, as_of, *, compare: str = "month", months: int = 12, classify=cpm):
    out = transitions(
        orders, transition_pairs(as_of, compare, months), classify=classify, codes=CPM_SEGMENTS
    )
    out["movement"] = [
        cpm_movement(a, b) for a, b in zip(out["from_segment"], out["to_segment"], strict=True)
    ]
    return out


def lifecycle_transitions(orders, as_of, *, months: int = 12, classify=lifecycle):
    return transitions(
        orders, transition_pairs(as_of, "all", months), classify=classify, codes=LC_SEGMENTS
    )


# --------------------------------------------------------------------------- KPIs


def _ratio(a, b) -> float:
    return a / b if b else np.nan


def kpi_wide(
    orders,
    as_of,
    *,
    months: int = 24,
    f2_days: int = 90,
    f2_lag_months: int = 3,
    ltv_lag_months: int = 12,
    lapse_days: int = CPM_LAPSE_DAYS,
    horizon_days: int = 360,
    export_complete: bool = False,
) -> pd.DataFrame:
    """One row per calendar month (the last one ends at as_of), one column per KPI.

    Unless ``export_complete``, the export's first month (of its earliest line,
    guests and returns included) is left-censored (SPEC §3 Cohort): that month's
    new/repeat figures and the F2 / 12-month LTV of its cohort are NaN.
    """
    lines = prepare(orders)
    as_of = day(as_of)
    everything = order_totals(lines, as_of, customers_only=False)
    ot = everything[everything["customer_id"].notna()]
    purchases = ot[ot["is_purchase"]].sort_values(["customer_id", "ordered_at", "order_id"])
    first = purchases.groupby("customer_id")["_day"].first()
    second = purchases.groupby("customer_id")["_day"].nth(1)
    second = pd.Series(second.to_numpy(), index=purchases.loc[second.index, "customer_id"])
    ot = ot.assign(_first=ot["customer_id"].map(first))

    def cohort(start: pd.Timestamp) -> pd.Index:
        return first.index[(first >= start) & (first <= month_end(start))]

    def last_purchase(at: pd.Timestamp) -> pd.Series:
        return purchases[purchases["_day"] <= at].groupby("customer_id")["_day"].max()

    rows = []
    for k in range(months - 1, -1, -1):
        start = shift_months(month_start(as_of), -k)
        end = month_end(start) if k else as_of
        month_all = everything[(everything["_day"] >= start) & (everything["_day"] <= end)]
        month = ot[(ot["_day"] >= start) & (ot["_day"] <= end)]
        month_purchases = month[month["is_purchase"]]
        buyers = set(month_purchases["customer_id"])
        new = {c for c in buyers if first[c] >= start}
        repeat = buyers - new
        new_rev = month.loc[month["_first"].between(start, end), "_units"].sum()
        repeat_rev = month.loc[month["_first"] < start, "_units"].sum()
        revenue = month_all["_units"].sum()
        n_orders = int(month_all["is_purchase"].sum())

        f2_cohort = cohort(shift_months(start, -f2_lag_months))
        s = second.reindex(f2_cohort)
        f2_hits = ((s - first[f2_cohort]).dt.days <= f2_days) & (s <= end)
        ltv_cohort = cohort(shift_months(start, -ltv_lag_months))
        # "Within d days of D" (SPEC §1): a day whose difference from D is at most d;
        # a customer's orders before the first purchase (returns, zero-value orders)
        # are part of the net revenue, as in monetary.
        in_ltv = ot[
            ot["customer_id"].isin(ltv_cohort)
            & (ot["_day"] <= end)
            & ((ot["_day"] - ot["_first"]).dt.days >= 0)
            & ((ot["_day"] - ot["_first"]).dt.days <= horizon_days)
        ]
        prev_end = start - pd.Timedelta(days=1)
        last_prev, last_now = last_purchase(prev_end), last_purchase(end)
        active_prev = last_prev.index[(prev_end - last_prev).dt.days < lapse_days]
        lapsed_now = (end - last_now.reindex(active_prev)).dt.days >= lapse_days

        # cross-sell: buyers of the 12 months to `end` with net > 0 in 2+ categories
        win_lo = shift_months(end, -12)
        in_win = ot[ot["is_purchase"] & (ot["_day"] > win_lo) & (ot["_day"] <= end)]
        buyers12 = set(in_win["customer_id"])
        if "category" in lines.columns:
            cl = lines[lines["customer_id"].notna() & lines["category"].notna()]
            cl = cl[(cl["_day"] > win_lo) & (cl["_day"] <= end)]
            net = cl.groupby(["customer_id", "category"])["_units"].sum()
            ncat = (net[net > 0]).groupby(level="customer_id").size()
            cross = len(buyers12 & set(ncat.index[ncat >= 2]))
            cross_rate = _ratio(cross, len(buyers12))
        else:
            cross_rate = float("nan")

        rows.append(
            {
                "month": start,
                "month_end": end,
                "revenue": revenue / SCALE,
                "orders": n_orders,
                "customers": len(buyers),
                "new_customers": len(new),
                "repeat_customers": len(repeat),
                "new_revenue": new_rev / SCALE,
                "repeat_revenue": repeat_rev / SCALE,
                "aov": _ratio(revenue / SCALE, n_orders),
                "purchases_per_customer": _ratio(len(month_purchases), len(buyers)),
                "repeat_rate": _ratio(len(repeat), len(buyers)),
                "f2_rate": _ratio(int(f2_hits.sum()), len(f2_cohort)),
                "lapse_rate": _ratio(int(lapsed_now.sum()), len(active_prev)),
                "ltv_12m": _ratio(in_ltv["_units"].sum() / SCALE, len(ltv_cohort)),
                "cross_sell_rate": cross_rate,
            }
        )
    out = pd.DataFrame(rows)
    if not export_complete and len(lines):
        first_month = month_start(lines["_day"].min())
        split = ["new_customers", "repeat_customers", "new_revenue", "repeat_revenue"]
        out.loc[out["month"] == first_month, [*split, "repeat_rate"]] = np.nan
        out.loc[out["month"] == shift_months(first_month, f2_lag_months), "f2_rate"] = np.nan
        out.loc[out["month"] == shift_months(first_month, ltv_lag_months), "ltv_12m"] = np.nan
    return out


def _change(value: float, earlier: float, kpi: str) -> float:
    if pd.isna(value) or pd.isna(earlier):
        return np.nan
    if kpi in RATE_KPIS:
        return value - earlier
    return value / earlier - 1 if earlier else np.nan


def kpi_table(orders, as_of, *, months: int = 24, wide: pd.DataFrame | None = None, **kwargs):
    """Tidy KPIs of the last ``months`` months with the previous month's and the
    previous year's values (taken from before the window where needed).

    ``wide``: :func:`kpi_wide` of the same orders and as_of over ``months + 12``
    months, if already computed.
    """
    if wide is None:
        wide = kpi_wide(orders, as_of, months=months + 12, **kwargs)
    wide = wide.reset_index(drop=True)
    rows = []
    for i in range(len(wide) - months, len(wide)):
        for kpi in KPIS:
            value = wide.at[i, kpi]
            prev_month, prev_year = wide.at[i - 1, kpi], wide.at[i - 12, kpi]
            rows.append(
                {
                    "month": wide.at[i, "month"],
                    "month_end": wide.at[i, "month_end"],
                    "kpi": kpi,
                    "value": value,
                    "prev_month": prev_month,
                    "mom": _change(value, prev_month, kpi),
                    "prev_year": prev_year,
                    "yoy": _change(value, prev_year, kpi),
                    "change": "points" if kpi in RATE_KPIS else "ratio",
                }
            )
    return pd.DataFrame(rows)
