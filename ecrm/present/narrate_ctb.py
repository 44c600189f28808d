"""Sentences of the CTB page that depend on the level it shows (SPEC §3 Products).

The CTB tables fall back to the product level on a shop without categories
(:func:`ecrm.analysis.products.ctb_orders`); the page then says so.
"""

from __future__ import annotations

from collections.abc import Sequence

from ecrm.present.labels import check_lang

__all__ = ["ctb_product_level"]


def ctb_product_level(
    exclude_ids: Sequence[str] = (), exclude_pattern: str | None = None, *, lang: str = "ja"
) -> str:
    """Why the CTB page shows products: the shop has no category (SPEC §3 Products)."""
    check_lang(lang)
    n = len(exclude_ids)
    if lang == "ja":
        left = ""
        if n or exclude_pattern:
            left = "送料・手数料など商品でない明細(ショップ設定の除外商品"
            left += f" {n} 件" if n else ""
            left += "と商品名のパターン" if exclude_pattern else ""
            left += ")は除いています。"
        return (
            "このショップのデータにはカテゴリがないため、このページのカテゴリは商品単位"
            f"(商品名)で集計しています。{left}"
        )
    left = ""
    if n or exclude_pattern:
        parts = [f"{n} product id{'s' if n != 1 else ''}"] if n else []
        parts += ["a product-name pattern"] if exclude_pattern else []
        left = (
            " Lines that are not merchandise (shipping, fees…: the shop's excluded products, "
            f"{' and '.join(parts)}) are left out."
        )
    return (
        "This shop's data has no categories, so this page counts products (by product name) "
        f"where it says category.{left}"
    )
