"""Predicted customer value (SPEC §3, LTV): BG/NBD purchases × Gamma-Gamma spend.

A buy-till-you-die model: the BG/NBD model (Fader, Hardie & Lee 2005) for how
often each customer buys and whether the customer is still "alive", and the
Gamma-Gamma model (Fader & Hardie 2013) for how much the customer spends per
purchase. Both are fitted by default to a point estimate (``fit_method="map"``:
with flat priors, the maximum-likelihood estimate, as in ``lifetimes``),
computed by :mod:`ecrm.models.btyd` from the closed-form likelihoods with SciPy;
``"mcmc"`` samples the posterior with NUTS through pymc-marketing (the optional
extra ``ecrm[predict]``, imported only then), started from that estimate, and
averages every prediction over the draws.

Definitions (per customer, at ``as_of``; :func:`rfm_summary`)
-------------------------------------------------------------
* A **purchase** is an order with net amount > 0 (SPEC §1), ordered by
  (ordered_at, order_id). By default every purchase counts, so two orders on
  one day are two purchases (SPEC counts orders). ``purchases="periods"``
  counts purchase *periods* instead (days, or weeks): the ``lifetimes`` /
  ``pymc_marketing.clv.rfm_summary`` convention, whose figures it reproduces
  on order histories without returns.
* **Net value of a purchase**: the purchase's own net amount plus the net
  amounts of the customer's non-purchase orders (returns, cancellations,
  zero-value orders) placed after it and before the customer's next purchase.
  A return is thus charged to the purchase it most plausibly belongs to (the
  latest one before it), whatever the return order is called. Non-purchase
  orders before a customer's first purchase are ignored.
* ``frequency`` = purchases − 1 (repeat purchases); ``recency`` = time from the
  first to the last purchase; ``T`` = time from the first purchase to as_of;
  both in ``time_unit`` (calendar days of the shop time zone, or weeks between
  the Mondays of the purchase weeks). ``monetary_value`` = the mean net value
  of the repeat purchases (the first purchase left out, as the Gamma-Gamma
  model requires); 0 for customers without a repeat purchase.
* A **customer** is a non-guest customer_id with a purchase on or before
  as_of; orders after as_of are ignored.

Customers with non-positive repeat spend
----------------------------------------
A customer whose repeat purchases were returned (``frequency > 0`` and
``monetary_value <= 0``) cannot enter the Gamma-Gamma model, which needs
positive values. Such customers are **excluded from the spend fit but kept in
the output**: their expected spend is the population mean spend (what the model
says about a customer with no usable spend history, as for one-time buyers),
their ``spend_basis`` is ``"nonpositive_spend"``, and their number is
``Prediction.info["nonpositive_spend_customers"]``.

Note that the BG/NBD model assumes nobody drops out before a first repeat
purchase, so every one-time buyer has ``probability_alive`` = 1; their expected
purchases are still low, because their rate is estimated from having bought
only once in ``T``.

Horizons and discounting
------------------------
Besides the ``months`` (12) columns, :func:`predict_value` gives
``expected_purchases_{H}m`` and ``expected_value_{H}m`` for each horizon H of
the settings' ``predict_horizons_months`` (3, 6, 12), the values discounted
month by month at ``discount_rate_annual`` (default 0: undiscounted, and then
the 12-month columns equal expected_purchases and expected_value exactly);
the formula and its choices are in :mod:`ecrm.models.clv`, which also draws
the hold-out tracking table and the P(alive) matrix.

When no model is fitted
-----------------------
:class:`~ecrm.errors.MissingDependencyError` (pymc-marketing not installed)
and :class:`~ecrm.errors.ModelFitError` (fewer than
``predict_min_repeat_customers`` repeat customers, default 100; an optimiser
or sampler failure; a degenerate fit) live in :mod:`ecrm.errors` and are
importable from here too. The report notebook turns both into a message in
place of the section (``ReportContext.attempt``).

Speed: every customer is fitted, no sample
------------------------------------------
The point estimate maximises the summed log-likelihoods with L-BFGS-B and
their analytic gradients, over the distinct (frequency, recency, T) rows:
about 0.3 s for the 30,000 customers of a demo shop, where pymc-marketing's MAP
fit of the same likelihoods took 3–6 s (PyTensor compiling the model and its
gradient at every fit) plus 4–5 s to import PyMC. The optimum is the same (a
test compares them: parameters within 0.2%, log-likelihood no lower). So every
customer is used, which keeps the figures exact and free of sampling noise; the
monthly report fits twice (:func:`predict_value` and
:func:`~ecrm.models.calibration.calibration`, the hold-out check, in its own module).
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from ecrm import engine
from ecrm.analysis import periods
from ecrm.errors import MissingDependencyError, ModelFitError, ParameterError
from ecrm.models import btyd, clv
from ecrm.models.rfm_summary import (
    PURCHASE_COUNTS,
    TIME_UNITS,
    PurchaseCount,
    TimeUnit,
    check_choice,
    rfm_summary,
    rfm_summary_table,
)
from ecrm.settings import LtvSettings, ShopSettings, section

if TYPE_CHECKING:  # loaded on first use by __getattr__ below (it imports this module)
    from ecrm.models.calibration import Calibration, calibration

__all__ = [
    "FIT_METHODS",
    "MCMC_DEFAULTS",
    "PURCHASE_COUNTS",
    "SPEND_BASES",
    "TIME_UNITS",
    "Calibration",
    "MissingDependencyError",
    "ModelFitError",
    "Prediction",
    "calibration",
    "predict_value",
    "rfm_summary",
    "rfm_summary_table",
    "value_deciles",
]

FitMethod = Literal["map", "mcmc"]

#: Ways of fitting the models: a point estimate (default) or NUTS sampling.
FIT_METHODS: tuple[str, ...] = ("map", "mcmc")
#: Values of ``spend_basis`` in :attr:`Prediction.customers`.
SPEND_BASES: tuple[str, ...] = ("customer", "population", "nonpositive_spend")

#: Default NUTS settings of ``fit_method="mcmc"`` (override through ``fit_kwargs``).
MCMC_DEFAULTS: dict[str, Any] = {"draws": 500, "tune": 500, "chains": 2, "progressbar": False}

#: Prediction arrays hold at most about this many (draw × customer) values at once.
_CHUNK_VALUES = 2_000_000
_BG_PARAMS: tuple[str, ...] = ("r", "alpha", "a", "b")
_GG_PARAMS: tuple[str, ...] = ("p", "q", "v")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Prediction:
    """Result of :func:`predict_value`.

    Attributes
    ----------
    customers : DataFrame
        One row per customer (see :func:`predict_value`).
    params : dict of str to float
        Fitted parameters: BG/NBD ``r``, ``alpha`` (rate scale, in ``time_unit``),
        ``a``, ``b``; Gamma-Gamma ``p``, ``q``, ``v`` (posterior means for MCMC).
    info : dict
        How the fit was made and on what: ``as_of``, ``months`` (None for a
        calibration fit), ``horizon_days``, ``horizon``
        (prediction horizon in ``time_unit``), ``time_unit``, ``purchases``,
        ``fit_method``, ``customers``, ``repeat_customers``,
        ``spend_fit_customers`` (in the Gamma-Gamma fit),
        ``nonpositive_spend_customers``, ``population_mean_spend``
        (v·p / (q − 1)), ``spend_frequency_corr`` (correlation of
        monetary_value and frequency among the spend-fit customers: the
        Gamma-Gamma model assumes they are independent, so it should be small);
        ``horizons_months``, ``horizon_days_by_months``, ``discount_rate_annual``
        and ``discount_step`` (``"month"``) of the horizon columns.
    params_sd : dict of str to float
        Posterior standard deviations (MCMC only; empty for MAP).
    """

    customers: pd.DataFrame
    params: dict[str, float]
    info: dict[str, Any]
    params_sd: dict[str, float] = field(default_factory=dict)

    def params_table(self) -> pd.DataFrame:
        """The fitted parameters as a table: model, parameter, value, sd."""
        rows = [
            ("BG/NBD" if k in _BG_PARAMS else "Gamma-Gamma", k, v, self.params_sd.get(k, np.nan))
            for k, v in self.params.items()
        ]
        return pd.DataFrame(rows, columns=["model", "parameter", "value", "sd"])


# --------------------------------------------------------------------------- checks


def repeat_threshold(settings: ShopSettings | LtvSettings | None, value: int | None) -> int:
    """The fewest repeat customers a fit needs: ``value``, else the settings' default.

    Shared by :func:`predict_value` and :func:`ecrm.models.calibration.calibration`.
    """
    n = section(settings, LtvSettings).predict_min_repeat_customers if value is None else int(value)
    if n < 1:
        raise ParameterError(f"min_repeat_customers must be at least 1, got {value}")
    return n


def pymc_clv() -> ModuleType:
    """Import ``pymc_marketing.clv`` or say how to install it."""
    try:
        from pymc_marketing import clv
    except ImportError as e:
        raise MissingDependencyError(
            "predicted customer value needs pymc-marketing, an optional extra of ecrm: "
            "install it with `pip install 'ecrm[predict]'` (or `pip install pymc-marketing`)"
            f" ({e})"
        ) from e
    return clv


# --------------------------------------------------------------------------- fitting


@dataclass
class _Fit:
    bg: Any
    gg: Any
    params: dict[str, float]
    params_sd: dict[str, float]
    n_draws: int


def _posterior_stats(
    model: Any, names: tuple[str, ...]
) -> tuple[dict[str, float], dict[str, float]]:
    post = model.fit_result
    mean = {k: float(post[k].mean()) for k in names}
    n = int(post.sizes.get("chain", 1) * post.sizes.get("draw", 1))
    sd = {k: float(post[k].std()) for k in names} if n > 1 else {}
    return mean, sd


def _check_repeat(rfm: pd.DataFrame, *, as_of: dt.date, min_repeat_customers: int) -> None:
    """Refuse to fit when too few customers have bought twice (before any model work)."""
    if rfm.empty:
        raise ModelFitError(f"no customer has a purchase on or before {as_of}")
    repeat = int((rfm["frequency"] > 0).sum())
    if not repeat:
        raise ModelFitError(
            f"no customer has a repeat purchase among {len(rfm):,}: the purchase model "
            "cannot be fitted (choose a later as_of or a longer history)"
        )
    if repeat < min_repeat_customers:
        raise ModelFitError(
            f"only {repeat:,} of {len(rfm):,} customers have a repeat purchase by {as_of}; "
            f"the model needs at least {min_repeat_customers:,} to give reliable figures "
            "(settings: analysis.ltv.predict_min_repeat_customers)"
        )


def _fit_models(
    rfm: pd.DataFrame,
    *,
    fit_method: str,
    random_state: int | None,
    fit_kwargs: Mapping[str, Any] | None,
) -> _Fit:
    """Fit BG/NBD on every customer and Gamma-Gamma on those with positive repeat spend.

    The point estimate (MAP with flat priors = maximum likelihood) comes from
    :mod:`ecrm.models.btyd`'s closed-form likelihoods; MCMC samples the posterior with
    pymc-marketing, started from it.
    """
    spend = rfm[(rfm["frequency"] > 0) & (rfm["monetary_value"] > 0)]
    if len(spend) < 2:
        raise ModelFitError(
            f"{len(spend)} customer(s) with positive repeat spend: the spend model needs more"
        )
    extra = dict(fit_kwargs or {})
    if fit_method == "map" and set(extra) - {"options"}:
        raise ParameterError(
            "fit_kwargs of the MAP fit: only 'options' (of scipy.optimize.minimize), "
            f"got {sorted(set(extra) - {'options'})}"
        )
    mle: dict[str, float] = {}
    for which, fit in (
        ("purchase (BG/NBD)", lambda o: btyd.fit_bgnbd(*_bg_arrays(rfm), options=o)),
        ("spend (Gamma-Gamma)", lambda o: btyd.fit_gamma_gamma(*_gg_arrays(spend), options=o)),
    ):
        try:
            mle.update(fit(extra.get("options") if fit_method == "map" else None))
        except (ValueError, ArithmeticError) as e:
            raise ModelFitError(f"the {which} model could not be fitted: {e}") from e
    if fit_method == "map":
        return _checked_fit(_Fit(None, None, mle, {}, 1))

    clv = pymc_clv()
    from pymc_extras.prior import Prior

    flat = {k: Prior("HalfFlat") for k in _BG_PARAMS}
    bg = clv.BetaGeoModel(model_config=flat)
    gg = clv.GammaGammaModel(model_config={k: Prior("HalfFlat") for k in _GG_PARAMS})
    bg_data = rfm[["customer_id", "frequency", "recency", "T"]]
    gg_data = spend[["customer_id", "frequency", "monetary_value"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*fit_data.*")
        for model, data in ((bg, bg_data), (gg, gg_data)):
            try:
                # NUTS from the point estimate: flat priors give no scale to start from.
                names = _BG_PARAMS if model is bg else _GG_PARAMS
                start = {k: mle[k] for k in names}
                kwargs = {**MCMC_DEFAULTS, "random_seed": random_state, "initvals": start, **extra}
                model.fit(data=data, method="mcmc", **kwargs)
            except (ValueError, ArithmeticError, RuntimeError) as e:
                # optimiser or sampler failures on data the model cannot describe
                which = "purchase (BG/NBD)" if model is bg else "spend (Gamma-Gamma)"
                raise ModelFitError(f"the {which} model could not be fitted: {e}") from e
    params, sd = _posterior_stats(bg, _BG_PARAMS)
    gg_params, gg_sd = _posterior_stats(gg, _GG_PARAMS)
    params.update(gg_params)
    sd.update(gg_sd)
    post = bg.fit_result
    n_draws = int(post.sizes.get("chain", 1) * post.sizes.get("draw", 1))
    return _checked_fit(_Fit(bg, gg, params, sd, n_draws))


def _bg_arrays(rfm: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return tuple(rfm[c].to_numpy(float) for c in ("frequency", "recency", "T"))  # type: ignore[return-value]


def _gg_arrays(spend: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return spend["frequency"].to_numpy(float), spend["monetary_value"].to_numpy(float)


def _checked_fit(fit: _Fit) -> _Fit:
    """The fit, or ModelFitError when it is not finite or the spend model is degenerate."""
    params = fit.params
    if not np.isfinite(list(params.values())).all():
        raise ModelFitError(f"the fit did not converge (parameters {params})")
    if params["q"] <= 1:
        raise ModelFitError(
            f"the spend model is degenerate (q = {params['q']:.3g} ≤ 1: no finite mean "
            "spend); check the amounts for outliers"
        )
    return fit


def _predict(fit: _Fit, rfm: pd.DataFrame, horizon: float) -> pd.DataFrame:
    """Expected purchases, P(alive) and expected spend per customer (means over draws)."""
    nonpositive = (rfm["frequency"] > 0) & (rfm["monetary_value"] <= 0)
    spend_in = rfm[["customer_id", "frequency", "monetary_value"]].copy()
    # The spend model's prediction for a customer without usable spend history
    # (frequency 0) is the population mean: use it for non-positive spenders too.
    spend_in.loc[nonpositive, ["frequency", "monetary_value"]] = [0, 0.0]
    if fit.bg is None:  # a point estimate: the closed forms of ecrm.models.btyd
        x, tx, T = _bg_arrays(rfm)
        ep = btyd.expected_purchases(fit.params, horizon, x, tx, T)
        es = btyd.expected_spend(fit.params, *_gg_arrays(spend_in))
        out = pd.DataFrame(
            {
                "probability_alive": btyd.probability_alive(fit.params, x, tx, T),
                "expected_purchases": ep,
                "expected_spend": es,
                "_ev": ep * es,
            }
        )
        return _finite(out, rfm, nonpositive)
    bg_in = rfm[["customer_id", "frequency", "recency", "T"]]
    step = max(1, _CHUNK_VALUES // max(fit.n_draws, 1))
    parts = []
    dims = ("chain", "draw")

    def per_customer(values: Any, ids: pd.Series) -> np.ndarray:
        # by customer_id, not by position: xarray may reorder the customers
        return values.mean(dims).to_series().reindex(ids.to_numpy()).to_numpy()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=RuntimeWarning)
        for i in range(0, len(rfm), step):
            bg_part = bg_in.iloc[i : i + step]
            ids = bg_part["customer_id"]
            ep = fit.bg.expected_purchases(bg_part, future_t=horizon)
            alive = fit.bg.expected_probability_alive(bg_part)
            es = fit.gg.expected_customer_spend(spend_in.iloc[i : i + step])
            parts.append(
                pd.DataFrame(
                    {
                        "probability_alive": per_customer(alive, ids),
                        "expected_purchases": per_customer(ep, ids),
                        "expected_spend": per_customer(es, ids),
                        "_ev": per_customer(ep * es, ids),
                    }
                )
            )
    return _finite(pd.concat(parts, ignore_index=True), rfm, nonpositive)


def _finite(out: pd.DataFrame, rfm: pd.DataFrame, nonpositive: pd.Series) -> pd.DataFrame:
    """The predictions with their spend_basis, or ModelFitError naming non-finite ones."""
    bad = ~np.isfinite(out).all(axis=1).to_numpy()
    if bad.any():
        some = ", ".join(rfm.loc[bad, "customer_id"].head(5))
        raise ModelFitError(
            f"{int(bad.sum())} customer(s) got non-finite predictions (e.g. {some}); "
            "check their orders, or try time_unit='W' (smaller numbers)"
        )
    basis = np.where(
        nonpositive, "nonpositive_spend", np.where(rfm["frequency"] > 0, "customer", "population")
    )
    return out.assign(spend_basis=basis)


def cumulative_purchases(fit: _Fit, rfm: pd.DataFrame) -> Callable[[float], np.ndarray]:
    """``t ↦`` each customer's expected purchases in the next t time units (rows of ``rfm``).

    The closed form for a point estimate; for MCMC the mean over the posterior draws.
    """
    if fit.bg is None:
        x, tx, T = _bg_arrays(rfm)
        return lambda t: btyd.expected_purchases(fit.params, t, x, tx, T)
    bg_in = rfm[["customer_id", "frequency", "recency", "T"]]
    step = max(1, _CHUNK_VALUES // max(fit.n_draws, 1))

    def mean_over_draws(t: float) -> np.ndarray:
        parts = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=FutureWarning)
            warnings.simplefilter("ignore", category=RuntimeWarning)
            for i in range(0, len(rfm), step):  # chunks of customers, not one at a time
                part = bg_in.iloc[i : i + step]
                ep = fit.bg.expected_purchases(part, future_t=t).mean(("chain", "draw"))
                parts.append(ep.to_series().reindex(part["customer_id"].to_numpy()).to_numpy())
        return np.concatenate(parts) if parts else np.zeros(0)

    return mean_over_draws


def _horizon_days(as_of: dt.date, months: int) -> int:
    if int(months) < 1:
        raise ParameterError(f"months must be at least 1, got {months}")
    return (periods.shift_months(as_of, int(months)) - as_of).days


def fit_and_predict(
    rfm: pd.DataFrame,
    *,
    as_of: dt.date,
    horizon_days: int,
    months: int | None,
    time_unit: str,
    purchases: str,
    fit_method: str,
    min_repeat_customers: int,
    random_state: int | None,
    fit_kwargs: Mapping[str, Any] | None,
    horizons: Sequence[int] = (),
    discount_rate: float = 0.0,
    with_fit: bool = False,
) -> Prediction | tuple[Prediction, Callable[[float], np.ndarray]]:
    """Fit BG/NBD + Gamma-Gamma to ``rfm`` and predict ``horizon_days`` ahead.

    The one fit-and-predict step behind :func:`predict_value` and
    :func:`ecrm.models.calibration.calibration`; it checks there are enough
    repeat customers first (:class:`ModelFitError` otherwise). ``horizons``
    (months) add the columns of :func:`ecrm.models.clv.horizon_values`,
    discounted at the annual ``discount_rate``; ``with_fit`` also returns
    :func:`cumulative_purchases` of the fit (for the hold-out tracking).
    """
    hs, rate = clv.check_horizons(horizons, discount_rate)
    _check_repeat(rfm, as_of=as_of, min_repeat_customers=min_repeat_customers)
    fit = _fit_models(rfm, fit_method=fit_method, random_state=random_state, fit_kwargs=fit_kwargs)
    horizon = horizon_days / TIME_UNITS[time_unit]
    pred = _predict(fit, rfm, horizon)
    customers = pd.concat([rfm.reset_index(drop=True), pred], axis=1)
    # E[purchases × spend]: for MAP, expected_purchases × expected_spend; for
    # MCMC the mean over the draws of the product.
    customers["expected_value"] = customers.pop("_ev")
    cols = [
        "customer_id",
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "probability_alive",
        "expected_purchases",
        "expected_spend",
        "expected_value",
        "spend_basis",
    ]
    customers = customers[cols]
    cumulative = cumulative_purchases(fit, rfm)
    if hs:
        by_horizon = clv.horizon_values(
            cumulative,
            customers["expected_spend"].to_numpy(float),
            as_of=as_of,
            horizons=hs,
            days_per_unit=TIME_UNITS[time_unit],
            discount_rate=rate,
        )
        customers = pd.concat([customers, by_horizon], axis=1)
    p = fit.params
    spend = rfm[(rfm["frequency"] > 0) & (rfm["monetary_value"] > 0)]
    corr = (
        float(np.corrcoef(spend["frequency"], spend["monetary_value"])[0, 1])
        if len(spend) > 2 and spend["frequency"].nunique() > 1
        else float("nan")
    )
    info = {
        "as_of": as_of,
        "months": months,
        "horizon_days": horizon_days,
        "horizon": horizon,
        "time_unit": time_unit,
        "purchases": purchases,
        "fit_method": fit_method,
        "customers": len(customers),
        "repeat_customers": int((rfm["frequency"] > 0).sum()),
        "spend_fit_customers": len(spend),
        "nonpositive_spend_customers": int((customers["spend_basis"] == "nonpositive_spend").sum()),
        "population_mean_spend": p["v"] * p["p"] / (p["q"] - 1.0),
        "spend_frequency_corr": corr,
        "horizons_months": list(hs),
        "horizon_days_by_months": {h: _horizon_days(as_of, h) for h in hs},
        "discount_rate_annual": rate,
        "discount_step": "month",
    }
    pred = Prediction(customers=customers, params=dict(p), info=info, params_sd=fit.params_sd)
    return (pred, cumulative) if with_fit else pred


def predict_value(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    months: int | None = None,
    fit_method: FitMethod = "map",
    settings: ShopSettings | LtvSettings | None = None,
    time_unit: TimeUnit = "D",
    purchases: PurchaseCount = "orders",
    min_repeat_customers: int | None = None,
    random_state: int | None = 0,
    fit_kwargs: Mapping[str, Any] | None = None,
    horizons: Sequence[int] | None = None,
    discount_rate: float | None = None,
) -> Prediction:
    """Expected purchases, probability alive and expected value of each customer.

    Fits a BG/NBD model to every customer's :func:`rfm_summary` and a
    Gamma-Gamma model to the customers with positive repeat spend, then
    predicts for the ``months`` months after ``as_of``. ``fit_method="mcmc"``
    needs pymc-marketing (``pip install 'ecrm[predict]'``); its first import
    takes a while (PyMC compiles C code once per machine and caches it).

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders (SPEC §1): order_id, customer_id, ordered_at, amount.
    as_of : date or str
        End of the observed history, inclusive; later orders are ignored.
    months : int, optional
        Prediction horizon in calendar months after as_of (default: the
        settings' ``predict_months``, 12).
    fit_method : {"map", "mcmc"}
        ``"map"`` (default): point estimate, fast (under a second for 100,000
        customers, :mod:`ecrm.models.btyd`); ``"mcmc"``: NUTS (``MCMC_DEFAULTS``: 2 chains ×
        500 draws),
        started from the point estimate; predictions are posterior means.
    settings : ShopSettings or LtvSettings, optional
        Source of ``predict_months`` and ``predict_min_repeat_customers``.
    time_unit : {"D", "W"}
        Unit of recency, T and the fitted rate (``alpha``), see :func:`rfm_summary`.
    purchases : {"orders", "periods"}
        What a purchase count counts, see :func:`rfm_summary`.
    min_repeat_customers : int, optional
        Fewest customers with a repeat purchase the models are fitted on
        (default: the settings' ``predict_min_repeat_customers``, 100); with
        fewer, :class:`ModelFitError` instead of estimates that are noise.
    random_state : int, optional
        Seed of the MCMC sampler (unused by MAP).
    fit_kwargs : mapping, optional
        MAP: ``{"options": {...}}``, options of ``scipy.optimize.minimize``
        (L-BFGS-B, e.g. ``maxiter``); MCMC: keyword arguments of the
        pymc-marketing ``fit`` (``pm.sample``: e.g. ``draws``, ``chains``, ``cores``).
    horizons : sequence of int, optional
        Further horizons in calendar months (default: the settings'
        ``predict_horizons_months``, 3, 6 and 12): columns
        ``expected_purchases_{H}m`` and ``expected_value_{H}m``
        (:func:`ecrm.models.clv.horizon_values`); ``()`` for none.
    discount_rate : float, optional
        Annual discount rate of the horizon values (default: the settings'
        ``discount_rate_annual``, 0: undiscounted), applied month by month;
        ``expected_value`` itself stays undiscounted. For MCMC the horizon
        values are posterior-mean purchases × posterior-mean spend.

    Returns
    -------
    Prediction
        ``customers``: one row per customer (by customer_id) with
        customer_id, frequency, recency, T, monetary_value (the inputs, see
        :func:`rfm_summary`); probability_alive (P(still active at as_of));
        expected_purchases (in the ``months`` after as_of, counted as
        ``purchases`` says); expected_spend (Gamma-Gamma expected net value per
        purchase: for spend_basis ``"population"`` (no repeat purchase) and
        ``"nonpositive_spend"`` (repeat spend ≤ 0 after returns, left out of
        the spend fit) the population mean); expected_value
        (expected_purchases × expected_spend, undiscounted); spend_basis; then
        expected_purchases_{H}m for each horizon H and expected_value_{H}m
        (discounted at ``discount_rate``; with rate 0 and H = ``months`` equal
        to expected_purchases and expected_value for a point estimate).
        ``params``, ``params_sd`` and ``info``: see :class:`Prediction`.

    Raises
    ------
    MissingDependencyError
        ``fit_method="mcmc"`` and pymc-marketing is not installed.
    ModelFitError
        Fewer than ``min_repeat_customers`` repeat customers to learn from, or
        a fit that failed or is degenerate.
    ParameterError
        Bad ``as_of``, ``months``, ``fit_method``, ``time_unit``, ``purchases``,
        ``min_repeat_customers``, ``horizons`` or ``discount_rate``.

    Examples
    --------
    >>> p = predict_value("data/demo-food", as_of="2026-10-31")  # doctest: +SKIP
    >>> p.customers["expected_value"].sum()  # doctest: +SKIP
    """
    check_choice("fit_method", fit_method, FIT_METHODS)
    check_choice("time_unit", time_unit, TIME_UNITS)
    check_choice("purchases", purchases, PURCHASE_COUNTS)
    as_of_d = engine.as_of_date(as_of)
    months = section(settings, LtvSettings).predict_months if months is None else int(months)
    horizon_days = _horizon_days(as_of_d, months)
    min_repeat = repeat_threshold(settings, min_repeat_customers)
    ltv = section(settings, LtvSettings)
    hs, rate = clv.check_horizons(
        ltv.predict_horizons_months if horizons is None else horizons,
        ltv.discount_rate_annual if discount_rate is None else discount_rate,
    )
    if fit_method == "mcmc":
        pymc_clv()  # fail before the engine work when the extra is missing
    rfm = rfm_summary(orders, as_of=as_of_d, time_unit=time_unit, purchases=purchases)
    return fit_and_predict(
        rfm,
        as_of=as_of_d,
        horizon_days=horizon_days,
        months=months,
        time_unit=time_unit,
        purchases=purchases,
        fit_method=fit_method,
        min_repeat_customers=min_repeat,
        random_state=random_state,
        fit_kwargs=fit_kwargs,
        horizons=hs,
        discount_rate=rate,
    )  # type: ignore[return-value]


# --------------------------------------------------------------------------- deciles


def value_deciles(customers: pd.DataFrame, *, groups: int = 10) -> pd.DataFrame:
    """Customers split into groups of equal size by expected value, best first.

    Ranked by expected_value descending, ties by customer_id; group sizes differ
    by at most one, the larger groups first (SPEC §1).

    Parameters
    ----------
    customers : DataFrame
        :attr:`Prediction.customers` (customer_id, expected_value,
        expected_purchases, probability_alive).
    groups : int, default 10
        Number of groups.

    Returns
    -------
    DataFrame
        value_decile (1 = top), customers, expected_value (sum),
        expected_value_share, cumulative_share, avg_expected_value,
        avg_expected_purchases, avg_probability_alive; one row per group
        (fewer when there are fewer customers).

    Raises
    ------
    ParameterError
        ``groups`` < 1.
    """
    if int(groups) < 1:
        raise ParameterError(f"groups must be at least 1, got {groups}")
    need = ["customer_id", "expected_value", "expected_purchases", "probability_alive"]
    engine.require_columns(customers, need, "value_deciles")
    ranked = customers[need].sort_values(
        ["expected_value", "customer_id"], ascending=[False, True], kind="stable"
    )
    n = len(ranked)
    k = min(int(groups), n)
    base, extra = divmod(n, k) if k else (0, 0)
    sizes = [base + 1] * extra + [base] * (k - extra)
    ranked = ranked.assign(value_decile=np.repeat(np.arange(1, k + 1), sizes))
    g = ranked.groupby("value_decile").agg(
        customers=("customer_id", "size"),
        expected_value=("expected_value", "sum"),
        avg_expected_purchases=("expected_purchases", "mean"),
        avg_probability_alive=("probability_alive", "mean"),
    )
    g = g.reset_index()
    total = g["expected_value"].sum()
    g["expected_value_share"] = g["expected_value"] / total if total else np.nan
    g["cumulative_share"] = g["expected_value_share"].cumsum()
    g["avg_expected_value"] = g["expected_value"] / g["customers"]
    return g[
        [
            "value_decile",
            "customers",
            "expected_value",
            "expected_value_share",
            "cumulative_share",
            "avg_expected_value",
            "avg_expected_purchases",
            "avg_probability_alive",
        ]
    ]


def __getattr__(name: str) -> Any:
    """``predict.calibration`` and ``predict.Calibration``, from :mod:`ecrm.models.calibration`.

    Loaded on first use: that module builds on this one (fit, predict), so it
    cannot be imported here at the top.
    """
    if name in ("Calibration", "calibration"):
        from ecrm.models import calibration

        return getattr(calibration, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
