"""Shared plotting set-up: a Japanese-capable font and an axes to draw on."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import matplotlib as mpl
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ecrm.errors import ColumnsError

__all__ = ["PALETTE", "need_columns", "new_ax", "use_japanese_font"]

#: Qualitative palette used for segments (colour-blind friendly, 12 colours).
PALETTE: tuple[str, ...] = (
    "#4E79A7",
    "#F28E2B",
    "#59A14F",
    "#E15759",
    "#76B7B2",
    "#EDC948",
    "#B07AA1",
    "#FF9DA7",
    "#9C755F",
    "#BAB0AC",
    "#1F77B4",
    "#8C564B",
)


@functools.cache
def use_japanese_font() -> str:
    """Make matplotlib render Japanese text (IPAex Gothic from matplotlib-fontja), literally.

    Called on first use by every plot, not at import. Returns the font family name.

    It also turns matplotlib's mathtext off (``text.parse_math = False``):
    axis labels, tick labels, legends and annotations name the shop's own
    products, categories and channels, and a ``$`` in one of them would
    otherwise start a formula (garbled text, or a ``ValueError`` for an odd
    number of ``$``). ecrm's charts use no formulas, so every text is drawn as
    written. Like the font, the setting is process-wide (matplotlib reads it
    when a text is created).
    """
    import matplotlib_fontja

    matplotlib_fontja.japanize()
    mpl.rcParams["axes.unicode_minus"] = False
    mpl.rcParams["text.parse_math"] = False
    return str(mpl.rcParams["font.family"][0])


def new_ax(ax: Axes | None = None, *, figsize: tuple[float, float] = (8, 4.5)) -> Axes:
    """Return ``ax``, or a new axes on a new figure (not registered with pyplot)."""
    family = use_japanese_font()
    if ax is not None:
        # An axes made before the font was set keeps its old font in the texts it
        # already has (title, axis labels, tick labels): switch those too.
        ax.tick_params(labelfontfamily=family)
        for text in (ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label):
            text.set_fontfamily(family)
        return ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig.add_subplot()


def need_columns(table: pd.DataFrame, columns: Sequence[str], maker: str) -> None:
    """Raise :class:`ColumnsError` unless ``table`` has ``columns`` (``maker()``'s result)."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ColumnsError(
            f"plot needs a {maker}() result with columns {list(columns)}; missing {missing}"
        )
