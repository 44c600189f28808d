"""Column presets for well-known cart exports, and a shop's resulting column mapping.

A preset maps the canonical columns (SPEC §1) to the header names a cart's order
export documents, and says how the cart marks what is not a sale. Only columns
that a public page documents are mapped; each preset names its page
(``source``). ``signature`` lists the header names whose presence together
identifies the export: :func:`recognise` (used by ``ecrm init``) picks the preset
whose whole signature is in a file's header.

What each preset leaves to the shop's settings (``columns`` wins over the preset):

* ``futureshop``: the documented column list has no member id; map
  ``customer_id`` (``ecrm init`` proposes one from the header, e.g. 会員ID).
* ``rakuten``: the order date has its time in a second column (注文時間), so
  ``ordered_at`` is the day only; customers are the orderer's e-mail, hashed at
  ingestion like Shopify's.
* ``amazon``: the order report carries no buyer identity; ``ecrm init`` writes
  ``constants: {customer_id: ""}``, so every Amazon order is a guest order
  (revenue and order KPIs, no customer analyses).
* ``ec-cube``: one line per 明細 (order item), shipping and discount items
  included; amount = 価格 × 個数.

Carts whose order-export columns could not be cited (makeshop's product columns,
カラーミーショップ, BASE, STORES) have no preset: ``ecrm init`` maps their
exports from the header names instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ecrm.settings import ShopSettings

__all__ = ["PRESETS", "column_mapping", "recognise"]

#: Column presets for well-known cart exports: canonical column -> raw column.
PRESETS: dict[str, dict[str, Any]] = {
    "shopify": {
        # Shopify's orders export CSV (help.shopify.com, "注文をエクスポートする")
        "source": "https://help.shopify.com/ja/manual/fulfillment/managing-orders/exporting-orders",
        "columns": {
            "order_id": "Name",
            "customer_id": "Email",
            "ordered_at": "Created at",
            "quantity": "Lineitem quantity",
            "unit_price": "Lineitem price",
            "product_id": "Lineitem sku",
            "product_name": "Lineitem name",
            "brand": "Vendor",
            "channel": "Source",
            "status": "Financial Status",
        },
        "signature": ("Name", "Email", "Created at", "Lineitem quantity", "Lineitem price"),
        # Shopify writes order-level fields only on an order's first line.
        "fill_order_fields": ("customer_id", "ordered_at", "status", "channel"),
        # Shopify identifies customers by email: never keep the address itself.
        "hash_customer_id": True,
        "exclude_statuses": ("voided", "refunded", "cancelled", "test"),
    },
    "ec-cube": {
        # EC-CUBE 4 受注CSV (csv_type_id 3): the default columns of
        # src/Eccube/Resource/doctrine/import_csv/ja/dtb_csv.csv, statuses of
        # mtb_order_status.csv (github.com/EC-CUBE/ec-cube).
        "source": "https://github.com/EC-CUBE/ec-cube/blob/4.2/src/Eccube/Resource/doctrine/import_csv/ja/dtb_csv.csv",
        "columns": {
            "order_id": "注文番号",
            "customer_id": "会員ID",
            "ordered_at": "受注日",
            "unit_price": "価格",
            "quantity": "個数",
            "product_id": "商品コード",
            "product_name": "商品名",
            "status": "対応状況(名称)",
        },
        "signature": ("注文番号", "会員ID", "受注日", "価格", "個数", "対応状況(名称)"),
        # 注文取消し (cancelled), 購入処理中 (a checkout never finished) and 返品 (a
        # returned order, whose items stay positive) are no sale.
        "exclude_statuses": ("注文取消し", "購入処理中", "返品"),
    },
    "futureshop": {
        # futureshop 受注データ (FutureShop2 形式), items as listed by Next Engine's
        # "受注CSVファイルの出力項目を設定【futureshop】" (ID:6334).
        "source": "https://manual.next-engine.net/main/orders/ord_torikomi-shori/juchu_torikomi/juchu_futureshop2/6334/",
        "columns": {
            "order_id": "受注コード",
            "ordered_at": "注文日時",
            "product_id": "商品番号",
            "product_name": "商品名",
            "unit_price": "販売単価",
            "quantity": "購入数量",
        },
        "signature": ("受注コード", "注文日時", "商品番号", "販売単価", "購入数量"),
    },
    "rakuten": {
        # 楽天市場 RMS 通常購入データ, columns as listed by the import specification
        # of 顧客分析君CRM (nextcrm, OSDN archive nextcrm-2_source-r540.zip,
        # "CSVファイルの取込仕様").
        "source": "http://ftp.dk.freebsd.org/osdn/scmarchive/g/nextcrm/svn/c1e6b341-3cb2-4974-b674-5b0adf8baeb0/nextcrm-2_source-r540.zip",
        "columns": {
            "order_id": "受注番号",
            "customer_id": "メールアドレス",
            "ordered_at": "注文日",
            "product_id": "商品番号",
            "product_name": "商品名",
            "quantity": "個数",
            "unit_price": "単価",
        },
        "signature": ("受注番号", "注文日", "注文時間", "商品番号", "個数", "単価"),
        # customers are the orderer's e-mail: hashed, never stored
        "hash_customer_id": True,
        "encoding": "cp932",
    },
    "amazon": {
        # Amazon Seller Central order report GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL
        # (SP-API docs, "Order Tracking reports attributes"); tab-separated. item-price is
        # the line total: "ItemPrice is equal to the selling price of the item multiplied
        # by the quantity ordered" (MWS Orders ListOrderItems).
        "source": "https://developer-docs.amazon.com/sp-api/docs/order-tracking-reports-attributes",
        "columns": {
            "order_id": "amazon-order-id",
            "ordered_at": "purchase-date",
            "status": "order-status",
            "product_id": "sku",
            "product_name": "product-name",
            "quantity": "quantity",
            "amount": "item-price",
            "channel": "sales-channel",
        },
        "signature": ("amazon-order-id", "purchase-date", "order-status", "sku", "item-price"),
        # the report has no buyer id: every order is a guest order
        "constants": {"customer_id": ""},
        "exclude_statuses": ("Cancelled", "Canceled"),
        "delimiter": "\t",
    },
}


def column_mapping(settings: ShopSettings) -> tuple[dict[str, str], dict[str, Any]]:
    """The canonical → raw column mapping of a shop (its preset's, then its own) and the preset.

    Parameters
    ----------
    settings : ShopSettings
        The shop; ``settings.columns`` wins over the preset's columns.

    Returns
    -------
    (dict, dict)
        Canonical column -> raw column, and the preset (``{}`` without one).
    """
    preset = PRESETS.get(settings.preset or "", {})
    columns = {**preset.get("columns", {}), **settings.columns}
    return columns, preset


def recognise(header: Iterable[str]) -> str | None:
    """The preset whose whole ``signature`` is in ``header``, or None.

    When several match, the one with the longest signature wins (the most
    specific).

    Examples
    --------
    >>> recognise(["amazon-order-id", "purchase-date", "order-status", "sku", "item-price"])
    'amazon'
    >>> recognise(["order_no", "member_id"]) is None
    True
    """
    names = {str(h).strip().lstrip("\ufeff") for h in header}
    hits = [(len(p["signature"]), k) for k, p in PRESETS.items() if set(p["signature"]) <= names]
    return max(hits)[1] if hits else None
