"""LTV and repeat-purchase analyses (SPEC §3, LTV): LTV transition, purchase ladder, F2.

Shared definitions (SPEC §1):

* a **customer** is a non-guest customer_id with at least one **purchase** (an
  order with net amount > 0) on or before ``as_of``; orders after ``as_of`` are
  ignored;
* purchases are ordered by (ordered_at, order_id); a second order on the same
  day is a second purchase, 0 days after the first;
* **day** differences are whole calendar days; "within d days of the first
  purchase" means a day difference of at most d (day first + d counts);
* **revenue** is the net amount of every order, returns included (they lower
  it). In the LTV transition, orders dated before the customer's first
  purchase (a return with no purchase yet) do not count; the purchase ladder's
  revenue is the customer's ``monetary`` (SPEC §2: every order);
* a customer's **cohort** is the month of the first purchase.

Every function takes the canonical orders or, to share the order-level work
between several tables, a :func:`ecrm.analysis.cohort.purchase_history` built for the
same as_of::

    with purchase_history(orders, as_of=as_of) as h:
        ltv = ltv_transition(h, as_of=as_of)
        ladder = purchase_ladder(h, as_of=as_of)

The predicted-value model (BG/NBD, Gamma-Gamma) lives elsewhere.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ecrm import engine
from ecrm.analysis import censoring
from ecrm.analysis.cohort import PurchaseHistory, history, month_label
from ecrm.errors import ParameterError
from ecrm.settings import LtvSettings, ShopSettings, section

__all__ = [
    "ALL_COHORTS",
    "f2_conversion",
    "interpurchase_intervals",
    "ltv_transition",
    "purchase_ladder",
]

#: ``cohort`` value of the weighted all-cohort row of :func:`ltv_transition` and
#: :func:`f2_conversion`.
ALL_COHORTS = "all"


def _positive(name: str, value: int) -> int:
    if int(value) < 1:
        raise ParameterError(f"{name} must be a positive number of days, got {value}")
    return int(value)


def _month_end(cohort_index: ir.IntegerValue) -> ir.DateValue:
    start = ibis.date(cohort_index // 12, cohort_index % 12 + 1, 1)
    return start + ibis.interval(months=1) - ibis.interval(days=1)


def _bucket(day: ir.IntegerValue, days: list[int]) -> ir.IntegerValue:
    """Index of the first of the ascending ``days`` that is ≥ ``day`` (null past the last)."""
    return ibis.cases(*[(day <= d, i) for i, d in enumerate(days)], else_=None).cast("int64")


def _cohort_days(
    orders: engine.OrdersLike | PurchaseHistory,
    *,
    as_of: dt.date,
    days: list[int],
    months: int | None,
    revenue: bool,
    censored: str | None = None,
) -> pd.DataFrame:
    """Per cohort and d in ``days``: cumulative revenue and repeaters within d days.

    Returns one row per (cohort, d), including the weighted ``all`` rows, with
    the not-yet-observable cells missing. ``days`` is ascending and unique.
    ``censored``: the left-censored cohort's label, flagged and left out of
    the ``all`` rows.
    """
    last = as_of.year * 12 + as_of.month - 1
    horizon = days[-1]
    with history(orders, as_of) as hist:
        h = hist.table
        if months is not None:
            h = h.filter(h.cohort_index > last - months)
        h = h.filter((h.day >= 0) & (h.day <= horizon))
        # k = 1 is the second purchase (a same-day second order has day 0)
        h = h.mutate(_b=_bucket(h.day, days))
        agg: dict[str, Any] = {
            "_new": (h.k == 0).cast("int64").sum(),
            "_rep": (h.k == 1).cast("int64").sum(),
        }
        if revenue:
            agg["_rev"] = h.amount.sum().cast(engine.AMOUNT)
        cells = h.group_by(["cohort_index", "_b"]).agg(**agg)
        sizes = cells.filter(cells._b == 0).select("cohort_index", cohort_size=cells._new)
        idx = ibis.memtable(
            {"_b": list(range(len(days))), "days": days}, schema={"_b": "int64", "days": "int64"}
        )
        grid = sizes.cross_join(idx).left_join(cells, ["cohort_index", "_b"])
        w = ibis.window(group_by="cohort_index", order_by="_b", preceding=None, following=0)
        cum = {"repeaters": grid._rep.fill_null(0).sum().over(w).cast("int64")}
        if revenue:
            cum["revenue"] = grid._rev.fill_null(0).sum().over(w).cast(engine.AMOUNT)
        asof = ibis.literal(as_of, type="date")
        grid = grid.select(
            "cohort_index",
            "cohort_size",
            "days",
            **cum,
            observable=asof.delta(_month_end(grid.cohort_index), unit="day") >= grid.days,
        )
        # money stays exact (Decimal objects) through the all-cohort sums below
        df = engine.to_pandas(grid.order_by(["cohort_index", "days"]), money=[])
    return _with_all_rows(df, days=days, revenue=revenue, censored=censored)


def _with_all_rows(
    df: pd.DataFrame, *, days: list[int], revenue: bool, censored: str | None = None
) -> pd.DataFrame:
    value_cols = ["repeaters", *(["revenue"] if revenue else [])]
    obs = df["observable"].astype(bool)
    is_censored = df["cohort_index"].map(month_label).eq(censored) if censored else obs & False
    filled = df[obs & ~is_censored]
    all_rows = pd.DataFrame({"days": days})
    all_rows["cohort_size"] = (
        all_rows["days"].map(filled.groupby("days")["cohort_size"].sum()).fillna(0).astype("int64")
    )
    all_rows["repeaters"] = all_rows["days"].map(filled.groupby("days")["repeaters"].sum())
    if revenue:
        sums = {d: sum(g, Decimal(0)) for d, g in filled.groupby("days")["revenue"]}
        all_rows["revenue"] = all_rows["days"].map(lambda d: float(sums[d]) if d in sums else None)
    all_rows.loc[all_rows["cohort_size"] == 0, value_cols] = np.nan
    all_rows.insert(0, "cohort", ALL_COHORTS)

    per = df.copy()
    per["cohort"] = per["cohort_index"].map(month_label)
    if revenue:
        per["revenue"] = per["revenue"].map(float)
    per.loc[~obs, value_cols] = np.nan
    per = per.drop(columns=["cohort_index", "observable"])
    per["left_censored"] = is_censored.to_numpy(dtype=bool)
    all_rows["left_censored"] = False
    out = pd.concat([per, all_rows], ignore_index=True) if len(per) else all_rows
    out["left_censored"] = out["left_censored"].astype(bool)
    out["cohort"] = out["cohort"].astype("string")
    out["days"] = out["days"].astype("int64")
    out["cohort_size"] = out["cohort_size"].astype("int64")
    out["repeaters"] = pd.array(out["repeaters"].astype("float64"), dtype="Int64")
    size = out["cohort_size"].where(out["cohort_size"] > 0)
    out["f2_rate"] = out["repeaters"].astype("float64") / size
    cols = ["cohort", "days", "cohort_size"]
    if revenue:
        out["revenue"] = out["revenue"].astype("float64")
        out["ltv"] = out["revenue"] / size
        cols += ["revenue", "ltv"]
    cols += ["repeaters", "f2_rate", "left_censored"]
    return out[cols].reset_index(drop=True)


def day_steps(step_days: int, horizon_days: int) -> list[int]:
    """The days d of an LTV table: step_days, 2·step_days … and horizon_days itself.

    Shared by the LTV transition and :mod:`ecrm.analysis.channels`.

    Raises
    ------
    ParameterError
        A non-positive step or horizon, or horizon_days < step_days.
    """
    step = _positive("step_days", step_days)
    horizon = _positive("horizon_days", horizon_days)
    if horizon < step:
        raise ParameterError(f"horizon_days ({horizon}) must be at least step_days ({step})")
    steps = list(range(step, horizon + 1, step))
    if steps[-1] != horizon:
        steps.append(horizon)
    return steps


def ltv_transition(
    orders: engine.OrdersLike | PurchaseHistory,
    *,
    as_of: Any,
    step_days: int | None = None,
    horizon_days: int | None = None,
    months: int | None = None,
    settings: ShopSettings | LtvSettings | None = None,
    export_complete: bool | None = None,
) -> pd.DataFrame:
    """LTV transition (LTV推移): cumulative revenue and F2 rate of each monthly cohort.

    For each cohort of new customers (month of first purchase) and each
    d = step_days, 2·step_days, … up to horizon_days (horizon_days itself is
    added when it is not a multiple): the cohort's cumulative net revenue
    within d days of each customer's first purchase (the first purchase
    included; returns lower it), per cohort customer, and the share of the
    cohort with a second purchase within d days of the first.

    A cell is filled only when every customer of the cohort has been observable
    for d days: the cohort month's last day + d ≤ as_of. Otherwise its values
    are missing (NaN / <NA>).

    Parameters
    ----------
    orders : DataFrame, ibis Table, path or PurchaseHistory
        Canonical orders (SPEC §1): order_id, customer_id, ordered_at, amount;
        or a :func:`ecrm.analysis.cohort.purchase_history` built for the same as_of.
    as_of : date or str
        Last day of the analysis, inclusive; later orders are ignored.
    step_days, horizon_days : int, optional
        Default ``LtvSettings`` (30 and 360).
    months : int, optional
        Only the cohorts of the last ``months`` months (the month of as_of
        included); default every cohort.
    settings : ShopSettings or LtvSettings, optional
        Source of the defaults.
    export_complete : bool, optional
        Whether the export holds the shop's whole history; default from
        ``settings`` (a shop's ``export_complete``; False without a shop's
        settings). When False, the cohort of the export's first month is
        left-censored (:mod:`ecrm.analysis.censoring`): its rows say
        ``left_censored = True`` and it is left out of the ``all`` rows.

    Returns
    -------
    DataFrame
        One row per (cohort, days), cohorts oldest first, then the rows of the
        weighted all-cohort average (``cohort == "all"``):

        - ``cohort`` (str): ``YYYY-MM``, or ``"all"``;
        - ``days`` (int): d;
        - ``cohort_size`` (int): customers of the cohort; for ``all``, the
          customers of the cohorts filled at d;
        - ``revenue`` (float): cumulative net revenue of those customers within
          d days of their first purchase;
        - ``ltv`` (float): revenue / cohort_size;
        - ``repeaters`` (Int64): customers with a second purchase within d days
          of the first;
        - ``f2_rate`` (float): repeaters / cohort_size;
        - ``left_censored`` (bool): the cohort of the export's first month,
          when the export is not complete (False on the ``all`` rows).

        The ``all`` rows pool the filled, uncensored cohorts (so they are the cohort-size
        weighted averages of ``ltv`` and ``f2_rate``); missing where no cohort
        is filled at d.

    Raises
    ------
    ParameterError
        Non-positive days or horizon_days < step_days.
    ColumnsError
        The orders lack a required column.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({
    ...     "order_id": ["1", "2"], "customer_id": ["a", "a"],
    ...     "ordered_at": pd.to_datetime(["2026-01-10", "2026-02-09"]),
    ...     "amount": [1000, 500]})
    >>> t = ltv_transition(orders, as_of="2026-04-30", horizon_days=60)
    >>> t[["cohort", "days", "ltv", "f2_rate"]].to_dict("records")[:2]
    [{'cohort': '2026-01', 'days': 30, 'ltv': 1500.0, 'f2_rate': 1.0}, \
{'cohort': '2026-01', 'days': 60, 'ltv': 1500.0, 'f2_rate': 1.0}]
    """
    s = section(settings, LtvSettings)
    steps = day_steps(
        s.step_days if step_days is None else step_days,
        s.horizon_days if horizon_days is None else horizon_days,
    )
    if months is not None and int(months) < 1:
        raise ParameterError(f"months must be at least 1, got {months}")
    as_of_d = engine.as_of_date(as_of)
    return _cohort_days(
        orders,
        as_of=as_of_d,
        days=steps,
        months=months,
        revenue=True,
        censored=censoring.censored_label(
            orders, settings=settings, export_complete=export_complete
        ),
    )


def f2_conversion(
    orders: engine.OrdersLike | PurchaseHistory,
    *,
    as_of: Any,
    windows: tuple[int, ...] | list[int] | None = None,
    months: int | None = None,
    settings: ShopSettings | LtvSettings | None = None,
    export_complete: bool | None = None,
) -> pd.DataFrame:
    """F2 conversion: share of each month's new customers with a second purchase within w days.

    Parameters
    ----------
    orders : DataFrame, ibis Table, path or PurchaseHistory
        Canonical orders (SPEC §1): order_id, customer_id, ordered_at, amount;
        or a :func:`ecrm.analysis.cohort.purchase_history` built for the same as_of.
    as_of : date or str
        Last day of the analysis, inclusive; later orders are ignored.
    windows : sequence of int, optional
        Day windows; default ``LtvSettings.f2_windows`` (30, 60, 90, 180, 360).
    months : int, optional
        Only the cohorts of the last ``months`` months; default every cohort.
    settings : ShopSettings or LtvSettings, optional
        Source of the defaults.
    export_complete : bool, optional
        Whether the export holds the shop's whole history; default from
        ``settings`` (a shop's ``export_complete``; False without a shop's
        settings). When False, the cohort of the export's first month is
        left-censored (:mod:`ecrm.analysis.censoring`): its rows say
        ``left_censored = True`` and it is left out of the ``all`` rows.

    Returns
    -------
    DataFrame
        One row per (cohort, window), cohorts oldest first, then the weighted
        all-cohort rows (``cohort == "all"``, pooling the cohorts filled at that
        window):

        - ``cohort`` (str): ``YYYY-MM`` of the first purchase, or ``"all"``;
        - ``days`` (int): the window w;
        - ``cohort_size`` (int): the cohort's customers (``all``: of the
          filled cohorts);
        - ``repeaters`` (Int64): customers whose second purchase is at most w
          days after the first (same-day second orders count, day 0);
        - ``f2_rate`` (float): repeaters / cohort_size;
        - ``left_censored`` (bool): the cohort of the export's first month,
          when the export is not complete (False on the ``all`` rows).

        Missing (NaN / <NA>) where the window is not fully observable: the
        cohort month's last day + w > as_of.

    Raises
    ------
    ParameterError
        An empty or non-positive window.
    ColumnsError
        The orders lack a required column.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({
    ...     "order_id": ["1", "2"], "customer_id": ["a", "a"],
    ...     "ordered_at": pd.to_datetime(["2026-01-10", "2026-02-10"]),
    ...     "amount": [1000, 500]})
    >>> f = f2_conversion(orders, as_of="2026-12-31", windows=(30, 31))
    >>> f.loc[f.cohort == "2026-01", ["days", "f2_rate"]].to_dict("list")
    {'days': [30, 31], 'f2_rate': [0.0, 1.0]}
    """
    s = section(settings, LtvSettings)
    ws = sorted({_positive("window", w) for w in (s.f2_windows if windows is None else windows)})
    if not ws:
        raise ParameterError("windows must hold at least one number of days")
    if months is not None and int(months) < 1:
        raise ParameterError(f"months must be at least 1, got {months}")
    as_of_d = engine.as_of_date(as_of)
    return _cohort_days(
        orders,
        as_of=as_of_d,
        days=ws,
        months=months,
        revenue=False,
        censored=censoring.censored_label(
            orders, settings=settings, export_complete=export_complete
        ),
    )


def _ladder_max(max_n: int | None, s: LtvSettings) -> int:
    n = s.ladder_max if max_n is None else int(max_n)
    if n < 1:
        raise ParameterError(f"max_n must be at least 1, got {max_n}")
    return n


def _interval_histogram(h: ir.Table, cap: int) -> pd.DataFrame:
    """Intervals between consecutive purchases counted by (n capped at ``cap``, days)."""
    p = h.filter(h.k >= 1)
    p = p.mutate(n=ibis.least(p.k, cap).cast("int64"))
    hist = p.group_by(["n", p.gap.name("days")]).agg(intervals=p.count().cast("int64"))
    df = engine.to_pandas(hist.order_by(["n", "days"]))
    return df.astype({"n": "int64", "days": "int64", "intervals": "int64"})


def _histogram_median(hist: pd.DataFrame) -> pd.Series:
    """Median days per n of an interval histogram (the mean of the two middle values)."""
    out = {}
    for n, g in hist.groupby("n"):
        cum = g["intervals"].cumsum().to_numpy()
        values = g["days"].to_numpy()
        total = int(cum[-1])
        lo = values[np.searchsorted(cum, (total - 1) // 2 + 1)]
        hi = values[np.searchsorted(cum, total // 2 + 1)]
        out[n] = (lo + hi) / 2
    return pd.Series(out, dtype="float64")


def _n_label(n: int, max_n: int) -> str:
    return f"{max_n + 1}+" if n > max_n else str(n)


def purchase_ladder(
    orders: engine.OrdersLike | PurchaseHistory,
    *,
    as_of: Any,
    max_n: int | None = None,
    lapse_days: int | None = None,
    settings: ShopSettings | LtvSettings | None = None,
) -> pd.DataFrame:
    """Continuation by purchase count (継続・離脱分析): who went on from purchase n to n+1.

    Each customer with ``frequency`` purchases reached n = 1 … frequency. At
    purchase n a customer either continued (reached n + 1), or stopped there:
    lapsed (exactly n purchases and recency_days ≥ lapse_days) or pending
    (exactly n purchases, recency_days < lapse_days: may still come back).

    Rows n = 1 … max_n are exact. The last row, labelled ``"{max_n + 1}+"``
    (``"11+"`` by default: the "max_n+" row), pools the customers who went
    beyond purchase max_n: reached = customers with more than max_n purchases
    (= continued at max_n, so the funnel links up); lapsed / pending split them
    by recency; continued and continuation_rate are not defined for it (<NA>);
    its median_days_to_next pools every interval from a purchase n > max_n to
    the next.

    Parameters
    ----------
    orders : DataFrame, ibis Table, path or PurchaseHistory
        Canonical orders (SPEC §1): order_id, customer_id, ordered_at, amount;
        or a :func:`ecrm.analysis.cohort.purchase_history` built for the same as_of.
    as_of : date or str
        Last day of the analysis, inclusive; later orders are ignored.
    max_n : int, optional
        Last exact purchase count; default ``LtvSettings.ladder_max`` (10).
    lapse_days : int, optional
        Recency (days) from which a customer counts as lapsed; default
        ``LtvSettings.lapse_days`` (240, as CPM).
    settings : ShopSettings or LtvSettings, optional
        Source of the defaults.

    Returns
    -------
    DataFrame
        max_n + 1 rows:

        - ``n`` (int): purchase count, 1 … max_n + 1 (the last is the pooled row);
        - ``label`` (str): ``"1"`` … ``"10"``, ``"11+"``;
        - ``reached`` (int): customers with at least n purchases;
        - ``continued`` (Int64): customers with at least n + 1 purchases;
        - ``lapsed`` (int), ``pending`` (int): customers with exactly n
          purchases (pooled row: more than max_n) by recency;
          continued + lapsed + pending = reached;
        - ``continuation_rate`` (float): continued / reached;
        - ``survival`` (float): reached / reached at n = 1;
        - ``customers`` (int): customers whose final count is n (= lapsed +
          pending);
        - ``revenue`` (float): their net revenue to date (all orders, returns
          included); the column sums to the customers' total revenue;
        - ``revenue_per_customer`` (float): revenue / customers, i.e. the
          average cumulative net revenue of customers who stopped at n;
        - ``median_days_to_next`` (float): median whole days from purchase n to
          purchase n + 1 over the customers who continued (NaN if none).

    Raises
    ------
    ParameterError
        max_n < 1 or lapse_days < 1.
    ColumnsError
        The orders lack a required column.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({
    ...     "order_id": ["1", "2", "3"], "customer_id": ["a", "a", "b"],
    ...     "ordered_at": pd.to_datetime(["2026-01-10", "2026-02-09", "2026-01-05"]),
    ...     "amount": [1000, 500, 800]})
    >>> lad = purchase_ladder(orders, as_of="2026-12-31", max_n=2)
    >>> lad[["label", "reached", "continued", "lapsed", "median_days_to_next"]].to_dict("list")
    {'label': ['1', '2', '3+'], 'reached': [2, 1, 0], 'continued': [1, 0, None], \
'lapsed': [1, 1, 0], 'median_days_to_next': [30.0, nan, nan]}
    """
    s = section(settings, LtvSettings)
    top = _ladder_max(max_n, s)
    lapse = _positive("lapse_days", s.lapse_days if lapse_days is None else lapse_days)
    as_of_d = engine.as_of_date(as_of)
    with history(orders, as_of_d, cache=True) as hist:  # read twice
        h = hist.table
        asof = ibis.literal(as_of_d, type="date")
        h = h.mutate(
            n=ibis.least(h.frequency, top + 1).cast("int64"),
            lapsed=asof.delta(h.last_purchase, unit="day") >= lapse,
        )
        final = h.group_by(["n", "lapsed"]).agg(
            customers=(h.k == 0).cast("int64").sum(),
            revenue=h.amount.sum().cast(engine.AMOUNT),
        )
        fin = engine.to_pandas(final)
        median = _histogram_median(_interval_histogram(hist.table, top + 1))

    ns = list(range(1, top + 2))
    lapsed = fin[fin["lapsed"]].groupby("n")["customers"].sum().reindex(ns, fill_value=0)
    pending = fin[~fin["lapsed"]].groupby("n")["customers"].sum().reindex(ns, fill_value=0)
    revenue = fin.groupby("n")["revenue"].sum().reindex(ns, fill_value=0.0)
    stopped = lapsed + pending
    reached = stopped[::-1].cumsum()[::-1]
    out = pd.DataFrame({"n": ns})
    out["label"] = pd.array([_n_label(n, top) for n in ns], dtype="string")
    out["reached"] = reached.to_numpy().astype("int64")
    continued = np.append(reached.to_numpy()[1:], 0).astype("float64")
    continued[-1] = np.nan
    out["continued"] = pd.array(continued, dtype="Int64")
    out["lapsed"] = lapsed.to_numpy().astype("int64")
    out["pending"] = pending.to_numpy().astype("int64")
    reach = out["reached"].where(out["reached"] > 0)
    out["continuation_rate"] = out["continued"].astype("float64") / reach
    first = out["reached"].iloc[0]
    out["survival"] = out["reached"] / first if first > 0 else np.nan
    out["customers"] = stopped.to_numpy().astype("int64")
    out["revenue"] = revenue.to_numpy().astype("float64")
    out["revenue_per_customer"] = out["revenue"] / out["customers"].where(out["customers"] > 0)
    out["median_days_to_next"] = out["n"].map(median).astype("float64")
    return out


def interpurchase_intervals(
    orders: engine.OrdersLike | PurchaseHistory,
    *,
    as_of: Any,
    max_n: int | None = None,
    settings: ShopSettings | LtvSettings | None = None,
) -> pd.DataFrame:
    """Distribution of the days between purchase n and purchase n + 1.

    Every pair of consecutive purchases of a customer (ordered by ordered_at,
    order_id) is one interval, in whole calendar days (0 for a second order on
    the same day). Intervals from purchase n ≤ max_n are shown per n; those from
    a purchase n > max_n are pooled in one group (``n = max_n + 1``, label
    ``"11+"`` by default), where a customer contributes one interval per step.

    Parameters
    ----------
    orders : DataFrame, ibis Table, path or PurchaseHistory
        Canonical orders (SPEC §1): order_id, customer_id, ordered_at, amount;
        or a :func:`ecrm.analysis.cohort.purchase_history` built for the same as_of.
    as_of : date or str
        Last day of the analysis, inclusive; later orders are ignored.
    max_n : int, optional
        Last exact n; default ``LtvSettings.ladder_max`` (10).
    settings : ShopSettings or LtvSettings, optional
        Source of the defaults.

    Returns
    -------
    DataFrame
        A tidy histogram, one row per (n, days) that occurs, sorted by n, days:

        - ``n`` (int): the earlier purchase's number (1 = from the first to the
          second purchase), max_n + 1 for the pooled group;
        - ``label`` (str): ``"1"`` … ``"10"``, ``"11+"``;
        - ``days`` (int): whole days between the two purchases;
        - ``intervals`` (int): how many intervals of that length (for n ≤
          max_n, the number of customers);
        - ``share`` (float): intervals / all intervals of that n;
        - ``cum_share`` (float): share of intervals of that n at most ``days``
          long (the empirical distribution function).

    Raises
    ------
    ParameterError
        max_n < 1.
    ColumnsError
        The orders lack a required column.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({
    ...     "order_id": ["1", "2", "3"], "customer_id": ["a", "a", "a"],
    ...     "ordered_at": pd.to_datetime(["2026-01-10", "2026-01-10", "2026-02-09"]),
    ...     "amount": [1000, 500, 800]})
    >>> d = interpurchase_intervals(orders, as_of="2026-12-31", max_n=1)
    >>> d[["label", "days", "intervals"]].to_dict("list")
    {'label': ['1', '2+'], 'days': [0, 30], 'intervals': [1, 1]}
    """
    top = _ladder_max(max_n, section(settings, LtvSettings))
    with history(orders, as_of) as hist:
        df = _interval_histogram(hist.table, top + 1)
    total = df.groupby("n")["intervals"].transform("sum")
    df["share"] = df["intervals"] / total
    df["cum_share"] = df.groupby("n")["intervals"].cumsum() / total
    df.insert(1, "label", pd.array([_n_label(n, top) for n in df["n"]], dtype="string"))
    return df[["n", "label", "days", "intervals", "share", "cum_share"]].reset_index(drop=True)
