import pandas as pd
import pytest

from ecrm.analysis import lifecycle
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
