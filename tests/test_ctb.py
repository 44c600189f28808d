"""CTB analysis: hand-checked fixtures, a pandas reference, and the hold-out check.

The tiny fixture (as_of 2026-06-30) — categories top / bag / shoes:

====  ==========  ===============================  ==========  ===========
cust  order       lines (category amount)          net         main value
====  ==========  ===============================  ==========  ===========
A     a1 01-10    top 3000, bag 1000               4000        top
A     a2 02-10    bag 2000                         2000        bag
A     a3 03-10    top 1000                         1000        top
A     a3-R 03-15  top −1000 (a return)             −1000       (no purchase)
A     a4 04-10    shoes 500                        500         shoes
B     b1 01-05    top 2000                         2000        top
B     b2 03-01    top 1000, shoes 1000             2000        shoes (tie → name)
C     c1 02-01    bag 1500                         1500        bag
guest g1 02-01    top 9999                         (left out)
A     a5 07-05    bag 5000   — after as_of: ignored, a hold-out purchase
B     b3 07-10    top 800    — after as_of
C     c2 07-20    bag 700    — after as_of
====  ==========  ===============================  ==========  ===========
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from importlib import resources
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

import ecrm
from ecrm.analysis import ctb
from ecrm.engine import cache, run
from ecrm.engine.run import RunTables
from ecrm.errors import ColumnsError, ParameterError
from ecrm.io import demo
from ecrm.models import evaluate, recommend
from ecrm.present.plotting import ctb as ctb_plots
from tests.reference import ctb_pandas as ref

matplotlib.use("Agg")

AS_OF = dt.date(2026, 6, 30)
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
COMPLETE_JOURNEY = SHARED_DATA / "completejourney_sample"

_LINES = [
    # order, customer, time, amount, category, taste, brand
    ("a1", "A", "2026-01-10 10:00", 3000, "top", "basic", "X"),
    ("a1", "A", "2026-01-10 10:00", 1000, "bag", "mode", "Y"),
    ("a2", "A", "2026-02-10 10:00", 2000, "bag", "mode", "Y"),
    ("a3", "A", "2026-03-10 10:00", 1000, "top", "basic", "X"),
    ("a3-R", "A", "2026-03-15 10:00", -1000, "top", "basic", "X"),
    ("a4", "A", "2026-04-10 10:00", 500, "shoes", "basic", "Z"),
    ("b1", "B", "2026-01-05 10:00", 2000, "top", "basic", "X"),
    ("b2", "B", "2026-03-01 10:00", 1000, "top", "basic", "X"),
    ("b2", "B", "2026-03-01 10:00", 1000, "shoes", "mode", "Z"),
    ("c1", "C", "2026-02-01 10:00", 1500, "bag", "mode", "Y"),
    ("g1", None, "2026-02-01 11:00", 9999, "top", "basic", "X"),
    ("a5", "A", "2026-07-05 10:00", 5000, "bag", "mode", "Y"),
    ("b3", "B", "2026-07-10 10:00", 800, "top", "basic", "X"),
    ("c2", "C", "2026-07-20 10:00", 700, "bag", "mode", "Y"),
]


def tiny(*, until: dt.date | None = None) -> pd.DataFrame:
    df = pd.DataFrame(
        _LINES,
        columns=["order_id", "customer_id", "ordered_at", "amount", "category", "taste", "brand"],
    )
    df["ordered_at"] = pd.to_datetime(df["ordered_at"])
    df["product_id"] = df["category"] + "-" + df["brand"]
    if until is not None:
        df = df[df["ordered_at"] < pd.Timestamp(until + dt.timedelta(days=1))]
    return df.reset_index(drop=True)


# --------------------------------------------------------------------------- preferences


def test_preferences_by_hand():
    p = ctb.preferences(tiny(), as_of=AS_OF, levels=["category"]).set_index("customer_id")
    assert list(p.index) == ["A", "B", "C"]  # the guest is left out
    # A: top 3000 (return included) ties bag 3000 → "bag" by name; shoes 500
    assert p.loc["A", "category"] == "bag"
    assert p.loc["A", "category_share"] == pytest.approx(3000 / 6500)
    assert p.loc["A", "category_hhi"] == pytest.approx((3000**2 * 2 + 500**2) / 6500**2)
    assert p.loc["A", "category_values"] == 3
    assert p.loc["B", "category"] == "top"
    assert p.loc["B", "category_share"] == pytest.approx(0.75)
    assert p.loc["B", "category_hhi"] == pytest.approx(0.625)
    assert (p.loc["C", "category"], p.loc["C", "category_share"]) == ("bag", 1.0)
    assert p.loc["C", "category_hhi"] == 1.0


def test_preferences_all_levels_and_columns():
    p = ctb.preferences(tiny(), as_of=AS_OF)
    for lv in ("category", "taste", "brand"):
        assert {lv, f"{lv}_share", f"{lv}_hhi", f"{lv}_values"} <= set(p.columns)
    assert p.set_index("customer_id").loc["B", "brand"] == "X"


def test_orders_after_as_of_are_ignored():
    cut = tiny(until=AS_OF)
    assert len(cut) < len(tiny())
    pd.testing.assert_frame_equal(
        ctb.preferences(tiny(), as_of=AS_OF), ctb.preferences(cut, as_of=AS_OF)
    )
    pd.testing.assert_frame_equal(
        ctb.transitions(tiny(), as_of=AS_OF), ctb.transitions(cut, as_of=AS_OF)
    )
    pd.testing.assert_frame_equal(
        ctb.recommend(tiny(), as_of=AS_OF), ctb.recommend(cut, as_of=AS_OF)
    )
    pd.testing.assert_frame_equal(
        ctb.cross_purchase(tiny(), as_of=AS_OF), ctb.cross_purchase(cut, as_of=AS_OF)
    )


def test_inputs_are_not_mutated():
    df = tiny()
    before = df.copy()
    ctb.preferences(df, as_of=AS_OF)
    ctb.recommend(df, as_of=AS_OF)
    pd.testing.assert_frame_equal(df, before)


# --------------------------------------------------------------------------- missing columns


def test_no_ctb_columns_is_a_columns_error():
    df = tiny().drop(columns=["category", "taste", "brand"])
    with pytest.raises(ColumnsError, match="category, taste, brand"):
        ctb.preferences(df, as_of=AS_OF)
    with pytest.raises(ColumnsError, match="category"):
        ctb.transitions(df, as_of=AS_OF)
    with pytest.raises(ColumnsError):
        ctb.recommend(df, as_of=AS_OF)


def test_empty_level_column_is_a_columns_error():
    df = tiny().assign(brand=None)
    with pytest.raises(ColumnsError, match="brand column is empty"):
        ctb.cross_purchase(df, as_of=AS_OF, level="brand")


def test_missing_taste_computes_the_rest_and_says_so():
    df = tiny().drop(columns=["taste"])
    with pytest.warns(UserWarning, match="no taste values"):
        p = ctb.preferences(df, as_of=AS_OF)
    assert "category" in p.columns and "brand" in p.columns and "taste" not in p.columns
    with pytest.warns(UserWarning, match="no taste"):
        f = ctb.first_purchase_ctb(df, as_of=AS_OF, horizon_days=60)
    assert set(f.level) == {"category", "brand"}


def test_bad_level_is_a_parameter_error():
    with pytest.raises(ParameterError, match="level"):
        ctb.transitions(tiny(), as_of=AS_OF, level="colour")


# --------------------------------------------------------------------------- shop tables


def test_transitions_by_hand():
    t = ctb.transitions(tiny(), as_of=AS_OF)
    got = {
        (a, b): (n, p)
        for a, b, n, p in t[["from_value", "to_value", "pairs", "probability"]].to_numpy()
    }
    # A: top→bag→top→shoes (the return is no purchase); B: top→shoes (b2's tie → shoes)
    assert got == {
        ("top", "bag"): (1, pytest.approx(1 / 3)),
        ("top", "shoes"): (2, pytest.approx(2 / 3)),
        ("bag", "top"): (1, 1.0),
    }
    assert t.groupby("from_value")["probability"].sum().tolist() == pytest.approx([1.0, 1.0])


def _main_pairs(rows: list[tuple]) -> list[list]:
    """Transition pairs (category) of hand lines (order_id, customer_id, time, amount, category)."""
    df = pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at", "amount", "category"])
    df["ordered_at"] = pd.to_datetime(df["ordered_at"])
    df["amount"] = df["amount"].map(lambda a: Decimal(str(a)))
    t = ctb.transitions(df, as_of=AS_OF)
    return t[["from_value", "to_value", "pairs"]].values.tolist()


def test_main_value_is_the_largest_line_not_the_largest_value_net():
    """D's second order: bag 600 + bag 600 (net 1,200) and top 1,000 → main top.

    The largest line is top's 1,000 (SPEC §2's rule); bag's net 1,200 would pick
    bag. D's orders: d1 shoes → d2 top → d3 bag, so the pairs are shoes→top and
    top→bag — from the order values and from the one-pass main values alike.
    """
    rows = [
        ("d1", "D", "2026-01-10 10:00", 900, "shoes"),
        ("d2", "D", "2026-02-10 10:00", 600, "bag"),
        ("d2", "D", "2026-02-10 10:00", 600, "bag"),
        ("d2", "D", "2026-02-10 10:00", 1000, "top"),
        ("d3", "D", "2026-03-10 10:00", 500, "bag"),
    ]
    assert _main_pairs(rows) == [
        ["shoes", "top", 1],
        ["top", "bag", 1],
    ]


def test_main_value_edge_cases_by_hand():
    """Negative, nearly equal, tied, huge and missing values pick the right main value.

    E: e1 (no-category 1,000, bag −200, top −300: net 500, a purchase) → bag, the
    largest line with a value; e2 (b 100.0001, a 100) → b; e3 (b 100, a 100) → a,
    the tie by name; e4 has no category and breaks the chain; e5 → x.
    F: f1 (z 12,345,678,901,234.5 and y 5) → z; f2 → y.
    G: g1 (バッグ 100, トップス 100) → トップス (name order: ト < バ); g2 → バッグ.
    """
    rows = [
        ("e1", "E", "2026-01-01 10:00", "1000", None),
        ("e1", "E", "2026-01-01 10:00", "-200", "bag"),
        ("e1", "E", "2026-01-01 10:00", "-300", "top"),
        ("e2", "E", "2026-01-02 10:00", "100.0001", "b"),
        ("e2", "E", "2026-01-02 10:00", "100", "a"),
        ("e3", "E", "2026-01-03 10:00", "100", "b"),
        ("e3", "E", "2026-01-03 10:00", "100", "a"),
        ("e4", "E", "2026-01-04 10:00", "100", None),
        ("e5", "E", "2026-01-05 10:00", "100", "x"),
        ("f1", "F", "2026-01-01 10:00", "12345678901234.5", "z"),
        ("f1", "F", "2026-01-01 10:00", "5", "y"),
        ("f2", "F", "2026-01-02 10:00", "1", "y"),
        ("g1", "G", "2026-01-01 10:00", "100", "バッグ"),
        ("g1", "G", "2026-01-01 10:00", "100", "トップス"),
        ("g2", "G", "2026-01-02 10:00", "100", "バッグ"),
    ]
    assert _main_pairs(rows) == [
        ["b", "a", 1],
        ["bag", "b", 1],
        ["z", "y", 1],
        ["トップス", "バッグ", 1],
    ]


def test_an_order_placed_just_before_midnight_on_as_of_counts_whole():
    """h2 is placed 23:50 on as_of with a return line; its shoes line is stamped 00:10.

    Orders are atomic (as in the order totals): h2's net is −100 + 1,000 = 900,
    a purchase whose main value is shoes, so H's pairs are top→shoes, and its
    preferred category is shoes (1,000 against top's 900). Cutting the lines
    at midnight instead would leave h2 a −100 return and no pair.
    """
    rows = [
        ("h1", "H", "2026-06-01 10:00", 900, "top"),
        ("h2", "H", "2026-06-30 23:50", -100, "bag"),
        ("h2", "H", "2026-07-01 00:10", 1000, "shoes"),
        ("h3", "H", "2026-07-01 09:00", 5000, "bag"),  # after as_of
    ]
    assert _main_pairs(rows) == [["top", "shoes", 1]]
    df = pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at", "amount", "category"])
    df["ordered_at"] = pd.to_datetime(df["ordered_at"])
    p = ctb.preferences(df, as_of=AS_OF, levels=["category"]).iloc[0]
    assert (p["category"], p["category_values"]) == ("shoes", 2)
    assert p["category_share"] == pytest.approx(1000 / 1900)


def test_cross_purchase_by_hand():
    c = ctb.cross_purchase(tiny(), as_of=AS_OF, min_support=0)
    got = c.set_index(["value_a", "value_b"])
    # bought (net > 0): A top bag shoes, B top shoes, C bag; N = 3
    # each unordered pair once, named in order: (bag, shoes), (bag, top), (shoes, top)
    assert list(got.index) == [("shoes", "top"), ("bag", "shoes"), ("bag", "top")]
    row = got.loc[("shoes", "top")]
    assert (row.customers_a, row.customers_b, row.customers_both) == (2, 2, 2)
    assert row.support == pytest.approx(2 / 3)
    assert (row.confidence_ab, row.confidence_ba) == pytest.approx((1.0, 1.0))
    assert row.lift == pytest.approx(1.5)
    row = got.loc[("bag", "top")]  # bag: A, C; top: A, B; both: A
    assert (row.support, row.confidence_ab, row.confidence_ba, row.lift) == pytest.approx(
        (1 / 3, 0.5, 0.5, 0.75)
    )
    assert list(c.lift) == sorted(c.lift, reverse=True)
    kept = ctb.cross_purchase(tiny(), as_of=AS_OF, min_support=0.5)
    assert set(zip(kept.value_a, kept.value_b, strict=True)) == {("shoes", "top")}


def test_cross_purchase_self_join_path_gives_the_same_pairs(food, monkeypatch):
    # more values than fit a bit mask: pairs come from a self-join in the engine
    want = ctb.cross_purchase(food, as_of=REF_AS_OF, level="brand", min_support=0)
    monkeypatch.setattr(run, "MASK_MAX_VALUES", 1)
    got = ctb.cross_purchase(food, as_of=REF_AS_OF, level="brand", min_support=0)
    pd.testing.assert_frame_equal(got, want)
    tiny_pairs = ctb.cross_purchase(tiny(), as_of=AS_OF, min_support=0.5)
    assert set(zip(tiny_pairs.value_a, tiny_pairs.value_b, strict=True)) == {("shoes", "top")}


def test_cross_purchase_default_support_from_settings():
    s = ecrm.settings.CtbSettings(min_pair_support=0.5)
    assert len(ctb.cross_purchase(tiny(), as_of=AS_OF, settings=s)) == 1  # (shoes, top), once


def test_first_purchase_by_hand_and_horizon_boundary():
    f = ctb.first_purchase_ctb(
        tiny(), as_of=AS_OF, levels=["category"], horizon_days=55, export_complete=True
    )
    got = f.set_index("value")
    # A first: top (3000 line); B first: top; C: bag. B's second purchase is day 55
    assert got.loc["top", "customers"] == 2 and got.loc["top", "repeaters"] == 2
    # LTV within 55 days: A 4000 + 2000 (a3 is day 59), B 2000 + 2000 (day 55 counts)
    assert got.loc["top", "revenue"] == 10000
    assert got.loc["top", "ltv"] == 5000
    assert got.loc["top", "share"] == pytest.approx(2 / 3)
    assert (got.loc["bag", "f2_rate"], got.loc["bag", "ltv"]) == (0.0, 1500)
    f54 = ctb.first_purchase_ctb(
        tiny(), as_of=AS_OF, levels=["category"], horizon_days=54, export_complete=True
    )
    top54 = f54.set_index("value").loc["top"]
    assert (top54.repeaters, top54.revenue) == (1, 8000)


@pytest.mark.parametrize("h", [149, 150])
def test_first_purchase_from_a_canonical_file_at_the_cohort_boundary(tmp_path, h):
    """C's first purchase (02-01) is exactly 149 days before as_of: in the cohort at 149.

    A canonical file cuts its lines by date before reading the first orders;
    the result equals the DataFrame's, which reads every line.
    """
    path = tmp_path / "canonical" / "orders.parquet"
    path.parent.mkdir()
    tiny().to_parquet(path, index=False)
    got = ctb.first_purchase_ctb(
        path, as_of=AS_OF, levels=["category"], horizon_days=h, export_complete=True
    )
    want = ctb.first_purchase_ctb(
        tiny(), as_of=AS_OF, levels=["category"], horizon_days=h, export_complete=True
    )
    pd.testing.assert_frame_equal(got, want)
    assert ("bag" in set(got["value"])) == (h == 149)


def test_first_purchase_cohort_must_be_observable():
    # default horizon (360 days): nobody's first purchase is 360 days before as_of
    f = ctb.first_purchase_ctb(tiny(), as_of=AS_OF, levels=["category"], export_complete=True)
    assert f.empty
    assert list(f.columns) == [
        "level", "value", "customers", "share", "repeaters", "f2_rate", "revenue", "ltv",
        "horizon_days",
    ]  # fmt: skip
    # B's first purchase (2026-01-05) is observable for 360 days on 2027-01-04 (A's,
    # 2026-01-10, not yet); on 2027-01-05 both are, A exactly
    f = ctb.first_purchase_ctb(
        tiny(), as_of=dt.date(2027, 1, 4), levels=["category"], export_complete=True
    )
    assert f[["value", "customers", "repeaters", "revenue"]].values.tolist() == [
        ["top", 1, 1, 4800.0]
    ]
    f = ctb.first_purchase_ctb(
        tiny(), as_of=dt.date(2027, 1, 5), levels=["category"], export_complete=True
    )
    assert f[["value", "customers", "revenue", "horizon_days"]].values.tolist() == [
        ["top", 2, 4800.0 + 11500.0, 360]
    ]


def test_mix_by_segment_by_hand():
    m = ctb.ctb_mix(tiny(), as_of=AS_OF)
    # A: repeat (4 purchases, recency 81); B, C dormant (recency 121, 149)
    assert list(dict.fromkeys(m.segment)) == ["repeat", "dormant"]
    d = m[m.segment == "dormant"].set_index("value")
    assert d.revenue.to_dict() == {"top": 3000, "bag": 1500, "shoes": 1000}
    assert d.revenue_share["top"] == pytest.approx(3000 / 5500)
    assert (d.segment_customers.iloc[0], d.segment_revenue.iloc[0]) == (2, 5500)
    r = m[m.segment == "repeat"].set_index("value")
    assert r.revenue.to_dict() == {"bag": 3000, "top": 3000, "shoes": 500}
    assert m.groupby("segment").revenue_share.sum().tolist() == pytest.approx([1.0, 1.0])
    cpm_mix = ctb.ctb_mix(tiny(), as_of=AS_OF, segmentation="cpm")
    assert set(cpm_mix.segment) <= set(ecrm.analysis.cpm.SEGMENTS)


def test_ctb_tables_equal_the_single_functions(food):
    as_of = dt.date(2026, 6, 30)
    got = ctb.ctb_tables(food, as_of=as_of)
    assert set(got) == {"preferences", "first_purchase", "transitions", "cross_purchase", "mix"}
    pd.testing.assert_frame_equal(got["preferences"], ctb.preferences(food, as_of=as_of))
    pd.testing.assert_frame_equal(got["first_purchase"], ctb.first_purchase_ctb(food, as_of=as_of))
    both = pd.concat(
        [ctb.transitions(food, as_of=as_of, level=lv) for lv in ("category", "brand")],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(got["transitions"], both)
    pairs = pd.concat(
        [ctb.cross_purchase(food, as_of=as_of, level=lv) for lv in ("category", "brand")],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(got["cross_purchase"], pairs)
    pd.testing.assert_frame_equal(got["mix"], ctb.ctb_mix(food, as_of=as_of))


# --------------------------------------------------------------------------- recommendation


HAND = {"half_life_days": 1e12, "prior_strength": 1.0, "transition_weight": 0.5}


def test_recommendation_by_hand():
    r = ctb.recommend(tiny(), as_of=AS_OF, **HAND)
    assert list(r.columns) == ["customer_id", "rank", "category", "score", "reason"]
    got = {(c, k): (v, s, why) for c, k, v, s, why in r.to_numpy()}
    # popularity over the 7 purchases with a value: top 4/7, bag 3/7, shoes 2/7
    # A (4 purchases; top 2, bag 2, shoes 1; last main shoes never had a successor)
    assert got[("A", 1)][:2] == ("top", pytest.approx((2 + 4 / 7) / 5))
    assert got[("A", 2)][:2] == ("bag", pytest.approx((2 + 3 / 7) / 5))
    assert got[("A", 3)][:2] == ("shoes", pytest.approx((1 + 2 / 7) / 5))
    # B (top 2, shoes 1): bag only from popularity
    assert got[("B", 3)] == ("bag", pytest.approx((3 / 7) / 3), "popular")
    # C (bag once; last main bag, followed by top once in the shop):
    # prior(top) = 0.5·1 + 0.5·4/7; prior(bag) = 0.5·0 + 0.5·3/7
    assert got[("C", 1)] == ("bag", pytest.approx((1 + 3 / 14) / 2), "history")
    assert got[("C", 2)] == ("top", pytest.approx((11 / 14) / 2), "transition")
    assert got[("C", 3)] == ("shoes", pytest.approx((1 / 7) / 2), "popular")


def test_recommendation_prior_strength_estimated_by_hand():
    # pooled beta-binomial moments on the fixture (see ecrm.models.recommend):
    # N = 7 purchases of C = 3 customers, Σn² = 21; ρ = (43/196) / (544/196)
    alpha = 544 / 43 - 1
    r = ctb.recommend(tiny(), as_of=AS_OF, half_life_days=1e12, prior_strength=None)
    c1 = r[(r.customer_id == "C") & (r["rank"] == 1)].iloc[0]
    assert c1.category == "top"  # the prior now outweighs C's single purchase
    assert c1.score == pytest.approx((alpha * 11 / 14) / (1 + alpha))


def test_recommendation_top_n_from_settings_and_brand_level():
    r = ctb.recommend(
        tiny(), as_of=AS_OF, settings=ecrm.settings.CtbSettings(top_n=1), level="brand"
    )
    assert list(r.columns) == ["customer_id", "rank", "brand", "score", "reason"]
    assert r.groupby("customer_id").size().tolist() == [1, 1, 1]


def test_recommendation_parameters_are_checked():
    with pytest.raises(ParameterError):
        ctb.recommend(tiny(), as_of=AS_OF, top_n=0)
    with pytest.raises(ParameterError):
        ctb.recommend(tiny(), as_of=AS_OF, transition_weight=1.5)


def test_evaluation_by_hand():
    e = ctb.evaluate_recommendations(tiny(), cutoff=AS_OF, horizon_days=30, top_n=1, **HAND)
    got = e.set_index(["group", "method"])
    # next purchases within 30 days: A a5 {bag}, B b3 {top}, C c2 {bag} (20 days)
    # model top-1: A top (miss), B top (hit), C bag (hit); popularity: top for all
    assert got.loc[("all", "model"), ["customers", "hits"]].tolist() == [3, 2]
    assert got.loc[("all", "popularity"), ["customers", "hits"]].tolist() == [3, 1]
    assert got.loc[("one_purchase", "model"), "hit_rate"] == 1.0
    assert got.loc[("one_purchase", "popularity"), "hit_rate"] == 0.0
    assert got.loc[("repeat_buyers", "model"), "hits"] == 1
    short = ctb.evaluate_recommendations(tiny(), cutoff=AS_OF, horizon_days=9, top_n=1, **HAND)
    # c2 is 20 days after the cutoff, b3 10 days: only A's a5 (5 days) is in the window
    assert short.set_index(["group", "method"]).loc[("all", "model"), "customers"] == 1


# --------------------------------------------------------------------------- reference


@pytest.fixture(scope="module")
def food(demo_root: Path) -> pd.DataFrame:
    """The generated demo food shop (1,500 customers; CTB on the order lines)."""
    return pd.read_parquet(demo_root / "data" / "demo-food" / "canonical" / "orders.parquet")


@pytest.fixture(scope="module")
def apparel_small(demo_root: Path) -> pd.DataFrame:
    return pd.read_parquet(demo_root / "data" / "demo-apparel" / "canonical" / "orders.parquet")


REF_AS_OF = dt.date(2026, 6, 30)


@pytest.mark.parametrize("level", ["category", "brand"])
def test_preferences_match_reference(food, level):
    got = ctb.preferences(food, as_of=REF_AS_OF, levels=[level])
    want = ref.preferences(food, as_of=REF_AS_OF, level=level)
    assert got.customer_id.tolist() == want.customer_id.tolist()
    assert got[level].fillna("-").tolist() == want[level].fillna("-").tolist()
    np.testing.assert_allclose(got[f"{level}_share"], want[f"{level}_share"], rtol=1e-9)
    np.testing.assert_allclose(got[f"{level}_hhi"], want[f"{level}_hhi"], rtol=1e-9)
    assert got[f"{level}_values"].tolist() == want[f"{level}_values"].tolist()


def test_transitions_match_reference(apparel_small):
    got = ctb.transitions(apparel_small, as_of=REF_AS_OF, level="taste")
    want = ref.transitions(apparel_small, as_of=REF_AS_OF, level="taste")
    assert (
        got[["from_value", "to_value", "pairs"]].values.tolist()
        == want[["from_value", "to_value", "pairs"]].values.tolist()
    )
    np.testing.assert_allclose(got.probability, want.probability, rtol=1e-12)


@pytest.mark.parametrize("path", ["alone", "several levels"])
def test_main_values_are_the_same_whichever_table_they_come_from(apparel_small, path):
    """Main values from the lines alone or with brand in one pass."""
    if path == "several levels":  # one order_mains table of both levels
        tables = ctb.ctb_tables(apparel_small, as_of=REF_AS_OF, pair_levels=("brand", "category"))
        got = tables["transitions"]
        got = got[got.level == "category"].reset_index(drop=True)
    else:
        with RunTables(apparel_small, REF_AS_OF) as b:
            assert b.main_levels("taste") == ("taste",)
        got = ctb.transitions(apparel_small, as_of=REF_AS_OF, level="category")
    want = ref.transitions(apparel_small, as_of=REF_AS_OF, level="category")
    assert (
        got[["from_value", "to_value", "pairs"]].values.tolist()
        == want[["from_value", "to_value", "pairs"]].values.tolist()
    )


def test_cross_purchase_matches_reference(food):
    got = ctb.cross_purchase(food, as_of=REF_AS_OF, level="category", min_support=0.01)
    want = ref.cross_purchase(food, as_of=REF_AS_OF, level="category", min_support=0.01)
    got = got.sort_values(["value_a", "value_b"], ignore_index=True)
    assert len(got) == len(want) > 10
    cols = ["value_a", "value_b", "customers_both"]
    assert got[cols].values.tolist() == want[cols].values.tolist()
    for c in ("support", "confidence_ab", "confidence_ba", "lift"):
        np.testing.assert_allclose(got[c], want[c], rtol=1e-12)


def test_first_purchase_matches_reference(apparel_small):
    got = ctb.first_purchase_ctb(
        apparel_small, as_of=dt.date(2026, 10, 31), levels=["category"], export_complete=True
    )
    want = ref.first_purchase(
        apparel_small, as_of=dt.date(2026, 10, 31), level="category", horizon_days=360
    ).set_index("value")
    got = got.set_index("value").loc[want.index]
    assert got.customers.tolist() == want.customers.tolist()
    assert got.repeaters.tolist() == want.repeaters.tolist()
    np.testing.assert_allclose(got.revenue, want.revenue, rtol=1e-12)
    np.testing.assert_allclose(got.ltv, want.ltv, rtol=1e-12)


def test_mix_matches_reference(food):
    got = ctb.ctb_mix(food, as_of=REF_AS_OF, level="brand").set_index(["segment", "value"])
    want = ref.ctb_mix(food, as_of=REF_AS_OF, level="brand").set_index(["segment", "value"])
    assert sorted(got.index) == sorted(want.index)
    want = want.loc[got.index]
    np.testing.assert_allclose(got.revenue, want.revenue, rtol=1e-12)
    np.testing.assert_allclose(got.revenue_share, want.revenue_share, rtol=1e-9)


@pytest.mark.parametrize("alpha", [2.0, None])
def test_recommendations_match_reference(apparel_small, alpha):
    kw = {"half_life_days": 365.0, "transition_weight": 0.5}
    got = ctb.recommend(
        apparel_small, as_of=REF_AS_OF, level="category", prior_strength=alpha, **kw
    )
    scores = ref.recommend_scores(
        apparel_small,
        as_of=REF_AS_OF,
        level="category",
        beta=0.5,
        alpha=alpha,
        half_life_days=365.0,
    )
    want = ref.top_n(scores, 3)
    assert len(got) == len(want)
    m = got.merge(want, on=["customer_id", "rank"], suffixes=("", "_ref"))
    assert len(m) == len(got)
    np.testing.assert_allclose(m.score, m.score_ref, rtol=1e-9)
    # values agree except where two scores tie to float precision
    full = scores.set_index(["customer_id", "value"])["score"]
    differ = m[m.category != m.value]
    for c, v, vr in zip(differ.customer_id, differ.category, differ.value, strict=True):
        assert full[(c, v)] == pytest.approx(full[(c, vr)], rel=1e-9)
    assert len(differ) < 0.01 * len(m)


def test_evaluation_matches_reference(apparel_small):
    kw = {"half_life_days": 365.0, "transition_weight": 0.5, "prior_strength": 2.0}
    got = ctb.evaluate_recommendations(
        apparel_small, cutoff=dt.date(2026, 4, 30), horizon_days=120, level="brand", **kw
    ).set_index(["group", "method"])
    want = ref.hit_rates(
        apparel_small,
        cutoff=dt.date(2026, 4, 30),
        horizon_days=120,
        level="brand",
        n=3,
        half_life_days=365.0,
        beta=0.5,
        alpha=2.0,
    )
    for method in ("model", "popularity"):
        assert got.loc[("all", method), ["customers", "hits"]].tolist() == list(want[method][:2])


@pytest.mark.parametrize("level", ["category", "brand"])
def test_evaluation_cut_from_a_later_run_is_the_same(demo_root, monkeypatch, level):
    """The check cuts its cutoff tables from the run at the month end of its window.

    Always that run, whatever the cache holds: the same result alone, after
    recommendations at a later date, from a DataFrame and with the cache off,
    and the pandas reference's.
    """
    path = demo_root / "data" / "demo-apparel" / "canonical" / "orders.parquet"
    cutoff, horizon = dt.date(2026, 4, 30), 120
    kw = {"half_life_days": 365.0, "transition_weight": 0.5, "prior_strength": 2.0}
    kw |= {"cutoff": cutoff, "horizon_days": horizon, "level": level}
    assert evaluate.history_as_of(cutoff + dt.timedelta(days=horizon)) == dt.date(2026, 8, 31)
    cache.clear()  # no kept runs from other tests
    own = ctb.evaluate_recommendations(path, **kw)
    ctb.recommend(path, as_of="2026-10-31", level=level)
    kept = ctb.evaluate_recommendations(path, **kw)
    pd.testing.assert_frame_equal(kept, own)
    pd.testing.assert_frame_equal(ctb.evaluate_recommendations(pd.read_parquet(path), **kw), own)
    monkeypatch.setenv("ECRM_CACHE", "0")
    pd.testing.assert_frame_equal(ctb.evaluate_recommendations(path, **kw), own)

    want = ref.hit_rates(
        pd.read_parquet(path),
        cutoff=cutoff,
        horizon_days=horizon,
        level=level,
        n=3,
        half_life_days=365.0,
        beta=0.5,
        alpha=2.0,
    )
    got = kept.set_index(["group", "method"])
    for method in ("model", "popularity"):
        assert got.loc[("all", method), ["customers", "hits"]].tolist() == list(want[method][:2])
    assert got.loc[("all", "model"), "customers"] > 100


# --------------------------------------------------------------------------- hold-out checks


@pytest.fixture(scope="module")
def apparel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo apparel shop (6,000 customers), written as CSV and ingested."""
    folder = tmp_path_factory.mktemp("ctb") / "demo-apparel"
    shop = demo.generate_shop("demo-apparel", n_customers=6_000)
    demo.write_shop(shop, folder / "raw")
    text = resources.files("ecrm.io").joinpath("templates", "demo-apparel.yaml").read_text("utf-8")
    text = text.replace("{name}", folder.name).replace("{ext}", "csv")
    (folder / "settings.yaml").write_text(text, encoding="utf-8")
    return ecrm.ingest(folder, today=dt.date(2026, 11, 1)).orders_path


@pytest.mark.parametrize("level", ["category", "brand"])
def test_model_beats_popularity_on_the_demo_apparel_shop(apparel, level):
    e = ctb.evaluate_recommendations(apparel, cutoff="2026-04-30", level=level)
    rate = e[e.group == "all"].set_index("method").hit_rate
    n = int(e[e.group == "all"].customers.iloc[0])
    assert n > 500
    # customers keep their favourite category and brand: a wide margin
    assert rate["model"] > rate["popularity"] + 0.10, rate.to_dict()


@pytest.mark.realdata
@pytest.mark.parametrize(("level", "margin"), [("category", 0.0), ("taste", 0.01)])
def test_model_beats_popularity_on_complete_journey(complete_journey, level, margin):
    e = ctb.evaluate_recommendations(
        complete_journey, cutoff="2017-09-30", horizon_days=92, level=level
    )
    all_ = e[e.group == "all"].set_index("method")
    assert all_.customers["model"] > 1500
    # a grocer's departments: everyone buys alike, so the model stays close to
    # popularity (the estimated prior strength is large) and must not lose to it
    assert all_.hits["model"] > all_.hits["popularity"]
    assert all_.hit_rate["model"] > all_.hit_rate["popularity"] + margin


@pytest.mark.realdata
def test_complete_journey_tables(complete_journey):
    p = ctb.preferences(complete_journey, as_of="2017-12-31")
    assert 2_300 < len(p) <= 2_377
    assert set(p.brand.dropna()) <= {"National", "Private"}
    t = ctb.transitions(complete_journey, as_of="2017-12-31")
    assert t.groupby("from_value").probability.sum().to_numpy() == pytest.approx(1.0)
    c = ctb.cross_purchase(complete_journey, as_of="2017-12-31")
    assert (c.support >= 0.001).all() and len(c) > 0


# --------------------------------------------------------------------------- plots


def test_plots_draw_on_the_given_axes():
    from matplotlib.figure import Figure

    tr = ctb.transitions(tiny(), as_of=AS_OF)
    fp = ctb.first_purchase_ctb(tiny(), as_of=AS_OF, horizon_days=60)
    cp = ctb.cross_purchase(tiny(), as_of=AS_OF, min_support=0)
    mix = ctb.ctb_mix(tiny(), as_of=AS_OF)
    ev = ctb.evaluate_recommendations(tiny(), cutoff=AS_OF, horizon_days=30, top_n=1, **HAND)
    for draw, table in (
        (ctb_plots.plot_transition_heatmap, tr),
        (ctb_plots.plot_first_purchase, fp),
        (ctb_plots.plot_cross_purchase, cp),
        (ctb_plots.plot_ctb_mix, mix),
        (ctb_plots.plot_recommendation_check, ev),
    ):
        ax = Figure().add_subplot()
        assert draw(table, ax=ax) is ax
        assert ax.has_data() or ax.images
        assert ax.get_title()
        en = draw(table, lang="en")
        assert en.get_title().isascii()


def test_recommendations_are_the_same_when_the_run_holds_several_levels(apparel_small):
    """Recommendations are the same with main values of the level alone or with brand.

    (``recommend`` reads the table of category and brand, which ``ctb_tables``
    builds for its pairs.)
    """
    params = recommend.ModelParams(level="category", top_n=3, prior_strength=None)
    frames = []
    for levels in (["category"], ["brand", "category"]):
        with RunTables(apparel_small, REF_AS_OF) as b:
            om = b.order_mains(levels)
            recs, _ = recommend.recommendation_table(b, params, order_mains=om)
            frames.append(recs.to_pandas().sort_values(["customer_id", "rank"], ignore_index=True))
    assert len(frames[0]) > 1000
    pd.testing.assert_frame_equal(frames[0], frames[1])


def test_wide_and_long_customer_revenues_give_the_same_tables(food, monkeypatch):
    """Levels of few values go through one wide row per customer; the long way agrees."""
    as_of = dt.date(2026, 6, 30)
    with RunTables(food, as_of) as b:
        assert all(len(b.names(lv)) <= run.WIDE_MAX_VALUES for lv in ("category", "brand"))
    wide = ctb.ctb_tables(food, as_of=as_of)
    cpm_wide = ctb.ctb_mix(food, as_of=as_of, level="brand", segmentation="cpm")
    monkeypatch.setattr(run, "WIDE_MAX_VALUES", 0)
    long = ctb.ctb_tables(food, as_of=as_of)
    for name in ("preferences", "cross_purchase", "mix"):
        pd.testing.assert_frame_equal(wide[name], long[name])
    cpm_long = ctb.ctb_mix(food, as_of=as_of, level="brand", segmentation="cpm")
    pd.testing.assert_frame_equal(cpm_wide, cpm_long)


@pytest.mark.parametrize("wide", [True, False])
def test_preferences_with_negative_value_revenue_by_hand(wide, monkeypatch):
    """A value with negative net revenue counts 0; a customer with none positive has no preference.

    P: top 3,000 and bag 1,000, then a bag refund of 1,500 → bag −500: top's share
    3,000 / 3,000 = 1, one value bought. Q: an order of 1,000 without a category
    and a −100 line of bag (net 900, a purchase) → no preferred category.
    """
    if not wide:
        monkeypatch.setattr(run, "WIDE_MAX_VALUES", 0)
    rows = [
        ("p1", "P", "2026-01-10 10:00", "3000", "top"),
        ("p1", "P", "2026-01-10 10:00", "1000", "bag"),
        ("p2", "P", "2026-02-10 10:00", "-1500", "bag"),
        ("q1", "Q", "2026-01-10 10:00", "1000", None),
        ("q1", "Q", "2026-01-10 10:00", "-100", "bag"),
    ]
    df = pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at", "amount", "category"])
    df["ordered_at"] = pd.to_datetime(df["ordered_at"])
    df["amount"] = df["amount"].map(Decimal)
    got = ctb.preferences(df, as_of=AS_OF, levels=["category"]).set_index("customer_id")
    assert got.loc["P"].tolist() == ["top", 1.0, 1.0, 1]
    assert got.loc["Q", "category"] is None or pd.isna(got.loc["Q", "category"])
    assert pd.isna(got.loc["Q", "category_share"]) and pd.isna(got.loc["Q", "category_hhi"])
    assert got.loc["Q", "category_values"] == 0


def test_value_bits_of_purchases_match_their_lines():
    """The purchases' value bits equal the values netting > 0 in them, returns inside included.

    Random orders of random lines of both signs: many purchases hold a value
    whose negative line outweighs its positive ones, or only a negative line of
    a value; the bits come from the positive lines corrected by the net amounts.
    """
    rng = np.random.default_rng(7)
    n = 3_000
    df = pd.DataFrame(
        {
            "order_id": rng.integers(0, 600, n).astype(str),
            "amount": [Decimal(int(x)) for x in rng.integers(-40, 100, n)],
            "category": rng.choice(["a", "b", "c", "d", None], n),
        }
    )
    df["customer_id"] = "c" + (df["order_id"].astype(int) % 90).astype(str)
    df["ordered_at"] = pd.Timestamp("2026-01-01") + pd.to_timedelta(
        df["order_id"].astype(int), unit="h"
    )
    with RunTables(df, "2026-12-31") as b:
        got = b.order_mains(["category"]).to_pandas().set_index("order_id")
    net = df.dropna(subset=["category"]).groupby(["order_id", "category"]).amount.sum()
    held = net[net > 0].reset_index()
    code = {v: i for i, v in enumerate("abcd")}
    want = held.category.map(lambda v: 1 << code[v]).groupby(held.order_id).sum()
    want = want.reindex(got.index, fill_value=0)
    assert got["_b_category"].tolist() == want.tolist()
    negative = df[(df.amount < 0) & df.category.notna()].order_id
    assert got.index.isin(negative).sum() > 100  # the correction is exercised
    # the next purchase's bits are the next row's, per customer
    got = got.reset_index().sort_values(["customer_id", "seq"])
    lead = got.groupby("customer_id")["_b_category"].shift(-1)
    pd.testing.assert_series_equal(
        got["_nb_category"].astype("Float64"), lead.astype("Float64"), check_names=False
    )


@pytest.mark.parametrize("alpha", [2.0, None])
def test_wide_and_long_recommendations_are_the_same(apparel_small, monkeypatch, alpha):
    """Levels of few values are scored one row per customer; the (customer, value) way agrees.

    Recommendations (both levels, the estimated α too) and the hold-out check.
    """
    kw = {"as_of": REF_AS_OF, "prior_strength": alpha, "top_n": 4}
    ev = {"cutoff": dt.date(2026, 4, 30), "horizon_days": 120, "prior_strength": alpha}
    got = {}
    for way in ("wide", "long"):
        if way == "long":
            monkeypatch.setattr(run, "WIDE_MAX_VALUES", 0)
        for level in ("category", "brand"):
            with RunTables(apparel_small, REF_AS_OF) as b:
                assert ("_b_" + level in b.order_mains([level]).columns) == (way == "wide")
            got[way, level] = ctb.recommend(apparel_small, level=level, **kw)
            got[way, level, "check"] = ctb.evaluate_recommendations(
                apparel_small, level=level, **ev
            )
    for level in ("category", "brand"):
        wide, long = got["wide", level], got["long", level]
        assert len(wide) == 4 * wide.customer_id.nunique() > 4_000
        pd.testing.assert_frame_equal(wide, long, check_exact=False, rtol=1e-12)
        pd.testing.assert_frame_equal(got["wide", level, "check"], got["long", level, "check"])


def test_segment_mix_reads_the_wide_table_of_the_cross_purchase_pairs(demo_root, monkeypatch):
    """A report page's cross-purchase pairs, then its segment mix: one wide table, not two."""
    path = demo_root / "data" / "demo-apparel" / "canonical" / "orders.parquet"
    cache.clear()  # no kept runs from other tests
    built = _count_builds(monkeypatch)
    ctb.cross_purchase(path, as_of=REF_AS_OF, level="category")
    mix = ctb.ctb_mix(path, as_of=REF_AS_OF, level="category")
    assert [n for n in built if n[0] == "customer_wide"] == [("customer_wide", ("category",))]
    cache.clear()
    alone = ctb.ctb_mix(path, as_of=REF_AS_OF, level="category")
    pd.testing.assert_frame_equal(mix, alone)


def _count_builds(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """The names of the tables built from now on (asked for and not yet kept)."""
    built: list[tuple] = []
    get = cache.TableStore.get

    def counted(self, name, build, **kw):
        return get(self, name, lambda: built.append(name) or build(), **kw)

    monkeypatch.setattr(cache.TableStore, "get", counted)
    return built


def test_a_report_page_groups_the_lines_once_for_its_main_values(demo_root, monkeypatch):
    """Transitions, recommendations and their check share one order_mains table.

    The page's calls in any order read the table of category and brand by
    name (:meth:`RunTables.main_levels`); the check cuts from the run at the
    report's as_of (the month end of its window), so nothing is grouped again.
    """
    path = demo_root / "data" / "demo-apparel" / "canonical" / "orders.parquet"
    as_of, cutoff = dt.date(2026, 10, 31), dt.date(2026, 4, 30)
    results = {}
    for order in (("check", "recommend", "transitions"), ("transitions", "recommend", "check")):
        cache.clear()
        built = _count_builds(monkeypatch)
        calls = {
            "transitions": lambda: ctb.transitions(path, as_of=as_of),
            "recommend": lambda: ctb.recommend(path, as_of=as_of),
            "check": lambda: ctb.evaluate_recommendations(path, cutoff=cutoff),
        }
        for name in order:
            results[order, name] = calls[name]()
        mains = [n for n in built if n[0] == "order_mains"]
        assert mains == [("order_mains", ("category", "brand"), ("category", "brand"))]
        monkeypatch.undo()
    for name in ("transitions", "recommend", "check"):
        a, b = (results[o, name] for o in {o for o, _ in results})
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)


def test_recommend_and_check_stay_reachable_from_ctb():
    """The models moved out of the CTB module; the old names still reach them."""
    assert ctb.recommend is recommend.recommend
    assert ctb.evaluate_recommendations is evaluate.evaluate_recommendations
    assert ctb.METHODS is evaluate.METHODS and ctb.REASONS is recommend.REASONS
    assert ctb.DEFAULT_HALF_LIFE_DAYS == recommend.DEFAULT_HALF_LIFE_DAYS
    with pytest.raises(AttributeError):
        _ = ctb.no_such_name


def test_observable_horizon_falls_back_on_a_short_history():
    """Firsts: B 01-05, A 01-10, C 02-01 (January is the export's first month)."""
    kw = {"as_of": AS_OF}
    assert ctb.observable_horizon(tiny(), export_complete=True, **kw) == 90  # 01-05 + 180 > 06-30
    assert ctb.observable_horizon(tiny(), export_complete=False, **kw) == 90  # C: 02-01 + 90
    # B exactly 180 days on 2026-07-04 (the orders after as_of are not read)
    assert ctb.observable_horizon(tiny(), as_of="2026-07-04", export_complete=True) == 180
    assert ctb.observable_horizon(tiny(), as_of="2026-07-03", export_complete=True) == 90
    # without January, C is first followable for 180 days on 2026-07-31, for 360 never here
    assert ctb.observable_horizon(tiny(), as_of="2026-07-31", export_complete=False) == 180
    assert ctb.observable_horizon(tiny(), as_of="2026-12-31", export_complete=True) == 360
    # everyone in the censored month, or nobody 90 days old: no horizon
    jan = tiny(until=dt.date(2026, 1, 31))
    assert ctb.observable_horizon(jan, export_complete=False, **kw) is None
    assert ctb.observable_horizon(tiny(), as_of="2026-04-04", export_complete=True) is None
    assert ctb.observable_horizon(tiny(), export_complete=True, horizons=(200,), **kw) is None
    # the settings' own horizon comes first
    from ecrm.settings import LtvSettings

    assert ctb.observable_horizon(tiny(), settings=LtvSettings(horizon_days=60), **kw) == 60
