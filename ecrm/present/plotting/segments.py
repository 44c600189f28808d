"""Plots of the segment analyses: RFM, decile, CPM, lifecycle and KPIs.

Each function takes a finished table (the output of the matching analysis
function), draws on ``ax`` (or a new axes) and returns the axes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ecrm.present import format as numfmt
from ecrm.present.labels import check_lang, kpi_label, label, labels_for
from ecrm.present.plotting.base import PALETTE, new_ax

__all__ = [
    "plot_decile",
    "plot_decile_migration",
    "plot_heatmap",
    "plot_kpi",
    "plot_pareto",
    "plot_rfm_grid",
    "plot_segment_bars",
    "plot_segment_trend",
    "plot_transition_matrix",
]


def _money(ax_axis: object) -> None:
    ax_axis.set_major_formatter(numfmt.tick_formatter("count"))  # type: ignore[attr-defined]


def plot_heatmap(
    matrix: pd.DataFrame,
    *,
    ax: Axes | None = None,
    fmt: str = "{:,.0f}",
    cmap: str = "Blues",
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
) -> Axes:
    """Draw a labelled heatmap of a wide matrix (rows × columns), annotating cells."""
    ax = new_ax(ax, figsize=(1 + 0.75 * matrix.shape[1], 1 + 0.5 * matrix.shape[0]))
    values = matrix.to_numpy(dtype=float)
    im = ax.imshow(values, cmap=cmap, aspect="auto")
    ax.set_xticks(range(matrix.shape[1]), [str(c) for c in matrix.columns], rotation=45, ha="right")
    ax.set_yticks(range(matrix.shape[0]), [str(i) for i in matrix.index])
    finite = values[np.isfinite(values)]
    hi = finite.max() if finite.size else 0
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):
            ax.text(
                j,
                i,
                fmt.format(v),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if hi and v > 0.6 * hi else "black",
            )
    ax.figure.colorbar(im, ax=ax, shrink=0.8)
    if title:
        ax.set_title(title)
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    return ax


def plot_rfm_grid(
    grid: pd.DataFrame, *, value: str = "customers", ax: Axes | None = None, lang: str = "ja"
) -> Axes:
    """Heatmap of the R×F grid (:func:`ecrm.analysis.rfm.rfm_grid`): R rows, 5 on top."""
    check_lang(lang)
    m = grid.pivot_table(index="r", columns="f", values=value, aggfunc="sum").sort_index(
        ascending=False
    )
    fmt = "{:.0%}" if "share" in value else "{:,.0f}"
    return plot_heatmap(
        m,
        ax=ax,
        fmt=fmt,
        title=f"R×F: {label(value, lang)}",
        xlabel="F" + (" (購入回数)" if lang == "ja" else " (purchases)"),
        ylabel="R" + (" (最終購入からの日数)" if lang == "ja" else " (recency)"),
    )


def plot_segment_bars(
    summary: pd.DataFrame,
    *,
    value: str = "customers",
    ax: Axes | None = None,
    lang: str = "ja",
    title: str | None = None,
) -> Axes:
    """Horizontal bars of a segment summary (rfm_segments, cpm_summary, lifecycle_summary)."""
    check_lang(lang)
    ax = new_ax(ax)
    names = labels_for(summary["segment"], lang)
    vals = summary[value].to_numpy(dtype=float)
    y = np.arange(len(names))[::-1]
    ax.barh(y, vals, color=[PALETTE[i % len(PALETTE)] for i in range(len(names))])
    ax.set_yticks(y, names)
    for yi, v in zip(y, vals, strict=True):
        ax.text(
            v,
            yi,
            f" {numfmt.rate(v, decimals=0)}" if "share" in value else f" {numfmt.count(v)}",
            va="center",
            fontsize=8,
        )
    ax.set_xlabel(label(value, lang))
    if "share" in value:
        ax.xaxis.set_major_formatter(numfmt.tick_formatter("rate"))
    else:
        _money(ax.xaxis)
    ax.set_title(title or label(value, lang))
    return ax


def plot_segment_trend(
    monthly: pd.DataFrame,
    *,
    value: str = "customers",
    ax: Axes | None = None,
    lang: str = "ja",
    order: Sequence[str] | None = None,
    title: str | None = None,
) -> Axes:
    """Stacked bars of segment counts (or revenue) at each month end (定点観測)."""
    check_lang(lang)
    ax = new_ax(ax, figsize=(9, 4.5))
    wide = monthly.pivot_table(index="month_end", columns="segment", values=value, aggfunc="sum")
    cols = [c for c in (order or monthly["segment"].drop_duplicates()) if c in wide.columns]
    wide = wide[cols].fillna(0)
    x = np.arange(len(wide))
    bottom = np.zeros(len(wide))
    for i, c in enumerate(cols):
        ax.bar(x, wide[c], bottom=bottom, label=label(c, lang), color=PALETTE[i % len(PALETTE)])
        bottom += wide[c].to_numpy()
    ax.set_xticks(
        x, [pd.Timestamp(d).strftime("%Y-%m") for d in wide.index], rotation=45, ha="right"
    )
    _money(ax.yaxis)
    ax.set_ylabel(label(value, lang))
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    ax.set_title(title or label(value, lang))
    return ax


def plot_transition_matrix(
    transitions: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "ja",
    normalize: bool = True,
    order: Sequence[str] | None = None,
    title: str | None = None,
) -> Axes:
    """Heatmap of one transition matrix (from rows → to columns).

    ``transitions`` holds from_segment, to_segment, customers (one pair of dates:
    filter a multi-pair table first). With ``normalize`` each row shows shares.
    """
    check_lang(lang)
    m = transitions.pivot_table(
        index="from_segment", columns="to_segment", values="customers", aggfunc="sum"
    ).fillna(0)
    if order is not None:
        m = m.reindex(
            index=[c for c in ["none", *order] if c in m.index],
            columns=[c for c in order if c in m.columns],
        )
    if normalize:
        m = m.div(m.sum(axis=1).replace(0, np.nan), axis=0)
    m.index = labels_for(m.index, lang)
    m.columns = labels_for(m.columns, lang)
    return plot_heatmap(
        m,
        ax=ax,
        fmt="{:.0%}" if normalize else "{:,.0f}",
        title=title,
        xlabel="移行後" if lang == "ja" else "to",
        ylabel="移行前" if lang == "ja" else "from",
    )


def plot_decile(table: pd.DataFrame, *, ax: Axes | None = None, lang: str = "ja") -> Axes:
    """Revenue bars per decile with the cumulative share line (:func:`decile_table`)."""
    check_lang(lang)
    ax = new_ax(ax)
    x = table["decile"].astype(int).to_numpy()
    ax.bar(x, table["revenue"], color=PALETTE[0])
    _money(ax.yaxis)
    ax.set_xticks(x)
    ax.set_xlabel(label("decile", lang))
    ax.set_ylabel(label("revenue", lang))
    ax2 = ax.twinx()
    ax2.plot(x, table["cumulative_share"], color=PALETTE[1], marker="o")
    ax2.set_ylim(0, 1.05)
    ax2.yaxis.set_major_formatter(numfmt.tick_formatter("rate"))
    ax2.set_ylabel(label("cumulative_share", lang))
    ax.set_title("デシル別売上と累積構成比" if lang == "ja" else "Revenue by decile")
    return ax


def plot_pareto(curve: pd.DataFrame, *, ax: Axes | None = None, lang: str = "ja") -> Axes:
    """The Pareto curve (:func:`ecrm.analysis.decile.pareto_curve`) with the equality diagonal."""
    check_lang(lang)
    ax = new_ax(ax, figsize=(5, 5))
    ax.plot(curve["customer_share"], curve["revenue_share"], color=PALETTE[0])
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
    ax.xaxis.set_major_formatter(numfmt.tick_formatter("rate"))
    ax.yaxis.set_major_formatter(numfmt.tick_formatter("rate"))
    ax.set_xlabel("顧客の累積比率" if lang == "ja" else "share of customers")
    ax.set_ylabel("売上の累積比率" if lang == "ja" else "share of revenue")
    ax.set_title("パレート曲線" if lang == "ja" else "Pareto curve")
    return ax


def plot_kpi(
    kpis: pd.DataFrame,
    *,
    kpi: str | Sequence[str] = "revenue",
    ax: Axes | None = None,
    lang: str = "ja",
) -> Axes:
    """Line chart of one or more KPIs over the months of :func:`ecrm.analysis.kpi.kpi_table`."""
    check_lang(lang)
    ax = new_ax(ax, figsize=(9, 4))
    names = [kpi] if isinstance(kpi, str) else list(kpi)
    for i, k in enumerate(names):
        d = kpis[kpis["kpi"] == k]
        ax.plot(
            pd.to_datetime(d["month"]),
            d["value"],
            marker="o",
            markersize=3,
            color=PALETTE[i % len(PALETTE)],
            label=kpi_label(k, lang),
        )
    if all(k in ("repeat_rate", "f2_rate", "lapse_rate") for k in names):
        ax.yaxis.set_major_formatter(numfmt.tick_formatter("rate"))
    else:
        _money(ax.yaxis)
    if len(names) > 1:
        ax.legend(frameon=False)
    ax.set_title(" / ".join(kpi_label(k, lang) for k in names))
    return ax


def plot_decile_migration(
    migration: pd.DataFrame, *, ax: Axes | None = None, lang: str = "ja", normalize: bool = True
) -> Axes:
    """Heatmap of :func:`ecrm.analysis.decile.decile_migration` (previous rows → current)."""
    check_lang(lang)
    order = [*map(str, sorted(int(d) for d in set(migration.from_decile) if d != "none")), "none"]
    m = (
        migration.pivot_table(
            index="from_decile", columns="to_decile", values="customers", aggfunc="sum"
        )
        .reindex(index=order, columns=order)
        .fillna(0)
    )
    if normalize:
        m = m.div(m.sum(axis=1).replace(0, np.nan), axis=0)
    m.index = [label(i, lang) for i in m.index]
    m.columns = [label(c, lang) for c in m.columns]
    return plot_heatmap(
        m,
        ax=ax,
        fmt="{:.0%}" if normalize else "{:,.0f}",
        title="デシル移動(前期→今期)" if lang == "ja" else "Decile migration (previous → current)",
        xlabel="今期" if lang == "ja" else "current",
        ylabel="前期" if lang == "ja" else "previous",
    )
