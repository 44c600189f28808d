"""Customer clustering (SPEC §3): k-means on standardised RFM-style features.

Features are computed in the engine from the canonical orders (one row per
customer with a purchase by ``as_of``; guests left out); the model is
scikit-learn's ``Pipeline(StandardScaler(), KMeans(...))`` with a fixed
``random_state``, k chosen by silhouette score on a sample unless given.
Clusters are numbered 1…k by descending mean monetary, and each gets a
readable label (Japanese and English) derived by rules from its standardised
feature means, so that the same data and settings always give the same
clusters, numbers and labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from ecrm import engine
from ecrm.engine.run import RunTables
from ecrm.errors import ParameterError
from ecrm.settings import ClusterSettings, ShopSettings, check_lang, section

__all__ = [
    "BASE_FEATURES",
    "DEFAULT_N_INIT",
    "DEFAULT_PROJECTION_SAMPLE",
    "DEFAULT_TOP_CATEGORIES",
    "OTHER_CATEGORY",
    "PROFILE_MEASURES",
    "ClusterResult",
    "cluster_customers",
    "customer_features",
]

#: Model features every customer has (category shares are added where available).
BASE_FEATURES: tuple[str, ...] = (
    "log_recency",
    "log_frequency",
    "log_monetary",
    "tenure_days",
    "aov",
    "purchase_interval",
)
#: Readable per-customer measures summarised (mean, median) in the profile.
PROFILE_MEASURES: tuple[str, ...] = (
    "recency_days",
    "frequency",
    "monetary",
    "tenure_days",
    "aov",
    "purchase_interval",
)
#: Category mix columns: the shop's top categories by net revenue, the rest pooled.
DEFAULT_TOP_CATEGORIES = 5
#: Column suffix of the pooled remaining categories (``cat_other``).
OTHER_CATEGORY = "other"
#: k-means restarts (best inertia kept); the seed is ClusterSettings.random_state.
DEFAULT_N_INIT = 4
#: Customers drawn (with the fixed seed) for the 2-D projection plot.
DEFAULT_PROJECTION_SAMPLE = 5_000

# Label rules: thresholds on standardised cluster means (z) and on raw means.
_Z_HIGH = 0.75
_Z_LOW = -0.75
_ONE_TIME_SHARE = 0.5  # share of one-purchase customers that makes a cluster "one-time"
_CATEGORY_FOCUS = 0.25  # cluster mean share above the shop's mean share by this much
_MIN_CONTRAST = 1e-6  # twins closer than this on every feature get numbers instead


# (feature, sign) -> (English, Japanese) of the tags that tell colliding labels apart
_CONTRAST: dict[tuple[str, int], tuple[str, str]] = {
    ("log_recency", 1): ("less recent", "やや離脱"),
    ("log_recency", -1): ("more recent", "より最近"),
    ("log_frequency", 1): ("more frequent", "高頻度"),
    ("log_frequency", -1): ("less frequent", "低頻度"),
    ("log_monetary", 1): ("higher spend", "高額寄り"),
    ("log_monetary", -1): ("lower spend", "低額寄り"),
    ("tenure_days", 1): ("long-standing", "長期"),
    ("tenure_days", -1): ("short tenure", "短期"),
    ("aov", 1): ("high AOV", "高単価"),
    ("aov", -1): ("low AOV", "低単価"),
    ("purchase_interval", 1): ("slow cycle", "長周期"),
    ("purchase_interval", -1): ("fast cycle", "短周期"),
}


# --------------------------------------------------------------------------- features


def _wide(b: RunTables, level: str) -> ir.Table | None:
    """The wide revenue table of category and brand (:meth:`RunTables.customer_wide`).

    One row per customer with the revenue of each value of category and of
    brand (those of the two with values and at most
    :data:`ecrm.engine.run.WIDE_MAX_VALUES` values each) and of the lines
    without one: one grouping of the lines by customer serves the category
    shares, the top categories and the clusters' top values. None when
    ``level`` has more values (then (customer, value) rows are grouped).
    """
    if not b.small([level]):
        return None
    levels = [lv for lv in ("category", "brand") if b.has_values(lv)]
    return b.customer_wide(b.small(levels))


def _top_categories(b: RunTables, n: int) -> list[str]:
    w = _wide(b, "category")
    if w is not None:
        names = b.names("category")
        w = w.semi_join(b.customers, "customer_id")
        sums = w.aggregate(**{f"_{i}": w[f"_r_category_{i}"].sum() for i in range(len(names))})
        row = sums.to_pyarrow().to_pylist()[0]
        revenue = [(row[f"_{i}"], v) for i, v in enumerate(names) if (row[f"_{i}"] or 0) > 0]
        return [v for _, v in sorted(revenue, key=lambda r: (-r[0], r[1]))[:n]]
    g = b.customer_values("category")
    g = g.filter(g.value.notnull()).inner_join(b.customers.select("customer_id"), "customer_id")
    top = g.group_by("value").agg(revenue=g.revenue.sum())
    top = top.filter(top.revenue > 0).order_by([ibis.desc("revenue"), "value"]).limit(n)
    return [str(v) for v in top.value.to_pyarrow().to_pylist()]


def customer_features(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    top_categories: int = DEFAULT_TOP_CATEGORIES,
) -> pd.DataFrame:
    """Per-customer clustering features at ``as_of``, computed in the engine.

    Definitions (measures of SPEC §2; natural logarithms):

    - ``log_recency`` = ln(1 + recency_days);
    - ``log_frequency`` = ln(1 + frequency);
    - ``log_monetary`` = ln(1 + max(monetary, 0)): a customer whose returns
      cancel their purchases (monetary ≤ 0) gets 0, like a zero spender;
    - ``tenure_days`` = last_purchase − first_purchase;
    - ``aov`` = monetary / frequency;
    - ``purchase_interval``: mean days between purchases, tenure_days /
      (frequency − 1); for one-purchase customers, recency_days — the days
      they have gone without a second purchase so far (a lower bound of their
      interval, so a one-timer of long ago looks like a slow buyer);
    - ``cat_<category>``: where the orders have category values, the
      customer's revenue share of each of the shop's ``top_categories``
      categories by net revenue (ties by name), and ``cat_other`` for the rest
      (lines without a category included). Shares use each category's net
      revenue clipped at 0 and add up to 1 (0 everywhere for a customer
      without positive revenue).

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders (SPEC §1): order_id, customer_id, ordered_at, amount;
        category optional.
    as_of : date or str
        Last day of the analysis, inclusive; later orders are ignored.
    top_categories : int, default 5
        Categories given their own share column.

    Returns
    -------
    DataFrame
        One row per customer (a purchase by as_of), sorted by customer_id:
        customer_id, recency_days, frequency, monetary, tenure_days, aov,
        purchase_interval, log_recency, log_frequency, log_monetary, then the
        ``cat_*`` columns (most revenue first, ``cat_other`` last) when
        available. Money as float64.

    Raises
    ------
    ParameterError
        top_categories < 1.
    ColumnsError
        A required column is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({"order_id": ["1", "2"], "customer_id": ["a", "a"],
    ...     "ordered_at": pd.to_datetime(["2026-01-01", "2026-03-02"]),
    ...     "amount": [1000, 3000]})
    >>> f = customer_features(orders, as_of="2026-03-31")
    >>> f[["frequency", "tenure_days", "aov", "purchase_interval"]].to_dict("records")
    [{'frequency': 2, 'tenure_days': 60, 'aov': 2000.0, 'purchase_interval': 60.0}]
    """
    if int(top_categories) < 1:
        raise ParameterError(f"top_categories must be at least 1, got {top_categories}")
    with RunTables(orders, as_of) as b:
        return _features(b, int(top_categories))


def _features(b: RunTables, top_categories: int) -> pd.DataFrame:
    m = b.customers
    m = m.select(
        "customer_id",
        "recency_days",
        "frequency",
        "monetary",
        "tenure_days",
        aov=(m.monetary / m.frequency).cast(engine.AMOUNT),
    )
    interval = ibis.ifelse(
        m.frequency > 1,
        m.tenure_days.cast("float64") / (m.frequency - 1).cast("float64"),
        m.recency_days.cast("float64"),
    )
    mon = m.monetary.cast("float64")
    m = m.mutate(
        purchase_interval=interval,
        log_recency=(m.recency_days.cast("float64") + 1).ln(),
        log_frequency=(m.frequency.cast("float64") + 1).ln(),
        log_monetary=(ibis.greatest(mon, 0.0) + 1).ln(),
    )
    cat_cols: list[str] = []
    if b.has_values("category"):
        top = _top_categories(b, top_categories)
        names = [*top, OTHER_CATEGORY]
        cat_cols = [f"cat_{c}" for c in names]
        w = _wide(b, "category")
        if w is not None:  # the buckets' net revenues from the wide row, exact
            code = {v: i for i, v in enumerate(b.names("category"))}
            zero = ibis.literal(0, type=engine.AMOUNT)
            rev = {v: w[f"_r_category_{i}"].fill_null(zero) for v, i in code.items()}
            other = sum(
                (r for v, r in rev.items() if v not in top), w["_r_category_x"].fill_null(0)
            )
            pos = [ibis.greatest(rev[c], zero) for c in top] + [ibis.greatest(other, zero)]
            mix = w.select(
                "customer_id",
                _tot=sum(pos[1:], pos[0]).cast("float64"),
                **{c: p.cast("float64") for c, p in zip(cat_cols, pos, strict=True)},
            )
        else:
            g = b.customer_values("category")
            bucket = ibis.cases(*[(g.value == c, c) for c in top], else_=OTHER_CATEGORY)
            g = g.mutate(_b=bucket)
            g = g.group_by(["customer_id", "_b"]).agg(_rev=g.revenue.sum())
            g = g.mutate(_pos=ibis.ifelse(g._rev > 0, g._rev, 0).cast("float64"))
            mix = g.group_by("customer_id").agg(
                _tot=g._pos.sum(),
                **{
                    col: g._pos.sum(where=g._b == c) for col, c in zip(cat_cols, names, strict=True)
                },
            )
        shares = {
            c: ibis.ifelse(mix._tot > 0, mix[c].fill_null(0) / mix._tot, 0.0) for c in cat_cols
        }
        mix = mix.select("customer_id", **shares)
        m = m.left_join(mix, "customer_id").drop("customer_id_right")
        m = m.mutate(**{c: m[c].fill_null(0.0) for c in cat_cols})
    cols = [*PROFILE_MEASURES, "log_recency", "log_frequency", "log_monetary"]
    df = engine.to_pandas(m.select("customer_id", *cols, *cat_cols).order_by("customer_id"))
    return df.reset_index(drop=True)


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class ClusterResult:
    """What :func:`cluster_customers` found.

    Attributes
    ----------
    k : int
        The number of clusters (given, or chosen by silhouette score).
    assignments : DataFrame
        customer_id, cluster (1…k), label (in the requested language) — sorted
        by customer_id.
    profile : DataFrame
        One row per cluster: cluster, label_ja, label_en, size, share,
        revenue (sum of monetary), revenue_share, ``<m>_mean`` and
        ``<m>_median`` for each of :data:`PROFILE_MEASURES` and each
        ``cat_*`` share, top_category and top_brand (largest net revenue of
        the cluster's customers; missing without the column).
    silhouette : DataFrame
        k, silhouette (mean silhouette score on the sample), chosen (bool).
    snake : DataFrame
        cluster, label_ja, label_en, feature, z: each model feature's mean in
        standard units (the snake plot).
    projection : DataFrame
        customer_id, cluster, pc1, pc2: a fixed-seed sample of customers on the
        first two principal components of the standardised features.
    features : DataFrame
        :func:`customer_features` with the cluster column added.
    feature_columns : tuple of str
        The model's features, in order.
    pipeline : sklearn Pipeline
        The fitted StandardScaler + KMeans (its labels are internal; use
        ``cluster_map`` to turn them into cluster numbers).
    cluster_map : dict
        KMeans label → cluster number.
    explained_variance : tuple of float
        Variance ratio of the two projection components.
    """

    k: int
    assignments: pd.DataFrame
    profile: pd.DataFrame
    silhouette: pd.DataFrame
    snake: pd.DataFrame
    projection: pd.DataFrame
    features: pd.DataFrame = field(repr=False)
    feature_columns: tuple[str, ...]
    pipeline: Pipeline = field(repr=False)
    cluster_map: dict[int, int]
    explained_variance: tuple[float, float]


def _pipeline(k: int, s: ClusterSettings, n_init: int) -> Pipeline:
    return make_pipeline(
        StandardScaler(), KMeans(n_clusters=k, random_state=s.random_state, n_init=n_init)
    )


def _fit_all(
    x: np.ndarray, sample_fit: Pipeline | None, k: int, s: ClusterSettings, n_init: int
) -> Pipeline:
    """Fit on every customer, starting k-means from the sample fit's centres.

    The sample fit already holds the best of ``n_init`` restarts; moving its
    centres into the full data's standard units and running Lloyd's algorithm
    once from there gives the full-data solution in a few iterations.
    """
    if sample_fit is None or len(x) <= s.silhouette_sample:
        return _pipeline(k, s, n_init).fit(x)
    centres = sample_fit[0].inverse_transform(sample_fit[-1].cluster_centers_)
    scaler = StandardScaler().fit(x)
    init = scaler.transform(centres)
    return make_pipeline(
        StandardScaler(), KMeans(n_clusters=k, init=init, n_init=1, random_state=s.random_state)
    ).fit(x)


def _sample(n: int, size: int, seed: int) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def _silhouette_scores(
    z: np.ndarray, labelings: list[np.ndarray], chunk: int = 1024
) -> list[float]:
    """Mean silhouette (Euclidean) of several labelings of the same points.

    The same definition as :func:`sklearn.metrics.silhouette_score` (a point
    alone in its cluster scores 0), but the pairwise distances are computed
    once, chunk by chunk, for all labelings: choosing k costs one distance pass.
    """
    n = len(z)
    z = np.asarray(z, dtype=np.float32)  # float32 distances: ~1e-6 relative error
    sq = np.einsum("ij,ij->i", z, z)
    onehots = []
    for lab in labelings:
        codes, inv = np.unique(lab, return_inverse=True)
        oh = np.zeros((n, len(codes)), dtype=np.float32)
        oh[np.arange(n), inv] = 1.0
        onehots.append((inv, oh, oh.sum(axis=0, dtype=np.float64)))
    totals = [0.0] * len(labelings)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        d2 = z[start:stop] @ z.T
        d2 *= -2.0
        d2 += sq[start:stop, None]
        d2 += sq[None, :]
        np.maximum(d2, 0.0, out=d2)
        d = np.sqrt(d2, out=d2)
        d[np.arange(stop - start), np.arange(start, stop)] = 0.0
        for i, (inv, oh, sizes) in enumerate(onehots):
            sums = (d @ oh).astype(np.float64)  # distance sums to each cluster
            own = inv[start:stop]
            rows = np.arange(stop - start)
            own_size = sizes[own]
            a = sums[rows, own] / np.maximum(own_size - 1, 1)
            mean_other = sums / sizes[None, :]
            mean_other[rows, own] = np.inf
            b = mean_other.min(axis=1)
            s = (b - a) / np.maximum(np.maximum(a, b), np.finfo(float).tiny)
            s[own_size <= 1] = 0.0
            totals[i] += float(s.sum())
    return [tot / n for tot in totals]


def _fit_sample(
    x: np.ndarray, ks: list[int], s: ClusterSettings, n_init: int
) -> tuple[pd.DataFrame, dict[int, Pipeline]]:
    """Fit each k on a fixed-seed sample; score the sample's silhouettes."""
    idx = _sample(len(x), s.silhouette_sample, s.random_state)
    xs = x[idx]
    ks = [k for k in ks if k < len(xs)]
    fits = {k: _pipeline(k, s, n_init).fit(xs) for k in ks}
    z = next(iter(fits.values()))[0].transform(xs) if fits else xs
    labelings = [fits[k][-1].labels_ for k in ks]
    scores = _silhouette_scores(z, labelings) if ks else []
    for i, lab in enumerate(labelings):
        if len(np.unique(lab)) < 2:
            scores[i] = float("nan")
    sil = pd.DataFrame({"k": ks, "silhouette": scores}, columns=["k", "silhouette"])
    return sil, fits


def cluster_customers(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    k: int | None = None,
    top_categories: int = DEFAULT_TOP_CATEGORIES,
    n_init: int = DEFAULT_N_INIT,
    projection_sample: int = DEFAULT_PROJECTION_SAMPLE,
    lang: str = "ja",
    settings: ShopSettings | ClusterSettings | None = None,
) -> ClusterResult:
    """Cluster customers with k-means on standardised features.

    The features of :func:`customer_features` (log recency, log frequency, log
    monetary, tenure, AOV, purchase interval and, where the orders have
    categories, the category mix) go through
    ``Pipeline(StandardScaler(), KMeans(n_clusters=k, random_state, n_init))``.

    Choosing k (when neither ``k`` nor ``ClusterSettings.k`` is set): for each k
    of ``ClusterSettings.k_range`` (both ends included) the pipeline is fitted
    on a sample of at most ``silhouette_sample`` customers (default 10,000,
    drawn with ``random_state``) and scored by the sample's mean silhouette (in
    standard units); the best k wins (ties: the smaller k). The silhouette's
    cost grows with the square of the sample: 10,000 customers give the mean
    silhouette to about ±0.002, and on the demo shops the same k as 20,000
    in a quarter of the time. The final model is fitted on
    every customer, starting from the chosen sample fit's centres (so the
    restarts run on the sample only). With k given, the silhouette of that k
    is still reported.

    Cluster numbers: 1…k by descending mean monetary (ties by larger size,
    then the internal label). Labels come from rules on the cluster's
    standardised feature means (z): purchase pattern ("one-time" when the mean
    majority bought once, else "loyal" if z(log frequency) ≥ 0.75, else
    "repeat"), value ("high-value" if z(log monetary) ≥ 0.75, "low spend" if
    ≤ −0.75, else "mid spend"), recency ("lapsed" if z(log recency) ≥ 0.75,
    "recent" if ≤ −0.75) and a category focus where a category's mean share
    exceeds the shop's by 0.25. Clusters that would share a label get the tag
    of the feature that sets them furthest apart (e.g. "high AOV / 高単価"),
    then a number if still equal.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders (SPEC §1); category optional.
    as_of : date or str
        Last day of the analysis, inclusive; later orders are ignored.
    k : int, optional
        Number of clusters; default ``ClusterSettings.k``, else chosen.
    top_categories : int, default 5
        See :func:`customer_features`.
    n_init : int, default 4
        k-means restarts.
    projection_sample : int, default 5,000
        Customers in the projection table.
    lang : {"ja", "en"}, default "ja"
        Language of ``assignments.label``.
    settings : ShopSettings or ClusterSettings, optional
        k, k_range, silhouette_sample, random_state.

    Returns
    -------
    ClusterResult
        assignments, profile, silhouette, snake, projection, features, k...

    Raises
    ------
    ParameterError
        k < 2, more clusters than customers, or fewer than 3 customers.
    ColumnsError
        A required column is missing.
    """
    lang = check_lang(lang)
    s = section(settings, ClusterSettings)
    if n_init < 1:
        raise ParameterError(f"n_init must be at least 1, got {n_init}")
    if int(top_categories) < 1:
        raise ParameterError(f"top_categories must be at least 1, got {top_categories}")
    with RunTables(orders, as_of) as b:
        feats = _features(b, int(top_categories))
        result = _cluster(b, feats, k, s, n_init, int(projection_sample), lang)
    return result


def _cluster(
    b: RunTables,
    feats: pd.DataFrame,
    k: int | None,
    s: ClusterSettings,
    n_init: int,
    projection_sample: int,
    lang: str,
) -> ClusterResult:
    as_of_d = b.as_of
    n = len(feats)
    if n < 3:
        raise ParameterError(f"clustering needs at least 3 customers by {as_of_d}, found {n}")
    cat_cols = [c for c in feats.columns if c.startswith("cat_")]
    fcols = (*BASE_FEATURES, *cat_cols)
    x = feats[list(fcols)].to_numpy(dtype="float64")

    fixed = k if k is not None else s.k
    if fixed is not None:
        if int(fixed) < 2 or int(fixed) >= n:
            raise ParameterError(f"k must be between 2 and {n - 1} (customers − 1), got {fixed}")
        sil, fits = _fit_sample(x, [int(fixed)], s, n_init)
        chosen = int(fixed)
    else:
        lo, hi = s.k_range
        sil, fits = _fit_sample(x, list(range(lo, hi + 1)), s, n_init)
        if sil.empty or sil["silhouette"].isna().all():
            raise ParameterError(f"too few customers ({n}) to choose k in {s.k_range}")
        best = sil.sort_values(["silhouette", "k"], ascending=[False, True]).iloc[0]
        chosen = int(best["k"])
    sil["chosen"] = sil["k"] == chosen

    pipe = _fit_all(x, fits.get(chosen), chosen, s, n_init)
    raw = pipe[-1].labels_
    z = pipe[0].transform(x)

    # deterministic numbering: mean monetary desc, size desc, internal label
    stats = pd.DataFrame({"_raw": raw, "monetary": feats["monetary"].to_numpy()})
    order = stats.groupby("_raw").agg(m=("monetary", "mean"), n=("monetary", "size"))
    order = order.reset_index().sort_values(["m", "n", "_raw"], ascending=[False, False, True])
    cmap = {int(r): i + 1 for i, r in enumerate(order["_raw"])}
    cl = pd.Series(raw).map(cmap).to_numpy()

    zdf = pd.DataFrame(z, columns=list(fcols))
    zdf["cluster"] = cl
    zmeans = zdf.groupby("cluster")[list(fcols)].mean().sort_index()
    feats = feats.assign(cluster=cl)
    label_ja, label_en = _labels(feats, zmeans, cat_cols)

    profile = _profile(b, feats, cat_cols, label_ja, label_en)
    assignments = feats[["customer_id", "cluster"]].copy()
    assignments["label"] = assignments["cluster"].map(label_ja if lang == "ja" else label_en)

    snake = zmeans.reset_index().melt(id_vars="cluster", var_name="feature", value_name="z")
    snake["_f"] = snake["feature"].map({f: i for i, f in enumerate(fcols)})
    snake = snake.sort_values(["cluster", "_f"]).drop(columns="_f")
    snake.insert(1, "label_ja", snake["cluster"].map(label_ja))
    snake.insert(2, "label_en", snake["cluster"].map(label_en))

    # 2-D projection: PCA fitted on the silhouette sample, shown on a plot sample
    fit_idx = _sample(n, s.silhouette_sample, s.random_state)
    pca = PCA(n_components=2, random_state=s.random_state).fit(z[fit_idx])
    show = _sample(n, projection_sample, s.random_state + 1)
    pcs = pca.transform(z[show])
    projection = pd.DataFrame(
        {
            "customer_id": feats["customer_id"].to_numpy()[show],
            "cluster": cl[show],
            "pc1": pcs[:, 0],
            "pc2": pcs[:, 1],
        }
    )
    ev = pca.explained_variance_ratio_
    return ClusterResult(
        k=chosen,
        assignments=assignments.reset_index(drop=True),
        profile=profile,
        silhouette=sil.reset_index(drop=True),
        snake=snake.reset_index(drop=True),
        projection=projection,
        features=feats,
        feature_columns=tuple(fcols),
        pipeline=pipe,
        cluster_map=cmap,
        explained_variance=(float(ev[0]), float(ev[1])),
    )


# --------------------------------------------------------------------------- labels


def _labels(
    feats: pd.DataFrame, zmeans: pd.DataFrame, cat_cols: list[str]
) -> tuple[dict[int, str], dict[int, str]]:
    """Rule-based Japanese and English labels per cluster, made unique."""
    one_time = (feats["frequency"] == 1).groupby(feats["cluster"]).mean()
    cat_named = [c for c in cat_cols if c != f"cat_{OTHER_CATEGORY}"]
    shop_share = feats[cat_named].mean() if cat_named else pd.Series(dtype=float)
    cat_share = feats.groupby("cluster")[cat_named].mean() if cat_named else None
    parts: dict[int, list[tuple[str, str]]] = {}
    for c, zr in zmeans.iterrows():
        tags: list[tuple[str, str]] = []
        if zr["log_recency"] >= _Z_HIGH:
            tags.append(("lapsed", "離脱"))
        elif zr["log_recency"] <= _Z_LOW:
            tags.append(("recent", "最近購入"))
        if zr["log_monetary"] >= _Z_HIGH:
            tags.append(("high-value", "高額"))
        elif zr["log_monetary"] <= _Z_LOW:
            tags.append(("low spend", "低額"))
        else:
            tags.append(("mid spend", "中額"))
        if one_time[c] >= _ONE_TIME_SHARE:
            tags.append(("one-time", "単発"))
        elif zr["log_frequency"] >= _Z_HIGH:
            tags.append(("loyal", "ロイヤル"))
        else:
            tags.append(("repeat", "リピート"))
        if cat_share is not None:
            lift = cat_share.loc[c] - shop_share
            best = lift.sort_values(ascending=False, kind="stable")
            if len(best) and best.iloc[0] >= _CATEGORY_FOCUS:
                name = str(best.index[0])[len("cat_") :]
                tags.append((f"{name}-focused", f"{name}中心"))
        parts[int(c)] = tags

    def render(c: int) -> tuple[str, str]:
        return " ".join(e for e, _ in parts[c]), "・".join(j for _, j in parts[c])

    # disambiguate: add the contrast tag that sets a cluster furthest apart from its twins
    names = {c: render(c) for c in parts}
    groups = pd.Series(names).groupby(lambda c: names[c][0]).groups
    for members in groups.values():
        if len(members) < 2:
            continue
        cols = [f for f in BASE_FEATURES] + cat_named
        sub = zmeans.loc[list(members), cols]
        dev = sub - sub.mean()
        for c in members:
            row = dev.loc[c]
            f = str(row.abs().sort_values(ascending=False, kind="stable").index[0])
            if abs(row[f]) < _MIN_CONTRAST:
                continue
            sign = 1 if row[f] >= 0 else -1
            if f.startswith("cat_"):
                name = f[len("cat_") :]
                tag = (
                    (f"more {name}", f"{name}多め")
                    if sign > 0
                    else (
                        f"less {name}",
                        f"{name}少なめ",
                    )
                )
            else:
                tag = _CONTRAST[(f, sign)]
            parts[int(c)] = [*parts[int(c)], tag]
    names = {c: render(c) for c in parts}
    counts = pd.Series([en for en, _ in names.values()]).value_counts()
    seen: dict[str, int] = {}
    for c in sorted(names):
        en, ja = names[c]
        if counts[en] > 1:
            seen[en] = seen.get(en, 0) + 1
            names[c] = (f"{en} ({seen[en]})", f"{ja}（{seen[en]}）")
    return {c: v[1] for c, v in names.items()}, {c: v[0] for c, v in names.items()}


# --------------------------------------------------------------------------- profile


def _top_values(b: RunTables, level: str, clusters: pd.DataFrame) -> pd.Series:
    """Per cluster, the value with the largest net revenue of its customers (ties by name)."""
    cl = ibis.memtable(clusters[["customer_id", "cluster"]])
    w = _wide(b, level)
    if w is not None:  # (cluster, value) sums from the wide rows
        names = b.names(level)
        j = w.inner_join(cl, "customer_id")
        sums = j.group_by("cluster").agg(
            **{str(i): j[f"_r_{level}_{i}"].sum() for i in range(len(names))}
        )
        agg = engine.to_pandas(sums).melt(id_vars="cluster", var_name="_i", value_name="revenue")
        agg["value"] = agg["_i"].astype(int).map(dict(enumerate(names)))
        agg = agg[agg["revenue"].notna() & (agg["revenue"] > 0)]
    else:
        g = b.customer_values(level)
        g = g.filter(g.value.notnull())
        j = g.inner_join(cl, "customer_id")
        agg = j.group_by(["cluster", "value"]).agg(revenue=j.revenue.sum())
        agg = engine.to_pandas(agg.filter(agg.revenue > 0))
    agg = agg.sort_values(["cluster", "revenue", "value"], ascending=[True, False, True])
    return agg.drop_duplicates("cluster").set_index("cluster")["value"]


def _profile(
    b: RunTables,
    feats: pd.DataFrame,
    cat_cols: list[str],
    label_ja: dict[int, str],
    label_en: dict[int, str],
) -> pd.DataFrame:
    g = feats.groupby("cluster")
    prof = pd.DataFrame({"size": g.size()})
    prof["share"] = prof["size"] / len(feats)
    prof["revenue"] = g["monetary"].sum()
    total = feats["monetary"].sum()
    prof["revenue_share"] = prof["revenue"] / total if total else np.nan
    for m in (*PROFILE_MEASURES, *cat_cols):
        prof[f"{m}_mean"] = g[m].mean()
        prof[f"{m}_median"] = g[m].median()
    clusters = feats[["customer_id", "cluster"]]
    for level in ("category", "brand"):
        if b.has_values(level):
            prof[f"top_{level}"] = _top_values(b, level, clusters)
        else:
            prof[f"top_{level}"] = pd.Series(pd.NA, index=prof.index, dtype="string")
    prof = prof.sort_index().reset_index()
    prof.insert(1, "label_ja", prof["cluster"].map(label_ja))
    prof.insert(2, "label_en", prof["cluster"].map(label_en))
    prof["size"] = prof["size"].astype("int64")
    return prof
