"""The hold-out check of the predicted customer value: fit at a cutoff, compare with what happened.

:func:`calibration` fits the models of :mod:`ecrm.models.predict` on the history
up to ``cutoff``, predicts each customer's purchases and net value in
(cutoff, as_of] and compares them with the customer's actual purchases and
revenue in that period: totals, relative error, MAE, RMSE, correlation, and
predicted against actual purchases by repeat purchases in the calibration
period, and week by week over the hold-out (``tracking``,
:func:`ecrm.models.clv.tracking_table`). The monthly report shows it next to the
prediction. ``predict.calibration`` and ``predict.Calibration`` keep working
(re-exported there).

The cutoff (SPEC §3: as_of − 12 months, or the middle of a history shorter than 24 months)
-------------------------------------------------------------------------------------------
Without ``cutoff=``, the history runs from the shop's first order on or before
as_of (any order, purchase or not: the export's first day) to as_of. When it
spans at least twice the settings' ``predict_months`` (24 months by default:
first order ≤ as_of − 24 months) the cutoff is as_of − ``predict_months``
months, so the hold-out is as long as the prediction horizon. Otherwise it is
the middle of the history: first order day + ⌊days / 2⌋, days = as_of − first
order day (rounded down to a whole day, so the calibration period is never
the longer half). UCI Online Retail (2010-12-01 to 2011-12-09, 373 days) is
fitted at 2011-06-05 and checked on the six months after. The rule used, the
history's first day and the sentence saying why are in ``Calibration.info``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ecrm import engine
from ecrm.analysis import periods
from ecrm.errors import ParameterError
from ecrm.models import clv, predict
from ecrm.settings import LtvSettings, ShopSettings, section

__all__ = ["Calibration", "calibration"]


@dataclass(frozen=True)
class Calibration:
    """Result of :func:`calibration`: the model fitted at ``cutoff`` against the hold-out.

    Attributes
    ----------
    customers : DataFrame
        One row per customer with a purchase on or before the cutoff:
        customer_id, frequency, recency, T, monetary_value (at the cutoff),
        probability_alive, predicted_purchases, actual_purchases,
        predicted_value, actual_value (net revenue of the customer's orders in
        the hold-out), spend_basis.
    summary : DataFrame
        One row per measure (``purchases``, ``value``): measure, customers,
        predicted_total, actual_total, relative_error ((predicted − actual) /
        actual, of the totals), mae, rmse (per customer), correlation (Pearson,
        per customer).
    by_frequency : DataFrame
        Mean predicted and actual hold-out purchases by repeat purchases in the
        calibration period: frequency (0, 1, …; the last bin ``"k+"`` pools
        the rest), customers, predicted, actual.
    prediction : predict.Prediction
        The fit at the cutoff (its ``info`` holds the cutoff as ``as_of``).
    cutoff, as_of : date
        End of the calibration period and of the hold-out period (inclusive).
    tracking : DataFrame
        Week by week over the hold-out, the calibration customers' predicted
        and actual purchases, incremental and cumulative
        (:func:`ecrm.models.clv.tracking_table`).
    info : dict
        ``cutoff``, ``cutoff_rule`` (``"given"``, ``"as_of_minus_months"`` or
        ``"middle_of_history"``), ``history_start`` (the first order day),
        ``history_days``, ``holdout_days``, ``cutoff_reason`` (a sentence),
        ``months`` (the settings' ``predict_months`` the default rule uses).
    """

    customers: pd.DataFrame
    summary: pd.DataFrame
    by_frequency: pd.DataFrame
    prediction: predict.Prediction
    cutoff: dt.date
    as_of: dt.date
    tracking: pd.DataFrame = field(default_factory=pd.DataFrame)
    info: dict[str, Any] = field(default_factory=dict)


def _holdout_table(
    orders: engine.OrdersLike, *, cutoff: dt.date, as_of: dt.date, time_unit: str, purchases: str
) -> ir.Table:
    """Per customer: purchases and net revenue in (cutoff, as_of]."""
    o = engine.order_totals(orders, as_of=as_of)
    o = o.filter(o.order_date > ibis.literal(cutoff, type="date"))
    period = o.order_date.truncate("W") if time_unit == "W" else o.order_date
    count = (
        period.nunique(where=o.is_purchase)
        if purchases == "periods"
        else o.is_purchase.cast("int64").sum()
    )
    return o.group_by("customer_id").agg(
        actual_purchases=count.cast("int64"), actual_value=o.amount.sum().cast(engine.AMOUNT)
    )


def _holdout_weeks(
    orders: engine.OrdersLike, *, cutoff: dt.date, as_of: dt.date, time_unit: str, purchases: str
) -> ir.Table:
    """Per customer and hold-out week (1 = the 7 days after the cutoff): purchases.

    ``purchases="periods"`` counts the customer's distinct purchase periods within the
    week (a calendar week split by a tracking week's end counts in both).
    """
    o = engine.order_totals(orders, as_of=as_of)
    o = o.filter(o.order_date > ibis.literal(cutoff, type="date"))
    o = o.filter(o.is_purchase)
    day = o.order_date.delta(ibis.literal(cutoff, type="date"), unit="day")
    o = o.mutate(week=((day - 1) // 7 + 1).cast("int64"))
    period = o.order_date.truncate("W") if time_unit == "W" else o.order_date
    count = period.nunique() if purchases == "periods" else o.count()
    return o.group_by(["customer_id", "week"]).agg(purchases=count.cast("int64"))


def choose_cutoff(
    first_order: dt.date | None, as_of: dt.date, months: int
) -> tuple[dt.date, str, str]:
    """The hold-out cutoff of SPEC §3: (cutoff, rule, reason); see the module docstring.

    ``first_order`` is the shop's first order day on or before as_of (None: no orders).
    """
    if first_order is None or periods.shift_months(as_of, -2 * months) >= first_order:
        cutoff = periods.shift_months(as_of, -months)
        why = (
            f"the history ({first_order} to {as_of}) spans at least {2 * months} months: "
            f"fitted at as_of − {months} months"
        )
        return cutoff, "as_of_minus_months", why
    days = (as_of - first_order).days
    cutoff = first_order + dt.timedelta(days=days // 2)
    why = (
        f"the history ({first_order} to {as_of}, {days} days) is shorter than {2 * months} "
        f"months: fitted at its middle"
    )
    return cutoff, "middle_of_history", why


def _errors(measure: str, predicted: pd.Series, actual: pd.Series) -> dict[str, Any]:
    pred = predicted.to_numpy(dtype="float64")
    act = actual.to_numpy(dtype="float64")
    diff = pred - act
    total_p, total_a = float(pred.sum()), float(act.sum())
    corr = (
        float(np.corrcoef(pred, act)[0, 1])
        if len(pred) > 1 and pred.std() > 0 and act.std() > 0
        else float("nan")
    )
    return {
        "measure": measure,
        "customers": len(pred),
        "predicted_total": total_p,
        "actual_total": total_a,
        "relative_error": (total_p - total_a) / total_a if total_a else float("nan"),
        "mae": float(np.abs(diff).mean()) if len(diff) else float("nan"),
        "rmse": float(np.sqrt((diff**2).mean())) if len(diff) else float("nan"),
        "correlation": corr,
    }


def _by_frequency(customers: pd.DataFrame, top: int) -> pd.DataFrame:
    f = customers["frequency"].clip(upper=top)
    g = customers.groupby(f).agg(
        customers=("customer_id", "size"),
        predicted=("predicted_purchases", "mean"),
        actual=("actual_purchases", "mean"),
    )
    g = g.reset_index()
    g["frequency"] = [f"{v}+" if v == top else str(v) for v in g["frequency"]]
    return g[["frequency", "customers", "predicted", "actual"]]


def calibration(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    cutoff: Any = None,
    fit_method: predict.FitMethod = "map",
    settings: ShopSettings | LtvSettings | None = None,
    time_unit: predict.TimeUnit = "D",
    purchases: predict.PurchaseCount = "orders",
    max_frequency: int = 7,
    min_repeat_customers: int | None = None,
    random_state: int | None = 0,
    fit_kwargs: Mapping[str, Any] | None = None,
) -> Calibration:
    """Fit on the history up to ``cutoff``, predict (cutoff, as_of], compare with what happened.

    The customers are those with a purchase on or before the cutoff (new
    customers of the hold-out period are not predicted); their hold-out
    purchases are counted as ``purchases`` says, their hold-out value is the
    net revenue of all their orders in the hold-out (returns included).

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders (SPEC §1).
    as_of : date or str
        Last day of the hold-out period, inclusive; later orders are ignored.
    cutoff : date or str, optional
        Last day of the calibration period, inclusive (default: ``as_of``
        minus the settings' ``predict_months`` months, so that the hold-out is
        as long as the horizon of :func:`~ecrm.models.predict.predict_value`,
        when the history spans twice that; else the middle of the history:
        see the module docstring and ``Calibration.info``).
    fit_method, settings, time_unit, purchases, min_repeat_customers, random_state, fit_kwargs
        As in :func:`~ecrm.models.predict.predict_value`; the repeat customers are
        counted at the cutoff.
    max_frequency : int, default 7
        Last bin of ``by_frequency`` (``"7+"``).

    Returns
    -------
    Calibration
        ``customers`` (per customer, predicted and actual), ``summary`` (total
        predicted vs actual, relative error, MAE, RMSE, correlation, for
        purchases and value), ``by_frequency``, the ``prediction``, the weekly
        ``tracking`` and the cutoff's ``info``; see :class:`Calibration`.

    Raises
    ------
    ParameterError
        ``cutoff`` is not before ``as_of``, or another bad argument.
    MissingDependencyError, ModelFitError
        As in :func:`~ecrm.models.predict.predict_value`.

    Examples
    --------
    >>> c = calibration(orders, as_of="2026-10-31", cutoff="2025-10-31")  # doctest: +SKIP
    >>> c.summary[["measure", "predicted_total", "actual_total"]]  # doctest: +SKIP
    """
    predict.check_choice("fit_method", fit_method, predict.FIT_METHODS)
    predict.check_choice("time_unit", time_unit, predict.TIME_UNITS)
    predict.check_choice("purchases", purchases, predict.PURCHASE_COUNTS)
    if int(max_frequency) < 1:
        raise ParameterError(f"max_frequency must be at least 1, got {max_frequency}")
    as_of_d = engine.as_of_date(as_of)
    t = engine.orders_table(orders)
    o = engine.order_totals(t, as_of=as_of_d, customers_only=False)  # guests too: the export
    first = o.order_date.min().execute()
    first_d = None if first is None or pd.isna(first) else pd.Timestamp(first).date()
    months = section(settings, LtvSettings).predict_months
    if cutoff is None:
        cutoff_d, rule, why = choose_cutoff(first_d, as_of_d, months)
    else:
        cutoff_d, rule, why = engine.as_of_date(cutoff), "given", "the cutoff was given"
    min_repeat = predict.repeat_threshold(settings, min_repeat_customers)
    if cutoff_d >= as_of_d:
        raise ParameterError(f"cutoff ({cutoff_d}) must be before as_of ({as_of_d})")
    if fit_method == "mcmc":
        predict.pymc_clv()
    rfm = predict.rfm_summary(t, as_of=cutoff_d, time_unit=time_unit, purchases=purchases)
    pred, cumulative = predict.fit_and_predict(
        rfm,
        as_of=cutoff_d,
        horizon_days=(as_of_d - cutoff_d).days,
        months=None,
        time_unit=time_unit,
        purchases=purchases,
        fit_method=fit_method,
        min_repeat_customers=min_repeat,
        random_state=random_state,
        fit_kwargs=fit_kwargs,
        with_fit=True,
    )
    hold = engine.to_pandas(
        _holdout_table(t, cutoff=cutoff_d, as_of=as_of_d, time_unit=time_unit, purchases=purchases)
    )
    c = pred.customers.rename(
        columns={"expected_purchases": "predicted_purchases", "expected_value": "predicted_value"}
    )
    c = c.merge(hold, on="customer_id", how="left", validate="one_to_one")
    c["actual_purchases"] = c["actual_purchases"].fillna(0).astype("int64")
    c["actual_value"] = c["actual_value"].fillna(0.0).astype("float64")
    c = c[
        [
            "customer_id",
            "frequency",
            "recency",
            "T",
            "monetary_value",
            "probability_alive",
            "predicted_purchases",
            "actual_purchases",
            "predicted_value",
            "actual_value",
            "spend_basis",
        ]
    ]
    summary = pd.DataFrame(
        [
            _errors("purchases", c["predicted_purchases"], c["actual_purchases"]),
            _errors("value", c["predicted_value"], c["actual_value"]),
        ]
    )
    weekly = engine.to_pandas(
        _holdout_weeks(t, cutoff=cutoff_d, as_of=as_of_d, time_unit=time_unit, purchases=purchases)
    )
    weekly = weekly[weekly["customer_id"].isin(c["customer_id"])]
    if fit_method == "map":  # the sum over customers by distinct (x, T): 52 weeks in ~1 s at 1M
        cols = [rfm[k].to_numpy(float) for k in ("frequency", "recency", "T")]
        cumulative = clv.summed_purchases(pred.params, *cols)
    tracking = clv.tracking_table(
        cumulative,
        weekly,
        cutoff=cutoff_d,
        as_of=as_of_d,
        days_per_unit=predict.TIME_UNITS[time_unit],
    )
    info = {
        "cutoff": cutoff_d,
        "cutoff_rule": rule,
        "cutoff_reason": why,
        "months": months,
        "history_start": first_d,
        "history_days": None if first_d is None else (as_of_d - first_d).days,
        "holdout_days": (as_of_d - cutoff_d).days,
    }
    return Calibration(
        customers=c,
        summary=summary,
        by_frequency=_by_frequency(c, int(max_frequency)),
        prediction=pred,
        cutoff=cutoff_d,
        as_of=as_of_d,
        tracking=tracking,
        info=info,
    )
