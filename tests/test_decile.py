import pandas as pd
import pytest

from ecrm.analysis import decile
from tests import fixtures_segments as fx


def test_assignments_by_hand():
    a = decile.decile_assignments(fx.orders(), as_of=fx.AS_OF)
    assert dict(zip(a.customer_id, a.decile, strict=True)) == fx.EXPECTED_DECILES


def test_table_by_hand():
    t = decile.decile_table(fx.orders(), as_of=fx.AS_OF)
    assert t.decile.tolist() == list(range(1, 11))
    assert t.customers.tolist() == [2, 2, 2, 2, 1, 1, 1, 1, 1, 1]
    assert t.revenue.tolist() == fx.EXPECTED_DECILE_REVENUE
    assert t.revenue_share.iloc[0] == pytest.approx(190000 / fx.EXPECTED_TOTAL_PERIOD_REVENUE)
    assert t.cumulative_share.iloc[-1] == pytest.approx(1.0)
    assert t.min_revenue.iloc[0] == 70000 and t.max_revenue.iloc[0] == 120000
    assert t.avg_purchases.iloc[0] == pytest.approx((6 + 1) / 2)


def test_pareto_curve_ends_at_one():
    a = decile.decile_assignments(fx.orders(), as_of=fx.AS_OF)
    c = decile.pareto_curve(a, points=14)
    assert c.iloc[0].tolist() == [0.0, 0.0]
    assert c.iloc[-1].tolist() == pytest.approx([1.0, 1.0])
    assert c.revenue_share.iloc[1] == pytest.approx(120000 / fx.EXPECTED_TOTAL_PERIOD_REVENUE)


def test_migration_has_none_row_and_column():
    m = decile.decile_migration(fx.orders(), as_of=fx.AS_OF)
    assert set(m.from_decile) == {*map(str, range(1, 11)), "none"}
    cur = m.groupby("to_decile").customers.sum()
    assert cur.drop("none").sum() == 14
    # previous period (2024-11-01 … 2025-10-31) buyers: E, F, G, H, P, Q → 6 customers
    prev = m.groupby("from_decile").customers.sum()
    assert prev.drop("none").sum() == 6
    # H, P and Q bought before but not now → to "none"
    assert m[(m.to_decile == "none")].customers.sum() == 3


def test_split_by_first_channel():
    t = decile.decile_table(fx.orders(), as_of=fx.AS_OF, by="first_channel")
    assert set(t.first_channel) == {"web", "rakuten", "amazon"}
    for _, g in t.groupby("first_channel"):
        assert g.cumulative_share.iloc[-1] == pytest.approx(1.0)
    assert isinstance(t, pd.DataFrame)
