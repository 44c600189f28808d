"""Plots of the cohort table (:func:`ecrm.analysis.cohort.cohort_table`).

Each function takes the finished table, draws on ``ax`` (or a new axes) and
returns the axes; cells that cannot be observed yet (missing values) are left
blank, never drawn as 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ecrm.errors import ColumnsError, ParameterError
from ecrm.present import format as numfmt
from ecrm.present import labels
from ecrm.present.plotting.base import new_ax

__all__ = ["plot_cohort_heatmap", "plot_retention_curves"]

_VALUES = ("retention", "active", "revenue", "cum_revenue_per_customer")


def _select(table: pd.DataFrame, value: str, group: str | None) -> pd.DataFrame:
    """Rows of one ``by`` group (when the table is split) with ``value`` checked."""
    if value not in _VALUES:
        raise ParameterError(f"value must be one of {list(_VALUES)}, got {value!r}")
    need = {"cohort", "period", "cohort_size", value}
    if need - set(table.columns):
        raise ColumnsError(
            f"plot needs a cohort_table() result with columns {sorted(need)}; "
            f"got {list(table.columns)}"
        )
    by_cols = [c for c in table.columns if c.startswith("first_")]
    if by_cols:
        col = by_cols[0]
        if group is None:
            groups = sorted(table[col].dropna().unique().tolist())
            raise ParameterError(
                f"the table is split by {col}; pass group= one of {groups[:10]}"
                + (" ..." if len(groups) > 10 else "")
            )
        table = table[table[col] == group]
        if table.empty:
            raise ParameterError(f"no cohorts with {col} == {group!r}")
    elif group is not None:
        raise ParameterError("group= applies only to a table made with by=")
    return table


def _fmt(value: str) -> str:
    return "{:.0%}" if value == "retention" else "{:,.0f}"


def plot_cohort_heatmap(
    table: pd.DataFrame,
    *,
    value: str = "retention",
    ax: Axes | None = None,
    lang: str = "ja",
    group: str | None = None,
    annotate: bool | None = None,
) -> Axes:
    """Cohort triangle: cohorts as rows (oldest on top), periods as columns.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`ecrm.analysis.cohort.cohort_table` (cohort, period, cohort_size
        and ``value``).
    value : {"retention", "active", "revenue", "cum_revenue_per_customer"}
        The measure shown.
    ax : Axes, optional
        Where to draw (default: a new figure).
    lang : {"ja", "en"}
        Language of titles and labels.
    group : str, optional
        For a table made with ``by=``: the first-purchase attribute value to show.
    annotate : bool, optional
        Write each cell's value (default: when there are at most 24 periods).

    Returns
    -------
    Axes

    Raises
    ------
    ParameterError
        Unknown value, or a split table without ``group``.
    ColumnsError
        ``table`` is not a cohort table.
    """
    labels.check_lang(lang)
    t = _select(table, value, group)
    wide = t.pivot(index="cohort", columns="period", values=value).sort_index()
    sizes = t.groupby("cohort")["cohort_size"].first().reindex(wide.index)
    values = wide.astype("float64").to_numpy()
    ax = new_ax(ax, figsize=(2 + 0.55 * values.shape[1], 1.2 + 0.38 * values.shape[0]))
    cmap = mpl.colormaps["Blues"].with_extremes(bad="white")
    masked = np.ma.masked_invalid(values)
    if value == "retention" and values.shape[1] > 1:
        # period 0 is 100 % by definition: scale the colours on the later periods
        later = values[:, 1:]
        finite = later[np.isfinite(later)]
        vmax = float(finite.max()) if finite.size else 1.0
        im = ax.imshow(masked, cmap=cmap, aspect="auto", vmin=0, vmax=max(vmax, 1e-9))
    else:
        im = ax.imshow(masked, cmap=cmap, aspect="auto")
    ax.set_xticks(range(values.shape[1]), [str(c) for c in wide.columns])
    ax.set_yticks(
        range(values.shape[0]), [f"{c} ({n:,})" for c, n in zip(wide.index, sizes, strict=True)]
    )
    if annotate is None:
        annotate = values.shape[1] <= 24
    if annotate:
        norm = im.norm
        fmt = _fmt(value)
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                dark = norm(v) > 0.6 if np.isfinite(norm(v)) else False
                ax.text(
                    j,
                    i,
                    fmt.format(v),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if dark else "black",
                )
    bar = ax.figure.colorbar(im, ax=ax, shrink=0.8)
    if value == "retention":
        bar.formatter = numfmt.tick_formatter("rate")
        bar.update_ticks()
    ax.set_xlabel(labels.label("period", lang))
    ax.set_ylabel(labels.label("cohort", lang) + (" (人数)" if lang == "ja" else " (size)"))
    title = labels.label(value, lang)
    if group is not None:
        title += f" — {group}"
    ax.set_title(title)
    return ax


def plot_retention_curves(
    table: pd.DataFrame,
    *,
    value: str = "retention",
    cohorts: Sequence[str] | None = None,
    ax: Axes | None = None,
    lang: str = "ja",
    group: str | None = None,
) -> Axes:
    """One line per cohort of ``value`` against months since the first purchase.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`ecrm.analysis.cohort.cohort_table`.
    value : {"retention", "active", "revenue", "cum_revenue_per_customer"}
        The measure drawn (``cum_revenue_per_customer`` gives LTV-like curves).
    cohorts : sequence of str, optional
        The cohorts (``YYYY-MM``) to draw; default all. Lines are coloured from
        old (light) to recent (dark); a legend is drawn for at most 12 lines.
    ax : Axes, optional
        Where to draw (default: a new figure).
    lang : {"ja", "en"}
        Language of titles and labels.
    group : str, optional
        For a table made with ``by=``: the attribute value to show.

    Returns
    -------
    Axes
        Missing (not yet observable) periods end each line.
    """
    labels.check_lang(lang)
    t = _select(table, value, group)
    names = sorted(t["cohort"].unique().tolist())
    if cohorts is not None:
        unknown = sorted(set(cohorts) - set(names))
        if unknown:
            raise ParameterError(f"no cohort(s) {unknown} in the table")
        names = [c for c in names if c in set(cohorts)]
    ax = new_ax(ax)
    cmap = mpl.colormaps["viridis_r"]
    for i, name in enumerate(names):
        line = t[t["cohort"] == name].sort_values("period")
        y = line[value].astype("float64")
        colour = cmap(0.15 + 0.8 * i / max(len(names) - 1, 1))
        ax.plot(line["period"], y, marker="o", markersize=3, lw=1.2, color=colour, label=name)
    ax.set_xlabel(labels.label("period", lang))
    ax.set_ylabel(labels.label(value, lang))
    if value == "retention":
        ax.yaxis.set_major_formatter(numfmt.tick_formatter("rate"))
        ax.set_ylim(bottom=0)
    else:
        ax.yaxis.set_major_formatter(numfmt.tick_formatter("count"))
    if 0 < len(names) <= 12:
        ax.legend(fontsize=7, ncol=2, frameon=False, loc="upper right")
    ax.grid(alpha=0.3)
    title = labels.label(value, lang) + (" の推移" if lang == "ja" else " by cohort")
    if group is not None:
        title += f" — {group}"
    ax.set_title(title)
    return ax
