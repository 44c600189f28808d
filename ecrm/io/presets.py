"""Column presets for well-known cart exports, and a shop's resulting column mapping."""

from __future__ import annotations

from typing import Any

from ecrm.settings import ShopSettings

__all__ = ["PRESETS", "column_mapping"]

#: Column presets for well-known cart exports: canonical column -> raw column.
PRESETS: dict[str, dict[str, Any]] = {
    "shopify": {
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
        # Shopify writes order-level fields only on an order's first line.
        "fill_order_fields": ("customer_id", "ordered_at", "status", "channel"),
        # Shopify identifies customers by email: never keep the address itself.
        "hash_customer_id": True,
        "exclude_statuses": ("voided", "refunded", "cancelled", "test"),
    }
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
