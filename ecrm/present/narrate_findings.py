"""Sentences for the month's findings and the 1–3 sentence summary of every page.

:func:`finding` turns one row of :func:`ecrm.analysis.findings.findings` into
a sentence (Japanese or English): numbers formatted with
:mod:`ecrm.present.format` (money in the shop's currency), segment and KPI
codes through :mod:`ecrm.present.labels`, names from the data (a category)
kept as they are. The text is plain: whoever puts it into HTML escapes it
(the index template and ``ReportContext.summary`` do).

The page summaries (``<page>_summary``) take the tables the page itself shows
and state the window (the as_of date) before the page's key sentence from
:mod:`ecrm.present.narrate`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from ecrm.present import format as fmt
from ecrm.present import narrate, narrate_d2c
from ecrm.present.labels import check_lang, kpi_label, label
from ecrm.present.narrate_censoring import censored_note

__all__ = [
    "cluster_summary",
    "cohort_summary",
    "cpm_summary",
    "ctb_summary",
    "d2c_summary",
    "decile_summary",
    "finding",
    "finding_sentences",
    "lifecycle_summary",
    "ltv_summary",
    "overview_summary",
    "rfm_summary",
]


def _list_note(row: Any, lang: str) -> str:
    name = str(row.get("list") or "")
    if not name:
        return ""
    return f" — リスト: {name}.csv" if lang == "ja" else f" — list: {name}.csv"


def _kpi_sentence(row: Any, lang: str, currency: str) -> str:
    code = str(row["subject"])
    name = kpi_label(code, lang)
    value = fmt.kpi_value(code, row["value"], currency=currency)
    prev = fmt.kpi_value(code, row["previous"], currency=currency)
    change = fmt.rate(row["change"], signed=True)
    effect = fmt.money(row["effect"], currency)
    if lang == "ja":
        return f"{name}が前月比{change}({prev} → {value}):売上への影響 約{effect}"
    return f"{name} {change} month on month ({prev} → {value}): about {effect} of revenue"


def finding(row: Any, *, lang: str = "ja", currency: str = "JPY") -> str:
    """One finding as a sentence.

    Parameters
    ----------
    row : mapping
        A row of :func:`ecrm.analysis.findings.findings` (a Series or dict).
    lang : {"ja", "en"}
    currency : str
        The shop's currency (ISO 4217).

    Returns
    -------
    str
        Plain text (not escaped).

    Examples
    --------
    >>> finding({"code": "f2_drop", "value": 0.25, "previous": 0.289, "change": -0.039,
    ...          "customers": 120, "effect": 50000, "list": ""}, lang="en")
    'F2 within 90 days fell 3.9 pt (28.9% → 25.0%, cohort of 120): about ¥50,000 of revenue'
    """
    check_lang(lang)
    code = str(row["code"])
    ja = lang == "ja"
    effect = fmt.money(row["effect"], currency)
    if code in ("segment_jump", "segment_drop"):
        seg = label(str(row["subject"]), lang)
        change = fmt.rate(row["change"], signed=True)
        n, total = fmt.count(row["value"]), fmt.money(row["revenue_12m"], currency)
        members = fmt.count(row["customers"])
        prev = fmt.count(row["previous"])
        if ja:
            text = (
                f"{seg}が前月比{change}({prev}人 → {n}人):過去12ヶ月に{total}購入した"
                f"{members}人、影響 約{effect}"
            )
        else:
            text = (
                f"{seg} {change} month on month ({prev} → {n} customers): {members} customers "
                f"who spent {total} in the last 12 months, about {effect} at stake"
            )
        return text + _list_note(row, lang)
    if code == "kpi_change":
        return _kpi_sentence(row, lang, currency)
    if code in ("f2_drop", "f2_rise"):
        pt = fmt.number(abs(float(row["change"])) * 100, decimals=1)
        prev, now = fmt.rate(row["previous"]), fmt.rate(row["value"])
        n = fmt.count(row["customers"])
        if ja:
            verb = "低下" if code == "f2_drop" else "上昇"
            return (
                f"90日以内F2転換率が{pt}ポイント{verb}({prev} → {now}、対象{n}人):"
                f"売上への影響 約{effect}"
            )
        verb = "fell" if code == "f2_drop" else "rose"
        return (
            f"F2 within 90 days {verb} {pt} pt ({prev} → {now}, cohort of {n}): "
            f"about {effect} of revenue"
        )
    if code == "entry_category_worst":
        cat = str(row["subject"])
        now, ref = fmt.rate(row["value"]), fmt.rate(row["reference"])
        n = fmt.count(row["customers"])
        if ja:
            return (
                f"初回購入カテゴリ「{cat}」のF2転換率が最も低い({now}、全体{ref}、{n}人):"
                f"影響 約{effect}"
            )
        return (
            f"The entry category {cat} converts worst (F2 {now} against {ref} overall, "
            f"{n} customers): about {effect} at stake"
        )
    if code == "lapse_rise":
        pt = fmt.number(float(row["change"]) * 100, decimals=1)
        prev, now = fmt.rate(row["previous"]), fmt.rate(row["value"])
        if ja:
            return f"離脱率が{pt}ポイント上昇({prev} → {now}):影響 約{effect}"
        return f"The lapse rate rose {pt} pt ({prev} → {now}): about {effect} at stake"
    return code


def finding_sentences(table: pd.DataFrame, *, lang: str = "ja", currency: str = "JPY") -> list[str]:
    """The sentences of a findings table, in its (ranked) order."""
    return [finding(r, lang=lang, currency=currency) for r in table.to_dict("records")]


# ----------------------------------------------------------------------------- page summaries


def _window(as_of: Any, lang: str, months: int | None = None) -> str:
    d = as_of if isinstance(as_of, dt.date) else pd.Timestamp(as_of).date()
    if lang == "ja":
        span = f"直近{months}ヶ月、" if months else ""
        return f"{span}{d.isoformat()}時点。"
    span = f"the last {months} months to " if months else ""
    return f"As of {span}{d.isoformat()}." if not months else f"Over {span}{d.isoformat()}."


def _join(*parts: str) -> str:
    """Sentences in a row: Japanese ones (ending in 。) without a space, others with one."""
    out = ""
    for p in (p.strip() for p in parts if p and p.strip()):
        out += p if not out or out.endswith("。") else " " + p
    return out


def overview_summary(
    kpis: pd.DataFrame, *, as_of: Any, lang: str = "ja", currency: str = "JPY"
) -> str:
    """Overview: the month's revenue, new customers and repeat rate with their changes."""
    check_lang(lang)
    return _join(_window(as_of, lang), narrate.kpi_headline(kpis, lang=lang, currency=currency))


def rfm_summary(segments: pd.DataFrame, *, as_of: Any, lang: str = "ja") -> str:
    """RFM: the segments that hold the customers and the revenue."""
    check_lang(lang)
    return _join(_window(as_of, lang), narrate.rfm(segments, lang=lang))


def decile_summary(
    table: pd.DataFrame,
    previous: pd.DataFrame | None = None,
    *,
    as_of: Any,
    lang: str = "ja",
    window: Any = None,
) -> str:
    """Decile: the top decile's share of the last 12 months' revenue.

    With ``window`` (:func:`ecrm.analysis.segments.data_window`) the sentence names
    the days used, and a history shorter than the period is not called "12 months".
    """
    check_lang(lang)
    if window is None:
        return _join(_window(as_of, lang, 12), narrate.decile(table, previous, lang=lang))
    return narrate.decile(table, previous, lang=lang, window=window)


def cpm_summary(
    summary: pd.DataFrame, monthly: pd.DataFrame, *, as_of: Any, lang: str = "ja"
) -> str:
    """CPM: the portfolio at as_of and how it moved over the months shown."""
    check_lang(lang)
    return _join(
        _window(as_of, lang), narrate.cpm(summary, lang=lang), narrate.cpm_trend(monthly, lang=lang)
    )


def lifecycle_summary(monthly: pd.DataFrame, *, as_of: Any, lang: str = "ja") -> str:
    """Lifecycle: the segments at each month end and the revenue they bring."""
    check_lang(lang)
    held = monthly.groupby("month_end")["customers"].sum() if len(monthly) else pd.Series()
    months = int((held > 0).sum()) or None  # month ends the data cover, not those before
    return _join(
        _window(as_of, lang, months),
        narrate.lifecycle(monthly, lang=lang),
        narrate.lifecycle_revenue(monthly, lang=lang),
    )


def cohort_summary(table: pd.DataFrame, *, as_of: Any, lang: str = "ja") -> str:
    """Cohort: how the monthly cohorts are retained."""
    check_lang(lang)
    return _join(
        _window(as_of, lang), narrate.cohort(table, lang=lang), censored_note(table, lang=lang)
    )


def ltv_summary(
    transition: pd.DataFrame,
    f2: pd.DataFrame,
    *,
    as_of: Any,
    lang: str = "ja",
    currency: str = "JPY",
) -> str:
    """LTV: the value of a customer over the days after the first purchase, and F2."""
    check_lang(lang)
    return _join(
        _window(as_of, lang),
        narrate.ltv_transition(transition, lang=lang, currency=currency),
        narrate.f2_conversion(f2, lang=lang),
        censored_note(transition, lang=lang),
    )


def cluster_summary(profile: pd.DataFrame | None, *, as_of: Any, lang: str = "ja") -> str:
    """Clusters: the customer groups found and their sizes ("" without a profile)."""
    check_lang(lang)
    if profile is None or not len(profile):
        return ""
    return _join(_window(as_of, lang), narrate.clusters(profile, lang=lang))


def ctb_summary(first: pd.DataFrame, *, as_of: Any, lang: str = "ja", currency: str = "JPY") -> str:
    """CTB: which first-purchase category (on the product fallback, product) makes repeats."""
    check_lang(lang)
    level = "product" if len(first) and (first["level"] == "product").any() else "category"
    return _join(
        _window(as_of, lang),
        narrate.first_purchase_ctb(first, level=level, lang=lang, currency=currency),
    )


def d2c_summary(
    continuation: pd.DataFrame | None,
    channel_summary: pd.DataFrame | None,
    entry: pd.DataFrame | None,
    *,
    as_of: Any,
    lang: str = "ja",
    currency: str = "JPY",
) -> str:
    """定期・チャネル・商品: the first renewal and the best first channel (or entry product).

    Each table is None where the shop lacks its data (the page then says why in
    the section); the summary uses the ones there are, at most two sentences
    after the date: 定期 continuation, then the first channel with the highest
    360-day LTV — or, without channels, the best entry product. "" when the
    shop has none of them.
    """
    check_lang(lang)
    parts = []
    if continuation is not None:
        parts.append(narrate_d2c.continuation(continuation, lang=lang))
    if channel_summary is not None:
        parts.append(narrate_d2c.channel_value(channel_summary, lang=lang, currency=currency))
    elif entry is not None:
        parts.append(narrate_d2c.entry_products(entry, lang=lang))
    if not parts:
        return ""
    return _join(_window(as_of, lang), *parts)
