"""Hold-out check of the next-purchase recommendations against a popularity baseline.

:func:`evaluate_recommendations` fits :func:`ecrm.models.recommend.recommend`'s
model on the orders up to a cutoff and counts, per group of customers, how
often the next purchase after the cutoff holds one of the recommended values,
next to the shop's most popular values recommended to everyone.
"""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from ecrm import engine
from ecrm.engine.run import RunTables
from ecrm.errors import ParameterError
from ecrm.models.recommend import (
    DEFAULT_HALF_LIFE_DAYS,
    DEFAULT_PRIOR_STRENGTH,
    DEFAULT_TRANSITION_WEIGHT,
    ModelParams,
    recommendation_table,
)
from ecrm.settings import CtbSettings, ShopSettings

__all__ = ["DEFAULT_EVAL_HORIZON_DAYS", "METHODS", "evaluate_recommendations", "history_as_of"]

#: Hold-out window of :func:`evaluate_recommendations`, in days after the cutoff.
DEFAULT_EVAL_HORIZON_DAYS = 180
#: Display names (Japanese, English) of the compared methods.
METHODS: dict[str, tuple[str, str]] = {
    "model": ("推薦モデル", "model"),
    "popularity": ("人気上位（ベースライン）", "popularity baseline"),
}


def history_as_of(end: dt.date) -> dt.date:
    """The as_of of the run the hold-out check cuts its tables from: the month end of ``end``.

    ``end`` is the last day of the hold-out window (cutoff + horizon_days). A
    report at a month end checks the recommendations it has just made with a
    cutoff six months back and the default 180-day window, which ends within
    the report's month: the check then cuts from the report's own run (the
    same tables whichever was computed first), and never reads more than the
    rest of that month beyond the window (orders after ``end`` do not change
    the result).

    Parameters
    ----------
    end : date

    Returns
    -------
    date
        The last day of ``end``'s month.
    """
    return end.replace(day=calendar.monthrange(end.year, end.month)[1])


def evaluate_recommendations(
    orders: engine.OrdersLike,
    *,
    cutoff: Any,
    horizon_days: int = DEFAULT_EVAL_HORIZON_DAYS,
    top_n: int | None = None,
    level: str = "category",
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    prior_strength: float | None = DEFAULT_PRIOR_STRENGTH,
    transition_weight: float = DEFAULT_TRANSITION_WEIGHT,
    settings: ShopSettings | CtbSettings | None = None,
) -> pd.DataFrame:
    """Hold-out check of :func:`recommend` against a popularity baseline.

    The model is fitted on the orders up to ``cutoff`` (inclusive). For every
    customer at the cutoff whose next purchase (the first after the cutoff, by
    ordered_at then order_id) falls within ``horizon_days`` of it and holds at
    least one value, it is a **hit** when any value of that purchase is among
    the customer's top-N. The baseline recommends the same N values to
    everyone: the most popular at the cutoff (share of purchases holding the
    value, ties by name). Orders after cutoff + horizon_days do not change the
    result.

    The tables at the cutoff are cut from the run at a later date, not
    grouped again: always the run at :func:`history_as_of` (the month end of
    cutoff + horizon_days), which a report shares with the recommendations it
    has just made.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders with the ``level`` column.
    cutoff : date or str
        Last day of the fitting history, inclusive.
    horizon_days : int, default 180
        Days after the cutoff in which the next purchase is looked for.
    top_n, level, half_life_days, prior_strength, transition_weight, settings
        As in :func:`ecrm.models.recommend.recommend`.

    Returns
    -------
    DataFrame
        Six rows, for group in (``"all"``, ``"one_purchase"``,
        ``"repeat_buyers"`` — the customer's purchases at the cutoff: 1 or 2+)
        and method in (``"model"``, ``"popularity"``): level, cutoff,
        horizon_days, top_n, group, method, customers (evaluated), hits,
        hit_rate (hits / customers; NaN without customers).

    Raises
    ------
    ColumnsError
        The orders lack ``level`` values.
    ParameterError
        Bad horizon or model parameters.
    """
    params = ModelParams.resolve(
        level=level,
        top_n=top_n,
        half_life_days=half_life_days,
        prior_strength=prior_strength,
        transition_weight=transition_weight,
        settings=settings,
    )
    n = params.top_n
    h = int(horizon_days)
    if h < 1:
        raise ParameterError(f"horizon_days must be a positive number of days, got {h}")
    cut = engine.as_of_date(cutoff)
    end = cut + dt.timedelta(days=h)
    with RunTables(orders, cut, share=False) as fit:
        fit.check_level(level, "CTB recommendation check")
        src = RunTables(fit.t, history_as_of(end))
        try:
            om, nv = _cut_at(fit, src, end, level)
            g = _evaluate(fit, om, nv, params)
        finally:
            src.release()
    rows = []
    for group in ("all", "one_purchase", "repeat_buyers"):
        for method in ("model", "popularity"):
            c, hits = int(g.loc[group, "customers"]), int(g.loc[group, method])
            rows.append(
                {
                    "level": level,
                    "cutoff": cut,
                    "horizon_days": h,
                    "top_n": n,
                    "group": group,
                    "method": method,
                    "customers": c,
                    "hits": hits,
                    "hit_rate": hits / c if c else float("nan"),
                }
            )
    return pd.DataFrame(rows)


def _cut_at(fit: RunTables, src: RunTables, end: dt.date, level: str) -> tuple[ir.Table, ir.Table]:
    """The purchases at ``fit``'s as_of, cut from ``src``, and the next values.

    ``src`` is the run at :func:`history_as_of` (on or after ``end``). A
    purchase's number, main value and values do not change with later orders
    (orders are atomic: :func:`ecrm.engine.upto`), so the run at the cutoff is
    ``src``'s purchases placed by then, with the next purchase forgotten where
    it came later; nothing is grouped again. ``fit`` is given the level's
    values (the file's: the same codes in both runs) and, for a level of many
    values, its purchase values cut the same way (its order totals and
    customers are its own).

    Returns
    -------
    order_mains : ibis.Table
        ``src``'s :meth:`~ecrm.engine.run.RunTables.order_mains` columns of the
        level, cut at the cutoff.
    next_values : ibis.Table
        customer_id, value: the values of the first purchase after the cutoff
        (by ordered_at, then order_id) of each customer with a purchase by
        then, when it is placed on or before ``end``; its values as in
        :meth:`~ecrm.engine.run.RunTables.purchase_values`.
    """
    fit.provide(("names", level), src.names(level))
    om = src.order_mains(src.main_levels(level))
    day = ibis.literal(engine.next_day(fit.as_of))
    placed = om.filter(om.ordered_at < day)
    known = placed._next_at < day  # null (no next purchase) keeps null
    cols = ["customer_id", "order_id", "ordered_at", "order_date", "amount", "seq", f"_c_{level}"]
    nexts = {"_next_order": "string", "_next_at": "timestamp", f"_n_{level}": "int64"}
    wide = f"_b_{level}" in om.columns  # the purchases' values as bits
    if wide:
        cols.append(f"_b_{level}")
        nexts[f"_nb_{level}"] = "int64"
    cut = placed.select(
        *cols, **{c: ibis.ifelse(known, placed[c], ibis.null(t)) for c, t in nexts.items()}
    )
    # the last purchase by the cutoff points at the first one after it
    edge = placed.filter(~known & (placed._next_at < ibis.literal(engine.next_day(end))))
    if wide:
        codes = fit.codes(level)
        edge = edge.select("customer_id", _bits=f"_nb_{level}").cross_join(codes)
        edge = edge.filter(((edge._bits >> edge.code) & 1) == 1)
        return cut, edge.select("customer_id", "value")
    pv = src.purchase_values(level, om)
    cutoff = ibis.literal(fit.as_of, type="date")
    fit.provide(("purchase_values", level), pv.filter(pv.order_date <= cutoff))
    edge = edge.select("customer_id", order_id="_next_order")
    after = pv.filter((pv.order_date > cutoff) & (pv.order_date <= ibis.literal(end, type="date")))
    return cut, after.semi_join(edge, ["customer_id", "order_id"]).select("customer_id", "value")


def _evaluate(
    fit: RunTables, order_mains: ir.Table, next_values: ir.Table, p: ModelParams
) -> pd.DataFrame:
    """Customers, model hits and popularity hits per group (one_purchase, repeat_buyers, all).

    Recommendations are made for the customers with a next purchase only:
    nobody else is scored.
    """
    nv = next_values.cache()
    try:
        recs, pop = recommendation_table(fit, p, order_mains=order_mains, only=nv)
        n = p.top_n
        freq = fit.customers.select("customer_id", _f="frequency")
        evaluated = nv.select("customer_id").distinct().inner_join(freq, "customer_id")
        model_hits = (
            nv.inner_join(recs.select("customer_id", "value"), ["customer_id", "value"])
            .select("customer_id")
            .distinct()
            .mutate(_hm=ibis.literal(1))
        )
        wp = ibis.window(order_by=[ibis.desc("_pop"), "value"])
        popular = pop.mutate(_r=ibis.row_number().over(wp))
        popular = popular.filter(popular._r < n).select("value")
        base_hits = (
            nv.inner_join(popular, "value")
            .select("customer_id")
            .distinct()
            .mutate(_hb=ibis.literal(1))
        )
        e = evaluated.left_join(model_hits, "customer_id").drop("customer_id_right")
        e = e.left_join(base_hits, "customer_id").drop("customer_id_right")
        e = e.mutate(
            group=ibis.ifelse(e._f >= 2, "repeat_buyers", "one_purchase"),
            _hm=e._hm.fill_null(0),
            _hb=e._hb.fill_null(0),
        )
        g = engine.to_pandas(
            e.group_by("group").agg(
                customers=e.count().cast("int64"),
                model=e._hm.sum().cast("int64"),
                popularity=e._hb.sum().cast("int64"),
            )
        ).set_index("group")
    finally:
        nv.release()
    g = g.reindex(["one_purchase", "repeat_buyers"]).fillna(0).astype("int64")
    g.loc["all"] = g.sum()
    return g
