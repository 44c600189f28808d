"""Tests of ecrm.models.predict: the RFM summary by hand, against pymc-marketing, and the models.

The hand-typed shop is the one of tests/test_cohort.py (``LINES``, as_of
2026-03-31). Its purchases and the summary they give (days):

* A: 2025-11-10 1,000; 2025-12-10 500; 2026-02-01 300; an order after as_of.
  frequency 2, recency 83, T 141, monetary_value (500 + 300) / 2 = 400.
* B: 2025-11-20 2,000; 2025-12-21 700 → 1, 31, 131, 700.
* C: 2025-11-05 1,500 and 200 the same day, then a return-only order −300 on
  day 20: charged to the latest purchase before it, the 200 one, whose net
  value becomes −100 → 1, 0, 146, −100 (a non-positive repeat spend). Counting
  purchase days (lifetimes), the day's net is 1,400 and C has no repeat.
* D: net 2,500 (a −500 line), a return −1,000 and a zero order later (both
  charged to that purchase) → 0, 0, 118, 0.
* E: a return before the first purchase (ignored), then 800 → 0, 0, 106, 0.
* F: 2026-03-15 → 0, 0, 16, 0. G (after as_of), H (a return only) and guests:
  absent.

The model tests fit the generated food shop (``ecrm.io.demo``: a buy-till-you-die
process with known parameters) and are marked slow: the first import of
pymc-marketing alone takes 15–25 s.
"""

from __future__ import annotations

import datetime as dt
import sys
import types
from decimal import Decimal
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from matplotlib.axes import Axes

from ecrm import engine
from ecrm.errors import EcrmError, ModelFitError, ParameterError
from ecrm.io import demo
from ecrm.io.ingest import ingest
from ecrm.models import btyd, predict
from ecrm.present.plotting import predict as plots
from ecrm.settings import LtvSettings
from tests.test_cohort import AS_OF, LINES, hand_orders

COLUMNS = ["customer_id", "frequency", "recency", "T", "monetary_value"]
CUTOFF = dt.date(2025, 10, 31)
END = dt.date(2026, 10, 31)


def expected(rows: list[tuple]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["frequency"] = df["frequency"].astype("int64")
    for c in ("recency", "T", "monetary_value"):
        df[c] = df[c].astype("float64")
    return df


def same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    got = got.assign(customer_id=got["customer_id"].astype(object))
    want = want.assign(customer_id=want["customer_id"].astype(object))
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=True)


# --------------------------------------------------------------------------- rfm_summary by hand


def test_rfm_summary_by_hand() -> None:
    got = predict.rfm_summary(hand_orders(), as_of=AS_OF)
    same(
        got,
        expected(
            [
                ("A", 2, 83, 141, 400.0),
                ("B", 1, 31, 131, 700.0),
                ("C", 1, 0, 146, -100.0),
                ("D", 0, 0, 118, 0.0),
                ("E", 0, 0, 106, 0.0),
                ("F", 0, 0, 16, 0.0),
            ]
        ),
    )


def test_rfm_summary_purchase_days_by_hand() -> None:
    """purchases="periods": C's two same-day purchases are one, net 1,400."""
    got = predict.rfm_summary(hand_orders(), as_of=AS_OF, purchases="periods")
    want = predict.rfm_summary(hand_orders(), as_of=AS_OF)
    want.loc[want.customer_id == "C", ["frequency", "monetary_value"]] = [0, 0.0]
    same(got, want)


def test_rfm_summary_weeks_by_hand() -> None:
    """Weeks between the Mondays of the purchase weeks; as_of 2026-03-31 → Monday 03-30."""
    got = predict.rfm_summary(hand_orders(), as_of=AS_OF, time_unit="W")
    same(
        got,
        expected(
            [
                ("A", 2, 11, 20, 400.0),  # Mondays 2025-11-10, 2026-01-26; 140 days to 03-30
                ("B", 1, 4, 19, 700.0),  # 2025-11-17 → 2025-12-15
                ("C", 1, 0, 21, -100.0),
                ("D", 0, 0, 17, 0.0),
                ("E", 0, 0, 15, 0.0),
                ("F", 0, 0, 3, 0.0),  # 2026-03-09
            ]
        ),
    )


def test_rfm_summary_ignores_orders_after_as_of_and_keeps_input() -> None:
    orders = hand_orders()
    before = orders.copy(deep=True)
    late = [
        ("Z1", "B", "2026-04-01 00:00", "99999", "tea"),  # the day after as_of
        ("Z2", "Q", "2026-05-01 10:00", "1000", "tea"),  # a customer only after as_of
        ("Z3-R", "C", "2026-04-03 10:00", "-200", "tea"),  # a later return
    ]
    got = predict.rfm_summary(hand_orders(LINES + late), as_of=AS_OF)
    same(got, predict.rfm_summary(orders, as_of=AS_OF))
    pd.testing.assert_frame_equal(orders, before)


def test_rfm_summary_first_purchase_on_as_of() -> None:
    rows = [("N1", "N", "2026-03-31 23:59", "500", None)]
    got = predict.rfm_summary(hand_orders(rows), as_of=AS_OF)
    same(got, expected([("N", 0, 0, 0, 0.0)]))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time_unit": "M"}, "time_unit"),
        ({"purchases": "days"}, "purchases"),
        ({"as_of": None}, "as_of"),
    ],
)
def test_rfm_summary_bad_arguments(kwargs: dict, message: str) -> None:
    args = {"as_of": AS_OF, **kwargs}
    with pytest.raises(ParameterError, match=message):
        predict.rfm_summary(hand_orders(), **args)


@settings(max_examples=15, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.integers(0, 60),  # day
            st.integers(0, 23),  # hour
            st.sampled_from([-500, 0, 300, 1000, 2500]),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_rfm_summary_invariants(rows: list[tuple[str, int, int, int]]) -> None:
    """T ≥ recency ≥ 0; purchases counted = orders with net > 0; days ≤ orders."""
    start = dt.datetime(2026, 1, 1)
    lines = [
        (f"o{i}", c, str(start + dt.timedelta(days=d, hours=h)), str(a), None)
        for i, (c, d, h, a) in enumerate(rows)
    ]
    as_of = dt.date(2026, 2, 15)
    orders = hand_orders(lines)
    by_order = predict.rfm_summary(orders, as_of=as_of)
    by_day = predict.rfm_summary(orders, as_of=as_of, purchases="periods")
    kept = [(c, a) for c, d, _, a in rows if start.date() + dt.timedelta(days=d) <= as_of]
    n_purchases = sum(1 for _, a in kept if a > 0)
    assert (by_order["frequency"] + 1).sum() == n_purchases
    assert set(by_order["customer_id"]) == {c for c, a in kept if a > 0}
    assert (by_order["T"] >= by_order["recency"]).all()
    assert (by_order["recency"] >= 0).all()
    assert (by_order.loc[by_order["frequency"] == 0, "monetary_value"] == 0).all()
    assert by_day["customer_id"].tolist() == by_order["customer_id"].tolist()
    assert (by_day["frequency"] <= by_order["frequency"]).all()
    assert (by_day[["recency", "T"]] == by_order[["recency", "T"]]).all().all()


def summary_by_walk(lines: pd.DataFrame, as_of: dt.date, unit: str, purchases: str) -> pd.DataFrame:
    """The module docstring's definitions, written as a walk through each customer's orders.

    Orders sorted by (ordered_at, order_id); a purchase opens a group, the
    non-purchase orders after it join the group; groups (or, with periods,
    their purchase days / weeks) after the first are the repeat purchases.
    """
    lines = lines.assign(amount=lines["amount"].astype(float))
    o = lines.groupby("order_id", as_index=False).agg(
        customer_id=("customer_id", "first"), ordered_at=("ordered_at", "min"),
        amount=("amount", "sum"),
    )  # fmt: skip
    o = o[o["customer_id"].notna() & (o["ordered_at"].dt.date <= as_of)]
    o = o.sort_values(["customer_id", "ordered_at", "order_id"])
    day = o["ordered_at"].dt.normalize()
    o["period"] = day - pd.to_timedelta(day.dt.day_of_week, unit="D") if unit == "W" else day
    end = pd.Timestamp(as_of) - pd.Timedelta(days=as_of.weekday() if unit == "W" else 0)
    rows = []
    for cid, g in o.groupby("customer_id"):
        groups: list[list] = []  # [period, value]
        for _, row in g.iterrows():
            if row["amount"] > 0:
                groups.append([row["period"], row["amount"]])
            elif groups:
                groups[-1][1] += row["amount"]
        if not groups:
            continue
        if purchases == "periods":
            merged: dict = {}
            for per, v in groups:
                merged[per] = merged.get(per, 0.0) + v
            groups = [[per, v] for per, v in sorted(merged.items())]
        first, last = groups[0][0], max(per for per, _ in groups)
        freq = len(groups) - 1
        rows.append((
            cid, freq, (last - first).days / (7 if unit == "W" else 1),
            (end - first).days / (7 if unit == "W" else 1),
            sum(v for _, v in groups[1:]) / freq if freq else 0.0,
        ))  # fmt: skip
    return expected(rows)


@settings(max_examples=60, deadline=None)
@example(  # a return charged to the second purchase day
    rows=[("a", 0, 9, 1000, 1), ("a", 2, 9, 500, 2), ("a", 3, 9, -300, 3)],
    unit="D",
    purchases="periods",
)
@example(  # equal times: o1 (a return) comes before the purchase o2, o4 after o3
    rows=[("a", 0, 9, -300, 1), ("a", 0, 9, 1000, 2), ("a", 0, 12, 700, 3), ("a", 0, 12, -700, 4)],
    unit="D",
    purchases="orders",
)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.integers(0, 20),  # day
            st.sampled_from([9, 12]),  # hour: equal times are common
            st.sampled_from([-700, -300, 0, 300, 1000, 2500]),
            st.integers(1, 30),  # order number: its string order differs from time order
        ),
        min_size=1,
        max_size=30,
    ),
    unit=st.sampled_from(["D", "W"]),
    purchases=st.sampled_from(["orders", "periods"]),
)
def test_rfm_summary_equals_a_walk_through_the_orders(
    rows: list[tuple[str, int, int, int, int]], unit: str, purchases: str
) -> None:
    """Returns charged to the latest purchase before them, ties in time broken by order_id."""
    start = dt.datetime(2026, 1, 1)
    seen: set[int] = set()
    lines = []
    for c, d, h, a, n in rows:
        if n in seen:  # one customer and time per order
            continue
        seen.add(n)
        lines.append((f"o{n}", c, str(start + dt.timedelta(days=d, hours=h)), str(a), None))
    as_of = dt.date(2026, 1, 18)
    orders = hand_orders(lines)
    got = predict.rfm_summary(orders, as_of=as_of, time_unit=unit, purchases=purchases)
    want = summary_by_walk(orders, as_of, unit, purchases)
    pd.testing.assert_frame_equal(
        got.assign(customer_id=got["customer_id"].astype(object)).reset_index(drop=True),
        want.assign(customer_id=want["customer_id"].astype(object)),
        check_exact=False, rtol=1e-12,
    )  # fmt: skip


# --------------------------------------------------------------------------- value deciles


def test_value_deciles_equal_sizes_larger_first_ties_by_id() -> None:
    customers = pd.DataFrame(
        {
            "customer_id": [f"c{i:02d}" for i in range(13)],
            "expected_value": [5.0, 9.0, 9.0, 1.0, 0.0, 3.0, 3.0, 7.0, 2.0, 8.0, 6.0, 4.0, 0.5],
            "expected_purchases": np.ones(13),
            "probability_alive": np.full(13, 0.5),
        }
    )
    t = predict.value_deciles(customers)
    assert t["customers"].tolist() == [2, 2, 2, 1, 1, 1, 1, 1, 1, 1]
    # 9 (c01, c02) | 8, 7 | 6, 5 | 4 | 3 (c05) | 3 (c06) | 2 | 1 | 0.5 | 0
    assert t["expected_value"].tolist() == [18.0, 15.0, 11.0, 4.0, 3.0, 3.0, 2.0, 1.0, 0.5, 0.0]
    assert t["cumulative_share"].iloc[-1] == pytest.approx(1.0)
    assert t["avg_expected_value"].iloc[0] == 9.0
    few = predict.value_deciles(customers.head(3), groups=10)
    assert few["value_decile"].tolist() == [1, 2, 3]


# --------------------------------------------------------------------------- errors


def test_missing_pymc_marketing_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only MCMC needs pymc-marketing: the point estimate is ecrm.models.btyd's."""
    monkeypatch.setitem(sys.modules, "pymc_marketing", None)  # import now fails
    with pytest.raises(predict.MissingDependencyError, match=r"pip install 'ecrm\[predict\]'") as e:
        predict._fit_models(synthetic_rfm(), fit_method="mcmc", random_state=0, fit_kwargs=None)
    assert isinstance(e.value, EcrmError) and isinstance(e.value, ImportError)
    fit = predict._fit_models(synthetic_rfm(), fit_method="map", random_state=0, fit_kwargs=None)
    assert fit.bg is None and set(fit.params) == {"r", "alpha", "a", "b", "p", "q", "v"}
    # the summary itself needs no model
    assert len(predict.rfm_summary(hand_orders(), as_of=AS_OF)) == 6


def synthetic_rfm(n: int = 2000, seed: int = 3) -> pd.DataFrame:
    """An RFM summary simulated from the BG/NBD and Gamma-Gamma stories (no orders needed).

    Rates λ ~ Gamma(r = 0.5, α = 20), dropout p ~ Beta(a = 2, b = 6) after each
    purchase, ages T uniform on 30–700 days; spend per purchase Gamma(p = 3, ν)
    with ν ~ Gamma(q = 4, v = 2000).
    """
    rng = np.random.default_rng(seed)
    T = rng.uniform(30, 700, n).round()
    lam = rng.gamma(0.5, 1 / 20, n)
    drop = rng.beta(2.0, 6.0, n)
    t, x, tx = np.zeros(n), np.zeros(n), np.zeros(n)
    alive = np.ones(n, dtype=bool)
    for _ in range(200):  # one repeat purchase per step, for every customer at once
        nxt = t + rng.exponential(1 / lam)
        buy = alive & (nxt <= T)
        x += buy
        tx = np.where(buy, np.floor(nxt), tx)
        t = np.where(buy, nxt, t)
        alive = buy & (rng.random(n) >= drop)
    nu = rng.gamma(4.0, 1 / 2000.0, n)
    k = np.maximum(x, 1)
    m = np.where(x > 0, rng.gamma(3.0 * k, 1 / (nu * k)), 0.0)
    return pd.DataFrame(
        {
            "customer_id": [f"c{i:05d}" for i in range(n)],
            "frequency": x,
            "recency": tx,
            "T": T,
            "monetary_value": m,
        }
    )


def test_pymc_is_imported_only_for_mcmc() -> None:
    import subprocess

    code = (
        "import sys, ecrm.models.predict, ecrm.present.plotting.predict; "
        "from tests.test_predict import synthetic_rfm; "
        "ecrm.models.predict._fit_models(synthetic_rfm(), fit_method='map', random_state=0, "
        "fit_kwargs=None); "
        "print(sorted(m for m in ('pymc', 'pymc_marketing', 'pytensor') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: predict.predict_value(hand_orders(), as_of=AS_OF, months=0), "months"),
        (lambda: predict.predict_value(hand_orders(), as_of=AS_OF, fit_method="nuts"), "fit_"),
        (
            lambda: predict.calibration(hand_orders(), cutoff=AS_OF, as_of="2026-01-31"),
            "cutoff",
        ),
        (lambda: predict.value_deciles(pd.DataFrame(), groups=0), "groups"),
        (
            lambda: predict.predict_value(hand_orders(), as_of=AS_OF, min_repeat_customers=0),
            "min_repeat_customers",
        ),
    ],
)
def test_bad_arguments(call, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        call()


def test_too_few_repeat_customers_is_a_model_fit_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checked on the summary, before any model work: 3 of the 6 hand customers repeat."""
    monkeypatch.setattr(predict, "pymc_clv", lambda: None)  # no fit is ever reached
    msg = r"only 3 of 6 customers have a repeat purchase by 2026-03-31; .* at least 100 "
    with pytest.raises(ModelFitError, match=msg):
        predict.predict_value(hand_orders(), as_of=AS_OF)
    few = LtvSettings(predict_min_repeat_customers=4)
    with pytest.raises(ModelFitError, match="at least 4 "):
        predict.predict_value(hand_orders(), as_of=AS_OF, settings=few)
    with pytest.raises(ModelFitError, match="at least 5 "):
        predict.predict_value(hand_orders(), as_of=AS_OF, settings=few, min_repeat_customers=5)


def test_calibration_cutoff_defaults_to_the_prediction_horizon(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The hand shop's history runs from 2025-10-20 (E's return) to as_of 2026-03-31:
    162 days. predict_months 2: at least 4 months, so cutoff as_of − 2 months =
    2026-01-31, where A, B and C repeat among A–E (F comes later). predict_months 3:
    shorter than 6 months, so the middle, 2025-10-20 + 81 days = 2026-01-09 (the same
    three repeat). With cutoff 2025-11-30 only C (two purchases on 11-05)."""
    monkeypatch.setattr(predict, "pymc_clv", lambda: None)
    two = LtvSettings(predict_months=2)
    with pytest.raises(ModelFitError, match=r"only 3 of 5 customers .* by 2026-01-31"):
        predict.calibration(hand_orders(), as_of=AS_OF, settings=two)
    three = LtvSettings(predict_months=3)
    with pytest.raises(ModelFitError, match=r"only 3 of 5 customers .* by 2026-01-09"):
        predict.calibration(hand_orders(), as_of=AS_OF, settings=three)
    with pytest.raises(ModelFitError, match=r"only 1 of 3 customers .* by 2025-11-30"):
        predict.calibration(hand_orders(), as_of=AS_OF, cutoff="2025-11-30")


def test_a_failing_fit_becomes_a_model_fit_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """An optimiser error is reported as ModelFitError, cause kept: MAP and MCMC alike."""

    def no_maximum(*args: object, **kwargs: object) -> None:
        raise btyd.FitError("no finite maximum of the likelihood (ABNORMAL)")

    monkeypatch.setattr(btyd, "fit_bgnbd", no_maximum)
    msg = r"purchase \(BG/NBD\) model could not be fitted: no finite maximum"
    with pytest.raises(ModelFitError, match=msg) as e:
        predict.predict_value(hand_orders(), as_of=AS_OF, min_repeat_customers=1)
    assert isinstance(e.value.__cause__, btyd.FitError)
    monkeypatch.undo()

    class Failing:
        def __init__(self, model_config: dict) -> None:
            self.model_config = model_config

        def fit(self, **kwargs: object) -> None:
            raise ValueError("Sampling failed: the log-likelihood is NaN")

    clv = types.SimpleNamespace(BetaGeoModel=Failing, GammaGammaModel=Failing)
    prior = types.ModuleType("pymc_extras.prior")
    prior.Prior = lambda name: name  # type: ignore[attr-defined]
    monkeypatch.setattr(predict, "pymc_clv", lambda: clv)
    monkeypatch.setitem(sys.modules, "pymc_extras.prior", prior)
    msg = r"purchase \(BG/NBD\) model could not be fitted: Sampling failed"
    with pytest.raises(ModelFitError, match=msg) as e:
        predict._fit_models(synthetic_rfm(), fit_method="mcmc", random_state=0, fit_kwargs=None)
    assert isinstance(e.value.__cause__, ValueError)


def test_map_fit_kwargs_are_scipy_options() -> None:
    with pytest.raises(ParameterError, match="only 'options'"):
        predict._fit_models(
            synthetic_rfm(), fit_method="map", random_state=0, fit_kwargs={"draws": 5}
        )
    few = {"options": {"maxiter": 1}}  # stops far from the maximum
    with pytest.raises(ModelFitError, match="stopped before the maximum"):
        predict._fit_models(synthetic_rfm(), fit_method="map", random_state=0, fit_kwargs=few)


# --------------------------------------------------------------------------- plots


def test_plots_draw_on_given_axes() -> None:
    from matplotlib.figure import Figure

    by_freq = pd.DataFrame(
        {
            "frequency": ["0", "1", "2+"],
            "customers": [10, 5, 3],
            "predicted": [0.5, 1.2, 3.0],
            "actual": [0.4, 1.4, 2.8],
        }
    )
    customers = pd.DataFrame(
        {
            "customer_id": list("abcd"),
            "frequency": [0, 1, 3, 0],
            "probability_alive": [1.0, 0.3, 0.9, 1.0],
            "expected_purchases": [0.2, 0.1, 2.0, 0.3],
            "expected_value": [100.0, 50.0, 900.0, 120.0],
        }
    )
    ax = Figure().add_subplot()
    assert plots.plot_calibration(by_freq, ax=ax, lang="en") is ax
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["actual", "predicted"]
    ax2 = plots.plot_probability_alive(customers, lang="ja")
    assert isinstance(ax2, Axes) and "生存確率" in ax2.get_title()
    ax3 = plots.plot_value_deciles(predict.value_deciles(customers), lang="en")
    assert len(ax3.patches) == 4
    with pytest.raises(EcrmError, match="missing"):
        plots.plot_value_deciles(customers)


# --------------------------------------------------------------------------- against pymc-marketing


@pytest.mark.slow
@pytest.mark.parametrize(("time_unit", "as_of"), [("D", "2026-06-30"), ("W", "2026-06-28")])
def test_rfm_summary_matches_pymc_marketing(demo_root: Path, time_unit: str, as_of: str) -> None:
    """Where the definitions coincide (no returns; purchase days), the figures are equal.

    For weeks the as_of is a Sunday: lifetimes floors as_of to its week, so it
    reads the orders of the rest of that week, which ecrm never does.
    """
    from pymc_marketing.clv import rfm_summary as reference

    path = demo_root / "data" / "demo-food" / "canonical" / "orders.parquet"
    o = engine.order_totals(path, as_of=as_of)
    buys = engine.to_pandas(o.filter(o.is_purchase).drop("order_date", "is_purchase"))
    ours = predict.rfm_summary(buys, as_of=as_of, time_unit=time_unit, purchases="periods")
    ref = reference(
        buys, "customer_id", "ordered_at", "amount", observation_period_end=as_of,
        time_unit=time_unit,
    )  # fmt: skip
    ref = ref.sort_values("customer_id", ignore_index=True)
    assert ours["customer_id"].tolist() == ref["customer_id"].tolist()
    assert len(ours) > 1000
    for c in ("frequency", "recency", "T", "monetary_value"):
        np.testing.assert_allclose(ours[c].to_numpy(float), ref[c].to_numpy(float), rtol=1e-12)
    # counting orders instead: more repeats exactly where a day had two purchases
    by_order = predict.rfm_summary(buys, as_of=as_of, time_unit=time_unit)
    assert (by_order["frequency"] >= ours["frequency"]).all()
    assert (by_order["frequency"] + 1).sum() == len(buys)


# --------------------------------------------------------------------------- the models


@pytest.fixture(scope="module")
def food(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """The demo food shop with 5,000 customers, ingested; and its latent truth."""
    # Without the 定期便: its deliveries follow the subscription, not the BG/NBD truth.
    shop = demo.generate_shop("demo-food", n_customers=5000, subscriptions=False)
    folder = tmp_path_factory.mktemp("predict") / "demo-food-5000"
    demo.write_shop(shop, folder / "raw")
    text = resources.files("ecrm.io").joinpath("templates", "demo-food.yaml").read_text("utf-8")
    text = text.replace("{name}", folder.name).replace("{ext}", "csv")
    (folder / "settings.yaml").write_text(text, encoding="utf-8")
    return ingest(folder, today=demo.DEMO_INGEST_DATE).orders_path, shop.truth


@pytest.fixture(scope="module")
def calib(food: tuple[Path, pd.DataFrame]) -> predict.Calibration:
    return predict.calibration(food[0], cutoff=CUTOFF, as_of=END)


@pytest.fixture(scope="module")
def with_returner(food: tuple[Path, pd.DataFrame]) -> pd.DataFrame:
    """The food shop's orders plus the hand-typed customer C (repeat spend −100)."""
    cols = ["order_id", "customer_id", "ordered_at", "amount"]
    orders = pd.read_parquet(food[0], columns=cols)
    c = hand_orders([r for r in LINES if r[1] == "C"])[cols]
    orders = pd.concat([orders, c.astype({"customer_id": orders["customer_id"].dtype})])
    return orders.reset_index(drop=True)


@pytest.fixture(scope="module")
def prediction(with_returner: pd.DataFrame) -> predict.Prediction:
    return predict.predict_value(with_returner, as_of=END)


def _holdout_by_hand(path: Path) -> pd.Series:
    """Hold-out purchases per calibration customer, in plain pandas."""
    lines = pd.read_parquet(path, columns=["order_id", "customer_id", "ordered_at", "amount"])
    lines = lines[lines["customer_id"].notna()]
    o = lines.groupby(["customer_id", "order_id"], as_index=False).agg(
        at=("ordered_at", "min"), amount=("amount", "sum")
    )
    o["day"] = o["at"].dt.date
    buys = o[o["amount"] > 0]
    first = buys.groupby("customer_id")["day"].min()
    known = first[first <= CUTOFF].index
    hold = buys[(buys["day"] > CUTOFF) & (buys["day"] <= END)]
    return hold.groupby("customer_id").size().reindex(known, fill_value=0)


@pytest.mark.slow
def test_calibration_total_within_ten_percent(
    calib: predict.Calibration, food: tuple[Path, pd.DataFrame]
) -> None:
    s = calib.summary.set_index("measure")
    purchases = s.loc["purchases"]
    assert abs(purchases.relative_error) < 0.10, calib.summary
    assert purchases.predicted_total == pytest.approx(calib.customers.predicted_purchases.sum())
    assert purchases.correlation > 0.6
    assert abs(s.loc["value", "relative_error"]) < 0.15
    # the actual figures against an independent pandas count
    by_hand = _holdout_by_hand(food[0])
    got = calib.customers.set_index("customer_id")["actual_purchases"]
    assert sorted(got.index) == sorted(by_hand.index)
    assert (got.sort_index() == by_hand.sort_index()).all()
    assert purchases.actual_total == by_hand.sum()
    # the by-frequency table pools the same customers
    assert calib.by_frequency["customers"].sum() == len(calib.customers)
    assert calib.by_frequency["frequency"].iloc[-1] == "7+"
    assert calib.prediction.info["as_of"] == CUTOFF
    assert calib.prediction.info["horizon_days"] == 365


@pytest.mark.slow
def test_fitted_parameters_near_the_truth(
    calib: predict.Calibration, food: tuple[Path, pd.DataFrame]
) -> None:
    """The demo draws λ ~ Gamma(r = 0.5, α = 40 per day) and p ~ Beta(0.6, 9), each
    moved a little by the entry category: the population means are what the
    model can recover, and r and α stay close.
    """
    p = calib.prediction.params
    truth = food[1].set_index("customer_id").loc[calib.customers["customer_id"]]
    assert p["r"] / p["alpha"] == pytest.approx(truth["lambda_"].mean(), rel=0.10)
    assert p["a"] / (p["a"] + p["b"]) == pytest.approx(truth["p_dropout"].mean(), rel=0.15)
    assert p["r"] == pytest.approx(0.5, rel=0.25)
    assert p["alpha"] == pytest.approx(40.0, rel=0.25)


@pytest.mark.slow
def test_probability_alive_tracks_the_truth(
    prediction: predict.Prediction, food: tuple[Path, pd.DataFrame]
) -> None:
    c = prediction.customers.merge(food[1][["customer_id", "alive_at_end"]], on="customer_id")
    repeat = c[c["frequency"] > 0]
    assert repeat["probability_alive"].mean() == pytest.approx(
        repeat["alive_at_end"].mean(), abs=0.05
    )
    alive = repeat.loc[repeat["alive_at_end"], "probability_alive"].mean()
    gone = repeat.loc[~repeat["alive_at_end"], "probability_alive"].mean()
    assert alive - gone > 0.25
    assert (c.loc[c["frequency"] == 0, "probability_alive"] == 1.0).all()  # BG/NBD


@pytest.mark.slow
def test_prediction_table(prediction: predict.Prediction, with_returner: pd.DataFrame) -> None:
    c = prediction.customers
    assert list(c.columns) == [
        *COLUMNS,
        "probability_alive",
        "expected_purchases",
        "expected_spend",
        "expected_value",
        "spend_basis",
        *(f"expected_purchases_{h}m" for h in (3, 6, 12)),
        *(f"expected_value_{h}m" for h in (3, 6, 12)),
    ]
    # the 12-month horizon, undiscounted, is the prediction itself, exactly
    assert (c["expected_purchases_12m"] == c["expected_purchases"]).all()
    assert (c["expected_value_12m"] == c["expected_value"]).all()
    assert (c["expected_value_3m"] <= c["expected_value_6m"]).all()
    rfm = predict.rfm_summary(with_returner, as_of=END)
    same(c[COLUMNS], rfm)  # every customer kept, in customer_id order
    assert np.isfinite(c[["probability_alive", "expected_purchases", "expected_value"]]).all().all()
    assert c["probability_alive"].between(0, 1).all()
    assert (c["expected_purchases"] >= 0).all()
    np.testing.assert_allclose(c.expected_value, c.expected_purchases * c.expected_spend)
    assert set(prediction.params) == {"r", "alpha", "a", "b", "p", "q", "v"}
    assert prediction.info["months"] == 12 and prediction.info["horizon_days"] == 365
    assert list(prediction.params_table()["parameter"]) == ["r", "alpha", "a", "b", "p", "q", "v"]
    assert abs(prediction.info["spend_frequency_corr"]) < 0.2  # Gamma-Gamma assumption holds


@pytest.mark.slow
def test_predictions_follow_the_formulas(prediction: predict.Prediction) -> None:
    """Each customer's figures from the fitted parameters, by the papers' formulas.

    BG/NBD: P(alive) (Fader, Hardie & Lee 2008) and E[purchases in t] (eq. 10 of
    the 2005 paper); Gamma-Gamma: E[spend] (Fader & Hardie 2013, eq. 5), with
    frequency 0 for the non-positive spenders.
    """
    from scipy.special import hyp2f1

    c = prediction.customers
    r, alpha, a, b, p, q, v = (
        prediction.params[k] for k in ("r", "alpha", "a", "b", "p", "q", "v")
    )
    x, tx, T = (c[k].to_numpy(float) for k in ("frequency", "recency", "T"))
    t = float(prediction.info["horizon"])
    odds = (x > 0) * a / (b + np.maximum(x, 1) - 1) * ((alpha + T) / (alpha + tx)) ** (r + x)
    np.testing.assert_allclose(c["probability_alive"], 1 / (1 + odds), rtol=1e-9)
    z = t / (alpha + T + t)
    num = (a + b + x - 1) / (a - 1)
    num *= 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    np.testing.assert_allclose(c["expected_purchases"], num / (1 + odds), rtol=1e-9)
    own = (c["spend_basis"] == "customer").to_numpy()
    xs = np.where(own, x, 0.0)
    w = p * xs / (p * xs + q - 1)
    spend = (1 - w) * v * p / (q - 1) + w * np.where(own, c["monetary_value"], 0.0)
    np.testing.assert_allclose(c["expected_spend"], spend, rtol=1e-9)


@pytest.mark.slow
def test_nonpositive_spend_kept_and_flagged(prediction: predict.Prediction) -> None:
    """C's only repeat purchase was returned (net −100): out of the spend fit, in the output."""
    c = prediction.customers.set_index("customer_id")
    info = prediction.info
    row = c.loc["C"]
    assert (row.frequency, row.monetary_value) == (1, -100.0)
    assert row.spend_basis == "nonpositive_spend"
    assert row.expected_spend == pytest.approx(info["population_mean_spend"])
    assert row.expected_value == pytest.approx(row.expected_purchases * row.expected_spend)
    flagged = (c["frequency"] > 0) & (c["monetary_value"] <= 0)
    assert (c["spend_basis"] == "nonpositive_spend").equals(flagged)
    assert info["nonpositive_spend_customers"] == flagged.sum() >= 1
    assert info["spend_fit_customers"] == ((c["frequency"] > 0) & (c["monetary_value"] > 0)).sum()
    assert info["customers"] == len(c)
    one_timers = c[c["frequency"] == 0]
    assert (one_timers["spend_basis"] == "population").all()
    np.testing.assert_allclose(one_timers["expected_spend"], info["population_mean_spend"])


@pytest.mark.slow
def test_predict_value_leaves_input_alone(with_returner: pd.DataFrame) -> None:
    """A second call on the same frame (it was used by the fixture) gives the same table."""
    before = with_returner.copy(deep=True)
    months = 6
    p = predict.predict_value(with_returner, as_of=END, months=months)
    pd.testing.assert_frame_equal(with_returner, before)
    assert p.info["horizon_days"] == (dt.date(2027, 4, 30) - END).days


@pytest.mark.slow
def test_no_repeat_purchases_is_a_clear_error() -> None:
    rows = [(f"o{i}", f"c{i}", "2026-01-10 10:00", "1000", None) for i in range(5)]
    with pytest.raises(predict.ModelFitError, match="no customer has a repeat purchase"):
        predict.predict_value(hand_orders(rows), as_of=AS_OF)


@pytest.mark.slow
def test_mcmc_fit(with_returner: pd.DataFrame) -> None:
    """NUTS (a short chain): same table, posterior sd, near the MAP fit.

    Same data as the MAP fit of ``prediction``: PyMC compiles per data set, so
    this reuses that compilation.
    """
    fit = {"draws": 60, "tune": 60, "chains": 1, "cores": 1}
    m = predict.predict_value(with_returner, as_of=END, fit_method="mcmc", fit_kwargs=fit)
    assert m.info["fit_method"] == "mcmc"
    assert set(m.params_sd) == set(m.params) and all(v > 0 for v in m.params_sd.values())
    assert np.isfinite(m.customers["expected_value"]).all()
    assert m.customers.set_index("customer_id").loc["C", "spend_basis"] == "nonpositive_spend"
    assert m.params["r"] / m.params["alpha"] == pytest.approx(0.013, rel=0.2)


@pytest.mark.slow
def test_plots_of_a_real_fit(calib: predict.Calibration) -> None:
    ax = plots.plot_calibration(calib, lang="en")
    assert "total predicted" in ax.get_title()
    deciles = predict.value_deciles(calib.prediction.customers)
    assert deciles["customers"].sum() == len(calib.customers)
    assert deciles["expected_value"].is_monotonic_decreasing
    plots.plot_value_deciles(deciles)
    plots.plot_probability_alive(calib.prediction.customers)


def test_amounts_stay_exact_decimals() -> None:
    """0.10 + 0.20 − 0.30 is exactly zero: a float sum would make a tiny purchase."""
    rows = [
        ("P1", "P", "2026-01-05 10:00", "1000", None),
        ("P2", "P", "2026-02-05 10:00", "0.10", None),
        ("P2", "P", "2026-02-05 10:00", "0.20", None),
        ("P2", "P", "2026-02-05 10:00", "-0.30", None),
    ]
    got = predict.rfm_summary(hand_orders(rows), as_of=AS_OF)
    same(got, expected([("P", 0, 0, 85, 0.0)]))
    assert isinstance(hand_orders(rows)["amount"].iloc[0], Decimal)
