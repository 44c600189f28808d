"""Segment charts as a reader sees them: palette colours, currency ticks, RFM ranges, cell texts."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.colors import to_hex
from PIL import Image

from ecrm.analysis import cpm, lifecycle, rfm
from ecrm.present import palette
from ecrm.present.plotting import segments as plots
from ecrm.present.plotting.heatmap import DPI, FONT_SIZE, PAGE_WIDTH_PX, top_with_other
from ecrm.settings import CpmSettings, RfmSettings


def _png_width(ax) -> int:
    buf = io.BytesIO()
    ax.figure.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return Image.open(io.BytesIO(buf.getvalue())).size[0]


def _ticks(axis) -> list[str]:
    axis.axes.figure.canvas.draw()
    return [t.get_text() for t in axis.get_ticklabels() if t.get_text()]


def _monthly(codes, ends=("2026-09-30", "2026-10-31")) -> pd.DataFrame:
    rows = []
    for k, end in enumerate(ends):
        for i, code in enumerate(codes):
            n = 10 * (i + 1) + 5 * k
            rows.append((pd.Timestamp(end).date(), code, n, 1000.0 * n))
    return pd.DataFrame(rows, columns=["month_end", "segment", "customers", "revenue"])


# --------------------------------------------------------------------------- palette


def test_every_segment_code_of_every_family_has_its_own_colour():
    families = {
        "rfm": rfm.SEGMENT_ORDER,
        "cpm": cpm.SEGMENTS,
        "lifecycle": lifecycle.SEGMENTS,
    }
    for family, codes in families.items():
        got = palette.colours(family, codes)
        assert palette.OTHER not in got, family
        assert len(set(got)) == len(codes), family
    # 新規 is one colour in every family
    assert (
        palette.colour("lifecycle", "new")
        == palette.colour("rfm", "new_customers")
        == palette.colour("cpm", "first_active")
        == palette.colour("new_repeat", "new_revenue")
        == palette.NEW
    )
    assert palette.colour("new_repeat", "repeat_customers") == palette.REPEAT
    assert palette.colour("rfm", "a shop's own segment") == palette.OTHER
    with pytest.raises(ValueError, match="family"):
        palette.colour("nope", "new")


def test_cpm_lapsed_is_a_lighter_hatched_tint_of_its_active_colour():
    for stage in cpm.STAGES:
        active = palette.colour("cpm", f"{stage}_active")
        lapsed = palette.colour("cpm", f"{stage}_lapsed")
        assert lapsed == palette.lighten(active)
        assert sum(int(lapsed[i : i + 2], 16) for i in (1, 3, 5)) > sum(
            int(active[i : i + 2], 16) for i in (1, 3, 5)
        )
        assert palette.hatch("cpm", f"{stage}_lapsed") and not palette.hatch(
            "cpm", f"{stage}_active"
        )


@pytest.mark.parametrize(
    ("family", "codes"),
    [("lifecycle", lifecycle.SEGMENTS), ("cpm", cpm.SEGMENTS), ("rfm", rfm.SEGMENT_ORDER)],
)
def test_segment_bars_trend_and_counts_use_the_palette(family, codes):
    summary = pd.DataFrame({"segment": list(codes), "customers": np.arange(1, len(codes) + 1)})
    ax = plots.plot_segment_bars(summary, family=family)
    assert [to_hex(p.get_facecolor()) for p in ax.patches] == palette.colours(family, codes)
    monthly = _monthly(codes)
    ax = plots.plot_segment_counts(monthly, family=family, order=codes)
    drawn = [t.get_text() for t in ax.get_yticklabels()]
    from ecrm.present.labels import labels_for

    names = dict(zip(labels_for(list(codes), "ja"), codes, strict=True))
    for patch, d in zip(ax.patches, drawn, strict=True):
        assert to_hex(patch.get_facecolor()) == palette.colour(family, names[d])
    ax = plots.plot_segment_trend(monthly, family=family, order=codes)
    by_label = {c.get_label(): c for c in ax.containers}
    for name, code in names.items():
        assert to_hex(by_label[name].patches[0].get_facecolor()) == palette.colour(family, code)


def test_cpm_pairs_sit_together_and_counts_carry_the_month_on_month_change():
    monthly = _monthly(cpm.SEGMENTS)
    ax = plots.plot_segment_counts(monthly, family="cpm", order=cpm.SEGMENTS)
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert names[:4] == ["初回現役", "初回離脱", "よちよち現役", "よちよち離脱"]
    texts = [t.get_text().strip() for t in ax.texts]
    # first_active: 10 → 15; first_lapsed (6th code): 60 → 65
    assert texts[0] == "15人 (+5 / +50.0%)"
    assert texts[1] == "65人 (+5 / +8.3%)"
    hatched = [p.get_hatch() for p in ax.patches]
    assert hatched[1] == "///" and hatched[0] is None


def test_cpm_thresholds_come_from_the_settings():
    s = CpmSettings(lapse_days=180, spend_cutoff=50_000, tenure_cutoffs=(60, 300))
    text = plots.cpm_thresholds(s)
    assert "180日以上" in text and "¥50,000" in text and "60日未満" in text and "300日" in text
    en = plots.cpm_thresholds(s, lang="en", currency="GBP")
    assert "£50,000" in en and "180+" in en


# --------------------------------------------------------------------------- RFM grid


def _grid() -> pd.DataFrame:
    cells = [(r, f) for r in range(1, 6) for f in range(1, 6)]
    return pd.DataFrame(
        {
            "r": [r for r, _ in cells],
            "f": [f for _, f in cells],
            "customers": [10 * r + f for r, f in cells],
            "revenue": [1000.0 * (10 * r + f) for r, f in cells],
        }
    )


def test_rfm_axes_show_the_ranges_of_the_settings_edges():
    s = RfmSettings(recency_days=(14, 60, 120, 400), frequency=(1, 3, 5, 8))
    ax = plots.plot_rfm_grid(_grid(), settings=s)
    assert _ticks(ax.yaxis) == [
        "R5  14日以内",
        "R4  15–60日",
        "R3  61–120日",
        "R2  121–400日",
        "R1  401日以上",
    ]
    assert _ticks(ax.xaxis) == ["F1\n1回", "F2\n2–3回", "F3\n4–5回", "F4\n6–8回", "F5\n9回以上"]
    default = plots.rfm_ranges(None)
    assert default[0][5] == "30日以内" and default[1][3] == "3–4回"
    en = plots.rfm_ranges(None, lang="en")
    assert en[0][1] == "366+ d" and en[0][5] == "up to 30 d" and en[1][5] == "10+"


def test_rfm_cells_are_coloured_by_segment_and_labelled_with_counts():
    grid = _grid()
    ax = plots.plot_rfm_grid(grid)
    image = ax.images[0].get_array()
    seg_of = {(int(c[0]), int(c[1])): s for s, cs in rfm.DEFAULT_SEGMENT_MAP.items() for c in cs}
    total = grid["customers"].sum()
    texts = iter(ax.texts)
    for i, r in enumerate([5, 4, 3, 2, 1]):
        for j, f in enumerate(range(1, 6)):
            assert to_hex(image[i, j][:3]) == palette.colour("rfm", seg_of[(r, f)])
            n = 10 * r + f
            assert next(texts).get_text() == f"{n:,}\n({n / total:.0%})"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "新規顧客" in legend and len(legend) == len(rfm.DEFAULT_SEGMENT_MAP)


def test_money_axes_carry_the_currency():
    kpis = pd.DataFrame(
        {
            "month": ["2026-08", "2026-09", "2026-10"] * 2,
            "kpi": ["revenue"] * 3 + ["new_revenue"] * 3,
            "value": [100_000.0, 120_000.0, 90_000.0, 40_000.0, 50_000.0, 30_000.0],
        }
    )
    ax = plots.plot_kpi(kpis, kpi=["revenue", "new_revenue"], currency="GBP")
    assert all(t.startswith("£") for t in _ticks(ax.yaxis))
    assert ax.get_ylabel() == "GBP"
    assert to_hex(ax.lines[1].get_color()) == palette.NEW
    ax = plots.plot_kpi(kpis, kpi="revenue")
    assert all(t.startswith("¥") for t in _ticks(ax.yaxis))
    monthly = _monthly(lifecycle.SEGMENTS)
    ax = plots.plot_segment_trend(monthly, value="revenue", currency="EUR")
    assert all(t.startswith("€") for t in _ticks(ax.yaxis)) and "EUR" in ax.get_ylabel()
    table = pd.DataFrame(
        {"decile": range(1, 4), "revenue": [300.0, 200.0, 100.0], "cumulative_share": [0.5, 0.8, 1]}
    )
    ax = plots.plot_decile(table, currency="USD")
    assert all(t.startswith("$") for t in _ticks(ax.yaxis))
    ax = plots.plot_rfm_grid(_grid(), value="revenue")
    assert ax.texts[0].get_text().startswith("¥")


# --------------------------------------------------------------------------- movement


def _moves(counts: dict[tuple[str, str], int]) -> pd.DataFrame:
    return pd.DataFrame(
        [(a, b, n) for (a, b), n in counts.items()],
        columns=["from_segment", "to_segment", "customers"],
    )


def test_transition_cells_show_headcounts_and_row_shares():
    t = _moves({("new", "new"): 30, ("new", "repeat"): 10, ("repeat", "repeat"): 7})
    ax = plots.plot_transition_matrix(t, order=["new", "repeat"])
    texts = [x.get_text() for x in ax.texts]
    assert texts == ["30\n(75%)", "10\n(25%)", "", "7\n(100%)"]  # no one: blank
    mesh = ax.collections[0].get_array().reshape(2, 2)
    assert mesh.tolist() == [[0.75, 0.25], [0.0, 1.0]]  # colour = row share
    assert all(x.get_fontsize() >= FONT_SIZE for x in ax.texts)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["新規", "リピート"]


def test_decile_migration_shows_counts_and_percent():
    m = pd.DataFrame(
        {
            "from_decile": ["1", "1", "2", "none"],
            "to_decile": ["1", "2", "2", "1"],
            "customers": [3, 1, 4, 2],
        }
    )
    ax = plots.plot_decile_migration(m)
    texts = [x.get_text() for x in ax.texts]
    assert texts[:3] == ["3\n(75%)", "1\n(25%)", ""]


@settings(max_examples=25, deadline=None)
@given(
    st.integers(min_value=1, max_value=30),
    st.integers(min_value=1, max_value=30),
    st.integers(min_value=2, max_value=12),
)
def test_top_with_other_keeps_every_customer(rows, cols, cap):
    rng = np.random.default_rng(rows * 100 + cols)
    counts = pd.DataFrame(
        rng.integers(0, 50, size=(rows, cols)),
        index=[f"r{i}" for i in range(rows)],
        columns=[f"c{j}" for j in range(cols)],
    )
    m = top_with_other(counts, max_rows=cap, max_cols=cap, other="other")
    assert m.shape[0] <= cap and m.shape[1] <= cap
    assert m.to_numpy().sum() == counts.to_numpy().sum()
    if rows <= cap and cols <= cap:
        pd.testing.assert_frame_equal(m, counts)


def test_large_movement_matrix_gets_other_and_fits_the_page():
    names = [f"カテゴリ{i:02d}" for i in range(25)]
    t = _moves(
        {(a, b): (i * 7 + j * 3) % 40 + 1 for i, a in enumerate(names) for j, b in enumerate(names)}
    )
    ax = plots.plot_transition_matrix(t)
    labels = [x.get_text() for x in ax.get_xticklabels()]
    assert len(labels) <= 12 and labels[-1] == "その他"
    assert _png_width(ax) <= PAGE_WIDTH_PX


def test_every_segment_figure_fits_the_page_column():
    monthly = _monthly(cpm.SEGMENTS)
    summary = pd.DataFrame({"segment": list(cpm.SEGMENTS), "customers": range(10)})
    for ax in (
        plots.plot_rfm_grid(_grid()),
        plots.plot_segment_counts(monthly, order=cpm.SEGMENTS, subtitle=plots.cpm_thresholds()),
        plots.plot_segment_trend(monthly, family="cpm", order=cpm.SEGMENTS),
        plots.plot_segment_bars(summary, family="cpm"),
        plots.plot_transition_matrix(
            _moves({(a, b): 5 for a in cpm.SEGMENTS for b in cpm.SEGMENTS}), order=cpm.SEGMENTS
        ),
    ):
        assert _png_width(ax) <= PAGE_WIDTH_PX


def test_cpm_pair_trends_draw_each_stage_in_its_hue_on_its_own_scale():
    monthly = _monthly(cpm.SEGMENTS, ends=("2026-08-31", "2026-09-30", "2026-10-31"))
    ax = plots.plot_pair_trends(monthly, stages=cpm.STAGES, subtitle=plots.cpm_thresholds())
    panels = ax.figure.axes
    assert [p.get_title() for p in panels[:5]] == ["初回", "よちよち", "コツコツ", "流行", "優良"]
    for panel, stage in zip(panels, cpm.STAGES, strict=False):
        active, lapsed = panel.lines
        hue = palette.colour("cpm", f"{stage}_active")
        assert to_hex(active.get_color()) == to_hex(lapsed.get_color()) == hue
        assert active.get_linestyle() == "-" and lapsed.get_linestyle() == "--"
        last = monthly[monthly.month_end == monthly.month_end.max()].set_index("segment")
        ends = [t.get_text() for t in panel.texts]
        assert ends == [
            f"{last.customers[f'{stage}_active']:,}",
            f"{last.customers[f'{stage}_lapsed']:,}",
        ]
    # own scales: the largest stage's axis does not flatten the smallest
    assert panels[0].get_ylim()[1] < panels[4].get_ylim()[1]
    assert "240日以上" in ax.figure.get_suptitle()
    assert _png_width(ax) <= PAGE_WIDTH_PX
