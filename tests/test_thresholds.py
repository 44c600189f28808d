"""Money thresholds in the shop's currency (SPEC §3 ``money_thresholds: auto``)."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm.analysis import cpm, rfm, thresholds
from ecrm.settings import CURRENCIES, AnalysisSettings, CpmSettings, RfmSettings, ShopSettings

AS_OF = "2026-10-31"
# a–e bought on 2025-01-01 and again on 2026-10-15 (tenure 652 days); f–j once, 2026-10-01.
TENURED = {"a": 5.10, "b": 12.34, "c": 20.01, "d": 45.00, "e": 88.88}
NEW = {"f": 7.77, "g": 15.00, "h": 30.30, "i": 63.50, "j": 99.99}


def _orders() -> pd.DataFrame:
    rows = []
    for c, total in TENURED.items():
        rows += [(f"{c}1", c, "2025-01-01", total / 2), (f"{c}2", c, "2026-10-15", total / 2)]
    rows += [(f"{c}1", c, "2026-10-01", total) for c, total in NEW.items()]
    df = pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at", "amount"])
    df["ordered_at"] = pd.to_datetime(df["ordered_at"])
    return df


def _shop(currency: str = "GBP", **analysis) -> ShopSettings:
    return ShopSettings(
        name="uk-shop",
        currency=currency,
        sources=[{"path": "raw/orders.csv"}],
        analysis=AnalysisSettings(**analysis),
    )


def test_gbp_shop_gets_m_bins_at_its_customers_quintiles():
    # the ten monetaries sorted: 5.10 7.77 12.34 15.00 20.01 30.30 45.00 63.50 88.88 99.99;
    # the p-quantile sits at position 9p: 1.8 → 7.77 + .8×4.57 = 11.426; 3.6 → 15 + .6×5.01
    # = 18.006; 5.4 → 30.30 + .4×14.70 = 36.18; 7.2 → 63.50 + .2×25.38 = 68.576 (to pence)
    s, source = rfm.resolve_thresholds(_orders(), as_of=AS_OF, settings=_shop())
    assert (s.monetary, source) == ((11.43, 18.01, 36.18, 68.58), "auto")
    scores = rfm.rfm(_orders(), as_of=AS_OF, settings=_shop())
    assert scores.groupby("m").size().to_dict() == {1: 2, 2: 2, 3: 2, 4: 2, 5: 2}
    assert scores.set_index("customer_id").m.to_dict()["b"] == 2  # 12.34 ≥ 11.43


def test_gbp_shop_gets_a_spend_cutoff_from_its_tenured_customers():
    # tenured (≥ 210 days): 5.10 12.34 20.01 45.00 88.88; position 4×.8 = 3.2 →
    # 45.00 + .2×43.88 = 53.776 → 53.78
    s, source = cpm.resolve_thresholds(_orders(), as_of=AS_OF, settings=_shop())
    assert (s.spend_cutoff, source) == (53.78, "auto")
    seg = cpm.cpm(_orders(), as_of=AS_OF, settings=_shop()).set_index("customer_id").segment
    assert seg[list(TENURED)].tolist() == ["steady_active"] * 4 + ["loyal_active"]
    # with yen's 70,000 every one of them would be 'steady'
    yen = cpm.cpm(_orders(), as_of=AS_OF, settings=_shop("JPY")).set_index("customer_id")
    assert set(yen.segment[list(TENURED)]) == {"steady_active"}


def test_spend_cutoff_falls_back_to_all_customers_when_none_is_tenured():
    young = _orders()[_orders().ordered_at >= "2026-01-01"]
    # a–e now bought once each (half their total); all ten: 2.55 6.17 7.77 10.005 15 22.5
    # 30.3 44.44 63.5 99.99 → position 7.2: 44.44 + .2×19.06 = 48.252 → 48.25
    s, source = cpm.resolve_thresholds(young, as_of=AS_OF, settings=_shop())
    assert (s.spend_cutoff, source) == (48.25, "auto_all_customers")


def test_jpy_shop_and_explicit_thresholds_are_unchanged():
    for given_settings in (None, _shop("JPY"), RfmSettings()):
        s, source = rfm.resolve_thresholds(_orders(), as_of=AS_OF, settings=given_settings)
        assert (s.monetary, source) == ((5_000, 10_000, 30_000, 100_000), "default")
    mine = _shop(rfm=RfmSettings(monetary=(10, 20, 40, 80)), cpm=CpmSettings(spend_cutoff=50))
    assert rfm.resolve_thresholds(_orders(), as_of=AS_OF, settings=mine)[0].monetary == (
        10,
        20,
        40,
        80,
    )
    assert cpm.resolve_thresholds(_orders(), as_of=AS_OF, settings=mine)[1] == "settings"
    fixed = _shop(rfm=RfmSettings(money_thresholds="fixed"))
    assert rfm.resolve_thresholds(_orders(), as_of=AS_OF, settings=fixed)[1] == "default"
    a = rfm.rfm(_orders(), as_of=AS_OF, settings=_shop("JPY"))
    b = rfm.rfm(_orders(), as_of=AS_OF)
    pd.testing.assert_frame_equal(a, b)
    assert set(a.m) == {1}  # yen bins on pence amounts


def test_auto_on_a_jpy_shop_rounds_to_whole_yen():
    shop = _shop("JPY", rfm=RfmSettings(money_thresholds="auto"))
    s, source = rfm.resolve_thresholds(_orders(), as_of=AS_OF, settings=shop)
    assert (s.monetary, source) == ((11.0, 18.0, 36.0, 69.0), "auto")


def test_no_customers_keeps_the_bins_and_says_so():
    empty = _orders().iloc[:0]
    s, source = rfm.resolve_thresholds(empty, as_of=AS_OF, settings=_shop())
    assert s.monetary == (5_000, 10_000, 30_000, 100_000)
    assert source == "auto_no_customers"
    assert rfm.rfm(empty, as_of=AS_OF, settings=_shop()).empty


def test_migration_uses_the_end_dates_bins_at_both_dates():
    # on 2026-09-30 f–j have not bought yet; both dates are scored with AS_OF's bins
    mig = rfm.rfm_migration(_orders(), start="2026-09-30", end=AS_OF, settings=_shop())
    assert mig.customers.sum() == 10
    assert mig.loc[mig.from_segment == "none", "customers"].sum() == 5
    at_end, _ = rfm.resolve_thresholds(_orders(), as_of=AS_OF, settings=_shop())
    same = rfm.rfm_migration(_orders(), start="2026-09-30", end=AS_OF, settings=at_end)
    pd.testing.assert_frame_equal(mig, same)


def test_cpm_over_time_uses_the_as_of_cutoff():
    monthly = cpm.cpm_monthly(_orders(), as_of=AS_OF, settings=_shop(), months=1)
    last = monthly[monthly.month_end == monthly.month_end.max()].set_index("segment")
    assert last.customers["loyal_active"] == 1  # e, above £53.78
    yen = cpm.cpm_monthly(_orders(), as_of=AS_OF, settings=_shop("JPY"), months=1)
    assert yen.set_index("segment").customers["loyal_active"] == 0
    moves = cpm.cpm_transitions(_orders(), as_of=AS_OF, settings=_shop())
    assert moves.loc[moves.to_segment == "loyal_active", "customers"].sum() == 1


# --- which thresholds, and the segments they leave (nearly) empty -----------------------


def test_money_thresholds_table_says_which_and_why():
    t = thresholds.money_thresholds(_orders(), as_of=AS_OF, settings=_shop())
    assert t.to_dict("list") == {
        "analysis": ["rfm"] * 4 + ["cpm"],
        "threshold": ["m2_from", "m3_from", "m4_from", "m5_from", "spend_cutoff"],
        "value": [11.43, 18.01, 36.18, 68.58, 53.78],
        "currency": ["GBP"] * 5,
        "source": ["auto"] * 5,
    }
    yen = thresholds.money_thresholds(_orders(), as_of=AS_OF)
    assert yen.value.tolist() == [5_000, 10_000, 30_000, 100_000, 70_000]
    assert set(yen.source) == {"default"} and set(yen.currency) == {"JPY"}


def _empty_rfm_segments(*cells: str) -> list[str]:
    return [s for s, c in rfm.DEFAULT_SEGMENT_MAP.items() if not set(c) & set(cells)]


def test_thin_segments_of_the_gbp_shop():
    # a–e: 2 purchases, recency 16 (R×F 52, lifecycle first_repeat); f–j: 1 (51, new);
    # CPM: a–d steady_active, e loyal_active, f–j first_active
    t = thresholds.thin_segments(_orders(), as_of=AS_OF, settings=_shop())
    assert set(t.problem) == {"empty"} and set(t.customers) == {0}
    by = t.groupby("analysis")["segment"].apply(list).to_dict()
    assert by["rfm"] == _empty_rfm_segments("51", "52")
    assert "rfm_m" not in by  # auto bins: two customers in each M score
    assert by["cpm"] == [
        s for s in cpm.SEGMENTS if s not in {"first_active", "steady_active", "loyal_active"}
    ]
    assert by["lifecycle"] == ["repeat", "vip", "dormant", "churned"]


def test_yen_bins_on_a_gbp_shop_leave_m2_to_m5_empty():
    shop = _shop(rfm=RfmSettings(money_thresholds="fixed"))
    t = thresholds.thin_segments(_orders(), as_of=AS_OF, settings=shop)
    assert t[t.analysis == "rfm_m"].segment.tolist() == ["m2", "m3", "m4", "m5"]


def test_thin_is_under_the_share_and_not_empty():
    t = thresholds.thin_segments(_orders(), as_of=AS_OF, settings=_shop(), min_share=0.15)
    thin = t[t.problem == "thin"]
    assert thin[["analysis", "segment", "customers", "share"]].values.tolist() == [
        ["cpm", "loyal_active", 1, 0.1]
    ]
    assert (t.problem == "thin").sum() == 1


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.integers(1, 10_000_000), min_size=1, max_size=30),
    st.sampled_from(["GBP", "USD", "KWD", "JPY"]),
)
def test_auto_bins_are_ordered_within_the_range_and_in_minor_units(pence, currency):
    digits = CURRENCIES[currency]
    amounts = [p / 100 for p in pence]
    orders = pd.DataFrame(
        {
            "order_id": [str(i) for i in range(len(amounts))],
            "customer_id": [f"c{i}" for i in range(len(amounts))],
            "ordered_at": pd.Timestamp("2026-10-01"),
            "amount": amounts,
        }
    )
    shop = _shop(currency, rfm=RfmSettings(money_thresholds="auto"))
    s, source = rfm.resolve_thresholds(orders, as_of=AS_OF, settings=shop)
    edges = s.monetary
    assert source == "auto"
    assert list(edges) == sorted(edges)
    lo, hi = round(min(amounts), digits), round(max(amounts), digits)
    assert all(lo <= e <= hi for e in edges)
    assert all(round(e, digits) == e for e in edges)
    scores = rfm.rfm(orders, as_of=AS_OF, settings=shop)
    # each score holds the customers between its edges, as _fixed_scores' cases say
    expected = 1 + sum((scores.monetary.astype(float) >= e).astype(int) for e in edges)
    assert (scores.m == expected).all()
