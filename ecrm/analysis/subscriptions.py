"""Subscriptions (定期): deliveries, status, continuation by delivery count, monthly churn.

SPEC §1 and §3. A **delivery** is an order carrying a ``subscription_id`` whose
net amount is > 0 (a purchase), placed on or before ``as_of``; its sequence
number (回数) counts the subscription's deliveries by time, ties by order_id.
A subscription's **start** and **cancellation** come from the subscriptions
table when the shop has one (``started_at``, ``cancelled_at``: empty while
active); without it, a subscription is the set of orders sharing a
subscription_id, started on its first delivery's day and cancelled on the day
after its last delivery + ``lapse_days`` (SPEC's ``subscription_lapse_days``,
default 60) when that day is on or before ``as_of``.

Choices where SPEC leaves one (documented here and in the README):

* The continuation rate from delivery n to n + 1 counts the **decided**
  subscriptions only: ``continued / (continued + cancelled)``. A subscription
  still active with exactly n deliveries (pending) has not decided yet;
  counting it as lost would make the newest start months look like churn.
  ``survival`` is SPEC's ``reached_n / reached_1``.
* A cancellation dated after ``as_of`` is not known at ``as_of``: the
  subscription is active then.
* The "13+" row (``max_n + 1``) pools the subscriptions with more than
  ``max_n`` deliveries, as the purchase ladder's "11+" row does.

Every function is a pure function of canonical orders (with the optional
``subscription_id`` column), the optional subscriptions table and an explicit
``as_of``; the work runs set-based in the engine.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ecrm import engine
from ecrm.errors import ColumnsError, ParameterError

__all__ = [
    "COHORT_SPLITS",
    "DEFAULT_LAPSE_DAYS",
    "DEFAULT_MAX_N",
    "UNKNOWN_GROUP",
    "cohort_retention",
    "continuation",
    "deliveries",
    "lifetimes",
    "subscription_monthly",
    "subscriptions",
]

#: SPEC §1: without a subscriptions table, a subscription is cancelled this
#: many days after its last delivery (on the day after).
DEFAULT_LAPSE_DAYS = 60
#: Exact rows of the continuation table (n = 1 … 12, then "13+").
DEFAULT_MAX_N = 12

SubscriptionsLike = pd.DataFrame | ir.Table | None


def _check(lapse_days: int, max_n: int | None = None) -> None:
    if int(lapse_days) < 1:
        raise ParameterError(f"lapse_days must be at least 1, got {lapse_days}")
    if max_n is not None and int(max_n) < 1:
        raise ParameterError(f"max_n must be at least 1, got {max_n}")


def _deliveries(orders: engine.OrdersLike, as_of: dt.date) -> ir.Table:
    t = engine.orders_table(orders)
    if "subscription_id" not in t.columns:
        raise ColumnsError(
            "subscription analyses need the orders column subscription_id (SPEC §1); "
            f"the orders table has {sorted(t.columns)}. Map it in the shop settings "
            "(`columns: subscription_id: …`) and ingest again."
        )
    lines = engine.upto(t, as_of)
    lines = lines.filter(lines.subscription_id.notnull() & lines.customer_id.notnull())
    o = lines.group_by("order_id").agg(
        subscription_id=lines.subscription_id.cast("string").min(),
        customer_id=lines.customer_id.min(),
        ordered_at=lines.ordered_at.min(),
        amount=lines.amount.sum().cast(engine.AMOUNT),
    )
    o = o.filter(o.amount > 0)
    w = ibis.window(group_by=o.subscription_id, order_by=[o.ordered_at, o.order_id])
    return o.mutate(order_date=o.ordered_at.date(), delivery_no=ibis.row_number().over(w) + 1)


def deliveries(orders: engine.OrdersLike, *, as_of: Any) -> pd.DataFrame:
    """Every delivery with its sequence number (回数) per subscription.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders (SPEC §1) with the optional ``subscription_id`` column.
    as_of : date or str
        Last day of the analysis, inclusive; later orders are ignored.

    Returns
    -------
    DataFrame
        subscription_id, delivery_no (1, 2, …), order_id, customer_id,
        ordered_at, order_date, amount (net, float) — sorted by subscription_id
        and delivery_no.

    Raises
    ------
    ColumnsError
        The orders have no ``subscription_id`` column.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({
    ...     "order_id": ["1", "2", "3"], "customer_id": ["a", "a", "a"],
    ...     "ordered_at": pd.to_datetime(["2026-01-10", "2026-02-10", "2026-02-11"]),
    ...     "amount": [3000, 3000, 500], "subscription_id": ["s1", "s1", None]})
    >>> deliveries(orders, as_of="2026-12-31")["delivery_no"].tolist()
    [1, 2]
    """
    d = _deliveries(orders, engine.as_of_date(as_of))
    cols = ["subscription_id", "delivery_no", "order_id", "customer_id"]
    out = d.select(*cols, "ordered_at", "order_date", "amount").order_by(
        ["subscription_id", "delivery_no"]
    )
    return engine.to_pandas(out)


def _subscription_table(
    orders: engine.OrdersLike,
    as_of: dt.date,
    table: SubscriptionsLike,
    lapse_days: int,
) -> ir.Table:
    d = _deliveries(orders, as_of)
    per = d.group_by("subscription_id").agg(
        order_customer=d.customer_id.min(),
        first_delivery=d.order_date.min(),
        last_delivery=d.order_date.max(),
        deliveries=d.count(),
        revenue=d.amount.sum(),
    )
    day_after = ibis.literal(as_of + dt.timedelta(days=1))
    if table is None:
        cancel = per.last_delivery + ibis.interval(days=int(lapse_days) + 1)
        s = per.mutate(
            customer_id=per.order_customer,
            started_at=per.first_delivery,
            cancelled_at=ibis.ifelse(cancel <= ibis.literal(as_of), cancel, ibis.null("date")),
        )
    else:
        st = ibis.memtable(table) if isinstance(table, pd.DataFrame) else table
        engine.require_columns(
            st, ("subscription_id", "customer_id", "started_at"), "subscriptions"
        )
        cancelled = (
            st.cancelled_at.cast("timestamp").date()
            if "cancelled_at" in st.columns
            else ibis.null("date")
        )
        st = st.mutate(
            subscription_id=st.subscription_id.cast("string"),
            customer_id=st.customer_id.cast("string"),
            started_at=st.started_at.cast("timestamp").date(),
            cancelled_at=cancelled,
        )
        st = st.filter(st.started_at < day_after)
        st = st.mutate(
            cancelled_at=ibis.ifelse(
                st.cancelled_at < day_after, st.cancelled_at, ibis.null("date")
            )
        )
        s = st.select("subscription_id", "customer_id", "started_at", "cancelled_at").left_join(
            per, "subscription_id"
        )
        s = s.mutate(
            deliveries=s.deliveries.fill_null(0), revenue=s.revenue.fill_null(0).cast(engine.AMOUNT)
        )
    return s.mutate(status=ibis.ifelse(s.cancelled_at.isnull(), "active", "cancelled"))


def subscriptions(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    table: SubscriptionsLike = None,
    lapse_days: int = DEFAULT_LAPSE_DAYS,
) -> pd.DataFrame:
    """One row per subscription started on or before ``as_of``: start, status, deliveries.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders with ``subscription_id``.
    as_of : date or str
        Last day of the analysis, inclusive.
    table : DataFrame or ibis Table, optional
        The subscriptions table (SPEC §1: subscription_id, customer_id,
        started_at, cancelled_at); without it subscriptions are derived from
        the orders (see the module docstring).
    lapse_days : int, default 60
        SPEC's ``subscription_lapse_days``, used only without ``table``.

    Returns
    -------
    DataFrame
        subscription_id, customer_id, started_at, cancelled_at (NaT while
        active at as_of), status ("active" / "cancelled"), deliveries (int,
        to as_of), first_delivery, last_delivery, revenue (net, float) —
        sorted by subscription_id.

    Raises
    ------
    ColumnsError
        No ``subscription_id`` in the orders, or a subscriptions table without
        its required columns.
    ParameterError
        lapse_days < 1.
    """
    _check(lapse_days)
    s = _subscription_table(orders, engine.as_of_date(as_of), table, lapse_days)
    cols = ["subscription_id", "customer_id", "started_at", "cancelled_at", "status"]
    out = s.select(*cols, "deliveries", "first_delivery", "last_delivery", "revenue")
    df = engine.to_pandas(out.order_by("subscription_id"))
    df["deliveries"] = df["deliveries"].astype("int64")
    return df


def continuation(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    table: SubscriptionsLike = None,
    lapse_days: int = DEFAULT_LAPSE_DAYS,
    max_n: int = DEFAULT_MAX_N,
) -> pd.DataFrame:
    """定期継続率: continuation by delivery count, n = 1 … max_n and "max_n+1 +".

    Parameters
    ----------
    orders, as_of, table, lapse_days
        As :func:`subscriptions`.
    max_n : int, default 12
        Last exact delivery count; the next row pools the longer subscriptions.

    Returns
    -------
    DataFrame
        max_n + 1 rows:

        - ``n`` (int) and ``label`` ("1" … "12", "13+");
        - ``reached``: subscriptions with at least n deliveries;
        - ``continued`` (Int64): with at least n + 1 (<NA> on the pooled row);
        - ``cancelled``: cancelled after exactly n deliveries (pooled row: more
          than max_n); ``pending``: active with exactly n (pooled: more);
          continued + cancelled + pending = reached;
        - ``continuation_rate``: continued / (continued + cancelled), the
          decided subscriptions (NaN where none decided, <NA> pooled row);
        - ``survival``: reached / reached at n = 1.

    Raises
    ------
    ParameterError
        max_n < 1 or lapse_days < 1.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({
    ...     "order_id": ["1", "2", "3"], "customer_id": ["a", "a", "b"],
    ...     "ordered_at": pd.to_datetime(["2026-01-10", "2026-02-10", "2026-01-12"]),
    ...     "amount": [3000, 3000, 3000], "subscription_id": ["s1", "s1", "s2"]})
    >>> c = continuation(orders, as_of="2026-12-31", max_n=2)
    >>> c[["label", "reached", "cancelled", "pending"]].values.tolist()
    [['1', 2, 1, 0], ['2', 1, 1, 0], ['3+', 0, 0, 0]]
    """
    _check(lapse_days, max_n)
    top = int(max_n)
    s = _subscription_table(orders, engine.as_of_date(as_of), table, lapse_days)
    s = s.filter(s.deliveries >= 1)
    n = ibis.least(s.deliveries, top + 1)
    g = (
        s.mutate(n=n, cancelled=(s.status == "cancelled").cast("int64"))
        .group_by("n")
        .agg(customers=lambda x: x.count(), cancelled=lambda x: x.cancelled.sum())
    )
    counts = engine.to_pandas(g).set_index("n")
    rows = pd.DataFrame({"n": range(1, top + 2)})
    stop = counts.reindex(rows["n"]).fillna(0).astype("int64")
    ending = stop["customers"].to_numpy()
    cancelled = stop["cancelled"].to_numpy()
    reached = ending[::-1].cumsum()[::-1]
    out = rows.assign(
        label=[str(i) for i in range(1, top + 1)] + [f"{top + 1}+"],
        reached=reached,
    )
    cont = pd.array([*reached[1:].tolist(), None], dtype="Int64")
    out["continued"] = cont
    out["cancelled"] = cancelled
    out["pending"] = ending - cancelled
    decided = out["continued"].astype("Float64") + out["cancelled"]
    rate = out["continued"].astype("Float64") / decided.where(decided > 0)
    out["continuation_rate"] = rate
    first = reached[0]
    out["survival"] = reached / first if first > 0 else float("nan")
    return out


def subscription_monthly(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    months: int = 12,
    table: SubscriptionsLike = None,
    lapse_days: int = DEFAULT_LAPSE_DAYS,
) -> pd.DataFrame:
    """Month by month: active at month end, new, cancelled and 解約率.

    Parameters
    ----------
    orders, as_of, table, lapse_days
        As :func:`subscriptions`.
    months : int, default 12
        Months to as_of's month, oldest first.

    Returns
    -------
    DataFrame
        month (YYYY-MM), month_end (date; as_of for as_of's month when it is
        not a month end), active (subscriptions started on or before the month
        end and not cancelled by then), new (started in the month), cancelled
        (cancelled in the month), cancellation_rate (cancelled / active at the
        previous month end; NaN when that is 0).

    Raises
    ------
    ParameterError
        months < 1 or lapse_days < 1.
    """
    _check(lapse_days)
    if int(months) < 1:
        raise ParameterError(f"months must be at least 1, got {months}")
    d = engine.as_of_date(as_of)
    s = engine.to_pandas(
        _subscription_table(orders, d, table, lapse_days).select("started_at", "cancelled_at")
    )
    start = pd.Period(d, "M") - int(months)  # one more: the first month's previous end
    periods = pd.period_range(start, pd.Period(d, "M"), freq="M")
    # subscriptions × months at once: day numbers, a cancellation never (NaT) as +inf
    ends = np.array([min(p.end_time.date(), d) for p in periods], dtype="datetime64[D]")
    firsts = np.array([p.start_time.date() for p in periods], dtype="datetime64[D]")
    started = pd.to_datetime(s["started_at"]).to_numpy("datetime64[D]")[:, None]
    cancelled = pd.to_datetime(s["cancelled_at"]).to_numpy("datetime64[D]")
    c_days = np.where(np.isnat(cancelled), np.inf, cancelled.astype("int64"))[:, None]
    e_days, f_days = ends.astype("int64")[None, :], firsts.astype("int64")[None, :]
    s_days = started.astype("int64")
    out = pd.DataFrame(
        {
            "month": [str(p) for p in periods],
            "month_end": ends.astype(object),
            "active": ((s_days <= e_days) & ~(c_days <= e_days)).sum(axis=0),
            "new": ((s_days >= f_days) & (s_days <= e_days)).sum(axis=0),
            "cancelled": ((c_days >= f_days) & (c_days <= e_days)).sum(axis=0),
        }
    ).astype({"active": "int64", "new": "int64", "cancelled": "int64"})
    prev = out["active"].shift(1)
    out["cancellation_rate"] = out["cancelled"] / prev.where(prev > 0)
    out = out.iloc[1:].reset_index(drop=True)
    out["month_end"] = pd.to_datetime(out["month_end"])
    return out


def lifetimes(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    table: SubscriptionsLike = None,
    lapse_days: int = DEFAULT_LAPSE_DAYS,
) -> pd.DataFrame:
    """Each subscription's lifetime in deliveries, as the sBG model reads it.

    A cancelled subscription with k deliveries lasted ``T = k`` (ended); an
    active one with k deliveries is known to last ``T > k - 1`` (running: the
    decision after delivery k is still open). Subscriptions without a delivery
    by as_of are left out. Grouped by (t, censored), so a shop of any size
    gives a few dozen rows for :meth:`ecrm.models.sbg.ShiftedBetaGeometric.fit`.

    Returns
    -------
    DataFrame
        t (int), censored (bool), count (int) — sorted by censored, t.
    """
    _check(lapse_days)
    s = _subscription_table(orders, engine.as_of_date(as_of), table, lapse_days)
    s = s.filter(s.deliveries >= 1)
    running = s.status == "active"
    s = s.mutate(censored=running, t=ibis.ifelse(running, s.deliveries - 1, s.deliveries))
    g = s.group_by(["censored", "t"]).agg(count=lambda x: x.count())
    out = engine.to_pandas(g.order_by(["censored", "t"]))
    return out.astype({"t": "int64", "count": "int64", "censored": "bool"})[
        ["t", "censored", "count"]
    ]


#: The splits :func:`cohort_retention` offers (SPEC §3: first product, channel).
COHORT_SPLITS = ("product_id", "channel")
#: The group of a subscription whose first delivery names no product / channel.
UNKNOWN_GROUP = "(unknown)"


def _first_delivery_attr(
    orders: engine.OrdersLike, d: ir.Table, as_of: dt.date, column: str
) -> ir.Table:
    """subscription_id → ``column`` of its first delivery's largest line (SPEC §2's rule)."""
    t = engine.orders_table(orders)
    if column not in t.columns:
        raise ColumnsError(
            f"retention split by {column} needs the orders column {column} (SPEC §1); "
            f"the orders table has {sorted(t.columns)}"
        )
    first = d.filter(d.delivery_no == 1).select("subscription_id", "order_id")
    lines = engine.upto(t, as_of)
    lines = lines.select("order_id", "amount", value=lines[column].cast("string"))
    j = first.inner_join(lines, "order_id")
    w = ibis.window(group_by=j.subscription_id, order_by=[ibis.desc(j.amount), j.value])
    j = j.mutate(_k=ibis.row_number().over(w))
    j = j.filter(j._k == 0)
    return j.select("subscription_id", group=ibis.coalesce(j.value, ibis.literal(UNKNOWN_GROUP)))


def cohort_retention(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    table: SubscriptionsLike = None,
    lapse_days: int = DEFAULT_LAPSE_DAYS,
    by: str | None = None,
    max_months: int = 12,
    censored_month: dt.date | None = None,
) -> pd.DataFrame:
    """Retention by start-month cohort: the share of each month's new subscriptions still active.

    A subscription is **active at the end of month k** (k = 0 for its start
    month) when it has not been cancelled on or before that month's last day
    (the rule of :func:`subscription_monthly`). A cell is observable when that
    month's last day is on or before ``as_of``; later cells are NaN, so a
    young cohort's row simply stops.

    Choices where SPEC leaves one: the **first product** and **channel** of a
    subscription are those of its first delivery's largest line (SPEC §2's
    rule for a first purchase; ties by the smaller value), ``(unknown)`` where
    it has none; a subscription started without any delivery by as_of (a
    subscriptions-table row only) belongs to ``(unknown)``. Without a
    subscriptions table a subscription starts on its first delivery, so the
    export's first month also holds subscriptions that began before the
    export: pass ``censored_month`` (from :func:`ecrm.analysis.censoring.censored_month`)
    to flag that cohort (``left_censored``).

    Parameters
    ----------
    orders, as_of, table, lapse_days
        As :func:`subscriptions`.
    by : {None, "product_id", "channel"}, optional
        Split each start month by the first delivery's product or channel.
    max_months : int, default 12
        Last month since start shown (k = 0 … max_months).
    censored_month : date, optional
        First day of the left-censored start month, if any.

    Returns
    -------
    DataFrame
        start_month (YYYY-MM), the ``by`` column when split, months_since_start
        (int), started (int), active (Int64; <NA> where not observable),
        retention (active / started; NaN where not observable), left_censored
        (bool) — sorted by start month, group, months since start.

    Raises
    ------
    ColumnsError
        No ``subscription_id`` (or no ``by`` column) in the orders.
    ParameterError
        An unknown ``by``, max_months < 0 or lapse_days < 1.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({
    ...     "order_id": ["1", "2", "3"], "customer_id": ["a", "a", "b"],
    ...     "ordered_at": pd.to_datetime(["2026-01-10", "2026-02-10", "2026-01-12"]),
    ...     "amount": [3000, 3000, 3000], "subscription_id": ["s1", "s1", "s2"]})
    >>> r = cohort_retention(orders, as_of="2026-04-30", max_months=3)
    >>> r["retention"].tolist()
    [1.0, 1.0, 0.5, 0.0]
    """
    _check(lapse_days)
    if by is not None and by not in COHORT_SPLITS:
        raise ParameterError(f"by must be one of {list(COHORT_SPLITS)} or None, got {by!r}")
    if int(max_months) < 0:
        raise ParameterError(f"max_months must be at least 0, got {max_months}")
    d = engine.as_of_date(as_of)
    s = _subscription_table(orders, d, table, lapse_days)
    if by is not None:
        attr = _first_delivery_attr(orders, _deliveries(orders, d), d, by)
        attr = attr.rename(_sid="subscription_id")
        s = s.left_join(attr, s.subscription_id == attr._sid).drop("_sid")
        s = s.mutate(group=ibis.coalesce(s.group, ibis.literal(UNKNOWN_GROUP)))
    else:
        s = s.mutate(group=ibis.literal(""))
    start_idx = s.started_at.year() * 12 + s.started_at.month() - 1
    cancel_idx = s.cancelled_at.year() * 12 + s.cancelled_at.month() - 1
    # months from the start month to the cancellation month: active at the end of
    # months k < lived; never cancelled (by as_of) → null, active at every month end
    s = s.mutate(start_idx=start_idx, lived=cancel_idx - start_idx)
    g = s.group_by(["start_idx", "group", "lived"]).agg(n=lambda x: x.count())
    counts = engine.to_pandas(g)
    top = int(max_months)
    last_idx = d.year * 12 + d.month - 1
    if (pd.Timestamp(d) + pd.offsets.MonthEnd(0)).date() != d:
        last_idx -= 1  # as_of's month has not ended: its month end is not observed
    key = ["start_idx", "group"]
    ks = np.arange(top + 1)
    if counts.empty:
        cohorts = pd.DataFrame({"start_idx": pd.Series(dtype="int64"), "group": []})
        started = np.zeros(0, dtype="int64")
        active = np.zeros((0, top + 1), dtype="int64")
    else:
        counts["start_idx"] = counts["start_idx"].astype("int64")
        lived = counts["lived"].astype("Float64").fillna(np.inf).to_numpy(dtype=float)
        alive = (lived[:, None] > ks[None, :]) * counts["n"].to_numpy()[:, None]
        per = pd.DataFrame(alive, columns=ks).assign(
            start_idx=counts["start_idx"], group=counts["group"], started=counts["n"]
        )
        per = per.groupby(key, sort=True).sum().reset_index()
        cohorts, started = per[key], per["started"].to_numpy(dtype="int64")
        active = per[list(ks)].to_numpy(dtype="int64")
    seen = (cohorts["start_idx"].to_numpy()[:, None] + ks[None, :]) <= last_idx
    out = cohorts.loc[cohorts.index.repeat(top + 1)].reset_index(drop=True)
    out["months_since_start"] = np.tile(ks, len(cohorts))
    out["started"] = np.repeat(started, top + 1)
    act = pd.array(active.ravel(), dtype="Int64")
    act[~seen.ravel()] = pd.NA
    out["active"] = act
    out["retention"] = act.astype("Float64").to_numpy(dtype=float, na_value=np.nan) / out[
        "started"
    ].where(out["started"] > 0)
    idx = out["start_idx"].astype("int64")
    out["start_month"] = [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in idx]
    cm = f"{censored_month:%Y-%m}" if censored_month is not None else None
    out["left_censored"] = out["start_month"] == cm
    cols = ["start_month", *([by] if by else []), "months_since_start", "started"]
    out = out.rename(columns={"group": by}) if by else out
    return out[[*cols, "active", "retention", "left_censored"]]
