"""The month's findings (SPEC §4 index): what moved, ranked by the revenue at stake.

:func:`findings` reads the analyses (:func:`ecrm.analysis.kpi.kpi_table`,
:func:`ecrm.analysis.cpm.cpm`, :func:`ecrm.analysis.lifecycle.lifecycle`,
:func:`ecrm.analysis.ctb.first_purchase_ctb`) at ``as_of`` and at the previous
month end and applies the rules below. Every threshold comes from the shop's
``findings:`` settings (:class:`~ecrm.settings.FindingsSettings`; defaults in
brackets). A finding's ``effect`` is the estimated revenue at stake in the
shop's currency, always ≥ 0; the findings are ranked by it (ties by the rule
order below) and at most ``max_findings`` [7] are kept. A quiet month has
none.

Rules
-----
``segment_jump`` / ``segment_drop`` (page cpm or lifecycle)
    A watched segment's customers at ``as_of`` against the previous month end:
    the lapsed CPM segments toddler_lapsed, steady_lapsed, fad_lapsed,
    loyal_lapsed and the lifecycle segment dormant are watched for growth
    (``segment_jump``), the CPM segments loyal_active, fad_active and the
    lifecycle segment vip for shrinking (``segment_drop``). Condition: the
    larger of the two counts ≥ ``min_customers`` [30], the previous count > 0
    and |now / previous − 1| ≥ ``min_segment_change`` [0.10] in the watched
    direction. (first_lapsed, one-time buyers lapsing, is the steady drain the
    F2 rule covers.) Effect = |now − previous| × the segment's revenue per
    customer over the 12 months before the month end where it is larger (its
    members at as_of for a jump, at the previous month end for a drop):
    ``revenue_12m`` is that total, ``customers`` that member count. The list
    to act on is ``<page>_<segment>`` (``segments/cpm_loyal_lapsed.csv``).
``kpi_change`` (page overview)
    An amount KPI of :func:`~ecrm.analysis.kpi.kpi_table` whose month-on-month
    change |mom| ≥ ``min_kpi_change`` [0.10], with effect by the revenue
    identity revenue ≈ customers × purchases per customer × AOV (each factor
    moved alone, the others at last month's value): revenue: |Δrevenue|;
    customers, purchases_per_customer, aov: |mom| × last month's revenue;
    new_customers: |Δnew customers| × this month's 12-month LTV (AOV when the
    LTV is unknown); ltv_12m: |ΔLTV| × this month's new customers.
``f2_drop`` / ``f2_rise`` (page ltv)
    F2 (second purchase within ``kpi.f2_days`` of the cohort ``kpi.f2_lag_months``
    back) moved by ≥ ``min_rate_change_pt`` [2.0] points month on month and the
    cohort has ≥ ``min_customers``. Effect = |ΔF2| × cohort × AOV (one second
    purchase per customer gained or lost).
``entry_category_worst`` (page ctb)
    Only with ``f2_drop``: of the first-purchase categories with at least
    ``min_customers`` customers observable for the LTV horizon (at least two
    such categories), the one with the lowest F2 within the horizon, when it is
    ≥ ``min_rate_change_pt`` below the F2 of all of them together. Effect =
    (F2 of all − its F2) × its customers × AOV.
``lapse_rise`` (page cpm)
    The lapse rate rose by ≥ ``min_rate_change_pt`` points month on month.
    Effect = Δrate × the customers active at the previous month end (CPM) ×
    their revenue per customer over the 12 months before it.

The table is pure data: the sentences are :mod:`ecrm.present.narrate_findings`'.
"""

from __future__ import annotations

from typing import Any

import ibis
import pandas as pd

from ecrm import engine
from ecrm.analysis import cpm, kpi, lifecycle, periods
from ecrm.settings import FindingsSettings, ShopSettings

__all__ = ["COLUMNS", "RULES", "WATCHED", "findings", "kpi_findings", "segment_findings"]

#: The columns of :func:`findings`.
COLUMNS: tuple[str, ...] = (
    "rank",
    "code",
    "page",
    "anchor",
    "list",
    "subject",
    "direction",
    "customers",
    "value",
    "previous",
    "change",
    "change_kind",
    "reference",
    "revenue_12m",
    "effect",
)

#: The rules in tie-break order.
RULES: tuple[str, ...] = (
    "segment_jump",
    "segment_drop",
    "kpi_change",
    "f2_drop",
    "f2_rise",
    "entry_category_worst",
    "lapse_rise",
)

#: Watched segments: (page, segment) → the direction that is a finding.
WATCHED: dict[tuple[str, str], str] = {
    ("cpm", "toddler_lapsed"): "up",
    ("cpm", "steady_lapsed"): "up",
    ("cpm", "fad_lapsed"): "up",
    ("cpm", "loyal_lapsed"): "up",
    ("cpm", "loyal_active"): "down",
    ("cpm", "fad_active"): "down",
    ("lifecycle", "dormant"): "up",
    ("lifecycle", "vip"): "down",
}

#: Amount KPIs read by ``kpi_change``.
AMOUNT_KPIS: tuple[str, ...] = (
    "revenue",
    "customers",
    "new_customers",
    "aov",
    "purchases_per_customer",
    "ltv_12m",
)

#: The page section (anchor key) each rule links to.
_ANCHORS = {
    ("cpm", "segment"): "cpm-monthly",
    ("lifecycle", "segment"): "lifecycle-monthly",
    ("overview", "kpi"): "overview-kpis",
    ("ltv", "f2"): "ltv-f2",
    ("ctb", "first"): "ctb-first",
    ("cpm", "lapse"): "cpm-monthly",
}


def _settings(settings: ShopSettings | FindingsSettings | None) -> FindingsSettings:
    if isinstance(settings, FindingsSettings):
        return settings
    return settings.findings if settings is not None else FindingsSettings()


def _row(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(COLUMNS, float("nan"))
    row.update({"list": "", "reference": float("nan"), "change_kind": "ratio"})
    row.update(values)
    return row


def _revenue_12m(orders: engine.OrdersLike, ends: list[Any]) -> dict[Any, pd.Series]:
    """Each customer's net revenue in the 12 months up to each month end of ``ends``."""
    t = engine.order_totals(orders, as_of=max(ends))
    out = {}
    for end in ends:  # two month ends, not a loop over customers
        lo = periods.shift_months(periods.month_end(end), -12)
        o = t.filter(
            (t.order_date > ibis.literal(lo, type="date"))
            & (t.order_date <= ibis.literal(end, type="date"))
        )
        df = engine.to_pandas(o.group_by("customer_id").agg(revenue=o.amount.sum()))
        out[end] = df.set_index("customer_id")["revenue"].astype(float)
    return out


def segment_findings(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    settings: ShopSettings | None = None,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """The ``segment_jump`` / ``segment_drop`` findings (module docstring).

    Returns
    -------
    tuple
        The findings (columns of :data:`COLUMNS`, unranked) and the CPM active
        base at the previous month end: ``{"active": customers,
        "revenue_12m": their revenue in the 12 months before it}`` (for
        ``lapse_rise``).
    """
    fs = _settings(settings)
    prev_end, end = periods.month_ends(as_of, 2)
    rev = _revenue_12m(orders, [prev_end, end])
    per: dict[tuple[str, Any], pd.DataFrame] = {}
    for d in (prev_end, end):
        per[("cpm", d)] = cpm.cpm(orders, as_of=d, settings=settings)
        per[("lifecycle", d)] = lifecycle.lifecycle(orders, as_of=d, settings=settings)
    rows = []
    for (page, seg), direction in WATCHED.items():
        before = per[(page, prev_end)]
        after = per[(page, end)]
        n0 = int((before["segment"] == seg).sum())
        n1 = int((after["segment"] == seg).sum())
        if n0 == 0 or max(n0, n1) < fs.min_customers:
            continue
        change = n1 / n0 - 1
        moved = (
            change >= fs.min_segment_change
            if direction == "up"
            else (-change >= fs.min_segment_change)
        )
        if not moved:
            continue
        members, at = (after, end) if direction == "up" else (before, prev_end)
        ids = members.loc[members["segment"] == seg, "customer_id"]
        total = float(rev[at].reindex(ids).fillna(0.0).sum())
        size = len(ids)
        rows.append(
            _row(
                code="segment_jump" if direction == "up" else "segment_drop",
                page=page,
                anchor=_ANCHORS[(page, "segment")],
                list=f"{page}_{seg}",
                subject=seg,
                direction=direction,
                customers=size,
                value=float(n1),
                previous=float(n0),
                change=change,
                revenue_12m=total,
                effect=abs(n1 - n0) * (total / size if size else 0.0),
            )
        )
    base = per[("cpm", prev_end)]
    active_ids = base.loc[base["state"] == "active", "customer_id"]
    active = {
        "active": float(len(active_ids)),
        "revenue_12m": float(rev[prev_end].reindex(active_ids).fillna(0.0).sum()),
    }
    return pd.DataFrame(rows, columns=list(COLUMNS)), active


def _latest(kpis: pd.DataFrame) -> pd.DataFrame:
    return kpi.kpi_latest(kpis).set_index("kpi")


def _value(kpis: pd.DataFrame, code: str, months_back: int = 0) -> float:
    """A KPI's value ``months_back`` months before the table's last month (NaN if absent)."""
    rows = kpis[kpis["kpi"] == code].sort_values("month")
    if len(rows) <= months_back:
        return float("nan")
    return float(rows["value"].iloc[-1 - months_back])


def kpi_findings(
    kpis: pd.DataFrame,
    *,
    settings: ShopSettings | None = None,
    active: dict[str, float] | None = None,
) -> pd.DataFrame:
    """The ``kpi_change``, ``f2_drop`` / ``f2_rise`` and ``lapse_rise`` findings.

    Parameters
    ----------
    kpis : DataFrame
        :func:`ecrm.analysis.kpi.kpi_table` at as_of.
    settings : ShopSettings, optional
        ``findings:`` thresholds and ``analysis.kpi.f2_lag_months``.
    active : dict, optional
        The CPM active base of :func:`segment_findings` (no ``lapse_rise`` without it).

    Returns
    -------
    DataFrame
        Columns of :data:`COLUMNS`, unranked.
    """
    fs = _settings(settings)
    lag = settings.analysis.kpi.f2_lag_months if settings is not None else 3
    if kpis is None or not len(kpis):
        return pd.DataFrame(columns=list(COLUMNS))
    last = _latest(kpis)

    def get(code: str, col: str) -> float:
        v = last.loc[code, col] if code in last.index else float("nan")
        return float(v) if v is not None and v == v else float("nan")

    revenue0 = get("revenue", "prev_month")
    aov = get("aov", "value")
    rows = []
    for code in AMOUNT_KPIS:
        value, prev, mom = get(code, "value"), get(code, "prev_month"), get(code, "mom")
        if mom != mom or abs(mom) < fs.min_kpi_change:
            continue
        if code == "revenue":
            effect = abs(value - prev)
        elif code == "new_customers":
            ltv = get("ltv_12m", "value")
            effect = abs(value - prev) * (ltv if ltv == ltv else aov)
        elif code == "ltv_12m":
            effect = abs(value - prev) * get("new_customers", "value")
        else:
            effect = abs(mom) * revenue0
        rows.append(
            _row(
                code="kpi_change",
                page="overview",
                anchor=_ANCHORS[("overview", "kpi")],
                subject=code,
                direction="up" if mom > 0 else "down",
                value=value,
                previous=prev,
                change=mom,
                effect=effect if effect == effect else 0.0,
            )
        )
    pt = fs.min_rate_change_pt / 100
    f2, f2_prev, f2_mom = (
        get("f2_rate", "value"),
        get("f2_rate", "prev_month"),
        get("f2_rate", "mom"),
    )
    cohort = _value(kpis, "new_customers", lag)
    if f2_mom == f2_mom and abs(f2_mom) >= pt - 1e-12 and cohort >= fs.min_customers:
        rows.append(
            _row(
                code="f2_drop" if f2_mom < 0 else "f2_rise",
                page="ltv",
                anchor=_ANCHORS[("ltv", "f2")],
                subject="f2_rate",
                direction="down" if f2_mom < 0 else "up",
                customers=cohort,
                value=f2,
                previous=f2_prev,
                change=f2_mom,
                change_kind="points",
                effect=abs(f2_mom) * cohort * aov,
            )
        )
    lapse, lapse_prev, lapse_mom = (
        get("lapse_rate", "value"),
        get("lapse_rate", "prev_month"),
        get("lapse_rate", "mom"),
    )
    if active and lapse_mom == lapse_mom and lapse_mom >= pt - 1e-12 and active["active"] > 0:
        per_customer = active["revenue_12m"] / active["active"]
        rows.append(
            _row(
                code="lapse_rise",
                page="cpm",
                anchor=_ANCHORS[("cpm", "lapse")],
                subject="lapse_rate",
                direction="up",
                customers=active["active"],
                value=lapse,
                previous=lapse_prev,
                change=lapse_mom,
                change_kind="points",
                revenue_12m=active["revenue_12m"],
                effect=lapse_mom * active["active"] * per_customer,
            )
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def category_finding(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    settings: ShopSettings | None = None,
    aov: float,
) -> pd.DataFrame:
    """The ``entry_category_worst`` finding (module docstring), without its f2_drop condition.

    Returns
    -------
    DataFrame
        One row or none (columns of :data:`COLUMNS`); none when the orders
        have no category.
    """
    from ecrm.analysis import ctb

    fs = _settings(settings)
    t = engine.orders_table(orders)
    if "category" not in t.columns or not engine.has_values(t, "category"):
        return pd.DataFrame(columns=list(COLUMNS))
    fp = ctb.first_purchase_ctb(orders, as_of=as_of, levels=["category"], settings=settings)
    fp = fp[(fp["value"] != "(unknown)") & (fp["customers"] >= fs.min_customers)]
    if len(fp) < 2:
        return pd.DataFrame(columns=list(COLUMNS))
    overall = fp["repeaters"].sum() / fp["customers"].sum()
    worst = fp.sort_values(["f2_rate", "value"]).iloc[0]
    gap = overall - float(worst["f2_rate"])
    if gap < fs.min_rate_change_pt / 100 - 1e-12:
        return pd.DataFrame(columns=list(COLUMNS))
    row = _row(
        code="entry_category_worst",
        page="ctb",
        anchor=_ANCHORS[("ctb", "first")],
        subject=str(worst["value"]),
        direction="down",
        customers=int(worst["customers"]),
        value=float(worst["f2_rate"]),
        previous=float("nan"),
        change=-gap,
        change_kind="points",
        reference=float(overall),
        revenue_12m=float(worst["revenue"]),
        effect=gap * int(worst["customers"]) * aov,
    )
    return pd.DataFrame([row], columns=list(COLUMNS))


def findings(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    settings: ShopSettings | None = None,
    kpis: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The month's findings by the rules of the module docstring, ranked by effect.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders.
    as_of : date or str
        Last day of the month, inclusive.
    settings : ShopSettings, optional
        ``findings:`` thresholds and the analyses' settings.
    kpis : DataFrame, optional
        :func:`ecrm.analysis.kpi.kpi_table` at ``as_of`` if already computed.

    Returns
    -------
    DataFrame
        One row per finding, best first (``rank`` 1…): code, page, anchor
        (section key), list (segments/*.csv stem or ""), subject (segment,
        KPI or category, as in the data), direction ("up"/"down"), customers,
        value, previous, change (relative, or in rate units when
        ``change_kind == "points"``), reference (all categories' F2 for
        ``entry_category_worst``), revenue_12m, effect (currency). At most
        ``findings.max_findings`` rows; empty (same columns) when nothing moved.
    """
    fs = _settings(settings)
    if kpis is None:
        kpis = kpi.kpi_table(orders, as_of=as_of, settings=settings, months=13)
    segs, active = segment_findings(orders, as_of=as_of, settings=settings)
    parts = [segs, kpi_findings(kpis, settings=settings, active=active)]
    if (parts[1]["code"] == "f2_drop").any():
        aov = float(_latest(kpis).loc["aov", "value"])
        parts.append(category_finding(orders, as_of=as_of, settings=settings, aov=aov))
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=list(COLUMNS))
    out = pd.concat(parts, ignore_index=True)
    out["_rule"] = out["code"].map({c: i for i, c in enumerate(RULES)})
    out = out.sort_values(["effect", "_rule"], ascending=[False, True], kind="stable")
    out = out.drop(columns="_rule").head(fs.max_findings).reset_index(drop=True)
    out["rank"] = range(1, len(out) + 1)
    return out[list(COLUMNS)]
