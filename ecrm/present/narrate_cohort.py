"""Cohort, LTV and F2 sentences (re-exported by :mod:`ecrm.present.narrate`).

Every pooled figure names the cohorts it used ("windows stated as used"): a
longer horizon is observable for fewer, older cohorts. The export's
left-censored first cohort (:mod:`ecrm.analysis.censoring`) is never among
them; the page summary says once that it was left out
(:func:`ecrm.present.narrate_censoring.censored_note`).
"""

from __future__ import annotations

import pandas as pd

from ecrm.present import format as fmt
from ecrm.present.labels import check_lang
from ecrm.present.narrate_censoring import uncensored

__all__ = [
    "cohort",
    "cohort_curve",
    "cohort_span",
    "f2_conversion",
    "ltv_from_cohorts",
    "ltv_transition",
]


def cohort_span(cohorts: pd.Series, *, lang: str = "ja") -> str:
    """The cohorts a pooled figure used, as the sentence states its window.

    Parameters
    ----------
    cohorts : Series of str
        ``YYYY-MM`` labels of the cohorts pooled (duplicates and order do not matter;
        ``all`` is ignored).
    lang : {"ja", "en"}

    Returns
    -------
    str
        "2011-01〜2011-09の9コホート" / "the 9 cohorts 2011-01 to 2011-09"
        (one cohort: "2011-01コホート" / "the 2011-01 cohort"); "" without any.

    Examples
    --------
    >>> cohort_span(pd.Series(["2011-02", "2011-01", "2011-02"]), lang="en")
    'the 2 cohorts 2011-01 to 2011-02'
    """
    check_lang(lang)
    labels = sorted(set(cohorts.dropna().astype(str)) - {"all"})
    if not labels:
        return ""
    first, last, n = labels[0], labels[-1], len(labels)
    if n == 1:
        return f"{first}コホート" if lang == "ja" else f"the {first} cohort"
    if lang == "ja":
        return f"{first}〜{last}の{n}コホート"
    return f"the {n} cohorts {first} to {last}"


def cohort(table: pd.DataFrame, *, lang: str = "ja") -> str:
    """Average month-1 retention of the cohorts shown, and the latest observable one.

    The sentence names the cohorts it pooled (those with month 1 observed; the
    left-censored first cohort is left out, :mod:`ecrm.analysis.censoring`).
    """
    check_lang(lang)
    table, _ = uncensored(table)
    m1 = table[(table["period"] == 1) & table["retention"].notna()].sort_values("cohort")
    if m1.empty:
        return (
            "翌月の継続率を測れるコホートはまだありません。"
            if lang == "ja"
            else ("No cohort is old enough to measure month-1 retention yet.")
        )
    avg = float((m1["active"].sum()) / m1["cohort_size"].sum())
    last = m1.iloc[-1]
    span = cohort_span(m1["cohort"], lang=lang)
    if lang == "ja":
        return (
            f"初回購入の翌月に再購入した顧客の割合は、{span}全体で{fmt.rate(avg)}です。"
            f"直近で測定できる{last.cohort}コホートは{fmt.rate(last.retention)}でした。"
        )
    return (
        f"Across {span}, {fmt.rate(avg)} of new customers bought again the month after "
        f"their first purchase; the latest measurable cohort ({last.cohort}) "
        f"{fmt.rate(last.retention)}."
    )


def ltv_transition(table: pd.DataFrame, *, lang: str = "ja", currency: str = "JPY") -> str:
    """The all-cohort LTV and F2 rate at the longest filled horizon.

    The longest horizon's figures pool only the cohorts observable that long:
    the sentence names them (the ``all`` rows of
    :func:`ecrm.analysis.ltv.ltv_transition` leave the left-censored cohort out).
    """
    check_lang(lang)
    allrows = table[(table["cohort"] == "all") & table["ltv"].notna()].sort_values("days")
    if allrows.empty:
        return (
            "LTVを測れるコホートはまだありません。"
            if lang == "ja"
            else ("No cohort has been observable long enough to measure LTV.")
        )
    row = allrows.iloc[-1]
    first = allrows.iloc[0]
    span = _pooled_span(table, int(row.days), "ltv", lang)
    if lang == "ja":
        return (
            f"新規顧客1人あたりの累計売上(LTV)は初回購入から{int(first.days)}日で"
            f"{fmt.money(first.ltv, currency)}、"
            f"{int(row.days)}日で{fmt.money(row.ltv, currency)}です"
            f"(F2転換率は{int(row.days)}日で{fmt.rate(row.f2_rate)}。"
            f"{int(row.days)}日の値は{span}の平均)。"
        )
    return (
        f"Revenue per new customer (LTV) is {fmt.money(first.ltv, currency)} "
        f"{int(first.days)} days "
        f"after the first purchase and {fmt.money(row.ltv, currency)} after {int(row.days)} days "
        f"(F2 rate {fmt.rate(row.f2_rate)} by then; the {int(row.days)}-day figures pool "
        f"{span})."
    )


def f2_conversion(table: pd.DataFrame, *, lang: str = "ja") -> str:
    """All-cohort F2 rate at each window.

    Longer windows pool fewer (older) cohorts: the sentence names those of the
    longest one (the left-censored cohort is not among them).
    """
    check_lang(lang)
    allrows = table[(table["cohort"] == "all") & table["f2_rate"].notna()].sort_values("days")
    parts = [
        (
            f"{int(r.days)}日以内{fmt.rate(r.f2_rate)}"
            if lang == "ja"
            else f"{fmt.rate(r.f2_rate)} within {int(r.days)} days"
        )
        for r in allrows.itertuples()
    ]
    if not parts:
        return "—"
    longest = int(allrows["days"].iloc[-1])
    span = _pooled_span(table, longest, "f2_rate", lang)
    if lang == "ja":
        return (
            "新規顧客のF2転換率(2回目購入)は、"
            + "、".join(parts)
            + f"です({longest}日の値は{span}の平均)。"
        )
    return (
        "New customers' F2 conversion: "
        + ", ".join(parts)
        + f" (the {longest}-day rate pools {span})."
    )


def _pooled_span(table: pd.DataFrame, days: int, value: str, lang: str) -> str:
    """The cohorts an ``all`` row of an LTV / F2 table pooled at ``days`` (filled, uncensored)."""
    per, _ = uncensored(table[table["cohort"] != "all"])
    cells = per[(per["days"] == days) & per[value].notna()]
    return cohort_span(cells["cohort"], lang=lang)


def cohort_curve(table: pd.DataFrame, *, lang: str = "ja") -> str:
    """Retention at months 3, 6 and 12 over the cohorts where they are observable.

    Each rate names the cohorts it pooled (fewer are observable at month 12;
    the left-censored first cohort is left out).
    """
    check_lang(lang)
    table, _ = uncensored(table)
    parts = []
    for k in (3, 6, 12):
        cells = table[(table["period"] == k) & table["retention"].notna()]
        if len(cells):
            rate = cells["active"].sum() / cells["cohort_size"].sum()
            parts.append((k, float(rate), cohort_span(cells["cohort"], lang=lang)))
    if not parts:
        return "—"
    if lang == "ja":
        return (
            "初回購入から"
            + "、".join(f"{k}ヶ月後の継続率は{fmt.rate(r)}({s})" for k, r, s in parts)
            + "です。"
        )
    return (
        "Retention is "
        + ", ".join(f"{fmt.rate(r)} after {k} months ({s})" for k, r, s in parts)
        + "."
    )


def ltv_from_cohorts(table: pd.DataFrame, *, lang: str = "ja", currency: str = "JPY") -> str:
    """Cumulative revenue per customer 12 months after the first purchase (where observable).

    The average names the cohorts it pooled; the left-censored first cohort is
    left out (so it is never quoted as the best cohort).
    """
    check_lang(lang)
    table, _ = uncensored(table)
    cells = table[(table["period"] == 12) & table["cum_revenue_per_customer"].notna()]
    if cells.empty:
        return (
            "12ヶ月後まで観測できるコホートはまだありません。"
            if lang == "ja"
            else ("No cohort is 12 months old yet.")
        )
    w = (cells["cum_revenue_per_customer"] * cells["cohort_size"]).sum() / cells[
        "cohort_size"
    ].sum()
    best = cells.sort_values("cum_revenue_per_customer").iloc[-1]
    span = cohort_span(cells["cohort"], lang=lang)
    if lang == "ja":
        return (
            f"初回購入から12ヶ月後までの顧客あたり累計売上は{span}の平均で"
            f"{fmt.money(w, currency)}、"
            f"最も高いのは{best.cohort}コホート"
            f"({fmt.money(best.cum_revenue_per_customer, currency)})です。"
        )
    return (
        f"Cumulative revenue per customer 12 months after the first purchase averages "
        f"{fmt.money(w, currency)} over {span}; the best cohort is {best.cohort} "
        f"({fmt.money(best.cum_revenue_per_customer, currency)})."
    )
