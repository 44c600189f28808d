"""The D2C plots draw what their tables hold, in both languages."""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.figure import Figure

from ecrm.analysis import channels, products, revenue_change, subscriptions
from ecrm.models import subscription_value
from ecrm.present import format as numfmt
from ecrm.present.plotting import d2c
from tests.test_channels import COSTS
from tests.test_channels import _orders as channel_orders
from tests.test_products import _orders as product_orders
from tests.test_revenue_change import _orders as revenue_orders
from tests.test_subscription_value import _shop


@pytest.fixture(scope="module")
def subs_shop() -> pd.DataFrame:
    return _shop(per_cohort=60)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_subscription_plots(subs_shop, lang, tmp_path):
    c = subscriptions.continuation(subs_shop, as_of="2026-10-31", lapse_days=40)
    ax = d2c.plot_continuation(c, lang=lang)
    assert len(ax.patches) == c["continuation_rate"].notna().sum()
    assert ax.get_title() == (
        "定期継続率(回数別)" if lang == "ja" else "Subscription continuation by delivery"
    )
    m = subscriptions.subscription_monthly(subs_shop, as_of="2026-10-31", lapse_days=40)
    ax = d2c.plot_cancellation_trend(m, lang=lang)
    assert len(ax.patches) == len(m)
    p = subscription_value.project(subs_shop, as_of="2026-10-31", lapse_days=40)
    ax = d2c.plot_projection(p.survival, lang=lang)
    assert len(ax.lines) == 2
    check = subscription_value.projection_check(
        subs_shop, cutoff="2026-04-30", as_of="2026-10-31", lapse_days=40
    )
    ax = d2c.plot_projection(check, lang=lang)
    assert len(ax.lines) == 3  # observed, projected and the hold-out line
    ax.figure.savefig(tmp_path / "projection.png")
    assert (tmp_path / "projection.png").stat().st_size > 5000


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_channel_revenue_and_product_plots(lang):
    t = channels.acquisition(channel_orders(), as_of="2026-10-31", costs=COSTS)
    ax = d2c.plot_channel_ltv(t, lang=lang)
    assert {line.get_label() for line in ax.lines} == {"ads", "rakuten"}
    ax = d2c.plot_ltv_cac(channels.acquisition_summary(t), days=90, lang=lang)
    assert len(ax.patches) == 2  # ads 1.0 and rakuten 1.5; the idle February row has no LTV
    r = revenue_change.revenue_change(revenue_orders(), as_of="2026-10-31")
    ax = d2c.plot_revenue_change(r, lang=lang)
    assert len(ax.patches) == len(r) + 1  # before, seven drivers, after
    drop = ax.patches[1]  # new customers fell: the bar hangs from September's 1,800
    assert drop.get_y() == pytest.approx(1800.0)
    assert drop.get_height() == pytest.approx(r["contribution"].iloc[0])
    assert ax.patches[-1].get_height() == pytest.approx(3600.0)
    e = products.entry_products(
        product_orders(), as_of="2026-12-31", min_customers=1, export_complete=True
    )
    ax = d2c.plot_entry_products(e, lang=lang)
    assert isinstance(ax.figure, Figure)
    assert len(ax.patches) == int(e["f2_rate_360"].notna().sum())  # observable products only
    ax = d2c.plot_entry_products(e, days=90, lang=lang)
    assert len(ax.patches) == int(e["f2_rate_90"].notna().sum()) > 0
    assert ax.get_title().endswith(
        "(90日以内)" if lang == "ja" else "within 90 days by entry product"
    )


def _money_ticks(ax) -> list[str]:
    ax.figure.canvas.draw()
    return [t.get_text() for t in ax.get_yticklabels() if t.get_text()]


@pytest.mark.parametrize(("currency", "symbol"), [("JPY", "¥"), ("GBP", "£")])
def test_money_axes_carry_the_currency(currency, symbol):
    t = channels.acquisition(channel_orders(), as_of="2026-10-31", costs=COSTS)
    ax = d2c.plot_channel_ltv(t, currency=currency)
    assert _money_ticks(ax) and all(x.startswith(symbol) for x in _money_ticks(ax))
    assert currency in ax.get_ylabel()
    r = revenue_change.revenue_change(revenue_orders(), as_of="2026-10-31")
    ax = d2c.plot_revenue_change(r, currency=currency, lang="en")
    assert all(x.startswith(symbol) for x in _money_ticks(ax))
    first = r["contribution"].iloc[0]
    assert ax.texts[0].get_text() == ("+" if first >= 0 else "") + numfmt.money(
        first, currency, decimals=0
    )


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_empty_tables_draw_a_chart_that_says_why(lang):
    t = channels.acquisition(channel_orders(), as_of="2026-10-31", costs=COSTS)
    ax = d2c.plot_ltv_cac(channels.acquisition_summary(t), days=360, lang=lang)
    assert len(ax.patches) == 0  # nothing observable for 360 days by October
    (note,) = ax.texts
    assert note.get_text() == (
        "広告費のある獲得月で360日経過したものがまだありません"
        if lang == "ja"
        else "no acquisition month with a cost observable for 360 days yet"
    )
    e = products.entry_products(
        product_orders(), as_of="2026-12-31", min_customers=10_000, export_complete=True
    )
    ax = d2c.plot_entry_products(e, lang=lang)
    assert e.empty and len(ax.patches) == 0 and len(ax.texts) == 1
    title = (
        "初回購入商品別のF2転換率(360日以内)"
        if lang == "ja"
        else "F2 within 360 days by entry product"
    )
    assert ax.get_title() == title


def test_cancellation_trend_counts_on_whole_ticks(subs_shop):
    m = subscriptions.subscription_monthly(subs_shop, as_of="2026-10-31", lapse_days=40)
    small = m.assign(active=[i % 3 for i in range(len(m))])
    ax = d2c.plot_cancellation_trend(small)
    ticks = ax.get_yticks()
    assert all(float(v).is_integer() for v in ticks)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_cohort_retention_and_entry_value_plots(subs_shop, lang):
    r = subscriptions.cohort_retention(subs_shop, as_of="2026-10-31", lapse_days=40)
    ax = d2c.plot_cohort_retention(r, cohorts=5, lang=lang)
    assert len(ax.lines) == 5  # the latest five start months
    assert ax.get_title() == (
        "開始月別の定期継続率" if lang == "ja" else "Subscription retention by start month"
    )
    entry = pd.DataFrame(
        {
            "entry_product": ["A", "B", "C"],
            "customers_360": [40, 35, 3],
            "f2_rate_360": [0.5, 0.2, 1.0],
            "revenue_per_customer_360": [4000.0, 9000.0, 99000.0],
        }
    )
    ax = d2c.plot_entry_value(entry, min_customers=30, lang=lang)
    # C (3 customers) left out; B, the highest value, drawn on top
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A", "B"]
    assert [p.get_width() for p in ax.patches] == [4000.0, 9000.0]


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_entry_value_on_a_short_history_shows_the_90_day_f2(lang):
    """Nobody observable for 360 days: the chart compares the 90-day F2 rates instead."""
    e = pd.DataFrame(
        {
            "entry_product": ["A", "B", "C"],
            "product_name": ["Tea", "Cup", "Pot"],
            "customers": [50, 40, 35],
            "customers_90": [45, 30, 0],
            "f2_rate_90": [0.4, 0.6, float("nan")],
            "customers_360": [0, 0, 0],
            "f2_rate_360": [float("nan")] * 3,
            "revenue_per_customer_360": [float("nan")] * 3,
        }
    )
    ax = d2c.plot_entry_value(e, min_customers=30, lang=lang)
    assert sorted(p.get_width() for p in ax.patches) == [0.4, 0.6]  # C has nobody 90 days old
    assert "90" in ax.get_title() and not ax.texts[0].get_text().startswith("no ")
