"""Sentences on the thresholds a page used and the segments they leave (nearly) empty.

SPEC §3: "every page that uses [money thresholds] says which thresholds were
used and why", and issue #21 asks for a warning when a segment the shop's
thresholds define is empty or holds under 1% of its customers. The tables come
from :mod:`ecrm.analysis.thresholds`; these functions only word them.
"""

from __future__ import annotations

import pandas as pd

from ecrm.analysis import cpm, rfm
from ecrm.present import format as fmt
from ecrm.present.labels import check_lang, label

__all__ = ["thin_segments", "thresholds_used"]

_ANALYSIS_NAMES = {
    "rfm": ("RFM", "RFM"),
    "rfm_m": ("RFM の M スコア", "RFM M score"),
    "cpm": ("CPM", "CPM"),
    "lifecycle": ("顧客セグメント", "lifecycle"),
}


def _ja(lang: str, ja: str, en: str) -> str:
    return ja if lang == "ja" else en


def _percentiles(qs: tuple[float, ...] | list[float]) -> str:
    return "/".join(f"{round(q * 100)}" for q in qs)


def thresholds_used(table: pd.DataFrame, *, analysis: str, lang: str = "ja") -> str:
    """Which money thresholds an analysis used, and why (settings, SPEC's yen defaults, derived).

    Parameters
    ----------
    table : DataFrame
        :func:`ecrm.analysis.thresholds.money_thresholds`.
    analysis : {"rfm", "cpm"}
    lang : {"ja", "en"}

    Returns
    -------
    str
        One sentence naming the values in the shop's currency.
    """
    check_lang(lang)
    t = table[table["analysis"] == analysis]
    if t.empty:
        return ""
    currency = str(t["currency"].iloc[0])
    source = str(t["source"].iloc[0])
    values = [fmt.money(v, currency) for v in t["value"]]
    if analysis == "rfm":
        what = _ja(
            lang,
            "M スコアの閾値(累計購入金額: "
            + " / ".join(f"M{i} {v}以上" for i, v in enumerate(values, 2))
            + ")",
            "The M score thresholds (total spend: "
            + ", ".join(f"M{i} from {v}" for i, v in enumerate(values, 2))
            + ")",
        )
        derived = _ja(
            lang,
            f"はこのショップの顧客の累計購入金額の {_percentiles(rfm.AUTO_M_QUANTILES)} "
            "パーセンタイルから算出しました",
            f"were derived from the shop's own customers: the "
            f"{_percentiles(rfm.AUTO_M_QUANTILES)}th percentiles of their total spend",
        )
    else:
        what = _ja(
            lang,
            f"流行・優良を分ける累計購入金額 {values[0]}",
            f"The spend cut-off of fad and loyal customers ({values[0]})",
        )
        q = round(cpm.AUTO_SPEND_QUANTILE * 100)
        derived = _ja(
            lang,
            f"は在籍210日以上の顧客の累計購入金額の {q} パーセンタイルとして算出しました",
            f"was derived from the shop's own customers: the {q}th percentile of the total "
            "spend of customers with 210+ days of tenure",
        )
    why = {
        "settings": _ja(lang, "はショップ設定の値です", "come from the shop's settings"),
        "default": _ja(lang, "は ecrm の既定値(円建て)です", "are ecrm's defaults, in yen"),
        "auto": derived,
        "auto_all_customers": _ja(
            lang,
            f"は在籍210日以上の顧客がいないため、全顧客の累計購入金額の "
            f"{round(cpm.AUTO_SPEND_QUANTILE * 100)} パーセンタイルとして算出しました",
            f"was derived from all customers' total spend (its "
            f"{round(cpm.AUTO_SPEND_QUANTILE * 100)}th percentile): no customer has 210 days "
            "of tenure yet",
        ),
        "auto_no_customers": _ja(
            lang,
            "は顧客がいないため設定値のままです",
            "keep the settings' values: the shop has no customer yet",
        ),
    }.get(source, source)
    if analysis == "cpm" and lang == "en":
        why = {
            "settings": "comes from the shop's settings",
            "default": "is ecrm's default, in yen",
            "auto_no_customers": "keeps the settings' value: the shop has no customer yet",
        }.get(source, why)
    reason = ""
    if source.startswith("auto") and source != "auto_no_customers":
        reason = _ja(
            lang,
            f"(設定にこのショップの通貨 {currency} の閾値がないため)",
            f" (the settings give none in the shop's currency, {currency})",
        )
    end = "。" if lang == "ja" else "."
    joiner = "" if lang == "ja" else " "
    return f"{what}{joiner}{why}{reason}{end}"


def thin_segments(
    table: pd.DataFrame, *, analyses: tuple[str, ...], lang: str = "ja", months: int | None = None
) -> str:
    """A warning naming the segments that are empty or hold under 1% of the customers.

    Parameters
    ----------
    table : DataFrame
        :func:`ecrm.analysis.thresholds.thin_segments`.
    analyses : tuple of str
        The analyses of the page (``rfm``, ``rfm_m``, ``cpm``, ``lifecycle``).
    lang : {"ja", "en"}
    months : int, optional
        Months of order history; named in the warning when under 24 (a short
        history also leaves lapsed segments empty).

    Returns
    -------
    str
        Empty when no segment is thin.
    """
    check_lang(lang)
    t = table[table["analysis"].isin(analyses)]
    if t.empty:
        return ""
    items = []
    several = t["analysis"].replace({"rfm_m": "rfm"}).nunique() > 1
    for r in t.itertuples(index=False):
        name = f"M={r.segment[1:]}" if r.analysis == "rfm_m" else label(str(r.segment), lang)
        pct = "<0.1%" if r.share < 0.001 else fmt.rate(r.share)
        share = "" if r.customers == 0 or r.share != r.share else f", {pct}"
        people = f"{fmt.count(r.customers)}人" if lang == "ja" else f"{fmt.count(r.customers)}"
        where = _ANALYSIS_NAMES["rfm" if r.analysis == "rfm_m" else r.analysis][lang != "ja"]
        items.append(
            f"{where} {name} ({people}{share})" if several else f"{name} ({people}{share})"
        )
    short = months is not None and months < 24
    if lang == "ja":
        cause = "閾値がこのショップに合っていない"
        if short:
            cause += f"か、注文履歴が{months}ヶ月と短い"
        return (
            f"注意: {'、'.join(items)} は空か顧客の1%未満です。{cause}可能性があります"
            "(ショップ設定の閾値を見直してください)。"
        )
    cause = "the thresholds may not fit this shop"
    if short:
        cause += f", or its {months}-month order history is too short for them"
    return (
        f"Note: {', '.join(items)} {'is' if len(items) == 1 else 'are'} empty or under 1% of "
        f"the customers: {cause} (review the thresholds in the shop's settings)."
    )
