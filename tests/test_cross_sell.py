"""クロスセル率: by hand (window edges, returns, no category) and against pandas on a demo shop."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ecrm import engine
from ecrm.analysis import cross_sell
from ecrm.errors import ParameterError


def _orders() -> pd.DataFrame:
    """a buys tops (2025-11-01, first day of the window to 2026-10-31) and bags (2026-10-31);
    b buys tops and bags but returns the bags; c buys tops on 2025-10-31 (outside) and bags."""
    rows = [
        ("1", "a", "2025-11-01", 1000, "tops"),
        ("2", "a", "2026-10-31 23:59:00", 800, "bags"),
        ("3", "b", "2026-03-01", 1000, "tops"),
        ("3", "b", "2026-03-01", 600, "bags"),
        ("4", "b", "2026-03-05", -600, "bags"),
        ("5", "c", "2025-10-31", 1000, "tops"),
        ("6", "c", "2026-05-01", 900, "bags"),
        ("7", None, "2026-05-01", 900, "bags"),  # a guest
        ("8", "d", "2026-05-01", 900, None),  # a line without a category
    ]
    o = pd.DataFrame(rows, columns=["order_id", "customer_id", "ordered_at", "amount", "category"])
    o["ordered_at"] = pd.to_datetime(o["ordered_at"], format="mixed")
    return o


def test_by_hand():
    t = cross_sell.cross_sell_monthly(_orders(), as_of="2026-10-31", months=2)
    last = t.iloc[-1]
    assert last["customers"] == 4  # a, b, c, d
    assert last["cross_buyers"] == 1  # a only: b returned the bags, c's tops are outside
    assert last["cross_sell_rate"] == pytest.approx(0.25)
    sept = t.iloc[0]  # window 2025-10-01 … 2026-09-30: c's tops count, a's bags not yet
    assert sept["month_end"] == pd.Timestamp("2026-09-30")
    assert sept["cross_buyers"] == 1 and sept["customers"] == 4


def test_without_categories():
    t = cross_sell.cross_sell_monthly(_orders().drop(columns="category"), as_of="2026-10-31")
    assert t["cross_sell_rate"].isna().all()
    assert "category" in t.attrs["reason"]
    assert len(t) == 24


def _reference(lines: pd.DataFrame, month_ends: pd.Series) -> tuple[list[int], list[int]]:
    """Customers and cross-buyers of each window, by brute force (a window at a time)."""
    lines = lines[lines["customer_id"].notna()]
    totals = lines.groupby("order_id").agg(
        customer_id=("customer_id", "first"), day=("ordered_at", "min"), net=("amount", "sum")
    )
    totals["day"] = totals["day"].dt.normalize()
    lines = lines.assign(day=lines["ordered_at"].dt.normalize())
    customers, crosses = [], []
    for end in month_ends:
        lo = end - pd.DateOffset(months=12)
        in_win = (totals["day"] > lo) & (totals["day"] <= end)
        buyers = set(totals.loc[in_win & (totals["net"].astype(float) > 0), "customer_id"])
        ln = lines[(lines["day"] > lo) & (lines["day"] <= end) & lines["category"].notna()]
        net = ln.groupby(["customer_id", "category"])["amount"].sum().astype(float)
        ncat = net[net > 0].groupby(level=0).size()
        customers.append(len(buyers))
        crosses.append(len({c for c, n in ncat.items() if n >= 2} & buyers))
    return customers, crosses


@pytest.mark.parametrize(
    "stored", [True, False], ids=["stored-return-lines", "return-lines-scanned"]
)
@pytest.mark.parametrize("wide", [True, False], ids=["mask-per-category", "row-per-category"])
def test_against_pandas(demo_root, monkeypatch, wide, stored):
    if not wide:  # the shop's 8 categories take the path of a shop with many
        monkeypatch.setattr(cross_sell, "WIDE_MAX_VALUES", 0)
    path = demo_root / "data" / "demo-apparel" / "canonical" / "orders.parquet"
    # ingestion stored the returning customers' lines apart; without them they are scanned
    assert engine.stored_return_lines(path) is not None
    if not stored:
        monkeypatch.setattr(engine, "stored_return_lines", lambda orders: None)
    got = cross_sell.cross_sell_monthly(path, as_of="2026-10-31", months=6)
    lines = pd.read_parquet(path)
    assert (lines["amount"] < 0).any()  # returns: the exact recount runs
    customers, crosses = _reference(lines, got["month_end"])
    assert got["customers"].tolist() == customers
    assert got["cross_buyers"].tolist() == crosses
    assert np.isfinite(got["cross_sell_rate"]).all()


def test_mid_month_and_more_windows_than_one_mask():
    # 70 windows take two passes (62 + 8); as_of mid-month cuts the last window there
    o = _orders()
    got = cross_sell.cross_sell_monthly(o, as_of="2026-10-15", months=70)
    assert len(got) == 70 and got["month_end"].iloc[-1] == pd.Timestamp("2026-10-15")
    customers, crosses = _reference(o, got["month_end"])
    assert got["customers"].tolist() == customers
    assert got["cross_buyers"].tolist() == crosses


_LINE = st.tuples(
    st.sampled_from(["a", "b", "c", None]),
    st.integers(0, 40),  # day offset from 2025-09-01
    st.sampled_from([1000, 500, 0, -500, -1000]),
    st.sampled_from(["tops", "bags", "shoes", None]),
)


def _frame(rows: list[tuple]) -> pd.DataFrame:
    """The lines of drawn (customer, day, amount, category) rows: one order per customer and day."""
    return pd.DataFrame(
        [
            (f"{c}-{day}", c, pd.Timestamp("2025-09-01") + pd.Timedelta(days=day * 9), amt, cat)
            for c, day, amt, cat in rows
        ],
        columns=["order_id", "customer_id", "ordered_at", "amount", "category"],
    )


_NETTED_TO_ZERO = [("a", 0, 1000, "tops"), ("a", 1, -1000, "tops"), ("a", 2, 500, "bags")]
_NETTED_TO_ZERO += [("b", 0, 1000, "tops"), ("b", 3, 500, "bags")]


def _drawn(examples: int):
    """Hypothesis over drawn lines and both paths, always with a return netting a category to 0."""

    def wrap(test):
        test = example(rows=_NETTED_TO_ZERO, wide=False)(test)
        test = example(rows=_NETTED_TO_ZERO, wide=True)(test)  # a buys one category, b two
        test = given(rows=st.lists(_LINE, min_size=1, max_size=25), wide=st.booleans())(test)
        return settings(max_examples=examples, deadline=None)(test)

    return wrap


def _assert_brute_force(o: pd.DataFrame, got: pd.DataFrame) -> None:
    customers, crosses = _reference(o, got["month_end"])
    assert got["customers"].tolist() == customers
    assert got["cross_buyers"].tolist() == crosses


@_drawn(60)
def test_any_lines_match_brute_force(rows, wide):
    """Returns, zero lines, guests and missing categories on either path, window by window."""
    o = _frame(rows)
    limit = cross_sell.WIDE_MAX_VALUES
    try:
        cross_sell.WIDE_MAX_VALUES = limit if wide else 0
        got = cross_sell.cross_sell_monthly(o, as_of="2026-06-30", months=14)
    finally:
        cross_sell.WIDE_MAX_VALUES = limit
    _assert_brute_force(o, got)


@_drawn(25)
def test_any_file_with_its_stored_return_lines_matches_brute_force(rows, wide):
    """A canonical file: the returning customers netted from the lines ingestion stored apart."""
    import tempfile
    from pathlib import Path

    o = _frame(rows)
    limit, share = cross_sell.WIDE_MAX_VALUES, engine.orders.RETURN_LINES_MAX_SHARE
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "canonical" / "orders.parquet"
        path.parent.mkdir()
        o.to_parquet(path, index=False)
        try:
            cross_sell.WIDE_MAX_VALUES = limit if wide else 0
            engine.orders.RETURN_LINES_MAX_SHARE = 1.0  # stored whatever their share
            engine.write_order_totals(path)
            returning = o["customer_id"].notna() & (o["amount"] < 0)
            assert (engine.stored_return_lines(path) is not None) == bool(returning.any())
            got = cross_sell.cross_sell_monthly(path, as_of="2026-06-30", months=14)
        finally:
            cross_sell.WIDE_MAX_VALUES = limit
            engine.orders.RETURN_LINES_MAX_SHARE = share
            engine.cache.clear()
    _assert_brute_force(o, got)


def test_errors_and_docstring():
    with pytest.raises(ParameterError, match="months"):
        cross_sell.cross_sell_monthly(_orders(), as_of="2026-10-31", months=0)
    assert doctest.testmod(cross_sell).failed == 0


def test_an_order_stamped_apart_counts_at_its_earliest_line():
    """e's order 9 starts 2025-10-31 23:50 (tops) and has a bags line stamped 00:10 the next
    day: the order is placed before the window to 2026-10-31, so neither line counts there
    (as its total does not), and both count in the window to 2026-09-30."""
    o = _orders()
    extra = pd.DataFrame(
        [
            ("9", "e", pd.Timestamp("2025-10-31 23:50"), 1000, "tops"),
            ("9", "e", pd.Timestamp("2025-11-01 00:10"), 700, "bags"),
            ("10", "e", pd.Timestamp("2026-06-01"), 500, "shoes"),
        ],
        columns=o.columns,
    )
    t = cross_sell.cross_sell_monthly(
        pd.concat([o, extra], ignore_index=True), as_of="2026-10-31", months=2
    )
    sept, octo = t.iloc[0], t.iloc[1]
    assert octo["customers"] == 5 and octo["cross_buyers"] == 1  # e: shoes only
    assert sept["customers"] == 5 and sept["cross_buyers"] == 2  # e: tops, bags, shoes
