"""Subscriptions (定期): hand-checked deliveries, status, continuation and monthly churn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm.analysis import subscriptions as subs
from ecrm.errors import ColumnsError, ParameterError
from ecrm.models.sbg import ShiftedBetaGeometric

AS_OF = "2026-10-31"


def _orders() -> pd.DataFrame:
    """Four subscriptions, a return and a one-off order, checked by hand below.

    s1 (a): deliveries 01-05, 02-05, 03-05 → 3; last + 61 days = 05-05 → cancelled in May.
    s2 (b): delivery 02-10; the 03-10 order is a return (net ≤ 0), not a delivery;
            02-10 + 61 = 04-12 → cancelled in April.
    s3 (c): delivery 03-01 (the 03-02 order has no subscription) → cancelled 05-01.
    s4 (d): delivery 09-20 → 11-20 is after as_of: active, pending at n = 1.
    """
    return pd.DataFrame(
        {
            "order_id": [str(i) for i in range(9)],
            "customer_id": ["a", "a", "a", "b", "b", "c", "c", "d", "d"],
            "ordered_at": pd.to_datetime(
                [
                    "2026-01-05 10:00:00",
                    "2026-02-05 00:00:00",
                    "2026-03-05 00:00:00",
                    "2026-02-10 00:00:00",
                    "2026-03-10 00:00:00",
                    "2026-03-01 00:00:00",
                    "2026-03-02 00:00:00",
                    "2026-09-20 00:00:00",
                    "2026-11-05 00:00:00",  # after as_of: ignored
                ]
            ),
            "amount": [3000, 3000, 3000, 3000, -100, 3000, 500, 3000, 3000],
            "subscription_id": ["s1", "s1", "s1", "s2", "s2", "s3", None, "s4", "s4"],
        }
    )


def test_deliveries_are_numbered_per_subscription():
    d = subs.deliveries(_orders(), as_of=AS_OF)
    assert d["subscription_id"].tolist() == ["s1", "s1", "s1", "s2", "s3", "s4"]
    assert d["delivery_no"].tolist() == [1, 2, 3, 1, 1, 1]
    assert d["amount"].sum() == 18000


def test_status_derived_from_the_orders():
    s = subs.subscriptions(_orders(), as_of=AS_OF).set_index("subscription_id")
    assert s["status"].to_dict() == {
        "s1": "cancelled",
        "s2": "cancelled",
        "s3": "cancelled",
        "s4": "active",
    }
    assert s.loc["s1", "cancelled_at"] == pd.Timestamp("2026-05-05")
    assert s.loc["s2", "cancelled_at"] == pd.Timestamp("2026-04-12")
    assert pd.isna(s.loc["s4", "cancelled_at"])
    assert s["deliveries"].to_dict() == {"s1": 3, "s2": 1, "s3": 1, "s4": 1}


def test_continuation_by_hand():
    c = subs.continuation(_orders(), as_of=AS_OF, max_n=3)
    assert c["label"].tolist() == ["1", "2", "3", "4+"]
    assert c["reached"].tolist() == [4, 1, 1, 0]
    assert c["continued"].tolist()[:3] == [1, 1, 0]
    assert pd.isna(c["continued"].iloc[3])
    assert c["cancelled"].tolist() == [2, 0, 1, 0]
    assert c["pending"].tolist() == [1, 0, 0, 0]
    # decided only: n=1 → 1 of (1 continued + 2 cancelled); s4 is pending
    assert c["continuation_rate"].iloc[0] == pytest.approx(1 / 3)
    assert c["continuation_rate"].iloc[1] == pytest.approx(1.0)
    assert c["continuation_rate"].iloc[2] == pytest.approx(0.0)
    assert c["survival"].tolist() == [1.0, 0.25, 0.25, 0.0]


def test_monthly_by_hand():
    m = subs.subscription_monthly(_orders(), as_of=AS_OF, months=10).set_index("month")
    assert m.loc["2026-03", ["active", "new", "cancelled"]].tolist() == [3, 1, 0]
    assert m.loc["2026-04", ["active", "cancelled"]].tolist() == [2, 1]
    assert m.loc["2026-04", "cancellation_rate"] == pytest.approx(1 / 3)
    assert m.loc["2026-05", "cancellation_rate"] == pytest.approx(1.0)
    assert np.isnan(m.loc["2026-07", "cancellation_rate"])  # nobody active at June's end
    assert m.loc["2026-10", ["active", "new"]].tolist() == [1, 0]
    assert len(m) == 10


def test_a_subscriptions_table_overrides_the_derived_dates():
    table = pd.DataFrame(
        {
            "subscription_id": ["s1", "s2", "s3", "s4", "s5", "s6"],
            "customer_id": ["a", "b", "c", "d", "e", "f"],
            "started_at": pd.to_datetime(
                ["2026-01-01", "2026-02-01", "2026-03-01", "2026-09-01", "2026-10-20", "2026-11-02"]
            ),
            # s1 cancels after as_of: active at as_of; s5 never got a delivery
            "cancelled_at": pd.to_datetime(
                ["2026-11-15", "2026-02-20", None, None, "2026-10-25", None]
            ),
        }
    )
    s = subs.subscriptions(_orders(), as_of=AS_OF, table=table).set_index("subscription_id")
    assert "s6" not in s.index  # starts after as_of
    assert s["status"].to_dict() == {
        "s1": "active",
        "s2": "cancelled",
        "s3": "active",
        "s4": "active",
        "s5": "cancelled",
    }
    assert s.loc["s5", "deliveries"] == 0
    c = subs.continuation(_orders(), as_of=AS_OF, table=table, max_n=3)
    assert c["reached"].iloc[0] == 4  # s5 has no delivery
    assert c["pending"].tolist() == [2, 0, 1, 0]


def test_lifetimes_for_the_sbg_model():
    lt = subs.lifetimes(_orders(), as_of=AS_OF)
    got = {(r.t, r.censored): r.count for r in lt.itertuples()}
    assert got == {(1, False): 2, (3, False): 1, (0, True): 1}
    m = ShiftedBetaGeometric().fit(t=lt["t"], count=lt["count"], censored=lt["censored"])
    assert 0 < m.retention_rate(2) < 1


def test_orders_after_as_of_are_ignored():
    early = subs.continuation(_orders(), as_of="2026-02-28", max_n=3)
    cut = _orders()[_orders()["ordered_at"] < "2026-03-01"]
    assert early.equals(subs.continuation(cut, as_of="2026-02-28", max_n=3))
    assert early["reached"].iloc[0] == 2  # s1 and s2 only


def test_clear_errors():
    with pytest.raises(ColumnsError, match="subscription_id"):
        subs.continuation(_orders().drop(columns="subscription_id"), as_of=AS_OF)
    with pytest.raises(ParameterError, match="max_n"):
        subs.continuation(_orders(), as_of=AS_OF, max_n=0)
    with pytest.raises(ParameterError, match="lapse_days"):
        subs.subscriptions(_orders(), as_of=AS_OF, lapse_days=0)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 400), st.integers(-1, 3)),
        min_size=1,
        max_size=40,
    ),
    st.integers(1, 5),
)
def test_the_ladder_adds_up(rows, max_n):
    """continued + cancelled + pending = reached on every row; reached never grows."""
    orders = pd.DataFrame(
        {
            "order_id": [str(i) for i in range(len(rows))],
            "customer_id": [f"c{s}" for s, _, _ in rows],
            "ordered_at": pd.Timestamp("2025-10-01")
            + pd.to_timedelta([d for _, d, _ in rows], "D"),
            "amount": [1000 * a for _, _, a in rows],
            "subscription_id": [f"s{s}" for s, _, _ in rows],
        }
    )
    c = subs.continuation(orders, as_of="2026-10-31", max_n=max_n)
    exact = c.iloc[:-1]
    assert (exact["continued"] + exact["cancelled"] + exact["pending"] == exact["reached"]).all()
    last = c.iloc[-1]
    assert last["cancelled"] + last["pending"] == last["reached"]
    assert (np.diff(c["reached"]) <= 0).all()
    s = subs.subscriptions(orders, as_of="2026-10-31")
    assert c["reached"].iloc[0] == (s["deliveries"] >= 1).sum()


def _skipping() -> pd.DataFrame:
    """The hand fixture plus s5 (e): deliveries 01-05 and 03-05, February skipped.

    59 days between them (< 60): one subscription, still active at the end of February.
    Its last delivery + 61 days = 05-05: cancelled in May.
    """
    extra = pd.DataFrame(
        {
            "order_id": ["20", "21"],
            "customer_id": ["e", "e"],
            "ordered_at": pd.to_datetime(["2026-01-05", "2026-03-05"]),
            "amount": [2000, 2000],
            "subscription_id": ["s5", "s5"],
            "product_id": ["P2", "P2"],
            "channel": ["web", "web"],
        }
    )
    base = _orders().assign(product_id="P1", channel=["ad"] * 3 + ["web"] * 6)
    return pd.concat([base, extra], ignore_index=True)


def test_cohort_retention_by_hand():
    r = subs.cohort_retention(_skipping(), as_of=AS_OF, max_months=10)
    jan = r[r["start_month"] == "2026-01"].set_index("months_since_start")
    # s1 (cancelled 05-05) and s5 (skips February, cancelled 05-05): both active Jan…Apr
    assert jan["started"].iloc[0] == 2
    assert jan["active"].iloc[:5].tolist() == [2, 2, 2, 2, 0]
    assert jan["retention"].iloc[9] == 0.0 and np.isnan(jan["retention"].iloc[10])  # Nov
    feb = r[r["start_month"] == "2026-02"]  # s2: cancelled after its first delivery
    assert feb["retention"].iloc[:3].tolist() == [1.0, 1.0, 0.0]
    sep = r[r["start_month"] == "2026-09"]  # s4: pending, active at as_of
    assert sep["active"].iloc[:2].tolist() == [1, 1] and sep["active"].iloc[2] is pd.NA
    assert not r["left_censored"].any()


def test_cohort_retention_split_by_first_product_and_channel():
    r = subs.cohort_retention(_skipping(), as_of=AS_OF, by="product_id", max_months=2)
    jan = r[(r["start_month"] == "2026-01") & (r["months_since_start"] == 0)]
    assert dict(zip(jan["product_id"], jan["started"], strict=True)) == {"P1": 1, "P2": 1}
    c = subs.cohort_retention(_skipping(), as_of=AS_OF, by="channel", max_months=0)
    got = dict(zip(zip(c["start_month"], c["channel"], strict=True), c["started"], strict=True))
    assert got == {
        ("2026-01", "ad"): 1,
        ("2026-01", "web"): 1,
        ("2026-02", "web"): 1,
        ("2026-03", "web"): 1,
        ("2026-09", "web"): 1,
    }


def test_cohort_retention_flags_the_censored_start_month_and_checks_its_input():
    import datetime as dt

    r = subs.cohort_retention(_orders(), as_of=AS_OF, censored_month=dt.date(2026, 1, 1))
    assert set(r.loc[r["left_censored"], "start_month"]) == {"2026-01"}
    with pytest.raises(ParameterError, match="by must be one of"):
        subs.cohort_retention(_orders(), as_of=AS_OF, by="category")
    with pytest.raises(ColumnsError, match="channel"):
        subs.cohort_retention(_orders(), as_of=AS_OF, by="channel")
    # as_of in the middle of a month: that month's end is not observed yet
    mid = subs.cohort_retention(_orders(), as_of="2026-09-25")
    assert mid[mid["start_month"] == "2026-09"]["retention"].isna().all()


def test_cohort_retention_against_pandas_on_a_random_shop():
    """An independent pandas computation on a random subscriptions table and its deliveries."""
    rng = np.random.default_rng(7)
    n = 600
    start = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 640, n), "D")
    life = rng.integers(1, 500, n)
    cancel = (start + pd.to_timedelta(life, "D")).where(rng.random(n) < 0.7)
    table = pd.DataFrame(
        {
            "subscription_id": [f"s{i}" for i in range(n)],
            "customer_id": [f"c{i}" for i in range(n)],
            "started_at": start,
            "cancelled_at": cancel,
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(n)],
            "customer_id": table["customer_id"],
            "ordered_at": start,
            "amount": 3000,
            "subscription_id": table["subscription_id"],
            "channel": rng.choice(["ad", "web", "line"], n),
        }
    )
    as_of = pd.Timestamp("2026-10-31")
    got = subs.cohort_retention(orders, as_of=as_of, table=table, by="channel", max_months=6)
    rows = []
    for k in range(7):
        end = (start.to_period("M") + k).to_timestamp(how="end").normalize()
        known = cancel.where(cancel <= as_of)
        alive = known.isna() | (known > end)
        rows.append(
            pd.DataFrame(
                {
                    "start_month": start.strftime("%Y-%m"),
                    "channel": orders["channel"],
                    "months_since_start": k,
                    "alive": alive.astype(int),
                    "seen": end <= as_of,
                }
            )
        )
    p = pd.concat(rows).groupby(["start_month", "channel", "months_since_start"])
    want = p.agg(started=("alive", "size"), active=("alive", "sum"), seen=("seen", "first"))
    want["retention"] = (want["active"] / want["started"]).where(want["seen"])
    g = got.set_index(["start_month", "channel", "months_since_start"])
    assert g["started"].to_dict() == want["started"].to_dict()
    pd.testing.assert_series_equal(g["retention"], want["retention"], check_names=False)
