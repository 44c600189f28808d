"""The segment analyses on real data (UCI Online Retail): they run and their invariants hold."""

from __future__ import annotations

import datetime as dt

import pytest

from ecrm.analysis import cpm, customers, decile, kpi, lifecycle, rfm

pytestmark = pytest.mark.realdata
AS_OF = dt.date(2011, 11, 30)


@pytest.fixture(scope="module")
def n_customers(online_retail):
    return len(customers.measures(online_retail, as_of=AS_OF))


def test_rfm_counts_add_up(online_retail, n_customers):
    s = rfm.rfm(online_retail, as_of=AS_OF)
    assert len(s) == n_customers
    assert s[["r", "f", "m"]].isin(range(1, 6)).all().all()
    assert rfm.rfm_grid(s).customers.sum() == n_customers
    q = rfm.rfm(online_retail, as_of=AS_OF, method="quantile")
    sizes = q.f.value_counts().sort_index(ascending=False).to_numpy()
    assert sizes.max() - sizes.min() <= 1 and list(sizes) == sorted(sizes, reverse=True)


def test_decile_invariants(online_retail):
    t = decile.decile_table(online_retail, as_of=AS_OF)
    assert len(t) == 10
    assert t.customers.max() - t.customers.min() <= 1
    assert t.customers.is_monotonic_decreasing
    assert t.revenue_share.sum() == pytest.approx(1.0)
    assert t.avg_revenue.is_monotonic_decreasing
    m = decile.decile_migration(online_retail, as_of=AS_OF, months=6)
    cur = m[m.to_decile != "none"].customers.sum()
    t6 = decile.decile_table(online_retail, as_of=AS_OF, months=6)
    assert cur == t6.customers.sum()


def test_cpm_and_lifecycle_month_ends_add_up(online_retail, n_customers):
    for monthly in (
        cpm.cpm_monthly(online_retail, as_of=AS_OF),
        lifecycle.lifecycle_monthly(online_retail, as_of=AS_OF),
    ):
        last = monthly[monthly.month_end == AS_OF]
        assert last.customers.sum() == n_customers
        totals = monthly.groupby("month_end").customers.sum()
        assert totals.is_monotonic_increasing  # customers only accumulate
    tr = cpm.cpm_transitions(online_retail, as_of=AS_OF, compare="year")
    assert tr.customers.sum() == n_customers


def test_kpis(online_retail):
    t = kpi.kpi_wide(online_retail, as_of=AS_OF, months=12).set_index("month")
    # 2010-12 is the export's first month (left-censored): no new/repeat split there
    first = dt.date(2010, 12, 1)
    assert t.loc[first, ["new_customers", "repeat_customers", "repeat_rate"]].isna().all()
    later = t.drop(index=first)
    assert (later.customers == later.new_customers + later.repeat_customers).all()
    assert ((later.repeat_rate >= 0) & (later.repeat_rate <= 1)).all()
    assert t.loc[dt.date(2010, 12, 1), "revenue"] > 0
