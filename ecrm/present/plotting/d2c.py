"""Plots of the D2C analyses: 定期 continuation and projection, channels, revenue change, products.

Each function takes the finished table of its analysis
(:mod:`ecrm.analysis.subscriptions`, :mod:`ecrm.models.subscription_value`,
:mod:`ecrm.analysis.channels`, :mod:`ecrm.analysis.revenue_change`,
:mod:`ecrm.analysis.products`), draws on ``ax`` (or a new axes) and returns it.
Texts come in Japanese or English (``lang``); missing cells are not drawn.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from ecrm.present import format as numfmt
from ecrm.present import labels
from ecrm.present.plotting.base import PALETTE, need_columns, new_ax

__all__ = [
    "plot_cancellation_trend",
    "plot_channel_ltv",
    "plot_cohort_retention",
    "plot_continuation",
    "plot_entry_products",
    "plot_entry_value",
    "plot_ltv_cac",
    "plot_projection",
    "plot_revenue_change",
]

_THOUSANDS = FuncFormatter(lambda v, _: f"{v:,.0f}")


def _t(lang: str, ja: str, en: str) -> str:
    return ja if labels.check_lang(lang) == "ja" else en


def _no_data(ax: Axes, text: str) -> Axes:
    """An empty chart that says why (no axes ticks, the text in the middle)."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="grey")
    return ax


def _label_bar_ends(ax: Axes, values: Iterable[float], texts: list[str]) -> None:
    """Write ``texts[i]`` just right of horizontal bar i (drawn bottom up at y = i)."""
    for i, (v, text) in enumerate(zip(values, texts, strict=True)):
        ax.annotate(
            text, (float(v), i), va="center", xytext=(3, 0), textcoords="offset points", fontsize=8
        )


def plot_continuation(table: pd.DataFrame, *, ax: Axes | None = None, lang: str = "ja") -> Axes:
    """定期継続率: continuation rate from delivery n to n + 1, with the subscriptions reached.

    Parameters
    ----------
    table : DataFrame
        :func:`ecrm.analysis.subscriptions.continuation`.
    """
    need_columns(table, ["label", "reached", "continuation_rate"], "continuation")
    ax = new_ax(ax)
    rows = table[table["continuation_rate"].notna()]
    x = np.arange(len(rows))
    ax.bar(x, rows["continuation_rate"].astype(float), color=PALETTE[0])
    for xi, (rate, n) in enumerate(zip(rows["continuation_rate"], rows["reached"], strict=True)):
        ax.annotate(
            f"{float(rate):.0%}\n({int(n):,})",
            (xi, float(rate)),
            ha="center",
            va="bottom",
            fontsize=8,
            xytext=(0, 2),
            textcoords="offset points",
        )
    ax.set_xticks(x, [f"{v}→{int(v) + 1}" for v in rows["label"]])
    ax.set_ylim(0, 1.15)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(_t(lang, "配送回数", "deliveries"))
    ax.set_ylabel(_t(lang, "継続率(件数は到達数)", "continuation rate (reached in brackets)"))
    ax.set_title(_t(lang, "定期継続率(回数別)", "Subscription continuation by delivery"))
    return ax


def plot_cancellation_trend(
    table: pd.DataFrame, *, ax: Axes | None = None, lang: str = "ja"
) -> Axes:
    """Active subscriptions at each month end (bars) and the month's 解約率 (line).

    Parameters
    ----------
    table : DataFrame
        :func:`ecrm.analysis.subscriptions.subscription_monthly`.
    """
    need_columns(table, ["month", "active", "cancellation_rate"], "subscription_monthly")
    ax = new_ax(ax)
    x = np.arange(len(table))
    ax.bar(
        x, table["active"], color=PALETTE[9], label=_t(lang, "月末継続数", "active at month end")
    )
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(_THOUSANDS)
    ax.set_ylabel(_t(lang, "継続数", "active subscriptions"))
    ax2 = ax.twinx()
    ax2.plot(
        x,
        table["cancellation_rate"],
        color=PALETTE[3],
        marker="o",
        label=_t(lang, "解約率", "cancellation rate"),
    )
    ax2.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    ax2.set_ylim(bottom=0)
    ax2.set_ylabel(_t(lang, "解約率", "cancellation rate"))
    ax.set_xticks(x, table["month"], rotation=45, ha="right")
    ax.set_title(_t(lang, "定期の継続数と解約率", "Active subscriptions and cancellation rate"))
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper left", fontsize=8)
    return ax


def plot_projection(
    survival: pd.DataFrame, *, cutoff: object = None, ax: Axes | None = None, lang: str = "ja"
) -> Axes:
    """Share of new subscriptions receiving delivery n: observed and sBG-projected.

    Parameters
    ----------
    survival : DataFrame
        ``SubscriptionProjection.survival`` (n, observed, projected) or
        :func:`ecrm.models.subscription_value.projection_check`.
    cutoff : date, optional
        The hold-out check's cut-off, named in the title.
    """
    need_columns(survival, ["n", "observed", "projected"], "project")
    ax = new_ax(ax)
    ax.plot(
        survival["n"],
        survival["observed"],
        marker="o",
        color=PALETTE[0],
        label=_t(lang, "実績", "observed"),
    )
    ax.plot(
        survival["n"],
        survival["projected"],
        linestyle="--",
        color=PALETTE[1],
        label=_t(lang, "予測(sBGモデル)", "projected (sBG model)"),
    )
    if "beyond_cutoff" in survival.columns and survival["beyond_cutoff"].any():
        first = survival.loc[survival["beyond_cutoff"], "n"].min()
        ax.axvline(first - 0.5, color="grey", linewidth=1)
        ax.annotate(_t(lang, "検証期間", "hold-out"), (first - 0.4, 0.95), fontsize=8, color="grey")
    ax.set_ylim(0, 1.05)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(_t(lang, "配送回数", "delivery"))
    ax.set_ylabel(_t(lang, "到達率", "share reaching the delivery"))
    ax.set_title(
        _t(lang, "定期の残存率: 実績と予測", "Subscription survival: observed and projected")
        if cutoff is None
        else _t(
            lang,
            f"検証: {cutoff}までで当てはめた予測とその後の実績",
            f"Hold-out: projected from the data to {cutoff} against what followed",
        )
    )
    ax.legend(fontsize=8)
    return ax


def plot_channel_ltv(
    table: pd.DataFrame, *, ax: Axes | None = None, lang: str = "ja", currency: str = "JPY"
) -> Axes:
    """LTV by day since the first purchase, one line per first channel (months pooled).

    Each point pools the acquisition months filled at that day, weighted by
    their new customers (the "all" line of the LTV table, per channel).

    Parameters
    ----------
    table : DataFrame
        :func:`ecrm.analysis.channels.acquisition`.
    currency : str
        The shop's currency (the LTV axis).
    """
    need_columns(table, ["channel", "days", "new_customers", "revenue"], "acquisition")
    ax = new_ax(ax)
    filled = table[table["revenue"].notna() & (table["new_customers"] > 0)]
    pooled = filled.groupby(["channel", "days"])[["revenue", "new_customers"]].sum()
    pooled["ltv"] = pooled["revenue"] / pooled["new_customers"]
    for i, (channel, part) in enumerate(pooled.reset_index().groupby("channel", sort=True)):
        ax.plot(
            part["days"],
            part["ltv"],
            marker="o",
            markersize=3,
            color=PALETTE[i % len(PALETTE)],
            label=str(channel),
        )
    ax.yaxis.set_major_formatter(numfmt.tick_formatter("money", currency=currency))
    ax.set_xlabel(_t(lang, "初回購入からの日数", "days since first purchase"))
    ax.set_ylabel(
        _t(lang, f"新規顧客あたり累計売上（{currency}）", f"revenue per new customer ({currency})")
    )
    ax.set_title(_t(lang, "初回購入チャネル別のLTV", "LTV by first channel"))
    ax.legend(fontsize=8, title=_t(lang, "チャネル", "channel"))
    return ax


def plot_ltv_cac(
    summary: pd.DataFrame, *, days: int = 360, ax: Axes | None = None, lang: str = "ja"
) -> Axes:
    """LTV/CAC at ``days`` by first channel (months pooled by their cost), with the 1.0 line.

    Parameters
    ----------
    summary : DataFrame
        :func:`ecrm.analysis.channels.acquisition_summary`.
    """
    col = f"ltv_{days}"
    need_columns(summary, ["channel", "new_customers", "cost", col], "acquisition_summary")
    ax = new_ax(ax)
    s = summary[summary[col].notna() & summary["cost"].notna()].copy()
    s["value"] = s[col] * s["new_customers"]
    g = s.groupby("channel")[["value", "cost"]].sum()
    g = g[g["cost"] > 0]
    ratio = (g["value"] / g["cost"]).sort_values()
    ax.set_title(_t(lang, "チャネル別のLTV/CAC", "LTV/CAC by channel"))
    if ratio.empty:
        why = _t(
            lang,
            f"広告費のある獲得月で{days}日経過したものがまだありません",
            f"no acquisition month with a cost observable for {days} days yet",
        )
        return _no_data(ax, why)
    ax.barh(
        ratio.index.astype(str),
        ratio.to_numpy(),
        color=[PALETTE[2] if v >= 1 else PALETTE[3] for v in ratio],
    )
    ax.axvline(1.0, color="black", linewidth=1)
    _label_bar_ends(ax, ratio, [f"{v:.2f}" for v in ratio])
    ax.set_xlabel(_t(lang, f"LTV/CAC({days}日)", f"LTV/CAC ({days} days)"))
    return ax


def plot_revenue_change(
    table: pd.DataFrame, *, ax: Axes | None = None, lang: str = "ja", currency: str = "JPY"
) -> Axes:
    """Waterfall: the base month's revenue, each driver's contribution, the month's revenue.

    Parameters
    ----------
    table : DataFrame
        :func:`ecrm.analysis.revenue_change.revenue_change`.
    currency : str
        The shop's currency (axis and the contributions written on the bars).
    """
    need_columns(table, ["part", "factor", "before", "after", "contribution"], "revenue_change")
    ax = new_ax(ax, figsize=(9, 4.5))
    total = table[table["part"] == "total"].iloc[0]
    parts = table[table["part"] != "total"]
    names = labels.DRIVER_LABELS
    steps = [
        (_t(lang, *names[(r.part, r.factor)]), float(r.contribution)) for r in parts.itertuples()
    ]
    level = float(total["before"])
    xs = [_t(lang, "前期", "before")]
    ax.bar(0, level, color=PALETTE[9])
    for i, (name, v) in enumerate(steps, start=1):
        ax.bar(i, v, bottom=level, color=PALETTE[2] if v >= 0 else PALETTE[3])
        text = ("+" if v >= 0 else "") + numfmt.money(v, currency, decimals=0)
        ax.annotate(text, (i, level + max(v, 0)), ha="center", va="bottom", fontsize=9)
        level += v
        xs.append(name)
    ax.bar(len(steps) + 1, float(total["after"]), color=PALETTE[0])
    xs.append(_t(lang, "当月", "this month"))
    ax.set_xticks(range(len(xs)), xs, rotation=35, ha="right", fontsize=9)
    ax.yaxis.set_major_formatter(numfmt.tick_formatter("money", currency=currency))
    ax.set_ylabel(_t(lang, f"売上（{currency}）", f"revenue ({currency})"))
    ax.set_ylim(top=ax.get_ylim()[1] * 1.1)  # room for the labels above the tallest bar
    ax.set_title(_t(lang, "売上の増減要因", "What moved revenue"))
    return ax


def plot_entry_products(
    table: pd.DataFrame,
    *,
    top: int = 15,
    days: int = 360,
    ax: Axes | None = None,
    lang: str = "ja",
) -> Axes:
    """F2 within ``days`` (90 or 360) by entry product (the ``top`` largest), with their customers.

    Parameters
    ----------
    table : DataFrame
        :func:`ecrm.analysis.products.entry_products`.
    days : {360, 90}
        Which F2 window; each bar is annotated with the customers observable for it.
    """
    rate_col, seen_col = f"f2_rate_{int(days)}", f"customers_{int(days)}"
    need_columns(table, ["entry_product", seen_col, rate_col], "entry_products")
    ax = new_ax(ax)
    ax.set_title(
        _t(
            lang,
            f"初回購入商品別のF2転換率({days}日以内)",
            f"F2 within {days} days by entry product",
        )
    )
    t = table[table[rate_col].notna()]
    if t.empty:
        why = _t(
            lang,
            f"{days}日経過した初回購入商品の顧客がまだいません",
            f"no entry product has customers observable for {days} days yet",
        )
        return _no_data(ax, why)
    t = t.head(int(top)).iloc[::-1]
    name = t["product_name"] if "product_name" in t.columns else t["entry_product"]
    ax.barh(name.astype(str), t[rate_col].astype(float), color=PALETTE[4])
    texts = [f"{r:.0%} ({int(n):,})" for r, n in zip(t[rate_col], t[seen_col], strict=True)]
    _label_bar_ends(ax, t[rate_col], texts)
    ax.set_xlim(0, min(1.0, float(t[rate_col].max()) * 1.25 + 0.05))
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(
        _t(
            lang,
            f"F2転換率({days}日以内、件数は{days}日経過した新規顧客数)",
            f"F2 within {days} days (new customers observable for {days} days)",
        )
    )
    return ax


def plot_cohort_retention(
    table: pd.DataFrame,
    *,
    by: str | None = None,
    cohorts: int = 12,
    ax: Axes | None = None,
    lang: str = "ja",
) -> Axes:
    """定期 retention by months since start: one line per start month, or per group.

    Parameters
    ----------
    table : DataFrame
        :func:`ecrm.analysis.subscriptions.cohort_retention`.
    by : str, optional
        The split column of ``table`` ("product_id" or "channel"): one line per
        group (its start months pooled over the observable cells), the six
        groups with the most subscriptions.
    cohorts : int, default 12
        Unsplit: the latest start months drawn.
    """
    need_columns(table, ["start_month", "months_since_start", "started", "active"], "cohorts")
    ax = new_ax(ax)
    ax.set_title(
        _t(lang, "開始月別の定期継続率", "Subscription retention by start month")
        if by is None
        else _t(lang, "初回チャネル別の定期継続率", "Subscription retention by first channel")
        if by == "channel"
        else _t(lang, "初回商品別の定期継続率", "Subscription retention by first product")
    )
    seen = table[table["active"].notna()]
    if seen.empty:
        return _no_data(ax, _t(lang, "まだ月末を迎えた定期がありません", "no month end seen yet"))
    if by is None:
        months = sorted(seen["start_month"].unique())[-int(cohorts) :]
        groups = [(m, seen[seen["start_month"] == m]) for m in months]
    else:
        size = seen[seen["months_since_start"] == 0].groupby(by)["started"].sum()
        top = size.sort_values(ascending=False).index[:6]
        groups = [(g, seen[seen[by] == g]) for g in top]
    colors = [PALETTE[i % len(PALETTE)] for i in range(len(groups))]
    for (name, part), color in zip(groups, colors, strict=True):
        pooled = part.groupby("months_since_start")[["active", "started"]].sum()
        rate = pooled["active"].astype(float) / pooled["started"].astype(float)
        ax.plot(rate.index, rate.to_numpy(), marker=".", color=color, label=str(name))
    ax.set_ylim(0, 1.05)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(
        _t(lang, "開始からの月数(0 = 開始月の月末)", "months since start (0 = end of start month)")
    )
    ax.set_ylabel(_t(lang, "継続中の割合", "share still active"))
    ax.legend(fontsize=7, ncol=2)
    return ax


def plot_entry_value(
    table: pd.DataFrame,
    *,
    top: int = 15,
    min_customers: int = 30,
    ax: Axes | None = None,
    lang: str = "ja",
    currency: str = "JPY",
) -> Axes:
    """Entry products ranked by 360-day revenue per customer, each bar labelled with its F2.

    Parameters
    ----------
    table : DataFrame
        :func:`ecrm.analysis.products.entry_products`; the ``top`` products
        with the highest ``revenue_per_customer_360`` (observable ones only).
    min_customers : int, default 30
        Products with fewer customers observable for 360 days are left out: a
        mean of a handful of customers (one wholesale buyer) is no ranking.
        When no product has that many (a history shorter than a year), the
        chart is :func:`plot_entry_products` at 90 days.
    """
    need = ["entry_product", "customers_360", "f2_rate_360", "revenue_per_customer_360"]
    need_columns(table, need, "entry_products")
    ax = new_ax(ax)
    ax.set_title(
        _t(lang, "初回購入商品別の360日LTVとF2転換率", "360-day value and F2 by entry product")
    )
    t = table[
        table["revenue_per_customer_360"].notna() & (table["customers_360"] >= int(min_customers))
    ]
    if t.empty:  # a short history: compare the 90-day F2 rates instead (the sentence says so)
        return plot_entry_products(table, top=top, days=90, ax=ax, lang=lang)
    t = t.sort_values("revenue_per_customer_360", ascending=False).head(int(top)).iloc[::-1]
    name = t["product_name"] if "product_name" in t.columns else t["entry_product"]
    value = t["revenue_per_customer_360"].astype(float)
    ax.barh(name.astype(str), value, color=PALETTE[2])
    texts = [
        f"F2 {f'{r:.0%}' if pd.notna(r) else '—'} ({int(n):,})"
        for r, n in zip(t["f2_rate_360"], t["customers_360"], strict=True)
    ]
    _label_bar_ends(ax, value, texts)
    ax.set_xlim(0, float(value.max()) * 1.3)
    ax.xaxis.set_major_formatter(numfmt.tick_formatter("money", currency=currency))
    ax.set_xlabel(
        _t(
            lang,
            f"顧客あたり売上(360日、{currency}。注記はF2転換率と360日経過の顧客数)",
            f"revenue per customer within 360 days ({currency}; F2 rate and customers observed)",
        )
    )
    return ax
