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
from ecrm.present.palette import QUALITATIVE
from ecrm.present.plotting.base import new_ax
from ecrm.present.plotting.heatmap import FONT_SIZE, MAX_WIDTH_IN, set_titles

__all__ = [
    "MAX_HIGHLIGHTED",
    "censored_cohort",
    "censored_text",
    "highlight_cohorts",
    "plot_cohort_heatmap",
    "plot_retention_curves",
]

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


#: Most cohorts drawn in colour (with a legend entry) over the grey others.
MAX_HIGHLIGHTED = 6
_GREY = "#C8C8C8"


def _money_scale(values: np.ndarray, currency: str, lang: str) -> tuple[float, str]:
    """Divisor and unit text for money cells: thousands once amounts reach 10,000."""
    finite = values[np.isfinite(values)]
    if finite.size and float(np.abs(finite).max()) >= 10_000:
        if lang == "ja" and currency.upper() == "JPY":
            return 1000.0, "千円"
        return 1000.0, f"1,000 {currency}" if lang == "en" else f"千{currency}"
    return 1.0, currency


def highlight_cohorts(
    wide: pd.DataFrame,
    *,
    lang: str = "ja",
    reference: int | None = None,
    period_name: tuple[str, str] = ("{n}ヶ月目", "month {n}"),
) -> dict[str, str]:
    """The cohorts worth a colour, with why: latest, a year back, best, worst.

    Parameters
    ----------
    wide : DataFrame
        Cohorts (``YYYY-MM``, sorted) as rows, periods as columns, the measure
        as values (missing = not yet observable).
    lang : {"ja", "en"}
        Language of the reasons.
    reference : int, optional
        Period at which best and worst are compared (default: the latest of
        the first three periods after 0 that three cohorts reach, else the
        latest that two cohorts reach).
    period_name : (str, str)
        How a period is written in the reasons (Japanese, English), ``{n}`` the period.

    Returns
    -------
    dict
        cohort → reason (``"最新"``, ``"1年前"``, ``"3ヶ月目が最高"``, ``"最古"``,
        joined with ``・`` when one cohort is several), at most
        :data:`MAX_HIGHLIGHTED`; all cohorts (no reasons) when there are that
        few. "Latest" is the most recent cohort with at least two observed
        periods after 0 (a single point is no curve).
    """
    names = [str(c) for c in wide.index]
    if len(names) <= MAX_HIGHLIGHTED:
        return dict.fromkeys(names, "")
    t = (lambda ja, en: ja) if lang == "ja" else (lambda ja, en: en)
    later = [c for c in wide.columns if c != 0] or list(wide.columns)
    observed = wide[later].notna().sum(axis=0)
    if reference is None:
        reached = [c for c in later[:3] if observed.get(c, 0) >= 3] or [
            c for c in later if observed.get(c, 0) >= 2
        ]
        reference = int(max(reached)) if reached else int(later[0])
    at_ref = wide[reference].dropna() if reference in wide.columns else pd.Series(dtype=float)
    # the latest cohort with a line (two points after month 0), else with one
    points = wide[later].notna().sum(axis=1)
    with_later = points >= 2 if (points >= 2).any() else points >= 1
    latest = (
        names[int(np.flatnonzero(with_later.to_numpy())[-1])] if with_later.any() else names[-1]
    )
    picks: dict[str, list[str]] = {latest: [t("最新", "latest")]}
    year_back = str(pd.Period(latest, "M") - 12)
    if year_back in names:
        picks.setdefault(year_back, []).append(t("1年前", "a year before"))
    if len(at_ref):
        best, worst = str(at_ref.idxmax()), str(at_ref.idxmin())
        at = t(period_name[0], period_name[1]).format(n=reference)
        picks.setdefault(best, []).append(t(f"{at}が最高", f"best at {at}"))
        picks.setdefault(worst, []).append(t(f"{at}が最低", f"worst at {at}"))
    if len(picks) < MAX_HIGHLIGHTED:
        picks.setdefault(names[0], []).append(t("最古", "oldest"))
    ordered = sorted(picks)[:MAX_HIGHLIGHTED]
    return {c: "・".join(picks[c]) if lang == "ja" else ", ".join(picks[c]) for c in ordered}


def censored_cohort(table: pd.DataFrame) -> str | None:
    """The cohort a table flags as left-censored (``left_censored``), or None."""
    if "left_censored" not in table.columns or not table["left_censored"].any():
        return None
    return str(table.loc[table["left_censored"].astype(bool), "cohort"].iloc[0])


def censored_text(cohort: str, lang: str, *, left_out: bool) -> str:
    """Subtitle note on the censored cohort: marked ※ (heatmap) or left out (curves)."""
    if left_out:
        return (
            f"{cohort}(データ開始月: それ以前からの顧客を含む)は除外"
            if lang == "ja"
            else f"{cohort} left out (the data's first month: holds earlier customers)"
        )
    return (
        "※ データ開始月: それ以前からの顧客も新規に含む"
        if lang == "ja"
        else "※ the data's first month: holds customers from before it as new"
    )


def plot_cohort_heatmap(
    table: pd.DataFrame,
    *,
    value: str = "retention",
    ax: Axes | None = None,
    lang: str = "ja",
    group: str | None = None,
    annotate: bool | None = None,
    currency: str = "JPY",
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
    currency : str
        The shop's currency, for money values.

    Returns
    -------
    Axes
        Sized for the page column (at most 10 in wide at 110 dpi) with 9 pt
        digits: retention cells hold whole percents without the sign (the title
        says %), money cells thousands from 10,000 on (the title says the
        unit; one decimal below 100 thousand when the cells are wide enough).

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
    money = value in ("revenue", "cum_revenue_per_customer")
    scale, unit = _money_scale(values, currency, lang) if money else (1.0, "")
    if value == "retention":
        cells, unit = values * 100, "%"
    else:
        cells = values / scale
    top = float(np.nanmax(np.abs(cells), initial=0.0))
    finite = cells[np.isfinite(cells)]
    n_rows, n_cols = values.shape
    label_w = 1.4

    def cell_width(pattern: str) -> float:
        longest = max((len(pattern.format(v)) for v in finite), default=1)
        return max(0.3, longest * 0.62 * FONT_SIZE / 72 + 0.08)

    # one decimal for thousands below 100, unless whole thousands are what fits the page
    fmt = "{:,.1f}" if money and scale > 1 and top < 100 else "{:,.0f}"
    if label_w + 0.9 + cell_width(fmt) * n_cols > MAX_WIDTH_IN:
        fmt = "{:,.0f}"
    cell_w = cell_width(fmt)
    width = min(MAX_WIDTH_IN, label_w + 0.9 + cell_w * n_cols)
    ax = new_ax(ax, figsize=(max(width, 4.0), min(12.0, 1.4 + 0.3 * n_rows)))
    cmap = mpl.colormaps["Blues"].with_extremes(bad="white")
    masked = np.ma.masked_invalid(values)
    if value == "retention" and n_cols > 1:
        # period 0 is 100 % by definition: scale the colours on the later periods
        later = values[:, 1:]
        fin = later[np.isfinite(later)]
        vmax = float(fin.max()) if fin.size else 1.0
        im = ax.imshow(masked, cmap=cmap, aspect="auto", vmin=0, vmax=max(vmax, 1e-9))
    else:
        im = ax.imshow(masked, cmap=cmap, aspect="auto")
    ax.set_xticks(range(n_cols), [str(c) for c in wide.columns], fontsize=FONT_SIZE)
    cens = censored_cohort(t)
    ax.set_yticks(
        range(n_rows),
        [f"{c}{'※' if c == cens else ''} ({n:,})" for c, n in zip(wide.index, sizes, strict=True)],
        fontsize=FONT_SIZE,
    )
    fits = label_w + 0.9 + cell_w * n_cols <= MAX_WIDTH_IN + 1e-9
    if annotate is None:
        annotate = n_cols <= 24 and fits
    if annotate:
        norm = im.norm
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                dark = norm(v) > 0.6 if np.isfinite(norm(v)) else False
                ax.text(j, i, fmt.format(cells[i, j]), ha="center", va="center",
                        fontsize=FONT_SIZE, color="white" if dark else "black")  # fmt: skip
    bar = ax.figure.colorbar(im, ax=ax, shrink=0.8)
    if value == "retention":
        bar.formatter = numfmt.tick_formatter("rate")
    elif money:
        bar.formatter = numfmt.tick_formatter("money", currency=currency)
    bar.update_ticks()
    ax.set_xlabel(labels.label("period", lang))
    ax.set_ylabel(labels.label("cohort", lang) + (" (人数)" if lang == "ja" else " (size)"))
    title = labels.label(value, lang) + (
        f"({unit})" if lang == "ja" and unit else f" ({unit})" if unit else ""
    )
    if group is not None:
        title += f" — {group}"
    subs = []
    if value == "retention":
        subs.append(
            "0ヶ月目は定義上100%。色は1ヶ月目以降の範囲"
            if lang == "ja"
            else "month 0 is 100% by definition; colours span the later months"
        )
    if cens is not None and cens in set(wide.index):
        subs.append(censored_text(cens, lang, left_out=False))
    set_titles(ax, title, ("、" if lang == "ja" else "; ").join(subs) or None)
    return ax


def plot_retention_curves(
    table: pd.DataFrame,
    *,
    value: str = "retention",
    cohorts: Sequence[str] | None = None,
    ax: Axes | None = None,
    lang: str = "ja",
    group: str | None = None,
    currency: str = "JPY",
) -> Axes:
    """Cohort curves of ``value`` against months since the first purchase.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`ecrm.analysis.cohort.cohort_table`.
    value : {"retention", "active", "revenue", "cum_revenue_per_customer"}
        The measure drawn (``cum_revenue_per_customer`` gives LTV-like curves).
    cohorts : sequence of str, optional
        The cohorts (``YYYY-MM``) to draw, each in colour with a legend entry.
        Default: every cohort, at most :data:`MAX_HIGHLIGHTED` in colour
        (:func:`highlight_cohorts`: latest, a year back, best, worst, oldest)
        over thin grey lines for the others.
    ax : Axes, optional
        Where to draw (default: a new figure).
    lang : {"ja", "en"}
        Language of titles and labels.
    group : str, optional
        For a table made with ``by=``: the attribute value to show.
    currency : str
        The shop's currency, for money values.

    Returns
    -------
    Axes
        Missing (not yet observable) periods end each line. Retention starts
        at month 1: month 0 is 100 % by definition (the subtitle says so), so
        the curves use the whole axis.
    """
    labels.check_lang(lang)
    t = _select(table, value, group)
    cens = censored_cohort(t)
    names = sorted(c for c in t["cohort"].unique().tolist() if c != cens or cohorts is not None)
    if cohorts is not None:
        unknown = sorted(set(cohorts) - set(names))
        if unknown:
            raise ParameterError(f"no cohort(s) {unknown} in the table")
        names = [c for c in names if c in set(cohorts)]
    if value == "retention" and (t["period"] > 0).any():
        t = t[t["period"] > 0]
    wide = t.pivot(index="cohort", columns="period", values=value).reindex(names)
    wide = wide.astype("float64")
    coloured = (
        dict.fromkeys(names, "") if cohorts is not None else highlight_cohorts(wide, lang=lang)
    )
    ax = new_ax(ax, figsize=(9.5, 4.8))
    x = wide.columns.to_numpy()
    for name in names:
        if name not in coloured:
            ax.plot(x, wide.loc[name].to_numpy(), lw=0.8, color=_GREY, zorder=1)
    for i, (name, why) in enumerate(coloured.items()):
        text = f"{name} ({why})" if why else name
        ax.plot(x, wide.loc[name].to_numpy(), marker="o", markersize=3, lw=2, zorder=3,
                color=QUALITATIVE[i % len(QUALITATIVE)], label=text)  # fmt: skip
    ax.set_xlabel(labels.label("period", lang))
    if value == "retention":
        ax.yaxis.set_major_formatter(numfmt.tick_formatter("rate"))
        ax.set_ylabel(labels.label(value, lang) + " (%)")
        ax.set_ylim(bottom=0)
    elif value in ("revenue", "cum_revenue_per_customer"):
        ax.yaxis.set_major_formatter(numfmt.tick_formatter("money", currency=currency))
        ax.set_ylabel(
            labels.label(value, lang) + (f"（{currency}）" if lang == "ja" else f" ({currency})")
        )
    else:
        ax.yaxis.set_major_formatter(numfmt.tick_formatter("count"))
        ax.set_ylabel(labels.label(value, lang))
    if len(x) <= 24:
        ax.set_xticks(x)
    if coloured:
        ax.legend(fontsize=FONT_SIZE, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(alpha=0.3)
    title = labels.label(value, lang) + (" の推移" if lang == "ja" else " by cohort")
    if group is not None:
        title += f" — {group}"
    grey = len(names) - len(coloured)
    parts = []
    if value == "retention":
        parts.append(
            "0ヶ月目は定義上100%のため省略"
            if lang == "ja"
            else "month 0 (100% by definition) left out"
        )
    if grey:
        parts.append(
            f"灰色: 他の{grey}コホート" if lang == "ja" else f"grey: the other {grey} cohorts"
        )
    if cens is not None and cohorts is None:
        parts.append(censored_text(cens, lang, left_out=True))
    set_titles(ax, title, ("、" if lang == "ja" else "; ").join(parts) or None)
    return ax
