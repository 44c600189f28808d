"""Segment exports for campaign tools: who is in a segment and what to do about it.

:func:`segment_list` turns a per-customer segment table (from :func:`ecrm.analysis.rfm.rfm`,
:func:`ecrm.analysis.cpm.cpm` or :func:`ecrm.analysis.lifecycle.lifecycle`) into a campaign list —
customer_id, segment, its label and a suggested action. Email is added only when
the shop's settings allow it (``exports.include_email: true``); ingestion keeps
email out of the canonical data otherwise, so it cannot leak by mistake.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ecrm import paths
from ecrm.errors import ParameterError
from ecrm.present.labels import check_lang, label
from ecrm.settings import ShopSettings

__all__ = ["ACTIONS", "campaign_summary", "segment_list", "split_by_segment"]

#: Suggested action per segment code: (Japanese, English). Replaceable data.
ACTIONS: dict[str, dict[str, tuple[str, str]]] = {
    "lifecycle": {
        "new": (
            "2回目購入を促すフォローメール(購入後14〜30日)",
            "Second-purchase follow-up 14–30 days after the first order",
        ),
        "first_repeat": (
            "3回目購入に向けた関連商品の提案",
            "Cross-sell related products toward a third purchase",
        ),
        "repeat": (
            "会員ランク・ポイント施策で継続を後押し",
            "Loyalty points or tier perks to keep them buying",
        ),
        "vip": ("限定先行販売・感謝施策で関係を深める", "Early access and thank-you offers"),
        "dormant": ("休眠掘り起こしクーポン・新商品案内", "Win-back coupon and new-arrival news"),
        "churned": (
            "配信頻度を下げ、大型セール時のみ案内",
            "Lower contact frequency; invite to major sales only",
        ),
    },
    "cpm": {
        "first_active": ("2回目購入のきっかけづくり", "Trigger a second purchase"),
        "toddler_active": ("購入間隔が空く前の再購入提案", "Prompt a repeat before the gap grows"),
        "steady_active": (
            "購入単価アップの提案(まとめ買い・上位商品)",
            "Raise basket size (bundles, premium lines)",
        ),
        "fad_active": (
            "継続購入を促す定期便・会員施策",
            "Subscription or membership to make it last",
        ),
        "loyal_active": ("優良顧客向けの特典・先行案内", "Loyal-customer perks and early access"),
        "first_lapsed": ("低コストの再来店キャンペーン", "Low-cost come-back campaign"),
        "toddler_lapsed": (
            "前回購入品に関連する再提案",
            "Re-offer products related to the last purchase",
        ),
        "steady_lapsed": ("離脱理由の把握と復帰特典", "Ask why they left; come-back offer"),
        "fad_lapsed": (
            "新作・トレンド商品での再アプローチ",
            "Re-approach with new and trending items",
        ),
        "loyal_lapsed": (
            "個別フォロー・特別復帰特典(最優先)",
            "Personal follow-up and a special come-back offer (top priority)",
        ),
    },
    "rfm": {
        "champions": (
            "新商品の先行案内・レビュー依頼",
            "Early access to new products; ask for reviews",
        ),
        "loyal_customers": ("アップセル・会員ランク特典", "Upsell and tier perks"),
        "potential_loyalists": ("会員プログラムへの招待", "Invite to the membership programme"),
        "new_customers": ("オンボーディング・使い方案内", "Onboarding and how-to content"),
        "promising": ("お試し価格での2回目提案", "Second purchase at a trial price"),
        "need_attention": (
            "期間限定オファーで再購入を促す",
            "Limited-time offer to prompt a repeat",
        ),
        "about_to_sleep": (
            "人気商品のおすすめ・再来店特典",
            "Recommend bestsellers; come-back perk",
        ),
        "at_risk": ("パーソナライズした復帰メール", "Personalised win-back email"),
        "cannot_lose": ("個別対応・強い復帰特典", "Personal contact and a strong come-back offer"),
        "hibernating": ("大型セール時のみ案内", "Invite to major sales only"),
        "lost": ("配信停止の検討(費用対効果)", "Consider suppressing (cost vs. return)"),
    },
}


def segment_list(
    per_customer: pd.DataFrame,
    *,
    kind: str,
    settings: ShopSettings | None = None,
    lang: str = "ja",
    actions: Mapping[str, tuple[str, str]] | None = None,
) -> pd.DataFrame:
    """A campaign list: one row per customer with segment and suggested action.

    Parameters
    ----------
    per_customer : DataFrame
        customer_id and segment (output of ``rfm``, ``cpm`` or ``lifecycle``).
    kind : {"rfm", "cpm", "lifecycle"}
        Which action table to use.
    settings : ShopSettings, optional
        The shop's settings: email is joined only when ``exports.include_email``.
    lang : {"ja", "en"}
        Language of the label and action columns.
    actions : mapping, optional
        Replaces the default actions: segment -> (Japanese, English).

    Returns
    -------
    DataFrame
        customer_id, segment, segment_label, action [, email], sorted by segment
        then customer_id.
    """
    check_lang(lang)
    table = actions if actions is not None else ACTIONS.get(kind)
    if table is None:
        raise ParameterError(f"kind must be one of {sorted(ACTIONS)}, got {kind!r}")
    i = 0 if lang == "ja" else 1
    out = per_customer[["customer_id", "segment"]].copy()
    segs = out["segment"].drop_duplicates()  # a handful of codes: label each once
    out["segment_label"] = out["segment"].map({s: label(s, lang) for s in segs})
    out["action"] = out["segment"].map({s: table.get(s, ("", ""))[i] for s in segs})
    if settings is not None and settings.exports.include_email:
        cpath = paths.customers_path(settings.shop_dir)
        if cpath.is_file():
            cust = pd.read_parquet(cpath)
            if "email" in cust.columns:
                out = out.merge(cust[["customer_id", "email"]], on="customer_id", how="left")
    return out.sort_values(["segment", "customer_id"]).reset_index(drop=True)


def split_by_segment(campaign: pd.DataFrame, *, prefix: str) -> dict[str, pd.DataFrame]:
    """One list per segment, keyed ``<prefix>_<segment>`` (the export file names)."""
    return {
        f"{prefix}_{seg}": g.reset_index(drop=True)
        for seg, g in campaign.groupby("segment", sort=True)
    }


def campaign_summary(campaign: pd.DataFrame) -> pd.DataFrame:
    """Customers per segment of a campaign list, with the action (no customer ids).

    Returns
    -------
    DataFrame
        segment, segment_label, action, customers.
    """
    return (
        campaign.groupby(["segment", "segment_label", "action"], sort=False)
        .size()
        .reset_index(name="customers")
    )
