"""The 定期 projection: sBG survival by delivery count, expected deliveries, subscriber LTV.

SPEC §3 (Subscriptions): a shifted-beta-geometric model
(:class:`ecrm.models.sbg.ShiftedBetaGeometric`) is fitted to every start
cohort's lifetimes at ``as_of`` (:func:`ecrm.analysis.subscriptions.lifetimes`:
cancelled subscriptions as ended lifetimes, active ones as running), and gives

* projected survival S(n) for n = 1 … ``horizon`` deliveries (default 24),
  beyond what any cohort has reached yet;
* expected deliveries per new subscription, Σ S(n) for n = 0 … horizon − 1
  (counted within the horizon: the sBG lifetime is infinite in expectation
  when α ≤ 1, which real 定期 data often gives);
* subscriber LTV = mean net value of a delivery × expected deliveries.

:func:`projection_check` fits the same model at a cut-off and compares its
projected survival with the Kaplan–Meier survival by delivery count observed
at ``as_of`` for the subscriptions started by the cut-off — the check a client
needs before trusting a projection, as the BTYD hold-out is for CLV.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ecrm import engine
from ecrm.analysis import subscriptions as subs
from ecrm.errors import ParameterError
from ecrm.models.calibration import choose_cutoff
from ecrm.models.sbg import ShiftedBetaGeometric

__all__ = [
    "HoldoutCheck",
    "SubscriptionProjection",
    "holdout_check",
    "kaplan_meier",
    "project",
    "projection_check",
]

DEFAULT_HORIZON = 24


@dataclass(frozen=True)
class SubscriptionProjection:
    """What :func:`project` returns.

    Attributes
    ----------
    survival : DataFrame
        n (1 … horizon), observed (Kaplan–Meier survival to n deliveries at
        as_of, NaN beyond the longest subscription), projected (sBG S(n − 1):
        the share of new subscriptions that receive delivery n).
    model : ShiftedBetaGeometric
        The fitted model (``alpha_``, ``beta_``, ``log_likelihood_``).
    summary : DataFrame
        One row: subscriptions, alpha, beta, horizon, expected_deliveries,
        mean_delivery_value, subscriber_ltv.
    """

    survival: pd.DataFrame
    model: ShiftedBetaGeometric
    summary: pd.DataFrame


def kaplan_meier(lifetimes: pd.DataFrame, n_max: int) -> np.ndarray:
    """Kaplan–Meier share of subscriptions receiving delivery n, for n = 1 … n_max.

    Parameters
    ----------
    lifetimes : DataFrame
        t, censored, count as :func:`ecrm.analysis.subscriptions.lifetimes`
        gives (ended: T = t; running: T > t).
    n_max : int
        Last delivery count.

    Returns
    -------
    ndarray
        Survival to delivery n (1 at n = 1; NaN where no subscription is
        still observed).
    """
    t = lifetimes["t"].to_numpy()
    cens = lifetimes["censored"].to_numpy(bool)
    w = lifetimes["count"].to_numpy(float)
    out = np.full(n_max, np.nan)
    s = 1.0
    for n in range(1, n_max + 1):  # over delivery counts (a few dozen), not subscriptions
        out[n - 1] = s
        at_risk = w[(t >= n) & ~cens].sum() + w[(t >= n) & cens].sum()
        ended = w[(t == n) & ~cens].sum()
        if at_risk <= 0:
            out[n:] = np.nan
            break
        s *= 1 - ended / at_risk
    return out


def project(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    table: subs.SubscriptionsLike = None,
    lapse_days: int = subs.DEFAULT_LAPSE_DAYS,
    horizon: int = DEFAULT_HORIZON,
) -> SubscriptionProjection:
    """Fit the sBG model at ``as_of`` and project survival, deliveries and LTV.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders with ``subscription_id``.
    as_of : date or str
        Last day of the analysis, inclusive.
    table : DataFrame or ibis Table, optional
        The subscriptions table (SPEC §1).
    lapse_days : int, default 60
        Without ``table``: days after the last delivery to cancellation.
    horizon : int, default 24
        Deliveries to project and to count expected deliveries within.

    Returns
    -------
    SubscriptionProjection

    Raises
    ------
    ParameterError
        horizon < 1, or no subscription has been cancelled yet (nothing to
        learn the churn from).
    """
    if int(horizon) < 1:
        raise ParameterError(f"horizon must be at least 1 delivery, got {horizon}")
    lt = subs.lifetimes(orders, as_of=as_of, table=table, lapse_days=lapse_days)
    model = ShiftedBetaGeometric().fit(t=lt["t"], count=lt["count"], censored=lt["censored"])
    n = np.arange(1, int(horizon) + 1)
    survival = pd.DataFrame(
        {
            "n": n,
            "observed": kaplan_meier(lt, int(horizon)),
            "projected": model.survival(n - 1),
        }
    )
    d = subs.deliveries(orders, as_of=as_of)
    mean_value = float(d["amount"].mean()) if len(d) else float("nan")
    expected = model.expected_periods(horizon=int(horizon))
    summary = pd.DataFrame(
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
    return SubscriptionProjection(survival=survival, model=model, summary=summary)


def projection_check(
    orders: engine.OrdersLike,
    *,
    cutoff: Any,
    as_of: Any,
    table: subs.SubscriptionsLike = None,
    lapse_days: int = subs.DEFAULT_LAPSE_DAYS,
) -> pd.DataFrame:
    """The projection fitted at ``cutoff`` against what the same subscriptions did by ``as_of``.

    The model learns from the lifetimes known at ``cutoff``; the subscriptions
    started by then are followed to ``as_of`` and their Kaplan–Meier survival by
    delivery count is compared with the model's projection. Rows run to the
    longest delivery count observed at ``as_of``; the rows beyond the longest
    count reached at ``cutoff`` are pure projection (``beyond_cutoff``).

    Returns
    -------
    DataFrame
        n, projected, observed, error (projected − observed), beyond_cutoff
        (bool).

    Raises
    ------
    ParameterError
        cutoff not before as_of, or nothing cancelled by the cut-off.
    """
    c, a = engine.as_of_date(cutoff), engine.as_of_date(as_of)
    if c >= a:
        raise ParameterError(f"cutoff ({c}) must be before as_of ({a})")
    fit = subs.lifetimes(orders, as_of=c, table=table, lapse_days=lapse_days)
    model = ShiftedBetaGeometric().fit(t=fit["t"], count=fit["count"], censored=fit["censored"])
    started = subs.subscriptions(orders, as_of=c, table=table, lapse_days=lapse_days)
    later = subs.subscriptions(orders, as_of=a, table=table, lapse_days=lapse_days)
    later = later[
        later["subscription_id"].isin(started["subscription_id"]) & (later.deliveries > 0)
    ]
    running = later["status"] == "active"
    lt = pd.DataFrame(
        {
            "t": np.where(running, later["deliveries"] - 1, later["deliveries"]),
            "censored": running.to_numpy(),
            "count": 1,
        }
    )
    n_max = int(later["deliveries"].max()) if len(later) else 1
    n = np.arange(1, n_max + 1)
    observed = kaplan_meier(lt, n_max)
    projected = model.survival(n - 1)
    reached_at_cutoff = int(started["deliveries"].max()) if len(started) else 0
    return pd.DataFrame(
        {
            "n": n,
            "projected": projected,
            "observed": observed,
            "error": projected - observed,
            "beyond_cutoff": n > reached_at_cutoff,
        }
    )


@dataclass(frozen=True)
class HoldoutCheck:
    """What :func:`holdout_check` returns.

    Attributes
    ----------
    cutoff : date
        The cut-off the model was fitted at.
    rule : str
        ``"as_of_minus_months"`` or ``"middle_of_history"`` (as the BTYD hold-out).
    reason : str
        Why that cut-off, in words.
    table : DataFrame or None
        :func:`projection_check`'s table; None when no subscription had been
        cancelled by the cut-off (nothing to fit).
    """

    cutoff: Any
    rule: str
    reason: str
    table: pd.DataFrame | None


def holdout_check(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    table: subs.SubscriptionsLike = None,
    lapse_days: int = subs.DEFAULT_LAPSE_DAYS,
    months: int = 12,
) -> HoldoutCheck:
    """:func:`projection_check` at the cut-off the BTYD hold-out would choose.

    The cut-off is :func:`ecrm.models.calibration.choose_cutoff` applied to the
    **subscription history** (its first start to as_of): as_of − ``months``
    when that history spans at least 2 × ``months``, else its middle. A
    cut-off by which nothing was cancelled gives ``table=None`` (the page says
    the projection cannot be checked yet) instead of an error.

    Parameters
    ----------
    orders, as_of, table, lapse_days
        As :func:`project`.
    months : int, default 12
        The hold-out length.

    Returns
    -------
    HoldoutCheck
    """
    a = engine.as_of_date(as_of)
    s = subs.subscriptions(orders, as_of=a, table=table, lapse_days=lapse_days)
    first = pd.to_datetime(s["started_at"]).min() if len(s) else pd.NaT
    first_day = None if pd.isna(first) else first.date()
    cutoff, rule, reason = choose_cutoff(first_day, a, int(months))
    if first_day is None or cutoff <= first_day:
        return HoldoutCheck(cutoff, rule, reason, None)
    fit = subs.lifetimes(orders, as_of=cutoff, table=table, lapse_days=lapse_days)
    if not (~fit["censored"] & (fit["count"] > 0)).any():
        return HoldoutCheck(cutoff, rule, reason, None)
    check = projection_check(orders, cutoff=cutoff, as_of=a, table=table, lapse_days=lapse_days)
    return HoldoutCheck(cutoff, rule, reason, check)
