"""Tests of ecrm.io.demo: the synthetic demo shops.

Every expectation is computed independently from the generated frames or the
files read back with plain pandas, never from the generator's own helpers.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ecrm.io import demo

N = 3_000
NORMAL = {"demo-apparel": "発送済み", "demo-food": "shipped"}
CANCELLED = {"demo-apparel": "キャンセル", "demo-food": "cancelled"}
TEST_STATUS = {"demo-apparel": "テスト", "demo-food": "test"}
# Canonical name -> raw column, per shop.
COLS = {
    "demo-apparel": dict(
        order_id="受注番号",
        customer_id="会員ID",
        ordered_at="受注日時",
        product_id="商品コード",
        quantity="数量",
        amount="小計",
        channel="販売チャネル",
        status="受注ステータス",
    ),
    "demo-food": dict(
        order_id="order_no",
        customer_id="member_id",
        ordered_at="order_date",
        product_id="sku",
        quantity="qty",
        amount="line_total",
        channel="channel",
        status="status",
        subscription_id="定期購入ID",
    ),
}


@pytest.fixture(scope="module")
def shops() -> dict[str, demo.DemoShop]:
    return {name: demo.generate_shop(name, n_customers=N) for name in demo.SHOPS}


@pytest.fixture(scope="module")
def written(shops, tmp_path_factory) -> dict[tuple[str, str], list[Path]]:
    root = tmp_path_factory.mktemp("demo")
    return {
        (name, fmt): demo.write_shop(shop, root / fmt / name / "raw", file_format=fmt)
        for name, shop in shops.items()
        for fmt in ("csv", "parquet")
    }


def canon(shop: demo.DemoShop) -> pd.DataFrame:
    """The orders with canonical column names, text as str."""
    o = shop.orders.rename(columns={v: k for k, v in COLS[shop.name].items()})
    if "subscription_id" not in o.columns:
        o = o.assign(subscription_id="")
    text = [c for c in o.columns if c not in ("quantity", "amount")]
    return o.astype({c: str for c in text})


def orders_table(shop: demo.DemoShop) -> pd.DataFrame:
    """One row per order: customer, time, status, net amount, line count."""
    o = canon(shop)
    return o.groupby("order_id", sort=False).agg(
        customer_id=("customer_id", "first"),
        n_customers=("customer_id", "nunique"),
        ordered_at=("ordered_at", "first"),
        n_times=("ordered_at", "nunique"),
        status=("status", "first"),
        n_status=("status", "nunique"),
        n_channels=("channel", "nunique"),
        amount=("amount", "sum"),
        lines=("amount", "size"),
    )


def normal_orders(shop: demo.DemoShop) -> pd.DataFrame:
    """Normal orders of customers (no guests, cancellations, tests or returns)."""
    o = canon(shop).drop_duplicates()
    o = o[(o.status == NORMAL[shop.name]) & ~o.order_id.str.endswith("-R")]
    return o.groupby("order_id").agg(
        customer_id=("customer_id", "first"),
        ordered_at=("ordered_at", "first"),
        amount=("amount", "sum"),
        lines=("amount", "size"),
        subscription_id=("subscription_id", "first"),
    )


def a_la_carte(shop: demo.DemoShop) -> pd.DataFrame:
    """Normal orders of customers except 定期便 deliveries (the BG/NBD purchases)."""
    o = normal_orders(shop)
    return o[o.subscription_id == ""]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- shape


def test_columns_exactly_as_specified(shops):
    a, f = shops["demo-apparel"], shops["demo-food"]
    assert list(a.orders.columns) == [
        "受注番号", "会員ID", "受注日時", "商品コード", "商品名", "数量", "小計",
        "販売チャネル", "受注ステータス",
    ]  # fmt: skip
    assert list(a.products.columns) == [
        "商品コード",
        "商品名",
        "カテゴリ",
        "テイスト",
        "ブランド",
        "定価",
    ]
    assert list(f.orders.columns) == [
        "order_no", "member_id", "order_date", "sku", "item_name", "qty", "line_total",
        "category", "flavor", "brand", "channel", "status", "定期購入ID",
    ]  # fmt: skip
    assert f.products is None
    customers = [
        "customer_id", "email", "name", "phone", "prefecture", "registered_at",
        "birth_date", "gender", "mail_opt_in",
    ]  # fmt: skip
    truth = ["customer_id", "lambda_", "p_dropout", "spend_level", "alive_at_end", "n_orders"]
    for shop in (a, f):
        assert list(shop.customers.columns) == customers
        assert list(shop.truth.columns[:6]) == truth
        assert shop.orders.index.equals(pd.RangeIndex(len(shop.orders)))


def test_amounts_and_quantities_are_whole_numbers(shops):
    for shop in shops.values():
        o = canon(shop)
        assert o.amount.dtype == np.int64 and o.quantity.dtype == np.int64
        ret = o.order_id.str.endswith("-R")
        assert (o.amount[~ret] > 0).all() and (o.quantity[~ret] >= 1).all()
        assert (o.amount[ret] < 0).all() and (o.quantity[ret] <= -1).all()


def test_each_order_has_one_customer_time_channel_and_status(shops):
    for shop in shops.values():
        t = orders_table(shop)
        assert (t.n_customers == 1).all()
        assert (t.n_times == 1).all()
        assert (t.n_channels == 1).all()
        assert (t.n_status == 1).all()


def test_order_lines_are_sorted_by_time(shops):
    for shop in shops.values():
        ts = canon(shop).ordered_at
        assert ts.is_monotonic_increasing


def test_timestamps_and_dates_stay_in_the_calendar(shops):
    for shop in shops.values():
        ts = canon(shop).ordered_at
        assert ts.str.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d").all()
        parsed = pd.to_datetime(ts, format="%Y-%m-%d %H:%M:%S")
        assert parsed.min() >= pd.Timestamp(demo.DEMO_START)
        assert parsed.max() < pd.Timestamp(demo.DEMO_END) + pd.Timedelta(days=1)
        c = shop.customers
        orders = normal_orders(shop)
        orders = orders[orders.customer_id != ""]
        first = orders.groupby("customer_id").ordered_at.min().str[:10]
        reg = c.set_index("customer_id").registered_at
        assert (reg.reindex(first.index) <= first).all()
        assert (reg >= demo.DEMO_START.isoformat()).all()
        birth = pd.to_datetime(c.birth_date, format="%Y-%m-%d")
        age = (pd.Timestamp(demo.DEMO_END) - birth).dt.days / 365.25
        assert age.between(15, 86).all()


def test_orders_are_more_frequent_in_the_evening(shops):
    hour = canon(shops["demo-apparel"]).ordered_at.str[11:13].astype(int)
    evening = hour.between(19, 23).mean() / 5
    night = hour.between(2, 6).mean() / 5
    assert evening > 4 * night


def test_custom_calendar(tmp_path):
    shop = demo.generate_shop(
        "demo-food", n_customers=300, start=date(2024, 12, 1), end=date(2025, 1, 31)
    )
    ts = shop.orders.order_date
    assert ts.min() >= "2024-12-01" and ts.max() <= "2025-01-31 23:59:59"
    files = demo.write_shop(shop, tmp_path)
    assert [p.name for p in files] == [
        "orders_2024.csv",
        "orders_2025.csv",
        "customers.csv",
        "subscriptions.csv",
        "costs.csv",
    ]
    assert shop.costs["月"].tolist()[::3] == ["2024/12", "2025/01"]


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_frames_and_other_seeds_do_not(shops):
    for name, shop in shops.items():
        again = demo.generate_shop(name, n_customers=N, seed=demo.DEFAULT_SEEDS[name])
        # DataFrame.equals compares values and dtypes (assert_frame_equal is slow here).
        assert again.orders.dtypes.equals(shop.orders.dtypes)
        assert again.orders.equals(shop.orders)
        changed = again.orders.copy()
        changed.iloc[-1, 5] += 1
        assert not changed.equals(shop.orders)
        pd.testing.assert_frame_equal(shop.customers, again.customers)
        pd.testing.assert_frame_equal(shop.truth, again.truth)
        if shop.products is not None:
            pd.testing.assert_frame_equal(shop.products, again.products)
        other = demo.generate_shop(name, n_customers=N, seed=1)
        assert not other.orders.equals(shop.orders)


def test_no_global_random_state_is_touched():
    before = np.random.get_state()[1].copy()  # noqa: NPY002 - the legacy global state
    demo.generate_shop("demo-apparel", n_customers=200)
    assert (np.random.get_state()[1] == before).all()  # noqa: NPY002


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_files_are_byte_identical_across_runs(written, tmp_path, fmt):
    for name in demo.SHOPS:
        fresh = demo.generate_shop(name, n_customers=N)
        again = demo.write_shop(fresh, tmp_path / name, file_format=fmt)
        first = written[(name, fmt)]
        assert [p.name for p in again] == [p.name for p in first]
        assert [sha(p) for p in again] == [sha(p) for p in first]


# --------------------------------------------------------------------------- files


def test_file_layout(written):
    names = {key: [p.name for p in paths] for key, paths in written.items()}
    apparel = ["orders_own", "orders_rakuten", "orders_amazon", "products", "customers", "costs"]
    food = ["orders_2023", "orders_2024", "orders_2025", "orders_2026", "customers"]
    food += ["subscriptions", "costs"]
    for fmt in ("csv", "parquet"):
        assert names[("demo-apparel", fmt)] == [f"{s}.{fmt}" for s in apparel]
        assert names[("demo-food", fmt)] == [f"{s}.{fmt}" for s in food]
    for paths in written.values():
        folder = paths[0].parent
        assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in paths)
        assert not any(p.name.endswith(".tmp") for p in folder.iterdir())


def as_text(df: pd.DataFrame) -> pd.DataFrame:
    return df.astype(str).reset_index(drop=True)


def expected_files(shop: demo.DemoShop) -> dict[str, pd.DataFrame]:
    """File stem -> the frame rows it must hold, as text."""
    o = shop.orders
    if shop.name == "demo-apparel":
        ch = o["販売チャネル"].astype(str)
        out = {
            "orders_own": o[ch == "自社サイト"],
            "orders_rakuten": o[ch == "楽天市場"],
            "orders_amazon": o[ch == "Amazon"],
            "products": shop.products,
        }
    else:
        year = o["order_date"].str[:4]
        out = {f"orders_{y}": o[year == y] for y in ("2023", "2024", "2025", "2026")}
        out["subscriptions"] = shop.subscriptions
    out["customers"] = shop.customers
    out["costs"] = shop.costs
    return {k: as_text(v) for k, v in out.items()}


ENCODINGS = {
    "orders_own": "utf-8",
    "orders_rakuten": "cp932",
    "orders_amazon": "utf-8-sig",
    "products": "utf-8",
    "customers": "utf-8",
    "subscriptions": "cp932",
}


def test_csv_files_read_back_equal_to_the_frames(shops, written):
    for name, shop in shops.items():
        expected = expected_files(shop)
        for path in written[(name, "csv")]:
            enc = ENCODINGS.get(path.stem, "utf-8-sig")  # food orders: UTF-8 with BOM
            raw = path.read_bytes()
            assert raw.startswith(b"\xef\xbb\xbf") == (enc == "utf-8-sig"), path.name
            if enc == "cp932":
                with pytest.raises(UnicodeDecodeError):
                    raw.decode("utf-8")  # really Shift_JIS, not UTF-8
                assert raw.count(b"\r\n") == raw.count(b"\n")
            got = pd.read_csv(path, encoding=enc, dtype=str, keep_default_na=False)
            if enc == "utf-8-sig":
                assert not got.columns[0].startswith("\ufeff")
            pd.testing.assert_frame_equal(got, expected[path.stem], check_dtype=False)


def test_parquet_files_read_back_equal_to_the_frames(shops, written):
    ints = {"数量", "小計", "定価", "qty", "line_total", "費用"}
    for name, shop in shops.items():
        expected = expected_files(shop)
        for path in written[(name, "parquet")]:
            schema = pq.read_schema(path)
            for field in schema:
                want = pa.int64() if field.name in ints else pa.string()
                assert field.type == want, (path.name, field.name, field.type)
            got = pd.read_parquet(path)
            pd.testing.assert_frame_equal(as_text(got), expected[path.stem], check_dtype=False)


def test_every_text_is_shift_jis_encodable(shops):
    # shift_jis is JIS X 0208 only: stricter than cp932, so cp932 holds too.
    for shop in shops.values():
        frames = [shop.orders, shop.customers, shop.truth, shop.products]
        for df in (f for f in frames if f is not None):
            for col in df.columns:
                col.encode("shift_jis")
                for value in pd.unique(df[col].astype(str)):
                    value.encode("shift_jis")
                    value.encode("cp932")


def test_write_demo_shops_writes_settings_and_raw_files(tmp_path):
    yaml = pytest.importorskip("yaml")
    folders = demo.write_demo_shops(
        tmp_path, n_customers=200, file_format="parquet", suffix="-test"
    )
    assert [f.name for f in folders] == ["demo-apparel-test", "demo-food-test"]
    for folder in folders:
        settings = yaml.safe_load((folder / "settings.yaml").read_text("utf-8"))
        assert settings["name"] == folder.name
        assert settings["sources"][0]["path"] == "raw/orders_*.parquet"
        assert (folder / "raw" / "customers.parquet").is_file()
        assert "{" not in (folder / "settings.yaml").read_text("utf-8")


# --------------------------------------------------------------------------- behaviour


@pytest.mark.parametrize(
    ("name", "repeat", "mean_orders", "aov", "lines"),
    [
        ("demo-apparel", (0.35, 0.45), (2.4, 3.2), (8_000, 12_000), (1.65, 1.95)),
        ("demo-food", (0.60, 0.70), (4.8, 7.0), (3_000, 5_000), (2.3, 2.7)),
    ],
)
def test_repeat_rate_order_count_aov_and_basket(shops, name, repeat, mean_orders, aov, lines):
    orders = a_la_carte(shops[name])
    per_customer = orders[orders.customer_id != ""].groupby("customer_id").size()
    assert len(per_customer) == N
    assert repeat[0] <= (per_customer >= 2).mean() <= repeat[1]
    assert mean_orders[0] <= per_customer.mean() <= mean_orders[1]
    assert aov[0] <= orders.amount.mean() <= aov[1]
    assert lines[0] <= orders.lines.mean() <= lines[1]
    assert orders.lines.max() <= 4


def test_some_apparel_customers_spend_well_above_70000(shops):
    o = canon(shops["demo-apparel"])
    monetary = o[o.customer_id != ""].groupby("customer_id").amount.sum()
    assert (monetary >= 70_000).mean() > 0.03
    assert monetary.max() > 200_000


def test_channels_and_repeat_orders_mostly_stay_on_the_acquisition_channel(shops):
    for shop in shops.values():
        o = canon(shop).drop_duplicates("order_id")
        o = o[o.customer_id != ""]
        first = o.groupby("customer_id").channel.transform("first")
        assert 0.75 < (o.channel == first).mean() < 0.97
        share = shop.truth.channel.astype(str).value_counts(normalize=True)
        own = share["自社サイト"]
        assert (0.50 < own < 0.60) if shop.name == "demo-apparel" else (0.65 < own < 0.75)


def test_data_quality_cases_are_present(shops):
    for name, shop in shops.items():
        o = canon(shop)
        t = orders_table(shop)
        n = len(t)
        cancelled = (t.status == CANCELLED[name]).sum()
        assert 0.005 * n < cancelled < 0.015 * n
        assert (t.status == TEST_STATUS[name]).sum() == 2
        guests = t[(t.customer_id == "") & (t.status == NORMAL[name])]
        assert 0.02 * n < len(guests) < 0.04 * n
        dup = o.duplicated(keep="first")
        assert 0.0003 * len(o) < dup.sum() < 0.003 * len(o)
        assert (o.status[dup] == NORMAL[name]).all()
        # Apart from the written-twice lines, a product appears once per order.
        assert not o[~dup].duplicated(["order_id", "product_id"]).any()


def test_returns_refer_to_an_earlier_order_of_the_same_customer(shops):
    for shop in shops.values():
        o = canon(shop)
        t = orders_table(shop)
        ret = t[t.index.str.endswith("-R")]
        assert 0.01 * len(t) < len(ret) < 0.03 * len(t)
        assert (ret.lines == 1).all() and (ret.amount < 0).all()
        orig = t.loc[ret.index.str[:-2]]
        assert (orig.customer_id.to_numpy() == ret.customer_id.to_numpy()).all()
        assert (ret.customer_id != "").all()
        days = (
            pd.to_datetime(ret.ordered_at.str[:10]).to_numpy()
            - pd.to_datetime(orig.ordered_at.str[:10]).to_numpy()
        ) / np.timedelta64(1, "D")
        assert days.min() >= 3 and days.max() <= 14
        # The returned line is a line of the original order, negated.
        r = o[o.order_id.str.endswith("-R")].assign(order_id=lambda d: d.order_id.str[:-2])
        m = r.merge(o.drop_duplicates(), on=["order_id", "product_id"], suffixes=("", "_orig"))
        assert len(m) == len(r)
        assert (m.amount == -m.amount_orig).all() and (m.quantity == -m.quantity_orig).all()


def test_customers_table_covers_exactly_the_non_guest_ids(shops):
    for shop in shops.values():
        ids = set(canon(shop).customer_id) - {""}
        c = shop.customers
        assert set(c.customer_id) == ids
        assert c.customer_id.is_unique and c.email.is_unique
        assert c.email.str.fullmatch(r"u\d{7}@example\.(jp|ne\.jp|co\.jp|com)").all()
        assert c.phone.str.fullmatch(r"0[789]0-\d{4}-\d{4}").all()
        assert c.name.str.fullmatch(r"\S+ \S+").all()
        assert c.prefecture.nunique() > 30
        assert c.mail_opt_in.dtype == bool and 0.3 < c.mail_opt_in.mean() < 0.8
    assert shops["demo-apparel"].customers.customer_id.str.fullmatch(r"C\d{7}").all()


def test_truth_is_consistent_with_the_orders(shops):
    for shop in shops.values():
        tr = shop.truth.set_index("customer_id")
        assert list(tr.index) == list(shop.customers.customer_id)
        counts = normal_orders(shop).groupby("customer_id").size()
        assert (tr.n_orders == counts.reindex(tr.index, fill_value=0)).all()
        assert (tr.lambda_ > 0).all() and tr.p_dropout.between(0, 1, inclusive="neither").all()
        assert (tr.spend_level > 0).all()
        # A customer whose history ended by dropout made a repeat purchase.
        assert (tr.n_orders[~tr.alive_at_end] >= 2).all()


def test_entry_category_is_the_first_orders_largest_line(shops):
    for shop in shops.values():
        o = canon(shop).drop_duplicates()
        o = o[(o.status == NORMAL[shop.name]) & (o.customer_id != "")]
        o = o[~o.order_id.str.endswith("-R")]
        first = o.sort_values(["ordered_at", "order_id"]).drop_duplicates("customer_id")
        lines = o[o.order_id.isin(first.order_id)]
        top = lines.sort_values(["amount", "product_id"], ascending=[False, True])
        top = top.drop_duplicates("order_id").set_index("customer_id")
        if shop.products is not None:
            cat = shop.products.set_index("商品コード")["カテゴリ"]
            category = top.product_id.map(cat)
        else:
            category = top.category
        tr = shop.truth.set_index("customer_id")
        assert (category.reindex(tr.index) == tr.entry_category.astype(str)).all()


def test_entry_category_moves_loyalty(shops):
    tr = shops["demo-apparel"].truth
    lam = tr.groupby("entry_category", observed=True).lambda_.median()
    assert lam["インナー"] > 1.5 * lam["アクセサリー"]
    tr = shops["demo-food"].truth
    repeat = (tr.n_orders >= 2).groupby(tr.entry_category, observed=True).mean()
    assert repeat["定期便セット"] > repeat["ギフト"] + 0.05


def test_purchase_rate_follows_lambda(shops):
    # Customers with several purchases buy at about their latent rate.
    for shop in shops.values():
        o = a_la_carte(shop)  # 定期便 deliveries follow the subscription, not lambda
        day = pd.to_datetime(o.ordered_at.str[:10])
        g = day.groupby(o.customer_id)
        span = (g.max() - g.min()).dt.days
        tr = shop.truth.set_index("customer_id")
        bought = o.groupby("customer_id").size().reindex(tr.index, fill_value=0)
        many = tr.index[bought >= 5]
        rate = (bought[many] - 1) / span[many].clip(lower=1)
        corr = np.corrcoef(np.log(rate), np.log(tr.lambda_[many]))[0, 1]
        assert corr > 0.7
        ratio = np.median(rate / tr.lambda_[many])
        assert 0.7 < ratio < 1.6


def test_preferences_persist_across_a_customers_lines(shops):
    f = canon(shops["demo-food"])
    f = f[f.customer_id != ""]
    fav = shops["demo-food"].truth.set_index("customer_id").fav_category.astype(str)
    share = (f.category == f.customer_id.map(fav)).mean()
    assert share > 0.55  # popularity alone would give about 0.2


def test_product_master_covers_every_apparel_product(shops):
    a = shops["demo-apparel"]
    p = a.products
    assert 300 <= len(p) <= 600
    assert p["商品コード"].is_unique and p["商品名"].is_unique
    assert set(a.orders["商品コード"].astype(str)) <= set(p["商品コード"])
    assert p["ブランド"].nunique() in range(6, 11)
    assert p["定価"].dtype == np.int64 and (p["定価"] > 0).all()
    f = shops["demo-food"].orders
    attrs = f[["sku", "item_name", "category", "flavor", "brand"]].astype(str).drop_duplicates()
    assert attrs.sku.is_unique
    assert attrs.brand.nunique() in range(4, 7)


def test_lines_per_order_scales_the_basket():
    base = demo.generate_shop("demo-apparel", n_customers=500)
    big = demo.generate_shop("demo-apparel", n_customers=500, lines_per_order=3.8)
    assert len(big.orders) > 1.6 * len(base.orders)
    assert big.truth.n_orders.sum() == pytest.approx(base.truth.n_orders.sum(), rel=0.25)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": "demo-shoes"},
        {"name": "demo-food", "n_customers": 0},
        {"name": "demo-food", "start": date(2025, 1, 2), "end": date(2025, 1, 1)},
        {"name": "demo-food", "lines_per_order": 0.5},
    ],
)
def test_bad_arguments_are_rejected(kwargs):
    with pytest.raises(ValueError, match=re.compile(r"\w")):
        demo.generate_shop(**kwargs)


def test_bad_file_format_is_rejected(shops, tmp_path):
    with pytest.raises(ValueError, match="file_format"):
        demo.write_shop(shops["demo-food"], tmp_path, file_format="xlsx")  # type: ignore[arg-type]
    assert not any(tmp_path.iterdir())
