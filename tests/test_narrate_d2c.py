"""The D2C sentences: computed from the tables, in both languages, with the window used."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm.analysis import channels, products, revenue_change, subscriptions
from ecrm.models import subscription_value
from ecrm.present import narrate_d2c as say
from tests.test_channels import COSTS
from tests.test_channels import _orders as channel_orders
from tests.test_products import _orders as product_orders
from tests.test_revenue_change import _orders as revenue_orders
from tests.test_subscription_value import _shop
from tests.test_subscriptions import _orders as subscription_orders


def test_continuation_and_monthly():
    c = subscriptions.continuation(subscription_orders(), as_of="2026-10-31", max_n=3)
    assert say.continuation(c) == (
        "1回目から2回目への継続率は33.3%(到達4件)で、最も低いのは3回目→4回目の0.0%です。"
    )
    assert "33.3% of subscriptions renew" in say.continuation(c, lang="en")
    m = subscriptions.subscription_monthly(subscription_orders(), as_of="2026-10-31", months=10)
    text = say.subscription_monthly(m)
    assert text.startswith("2026-10の解約率は0.0%(月末継続1件)")
    assert "表示した5ヶ月の平均" in text  # months after one with nobody active have no rate


def test_projection_with_its_check():
    shop = _shop(per_cohort=80)
    p = subscription_value.project(shop, as_of="2026-10-31", lapse_days=40)
    check = subscription_value.projection_check(
        shop, cutoff="2026-04-30", as_of="2026-10-31", lapse_days=40
    )
    ja = say.projection(p.summary, check)
    assert "期待配送回数は24回までで" in ja and "定期LTVは¥" in ja and "予測誤差は最大" in ja
    en = say.projection(p.summary, check, lang="en", currency="GBP")
    assert "£" in en and "within 24" in en


def test_channels_revenue_and_products():
    a = channels.acquisition(channel_orders(), as_of="2026-10-31", costs=COSTS)
    s = channels.acquisition_summary(a)
    assert say.channel_value(s, days=90) == (
        "90日LTVが最も高い初回チャネルはadsで¥6,000です。広告費に対するLTV/CACは1.00です。"
    )
    assert "No acquisition month" in say.channel_value(s, days=360, lang="en")
    r = revenue_change.revenue_change(revenue_orders(), as_of="2026-10-31")
    assert say.revenue_change(r) == (
        "2026-10の売上は2026-09比で¥1,800(+100.0%)、最大の要因は新規の客単価(¥1,516)です。"
    )
    e = products.entry_products(
        product_orders(),
        as_of="2026-12-31",
        min_customers=1,
        exclude_ids=["SHIP"],
        export_complete=True,
    )
    assert "teeで100.0%" in say.entry_products(e)


@pytest.mark.parametrize("lang", ["fr"])
def test_unknown_language(lang):
    r = revenue_change.revenue_change(revenue_orders(), as_of="2026-10-31")
    with pytest.raises(Exception, match="lang"):
        say.revenue_change(r, lang=lang)


def test_ltv_cac_counts_the_channels_that_earn_their_cost_back():
    s = channels.acquisition_summary(
        channels.acquisition(channel_orders(), as_of="2026-10-31", costs=COSTS)
    )
    assert say.ltv_cac(s, days=90) == (
        "広告費のある2チャネルのうち2チャネルが90日で獲得費用を回収しています"
        "(LTV/CAC ≥ 1)。最も低いのはadsで1.00です。"
    )
    assert say.ltv_cac(s, days=90, lang="en") == (
        "2 of the 2 channels with a cost earn it back within 90 days (LTV/CAC ≥ 1); "
        "the lowest is ads at 1.00."
    )
    # no month is observable for 360 days by October: said, no figure made up
    assert say.ltv_cac(s, days=360) == "広告費のある獲得月で360日経過したものがまだありません。"
    no_cost = channels.acquisition_summary(
        channels.acquisition(channel_orders(), as_of="2026-10-31")
    )
    assert "No acquisition month with a cost" in say.ltv_cac(no_cost, days=90, lang="en")


def test_missing_data_messages_name_the_setting_to_fix():
    assert say.missing("costs") == (
        "広告費の表(costs:)がないため、CAC・LTV/CACは計算できません。"
        "月・チャネル・広告費の表をショップ設定の costs: に指定してください。"
    )
    for what in say.MISSING:
        assert say.missing(what, lang="ja") != say.missing(what, lang="en")
    assert "`columns`" in say.missing("subscriptions", lang="en")
    with pytest.raises(KeyError):
        say.missing("weather")


_OPTIONAL = ("subscription_id", "channel", "product_id")


@given(
    present=st.dictionaries(
        st.sampled_from(_OPTIONAL), st.sampled_from(["values", "empty"]), max_size=3
    ),
    costs=st.sampled_from([None, "empty", "rows"]),
)
@settings(max_examples=30, deadline=None)
def test_available_reports_exactly_the_columns_that_hold_values(present, costs):
    orders = pd.DataFrame(
        {
            "order_id": ["1", "2"],
            "customer_id": ["a", "b"],
            "ordered_at": pd.to_datetime(["2026-01-01", "2026-01-02"]),
            "amount": [100.0, 200.0],
        }
    )
    for col, how in present.items():
        orders[col] = ["x", None] if how == "values" else pd.Series([None, None], dtype=object)
    table = {None: None, "empty": COSTS.iloc[:0], "rows": COSTS}[costs]
    have = say.available(orders, costs=table)
    assert have["subscriptions"] == (present.get("subscription_id") == "values")
    assert have["channel"] == (present.get("channel") == "values")
    assert have["product_id"] == (present.get("product_id") == "values")
    assert have["costs"] == (costs == "rows")


def test_cohort_retention_sentence():
    from tests.test_subscriptions import _skipping

    r = subscriptions.cohort_retention(_skipping(), as_of="2026-10-31")
    # 3 months on: Jan (s1, s5 active at April's end: 2/2), Feb (s2: 0/1), Mar (s3: 0/1);
    # the latest observable start month is 2026-03 (September's s4 is not 3 months old)
    assert say.cohort_retention(r) == (
        "開始から3ヶ月後も継続している定期は、最新の2026-03開始分で0.0%(開始1件)、"
        "3ヶ月分の開始月の合計では50.0%です。"
    )
    assert say.cohort_retention(r, months=12, lang="en") == (
        "No subscription has been running for 12 month ends yet."
    )


def test_projection_check_sentence():
    check = pd.DataFrame(
        {
            "n": [1, 2, 3],
            "projected": [1.0, 0.6, 0.40],
            "observed": [1.0, 0.62, 0.35],
            "error": [0.0, -0.02, 0.05],
            "beyond_cutoff": [False, False, True],
        }
    )
    import datetime as dt

    text = say.projection_check(check, cutoff=dt.date(2025, 10, 31), rule="as_of_minus_months")
    assert text == (
        "2025-10-31までのデータで当てはめたsBGモデルの予測は、その後の実績と比べて"
        "平均2.3ポイント、最大で3回目に5.0ポイント高めでした(1〜3回目で検証)。"
    )
    en = say.projection_check(check, cutoff="2026-04-05", rule="middle_of_history", lang="en")
    assert en.startswith("Fitted on the data to 2026-04-05 (the middle of a history shorter")
    assert "at most 5.0 points above what was observed (delivery 3)" in en


def test_product_sentences_and_the_censored_note():
    entry = pd.DataFrame(
        {
            "entry_product": ["A", "B", "C"],
            "product_name": ["Tea", "Cake", "Jam"],
            "customers_360": [40, 35, 3],
            "f2_rate_360": [0.5, 0.2, 1.0],
            "revenue_per_customer_360": [9000.0, 4000.0, 99000.0],
        }
    )
    # C has 3 customers observable for 360 days: below the minimum, not ranked
    assert say.entry_value(entry, min_customers=30, lang="en") == (
        "Customers who started with Tea are worth the most within 360 days: ¥9,000 each "
        "(F2 50.0%, 40 customers); those who started with Cake ¥4,000 (F2 20.0%)."
    )
    assert "50人以上いる初回購入商品はまだないため、90日以内" in say.entry_value(
        entry, min_customers=50
    )
    conv = pd.DataFrame(
        {
            "entry_product": ["A", "A"],
            "second_product": ["A", "B"],
            "customers": [40, 40],
            "customers_both": [20, 8],
            "probability": [0.5, 0.2],
            "entry_product_name": ["Tea", "Tea"],
            "second_product_name": ["Tea", "Cake"],
        }
    )
    assert say.product_conversion(conv, lang="en") == (
        "Of the 40 customers who started with Tea and came back, 50.0% bought Tea on their "
        "second purchase."
    )
    pairs = pd.DataFrame(
        {
            "product_a": ["A"],
            "product_b": ["B"],
            "product_a_name": ["Tea"],
            "product_b_name": ["Cake"],
            "customers_both": [31],
            "confidence_ab": [0.129],
            "lift": [12.85],
        }
    )
    assert say.product_pairs(pairs) == (
        "直近12ヶ月で最も結びつきの強い組み合わせはTeaとCakeで、Teaの購入者の12.9%がCakeも"
        "購入しています(偶然の12.8倍、31人)。"
    )
    assert say.censored_left_out("2010-12", 948, lang="en") == (
        "2010-12 is the export's first month and holds customers who bought before the export "
        "began, so its 948 customers are left out of this table."
    )
    assert say.censored_left_out(None, 0) == ""


def test_entry_value_on_a_short_history_reads_the_90_day_f2():
    entry = pd.DataFrame(
        {
            "entry_product": ["A", "B"],
            "product_name": ["Tea", "Cup"],
            "customers_90": [45, 30],
            "f2_rate_90": [0.4, 0.6],
            "customers_360": [0, 0],
            "f2_rate_360": [float("nan")] * 2,
            "revenue_per_customer_360": [float("nan")] * 2,
        }
    )
    assert say.entry_value(entry, min_customers=30) == (
        "360日経過した顧客が30人以上いる初回購入商品はまだないため、90日以内のF2転換率で比べます。"
        "90日以内のF2転換率が最も高い初回購入商品はCupで60.0%(90日経過した新規30人)です。"
    )
    assert say.entry_products(entry, lang="en") == (
        "New customers who started with Cup come back most: 60.0% within 90 days "
        "(30 observable for 90 days)."
    )
