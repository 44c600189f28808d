"""Products (商品別): entry products, conversion and product pairs, by hand and by pandas."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm.analysis import products as pr
from ecrm.errors import ColumnsError, ParameterError

AS_OF = "2026-12-31"


def _orders() -> pd.DataFrame:
    """a: first order P1 (2,000) + shipping (5,000), then P2; b: P1, then P2 + P3;
    c: P2 only; d: shipping only (no entry product once shipping is excluded)."""
    rows = [
        ("1", "a", "2026-01-05", "P1", 2000, "tee"),
        ("1", "a", "2026-01-05", "SHIP", 5000, "送料"),
        ("2", "a", "2026-02-01", "P2", 3000, "pants"),
        ("3", "b", "2026-01-10", "P1", 2000, "tee"),
        ("4", "b", "2026-06-01", "P2", 3000, "pants"),
        ("4", "b", "2026-06-01", "P3", 1000, "cap"),
        ("5", "c", "2026-03-01", "P2", 3000, "pants"),
        ("6", "d", "2026-04-01", "SHIP", 500, "送料"),
        ("7", "c", "2027-01-05", "P3", 1000, "cap"),  # after as_of
    ]
    o = pd.DataFrame(
        rows,
        columns=["order_id", "customer_id", "ordered_at", "product_id", "amount", "product_name"],
    )
    o["ordered_at"] = pd.to_datetime(o["ordered_at"])
    return o


def test_entry_products_by_hand():
    e = pr.entry_products(
        _orders(), as_of=AS_OF, min_customers=1, exclude_pattern="送料", export_complete=True
    )
    p1 = e.set_index("entry_product").loc["P1"]
    assert p1["product_name"] == "tee"
    assert p1[["customers", "customers_90", "customers_360"]].tolist() == [2, 2, 1]
    assert p1["f2_rate_90"] == 0.5  # a within 27 days; b after 142
    assert p1["f2_rate_360"] == 1.0  # only a is observable for 360 days (Jan 5 → Dec 31)
    assert p1["revenue_per_customer_360"] == 10000.0  # a's whole orders: 7,000 + 3,000
    p2 = e.set_index("entry_product").loc["P2"]
    assert np.isnan(p2["revenue_per_customer_360"])  # c is not observable for 360 days yet
    assert e.attrs == {
        "no_entry": 1,
        "small": 0,
        "censored_customers": 0,
        "censored_cohort": None,
    }
    assert e["entry_product"].tolist() == ["P1", "P2"]
    big = pr.entry_products(
        _orders(), as_of=AS_OF, min_customers=2, exclude_ids=["SHIP"], export_complete=True
    )
    assert big["entry_product"].tolist() == ["P1"] and big.attrs["small"] == 1


def test_without_exclusions_shipping_is_an_entry_product():
    e = pr.entry_products(_orders(), as_of=AS_OF, min_customers=1, export_complete=True)
    assert set(e["entry_product"]) == {"SHIP", "P1", "P2"}  # a's largest line is shipping


def test_product_conversion_by_hand():
    c = pr.product_conversion(
        _orders(), as_of=AS_OF, min_customers=1, exclude_ids=["SHIP"], export_complete=True
    )
    assert c.attrs == {"censored_customers": 0, "censored_cohort": None}
    got = {
        (r.entry_product, r.second_product): (r.customers, r.customers_both) for r in c.itertuples()
    }
    assert got == {("P1", "P2"): (2, 2), ("P1", "P3"): (2, 1)}
    assert c["probability"].tolist() == [1.0, 0.5]


def test_product_conversion_leaves_out_the_censored_cohort():
    """a and b were first seen in January 2026, the export's first month: left out by default."""
    c = pr.product_conversion(_orders(), as_of=AS_OF, min_customers=1, exclude_ids=["SHIP"])
    assert c.empty  # c (March) has no second purchase by as_of; d only bought shipping
    assert c.attrs == {"censored_customers": 2, "censored_cohort": "2026-01"}


def test_cross_purchase_by_hand():
    x = pr.cross_purchase_products(_orders(), as_of=AS_OF, min_customers=1, exclude_ids=["SHIP"])
    assert x.attrs["customers"] == 3
    pairs = {(r.product_a, r.product_b): r.customers_both for r in x.itertuples()}
    assert pairs == {("P1", "P2"): 2, ("P1", "P3"): 1, ("P2", "P3"): 1}
    top = x.iloc[0]
    assert (top["product_a"], top["product_b"]) == ("P1", "P3")
    assert top["lift"] == pytest.approx(1 * 3 / (2 * 1))
    assert top["confidence_ab"] == 0.5 and top["confidence_ba"] == 1.0
    # no pair reaches the minimum: N is still the 3 buyers, with no pair
    none = pr.cross_purchase_products(_orders(), as_of=AS_OF, min_customers=3, exclude_ids=["SHIP"])
    assert none.empty and none.attrs["customers"] == 3
    nobody = pr.cross_purchase_products(_orders(), as_of="2025-01-31", min_customers=1)
    assert nobody.empty and nobody.attrs["customers"] == 0


def test_cross_purchase_counts_a_returned_product_by_its_net():
    """e returns all of P3 (net 0: not bought) and half of P2 (net > 0: bought);
    f's only P1 line is a refund of a purchase before the window (net < 0)."""
    o = _orders()
    extra = pd.DataFrame(
        [
            ("20", "e", "2026-05-01", "P2", 3000, "pants"),
            ("20", "e", "2026-05-01", "P3", 1000, "cap"),
            ("20", "e", "2026-05-01", "P1", 2000, "tee"),
            ("21", "e", "2026-05-09", "P3", -1000, "cap"),
            ("21", "e", "2026-05-09", "P2", -1500, "pants"),
            ("22", "f", "2026-01-20", "P2", 3000, "pants"),
            ("23", "f", "2026-02-01", "P1", -2000, "tee"),
        ],
        columns=o.columns,
    )
    extra["ordered_at"] = pd.to_datetime(extra["ordered_at"])
    x = pr.cross_purchase_products(
        pd.concat([o, extra], ignore_index=True), as_of=AS_OF, min_customers=1, exclude_ids=["SHIP"]
    )
    # buyers: a, b, c as before, e (P1, P2) and f (P2)
    assert x.attrs["customers"] == 5
    got = {(r.product_a, r.product_b): r.customers_both for r in x.itertuples()}
    assert got == {("P1", "P2"): 3, ("P1", "P3"): 1, ("P2", "P3"): 1}
    per = dict(zip(x["product_a"], x["customers_a"], strict=False))
    per.update(zip(x["product_b"], x["customers_b"], strict=False))
    assert per == {"P1": 3, "P2": 5, "P3": 1}


@pytest.mark.parametrize("min_customers", [1, 5])
@pytest.mark.parametrize("array", [True, False], ids=["file-codes", "renumbered"])
def test_cross_purchase_against_pandas(demo_root, min_customers, array):
    """Counted on the file's product codes or on codes renumbered over the products kept
    (as when some products fall below the minimum, or the codes are too many for an array)."""
    from unittest import mock

    orders_path = demo_root / "data" / "demo-apparel" / "canonical" / "orders.parquet"
    with mock.patch.object(pr.engine, "dense_groups_fit", lambda *spans: array):
        got = pr.cross_purchase_products(
            orders_path, as_of="2026-10-31", min_customers=min_customers
        )
    lines = pd.read_parquet(orders_path)
    lines = lines[(lines["ordered_at"] >= "2025-11-01") & (lines["ordered_at"] < "2026-11-01")]
    lines = lines[lines["customer_id"].notna() & lines["product_id"].notna()]
    net = lines.groupby(["customer_id", "product_id"])["amount"].sum().astype(float)
    bought = net[net > 0].reset_index()
    n = bought["customer_id"].nunique()
    per = bought.groupby("product_id").size()
    keep = set(per[per >= min_customers].index)
    assert (len(keep) < len(per)) == (min_customers > 1)  # products fall below 5
    sets = bought[bought["product_id"].isin(keep)].groupby("customer_id")["product_id"].agg(sorted)
    counts: dict[tuple[str, str], int] = {}
    for items in sets:
        for a, b in itertools.combinations(items, 2):
            counts[(a, b)] = counts.get((a, b), 0) + 1
    want = {k: v for k, v in counts.items() if v >= min_customers}
    assert got.attrs["customers"] == n
    assert {(r.product_a, r.product_b): r.customers_both for r in got.itertuples()} == want
    assert len(want) > 0


def test_clear_errors():
    with pytest.raises(ColumnsError, match="product_id"):
        pr.entry_products(_orders().drop(columns="product_id"), as_of=AS_OF, export_complete=True)
    with pytest.raises(ColumnsError, match="product_name"):
        pr.entry_products(
            _orders().drop(columns="product_name"),
            as_of=AS_OF,
            exclude_pattern="x",
            export_complete=True,
        )
    with pytest.raises(ParameterError, match="min_customers"):
        pr.entry_products(_orders(), as_of=AS_OF, min_customers=0, export_complete=True)


def test_product_names_take_the_most_frequent_name():
    """A renamed product is shown by the name most of its lines carry (ties: smaller name)."""
    o = pd.DataFrame(
        {
            "order_id": ["1", "2", "3", "4", "5", "6"],
            "customer_id": ["a", "b", "c", "d", "e", "f"],
            "ordered_at": pd.to_datetime([f"2026-01-0{i}" for i in range(1, 7)]),
            "amount": [1.0] * 6,
            "product_id": ["P1", "P1", "P1", "P2", "P2", "P3"],
            "product_name": ["Tea", "Green tea", "Green tea", "Cup B", "Cup A", " "],
        }
    )
    got = pr.product_names(o, as_of="2026-01-31").to_dict()
    assert got == {"P1": "Green tea", "P2": "Cup A"}  # P3 has only a blank name
    # up to 2026-01-02 only "Tea" and "Green tea" once each: the tie goes to the smaller name
    assert pr.product_names(o, as_of="2026-01-02").to_dict() == {"P1": "Green tea"}


def test_ctb_level_named_relabels_only_the_product_fallback():
    t = pd.DataFrame({"level": ["category", "taste"], "value": ["TEA", "mild"]})
    assert pr.ctb_level_named(t, "product")["level"].tolist() == ["product", "taste"]
    assert pr.ctb_level_named(t, "category") is t
    assert t["level"].tolist() == ["category", "taste"]  # the input is not changed


def test_ctb_fallback_first_purchase_skips_an_excluded_largest_line():
    """a's first order: tee 2,000 and shipping 5,000 — tee is its first product once
    shipping is excluded; d bought only shipping: unknown either way."""
    from ecrm.analysis import ctb

    o, level = pr.ctb_orders(_orders(), exclude_ids=["SHIP"])
    assert level == "product"
    kw = {"as_of": AS_OF, "levels": ["category"], "horizon_days": 30, "export_complete": True}
    got = ctb.first_purchase_ctb(o, skip_missing=True, **kw).set_index("value")["customers"]
    assert got.to_dict() == {"tee": 2, "pants": 1, "(unknown)": 1}
    plain = ctb.first_purchase_ctb(o, **kw).set_index("value")["customers"]
    assert plain.to_dict() == {"(unknown)": 2, "pants": 1, "tee": 1}  # a's largest line


def test_name_products_puts_each_name_beside_its_id():
    """A named id gets its name, an unnamed one keeps its id; other columns stay put."""
    t = pd.DataFrame({"entry_product": ["P1", "P9"], "second_product": ["P2", "P1"], "n": [3, 1]})
    names = pd.Series({"P1": "Tea", "P2": "Cup"})
    got = pr.name_products(t, names, ("entry_product", "second_product", "absent"))
    assert list(got.columns) == [
        "entry_product", "entry_product_name", "second_product", "second_product_name", "n",
    ]  # fmt: skip
    assert got["entry_product_name"].tolist() == ["Tea", "P9"]
    assert got["second_product_name"].tolist() == ["Cup", "Tea"]
    unnamed = pr.name_products(t, pd.Series(dtype="object"), ("entry_product",))
    assert unnamed["entry_product_name"].tolist() == ["P1", "P9"]
    assert list(t.columns) == ["entry_product", "second_product", "n"]  # the input is not changed


_NAMES = ["送料", "サンプル品", "Tea", "tea sample", None, ""]


@settings(max_examples=60, deadline=None)
@given(
    lines=st.lists(
        st.tuples(st.sampled_from(["P0", "P1", "P2"]), st.sampled_from(_NAMES)), min_size=1
    ),
    pattern=st.sampled_from(["サンプル|送料", "(?i)sample", "^Tea$", "zzz"]),
    listed=st.sampled_from([pr.MAX_LISTED_IDS, 0]),
)
def test_a_name_pattern_leaves_exactly_the_lines_it_matches(lines, pattern, listed):
    """Exactly the lines whose name matches leave, whether an id's lines all match (the id
    is excluded), some do (those lines are), or the ids are too many to list (by name)."""
    import re
    from unittest import mock

    o = pd.DataFrame(
        {
            "order_id": [str(i) for i in range(len(lines))],
            "customer_id": "a",
            "ordered_at": pd.Timestamp("2026-01-01"),
            "amount": 100,
            "product_id": [p for p, _ in lines],
            "product_name": [n for _, n in lines],
        }
    )
    with mock.patch.object(pr, "MAX_LISTED_IDS", listed):
        kept = pr._lines(o, pd.Timestamp("2026-01-31").date(), ("P2",), pattern).execute()
    expected = [p != "P2" and (n is None or not re.search(pattern, n)) for p, n in lines]
    assert sorted(kept["order_id"], key=int) == o.loc[expected, "order_id"].tolist()


def test_an_id_whose_lines_all_match_is_excluded_by_id_and_a_mixed_one_by_name():
    """(id, name) pairs: SHIP always 送料 → by id; P1 sometimes サンプル → its sample lines only."""
    o = pd.DataFrame(
        {
            "order_id": ["1", "1", "2", "3", "4", "5"],
            "customer_id": "a",
            "ordered_at": pd.Timestamp("2026-01-01"),
            "amount": 100,
            "product_id": ["SHIP", "SHIP", "P1", "P1", "P1", "P2"],
            "product_name": ["送料", "送料", "tee", "サンプル", None, "pants"],
        }
    )
    named, mixed, names = pr._excluded_by_name(o, pr.engine.orders_table(o), "送料|サンプル")
    assert (named, mixed, names) == (["SHIP"], ["P1"], ["サンプル", "送料"])


def test_cross_purchase_on_hashed_customers_only_where_ingestion_found_them_distinct(
    tmp_path, monkeypatch
):
    """An ingested file counts customers by their hashes; a file whose hashes collide (here
    a hash that sends every one-letter id to one key) keeps the ids, and the pairs are the same."""
    from ecrm import engine
    from ecrm.engine import cache
    from ecrm.engine import orders as engine_orders

    df = _orders()
    path = tmp_path / "canonical" / "orders.parquet"
    path.parent.mkdir(parents=True)
    df.to_parquet(path, index=False)
    kw = {"as_of": AS_OF, "min_customers": 1, "exclude_ids": ["SHIP"]}
    want = pr.cross_purchase_products(df, **kw)
    assert want.attrs["customers"] == 3 and len(want) == 3
    engine.write_order_totals(path)
    cache.clear()
    assert engine.customer_hash_distinct(path)  # the hashed path
    got = pr.cross_purchase_products(path, **kw)
    pd.testing.assert_frame_equal(got, want)
    assert got.attrs == want.attrs

    def collide(c):
        return c.length().cast("int64")

    monkeypatch.setattr(engine_orders, "customer_hash", collide)
    monkeypatch.setattr(engine, "customer_hash", collide)
    engine.write_order_totals(path)
    cache.clear()
    assert not engine.customer_hash_distinct(path)
    got = pr.cross_purchase_products(path, **kw)
    pd.testing.assert_frame_equal(got, want)
    assert got.attrs == want.attrs
    # trusting colliding hashes would merge the customers: the check is what keeps it exact
    monkeypatch.setattr(engine, "customer_hash_distinct", lambda orders: True)
    cache.clear()
    merged = pr.cross_purchase_products(path, **kw)
    assert merged.attrs["customers"] == 1
    cache.clear()
