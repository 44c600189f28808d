"""Plots of customer clusters (:mod:`ecrm.analysis.cluster`).

Each function takes a finished table of :class:`ecrm.analysis.cluster.ClusterResult`,
draws on ``ax`` (or a new axes) and returns the axes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from ecrm.present import format as numfmt
from ecrm.present import palette
from ecrm.present.labels import check_lang, label
from ecrm.present.plotting.base import PALETTE, new_ax

__all__ = [
    "cluster_names",
    "feature_name",
    "plot_cluster_projection",
    "plot_cluster_sizes",
    "plot_silhouette",
    "plot_snake",
]


def _colour(cluster: int) -> str:
    return palette.colour("cluster", cluster)


def feature_name(feature: str, lang: str = "ja") -> str:
    """Display name of a model feature (``cat_<category>`` → the category's share)."""
    if feature.startswith("cat_"):
        name = feature[len("cat_") :]
        if name == "other":
            return "その他カテゴリ比率" if lang == "ja" else "other categories share"
        return f"{name}比率" if lang == "ja" else f"{name} share"
    return label(feature, lang)


def cluster_names(table: pd.DataFrame, lang: str = "ja") -> dict[int, str]:
    """``{cluster: "1: label"}`` from a table with cluster, label_ja and label_en."""
    col = "label_ja" if check_lang(lang) == "ja" else "label_en"
    pairs = table[["cluster", col]].drop_duplicates("cluster")
    return {int(c): f"{int(c)}: {v}" for c, v in zip(pairs["cluster"], pairs[col], strict=True)}


def plot_cluster_projection(
    projection: pd.DataFrame,
    *,
    profile: pd.DataFrame | None = None,
    ax: Axes | None = None,
    lang: str = "ja",
    point_size: float = 6,
) -> Axes:
    """Scatter of the customers on two principal components, coloured by cluster.

    Parameters
    ----------
    projection : DataFrame
        ``ClusterResult.projection``: cluster, pc1, pc2 (already a sample).
    profile : DataFrame, optional
        ``ClusterResult.profile``, for the legend's labels.
    """
    check_lang(lang)
    ax = new_ax(ax, figsize=(7, 5.5))
    names = cluster_names(profile, lang) if profile is not None else {}
    for c in sorted(projection["cluster"].unique()):
        part = projection[projection["cluster"] == c]
        ax.scatter(
            part["pc1"],
            part["pc2"],
            s=point_size,
            alpha=0.5,
            color=_colour(c),
            label=names.get(int(c), str(c)),
            linewidths=0,
        )
    ax.set_xlabel(label("pc1", lang))
    ax.set_ylabel(label("pc2", lang))
    ax.legend(fontsize=8, markerscale=2, loc="best")
    ax.set_title(
        "クラスタの2次元表示（主成分）" if lang == "ja" else "Clusters on two principal components"
    )
    return ax


def plot_snake(snake: pd.DataFrame, *, ax: Axes | None = None, lang: str = "ja") -> Axes:
    """Snake plot: each cluster's standardised feature means, one line per cluster.

    Parameters
    ----------
    snake : DataFrame
        ``ClusterResult.snake``: cluster, label_ja, label_en, feature, z.
    """
    check_lang(lang)
    features = list(dict.fromkeys(snake["feature"]))
    ax = new_ax(ax, figsize=(min(8.5, max(7.0, 0.8 * len(features) + 2)), 4.8))
    names = cluster_names(snake, lang)
    x = np.arange(len(features))
    for c in sorted(snake["cluster"].unique()):
        part = snake[snake["cluster"] == c].set_index("feature").reindex(features)
        ax.plot(x, part["z"], marker="o", color=_colour(c), label=names[int(c)])
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xticks(x, [feature_name(f, lang) for f in features], rotation=45, ha="right")
    ax.set_ylabel(label("z", lang))
    ax.legend(fontsize=9, loc="best")
    ax.set_title(
        "クラスタ別の特徴（スネークプロット）" if lang == "ja" else "Cluster profiles (snake plot)"
    )
    return ax


def plot_cluster_sizes(profile: pd.DataFrame, *, ax: Axes | None = None, lang: str = "ja") -> Axes:
    """Bars of each cluster's customer share and revenue share.

    Parameters
    ----------
    profile : DataFrame
        ``ClusterResult.profile``: cluster, label_ja, label_en, share, revenue_share.
    """
    check_lang(lang)
    ax = new_ax(ax, figsize=(8, 0.6 * len(profile) + 1.5))
    names = cluster_names(profile, lang)
    y = np.arange(len(profile))
    h = 0.4
    ax.barh(y - h / 2, profile["share"], height=h, color=PALETTE[0], label=label("share", lang))
    ax.barh(
        y + h / 2,
        profile["revenue_share"],
        height=h,
        color=PALETTE[1],
        label=label("revenue_share", lang),
    )
    ax.set_yticks(y, [names[int(c)] for c in profile["cluster"]])
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(numfmt.tick_formatter("rate"))
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(
        "クラスタの顧客構成比と売上構成比" if lang == "ja" else "Customers and revenue by cluster"
    )
    return ax


def plot_silhouette(silhouette: pd.DataFrame, *, ax: Axes | None = None, lang: str = "ja") -> Axes:
    """Silhouette score per k, the chosen k highlighted.

    Parameters
    ----------
    silhouette : DataFrame
        ``ClusterResult.silhouette``: k, silhouette, chosen.
    """
    check_lang(lang)
    ax = new_ax(ax, figsize=(6, 3.5))
    colours = [PALETTE[1] if c else PALETTE[9] for c in silhouette["chosen"]]
    ax.bar(silhouette["k"].astype(str), silhouette["silhouette"], color=colours)
    ax.set_xlabel(label("k", lang))
    ax.set_ylabel(label("silhouette", lang))
    ax.set_title("クラスタ数の選択" if lang == "ja" else "Choosing the number of clusters")
    return ax
