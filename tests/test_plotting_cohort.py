"""Cohort and LTV charts: ≤ 6 highlighted cohorts, axes after month 0, legible heatmaps."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from ecrm.present.plotting import cohort as plots
from ecrm.present.plotting import ltv as ltv_plots
from ecrm.present.plotting.heatmap import DPI, FONT_SIZE, PAGE_WIDTH_PX

GREY = "#C8C8C8"


def _png_width(ax) -> int:
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return Image.open(io.BytesIO(buf.getvalue())).size[0]


def cohort_table(n_cohorts: int, *, seed: int = 0) -> pd.DataFrame:
    """A cohort triangle: ``n_cohorts`` monthly cohorts up to 2026-10, retention falling."""
    rng = np.random.default_rng(seed)
    months = pd.period_range(end="2026-10", periods=n_cohorts, freq="M")
    rows = []
    for k, m in enumerate(months):
        size = int(rng.integers(50, 150))
        for p in range(n_cohorts - k):
            ret = 1.0 if p == 0 else float(rng.uniform(0.02, 0.2))
            rows.append((str(m), p, size, ret, round(ret * size), 5000.0 * (p + 1)))
    return pd.DataFrame(
        rows,
        columns=[
            "cohort",
            "period",
            "cohort_size",
            "retention",
            "active",
            "cum_revenue_per_customer",
        ],
    )


def _coloured(ax) -> list:
    return [line for line in ax.lines if line.get_color() != GREY]


def test_many_cohorts_draw_at_most_six_in_colour_with_a_legend():
    t = cohort_table(24)
    ax = plots.plot_retention_curves(t)
    coloured = _coloured(ax)
    assert 1 <= len(coloured) <= plots.MAX_HIGHLIGHTED
    assert len(ax.lines) == 24
    legend = [x.get_text() for x in ax.get_legend().get_texts()]
    assert legend == [line.get_label() for line in coloured]
    assert any("最新" in x for x in legend) and any("1年前" in x for x in legend)
    assert "灰色: 他の" in ax.get_title()


def test_highlighted_cohorts_are_latest_a_year_back_best_and_worst():
    t = cohort_table(24, seed=3)
    wide = t.pivot(index="cohort", columns="period", values="retention").sort_index()
    got = plots.highlight_cohorts(wide, lang="en")
    at3 = wide[3].dropna()
    # 2026-10 has month 0 only and 2026-09 one point after it: 2026-08 is the latest curve
    assert "latest" in got["2026-08"] and "2026-09" not in got
    assert "a year before" in got["2025-08"]
    assert "best at month 3" in got[str(at3.idxmax())]
    assert "worst at month 3" in got[str(at3.idxmin())]
    assert len(got) <= plots.MAX_HIGHLIGHTED


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=1, max_value=40), st.integers(min_value=0, max_value=10_000))
def test_never_more_than_six_highlighted(n, seed):
    t = cohort_table(n, seed=seed)
    wide = t.pivot(index="cohort", columns="period", values="retention").sort_index()
    got = plots.highlight_cohorts(wide)
    assert 1 <= len(got) <= plots.MAX_HIGHLIGHTED
    assert set(got) <= set(wide.index)
    if n <= plots.MAX_HIGHLIGHTED:
        assert list(got) == list(wide.index)


def test_retention_axis_starts_after_month_zero():
    t = cohort_table(12)
    ax = plots.plot_retention_curves(t)
    assert min(min(line.get_xdata()) for line in ax.lines) == 1
    top = ax.get_ylim()[1]
    assert top < 0.5 and top >= t.loc[t.period > 0, "retention"].max()
    assert "0ヶ月目は定義上100%" in ax.get_title()
    money = plots.plot_retention_curves(t, value="cum_revenue_per_customer", currency="GBP")
    money.figure.canvas.draw()
    ticks = [x.get_text() for x in money.get_yticklabels() if x.get_text()]
    assert ticks and all(x.startswith("£") for x in ticks)
    assert min(money.lines[0].get_xdata()) == 0  # cumulative revenue keeps month 0


@pytest.mark.parametrize("value", ["retention", "cum_revenue_per_customer", "active"])
def test_cohort_heatmap_is_legible_in_the_page_column(value):
    t = cohort_table(24)
    ax = plots.plot_cohort_heatmap(t, value=value)
    assert _png_width(ax) <= PAGE_WIDTH_PX
    assert len(ax.texts) == int(t[value].notna().sum())
    assert all(x.get_fontsize() >= FONT_SIZE for x in ax.texts)
    assert all(x.get_fontsize() >= FONT_SIZE for x in ax.get_xticklabels())


def test_cohort_heatmap_cells_say_percent_and_thousands():
    t = cohort_table(3)
    ax = plots.plot_cohort_heatmap(t)
    first_row = [x.get_text() for x in ax.texts[:3]]
    row = t[t.cohort == "2026-08"].sort_values("period")
    assert first_row == [f"{v * 100:.0f}" for v in row["retention"]]
    assert "(%)" in ax.get_title() and "100%" in ax.get_title()
    big = t.assign(cum_revenue_per_customer=t["cum_revenue_per_customer"] * 10)
    ax = plots.plot_cohort_heatmap(big, value="cum_revenue_per_customer")
    assert ax.texts[0].get_text() == "50" and "千円" in ax.get_title()  # ≥ 100 thousand: whole
    ax = plots.plot_cohort_heatmap(t, value="cum_revenue_per_customer", lang="en", currency="USD")
    assert ax.texts[0].get_text() == "5.0" and "(1,000 USD)" in ax.get_title()
    small = t.assign(cum_revenue_per_customer=t["cum_revenue_per_customer"] / 10)
    ax = plots.plot_cohort_heatmap(
        small, value="cum_revenue_per_customer", lang="en", currency="USD"
    )
    assert ax.texts[0].get_text() == "500" and "(USD)" in ax.get_title()


def ltv_table(n_cohorts: int) -> pd.DataFrame:
    months = pd.period_range(end="2026-09", periods=n_cohorts, freq="M")
    rows = []
    for k, m in enumerate(months):
        for d in (30, 90, 180, 360):
            if d <= 30 * (n_cohorts - k):
                rows.append((str(m), d, 1000.0 * (k + 1) + d))
    rows += [("all", d, 2000.0 + d) for d in (30, 90, 180, 360)]
    return pd.DataFrame(rows, columns=["cohort", "days", "ltv"])


def test_ltv_curves_highlight_few_cohorts_and_carry_the_currency():
    t = ltv_table(20)
    ax = ltv_plots.plot_ltv_curves(t, currency="EUR")
    coloured = [line for line in ax.lines if line.get_color() != GREY]
    assert len(coloured) <= plots.MAX_HIGHLIGHTED + 1  # + the all-cohort average
    assert coloured[-1].get_color() == "black"
    assert len(ax.get_legend().get_texts()) == len(coloured)
    ax.figure.canvas.draw()
    ticks = [x.get_text() for x in ax.get_yticklabels() if x.get_text()]
    assert ticks and all(x.startswith("€") for x in ticks)
    assert "EUR" in ax.get_ylabel()
    assert _png_width(ax) <= PAGE_WIDTH_PX


def test_a_wide_money_triangle_keeps_its_digits_in_whole_thousands():
    t = cohort_table(24)
    t["cum_revenue_per_customer"] *= 0.5  # up to 60,000: 24 cells of "60.0" would not fit
    ax = plots.plot_cohort_heatmap(t, value="cum_revenue_per_customer")
    assert len(ax.texts) == len(t)
    assert ax.texts[0].get_text() == "2" and ax.texts[1].get_text() == "5"  # 2,500 and 5,000
    assert _png_width(ax) <= PAGE_WIDTH_PX
