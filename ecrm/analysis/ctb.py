"""CTB analysis (SPEC §3): category, taste and brand preferences and next purchases.

C, T and B are the ``category``, ``taste`` and ``brand`` columns of the canonical
orders (SPEC §1), filled from the cart export or a product master. Each is a
*level* here; every analysis takes one level or all the levels the orders have.

Shared definitions (SPEC §1, and where SPEC is silent, the choices below):

* **customers** are non-guest customer_ids with at least one **purchase** (an
  order with net amount > 0) on or before ``as_of``; orders after ``as_of`` are
  never read; guest lines are left out;
* **revenue** of a customer in a value (a category, taste or brand) is the net
  sum of the customer's lines with that value in all orders up to ``as_of``, so
  returns lower it; lines whose value is empty are left out of preferences,
  transitions and pairs, and shown as ``"(unknown)"`` in the segment mix;
* a customer **bought** a value when that net revenue is > 0;
* the **values of a purchase** are the values whose net amount within that
  order is > 0; its **main value** is the value of its largest line among the
  lines that have one (ties by value name) — SPEC §2's rule for the first
  purchase's attributes, applied to every purchase — so every purchase counts
  once in a transition matrix and each row of the matrix is a probability
  distribution;
* a customer's purchases are ordered by (ordered_at, order_id), like
  :mod:`ecrm.analysis.ltv`; a second order on the same day is the next purchase.

Money is summed exactly (decimal) in the engine; shares, rates and scores are
float64 in the returned tables. The intermediate tables come from the run's
shared tables (:class:`ecrm.engine.run.RunTables`).

This module holds the descriptive tables. The next-purchase recommendations
live in :mod:`ecrm.models.recommend` and their hold-out check in
:mod:`ecrm.models.evaluate`; ``ctb.recommend``, ``ctb.evaluate_recommendations``,
``ctb.METHODS`` and the model defaults stay reachable here (loaded on first
use, so this module does not import the models).
"""

from __future__ import annotations

import datetime as dt
import importlib
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

from ecrm import engine
from ecrm.analysis import censoring, ctb_pairs, customers
from ecrm.engine import run
from ecrm.engine.run import LEVELS, RunTables
from ecrm.errors import ColumnsError, ParameterError
from ecrm.settings import CtbSettings, LtvSettings, ShopSettings

__all__ = [
    "LEVELS",
    "UNKNOWN",
    "available_levels",
    "cross_purchase",
    "ctb_mix",
    "ctb_tables",
    "first_purchase_ctb",
    "observable_horizon",
    "preferences",
    "transitions",
]

Level = Literal["category", "taste", "brand"]
#: Value shown for lines without a value (segment mix, first-purchase tables).
UNKNOWN = "(unknown)"

#: Names kept here for the notebooks and callers of before the split, by home module.
_MOVED: dict[str, str] = {
    "recommend": "ecrm.models.recommend",
    "REASONS": "ecrm.models.recommend",
    "DEFAULT_HALF_LIFE_DAYS": "ecrm.models.recommend",
    "DEFAULT_PRIOR_STRENGTH": "ecrm.models.recommend",
    "DEFAULT_TRANSITION_WEIGHT": "ecrm.models.recommend",
    "evaluate_recommendations": "ecrm.models.evaluate",
    "METHODS": "ecrm.models.evaluate",
    "DEFAULT_EVAL_HORIZON_DAYS": "ecrm.models.evaluate",
}


def __getattr__(name: str) -> Any:
    """``ctb.recommend`` and the other model names, from their modules on first use."""
    if name in _MOVED:
        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------- helpers


def _ctb_settings(settings: ShopSettings | CtbSettings | None) -> CtbSettings:
    if settings is None:
        return CtbSettings()
    return settings.analysis.ctb if isinstance(settings, ShopSettings) else settings


def available_levels(orders: engine.OrdersLike, *, analysis: str = "CTB analysis") -> list[str]:
    """The CTB levels the orders have values for, in SPEC order.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders.
    analysis : str
        Name used in the error message.

    Returns
    -------
    list of str
        A non-empty subset of ``["category", "taste", "brand"]``.

    Raises
    ------
    ColumnsError
        The orders have none of category, taste and brand (or only empty ones).
    """
    t = engine.orders_table(orders)
    have = [lv for lv in LEVELS if engine.has_values(t, lv)]
    if not have:
        raise ColumnsError(
            f"{analysis} needs at least one of the columns category, taste, brand with "
            f"values; the orders have {sorted(t.columns)}. Map them in the shop settings "
            "(`columns`, or a `product_master` for category/taste/brand) and ingest again."
        )
    return have


def _levels(b: RunTables, levels: Sequence[str] | None, analysis: str) -> list[str]:
    have = available_levels(b.t, analysis=analysis)
    if levels is None:
        missing = [lv for lv in LEVELS if lv not in have]
        if missing:
            warnings.warn(
                f"{analysis}: the orders have no {' / '.join(missing)} values; "
                f"computed for {' / '.join(have)} only.",
                UserWarning,
                stacklevel=3,
            )
        return have
    for lv in levels:
        b.check_level(lv, analysis)
    return list(levels)


def _transition_table(b: RunTables, level: str, order_mains: ir.Table | None) -> ir.Table:
    """from_value, to_value, pairs between consecutive purchases' main values.

    ``order_mains``: the :meth:`~ecrm.engine.run.RunTables.order_mains` table to
    read (None: the run's for the level, :meth:`~ecrm.engine.run.RunTables.main_levels`).
    """
    s = b.pairs(level, order_mains)
    return s.group_by(from_value=s.main, to_value=s.next_main).agg(pairs=s.count().cast("int64"))


# --------------------------------------------------------------------------- preferences


def preferences(
    orders: engine.OrdersLike, *, as_of: Any, levels: Sequence[str] | None = None
) -> pd.DataFrame:
    """Each customer's preferred category, taste and brand, and how concentrated it is.

    For each level, a customer's revenue share of a value is its positive net
    revenue in the value over the sum of its positive net revenues in all values
    of the level (values whose net revenue is ≤ 0, e.g. fully returned, count 0;
    lines without a value are left out).

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders (SPEC §1): order_id, customer_id, ordered_at, amount and
        at least one of category, taste, brand.
    as_of : date or str
        Last day of the analysis, inclusive; later orders are ignored.
    levels : sequence of str, optional
        Levels to compute; default every level the orders have values for (a
        ``UserWarning`` names the missing ones).

    Returns
    -------
    DataFrame
        One row per customer (a purchase by as_of), sorted by customer_id:
        customer_id, then for each level L:

        - ``L`` (str): preferred value, the largest net revenue (ties by value
          name); missing when the customer has no positive revenue in a value;
        - ``L_share`` (float): the preferred value's revenue share;
        - ``L_hhi`` (float): Herfindahl index Σ share² (1 = a single value,
          1/n = n values bought evenly);
        - ``L_values`` (int): number of values bought (net revenue > 0).

    Raises
    ------
    ColumnsError
        The orders have no category, taste or brand values (or lack a level
        named in ``levels``).

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({"order_id": ["1", "1", "2"], "customer_id": ["a"] * 3,
    ...     "ordered_at": pd.to_datetime(["2026-01-01"] * 2 + ["2026-02-01"]),
    ...     "amount": [3000, 1000, 0], "category": ["top", "bag", "bag"]})
    >>> p = preferences(orders, as_of="2026-03-31", levels=["category"])
    >>> p.iloc[0].to_dict()
    {'customer_id': 'a', 'category': 'top', 'category_share': 0.75, \
'category_hhi': 0.625, 'category_values': 2}
    """
    with RunTables(orders, as_of) as b:
        lvls = _levels(b, levels, "CTB preferences")
        return _preferences(b, lvls)


def _preference_columns(level: str, m: Mapping[str, ir.Value] | ir.Table) -> dict[str, ir.Value]:
    """The :func:`preferences` columns of a level from its customer measures ``m``."""
    tot = m["_tot"].cast("float64")
    return {
        level: ibis.ifelse(m["_max"] > 0, m["_pref"], None),
        f"{level}_share": ibis.ifelse(tot > 0, m["_max"].cast("float64") / tot, None),
        f"{level}_hhi": ibis.ifelse(tot > 0, m["_sq"] / (tot * tot), None),
        f"{level}_values": m["_n"],
    }


def _preferences(b: RunTables, lvls: Sequence[str]) -> pd.DataFrame:
    out = b.customers.select("customer_id")
    small = b.small(lvls)
    if small:  # every small level from one join to the wide rows
        j = out.left_join(b.customer_wide(small), "customer_id")
        cols: dict[str, ir.Value] = {}
        for lv in small:
            cols.update(_preference_columns(lv, run.wide_measures(j, lv, b.names(lv))))
        out = j.select("customer_id", **cols)
    for lv in lvls:
        if lv not in small:
            per = b.customer_levels(lv)
            per = per.select("customer_id", **_preference_columns(lv, per))
            out = out.left_join(per, "customer_id").drop("customer_id_right")
    order = [c for lv in lvls for c in (lv, f"{lv}_share", f"{lv}_hhi", f"{lv}_values")]
    df = engine.to_pandas(out.select("customer_id", *order).order_by("customer_id"))
    for lv in lvls:
        df[f"{lv}_values"] = df[f"{lv}_values"].fillna(0).astype("int64")
    return df.reset_index(drop=True)


# --------------------------------------------------------------------------- first purchase


def first_purchase_ctb(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    levels: Sequence[str] | None = None,
    horizon_days: int | None = None,
    settings: ShopSettings | LtvSettings | None = None,
    export_complete: bool | None = None,
    skip_missing: bool = False,
) -> pd.DataFrame:
    """F2 rate and 360-day LTV by the category / taste / brand of the first purchase.

    The first-purchase value is SPEC §2's ``first_category`` (``first_taste``,
    ``first_brand``): the value of the first purchase's largest line. The cohort
    is every customer observable for ``horizon_days`` after the first purchase:
    first_purchase + horizon_days ≤ as_of (so young customers do not pull the
    rates down). For each of them:

    - F2: a second purchase within ``horizon_days`` of the first (day first +
      horizon counts; a second order on the first day counts, day 0);
    - LTV: net revenue of the orders dated from the first purchase to first
      purchase + horizon_days, both inclusive (the first purchase included,
      returns lower it).

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders with at least one of category, taste, brand.
    as_of : date or str
        Last day of the analysis, inclusive; later orders are ignored.
    levels : sequence of str, optional
        Default every level the orders have values for.
    horizon_days : int, optional
        Default ``LtvSettings.horizon_days`` (360, SPEC's "360-day LTV").
    settings : ShopSettings or LtvSettings, optional
        Source of the default horizon (and, a shop's, of ``export_complete``).
    export_complete : bool, optional
        Whether the export holds the shop's whole history (default: a shop's
        setting; False otherwise). When False the customers of the export's
        first month (the left-censored cohort, :mod:`ecrm.analysis.censoring`)
        are left out: their first purchase in the data is not their first
        purchase. ``attrs["censored_customers"]`` counts them (of the
        observable ones) and ``attrs["censored_cohort"]`` names the month.
    skip_missing : bool, default False
        Read each level's value from the first purchase's largest line *with a
        value* at that level (as :func:`transitions` does), not from its largest
        line. The CTB page sets it on the product fallback
        (:func:`ecrm.analysis.products.ctb_orders`), whose excluded lines
        (postage, fees) have no value: an order's shipping line is often its
        largest and would make the first purchase "(unknown)".

    Returns
    -------
    DataFrame
        One row per (level, value), each level's values by customers descending
        (ties by value):

        - ``level`` (str), ``value`` (str; ``"(unknown)"`` for a first purchase
          without a value);
        - ``customers`` (int): cohort customers whose first purchase had the value;
        - ``share`` (float): customers / cohort size;
        - ``repeaters`` (int), ``f2_rate`` (float): second purchase within the horizon;
        - ``revenue`` (float), ``ltv`` (float): net revenue within the horizon,
          in total and per customer;
        - ``horizon_days`` (int).

        Empty (with these columns) when nobody is observable for the horizon yet.

    Raises
    ------
    ColumnsError
        No CTB level with values.
    ParameterError
        horizon_days < 1.
    """
    ltv_s = _ltv_settings(settings)
    h = ltv_s.horizon_days if horizon_days is None else int(horizon_days)
    if h < 1:
        raise ParameterError(f"horizon_days must be a positive number of days, got {h}")
    censored = _censored(orders, settings, export_complete)
    with RunTables(orders, as_of) as b:
        lvls = _levels(b, levels, "CTB first-purchase analysis")
        return _first_purchase(b, lvls, h, censored=censored, skip_missing=skip_missing)


def _ltv_settings(settings: ShopSettings | LtvSettings | None) -> LtvSettings:
    if settings is None:
        return LtvSettings()
    return settings.analysis.ltv if isinstance(settings, ShopSettings) else settings


def _censored(orders: Any, settings: Any, export_complete: bool | None) -> dt.date | None:
    """The left-censored month whose customers pooled first-purchase tables leave out."""
    complete = export_complete
    if complete is None:
        complete = censoring.export_complete_setting(settings)
    return None if complete else censoring.first_order_month(orders)


def observable_horizon(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    settings: ShopSettings | LtvSettings | None = None,
    export_complete: bool | None = None,
    horizons: Sequence[int] = (180, 90),
) -> int | None:
    """The longest first-purchase horizon some customer can be followed for.

    :func:`first_purchase_ctb` follows each customer ``horizon_days`` (360 by
    default) after the first purchase. A short export (13 months whose first
    month is left-censored) has nobody observable for 360 days; rather than an
    empty table the CTB page then uses the longest of the shorter
    ``horizons`` some customer outside the censored month is observable for,
    and says which.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders.
    as_of : date or str
        Last day of the analysis.
    settings, export_complete
        As :func:`first_purchase_ctb` (the default horizon; whether the first
        month is left out).
    horizons : sequence of int, default (180, 90)
        The shorter horizons to try, longest first.

    Returns
    -------
    int or None
        The settings' horizon when someone is observable for it, else the
        longest of ``horizons`` that someone is, else None.
    """
    ltv_s = _ltv_settings(settings)
    d = engine.as_of_date(as_of)
    censored = _censored(orders, settings, export_complete)
    o = engine.order_totals(orders, as_of=d)
    p = o.filter(o.is_purchase)
    firsts = p.group_by("customer_id").agg(first_day=p.order_date.min())
    if censored is not None:
        firsts = firsts.filter(~censoring.is_censored(firsts.first_day, censored))
    earliest = firsts.first_day.min().to_pyarrow().as_py()
    if earliest is None:
        return None
    for h in (ltv_s.horizon_days, *sorted((int(x) for x in horizons), reverse=True)):
        if 0 < h <= ltv_s.horizon_days and earliest + dt.timedelta(days=h) <= d:
            return h
    return None


def _first_attributes(
    b: RunTables, p: ir.Table, lvls: Sequence[str], h: int, skip_missing: bool = False
) -> ir.Table:
    """customer_id, first_<level>: the first purchase's largest line (SPEC §2).

    The pick of :func:`ecrm.analysis.customers.first_line`, as in the customer measures,
    for the customers of the cohort only (first purchase at least ``h`` days
    before as_of): only their first orders' lines are read, and in a canonical
    file (:func:`ecrm.engine.is_canonical`) only lines dated h days back or more.
    ``p``: the run's purchases.
    """
    asof = ibis.literal(b.as_of, type="date")
    first = p.filter((p.seq == 1) & (asof.delta(p.order_date, unit="day") >= h))
    first = first.select("customer_id", "order_id")
    lines = b.lines
    if engine.is_canonical(b.t):  # a cohort's first orders, and so their lines, are h days back
        cut = engine.next_day(b.as_of - dt.timedelta(days=h))
        lines = lines.filter(lines.ordered_at < ibis.literal(cut))
    fl = lines.inner_join(first, ["customer_id", "order_id"])
    if not skip_missing:
        top = customers.first_line(fl, lvls)
        return top.select("customer_id", **{f"first_{lv}": top[lv].cast("string") for lv in lvls})
    out = first.select("customer_id")
    for lv in lvls:  # each level from its own largest line with a value
        top = customers.first_line(fl.filter(fl[lv].notnull()), [lv])
        top = top.select(_cid="customer_id", **{f"first_{lv}": top[lv].cast("string")})
        out = out.left_join(top, out.customer_id == top._cid).drop("_cid")
    return out


def _first_purchase(
    b: RunTables,
    lvls: Sequence[str],
    h: int,
    purchases: ir.Table | None = None,
    censored: dt.date | None = None,
    skip_missing: bool = False,
) -> pd.DataFrame:
    """The :func:`first_purchase_ctb` table; ``purchases``: default the run's own.

    ``censored``: the left-censored month, whose customers are left out.
    """
    p = b.purchases if purchases is None else purchases
    m = b.customers
    asof = ibis.literal(b.as_of, type="date")
    m = m.filter(asof.delta(m.first_purchase, unit="day") >= h)
    n_censored = 0
    if censored is not None:
        in_censored = censoring.is_censored(m.first_purchase, censored)
        n_censored = int(m.filter(in_censored).count().to_pyarrow().as_py())
        m = m.filter(~in_censored)
    second = p.filter(p.seq == 2).select("customer_id", second_purchase="order_date")
    m = m.select("customer_id", "first_purchase").left_join(second, "customer_id")
    m = m.drop("customer_id_right")
    j = b.orders.inner_join(m, "customer_id")
    day = j.order_date.delta(j.first_purchase, unit="day")
    rev = j.filter((day >= 0) & (day <= h))
    rev = rev.group_by("customer_id").agg(_rev=rev.amount.sum().cast(engine.AMOUNT))
    c = m.left_join(rev, "customer_id").drop("customer_id_right")
    firsts = _first_attributes(b, p, lvls, h, skip_missing)
    c = c.left_join(firsts, "customer_id").drop("customer_id_right")
    c = c.mutate(
        _f2=(
            c.second_purchase.notnull()
            & (c.second_purchase.delta(c.first_purchase, unit="day") <= h)
        ).cast("int64"),
        _rev=c._rev.fill_null(0).cast(engine.AMOUNT),
    )
    c = c.select("_f2", "_rev", *[f"first_{lv}" for lv in lvls]).cache()
    try:
        frames = []
        for lv in lvls:
            g = c.group_by(value=c[f"first_{lv}"].fill_null(UNKNOWN)).agg(
                customers=c.count().cast("int64"),
                repeaters=c._f2.sum().cast("int64"),
                revenue=c._rev.sum().cast(engine.AMOUNT),
            )
            frames.append(engine.to_pandas(g).assign(level=lv))
    finally:
        c.release()
    df = pd.concat(frames, ignore_index=True)
    cohort = df.groupby("level")["customers"].transform("sum")
    df["share"] = df["customers"] / cohort
    df["f2_rate"] = df["repeaters"] / df["customers"]
    df["ltv"] = df["revenue"] / df["customers"]
    df["horizon_days"] = h
    df["_order"] = df["level"].map(LEVELS.index)
    df = df.sort_values(["_order", "customers", "value"], ascending=[True, False, True])
    cols = ["level", "value", "customers", "share", "repeaters", "f2_rate", "revenue", "ltv"]
    out = df[[*cols, "horizon_days"]].reset_index(drop=True)
    out.attrs["censored_customers"] = n_censored
    out.attrs["censored_cohort"] = None if censored is None else f"{censored:%Y-%m}"
    return out


# --------------------------------------------------------------------------- transitions


def transitions(orders: engine.OrdersLike, *, as_of: Any, level: str = "category") -> pd.DataFrame:
    """Next-purchase transition matrix P(next value | this value).

    Every pair of consecutive purchases of a customer (ordered by ordered_at,
    then order_id) counts once, from the first purchase's main value (the value
    of its largest line among those with a value, ties by value name: SPEC §2's
    first-purchase rule applied to every purchase) to the next's. A purchase
    without any value (all its lines empty) breaks the chain: its pairs are
    left out.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders with the ``level`` column.
    as_of : date or str
        Last day of the analysis, inclusive; later orders are ignored.
    level : {"category", "taste", "brand"}, default "category"

    Returns
    -------
    DataFrame
        One row per observed (from_value, to_value), sorted by both:
        level, from_value, to_value, pairs (int), from_total (int: pairs from
        from_value), probability (float: pairs / from_total; each from_value's
        probabilities add up to 1).

    Raises
    ------
    ColumnsError
        The orders lack ``level`` values.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({"order_id": ["1", "2", "3"], "customer_id": ["a"] * 3,
    ...     "ordered_at": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01"]),
    ...     "amount": [100, 100, 100], "category": ["x", "y", "x"]})
    >>> transitions(orders, as_of="2026-03-31")[["from_value", "to_value", "probability"]]
      from_value to_value  probability
    0          x        y          1.0
    1          y        x          1.0
    """
    with RunTables(orders, as_of) as b:
        b.check_level(level, "CTB transitions")
        return _transitions(b, level)


def _transitions(b: RunTables, level: str, order_mains: ir.Table | None = None) -> pd.DataFrame:
    tr = _transition_table(b, level, order_mains)
    df = engine.to_pandas(tr.order_by(["from_value", "to_value"]))
    df["from_total"] = df.groupby("from_value")["pairs"].transform("sum").astype("int64")
    df["probability"] = df["pairs"] / df["from_total"]
    df.insert(0, "level", level)
    return df[["level", "from_value", "to_value", "pairs", "from_total", "probability"]]


# --------------------------------------------------------------------------- cross purchase


def cross_purchase(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    level: str = "category",
    min_support: float | None = None,
    settings: ShopSettings | CtbSettings | None = None,
    min_customers: int = 1,
) -> pd.DataFrame:
    """Cross-purchase pairs: customers who bought both A and B, with support, confidence, lift.

    N is the number of customers who bought at least one value of the level
    (net revenue > 0 in it, up to as_of). Each unordered pair of values is
    listed once, as (A, B) with A < B by name (SPEC §3 Products):
    support = customers_both / N; confidence_ab = customers_both / customers_a
    (P(bought B | bought A)); confidence_ba = customers_both / customers_b
    (P(bought A | bought B)); lift = confidence_ab / (customers_b / N), the
    same both ways.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders with the ``level`` column.
    as_of : date or str
        Last day of the analysis, inclusive; later orders are ignored.
    level : {"category", "taste", "brand"}, default "category"
    min_support : float, optional
        Keep pairs with support ≥ this; default ``CtbSettings.min_pair_support``.
    settings : ShopSettings or CtbSettings, optional
        Source of the default.
    min_customers : int, default 1
        Keep pairs bought by at least this many customers (the product level
        uses ``analysis.products.min_product_customers``).

    Returns
    -------
    DataFrame
        level, value_a, value_b, customers_a, customers_b, customers_both (int),
        support, confidence_ab, confidence_ba, lift (float); each unordered pair
        once (value_a < value_b), sorted by lift descending, then support
        descending, value_a, value_b.

    Raises
    ------
    ColumnsError
        The orders lack ``level`` values.
    ParameterError
        min_support outside [0, 1].
    """
    s = _ctb_settings(settings)
    ms = s.min_pair_support if min_support is None else float(min_support)
    if not 0 <= ms <= 1:
        raise ParameterError(f"min_support must be between 0 and 1, got {min_support}")
    with RunTables(orders, as_of) as b:
        b.check_level(level, "CTB cross-purchase")
        return ctb_pairs.cross_purchase_table(b, level, ms, min_customers=int(min_customers))


# --------------------------------------------------------------------------- mix by segment


def ctb_mix(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    level: str = "category",
    segmentation: Literal["lifecycle", "cpm"] = "lifecycle",
    settings: ShopSettings | None = None,
) -> pd.DataFrame:
    """CTB mix by segment: each segment's revenue split by category (taste, brand).

    Customers are put in their lifecycle or CPM segment at ``as_of`` (the rules
    of :mod:`ecrm.analysis.lifecycle` / :mod:`ecrm.analysis.cpm`, thresholds from ``settings``);
    a segment's revenue is its customers' cumulative net revenue up to as_of —
    the ``revenue`` of :func:`ecrm.analysis.lifecycle.lifecycle_summary` — split by the
    value of each line (lines without a value as ``"(unknown)"``).

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders with the ``level`` column.
    as_of : date or str
        Last day of the analysis, inclusive; later orders are ignored.
    level : {"category", "taste", "brand"}, default "category"
    segmentation : {"lifecycle", "cpm"}, default "lifecycle"
    settings : ShopSettings, optional
        Segment thresholds (default SPEC's).

    Returns
    -------
    DataFrame
        segmentation, segment (code, in the segmentation's order), value,
        customers (int: the segment's customers with net revenue > 0 in the
        value), revenue (float), revenue_share (float: of the segment's revenue;
        each segment's shares add up to 1), segment_customers (int), segment_revenue
        (float). Segments without customers are left out; values within a segment
        by revenue descending (ties by value).

    Raises
    ------
    ColumnsError
        The orders lack ``level`` values.
    ParameterError
        Unknown segmentation.
    """
    from ecrm.analysis import cpm, lifecycle

    if segmentation == "lifecycle":
        rule, codes = lifecycle.lifecycle_rule(settings), lifecycle.SEGMENTS
    elif segmentation == "cpm":
        resolved, _ = cpm.resolve_thresholds(orders, as_of=as_of, settings=settings)
        rule, codes = cpm.cpm_rule(resolved), cpm.SEGMENTS  # the shop's own cut-off (GBP…)
    else:
        raise ParameterError(f"segmentation must be 'lifecycle' or 'cpm', got {segmentation!r}")
    with RunTables(orders, as_of) as b:
        b.check_level(level, "CTB mix by segment")
        return _mix(b, level, segmentation, rule, codes)


def _mix(
    b: RunTables,
    level: str,
    segmentation: str,
    rule: Callable[[ir.Table], Any],
    codes: Sequence[str],
    wide: ir.Table | None = None,
) -> pd.DataFrame:
    """The :func:`ctb_mix` table; ``wide``: a wide table holding a small level (default its own)."""
    m = b.customers
    seg = m.select("customer_id", segment=rule(m))
    w = None
    if b.small([level]):
        w = wide if wide is not None else b.customer_wide([level])
    if w is None:
        g = b.customer_values(level)
        g = g.mutate(value=g.value.fill_null(UNKNOWN)).inner_join(seg, "customer_id")
        agg = g.group_by(["segment", "value"]).agg(
            customers=(g.revenue > 0).cast("int64").sum(),
            revenue=g.revenue.sum().cast(engine.AMOUNT),
        )
        df = engine.to_pandas(agg)
    else:  # the same sums from the customers' wide rows, then one row per (segment, value)
        names = [*b.names(level), UNKNOWN]
        keys = [*range(len(names) - 1), "x"]
        g = w.inner_join(seg, "customer_id")
        aggs = {}
        for j, i in enumerate(keys):
            r = g[f"_r_{level}_{i}"]
            aggs[f"n{j}"] = (r > 0).fill_null(False).cast("int64").sum()
            aggs[f"r{j}"] = r.sum().cast(engine.AMOUNT)
            aggs[f"k{j}"] = r.count()  # customers with lines of the value
        wide = engine.to_pandas(g.group_by("segment").agg(**aggs))
        parts = [
            pd.DataFrame(
                {
                    "segment": wide["segment"],
                    "value": name,
                    "customers": wide[f"n{j}"],
                    "revenue": wide[f"r{j}"],
                    "_k": wide[f"k{j}"],
                }
            )
            for j, name in enumerate(names)
        ]
        df = pd.concat(parts, ignore_index=True)
        df = df[df["_k"] > 0].drop(columns="_k")  # values some customer of the segment bought
    sizes = seg.group_by("segment").agg(segment_customers=seg.count().cast("int64"))
    sz = engine.to_pandas(sizes).set_index("segment")["segment_customers"]
    df["segment_revenue"] = df.groupby("segment")["revenue"].transform("sum")
    df["revenue_share"] = df["revenue"] / df["segment_revenue"].where(df["segment_revenue"] != 0)
    df["segment_customers"] = df["segment"].map(sz).astype("int64")
    df["customers"] = df["customers"].astype("int64")
    df["_order"] = df["segment"].map({c: i for i, c in enumerate(codes)})
    df = df.sort_values(["_order", "revenue", "value"], ascending=[True, False, True])
    df.insert(0, "segmentation", segmentation)
    cols = [
        "segmentation",
        "segment",
        "value",
        "customers",
        "revenue",
        "revenue_share",
        "segment_customers",
        "segment_revenue",
    ]
    return df[cols].reset_index(drop=True)


# --------------------------------------------------------------------------- all tables


def ctb_tables(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    pair_levels: Sequence[str] = ("category", "brand"),
    mix_level: str = "category",
    segmentation: Literal["lifecycle", "cpm"] = "lifecycle",
    settings: ShopSettings | None = None,
) -> dict[str, pd.DataFrame]:
    """Every CTB table of a report in one run, sharing the engine's intermediate tables.

    The same tables as the single functions (and equal to them), computed
    together so that order totals, main values and customer values are built
    once: the way to call CTB on a large shop. The main values of all
    ``pair_levels`` come from one :meth:`~ecrm.engine.run.RunTables.order_mains`
    table and the revenue by value of every level of few values from one
    :meth:`~ecrm.engine.run.RunTables.customer_wide` table, which every table
    here reads.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders with at least one of category, taste, brand.
    as_of : date or str
        Last day of the analysis, inclusive; later orders are ignored.
    pair_levels : sequence of str, default ("category", "brand")
        Levels of the transition matrices and cross-purchase pairs (those the
        orders have values for).
    mix_level : str, default "category"
        Level of the segment mix.
    segmentation : {"lifecycle", "cpm"}, default "lifecycle"
    settings : ShopSettings, optional
        min_pair_support, the LTV horizon and the segment thresholds.

    Returns
    -------
    dict of str to DataFrame
        ``preferences`` (:func:`preferences`, every available level),
        ``first_purchase`` (:func:`first_purchase_ctb`), ``transitions`` and
        ``cross_purchase`` (those of each pair level, stacked; see the ``level``
        column) and ``mix`` (:func:`ctb_mix`).

    Raises
    ------
    ColumnsError
        No CTB level with values.
    """
    from ecrm.analysis import cpm, lifecycle

    ms = _ctb_settings(settings).min_pair_support
    h = (settings.analysis.ltv if settings is not None else LtvSettings()).horizon_days
    if segmentation == "lifecycle":
        rule, codes = lifecycle.lifecycle_rule(settings), lifecycle.SEGMENTS
    elif segmentation == "cpm":
        resolved, _ = cpm.resolve_thresholds(orders, as_of=as_of, settings=settings)
        rule, codes = cpm.cpm_rule(resolved), cpm.SEGMENTS  # the shop's own cut-off (GBP…)
    else:
        raise ParameterError(f"segmentation must be 'lifecycle' or 'cpm', got {segmentation!r}")
    with RunTables(orders, as_of) as b:
        lvls = _levels(b, None, "CTB analysis")
        pairs = [lv for lv in pair_levels if lv in lvls]
        # the main values of every pair level in one pass (the purchases come with them)
        om = b.order_mains(pairs) if pairs else None
        small = b.small(lvls)
        # revenue by value of every small level in one pass
        w = b.customer_wide(small) if small else None
        masked = b.small(pairs)  # their cross-purchase masks in one query
        masks = ctb_pairs.mask_counts(b, masked, w) if len(masked) > 1 else {}
        p = b.purchases_of(om) if om is not None else None
        out = {
            "preferences": _preferences(b, lvls),
            "first_purchase": _first_purchase(
                b, lvls, h, p, censored=_censored(orders, settings, None)
            ),
            "transitions": pd.concat([_transitions(b, lv, om) for lv in pairs], ignore_index=True),
            "cross_purchase": pd.concat(
                [ctb_pairs.cross_purchase_table(b, lv, ms, masks.get(lv), w) for lv in pairs],
                ignore_index=True,
            ),
        }
        if mix_level in lvls:
            out["mix"] = _mix(b, mix_level, segmentation, rule, codes, w)
    return out
