"""Revenue change (LMDI): by hand, against the KPI table, and adding up on random shops."""

from __future__ import annotations

import doctest
import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm.analysis import kpi
from ecrm.analysis import revenue_change as rc
from ecrm.errors import ParameterError


def _orders() -> pd.DataFrame:
    """September: a and c are new (1,000 + 800). October: b new (2,000), a repeats
    (1,500), c only returns (−200: repeat revenue, no purchase), a guest buys 300."""
    return pd.DataFrame(
        {
            "order_id": ["1", "2", "3", "4", "5", "6"],
            "customer_id": ["a", "a", "b", None, "c", "c"],
            "ordered_at": pd.to_datetime(
                ["2026-09-03", "2026-10-04", "2026-10-09", "2026-10-10", "2026-09-05", "2026-10-20"]
            ),
            "amount": [1000, 1500, 2000, 300, 800, -200],
        }
    )


def test_by_hand():
    t = rc.revenue_change(_orders(), as_of="2026-10-31").set_index(["part", "factor"])
    assert t.loc[("total", "revenue"), ["before", "after", "contribution"]].tolist() == [
        1800.0,
        3600.0,
        1800.0,
    ]
    # new: 2 customers × 1 × 900 → 1 × 1 × 2,000; L(2000, 1800) = 200 / ln(2000/1800)
    weight = 200 / math.log(2000 / 1800)
    assert t.loc[("new", "customers"), "contribution"] == pytest.approx(weight * math.log(1 / 2))
    assert t.loc[("new", "purchases_per_customer"), "contribution"] == pytest.approx(0.0)
    assert t.loc[("new", "aov"), "contribution"] == pytest.approx(weight * math.log(2000 / 900))
    # repeat had no revenue in September: the whole change goes to its customers
    assert t.loc[("repeat", "customers"), ["contribution", "method"]].tolist() == [
        1300.0,
        "no_split",
    ]
    assert t.loc[("repeat", "aov"), "after"] == 1300.0  # a's 1,500 less c's return of 200
    assert t.loc[("other", "revenue"), "contribution"] == 300.0
    parts = t.drop(index=("total", "revenue"))["contribution"].sum()
    assert parts == pytest.approx(1800.0, abs=1e-9)


def test_against_the_kpi_table(demo_root):
    orders = demo_root / "data" / "demo-apparel" / "canonical" / "orders.parquet"
    for compare, lag in (("month", 1), ("year", 12)):
        t = rc.revenue_change(orders, as_of="2026-10-31", compare=compare)
        k = kpi.kpi_wide(orders, as_of="2026-10-31", months=13).set_index("month")
        now, base = k.iloc[-1], k.iloc[-1 - lag]
        by = t.set_index(["part", "factor"])
        assert by.loc[("total", "revenue"), "before"] == pytest.approx(base["revenue"])
        assert by.loc[("total", "revenue"), "after"] == pytest.approx(now["revenue"])
        assert by.loc[("new", "customers"), "after"] == now["new_customers"]
        assert by.loc[("repeat", "customers"), "before"] == base["repeat_customers"]
        new_rev = (
            by.loc[("new", "customers"), "after"]
            * by.loc[("new", "aov"), "after"]
            * (by.loc[("new", "purchases_per_customer"), "after"])
        )
        assert new_rev == pytest.approx(now["new_revenue"])
        parts = t[t["part"] != "total"]["contribution"].sum()
        assert parts == pytest.approx(now["revenue"] - base["revenue"], rel=1e-9)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 6), st.integers(0, 120), st.integers(-3, 9)),
        min_size=1,
        max_size=30,
    )
)
def test_the_parts_add_up_exactly(rows):
    orders = pd.DataFrame(
        {
            "order_id": [str(i) for i in range(len(rows))],
            "customer_id": [None if c == 0 else f"c{c}" for c, _, _ in rows],
            "ordered_at": pd.Timestamp("2026-07-01")
            + pd.to_timedelta([d for _, d, _ in rows], "D"),
            "amount": [500 * a for _, _, a in rows],
        }
    )
    t = rc.revenue_change(orders, as_of="2026-10-31")
    total = t[t["part"] == "total"]["contribution"].iloc[0]
    assert t[t["part"] != "total"]["contribution"].sum() == pytest.approx(total, abs=1e-6)
    for part in rc.PARTS:
        rows_ = t[t["part"] == part]
        assert rows_["method"].nunique() == 1


def test_log_mean_and_errors():
    assert rc.log_mean(3.0, 3.0) == 3.0
    assert rc.log_mean(2.0, 1.0) == pytest.approx(1 / math.log(2))
    with pytest.raises(ParameterError, match="positive"):
        rc.log_mean(0.0, 1.0)
    with pytest.raises(ParameterError, match="compare"):
        rc.revenue_change(_orders(), as_of="2026-10-31", compare="week")


def test_docstring_examples():
    assert doctest.testmod(rc).failed == 0
