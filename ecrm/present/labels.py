"""Japanese and English display text of every code ecrm shows: static data, looked up.

Analyses return stable codes (segment codes such as ``champions`` or
``first_active``, column names such as ``f2_rate``); :func:`label` and
:func:`relabel` turn them into display text for tables, plots and narration.
The tables below are the only source of display text: nothing registers labels
while running, so a table gets the same headers on every page, in every shop
of a run and in every process. A code missing here is shown as itself.

To rename a label, edit :data:`LABELS` (or :data:`KPI_LABELS`); to add a code,
add its ``(japanese, english)`` pair to the section of its analysis.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

import pandas as pd

from ecrm.settings import LANGS, Lang, check_lang

__all__ = [
    "DRIVER_LABELS",
    "KPI_LABELS",
    "LABELS",
    "LANGS",
    "Lang",
    "check_lang",
    "kpi_label",
    "label",
    "labels_for",
    "relabel",
]

_TABLE: dict[str, tuple[str, str]] = {
    # lifecycle (SPEC §3)
    "new": ("新規", "New"),
    "first_repeat": ("初回リピート", "First repeat"),
    "repeat": ("リピート", "Repeat"),
    "vip": ("優良", "VIP"),
    "dormant": ("休眠", "Dormant"),
    "churned": ("離反", "Churned"),
    # CPM stages and states
    "first": ("初回", "First-timer"),
    "toddler": ("よちよち", "Toddler"),
    "steady": ("コツコツ", "Steady"),
    "fad": ("流行", "Fad"),
    "loyal": ("優良", "Loyal"),
    "active": ("現役", "active"),
    "lapsed": ("離脱", "lapsed"),
    # CPM segments (stage × state)
    **{
        f"{st}_{state}": (ja + sj, f"{en} ({se})")
        for st, ja, en in (
            ("first", "初回", "First-timer"),
            ("toddler", "よちよち", "Toddler"),
            ("steady", "コツコツ", "Steady"),
            ("fad", "流行", "Fad"),
            ("loyal", "優良", "Loyal"),
        )
        for state, sj, se in (("active", "現役", "active"), ("lapsed", "離脱", "lapsed"))
    },
    # movements
    "none": ("なし", "none"),
    "up": ("ランクアップ", "moved up"),
    "stayed": ("維持", "stayed"),
    "down": ("ランクダウン", "moved down"),
    "reactivated": ("復帰", "reactivated"),
    "gone": ("対象外", "left"),
    # RFM named segments
    "champions": ("優良顧客", "Champions"),
    "loyal_customers": ("ロイヤル顧客", "Loyal customers"),
    "potential_loyalists": ("ロイヤル予備軍", "Potential loyalists"),
    "new_customers": ("新規顧客", "New customers"),
    "promising": ("有望顧客", "Promising"),
    "need_attention": ("要注意顧客", "Need attention"),
    "about_to_sleep": ("休眠予備軍", "About to sleep"),
    "at_risk": ("離脱危険顧客", "At risk"),
    "cannot_lose": ("失えない顧客", "Cannot lose them"),
    "hibernating": ("休眠顧客", "Hibernating"),
    "lost": ("離脱顧客", "Lost"),
    # common columns
    "customers": ("顧客数", "customers"),
    "revenue": ("売上", "revenue"),
    "share": ("構成比", "share"),
    "revenue_share": ("売上構成比", "revenue share"),
    "cumulative_share": ("累積構成比", "cumulative share"),
    "avg_monetary": ("平均累計購入額", "average spend"),
    "avg_revenue": ("平均売上", "average revenue"),
    "segment": ("セグメント", "segment"),
    "month_end": ("月末", "month end"),
    "decile": ("デシル", "decile"),
    "from_segment": ("移行前セグメント", "from"),
    "kpi": ("指標", "KPI"),
    "value": ("値", "value"),
    "mom": ("前月比", "MoM"),
    "yoy": ("前年比", "YoY"),
    "r": ("R", "R"),
    "f": ("F", "F"),
    "m": ("M", "M"),
    "segment_label": ("セグメント名", "segment name"),
    "action": ("推奨アクション", "suggested action"),
    "mail_opt_in": ("メール配信同意", "email consent"),
    "opted_in": ("うち配信同意あり", "of which opted in"),
    "left_out_no_consent": ("除外(配信同意なし)", "left out (no consent)"),
    "left_out_channel": ("除外(連絡不可チャネル)", "left out (no-contact channel)"),
    "to_decile": ("今期デシル", "current decile"),
    "from_decile": ("前期デシル", "previous decile"),
    "min_revenue": ("最小売上", "min revenue"),
    "max_revenue": ("最大売上", "max revenue"),
    "avg_purchases": ("平均購入回数", "average purchases"),
    "monetary": ("累計購入額", "cumulative spend"),
    "share_of_from": ("移行元に占める比率", "share of from"),
    "share_of_to": ("移行先に占める比率", "share of to"),
    "to_segment": ("移行後セグメント", "to"),
    # cohort tables (ecrm.analysis.cohort)
    "cohort": ("コホート（初回購入月）", "cohort (first-purchase month)"),
    "period": ("経過月数", "months since first purchase"),
    "cohort_size": ("コホート人数", "cohort size"),
    "retention": ("リテンション率", "retention"),
    "cum_revenue_per_customer": ("累計売上／顧客", "cumulative revenue per customer"),
    "first_category": ("初回購入カテゴリ", "first category"),
    "first_taste": ("初回購入テイスト", "first taste"),
    "first_brand": ("初回購入ブランド", "first brand"),
    "first_channel": ("初回購入チャネル", "first channel"),
    "first_product": ("初回購入商品", "first product"),
    # LTV tables (ecrm.analysis.ltv)
    "all": ("全体（加重平均）", "all (weighted)"),
    "days": ("初回購入からの日数", "days since first purchase"),
    "ltv": ("LTV（累計売上／顧客）", "LTV (cumulative revenue per customer)"),
    "repeaters": ("2回目購入者数", "second-purchase customers"),
    "f2_rate": ("F2転換率", "F2 rate"),
    "n": ("購入回数", "purchase count"),
    "reached": ("到達人数", "reached"),
    "continued": ("継続", "continued"),
    "pending": ("判定待ち（現役）", "pending (active)"),
    "continuation_rate": ("継続率", "continuation rate"),
    "survival": ("残存率", "survival"),
    "revenue_per_customer": ("顧客あたり累計売上", "revenue per customer"),
    "median_days_to_next": ("次回購入までの日数（中央値）", "median days to next purchase"),
    "intervals": ("件数", "intervals"),
    "cum_share": ("累積構成比", "cumulative share"),
    # clusters (ecrm.analysis.cluster)
    "cluster": ("クラスタ", "cluster"),
    "size": ("顧客数", "customers"),
    "silhouette": ("シルエット係数", "silhouette score"),
    "k": ("クラスタ数", "number of clusters"),
    "log_recency": ("最終購入からの日数（対数）", "log recency"),
    "log_frequency": ("購入回数（対数）", "log frequency"),
    "log_monetary": ("累計購入額（対数）", "log monetary"),
    "tenure_days": ("在籍日数", "tenure (days)"),
    "aov": ("平均購入単価", "AOV"),
    "purchase_interval": ("平均購入間隔（日）", "purchase interval (days)"),
    "recency_days": ("最終購入からの日数", "recency (days)"),
    "frequency": ("購入回数", "frequency"),
    "z": ("標準化平均", "standardised mean"),
    "pc1": ("第1主成分", "PC 1"),
    "pc2": ("第2主成分", "PC 2"),
    # CTB tables and recommendations (ecrm.analysis.ctb)
    "category": ("カテゴリ", "category"),
    "product": ("商品", "product"),
    "taste": ("テイスト", "taste"),
    "brand": ("ブランド", "brand"),
    "(unknown)": ("不明", "unknown"),
    "from_value": ("今回購入", "this purchase"),
    "to_value": ("次回購入", "next purchase"),
    "pairs": ("件数", "pairs"),
    "probability": ("遷移確率", "probability"),
    "value_a": ("購入A", "bought A"),
    "value_b": ("購入B", "bought B"),
    "customers_both": ("併買顧客数", "customers who bought both"),
    "support": ("支持度", "support"),
    "confidence": ("確信度", "confidence"),
    "lift": ("リフト値", "lift"),
    "hhi": ("集中度（HHI）", "concentration (HHI)"),
    "reason": ("根拠", "reason"),
    "hit_rate": ("ヒット率", "hit rate"),
    "one_purchase": ("購入1回", "one purchase"),
    "repeat_buyers": ("購入2回以上", "two or more purchases"),
    # predicted value (ecrm.models.predict)
    "recency": ("初回〜最終購入の期間", "recency"),
    "T": ("初回購入からの期間", "T (age)"),
    "monetary_value": ("リピート購入の平均単価", "mean repeat purchase value"),
    "probability_alive": ("生存確率", "probability alive"),
    "expected_purchases": ("予測購入回数", "expected purchases"),
    "expected_spend": ("予測購入単価", "expected spend per purchase"),
    "expected_value": ("予測顧客価値", "expected value"),
    "expected_purchases_3m": ("予測購入回数(3ヶ月)", "expected purchases (3 months)"),
    "expected_purchases_6m": ("予測購入回数(6ヶ月)", "expected purchases (6 months)"),
    "expected_purchases_12m": ("予測購入回数(12ヶ月)", "expected purchases (12 months)"),
    "expected_value_3m": ("予測顧客価値(3ヶ月)", "expected value (3 months)"),
    "expected_value_6m": ("予測顧客価値(6ヶ月)", "expected value (6 months)"),
    "expected_value_12m": ("予測顧客価値(12ヶ月)", "expected value (12 months)"),
    "spend_basis": ("単価の根拠", "spend basis"),
    "customer": ("本人の購入実績", "own repeat purchases"),
    "population": ("全体平均（リピートなし）", "population mean (no repeat)"),
    "nonpositive_spend": ("全体平均（返品で正味0以下）", "population mean (net ≤ 0)"),
    "predicted": ("予測", "predicted"),
    "actual": ("実績", "actual"),
    "value_decile": ("予測価値デシル", "value decile"),
    "avg_expected_value": ("平均予測顧客価値", "average expected value"),
    "avg_expected_purchases": ("平均予測購入回数", "average expected purchases"),
    "avg_probability_alive": ("平均生存確率", "average probability alive"),
    "expected_value_share": ("予測価値構成比", "share of expected value"),
    # D2C analyses (subscriptions, channels, products, revenue change, cross-sell)
    "subscription_id": ("定期ID", "subscription"),
    "delivery_no": ("配送回数", "delivery"),
    "deliveries": ("配送回数(累計)", "deliveries"),
    "status": ("状態", "status"),
    "started_at": ("開始日", "started"),
    "cancelled_at": ("解約日", "cancelled on"),
    "cancelled": ("解約", "cancelled"),
    "cancellation_rate": ("解約率", "cancellation rate"),
    "projected": ("予測", "projected"),
    "observed": ("実績", "observed"),
    "error": ("誤差(予測−実績)", "error (projected − observed)"),
    "beyond_cutoff": ("検証期間", "hold-out"),
    "expected_deliveries": ("期待配送回数", "expected deliveries"),
    "mean_delivery_value": ("1回あたり平均売上", "mean delivery value"),
    "subscriber_ltv": ("定期LTV", "subscriber LTV"),
    "channel": ("チャネル", "channel"),
    "cost": ("広告費", "cost"),
    "cac": ("CAC(獲得単価)", "CAC"),
    "ltv_cac": ("LTV/CAC", "LTV/CAC"),
    "roas": ("ROAS", "ROAS"),
    "basis": ("基準", "basis"),
    "margin": ("粗利", "margin"),
    "payback_day": ("回収日数", "payback day"),
    # the D2C page's tables (定期 projection, channel summary by day)
    "subscriptions": ("定期数", "subscriptions"),
    "alpha": ("α(モデル)", "alpha (sBG)"),
    "beta": ("β(モデル)", "beta (sBG)"),
    "horizon": ("予測範囲(配送回数)", "horizon (deliveries)"),
    **{f"ltv_{d}": (f"LTV({d}日)", f"LTV ({d} days)") for d in (90, 180, 360)},
    **{f"ltv_cac_{d}": (f"LTV/CAC({d}日)", f"LTV/CAC ({d} days)") for d in (90, 180, 360)},
    **{f"roas_{d}": (f"ROAS({d}日)", f"ROAS ({d} days)") for d in (90, 180, 360)},
    "f2_rate_180": ("F2転換率(180日)", "F2 rate (180 days)"),
    "entry_product": ("初回購入商品", "entry product"),
    "product_name": ("商品名", "product"),
    "second_product": ("2回目購入商品", "second-purchase product"),
    "product_a": ("商品A", "product A"),
    "product_b": ("商品B", "product B"),
    "confidence_ab": ("確信度(A→B)", "confidence A→B"),
    "confidence_ba": ("確信度(B→A)", "confidence B→A"),
    "cross_buyers": ("複数カテゴリ購入者数", "customers with 2+ categories"),
    "cross_sell_rate": ("クロスセル率", "cross-sell rate"),
    "part": ("区分", "part"),
    "factor": ("要因", "driver"),
    "before": ("比較月", "before"),
    "after": ("当月", "this month"),
    "contribution": ("寄与額", "contribution"),
    "base_month": ("比較月", "compared with"),
    "other": ("ゲスト等", "guests and others"),
    "customer_id": ("顧客ID", "customer"),
    "first_delivery": ("初回配送日", "first delivery"),
    "last_delivery": ("最終配送日", "last delivery"),
    "method": ("分解方法", "method"),
    "customers_90": ("顧客数(90日経過)", "customers (90 days seen)"),
    "f2_rate_90": ("F2転換率(90日)", "F2 rate (90 days)"),
    "customers_360": ("顧客数(360日経過)", "customers (360 days seen)"),
    "f2_rate_360": ("F2転換率(360日)", "F2 rate (360 days)"),
    "revenue_per_customer_360": ("顧客あたり売上(360日)", "revenue per customer (360 days)"),
    # 定期 retention by start-month cohort (d2c page)
    "start_month": ("開始月", "start month"),
    "months_since_start": ("開始からの月数", "months since start"),
    "started": ("開始数", "started"),
    "entry_product_name": ("初回購入商品", "entry product"),
    "second_product_name": ("2回目購入商品", "second-purchase product"),
    "product_a_name": ("商品A", "product A"),
    "product_b_name": ("商品B", "product B"),
    "product_id_name": ("商品名", "product"),
    "customers_a": ("Aの購入顧客数", "customers of A"),
    "customers_b": ("Bの購入顧客数", "customers of B"),
    # further columns of the shown and saved tables (ecrm.present.tables)
    "kpi_name": ("指標名", "KPI name"),
    "orders": ("注文数", "orders"),
    "repeat_rate": ("リピート率", "repeat rate"),
    "lapse_rate": ("離脱率", "lapse rate"),
    "label": ("購入回数", "purchase count"),
    "label_ja": ("クラスタ名", "cluster name (Japanese)"),
    "label_en": ("クラスタ名（英語）", "cluster name"),
    "top_category": ("最多購入カテゴリ", "top category"),
    "top_brand": ("最多購入ブランド", "top brand"),
    "chosen": ("採用", "chosen"),
    "level": ("集計単位", "level"),
    "horizon_days": ("観測期間（日）", "horizon (days)"),
    "top_n": ("推奨件数", "recommendations per customer"),
    "cutoff": ("基準日", "cut-off date"),
    "group": ("対象顧客", "customers"),
    "hits": ("的中顧客数", "customers hit"),
    "from_date": ("移動前の月末", "from month end"),
    "to_date": ("移動後の月末", "to month end"),
    "movement": ("移動", "movement"),
    "segmentation": ("セグメント区分", "segmentation"),
    "segment_customers": ("セグメント顧客数", "segment customers"),
    "segment_revenue": ("セグメント売上", "segment revenue"),
    "from_total": ("移動元の件数", "from total"),
    "customer_share": ("顧客構成比", "customer share"),
    "month": ("月", "month"),
    "prev_month": ("前月の値", "previous month"),
    "prev_year": ("前年同月の値", "same month last year"),
    "change": ("変化", "change"),
    "measure": ("指標", "measure"),
    "predicted_total": ("予測合計", "predicted total"),
    "actual_total": ("実績合計", "actual total"),
    "relative_error": ("相対誤差", "relative error"),
    "mae": ("平均絶対誤差", "mean absolute error"),
    "rmse": ("二乗平均平方根誤差", "root mean squared error"),
    "correlation": ("相関係数", "correlation"),
    "model": ("モデル", "model"),
    "parameter": ("パラメータ", "parameter"),
    "sd": ("標準誤差", "standard error"),
    # the left-censored first cohort (ecrm.analysis.censoring)
    "left_censored": ("データ開始月のコホート（※）", "data's first-month cohort (※)"),
    "horizon_months": ("予測期間（ヶ月）", "horizon (months)"),
    "discount_rate_annual": ("年間割引率", "annual discount rate"),
    "predicted_cumulative": ("予測（累積）", "predicted (cumulative)"),
    "actual_cumulative": ("実績（累積）", "actual (cumulative)"),
}

#: KPI codes (:data:`ecrm.analysis.kpi.KPIS`): their names as a KPI. They are
#: looked up apart from :data:`LABELS` because one code names two things: as a
#: column "customers" is 顧客数, as a KPI it is the month's 購入顧客数.
KPI_LABELS: dict[str, tuple[str, str]] = {
    "revenue": ("売上", "Revenue"),
    "orders": ("注文数", "Orders"),
    "customers": ("購入顧客数", "Customers"),
    "new_customers": ("新規顧客数", "New customers"),
    "repeat_customers": ("リピート顧客数", "Repeat customers"),
    "new_revenue": ("新規売上", "New revenue"),
    "repeat_revenue": ("リピート売上", "Repeat revenue"),
    "aov": ("平均注文単価", "AOV"),
    "purchases_per_customer": ("購入頻度", "Purchases per customer"),
    "repeat_rate": ("リピート率", "Repeat rate"),
    "f2_rate": ("F2転換率(90日)", "F2 rate (90 days)"),
    "lapse_rate": ("離脱率", "Lapse rate"),
    "ltv_12m": ("12ヶ月LTV", "12-month LTV"),
    "cross_sell_rate": ("クロスセル率(12ヶ月)", "Cross-sell rate (12 months)"),
}

#: The drivers of :func:`ecrm.analysis.revenue_change.revenue_change`, by (part, factor).
DRIVER_LABELS: Mapping[tuple[str, str], tuple[str, str]] = MappingProxyType(
    {
        ("new", "customers"): ("新規 顧客数", "new: customers"),
        ("new", "purchases_per_customer"): ("新規 購入頻度", "new: purchases per customer"),
        ("new", "aov"): ("新規 客単価", "new: AOV"),
        ("repeat", "customers"): ("リピート 顧客数", "repeat: customers"),
        ("repeat", "purchases_per_customer"): (
            "リピート 購入頻度",
            "repeat: purchases per customer",
        ),
        ("repeat", "aov"): ("リピート 客単価", "repeat: AOV"),
        ("other", "revenue"): ("ゲスト等", "guests and others"),
    }
)

#: Every code's ``(japanese, english)`` display text (read-only).
LABELS: Mapping[str, tuple[str, str]] = MappingProxyType(_TABLE)
KPI_LABELS = MappingProxyType(KPI_LABELS)  # type: ignore[assignment]


def label(code: str, lang: str = "ja") -> str:
    """Display text of ``code`` in ``lang`` (the code itself when unknown)."""
    pair = LABELS.get(str(code))
    if pair is None:
        return str(code)
    return pair[0] if check_lang(lang) == "ja" else pair[1]


def kpi_label(kpi: str, lang: str = "ja") -> str:
    """Display name of a KPI code (:data:`KPI_LABELS`; the code itself when unknown)."""
    pair = KPI_LABELS.get(kpi, (kpi, kpi))
    return pair[0] if check_lang(lang) == "ja" else pair[1]


def labels_for(codes: Iterable[str], lang: str = "ja") -> list[str]:
    """:func:`label` of each code."""
    return [label(c, lang) for c in codes]


def relabel(
    df: pd.DataFrame, *, lang: str = "ja", columns: Iterable[str] = (), header: bool = True
) -> pd.DataFrame:
    """A copy of ``df`` with codes in ``columns`` and (if ``header``) headers translated."""
    out = df.copy()
    for c in columns:
        if c in out.columns:
            out[c] = out[c].map(lambda v: label(v, lang) if isinstance(v, str) else v)
    if header:
        out.columns = [label(c, lang) for c in out.columns]
    return out
