"""Sentences of interpretation computed from the analysis tables (Japanese or English).

Each function takes the finished table(s) a notebook shows and returns one or
two sentences whose every number comes from those tables — never a fixed text.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from ecrm.present import format as fmt
from ecrm.present import narrate_windows as nw
from ecrm.present.labels import check_lang, label
from ecrm.present.narrate_cohort import (
    cohort,
    cohort_curve,
    f2_conversion,
    ltv_from_cohorts,
    ltv_transition,
)

__all__ = [
    "calibration",
    "cluster_features",
    "cluster_k",
    "cluster_projection",
    "clusters",
    "cohort",
    "cohort_curve",
    "cpm",
    "cpm_transitions",
    "cpm_trend",
    "cross_purchase",
    "ctb_mix",
    "ctb_transitions",
    "data_quality",
    "decile",
    "decile_migration",
    "f2_conversion",
    "first_purchase_ctb",
    "intervals",
    "kpi_headline",
    "kpi_trend",
    "ladder",
    "lifecycle",
    "lifecycle_revenue",
    "lifecycle_transitions",
    "ltv_from_cohorts",
    "ltv_transition",
    "pareto",
    "predicted_value",
    "probability_alive",
    "recommendation_check",
    "revenue_split",
    "rfm",
    "rfm_grid",
    "rfm_migration",
]


def kpi_headline(kpis: pd.DataFrame, *, lang: str = "ja", currency: str = "JPY") -> str:
    """The month's revenue, new customers and repeat rate with their changes.

    In the export's left-censored first month (no new/repeat split, see
    :mod:`ecrm.analysis.kpi`) the new customers and repeat rate read "—".
    """
    check_lang(lang)
    last = kpis[kpis["month"] == kpis["month"].max()].set_index("kpi")
    month = pd.Timestamp(kpis["month"].max()).strftime("%Y-%m")
    rev, new, rr = last.loc["revenue"], last.loc["new_customers"], last.loc["repeat_rate"]
    # empty in the export's left-censored first month (kpi.CENSORED_MONTH_KPIS)
    n_new = f"{int(new.value):,}" if pd.notna(new.value) else "—"
    if lang == "ja":
        return (
            f"{month}の売上は{fmt.money(rev.value, currency)}(前月比"
            f"{fmt.rate(rev.mom, signed=True)}、"
            f"前年同月比{fmt.rate(rev.yoy, signed=True)})。新規顧客は{n_new}人"
            f"(前年同月比{fmt.rate(new.yoy, signed=True)})、リピート率は{fmt.rate(rr.value)}"
            f"(前年同月差{fmt.points(rr.yoy, lang=lang)})でした。"
        )
    return (
        f"Revenue in {month} was {fmt.money(rev.value, currency)} "
        f"({fmt.rate(rev.mom, signed=True)} on the "
        f"previous month, {fmt.rate(rev.yoy, signed=True)} on a year earlier). "
        f"{n_new} new "
        f"customers ({fmt.rate(new.yoy, signed=True)} year on year); the repeat rate was "
        f"{fmt.rate(rr.value)} "
        f"({fmt.points(rr.yoy, lang=lang)} on a year earlier)."
    )


def revenue_split(kpis: pd.DataFrame, *, lang: str = "ja", currency: str = "JPY") -> str:
    """The month's revenue as new + repeat + the rest (orders without a customer id).

    ``new_revenue`` and ``repeat_revenue`` count customers' orders only; a guest
    order (no customer id) is revenue of nobody's, so the two fall short of
    ``revenue`` by exactly the guests' net amount. The sentence says so, with the
    amounts, instead of leaving the gap unexplained on the page; empty when the
    table lacks the three rows.
    """
    check_lang(lang)
    last = kpis[kpis["month"] == kpis["month"].max()].set_index("kpi")["value"]
    if not {"revenue", "new_revenue", "repeat_revenue"} <= set(last.index):
        return ""
    rev, new, rep = (float(last[k]) for k in ("revenue", "new_revenue", "repeat_revenue"))
    rest = rev - new - rep
    month = pd.Timestamp(kpis["month"].max()).strftime("%Y-%m")
    m = lambda v: fmt.money(v, currency)  # noqa: E731
    if lang == "ja":
        text = f"{month}の売上{m(rev)}は、新規顧客{m(new)}とリピート顧客{m(rep)}"
        if abs(rest) >= 0.5:
            return text + f"、会員IDのない購入(ゲスト購入){m(rest)}の合計です。"
        return text + "の合計です。"
    text = (
        f"Revenue in {month}, {m(rev)}, is new customers' {m(new)} plus repeat customers' {m(rep)}"
    )
    if abs(rest) >= 0.5:
        return text + f" plus {m(rest)} from orders without a customer id (guest orders)."
    return text + "."


def data_quality(quality: dict[str, Any], *, lang: str = "ja") -> str:
    """Rows kept and dropped, guests and returns from the ingestion summary."""
    check_lang(lang)
    read, kept = quality.get("rows_read", 0), quality.get("rows_kept", 0)
    dup = quality.get("dropped", {}).get("exact_duplicate", 0)
    status = quality.get("dropped", {}).get("excluded_status", 0)
    guests = quality.get("guest_rows_kept", 0)
    rng = f"{quality.get('date_from')} – {quality.get('date_to')}"
    if lang == "ja":
        return (
            f"取り込んだ{read:,}行のうち{kept:,}行を分析に使用しています(重複{dup:,}行・"
            f"除外ステータス{status:,}行を除外)。ゲスト購入は{guests:,}行で、"
            f"売上KPIにのみ含めます。"
            f"データ期間は{rng}です。"
        )
    return (
        f"{kept:,} of {read:,} rows are analysed ({dup:,} exact duplicates and {status:,} rows "
        f"with an excluded status dropped). {guests:,} guest rows count for revenue KPIs only. "
        f"The data covers {rng}."
    )


def rfm(segments: pd.DataFrame, *, lang: str = "ja") -> str:
    """The segment with the largest revenue share, and the at-risk share."""
    check_lang(lang)
    top = segments.sort_values("revenue_share", ascending=False).iloc[0]
    risk = segments[segments["segment"].isin(["at_risk", "cannot_lose"])]
    risk_share, risk_rev = risk["share"].sum(), risk["revenue_share"].sum()
    name = label(top.segment, lang)
    if lang == "ja":
        return (
            f"「{name}」は顧客の{fmt.rate(top.share)}で累計売上の"
            f"{fmt.rate(top.revenue_share)}を占めます。"
            f"離脱の危険がある層(離脱危険・失えない顧客)は顧客の{fmt.rate(risk_share)}、"
            f"累計売上の{fmt.rate(risk_rev)}です。"
        )
    return (
        f"'{name}' are {fmt.rate(top.share)} of customers and {fmt.rate(top.revenue_share)} of "
        f"cumulative revenue. Customers at risk (at risk, cannot lose them) are "
        f"{fmt.rate(risk_share)} of customers and {fmt.rate(risk_rev)} of revenue."
    )


def decile(
    table: pd.DataFrame, previous: Any = None, *, lang: str = "ja", window: Any = None
) -> str:
    """The top decile's revenue share, against the previous period when given.

    ``window`` (:func:`ecrm.analysis.segments.data_window`): the days the period used.
    """
    check_lang(lang)
    top = float(table.loc[table["decile"] == 1, "revenue_share"].iloc[0])
    top3 = (
        float(table.loc[table["decile"] == 3, "cumulative_share"].iloc[0])
        if len(table) >= 3
        else float("nan")
    )
    change = ""
    if previous is not None and len(previous):
        prev = float(previous.loc[previous["decile"] == 1, "revenue_share"].iloc[0])
        change = (
            f"(前期から{fmt.points(top - prev, lang=lang)})"
            if lang == "ja"
            else f" ({fmt.points(top - prev, lang=lang)} on the previous period)"
        )
    if lang == "ja":
        period = f"{nw.span(window, lang)}の売上" if window is not None else "期間売上"
        return (
            f"上位10%の顧客(デシル1)が{period}の{fmt.rate(top)}を占めました{change}。"
            f"上位30%では{fmt.rate(top3)}です。"
        )
    period = f"revenue from {nw.span(window, lang)}" if window is not None else "period's revenue"
    return (
        f"The top decile brought {fmt.rate(top)} of the {period}{change}; the top three "
        f"deciles {fmt.rate(top3)}."
    )


def decile_migration(migration: pd.DataFrame, *, lang: str = "ja", previous: Any = None) -> str:
    """How many of last period's top decile stayed (``previous``: that period's Window)."""
    check_lang(lang)
    if previous is not None and previous.empty:
        return nw.before_data(previous, ("デシルの移動", "decile movement"), lang)
    d1 = migration[migration["from_decile"] == "1"]
    total = d1["customers"].sum()
    if total == 0:
        return (
            "前期のデシル1の顧客はいません。"
            if lang == "ja"
            else "No top-decile customers last period."
        )
    stayed = d1.loc[d1["to_decile"] == "1", "customers"].sum() / total
    gone = d1.loc[d1["to_decile"] == "none", "customers"].sum() / total
    if lang == "ja":
        return (
            f"前期デシル1の顧客のうち{fmt.rate(stayed)}が今期もデシル1に留まり、"
            f"{fmt.rate(gone)}は今期購入していません。"
        )
    return (
        f"{fmt.rate(stayed)} of last period's top-decile customers stayed in the top decile; "
        f"{fmt.rate(gone)} did not buy this period."
    )


def cpm(summary: pd.DataFrame, *, lang: str = "ja") -> str:
    """Loyal (優良) customers' share of customers and revenue, and the lapsed share."""
    check_lang(lang)
    s = summary.set_index("segment")
    loyal = s.loc["loyal_active"]
    lapsed = s[s.index.str.endswith("_lapsed")]
    if lang == "ja":
        return (
            f"優良現役客は{int(loyal.customers):,}人(顧客の{fmt.rate(loyal.share)})で累計売上の"
            f"{fmt.rate(loyal.revenue_share)}を占めます。"
            f"離脱客は全体の{fmt.rate(lapsed['share'].sum())}です。"
        )
    return (
        f"{int(loyal.customers):,} loyal active customers ({fmt.rate(loyal.share)}) hold "
        f"{fmt.rate(loyal.revenue_share)} of cumulative revenue; "
        f"{fmt.rate(lapsed['share'].sum())} of "
        "customers have lapsed."
    )


def _trend(monthly: pd.DataFrame, code: str, lang: str) -> str:
    # from the first month end with customers: month ends before the data begin are not "0 人"
    held = monthly.groupby("month_end")["customers"].transform("sum") > 0
    m = monthly[held & (monthly["segment"] == code)].sort_values("month_end")
    if m.empty:
        return ""
    first, last = m.iloc[0], m.iloc[-1]
    name = label(code, lang)
    if lang == "ja":
        return (
            f"「{name}」は{first.month_end:%Y-%m}末の{int(first.customers):,}人から"
            f"{last.month_end:%Y-%m}末の{int(last.customers):,}人になりました。"
        )
    return (
        f"'{name}' went from {int(first.customers):,} at the end of {first.month_end:%Y-%m} to "
        f"{int(last.customers):,} at the end of {last.month_end:%Y-%m}."
    )


def lifecycle(monthly: pd.DataFrame, *, lang: str = "ja") -> str:
    """How the VIP and dormant segments moved over the months shown."""
    check_lang(lang)
    return _trend(monthly, "vip", lang) + " " + _trend(monthly, "dormant", lang)


def cpm_trend(monthly: pd.DataFrame, *, lang: str = "ja") -> str:
    """How the loyal active segment moved over the months shown."""
    check_lang(lang)
    return _trend(monthly, "loyal_active", lang)


def cpm_transitions(transitions: pd.DataFrame, *, lang: str = "ja", window: Any = None) -> str:
    """Counts of customers who moved up, stayed, lapsed and were new.

    ``window``: the comparison date's (:func:`ecrm.analysis.segments.data_window`);
    a date before the data begin says the movement cannot be measured yet
    (everyone would count as "new").
    """
    check_lang(lang)
    if window is not None and window.empty:
        return nw.before_data(window, ("セグメントの移動", "movement between segments"), lang)
    by = transitions.groupby("movement")["customers"].sum()
    n = {k: int(by.get(k, 0)) for k in ("new", "up", "stayed", "down", "lapsed", "reactivated")}
    if lang == "ja":
        return (
            f"前回から{n['up']:,}人がランクアップ、{n['stayed']:,}人が維持、"
            f"{n['lapsed']:,}人が離脱へ移り、"
            f"{n['reactivated']:,}人が復帰、新規は{n['new']:,}人でした。"
        )
    return (
        f"Since the earlier date {n['up']:,} customers moved up, {n['stayed']:,} stayed, "
        f"{n['lapsed']:,} lapsed, {n['reactivated']:,} came back and {n['new']:,} are new."
    )


def lifecycle_transitions(transitions: pd.DataFrame, *, lang: str = "ja") -> str:
    """Of last month's new customers, the share that made a repeat purchase."""
    check_lang(lang)
    last = transitions[transitions["to_date"] == transitions["to_date"].max()]
    new = last[last["from_segment"] == "new"]
    total = new["customers"].sum()
    rep = new.loc[new["to_segment"] == "first_repeat", "customers"].sum()
    dorm = new.loc[new["to_segment"] == "dormant", "customers"].sum()
    rate = rep / total if total else float("nan")
    if lang == "ja":
        return (
            f"前月末の新規客{int(total):,}人のうち{fmt.rate(rate)}が今月リピートし、"
            f"{int(dorm):,}人が休眠に移りました。"
        )
    return (
        f"Of last month-end's {int(total):,} new customers, {fmt.rate(rate)} bought again "
        f"this month "
        f"and {int(dorm):,} became dormant."
    )


def kpi_trend(kpis: pd.DataFrame, kpi: str, *, lang: str = "ja", currency: str = "JPY") -> str:
    """A KPI's value this month against its average over the earlier months that have one.

    The sentence states the window it actually used: the number of earlier
    months with a value and their first and last month (a month without a
    value, e.g. F2 before a cohort is old enough, is not counted).
    """
    check_lang(lang)
    from ecrm.present.labels import kpi_label

    d = kpis[kpis["kpi"] == kpi].sort_values("month")
    last = d.iloc[-1]
    prev = d.iloc[:-1]
    prev = prev[prev["value"].notna()]
    mean = prev["value"].mean() if len(prev) else float("nan")
    name = kpi_label(kpi, lang)
    is_rate = kpi in ("repeat_rate", "f2_rate", "lapse_rate")
    if math.isnan(last.value) or math.isnan(mean):
        return f"{name}: {fmt.MISSING}"
    value = fmt.kpi_value(kpi, last.value, currency=currency)
    average = fmt.kpi_value(kpi, mean, currency=currency)
    rel = (last.value - mean) if is_rate else (last.value / mean - 1 if mean else float("nan"))
    change = fmt.points(rel, lang=lang) if is_rate else fmt.rate(rel, signed=True)
    n = len(prev)
    first, end = (pd.Timestamp(prev["month"].iloc[i]).strftime("%Y-%m") for i in (0, -1))
    span = first if n == 1 else f"{first}〜{end}" if lang == "ja" else f"{first} to {end}"
    if lang == "ja":
        return f"今月の{name}は{value}で、過去{n}ヶ月({span})の平均({average})比{change}です。"
    months = "month" if n == 1 else "months"
    return (
        f"{name} this month is {value}, {change} against the average of the previous "
        f"{n} {months} ({span}: {average})."
    )


def rfm_grid(grid: pd.DataFrame, *, lang: str = "ja") -> str:
    """The most populated R×F cell and the share of one-purchase customers."""
    check_lang(lang)
    top = grid.sort_values("customers", ascending=False).iloc[0]
    total = grid["customers"].sum()
    one = grid.loc[grid["f"] == 1, "customers"].sum() / total if total else float("nan")
    if lang == "ja":
        return (
            f"最も多いのはR{int(top.r)}・F{int(top.f)}の{int(top.customers):,}人です。"
            f"購入1回(F1)の顧客が全体の{fmt.rate(one)}を占めます。"
        )
    return (
        f"The largest cell is R{int(top.r)} F{int(top.f)} with {int(top.customers):,} customers; "
        f"one-purchase customers (F1) are {fmt.rate(one)} of all."
    )


def rfm_migration(migration: pd.DataFrame, *, lang: str = "ja", window: Any = None) -> str:
    """Share of a year-ago champions still champions (``window``: the comparison date's)."""
    check_lang(lang)
    if window is not None and window.empty:
        return nw.before_data(window, ("セグメントの移動", "movement between segments"), lang)
    ch = migration[migration["from_segment"] == "champions"]
    tot = ch["customers"].sum()
    stay = ch.loc[ch["to_segment"] == "champions", "customers"].sum() / tot if tot else float("nan")
    new = int(migration.loc[migration["from_segment"] == "none", "customers"].sum())
    name = label("champions", lang)
    if lang == "ja":
        return (
            f"1年前の「{name}」のうち{fmt.rate(stay)}が現在も同じセグメントです。"
            f"この1年の新規顧客は{new:,}人です。"
        )
    return (
        f"{fmt.rate(stay)} of a year ago's '{name}' are still there; {new:,} customers are new "
        "since then."
    )


def pareto(curve: pd.DataFrame, *, lang: str = "ja", window: Any = None) -> str:
    """Revenue share of the top 20% of customers (over ``window``'s days when given)."""
    check_lang(lang)
    c = curve.sort_values("customer_share")
    share = float(
        pd.Series(c["revenue_share"].to_numpy(), index=c["customer_share"].to_numpy())
        .loc[lambda s: s.index <= 0.2000001]
        .iloc[-1]
    )
    if lang == "ja":
        period = f"{nw.span(window, lang)}の売上" if window is not None else "期間売上"
        return f"上位20%の顧客が{period}の{fmt.rate(share)}を生んでいます。"
    period = f"revenue from {nw.span(window, lang)}" if window is not None else "period's revenue"
    return f"The top 20% of customers produced {fmt.rate(share)} of the {period}."


def lifecycle_revenue(monthly: pd.DataFrame, *, lang: str = "ja") -> str:
    """Share of this month's revenue from repeat and VIP customers."""
    check_lang(lang)
    last = monthly[monthly["month_end"] == monthly["month_end"].max()]
    total = last["revenue"].sum()
    rep = last.loc[last["segment"].isin(["first_repeat", "repeat", "vip"]), "revenue"].sum()
    vip = last.loc[last["segment"] == "vip", "revenue"].sum()
    r, v = (rep / total, vip / total) if total else (float("nan"), float("nan"))
    if lang == "ja":
        return (
            f"今月の会員売上の{fmt.rate(r)}がリピート客(うち優良客が{fmt.rate(v)})によるものです。"
        )
    return (
        f"{fmt.rate(r)} of this month's member revenue came from repeat customers "
        f"({fmt.rate(v)} from VIPs)."
    )


def ladder(ladder_table: pd.DataFrame, *, lang: str = "ja") -> str:
    """Continuation from the first to the second purchase, and at the top of the ladder."""
    check_lang(lang)
    t = ladder_table.dropna(subset=["continuation_rate"])
    first = t.iloc[0]
    last = t.iloc[-1]
    if lang == "ja":
        return (
            f"1回購入した顧客のうち{fmt.rate(first.continuation_rate)}が2回目を購入し、"
            f"{int(last.n)}回目から{int(last.n) + 1}回目への継続率は"
            f"{fmt.rate(last.continuation_rate)}まで上がります。"
        )
    return (
        f"{fmt.rate(first.continuation_rate)} of one-time buyers made a second purchase; "
        f"continuation "
        f"from purchase {int(last.n)} to {int(last.n) + 1} reaches "
        f"{fmt.rate(last.continuation_rate)}."
    )


def intervals(table: pd.DataFrame, *, lang: str = "ja") -> str:
    """Days until half of the second purchases have happened."""
    check_lang(lang)
    first = table[table["n"] == table["n"].min()].sort_values("days")
    half = first.loc[first["cum_share"] >= 0.5, "days"]
    if half.empty:
        return "—"
    d = int(half.iloc[0])
    if lang == "ja":
        return f"2回目の購入の半数は、初回購入から{fmt.days(d, lang=lang)}以内に起きています。"
    return f"Half of all second purchases happen within {fmt.days(d, lang=lang)} of the first."


def clusters(profile: pd.DataFrame, *, lang: str = "ja") -> str:
    """The largest cluster and the one with the largest revenue share."""
    check_lang(lang)
    col = "label_ja" if lang == "ja" else "label_en"
    big = profile.sort_values("share", ascending=False).iloc[0]
    rich = profile.sort_values("revenue_share", ascending=False).iloc[0]
    if lang == "ja":
        return (
            f"最大のクラスタは「{big[col]}」で顧客の{fmt.rate(big.share)}、"
            f"売上の最大は「{rich[col]}」で顧客の{fmt.rate(rich.share)}が売上の"
            f"{fmt.rate(rich.revenue_share)}を占めます。"
        )
    return (
        f"The largest cluster is '{big[col]}' ({fmt.rate(big.share)} of customers); "
        f"'{rich[col]}' brings the most revenue: {fmt.rate(rich.revenue_share)} from "
        f"{fmt.rate(rich.share)} of customers."
    )


def first_purchase_ctb(
    first: pd.DataFrame, *, level: str = "category", lang: str = "ja", currency: str = "JPY"
) -> str:
    """Which entry value makes the most valuable customers (LTV and F2 at the table's horizon).

    The horizon is the table's ``horizon_days`` (360 unless the CTB page chose
    a shorter one for a short history); a table with no customer observable
    for it says so.
    """
    check_lang(lang)
    h = int(first["horizon_days"].iloc[0]) if len(first) else 360
    t = first[(first["level"] == level) & first["ltv"].notna()]
    if t.empty:
        if lang == "ja":
            return f"初回購入から{h}日を観測できる顧客がまだいないため、この表は空です。"
        return f"No customer can be followed for {h} days after the first purchase yet."
    floor = max(30, int(0.01 * t["customers"].sum()))
    big = t[t["customers"] >= floor]
    if len(big) < 2:
        most = int(t["customers"].max())
        if lang == "ja":
            return (
                f"初回購入の{label(level, lang)}ごとの顧客数が少なく(最多 {fmt.count(most)} 人、"
                f"比較には {floor} 人以上が必要)、"
                f"LTV の違いを言える{label(level, lang)}はありません。"
            )
        return (
            f"Too few customers per first-purchase {label(level, lang).lower()} (at most "
            f"{fmt.count(most)}; {floor} are needed to compare) to tell which one makes more "
            "valuable customers."
        )
    t = big
    best = t.sort_values("ltv").iloc[-1]
    worst = t.sort_values("ltv").iloc[0]
    if lang == "ja":
        return (
            f"初回購入が「{best.value}」の顧客は{h}日LTV {fmt.money(best.ltv, currency)}"
            f"(F2転換率{fmt.rate(best.f2_rate)})で最も価値が高く、「{worst.value}」は"
            f"{fmt.money(worst.ltv, currency)}(F2転換率{fmt.rate(worst.f2_rate)})です。"
        )
    return (
        f"Customers whose first purchase was '{best.value}' are worth the most: {h}-day LTV "
        f"{fmt.money(best.ltv, currency)} (F2 {fmt.rate(best.f2_rate)}), against "
        f"{fmt.money(worst.ltv, currency)} (F2 {fmt.rate(worst.f2_rate)}) for '{worst.value}'."
    )


def ctb_transitions(table: pd.DataFrame, *, lang: str = "ja", min_from: int = 30) -> str:
    """The strongest repeat: the value most often bought again next time.

    Only values with at least ``min_from`` purchases followed by another
    (``from_total``) are read, so one customer's two purchases do not make a
    "100%" headline; with none that large, the largest value is read.
    """
    check_lang(lang)
    same = table[table["from_value"] == table["to_value"]]
    if same.empty:
        return "—"
    big = same[same["from_total"] >= min_from]
    same = big if len(big) else same[same["from_total"] == same["from_total"].max()]
    top = same.sort_values(["probability", "from_value"], ascending=[True, False]).iloc[-1]
    n = fmt.count(top.from_total)
    if lang == "ja":
        return (
            f"「{top.from_value}」を買った顧客は、次の購入でも(次の購入がある購入{n}件のうち)"
            f"{fmt.rate(top.probability)}が「{top.to_value}」を選んでいます(最も多い再購入の組み合わせ)。"
        )
    return (
        f"{fmt.rate(top.probability)} of customers who bought '{top.from_value}' chose it again "
        f"next time (of {n} purchases followed by another): the strongest repeat."
    )


def cross_purchase(pairs: pd.DataFrame, *, lang: str = "ja") -> str:
    """The pair with the highest lift."""
    check_lang(lang)
    if pairs.empty:
        return "—"
    top = pairs.sort_values(["lift", "support"], ascending=False).iloc[0]
    # each unordered pair is listed once: quote the direction with the higher confidence
    a, b, conf = top.value_a, top.value_b, top.confidence_ab
    if top.confidence_ba > top.confidence_ab:
        a, b, conf = top.value_b, top.value_a, top.confidence_ba
    if lang == "ja":
        return (
            f"「{a}」を買った顧客の{fmt.rate(conf)}が「{b}」も購入しており、"
            f"偶然の{top.lift:.2f}倍の組み合わせです。"
        )
    return (
        f"{fmt.rate(conf)} of '{a}' buyers also bought '{b}': "
        f"{top.lift:.2f} times what chance would give."
    )


def recommendation_check(evaluation: pd.DataFrame, *, lang: str = "ja") -> str:
    """Hit rate of the next-purchase model against the popularity baseline."""
    check_lang(lang)
    e = evaluation[evaluation["group"] == "all"].set_index("method")
    model, pop = e.loc["model"], e.loc["popularity"]
    n = int(model.top_n)
    if lang == "ja":
        return (
            f"{model.cutoff}時点の推奨を次の実購入と照合すると、上位{n}件の的中率は"
            f"{fmt.rate(model.hit_rate)}で、人気順だけの推奨({fmt.rate(pop.hit_rate)})"
            f"を上回りました。"
            if model.hit_rate > pop.hit_rate
            else f"上位{n}件の的中率は{fmt.rate(model.hit_rate)}で、"
            f"人気順({fmt.rate(pop.hit_rate)})を"
            "上回っていません。推奨の利用は慎重に。"
        )
    verdict = "beating" if model.hit_rate > pop.hit_rate else "not beating"
    return (
        f"Checked against the next real purchase after {model.cutoff}, the top-{n} hit rate is "
        f"{fmt.rate(model.hit_rate)}, {verdict} the popularity baseline ({fmt.rate(pop.hit_rate)})."
    )


def cluster_features(profile: pd.DataFrame, *, lang: str = "ja", currency: str = "JPY") -> str:
    """How far apart the clusters are on spend and purchases."""
    check_lang(lang)
    col = "label_ja" if lang == "ja" else "label_en"
    hi = profile.sort_values("monetary_mean").iloc[-1]
    lo = profile.sort_values("monetary_mean").iloc[0]
    if lang == "ja":
        return (
            f"「{hi[col]}」の累計購入額は平均{fmt.money(hi.monetary_mean, currency)}"
            f"(購入{hi.frequency_mean:.1f}回)、"
            f"「{lo[col]}」は{fmt.money(lo.monetary_mean, currency)}"
            f"(購入{lo.frequency_mean:.1f}回)です。"
        )
    return (
        f"'{hi[col]}' spent {fmt.money(hi.monetary_mean, currency)} on average over "
        f"{hi.frequency_mean:.1f} purchases; '{lo[col]}' "
        f"{fmt.money(lo.monetary_mean, currency)} over "
        f"{lo.frequency_mean:.1f}."
    )


def cluster_projection(result: Any, *, lang: str = "ja") -> str:
    """Share of the feature variance the two plotted components show."""
    check_lang(lang)
    share = float(sum(result.explained_variance))
    if lang == "ja":
        return f"この2軸で特徴量のばらつきの{fmt.rate(share)}を表しています(残りは図に現れません)。"
    return (
        f"These two axes show {fmt.rate(share)} of the features' variance; the rest is not visible."
    )


def cluster_k(result: Any, *, lang: str = "ja") -> str:
    """The chosen number of clusters and its silhouette score."""
    check_lang(lang)
    row = result.silhouette[result.silhouette["chosen"]].iloc[0]
    if lang == "ja":
        return f"クラスタ数は{int(row.k)}(シルエット係数{row.silhouette:.2f})を採用しました。"
    return f"{int(row.k)} clusters were used (silhouette score {row.silhouette:.2f})."


def ctb_mix(mix: pd.DataFrame, *, lang: str = "ja") -> str:
    """The top value of the VIP (or largest) segment's revenue."""
    check_lang(lang)
    seg = (
        "vip"
        if (mix["segment"] == "vip").any()
        else mix.groupby("segment")["segment_revenue"].max().idxmax()
    )
    top = mix[mix["segment"] == seg].sort_values("revenue_share").iloc[-1]
    if lang == "ja":
        return (
            f"「{label(seg, lang)}」の売上では「{top.value}」が{fmt.rate(top.revenue_share)}"
            f"を占め、"
            "最大です。"
        )
    return (
        f"'{top.value}' is the largest part of '{label(seg, lang)}' revenue "
        f"({fmt.rate(top.revenue_share)})."
    )


def predicted_value(
    deciles: pd.DataFrame, *, months: int = 12, lang: str = "ja", currency: str = "JPY"
) -> str:
    """Expected purchases and value of today's customers over the horizon; the top group's share.

    ``deciles`` is :func:`ecrm.models.predict.value_deciles` (value_decile, customers,
    expected_value, expected_value_share, avg_expected_purchases); ``months``
    the prediction horizon (``Prediction.info["months"]``). The deciles' values are
    never discounted (``predict_value``), and the sentence says so.
    """
    check_lang(lang)
    if deciles.empty or deciles["customers"].sum() == 0:
        return "—"
    n = int(deciles["customers"].sum())
    total = float(deciles["expected_value"].sum())
    buys = float((deciles["avg_expected_purchases"] * deciles["customers"]).sum())
    top = deciles.sort_values("value_decile").iloc[0]
    top_share = fmt.rate(float(top.expected_value_share))
    top_customers = f"{int(top.customers) / n:.0%}"
    if lang == "ja":
        return (
            f"現在の顧客{n:,}人は、今後{months}ヶ月で合計{buys:,.0f}回、"
            f"{fmt.money(total, currency)}(1人あたり{fmt.money(total / n, currency)}、割引なし)の"
            f"購入が見込まれます。予測顧客価値の上位{top_customers}(デシル1)が、その{top_share}を"
            "占めます。"
        )
    return (
        f"Today's {n:,} customers are expected to make {buys:,.0f} purchases worth "
        f"{fmt.money(total, currency)} over the next {months} months "
        f"({fmt.money(total / n, currency)} per customer, undiscounted); "
        f"the top {top_customers} by expected value (decile 1) account for {top_share} of it."
    )


def probability_alive(customers: pd.DataFrame, *, threshold: float = 0.5, lang: str = "ja") -> str:
    """Repeat customers the model thinks have probably left, and the one-time buyers' caveat.

    ``customers`` is ``Prediction.customers`` (frequency, probability_alive);
    ``threshold``: below it a customer counts as "probably gone".
    """
    check_lang(lang)
    repeat = customers[customers["frequency"] > 0]
    n = len(repeat)
    once = int((customers["frequency"] == 0).sum())
    low = int((repeat["probability_alive"] < threshold).sum())
    share = fmt.rate(low / n) if n else "—"
    if lang == "ja":
        return (
            f"リピート購入のある顧客{n:,}人のうち{low:,}人({share})は生存確率が"
            f"{threshold:.0%}未満で、すでに離れている可能性が高い顧客です。"
            f"1回購入のみの{once:,}人は、モデルの仮定上すべて生存確率100%です。"
        )
    return (
        f"{low:,} of the {n:,} customers with a repeat purchase ({share}) have a probability "
        f"alive below {threshold:.0%}: they have probably left. The model counts all {once:,} "
        "one-time buyers as alive (it assumes nobody leaves before a repeat purchase)."
    )


#: The hold-out verdict by (purchases close, purchases and value close): (ja, en).
_CALIBRATION_VERDICTS: dict[tuple[bool, bool], tuple[str, str]] = {
    (True, True): (
        "購入回数・購入金額とも誤差±{tol}以内で、モデルはこのショップによく合っています。",
        "Purchases and revenue are within ±{tol}: the model describes this shop well.",
    ),
    (True, False): (
        "購入回数の誤差は±{tol}以内ですが、購入金額の誤差は±{tol}を超えています。"
        "購入回数の予測は使えますが、金額の予測は目安として扱ってください。",
        "The purchase count is within ±{tol} but revenue is more than {tol} off: use the "
        "predicted purchases, and treat the predicted value as a rough guide.",
    ),
    (False, False): (
        "購入回数の誤差が±{tol}を超えています。予測値は目安として扱ってください。",
        "The purchase count is more than {tol} off: treat the predictions as a rough guide.",
    ),
}


def calibration(
    check: Any, *, tolerance: float = 0.10, lang: str = "ja", currency: str = "JPY"
) -> str:
    """Predicted against actual hold-out purchases and value, and whether that is close.

    ``check`` is an :func:`ecrm.models.predict.calibration` result (its ``summary``
    with measure, customers, predicted_total, actual_total, relative_error,
    correlation; its ``cutoff`` and ``as_of``). The model "describes the shop
    well" only when both the total purchases and the total value are within
    ``tolerance``; purchases within it and value outside say that the predicted
    value (Gamma-Gamma) is a rough guide.
    """
    check_lang(lang)
    s = check.summary.set_index("measure")
    buys, value = s.loc["purchases"], s.loc["value"]
    err = float(buys.relative_error)
    close = not math.isnan(err) and abs(err) <= tolerance
    verr = float(value.relative_error)
    value_close = not math.isnan(verr) and abs(verr) <= tolerance
    corr = "—" if math.isnan(buys.correlation) else f"{buys.correlation:.2f}"
    verdict = _CALIBRATION_VERDICTS[(close, close and value_close)][lang == "en"]
    verdict = verdict.format(tol=f"{tolerance:.0%}")
    if lang == "ja":
        return (
            f"{check.cutoff}までの購入履歴で推定したモデルは、{check.as_of}までの購入回数を"
            f"合計{buys.predicted_total:,.0f}回と予測し、実績は{buys.actual_total:,.0f}回でした"
            f"(誤差{fmt.rate(err, signed=True)}、対象{int(buys.customers):,}人、"
            f"顧客ごとの相関{corr})。"
            f"購入金額は予測{fmt.money(value.predicted_total, currency)}に対し実績"
            f"{fmt.money(value.actual_total, currency)}(誤差"
            f"{fmt.rate(value.relative_error, signed=True)})。" + verdict
        )
    return (
        f"Fitted on the purchases up to {check.cutoff}, the model predicted "
        f"{buys.predicted_total:,.0f} purchases by {check.as_of} from the "
        f"{int(buys.customers):,} customers known then; they made {buys.actual_total:,.0f} "
        f"({fmt.rate(err, signed=True)}; per-customer correlation {corr}). Predicted revenue "
        f"{fmt.money(value.predicted_total, currency)} against "
        f"{fmt.money(value.actual_total, currency)} "
        f"actual ({fmt.rate(value.relative_error, signed=True)}). " + verdict
    )
