"""The left-censored first cohort (SPEC §3 Cohort): flagged, and left out of pooled figures.

Hand-computed on a shop whose export starts mid-history, and the same shop
with ``export_complete: true``.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecrm.analysis import censoring, cohort, ltv
from ecrm.settings import ShopSettings

AS_OF = dt.date(2026, 12, 31)


def mid_history_orders() -> pd.DataFrame:
    """The export begins in 2026-01: a and b were customers before it (both land in 2026-01).

    a: 01-05, 01-20 (second purchase day 15); b: 01-10 only; c: 02-10, 02-20
    (day 10); d: 02-15 only; a guest order on 2025-12-28 is the export's first line.
    """
    rows = [
        ("g1", None, "2025-12-28", 500),
        ("1", "a", "2026-01-05", 1000),
        ("2", "a", "2026-01-20", 3000),
        ("3", "b", "2026-01-10", 2000),
        ("4", "c", "2026-02-10", 1000),
        ("5", "c", "2026-02-20", 1000),
        ("6", "d", "2026-02-15", 4000),
    ]
    df = pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at", "amount"])
    df["ordered_at"] = pd.to_datetime(df["ordered_at"])
    return df


def shop(complete: bool) -> ShopSettings:
    return ShopSettings(name="mid", sources=[{"path": "o.csv"}], export_complete=complete)


def test_the_first_month_is_that_of_the_earliest_line_guests_included():
    o = mid_history_orders()
    assert censoring.first_order_month(o) == dt.date(2025, 12, 1)
    assert censoring.censored_label(o) == "2025-12"
    assert censoring.censored_label(o, settings=shop(True)) is None
    assert censoring.censored_label(o.iloc[1:]) == "2026-01"
    assert censoring.history_months(o.iloc[1:], as_of=AS_OF) == 12


def test_cohort_table_flags_the_censored_cohort_only():
    o = mid_history_orders().iloc[1:]  # the export starts 2026-01
    t = cohort.cohort_table(o, as_of=AS_OF)
    assert t.groupby("cohort")["left_censored"].first().to_dict() == {
        "2026-01": True,
        "2026-02": False,
    }
    complete = cohort.cohort_table(o, as_of=AS_OF, settings=shop(True))
    assert not complete["left_censored"].any()
    same = ["cohort", "period", "cohort_size", "active", "revenue"]
    pd.testing.assert_frame_equal(t[same], complete[same])


def test_ltv_and_f2_all_rows_leave_the_censored_cohort_out():
    o = mid_history_orders().iloc[1:]
    t = ltv.ltv_transition(o, as_of=AS_OF, step_days=30, horizon_days=30)
    row = t.set_index("cohort").loc
    assert bool(row["2026-01", "left_censored"]) and not bool(row["2026-02", "left_censored"])
    # all = 2026-02 only: c (1000 + 1000 within 30 days) and d (4000): 6000 / 2
    assert row["all", "cohort_size"] == 2
    assert row["all", "ltv"] == pytest.approx(3000.0)
    assert row["all", "f2_rate"] == pytest.approx(0.5)
    # complete export: all four customers, (4000 + 2000 + 2000 + 4000) / 4, F2 2 / 4
    c = ltv.ltv_transition(o, as_of=AS_OF, step_days=30, horizon_days=30, settings=shop(True))
    row = c.set_index("cohort").loc
    assert row["all", "cohort_size"] == 4
    assert row["all", "ltv"] == pytest.approx(3000.0)
    assert row["all", "f2_rate"] == pytest.approx(0.5)
    assert not c["left_censored"].any()
    f = ltv.f2_conversion(o, as_of=AS_OF, windows=(10, 15), export_complete=False)
    fr = f[f.cohort == "all"].set_index("days")
    # 2026-02 only: c's second purchase on day 10; d none
    assert fr.loc[10, "f2_rate"] == pytest.approx(0.5) and fr.loc[15, "cohort_size"] == 2
    f = ltv.f2_conversion(o, as_of=AS_OF, windows=(10, 15), export_complete=True)
    fr = f[f.cohort == "all"].set_index("days")
    # all four: day 10 → c; day 15 → a and c
    assert fr.loc[10, "f2_rate"] == pytest.approx(0.25) and fr.loc[15, "f2_rate"] == 0.5


def test_an_explicit_argument_overrides_the_settings():
    o = mid_history_orders().iloc[1:]
    t = ltv.ltv_transition(o, as_of=AS_OF, settings=shop(True), export_complete=False)
    assert t.loc[t.cohort == "2026-01", "left_censored"].all()


def test_kpis_leave_out_the_censored_month_split_and_its_cohort_figures():
    from ecrm.analysis import kpi

    o = mid_history_orders().iloc[1:]  # the export starts 2026-01
    wide = kpi.kpi_wide(o, as_of="2027-01-31", settings=shop(False), months=13)
    row = wide.set_index("month").loc
    jan, feb = dt.date(2026, 1, 1), dt.date(2026, 2, 1)
    assert pd.isna(row[jan, "new_customers"]) and pd.isna(row[jan, "repeat_rate"])
    assert row[jan, "revenue"] == 6000  # revenue and orders are not split: kept
    assert row[feb, "new_customers"] == 2
    # F2 of the cohort 3 months back is reported in 2026-04; LTV of a year back in 2027-01
    assert pd.isna(row[dt.date(2026, 4, 1), "f2_rate"])
    assert row[dt.date(2026, 5, 1), "f2_rate"] == pytest.approx(0.5)  # 2026-02: c of c, d
    assert pd.isna(row[dt.date(2027, 1, 1), "ltv_12m"])
    full = kpi.kpi_wide(o, as_of="2027-01-31", settings=shop(True), months=13).set_index("month")
    assert full.loc[jan, "new_customers"] == 2
    assert full.loc[dt.date(2026, 4, 1), "f2_rate"] == pytest.approx(0.5)  # a of a, b
    assert full.loc[dt.date(2027, 1, 1), "ltv_12m"] == pytest.approx(3000.0)  # (4000 + 2000) / 2


def test_pooled_first_purchase_tables_leave_the_censored_customers_out():
    from ecrm.analysis import ctb, products

    o = mid_history_orders().iloc[1:].copy()
    o["category"] = ["tea", "coffee", "tea", "coffee", "tea", "coffee"]
    o["product_id"] = ["T1", "C1", "T1", "C1", "T1", "C1"]
    # first purchases: a tea (01-05) and b tea (01-10), censored; c coffee (02-10), d coffee
    f = ctb.first_purchase_ctb(o, as_of=AS_OF, levels=["category"], horizon_days=30)
    assert f.set_index("value")["customers"].to_dict() == {"coffee": 2}  # c, d
    assert f.attrs["censored_customers"] == 2 and f.attrs["censored_cohort"] == "2026-01"
    full = ctb.first_purchase_ctb(
        o, as_of=AS_OF, levels=["category"], horizon_days=30, export_complete=True
    )
    assert full.set_index("value")["customers"].to_dict() == {"coffee": 2, "tea": 2}
    assert full.attrs["censored_customers"] == 0
    e = products.entry_products(o, as_of=AS_OF, min_customers=1)
    assert e.set_index("entry_product")["customers"].to_dict() == {"C1": 2}
    assert e.attrs["censored_customers"] == 2
    e = products.entry_products(o, as_of=AS_OF, min_customers=1, export_complete=True)
    assert e.set_index("entry_product")["customers"].to_dict() == {"C1": 2, "T1": 2}


# --------------------------------------------------------------------------- sentences


def sentence_orders() -> pd.DataFrame:
    """The export starts 2026-01; both of its customers come back in 2026-02.

    2026-01 (censored): a 01-05 1000, 02-05 1000; b 01-06 3000, 02-06 1000 →
    month-1 retention 2 / 2, but both second orders fall on day 31 (outside a
    30-day window: 30-day revenue 1000 + 3000, no F2). 2026-02: c 02-10 2000,
    03-01 2000; d, e, f one order of 1000 on 02-11 → month 1 retention 1 / 4.
    """
    rows = [
        ("1", "a", "2026-01-05", 1000),
        ("2", "a", "2026-02-05", 1000),
        ("3", "b", "2026-01-06", 3000),
        ("4", "b", "2026-02-06", 1000),
        ("5", "c", "2026-02-10", 2000),
        ("6", "c", "2026-03-01", 2000),
        ("7", "d", "2026-02-11", 1000),
        ("8", "e", "2026-02-11", 1000),
        ("9", "f", "2026-02-11", 1000),
    ]
    df = pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at", "amount"])
    df["ordered_at"] = pd.to_datetime(df["ordered_at"])
    return df


NOTE_EN = "The 2026-01 cohort is left out: it is the first month of the data"


def test_cohort_sentences_leave_the_censored_cohort_out_and_say_so_once():
    from ecrm.present import narrate, narrate_findings

    o = sentence_orders()
    t = cohort.cohort_table(o, as_of=AS_OF, settings=shop(False))
    # uncensored: only 2026-02 has month 1: c of c, d, e, f
    assert narrate.cohort(t, lang="en").startswith(
        "Across the 2026-02 cohort, 25.0% of new customers bought again"
    )
    s = narrate_findings.cohort_summary(t, as_of=AS_OF, lang="en")
    assert s.count("2026-01") == 1 and NOTE_EN in s
    ja = narrate_findings.cohort_summary(t, as_of=AS_OF, lang="ja")
    assert ja.count("2026-01") == 1 and "2026-01コホートは集計から除いています" in ja
    # complete export: both cohorts, (2 + 1) / (2 + 4)
    full = cohort.cohort_table(o, as_of=AS_OF, settings=shop(True))
    assert narrate.cohort(full, lang="en").startswith(
        "Across the 2 cohorts 2026-01 to 2026-02, 50.0% of new customers"
    )
    assert "left out" not in narrate_findings.cohort_summary(full, as_of=AS_OF, lang="en")


def test_ltv_summary_quotes_the_uncensored_cohorts_only():
    from ecrm.present import narrate_findings

    o = sentence_orders()
    kw = dict(as_of=AS_OF, step_days=30, horizon_days=30)
    t = ltv.ltv_transition(o, **kw, settings=shop(False))
    f = ltv.f2_conversion(o, as_of=AS_OF, windows=(30,), settings=shop(False))
    s = narrate_findings.ltv_summary(t, f, as_of=AS_OF, lang="en")
    # 2026-02 within 30 days: c 4000 (03-01 is day 19), d, e, f 1000 each: 7000 / 4; F2 1 / 4
    assert "¥1,750 30 days after" in s and "F2 rate 25.0% by then" in s
    assert "pool the 2026-02 cohort" in s and "25.0% within 30 days" in s
    assert s.count("2026-01") == 1 and NOTE_EN in s
    # complete: (1000 + 3000 + 7000) / 6; F2 c / 6 (a's and b's second orders on day 31)
    tc = ltv.ltv_transition(o, **kw, settings=shop(True))
    fc = ltv.f2_conversion(o, as_of=AS_OF, windows=(30,), settings=shop(True))
    sc = narrate_findings.ltv_summary(tc, fc, as_of=AS_OF, lang="en")
    assert "¥1,833 30 days after" in sc and "16.7% within 30 days" in sc
    assert "left out" not in sc and "the 2 cohorts 2026-01 to 2026-02" in sc


def test_the_censored_cohort_is_never_quoted_as_the_best_cohort():
    from ecrm.present import narrate

    o = sentence_orders()
    as_of = dt.date(2027, 3, 31)  # month 12 observable for both cohorts
    t = cohort.cohort_table(o, as_of=as_of)
    s = narrate.ltv_from_cohorts(t, lang="en")
    # 2026-01 (censored) would be best: 6000 / 2 per customer; 2026-02: 7000 / 4
    assert "averages ¥1,750 over the 2026-02 cohort; the best cohort is 2026-02" in s
    full = narrate.ltv_from_cohorts(cohort.cohort_table(o, as_of=as_of, export_complete=True))
    assert "最も高いのは2026-01コホート" in full


def test_the_kpi_headline_of_the_censored_first_month_reads_a_dash():
    from ecrm.analysis import kpi
    from ecrm.present import narrate

    o = sentence_orders()
    k = kpi.kpi_table(o, as_of="2026-01-31", settings=shop(False), months=1)
    assert "— new customers" in narrate.kpi_headline(k, lang="en")
    k = kpi.kpi_table(o, as_of="2026-01-31", settings=shop(True), months=1)
    assert "2 new customers" in narrate.kpi_headline(k, lang="en")


# --------------------------------------------------------------------------- property


_CUSTOMERS = [f"c{i}" for i in range(8)]
_EXPORT_START = dt.date(2026, 1, 1)
_PROP_AS_OF = dt.date(2026, 6, 30)


def _lines(draw, n: int, lo: dt.date, hi: dt.date, prefix: str) -> list[tuple]:
    return [
        (
            f"{prefix}{i}",
            draw(st.sampled_from(_CUSTOMERS)),
            draw(st.dates(min_value=lo, max_value=hi)),
            draw(st.integers(min_value=1, max_value=9_999)),
        )
        for i in range(n)
    ]


@st.composite
def exports(draw) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Orders of an export starting 2026-01, and orders of the same shop before it."""
    base = _lines(draw, draw(st.integers(1, 14)), _EXPORT_START, _PROP_AS_OF, "o")
    pre = _lines(draw, draw(st.integers(0, 6)), dt.date(2025, 3, 1), dt.date(2025, 12, 31), "p")
    cols = ["order_id", "customer_id", "ordered_at", "amount"]
    frames = [pd.DataFrame(rows, columns=cols) for rows in (base, pre)]
    for f in frames:
        f["ordered_at"] = pd.to_datetime(f["ordered_at"])
        f["amount"] = f["amount"].astype("int64")
    return frames[0], frames[1]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(exports())
def test_orders_before_the_export_move_customers_out_of_later_cohorts_and_nothing_else(data):
    """Adding the shop's earlier history changes a cohort of the export only by its movers.

    With the orders before the export added, every cohort from the export's
    first month on equals the cohort table of the export without the customers
    who bought before it (they now belong to an earlier cohort); the censored
    flag moves to the new first month, and no cohort of the export keeps it.
    """
    base, pre = data
    kw = dict(as_of=_PROP_AS_OF, months=36)
    first = censoring.first_order_month(base)
    before = cohort.cohort_table(base, **kw)
    assert set(before.loc[before.left_censored, "cohort"]) == {first.strftime("%Y-%m")}
    both = cohort.cohort_table(pd.concat([pre, base], ignore_index=True), **kw)
    movers = set(pre["customer_id"])
    stayers = base[~base["customer_id"].isin(movers)]
    start = _EXPORT_START.strftime("%Y-%m")
    later = both[both.cohort >= start].reset_index(drop=True)
    if len(pre):
        flagged = set(both.loc[both.left_censored, "cohort"])
        assert flagged == {pre["ordered_at"].min().strftime("%Y-%m")}
        assert not later["left_censored"].any()
    else:
        pd.testing.assert_frame_equal(both, before)
    if stayers.empty:
        assert later.empty
        return
    ref = cohort.cohort_table(stayers, **kw, export_complete=True)
    cells = ["cohort", "period", "cohort_size", "active", "revenue", "cum_revenue_per_customer"]
    # observable cells only: the grid runs to the oldest cohort's age, later cells missing
    got = later[later["active"].notna()].reset_index(drop=True)[cells]
    want = ref[(ref.cohort >= start) & ref["active"].notna()].reset_index(drop=True)[cells]
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


# --------------------------------------------------------------------------- real data


@pytest.mark.realdata
def test_online_retail_first_cohort_is_flagged_and_kept_out_of_the_headlines(online_retail):
    """UCI Online Retail starts 2010-12 mid-history: that cohort is everyone who bought before."""
    from ecrm.analysis import kpi
    from ecrm.present import narrate, narrate_findings

    as_of = dt.date(2011, 11, 30)
    t = cohort.cohort_table(online_retail, as_of=as_of)
    assert set(t.loc[t.left_censored, "cohort"]) == {"2010-12"}
    tr = ltv.ltv_transition(online_retail, as_of=as_of)
    f2 = ltv.f2_conversion(online_retail, as_of=as_of)
    assert set(tr.loc[tr.left_censored, "cohort"]) == {"2010-12"}
    assert set(f2.loc[f2.left_censored, "cohort"]) == {"2010-12"}
    # the all rows pool the filled, uncensored cohorts only
    per = tr[(tr.cohort != "all") & ~tr.left_censored & tr["ltv"].notna()]
    pooled = per.groupby("days")["cohort_size"].sum()
    allrows = tr[tr.cohort == "all"].set_index("days")
    assert (allrows.loc[pooled.index, "cohort_size"] == pooled).all()
    s = narrate_findings.ltv_summary(tr, f2, as_of=as_of, lang="en", currency="GBP")
    assert s.count("2010-12") == 1 and "The 2010-12 cohort is left out" in s
    assert "cohorts 2011-01 to" in s
    # at 2011-12-09 only the censored 2010-12 cohort has a month 12: it is not quoted
    t = cohort.cohort_table(online_retail, as_of="2011-12-09")
    best = narrate.ltv_from_cohorts(t, lang="en", currency="GBP")
    assert best == "No cohort is 12 months old yet."
    t = cohort.cohort_table(online_retail, as_of="2011-12-09", export_complete=True)
    assert "the best cohort is 2010-12" in narrate.ltv_from_cohorts(t, lang="en", currency="GBP")
    # the KPI tiles: 12-month LTV of December 2011 is that of the 2010-12 cohort: empty;
    # F2 of the cohort 3 months back (2011-09 in 2011-12) is shown
    shop_ = ShopSettings(name="uci", sources=[{"path": "o.csv"}], currency="GBP")
    wide = kpi.kpi_wide(online_retail, as_of="2011-12-09", settings=shop_, months=13)
    row = wide.set_index("month")
    dec = dt.date(2011, 12, 1)
    assert pd.isna(row.loc[dec, "ltv_12m"]) and pd.notna(row.loc[dec, "f2_rate"])
    assert pd.isna(row.loc[dt.date(2011, 3, 1), "f2_rate"])
    assert pd.isna(row.loc[dt.date(2010, 12, 1), "new_customers"])
    assert row.loc[dt.date(2011, 1, 1), "new_customers"] > 0
    complete = shop_.model_copy(update={"export_complete": True})
    full = kpi.kpi_wide(online_retail, as_of="2011-12-09", settings=complete, months=13)
    full = full.set_index("month")
    assert pd.notna(full.loc[dec, "ltv_12m"]) and pd.notna(full.loc[dt.date(2011, 3, 1), "f2_rate"])
    # every figure not from the censored cohort is the same either way
    same = [c for c in kpi.KPIS if c not in kpi.CENSORED_MONTH_KPIS and c not in ("ltv_12m",)]
    later = [m for m in row.index if m > dt.date(2011, 3, 1)]
    pd.testing.assert_frame_equal(row.loc[later, same], full.loc[later, same])


def test_the_demo_shops_say_their_export_is_complete_so_nothing_is_censored(demo_root):
    from ecrm.settings import load_settings

    for name in ("demo-apparel", "demo-food"):
        folder = demo_root / "data" / name
        s = load_settings(folder)
        assert s.export_complete
        orders = folder / "canonical" / "orders.parquet"
        t = cohort.cohort_table(orders, as_of="2026-10-31", months=120, settings=s)
        assert not t["left_censored"].any()
        flagged = cohort.cohort_table(orders, as_of="2026-10-31", months=120, export_complete=False)
        assert flagged["left_censored"].any()
        cells = ["cohort", "period", "cohort_size", "active", "revenue"]
        pd.testing.assert_frame_equal(t[cells], flagged[cells])


def test_the_kpi_table_flags_the_cells_left_empty_for_the_censored_cohort():
    from ecrm.analysis import kpi

    o = mid_history_orders().iloc[1:]  # the export starts 2026-01
    k = kpi.kpi_table(o, as_of="2027-01-31", settings=shop(False), months=13)
    flagged = k.loc[k.left_censored, ["month", "kpi"]]
    want = {(dt.date(2026, 1, 1), c) for c in kpi.CENSORED_MONTH_KPIS}
    want |= {(dt.date(2026, 4, 1), "f2_rate"), (dt.date(2027, 1, 1), "ltv_12m")}
    assert set(map(tuple, flagged.to_numpy())) == want
    assert k.loc[k.left_censored, "value"].isna().all()
    full = kpi.kpi_table(o, as_of="2027-01-31", settings=shop(True), months=13)
    assert not full["left_censored"].any()
    assert full.loc[k.left_censored.to_numpy(), "value"].notna().all()


def test_the_f2_chart_marks_the_censored_cohort():
    import matplotlib

    matplotlib.use("Agg")
    from ecrm.present.plotting import ltv as ltv_plots

    o = sentence_orders()
    f = ltv.f2_conversion(o, as_of=AS_OF, windows=(30,))
    ax = ltv_plots.plot_f2_conversion(f, lang="en")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2026-01※", "2026-02"]
    assert "※ the data's first month" in ax.get_title()
    f = ltv.f2_conversion(o, as_of=AS_OF, windows=(30,), export_complete=True)
    ax = ltv_plots.plot_f2_conversion(f, lang="en")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2026-01", "2026-02"]
    assert "※" not in ax.get_title()
