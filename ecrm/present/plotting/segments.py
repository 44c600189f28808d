"""Plots of the segment analyses: RFM, decile, CPM, lifecycle and KPIs.

Each function takes a finished table (the output of the matching analysis
function), draws on ``ax`` (or a new axes) and returns the axes. Segments take
their colours from :mod:`ecrm.present.palette` (one colour per segment on every
page); money axes carry the shop's currency (``currency=``, the ``currency``
setting); movement matrices show headcounts and row shares
(:func:`ecrm.present.plotting.heatmap.plot_movement`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ecrm.analysis.rfm import DEFAULT_SEGMENT_MAP
from ecrm.present import format as numfmt
from ecrm.present import palette
from ecrm.present.labels import check_lang, kpi_label, label, labels_for
from ecrm.present.plotting.base import PALETTE, new_ax
from ecrm.present.plotting.heatmap import FONT_SIZE, plot_heatmap, plot_movement, set_titles
from ecrm.settings import CpmSettings, RfmSettings, ShopSettings, section

__all__ = [
    "cpm_thresholds",
    "plot_decile",
    "plot_decile_migration",
    "plot_heatmap",
    "plot_kpi",
    "plot_pair_trends",
    "plot_pareto",
    "plot_rfm_grid",
    "plot_segment_bars",
    "plot_segment_counts",
    "plot_segment_trend",
    "plot_transition_matrix",
    "rfm_ranges",
]

#: KPIs of :func:`ecrm.analysis.kpi.kpi_table` drawn as rates (percent axis).
_RATE_KPIS = frozenset({"repeat_rate", "f2_rate", "lapse_rate"})


def _ja(lang: str, ja: str, en: str) -> str:
    return ja if lang == "ja" else en


def _value_axis(axis: object, value: str, currency: str) -> None:
    """Percent for shares, the currency for money (revenue, monetary), counts otherwise."""
    if "share" in value or value.endswith("_rate"):
        kind = "rate"
    elif "revenue" in value or "monetary" in value:
        kind = "money"
    else:
        kind = "count"
    axis.set_major_formatter(numfmt.tick_formatter(kind, currency=currency))  # type: ignore[attr-defined]


def _value_label(value: str, lang: str, currency: str) -> str:
    """Axis title with its unit: 売上（JPY）, 顧客数（人）, 構成比（%）."""
    name = label(value, lang)
    if "share" in value:
        return f"{name} (%)"
    if "revenue" in value or "monetary" in value:
        return _ja(lang, f"{name}（{currency}）", f"{name} ({currency})")
    if value == "customers":
        return _ja(lang, f"{name}（人）", name)
    return name


# ----------------------------------------------------------------------------- RFM


def _spans(edges: Sequence[float], *, first: int, unit: str, upto: str, more: str) -> list[str]:
    """``(30, 90)`` → ``["30日以内", "31–90日", "91日以上"]`` for integer upper-inclusive edges.

    (No ``≤``: the chart font, IPAex Gothic, has no glyph for it.)
    """
    out = []
    lower = first
    for e in edges:
        e = int(e)
        if lower == 0 or lower > e:
            out.append(upto.format(n=e, unit=unit))
        elif lower == e:
            out.append(f"{e}{unit}")
        else:
            out.append(f"{lower}–{e}{unit}")
        lower = e + 1
    out.append(more.format(n=lower, unit=unit))
    return out


def rfm_ranges(
    settings: ShopSettings | RfmSettings | None = None, *, lang: str = "ja"
) -> tuple[dict[int, str], dict[int, str]]:
    """What each R and F score means: ``({5: "30日以内", …}, {3: "3–4回", …})``.

    From the shop's RFM bins (``analysis.rfm``): R's upper-inclusive recency
    edges (R5 the most recent), F's upper-inclusive purchase counts. With the
    ``quantile`` method the scores are quintiles, shown as the share of
    customers they hold (R5 = 上位20% = the most recent fifth).
    """
    check_lang(lang)
    s = section(settings, RfmSettings)
    if s.method == "quantile":
        tops = {k: _ja(lang, f"上位{(6 - k) * 20}%", f"top {(6 - k) * 20}%") for k in range(1, 6)}
        return tops, dict(tops)
    more = _ja(lang, "{n}{unit}以上", "{n}+{unit}")
    upto = _ja(lang, "{n}{unit}以内", "up to {n}{unit}")
    r = _spans(s.recency_days, first=0, unit=_ja(lang, "日", " d"), upto=upto, more=more)
    f = _spans(s.frequency, first=1, unit=_ja(lang, "回", ""), upto=upto, more=more)
    return {5 - i: t for i, t in enumerate(r)}, {i + 1: t for i, t in enumerate(f)}


def _cell_segments(segment_map: Mapping[str, Sequence[str]]) -> dict[tuple[int, int], str]:
    return {(int(c[0]), int(c[1])): seg for seg, cells in segment_map.items() for c in cells}


def plot_rfm_grid(
    grid: pd.DataFrame,
    *,
    value: str = "customers",
    settings: ShopSettings | RfmSettings | None = None,
    segment_map: Mapping[str, Sequence[str]] | None = None,
    ax: Axes | None = None,
    lang: str = "ja",
    currency: str = "JPY",
) -> Axes:
    """The R×F grid (:func:`ecrm.analysis.rfm.rfm_grid`) coloured by named segment.

    Parameters
    ----------
    grid : DataFrame
        r, f and ``value`` per cell.
    value : {"customers", "revenue"}
        The number written in each cell (with its share of the total below it).
    settings : ShopSettings or RfmSettings, optional
        The shop's RFM bins: each score's range is written on its axis
        (:func:`rfm_ranges`) and the segment map colours the cells.
    segment_map : mapping, optional
        Segment → cells ("RF"); default the settings' map or
        :data:`ecrm.analysis.rfm.DEFAULT_SEGMENT_MAP`.
    currency : str
        The shop's currency, for ``value="revenue"``.

    Returns
    -------
    Axes
        R rows (5 on top), F columns (1 left); a legend names the segments.
    """
    check_lang(lang)
    s = section(settings, RfmSettings)
    seg_of = _cell_segments(segment_map or s.segment_map or DEFAULT_SEGMENT_MAP)
    m = grid.pivot_table(index="r", columns="f", values=value, aggfunc="sum")
    m = m.reindex(index=[5, 4, 3, 2, 1], columns=[1, 2, 3, 4, 5]).fillna(0)
    total = float(m.to_numpy().sum())
    r_text, f_text = rfm_ranges(s, lang=lang)
    ax = new_ax(ax, figsize=(9.5, 5.6))
    rgb = np.array(
        [[to_rgb(palette.colour("rfm", seg_of.get((r, f)))) for f in m.columns] for r in m.index]
    )
    ax.imshow(rgb, aspect="auto")
    for i, r in enumerate(m.index):
        for j, f in enumerate(m.columns):
            v = float(m.loc[r, f])
            lum = float(np.dot(rgb[i, j], (0.299, 0.587, 0.114)))
            shown = numfmt.money(v, currency, decimals=0) if value == "revenue" else numfmt.count(v)
            share = f"\n({v / total:.0%})" if total else ""
            ax.text(j, i, shown + share, ha="center", va="center", fontsize=FONT_SIZE + 1,
                    color="white" if lum < 0.55 else "black")  # fmt: skip
    ax.set_xticks(range(5), [f"F{f}\n{f_text[f]}" for f in m.columns], fontsize=FONT_SIZE)
    ax.set_yticks(range(5), [f"R{r}  {r_text[r]}" for r in m.index], fontsize=FONT_SIZE)
    ax.set_xlabel(_ja(lang, "F(購入回数)", "F (purchases)"))
    ax.set_ylabel(_ja(lang, "R(最終購入からの日数)", "R (days since the last purchase)"))
    ax.set_xticks(np.arange(-0.5, 5), minor=True)
    ax.set_yticks(np.arange(-0.5, 5), minor=True)
    ax.grid(which="minor", color="white", linewidth=2)
    ax.tick_params(which="minor", length=0)
    present = [seg for seg in dict.fromkeys(seg_of.values())]
    handles = [
        Patch(facecolor=palette.colour("rfm", seg), label=label(seg, lang)) for seg in present
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=FONT_SIZE,
              frameon=False)  # fmt: skip
    what = _value_label(value, lang, currency)
    set_titles(
        ax,
        f"R×F: {what}",
        _ja(
            lang,
            "色はセグメント、数字は人数(全体に占める割合)",
            "colour = segment; number = customers (share)",
        )
        if value == "customers"
        else _ja(
            lang,
            "色はセグメント、数字は売上(全体に占める割合)",
            "colour = segment; number = revenue (share)",
        ),
    )
    return ax


# ----------------------------------------------------------------------------- segment bars


def plot_segment_bars(
    summary: pd.DataFrame,
    *,
    value: str = "customers",
    family: str = "rfm",
    ax: Axes | None = None,
    lang: str = "ja",
    title: str | None = None,
    currency: str = "JPY",
) -> Axes:
    """Horizontal bars of a segment summary (rfm_segments, cpm_summary, lifecycle_summary).

    Parameters
    ----------
    summary : DataFrame
        segment and ``value`` per segment, in display order.
    value : str
        The column drawn: counts, shares (percent axis) or money (``currency`` axis).
    family : {"rfm", "cpm", "lifecycle"}
        The segment family, for the colours (:mod:`ecrm.present.palette`).
    currency : str
        The shop's currency, for money columns.

    Returns
    -------
    Axes
    """
    check_lang(lang)
    codes = summary["segment"].astype(str).tolist()
    ax = new_ax(ax, figsize=(9, 0.9 + 0.38 * len(codes)))
    names = labels_for(codes, lang)
    vals = summary[value].to_numpy(dtype=float)
    y = np.arange(len(names))[::-1]
    bars = ax.barh(y, vals, color=palette.colours(family, codes), edgecolor="white")
    for bar, code in zip(bars, codes, strict=True):
        if palette.hatch(family, code):
            bar.set_hatch(palette.hatch(family, code))
            bar.set_edgecolor(palette.colour(family, code.replace("_lapsed", "_active")))
    ax.set_yticks(y, names)
    for yi, v in zip(y, vals, strict=True):
        if "share" in value:
            text = numfmt.rate(v, decimals=0)
        elif "revenue" in value or "monetary" in value:
            text = numfmt.money(v, currency, decimals=0)
        else:
            text = numfmt.count(v)
        ax.text(v, yi, f" {text}", va="center", fontsize=FONT_SIZE)
    ax.set_xlim(right=float(np.nanmax(vals, initial=0) or 1) * 1.18)
    ax.set_xlabel(_value_label(value, lang, currency))
    _value_axis(ax.xaxis, value, currency)
    ax.set_title(title or label(value, lang))
    return ax


def cpm_thresholds(
    settings: ShopSettings | CpmSettings | None = None, *, lang: str = "ja", currency: str = "JPY"
) -> str:
    """The CPM rules in one line, for a chart's subtitle (lapse days, spend and tenure cut-offs)."""
    check_lang(lang)
    s = section(settings, CpmSettings)
    t1, t2 = s.tenure_cutoffs
    spend = numfmt.money(s.spend_cutoff, currency, decimals=0)
    return _ja(
        lang,
        f"離脱 = 最終購入から{s.lapse_days}日以上 ・ よちよち = 初回から{t1}日未満 ・ "
        f"流行/優良 = 累計{spend}以上(優良は初回から{t2}日以上)",
        f"lapsed = no purchase for {s.lapse_days}+ days; toddler = first purchase "
        f"< {t1} days ago; fad/loyal = spend >= {spend} (loyal: {t2}+ days)",
    )


def _pair_order(codes: Sequence[str], family: str) -> list[str]:
    """CPM segments as active/lapsed pairs (初回現役, 初回離脱, よちよち現役, …)."""
    if family != "cpm":
        return list(codes)
    stages = list(dict.fromkeys(c.rsplit("_", 1)[0] for c in codes))
    return [c for st in stages for c in (f"{st}_active", f"{st}_lapsed") if c in set(codes)]


def plot_segment_counts(
    monthly: pd.DataFrame,
    *,
    family: str = "cpm",
    order: Sequence[str] | None = None,
    ax: Axes | None = None,
    lang: str = "ja",
    subtitle: str | None = None,
) -> Axes:
    """Headcounts per segment at the last month end with the change from the month before.

    Parameters
    ----------
    monthly : DataFrame
        month_end, segment, customers (:func:`ecrm.analysis.cpm.cpm_monthly`,
        :func:`ecrm.analysis.lifecycle.lifecycle_monthly`).
    family : {"cpm", "lifecycle", "rfm"}
        Colours; CPM's active/lapsed pairs are drawn next to each other in one
        hue (lapsed lighter and hatched).
    order : sequence of str, optional
        Segment order (default the table's).
    subtitle : str, optional
        A second title line, e.g. :func:`cpm_thresholds`.

    Returns
    -------
    Axes
        One bar per segment on a linear axis, labelled ``"376人 (+12 / +3.3%)"``:
        each count is written, so a small segment (優良離脱) stays readable next
        to a large one (初回離脱) without a log axis that misleads about sizes.
    """
    check_lang(lang)
    ends = sorted(pd.unique(monthly["month_end"]))
    last = monthly[monthly["month_end"] == ends[-1]].groupby("segment")["customers"].sum()
    prev = (
        monthly[monthly["month_end"] == ends[-2]].groupby("segment")["customers"].sum()
        if len(ends) > 1
        else None
    )
    codes = _pair_order([c for c in (order or last.index) if c in last.index], family)
    vals = last.reindex(codes).fillna(0).to_numpy(dtype=float)
    ax = new_ax(ax, figsize=(9.5, 1.1 + 0.4 * len(codes)))
    y = np.arange(len(codes))[::-1]
    bars = ax.barh(y, vals, color=palette.colours(family, codes), edgecolor="white")
    for bar, code in zip(bars, codes, strict=True):
        if palette.hatch(family, code):
            bar.set_hatch(palette.hatch(family, code))
            bar.set_edgecolor(palette.colour(family, code.replace("_lapsed", "_active")))
    unit = _ja(lang, "人", "")
    for yi, code, v in zip(y, codes, vals, strict=True):
        text = f" {numfmt.count(v)}{unit}"
        if prev is not None:
            before = float(prev.get(code, 0))
            diff = v - before
            pct = f" / {numfmt.rate(diff / before, signed=True)}" if before else ""
            text += f" ({diff:+,.0f}{pct})"
        ax.text(v, yi, text, va="center", fontsize=FONT_SIZE)
    ax.set_yticks(y, labels_for(codes, lang), fontsize=FONT_SIZE)
    ax.set_xlim(right=float(vals.max(initial=0) or 1) * 1.45)
    ax.xaxis.set_major_formatter(numfmt.tick_formatter("count"))
    ax.set_xlabel(_value_label("customers", lang, "JPY"))
    when = pd.Timestamp(ends[-1]).strftime("%Y-%m-%d")
    title = _ja(
        lang,
        f"セグメント別の顧客数({when} 時点、括弧内は前月末比)",
        f"Customers per segment at {when} (change from the previous month end)",
    )
    set_titles(ax, title, subtitle)
    return ax


def plot_segment_trend(
    monthly: pd.DataFrame,
    *,
    value: str = "customers",
    family: str = "lifecycle",
    ax: Axes | None = None,
    lang: str = "ja",
    order: Sequence[str] | None = None,
    title: str | None = None,
    currency: str = "JPY",
) -> Axes:
    """Stacked bars of segment counts (or revenue) at each month end (定点観測).

    ``family`` picks the palette colours (CPM lapsed segments hatched);
    ``currency`` formats a money ``value`` (revenue) axis.
    """
    check_lang(lang)
    ax = new_ax(ax, figsize=(9.5, 4.5))
    wide = monthly.pivot_table(index="month_end", columns="segment", values=value, aggfunc="sum")
    cols = [c for c in (order or monthly["segment"].drop_duplicates()) if c in wide.columns]
    cols = _pair_order(cols, family)
    wide = wide[cols].fillna(0)
    x = np.arange(len(wide))
    bottom = np.zeros(len(wide))
    for c in cols:
        ax.bar(x, wide[c], bottom=bottom, label=label(c, lang), color=palette.colour(family, c),
               hatch=palette.hatch(family, c), edgecolor="white", linewidth=0.5)  # fmt: skip
        bottom += wide[c].to_numpy()
    ax.set_xticks(
        x, [pd.Timestamp(d).strftime("%Y-%m") for d in wide.index], rotation=45, ha="right"
    )
    _value_axis(ax.yaxis, value, currency)
    ax.set_ylabel(_value_label(value, lang, currency))
    handles, names = ax.get_legend_handles_labels()
    ax.legend(handles[::-1], names[::-1], loc="upper left", bbox_to_anchor=(1.0, 1.0),
              fontsize=FONT_SIZE, frameon=False)  # fmt: skip
    ax.set_title(title or _value_label(value, lang, currency))
    return ax


def plot_pair_trends(
    monthly: pd.DataFrame,
    *,
    stages: Sequence[str] = ("first", "toddler", "steady", "fad", "loyal"),
    lang: str = "ja",
    subtitle: str | None = None,
) -> Axes:
    """CPM month-end counts as small multiples: one panel per stage, active and lapsed.

    Parameters
    ----------
    monthly : DataFrame
        :func:`ecrm.analysis.cpm.cpm_monthly` (month_end, segment, customers).
    stages : sequence of str
        The CPM stages, one panel each (:data:`ecrm.analysis.cpm.STAGES`).
    subtitle : str, optional
        A second title line, e.g. :func:`cpm_thresholds`.

    Returns
    -------
    Axes
        The first panel (``ax.figure`` holds all). Each panel has its own y
        scale, so 優良離脱's 30 customers move as visibly as 初回離脱's 1,000;
        active is the solid line, lapsed the lighter dashed one, in the stage's
        palette hue; the last value is written at each line's end.
    """
    from matplotlib.figure import Figure

    check_lang(lang)
    new_ax(None)  # the Japanese font
    wide = monthly.pivot_table(
        index="month_end", columns="segment", values="customers", aggfunc="sum"
    )
    wide = wide.sort_index().fillna(0)
    x = np.arange(len(wide))
    months = [pd.Timestamp(d).strftime("%Y-%m") for d in wide.index]
    step = max(1, int(np.ceil(len(x) / 5)))
    fig = Figure(figsize=(9.5, 5.6), layout="constrained")
    axes = fig.subplots(2, 3, sharex=True).ravel()
    for ax, stage in zip(axes, stages, strict=False):
        for state, style in (("active", "-"), ("lapsed", "--")):
            code = f"{stage}_{state}"
            if code not in wide.columns:
                continue
            y = wide[code].to_numpy(dtype=float)
            colour = palette.colour("cpm", code)
            if state == "lapsed":
                colour = palette.colour("cpm", f"{stage}_active")
            ax.plot(x, y, style, color=colour, lw=2 if state == "active" else 1.6,
                    alpha=1.0 if state == "active" else 0.75, label=label(code, lang))  # fmt: skip
            ax.annotate(numfmt.count(y[-1]), (x[-1], y[-1]), xytext=(3, 0),
                        textcoords="offset points", va="center", fontsize=FONT_SIZE)  # fmt: skip
        ax.set_title(label(stage, lang), fontsize=10)
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_formatter(numfmt.tick_formatter("count"))
        ax.set_xticks(x[::-1][::step][::-1], months[::-1][::step][::-1])
        ax.grid(alpha=0.3)
        ax.tick_params(axis="both", labelsize=FONT_SIZE)
        ax.set_xlim(-0.5, len(x) - 1 + max(1.5, 0.22 * len(x)))  # room for the end labels
    for ax in axes[len(stages) :]:
        ax.axis("off")
    axes[0].set_ylabel(_ja(lang, "顧客数（人）", "customers"))
    axes[3].set_ylabel(_ja(lang, "顧客数（人）", "customers"))
    for ax in axes[3:]:
        for t in ax.get_xticklabels():
            t.set_rotation(45)
            t.set_horizontalalignment("right")
    legend_ax = axes[len(stages)] if len(stages) < len(axes) else axes[-1]
    from matplotlib.lines import Line2D

    legend_ax.legend(
        handles=[
            Line2D([], [], color="grey", lw=2, label=_ja(lang, "現役", "active")),
            Line2D([], [], color="grey", lw=1.6, ls="--", label=_ja(lang, "離脱", "lapsed")),
        ],
        loc="center",
        frameon=False,
        fontsize=FONT_SIZE + 1,
    )
    title = _ja(
        lang, "ステージ別の月末顧客数(現役・離脱)", "Month-end customers per stage (active, lapsed)"
    )
    fig.suptitle(title if not subtitle else f"{title}\n{subtitle}", fontsize=11)
    axes[0].set_title(label(stages[0], lang), fontsize=10)
    return axes[0]


def _ordered_counts(
    transitions: pd.DataFrame, order: Sequence[str] | None, lang: str
) -> pd.DataFrame:
    m = transitions.pivot_table(
        index="from_segment", columns="to_segment", values="customers", aggfunc="sum"
    ).fillna(0)
    if order is not None:
        m = m.reindex(
            index=[c for c in ["none", *order] if c in m.index],
            columns=[c for c in order if c in m.columns],
        )
    m.index = labels_for(m.index, lang)
    m.columns = labels_for(m.columns, lang)
    return m


def plot_transition_matrix(
    transitions: pd.DataFrame,
    *,
    ax: Axes | None = None,
    lang: str = "ja",
    order: Sequence[str] | None = None,
    title: str | None = None,
    subtitle: str | None = None,
) -> Axes:
    """Heatmap of one transition matrix (from rows → to columns): headcounts and row %.

    ``transitions`` holds from_segment, to_segment, customers (one pair of dates:
    filter a multi-pair table first). Each cell shows its customers and the
    share of its row; the colour is the row share (see
    :func:`ecrm.present.plotting.heatmap.plot_movement`).
    """
    check_lang(lang)
    m = _ordered_counts(transitions, order, lang)
    return plot_movement(
        m,
        ax=ax,
        title=title or _ja(lang, "セグメント間の移動", "Movement between segments"),
        subtitle=subtitle
        or _ja(
            lang,
            "人数(移行前の行に占める割合)、色は行内の割合",
            "customers (share of the row); colour = row share",
        ),
        xlabel=_ja(lang, "移行後", "to"),
        ylabel=_ja(lang, "移行前", "from"),
        other=_ja(lang, "その他", "other"),
    )


# ----------------------------------------------------------------------------- decile and KPIs


def plot_decile(
    table: pd.DataFrame, *, ax: Axes | None = None, lang: str = "ja", currency: str = "JPY"
) -> Axes:
    """Revenue bars per decile with the cumulative share line (:func:`decile_table`)."""
    check_lang(lang)
    ax = new_ax(ax)
    x = table["decile"].astype(int).to_numpy()
    ax.bar(x, table["revenue"], color=PALETTE[0])
    ax.yaxis.set_major_formatter(numfmt.tick_formatter("money", currency=currency))
    ax.set_xticks(x)
    ax.set_xlabel(label("decile", lang))
    ax.set_ylabel(_value_label("revenue", lang, currency))
    ax2 = ax.twinx()
    ax2.plot(x, table["cumulative_share"], color=PALETTE[1], marker="o")
    ax2.set_ylim(0, 1.05)
    ax2.yaxis.set_major_formatter(numfmt.tick_formatter("rate"))
    ax2.set_ylabel(label("cumulative_share", lang) + " (%)")
    ax.set_title(_ja(lang, "デシル別売上と累積構成比", "Revenue by decile"))
    return ax


def plot_pareto(curve: pd.DataFrame, *, ax: Axes | None = None, lang: str = "ja") -> Axes:
    """The Pareto curve (:func:`ecrm.analysis.decile.pareto_curve`) with the equality diagonal."""
    check_lang(lang)
    ax = new_ax(ax, figsize=(5, 5))
    ax.plot(curve["customer_share"], curve["revenue_share"], color=PALETTE[0])
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
    ax.xaxis.set_major_formatter(numfmt.tick_formatter("rate"))
    ax.yaxis.set_major_formatter(numfmt.tick_formatter("rate"))
    ax.set_xlabel(_ja(lang, "顧客の累積比率 (%)", "share of customers (%)"))
    ax.set_ylabel(_ja(lang, "売上の累積比率 (%)", "share of revenue (%)"))
    ax.set_title(_ja(lang, "パレート曲線", "Pareto curve"))
    return ax


def plot_kpi(
    kpis: pd.DataFrame,
    *,
    kpi: str | Sequence[str] = "revenue",
    ax: Axes | None = None,
    lang: str = "ja",
    currency: str = "JPY",
) -> Axes:
    """Line chart of one or more KPIs over the months of :func:`ecrm.analysis.kpi.kpi_table`.

    New and repeat KPIs take the palette's 新規 / リピート colours; money KPIs
    (:data:`ecrm.present.format.MONEY_KPIS`) get a ``currency`` axis, rates a
    percent axis.
    """
    check_lang(lang)
    ax = new_ax(ax, figsize=(9.5, 4))
    names = [kpi] if isinstance(kpi, str) else list(kpi)
    for i, k in enumerate(names):
        d = kpis[kpis["kpi"] == k]
        own = palette.FAMILIES["new_repeat"].get(k)
        ax.plot(
            pd.to_datetime(d["month"]),
            d["value"],
            marker="o",
            markersize=3,
            color=own or PALETTE[(i + 2) % len(PALETTE)],
            label=kpi_label(k, lang),
        )
    if all(k in _RATE_KPIS for k in names):
        ax.yaxis.set_major_formatter(numfmt.tick_formatter("rate"))
        ax.set_ylabel("%")
    elif all(k in numfmt.MONEY_KPIS for k in names):
        ax.yaxis.set_major_formatter(numfmt.tick_formatter("money", currency=currency))
        ax.set_ylabel(currency)
    else:
        ax.yaxis.set_major_formatter(numfmt.tick_formatter("count"))
        if all(k.endswith("customers") for k in names):
            ax.set_ylabel(_ja(lang, "人", "customers"))
    ax.grid(alpha=0.3)
    if len(names) > 1:
        ax.legend(frameon=False, fontsize=FONT_SIZE)
    ax.set_title(" / ".join(kpi_label(k, lang) for k in names))
    return ax


def plot_decile_migration(
    migration: pd.DataFrame, *, ax: Axes | None = None, lang: str = "ja"
) -> Axes:
    """Heatmap of :func:`ecrm.analysis.decile.decile_migration`: headcounts and row %."""
    check_lang(lang)
    order = [*map(str, sorted(int(d) for d in set(migration.from_decile) if d != "none")), "none"]
    m = (
        migration.pivot_table(
            index="from_decile", columns="to_decile", values="customers", aggfunc="sum"
        )
        .reindex(index=order, columns=order)
        .fillna(0)
    )
    m.index = [label(i, lang) for i in m.index]
    m.columns = [label(c, lang) for c in m.columns]
    return plot_movement(
        m,
        ax=ax,
        title=_ja(lang, "デシル移動(前期→今期)", "Decile migration (previous → current)"),
        subtitle=_ja(
            lang, "人数(前期の行に占める割合)", "customers (share of the previous decile)"
        ),
        xlabel=_ja(lang, "今期", "current"),
        ylabel=_ja(lang, "前期", "previous"),
        other=_ja(lang, "その他", "other"),
    )
