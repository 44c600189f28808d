"""Cohort analysis (SPEC §3): retention and revenue of monthly acquisition cohorts.

A customer's **cohort** is the calendar month of their first purchase (an order
with net amount > 0, SPEC §1); **period** k is the number of calendar months
since the cohort month (0 = the cohort month itself). For each (cohort, k) the
table gives the cohort customers with a purchase in that month (``active``),
``retention`` = active / cohort_size, their net ``revenue`` in that month (all
their orders, returns lowering it) and the cumulative revenue per cohort
customer up to and including period k.

A cell whose month lies after the month of ``as_of`` cannot be observed yet: its
measures are missing (NaN / <NA>), never 0. An observable month without orders
is 0. The month of ``as_of`` itself is observable (partly, when as_of is not a
month end). A return dated before a customer's first purchase falls in no
period.

:func:`purchase_history` does the order-level work (lines → orders → numbered
purchases) once, so that :func:`cohort_table` and the tables of
:mod:`ecrm.analysis.ltv` can share it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from ecrm import engine
from ecrm.analysis import censoring, customers
from ecrm.errors import ParameterError
from ecrm.settings import CohortSettings, ShopSettings, section

__all__ = [
    "BY_ATTRIBUTES",
    "PurchaseHistory",
    "cohort_table",
    "history_table",
    "month_index",
    "month_label",
    "purchase_history",
]

#: First-purchase attributes a cohort can be split by (``by=``), SPEC §3.
BY_ATTRIBUTES: tuple[str, ...] = ("category", "taste", "brand", "channel", "product")


_TABLE_COLUMNS: tuple[str, ...] = (
    "cohort",
    "period",
    "cohort_size",
    "active",
    "retention",
    "revenue",
    "cum_revenue_per_customer",
    "left_censored",
)


def month_index(d: ir.DateValue) -> ir.IntegerValue:
    """Ibis expression: months since year 0 (``year * 12 + month - 1``) of a date."""
    return (d.year().cast("int64") * 12 + d.month().cast("int64") - 1).cast("int64")


def month_label(index: int) -> str:
    """``YYYY-MM`` of a :func:`month_index` value."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _month_index_of(d: dt.date) -> int:
    return d.year * 12 + d.month - 1


@dataclass(eq=False)
class PurchaseHistory:
    """Every customer's orders up to ``as_of``, numbered and dated from the first purchase.

    Made by :func:`purchase_history`; every function of :mod:`ecrm.analysis.cohort` and
    :mod:`ecrm.analysis.ltv` accepts one in place of the orders, so that the order-level
    work (lines → orders → numbered purchases) runs once for all their tables.
    Use it as a context manager, or call :meth:`release`, to free the engine's
    copy.

    Attributes
    ----------
    as_of : date
        The analysis date it was built for.
    table : ibis.Table
        One row per order of a customer with a purchase (see
        :func:`purchase_history` for the columns).
    lines : ibis.Table
        The canonical order lines it was built from (for first-purchase
        attributes).
    base : ibis.Table or None
        The materialised stored columns (None when not cached); ``table`` adds
        the derived columns to it.
    released : bool
        True once :meth:`release` has been called.
    """

    as_of: dt.date
    table: ir.Table
    lines: ir.Table
    base: ir.Table | None = None
    released: bool = False

    def release(self) -> None:
        """Free the engine's materialised copy; the history cannot be used afterwards."""
        if self.base is not None and not self.released:
            self.base.release()  # type: ignore[attr-defined]
        self.released = True

    def __enter__(self) -> PurchaseHistory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _history_base(orders: engine.OrdersLike, *, as_of: dt.date) -> ir.Table:
    """The stored columns of the history (the derived ones come from :func:`_derive`)."""
    o = engine.order_totals(orders, as_of=as_of)
    p = o.filter(o.is_purchase)
    w = ibis.window(group_by="customer_id", order_by=["ordered_at", "order_id"])
    p = p.mutate(
        k=ibis.row_number().over(w).cast("int64"),
        _prev=p.order_date.lag().over(w),
        first_purchase=p.order_date.min().over(w),
        frequency=p.count().over(w).cast("int64"),
        last_purchase=p.order_date.max().over(w),
    )
    p = p.mutate(
        gap=p.order_date.delta(p._prev, unit="day").cast("int64"),
        first_in_month=p._prev.isnull() | (month_index(p._prev) != month_index(p.order_date)),
    )
    cols = ["customer_id", "first_purchase", "frequency", "last_purchase"]
    first = p.filter(p.k == 0).select(*cols)
    r = o.filter(~o.is_purchase).inner_join(first, "customer_id")
    r = r.mutate(k=ibis.null("int64"), gap=ibis.null("int64"), first_in_month=ibis.literal(False))
    keep = ["customer_id", "order_date", "amount", "k", "gap", "first_in_month", *cols[1:]]
    return p.select(*keep).union(r.select(*keep))


def _derive(base: ir.Table) -> ir.Table:
    cohort_index = month_index(base.first_purchase)
    return base.mutate(
        is_purchase=base.k.notnull(),
        cohort_index=cohort_index,
        day=base.order_date.delta(base.first_purchase, unit="day").cast("int64"),
        period=month_index(base.order_date) - cohort_index,
    )


def history_table(orders: engine.OrdersLike, *, as_of: Any) -> ir.Table:
    """The Ibis expression of :func:`purchase_history`'s table (lazy, not materialised)."""
    return _derive(_history_base(orders, as_of=engine.as_of_date(as_of)))


def purchase_history(
    orders: engine.OrdersLike, *, as_of: Any, cache: bool = True
) -> PurchaseHistory:
    """Customers' orders up to ``as_of``, numbered and dated from the first purchase.

    The shared first step of the cohort and LTV tables, done once: order lines
    are summed per order (guests left out, orders after as_of ignored), each
    customer's purchases (orders with net amount > 0) are numbered in
    (ordered_at, order_id) order, and every order is dated relative to the
    customer's first purchase. Pass the result in place of ``orders`` to
    :func:`cohort_table` and the functions of :mod:`ecrm.analysis.ltv`.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders (SPEC §1): order_id, customer_id, ordered_at, amount.
    as_of : date or str
        Last day of the analysis, inclusive.
    cache : bool, default True
        Materialise the history in the engine (a temporary table, freed by
        :meth:`PurchaseHistory.release` or on leaving a ``with`` block);
        otherwise every table recomputes it.

    Returns
    -------
    PurchaseHistory
        Its ``table`` has one row per order of a customer with a purchase:
        customer_id; order_date; amount (net, exact decimal); is_purchase;
        k (0-based purchase number, null for a non-purchase); gap (days since
        the previous purchase, null for k = 0 and non-purchases);
        first_in_month (the customer's first purchase in that calendar month);
        first_purchase, frequency, last_purchase (the customer's);
        cohort_index (:func:`month_index` of first_purchase); day (days from
        first_purchase to order_date, negative for a return dated before it);
        period (calendar months from the cohort month).

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({
    ...     "order_id": ["1", "2"], "customer_id": ["a", "a"],
    ...     "ordered_at": pd.to_datetime(["2026-01-05", "2026-03-02"]),
    ...     "amount": [1000, 500]})
    >>> with purchase_history(orders, as_of="2026-03-31") as h:
    ...     tbl = cohort_table(h, as_of="2026-03-31")
    >>> tbl["active"].tolist()
    [1, 0, 1]
    """
    as_of_d = engine.as_of_date(as_of)
    lines = engine.orders_table(orders)
    base = _history_base(lines, as_of=as_of_d)
    if not cache:
        return PurchaseHistory(as_of=as_of_d, table=_derive(base), lines=lines)
    base = base.cache()
    return PurchaseHistory(as_of=as_of_d, table=_derive(base), lines=lines, base=base)


@contextlib.contextmanager
def history(
    orders: engine.OrdersLike | PurchaseHistory, as_of: Any, *, cache: bool = False
) -> Iterator[PurchaseHistory]:
    """``orders`` itself if it is a history for ``as_of``, else a temporary one.

    For a canonical Parquet path the history is kept in the engine with the
    file's order totals (:func:`ecrm.engine.cache.table`), so that the cohort table
    and the LTV tables of one as_of (a report's cohort and LTV pages call five)
    number the purchases once; ``ECRM_CACHE=0`` turns this off.

    ``cache``: materialise the temporary history (worth it when it is read more
    than once).
    """
    as_of_d = engine.as_of_date(as_of)
    if isinstance(orders, PurchaseHistory):
        if orders.released:
            raise ParameterError("the purchase history was released; build a new one")
        if orders.as_of != as_of_d:
            raise ParameterError(
                f"the purchase history was built for as_of {orders.as_of}, not {as_of_d}"
            )
        yield orders
        return
    if engine.cache.is_kept(orders):
        lines = engine.orders_table(orders)
        base = engine.cache.table(
            orders, ("purchase_history", as_of_d), lambda: _history_base(lines, as_of=as_of_d)
        )
        yield PurchaseHistory(as_of=as_of_d, table=_derive(base), lines=lines)
        return
    with purchase_history(orders, as_of=as_of_d, cache=cache) as h:
        yield h


def _by_column(t: ir.Table, by: str) -> tuple[str, str]:
    """(orders column, output column) of a ``by`` attribute; ColumnsError if absent."""
    attr = str(by).removeprefix("first_")
    if attr == "product_id":
        attr = "product"
    if attr not in BY_ATTRIBUTES:
        raise ParameterError(
            f"by must be one of {list(BY_ATTRIBUTES)} (a first-purchase attribute), got {by!r}"
        )
    src = "product_id" if attr == "product" else attr
    engine.require_columns(t, [src], f"cohort_table(by={by!r})")
    return src, f"first_{attr}"


def cohort_table(
    orders: engine.OrdersLike | PurchaseHistory,
    *,
    as_of: Any,
    months: int | None = None,
    by: str | None = None,
    settings: ShopSettings | CohortSettings | None = None,
    export_complete: bool | None = None,
) -> pd.DataFrame:
    """Monthly acquisition cohorts: retention and revenue by months since first purchase.

    Parameters
    ----------
    orders : DataFrame, ibis Table, path or PurchaseHistory
        Canonical orders (SPEC §1): order_id, customer_id, ordered_at, amount;
        or a :func:`purchase_history` built for the same as_of. With ``by``,
        also the attribute's column (category, taste, brand, channel or
        product_id). Guest lines (no customer_id) are left out.
    as_of : date or str
        Last day of the analysis, inclusive; later orders are ignored.
    months : int, optional
        Number of most recent cohorts shown: the cohort months from
        ``months - 1`` months before the month of as_of up to that month.
        Default ``CohortSettings.months`` (24).
    by : str, optional
        Split each cohort by a first-purchase attribute: ``"category"``,
        ``"taste"``, ``"brand"``, ``"channel"`` or ``"product"`` (also accepted
        with the ``first_`` prefix). The attribute is that of the first
        purchase's largest line (:func:`ecrm.analysis.customers.measures`); customers
        without it are in ``"(unknown)"``.
    settings : ShopSettings or CohortSettings, optional
        Source of the default ``months`` (and, a shop's, of ``export_complete``).
    export_complete : bool, optional
        Whether the export holds the shop's whole history; default from a
        shop's settings (False otherwise). When False the cohort of the
        export's first month is left-censored: every customer who bought
        before the export began is "new" in it (:mod:`ecrm.analysis.censoring`).

    Returns
    -------
    DataFrame
        One row per (cohort, period), sorted by [by column,] cohort, period:

        - ``first_<attr>`` (only with ``by``): the first-purchase attribute;
        - ``cohort`` (str ``YYYY-MM``): month of the first purchase;
        - ``period`` (int): months since the cohort month, 0 … the last
          observable period of the oldest cohort shown;
        - ``cohort_size`` (int): customers whose first purchase is in the cohort
          month;
        - ``active`` (Int64): cohort customers with a purchase in the month
          (period 0: every cohort customer);
        - ``retention`` (float): active / cohort_size;
        - ``revenue`` (float): net revenue of the cohort's customers in the month
          (all their orders; returns lower it);
        - ``cum_revenue_per_customer`` (float): revenue of periods 0 … k divided
          by cohort_size;
        - ``left_censored`` (bool): the cohort of the export's first month,
          when the export is not complete.

        Cells after the month of as_of are missing (NaN / <NA>); observable
        months without orders are 0.

    Raises
    ------
    ParameterError
        ``as_of`` is missing, ``months`` < 1 or ``by`` is not an attribute.
    ColumnsError
        The orders lack a required column, or the ``by`` attribute.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({
    ...     "order_id": ["1", "2", "3"], "customer_id": ["a", "b", "a"],
    ...     "ordered_at": pd.to_datetime(["2026-01-05", "2026-01-20", "2026-03-02"]),
    ...     "amount": [1000, 2000, 500]})
    >>> tbl = cohort_table(orders, as_of="2026-03-31")
    >>> tbl[["period", "active", "retention"]].to_dict("list")
    {'period': [0, 1, 2], 'active': [2, 0, 1], 'retention': [1.0, 0.0, 0.5]}
    """
    n = section(settings, CohortSettings).months if months is None else int(months)
    if n < 1:
        raise ParameterError(f"months must be at least 1, got {months}")
    as_of_d = engine.as_of_date(as_of)
    last = _month_index_of(as_of_d)
    with history(orders, as_of_d) as hist:
        by_col = _by_column(hist.lines, by)[1] if by is not None else None
        h = hist.table
        h = h.filter(h.cohort_index > last - n)
        keys = ["cohort_index"]
        if by_col is not None:
            attrs = customers.measures_table(hist.lines, as_of=as_of_d)
            attrs = attrs.select("customer_id", by_col)
            h = h.left_join(attrs, "customer_id").drop("customer_id_right")
            h = h.mutate(**{by_col: h[by_col].cast("string").fill_null("(unknown)")})
            keys = [by_col, "cohort_index"]
        cells = (
            h.filter(h.period >= 0)
            .group_by([*keys, "period"])
            .agg(
                active=(h.is_purchase & h.first_in_month).cast("int64").sum(),
                revenue=h.amount.sum().cast(engine.AMOUNT),
                _new=(h.k == 0).cast("int64").sum(),
            )
        )
        sizes = cells.filter(cells.period == 0).select(*keys, cohort_size=cells._new)
        periods = ibis.memtable({"period": list(range(n))}, schema={"period": "int64"})
        grid = sizes.cross_join(periods)
        grid = grid.filter(grid.cohort_index + grid.period <= last)
        grid = grid.left_join(cells, [*keys, "period"])
        grid = grid.select(
            *keys,
            "period",
            "cohort_size",
            active=grid.active.fill_null(0),
            revenue=grid.revenue.fill_null(0).cast(engine.AMOUNT),
        )
        w = ibis.window(group_by=keys, order_by="period", preceding=None, following=0)
        grid = grid.mutate(_cum=grid.revenue.sum().over(w).cast(engine.AMOUNT))
        grid = grid.mutate(
            retention=grid.active.cast("float64") / grid.cohort_size,
            cum_revenue_per_customer=grid._cum.cast("float64") / grid.cohort_size,
        ).drop("_cum")
        df = engine.to_pandas(grid)
        censored = censoring.censored_label(
            hist, settings=settings, export_complete=export_complete
        )
    out = _complete_grid(df, keys=keys, by_col=by_col, last=last, n=n)
    out["left_censored"] = out["cohort"].eq(censored).fillna(False).astype(bool)
    return out


def _complete_grid(
    df: pd.DataFrame, *, keys: list[str], by_col: str | None, last: int, n: int
) -> pd.DataFrame:
    """Add the not-yet-observable cells (missing values) and format the columns."""
    lead = [by_col] if by_col else []
    columns = [*lead, *_TABLE_COLUMNS[:-1]]
    if df.empty:
        out = pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
        for c in lead:
            out[c] = out[c].astype("string")
        out["cohort"] = out["cohort"].astype("string")
        out = out.astype({"period": "int64", "cohort_size": "int64", "active": "Int64"})
        return out
    max_period = min(n - 1, last - int(df["cohort_index"].min()))
    cohorts = df[[*keys, "cohort_size"]].drop_duplicates()
    full = cohorts.merge(pd.DataFrame({"period": range(max_period + 1)}), how="cross")
    full = full.merge(df.drop(columns="cohort_size"), on=[*keys, "period"], how="left")
    full = full.sort_values([*keys, "period"], kind="stable").reset_index(drop=True)
    full["cohort"] = full["cohort_index"].map(month_label).astype("string")
    full["period"] = full["period"].astype("int64")
    full["cohort_size"] = full["cohort_size"].astype("int64")
    full["active"] = full["active"].astype("Int64")
    for c in ("retention", "revenue", "cum_revenue_per_customer"):
        full[c] = full[c].astype("float64")
    if by_col:
        full[by_col] = full[by_col].astype("string")
    return full[columns]
