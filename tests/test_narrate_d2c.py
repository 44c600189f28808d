"""The D2C sentences: computed from the tables, in both languages, with the window used."""

from __future__ import annotations

import pytest

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
        product_orders(), as_of="2026-12-31", min_customers=1, exclude_ids=["SHIP"]
    )
    assert "teeで100.0%" in say.entry_products(e)


@pytest.mark.parametrize("lang", ["fr"])
def test_unknown_language(lang):
    r = revenue_change.revenue_change(revenue_orders(), as_of="2026-10-31")
    with pytest.raises(Exception, match="lang"):
        say.revenue_change(r, lang=lang)
