import datetime as dt

import pandas as pd
import pytest

from ecrm.analysis import cpm
from ecrm.errors import ParameterError
from ecrm.settings import CpmSettings
from tests import fixtures_segments as fx


@pytest.fixture(scope="module")
def per_customer() -> pd.DataFrame:
    return cpm.cpm(fx.orders(), as_of=fx.AS_OF)


def test_segments_on_the_thresholds(per_customer):
    got = dict(zip(per_customer.customer_id, per_customer.segment, strict=True))
    assert got == {cid: e[7] for cid, e in fx.EXPECTED.items()}


def test_stage_and_state_columns_by_hand(per_customer):
    """stage and state stand just before segment and spell it: loyal_lapsed = loyal + lapsed."""
    cols = per_customer.columns.tolist()
    assert cols[cols.index("segment") - 2 : cols.index("segment")] == ["stage", "state"]
    got = per_customer.set_index("customer_id")
    for cid, e in fx.EXPECTED.items():
        stage, state = e[7].rsplit("_", 1)
        assert (got.loc[cid, "stage"], got.loc[cid, "state"]) == (stage, state)
    assert set(per_customer.stage) <= {"first", "toddler", "steady", "fad", "loyal"}
    assert set(per_customer.state) <= {"active", "lapsed"}
    empty = cpm.cpm(fx.orders(), as_of=dt.date(2000, 1, 31))
    assert empty.empty and {"stage", "state"} <= set(empty.columns)


def test_summary_has_ten_segments_adding_up(per_customer):
    s = cpm.cpm_summary(per_customer)
    assert s.segment.tolist() == list(cpm.SEGMENTS)
    assert s.customers.sum() == len(fx.EXPECTED)
    assert s.set_index("segment").loc["first_lapsed", "customers"] == 5  # L N O P Q
    assert s.share.sum() == pytest.approx(1.0)


def test_settings_change_the_cutoffs():
    s = CpmSettings(spend_cutoff=80001)
    got = cpm.cpm(fx.orders(), as_of=fx.AS_OF, settings=s).set_index("customer_id")
    assert got.loc["F", "segment"] == "steady_active"  # 80,000 is now under the cut-off


def test_monthly_last_month_equals_single_date(per_customer):
    mm = cpm.cpm_monthly(fx.orders(), as_of=fx.AS_OF)
    assert sorted(set(mm.month_end))[-1] == fx.AS_OF
    assert len(set(mm.month_end)) == 12
    last = mm[mm.month_end == fx.AS_OF].set_index("segment").customers
    want = per_customer.segment.value_counts().reindex(cpm.SEGMENTS, fill_value=0)
    assert last.tolist() == want.tolist()
    oct_rev = mm[mm.month_end == fx.AS_OF].revenue.sum()
    assert oct_rev == 19999 + 20000 + 10000  # G, K, M in October (guests excluded)


def test_monthly_each_month_from_scratch():
    mm = cpm.cpm_monthly(fx.orders(), as_of=fx.AS_OF, months=4)
    for d in sorted(set(mm.month_end)):
        want = cpm.cpm(fx.orders(), as_of=d).segment.value_counts()
        got = mm[mm.month_end == d].set_index("segment").customers
        assert got[got > 0].sort_index().to_dict() == want.sort_index().to_dict(), d


def test_transitions_previous_month():
    tr = cpm.cpm_transitions(fx.orders(), as_of=fx.AS_OF)
    assert set(tr.from_date) == {dt.date(2026, 9, 30)}
    moved = tr[tr.customers > 0].set_index(["from_segment", "to_segment"]).customers
    # M is new in October: none → toddler_active
    assert moved[("none", "toddler_active")] == 1
    # L: recency 239 on Sep 30 → 209; still active on Sep 30? last 2026-03-05 → 209 days: active
    # on Oct 31 recency 240 → lapsed
    assert (
        tr.set_index(["from_segment", "to_segment"]).loc[
            ("first_active", "first_lapsed"), "movement"
        ]
        == "lapsed"
    )
    assert moved.sum() == len(fx.EXPECTED)


def test_transitions_compare_is_checked():
    with pytest.raises(ParameterError):
        cpm.cpm_transitions(fx.orders(), as_of=fx.AS_OF, compare="week")


def test_first_month_end_revenue_is_that_months_revenue():
    o = pd.DataFrame(
        {
            "order_id": ["1", "2"],
            "customer_id": ["a", "a"],
            "ordered_at": pd.to_datetime(["2025-06-01", "2026-10-05"]),
            "amount": [1000, 500],
        }
    )
    assert cpm.cpm_monthly(o, as_of="2026-10-31", months=1).revenue.sum() == 500
    mm = cpm.cpm_monthly(o, as_of="2026-10-31")
    assert mm[mm.month_end == dt.date(2025, 11, 30)].revenue.sum() == 0
