"""Plots of the CTB analysis (:mod:`ecrm.analysis.ctb`).

Each function takes a finished table (the output of the matching analysis
function), draws on ``ax`` (or a new axes) and returns the axes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ecrm.analysis.ctb import METHODS
from ecrm.present import format as numfmt
from ecrm.present.labels import check_lang, label
from ecrm.present.plotting.base import PALETTE, new_ax
from ecrm.present.plotting.heatmap import MAX_CELLS, MAX_WIDTH_IN, plot_movement

__all__ = [
    "plot_cross_purchase",
    "plot_ctb_mix",
    "plot_first_purchase",
    "plot_recommendation_check",
    "plot_transition_heatmap",
]


def _value(v: object, lang: str) -> str:
    return label(str(v), lang)


def plot_transition_heatmap(
    transitions: pd.DataFrame,
    *,
    max_values: int = MAX_CELLS,
    ax: Axes | None = None,
    lang: str = "ja",
) -> Axes:
    """Next-purchase movement: pairs from this purchase's value (rows) to the next (columns).

    Parameters
    ----------
    transitions : DataFrame
        Output of :func:`ecrm.analysis.ctb.transitions`: from_value, to_value, pairs.
    max_values : int, default 12
        Rows and columns shown: the values with the most pairs, the rest summed
        into one その他 / other row and column (so the row shares stay the
        transition probabilities).

    Returns
    -------
    Axes
        Each cell shows its pairs and its share of the row (P(next | this)),
        coloured by that share.
    """
    check_lang(lang)
    m = transitions.pivot_table(
        index="from_value", columns="to_value", values="pairs", aggfunc="sum"
    ).fillna(0.0)
    rows = m.sum(axis=1).sort_values(ascending=False, kind="stable").index
    m = m.reindex(index=rows, columns=[c for c in rows if c in m.columns] + [
        c for c in m.columns if c not in set(rows)
    ])  # fmt: skip
    m.index = [_value(v, lang) for v in m.index]
    m.columns = [_value(v, lang) for v in m.columns]
    level = str(transitions["level"].iloc[0]) if len(transitions) else "category"
    return plot_movement(
        m,
        ax=ax,
        max_cells=max_values,
        other="その他" if lang == "ja" else "other",
        title=(
            f"次回購入の{label(level, lang)}遷移"
            if lang == "ja"
            else f"Next-purchase {label(level, lang)} transitions"
        ),
        subtitle=(
            "購入の組数(行に占める割合 = 次回にその値を買う確率)"
            if lang == "ja"
            else "pairs of purchases (share of the row = probability of the next value)"
        ),
        xlabel=label("to_value", lang),
        ylabel=label("from_value", lang),
    )


def plot_first_purchase(
    first: pd.DataFrame,
    *,
    level: str = "category",
    min_customers: int = 1,
    top: int = 20,
    ax: Axes | None = None,
    lang: str = "ja",
    currency: str = "JPY",
) -> Axes:
    """Bars of 360-day LTV by first-purchase value, with the F2 rate as points.

    At most ``top`` values are drawn: those with the most first-purchase
    customers (a product-level page has thousands), then ordered by LTV.

    Parameters
    ----------
    first : DataFrame
        Output of :func:`ecrm.analysis.ctb.first_purchase_ctb`: level, value, customers,
        f2_rate, ltv, horizon_days.
    level : {"category", "taste", "brand"}
        Which level's rows to draw.
    min_customers : int, default 1
        Leave out values with fewer cohort customers.
    currency : str
        The shop's currency (the LTV axis).
    """
    check_lang(lang)
    d = first[(first["level"] == level) & (first["customers"] >= min_customers)]
    d = d.sort_values(["customers", "value"], ascending=[False, True], kind="stable").head(top)
    d = d.sort_values("ltv", ascending=False, kind="stable")
    ax = new_ax(ax, figsize=(min(MAX_WIDTH_IN, max(6.0, 0.7 * len(d) + 2)), 4.5))
    x = np.arange(len(d))
    h = int(d["horizon_days"].iloc[0]) if len(d) else 360
    ax.bar(x, d["ltv"], color=PALETTE[0], label=f"{h}日LTV" if lang == "ja" else f"{h}-day LTV")
    ax.set_xticks(x, [_value(v, lang) for v in d["value"]], rotation=45, ha="right")
    ax.yaxis.set_major_formatter(numfmt.tick_formatter("money", currency=currency))
    ax.set_ylabel(f"{h}日LTV（{currency}）" if lang == "ja" else f"{h}-day LTV ({currency})")
    ax2 = ax.twinx()
    f2 = "F2転換率" if lang == "ja" else "F2 rate"
    ax2.plot(x, d["f2_rate"], "o-", color=PALETTE[1], label=f2)
    ax2.yaxis.set_major_formatter(numfmt.tick_formatter("rate"))
    ax2.set_ylim(0, max(0.05, float(d["f2_rate"].max()) * 1.2) if len(d) else 1)
    ax2.set_ylabel(f"F2転換率（{h}日以内、%）" if lang == "ja" else f"F2 rate (within {h} days, %)")
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(handles, [hd.get_label() for hd in handles], fontsize=8, loc="upper right")
    name = label(level, lang)
    ax.set_title(
        f"初回購入{name}別のLTVとF2転換率"
        if lang == "ja"
        else f"LTV and F2 rate by first-purchase {name}"
    )
    return ax


def plot_cross_purchase(
    pairs: pd.DataFrame, *, top: int = 15, ax: Axes | None = None, lang: str = "ja"
) -> Axes:
    """Horizontal bars of the pairs with the highest lift (A → B), lift 1 marked.

    Parameters
    ----------
    pairs : DataFrame
        Output of :func:`ecrm.analysis.ctb.cross_purchase`: value_a, value_b, lift,
        support (each unordered pair once).
    top : int, default 15
    """
    check_lang(lang)
    p = pairs.sort_values(["lift", "support"], ascending=False, kind="stable").head(top)
    ax = new_ax(ax, figsize=(8, 0.38 * len(p) + 1.5))
    y = np.arange(len(p))
    ax.barh(y, p["lift"], color=PALETTE[2])
    ax.set_yticks(
        y,
        [
            f"{_value(a, lang)} × {_value(b, lang)}"
            for a, b in zip(p.value_a, p.value_b, strict=True)
        ],
    )
    ax.invert_yaxis()
    ax.axvline(1.0, color="grey", lw=0.8, ls="--")
    for yi, (lift, sup) in enumerate(zip(p["lift"], p["support"], strict=True)):
        ax.text(lift, yi, f" {numfmt.number(lift)} ({numfmt.rate(sup)})", va="center", fontsize=9)
    ax.set_xlabel(label("lift", lang))
    ax.set_title(
        "併買のリフト値（括弧内は支持度）" if lang == "ja" else "Cross-purchase lift (support)"
    )
    return ax


def plot_ctb_mix(
    mix: pd.DataFrame, *, max_values: int = 8, ax: Axes | None = None, lang: str = "ja"
) -> Axes:
    """Stacked bars of each segment's revenue shares by value.

    Parameters
    ----------
    mix : DataFrame
        Output of :func:`ecrm.analysis.ctb.ctb_mix`: segment, value, revenue, revenue_share.
    max_values : int, default 8
        Values drawn by name (most revenue over all segments); the rest stacked
        as "other".
    """
    check_lang(lang)
    top = mix.groupby("value")["revenue"].sum().sort_values(ascending=False, kind="stable")
    keep = list(top.index[:max_values])
    other = "その他" if lang == "ja" else "other"
    d = mix.assign(_v=mix["value"].where(mix["value"].isin(keep), other))
    m = d.pivot_table(index="segment", columns="_v", values="revenue_share", aggfunc="sum")
    segments = list(dict.fromkeys(mix["segment"]))
    cols = [*keep, *([other] if other in m.columns else [])]
    m = m.reindex(index=segments, columns=cols).fillna(0.0)
    ax = new_ax(ax, figsize=(8, 0.5 * len(m) + 1.8))
    left = np.zeros(len(m))
    y = np.arange(len(m))
    for i, c in enumerate(m.columns):
        ax.barh(y, m[c], left=left, color=PALETTE[i % len(PALETTE)], label=_value(c, lang))
        left += m[c].to_numpy()
    ax.set_yticks(y, [label(s, lang) for s in m.index])
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(numfmt.tick_formatter("rate"))
    ax.legend(fontsize=9, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    ax.set_title(
        "セグメント別の売上構成（CTB）" if lang == "ja" else "Revenue mix by segment (CTB)"
    )
    return ax


def plot_recommendation_check(
    evaluation: pd.DataFrame, *, ax: Axes | None = None, lang: str = "ja"
) -> Axes:
    """Grouped bars of hit rate: the model against the popularity baseline.

    Parameters
    ----------
    evaluation : DataFrame
        Output of :func:`ecrm.analysis.ctb.evaluate_recommendations`: group, method, hit_rate.
    """
    check_lang(lang)
    ax = new_ax(ax, figsize=(6, 3.5))
    groups = list(dict.fromkeys(evaluation["group"]))
    x = np.arange(len(groups))
    w = 0.38
    for i, method in enumerate(("model", "popularity")):
        part = evaluation[evaluation["method"] == method].set_index("group").reindex(groups)
        ax.bar(
            x + (i - 0.5) * w,
            part["hit_rate"],
            width=w,
            color=PALETTE[i],
            label=METHODS[method][0 if lang == "ja" else 1],
        )
    ax.set_xticks(
        x, [label(g, lang) if g != "all" else ("全体" if lang == "ja" else "all") for g in groups]
    )
    ax.yaxis.set_major_formatter(numfmt.tick_formatter("rate"))
    ax.set_ylim(0, 1)
    n = int(evaluation["top_n"].iloc[0]) if len(evaluation) else 3
    ax.set_ylabel(f"ヒット率@{n}" if lang == "ja" else f"hit rate@{n}")
    ax.legend(fontsize=8)
    ax.set_title(
        "次回購入の推薦精度（ホールドアウト）"
        if lang == "ja"
        else "Next-purchase recommendations: hold-out check"
    )
    return ax
