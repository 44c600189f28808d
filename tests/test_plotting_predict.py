"""Plots of the predicted customer value: tracking, P(alive) matrix, value deciles.

Each plot is drawn from a small hand table and checked as a reader sees it:
lines and their data, axis labels and titles in the page's language, tick
labels that are not empty (money ticks with the currency), bad input refused.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from ecrm.errors import ColumnsError, ParameterError
from ecrm.models import predict
from ecrm.present.plotting import predict as pp


def _ticks(axis) -> list[str]:
    axis.figure.canvas.draw()
    return [t.get_text() for t in axis.get_ticklabels() if t.get_text()]


def _tracking() -> pd.DataFrame:
    cutoff = dt.date(2026, 1, 31)
    ends = [cutoff + dt.timedelta(days=7 * w) for w in (1, 2, 3)]
    return pd.DataFrame(
        {
            "week": [1, 2, 3],
            "start": [e - dt.timedelta(days=6) for e in ends],
            "end": ends,
            "days": [7, 14, 21],
            "predicted": [10.0, 10.0, 12.0],
            "actual": [9, 16, 15],
            "predicted_cumulative": [10.0, 20.0, 32.0],
            "actual_cumulative": [9, 25, 40],
        }
    )


@pytest.mark.parametrize("cumulative", [False, True])
def test_tracking_draws_predicted_and_actual_and_marks_the_cutoff(cumulative: bool) -> None:
    t = _tracking()
    ax = pp.plot_tracking(t, cumulative=cumulative, cutoff=dt.date(2026, 1, 31), lang="ja")
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert set(lines) == {"実績", "予測", "カットオフ（2026-01-31）"}
    key = "_cumulative" if cumulative else ""
    np.testing.assert_array_equal(lines["実績"].get_ydata(), t[f"actual{key}"].to_numpy(float))
    np.testing.assert_array_equal(lines["予測"].get_ydata(), t[f"predicted{key}"].to_numpy(float))
    assert ax.get_ylabel() == ("累積購入回数" if cumulative else "週あたり購入回数")
    assert ax.get_xlabel() == "週の終わり"
    assert _ticks(ax.xaxis) and _ticks(ax.yaxis)
    assert ax.get_ylim()[0] == 0


def test_tracking_in_english_and_bad_input() -> None:
    ax = pp.plot_tracking(_tracking(), cumulative=True, lang="en")
    assert ax.get_title() == "Hold-out purchases, cumulative"
    assert {ln.get_label() for ln in ax.get_lines()} == {"actual", "predicted"}
    with pytest.raises(ColumnsError, match="missing"):
        pp.plot_tracking(_tracking().drop(columns="actual"), lang="en")
    with pytest.raises(ParameterError, match="at least one hold-out week"):
        pp.plot_tracking(_tracking().head(0), lang="en")
    with pytest.raises(ParameterError):
        pp.plot_tracking(_tracking(), lang="fr")


def _matrix() -> pd.DataFrame:
    f, r = np.meshgrid(np.arange(3), np.arange(5), indexing="ij")
    pa = np.where(f.ravel() == 0, 1.0, r.ravel() / 4)
    return pd.DataFrame(
        {"frequency": f.ravel(), "recency": r.ravel(), "T": 4, "probability_alive": pa}
    )


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_alive_matrix_heatmap(lang: str) -> None:
    m = _matrix()
    ax = pp.plot_alive_matrix(m, lang=lang)
    mesh = ax.collections[0]
    grid = m.pivot(index="frequency", columns="recency", values="probability_alive")
    np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(grid.shape), grid.to_numpy())
    assert mesh.get_clim() == (0.0, 1.0)
    assert ax.get_xlabel() == (
        "初回〜最終購入の日数" if lang == "ja" else "days from first to last purchase (recency)"
    )
    assert ax.get_ylabel() == ("リピート購入回数" if lang == "ja" else "repeat purchases")
    assert ("4日" in ax.get_title()) if lang == "ja" else ("4 days" in ax.get_title())
    assert _ticks(ax.xaxis) and _ticks(ax.yaxis)
    assert all(float(t).is_integer() for t in _ticks(ax.yaxis))  # repeat purchases are whole
    bar = ax.figure.axes[1]
    assert _ticks(bar.yaxis) and all(t.endswith("%") for t in _ticks(bar.yaxis))


def test_alive_matrix_bad_input() -> None:
    with pytest.raises(ColumnsError):
        pp.plot_alive_matrix(_matrix().drop(columns="T"), lang="ja")
    with pytest.raises(ParameterError, match="non-empty"):
        pp.plot_alive_matrix(_matrix().head(0), lang="ja")


def test_value_deciles_money_ticks_carry_the_currency() -> None:
    customers = pd.DataFrame(
        {
            "customer_id": list("abcd"),
            "expected_purchases": [4.0, 2.0, 1.0, 1.0],
            "expected_value": [400.0, 200.0, 100.0, 50.0],
            "probability_alive": [0.9, 0.8, 1.0, 0.4],
        }
    )
    deciles = predict.value_deciles(customers, groups=2)
    ax = pp.plot_value_deciles(deciles, lang="en", currency="GBP")
    money = [t for t in (_ticks(ax.yaxis) + _ticks(ax.xaxis)) if any(ch.isdigit() for ch in t)]
    assert money and any("£" in t for t in money)


def test_tracking_scales_a_short_last_week_to_seven_days() -> None:
    """Week 3 is 1 day long (days 14 → 15): 3 actual / 2 predicted purchases are 21 / 14 a week."""
    t = _tracking()
    t.loc[2, ["days", "predicted", "actual"]] = [15, 2.0, 3]
    ax = pp.plot_tracking(t, lang="en")
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    np.testing.assert_allclose(lines["actual"].get_ydata(), [9.0, 16.0, 21.0])
    np.testing.assert_allclose(lines["predicted"].get_ydata(), [10.0, 10.0, 14.0])


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("ja", ["週", "週の始まり", "週の終わり", "カットオフからの日数", "予測", "実績"]),
        ("en", ["week", "week start", "week end", "days since the cut-off", "predicted", "actual"]),
    ],
)
def test_tracking_csv_headers_are_labelled(lang: str, expected: list[str]) -> None:
    from ecrm.present import tables

    cols = tables.csv_frame(_tracking(), name="predicted_value_tracking", lang=lang).columns
    assert cols.tolist()[:6] == expected
    assert all("_" not in c for c in cols)  # no code words
