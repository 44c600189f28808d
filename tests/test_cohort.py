"""Tests of ecrm.analysis.cohort: a hand-checked shop, the pandas reference, real data."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecrm import engine
from ecrm.analysis import cohort
from ecrm.errors import ColumnsError, ParameterError
from tests.reference import cohort_ltv_pandas as ref

# --------------------------------------------------------------------------- hand-typed shop
# as_of 2026-03-31. Cohorts: 2025-11 = A, B, C; 2025-12 = D, E; 2026-03 = F.
AS_OF = dt.date(2026, 3, 31)

# (order_id, customer_id, ordered_at, amount, category)
LINES: list[tuple[str, str | None, str, str, str | None]] = [
    ("A1", "A", "2025-11-10 10:00", "1000", "coffee"),
    ("A2", "A", "2025-12-10 10:00", "500", "tea"),  # day 30 after A1
    ("A3", "A", "2026-02-01 10:00", "300", "tea"),  # day 83; 53 days after A2
    ("A4", "A", "2026-04-05 10:00", "9999", "tea"),  # after as_of: ignored
    ("B1", "B", "2025-11-20 10:00", "2000", "tea"),
    ("B2", "B", "2025-12-21 10:00", "700", "tea"),  # day 31 after B1
    ("C1", "C", "2025-11-05 09:00", "1500", "coffee"),
    ("C2", "C", "2025-11-05 18:00", "200", "tea"),  # same-day second purchase
    ("C3-R", "C", "2025-11-25 12:00", "-300", "coffee"),  # return-only order, day 20
    ("D1", "D", "2025-12-03 10:00", "3000", "tea"),  # largest line: first category tea
    ("D1", "D", "2025-12-03 10:00", "-500", "coffee"),  # negative line: net 2,500
    ("D2-R", "D", "2026-01-10 10:00", "-1000", "tea"),  # return-only order, day 38
    ("D3", "D", "2026-01-15 10:00", "0", "tea"),  # zero order: not a purchase
    ("E0-R", "E", "2025-10-20 10:00", "-100", None),  # return before the first purchase
    ("E1", "E", "2025-12-15 10:00", "800", None),  # no category
    ("F1", "F", "2026-03-15 10:00", "1200", "tea"),  # cohort of as_of's month
    ("G1", "G", "2026-04-02 10:00", "5000", "tea"),  # after as_of: no customer
    ("H1-R", "H", "2025-12-01 10:00", "-500", "tea"),  # return only: no customer
    ("X1", None, "2025-11-10 11:00", "5000", "coffee"),  # guest lines
    ("X2", None, "2025-12-01 11:00", "7000", "tea"),
]


def hand_orders(lines: list[tuple] | None = None) -> pd.DataFrame:
    rows = lines if lines is not None else LINES
    return pd.DataFrame(
        {
            "order_id": [r[0] for r in rows],
            "customer_id": pd.array([r[1] for r in rows], dtype="string"),
            "ordered_at": pd.to_datetime([r[2] for r in rows]),
            "amount": [Decimal(r[3]) for r in rows],
            "category": pd.array([r[4] for r in rows], dtype="string"),
        }
    )


def cell(table: pd.DataFrame, cohort_: str, period: int, **by: str) -> pd.Series:
    m = (table["cohort"] == cohort_) & (table["period"] == period)
    for k, v in by.items():
        m &= table[k] == v
    (row,) = table[m].to_dict("records")
    return pd.Series(row)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return cohort.cohort_table(hand_orders(), as_of=AS_OF)


def test_columns_and_shape(table: pd.DataFrame) -> None:
    assert list(table.columns) == [
        "cohort",
        "period",
        "cohort_size",
        "active",
        "retention",
        "revenue",
        "cum_revenue_per_customer",
        "left_censored",
    ]
    # the export's first line is E's return of 2025-10-20: 2025-10 is the censored month,
    # and no cohort has it (SPEC: the month of the earliest order, whatever the order)
    assert not table["left_censored"].any()
    later = cohort.cohort_table(hand_orders([r for r in LINES if r[0] != "E0-R"]), as_of=AS_OF)
    assert later.groupby("cohort")["left_censored"].first().to_dict() == {
        "2025-11": True,
        "2025-12": False,
        "2026-03": False,
    }
    # three cohorts × periods 0..4 (2025-11 is four months before 2026-03)
    assert table[["cohort", "period"]].values.tolist() == [
        [c, k] for c in ("2025-11", "2025-12", "2026-03") for k in range(5)
    ]
    assert table.groupby("cohort")["cohort_size"].first().to_dict() == {
        "2025-11": 3,
        "2025-12": 2,
        "2026-03": 1,
    }
    assert str(table["active"].dtype) == "Int64"


def test_november_cohort_by_hand(table: pd.DataFrame) -> None:
    # period 0: A1, B1, C1 + C2 (same day) and C's return −300 (same month)
    c = cell(table, "2025-11", 0)
    assert (c.active, c.retention, c.revenue) == (3, 1.0, 4400)
    assert c.cum_revenue_per_customer == pytest.approx(4400 / 3, rel=1e-12)
    c = cell(table, "2025-11", 1)  # A2, B2
    assert (c.active, c.revenue) == (2, 1200)
    assert c.retention == pytest.approx(2 / 3)
    assert c.cum_revenue_per_customer == pytest.approx(5600 / 3, rel=1e-12)
    c = cell(table, "2025-11", 2)  # observable but empty: 0, not NaN
    assert (c.active, c.retention, c.revenue) == (0, 0.0, 0.0)
    assert c.cum_revenue_per_customer == pytest.approx(5600 / 3, rel=1e-12)
    c = cell(table, "2025-11", 3)  # A3
    assert (c.active, c.revenue) == (1, 300)
    c = cell(table, "2025-11", 4)  # March: observable (as_of's month), A4 is after as_of
    assert (c.active, c.revenue) == (0, 0)
    assert c.cum_revenue_per_customer == pytest.approx(5900 / 3, rel=1e-12)


def test_returns_lower_revenue_and_are_not_purchases(table: pd.DataFrame) -> None:
    # D: net 2,500 (a negative line) + E 800; E's earlier return is before its cohort
    c = cell(table, "2025-12", 0)
    assert (c.cohort_size, c.active, c.revenue, c.cum_revenue_per_customer) == (2, 2, 3300, 1650)
    # January: D's return-only order and zero order: revenue −1,000, nobody active
    c = cell(table, "2025-12", 1)
    assert (c.active, c.retention, c.revenue, c.cum_revenue_per_customer) == (0, 0, -1000, 1150)
    c = cell(table, "2025-12", 3)
    assert (c.active, c.cum_revenue_per_customer) == (0, 1150)


def test_unobservable_cells_are_missing_not_zero(table: pd.DataFrame) -> None:
    c = cell(table, "2025-12", 4)  # April 2026, after as_of's month
    assert c.cohort_size == 2
    assert pd.isna(c.active)
    assert all(math.isnan(c[k]) for k in ("retention", "revenue", "cum_revenue_per_customer"))
    march = table[table.cohort == "2026-03"]
    assert march.iloc[0][["active", "revenue"]].tolist() == [1, 1200]
    assert march.iloc[1:]["active"].isna().all()
    assert march.iloc[1:][["retention", "revenue", "cum_revenue_per_customer"]].isna().all().all()


def test_orders_after_as_of_are_ignored() -> None:
    before = [r for r in LINES if r[2][:10] <= AS_OF.isoformat()]
    assert len(before) == len(LINES) - 2
    pd.testing.assert_frame_equal(
        cohort.cohort_table(hand_orders(), as_of=AS_OF),
        cohort.cohort_table(hand_orders(before), as_of=AS_OF),
    )
    # an earlier as_of sees only the first two cohorts, up to December
    early = cohort.cohort_table(hand_orders(), as_of="2025-12-31")
    assert early[["cohort", "period"]].values.tolist() == [
        ["2025-11", 0],
        ["2025-11", 1],
        ["2025-12", 0],
        ["2025-12", 1],
    ]
    assert early["active"].iloc[:3].tolist() == [3, 2, 2]
    assert pd.isna(early["active"].iloc[3])


def test_guests_are_left_out() -> None:
    more_guests = [*LINES, ("X3", None, "2026-01-20 10:00", "4000", "tea")]
    pd.testing.assert_frame_equal(
        cohort.cohort_table(hand_orders(), as_of=AS_OF),
        cohort.cohort_table(hand_orders(more_guests), as_of=AS_OF),
    )


def test_months_keeps_the_most_recent_cohorts() -> None:
    t = cohort.cohort_table(hand_orders(), as_of=AS_OF, months=4)
    assert t["cohort"].unique().tolist() == ["2025-12", "2026-03"]
    assert t["period"].max() == 3
    assert cell(t, "2025-12", 1).revenue == -1000
    with pytest.raises(ParameterError, match="months"):
        cohort.cohort_table(hand_orders(), as_of=AS_OF, months=0)


def test_by_first_category() -> None:
    t = cohort.cohort_table(hand_orders(), as_of=AS_OF, by="category")
    assert t.columns[0] == "first_category"
    sizes = t.groupby(["first_category", "cohort"])["cohort_size"].first().to_dict()
    # A and C start with coffee; D's largest first line is tea; E has no category
    assert sizes == {
        ("(unknown)", "2025-12"): 1,
        ("coffee", "2025-11"): 2,
        ("tea", "2025-11"): 1,
        ("tea", "2025-12"): 1,
        ("tea", "2026-03"): 1,
    }
    c = cell(t, "2025-11", 1, first_category="coffee")  # A2 only
    assert (c.active, c.revenue) == (1, 500)
    assert c.retention == pytest.approx(0.5)
    c = cell(t, "2025-12", 1, first_category="tea")  # D's return
    assert (c.active, c.revenue) == (0, -1000)
    # "first_category" is accepted too
    pd.testing.assert_frame_equal(
        t, cohort.cohort_table(hand_orders(), as_of=AS_OF, by="first_category")
    )


def test_by_needs_the_column() -> None:
    with pytest.raises(ColumnsError, match="brand"):
        cohort.cohort_table(hand_orders(), as_of=AS_OF, by="brand")
    with pytest.raises(ParameterError, match="by must be one of"):
        cohort.cohort_table(hand_orders(), as_of=AS_OF, by="colour")


def test_input_is_not_mutated() -> None:
    orders = hand_orders()
    copy = orders.copy(deep=True)
    cohort.cohort_table(orders, as_of=AS_OF, by="category")
    pd.testing.assert_frame_equal(orders, copy)


def test_no_customers_gives_an_empty_table() -> None:
    t = cohort.cohort_table(hand_orders(), as_of="2025-01-31")
    assert t.empty
    assert list(t.columns) == list(cohort.cohort_table(hand_orders(), as_of=AS_OF).columns)


def test_as_of_is_required() -> None:
    with pytest.raises(ParameterError, match="as_of"):
        cohort.cohort_table(hand_orders(), as_of=None)


def test_purchase_history_is_shared_and_checked() -> None:
    with cohort.purchase_history(hand_orders(), as_of=AS_OF) as h:
        pd.testing.assert_frame_equal(
            cohort.cohort_table(h, as_of=AS_OF), cohort.cohort_table(hand_orders(), as_of=AS_OF)
        )
        with pytest.raises(ParameterError, match="built for as_of 2026-03-31"):
            cohort.cohort_table(h, as_of="2026-02-28")
        rows = engine.to_pandas(h.table.order_by(["customer_id", "order_date", "k"]))
    with pytest.raises(ParameterError, match="released"):
        cohort.cohort_table(h, as_of=AS_OF)
    h.release()  # twice is harmless
    c = rows[rows.customer_id == "C"]
    assert c["k"].iloc[:2].tolist() == [0, 1] and pd.isna(c["k"].iloc[2])
    assert c["day"].tolist() == [0, 0, 20]
    e = rows[rows.customer_id == "E"]
    assert e["day"].tolist() == [-56, 0]  # the early return is dated before the first purchase
    assert set(rows.customer_id) == {"A", "B", "C", "D", "E", "F"}


def test_a_canonical_file_numbers_its_purchases_once_per_as_of(tmp_path, monkeypatch) -> None:
    """The cohort and LTV tables of a file and as_of share one kept history."""
    from ecrm.analysis import ltv

    path = tmp_path / "orders.parquet"
    hand_orders().to_parquet(path)
    builds: list[dt.date] = []
    base = cohort._history_base
    monkeypatch.setattr(
        cohort, "_history_base", lambda o, as_of: builds.append(as_of) or base(o, as_of=as_of)
    )

    def tables(orders: object) -> list[pd.DataFrame]:
        return [
            cohort.cohort_table(orders, as_of=AS_OF),
            ltv.purchase_ladder(orders, as_of=AS_OF),
            ltv.f2_conversion(orders, as_of=AS_OF, windows=(30, 60)),
            cohort.cohort_table(orders, as_of="2026-02-28"),
        ]

    kept = tables(path)
    assert builds == [AS_OF, dt.date(2026, 2, 28)]
    tables(path)
    assert len(builds) == 2
    for got, want in zip(kept, tables(hand_orders()), strict=True):  # a DataFrame: not kept
        pd.testing.assert_frame_equal(got, want)
    builds.clear()
    monkeypatch.setenv("ECRM_CACHE", "0")
    tables(path)
    assert len(builds) == 4


def test_plots(table: pd.DataFrame) -> None:
    from matplotlib.axes import Axes

    from ecrm.present.plotting import cohort as plots

    ax = plots.plot_cohort_heatmap(table)
    assert isinstance(ax, Axes)
    image = ax.images[0].get_array()
    assert image.shape == (3, 5)
    assert int(image.mask.sum()) == int(table["retention"].isna().sum()) == 5  # blank, not 0
    assert len(ax.texts) == int(table["retention"].notna().sum())
    assert ax.get_yticklabels()[0].get_text() == "2025-11 (3)"
    ax = plots.plot_retention_curves(table, value="cum_revenue_per_customer", lang="en")
    assert len(ax.lines) == 3 and ax.get_xlabel() == "months since first purchase"
    assert len(plots.plot_retention_curves(table, cohorts=["2025-12"]).lines) == 1
    split = cohort.cohort_table(hand_orders(), as_of=AS_OF, by="category")
    with pytest.raises(ParameterError, match="group="):
        plots.plot_cohort_heatmap(split)
    ax = plots.plot_cohort_heatmap(split, group="coffee", value="active")
    assert ax.images[0].get_array().shape == (1, 5)
    with pytest.raises(ParameterError, match="value"):
        plots.plot_cohort_heatmap(table, value="ltv")
    with pytest.raises(ColumnsError):
        plots.plot_retention_curves(table.drop(columns="retention"))


# --------------------------------------------------------------------------- reference

COUNTS = ("period", "cohort_size", "active")
MONEY = ("revenue", "cum_revenue_per_customer")


def assert_same_table(got: pd.DataFrame, want: pd.DataFrame, counts=COUNTS, money=MONEY) -> None:
    """Counts exactly, rates and money to rtol 1e-9, missing cells in the same places."""
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want) > 0
    for c in got.columns:
        g, w = got[c], want[c]
        if c in counts:
            assert g.isna().tolist() == w.isna().tolist(), c
            gi = g.dropna().astype("int64").tolist()
            wi = w.dropna().astype("int64").tolist()
            assert gi == wi, c
        elif g.dtype.kind == "f":
            gv, wv = g.to_numpy("float64"), w.astype("float64").to_numpy()
            assert np.array_equal(np.isnan(gv), np.isnan(wv)), c
            np.testing.assert_allclose(gv, wv, rtol=1e-9, atol=1e-9 if c not in money else 0)
        else:
            assert g.astype(str).tolist() == w.astype(str).tolist(), c


def random_orders(seed: int = 7, customers: int = 2500) -> pd.DataFrame:
    """A canonical orders frame with the awkward cases (≈ 20k lines).

    Same-day second orders, negative lines, separate return orders (also before
    a first purchase), zero and float-unsafe zero orders (0.10 + 0.20 − 0.30),
    guests and orders after the as_of of the tests.
    """
    rng = np.random.default_rng(seed)
    n_orders = customers * 4
    cust = rng.integers(0, customers, n_orders)
    start = np.datetime64("2024-01-01")
    first_day = rng.integers(0, 900, customers)
    offset = np.where(rng.random(n_orders) < 0.3, 0, rng.geometric(1 / 80, n_orders))
    day = first_day[cust] + offset
    ordered_at = (
        start
        + day.astype("timedelta64[D]")
        + rng.integers(0, 86400, n_orders).astype("timedelta64[s]")
    )
    cids = np.array([f"c{i:05d}" for i in range(customers)], dtype=object)
    customer = cids[cust].copy()
    customer[rng.random(n_orders) < 0.03] = None
    lines_per = rng.integers(1, 4, n_orders)
    oid = np.repeat(np.arange(n_orders), lines_per)
    amount = np.round(rng.lognormal(7, 1, len(oid)), 2)
    negative_line = rng.random(len(oid)) < 0.04
    amount[negative_line] *= -0.5
    amount = np.round(amount, 2)
    df = pd.DataFrame(
        {
            "order_id": [f"o{i:06d}" for i in oid],
            "customer_id": pd.array(customer[oid], dtype="string"),
            "ordered_at": ordered_at[oid],
            "amount": amount,
            "category": rng.choice(["coffee", "tea", "sweets", None], len(oid)),
            "channel": rng.choice(["web", "rakuten", "amazon"], len(oid)),
        }
    )
    # returns: separate negative orders a few days after a random order
    ret = rng.choice(n_orders, n_orders // 25, replace=False)
    returns = pd.DataFrame(
        {
            "order_id": [f"o{i:06d}-R" for i in ret],
            "customer_id": pd.array(customer[ret], dtype="string"),
            "ordered_at": ordered_at[ret]
            + rng.integers(-20, 15, len(ret)).astype("timedelta64[D]"),
            "amount": -np.round(rng.lognormal(6, 1, len(ret)), 2),
            "category": "coffee",
            "channel": "web",
        }
    )
    # orders whose lines net to zero exactly (not purchases), one float-unsafe
    zero_c = rng.choice(cids, 40)
    zero = pd.DataFrame(
        {
            "order_id": np.repeat([f"z{i:03d}" for i in range(40)], 3),
            "customer_id": pd.array(np.repeat(zero_c, 3), dtype="string"),
            "ordered_at": np.repeat(start + rng.integers(0, 1000, 40).astype("timedelta64[D]"), 3),
            "amount": np.tile([0.10, 0.20, -0.30], 40),
            "category": "tea",
            "channel": "web",
        }
    )
    return pd.concat([df, returns, zero], ignore_index=True)


@pytest.fixture(scope="module")
def random_shop() -> pd.DataFrame:
    return random_orders()


@pytest.fixture(scope="module")
def demo_shops(demo_root: Path) -> dict[str, pd.DataFrame]:
    return {
        name: ref.read_orders(demo_root / "data" / name / "canonical" / "orders.parquet")
        for name in ("demo-food", "demo-apparel")
    }


@pytest.mark.parametrize(
    ("shop", "as_of", "kwargs"),
    [
        ("demo-food", "2026-10-31", {}),
        ("demo-apparel", "2026-06-15", {"months": 12}),
        ("demo-food", "2026-10-31", {"months": 6, "by": "category"}),
        ("demo-apparel", "2025-12-31", {"by": "channel"}),
    ],
)
def test_demo_shops_match_the_pandas_reference(demo_shops, shop, as_of, kwargs) -> None:
    orders = demo_shops[shop]
    assert_same_table(
        cohort.cohort_table(orders, as_of=as_of, **kwargs),
        ref.cohort_table(orders, as_of=as_of, **{"months": 24, **kwargs}),
    )


@pytest.mark.parametrize(
    ("as_of", "kwargs"),
    [("2026-05-20", {"months": 30}), ("2025-09-30", {"by": "category", "months": 12})],
)
def test_random_shop_matches_the_pandas_reference(random_shop, as_of, kwargs) -> None:
    got = cohort.cohort_table(random_shop, as_of=as_of, **kwargs)
    assert_same_table(got, ref.cohort_table(random_shop, as_of=as_of, **kwargs))
    assert (got["retention"].dropna() <= 1).all()


def test_reference_comparison_can_fail(random_shop) -> None:
    got = cohort.cohort_table(random_shop, as_of="2026-05-20", months=30)
    want = ref.cohort_table(random_shop, as_of="2026-05-20", months=30)
    want.loc[5, "revenue"] += 0.01
    with pytest.raises(AssertionError):
        assert_same_table(got, want)


# --------------------------------------------------------------------------- real data

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
ONLINE_RETAIL = SHARED_DATA / "online_retail" / "online_retail.csv.gz"


def ingest_online_retail(base: Path) -> Path:
    """The UCI Online Retail file ingested into ``base`` (once per test session)."""
    from ecrm.io.ingest import ingest

    orders = base / "canonical" / "orders.parquet"
    if not orders.is_file():
        base.mkdir(parents=True, exist_ok=True)
        (base / "settings.yaml").write_text(
            "name: online-retail\ntimezone: Europe/London\ncurrency: GBP\n"
            f"sources:\n  - path: {ONLINE_RETAIL}\n"
            "columns:\n  order_id: InvoiceNo\n  customer_id: CustomerID\n"
            "  ordered_at: InvoiceDate\n  quantity: Quantity\n  unit_price: UnitPrice\n"
            "  product_id: StockCode\n"
            'return_order_pattern: "^C"\n'
            "allow_external_sources: true\n",  # the shared data lives outside the shop folder
            encoding="utf-8",
        )
        ingest(base, today=dt.date(2011, 12, 31))
    return orders


@pytest.fixture(scope="module")
def online_retail(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not ONLINE_RETAIL.is_file():
        pytest.skip(f"real data set not found at {ONLINE_RETAIL}")
    return ingest_online_retail(tmp_path_factory.getbasetemp() / "online-retail-cohort-ltv")


@pytest.mark.realdata
def test_online_retail_invariants(online_retail: Path) -> None:
    t = cohort.cohort_table(online_retail, as_of="2011-11-30", months=12)
    assert t["cohort"].nunique() == 12
    p0 = t[t.period == 0]
    assert (p0["retention"] == 1).all()
    assert (p0["active"] == p0["cohort_size"]).all()
    later = t[(t.period > 0) & t.active.notna()]
    assert (later["retention"] <= 1).all() and (later["retention"] >= 0).all()
    # observable cells are filled, the rest missing, by month arithmetic alone
    last = 2011 * 12 + 10
    idx = t["cohort"].str[:4].astype(int) * 12 + t["cohort"].str[5:].astype(int) - 1
    assert (t["active"].isna() == (idx + t["period"] > last)).all()
    # cumulative revenue per customer only falls in a month whose net revenue is negative
    step = t.groupby("cohort")["cum_revenue_per_customer"].diff()
    fell = step < -1e-9
    assert (t.loc[fell, "revenue"] < 0).all()
    assert (t.loc[step > 1e-9, "revenue"] > 0).all()
    orders = ref.read_orders(online_retail)
    assert_same_table(t, ref.cohort_table(orders, as_of="2011-11-30", months=12))
