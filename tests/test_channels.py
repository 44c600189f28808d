"""Channels and acquisition cost (広告LTV): by hand, against the LTV table, and its checks."""

from __future__ import annotations

import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm import engine
from ecrm.analysis import channels as ch
from ecrm.analysis import ltv
from ecrm.engine import cache
from ecrm.errors import ColumnsError, ParameterError

AS_OF = "2026-10-31"


def _orders() -> pd.DataFrame:
    """a (ads, 01-10: 5,000; own 02-20: 3,000 on day 41; 09-01: 1,000 on day 234),
    b (ads, 01-15: 4,000), c (rakuten, 01-20: 2,000 and a return of 500 on 01-22)."""
    return pd.DataFrame(
        {
            "order_id": ["1", "2", "3", "4", "5", "6", "7"],
            "customer_id": ["a", "a", "b", "c", "c", "a", "d"],
            "ordered_at": pd.to_datetime(
                [
                    "2026-01-10",
                    "2026-02-20",
                    "2026-01-15",
                    "2026-01-20",
                    "2026-01-22",
                    "2026-09-01",
                    "2026-11-02",  # after as_of
                ]
            ),
            "amount": [5000, 3000, 4000, 2000, -500, 1000, 9000],
            "channel": ["ads", "own", "ads", "rakuten", "rakuten", "own", "ads"],
        }
    )


COSTS = pd.DataFrame(
    {
        "month": ["2026-01", "2026-01", "2026-02"],
        "channel": ["ads", "rakuten", "ads"],
        "cost": [12000, 1000, 5000],
    }
)


def test_by_hand():
    t = ch.acquisition(_orders(), as_of=AS_OF, costs=COSTS).set_index(["month", "channel", "days"])
    ads = t.loc[("2026-01", "ads")]
    assert ads.loc[30, ["new_customers", "revenue", "ltv"]].tolist() == [2, 9000.0, 4500.0]
    assert ads.loc[60, "revenue"] == 12000.0  # a's second order on day 41
    assert ads.loc[240, "revenue"] == 13000.0  # and the third on day 234
    assert ads.loc[60, "f2_rate"] == 0.5
    assert ads.loc[30, ["cac", "ltv_cac", "roas"]].tolist() == [6000.0, 0.75, 0.75]
    assert np.isnan(ads.loc[300, "revenue"])  # Jan 31 + 300 days is after as_of
    rakuten = t.loc[("2026-01", "rakuten")]
    assert rakuten.loc[90, "revenue"] == 1500.0  # the return lowers it
    assert rakuten.loc[90, "f2_rate"] == 0.0  # a return is no second purchase
    # February ads money brought nobody: the row stays, CAC infinite, ROAS 0
    idle = t.loc[("2026-02", "ads")]
    assert idle.loc[30, "new_customers"] == 0
    assert np.isinf(idle.loc[30, "cac"]) and idle.loc[30, "roas"] == 0.0
    s = ch.acquisition_summary(t.reset_index()).set_index(["month", "channel"])
    assert s.loc[("2026-01", "ads"), "payback_day"] == 60
    assert s.loc[("2026-01", "rakuten"), "payback_day"] == 30
    assert pd.isna(s.loc[("2026-02", "ads"), "payback_day"])
    assert s.loc[("2026-01", "ads"), "ltv_90"] == 6000.0


def test_margin_basis():
    t = ch.acquisition(_orders(), as_of=AS_OF, costs=COSTS, gross_margin=0.4)
    row = t[(t.month == "2026-01") & (t.channel == "ads") & (t.days == 30)].iloc[0]
    assert row["basis"] == "margin"
    assert row["revenue"] == pytest.approx(3600.0)
    assert row["roas"] == pytest.approx(0.3)


def test_channels_add_up_to_the_ltv_table(demo_root):
    """Per acquisition month, the channels' revenue and repeaters are the LTV table's cohort."""
    orders = demo_root / "data" / "demo-apparel" / "canonical" / "orders.parquet"
    t = ch.acquisition(orders, as_of=AS_OF, step_days=90, horizon_days=360)
    assert t["channel"].nunique() > 1
    by_month = t.groupby(["month", "days"])[["new_customers", "revenue", "repeaters"]].sum(
        min_count=1
    )
    ref = ltv.ltv_transition(orders, as_of=AS_OF, step_days=90, horizon_days=360)
    ref = ref[ref["cohort"] != "all"].rename(columns={"cohort": "month"})
    joined = by_month.reset_index().merge(
        ref, on=["month", "days"], how="inner", suffixes=("", "_ltv")
    )
    assert len(joined) == len(ref)
    assert (joined["new_customers"] == joined["cohort_size"]).all()
    filled = joined["revenue_ltv"].notna()
    np.testing.assert_allclose(joined.loc[filled, "revenue"], joined.loc[filled, "revenue_ltv"])
    assert (joined.loc[filled, "repeaters"] == joined.loc[filled, "repeaters_ltv"]).all()
    assert joined.loc[~filled, "revenue"].isna().all()


def test_costs_are_checked_with_rows_and_values():
    with pytest.raises(ParameterError, match=r"rows \[3\].*-5"):
        ch.check_costs(
            pd.DataFrame({"month": ["2026-01", "2026-02"], "channel": ["a", "a"], "cost": [1, -5]})
        )
    with pytest.raises(ParameterError, match="duplicate"):
        ch.check_costs(
            pd.DataFrame({"month": ["2026-01", "2026-01"], "channel": ["a", "a"], "cost": [1, 2]})
        )
    with pytest.raises(ParameterError, match="not a month"):
        ch.check_costs(pd.DataFrame({"month": ["soon"], "channel": ["a"], "cost": [1]}))
    with pytest.raises(ParameterError, match=r"\['tv'\]"):
        ch.check_costs(COSTS.assign(channel=["ads", "tv", "ads"]), channels=["ads", "rakuten"])
    ok = ch.check_costs(
        pd.DataFrame({"month": ["2026-01-01"], "channel": [" ads "], "cost": ["10"]})
    )
    assert ok.iloc[0].tolist() == ["2026-01", "ads", 10.0]


def test_clear_errors():
    with pytest.raises(ColumnsError, match="channel"):
        ch.acquisition(_orders().drop(columns="channel"), as_of=AS_OF)
    with pytest.raises(ParameterError, match="gross_margin"):
        ch.acquisition(_orders(), as_of=AS_OF, gross_margin=1.5)
    t = ch.acquisition(_orders(), as_of=AS_OF)
    with pytest.raises(ParameterError, match="not in the table"):
        ch.acquisition_summary(t, days=(45,))


def test_orders_after_as_of_are_ignored():
    t = ch.acquisition(_orders(), as_of=AS_OF)
    assert "2026-11" not in set(t["month"])


def test_without_costs_no_cost_columns():
    """No costs table: neither table carries cost, CAC, LTV/CAC, ROAS or payback columns."""
    t = ch.acquisition(_orders(), as_of=AS_OF)
    s = ch.acquisition_summary(t)
    gone = {"cost", "cac", "ltv_cac", "roas", "payback_day"}
    assert not gone & set(t.columns)
    assert not gone & set(s.columns) and not any(c.startswith(("ltv_cac_", "roas_")) for c in s)
    assert {"ltv_90", "f2_rate_360", "new_customers"} <= set(s.columns)


def test_the_censored_month_is_flagged_and_left_out_of_the_summary():
    import datetime as dt

    t = ch.acquisition(_orders(), as_of=AS_OF, costs=COSTS, censored_month=dt.date(2026, 1, 1))
    assert set(t.loc[t["left_censored"], "month"]) == {"2026-01"}
    assert not t.loc[t["month"] == "2026-02", "left_censored"].any()
    s = ch.acquisition_summary(t)
    assert set(s["month"]) == {"2026-02"}  # the idle February ads row only
    assert ch.censored_customers(t) == ("2026-01", 3)  # a, b (ads) and c (rakuten)
    whole = ch.acquisition(_orders(), as_of=AS_OF, costs=COSTS)  # export complete
    assert not whole["left_censored"].any() and ch.censored_customers(whole) == (None, 0)
    assert set(ch.acquisition_summary(whole)["month"]) == {"2026-01", "2026-02"}


def test_acquisition_against_pandas_on_a_random_shop():
    """An independent pandas computation of new customers, LTV and F2 at 90 days."""
    rng = np.random.default_rng(11)
    n = 4000
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(n)],
            "customer_id": [f"c{i}" for i in rng.integers(0, 900, n)],
            "ordered_at": pd.Timestamp("2025-01-01")
            + pd.to_timedelta(rng.integers(0, 600 * 24, n), "h"),
            "amount": rng.choice([-800, 1200, 3000, 5500], n, p=[0.05, 0.35, 0.4, 0.2]),
            "channel": rng.choice(["ads", "own", "rakuten"], n),
        }
    )
    as_of = pd.Timestamp("2026-10-31")
    got = ch.acquisition(orders, as_of=as_of)
    got = got[got["days"] == 90].set_index(["month", "channel"])
    o = orders.sort_values(["ordered_at", "order_id"])
    buys = o[o["amount"] > 0]
    first = buys.groupby("customer_id").first()  # one line per order: its largest line
    o = o.join(first[["ordered_at", "channel"]].add_prefix("first_"), on="customer_id")
    o = o[o["first_ordered_at"].notna()]
    day = (o["ordered_at"].dt.normalize() - o["first_ordered_at"].dt.normalize()).dt.days
    o = o.assign(day=day)[day >= 0]
    rev = o[o["day"] <= 90].groupby("customer_id")["amount"].sum()
    later = o[(o["amount"] > 0) & (o["day"] <= 90)].groupby("customer_id").size()
    cust = first.assign(
        month=first["ordered_at"].dt.strftime("%Y-%m"),
        rev=rev.reindex(first.index).fillna(0),
        f2=later.reindex(first.index).fillna(0) >= 2,
    )
    want = cust.groupby(["month", "channel"]).agg(
        new_customers=("rev", "size"), ltv=("rev", "mean"), f2_rate=("f2", "mean")
    )
    seen = (
        pd.PeriodIndex(want.index.get_level_values(0), freq="M").end_time.normalize()
        + pd.Timedelta(days=90)
    ) <= as_of
    assert got["new_customers"].to_dict() == want["new_customers"].to_dict()
    np.testing.assert_allclose(got.loc[want.index[seen], "ltv"], want.loc[seen, "ltv"])
    np.testing.assert_allclose(got.loc[want.index[seen], "f2_rate"], want.loc[seen, "f2_rate"])
    assert got.loc[want.index[~seen], "ltv"].isna().all()


def test_channel_kpis_by_hand():
    """February: a's second order (own, ¥3,000); January: a, b (ads), c (rakuten, net ¥1,500)."""
    k = ch.channel_kpis(_orders(), as_of="2026-02-28").set_index("channel")
    assert k.index.tolist() == ["own", "ads", "rakuten"]  # ads/rakuten stopped: still shown
    assert k.loc["own", ["revenue", "orders", "customers", "new_customers"]].tolist() == [
        3000.0,
        1,
        1,
        0,
    ]
    assert np.isnan(k.loc["own", "revenue_mom"])  # nothing on own in January
    assert k.loc["ads", "revenue"] == 0.0 and k.loc["ads", "revenue_mom"] == -1.0
    assert k.loc["ads", "new_customers_mom"] == -1.0
    jan = ch.channel_kpis(_orders(), as_of="2026-01-31").set_index("channel")
    assert jan.loc["ads", ["revenue", "orders", "customers", "new_customers"]].tolist() == [
        9000.0,
        2,
        2,
        2,
    ]
    # c's return (01-22) lowers rakuten's revenue; it is no order
    assert jan.loc["rakuten", ["revenue", "orders"]].tolist() == [1500.0, 1]
    assert jan["revenue_share"].sum() == pytest.approx(1.0)
    with pytest.raises(ColumnsError, match="channel"):
        ch.channel_kpis(_orders().drop(columns="channel"), as_of=AS_OF)


def test_channel_kpis_against_pandas_on_a_random_shop():
    """Independent pandas sums per channel for the month, a month and a year earlier."""
    rng = np.random.default_rng(5)
    n = 5000
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(n)],
            "customer_id": [f"c{i}" for i in rng.integers(0, 1500, n)],
            "ordered_at": pd.Timestamp("2025-01-01")
            + pd.to_timedelta(rng.integers(0, 670 * 24, n), "h"),
            "amount": rng.choice([-700, 1500, 4200], n, p=[0.05, 0.6, 0.35]),
            "channel": rng.choice(["ads", "own", "rakuten"], n),
        }
    )
    got = ch.channel_kpis(orders, as_of="2026-10-31").set_index("channel")
    o = orders.assign(month=orders["ordered_at"].dt.strftime("%Y-%m"))
    buys = o[o["amount"] > 0].sort_values(["ordered_at", "order_id"])
    first = buys.groupby("customer_id").first()
    first["month"] = first["ordered_at"].dt.strftime("%Y-%m")

    def measures(m: str) -> pd.DataFrame:
        x, b = o[o["month"] == m], buys[buys["month"] == m]
        return pd.DataFrame(
            {
                "revenue": x.groupby("channel")["amount"].sum().astype(float),
                "orders": b.groupby("channel").size(),
                "customers": b.groupby("channel")["customer_id"].nunique(),
                "new_customers": first[first["month"] == m].groupby("channel").size(),
            }
        ).fillna(0)

    now, prev, ago = measures("2026-10"), measures("2026-09"), measures("2025-10")
    for k in ch.CHANNEL_KPIS:
        np.testing.assert_allclose(got[k], now.loc[got.index, k])
        np.testing.assert_allclose(
            got[f"{k}_mom"], now.loc[got.index, k] / prev.loc[got.index, k] - 1
        )
        np.testing.assert_allclose(
            got[f"{k}_yoy"], now.loc[got.index, k] / ago.loc[got.index, k] - 1
        )


@st.composite
def _tied_shops(draw) -> pd.DataFrame:
    """Small shops whose orders have several lines, equal amounts and missing values."""
    n = draw(st.integers(1, 25))
    rows = []
    for i in range(n):
        customer = draw(st.sampled_from(["a", "b", "c", "d", None]))
        day = draw(st.integers(0, 400))
        for _ in range(draw(st.integers(1, 3))):
            rows.append(
                (
                    f"o{i}",
                    customer,
                    pd.Timestamp("2025-09-01") + pd.Timedelta(days=day),
                    draw(st.sampled_from([-300, 200, 500, 500])),
                    draw(st.sampled_from(["p1", "p2", None])),
                    draw(st.sampled_from(["ads", "web", None])),
                )
            )
    cols = ["order_id", "customer_id", "ordered_at", "amount", "product_id", "channel"]
    return pd.DataFrame(rows, columns=cols)


@settings(max_examples=40, deadline=None)
@given(_tied_shops())
def test_the_stored_first_lines_give_the_lines_own_first_channel(orders):
    """A file with stored order totals reads each first purchase and its channel from
    them (one scan: no join, no pass over the lines); so does a file whose totals hold
    the largest lines but no numbering (joined to the run's first purchases); the
    table is the one picked from the lines."""
    want = ch.acquisition(orders, as_of=AS_OF, costs=COSTS)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "canonical" / "orders.parquet"
        path.parent.mkdir(parents=True)
        orders.to_parquet(path, index=False)
        engine.write_order_totals(path)
        try:
            assert engine.stored_first_purchases(path, as_of=AS_OF, columns=["channel"]) is not None
            got = ch.acquisition(path, as_of=AS_OF, costs=COSTS)
            cache.clear()
            with mock.patch.object(ch.engine, "stored_first_purchases", return_value=None):
                joined = ch.acquisition(path, as_of=AS_OF, costs=COSTS)
            assert engine.stored_main_lines(path, ["channel"]) is not None
        finally:
            cache.clear()
    pd.testing.assert_frame_equal(got, want)
    pd.testing.assert_frame_equal(joined, want)
