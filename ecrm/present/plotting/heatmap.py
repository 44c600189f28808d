"""Heatmaps that stay legible in the page column: value and movement matrices.

The report's page column is :data:`PAGE_WIDTH_PX` wide and figures are rendered
at :data:`DPI`, so a figure at most :data:`MAX_WIDTH_IN` inches wide is shown at
its natural size and its 9 pt digits stay 9 pt. Cell sizes are chosen from the
longest annotation at :data:`FONT_SIZE`; a matrix with more rows or columns
than fit keeps its largest ones and sums the rest into one "other" row/column
(:func:`top_with_other`) rather than shrinking the digits. Drawn with seaborn's
``heatmap`` (annotations, colour bar, masked missing cells).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ecrm.present import format as numfmt
from ecrm.present.plotting.base import new_ax, use_japanese_font

__all__ = [
    "DPI",
    "FONT_SIZE",
    "MAX_CELLS",
    "MAX_WIDTH_IN",
    "PAGE_WIDTH_PX",
    "fit_figsize",
    "plot_heatmap",
    "plot_movement",
    "set_titles",
    "top_with_other",
]

#: Width of the report's page column in pixels (images wider than this are shrunk).
PAGE_WIDTH_PX = 1150
#: Resolution at which :meth:`ecrm.render.context.NotebookContext.plot` renders figures.
DPI = 110
#: Widest figure, in inches, that is shown unshrunk (a margin left for tight bounding boxes).
MAX_WIDTH_IN = 10.0
#: Smallest font of a cell annotation, in points at the rendered size.
FONT_SIZE = 9
#: Most rows or columns a movement matrix shows before the rest become "other".
MAX_CELLS = 12


def set_titles(ax: Axes, title: str, subtitle: str | None = None) -> None:
    """A chart title with an optional second, explanatory line (thresholds, units)."""
    ax.set_title(title if not subtitle else f"{title}\n{subtitle}", fontsize=11)


def _text_width_in(chars: int, font: float = FONT_SIZE) -> float:
    """Rough width of ``chars`` digits at ``font`` points (digits are ~0.6 em)."""
    return chars * 0.62 * font / 72


def fit_figsize(
    n_rows: int,
    n_cols: int,
    *,
    longest: int,
    lines: int = 1,
    label_in: float = 1.6,
    colorbar: bool = True,
) -> tuple[float, float]:
    """Figure size for an ``n_rows`` × ``n_cols`` heatmap whose cells hold ``longest`` chars.

    The width never exceeds :data:`MAX_WIDTH_IN`; callers reduce the matrix
    (:func:`top_with_other`) or drop annotations when the cells do not fit.
    """
    cell_w = max(0.42, _text_width_in(longest) + 0.14)
    cell_h = 0.2 + 0.19 * lines
    extra = label_in + (0.9 if colorbar else 0.2)
    width = min(MAX_WIDTH_IN, extra + cell_w * n_cols)
    height = min(11.0, 1.4 + cell_h * n_rows)
    return (max(width, 4.0), max(height, 2.5))


def _max_cols(longest: int, *, label_in: float = 1.6) -> int:
    cell_w = max(0.42, _text_width_in(longest) + 0.14)
    return max(1, int((MAX_WIDTH_IN - label_in - 0.9) / cell_w))


def top_with_other(
    counts: pd.DataFrame, *, max_rows: int, max_cols: int, other: str
) -> pd.DataFrame:
    """Keep the largest rows and columns (by total) and sum the rest into ``other``.

    Row and column order is kept for the ones shown; ``other`` comes last. A
    matrix that already fits is returned unchanged.
    """
    m = counts
    if m.shape[1] > max_cols:
        keep = m.sum(axis=0).nlargest(max_cols - 1).index
        cols = [c for c in m.columns if c in set(keep)]
        rest = m.drop(columns=cols).sum(axis=1)
        m = m[cols].assign(**{other: rest})
    if m.shape[0] > max_rows:
        keep = m.sum(axis=1).nlargest(max_rows - 1).index
        rows = [r for r in m.index if r in set(keep)]
        rest_row = m.drop(index=rows).sum(axis=0).rename(other)
        m = pd.concat([m.loc[rows], rest_row.to_frame().T])
    return m


def _draw(
    ax: Axes,
    values: pd.DataFrame,
    text: np.ndarray | None,
    *,
    cmap: str,
    vmin: float | None,
    vmax: float | None,
    colorbar_format: object | None,
    titles: tuple[str | None, str | None, str | None, str | None],
) -> Axes:
    """The one seaborn call of both heatmaps: blank missing cells, 9 pt text, rotated ticks."""
    import seaborn as sns

    sns.heatmap(
        values,
        ax=ax,
        cmap=cmap,
        mask=~np.isfinite(values.to_numpy(dtype=float)),
        annot=text if text is not None else False,
        fmt="",
        annot_kws={"fontsize": FONT_SIZE},
        cbar_kws={"shrink": 0.8, **({"format": colorbar_format} if colorbar_format else {})},
        vmin=vmin,
        vmax=vmax,
        linewidths=0.5,
        linecolor="white",
    )
    ax.tick_params(axis="x", labelrotation=45, labelsize=FONT_SIZE)
    ax.tick_params(axis="y", labelrotation=0, labelsize=FONT_SIZE)
    for t in ax.get_xticklabels():
        t.set_horizontalalignment("right")
    title, subtitle, xlabel, ylabel = titles
    if title:
        set_titles(ax, title, subtitle)
    ax.set_xlabel(xlabel or "")
    ax.set_ylabel(ylabel or "")
    return ax


def plot_heatmap(
    matrix: pd.DataFrame,
    *,
    ax: Axes | None = None,
    fmt: str = "{:,.0f}",
    cmap: str = "Blues",
    title: str | None = None,
    subtitle: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    annotate: bool | None = None,
    colorbar_format: object | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
) -> Axes:
    """Draw a labelled heatmap of a wide matrix (rows × columns), annotating cells.

    Parameters
    ----------
    matrix : DataFrame
        Values; missing cells stay blank (never drawn as 0).
    fmt : str
        ``str.format`` pattern of a cell's annotation.
    annotate : bool, optional
        Write each cell's value (default: when the digits fit at 9 pt in the page width).
    colorbar_format : matplotlib Formatter, optional
        Formatter of the colour bar's ticks (e.g. ``tick_formatter("rate")``).

    Returns
    -------
    Axes
    """

    values = matrix.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    longest = max((len(fmt.format(v)) for v in finite), default=1)
    if annotate is None:
        annotate = matrix.shape[1] <= _max_cols(longest)
    ax = new_ax(ax, figsize=fit_figsize(*matrix.shape, longest=longest if annotate else 1))
    text = np.vectorize(lambda v: fmt.format(v) if np.isfinite(v) else "", otypes=[object])(values)
    return _draw(
        ax,
        pd.DataFrame(
            values, index=[str(i) for i in matrix.index], columns=[str(c) for c in matrix.columns]
        ),
        text if annotate else None,
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        colorbar_format=colorbar_format,
        titles=(title, subtitle, xlabel, ylabel),
    )


def plot_movement(
    counts: pd.DataFrame,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    subtitle: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    other: str = "その他",
    max_cells: int = MAX_CELLS,
) -> Axes:
    """Movement (transition) heatmap: each cell shows its headcount and its row %.

    Parameters
    ----------
    counts : DataFrame
        Customers moving from the row (before) to the column (after); labels
        already in the page's language.
    title, subtitle, xlabel, ylabel : str, optional
        Texts of the chart (the subtitle says how to read it).
    other : str
        Label of the row/column summing what does not fit (:func:`top_with_other`).
    max_cells : int
        Most rows or columns shown.

    Returns
    -------
    Axes
        Colours show the row share (the share of the row's customers who moved
        to the column); each cell is annotated ``"1,234\\n(56%)"``; cells
        without customers (and empty rows) stay blank.
    """

    use_japanese_font()
    m = counts.fillna(0).astype(float)
    m = top_with_other(m, max_rows=max_cells, max_cols=max_cells, other=other)
    totals = m.sum(axis=1)
    share = m.div(totals.where(totals > 0), axis=0)
    n = m.to_numpy()
    s = share.to_numpy()
    text = np.empty(n.shape, dtype=object)
    for (i, j), v in np.ndenumerate(n):
        # an empty cell stays blank: a wall of "0 (0%)" hides the moves that happened
        shown = np.isfinite(s[i, j]) and v > 0
        text[i, j] = f"{numfmt.count(v)}\n({s[i, j]:.0%})" if shown else ""
    longest = max((len(numfmt.count(v)) for v in n.ravel()), default=1)
    longest = max(longest, 5)
    ax = new_ax(ax, figsize=fit_figsize(*m.shape, longest=longest, lines=2))
    return _draw(
        ax,
        pd.DataFrame(s, index=[str(i) for i in m.index], columns=[str(c) for c in m.columns]),
        text,
        cmap="Blues",
        vmin=0,
        vmax=1,
        colorbar_format=numfmt.tick_formatter("rate"),
        titles=(title, subtitle, xlabel, ylabel),
    )
