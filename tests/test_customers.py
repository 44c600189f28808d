import datetime as dt

import ibis
import pandas as pd
import pytest

from ecrm.analysis import customers
from ecrm.errors import ColumnsError, ParameterError
from tests import fixtures_segments as fx


@pytest.fixture(scope="module")
def m() -> pd.DataFrame:
    return customers.measures(fx.orders(), as_of=fx.AS_OF).set_index("customer_id")


def test_one_row_per_customer_with_a_purchase(m):
    # I bought after as_of, J is a guest, U only returned something
    assert sorted(m.index) == sorted(fx.EXPECTED)


@pytest.mark.parametrize("cid", sorted(fx.EXPECTED))
def test_hand_computed_measures(m, cid):
    freq, monetary, recency, tenure, *_ = fx.EXPECTED[cid]
    row = m.loc[cid]
    assert row.frequency == freq
    assert row.monetary == monetary
    assert row.recency_days == recency
    assert row.tenure_days == tenure
    assert row.aov == pytest.approx(monetary / freq, rel=1e-12)


def test_first_purchase_attributes_come_from_the_largest_line_of_the_first_order(m):
    assert m.loc["K", "first_category"] == "bags"  # 12,000 line beats the 8,000 line
    assert m.loc["K", "first_channel"] == "amazon"
    assert m.loc["K", "first_purchase"] == dt.date(2026, 5, 1)
    assert m.loc["H", "last_purchase"] == dt.date(2025, 9, 1)  # the return is no purchase


def test_orders_after_as_of_are_ignored():
    orders = fx.orders()
    later = pd.DataFrame(
        {
            "order_id": ["Z9"],
            "customer_id": ["A"],
            "ordered_at": [pd.Timestamp("2026-11-01 00:00")],
            "amount": [fx.orders()["amount"].iloc[0]],
            "category": ["tops"],
            "channel": ["web"],
            "product_id": ["x"],
        }
    )
    a = customers.measures(orders, as_of=fx.AS_OF)
    b = customers.measures(pd.concat([orders, later], ignore_index=True), as_of=fx.AS_OF)
    pd.testing.assert_frame_equal(a, b)


def test_input_is_not_mutated():
    orders = fx.orders()
    before = orders.copy(deep=True)
    customers.measures(orders, as_of=fx.AS_OF)
    pd.testing.assert_frame_equal(orders, before)


def test_pandas_ibis_and_parquet_inputs_agree(tmp_path):
    orders = fx.orders()
    path = tmp_path / "orders.parquet"
    orders.to_parquet(path)
    a = customers.measures(orders, as_of=fx.AS_OF)
    b = customers.measures(ibis.memtable(orders), as_of=fx.AS_OF)
    c = customers.measures(path, as_of=fx.AS_OF)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)


def test_float_amounts_are_made_exact():
    orders = fx.orders()
    orders["amount"] = orders["amount"].astype(float)
    a = customers.measures(orders, as_of=fx.AS_OF)
    assert a.set_index("customer_id").loc["H", "monetary"] == 69999


def test_as_of_is_required_and_checked():
    with pytest.raises(ParameterError, match="as_of is required"):
        customers.measures(fx.orders(), as_of=None)
    with pytest.raises(ParameterError, match="as_of must be a date"):
        customers.measures(fx.orders(), as_of="31/10/2026")


def test_missing_columns_are_named():
    with pytest.raises(ColumnsError, match=r"\['amount'\]"):
        customers.measures(fx.orders().drop(columns="amount"), as_of=fx.AS_OF)


def test_snapshots_equal_measures_from_scratch():
    orders = fx.orders()
    dates = [dt.date(2025, 12, 31), dt.date(2026, 6, 30), fx.AS_OF]
    snap = customers.snapshots_table(orders, dates=dates).to_pandas()
    for d in dates:
        got = snap[pd.to_datetime(snap.snapshot).dt.date == d].set_index("customer_id").sort_index()
        want = customers.measures(orders, as_of=d).set_index("customer_id").sort_index()
        assert list(got.index) == list(want.index)
        for col in ("frequency", "recency_days", "tenure_days"):
            assert got[col].tolist() == want[col].tolist(), (d, col)
        assert got["monetary"].astype(float).tolist() == want["monetary"].tolist()


def test_snapshot_period_revenue_is_revenue_since_previous_snapshot():
    snap = customers.snapshots_table(
        fx.orders(), dates=[dt.date(2026, 9, 30), fx.AS_OF]
    ).to_pandas()
    oct_ = snap[pd.to_datetime(snap.snapshot).dt.date == fx.AS_OF].set_index("customer_id")
    assert float(oct_.loc["K", "period_revenue"]) == 20000
    assert float(oct_.loc["M", "period_revenue"]) == 10000
    assert float(oct_.loc["A", "period_revenue"]) == 0


@pytest.mark.parametrize("columns", [["category", "brand"], ["category"], ["taste"]])
def test_first_line_breaks_ties_by_product_then_attributes_with_missing_last(columns):
    """The struct-min pick equals sorting by amount desc, then keys asc, NaN last.

    Also when the keys after the last asked column are left out of the struct.
    """
    import numpy as np

    rng = np.random.default_rng(7)
    n = 400
    pick = lambda vals: rng.choice(np.array(vals, dtype=object), n)  # noqa: E731
    lines = pd.DataFrame(
        {
            "customer_id": pick([f"c{i}" for i in range(40)]),
            "amount": rng.choice([100.0, 200.0, 300.0], n),  # many ties
            "product_id": pick(["p1", "p2", None]),
            "category": pick(["bag", "top", None]),
            "taste": pick(["mode", None]),
            "brand": pick(["A", "B", None]),
        }
    )
    got = customers.first_line(ibis.memtable(lines), columns).to_pandas()
    keys = ["product_id", "category", "taste", "brand"]
    want = (
        lines.assign(_neg=-lines["amount"])
        .sort_values(["customer_id", "_neg", *keys], na_position="last", kind="stable")
        .groupby("customer_id", as_index=False)
        .head(1)[["customer_id", *columns]]
    )
    got = got.sort_values("customer_id").reset_index(drop=True)
    want = want.sort_values("customer_id").reset_index(drop=True)
    norm = lambda df: df.astype(object).where(df.notna(), None)  # noqa: E731
    pd.testing.assert_frame_equal(norm(got), norm(want))


def test_first_attributes_are_the_largest_lines_columns():
    """The measures' first-purchase attributes are the columns the largest line is picked by."""
    from ecrm import engine

    assert sorted(customers.FIRST_ATTRIBUTES) == sorted(engine.MAIN_LINE_COLUMNS)
    assert customers.FIRST_ATTRIBUTES[-1] == "product_id"
