"""Next-purchase recommendations: each customer's top-N categories, tastes or brands.

One model (:func:`recommend`): a customer's recency-weighted history of
purchases holding each value, shrunk towards a prior mixing the transitions
after the customer's last purchase with the shop's popularity; see
:func:`recommend` for the formula. It is scored one of two ways, chosen in one
place (:func:`recommendation_table`) and proven equal by the tests: for a level
of few values (:data:`ecrm.engine.run.WIDE_MAX_VALUES`) one row per customer
with a column per value (:func:`_recommend_wide`), else (customer, value) rows
(:func:`_recommend_table`). The model's parameters travel together as one
:class:`ModelParams`. The intermediate tables come from the run's shared
tables (:class:`ecrm.engine.run.RunTables`); the hold-out check is
:mod:`ecrm.models.evaluate`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ecrm import engine
from ecrm.engine.run import RunTables
from ecrm.errors import ParameterError
from ecrm.settings import CtbSettings, ShopSettings

__all__ = [
    "DEFAULT_HALF_LIFE_DAYS",
    "DEFAULT_PRIOR_STRENGTH",
    "DEFAULT_TRANSITION_WEIGHT",
    "REASONS",
    "ModelParams",
    "recommend",
    "recommendation_table",
]

#: Recommendation model defaults (see :func:`recommend`).
DEFAULT_HALF_LIFE_DAYS = 365.0
DEFAULT_PRIOR_STRENGTH: float | None = None  # None: estimated from the data (empirical Bayes)
DEFAULT_TRANSITION_WEIGHT = 0.5

#: Display names (Japanese, English) of the recommendation reasons.
REASONS: dict[str, tuple[str, str]] = {
    "history": ("購入履歴", "own history"),
    "transition": ("前回購入からの遷移", "after last purchase"),
    "popular": ("人気", "popular"),
}

_RHO_MIN, _RHO_MAX = 0.001, 0.999  # bounds of the estimated intra-class correlation
_NO_LAST = "\x00"  # key of customers without a last main value (never a real value)


@dataclass(frozen=True)
class ModelParams:
    """The parameters of the recommendation model (see :func:`recommend`), checked.

    Parameters
    ----------
    level : {"category", "taste", "brand"}
    top_n : int
        Values per customer (at least 1).
    half_life_days : float
        Recency half-life of a purchase (positive).
    prior_strength : float or None
        A fixed α (positive), or None to estimate it from the data.
    transition_weight : float
        β in [0, 1], the weight of the transitions in the prior.

    Raises
    ------
    ParameterError
        A parameter outside its range.
    """

    level: str
    top_n: int
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS
    prior_strength: float | None = DEFAULT_PRIOR_STRENGTH
    transition_weight: float = DEFAULT_TRANSITION_WEIGHT

    def __post_init__(self) -> None:
        if int(self.top_n) < 1:
            raise ParameterError(f"top_n must be at least 1, got {self.top_n}")
        if not self.half_life_days > 0:
            raise ParameterError(f"half_life_days must be positive, got {self.half_life_days}")
        if self.prior_strength is not None and not self.prior_strength > 0:
            raise ParameterError(f"prior_strength must be positive, got {self.prior_strength}")
        if not 0 <= self.transition_weight <= 1:
            raise ParameterError(
                f"transition_weight must be between 0 and 1, got {self.transition_weight}"
            )

    @classmethod
    def resolve(
        cls,
        *,
        level: str,
        top_n: int | None,
        half_life_days: float,
        prior_strength: float | None,
        transition_weight: float,
        settings: ShopSettings | CtbSettings | None,
    ) -> ModelParams:
        """The parameters of a call, ``top_n`` defaulting to the settings' (3).

        Parameters
        ----------
        level, half_life_days, prior_strength, transition_weight
            As in :func:`recommend`.
        top_n : int, optional
            Default ``CtbSettings.top_n``.
        settings : ShopSettings or CtbSettings, optional
            Source of the default top_n.

        Returns
        -------
        ModelParams
        """
        if top_n is None:
            s = settings.analysis.ctb if isinstance(settings, ShopSettings) else settings
            top_n = (s if s is not None else CtbSettings()).top_n
        return cls(
            level=level,
            top_n=int(top_n),
            half_life_days=half_life_days,
            prior_strength=prior_strength,
            transition_weight=transition_weight,
        )


def recommend(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    top_n: int | None = None,
    level: str = "category",
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    prior_strength: float | None = DEFAULT_PRIOR_STRENGTH,
    transition_weight: float = DEFAULT_TRANSITION_WEIGHT,
    settings: ShopSettings | CtbSettings | None = None,
) -> pd.DataFrame:
    """Each customer's top-N categories (or brands, tastes) most likely bought next.

    The score of value v for customer c estimates the chance that c's next
    purchase holds v, as the customer's own history shrunk towards a prior::

        score = (Σ_o w_o · [v in o] + α · prior(v)) / (Σ_o w_o + α)

    - o runs over c's purchases up to as_of that have a value, weighted by
      recency: w_o = 0.5 ^ (days from o to as_of / half_life_days), so the
      first term is a recency-weighted share of c's purchases holding v;
    - prior(v) = β · P(next purchase holds v | last purchase's main value) +
      (1 − β) · popularity(v), both estimated on all customers up to as_of:
      the first from every pair of consecutive purchases (the successor's
      values against the predecessor's main value, as in :func:`transitions`),
      popularity(v) as the share of all purchases holding v. Customers whose
      last main value never had a successor, or who have no value at all, get
      popularity(v) alone;
    - α (``prior_strength``, in purchases) is how much history it takes to
      outweigh the prior. By default it is estimated from the data (empirical
      Bayes: beta-binomial moments of the customers' shares, pooled over the
      values): small when customers differ a lot in what they buy (a fashion
      shop's categories: α ≈ 3), large when everyone buys alike (a grocer's
      departments: α ≈ 25), so the model falls back to popularity where
      preferences carry little signal.

    Ties are broken by value name. Every customer gets ``top_n`` rows when the
    shop has that many values.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders with the ``level`` column.
    as_of : date or str
        Last day of the history, inclusive; later orders are ignored.
    top_n : int, optional
        Values per customer; default ``CtbSettings.top_n`` (3).
    level : {"category", "taste", "brand"}, default "category"
    half_life_days : float, default 365
        A purchase this many days before as_of weighs half as much as one on as_of.
    prior_strength : float, optional
        A fixed α; default None estimates it from the data.
    transition_weight : float, default 0.5
        β, the weight of the transition term in the prior.
    settings : ShopSettings or CtbSettings, optional
        Source of the default top_n.

    Returns
    -------
    DataFrame
        A campaign list, sorted by customer_id and rank: customer_id, rank
        (1 = most likely), ``<level>`` (the recommended value), score (float in
        [0, 1]), reason (``"history"``: the customer bought it before;
        ``"transition"``: bought after purchases like the customer's last one;
        ``"popular"``: from popularity alone).

    Raises
    ------
    ColumnsError
        The orders lack ``level`` values.
    ParameterError
        A non-positive top_n, half-life or prior strength, or β outside [0, 1].

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({"order_id": ["1", "2"], "customer_id": ["a", "b"],
    ...     "ordered_at": pd.to_datetime(["2026-01-01", "2026-02-01"]),
    ...     "amount": [100, 100], "category": ["x", "y"]})
    >>> recommend(orders, as_of="2026-02-01", top_n=1)[["customer_id", "category"]]
      customer_id category
    0           a        x
    1           b        y
    """
    params = ModelParams.resolve(
        level=level,
        top_n=top_n,
        half_life_days=half_life_days,
        prior_strength=prior_strength,
        transition_weight=transition_weight,
        settings=settings,
    )
    with RunTables(orders, as_of) as b:
        b.check_level(level, "CTB recommendations")
        recs, _ = recommendation_table(b, params)
        df = engine.to_pandas(recs.order_by(["customer_id", "rank"]))
    return df.rename(columns={"value": level}).reset_index(drop=True)


def recommendation_table(
    b: RunTables,
    p: ModelParams,
    *,
    order_mains: ir.Table | None = None,
    only: ir.Table | None = None,
) -> tuple[ir.Table, ir.Table]:
    """The recommendations and the popularity table as Ibis expressions.

    Parameters
    ----------
    b : RunTables
        The run at the history's as_of.
    p : ModelParams
    order_mains : ibis.Table, optional
        The purchases with the level's main values and next purchases
        (:meth:`~ecrm.engine.run.RunTables.order_mains`); default the run's
        for the level (:meth:`~ecrm.engine.run.RunTables.main_levels`). The
        hold-out check gives the table it cut from a later run.
    only : ibis.Table, optional
        customer_id: recommendations for those customers alone (the same rows
        as for everyone: a customer's scores read its own history and the
        shop-level tables only).

    Returns
    -------
    recs : ibis.Table
        customer_id, rank, value, score, reason.
    popularity : ibis.Table
        value, _pop (share of purchases holding the value).

    Notes
    -----
    The one place that picks the way of scoring: a level of at most
    :data:`ecrm.engine.run.WIDE_MAX_VALUES` values in one row per customer
    (:func:`_recommend_wide`), a larger one in (customer, value) rows
    (:func:`_recommend_table`); both give the same rows.
    """
    om = order_mains if order_mains is not None else b.order_mains(b.main_levels(p.level))
    if b.small([p.level]):
        return _recommend_wide(b, om, p, only)
    return _recommend_table(b, om, p, only)


def _recommend_table(
    b: RunTables, om: ir.Table, p: ModelParams, only: ir.Table | None
) -> tuple[ir.Table, ir.Table]:
    """:func:`recommendation_table` in (customer, value) rows, for a level of many values."""
    level, top_n, half_life_days = p.level, p.top_n, p.half_life_days
    prior_strength, transition_weight = p.prior_strength, p.transition_weight
    values = b.purchase_values(level, om)

    # own history: recency-weighted share of the customer's purchases holding the value
    known = values.select("customer_id", "order_id", "order_date").distinct()
    known = known.mutate(_w=_weight(b.as_of, known.order_date, half_life_days))
    den = known.group_by("customer_id").agg(_den=known._w.sum(), _n=known.count())
    # (customer, order, value) is unique
    hist = values.mutate(_w=_weight(b.as_of, values.order_date, half_life_days))
    hist = hist.group_by(["customer_id", "value"]).agg(_num=hist._w.sum(), _k=hist.count())
    hist = b.keep(("hist", level, str(half_life_days)), lambda: hist)
    den = b.keep(("den", level, str(half_life_days)), lambda: den)

    # popularity: share of purchases (with a value) that hold the value
    n_orders = known.count()
    pop = values.group_by("value").agg(_orders=values.count().cast("int64"))
    pop = pop.mutate(_pop=pop._orders.cast("float64") / n_orders.cast("float64"))

    # after the last purchase's main value X: share of next purchases holding v
    s = b.pairs(level, om)
    froms = s.group_by(key=s.main).agg(_pairs=s.count().cast("float64"))
    nv = values.select("customer_id", next_order="order_id", to_value="value")
    held = s.inner_join(nv, ["customer_id", "next_order"])
    tr = held.group_by(from_value=held.main, to_value=held.to_value).agg(_held=held.count())
    tr = tr.inner_join(froms, tr.from_value == froms.key)
    tr = tr.select("from_value", "to_value", _t=tr._held.cast("float64") / tr._pairs)
    froms = froms.select("key")
    beta = float(transition_weight)
    grid = froms.cross_join(pop.select("value", "_pop"))
    grid = grid.left_join(
        tr.select(key="from_value", value="to_value", _tp="_t"), ["key", "value"]
    ).select("key", "value", "_pop", _t=ibis._._tp.fill_null(0.0))
    grid = grid.mutate(_prior=beta * grid._t + (1 - beta) * grid._pop)
    base = pop.select(key=ibis.literal(_NO_LAST), value="value", _pop="_pop", _t=ibis.literal(0.0))
    base = base.mutate(_prior=base._pop)
    prior = b.keep(("prior", level, str(transition_weight)), lambda: grid.union(base))

    # each customer's key: the main value of the last purchase that has one
    m = b.mains(level, om)
    last = m.filter(m.main.notnull())  # seq is unique per customer: an aggregate, no window
    last = last.group_by("customer_id").agg(_last=last.main.argmax(last.seq))
    cust = b.customers.select("customer_id").left_join(last, "customer_id")
    cust = cust.drop("customer_id_right")
    fr = prior.filter(prior.key != _NO_LAST).select("key").distinct()  # froms, computed
    cust = cust.left_join(fr, cust._last == fr.key)
    cust = cust.select("customer_id", key=cust.key.fill_null(_NO_LAST))
    if only is not None:
        cust = cust.semi_join(only, "customer_id")
    cust = cust.view()

    # candidates: the values in the customer's history and the top-N of its prior
    wp = ibis.window(group_by="key", order_by=[ibis.desc("_prior"), "value"])
    top_prior = prior.mutate(_r=ibis.row_number().over(wp))
    top_prior = top_prior.filter(top_prior._r < top_n).select("key", "value")
    # (two disjoint parts: no distinct over millions of pairs, no second join to hist)
    own = hist.inner_join(cust.view(), "customer_id").select("customer_id", "key", "value", "_num")
    new = cust.inner_join(top_prior.view(), "key").select("customer_id", "key", "value")
    new = new.anti_join(hist.view(), ["customer_id", "value"])
    cand = own.union(new.mutate(_num=ibis.literal(0.0))).view()
    cand = cand.left_join(den.view(), "customer_id").select(
        "customer_id", "key", "value", "_num", _den=ibis._._den.fill_null(0.0)
    )
    cand = cand.inner_join(prior.view(), ["key", "value"])
    if prior_strength is None:
        alpha = ibis.literal(_prior_strength(*_alpha_sums(den, hist)))
    else:
        alpha = ibis.literal(float(prior_strength))
    cand = cand.mutate(score=(cand._num + alpha * cand._prior) / (cand._den + alpha))
    cand = cand.mutate(
        reason=ibis.cases((cand._num > 0, "history"), (cand._t > 0, "transition"), else_="popular")
    )
    wr = ibis.window(group_by="customer_id", order_by=[ibis.desc("score"), "value"])
    cand = cand.mutate(rank=(ibis.row_number().over(wr) + 1).cast("int64"))
    recs = cand.filter(cand.rank <= top_n).select("customer_id", "rank", "value", "score", "reason")
    return recs, pop


def _weight(as_of: dt.date, date: ir.DateValue, half_life_days: float) -> ir.FloatingValue:
    """A purchase's recency weight: 0.5 ^ (days from ``date`` to as_of / half-life).

    The one formula of both scoring ways (:func:`recommendation_table`), which
    must give the same floats for the same purchases.
    """
    age = ibis.literal(as_of, type="date").delta(date, unit="day").cast("float64")
    return ibis.literal(0.5) ** (age / float(half_life_days))


def _alpha_sums(
    den: ir.Table, hist: ir.Table
) -> tuple[np.ndarray, np.ndarray, float, float, float]:
    """The sums :func:`_prior_strength` reads, from the (customer, value) history.

    ``den``: customer_id, _n (purchases with a value); ``hist``: customer_id,
    value, _k (those of them holding the value).
    """
    d = den.select("customer_id", _n=den._n.cast("float64"))
    h = hist.inner_join(d, "customer_id")
    v = h.group_by("value").agg(
        _kk=h._k.cast("float64").sum(), _q=(h._k.cast("float64") ** 2 / h._n).sum()
    )
    tot = d.aggregate(_c=d.count().cast("float64"), _nn=d._n.sum(), _n2=(d._n * d._n).sum())
    v = engine.to_pandas(v)
    c, nn, n2 = engine.to_pandas(tot).iloc[0].fillna(0.0)
    return v._kk.to_numpy(float), v._q.to_numpy(float), float(c), float(nn), float(n2)


def _prior_strength(kk: np.ndarray, q: np.ndarray, c: float, nn: float, n2: float) -> float:
    """Empirical-Bayes prior strength α (beta-binomial moments, pooled over values).

    Customer c has n_c purchases with a value, k_cv of them holding v. With
    μ_v = Σ_c k_cv / N (the popularity; N = Σ_c n_c over C customers), the
    n-weighted spread of the customers' shares S_v = Σ_c n_c (k_cv/n_c − μ_v)²
    = Σ_c k_cv²/n_c − μ_v Σ_c k_cv has expectation
    μ_v(1 − μ_v) [(C − 1) + ρ (N − Σ n_c²/N)] when each customer's share of v is
    drawn from a Beta with mean μ_v and intra-class correlation ρ = 1/(α + 1).
    Summing over values and solving for ρ (clipped to [0.001, 0.999]; 0.001
    when the sum is 0) gives α: small when customers differ a lot in what they
    buy (trust the history), large when they all buy alike (trust the prior).

    Parameters
    ----------
    kk, q : ndarray
        Per value bought at all: Σ_c k_cv and Σ_c k_cv²/n_c (over the
        customers with n_c > 0).
    c, nn, n2 : float
        C, N and Σ_c n_c².
    """
    if len(kk) == 0 or nn <= 0:
        return 1 / _RHO_MIN - 1
    mu = kk / nn
    var = mu * (1 - mu)
    num = float(((q - mu * kk) - (c - 1) * var).sum())
    den = float((var * (nn - n2 / nn)).sum())
    rho = num / den if den != 0 else _RHO_MIN
    return 1 / min(max(rho, _RHO_MIN), _RHO_MAX) - 1


def _recommend_wide(
    b: RunTables, om: ir.Table, p: ModelParams, only: ir.Table | None
) -> tuple[ir.Table, ir.Table]:
    """:func:`recommendation_table` for a level of few values, one row per customer.

    The same model and the same numbers as the (customer, value) rows, from
    the value bits of :meth:`~ecrm.engine.run.RunTables.order_mains` (``om``): one aggregate of the
    purchases by customer gives the recency-weighted count of purchases holding
    each value, the purchase counts and the last main value; the popularity,
    the transitions (from the next purchase's bits) and α are sums over it
    and over the consecutive purchases, a few numbers read into Python. Each
    customer's scores of every value bought at all are columns of its row, a
    value's rank is the number of values scoring higher (ties by name: codes
    are in name order), and the recommendations are the (customer, value)
    cells ranked within the top N. All values are scored: the top N of all of
    them are those of the history and the prior's top N that the long way
    ranks (a value outside both scores below the prior's N-th and every value
    of the history above it).
    """
    level, top_n, half_life_days = p.level, p.top_n, p.half_life_days
    prior_strength, transition_weight = p.prior_strength, p.transition_weight
    names = b.names(level)
    one = ibis.literal(1, type="int64")

    def holds(mask: ir.IntegerValue, i: int) -> ir.BooleanValue:
        return ((mask >> i) & one) == one

    def build() -> ir.Table:
        mask, main = om[f"_b_{level}"], om[f"_c_{level}"]
        w = _weight(b.as_of, om.order_date, half_life_days)
        aggs: dict[str, ir.Value] = {
            "_den": w.sum(where=mask != 0),
            "_n": (mask != 0).cast("int64").sum(),
            "_last": main.argmax(om.seq, where=main.notnull()),
        }
        for i in range(len(names)):
            aggs[f"_w{i}"] = w.sum(where=holds(mask, i))
            aggs[f"_k{i}"] = holds(mask, i).cast("int64").sum()
        return om.group_by("customer_id").agg(**aggs)

    c = b.keep(("history", level, str(half_life_days)), build)

    # the shop-level numbers: popularity, transitions and α's sums
    k = range(len(names))
    n = c._n.cast("float64")
    sums = c.aggregate(
        _c=(c._n > 0).cast("int64").sum(),
        _nn=c._n.sum(),
        _n2=(n * n).sum(),
        **{f"_kk{i}": c[f"_k{i}"].sum() for i in k},
        **{f"_q{i}": (c[f"_k{i}"].cast("float64") ** 2 / n).sum(where=c._n > 0) for i in k},
    )
    sums = sums.to_pyarrow().to_pylist()[0]
    nn = float(sums["_nn"] or 0)
    bought = [i for i in k if (sums[f"_kk{i}"] or 0) > 0]
    pop = {i: float(sums[f"_kk{i}"]) / nn for i in bought}
    s = om.filter(om[f"_c_{level}"].notnull() & om[f"_n_{level}"].notnull())
    nxt = s[f"_nb_{level}"]
    tr = s.group_by(_key=s[f"_c_{level}"]).agg(
        _pairs=s.count(), **{f"_h{i}": holds(nxt, i).cast("int64").sum() for i in bought}
    )
    tr = engine.to_pandas(tr)
    beta = float(transition_weight)
    rows = [{"_key": -1, **{f"_P{i}": pop[i] for i in bought}, **{f"_T{i}": 0.0 for i in bought}}]
    for r in tr.to_dict("records"):  # one row per main value: a handful
        t = {i: r[f"_h{i}"] / float(r["_pairs"]) for i in bought}
        rows.append(
            {
                "_key": int(r["_key"]),
                **{f"_P{i}": beta * t[i] + (1 - beta) * pop[i] for i in bought},
                **{f"_T{i}": t[i] for i in bought},
            }
        )
    prior = ibis.memtable(
        pd.DataFrame(rows),
        schema={"_key": "int64", **{f"_{x}{i}": "float64" for i in bought for x in "PT"}},
    )
    pop_t = ibis.memtable(
        {"value": [names[i] for i in bought], "_pop": [pop[i] for i in bought]},
        schema={"value": "string", "_pop": "float64"},
    )
    if not bought:
        empty = {"customer_id": "string", "rank": "int64", "value": "string"}
        empty |= {"score": "float64", "reason": "string"}
        return ibis.memtable(pd.DataFrame({c: [] for c in empty}), schema=empty), pop_t
    if prior_strength is None:
        kk = np.array([float(sums[f"_kk{i}"]) for i in bought])
        q = np.array([float(sums[f"_q{i}"]) for i in bought])
        alpha = _prior_strength(kk, q, float(sums["_c"]), nn, float(sums["_n2"] or 0))
    else:
        alpha = float(prior_strength)

    # each customer's key: the main value of its last purchase that has one, if it had a successor
    froms = [int(x) for x in tr._key]
    cust = c if only is None else c.semi_join(only, "customer_id")
    key = ibis.ifelse(cust._last.isin(froms), cust._last, -1) if froms else ibis.literal(-1)
    cust = cust.mutate(_key=key.cast("int64")).inner_join(prior, "_key")
    a = ibis.literal(alpha)
    den = cust._den.fill_null(0.0) + a
    num = {i: cust[f"_w{i}"].fill_null(0.0) for i in bought}
    score = {i: (num[i] + a * cust[f"_P{i}"]) / den for i in bought}
    rank = {  # values scoring higher; ties by name, i.e. by code
        i: sum(
            ((score[u] >= score[i]) if u < i else (score[u] > score[i])).cast("int64")
            for u in bought
            if u != i
        )
        + 1
        for i in bought
    }
    ranked = cust.select(
        "customer_id",
        **{f"_s{i}": score[i] for i in bought},
        **{f"_r{i}": ibis.literal(1, type="int64") * rank[i] for i in bought},
        **{f"_h{i}": num[i] > 0 for i in bought},
        **{f"_t{i}": cust[f"_T{i}"] > 0 for i in bought},
    )
    if only is None:  # read once per value: computed once (a few customers: again each time)
        key = ("ranked", level, str(half_life_days), str(alpha), str(beta))
        ranked = b.keep(key, lambda: ranked)
    parts = []
    for i in bought:
        part = ranked.filter(ranked[f"_r{i}"] <= top_n)
        reason = ibis.cases(
            (part[f"_h{i}"], "history"), (part[f"_t{i}"], "transition"), else_="popular"
        )
        parts.append(
            part.select(
                "customer_id",
                rank=part[f"_r{i}"],
                value=ibis.literal(names[i], type="string"),
                score=part[f"_s{i}"],
                reason=reason,
            )
        )
    return ibis.union(*parts), pop_t
