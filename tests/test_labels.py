"""Labels are static data: complete for the tables they head, the same in every process."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from ecrm.analysis import channels, cross_sell, products, revenue_change, subscriptions
from ecrm.present import labels, tables
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
    yield (
        "entry_products",
        products.entry_products(p, as_of="2026-12-31", min_customers=1, export_complete=True),
    )
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


#: Acronyms a Japanese label may carry (a Japanese analyst writes them in Latin letters).
ACRONYMS = {"RFM", "LTV", "CPM", "CTB", "KPI", "AOV", "CSV", "HHI", "CAC", "ROAS", "PC"}


def _shown_columns() -> set[str]:
    """Every column an analysis table shows: the declared kinds and the per-table rules."""
    cols = set(tables.COLUMN_KINDS)
    for spec in tables.TABLES.values():
        cols |= set(spec.kinds) | set(spec.drop) | set(spec.constants) | set(spec.values)
    return cols


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_shown_column_has_a_label_in_both_languages(lang):
    missing = sorted(c for c in _shown_columns() if c not in labels.LABELS)
    assert not missing, missing
    for c in _shown_columns():
        text = labels.label(c, lang)
        assert text and "_" not in text, (c, text)


def test_japanese_labels_have_no_english_words_and_english_labels_no_japanese():
    japanese = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
    pairs = [*labels.LABELS.items(), *labels.KPI_LABELS.items(), *labels.DRIVER_LABELS.items()]
    words = {
        (code, w)
        for code, (ja, _en) in pairs
        for w in re.findall(r"[A-Za-z]{3,}", ja)
        if w not in ACRONYMS
    }
    assert not words, sorted(words)
    assert not [(code, en) for code, (_ja, en) in pairs if japanese.search(en)]


def test_the_acronym_check_catches_an_english_word():
    assert re.findall(r"[A-Za-z]{3,}", "平均revenue（LTV）") == ["revenue", "LTV"]
