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
