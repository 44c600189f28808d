"""The tables an analysis run shares: one (orders, as_of) pair, built on first use.

A *run* is the set of intermediate tables that the analyses of one orders
table at one ``as_of`` read again and again — the customers' lines, their
order totals and purchases, the customers and their measures, revenue by
value of category / taste / brand, each purchase's main value and the next
purchase. :class:`RunTables` builds each table on first use, in the engine,
and keeps it under a name that holds every argument it depends on:

* for a canonical Parquet file (a path), in the engine's one cache
  (:func:`ecrm.engine.cache.run`), so that the next analysis of the same file
  and as_of (a report page calls five) starts from them;
* otherwise (DataFrames, Ibis tables, ``ECRM_CACHE=0``, ``share=False``) in a
  store of the run's own, released when the run ends.

A function asks for a table by name and arguments (``run.order_mains(("category",
"brand"))``); which tables a function reads is decided by its own arguments,
never by which tables happen to be kept. The CTB tables
(:mod:`ecrm.analysis.ctb`), the recommendations (:mod:`ecrm.models.recommend`),
their hold-out check (:mod:`ecrm.models.evaluate`) and the customer clusters
(:mod:`ecrm.analysis.cluster`) use it. Guest lines and orders after as_of never
enter a run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir

from ecrm.engine import cache
from ecrm.engine.orders import (
    AMOUNT,
    OrdersLike,
    as_of_date,
    has_values,
    order_totals,
    orders_table,
    require_columns,
    stored_purchases,
    upto,
)
from ecrm.errors import ColumnsError, ParameterError

__all__ = [
    "LEVELS",
    "MAIN_LEVELS",
    "MASK_MAX_VALUES",
    "WIDE_MAX_VALUES",
    "RunTables",
    "customer_measures",
    "largest",
    "wide_measures",
]

#: The CTB levels (columns of the canonical orders), in SPEC order.
LEVELS: tuple[str, ...] = ("category", "taste", "brand")
#: Levels whose main values a run computes in one pass (:meth:`RunTables.main_levels`):
#: the default levels of the CTB page's transitions and pairs.
MAIN_LEVELS: tuple[str, ...] = ("category", "brand")
#: Per-customer revenue by value in one wide row for levels of up to this many values.
WIDE_MAX_VALUES = 16
#: Values bought as bit masks (cross-purchase pairs) for levels of up to this many values.
MASK_MAX_VALUES = 62


def customer_measures(totals: ir.Table, as_of: dt.date) -> ir.Table:
    """Customers with a purchase by ``as_of`` and their measures (SPEC §2).

    The one expression of these measures: :func:`ecrm.analysis.customers.measures_table`
    adds ``aov`` and the first-purchase attributes to it.

    Parameters
    ----------
    totals : ibis.Table
        Order totals up to as_of (:func:`ecrm.engine.order_totals`): customer_id,
        order_date, amount, is_purchase.
    as_of : date
        The last day of the analysis.

    Returns
    -------
    ibis.Table
        customer_id, frequency, monetary (exact), first_purchase,
        last_purchase, recency_days, tenure_days.
    """
    o = totals
    m = o.group_by("customer_id").agg(
        frequency=o.is_purchase.cast("int64").sum(),
        monetary=o.amount.sum().cast(AMOUNT),
        first_purchase=o.order_date.min(where=o.is_purchase),
        last_purchase=o.order_date.max(where=o.is_purchase),
    )
    m = m.filter(m.frequency > 0)
    asof = ibis.literal(as_of, type="date")
    return m.mutate(
        recency_days=asof.delta(m.last_purchase, unit="day").cast("int64"),
        tenure_days=m.last_purchase.delta(m.first_purchase, unit="day").cast("int64"),
    )


def largest(amount: ir.NumericValue, value: ir.StringValue) -> ir.StructValue:
    """A key whose minimum is the largest amount, ties by the smallest value name.

    ``min()`` of it in a group is the group's top value (field ``v``) in one
    aggregate: the same pick as ``row_number() over (order by amount desc, value)``
    but without a window, which matters on millions of orders.
    """
    return ibis.struct({"n": -amount, "v": value})


def wide_measures(w: ir.Table, level: str, names: Sequence[str]) -> dict[str, ir.Value]:
    """:meth:`RunTables.customer_levels`' measures as expressions over a customer's wide row.

    ``w`` holds the ``_r_<level>_<i>`` and ``_m_<level>`` columns of
    :meth:`RunTables.customer_wide` (null: no lines with value i, as for a
    customer missing from a left join). The largest revenue comes computed
    with the wide rows: inlined, it would be evaluated once per value for the
    pick. ``_tot`` and ``_sq`` are float sums (the shares read them as floats).

    Returns
    -------
    dict of str to ibis expression
        ``_pref``, ``_tot``, ``_max``, ``_sq``, ``_n``, ``_mask``.
    """
    k = len(names)
    rev = [w[f"_r_{level}_{i}"] for i in range(k)]
    mx = w[f"_m_{level}"].fill_null(0)
    bought = [(r > 0).fill_null(False) for r in rev]
    posf = [ibis.ifelse(b, r.cast("float64"), 0.0) for b, r in zip(bought, rev, strict=True)]
    one = ibis.literal(1, type="int64")
    mask = sum((ibis.ifelse(b, one << i, 0) for i, b in enumerate(bought)), start=one - 1)
    pref = ibis.cases(
        *[(r == mx, v) for r, v in zip(rev, names, strict=True)], else_=ibis.null("string")
    )
    return {
        "_pref": pref,
        "_tot": sum(posf[1:], start=posf[0]),
        "_max": mx,
        "_sq": sum(p * p for p in posf),
        "_n": sum(b.cast("int64") for b in bought),
        "_mask": mask if k <= MASK_MAX_VALUES else ibis.null("int64"),
    }


class RunTables:
    """The intermediate tables of a run on ``orders`` at ``as_of``, built on first use.

    Each table is computed once in the engine and kept (``Table.cache()``)
    under its name for the other analyses of the run; see the module
    docstring for where. Use it as a context manager (or call
    :meth:`release`): a run's own tables are released when it ends, kept
    ones stay in the cache.

    Parameters
    ----------
    orders : DataFrame, ibis Table, str or Path
        Canonical orders (SPEC §1).
    as_of : date or str
        The last day of the run, inclusive.
    share : bool, default True
        Keep the tables in the engine's cache when ``orders`` is a canonical
        file; False: always a store of the run's own (the hold-out check's
        cutoff run, whose tables are views of a later run).

    Attributes
    ----------
    as_of : date
    t : ibis.Table
        The orders (:func:`ecrm.engine.orders_table`).
    """

    def __init__(self, orders: OrdersLike, as_of: Any, *, share: bool = True) -> None:
        self.as_of = as_of_date(as_of)
        self.t = orders_table(orders)
        self._orders = orders
        kept = cache.run(orders, self.as_of) if share else None
        self._own = kept is None
        self._store = kept if kept is not None else cache.TableStore()
        self._has: dict[str, bool] = {}

    def __enter__(self) -> RunTables:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        """Drop the run's own tables from the backend (tables kept in the cache stay)."""
        if self._own:
            self._store.release()

    def keep(self, name: tuple[Any, ...], build: Any, *, materialise: bool = True) -> Any:
        """The run's table ``name``: ``build()``, materialised, on first request.

        Parameters
        ----------
        name : tuple
            The table's kind and every argument it depends on.
        build : callable
            Returns the Ibis table (with ``materialise=False``, any value).
        materialise : bool, default True
            Keep ``build().cache()``; False: what ``build`` returns, as is.
        """
        return self._store.get(name, build, materialise=materialise)

    def provide(self, name: tuple[Any, ...], value: Any) -> None:
        """Give a run of its own (``share=False``) a table computed elsewhere.

        The hold-out check gives its cutoff run the purchases it cut from a
        later run (:func:`ecrm.models.evaluate.evaluate_recommendations`).

        Raises
        ------
        ParameterError
            The run's tables are kept in the cache (never overwritten there).
        """
        if not self._own:
            raise ParameterError("only a run of its own (share=False) can be given tables")
        self._store.put(name, value)

    # ------------------------------------------------------------------ levels

    def check_level(self, level: str, analysis: str) -> None:
        """Raise unless ``level`` is a CTB level with values in the orders.

        Raises
        ------
        ParameterError
            ``level`` is not one of :data:`LEVELS`.
        ColumnsError
            The orders lack the column, or it is empty.
        """
        if level not in LEVELS:
            raise ParameterError(f"level must be one of {LEVELS}, got {level!r}")
        require_columns(self.t, [level], analysis)
        if not has_values(self.t, level):
            raise ColumnsError(
                f"{analysis} needs {level} values, but the orders' {level} column is empty. "
                f"Map {level} in the shop settings (`columns`, or a `product_master`) and "
                "ingest again."
            )

    def has_values(self, level: str) -> bool:
        """:func:`ecrm.engine.has_values` of the file's ``level``, read once per run."""
        if level not in self._has:
            self._has[level] = has_values(self.t, level)
        return self._has[level]

    def names(self, level: str) -> list[str]:
        """The level's values in name order (code-point order, DuckDB's byte order).

        All values of the file (also of guests and of lines after as_of, a
        superset of those the run sees), read once per run.
        """

        def build() -> list[str]:
            col = self.t[level].cast("string")
            vals = self.t.select(v=col).filter(col.notnull()).distinct().v.to_pyarrow()
            return sorted(vals.to_pylist())

        return self.keep(("names", level), build, materialise=False)

    def codes(self, level: str) -> ir.Table:
        """value, code: :meth:`names` numbered 0, 1, … (a small in-memory table)."""

        def build() -> ir.Table:
            names = self.names(level)
            return ibis.memtable(
                {"value": names, "code": list(range(len(names)))},
                schema={"value": "string", "code": "int64"},
            )

        return self.keep(("codes", level), build, materialise=False)

    def small(self, levels: Sequence[str]) -> list[str]:
        """The levels of at most :data:`WIDE_MAX_VALUES` values (see :meth:`customer_wide`)."""
        return [lv for lv in levels if len(self.names(lv)) <= WIDE_MAX_VALUES]

    def main_levels(self, level: str) -> tuple[str, ...]:
        """The levels of the :meth:`order_mains` table that :meth:`mains` of ``level`` reads.

        The :data:`MAIN_LEVELS` with values when ``level`` is one of them (the
        CTB page's transitions and pairs, the recommendations and their check
        then share one pass over the lines), else ``level`` alone.
        """
        if level in MAIN_LEVELS:
            return tuple(lv for lv in MAIN_LEVELS if lv == level or self.has_values(lv))
        return (level,)

    # ------------------------------------------------------------------ customers and orders

    @property
    def lines(self) -> ir.Table:
        """The customers' lines of the orders placed by as_of (:func:`ecrm.engine.upto`)."""
        lines = upto(self.t, self.as_of)
        return lines.filter(lines.customer_id.notnull())

    @property
    def orders(self) -> ir.Table:
        """:func:`ecrm.engine.order_totals`: every order of a customer up to as_of."""
        return self.keep(("orders",), lambda: order_totals(self.t, as_of=self.as_of))

    @property
    def purchases(self) -> ir.Table:
        """customer_id, order_id, ordered_at, order_date, amount, seq (1 = first).

        The numbering ingestion stored with the order totals when the orders
        are a file that has it (:func:`ecrm.engine.stored_purchases`: no
        window per run, and a filter of the kept order totals rather than a
        copy of them); else a window over :attr:`orders` when the run has
        built them already, else over the order totals read through their
        filter (materialising :attr:`orders` first would cost a copy that a
        function needing only the purchases does not use); a function that
        reads an :meth:`order_mains` table anyway takes the same purchases from
        it (:meth:`purchases_of`).
        """
        if ("purchases",) not in self._store:
            stored = stored_purchases(self._orders, as_of=self.as_of)
            if stored is not None:  # a filter of the kept totals: no copy
                return self.keep(("purchases",), lambda: stored, materialise=False)

        def build() -> ir.Table:
            built = ("orders",) in self._store
            o = self.orders if built else order_totals(self.t, as_of=self.as_of)
            p = o.filter(o.is_purchase).drop("is_purchase")
            w = ibis.window(group_by="customer_id", order_by=["ordered_at", "order_id"])
            return p.mutate(seq=(ibis.row_number().over(w) + 1).cast("int64"))

        return self.keep(("purchases",), build)

    @staticmethod
    def purchases_of(order_mains: ir.Table) -> ir.Table:
        """The :attr:`purchases` columns of an :meth:`order_mains` table (the same rows)."""
        cols = ("customer_id", "order_id", "ordered_at", "order_date", "amount", "seq")
        return order_mains.select(*cols)

    @property
    def customers(self) -> ir.Table:
        """Customers with a purchase and their measures (:func:`customer_measures`).

        customer_id, frequency, monetary (exact), first_purchase, last_purchase,
        recency_days, tenure_days.
        """
        return self.keep(("customers",), lambda: customer_measures(self.orders, self.as_of))

    # ------------------------------------------------------------------ revenue by value

    def customer_values(self, level: str) -> ir.Table:
        """customer_id, value (null: lines without one), revenue.

        Every non-guest customer_id with lines, also one without a purchase
        (only returns): join to :attr:`customers` to keep customers only.
        """

        def build() -> ir.Table:
            lines = self.lines
            return lines.group_by(["customer_id", lines[level].cast("string").name("value")]).agg(
                revenue=lines.amount.sum().cast(AMOUNT)
            )

        return self.keep(("customer_values", level), build)

    def customer_wide(self, levels: Sequence[str]) -> ir.Table:
        """Each customer's net revenue in every value of ``levels``, one row per customer.

        customer_id (every non-guest customer_id with lines up to as_of) and,
        for each level L and each value i of :meth:`names`, ``_r_L_i`` (net
        revenue of its lines with the value; null when it has none, as a sum
        over no rows is); ``_r_L_x``, its lines without a value (the segment
        mix and the clusters' other categories read them); ``_m_L``, the
        largest of the ``_r_L_i`` and 0. One aggregate over the lines for all
        the levels: for levels of at most :data:`WIDE_MAX_VALUES` values
        cheaper than a (customer, value) table per level and a second
        aggregate over it (each filtered sum costs about a twelfth of a
        group-by of the lines by customer and value). Kept by ``levels``: a
        function that reads several levels asks for them together.
        """
        lvls = tuple(levels)

        def build() -> ir.Table:
            lines = self.lines
            aggs = {}
            for lv in lvls:
                col = lines[lv].cast("string")
                values: list[tuple[int | str, str | None]] = list(enumerate(self.names(lv)))
                for i, v in [*values, ("x", None)]:
                    hit = col == v if v is not None else col.isnull()
                    aggs[f"_r_{lv}_{i}"] = lines.amount.sum(where=hit).cast(AMOUNT)
            w = lines.group_by("customer_id").agg(**aggs)
            zero = ibis.literal(0, type=AMOUNT)
            return w.mutate(  # the largest revenue by value, read several times per level
                **{
                    f"_m_{lv}": ibis.greatest(
                        *[w[f"_r_{lv}_{i}"] for i in range(len(self.names(lv)))], zero
                    )
                    for lv in lvls
                }
            )

        return self.keep(("customer_wide", lvls), build)

    def customer_levels(self, level: str, wide: ir.Table | None = None) -> ir.Table:
        """Per customer, its revenue by value of ``level`` summed up in one row.

        customer_id (every non-guest customer_id with lines up to as_of; in
        the long form, those with a value), ``_pref`` (the value of the
        largest net revenue, ties by name; read it only where ``_max`` > 0),
        ``_tot``, ``_max`` (sum and largest of the positive net revenues by
        value, 0 when none), ``_sq`` (sum of their squares, float), ``_n``
        (values with net revenue > 0) and ``_mask``: the values with net
        revenue > 0 as bits (bit i for code i of :meth:`codes`), null when the
        level has more than :data:`MASK_MAX_VALUES` values.

        Levels of at most :data:`WIDE_MAX_VALUES` values come from ``wide``
        (a :meth:`customer_wide` table holding the level; default the level's
        own), larger ones from :meth:`customer_values`.
        """
        if self.small([level]):  # a projection of the wide table: not worth keeping
            w = wide if wide is not None else self.customer_wide([level])
            return w.select("customer_id", **wide_measures(w, level, self.names(level)))

        def build() -> ir.Table:
            g = self.customer_values(level)
            c = self.codes(level)
            small = len(self.names(level)) <= MASK_MAX_VALUES
            bit = (ibis.literal(1, type="int64") << c.code) if small else ibis.null("int64")
            g = g.inner_join(c.select("value", _bit=bit), "value")  # drops null values
            pos = ibis.ifelse(g.revenue > 0, g.revenue, 0).cast(AMOUNT)
            posf = pos.cast("float64")
            s = g.group_by("customer_id").agg(
                _top=largest(g.revenue, g.value).min(),
                _tot=pos.sum(),
                _max=pos.max(),
                _sq=(posf * posf).sum(),
                _n=(g.revenue > 0).cast("int64").sum(),
                _mask=g._bit.bit_or(where=g.revenue > 0),
            )
            return s.select("customer_id", *s.columns[2:], _pref=s._top["v"])

        return self.keep(("customer_levels", level), build)

    # ------------------------------------------------------------------ purchases and main values

    def purchase_values(self, level: str, order_mains: ir.Table | None = None) -> ir.Table:
        """The values of each purchase: customer_id, order_id, order_date, value.

        One row per purchase and value whose lines have a net amount > 0 in
        it; order_date is the purchase's. One aggregate of the lines with a
        value, joined to the purchases of ``order_mains`` (an
        :meth:`order_mains` table holding the level, which the readers of this
        table read too; default that of :meth:`main_levels`).
        """

        def build() -> ir.Table:
            lines = self.lines
            col = lines[level].cast("string")
            lines = lines.filter(col.notnull())
            v = lines.group_by(["customer_id", "order_id", col.name("value")]).agg(
                _net=lines.amount.sum()
            )
            v = v.filter(v._net > 0)
            om = order_mains
            p = self.purchases_of(
                om if om is not None else self.order_mains(self.main_levels(level))
            )
            p = p.select("customer_id", "order_id", "order_date")
            v = v.inner_join(p, ["customer_id", "order_id"])
            return v.select("customer_id", "order_id", "order_date", "value")

        return self.keep(("purchase_values", level), build)

    def order_mains(self, levels: Sequence[str]) -> ir.Table:
        """Every purchase with the main value of each of ``levels``, from one pass over the lines.

        customer_id, order_id, ordered_at, order_date, amount, seq (the
        columns of :attr:`purchases`) and ``_c_<level>``, the code of the main
        value (:meth:`codes`; null: no line with a value); for each level of
        at most :data:`WIDE_MAX_VALUES` values, ``_b_<level>``: the purchase's
        values (:meth:`purchase_values`) as bits (bit i for code i; 0: none);
        of the customer's next purchase: ``_next_order``, ``_next_at`` (its
        time), ``_n_<level>`` and ``_nb_<level>``. Orders are atomic, as in
        :func:`ecrm.engine.order_totals` (see :attr:`lines`). The pick is
        :func:`largest`'s, computed on numbers: a struct minimum costs DuckDB
        about twice a numeric one. With the values coded 0 … K−1 in name order
        and the amount in exact units of 0.0001, the minimum of
        −units·K + code over the order's lines with a value is the largest
        line's, ties by the smallest code; adding back max(units)·K leaves the
        code. Exact in ``int64`` while |units·K| < 2⁶² (every line under 10¹⁰
        and K·max |amount| under about 4.6·10¹⁴: any real shop), else in
        ``decimal(38, 0)``, exact for any amount but about twice as slow (DuckDB
        aggregates 128-bit decimals no faster than structs).

        The value bits are those of the positive lines, as a bitwise or in the
        same aggregate: a value's net amount in an order is > 0 when its lines
        are all ≥ 0 and one is > 0. Purchases with a negative line with a value
        (rare: returns are usually orders of their own) are corrected from
        their lines' net amounts by value (:meth:`_net_bits`).

        Kept by ``levels`` (in the given order): see :meth:`main_levels`.
        """
        lvls = tuple(levels)
        bits = tuple(self.small(lvls))
        return self.keep(
            ("order_mains", lvls, bits), lambda: self._order_mains(lvls, bits), materialise=False
        )

    def _order_mains(self, lvls: tuple[str, ...], bits: tuple[str, ...]) -> ir.Table:
        lines = self.lines
        sizes = {lv: max(len(self.names(lv)), 1) for lv in lvls}
        top = self.t.amount.abs().max().to_pyarrow().as_py()
        top = float(top) if top is not None else 0.0
        if top < 1e10 and top * 1e4 * max(sizes.values(), default=1) < 2.0**62:
            units = (lines.amount * 10_000).cast("int64")
        else:
            units = (lines.amount.cast("decimal(38, 4)") * 10_000).cast("decimal(38, 0)")
        lines = lines.mutate(_units=units)
        for lv in lvls:
            c = self.codes(lv)
            c = c.select(**{f"_v_{lv}": "value", f"_c_{lv}": "code"})
            lines = lines.left_join(c, lines[lv].cast("string") == c[f"_v_{lv}"])
        aggs = {}
        one = ibis.literal(1, type="int64")
        for lv in lvls:
            code, has = lines[f"_c_{lv}"], lines[f"_c_{lv}"].notnull()
            aggs[f"_k_{lv}"] = (-lines._units * sizes[lv] + code).min(where=has)
            aggs[f"_u_{lv}"] = lines._units.max(where=has)
            if lv in bits:
                aggs[f"_p_{lv}"] = (one << code).bit_or(where=has & (lines.amount > 0))
                aggs[f"_q_{lv}"] = (one << code).bit_or(where=has & (lines.amount < 0))
        o = lines.group_by(["customer_id", "order_id"]).agg(
            ordered_at=lines.ordered_at.min(), _net=lines.amount.sum(), **aggs
        )
        o = o.filter(o._net > 0)
        o = o.select(
            "customer_id",
            "order_id",
            "ordered_at",
            order_date=o.ordered_at.date(),
            amount=o._net.cast(AMOUNT),
            **{
                f"_c_{lv}": (o[f"_k_{lv}"] + o[f"_u_{lv}"] * sizes[lv]).cast("int64") for lv in lvls
            },
            **{f"_b_{lv}": o[f"_p_{lv}"].fill_null(0) for lv in bits},
            **{f"_q_{lv}": o[f"_q_{lv}"] for lv in bits},
        )
        kept = o.cache() if bits else None  # read twice: checked for negative lines, then numbered
        try:
            if kept is not None:
                o = kept
                negative = o.aggregate(**{lv: o[f"_q_{lv}"].notnull().any() for lv in bits})
                negative = negative.to_pyarrow().to_pylist()[0]
                for lv in bits:  # purchases with a negative line with a value: net by value
                    if negative[lv]:
                        fix = self._net_bits(lv, o.filter(o[f"_q_{lv}"].notnull()))
                        j = o.left_join(fix, ["customer_id", "order_id"])
                        b = ibis.ifelse(j._lines.notnull(), j._bits.fill_null(0), j[f"_b_{lv}"])
                        o = j.mutate(**{f"_b_{lv}": b})
                        o = o.drop("customer_id_right", "order_id_right", "_lines", "_bits")
                o = o.drop(*[f"_q_{lv}" for lv in bits])
            w = ibis.window(group_by="customer_id", order_by=["ordered_at", "order_id"])
            return o.mutate(
                seq=(ibis.row_number().over(w) + 1).cast("int64"),
                _next_order=o.order_id.lead().over(w),
                _next_at=o.ordered_at.lead().over(w),
                **{f"_n_{lv}": o[f"_c_{lv}"].lead().over(w) for lv in lvls},
                **{f"_nb_{lv}": o[f"_b_{lv}"].lead().over(w) for lv in bits},
            ).cache()
        finally:
            if kept is not None:
                kept.release()

    def _net_bits(self, level: str, orders: ir.Table) -> ir.Table:
        """The values of ``orders`` (customer_id, order_id) as bits, from their lines' net amounts.

        customer_id, order_id, _lines (their lines with a value), _bits (the
        values whose lines' net amount in the order is > 0, bit i for code i
        of :meth:`codes`; null: none): :meth:`order_mains`'s correction of the
        value bits it takes from the positive lines, for the orders with a
        negative line with a value.
        """
        lines = self.lines
        lines = lines.mutate(value=lines[level].cast("string"))
        lines = lines.filter(lines.value.notnull())
        lines = lines.semi_join(
            orders.select("customer_id", "order_id"), ["customer_id", "order_id"]
        )
        g = lines.group_by(["customer_id", "order_id", "value"]).agg(
            _v=lines.amount.sum(), _k=lines.count()
        )
        g = g.inner_join(self.codes(level), "value")
        one = ibis.literal(1, type="int64")
        return g.group_by(["customer_id", "order_id"]).agg(
            _lines=g._k.sum(), _bits=(one << g.code).bit_or(where=g._v > 0)
        )

    def mains(self, level: str, order_mains: ir.Table | None = None) -> ir.Table:
        """Every purchase with its main value: customer_id, order_id, ordered_at, seq, main.

        The main value is the value of the purchase's largest line among those
        with a value, ties by value name (null: no line with a value): from
        ``order_mains`` (an :meth:`order_mains` table holding the level;
        default that of :meth:`main_levels`).
        """
        table = (
            order_mains if order_mains is not None else self.order_mains(self.main_levels(level))
        )
        c = self.codes(level)
        j = table.left_join(c, table[f"_c_{level}"] == c.code)
        return j.select("customer_id", "order_id", "ordered_at", "seq", main=j.value)

    def pairs(self, level: str, order_mains: ir.Table | None = None) -> ir.Table:
        """Consecutive purchases: customer_id, main, next_order, next_main (both mains set).

        From ``order_mains`` (as in :meth:`mains`), whose window already
        looked one purchase ahead.
        """
        table = (
            order_mains if order_mains is not None else self.order_mains(self.main_levels(level))
        )
        s = table.filter(table[f"_c_{level}"].notnull() & table[f"_n_{level}"].notnull())
        c = self.codes(level)
        a = c.select(_a="code", main="value")
        n = c.select(_b="code", next_main="value")
        s = s.inner_join(a, s[f"_c_{level}"] == a._a)
        s = s.inner_join(n, s[f"_n_{level}"] == n._b)
        return s.select("customer_id", "main", next_order="_next_order", next_main="next_main")
