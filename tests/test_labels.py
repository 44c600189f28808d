"""Labels are static data: complete for the tables they head, the same in every process."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ecrm.analysis import channels, cross_sell, products, revenue_change, subscriptions
from ecrm.present import labels
from tests.test_channels import COSTS
from tests.test_channels import _orders as channel_orders
from tests.test_products import _orders as product_orders
from tests.test_revenue_change import _orders as revenue_orders
from tests.test_subscriptions import _orders as subscription_orders

# columns that are codes or counts of their own (shown as they are on purpose)
SELF_NAMED = {"n", "label", "t", "month", "month_end", "days", "ltv", "roas", "ltv_cac", "lift"}


def _d2c_tables():
    s = subscription_orders()
    yield "continuation", subscriptions.continuation(s, as_of="2026-10-31")
    yield "subscription_monthly", subscriptions.subscription_monthly(s, as_of="2026-10-31")
    yield "subscriptions", subscriptions.subscriptions(s, as_of="2026-10-31")
    a = channels.acquisition(channel_orders(), as_of="2026-10-31", costs=COSTS)
    yield "acquisition", a
    yield "revenue_change", revenue_change.revenue_change(revenue_orders(), as_of="2026-10-31")
    p = product_orders()
    yield "entry_products", products.entry_products(p, as_of="2026-12-31", min_customers=1)
    yield "product_conversion", products.product_conversion(p, as_of="2026-12-31", min_customers=1)
    yield "product_pairs", products.cross_purchase_products(p, as_of="2026-12-31", min_customers=1)
    yield "cross_sell", cross_sell.cross_sell_monthly(p, as_of="2026-12-31", months=2)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_d2c_column_has_a_label(lang):
    missing = {
        name: [c for c in t.columns if c not in SELF_NAMED and c not in labels.LABELS]
        for name, t in _d2c_tables()
    }
    assert not {k: v for k, v in missing.items() if v}, missing
    assert labels.label("cancellation_rate", lang) in ("解約率", "cancellation rate")


def test_labels_are_read_only_and_cannot_be_registered():
    assert not hasattr(labels, "register")
    with pytest.raises(TypeError):
        labels.LABELS["revenue"] = ("x", "y")  # type: ignore[index]


def test_the_same_text_in_a_fresh_process():
    """A label never depends on which analyses ran before (nothing is registered)."""
    code = "from ecrm.present import labels; print(labels.label('repeaters', 'ja'))"
    fresh = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert fresh.stdout.strip() == labels.label("repeaters", "ja") == "2回目購入者数"
