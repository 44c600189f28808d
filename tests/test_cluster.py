"""Customer clustering: hand-checked features, determinism, k choice and labels."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn.metrics import silhouette_score

from ecrm.analysis import cluster
from ecrm.errors import ParameterError
from ecrm.present.plotting import cluster as cluster_plots
from ecrm.settings import ClusterSettings, ShopSettings

matplotlib.use("Agg")

AS_OF = dt.date(2026, 3, 31)


def tiny() -> pd.DataFrame:
    """a: two purchases; b: a purchase and a bigger return; c: one purchase, one
    line without a category; a guest line and a line after as_of (both ignored)."""
    rows = [
        ("a1", "a", "2026-01-01 09:00", 1000, "top"),
        ("a2", "a", "2026-03-02 09:00", 3000, "bag"),
        ("b1", "b", "2026-03-21 09:00", 500, "top"),
        ("b1-R", "b", "2026-03-25 09:00", -800, "top"),
        ("c1", "c", "2026-02-01 09:00", 600, "top"),
        ("c1", "c", "2026-02-01 09:00", 400, None),
        ("g1", None, "2026-02-01 09:00", 100_000, "shoes"),
        ("a3", "a", "2026-04-05 09:00", 99_999, "shoes"),
    ]
    df = pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at", "amount", "category"])
    df["ordered_at"] = pd.to_datetime(df["ordered_at"])
    return df


def test_features_by_hand():
    f = cluster.customer_features(tiny(), as_of=AS_OF, top_categories=1).set_index("customer_id")
    assert list(f.index) == ["a", "b", "c"]
    a, b, c = f.loc["a"], f.loc["b"], f.loc["c"]
    assert (a.frequency, a.monetary, a.recency_days, a.tenure_days) == (2, 4000, 29, 60)
    assert (a.aov, a.purchase_interval) == (2000, 60)
    assert a.log_recency == pytest.approx(math.log(30))
    assert a.log_frequency == pytest.approx(math.log(3))
    assert a.log_monetary == pytest.approx(math.log(4001))
    # b: one purchase, monetary −300 → log_monetary 0; interval = recency (10 days)
    assert (b.frequency, b.monetary, b.aov) == (1, -300, -300)
    assert (b.log_monetary, b.purchase_interval, b.tenure_days) == (0.0, 10.0, 0)
    # top category by net revenue is bag (3000; the guest's and the later shoes do
    # not count): a 3000/4000 bag; c all "other" (top and no category); b nothing > 0
    cats = [col for col in f.columns if col.startswith("cat_")]
    assert cats == ["cat_bag", "cat_other"]
    assert (a.cat_bag, a.cat_other) == (0.75, 0.25)
    assert (c.cat_bag, c.cat_other) == (0.0, 1.0)
    assert (b.cat_bag, b.cat_other) == (0.0, 0.0)


def test_features_top_two_categories_and_no_category():
    f = cluster.customer_features(tiny(), as_of=AS_OF, top_categories=2).set_index("customer_id")
    assert [col for col in f.columns if col.startswith("cat_")] == [
        "cat_bag",
        "cat_top",
        "cat_other",
    ]
    assert (f.loc["c", "cat_top"], f.loc["c", "cat_other"]) == (0.6, 0.4)
    plain = cluster.customer_features(tiny().drop(columns="category"), as_of=AS_OF)
    assert not [col for col in plain.columns if col.startswith("cat_")]
    with pytest.raises(ParameterError):
        cluster.customer_features(tiny(), as_of=AS_OF, top_categories=0)


def two_groups(seed: int = 1) -> pd.DataFrame:
    """40 recent high-value loyal customers and 40 one-time low spenders of long ago."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(40):
        for j in range(10):
            day = pd.Timestamp("2025-11-01") + pd.Timedelta(days=int(30 * j + rng.integers(0, 5)))
            rows.append((f"L{i}-{j}", f"L{i:02d}", day, int(20_000 + rng.integers(0, 3000))))
    for i in range(40):
        day = pd.Timestamp("2024-03-01") + pd.Timedelta(days=int(rng.integers(0, 60)))
        rows.append((f"O{i}", f"O{i:02d}", day, int(1000 + rng.integers(0, 300))))
    return pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at", "amount"])


def test_two_obvious_groups_are_found_and_named():
    r = cluster.cluster_customers(two_groups(), as_of="2026-10-31", lang="en")
    assert r.k == 2
    assert r.silhouette.set_index("k").silhouette.idxmax() == 2
    assert r.silhouette.k.tolist() == list(range(2, 9))
    got = r.assignments.set_index("customer_id")
    assert (got.loc[got.index.str.startswith("L"), "cluster"] == 1).all()
    assert (got.loc[got.index.str.startswith("O"), "cluster"] == 2).all()
    p = r.profile.set_index("cluster")
    assert p.loc[1, "label_en"] == "recent high-value loyal"
    assert p.loc[1, "label_ja"] == "最近購入・高額・ロイヤル"
    assert p.loc[2, "label_en"] == "lapsed low spend one-time"
    assert p.loc[2, "label_ja"] == "離脱・低額・単発"
    assert got.loc["O00", "label"] == "lapsed low spend one-time"
    assert p.top_category.isna().all()  # no category column: no error, no top category


@pytest.fixture(scope="module")
def apparel(demo_root: Path) -> pd.DataFrame:
    return pd.read_parquet(demo_root / "data" / "demo-apparel" / "canonical" / "orders.parquet")


#: k chosen among 2…5 (the default range is 2…8) to keep the tests quick.
FAST = ClusterSettings(k_range=(2, 5))


@pytest.fixture(scope="module")
def result(apparel) -> cluster.ClusterResult:
    return cluster.cluster_customers(apparel, as_of="2026-10-31", settings=FAST)


def test_same_data_same_clusters_and_labels(apparel, result):
    again = cluster.cluster_customers(apparel, as_of="2026-10-31", settings=FAST)
    pd.testing.assert_frame_equal(result.assignments, again.assignments)
    pd.testing.assert_frame_equal(result.profile, again.profile)
    pd.testing.assert_frame_equal(result.silhouette, again.silhouette)
    # the row order of the input does not matter either
    shuffled = apparel.sample(frac=1.0, random_state=7).reset_index(drop=True)
    third = cluster.cluster_customers(shuffled, as_of="2026-10-31", settings=FAST)
    pd.testing.assert_frame_equal(result.assignments, third.assignments)
    pd.testing.assert_frame_equal(result.profile, third.profile)


def test_result_tables(apparel, result):
    p = result.profile
    n = len(result.assignments)
    assert result.k == len(p) == result.assignments.cluster.nunique()
    assert p.cluster.tolist() == list(range(1, result.k + 1))
    assert p["size"].sum() == n
    assert p.share.sum() == pytest.approx(1.0)
    assert p.revenue_share.sum() == pytest.approx(1.0)
    # numbered by descending mean monetary
    assert p.monetary_mean.is_monotonic_decreasing
    assert p.label_ja.is_unique and p.label_en.is_unique
    for m in cluster.PROFILE_MEASURES:
        assert {f"{m}_mean", f"{m}_median"} <= set(p.columns)
    assert p.top_category.notna().all() and p.top_brand.notna().all()
    assert result.features.cluster.tolist() == result.assignments.cluster.tolist()
    best = result.silhouette.sort_values(["silhouette", "k"], ascending=[False, True]).iloc[0]
    assert result.silhouette.chosen.sum() == 1 and best.k == result.k and best.chosen
    snake = result.snake
    assert len(snake) == result.k * len(result.feature_columns)
    # standardised means weighted by cluster size average to 0
    w = snake.merge(p[["cluster", "size"]], on="cluster")
    overall = (w.z * w["size"]).groupby(w.feature).sum() / n
    assert np.allclose(overall, 0, atol=1e-9)
    assert len(result.projection) == min(n, cluster.DEFAULT_PROJECTION_SAMPLE)


def test_fixed_k_from_argument_and_settings(apparel):
    r = cluster.cluster_customers(apparel, as_of="2026-10-31", k=3)
    assert r.k == 3 and r.silhouette.k.tolist() == [3] and r.silhouette.chosen.all()
    s = ShopSettings(name="x", sources=[{"path": "x.csv"}], analysis={"cluster": {"k": 4}})
    assert cluster.cluster_customers(apparel, as_of="2026-10-31", settings=s).k == 4
    # silhouette sample and seed settings are used
    small = ClusterSettings(silhouette_sample=300, k_range=(2, 3), random_state=5)
    r = cluster.cluster_customers(apparel, as_of="2026-10-31", settings=small)
    assert r.silhouette.k.tolist() == [2, 3]


def test_orders_after_as_of_are_ignored(apparel):
    cut = apparel[apparel.ordered_at < pd.Timestamp("2026-07-01")]
    a = cluster.cluster_customers(apparel, as_of="2026-06-30", k=3)
    b = cluster.cluster_customers(cut, as_of="2026-06-30", k=3)
    pd.testing.assert_frame_equal(a.assignments, b.assignments)
    pd.testing.assert_frame_equal(a.profile, b.profile)


def test_bad_parameters():
    with pytest.raises(ParameterError, match="k must be"):
        cluster.cluster_customers(two_groups(), as_of="2026-10-31", k=1)
    with pytest.raises(ParameterError, match="at least 3 customers"):
        cluster.cluster_customers(tiny().iloc[:2], as_of=AS_OF)


def test_silhouette_matches_scikit_learn():
    rng = np.random.default_rng(3)
    z = np.r_[rng.normal(0, 1, (300, 4)), rng.normal(3, 1, (200, 4))]
    labs = [rng.integers(0, 2, 500), np.r_[np.zeros(300, int), np.ones(200, int)]]
    labs.append(np.r_[0, np.ones(499, dtype=int)])  # a singleton cluster scores 0
    got = cluster._silhouette_scores(z, labs, chunk=64)
    want = [silhouette_score(z, lab) for lab in labs]
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_label_collisions_are_told_apart():
    feats = pd.DataFrame({"cluster": [1, 2, 3], "frequency": [1, 1, 1]})
    z = pd.DataFrame(0.0, index=[1, 2, 3], columns=list(cluster.BASE_FEATURES))
    z.loc[1, "aov"] = 0.5
    z.loc[2, "aov"] = -0.5
    ja, en = cluster._labels(feats, z, [])
    assert en[1] == "mid spend one-time high AOV" and ja[1] == "中額・単発・高単価"
    assert en[2] == "mid spend one-time low AOV"
    assert len(set(en.values())) == 3 and len(set(ja.values())) == 3
    # identical profiles are numbered
    z2 = pd.DataFrame(0.0, index=[1, 2], columns=list(cluster.BASE_FEATURES))
    ja, en = cluster._labels(feats.iloc[:2], z2, [])
    assert en[1] != en[2] and en[1].endswith("(1)") and ja[2].endswith("（2）")


def test_plots_draw_on_the_given_axes(result):
    for draw, table, kw in (
        (cluster_plots.plot_cluster_projection, result.projection, {"profile": result.profile}),
        (cluster_plots.plot_snake, result.snake, {}),
        (cluster_plots.plot_cluster_sizes, result.profile, {}),
        (cluster_plots.plot_silhouette, result.silhouette, {}),
    ):
        ax = Figure().add_subplot()
        assert draw(table, ax=ax, **kw) is ax
        assert ax.has_data() and ax.get_title()
        assert draw(table, lang="en", **kw).get_title().isascii()
    ax = cluster_plots.plot_snake(result.snake)
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert "購入回数（対数）" in ticks and any(t.endswith("比率") for t in ticks)


@pytest.mark.parametrize("top", [1, 5])
def test_wide_and_long_category_revenues_give_the_same_clusters(apparel, result, monkeypatch, top):
    """Few categories and brands are read from one wide row per customer; the long way agrees.

    The features (shares to float precision), the clusters, labels and profile
    (top category and brand per cluster) are the same either way.
    """
    from ecrm.engine import run

    wide = cluster.customer_features(apparel, as_of="2026-10-31", top_categories=top)
    monkeypatch.setattr(run, "WIDE_MAX_VALUES", 0)
    long = cluster.customer_features(apparel, as_of="2026-10-31", top_categories=top)
    assert [c for c in wide.columns if c.startswith("cat_")][-1] == "cat_other"
    pd.testing.assert_frame_equal(wide, long, check_exact=False, rtol=1e-12, atol=1e-15)
    if top == 5:
        again = cluster.cluster_customers(apparel, as_of="2026-10-31", settings=FAST)
        pd.testing.assert_frame_equal(result.assignments, again.assignments)
        pd.testing.assert_frame_equal(result.profile, again.profile)
        assert result.profile.top_brand.notna().all()
