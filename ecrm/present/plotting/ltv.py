"""Plots of the LTV tables (:mod:`ecrm.analysis.ltv`): LTV curves, F2 conversion, ladder, intervals.

Each function takes the finished table, draws on ``ax`` (or a new axes) and
returns the axes. Missing (not yet observable) cells are not drawn.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ecrm.analysis import ltv
from ecrm.errors import ParameterError
from ecrm.present import format as numfmt
from ecrm.present import labels
from ecrm.present.palette import QUALITATIVE
from ecrm.present.plotting.base import PALETTE, need_columns, new_ax
from ecrm.present.plotting.cohort import censored_cohort, censored_text, highlight_cohorts
from ecrm.present.plotting.heatmap import set_titles

__all__ = [
    "plot_f2_conversion",
    "plot_interpurchase_intervals",
    "plot_ltv_curves",
    "plot_purchase_ladder",
]


def _ja(lang: str, ja: str, en: str) -> str:
    return ja if lang == "ja" else en


def _count(label: str, lang: str) -> str:
    """``"3"`` → 3回, ``"11+"`` → 11回以上 (Japanese); the label itself in English."""
    if lang != "ja":
        return label
    return f"{label[:-1]}回以上" if label.endswith("+") else f"{label}回"


def plot_ltv_curves(
    table: pd.DataFrame,
    *,
    value: str = "ltv",
    cohorts: Sequence[str] | None = None,
    ax: Axes | None = None,
    lang: str = "ja",
    currency: str = "JPY",
) -> Axes:
    """LTV transition: cohort curves against days since the first purchase.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`ecrm.analysis.ltv.ltv_transition` (cohort, days, ``value``).
    value : {"ltv", "f2_rate", "revenue", "repeaters"}
        The measure drawn; ``f2_rate`` gives F2 curves.
    cohorts : sequence of str, optional
        Cohorts (``YYYY-MM``) to draw in colour; default every cohort, at most
        :data:`ecrm.present.plotting.cohort.MAX_HIGHLIGHTED` in colour with a
        legend (latest, a year back, best, worst: see
        :func:`~ecrm.present.plotting.cohort.highlight_cohorts`) over thin grey
        lines for the others. The weighted all-cohort average (``all``) is
        always drawn last, thick and black.
    ax : Axes, optional
        Where to draw (default: a new figure).
    lang : {"ja", "en"}
        Language of titles and labels.
    currency : str
        The shop's currency, for ``ltv`` and ``revenue``.

    Returns
    -------
    Axes
    """
    labels.check_lang(lang)
    if value not in ("ltv", "f2_rate", "revenue", "repeaters"):
        raise ParameterError(f"value must be ltv, f2_rate, revenue or repeaters, got {value!r}")
    need_columns(table, ["cohort", "days", value], "ltv_transition")
    cens = censored_cohort(table)
    names = sorted(
        c
        for c in table["cohort"].unique()
        if c != ltv.ALL_COHORTS and (c != cens or cohorts is not None)
    )
    if cohorts is not None:
        unknown = sorted(set(cohorts) - set(names))
        if unknown:
            raise ParameterError(f"no cohort(s) {unknown} in the table")
        names = [c for c in names if c in set(cohorts)]
    ax = new_ax(ax, figsize=(9.5, 4.8))
    rows = table[table["cohort"].isin(names)]
    wide = rows.pivot(index="cohort", columns="days", values=value).reindex(names)
    wide = wide.astype("float64")
    coloured = (
        dict.fromkeys(names, "")
        if cohorts is not None
        else highlight_cohorts(wide, lang=lang, period_name=("{n}日時点", "day {n}"))
    )
    x = wide.columns.to_numpy()
    for name in names:
        if name not in coloured:
            ax.plot(x, wide.loc[name].to_numpy(), lw=0.8, color="#C8C8C8", zorder=1)
    for i, (name, why) in enumerate(coloured.items()):
        text = f"{name} ({why})" if why else name
        ax.plot(x, wide.loc[name].to_numpy(), lw=1.8, marker="o", markersize=3, zorder=3,
                color=QUALITATIVE[i % len(QUALITATIVE)], label=text)  # fmt: skip
    overall = table[table["cohort"] == ltv.ALL_COHORTS].sort_values("days")
    if len(overall):
        ax.plot(
            overall["days"],
            overall[value].astype("float64"),
            lw=2.5,
            color="black",
            marker="o",
            markersize=4,
            label=labels.label(ltv.ALL_COHORTS, lang),
        )
    ax.set_xlabel(labels.label("days", lang))
    if value == "f2_rate":
        ax.yaxis.set_major_formatter(numfmt.tick_formatter("rate"))
        ax.set_ylabel(labels.label(value, lang) + " (%)")
    elif value in ("ltv", "revenue"):
        ax.yaxis.set_major_formatter(numfmt.tick_formatter("money", currency=currency))
        ax.set_ylabel(labels.label(value, lang) + _ja(lang, f"（{currency}）", f" ({currency})"))
    else:
        ax.yaxis.set_major_formatter(numfmt.tick_formatter("count"))
        ax.set_ylabel(labels.label(value, lang))
    steps = sorted(table["days"].unique())
    if len(steps) <= 16:
        ax.set_xticks(steps)
    ax.legend(fontsize=9, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(alpha=0.3)
    grey = len(names) - len(coloured)
    set_titles(
        ax,
        _ja(lang, "LTV推移（初回購入月コホート別）", "LTV transition by cohort"),
        ("、" if lang == "ja" else "; ").join(
            [
                *(
                    [_ja(lang, f"灰色: 他の{grey}コホート", f"grey: the other {grey} cohorts")]
                    if grey
                    else []
                ),
                *(
                    [censored_text(cens, lang, left_out=True)]
                    if cens is not None and cohorts is None
                    else []
                ),
            ]
        )
        or None,
    )
    return ax


def plot_f2_conversion(table: pd.DataFrame, *, ax: Axes | None = None, lang: str = "ja") -> Axes:
    """F2 rate of each month's new customers, one line per window.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`ecrm.analysis.ltv.f2_conversion` (cohort, days, f2_rate). The
        ``all`` rows appear in the legend (weighted average per window). The
        left-censored cohort (``left_censored``) keeps its points, its tick marked
        ※ and explained under the title.
    ax : Axes, optional
        Where to draw (default: a new figure).
    lang : {"ja", "en"}
        Language of titles and labels.

    Returns
    -------
    Axes
        Cohort months on x; windows not yet observable are not drawn.
    """
    labels.check_lang(lang)
    need_columns(table, ["cohort", "days", "f2_rate"], "f2_conversion")
    per = table[table["cohort"] != ltv.ALL_COHORTS]
    overall = table[table["cohort"] == ltv.ALL_COHORTS].set_index("days")["f2_rate"]
    wide = per.pivot(index="cohort", columns="days", values="f2_rate").sort_index()
    ax = new_ax(ax, figsize=(9, 4.5))
    x = np.arange(len(wide))
    for i, d in enumerate(wide.columns):
        avg = overall.get(d, np.nan)
        text = _ja(lang, f"{d}日以内", f"within {d} days")
        if np.isfinite(avg):
            text += f" ({numfmt.rate(avg)})"
        ax.plot(
            x, wide[d].astype("float64"), marker="o", markersize=3, color=PALETTE[i % 12],
            label=text,
        )  # fmt: skip
    step = max(1, len(x) // 18)
    cens = censored_cohort(per)
    ticks = [f"{c}※" if c == cens else str(c) for c in wide.index]
    ax.set_xticks(x[::step], ticks[::step], rotation=45, ha="right")
    ax.yaxis.set_major_formatter(numfmt.tick_formatter("rate"))
    ax.set_ylim(bottom=0)
    ax.set_xlabel(labels.label("cohort", lang))
    ax.set_ylabel(labels.label("f2_rate", lang) + " (%)")
    ax.legend(fontsize=9, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(alpha=0.3)
    title = _ja(lang, "F2転換率（新規顧客の2回目購入率）", "F2 conversion of new customers")
    if cens is not None:  # its point stays, marked; the legend's averages leave it out
        title += "\n" + censored_text(cens, lang, left_out=False)
    ax.set_title(title)
    return ax


def plot_purchase_ladder(ladder: pd.DataFrame, *, ax: Axes | None = None, lang: str = "ja") -> Axes:
    """Funnel of the purchase ladder: reached customers per purchase count, split by outcome.

    Each bar is ``reached`` at n, stacked as continued / pending / lapsed; the
    continuation rate is written at the bar's end.

    Parameters
    ----------
    ladder : DataFrame
        Output of :func:`ecrm.analysis.ltv.purchase_ladder`.
    ax : Axes, optional
        Where to draw (default: a new figure).
    lang : {"ja", "en"}
        Language of titles and labels.

    Returns
    -------
    Axes
    """
    labels.check_lang(lang)
    need_columns(
        ladder,
        ["label", "reached", "continued", "pending", "lapsed", "continuation_rate"],
        "purchase_ladder",
    )
    ax = new_ax(ax, figsize=(8, 0.9 + 0.42 * len(ladder)))
    y = np.arange(len(ladder))[::-1]
    left = np.zeros(len(ladder))
    parts = (("continued", PALETTE[0]), ("pending", PALETTE[5]), ("lapsed", PALETTE[3]))
    for col, colour in parts:
        vals = ladder[col].astype("float64").fillna(0).to_numpy()
        ax.barh(y, vals, left=left, color=colour, label=labels.label(col, lang))
        left += vals
    for yi, reached, rate in zip(y, ladder["reached"], ladder["continuation_rate"], strict=True):
        text = f" {reached:,}"
        if np.isfinite(rate):
            text += _ja(
                lang,
                f"（継続率 {numfmt.rate(rate, decimals=0)}）",
                f" ({numfmt.rate(rate, decimals=0)} continue)",
            )
        ax.text(reached, yi, text, va="center", fontsize=9)
    names = [_count(n, lang) for n in ladder["label"]]
    ax.set_yticks(y, names)
    ax.set_ylabel(labels.label("n", lang))
    ax.set_xlabel(labels.label("reached", lang))
    ax.xaxis.set_major_formatter(numfmt.tick_formatter("count"))
    ax.set_xlim(right=float(ladder["reached"].max() or 1) * 1.3)
    ax.legend(fontsize=9, frameon=False, loc="lower right")
    ax.set_title(_ja(lang, "継続・離脱分析（購入回数別）", "Continuation by purchase count"))
    return ax


def plot_interpurchase_intervals(
    intervals: pd.DataFrame,
    *,
    ns: Sequence[int] | None = None,
    max_days: int | None = 365,
    cumulative: bool = True,
    ax: Axes | None = None,
    lang: str = "ja",
) -> Axes:
    """Distribution of days from purchase n to n + 1, one line per n.

    Parameters
    ----------
    intervals : DataFrame
        Output of :func:`ecrm.analysis.ltv.interpurchase_intervals`.
    ns : sequence of int, optional
        The n to draw (default: 1, 2, 3 and the pooled last group).
    max_days : int or None, default 365
        Right end of the x axis (None: the longest interval).
    cumulative : bool, default True
        Cumulative share (the share of next purchases made within x days);
        False draws the share per day.
    ax : Axes, optional
        Where to draw (default: a new figure).
    lang : {"ja", "en"}
        Language of titles and labels.

    Returns
    -------
    Axes
    """
    labels.check_lang(lang)
    need_columns(intervals, ["n", "label", "days", "share", "cum_share"], "interpurchase_intervals")
    present = sorted(intervals["n"].unique().tolist())
    if ns is None:
        ns = [n for n in present if n <= 3] + ([present[-1]] if present and present[-1] > 3 else [])
    ax = new_ax(ax)
    col = "cum_share" if cumulative else "share"
    for i, n in enumerate(ns):
        g = intervals[intervals["n"] == n].sort_values("days")
        if g.empty:
            continue
        name = g["label"].iloc[0]
        text = _ja(lang, f"{_count(name, lang)}目→次", f"purchase {name} → next")
        if cumulative:
            ax.step(g["days"], g[col], where="post", color=PALETTE[i % 12], label=text)
        else:
            ax.plot(g["days"], g[col], color=PALETTE[i % 12], lw=1, label=text)
    if max_days is not None:
        ax.set_xlim(0, max_days)
    ax.yaxis.set_major_formatter(numfmt.tick_formatter("rate"))
    ax.set_ylim(bottom=0)
    ax.set_xlabel(_ja(lang, "購入間隔（日）", "days between purchases"))
    ax.set_ylabel((labels.label(col, lang) if cumulative else labels.label("share", lang)) + " (%)")
    ax.legend(fontsize=9, frameon=False, loc="lower right" if cumulative else "upper right")
    ax.grid(alpha=0.3)
    ax.set_title(_ja(lang, "購入間隔の分布", "Inter-purchase intervals"))
    return ax
