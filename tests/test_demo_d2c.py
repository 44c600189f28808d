"""The demo shops' D2C side (issue #20): the food shop's 定期便 and both shops' ad costs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecrm.analysis import channels, subscriptions
from ecrm.io import canonical, demo
from ecrm.io.demo_d2c import CAC, SUB_ALPHA, SUB_BETA, simulate_subscriptions
from ecrm.io.ingest import ingest
from ecrm.models.sbg import ShiftedBetaGeometric

N = 5_000
AS_OF = "2026-10-31"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """Both demo shops written and ingested: shop -> (folder, orders.parquet)."""
    root = tmp_path_factory.mktemp("d2c")
    out = {}
    for folder in demo.write_demo_shops(root, n_customers=N):
        result = ingest(folder, today=demo.DEMO_INGEST_DATE)
        out[folder.name] = (folder, result.orders_path)
    return out


@pytest.fixture(scope="module")
def food() -> demo.DemoShop:
    return demo.generate_shop("demo-food", n_customers=N)


def lifetimes(shop: demo.DemoShop) -> pd.DataFrame:
    """Per subscription: deliveries (normal orders naming it), cancelled, start, customer."""
    o = shop.orders
    d = o[(o.status == "shipped") & (o["定期購入ID"] != "")].drop_duplicates("order_no")
    n = d.groupby("定期購入ID").size()
    s = shop.subscriptions.set_index("定期ID")
    return s.assign(deliveries=n.reindex(s.index, fill_value=0), cancelled=s["解約日"] != "")


# --------------------------------------------------------------------------- ingestion


def test_demo_ingests_cleanly_with_subscriptions_and_costs(project):
    for name, (folder, _) in project.items():
        costs = canonical.read_costs(folder)
        assert costs is not None and len(costs) == 36 * 3, name
        assert costs["month"].min() == "2023-11" and costs["month"].max() == "2026-10"
        quality = (folder / "canonical" / "quality.json").read_text("utf-8")
        assert '"costs"' in quality
    subs = canonical.read_subscriptions(project["demo-food"][0])
    assert subs is not None and len(subs) > 0.15 * N
    assert canonical.read_subscriptions(project["demo-apparel"][0]) is None
    orders = pd.read_parquet(project["demo-food"][1])
    named = orders.loc[orders.subscription_id.fillna("") != "", "subscription_id"]
    assert set(named) <= set(subs.subscription_id)


# --------------------------------------------------------------------------- 定期便


def test_a_fifth_of_food_customers_subscribe_some_still_active(food):
    life = lifetimes(food)
    share = life["会員ID"].nunique() / N
    assert 0.15 <= share <= 0.25
    assert life["会員ID"].is_unique  # one 定期 per subscriber
    assert (life.deliveries >= 1).all()
    assert 0.15 < (~life.cancelled).mean() < 0.5  # some still active at the data's end
    # Most start with their first order (same day), some later.
    first = food.orders.groupby("member_id").order_date.min().str[:10]
    same_day = (life["開始日"] == life["会員ID"].map(first)).mean()
    assert 0.6 < same_day < 0.85


def test_deliveries_are_monthly_with_occasional_skipped_months(food):
    o = food.orders
    d = o[(o.status == "shipped") & (o["定期購入ID"] != "")].drop_duplicates("order_no")
    day = pd.to_datetime(d.order_date.str[:10])
    gap = day.groupby(d["定期購入ID"].to_numpy()).diff().dt.days.dropna()
    assert gap.min() >= 28
    assert gap.between(28, 33).mean() > 0.85
    skipped = (gap >= 58).mean()
    assert 0.03 < skipped < 0.15
    assert (d.qty == 1).all() and (d.category == "定期便セット").all()


def test_subscriptions_satisfy_the_ingestion_checks(food):
    life = lifetimes(food)
    o = food.orders
    d = o[o["定期購入ID"] != ""]
    assert (d.status == "shipped").all()  # cancelled copies and returns carry no 定期ID
    rows = d.merge(life, left_on="定期購入ID", right_index=True)
    assert len(rows) == len(d)
    assert (rows.member_id == rows["会員ID"]).all()
    assert (rows.order_date.str[:10] >= rows["開始日"]).all()
    ended = rows[rows.cancelled]
    assert (ended.order_date.str[:10] < ended["解約日"]).all()
    assert (life["解約日"][life.cancelled] <= demo.DEMO_END.isoformat()).all()


def test_the_hazard_falls_with_tenure_shifted_beta_geometric(food):
    life = lifetimes(food)
    model = ShiftedBetaGeometric().fit(
        t=life.deliveries.to_numpy(),
        count=np.ones(len(life)),
        censored=~life.cancelled.to_numpy(),
    )
    a, b = model.alpha_, model.beta_
    assert np.isfinite(a) and np.isfinite(b) and 0.3 < a < 5 and 1 < b < 20
    mean_q = a / (a + b)
    assert mean_q == pytest.approx(SUB_ALPHA / (SUB_ALPHA + SUB_BETA), abs=0.06)
    retention = model.retention_rate(np.arange(1, 13))
    assert (np.diff(retention) > 0).all()  # the hazard 1 - retention falls
    survival = model.survival(np.arange(0, 25))
    assert (np.diff(survival) < 0).all()


def test_simulated_subscriptions_hold_by_construction():
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        seed=st.integers(0, 2**32 - 1),
        n=st.integers(1, 400),
        horizon=st.floats(1.0, 1200.0),
    )
    def check(seed: int, n: int, horizon: float) -> None:
        rng = np.random.default_rng(seed)
        t0 = np.sort(rng.random(n) * horizon)
        s = simulate_subscriptions(
            rng, t0, rng.random(n) < 0.2, rng.integers(0, 10, n).astype(np.int32), horizon
        )
        m = s.customer.size
        if m == 0:
            assert s.t.size == 0
            return
        assert np.unique(s.customer).size == m
        assert (s.start >= t0[s.customer]).all() and (s.start < horizon).all()
        assert (np.diff(s.start) >= 0).all()
        assert np.array_equal(np.unique(s.sub), np.arange(m))  # every one delivered
        assert (s.t >= s.start[s.sub]).all() and (s.t < horizon).all()
        first = np.r_[True, s.sub[1:] != s.sub[:-1]]
        assert np.allclose(s.t[first], s.start)
        assert (np.diff(s.t)[~first[1:]] >= MONTH_MIN).all()
        last = np.r_[s.sub[1:] != s.sub[:-1], True]
        ended = ~np.isnan(s.cancel)
        assert (s.cancel[ended] > s.t[last][ended]).all() and (s.cancel[ended] < horizon).all()
        assert ((s.q > 0) & (s.q <= 1)).all()

    check()


MONTH_MIN = 28.0


# --------------------------------------------------------------------------- analyses


def test_continuation_runs_on_the_demo_with_plausible_rates(project):
    folder, orders = project["demo-food"]
    table = canonical.read_subscriptions(folder)
    c = subscriptions.continuation(orders, as_of=AS_OF, table=table)
    rate = c.set_index("n")["continuation_rate"].astype(float)
    assert 0.65 < rate[1] < 0.9
    assert rate[6] > rate[1]  # survivors are the loyal ones
    assert c["reached"].iloc[0] == (table.subscription_id.nunique())


def test_acquisition_with_costs_gives_plausible_cac(project):
    for name, (folder, orders) in project.items():
        costs = canonical.read_costs(folder)
        a = channels.acquisition(orders, as_of=AS_OF, costs=costs)
        full = a[a.cost.notna() & (a.new_customers > 0)]
        cac = full.groupby("channel").apply(
            lambda g: g.cost.astype(float).sum() / g.new_customers.sum(), include_groups=False
        )
        for channel, want in CAC[name].items():
            assert cac[channel] == pytest.approx(want, rel=0.25), (name, channel)
        assert cac["楽天市場"] > cac["自社サイト"]


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_side_files_other_seed_not(tmp_path):
    def digest(seed: int, sub: str) -> dict[str, str]:
        shop = demo.generate_shop("demo-food", n_customers=500, seed=seed)
        paths = demo.write_shop(shop, tmp_path / sub)
        return {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in paths
            if p.stem in ("subscriptions", "costs")
        }

    first, again, other = digest(7, "a"), digest(7, "b"), digest(8, "c")
    assert set(first) == {"subscriptions.csv", "costs.csv"}
    assert first == again
    assert first["subscriptions.csv"] != other["subscriptions.csv"]
    assert first["costs.csv"] != other["costs.csv"]


def test_costs_export_is_whole_thousands_of_yen_per_month_and_channel():
    a = demo.generate_shop("demo-apparel", n_customers=300)
    assert a.subscriptions is None
    assert list(a.costs.columns) == list(demo.COST_EXPORT_COLUMNS)
    assert a.costs["費用"].dtype == np.int64 and (a.costs["費用"] % 1000 == 0).all()


def test_without_subscriptions_the_food_orders_are_pure_bg_nbd(food):
    plain = demo.generate_shop("demo-food", n_customers=N, subscriptions=False)
    assert len(plain.subscriptions) == 0 and (plain.orders["定期購入ID"] == "").all()
    cols = ["customer_id", "lambda_", "p_dropout", "entry_category"]
    pd.testing.assert_frame_equal(plain.truth[cols], food.truth[cols])
    gained = food.truth.n_orders - plain.truth.n_orders
    life = lifetimes(food)
    per = life.groupby("会員ID").deliveries.sum()
    assert gained[gained > 0].sum() == per.sum()
    assert plain.costs.equals(food.costs)
