"""Tests of ecrm.analysis.ltv: hand-checked values, the pandas reference, real data.

The hand-typed shop is the one of tests/test_cohort.py (``LINES``, as_of
2026-03-31); its customers, in short:

* A: 2025-11-10 1,000; 2025-12-10 500 (day 30); 2026-02-01 300 (day 83); an
  order after as_of.
* B: 2025-11-20 2,000; 2025-12-21 700 (day 31).
* C: 2025-11-05 1,500 and 200 the same day; a return-only order −300 on day 20.
* D: 2025-12-03 net 2,500 (a −500 line); a return-only order −1,000 on day 38; a
  zero order on day 43.
* E: a return −100 on 2025-10-20, then 2025-12-15 800.
* F: 2026-03-15 1,200. G: only after as_of. H: only a return. Guests X.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm.analysis import cohort, ltv
from ecrm.errors import ParameterError
from ecrm.settings import LtvSettings
from tests.reference import cohort_ltv_pandas as ref
from tests.test_cohort import (
    AS_OF,
    LINES,
    ONLINE_RETAIL,
    assert_same_table,
    hand_orders,
    ingest_online_retail,
    random_orders,
)


def row(table: pd.DataFrame, **where: object) -> pd.Series:
    m = pd.Series(True, index=table.index)
    for k, v in where.items():
        m &= table[k] == v
    (r,) = table[m].to_dict("records")
    return pd.Series(r)


def missing(v: object) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


# --------------------------------------------------------------------------- LTV transition


@pytest.fixture(scope="module")
def transition() -> pd.DataFrame:
    return ltv.ltv_transition(hand_orders(), as_of=AS_OF, step_days=30, horizon_days=120)


def test_transition_layout(transition: pd.DataFrame) -> None:
    assert list(transition.columns) == [
        "cohort",
        "days",
        "cohort_size",
        "revenue",
        "ltv",
        "repeaters",
        "f2_rate",
        "left_censored",
    ]
    assert transition["cohort"].tolist() == [
        c for c in ("2025-11", "2025-12", "2026-03", "all") for _ in range(4)
    ]
    assert transition["days"].tolist() == [30, 60, 90, 120] * 4


def test_transition_by_hand(transition: pd.DataFrame) -> None:
    nov = transition[transition.cohort == "2025-11"]
    # within 30 days: A 1,000 + 500 (day 30 counts); B 2,000 (B2 is day 31);
    # C 1,500 + 200 − 300 (the return lowers it)
    assert nov["revenue"].tolist() == [4900, 5600, 5900, 5900]
    np.testing.assert_allclose(nov["ltv"], np.array([4900, 5600, 5900, 5900]) / 3, rtol=1e-12)
    # second purchase: C on day 0 (same day), A on day 30, B on day 31
    assert nov["repeaters"].tolist() == [2, 3, 3, 3]
    np.testing.assert_allclose(nov["f2_rate"], [2 / 3, 1, 1, 1])
    assert (nov["cohort_size"] == 3).all()
    dec = transition[transition.cohort == "2025-12"]
    # D 2,500 + E 800; D's return on day 38; E's return before its first purchase is out
    assert dec["revenue"].iloc[:3].tolist() == [3300, 2300, 2300]
    assert dec["ltv"].iloc[:3].tolist() == [1650, 1150, 1150]
    assert dec["repeaters"].iloc[:3].tolist() == [0, 0, 0]  # return and zero orders are not
    assert dec["f2_rate"].iloc[:3].tolist() == [0, 0, 0]


def test_transition_observability(transition: pd.DataFrame) -> None:
    # December's last day + 90 = 2026-03-31 = as_of: filled; + 120 is not
    dec120 = row(transition, cohort="2025-12", days=120)
    assert dec120.cohort_size == 2
    assert all(missing(dec120[c]) for c in ("revenue", "ltv", "repeaters", "f2_rate"))
    march = transition[transition.cohort == "2026-03"]
    assert march[["revenue", "ltv", "f2_rate"]].isna().all().all()
    assert march["repeaters"].isna().all()


def test_transition_all_row_is_weighted(transition: pd.DataFrame) -> None:
    a = transition[transition.cohort == "all"].set_index("days")
    # d ≤ 90: Nov (3) and Dec (2) filled; d = 120: Nov only
    assert a["cohort_size"].tolist() == [5, 5, 5, 3]
    assert a["revenue"].tolist() == [8200, 7900, 8200, 5900]
    assert a.loc[30, "ltv"] == pytest.approx((3 * 4900 / 3 + 2 * 1650) / 5)
    assert a.loc[120, "ltv"] == pytest.approx(5900 / 3)
    assert a["repeaters"].tolist() == [2, 3, 3, 3]
    np.testing.assert_allclose(a["f2_rate"], [0.4, 0.6, 0.6, 1.0])


def test_transition_days_and_settings() -> None:
    t = ltv.ltv_transition(hand_orders(), as_of=AS_OF, step_days=50, horizon_days=120)
    assert t["days"].unique().tolist() == [50, 100, 120]  # horizon added when not a multiple
    default = ltv.ltv_transition(hand_orders(), as_of=AS_OF)
    assert default["days"].unique().tolist() == list(range(30, 361, 30))
    via_settings = ltv.ltv_transition(
        hand_orders(), as_of=AS_OF, settings=LtvSettings(step_days=60, horizon_days=120)
    )
    assert via_settings["days"].unique().tolist() == [60, 120]
    with pytest.raises(ParameterError, match="horizon_days"):
        ltv.ltv_transition(hand_orders(), as_of=AS_OF, step_days=30, horizon_days=20)
    with pytest.raises(ParameterError, match="step_days"):
        ltv.ltv_transition(hand_orders(), as_of=AS_OF, step_days=0)


def test_transition_ignores_orders_after_as_of_and_guests() -> None:
    kept = [r for r in LINES if r[2][:10] <= AS_OF.isoformat() and r[1] is not None]
    kw = {"as_of": AS_OF, "horizon_days": 120}
    pd.testing.assert_frame_equal(
        ltv.ltv_transition(hand_orders(), **kw), ltv.ltv_transition(hand_orders(kept), **kw)
    )
    # with a later as_of, A4 (2026-04-05, day 146) enters the 150-day figure
    later = ltv.ltv_transition(hand_orders(), as_of="2026-06-30", horizon_days=150)
    assert row(later, cohort="2025-11", days=150).revenue == 5900 + 9999


def test_transition_months() -> None:
    t = ltv.ltv_transition(hand_orders(), as_of=AS_OF, horizon_days=60, months=4)
    assert t["cohort"].unique().tolist() == ["2025-12", "2026-03", "all"]
    assert row(t, cohort="all", days=30).cohort_size == 2


# --------------------------------------------------------------------------- F2 conversion


def test_f2_day_30_counts_and_day_31_does_not() -> None:
    f = ltv.f2_conversion(hand_orders(), as_of=AS_OF, windows=(31, 30, 60))
    assert list(f.columns) == [
        "cohort",
        "days",
        "cohort_size",
        "repeaters",
        "f2_rate",
        "left_censored",
    ]
    nov = f[f.cohort == "2025-11"]
    assert nov["days"].tolist() == [30, 31, 60]  # sorted
    assert nov["repeaters"].tolist() == [2, 3, 3]  # C (day 0) and A (day 30); B on day 31
    dec = f[f.cohort == "2025-12"]
    assert dec["f2_rate"].tolist() == [0, 0, 0]
    assert f[f.cohort == "2026-03"]["f2_rate"].isna().all()
    a = f[f.cohort == "all"]
    np.testing.assert_allclose(a["f2_rate"], [2 / 5, 3 / 5, 3 / 5])


def test_f2_default_windows_and_observability() -> None:
    f = ltv.f2_conversion(hand_orders(), as_of=AS_OF)
    assert f["days"].unique().tolist() == [30, 60, 90, 180, 360]
    # November is observable for 121 days, December for 90
    nov = f[f.cohort == "2025-11"].set_index("days")["f2_rate"]
    assert nov.loc[[30, 60, 90]].tolist() == [2 / 3, 1, 1]
    assert nov.loc[[180, 360]].isna().all()
    dec = f[f.cohort == "2025-12"].set_index("days")["f2_rate"]
    assert dec.loc[90] == 0 and dec.loc[[180, 360]].isna().all()
    a = f[f.cohort == "all"].set_index("days")
    assert a.loc[180, "cohort_size"] == 0 and math.isnan(a.loc[180, "f2_rate"])
    with pytest.raises(ParameterError, match="window"):
        ltv.f2_conversion(hand_orders(), as_of=AS_OF, windows=(30, -1))


# --------------------------------------------------------------------------- ladder


@pytest.fixture(scope="module")
def ladder() -> pd.DataFrame:
    return ltv.purchase_ladder(hand_orders(), as_of=AS_OF, max_n=2, lapse_days=100)


def test_ladder_by_hand(ladder: pd.DataFrame) -> None:
    assert list(ladder.columns) == [
        "n",
        "label",
        "reached",
        "continued",
        "lapsed",
        "pending",
        "continuation_rate",
        "survival",
        "customers",
        "revenue",
        "revenue_per_customer",
        "median_days_to_next",
    ]
    assert ladder["label"].tolist() == ["1", "2", "3+"]
    # purchases: A 3 (A4 is after as_of), B 2, C 2 (same day), D 1, E 1, F 1
    assert ladder["reached"].tolist() == [6, 3, 1]
    assert ladder["continued"].iloc[:2].tolist() == [3, 1]
    assert pd.isna(ladder["continued"].iloc[2])
    # recency: B 100 (= lapse_days: lapsed), C 146, D 118, E 106 lapsed; F 16, A 58 pending
    assert ladder["lapsed"].tolist() == [2, 2, 0]
    assert ladder["pending"].tolist() == [1, 0, 1]
    np.testing.assert_allclose(ladder["continuation_rate"].iloc[:2], [0.5, 1 / 3])
    assert math.isnan(ladder["continuation_rate"].iloc[2])
    np.testing.assert_allclose(ladder["survival"], [1, 0.5, 1 / 6])
    # revenue to date of the customers who stopped at n: D 1,500 (return, zero
    # order), E 700 (its early return counts), F 1,200 | B 2,700, C 1,400 | A 1,800
    assert ladder["customers"].tolist() == [3, 2, 1]
    assert ladder["revenue"].tolist() == [3400, 4100, 1800]
    np.testing.assert_allclose(ladder["revenue_per_customer"], [3400 / 3, 2050, 1800])
    # 1 → 2: C 0, A 30, B 31 days; 2 → 3: A 53 days; nobody beyond 3
    assert ladder["median_days_to_next"].iloc[:2].tolist() == [30, 53]
    assert math.isnan(ladder["median_days_to_next"].iloc[2])


def test_ladder_flows_add_up(ladder: pd.DataFrame) -> None:
    flows = ladder["continued"].fillna(0) + ladder["lapsed"] + ladder["pending"]
    assert (flows == ladder["reached"]).all()
    assert ladder["reached"].iloc[1:].tolist() == ladder["continued"].iloc[:-1].tolist()


def test_ladder_lapse_edge_and_defaults() -> None:
    t = ltv.purchase_ladder(hand_orders(), as_of=AS_OF, max_n=2, lapse_days=101)
    assert t["lapsed"].tolist() == [2, 1, 0]  # B (recency 100) is now pending
    assert t["pending"].tolist() == [1, 1, 1]
    d = ltv.purchase_ladder(hand_orders(), as_of=AS_OF)
    assert d["label"].tolist() == [*map(str, range(1, 11)), "11+"]
    assert d["lapsed"].sum() == 0  # lapse_days 240 (default): nobody has lapsed yet
    assert d["pending"].tolist() == [3, 2, 1] + [0] * 8
    with pytest.raises(ParameterError, match="max_n"):
        ltv.purchase_ladder(hand_orders(), as_of=AS_OF, max_n=0)


def test_ladder_median_averages_the_two_middle_intervals() -> None:
    lines = [
        ("a1", "a", "2026-01-01", "10", None),
        ("a2", "a", "2026-01-11", "10", None),  # 10 days
        ("b1", "b", "2026-01-01", "10", None),
        ("b2", "b", "2026-01-21", "10", None),  # 20 days
        ("b3", "b", "2026-01-22", "10", None),
        ("b4", "b", "2026-01-22", "10", None),
        ("b5", "b", "2026-01-30", "10", None),  # b: 1, 0, 8 beyond purchase 2
    ]
    t = ltv.purchase_ladder(hand_orders(lines), as_of="2026-02-28", max_n=2)
    assert t["median_days_to_next"].tolist() == [15.0, 1.0, 4.0]  # pooled 3+: 0 and 8


# --------------------------------------------------------------------------- intervals


def test_intervals_by_hand() -> None:
    d = ltv.interpurchase_intervals(hand_orders(), as_of=AS_OF, max_n=1)
    assert list(d.columns) == ["n", "label", "days", "intervals", "share", "cum_share"]
    assert d[["n", "label", "days", "intervals"]].values.tolist() == [
        [1, "1", 0, 1],  # C: same-day second order
        [1, "1", 30, 1],  # A
        [1, "1", 31, 1],  # B
        [2, "2+", 53, 1],  # A: 2 → 3
    ]
    np.testing.assert_allclose(d["share"], [1 / 3, 1 / 3, 1 / 3, 1])
    np.testing.assert_allclose(d["cum_share"], [1 / 3, 2 / 3, 1, 1])


def test_history_is_shared_across_functions() -> None:
    orders = hand_orders()
    copy = orders.copy(deep=True)
    with cohort.purchase_history(orders, as_of=AS_OF) as h:
        for fn in (
            ltv.ltv_transition,
            ltv.f2_conversion,
            ltv.purchase_ladder,
            ltv.interpurchase_intervals,
        ):
            pd.testing.assert_frame_equal(fn(h, as_of=AS_OF), fn(orders, as_of=AS_OF))
        with pytest.raises(ParameterError, match="as_of"):
            ltv.purchase_ladder(h, as_of="2026-04-30")
    pd.testing.assert_frame_equal(orders, copy)  # inputs are never mutated


def test_no_customers() -> None:
    early = "2025-01-31"
    assert ltv.purchase_ladder(hand_orders(), as_of=early)["reached"].sum() == 0
    assert ltv.interpurchase_intervals(hand_orders(), as_of=early).empty
    t = ltv.ltv_transition(hand_orders(), as_of=early, horizon_days=60)
    assert t["cohort"].tolist() == ["all", "all"]
    assert t["cohort_size"].tolist() == [0, 0] and t["ltv"].isna().all()


def test_plots(transition: pd.DataFrame, ladder: pd.DataFrame) -> None:
    from matplotlib.axes import Axes

    from ecrm.present.plotting import ltv as plots

    ax = plots.plot_ltv_curves(transition)
    assert isinstance(ax, Axes)
    assert len(ax.lines) == 4  # three cohorts and the weighted average
    assert ax.lines[-1].get_ydata().tolist() == pytest.approx([1640, 1580, 1640, 5900 / 3])
    ax = plots.plot_ltv_curves(transition, value="f2_rate", cohorts=["2025-11"], lang="en")
    assert len(ax.lines) == 2
    f2 = ltv.f2_conversion(hand_orders(), as_of=AS_OF)
    ax = plots.plot_f2_conversion(f2)
    assert len(ax.lines) == 5
    assert ax.get_legend().get_texts()[0].get_text() == "30日以内 (40.0%)"
    ax = plots.plot_purchase_ladder(ladder)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1回", "2回", "3回以上"]
    widths = [p.get_width() for p in ax.patches]
    assert sum(widths) == ladder["reached"].sum()  # the stacked parts add up to reached
    iv = ltv.interpurchase_intervals(hand_orders(), as_of=AS_OF, max_n=1)
    ax = plots.plot_interpurchase_intervals(iv, lang="en")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "purchase 1 → next",
        "purchase 2+ → next",
    ]
    with pytest.raises(ParameterError):
        plots.plot_ltv_curves(transition, value="median")


# --------------------------------------------------------------------------- reference

LTV_COUNTS = ("days", "cohort_size", "repeaters")
LTV_MONEY = ("revenue", "ltv")
LADDER_COUNTS = ("n", "reached", "continued", "lapsed", "pending", "customers")
LADDER_MONEY = ("revenue", "revenue_per_customer")
INTERVAL_COUNTS = ("n", "days", "intervals")


def compare_all(orders: pd.DataFrame, as_of: str) -> None:
    assert_same_table(
        ltv.ltv_transition(orders, as_of=as_of),
        ref.ltv_transition(orders, as_of=as_of),
        LTV_COUNTS,
        LTV_MONEY,
    )
    assert_same_table(
        ltv.f2_conversion(orders, as_of=as_of, months=18),
        ref.f2_conversion(orders, as_of=as_of, months=18),
        LTV_COUNTS,
        (),
    )
    assert_same_table(
        ltv.purchase_ladder(orders, as_of=as_of),
        ref.purchase_ladder(orders, as_of=as_of),
        LADDER_COUNTS,
        LADDER_MONEY,
    )
    assert_same_table(
        ltv.purchase_ladder(orders, as_of=as_of, max_n=3, lapse_days=90),
        ref.purchase_ladder(orders, as_of=as_of, max_n=3, lapse_days=90),
        LADDER_COUNTS,
        LADDER_MONEY,
    )
    assert_same_table(
        ltv.interpurchase_intervals(orders, as_of=as_of, max_n=5),
        ref.interpurchase_intervals(orders, as_of=as_of, max_n=5),
        INTERVAL_COUNTS,
        (),
    )


@pytest.fixture(scope="module")
def demo_shops(demo_root: Path) -> dict[str, pd.DataFrame]:
    return {
        name: ref.read_orders(demo_root / "data" / name / "canonical" / "orders.parquet")
        for name in ("demo-food", "demo-apparel")
    }


@pytest.mark.parametrize(
    ("shop", "as_of"), [("demo-food", "2026-10-31"), ("demo-apparel", "2026-02-14")]
)
def test_demo_shops_match_the_pandas_reference(demo_shops, shop, as_of) -> None:
    compare_all(demo_shops[shop], as_of)


def test_random_shop_matches_the_pandas_reference() -> None:
    compare_all(random_orders(seed=11), "2026-04-30")


def test_reference_comparison_can_fail() -> None:
    orders = random_orders(seed=11, customers=500)
    got = ltv.purchase_ladder(orders, as_of="2026-04-30")
    want = ref.purchase_ladder(orders, as_of="2026-04-30")
    want.loc[1, "pending"] += 1
    with pytest.raises(AssertionError):
        assert_same_table(got, want, LADDER_COUNTS, LADDER_MONEY)


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def online_retail(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not ONLINE_RETAIL.is_file():
        pytest.skip(f"real data set not found at {ONLINE_RETAIL}")
    return ingest_online_retail(tmp_path_factory.getbasetemp() / "online-retail-cohort-ltv")


@pytest.mark.realdata
def test_online_retail_invariants(online_retail: Path) -> None:
    as_of = "2011-12-09"
    with cohort.purchase_history(online_retail, as_of=as_of) as h:
        lad = ltv.purchase_ladder(h, as_of=as_of)
        trans = ltv.ltv_transition(h, as_of=as_of)
        f2 = ltv.f2_conversion(h, as_of=as_of)
        iv = ltv.interpurchase_intervals(h, as_of=as_of)
    assert lad["reached"].iloc[0] == 4_338  # customers with a purchase (of 4,372 ids)
    assert lad["reached"].is_monotonic_decreasing
    assert (lad["continued"].fillna(0) + lad["lapsed"] + lad["pending"] == lad["reached"]).all()
    assert lad["customers"].sum() == lad["reached"].iloc[0]
    assert (lad["continuation_rate"].dropna().between(0, 1)).all()
    # a cohort's F2 rate only grows with the window (the pooled "all" row need not:
    # fewer cohorts are filled at larger d)
    for _, g in trans[trans.cohort != "all"].groupby("cohort"):
        assert g["f2_rate"].dropna().is_monotonic_increasing
        assert g["repeaters"].dropna().is_monotonic_increasing
    assert trans.loc[trans.cohort == "all", "cohort_size"].is_monotonic_decreasing
    assert (iv.groupby("n")["cum_share"].last() - 1).abs().max() < 1e-12
    assert (f2["f2_rate"].dropna() <= 1).all()
    orders = ref.read_orders(online_retail)
    compare_all(orders, as_of)


# --------------------------------------------------------------------------- properties


@st.composite
def tiny_shops(draw: st.DrawFn) -> pd.DataFrame:
    """A few customers' orders on a few days: same-day orders, returns, zero orders."""
    n = draw(st.integers(1, 25))
    rows = []
    for i in range(n):
        rows.append(
            (
                f"o{i:02d}" if draw(st.booleans()) else f"o{draw(st.integers(0, max(i, 0))):02d}",
                draw(st.sampled_from(["a", "b", "c", None])),
                f"2025-{draw(st.integers(10, 12))}-{draw(st.sampled_from([1, 2, 30]))} 10:00",
                str(draw(st.sampled_from([-500, 0, 300, 1000]))),
                None,
            )
        )
    # one customer per order (as ingestion guarantees): the first line's customer wins
    owner: dict[str, str | None] = {}
    rows = [(o, owner.setdefault(o, c), *rest) for o, c, *rest in rows]
    return hand_orders(rows)


@settings(max_examples=8, deadline=None)
@given(tiny_shops())
def test_tiny_shops_match_the_reference(orders: pd.DataFrame) -> None:
    check_tiny_shop(orders)


def test_a_shop_without_customers_matches_the_reference() -> None:
    """Found by the test above: one guest return and nothing else (empty tables)."""
    check_tiny_shop(hand_orders([("o00", None, "2025-10-01 10:00", "-500", None)]))


def check_tiny_shop(orders: pd.DataFrame) -> None:
    as_of = "2026-02-15"
    with cohort.purchase_history(orders, as_of=as_of) as h:
        lad = ltv.purchase_ladder(h, as_of=as_of, max_n=3, lapse_days=60)
        trans = ltv.ltv_transition(h, as_of=as_of, step_days=30, horizon_days=90)
        iv = ltv.interpurchase_intervals(h, as_of=as_of, max_n=2)
    want = ref.purchase_ladder(orders, as_of=as_of, max_n=3, lapse_days=60)
    assert_same_table(lad, want, LADDER_COUNTS, LADDER_MONEY)
    assert (lad["continued"].fillna(0) + lad["lapsed"] + lad["pending"] == lad["reached"]).all()
    want = ref.ltv_transition(orders, as_of=as_of, step_days=30, horizon_days=90)
    assert list(trans["cohort"]) == list(want["cohort"])
    if len(trans) > 3:  # more than the "all" rows
        assert_same_table(trans, want, LTV_COUNTS, LTV_MONEY)
    want = ref.interpurchase_intervals(orders, as_of=as_of, max_n=2)
    assert len(iv) == len(want)
    if len(iv):
        assert_same_table(iv, want, INTERVAL_COUNTS, ())
