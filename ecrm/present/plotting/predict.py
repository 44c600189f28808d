"""Plots of the predicted customer value (:mod:`ecrm.models.predict`).

Each function takes a finished table, draws on ``ax`` (or a new axes) and
returns the axes; nothing here fits a model.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ecrm.errors import ColumnsError, ParameterError
from ecrm.models import predict
from ecrm.present import format as numfmt
from ecrm.present import labels, palette
from ecrm.present.plotting.base import PALETTE, new_ax

__all__ = [
    "plot_alive_matrix",
    "plot_calibration",
    "plot_probability_alive",
    "plot_tracking",
    "plot_value_deciles",
]


def _need(table: pd.DataFrame, columns: Sequence[str], maker: str) -> None:
    if not isinstance(table, pd.DataFrame):
        raise ParameterError(f"plot needs a DataFrame from {maker}(), got {type(table).__name__}")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ColumnsError(
            f"plot needs a {maker}() result with columns {list(columns)}; missing {missing}"
        )


def _ja(lang: str, ja: str, en: str) -> str:
    return ja if lang == "ja" else en


def _start(lang: str) -> None:
    labels.check_lang(lang)


def plot_calibration(
    table: pd.DataFrame | predict.Calibration, *, ax: Axes | None = None, lang: str = "ja"
) -> Axes:
    """Predicted against actual hold-out purchases, by repeat purchases before the cutoff.

    The classic calibration check of a buy-till-you-die model: for customers
    grouped by their repeat purchases in the calibration period, the mean
    purchases the model predicted for the hold-out period and the mean they
    actually made. The total figures are given in the title when a
    :class:`~ecrm.models.predict.Calibration` is passed.

    Parameters
    ----------
    table : DataFrame or Calibration
        ``Calibration.by_frequency`` (frequency, customers, predicted, actual),
        or the :func:`ecrm.models.predict.calibration` result itself.
    ax : Axes, optional
        Where to draw (default: a new figure).
    lang : {"ja", "en"}
        Language of titles and labels.

    Returns
    -------
    Axes
    """
    _start(lang)
    title = _ja(lang, "予測と実績（ホールドアウト期間の購入回数）", "Predicted vs actual purchases")
    if isinstance(table, predict.Calibration):
        row = table.summary.set_index("measure").loc["purchases"]
        title += _ja(
            lang,
            f"\n合計 予測 {numfmt.count(row.predicted_total)} / "
            f"実績 {numfmt.count(row.actual_total)}"
            f"（誤差 {numfmt.rate(row.relative_error, signed=True)}）",
            f"\ntotal predicted {numfmt.count(row.predicted_total)} / "
            f"actual {numfmt.count(row.actual_total)}"
            f" ({numfmt.rate(row.relative_error, signed=True)})",
        )
        table = table.by_frequency
    _need(table, ["frequency", "customers", "predicted", "actual"], "calibration")
    ax = new_ax(ax)
    x = np.arange(len(table))
    ax.plot(x, table["actual"], marker="o", color=PALETTE[0], label=labels.label("actual", lang))
    ax.plot(
        x,
        table["predicted"],
        marker="s",
        ls="--",
        color=PALETTE[1],
        label=labels.label("predicted", lang),
    )
    ticks = [f"{f}\n(n={n:,})" for f, n in zip(table["frequency"], table["customers"], strict=True)]
    ax.set_xticks(x, ticks, fontsize=9)
    ax.set_xlabel(
        _ja(lang, "キャリブレーション期間のリピート購入回数", "repeat purchases before the cutoff")
    )
    ax.set_ylabel(_ja(lang, "ホールドアウト期間の平均購入回数", "mean purchases in the hold-out"))
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, loc="upper left")
    ax.grid(alpha=0.3)
    ax.set_title(title)
    return ax


def plot_probability_alive(
    customers: pd.DataFrame, *, bins: int = 20, ax: Axes | None = None, lang: str = "ja"
) -> Axes:
    """Distribution of the probability that each customer is still alive.

    Stacked histogram: repeat customers, and one-time buyers, whom the BG/NBD
    model always gives probability 1 (it assumes nobody drops out before a
    first repeat purchase).

    Parameters
    ----------
    customers : DataFrame
        ``Prediction.customers`` (frequency, probability_alive).
    bins : int, default 20
        Number of equal-width bins over [0, 1].
    ax : Axes, optional
        Where to draw (default: a new figure).
    lang : {"ja", "en"}
        Language of titles and labels.

    Returns
    -------
    Axes
    """
    _start(lang)
    _need(customers, ["frequency", "probability_alive"], "predict_value")
    if int(bins) < 1:
        raise ParameterError(f"bins must be at least 1, got {bins}")
    ax = new_ax(ax)
    repeat = customers["frequency"] > 0
    pa = customers["probability_alive"].astype("float64")
    ax.hist(
        [pa[repeat], pa[~repeat]],
        bins=np.linspace(0.0, 1.0, int(bins) + 1),
        stacked=True,
        color=[PALETTE[0], PALETTE[9]],
        label=[
            _ja(
                lang, f"リピート顧客（{int(repeat.sum()):,}人）", f"repeat ({int(repeat.sum()):,})"
            ),
            _ja(
                lang,
                f"1回購入のみ（{int((~repeat).sum()):,}人、モデル上は常に1）",
                f"one purchase ({int((~repeat).sum()):,}; always 1 in BG/NBD)",
            ),
        ],
    )
    ax.xaxis.set_major_formatter(numfmt.tick_formatter("rate"))
    ax.yaxis.set_major_formatter(numfmt.tick_formatter("count"))
    ax.set_xlabel(labels.label("probability_alive", lang))
    ax.set_ylabel(labels.label("customers", lang))
    ax.legend(frameon=False, loc="upper left", fontsize=9)
    ax.grid(alpha=0.3, axis="y")
    ax.set_title(_ja(lang, "生存確率の分布", "Probability alive"))
    return ax


def plot_value_deciles(
    table: pd.DataFrame, *, ax: Axes | None = None, lang: str = "ja", currency: str = "JPY"
) -> Axes:
    """Expected value of each value decile, with its share of the total written on the bar.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`ecrm.models.predict.value_deciles`.
    currency : str
        The shop's currency (the value axis).
    ax : Axes, optional
        Where to draw (default: a new figure).
    lang : {"ja", "en"}
        Language of titles and labels.

    Returns
    -------
    Axes
    """
    _start(lang)
    _need(
        table,
        ["value_decile", "customers", "expected_value", "expected_value_share"],
        "value_deciles",
    )
    ax = new_ax(ax)
    x = table["value_decile"].astype(int).to_numpy()
    vals = table["expected_value"].astype("float64").to_numpy()
    ax.bar(x, vals, color=PALETTE[0])
    for xi, v, share in zip(x, vals, table["expected_value_share"], strict=True):
        if np.isfinite(share):
            ax.text(xi, v, numfmt.rate(share, decimals=0), ha="center", va="bottom", fontsize=9)
    ax.set_xticks(x)
    ax.set_xlabel(labels.label("value_decile", lang))
    ax.set_ylabel(
        labels.label("expected_value", lang) + _ja(lang, f"（{currency}）", f" ({currency})")
    )
    ax.yaxis.set_major_formatter(numfmt.tick_formatter("money", currency=currency))
    ax.grid(alpha=0.3, axis="y")
    ax.set_title(_ja(lang, "予測顧客価値のデシル別合計", "Expected value by decile"))
    return ax


def plot_tracking(
    tracking: pd.DataFrame,
    *,
    cumulative: bool = False,
    cutoff: object = None,
    ax: Axes | None = None,
    lang: str = "ja",
) -> Axes:
    """Week by week predicted against actual purchases over the hold-out.

    Parameters
    ----------
    tracking : DataFrame
        ``Calibration.tracking`` (:func:`ecrm.models.clv.tracking_table`): end,
        days, predicted, actual, predicted_cumulative, actual_cumulative.
    cumulative : bool, default False
        Draw the running totals instead of each week's purchases. The weekly
        lines are per 7 days: a last week cut short by as_of (e.g. 1 day of a
        365-day hold-out) is scaled to 7 days rather than drawn as a drop.
    cutoff : date, optional
        The calibration cut-off, marked by a vertical line at the left edge
        (the hold-out starts the day after).
    ax : Axes, optional
        Where to draw (default: a new figure).
    lang : {"ja", "en"}
        Language of titles and labels.

    Returns
    -------
    Axes
    """
    _start(lang)
    cols = ["end", "days", "predicted", "actual", "predicted_cumulative", "actual_cumulative"]
    _need(tracking, cols, "tracking_table")
    if tracking.empty:
        raise ParameterError("plot_tracking needs at least one hold-out week")
    ax = new_ax(ax)
    x = pd.to_datetime(tracking["end"])
    pred = tracking["predicted_cumulative" if cumulative else "predicted"].to_numpy(float)
    act = tracking["actual_cumulative" if cumulative else "actual"].to_numpy(float)
    if not cumulative:  # a last week shorter than 7 days is drawn at its weekly rate
        length = np.diff(tracking["days"].to_numpy(float), prepend=0.0)
        pred, act = pred * 7 / length, act * 7 / length
    ax.plot(x, act, color=PALETTE[0], lw=2, label=labels.label("actual", lang))
    ax.plot(x, pred, color=PALETTE[1], lw=2, ls="--", label=labels.label("predicted", lang))
    if cutoff is not None:
        ax.axvline(
            pd.Timestamp(cutoff),
            color="#555555",
            lw=1,
            ls=":",
            label=_ja(lang, f"カットオフ（{cutoff}）", f"cut-off ({cutoff})"),
        )
    ax.yaxis.set_major_formatter(numfmt.tick_formatter("count"))
    ax.set_ylim(bottom=0)
    ax.set_xlabel(_ja(lang, "週の終わり", "week ending"))
    ax.set_ylabel(
        _ja(lang, "累積購入回数", "cumulative purchases")
        if cumulative
        else _ja(lang, "週あたり購入回数", "purchases per week")
    )
    ax.legend(frameon=False, loc="upper left" if cumulative else "lower left", fontsize=9)
    ax.grid(alpha=0.3)
    ax.set_title(
        _ja(lang, "ホールドアウト期間の購入回数（累積）", "Hold-out purchases, cumulative")
        if cumulative
        else _ja(lang, "ホールドアウト期間の週別購入回数", "Hold-out purchases by week")
    )
    return ax


def plot_alive_matrix(matrix: pd.DataFrame, *, ax: Axes | None = None, lang: str = "ja") -> Axes:
    """P(alive) by repeat purchases × recency as a heatmap.

    Parameters
    ----------
    matrix : DataFrame
        :func:`ecrm.models.clv.probability_alive_matrix` (frequency, recency,
        T, probability_alive), in days (time unit ``"D"``).
    ax : Axes, optional
        Where to draw (default: a new figure).
    lang : {"ja", "en"}
        Language of titles and labels.

    Returns
    -------
    Axes
    """
    from matplotlib.colors import LinearSegmentedColormap
    from matplotlib.ticker import MaxNLocator

    _start(lang)
    _need(matrix, ["frequency", "recency", "T", "probability_alive"], "probability_alive_matrix")
    if matrix.empty:
        raise ParameterError("plot_alive_matrix needs a non-empty matrix")
    grid = matrix.pivot(index="frequency", columns="recency", values="probability_alive")
    cmap = LinearSegmentedColormap.from_list(
        "alive", ["#ffffff", palette.lighten(palette.REPEAT, 0.4), palette.REPEAT]
    )
    ax = new_ax(ax)
    r = grid.columns.to_numpy(float)
    f = grid.index.to_numpy(float)
    mesh = ax.pcolormesh(
        np.r_[r, r[-1] + 1] - 0.5,
        np.r_[f, f[-1] + 1] - 0.5,
        grid.to_numpy(float),
        cmap=cmap,
        vmin=0.0,
        vmax=1.0,
        shading="flat",
    )
    bar = ax.figure.colorbar(mesh, ax=ax)
    bar.ax.yaxis.set_major_formatter(numfmt.tick_formatter("rate"))
    bar.set_label(labels.label("probability_alive", lang))
    ax.xaxis.set_major_formatter(numfmt.tick_formatter("count"))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(_ja(lang, "初回〜最終購入の日数", "days from first to last purchase (recency)"))
    ax.set_ylabel(_ja(lang, "リピート購入回数", "repeat purchases"))
    T = int(matrix["T"].iloc[0])
    ax.set_title(
        _ja(
            lang,
            f"生存確率マトリクス（初回購入から{T:,}日の顧客）",
            f"Probability alive (customers {T:,} days after their first purchase)",
        )
    )
    return ax
