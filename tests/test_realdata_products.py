"""Products and CTB on real data: UCI Online Retail (no category) and the Complete Journey sample.

UCI's StockCodes that are not 5-digit codes (with an optional letter suffix) were
read one by one with their Descriptions: these are not merchandise and make the
exclude list :data:`UCI_EXCLUDE_IDS` / :data:`UCI_EXCLUDE_PATTERN`: POST (POSTAGE),
DOT (DOTCOM POSTAGE), C2 (CARRIAGE), M / m (Manual), D (Discount), S (SAMPLES),
B (Adjust bad debt), BANK CHARGES, AMAZONFEE, CRUK (CRUK Commission) and the gift
vouchers (gift_0001_*, named "Dotcomgiftshop Gift Voucher"). The DCGS… codes and
PADS are real goods and stay.
``ecrm init`` proposes the ids (README, "Adding a client shop"); the vouchers need
the name pattern, which it leaves to the consultant. Both shops are read as
ingested (conftest ``online_retail``, ``complete_journey``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from ecrm.analysis import ctb, products
from tests.reference import ctb_pandas as ref

UCI_EXCLUDE_IDS = ["POST", "DOT", "C2", "M", "m", "D", "S", "B", "BANK CHARGES", "AMAZONFEE"]
UCI_EXCLUDE_IDS.append("CRUK")
UCI_EXCLUDE_PATTERN = r"(?i)gift voucher"
UCI_AS_OF = dt.date(2011, 12, 9)


def _is_excluded(ids: pd.Series) -> pd.Series:
    return ids.isin(UCI_EXCLUDE_IDS) | ids.str.startswith("gift_0001")


@pytest.fixture(scope="module")
def uci(online_retail: Path) -> Path:
    """UCI ingested as a consultant would (conftest ``online_retail``): StockCode as product_id."""
    return online_retail


def _kw(excluded: bool) -> dict:
    return (
        {"exclude_ids": UCI_EXCLUDE_IDS, "exclude_pattern": UCI_EXCLUDE_PATTERN} if excluded else {}
    )


@pytest.mark.parametrize("excluded", [False, True])
def test_uci_non_merchandise_leaves_the_product_tables(uci, excluded):
    e = products.entry_products(uci, as_of=UCI_AS_OF, min_customers=1, **_kw(excluded))
    c = products.product_conversion(uci, as_of=UCI_AS_OF, min_customers=1, top=50, **_kw(excluded))
    x = products.cross_purchase_products(uci, as_of=UCI_AS_OF, min_customers=5, **_kw(excluded))
    found = {
        "entry": set(e["entry_product"][_is_excluded(e["entry_product"])]),
        "conversion": set(c["second_product"][_is_excluded(c["second_product"])])
        | set(c["entry_product"][_is_excluded(c["entry_product"])]),
        "pairs": set(x["product_a"][_is_excluded(x["product_a"])])
        | set(x["product_b"][_is_excluded(x["product_b"])]),
    }
    if excluded:
        assert found == {"entry": set(), "conversion": set(), "pairs": set()}
        assert e.attrs["no_entry"] > 0  # customers whose first order was only postage and the like
    else:
        assert {"POST", "M"} <= found["entry"]
        assert "POST" in found["conversion"] and "POST" in found["pairs"]
    pairs = list(zip(x["product_a"], x["product_b"], strict=True))
    assert all(a < b for a, b in pairs) and len(set(pairs)) == len(pairs)


def test_uci_ctb_falls_back_to_products(uci):
    o, level = products.ctb_orders(
        uci, exclude_ids=UCI_EXCLUDE_IDS, exclude_pattern=UCI_EXCLUDE_PATTERN
    )
    assert level == "product"
    labels = products.product_labels(uci).to_pandas().set_index("product_id")["label"]
    excluded = set(labels[_is_excluded(pd.Series(labels.index, index=labels.index))])
    assert {"POSTAGE", "Manual (M)"} <= excluded  # labels the page would show (m: "Manual" too)
    first = ctb.first_purchase_ctb(
        o, as_of=UCI_AS_OF, levels=["category"], horizon_days=90, export_complete=False
    )  # 360 days: only December 2010's customers are observable, and they are censored
    assert not set(first["value"]) & excluded and first["customers"].sum() > 1000
    assert first.attrs["censored_customers"] > 800  # December 2010's customers are left out
    assert first.attrs["censored_cohort"] == "2010-12"
    # postage is often a foreign order's largest line: read past it, a first
    # purchase is "(unknown)" only when it held nothing but excluded lines
    kept = ctb.first_purchase_ctb(
        o, as_of=UCI_AS_OF, levels=["category"], horizon_days=90, export_complete=False,
        skip_missing=True,
    )  # fmt: skip
    unknown = kept.set_index("value")["customers"].get("(unknown)", 0)
    plain = first.set_index("value")["customers"].get("(unknown)", 0)
    assert unknown < 10 < 50 < plain
    assert kept["customers"].sum() == first["customers"].sum()
    pairs = ctb.cross_purchase(o, as_of=UCI_AS_OF, min_support=0.02)
    assert len(pairs) > 10
    assert not (set(pairs["value_a"]) | set(pairs["value_b"])) & excluded
    assert (pairs["value_a"] < pairs["value_b"]).all()
    assert len(set(zip(pairs["value_a"], pairs["value_b"], strict=True))) == len(pairs)
    names = products.product_names(uci, as_of=UCI_AS_OF)
    assert names["85123A"] == "WHITE HANGING HEART T-LIGHT HOLDER"  # its most frequent name
    assert names.index.is_unique


@pytest.fixture(scope="module")
def journey(complete_journey: Path) -> Path:
    """Complete Journey ingested with its product master (conftest): departments as categories."""
    return complete_journey


def test_complete_journey_departments_and_products(journey):
    as_of = dt.date(2017, 12, 31)
    got = ctb.cross_purchase(journey, as_of=as_of, level="category", min_support=0.01)
    lines = pd.read_parquet(journey)  # the pandas reference reads the same canonical file
    want = ref.cross_purchase(lines, as_of=as_of, level="category", min_support=0.01)
    got = got.sort_values(["value_a", "value_b"], ignore_index=True)
    assert len(got) == len(want) > 10
    cols = ["value_a", "value_b", "customers_both"]
    assert got[cols].values.tolist() == want[cols].values.tolist()
    assert ("DRUG GM", "GROCERY") in set(zip(got.value_a, got.value_b, strict=True))
    first = ctb.first_purchase_ctb(
        journey, as_of=as_of, levels=["category"], horizon_days=90, export_complete=False
    )
    assert first.loc[0, "value"] == "GROCERY" and first.attrs["censored_customers"] > 0
    wf = ref.first_purchase(lines, as_of=as_of, level="category", horizon_days=90)
    assert first["customers"].sum() + first.attrs["censored_customers"] == wf["customers"].sum()
    e = products.entry_products(journey, as_of=as_of, min_customers=3)
    assert len(e) > 0 and (e["customers"] >= 3).all()
    x = products.cross_purchase_products(journey, as_of=as_of, min_customers=3)
    assert len(x) > 0 and (x["product_a"] < x["product_b"]).all()
