"""Tests of ecrm.present.narrate: each sentence carries the numbers of the table it describes.

The predicted-value sentences are checked on hand-typed tables (no model is
fitted here), in both languages, word for word.
"""

from __future__ import annotations

import datetime as dt
import types

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecrm.errors import ParameterError
from ecrm.models import predict
from ecrm.present import narrate, narrate_predict


def _customers() -> pd.DataFrame:
    """Five customers; by expected value a (40,000), b and c (20,000), d and e (10,000)."""
    return pd.DataFrame(
        {
            "customer_id": list("abcde"),
            "frequency": [3, 1, 0, 2, 0],
            "probability_alive": [0.9, 0.2, 1.0, 0.5, 1.0],
            "expected_purchases": [4.0, 2.0, 2.0, 1.0, 1.0],
            "expected_value": [40_000.0, 20_000.0, 20_000.0, 10_000.0, 10_000.0],
        }
    )


def test_predicted_value_totals_and_top_share() -> None:
    """Three groups of sizes 2, 2, 1: {a, b} 60,000, {c, d} 30,000, {e} 10,000.

    Total 100,000 from 5 customers (20,000 each), 10 expected purchases; the top
    group is 2 of 5 customers (40%) with 60% of the value.
    """
    deciles = predict.value_deciles(_customers(), groups=3)
    assert narrate.predicted_value(deciles, months=12, lang="ja") == (
        "現在の顧客5人は、今後12ヶ月で合計10回、¥100,000(1人あたり¥20,000、割引なし)の"
        "購入が見込まれます。予測顧客価値の上位40%(デシル1)が、その60.0%を占めます。"
    )
    assert narrate.predicted_value(deciles, months=6, lang="en", currency="USD") == (
        "Today's 5 customers are expected to make 10 purchases worth $100,000.00 over the "
        "next 6 months ($20,000.00 per customer, undiscounted); the top 40% by expected value "
        "(decile 1) account for 60.0% of it."
    )


def test_predicted_value_of_ten_deciles_names_the_top_ten_percent() -> None:
    many = pd.concat([_customers()] * 4, ignore_index=True)
    many["customer_id"] = [f"c{i:02d}" for i in range(len(many))]
    text = narrate.predicted_value(predict.value_deciles(many), lang="ja")
    assert "現在の顧客20人" in text and "上位10%(デシル1)" in text
    assert "¥400,000" in text and "合計40回" in text


def test_predicted_value_without_customers() -> None:
    empty = predict.value_deciles(_customers().head(0))
    assert narrate.predicted_value(empty, lang="ja") == "—"


def test_probability_alive_counts_repeat_customers_below_the_threshold() -> None:
    """Repeat customers a (0.9), b (0.2), d (0.5): only b is below 0.5 (strictly)."""
    c = _customers()
    assert narrate.probability_alive(c, lang="ja") == (
        "リピート購入のある顧客3人のうち1人(33.3%)は生存確率が50%未満で、すでに離れている"
        "可能性が高い顧客です。1回購入のみの2人は、モデルの仮定上すべて生存確率100%です。"
    )
    assert narrate.probability_alive(c, threshold=0.6, lang="en") == (
        "2 of the 3 customers with a repeat purchase (66.7%) have a probability alive below "
        "60%: they have probably left. The model counts all 2 one-time buyers as alive (it "
        "assumes nobody leaves before a repeat purchase)."
    )
    nobody = c[c["frequency"] == 0]
    assert "顧客0人のうち0人(—)" in narrate.probability_alive(nobody, lang="ja")


def _check(purchases: tuple, value: tuple) -> types.SimpleNamespace:
    """A calibration result with the summary rows (predicted, actual, correlation)."""
    rows = []
    for measure, (pred, act, corr) in (("purchases", purchases), ("value", value)):
        rows.append(
            {
                "measure": measure,
                "customers": 1_000,
                "predicted_total": pred,
                "actual_total": act,
                "relative_error": (pred - act) / act if act else float("nan"),
                "mae": 1.0,
                "rmse": 2.0,
                "correlation": corr,
            }
        )
    return types.SimpleNamespace(
        summary=pd.DataFrame(rows), cutoff=dt.date(2025, 10, 31), as_of=dt.date(2026, 10, 31)
    )


def test_calibration_close() -> None:
    """1,234.4 predicted against 1,200: +2.9% (within 10%); value +12.0%."""
    check = _check((1_234.4, 1_200, 0.7391), (5_600_000.0, 5_000_000.0, 0.6))
    assert narrate.calibration(check, lang="ja") == (
        "2025-10-31までの購入履歴で推定したモデルは、2026-10-31までの購入回数を合計1,234回と"
        "予測し、実績は1,200回でした(誤差+2.9%、対象1,000人、顧客ごとの相関0.74)。"
        "購入金額は予測¥5,600,000に対し実績¥5,000,000(誤差+12.0%)。"
        "購入回数の誤差は±10%以内ですが、購入金額の誤差は±10%を超えています。"
        "購入回数の予測は使えますが、金額の予測は目安として扱ってください。"
    )
    assert narrate.calibration(check, lang="en") == (
        "Fitted on the purchases up to 2025-10-31, the model predicted 1,234 purchases by "
        "2026-10-31 from the 1,000 customers known then; they made 1,200 (+2.9%; per-customer "
        "correlation 0.74). Predicted revenue ¥5,600,000 against ¥5,000,000 actual (+12.0%). "
        "The purchase count is within ±10% but revenue is more than 10% off: use the predicted "
        "purchases, and treat the predicted value as a rough guide."
    )
    both = _check((1_234.4, 1_200, 0.7391), (5_300_000.0, 5_000_000.0, 0.6))  # value +6.0%
    assert narrate.calibration(both, lang="ja").endswith(
        "購入回数・購入金額とも誤差±10%以内で、モデルはこのショップによく合っています。"
    )


def test_calibration_far_off_or_unmeasurable() -> None:
    """880 against 1,000 is −12.0%: outside 10%, inside 15%; no actual purchases: no error."""
    off = _check((880.0, 1_000, float("nan")), (1.0, 1.0, float("nan")))
    ja = narrate.calibration(off, lang="ja")
    assert "(誤差-12.0%、対象1,000人、顧客ごとの相関—)" in ja
    assert ja.endswith("購入回数の誤差が±10%を超えています。予測値は目安として扱ってください。")
    assert narrate.calibration(off, tolerance=0.15, lang="en").endswith(
        "Purchases and revenue are within ±15%: the model describes this shop well."
    )
    none = _check((5.0, 0, 0.1), (500.0, 0.0, 0.1))
    assert "more than 10% off" in narrate.calibration(none, lang="en")
    assert "(—; per-customer" in narrate.calibration(none, lang="en")


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ParameterError):
        narrate.predicted_value(predict.value_deciles(_customers()), lang="fr")


def _kpis(month: str, **values: float) -> pd.DataFrame:
    return pd.DataFrame(
        [{"month": pd.Timestamp(month), "kpi": k, "value": v} for k, v in values.items()]
    )


def test_revenue_split_names_the_guest_remainder():
    k = _kpis("2026-10-01", revenue=1_000_000, new_revenue=300_000, repeat_revenue=634_560)
    assert narrate.revenue_split(k) == (
        "2026-10の売上¥1,000,000は、新規顧客¥300,000とリピート顧客¥634,560、"
        "会員IDのない購入(ゲスト購入)¥65,440の合計です。"
    )
    assert narrate.revenue_split(k, lang="en", currency="GBP").endswith(
        "plus £65,440.00 from orders without a customer id (guest orders)."
    )
    whole = _kpis("2026-10-01", revenue=10, new_revenue=4, repeat_revenue=6)
    assert narrate.revenue_split(whole) == (
        "2026-10の売上¥10は、新規顧客¥4とリピート顧客¥6の合計です。"
    )
    assert narrate.revenue_split(_kpis("2026-10-01", revenue=10)) == ""


def test_revenue_split_remainder_is_the_guests_net_amount(demo_root):
    """On the demo shop the gap is exactly the month's guest lines (an independent pandas sum)."""
    from ecrm.analysis import kpi

    orders = demo_root / "data" / "demo-apparel" / "canonical" / "orders.parquet"
    table = kpi.kpi_table(orders, as_of=dt.date(2026, 10, 31))
    last = table[table["month"] == table["month"].max()].set_index("kpi")["value"]
    gap = last["revenue"] - last["new_revenue"] - last["repeat_revenue"]
    o = pd.read_parquet(orders, columns=["customer_id", "ordered_at", "amount"])
    month = o[(o.ordered_at >= "2026-10-01") & (o.ordered_at < "2026-11-01")]
    guests = float(month.loc[month.customer_id.isna(), "amount"].astype(float).sum())
    assert guests > 0
    assert gap == pytest.approx(guests, abs=0.5)


def test_kpi_trend_states_the_window_it_used():
    """Months without a value (F2 before a cohort is old enough) are not in the average."""
    months = pd.date_range("2025-10-01", periods=13, freq="MS")
    values = [float("nan")] * 9 + [0.40, 0.44, 0.42, 0.45]
    k = pd.DataFrame({"month": months, "kpi": "f2_rate", "value": values})
    assert narrate.kpi_trend(k, "f2_rate") == (
        "今月のF2転換率(90日)は45.0%で、過去3ヶ月(2026-07〜2026-09)の平均(42.0%)比+3.0ポイントです。"
    )
    assert narrate.kpi_trend(k, "f2_rate", lang="en").endswith(
        "against the average of the previous 3 months (2026-07 to 2026-09: 42.0%)."
    )
    one = k.iloc[-2:]
    assert "過去1ヶ月(2026-09)" in narrate.kpi_trend(one, "f2_rate")


# --------------------------------------------------------------------------- predicted value
# horizons, hold-out cut-off and tracking, P(alive) matrix (ecrm.present.narrate_predict)


def _horizons(rate: float = 0.0) -> pd.DataFrame:
    """Two horizons for 4 customers: 3 months 2 purchases / ¥8,000, 12 months 6 / ¥20,000."""
    return pd.DataFrame(
        {
            "horizon_months": [3, 12],
            "customers": [4, 4],
            "expected_purchases": [2.0, 6.0],
            "avg_expected_purchases": [0.5, 1.5],
            "expected_value": [8_000.0, 20_000.0],
            "avg_expected_value": [2_000.0, 5_000.0],
            "discount_rate_annual": [rate, rate],
        }
    )


def test_horizons_name_each_horizon_and_the_discounting() -> None:
    assert narrate_predict.horizons(_horizons(), lang="ja") == (
        "現在の顧客4人の予測(割引なし):3ヶ月で1人あたり0.50回・¥2,000(合計¥8,000)、"
        "12ヶ月で1人あたり1.50回・¥5,000(合計¥20,000)。"
    )
    assert narrate_predict.horizons(_horizons(0.05), lang="en", currency="GBP") == (
        "Today's 4 customers, predicted (discounted at 5.0% a year): 3 months: 0.50 purchases "
        "and £2,000.00 per customer (£8,000.00 in total); 12 months: 1.50 purchases and "
        "£5,000.00 per customer (£20,000.00 in total)."
    )
    assert "年率5.0%で割引" in narrate_predict.horizons(_horizons(0.05), lang="ja")
    assert narrate_predict.horizons(_horizons().head(0), lang="en") == "—"


def test_discounting_wording() -> None:
    assert narrate_predict.discounting(0, lang="ja") == "割引なし"
    assert narrate_predict.discounting(0.0, lang="en") == "undiscounted"
    assert narrate_predict.discounting(0.1, lang="ja") == "年率10.0%で割引"
    with pytest.raises(ParameterError):
        narrate_predict.discounting(0.1, lang="fr")


def _holdout(rule: str) -> types.SimpleNamespace:
    return types.SimpleNamespace(
        cutoff=dt.date(2011, 6, 1),
        as_of=dt.date(2011, 11, 30),
        info={"cutoff_rule": rule, "history_start": dt.date(2010, 12, 1), "holdout_days": 182},
    )


def test_cutoff_states_the_date_and_why() -> None:
    assert narrate_predict.cutoff(_holdout("middle_of_history"), lang="ja") == (
        "検証のカットオフは2011-06-01です(履歴(2010-12-01〜2011-11-30)が24ヶ月に満たないため、"
        "その中間で区切りました)。それまでの購入でモデルを推定し、その後182日間の購入と比べます。"
    )
    assert narrate_predict.cutoff(_holdout("as_of_minus_months"), lang="en") == (
        "The hold-out cut-off is 2011-06-01 (the history (2010-12-01 to 2011-11-30) is long "
        "enough: 12 months before the report date). The model is fitted on the purchases up "
        "to it and compared with the 182 days after."
    )


def test_tracking_says_how_far_the_cumulative_prediction_ended() -> None:
    """Three weeks: predicted 10 + 10 + 12 = 32 against 40 actual: 32 / 40 − 1 = −20.0%."""
    t = pd.DataFrame({"predicted_cumulative": [10.0, 20.0, 32.0], "actual_cumulative": [9, 25, 40]})
    assert narrate_predict.tracking(t, lang="ja").startswith(
        "ホールドアウトの3週間で、累積の予測購入回数は32回、実績は40回でした(差-20.0%)。"
    )
    assert narrate_predict.tracking(t, lang="en").startswith(
        "Over the 3 hold-out weeks the cumulative prediction ended at 32 purchases against "
        "40 actual (-20.0%)."
    )
    assert narrate_predict.tracking(t.head(0), lang="en") == "—"


def _matrix() -> pd.DataFrame:
    """T = 10 days; frequency 1 alive ≥ 50% from recency 4 (silence 6 days), frequency 3 from
    recency 7 (3 days); frequency 0 always alive."""
    rec = list(range(11))
    rows = []
    for f, first_alive in ((0, 0), (1, 4), (2, 6), (3, 7)):
        rows += [(f, r, 10, 0.9 if r >= first_alive else 0.2) for r in rec]
    return pd.DataFrame(rows, columns=["frequency", "recency", "T", "probability_alive"])


def test_alive_matrix_reads_the_silence_before_p_alive_halves() -> None:
    assert narrate_predict.alive_matrix(_matrix(), lang="ja") == (
        "初回購入から10日たった顧客で、最後の購入からこの日数を過ぎると生存確率が50%を下回ります:"
        "1回リピートした顧客は6日、3回リピートした顧客は3日。"
        "よく買っていた顧客ほど、購入が途絶えたら早めに声をかける価値があります。"
    )
    en = narrate_predict.alive_matrix(_matrix(), lang="en")
    assert "1 repeat purchase: after 6 days without a purchase; 3 repeat purchases: after 3" in en
    never = _matrix()
    never.loc[never["frequency"] == 3, "probability_alive"] = 0.9  # never below 50%
    text = narrate_predict.alive_matrix(never, lang="ja")
    assert "3回リピートした顧客は10日以内には下回りません" in text and "よく買っていた" not in text
    assert narrate_predict.alive_matrix(_matrix().query("frequency == 0"), lang="ja") == "—"


def test_cutoff_follows_the_prediction_months() -> None:
    six = _holdout("middle_of_history")
    six.info["months"] = 6
    assert "12ヶ月に満たないため" in narrate_predict.cutoff(six, lang="ja")
    six.info["cutoff_rule"] = "as_of_minus_months"
    assert "6 months before the report date" in narrate_predict.cutoff(six, lang="en")


# ------------------------------------------------- windows stated as used (issue #21)

_DECILES = pd.DataFrame(
    {"decile": [1, 2, 3], "revenue_share": [0.5, 0.2, 0.1], "cumulative_share": [0.5, 0.7, 0.8]}
)


def _w(start: str, end: str, first: str | None) -> object:
    from ecrm.analysis.segments import Window

    d = dt.date.fromisoformat
    return Window(d(start), d(end), d(first) if first else None)


def test_decile_on_a_short_history_names_the_days_the_data_cover() -> None:
    w = _w("2010-12-01", "2011-11-30", "2011-05-03")
    assert narrate.decile(_DECILES, lang="ja", window=w) == (
        "上位10%の顧客(デシル1)が2011-05-03〜2011-11-30(データは2011-05-03から)の売上の"
        "50.0%を占めました。上位30%では80.0%です。"
    )
    assert narrate.decile(_DECILES, lang="en", window=w._replace(first_order=dt.date(2009, 1, 1)))
    assert "revenue from 2010-12-01 to 2011-11-30;" in narrate.decile(
        _DECILES, lang="en", window=w._replace(first_order=dt.date(2009, 1, 1))
    )


def test_a_comparison_before_the_data_is_said_to_be_so() -> None:
    w = _w("2010-11-30", "2010-11-30", "2010-12-01")
    mig = pd.DataFrame({"from_segment": ["none"], "to_segment": ["champions"], "customers": [5]})
    assert narrate.rfm_migration(mig, lang="ja", window=w) == (
        "比較の時点(2010-11-30)はデータの開始(2010-12-01)より前のため、"
        "セグメントの移動はまだ測れません。"
    )
    prev = _w("2009-12-01", "2010-11-30", "2010-12-01")
    dmig = pd.DataFrame({"from_decile": ["none"], "to_decile": ["1"], "customers": [3]})
    assert narrate.decile_migration(dmig, lang="en", previous=prev) == (
        "The comparison period (2009-12-01 to 2010-11-30) ends before the data begin "
        "(2010-12-01): the decile movement cannot be measured yet."
    )
    moves = pd.DataFrame({"movement": ["new"], "customers": [4_297]})
    assert narrate.cpm_transitions(moves, lang="en", window=w) == (
        "The comparison date (2010-11-30) is before the data begin (2010-12-01): the movement "
        "between segments cannot be measured yet."
    )
    # covered: the usual sentence
    assert "4,297" in narrate.cpm_transitions(
        moves, lang="en", window=w._replace(first_order=dt.date(2009, 1, 1))
    )
    assert "1年前の" in narrate.rfm_migration(
        mig, lang="ja", window=w._replace(first_order=dt.date(2009, 1, 1))
    )


def test_the_decile_summary_does_not_call_a_short_history_12_months() -> None:
    from ecrm.present import narrate_findings

    w = _w("2010-12-01", "2011-11-30", "2011-05-03")
    text = narrate_findings.decile_summary(_DECILES, as_of="2011-11-30", lang="ja", window=w)
    assert "12ヶ月" not in text and "2011-05-03〜2011-11-30" in text


@given(
    start=st.dates(dt.date(2015, 1, 1), dt.date(2020, 1, 1)),
    days=st.integers(0, 800),
    first=st.dates(dt.date(2014, 1, 1), dt.date(2023, 1, 1)),
)
def test_a_window_is_stated_from_the_first_day_the_data_cover(
    start: dt.date, days: int, first: dt.date
) -> None:
    from ecrm.analysis.segments import Window
    from ecrm.present import narrate_windows

    w = Window(start, start + dt.timedelta(days=days), first)
    text = narrate_windows.span(w, "ja")
    assert text.startswith(max(start, first).isoformat())
    assert ("データは" in text) == (first > start) == (not w.full)
    assert w.empty == (first > w.end)


@pytest.mark.parametrize("module", ["ecrm.present.narrate_windows", "ecrm.analysis.segments"])
def test_window_docstring_examples(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_segment_trends_start_at_the_first_month_end_with_customers() -> None:
    ends = [
        dt.date(2023, 9, 30),
        dt.date(2023, 10, 31),
        dt.date(2023, 11, 30),
        dt.date(2024, 3, 31),
    ]
    monthly = pd.DataFrame(
        {
            "month_end": [e for e in ends for _ in range(2)],
            "segment": ["vip", "dormant"] * 4,
            "customers": [0, 0, 0, 0, 3, 0, 234, 244],
        }
    )
    assert narrate.lifecycle(monthly, lang="ja") == (
        "「優良」は2023-11末の3人から2024-03末の234人になりました。 "
        "「休眠」は2023-11末の0人から2024-03末の244人になりました。"
    )


def test_the_lifecycle_summary_counts_only_month_ends_the_data_cover() -> None:
    from ecrm.present import narrate_findings

    ends = [dt.date(2023, 10, 31), dt.date(2023, 11, 30), dt.date(2023, 12, 31)]
    monthly = pd.DataFrame(
        {
            "month_end": [e for e in ends for _ in range(2)],
            "segment": ["vip", "dormant"] * 3,
            "customers": [0, 0, 1, 2, 3, 4],
            "revenue": [0, 0, 10, 0, 30, 0],
        }
    )
    text = narrate_findings.lifecycle_summary(monthly, as_of="2023-12-31", lang="ja")
    assert text.startswith("直近2ヶ月、2023-12-31時点。")


def test_first_purchase_ctb_states_its_horizon_and_an_empty_table() -> None:
    """The sentence names the table's horizon; with nobody observable it says so."""
    rows = [("product", v, n, 0.5, 10, f2, 1.0, ltv, 90) for v, n, f2, ltv in
            (("TEA", 60, 0.4, 900.0), ("CUP", 40, 0.2, 500.0))]  # fmt: skip
    cols = ["level", "value", "customers", "share", "repeaters", "f2_rate", "revenue", "ltv",
            "horizon_days"]  # fmt: skip
    first = pd.DataFrame(rows, columns=cols)
    assert narrate.first_purchase_ctb(first, level="product", lang="ja") == (
        "初回購入が「TEA」の顧客は90日LTV ¥900(F2転換率40.0%)で最も価値が高く、"
        "「CUP」は¥500(F2転換率20.0%)です。"
    )
    assert narrate.first_purchase_ctb(first.iloc[:0], lang="en") == (
        "No customer can be followed for 360 days after the first purchase yet."
    )


def test_ctb_transitions_reads_a_repeat_with_enough_purchases() -> None:
    """EASTER's 2 of 2 (100%) is too small to headline; TEA's 30 of 100 is read."""
    t = pd.DataFrame(
        {
            "from_value": ["EASTER", "TEA", "TEA", "CUP"],
            "to_value": ["EASTER", "TEA", "CUP", "CUP"],
            "pairs": [2, 30, 70, 5],
            "from_total": [2, 100, 100, 20],
            "probability": [1.0, 0.3, 0.7, 0.25],
        }
    )
    assert narrate.ctb_transitions(t, lang="ja") == (
        "「TEA」を買った顧客は、次の購入でも(次の購入がある購入100件のうち)30.0%が「TEA」を選んで"
        "います(最も多い再購入の組み合わせ)。"
    )
    small = t[t["from_value"] != "TEA"]  # nobody reaches 30: the largest value is read
    assert "'CUP' chose it again next time (of 20 purchases" in narrate.ctb_transitions(
        small, lang="en"
    )
