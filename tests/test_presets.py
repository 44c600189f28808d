"""Tests of ecrm.io.presets: each cart preset ingests its documented export to hand totals.

The fixtures under ``tests/fixtures/carts/`` are small files written from the
documented headers (the page each preset's ``source`` names), in the cart's usual
encoding (CP932 for EC-CUBE, futureshop and 楽天 RMS; Amazon's report is
tab-separated UTF-8). Every total below is computed by hand in the comment.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from ecrm.io.ingest import ingest
from ecrm.io.presets import PRESETS, recognise
from ecrm.io.read import read_raw
from ecrm.settings import ShopSettings

CARTS = Path(__file__).parent / "fixtures" / "carts"
TODAY = date(2024, 12, 31)

FIXTURES = {
    "ec-cube": ("ec_cube_orders.csv", ","),
    "futureshop": ("futureshop_orders.csv", ","),
    "rakuten": ("rakuten_rms_orders.csv", ","),
    "amazon": ("amazon_all_orders.txt", "\t"),
}


def shop_with(tmp_path: Path, preset: str, **extra: object) -> Path:
    name, delimiter = FIXTURES[preset]
    shop = tmp_path / "shop"
    (shop / "raw").mkdir(parents=True)
    (shop / "raw" / name).write_bytes((CARTS / name).read_bytes())
    data = {"name": "cart", "preset": preset, "sources": [{"path": f"raw/{name}"}], **extra}
    if delimiter != ",":
        data["sources"][0]["delimiter"] = delimiter  # type: ignore[index]
    (shop / "settings.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return shop


def totals(shop: Path) -> tuple[int, int, int, str, dict[str, int]]:
    s = ingest(shop, today=TODAY).summary
    return s.rows_kept, s.orders, s.customers, s.revenue, s.dropped_statuses


@pytest.mark.parametrize("preset", sorted(FIXTURES))
def test_the_fixture_header_is_recognised_and_holds_every_mapped_column(preset: str) -> None:
    name, delimiter = FIXTURES[preset]
    df, _ = read_raw(CARTS / name, delimiter=delimiter)
    assert recognise(df.columns) == preset
    assert set(PRESETS[preset]["columns"].values()) <= set(df.columns)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_names_its_source_and_a_signature(preset: str) -> None:
    spec = PRESETS[preset]
    assert spec["source"].startswith("http")
    assert len(spec["signature"]) >= 5
    assert ShopSettings(name="s", sources=[{"path": "x"}], preset=preset).preset == preset


def test_no_preset_for_a_plain_header() -> None:
    assert recognise(["受注番号", "会員ID", "受注日時", "小計"]) is None


def test_ec_cube_orders(tmp_path: Path) -> None:
    # 1001: 1000 × 2 + shipping 500 = 2500; 1002 (guest): 3000; 1005: 1000 × 3 − 300 = 2700;
    # 1003 注文取消し and 1004 購入処理中 are no sale. 5 lines, 3 orders, members 1 and 2.
    assert totals(shop_with(tmp_path, "ec-cube")) == (
        5,
        3,
        2,
        "8200",
        {"注文取消し": 1, "購入処理中": 1},
    )


def test_futureshop_orders(tmp_path: Path) -> None:
    # 1,200 × 2 + 1,900 = 4,300; 1,200; 1,900 × 2 = 3,800 → 9,300 in 3 orders; no member
    # column is documented, so the shop maps it or (as here) every order is a guest's.
    shop = shop_with(tmp_path, "futureshop", constants={"customer_id": ""})
    assert totals(shop) == (4, 3, 0, "9300", {})


def test_rakuten_orders_hash_the_email(tmp_path: Path) -> None:
    # 864 × 2 + 1080 = 2808; 1080 × 3 = 3240; 864 → 6912; customers ichiro and Hanako
    shop = shop_with(tmp_path, "rakuten")
    assert totals(shop) == (4, 3, 2, "6912", {})
    table = pq.read_table(shop / "canonical" / "orders.parquet")
    ids = set(table.column("customer_id").to_pylist())
    assert len(ids) == 2 and not any("@" in i for i in ids)
    days = sorted({t.date() for t in table.column("ordered_at").to_pylist()})
    assert days == [date(2024, 1, 5), date(2024, 1, 10), date(2024, 3, 1)]  # 注文日: the day


def test_amazon_orders(tmp_path: Path) -> None:
    # Shipped: 2160 + 864 (one order), 1080; Cancelled 1080 dropped → 4104 in 2 orders,
    # all guests (the report has no buyer id). purchase-date is UTC: 23:59Z is the next
    # day in Tokyo.
    shop = shop_with(tmp_path, "amazon", constants={"customer_id": ""})
    assert totals(shop) == (3, 2, 0, "4104", {"Cancelled": 1})
    table = pq.read_table(shop / "canonical" / "orders.parquet")
    assert max(table.column("ordered_at").to_pylist()).isoformat() == "2024-02-02T08:59:00"


def test_a_hand_written_preset_takes_its_delimiter_and_constants(tmp_path: Path) -> None:
    """`preset: amazon` alone (no delimiter, no constants) ingests as ecrm init writes it."""
    name, _ = FIXTURES["amazon"]
    shop = tmp_path / "bare"
    (shop / "raw").mkdir(parents=True)
    (shop / "raw" / name).write_bytes((CARTS / name).read_bytes())
    data = {"name": "cart", "preset": "amazon", "sources": [{"path": f"raw/{name}"}]}
    (shop / "settings.yaml").write_text(yaml.safe_dump(data), "utf-8")
    assert totals(shop) == (3, 2, 0, "4104", {"Cancelled": 1})
