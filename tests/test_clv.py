"""Tests of ecrm.models.clv and the hold-out rules of ecrm.models.calibration (issue #21).

* Horizons and discounting against a hand computation from fixed BG/NBD and
  Gamma-Gamma parameters (lifetimes' independent implementation of the closed
  forms, and the discounted sum written out month by month).
* The cutoff rule on a 13-month generated shop (the middle of the history) and
  a 30-month one (as_of − 12 months), and at its boundaries.
* The weekly tracking table: actual purchases against a pandas count, predicted
  increments against lifetimes' conditional expectation.
* The P(alive) matrix against btyd's per-customer formula and lifetimes' matrix.
* UCI Online Retail (13 months): the hold-out runs and reports its errors.
"""

from __future__ import annotations

import datetime as dt
import warnings
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ecrm.errors import ParameterError
from ecrm.models import btyd, calibration, clv, predict

BG = {"r": 0.5, "alpha": 40.0, "a": 0.8, "b": 5.0}
GG = {"p": 6.0, "q": 4.0, "v": 12.0}
PARAMS = {**BG, **GG}
# four customers: one-time buyer, light, heavy and lapsed repeat buyers (days)
X = np.array([0.0, 1.0, 6.0, 4.0])
TX = np.array([0.0, 40.0, 300.0, 60.0])
TT = np.array([90.0, 200.0, 320.0, 400.0])
M = np.array([0.0, 25.0, 40.0, 18.0])
AS_OF = dt.date(2026, 10, 31)


def _lifetimes_bg():
    from lifetimes import BetaGeoFitter

    bg = BetaGeoFitter()
    bg.params_ = pd.Series(BG)
    return bg


def _cumulative(params=PARAMS, x=X, tx=TX, T=TT):
    return lambda t: btyd.expected_purchases(params, t, x, tx, T)


# --------------------------------------------------------------------------- horizons


def test_horizons_and_discounting_by_hand() -> None:
    """lifetimes' E[X(t) | x, tx, T] and Gamma-Gamma mean at 3/6/12 calendar months after
    2026-10-31 (92, 181, 365 days), and at 10% a year each month's purchases discounted
    from the month's end: Σ_k (E[X(t_k)] − E[X(t_k−1)]) · s / 1.1^(t_k / 365)."""
    from lifetimes import GammaGammaFitter

    gg = GammaGammaFitter()
    gg.params_ = pd.Series(GG)
    spend = gg.conditional_expected_average_profit(pd.Series(X), pd.Series(M)).to_numpy()
    np.testing.assert_allclose(spend, btyd.expected_spend(GG, X, M), rtol=1e-12)
    bg = _lifetimes_bg()

    def by_lifetimes(t: float) -> np.ndarray:
        return np.asarray(bg.conditional_expected_number_of_purchases_up_to_time(t, X, TX, TT))

    undiscounted = clv.horizon_values(
        _cumulative(), spend, as_of=AS_OF, horizons=[3, 6, 12], days_per_unit=1
    )
    discounted = clv.horizon_values(
        _cumulative(), spend, as_of=AS_OF, horizons=[12, 3, 6], days_per_unit=1, discount_rate=0.1
    )
    assert list(undiscounted.columns) == [
        "expected_purchases_3m",
        "expected_purchases_6m",
        "expected_purchases_12m",
        "expected_value_3m",
        "expected_value_6m",
        "expected_value_12m",
    ]
    month_end_days = [30, 61, 92, 120, 151, 181, 212, 242, 273, 304, 334, 365]  # from 10-31
    assert list(clv.month_ends(AS_OF, 12)) == month_end_days
    for h, days in ((3, 92), (6, 181), (12, 365)):
        want = by_lifetimes(days)
        np.testing.assert_allclose(undiscounted[f"expected_purchases_{h}m"], want, rtol=1e-9)
        np.testing.assert_allclose(undiscounted[f"expected_value_{h}m"], want * spend, rtol=1e-9)
        # discounting leaves the purchase counts alone
        assert (
            discounted[f"expected_purchases_{h}m"] == undiscounted[f"expected_purchases_{h}m"]
        ).all()
        value, before = np.zeros(len(X)), np.zeros(len(X))
        for t in month_end_days[:h]:
            now = by_lifetimes(t)
            value += (now - before) * spend / 1.1 ** (t / 365)
            before = now
        np.testing.assert_allclose(discounted[f"expected_value_{h}m"], value, rtol=1e-9)
    # one number by hand: the heavy buyer's 3-month value at 10%
    inc = np.diff([0.0, *(by_lifetimes(t)[2] for t in (30, 61, 92))])
    hand = spend[2] * (
        inc[0] / 1.1 ** (30 / 365) + inc[1] / 1.1 ** (61 / 365) + inc[2] / 1.1 ** (92 / 365)
    )
    assert discounted["expected_value_3m"].iloc[2] == pytest.approx(hand, rel=1e-9)
    assert discounted["expected_value_12m"].iloc[2] < undiscounted["expected_value_12m"].iloc[2]


@settings(max_examples=60, deadline=None)
@given(
    r=st.floats(0.1, 3),
    alpha=st.floats(5, 200),
    a=st.floats(0.1, 3),
    b=st.floats(1.0, 20),
    rate=st.floats(0.001, 1),
    horizons=st.lists(st.integers(1, 24), min_size=1, max_size=4),
)
def test_discounting_properties(
    r: float, alpha: float, a: float, b: float, rate: float, horizons: list[int]
) -> None:
    """With rate 0 the value is exactly spend × E[X(H)] (no rounding); a positive rate
    lowers it, but by no more than discounting everything from the horizon's end;
    values grow with the horizon. (a = 1 is a pole of the closed form;
    with a + b < 1 scipy's ₂F₁ gives NaN for one-time buyers: see the report.)"""
    assume(abs(a - 1) > 0.05)
    params = {"r": r, "alpha": alpha, "a": a, "b": b}
    cum = _cumulative(params)
    spend = np.array([10.0, 20.0, 30.0, 40.0])
    zero = clv.horizon_values(cum, spend, as_of=AS_OF, horizons=horizons, days_per_unit=1)
    disc = clv.horizon_values(
        cum, spend, as_of=AS_OF, horizons=horizons, days_per_unit=1, discount_rate=rate
    )
    hs = sorted(set(horizons))
    for h in hs:
        days = clv.month_ends(AS_OF, h)[-1]
        ep = btyd.expected_purchases(params, days, X, TX, TT)
        assert (zero[f"expected_value_{h}m"].to_numpy() == spend * ep).all()
        z, d = zero[f"expected_value_{h}m"].to_numpy(), disc[f"expected_value_{h}m"].to_numpy()
        assert (d <= z * (1 + 1e-12)).all()
        assert (d >= z * (1 + rate) ** (-days / 365) * (1 - 1e-9)).all()
    values = disc[[f"expected_value_{h}m" for h in hs]].to_numpy()
    assert (np.diff(values, axis=1) >= -1e-9).all()


def test_horizons_in_weeks_use_the_same_days() -> None:
    """time_unit "W": the horizons are the same calendar months, in weeks."""
    per_week = {**PARAMS, "alpha": PARAMS["alpha"] / 7}
    days = clv.horizon_values(_cumulative(), M + 1, as_of=AS_OF, horizons=[6], days_per_unit=1)
    weeks = clv.horizon_values(
        _cumulative(per_week, X, TX / 7, TT / 7), M + 1, as_of=AS_OF, horizons=[6], days_per_unit=7
    )
    np.testing.assert_allclose(weeks, days, rtol=1e-9)


@pytest.mark.parametrize(
    ("horizons", "rate", "message"),
    [([0, 3], 0.0, "at least 1 month"), ([3], -0.1, "discount_rate must be"), (["x"], 0, "whole")],
)
def test_bad_horizons_and_rates(horizons: list, rate: float, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        clv.check_horizons(horizons, rate)


# --------------------------------------------------------------------------- cutoff rule


def test_cutoff_rule_at_its_boundaries() -> None:
    as_of = dt.date(2025, 1, 31)
    # exactly 24 months of history: as_of − 12 months
    assert calibration.choose_cutoff(dt.date(2023, 1, 31), as_of, 12)[:2] == (
        dt.date(2024, 1, 31),
        "as_of_minus_months",
    )
    # a day shorter: the middle, 730 days // 2 = 365
    cut, rule, why = calibration.choose_cutoff(dt.date(2023, 2, 1), as_of, 12)
    assert (cut, rule) == (dt.date(2023, 2, 1) + dt.timedelta(days=365), "middle_of_history")
    assert "shorter than 24 months" in why and "730 days" in why
    # an odd number of days is rounded down: 3 days → 1
    assert calibration.choose_cutoff(dt.date(2025, 1, 28), as_of, 12)[0] == dt.date(2025, 1, 29)


def generated_shop(start: dt.date, as_of: dt.date, n: int = 800, seed: int = 1) -> pd.DataFrame:
    """Orders of a BG/NBD-like shop: first purchases spread over the first half of the
    history, exponential gaps (mean ~40 days), dropout after each purchase (p ~ 0.15),
    gamma-distributed amounts; orders after as_of are dropped."""
    rng = np.random.default_rng(seed)
    span = (as_of - start).days
    first = rng.integers(0, span // 2, n)
    lam = rng.gamma(2.0, 1 / 80, n)  # purchases per day
    p = rng.beta(1.5, 8.0, n)
    k = 40
    gaps = rng.exponential(1.0, (n, k)) / lam[:, None]
    gaps[:, 0] = 0.0
    alive = np.cumprod(rng.random((n, k)) > p[:, None], axis=1)
    alive = np.hstack([np.ones((n, 1), bool), alive[:, :-1].astype(bool)])
    day = first[:, None] + np.cumsum(gaps, axis=1)
    keep = alive & (day <= span)
    ci, oi = np.nonzero(keep)
    days = np.floor(day[ci, oi]).astype(int)
    amount = np.round(rng.gamma(4.0, 1000.0, len(ci)) + 100)
    return pd.DataFrame(
        {
            "order_id": [f"O{c}-{o}" for c, o in zip(ci, oi, strict=True)],
            "customer_id": pd.array([f"C{c:04d}" for c in ci], dtype="string"),
            "ordered_at": pd.Timestamp(start)
            + pd.to_timedelta(days, unit="D")
            + pd.Timedelta(hours=12),
            "amount": [Decimal(int(a)) for a in amount],
        }
    )


def weekly_by_pandas(orders: pd.DataFrame, cutoff: dt.date, as_of: dt.date) -> pd.Series:
    """Hold-out purchases per week of the calibration customers, in plain pandas."""
    lines = orders[orders["customer_id"].notna()]
    o = lines.groupby(["customer_id", "order_id"], as_index=False).agg(
        at=("ordered_at", "min"), amount=("amount", "sum")
    )
    o["day"] = o["at"].dt.date
    buys = o[o["amount"] > 0]
    first = buys.groupby("customer_id")["day"].min()
    known = set(first[first <= cutoff].index)
    hold = buys[(buys["day"] > cutoff) & (buys["day"] <= as_of) & buys["customer_id"].isin(known)]
    week = ((pd.to_datetime(hold["day"]) - pd.Timestamp(cutoff)).dt.days - 1) // 7 + 1
    return week.value_counts().sort_index()


@pytest.fixture(scope="module")
def short_shop() -> tuple[pd.DataFrame, calibration.Calibration]:
    """13 months: 2024-01-01 to 2025-01-31 (396 days): fitted at 2024-07-17."""
    orders = generated_shop(dt.date(2024, 1, 1), dt.date(2025, 1, 31))
    return orders, calibration.calibration(orders, as_of="2025-01-31", min_repeat_customers=50)


def test_short_history_is_fitted_at_its_middle(
    short_shop: tuple[pd.DataFrame, calibration.Calibration],
) -> None:
    orders, c = short_shop
    first = orders["ordered_at"].min().date()
    assert first == dt.date(2024, 1, 1)
    assert c.cutoff == dt.date(2024, 1, 1) + dt.timedelta(days=396 // 2) == dt.date(2024, 7, 17)
    assert c.info["cutoff_rule"] == "middle_of_history"
    assert c.info["history_start"] == first and c.info["history_days"] == 396
    assert c.info["holdout_days"] == 198 and c.prediction.info["horizon_days"] == 198
    assert "shorter than 24 months" in c.info["cutoff_reason"]
    s = c.summary.set_index("measure")
    assert np.isfinite(s[["predicted_total", "actual_total", "relative_error"]]).all().all()
    assert abs(s.loc["purchases", "relative_error"]) < 0.25, c.summary


def test_long_history_is_fitted_a_year_back() -> None:
    """30 months: 2022-08-01 to 2025-01-31: fitted at as_of − 12 months, 2024-01-31."""
    orders = generated_shop(dt.date(2022, 8, 1), dt.date(2025, 1, 31), n=500, seed=2)
    c = calibration.calibration(orders, as_of="2025-01-31", min_repeat_customers=50)
    assert c.cutoff == dt.date(2024, 1, 31)
    assert c.info["cutoff_rule"] == "as_of_minus_months"
    assert c.prediction.info["horizon_days"] == 366
    given = calibration.calibration(
        orders, as_of="2025-01-31", cutoff="2024-06-30", min_repeat_customers=50
    )
    assert given.cutoff == dt.date(2024, 6, 30) and given.info["cutoff_rule"] == "given"


# --------------------------------------------------------------------------- tracking


def test_tracking_actuals_are_a_pandas_count(
    short_shop: tuple[pd.DataFrame, calibration.Calibration],
) -> None:
    orders, c = short_shop
    tr = c.tracking
    # 198 days: 28 full weeks and a last one of 2 days ending at as_of
    assert len(tr) == 29 and tr["week"].tolist() == list(range(1, 30))
    assert tr["start"].iloc[0] == dt.date(2024, 7, 18) and tr["end"].iloc[-1] == dt.date(
        2025, 1, 31
    )
    assert tr["days"].iloc[-1] == 198 and tr["days"].iloc[-2] == 196
    by_hand = weekly_by_pandas(orders, c.cutoff, c.as_of).reindex(tr["week"], fill_value=0)
    assert tr["actual"].tolist() == by_hand.tolist()
    assert tr["actual_cumulative"].iloc[-1] == c.customers["actual_purchases"].sum()
    assert tr["predicted"].sum() == pytest.approx(
        c.customers["predicted_purchases"].sum(), rel=1e-9
    )
    np.testing.assert_allclose(tr["predicted_cumulative"], tr["predicted"].cumsum(), rtol=1e-9)


def test_tracking_predictions_follow_lifetimes(
    short_shop: tuple[pd.DataFrame, calibration.Calibration],
) -> None:
    """Each week's prediction = Σ customers of lifetimes' E[X(t_w)] − E[X(t_w−1)]."""
    from lifetimes import BetaGeoFitter

    _, c = short_shop
    bg = BetaGeoFitter()
    bg.params_ = pd.Series({k: c.prediction.params[k] for k in ("r", "alpha", "a", "b")})
    cu = c.customers
    cum = [
        float(
            np.sum(
                bg.conditional_expected_number_of_purchases_up_to_time(
                    t,
                    cu["frequency"].to_numpy(float),
                    cu["recency"].to_numpy(float),
                    cu["T"].to_numpy(float),
                )
            )
        )
        for t in c.tracking["days"]
    ]
    np.testing.assert_allclose(c.tracking["predicted_cumulative"], cum, rtol=1e-8)
    np.testing.assert_allclose(c.tracking["predicted"], np.diff([0.0, *cum]), rtol=1e-7, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 8), st.integers(0, 60), st.integers(0, 60)),
        min_size=1,
        max_size=40,
    ),
    t=st.floats(1, 400),
)
def test_summed_purchases_is_the_sum_over_customers(
    rows: list[tuple[int, int, int]], t: float
) -> None:
    """Grouping by (x, T) with P(alive) as weights gives the per-customer sum."""
    x = np.array([r[0] for r in rows], float)
    T = np.array([r[1] + r[2] for r in rows], float)
    tx = np.where(x > 0, np.array([r[1] for r in rows], float), 0.0)
    total = clv.summed_purchases(BG, x, tx, T)(t)
    assert total.shape == (1,)
    assert total[0] == pytest.approx(btyd.expected_purchases(BG, t, x, tx, T).sum(), rel=1e-12)


def test_tracking_table_fills_empty_weeks() -> None:
    actual = pd.DataFrame({"week": [2, 2, 3], "purchases": [1, 2, 5]})
    tr = clv.tracking_table(
        lambda t: np.array([t / 10.0, t / 20.0]),
        actual,
        cutoff=dt.date(2026, 1, 1),
        as_of=dt.date(2026, 1, 20),
        days_per_unit=1,
    )
    assert tr["days"].tolist() == [7, 14, 19]
    assert tr["actual"].tolist() == [0, 3, 5] and tr["actual_cumulative"].tolist() == [0, 3, 8]
    np.testing.assert_allclose(tr["predicted"], [1.05, 1.05, 0.75])
    assert tr["start"].tolist() == [dt.date(2026, 1, 2), dt.date(2026, 1, 9), dt.date(2026, 1, 16)]


# --------------------------------------------------------------------------- P(alive)


def _prediction(x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> predict.Prediction:
    customers = pd.DataFrame(
        {"customer_id": [f"c{i}" for i in range(len(x))], "frequency": x, "recency": tx, "T": T}
    )
    return predict.Prediction(customers=customers, params=dict(PARAMS), info={"time_unit": "D"})


def test_probability_alive_matrix_at_grid_points() -> None:
    pred = _prediction(X.astype(int), TX, TT + 0.5)  # max T 400.5 → T = 400 on the grid
    m = clv.probability_alive_matrix(pred)
    assert len(m) == 7 * 401 and list(m.columns) == [
        "frequency",
        "recency",
        "T",
        "probability_alive",
    ]
    assert (m["T"] == 400).all() and m["frequency"].max() == 6 and m["recency"].max() == 400
    for f, r in ((0, 0), (0, 123), (1, 40), (6, 300), (4, 60), (6, 400), (3, 0)):
        got = m.loc[(m["frequency"] == f) & (m["recency"] == r), "probability_alive"].item()
        assert got == pytest.approx(
            btyd.probability_alive(PARAMS, np.array([f]), np.array([r]), np.array([400.0]))[0]
        )
    assert (m.loc[m["frequency"] == 0, "probability_alive"] == 1.0).all()
    # the lifetimes matrix: rows recency, columns frequency, at T = max_recency
    bg = _lifetimes_bg()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = bg.conditional_probability_alive_matrix(max_frequency=6, max_recency=400)
    grid = m.pivot(index="recency", columns="frequency", values="probability_alive").to_numpy()
    np.testing.assert_allclose(grid, z, rtol=1e-10)
    # recency closer to T, or fewer purchases at an early recency: more likely alive
    assert (np.diff(grid[:, 1:], axis=0) >= -1e-12).all()


def test_probability_alive_matrix_limits() -> None:
    pred = _prediction(X, TX, TT)
    small = clv.probability_alive_matrix(pred, max_frequency=2, max_recency=10)
    assert len(small) == 3 * 11 and (small["T"] == 10).all()
    with pytest.raises(ParameterError, match="must be ≥ 0"):
        clv.probability_alive_matrix(pred, max_frequency=-1)


# --------------------------------------------------------------------------- predict_value


def test_settings_validate_horizons_and_rate() -> None:
    from pydantic import ValidationError

    from ecrm.settings import LtvSettings

    assert LtvSettings().predict_horizons_months == (3, 6, 12)
    assert LtvSettings().discount_rate_annual == 0.0
    with pytest.raises(ValidationError, match=r"ascending distinct months in 1…60, got \[6, 3\]"):
        LtvSettings(predict_horizons_months=(6, 3))
    with pytest.raises(ValidationError, match="discount_rate_annual"):
        LtvSettings(discount_rate_annual=-0.05)


def test_predict_value_horizons_from_settings_and_arguments(
    short_shop: tuple[pd.DataFrame, calibration.Calibration],
) -> None:
    from ecrm.settings import LtvSettings

    orders, _ = short_shop
    ten = LtvSettings(predict_horizons_months=(1, 12), discount_rate_annual=0.1)
    p = predict.predict_value(orders, as_of="2025-01-31", settings=ten, min_repeat_customers=50)
    c = p.customers
    assert [k for k in c.columns if k.endswith("m")] == [
        "expected_purchases_1m",
        "expected_purchases_12m",
        "expected_value_1m",
        "expected_value_12m",
    ]
    assert p.info["horizons_months"] == [1, 12] and p.info["discount_rate_annual"] == 0.1
    assert p.info["horizon_days_by_months"] == {1: 28, 12: 365}
    assert (c["expected_purchases_12m"] == c["expected_purchases"]).all()
    assert (c["expected_value_12m"] <= c["expected_value"]).all()  # discounted
    assert c["expected_value_12m"].sum() < c["expected_value"].sum()
    none = predict.predict_value(orders, as_of="2025-01-31", horizons=(), min_repeat_customers=50)
    assert not any(k.endswith("m") for k in none.customers.columns if k != "customer_id")
    np.testing.assert_array_equal(none.customers["expected_value"], c["expected_value"])


# --------------------------------------------------------------------------- real data


@pytest.mark.slow
def test_online_retail_holdout_runs_at_the_middle(online_retail: Path) -> None:
    """UCI Online Retail, as_of 2011-11-30: 2010-12-01 to 2011-11-30 is 364 days, so
    the fit is at 2010-12-01 + 182 days = 2011-06-01 (it failed before: fixed 12 months
    back, 2010-11-30, no customer)."""
    c = calibration.calibration(online_retail, as_of="2011-11-30")
    assert c.cutoff == dt.date(2011, 6, 1) and c.info["cutoff_rule"] == "middle_of_history"
    s = c.summary.set_index("measure")
    print(c.summary.to_string())  # the error figures, for the record (pytest -s)
    assert np.isfinite(s[["relative_error", "mae", "rmse", "correlation"]]).all().all()
    assert abs(s.loc["purchases", "relative_error"]) < 0.25
    assert s.loc["purchases", "correlation"] > 0.5
    orders = pd.read_parquet(
        online_retail, columns=["order_id", "customer_id", "ordered_at", "amount"]
    )
    by_hand = weekly_by_pandas(orders, c.cutoff, c.as_of).reindex(c.tracking["week"], fill_value=0)
    assert c.tracking["actual"].tolist() == by_hand.tolist()
    m = clv.probability_alive_matrix(c.prediction)
    assert m["probability_alive"].between(0, 1).all()


def test_horizon_table_totals_and_per_customer() -> None:
    """Two customers, horizons 3 and 12: totals 1.5 / 4.0 purchases and 30 / 90 value."""
    customers = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "expected_purchases_3m": [1.0, 0.5],
            "expected_purchases_12m": [3.0, 1.0],
            "expected_value_3m": [20.0, 10.0],
            "expected_value_12m": [60.0, 30.0],
        }
    )
    info = {"horizons_months": [3, 12], "discount_rate_annual": 0.05}
    t = clv.horizon_table(predict.Prediction(customers=customers, params={}, info=info))
    assert t.to_dict("list") == {
        "horizon_months": [3, 12],
        "customers": [2, 2],
        "expected_purchases": [1.5, 4.0],
        "avg_expected_purchases": [0.75, 2.0],
        "expected_value": [30.0, 90.0],
        "avg_expected_value": [15.0, 45.0],
        "discount_rate_annual": [0.05, 0.05],
    }
    none = clv.horizon_table(predict.Prediction(customers=customers, params={}, info={}))
    assert none.empty and list(none.columns) == list(t.columns)


def test_horizon_table_of_a_fit_is_discounted_below_the_undiscounted_total(
    short_shop: tuple[pd.DataFrame, calibration.Calibration],
) -> None:
    from ecrm.settings import LtvSettings

    orders, _ = short_shop
    kw = {"as_of": "2025-01-31", "min_repeat_customers": 50}
    flat = clv.horizon_table(predict.predict_value(orders, settings=LtvSettings(), **kw))
    five = LtvSettings(discount_rate_annual=0.05)
    disc = clv.horizon_table(predict.predict_value(orders, settings=five, **kw))
    assert flat["horizon_months"].tolist() == [3, 6, 12]
    assert (flat["discount_rate_annual"] == 0).all() and (
        disc["discount_rate_annual"] == 0.05
    ).all()
    np.testing.assert_allclose(disc["expected_purchases"], flat["expected_purchases"])
    assert (disc["expected_value"] < flat["expected_value"]).all()
    # at most a year's interest off: 12 months discounted ≥ undiscounted / 1.05
    assert disc["expected_value"].iloc[-1] >= flat["expected_value"].iloc[-1] / 1.05
    assert flat["expected_value"].is_monotonic_increasing
