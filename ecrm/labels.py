"""Japanese and English labels for segments and columns (one switch, default Japanese).

Analyses return stable codes (``champions``, ``first_active``...); :func:`label`
and :func:`relabel` turn them into display text for tables and plots.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

import pandas as pd

from ecrm.errors import ParameterError

__all__ = ["LANGS", "Lang", "check_lang", "label", "labels_for", "register", "relabel"]

Lang = Literal["ja", "en"]
LANGS: tuple[str, ...] = ("ja", "en")

_LABELS: dict[str, tuple[str, str]] = {
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
    "to_decile": ("今期デシル", "current decile"),
    "from_decile": ("前期デシル", "previous decile"),
    "min_revenue": ("最小売上", "min revenue"),
    "max_revenue": ("最大売上", "max revenue"),
    "avg_purchases": ("平均購入回数", "average purchases"),
    "monetary": ("累計購入額", "cumulative spend"),
    "share_of_from": ("移行元に占める比率", "share of from"),
    "share_of_to": ("移行先に占める比率", "share of to"),
    "to_segment": ("移行後セグメント", "to"),
}


def check_lang(lang: str) -> Lang:
    """Return ``lang`` if it is a known language, else raise ParameterError."""
    if lang not in LANGS:
        raise ParameterError(f"lang must be one of {LANGS}, got {lang!r}")
    return lang  # type: ignore[return-value]


def register(labels: Mapping[str, tuple[str, str]]) -> None:
    """Add or replace labels: ``{code: (japanese, english)}``."""
    _LABELS.update(labels)


def label(code: str, lang: str = "ja") -> str:
    """Display text of ``code`` in ``lang`` (the code itself when unknown)."""
    pair = _LABELS.get(str(code))
    if pair is None:
        return str(code)
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
