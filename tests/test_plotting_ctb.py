"""CTB charts: LTV axis in the shop's currency, cells with pairs and row %, page width."""

from __future__ import annotations

import io

import pandas as pd
from PIL import Image

from ecrm.present.plotting import ctb as plots
from ecrm.present.plotting.heatmap import DPI, FONT_SIZE, PAGE_WIDTH_PX


def _png_width(ax) -> int:
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return Image.open(io.BytesIO(buf.getvalue())).size[0]


def _first(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "level": "category",
            "value": [f"カテゴリ{i}" for i in range(n)],
            "customers": range(10, 10 + n),
            "f2_rate": [0.1 + 0.01 * i for i in range(n)],
            "ltv": [10_000.0 + 500 * i for i in range(n)],
            "horizon_days": 360,
        }
    )


def test_first_purchase_ltv_axis_carries_the_currency_and_fits_the_page():
    ax = plots.plot_first_purchase(_first(25), currency="GBP", lang="en")
    ax.figure.canvas.draw()
    ticks = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert ticks and all(t.startswith("£") for t in ticks)
    assert "(GBP)" in ax.get_ylabel()
    assert _png_width(ax) <= PAGE_WIDTH_PX


def test_next_purchase_cells_hold_pairs_and_the_row_share():
    t = pd.DataFrame(
        {
            "level": "category",
            "from_value": ["a", "a", "b", "b"],
            "to_value": ["a", "b", "a", "b"],
            "pairs": [6, 2, 1, 3],
        }
    )
    ax = plots.plot_transition_heatmap(t)
    assert [x.get_text() for x in ax.texts] == ["6\n(75%)", "2\n(25%)", "1\n(25%)", "3\n(75%)"]
    assert all(x.get_fontsize() >= FONT_SIZE for x in ax.texts)


def test_many_categories_are_summed_into_other_rows_and_columns():
    values = [f"v{i:02d}" for i in range(20)]
    rows = [(a, b, (i + 2 * j) % 7 + 1) for i, a in enumerate(values) for j, b in enumerate(values)]
    t = pd.DataFrame(rows, columns=["from_value", "to_value", "pairs"]).assign(level="category")
    ax = plots.plot_transition_heatmap(t, max_values=8)
    cols = [x.get_text() for x in ax.get_xticklabels()]
    assert len(cols) == 8 and cols[-1] == "その他"
    assert sum(int(x.get_text().split("\n")[0]) for x in ax.texts if x.get_text()) == t.pairs.sum()
    assert _png_width(ax) <= PAGE_WIDTH_PX
