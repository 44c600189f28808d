"""Customer value over several horizons, discounting, hold-out tracking and the P(alive) matrix.

SPEC §3 (LTV, "Predicted customer value") asks for expected purchases and value
at horizons of 3, 6 and 12 months, an optional annual discount rate, a week by
week tracking of predicted against actual purchases over the hold-out and a
P(alive) matrix by frequency × recency. These are closed-form consequences of
the fitted BG/NBD and Gamma-Gamma models (:mod:`ecrm.models.btyd`); this module
computes them from a function ``cumulative(t)`` that gives each customer's
expected purchases E[X(t)] in (T, T + t] (the model's conditional expectation),
so the point estimate and the MCMC posterior share one implementation.

Horizons and discounting (choices where SPEC is silent)
-------------------------------------------------------
* A horizon of H months ends at as_of shifted by H calendar months (the rule of
  ``predict_months``: 12 months after 2026-10-31 is 365 days), in the fit's
  time unit.
* Discounting steps by calendar month: period k is (as_of + (k−1) months,
  as_of + k months], t_k its end in days after as_of. With an annual rate r
  the value at horizon H = K months is::

      V_H = s · Σ_{k=1..K} (E[X(t_k)] − E[X(t_{k−1})]) / (1 + r)^(t_k / 365)

  where s is the customer's expected spend per purchase (Gamma-Gamma) and
  E[X(t_0)] = E[X(0)] = 0: each month's expected purchases, discounted from
  the month's end (as ``lifetimes.utils._customer_lifetime_value`` does with
  30-day months and a monthly rate). It is computed in the summed-by-parts
  form ``s · [E[X(t_K)] d_K + Σ_{k<K} E[X(t_k)] (d_k − d_{k+1})]`` (d_k the
  discount factors), which is the same sum and, with r = 0 (every d_k = 1),
  *exactly* the undiscounted total s · E[X(t_K)]: no rounding from adding
  twelve increments. Monthly rather than weekly steps: the rate is annual and
  a month's purchases are discounted by at most one month's interest
  (0.8% a month at r = 10%), so finer steps change nothing a report shows.
* Expected purchases at a horizon are never discounted (they are counts).

Tracking
--------
:func:`tracking_table` compares, week by week over the hold-out (cutoff,
as_of], the sum over the calibration customers of E[X(t_w)] − E[X(t_{w−1})]
(t_w = 7w days after the cutoff; the last week ends at as_of and may be
shorter) with the purchases those customers actually made, incremental and
cumulative. lifetimes' ``expected_cumulative_transactions`` draws the
population version (every customer from the first purchase on, new customers
included, unconditional E[X(t)]); here the hold-out customers are the ones the
fit knows, so the conditional expectation is the one to check, and the weekly
predictions add up to the hold-out total of the calibration summary.

P(alive) matrix
---------------
:func:`probability_alive_matrix` evaluates the model's P(alive) on the grid
frequency 0…max_frequency × recency 0…max_recency at T = max_recency, by
default the largest frequency and the largest T (whole time units) among the
fitted customers, as lifetimes' ``conditional_probability_alive_matrix`` does.
Frequency 0 has P(alive) = 1 at every recency (BG/NBD: nobody drops out before
a repeat purchase; recency > 0 cannot occur with frequency 0 and is kept only
to fill the grid).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ecrm.analysis import periods
from ecrm.errors import ParameterError
from ecrm.models import btyd

if TYPE_CHECKING:
    from ecrm.models.predict import Prediction

__all__ = [
    "alive_grid",
    "check_horizons",
    "discount_factors",
    "horizon_table",
    "horizon_values",
    "month_ends",
    "probability_alive_matrix",
    "summed_purchases",
    "tracking_table",
    "week_ends",
]

Cumulative = Callable[[float], np.ndarray]


def check_horizons(horizons: Sequence[int], discount_rate: float) -> tuple[tuple[int, ...], float]:
    """The horizons as sorted distinct ints ≥ 1 and the rate as a float ≥ 0, or ParameterError."""
    try:
        hs = tuple(sorted({int(h) for h in horizons}))
        rate = float(discount_rate)
    except (TypeError, ValueError) as e:
        raise ParameterError(
            f"horizons must be whole months and discount_rate a number, got {horizons!r}, "
            f"{discount_rate!r}"
        ) from e
    if any(h < 1 for h in hs):
        raise ParameterError(f"horizons must be at least 1 month, got {list(horizons)}")
    if not np.isfinite(rate) or rate < 0:
        raise ParameterError(f"discount_rate must be a number ≥ 0, got {discount_rate!r}")
    return hs, rate


def month_ends(as_of: dt.date, months: int) -> np.ndarray:
    """Days from ``as_of`` to as_of + k calendar months, k = 1…months."""
    return np.array([(periods.shift_months(as_of, k) - as_of).days for k in range(1, months + 1)])


def week_ends(days: int) -> np.ndarray:
    """Ends of the tracking weeks in days after the cutoff: 7, 14, …, and ``days`` last."""
    if days < 1:
        raise ParameterError(f"the hold-out must be at least one day long, got {days}")
    return np.minimum(np.arange(1, -(-days // 7) + 1) * 7, days)


def discount_factors(days: np.ndarray, rate: float) -> np.ndarray:
    """1 / (1 + rate)^(days / 365): the value today of one unit ``days`` ahead."""
    return np.power(1.0 + float(rate), -np.asarray(days, float) / 365.0)


def horizon_values(
    cumulative: Cumulative,
    spend: np.ndarray,
    *,
    as_of: dt.date,
    horizons: Sequence[int],
    days_per_unit: int,
    discount_rate: float = 0.0,
) -> pd.DataFrame:
    """Expected purchases and (discounted) value of each customer at each horizon.

    Parameters
    ----------
    cumulative : callable
        ``cumulative(t)``: each customer's expected purchases in the next t
        time units (an array, one value per customer).
    spend : ndarray
        Each customer's expected spend per purchase.
    as_of : date
        Start of the prediction.
    horizons : sequence of int
        Horizons in calendar months.
    days_per_unit : int
        Days in the fit's time unit (1 or 7).
    discount_rate : float, default 0
        Annual discount rate r ≥ 0 (0: undiscounted).

    Returns
    -------
    DataFrame
        Columns ``expected_purchases_{H}m`` and ``expected_value_{H}m`` for
        each horizon H, in ascending H; see the module docstring for the
        formula (monthly steps, discounted from each month's end).
    """
    hs, rate = check_horizons(horizons, discount_rate)
    spend = np.asarray(spend, float)
    ends = month_ends(as_of, hs[-1])
    # undiscounted: only the horizons themselves are needed
    steps = [h - 1 for h in hs] if rate == 0 else list(range(len(ends)))
    cum = {k: np.asarray(cumulative(ends[k] / days_per_unit), float) for k in steps}
    d = discount_factors(ends, rate)
    out = {}
    for h in hs:  # a loop over the (three) horizons, not over customers
        K = h - 1
        value = cum[K] * d[K]
        if rate != 0:
            for k in range(K):
                value = value + cum[k] * (d[k] - d[k + 1])
        out[f"expected_purchases_{h}m"] = cum[K]
        out[f"expected_value_{h}m"] = spend * value
    cols = [f"expected_purchases_{h}m" for h in hs] + [f"expected_value_{h}m" for h in hs]
    return pd.DataFrame(out)[cols]


def summed_purchases(
    params: Mapping[str, float], x: np.ndarray, tx: np.ndarray, T: np.ndarray
) -> Cumulative:
    """``t ↦`` Σ over customers of E[X(t)]: the sum :func:`tracking_table` needs, fast.

    E[X(t)] = E[X(t) | alive] · P(alive), and E[X(t) | alive] depends on (x, T)
    only (:func:`ecrm.models.btyd.expected_purchases_if_alive`): the sum is taken
    over the distinct (x, T) weighted by their customers' summed P(alive), a few
    thousand terms per week instead of one per customer.
    """
    alive = btyd.probability_alive(params, x, tx, T)
    w = pd.DataFrame({"x": x, "T": T, "w": alive}).groupby(["x", "T"], sort=True)["w"].sum()
    xu = w.index.get_level_values("x").to_numpy(float)
    Tu = w.index.get_level_values("T").to_numpy(float)
    wu = w.to_numpy(float)

    def total(t: float) -> np.ndarray:
        return np.atleast_1d(float(wu @ btyd.expected_purchases_if_alive(params, t, xu, Tu)))

    return total


def tracking_table(
    cumulative: Cumulative,
    actual: pd.DataFrame,
    *,
    cutoff: dt.date,
    as_of: dt.date,
    days_per_unit: int,
) -> pd.DataFrame:
    """Predicted against actual purchases of the calibration customers, week by week.

    Parameters
    ----------
    cumulative : callable
        ``cumulative(t)``: each calibration customer's expected purchases in
        the t time units after the cutoff, or their sum
        (:func:`summed_purchases`).
    actual : DataFrame
        ``week`` (1 = the 7 days after the cutoff) and ``purchases``: the
        calibration customers' actual purchases per week (weeks without any
        may be absent).
    cutoff, as_of : date
        The hold-out is (cutoff, as_of].
    days_per_unit : int
        Days in the fit's time unit.

    Returns
    -------
    DataFrame
        One row per week: week, start, end (dates, inclusive; the last week
        ends at as_of), days (from the cutoff to the week's end), predicted,
        actual (purchases in the week), predicted_cumulative, actual_cumulative.
    """
    ends = week_ends((as_of - cutoff).days)
    cum = np.array([np.asarray(cumulative(e / days_per_unit), float).sum() for e in ends])
    predicted = np.diff(cum, prepend=0.0)
    weeks = np.arange(1, len(ends) + 1)
    act = actual.groupby("week")["purchases"].sum().reindex(weeks, fill_value=0)
    start = pd.to_datetime(cutoff) + pd.to_timedelta(np.r_[0, ends[:-1]] + 1, unit="D")
    return pd.DataFrame(
        {
            "week": weeks,
            "start": start.date,
            "end": (pd.to_datetime(cutoff) + pd.to_timedelta(ends, unit="D")).date,
            "days": ends,
            "predicted": predicted,
            "actual": act.to_numpy("int64"),
            "predicted_cumulative": cum,
            "actual_cumulative": np.cumsum(act.to_numpy("int64")),
        }
    )


def probability_alive_matrix(
    prediction: Prediction,
    *,
    max_frequency: int | None = None,
    max_recency: int | None = None,
) -> pd.DataFrame:
    """P(alive) on a frequency × recency grid at T = max_recency, as a tidy table.

    Parameters
    ----------
    prediction : Prediction
        A fit of :func:`ecrm.models.predict.predict_value` (its ``params``;
        for MCMC the posterior means).
    max_frequency : int, optional
        Largest frequency of the grid (default: the largest among the customers).
    max_recency : int, optional
        Largest recency, and the T of every grid point, in the fit's time unit
        (default: the largest T among the customers, in whole units).

    Returns
    -------
    DataFrame
        frequency, recency, T, probability_alive; (max_frequency + 1) ×
        (max_recency + 1) rows, by frequency then recency.

    Raises
    ------
    ParameterError
        A negative maximum.
    """
    c = prediction.customers
    f_max = int(c["frequency"].max()) if max_frequency is None else int(max_frequency)
    r_max = int(c["T"].max()) if max_recency is None else int(max_recency)
    if f_max < 0 or r_max < 0:
        raise ParameterError(
            f"max_frequency and max_recency must be ≥ 0, got {max_frequency}, {max_recency}"
        )
    return alive_grid(prediction.params, f_max, r_max)


def alive_grid(params: Mapping[str, float], max_frequency: int, max_recency: int) -> pd.DataFrame:
    """The grid of :func:`probability_alive_matrix` from BG/NBD parameters."""
    f, r = np.meshgrid(np.arange(max_frequency + 1), np.arange(max_recency + 1), indexing="ij")
    f, r = f.ravel().astype(float), r.ravel().astype(float)
    T = np.full(f.shape, float(max_recency))
    return pd.DataFrame(
        {
            "frequency": f.astype("int64"),
            "recency": r.astype("int64"),
            "T": T.astype("int64"),
            "probability_alive": btyd.probability_alive(params, f, r, T),
        }
    )


def horizon_table(prediction: Prediction) -> pd.DataFrame:
    """Expected purchases and value of today's customers per horizon: the page's compact table.

    Parameters
    ----------
    prediction : Prediction
        A :func:`ecrm.models.predict.predict_value` result with horizon columns
        (``info["horizons_months"]``).

    Returns
    -------
    DataFrame
        One row per horizon, ascending: horizon_months, customers,
        expected_purchases and expected_value (totals over the customers),
        avg_expected_purchases and avg_expected_value (per customer),
        discount_rate_annual (the rate of the values; 0: undiscounted). Empty
        (with these columns) when the prediction has no horizons.
    """
    c = prediction.customers
    hs = [int(h) for h in prediction.info.get("horizons_months", [])]
    n = len(c)
    buys = np.array([c[f"expected_purchases_{h}m"].sum() for h in hs], float)
    value = np.array([c[f"expected_value_{h}m"].sum() for h in hs], float)
    per = 1.0 / n if n else np.nan
    return pd.DataFrame(
        {
            "horizon_months": np.asarray(hs, "int64"),
            "customers": np.full(len(hs), n, "int64"),
            "expected_purchases": buys,
            "avg_expected_purchases": buys * per,
            "expected_value": value,
            "avg_expected_value": value * per,
            "discount_rate_annual": np.full(
                len(hs), float(prediction.info.get("discount_rate_annual", 0.0))
            ),
        }
    )
