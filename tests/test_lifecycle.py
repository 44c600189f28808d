from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm.analysis import lifecycle
from ecrm.settings import LifecycleSettings
from tests import fixtures_segments as fx


@pytest.fixture(scope="module")
def per_customer() -> pd.DataFrame:
    return lifecycle.lifecycle(fx.orders(), as_of=fx.AS_OF)


def test_segments_on_the_thresholds(per_customer):
    got = dict(zip(per_customer.customer_id, per_customer.segment, strict=True))
    assert got == {cid: e[8] for cid, e in fx.EXPECTED.items()}


def test_summary_in_order_and_complete(per_customer):
    s = lifecycle.lifecycle_summary(per_customer)
    assert s.segment.tolist() == list(lifecycle.SEGMENTS)
    assert s.customers.sum() == len(per_customer)


def test_monthly_matches_from_scratch():
    mm = lifecycle.lifecycle_monthly(fx.orders(), as_of=fx.AS_OF, months=6)
    for d in sorted(set(mm.month_end)):
        want = lifecycle.lifecycle(fx.orders(), as_of=d).segment.value_counts()
        got = mm[mm.month_end == d].set_index("segment").customers
        assert got[got > 0].sort_index().to_dict() == want.sort_index().to_dict(), d


def test_transitions_between_consecutive_month_ends():
    tr = lifecycle.lifecycle_transitions(fx.orders(), as_of=fx.AS_OF, months=3)
    assert tr.groupby("to_date").ngroups == 3
    last = tr[tr.to_date == fx.AS_OF]
    assert last.customers.sum() == len(fx.EXPECTED)
    cell = last.set_index(["from_segment", "to_segment"]).customers
    assert cell[("none", "first_repeat")] == 1  # M: two orders on Oct 15
    assert cell[("repeat", "vip")] == 1  # K: 5th → 6th purchase on Oct 1


def test_split_by_first_channel():
    mm = lifecycle.lifecycle_monthly(fx.orders(), as_of=fx.AS_OF, months=2, by="first_channel")
    last = mm[mm.month_end == fx.AS_OF]
    assert last.groupby("first_channel").customers.sum().to_dict() == {
        "amazon": 1,
        "rakuten": 1,
        "web": 15,
    }


# --- lifecycle.rule: recency | article -------------------------------------------------

AS_OF = date(2026, 10, 31)


def _orders_from(gaps_by_customer: list[tuple[int, list[int]]]) -> pd.DataFrame:
    """Customers as (days from the first purchase to AS_OF, gaps between purchases)."""
    rows = []
    for i, (since_first, gaps) in enumerate(gaps_by_customer):
        day = AS_OF - timedelta(days=since_first)
        rows.append((f"c{i}-0", f"c{i}", day))
        for k, g in enumerate(gaps, 1):
            day = min(day + timedelta(days=g), AS_OF)
            rows.append((f"c{i}-{k}", f"c{i}", day))
    df = pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at"])
    df["ordered_at"] = pd.to_datetime(df["ordered_at"])
    df["amount"] = 100
    return df


def _article_oracle(since_first: int, dates_from_first: list[int]) -> str:
    """The article rule, written from the docstring (one customer at a time)."""
    n = 1 + len(dates_from_first)
    recency = since_first - (dates_from_first[-1] if dates_from_first else 0)
    if recency > 120:
        return "dormant" if since_first < 360 else "churned"
    if n == 1:
        return "new"
    if n == 2 and dates_from_first[0] <= 120:
        return "first_repeat"
    return "repeat" if n <= 5 else "vip"


@pytest.mark.parametrize(
    ("since_first", "gaps", "recency_rule", "article_rule"),
    [
        (30, [], "new", "new"),
        (100, [90], "first_repeat", "first_repeat"),
        (300, [200], "first_repeat", "repeat"),  # second purchase 200 days after the first
        (200, [], "dormant", "dormant"),
        (500, [250], "dormant", "churned"),  # quiet 250 days, first purchase 500 days ago
        (400, [], "churned", "churned"),
        (700, [1, 1, 1, 1, 1, 690], "vip", "vip"),
    ],
)
def test_article_rule_examples(since_first, gaps, recency_rule, article_rule):
    orders = _orders_from([(since_first, gaps)])
    got = {
        rule: lifecycle.lifecycle(
            orders, as_of=AS_OF, settings=LifecycleSettings(rule=rule)
        ).segment.item()
        for rule in ("recency", "article")
    }
    assert got == {"recency": recency_rule, "article": article_rule}


customers_st = st.lists(
    st.tuples(
        st.integers(0, 800),
        st.lists(st.integers(0, 400), max_size=7),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=40, deadline=None)
@given(customers_st)
def test_every_customer_in_exactly_one_segment_under_each_rule(customers):
    orders = _orders_from(customers)
    n = orders.customer_id.nunique()
    for rule in ("recency", "article"):
        df = lifecycle.lifecycle(orders, as_of=AS_OF, settings=LifecycleSettings(rule=rule))
        assert len(df) == n and df.customer_id.is_unique
        assert df.segment.isin(lifecycle.SEGMENTS).all()
        summary = lifecycle.lifecycle_summary(df)
        assert summary.customers.sum() == n
    article = df.set_index("customer_id").segment
    for i, (since_first, gaps) in enumerate(customers):
        offsets, day = [], 0
        for g in gaps:
            day = min(day + g, since_first)
            offsets.append(day)
        # orders on the same day are distinct orders: purchases count them all
        assert article[f"c{i}"] == _article_oracle(since_first, offsets)
