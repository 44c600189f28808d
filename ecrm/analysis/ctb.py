"""CTB analysis (SPEC §3): category, taste and brand preferences and next purchases.

C, T and B are the ``category``, ``taste`` and ``brand`` columns of the canonical
orders (SPEC §1), filled from the cart export or a product master. Each is a
*level* here; every analysis takes one level or all the levels the orders have.

Shared definitions (SPEC §1, and where SPEC is silent, the choices below):

* **customers** are non-guest customer_ids with at least one **purchase** (an
  order with net amount > 0) on or before ``as_of``; orders after ``as_of`` are
  never read; guest lines are left out;
* **revenue** of a customer in a value (a category, taste or brand) is the net
  sum of the customer's lines with that value in all orders up to ``as_of``, so
  returns lower it; lines whose value is empty are left out of preferences,
  transitions and pairs, and shown as ``"(unknown)"`` in the segment mix;
* a customer **bought** a value when that net revenue is > 0;
* the **values of a purchase** are the values whose net amount within that
  order is > 0; its **main value** is the value of its largest line among the
  lines that have one (ties by value name) — SPEC §2's rule for the first
  purchase's attributes, applied to every purchase — so every purchase counts
  once in a transition matrix and each row of the matrix is a probability
  distribution;
* a customer's purchases are ordered by (ordered_at, order_id), like
  :mod:`ecrm.analysis.ltv`; a second order on the same day is the next purchase.

Money is summed exactly (decimal) in the engine; shares, rates and scores are
float64 in the returned tables.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import warnings
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ecrm import engine
from ecrm.analysis import customers
from ecrm.errors import ColumnsError, ParameterError
from ecrm.settings import CtbSettings, LtvSettings, ShopSettings

__all__ = [
    "DEFAULT_EVAL_HORIZON_DAYS",
    "DEFAULT_HALF_LIFE_DAYS",
    "DEFAULT_PRIOR_STRENGTH",
    "DEFAULT_TRANSITION_WEIGHT",
    "LEVELS",
    "METHODS",
    "REASONS",
    "UNKNOWN",
    "available_levels",
    "cross_purchase",
    "ctb_mix",
    "ctb_tables",
    "evaluate_recommendations",
    "first_purchase_ctb",
    "preferences",
    "recommend",
    "transitions",
]

Level = Literal["category", "taste", "brand"]
#: The CTB levels, in SPEC order.
LEVELS: tuple[str, ...] = ("category", "taste", "brand")
#: Value shown for lines without a value (segment mix, first-purchase tables).
UNKNOWN = "(unknown)"

#: Recommendation model defaults (see :func:`recommend`).
DEFAULT_HALF_LIFE_DAYS = 365.0
DEFAULT_PRIOR_STRENGTH: float | None = None  # None: estimated from the data (empirical Bayes)
DEFAULT_TRANSITION_WEIGHT = 0.5
#: Hold-out window of :func:`evaluate_recommendations`, in days after the cutoff.
DEFAULT_EVAL_HORIZON_DAYS = 180

_MAX_MASK_VALUES = 62  # cross-purchase pairs by bit masks up to this many values
_WIDE_MAX_VALUES = 16  # per-customer revenue by value in one wide row up to this many values
_RHO_MIN, _RHO_MAX = 0.001, 0.999  # bounds of the estimated intra-class correlation
_NO_LAST = "\x00"  # key of customers without a last main value (never a real value)

#: Display names (Japanese, English) of the recommendation reasons and methods.
REASONS: dict[str, tuple[str, str]] = {
    "history": ("購入履歴", "own history"),
    "transition": ("前回購入からの遷移", "after last purchase"),
    "popular": ("人気", "popular"),
}
METHODS: dict[str, tuple[str, str]] = {
    "model": ("推薦モデル", "model"),
    "popularity": ("人気上位（ベースライン）", "popularity baseline"),
}


# --------------------------------------------------------------------------- helpers


def _ctb_settings(settings: ShopSettings | CtbSettings | None) -> CtbSettings:
    if settings is None:
        return CtbSettings()
    return settings.analysis.ctb if isinstance(settings, ShopSettings) else settings


def _check_level(t: ir.Table, level: str, analysis: str) -> None:
    if level not in LEVELS:
        raise ParameterError(f"level must be one of {LEVELS}, got {level!r}")
    engine.require_columns(t, [level], analysis)
    if not engine.has_values(t, level):
        raise ColumnsError(
            f"{analysis} needs {level} values, but the orders' {level} column is empty. "
            f"Map {level} in the shop settings (`columns`, or a `product_master`) and "
            "ingest again."
        )


def available_levels(orders: engine.OrdersLike, *, analysis: str = "CTB analysis") -> list[str]:
    """The CTB levels the orders have values for, in SPEC order.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders.
    analysis : str
        Name used in the error message.

    Returns
    -------
    list of str
        A non-empty subset of ``["category", "taste", "brand"]``.

    Raises
    ------
    ColumnsError
        The orders have none of category, taste and brand (or only empty ones).
    """
    t = engine.orders_table(orders)
    have = [lv for lv in LEVELS if engine.has_values(t, lv)]
    if not have:
        raise ColumnsError(
            f"{analysis} needs at least one of the columns category, taste, brand with "
            f"values; the orders have {sorted(t.columns)}. Map them in the shop settings "
            "(`columns`, or a `product_master` for category/taste/brand) and ingest again."
        )
    return have


def _levels(orders: ir.Table, levels: Sequence[str] | None, analysis: str) -> list[str]:
    have = available_levels(orders, analysis=analysis)
    if levels is None:
        missing = [lv for lv in LEVELS if lv not in have]
        if missing:
            warnings.warn(
                f"{analysis}: the orders have no {' / '.join(missing)} values; "
                f"computed for {' / '.join(have)} only.",
                UserWarning,
                stacklevel=3,
            )
        return have
    for lv in levels:
        _check_level(orders, lv, analysis)
    return list(levels)


def _largest(amount: ir.NumericValue, value: ir.StringValue) -> ir.StructValue:
    """A key whose minimum is the largest amount, ties by the smallest value name.

    ``min()`` of it in a group is the group's top value (field ``v``) in one
    aggregate: the same pick as ``row_number() over (order by amount desc, value)``
    but without a window, which matters on millions of orders.
    """
    return ibis.struct({"n": -amount, "v": value})


#: Intermediate tables of the latest CTB runs on canonical files, by
#: ((path, mtime, size), as_of), newest last: see :class:`_Base`.
_SHARED: OrderedDict[tuple[Any, dt.date], dict[tuple[Any, ...], ir.Table]] = OrderedDict()
_SHARED_SIZE = 2


def _release(memo: dict[tuple[Any, ...], ir.Table]) -> None:
    for table in memo.values():
        with contextlib.suppress(Exception):
            table.release()  # type: ignore[attr-defined]
    memo.clear()


def _shared_memo(key: tuple[Any, dt.date]) -> dict[tuple[Any, ...], ir.Table]:
    """The intermediate tables kept for a canonical file at an as_of.

    Least recently used first out, two kept: on a 1M-customer shop the tables of
    one as_of take about 1 GB of DuckDB memory, and a third set pushed DuckDB
    over its memory limit into spilling, which cost more than it saved.
    """
    memo = _SHARED.pop(key, None)
    memo = {} if memo is None else memo
    _SHARED[key] = memo
    while len(_SHARED) > _SHARED_SIZE:
        _release(_SHARED.popitem(last=False)[1])
    return memo


class _Base:
    """The intermediate tables of a CTB run at ``as_of``, built on first use.

    Each table is computed once in the engine and kept there (``Table.cache()``,
    a temporary table of the backend) for the other analyses of the run. For a
    canonical Parquet path the tables outlive the run: the next CTB function
    called on the same file and as_of (a report page calls five) starts from
    them. They are keyed by the file's path, size and modification time (a
    rewritten file is never served stale), only the two latest (file, as_of)
    pairs are kept, and ``ECRM_CACHE=0`` turns the sharing off. Tables of
    DataFrames and Ibis tables, and of a run made with ``share=False`` (the
    hold-out check's own runs), are released when the run ends
    (:meth:`release`, or leaving the ``with`` block). Guest lines and orders
    after as_of never enter.
    """

    def __init__(self, orders: engine.OrdersLike, as_of: Any, *, share: bool = True) -> None:
        self.as_of = engine.as_of_date(as_of)
        self.t = engine.orders_table(orders)
        key = engine.cache_key(orders) if share else None
        self._shared = key is not None
        self._memo: dict[tuple[Any, ...], ir.Table] = (
            _shared_memo((key, self.as_of)) if key is not None else {}
        )
        self._names: dict[str, list[str]] = {}
        self._has: dict[str, bool] = {}

    def __enter__(self) -> _Base:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        """Drop the cached tables from the backend (kept when shared, see below)."""
        if not self._shared:
            _release(self._memo)

    def _keep(self, key: tuple[Any, ...], build: Callable[[], ir.Table]) -> ir.Table:
        if key not in self._memo:
            self._memo[key] = build().cache()
        return self._memo[key]

    @property
    def lines(self) -> ir.Table:
        """The customers' lines of the orders placed by as_of (:func:`ecrm.engine.upto`)."""
        lines = engine.upto(self.t, self.as_of)
        return lines.filter(lines.customer_id.notnull())

    @property
    def orders(self) -> ir.Table:
        """:func:`ecrm.engine.order_totals`: every order of a customer up to as_of."""
        return self._keep(("orders",), lambda: engine.order_totals(self.t, as_of=self.as_of))

    @property
    def purchases(self) -> ir.Table:
        """customer_id, order_id, ordered_at, order_date, amount, seq (1 = first).

        A projection of the run's :meth:`order_mains` table when it holds one
        (the same purchases, numbered by the same window), else a window over
        :attr:`orders`.
        """
        table = self._order_mains_of(None)
        if table is not None:
            cols = ("customer_id", "order_id", "ordered_at", "order_date", "amount", "seq")
            return table.select(*cols)

        def build() -> ir.Table:
            o = self.orders
            p = o.filter(o.is_purchase).drop("is_purchase")
            w = ibis.window(group_by="customer_id", order_by=["ordered_at", "order_id"])
            return p.mutate(seq=(ibis.row_number().over(w) + 1).cast("int64"))

        return self._keep(("purchases",), build)

    @property
    def customers(self) -> ir.Table:
        """Customers with a purchase and their measures (SPEC §2).

        customer_id, frequency, monetary (exact), first_purchase, last_purchase,
        recency_days, tenure_days.
        """

        def build() -> ir.Table:
            o = self.orders
            m = o.group_by("customer_id").agg(
                frequency=o.is_purchase.cast("int64").sum(),
                monetary=o.amount.sum().cast(engine.AMOUNT),
                first_purchase=o.order_date.min(where=o.is_purchase),
                last_purchase=o.order_date.max(where=o.is_purchase),
            )
            m = m.filter(m.frequency > 0)
            asof = ibis.literal(self.as_of, type="date")
            return m.mutate(
                recency_days=asof.delta(m.last_purchase, unit="day").cast("int64"),
                tenure_days=m.last_purchase.delta(m.first_purchase, unit="day").cast("int64"),
            )

        return self._keep(("customers",), build)

    def customer_values(self, level: str) -> ir.Table:
        """customer_id, value (null: lines without one), revenue.

        Every non-guest customer_id with lines, also one without a purchase
        (only returns): join to :attr:`customers` to keep customers only.
        """

        def build() -> ir.Table:
            lines = self.lines
            return lines.group_by(["customer_id", lines[level].cast("string").name("value")]).agg(
                revenue=lines.amount.sum().cast(engine.AMOUNT)
            )

        return self._keep(("customer_values", level), build)

    def customer_wide(self, levels: Sequence[str], unknown: Sequence[str] = ()) -> ir.Table:
        """Each customer's net revenue in every value of ``levels``, one row per customer.

        customer_id (every non-guest customer_id with lines up to as_of) and,
        for each level L and each value i of :meth:`names`, ``_r_L_i`` (net
        revenue of its lines with the value; null when it has none, as a sum
        over no rows is); ``_m_L``, the largest of them and 0; for the levels
        in ``unknown`` also ``_r_L_x``, its lines without a value (only the
        segment mix reads them). One aggregate
        over the lines for all the levels: for levels of at most
        :data:`_WIDE_MAX_VALUES` values cheaper than a (customer, value) table
        per level and a second aggregate over it (each filtered sum costs about
        a twelfth of a group-by of the lines by customer and value).
        """
        lvls, unk = tuple(levels), tuple(lv for lv in levels if lv in unknown)

        def build() -> ir.Table:
            lines = self.lines
            aggs = {}
            for lv in lvls:
                col = lines[lv].cast("string")
                values: list[tuple[int | str, str | None]] = list(enumerate(self.names(lv)))
                for i, v in values + ([("x", None)] if lv in unk else []):
                    hit = col == v if v is not None else col.isnull()
                    aggs[f"_r_{lv}_{i}"] = lines.amount.sum(where=hit).cast(engine.AMOUNT)
            w = lines.group_by("customer_id").agg(**aggs)
            zero = ibis.literal(0, type=engine.AMOUNT)
            return w.mutate(  # the largest revenue by value, read several times per level
                **{
                    f"_m_{lv}": ibis.greatest(
                        *[w[f"_r_{lv}_{i}"] for i in range(len(self.names(lv)))], zero
                    )
                    for lv in lvls
                }
            )

        return self._keep(("customer_wide", lvls, unk), build)

    def has_values(self, level: str) -> bool:
        """:func:`ecrm.engine.has_values` of the file's ``level``, read once per run."""
        if level not in self._has:
            self._has[level] = engine.has_values(self.t, level)
        return self._has[level]

    def small(self, levels: Sequence[str]) -> list[str]:
        """The levels of at most :data:`_WIDE_MAX_VALUES` values (see :meth:`customer_wide`)."""
        return [lv for lv in levels if len(self.names(lv)) <= _WIDE_MAX_VALUES]

    def wide_for(self, levels: Sequence[str], unknown: Sequence[str] = ()) -> ir.Table:
        """A :meth:`customer_wide` table holding every level of ``levels`` (all small).

        The run's when one holds them all (and the ``unknown`` sums), else a
        new one for ``levels``, with the unknown sums of all of them: they cost
        little next to the grouping, and a later segment mix of one of these
        levels (a report page's last table) then reads the same table.
        """
        for key, table in self._memo.items():
            if key[0] != "customer_wide":
                continue
            if set(levels) <= set(key[1]) and set(unknown) <= set(key[2]):
                return table
        return self.customer_wide(levels, levels)

    def _wide_of(self, level: str, unknown: bool = False) -> ir.Table | None:
        """A :meth:`customer_wide` table holding ``level``, or None for a large level."""
        if not self.small([level]):
            return None
        return self.wide_for([level], [level] if unknown else [])

    def customer_levels(self, level: str) -> ir.Table:
        """Per customer, its revenue by value of ``level`` summed up in one row.

        customer_id (every non-guest customer_id with lines up to as_of; in
        the long form, those with a value), ``_pref`` (the value of the
        largest net revenue, ties by name; read it only where ``_max`` > 0),
        ``_tot``, ``_max`` (sum and largest of the positive net revenues by
        value, 0 when none), ``_sq`` (sum of their squares, float), ``_n``
        (values with net revenue > 0) and ``_mask``: the values with net
        revenue > 0 as bits (bit i for code i of :meth:`codes`), null when the
        level has more than :data:`_MAX_MASK_VALUES` values.
        :func:`preferences` reads the measures, :func:`cross_purchase` the masks.

        Levels of at most :data:`_WIDE_MAX_VALUES` values come from
        :meth:`customer_wide`, larger ones from :meth:`customer_values`.
        """

        w = self._wide_of(level)
        if w is not None:  # a projection of the wide table: not worth keeping
            return w.select("customer_id", **_wide_measures(w, level, self.names(level)))

        def build() -> ir.Table:
            g = self.customer_values(level)
            c = self.codes(level)
            small = len(self.names(level)) <= _MAX_MASK_VALUES
            bit = (ibis.literal(1, type="int64") << c.code) if small else ibis.null("int64")
            g = g.inner_join(c.select("value", _bit=bit), "value")  # drops null values
            pos = ibis.ifelse(g.revenue > 0, g.revenue, 0).cast(engine.AMOUNT)
            posf = pos.cast("float64")
            s = g.group_by("customer_id").agg(
                _top=_largest(g.revenue, g.value).min(),
                _tot=pos.sum(),
                _max=pos.max(),
                _sq=(posf * posf).sum(),
                _n=(g.revenue > 0).cast("int64").sum(),
                _mask=g._bit.bit_or(where=g.revenue > 0),
            )
            return s.select("customer_id", *s.columns[2:], _pref=s._top["v"])

        return self._keep(("customer_levels", level), build)

    def purchase_values(self, level: str) -> ir.Table:
        """The values of each purchase: customer_id, order_id, order_date, value.

        One row per purchase (:attr:`purchases`) and value whose lines have a
        net amount > 0 in it; order_date is the purchase's. One aggregate of the
        lines with a value, joined to the purchases.
        """

        def build() -> ir.Table:
            lines = self.lines
            col = lines[level].cast("string")
            lines = lines.filter(col.notnull())
            v = lines.group_by(["customer_id", "order_id", col.name("value")]).agg(
                _net=lines.amount.sum()
            )
            v = v.filter(v._net > 0)
            p = self.purchases.select("customer_id", "order_id", "order_date")
            v = v.inner_join(p, ["customer_id", "order_id"])
            return v.select("customer_id", "order_id", "order_date", "value")

        return self._keep(("purchase_values", level), build)

    def names(self, level: str) -> list[str]:
        """The level's values in name order (code-point order, DuckDB's byte order).

        All values of the file (also of guests and of lines after as_of, a
        superset of those the run sees), read once per run.
        """
        if level not in self._names:
            if ("codes", level) in self._memo:
                names = self._memo[("codes", level)].value.to_pyarrow().to_pylist()
            else:
                col = self.t[level].cast("string")
                vals = self.t.select(v=col).filter(col.notnull()).distinct().v.to_pyarrow()
                names = vals.to_pylist()
            self._names[level] = sorted(names)
        return self._names[level]

    def codes(self, level: str) -> ir.Table:
        """value, code: :meth:`names` numbered 0, 1, … (a small in-memory table)."""
        key = ("codes", level)
        if key not in self._memo:
            names = self.names(level)
            self._memo[key] = ibis.memtable(
                {"value": names, "code": list(range(len(names)))},
                schema={"value": "string", "code": "int64"},
            )
        return self._memo[key]

    def order_mains(self, levels: Sequence[str]) -> ir.Table:
        """Every purchase with the main value of each of ``levels``, from one pass over the lines.

        customer_id, order_id, ordered_at, order_date, amount, seq (the
        columns of :attr:`purchases`, which then reads them from here) and
        ``_c_<level>``, the code of the main value (:meth:`codes`; null: no
        line with a value); for each level of at most :data:`_WIDE_MAX_VALUES`
        values, ``_b_<level>``: the purchase's values (:meth:`purchase_values`)
        as bits (bit i for code i; 0: none); of the customer's next purchase:
        ``_next_order``, ``_next_at`` (its time), ``_n_<level>`` and
        ``_nb_<level>``. Orders are atomic, as in
        :func:`ecrm.engine.order_totals` (see :attr:`lines`). The pick is
        :func:`_largest`'s, computed on numbers: a struct minimum costs DuckDB
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
        """
        lvls = tuple(levels)

        key = ("order_mains", *lvls)
        if key in self._memo:
            return self._memo[key]
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
        bits = self.small(lvls)
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
            amount=o._net.cast(engine.AMOUNT),
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
            table = o.mutate(
                seq=(ibis.row_number().over(w) + 1).cast("int64"),
                _next_order=o.order_id.lead().over(w),
                _next_at=o.ordered_at.lead().over(w),
                **{f"_n_{lv}": o[f"_c_{lv}"].lead().over(w) for lv in lvls},
                **{f"_nb_{lv}": o[f"_b_{lv}"].lead().over(w) for lv in bits},
            ).cache()
        finally:
            if kept is not None:
                kept.release()
        self._memo[key] = table
        return table

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

    def _order_mains_of(self, level: str | None) -> ir.Table | None:
        """The run's :meth:`order_mains` table that holds ``level`` (None: any), if any."""
        for key, table in self._memo.items():
            if key[0] == "order_mains" and (level is None or level in key[1:]):
                return table
        return None

    def mains(self, level: str) -> ir.Table:
        """Every purchase with its main value: customer_id, order_id, ordered_at, seq, main.

        The main value is the value of the purchase's largest line among those
        with a value, ties by value name (null: no line with a value): from the
        run's :meth:`order_mains` table that holds the level, else from a new
        one-level one.
        """
        table = self._order_mains_of(level)
        return self.mains_of(table if table is not None else self.order_mains([level]), level)

    def mains_of(self, table: ir.Table, level: str) -> ir.Table:
        """The :meth:`mains` columns of an :meth:`order_mains` table."""
        c = self.codes(level)
        j = table.left_join(c, table[f"_c_{level}"] == c.code)
        return j.select("customer_id", "order_id", "ordered_at", "seq", main=j.value)

    def pairs(self, level: str) -> ir.Table:
        """Consecutive purchases: customer_id, main, next_order, next_main (both mains set).

        From the run's :meth:`order_mains` table that holds the level (its
        window already looked one purchase ahead), else from a new one.
        """
        table = self._order_mains_of(level)
        table = table if table is not None else self.order_mains([level])
        s = table.filter(table[f"_c_{level}"].notnull() & table[f"_n_{level}"].notnull())
        c = self.codes(level)
        a = c.select(_a="code", main="value")
        n = c.select(_b="code", next_main="value")
        s = s.inner_join(a, s[f"_c_{level}"] == a._a)
        s = s.inner_join(n, s[f"_n_{level}"] == n._b)
        return s.select("customer_id", "main", next_order="_next_order", next_main="next_main")


def _transition_table(b: _Base, level: str) -> ir.Table:
    """from_value, to_value, pairs between consecutive purchases' main values."""
    s = b.pairs(level)
    return s.group_by(from_value=s.main, to_value=s.next_main).agg(pairs=s.count().cast("int64"))


# --------------------------------------------------------------------------- preferences


def preferences(
    orders: engine.OrdersLike, *, as_of: Any, levels: Sequence[str] | None = None
) -> pd.DataFrame:
    """Each customer's preferred category, taste and brand, and how concentrated it is.

    For each level, a customer's revenue share of a value is its positive net
    revenue in the value over the sum of its positive net revenues in all values
    of the level (values whose net revenue is ≤ 0, e.g. fully returned, count 0;
    lines without a value are left out).

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders (SPEC §1): order_id, customer_id, ordered_at, amount and
        at least one of category, taste, brand.
    as_of : date or str
        Last day of the analysis, inclusive; later orders are ignored.
    levels : sequence of str, optional
        Levels to compute; default every level the orders have values for (a
        ``UserWarning`` names the missing ones).

    Returns
    -------
    DataFrame
        One row per customer (a purchase by as_of), sorted by customer_id:
        customer_id, then for each level L:

        - ``L`` (str): preferred value, the largest net revenue (ties by value
          name); missing when the customer has no positive revenue in a value;
        - ``L_share`` (float): the preferred value's revenue share;
        - ``L_hhi`` (float): Herfindahl index Σ share² (1 = a single value,
          1/n = n values bought evenly);
        - ``L_values`` (int): number of values bought (net revenue > 0).

    Raises
    ------
    ColumnsError
        The orders have no category, taste or brand values (or lack a level
        named in ``levels``).

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({"order_id": ["1", "1", "2"], "customer_id": ["a"] * 3,
    ...     "ordered_at": pd.to_datetime(["2026-01-01"] * 2 + ["2026-02-01"]),
    ...     "amount": [3000, 1000, 0], "category": ["top", "bag", "bag"]})
    >>> p = preferences(orders, as_of="2026-03-31", levels=["category"])
    >>> p.iloc[0].to_dict()
    {'customer_id': 'a', 'category': 'top', 'category_share': 0.75, \
'category_hhi': 0.625, 'category_values': 2}
    """
    with _Base(orders, as_of) as b:
        lvls = _levels(b.t, levels, "CTB preferences")
        return _preferences(b, lvls)


def _wide_measures(w: ir.Table, level: str, names: Sequence[str]) -> dict[str, ir.Value]:
    """:meth:`_Base.customer_levels`' measures as expressions over a customer's wide row.

    ``w`` holds the ``_r_<level>_<i>`` and ``_m_<level>`` columns of
    :meth:`_Base.customer_wide` (null: no lines with value i, as for a customer
    missing from a left join). The largest revenue comes computed with the
    wide rows: inlined, it would be evaluated once per value for the pick.
    ``_tot`` and ``_sq`` are float sums (the shares read them as floats).
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
        "_mask": mask if k <= _MAX_MASK_VALUES else ibis.null("int64"),
    }


def _preference_columns(level: str, m: Mapping[str, ir.Value] | ir.Table) -> dict[str, ir.Value]:
    """The :func:`preferences` columns of a level from its customer measures ``m``."""
    tot = m["_tot"].cast("float64")
    return {
        level: ibis.ifelse(m["_max"] > 0, m["_pref"], None),
        f"{level}_share": ibis.ifelse(tot > 0, m["_max"].cast("float64") / tot, None),
        f"{level}_hhi": ibis.ifelse(tot > 0, m["_sq"] / (tot * tot), None),
        f"{level}_values": m["_n"],
    }


def _preferences(b: _Base, lvls: Sequence[str]) -> pd.DataFrame:
    out = b.customers.select("customer_id")
    small = b.small(lvls)
    if small:  # every small level from one join to the wide rows
        j = out.left_join(b.wide_for(small), "customer_id")
        cols: dict[str, ir.Value] = {}
        for lv in small:
            cols.update(_preference_columns(lv, _wide_measures(j, lv, b.names(lv))))
        out = j.select("customer_id", **cols)
    for lv in lvls:
        if lv not in small:
            per = b.customer_levels(lv)
            per = per.select("customer_id", **_preference_columns(lv, per))
            out = out.left_join(per, "customer_id").drop("customer_id_right")
    order = [c for lv in lvls for c in (lv, f"{lv}_share", f"{lv}_hhi", f"{lv}_values")]
    df = engine.to_pandas(out.select("customer_id", *order).order_by("customer_id"))
    for lv in lvls:
        df[f"{lv}_values"] = df[f"{lv}_values"].fillna(0).astype("int64")
    return df.reset_index(drop=True)


# --------------------------------------------------------------------------- first purchase


def first_purchase_ctb(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    levels: Sequence[str] | None = None,
    horizon_days: int | None = None,
    settings: ShopSettings | LtvSettings | None = None,
) -> pd.DataFrame:
    """F2 rate and 360-day LTV by the category / taste / brand of the first purchase.

    The first-purchase value is SPEC §2's ``first_category`` (``first_taste``,
    ``first_brand``): the value of the first purchase's largest line. The cohort
    is every customer observable for ``horizon_days`` after the first purchase:
    first_purchase + horizon_days ≤ as_of (so young customers do not pull the
    rates down). For each of them:

    - F2: a second purchase within ``horizon_days`` of the first (day first +
      horizon counts; a second order on the first day counts, day 0);
    - LTV: net revenue of the orders dated from the first purchase to first
      purchase + horizon_days, both inclusive (the first purchase included,
      returns lower it).

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders with at least one of category, taste, brand.
    as_of : date or str
        Last day of the analysis, inclusive; later orders are ignored.
    levels : sequence of str, optional
        Default every level the orders have values for.
    horizon_days : int, optional
        Default ``LtvSettings.horizon_days`` (360, SPEC's "360-day LTV").
    settings : ShopSettings or LtvSettings, optional
        Source of the default horizon.

    Returns
    -------
    DataFrame
        One row per (level, value), each level's values by customers descending
        (ties by value):

        - ``level`` (str), ``value`` (str; ``"(unknown)"`` for a first purchase
          without a value);
        - ``customers`` (int): cohort customers whose first purchase had the value;
        - ``share`` (float): customers / cohort size;
        - ``repeaters`` (int), ``f2_rate`` (float): second purchase within the horizon;
        - ``revenue`` (float), ``ltv`` (float): net revenue within the horizon,
          in total and per customer;
        - ``horizon_days`` (int).

        Empty (with these columns) when nobody is observable for the horizon yet.

    Raises
    ------
    ColumnsError
        No CTB level with values.
    ParameterError
        horizon_days < 1.
    """
    if settings is None:
        ltv_s = LtvSettings()
    else:
        ltv_s = settings.analysis.ltv if isinstance(settings, ShopSettings) else settings
    h = ltv_s.horizon_days if horizon_days is None else int(horizon_days)
    if h < 1:
        raise ParameterError(f"horizon_days must be a positive number of days, got {h}")
    with _Base(orders, as_of) as b:
        lvls = _levels(b.t, levels, "CTB first-purchase analysis")
        return _first_purchase(b, lvls, h)


def _first_attributes(b: _Base, lvls: Sequence[str], h: int) -> ir.Table:
    """customer_id, first_<level>: the first purchase's largest line (SPEC §2).

    The pick of :func:`ecrm.analysis.customers.first_line`, as in the customer measures,
    for the customers of the cohort only (first purchase at least ``h`` days
    before as_of): only their first orders' lines are read, and in a canonical
    file (:func:`ecrm.engine.is_canonical`) only lines dated h days back or more.
    """
    p = b.purchases
    asof = ibis.literal(b.as_of, type="date")
    first = p.filter((p.seq == 1) & (asof.delta(p.order_date, unit="day") >= h))
    first = first.select("customer_id", "order_id")
    lines = b.lines
    if engine.is_canonical(b.t):  # a cohort's first orders, and so their lines, are h days back
        cut = engine.next_day(b.as_of - dt.timedelta(days=h))
        lines = lines.filter(lines.ordered_at < ibis.literal(cut))
    top = customers.first_line(lines.inner_join(first, ["customer_id", "order_id"]), lvls)
    return top.select("customer_id", **{f"first_{lv}": top[lv].cast("string") for lv in lvls})


def _first_purchase(b: _Base, lvls: Sequence[str], h: int) -> pd.DataFrame:
    m = b.customers
    asof = ibis.literal(b.as_of, type="date")
    m = m.filter(asof.delta(m.first_purchase, unit="day") >= h)
    p = b.purchases
    second = p.filter(p.seq == 2).select("customer_id", second_purchase="order_date")
    m = m.select("customer_id", "first_purchase").left_join(second, "customer_id")
    m = m.drop("customer_id_right")
    j = b.orders.inner_join(m, "customer_id")
    day = j.order_date.delta(j.first_purchase, unit="day")
    rev = j.filter((day >= 0) & (day <= h))
    rev = rev.group_by("customer_id").agg(_rev=rev.amount.sum().cast(engine.AMOUNT))
    c = m.left_join(rev, "customer_id").drop("customer_id_right")
    c = c.left_join(_first_attributes(b, lvls, h), "customer_id").drop("customer_id_right")
    c = c.mutate(
        _f2=(
            c.second_purchase.notnull()
            & (c.second_purchase.delta(c.first_purchase, unit="day") <= h)
        ).cast("int64"),
        _rev=c._rev.fill_null(0).cast(engine.AMOUNT),
    )
    c = c.select("_f2", "_rev", *[f"first_{lv}" for lv in lvls]).cache()
    try:
        frames = []
        for lv in lvls:
            g = c.group_by(value=c[f"first_{lv}"].fill_null(UNKNOWN)).agg(
                customers=c.count().cast("int64"),
                repeaters=c._f2.sum().cast("int64"),
                revenue=c._rev.sum().cast(engine.AMOUNT),
            )
            frames.append(engine.to_pandas(g).assign(level=lv))
    finally:
        c.release()
    df = pd.concat(frames, ignore_index=True)
    cohort = df.groupby("level")["customers"].transform("sum")
    df["share"] = df["customers"] / cohort
    df["f2_rate"] = df["repeaters"] / df["customers"]
    df["ltv"] = df["revenue"] / df["customers"]
    df["horizon_days"] = h
    df["_order"] = df["level"].map(LEVELS.index)
    df = df.sort_values(["_order", "customers", "value"], ascending=[True, False, True])
    cols = ["level", "value", "customers", "share", "repeaters", "f2_rate", "revenue", "ltv"]
    return df[[*cols, "horizon_days"]].reset_index(drop=True)


# --------------------------------------------------------------------------- transitions


def transitions(orders: engine.OrdersLike, *, as_of: Any, level: str = "category") -> pd.DataFrame:
    """Next-purchase transition matrix P(next value | this value).

    Every pair of consecutive purchases of a customer (ordered by ordered_at,
    then order_id) counts once, from the first purchase's main value (the value
    of its largest line among those with a value, ties by value name: SPEC §2's
    first-purchase rule applied to every purchase) to the next's. A purchase
    without any value (all its lines empty) breaks the chain: its pairs are
    left out.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders with the ``level`` column.
    as_of : date or str
        Last day of the analysis, inclusive; later orders are ignored.
    level : {"category", "taste", "brand"}, default "category"

    Returns
    -------
    DataFrame
        One row per observed (from_value, to_value), sorted by both:
        level, from_value, to_value, pairs (int), from_total (int: pairs from
        from_value), probability (float: pairs / from_total; each from_value's
        probabilities add up to 1).

    Raises
    ------
    ColumnsError
        The orders lack ``level`` values.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({"order_id": ["1", "2", "3"], "customer_id": ["a"] * 3,
    ...     "ordered_at": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-03-01"]),
    ...     "amount": [100, 100, 100], "category": ["x", "y", "x"]})
    >>> transitions(orders, as_of="2026-03-31")[["from_value", "to_value", "probability"]]
      from_value to_value  probability
    0          x        y          1.0
    1          y        x          1.0
    """
    with _Base(orders, as_of) as b:
        _check_level(b.t, level, "CTB transitions")
        return _transitions(b, level)


def _transitions(b: _Base, level: str) -> pd.DataFrame:
    tr = _transition_table(b, level)
    df = engine.to_pandas(tr.order_by(["from_value", "to_value"]))
    df["from_total"] = df.groupby("from_value")["pairs"].transform("sum").astype("int64")
    df["probability"] = df["pairs"] / df["from_total"]
    df.insert(0, "level", level)
    return df[["level", "from_value", "to_value", "pairs", "from_total", "probability"]]


# --------------------------------------------------------------------------- cross purchase


def cross_purchase(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    level: str = "category",
    min_support: float | None = None,
    settings: ShopSettings | CtbSettings | None = None,
) -> pd.DataFrame:
    """Cross-purchase pairs: customers who bought both A and B, with support, confidence, lift.

    N is the number of customers who bought at least one value of the level
    (net revenue > 0 in it, up to as_of). For an ordered pair (A, B), A ≠ B:
    support = customers_both / N; confidence = customers_both / customers_a
    (P(bought B | bought A)); lift = confidence / (customers_b / N).

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders with the ``level`` column.
    as_of : date or str
        Last day of the analysis, inclusive; later orders are ignored.
    level : {"category", "taste", "brand"}, default "category"
    min_support : float, optional
        Keep pairs with support ≥ this; default ``CtbSettings.min_pair_support``.
    settings : ShopSettings or CtbSettings, optional
        Source of the default.

    Returns
    -------
    DataFrame
        level, value_a, value_b, customers_a, customers_b, customers_both (int),
        support, confidence, lift (float); both directions of each pair, sorted
        by lift descending, then support descending, value_a, value_b.

    Raises
    ------
    ColumnsError
        The orders lack ``level`` values.
    ParameterError
        min_support outside [0, 1].
    """
    s = _ctb_settings(settings)
    ms = s.min_pair_support if min_support is None else float(min_support)
    if not 0 <= ms <= 1:
        raise ParameterError(f"min_support must be between 0 and 1, got {min_support}")
    with _Base(orders, as_of) as b:
        _check_level(b.t, level, "CTB cross-purchase")
        return _cross_purchase(b, level, ms)


def _pair_counts(g: ir.Table, min_support: float) -> tuple[int, pd.DataFrame]:
    """Customers (N) and, per ordered pair of values, customers who bought both.

    ``g`` holds one row per (customer_id, value) bought: a self-join on
    customer_id, keeping in the engine the pairs that can reach
    ``min_support``. For levels of more than :data:`_MAX_MASK_VALUES` values;
    smaller ones count bit masks (:func:`_mask_pairs`).

    Returns
    -------
    n : int
    pairs : DataFrame
        value_a, value_b, customers_both (> 0), customers_a, customers_b.
    """
    n = int(g.customer_id.nunique().to_pyarrow().as_py())
    counts = g.group_by("value").agg(_n=g.count().cast("int64"))
    a = g.select("customer_id", value_a="value")
    bb = g.select(_cid="customer_id", value_b="value")
    j = a.join(bb, [a.customer_id == bb._cid, a.value_a != bb.value_b])
    both = j.group_by(["value_a", "value_b"]).agg(customers_both=j.count().cast("int64"))
    both = both.filter(both.customers_both >= max(1, int(min_support * n)))
    ca = counts.select(value_a="value", customers_a="_n")
    cb = counts.select(value_b="value", customers_b="_n")
    both = both.inner_join(ca, "value_a").inner_join(cb, "value_b")
    return n, engine.to_pandas(both)


def _mask_pairs(combos: pd.DataFrame, vals: Sequence[str]) -> tuple[int, pd.DataFrame]:
    """Customers (N) and pair counts, as :func:`_pair_counts`, from the customers' bit masks.

    ``combos`` counts the customers (``_n``) of each distinct ``_mask`` > 0 (a
    few thousand masks for millions of customers); bit i stands for
    ``vals[i]``. ``both[a, b]``, the customers who bought a and b, is then a
    small matrix product.
    """
    bits = (combos["_mask"].to_numpy()[:, None] >> np.arange(len(vals))) & 1
    weighted = bits * combos["_n"].to_numpy()[:, None]
    both = weighted.T @ bits  # both[a, b]: customers who bought a and b
    n = int(combos["_n"].sum())
    ia, ib = np.nonzero(both)
    keep = ia != ib
    ia, ib = ia[keep], ib[keep]
    diag = np.diag(both)
    names = np.array(vals, dtype=object)
    pairs = pd.DataFrame(
        {
            "value_a": names[ia],
            "value_b": names[ib],
            "customers_both": both[ia, ib].astype("int64"),
            "customers_a": diag[ia].astype("int64"),
            "customers_b": diag[ib].astype("int64"),
        }
    )
    return n, pairs


def _mask_counts(b: _Base, levels: Sequence[str]) -> dict[str, pd.DataFrame]:
    """Customers per distinct bit mask (``_mask``, ``_n``) of each level, in one query.

    ``levels``: one level of at most :data:`_MAX_MASK_VALUES` values, or
    several small ones (:meth:`_Base.small`), whose masks come from one wide row
    per customer. Customers are counted per combination of their masks of all
    ``levels``; each level's counts are then sums over the others' masks.
    """
    lvls = list(levels)
    if len(lvls) == 1:
        s = b.customer_levels(lvls[0])
        m = s.select("customer_id", _m0=s._mask)
    else:
        w = b.wide_for(lvls)
        masks = {f"_m{i}": _wide_measures(w, lv, b.names(lv))["_mask"] for i, lv in enumerate(lvls)}
        m = w.select("customer_id", **masks)
    m = m.semi_join(b.customers, "customer_id")
    keys = [f"_m{i}" for i in range(len(lvls))]
    combos = engine.to_pandas(m.group_by(keys).agg(_n=m.count().cast("int64")))
    out = {}
    for key, lv in zip(keys, lvls, strict=True):
        c = combos[combos[key].fillna(0) > 0].groupby(key, as_index=False)["_n"].sum()
        out[lv] = c.rename(columns={key: "_mask"}).astype("int64")
    return out


def _cross_purchase(
    b: _Base, level: str, ms: float, masks: pd.DataFrame | None = None
) -> pd.DataFrame:
    cols = [
        "level",
        "value_a",
        "value_b",
        "customers_a",
        "customers_b",
        "customers_both",
        "support",
        "confidence",
        "lift",
    ]
    vals = b.names(level)
    if len(vals) <= _MAX_MASK_VALUES:  # the masks of the customer summaries
        masks = _mask_counts(b, [level])[level] if masks is None else masks
        n, df = _mask_pairs(masks, vals)
    else:
        g = b.customer_values(level)
        g = g.filter(g.value.notnull() & (g.revenue > 0)).select("customer_id", "value")
        g = g.inner_join(b.customers.select("customer_id"), "customer_id")
        n, df = _pair_counts(g, ms)
    if not n or df.empty:
        return pd.DataFrame(
            {c: pd.Series(dtype="float64" if c in cols[6:] else "object") for c in cols}
        )
    df["support"] = df["customers_both"] / n
    df["confidence"] = df["customers_both"] / df["customers_a"]
    df["lift"] = df["confidence"] / (df["customers_b"] / n)
    df = df[df["support"] >= ms].copy()
    df.insert(0, "level", level)
    df = df.sort_values(
        ["lift", "support", "value_a", "value_b"], ascending=[False, False, True, True]
    )
    return df[cols].reset_index(drop=True)


# --------------------------------------------------------------------------- mix by segment


def ctb_mix(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    level: str = "category",
    segmentation: Literal["lifecycle", "cpm"] = "lifecycle",
    settings: ShopSettings | None = None,
) -> pd.DataFrame:
    """CTB mix by segment: each segment's revenue split by category (taste, brand).

    Customers are put in their lifecycle or CPM segment at ``as_of`` (the rules
    of :mod:`ecrm.analysis.lifecycle` / :mod:`ecrm.analysis.cpm`, thresholds from ``settings``);
    a segment's revenue is its customers' cumulative net revenue up to as_of —
    the ``revenue`` of :func:`ecrm.analysis.lifecycle.lifecycle_summary` — split by the
    value of each line (lines without a value as ``"(unknown)"``).

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders with the ``level`` column.
    as_of : date or str
        Last day of the analysis, inclusive; later orders are ignored.
    level : {"category", "taste", "brand"}, default "category"
    segmentation : {"lifecycle", "cpm"}, default "lifecycle"
    settings : ShopSettings, optional
        Segment thresholds (default SPEC's).

    Returns
    -------
    DataFrame
        segmentation, segment (code, in the segmentation's order), value,
        customers (int: the segment's customers with net revenue > 0 in the
        value), revenue (float), revenue_share (float: of the segment's revenue;
        each segment's shares add up to 1), segment_customers (int), segment_revenue
        (float). Segments without customers are left out; values within a segment
        by revenue descending (ties by value).

    Raises
    ------
    ColumnsError
        The orders lack ``level`` values.
    ParameterError
        Unknown segmentation.
    """
    from ecrm.analysis import cpm, lifecycle

    if segmentation == "lifecycle":
        rule, codes = lifecycle.lifecycle_rule(settings), lifecycle.SEGMENTS
    elif segmentation == "cpm":
        rule, codes = cpm.cpm_rule(settings), cpm.SEGMENTS
    else:
        raise ParameterError(f"segmentation must be 'lifecycle' or 'cpm', got {segmentation!r}")
    with _Base(orders, as_of) as b:
        _check_level(b.t, level, "CTB mix by segment")
        return _mix(b, level, segmentation, rule, codes)


def _mix(
    b: _Base, level: str, segmentation: str, rule: Callable[[ir.Table], Any], codes: Sequence[str]
) -> pd.DataFrame:
    m = b.customers
    seg = m.select("customer_id", segment=rule(m))
    w = b._wide_of(level, unknown=True)
    if w is None:
        g = b.customer_values(level)
        g = g.mutate(value=g.value.fill_null(UNKNOWN)).inner_join(seg, "customer_id")
        agg = g.group_by(["segment", "value"]).agg(
            customers=(g.revenue > 0).cast("int64").sum(),
            revenue=g.revenue.sum().cast(engine.AMOUNT),
        )
        df = engine.to_pandas(agg)
    else:  # the same sums from the customers' wide rows, then one row per (segment, value)
        names = [*b.names(level), UNKNOWN]
        keys = [*range(len(names) - 1), "x"]
        g = w.inner_join(seg, "customer_id")
        aggs = {}
        for j, i in enumerate(keys):
            r = g[f"_r_{level}_{i}"]
            aggs[f"n{j}"] = (r > 0).fill_null(False).cast("int64").sum()
            aggs[f"r{j}"] = r.sum().cast(engine.AMOUNT)
            aggs[f"k{j}"] = r.count()  # customers with lines of the value
        wide = engine.to_pandas(g.group_by("segment").agg(**aggs))
        parts = [
            pd.DataFrame(
                {
                    "segment": wide["segment"],
                    "value": name,
                    "customers": wide[f"n{j}"],
                    "revenue": wide[f"r{j}"],
                    "_k": wide[f"k{j}"],
                }
            )
            for j, name in enumerate(names)
        ]
        df = pd.concat(parts, ignore_index=True)
        df = df[df["_k"] > 0].drop(columns="_k")  # values some customer of the segment bought
    sizes = seg.group_by("segment").agg(segment_customers=seg.count().cast("int64"))
    sz = engine.to_pandas(sizes).set_index("segment")["segment_customers"]
    df["segment_revenue"] = df.groupby("segment")["revenue"].transform("sum")
    df["revenue_share"] = df["revenue"] / df["segment_revenue"].where(df["segment_revenue"] != 0)
    df["segment_customers"] = df["segment"].map(sz).astype("int64")
    df["customers"] = df["customers"].astype("int64")
    df["_order"] = df["segment"].map({c: i for i, c in enumerate(codes)})
    df = df.sort_values(["_order", "revenue", "value"], ascending=[True, False, True])
    df.insert(0, "segmentation", segmentation)
    cols = [
        "segmentation",
        "segment",
        "value",
        "customers",
        "revenue",
        "revenue_share",
        "segment_customers",
        "segment_revenue",
    ]
    return df[cols].reset_index(drop=True)


# --------------------------------------------------------------------------- all tables


def ctb_tables(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    pair_levels: Sequence[str] = ("category", "brand"),
    mix_level: str = "category",
    segmentation: Literal["lifecycle", "cpm"] = "lifecycle",
    settings: ShopSettings | None = None,
) -> dict[str, pd.DataFrame]:
    """Every CTB table of a report in one run, sharing the engine's intermediate tables.

    The same tables as the single functions (and equal to them), computed
    together so that order totals, main values and customer values are built
    once: the way to call CTB on a large shop.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders with at least one of category, taste, brand.
    as_of : date or str
        Last day of the analysis, inclusive; later orders are ignored.
    pair_levels : sequence of str, default ("category", "brand")
        Levels of the transition matrices and cross-purchase pairs (those the
        orders have values for).
    mix_level : str, default "category"
        Level of the segment mix.
    segmentation : {"lifecycle", "cpm"}, default "lifecycle"
    settings : ShopSettings, optional
        min_pair_support, the LTV horizon and the segment thresholds.

    Returns
    -------
    dict of str to DataFrame
        ``preferences`` (:func:`preferences`, every available level),
        ``first_purchase`` (:func:`first_purchase_ctb`), ``transitions`` and
        ``cross_purchase`` (those of each pair level, stacked; see the ``level``
        column) and ``mix`` (:func:`ctb_mix`).

    Raises
    ------
    ColumnsError
        No CTB level with values.
    """
    from ecrm.analysis import cpm, lifecycle

    ms = _ctb_settings(settings).min_pair_support
    h = (settings.analysis.ltv if settings is not None else LtvSettings()).horizon_days
    if segmentation == "lifecycle":
        rule, codes = lifecycle.lifecycle_rule(settings), lifecycle.SEGMENTS
    elif segmentation == "cpm":
        rule, codes = cpm.cpm_rule(settings), cpm.SEGMENTS
    else:
        raise ParameterError(f"segmentation must be 'lifecycle' or 'cpm', got {segmentation!r}")
    with _Base(orders, as_of) as b:
        lvls = _levels(b.t, None, "CTB analysis")
        pairs = [lv for lv in pair_levels if lv in lvls]
        if pairs:  # the main values of every pair level in one pass
            b.order_mains(pairs)
        small = b.small(lvls)
        if small:  # revenue by value of every small level in one pass
            b.wide_for(small, [mix_level])
        masked = b.small(pairs)  # their cross-purchase masks in one query
        masks = _mask_counts(b, masked) if len(masked) > 1 else {}
        out = {
            "preferences": _preferences(b, lvls),
            "first_purchase": _first_purchase(b, lvls, h),
            "transitions": pd.concat([_transitions(b, lv) for lv in pairs], ignore_index=True),
            "cross_purchase": pd.concat(
                [_cross_purchase(b, lv, ms, masks.get(lv)) for lv in pairs], ignore_index=True
            ),
        }
        if mix_level in lvls:
            out["mix"] = _mix(b, mix_level, segmentation, rule, codes)
    return out


# --------------------------------------------------------------------------- recommendation


def _weight(as_of: dt.date, date: ir.DateValue, half_life_days: float) -> ir.FloatingValue:
    """A purchase's recency weight: 0.5 ^ (days from ``date`` to as_of / half-life).

    The one formula of both scoring ways (:func:`_recommend_table`), which
    must give the same floats for the same purchases.
    """
    age = ibis.literal(as_of, type="date").delta(date, unit="day").cast("float64")
    return ibis.literal(0.5) ** (age / float(half_life_days))


def _recommend_table(
    b: _Base,
    *,
    level: str,
    top_n: int,
    half_life_days: float,
    prior_strength: float | None,
    transition_weight: float,
    only: ir.Table | None = None,
) -> tuple[ir.Table, ir.Table]:
    """The recommendations and the popularity table as Ibis expressions.

    ``only``: a table with customer_id; recommendations for those customers
    alone (the same rows as for everyone: a customer's scores read its own
    history and the shop-level tables only).

    The purchases, their main values and the consecutive pairs come from one
    :meth:`_Base.order_mains` pass (the run's, when it holds the level). A
    level of at most :data:`_WIDE_MAX_VALUES` values is scored in one row per
    customer (:func:`_recommend_wide`), a larger one in (customer, value) rows.
    """
    om = b._order_mains_of(level)
    om = om if om is not None else b.order_mains([level])
    if f"_b_{level}" in om.columns:
        return _recommend_wide(
            b,
            om,
            level=level,
            top_n=top_n,
            half_life_days=half_life_days,
            prior_strength=prior_strength,
            transition_weight=transition_weight,
            only=only,
        )
    values = b.purchase_values(level)

    # own history: recency-weighted share of the customer's purchases holding the value
    known = values.select("customer_id", "order_id", "order_date").distinct()
    known = known.mutate(_w=_weight(b.as_of, known.order_date, half_life_days))
    den = known.group_by("customer_id").agg(_den=known._w.sum(), _n=known.count())
    # (customer, order, value) is unique
    hist = values.mutate(_w=_weight(b.as_of, values.order_date, half_life_days))
    hist = hist.group_by(["customer_id", "value"]).agg(_num=hist._w.sum(), _k=hist.count())
    hist = hist.cache()
    b._memo[("hist", level, str(half_life_days))] = hist
    den = den.cache()
    b._memo[("den", level, str(half_life_days))] = den

    # popularity: share of purchases (with a value) that hold the value
    n_orders = known.count()
    pop = values.group_by("value").agg(_orders=values.count().cast("int64"))
    pop = pop.mutate(_pop=pop._orders.cast("float64") / n_orders.cast("float64"))

    # after the last purchase's main value X: share of next purchases holding v
    s = b.pairs(level)
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
    prior = grid.union(base).cache()
    b._memo[("prior", level, str(transition_weight))] = prior

    # each customer's key: the main value of the last purchase that has one
    m = b.mains(level)
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
    b: _Base,
    om: ir.Table,
    *,
    level: str,
    top_n: int,
    half_life_days: float,
    prior_strength: float | None,
    transition_weight: float,
    only: ir.Table | None = None,
) -> tuple[ir.Table, ir.Table]:
    """:func:`_recommend_table` for a level of few values, one row per customer.

    The same model and the same numbers as the (customer, value) rows, from
    the value bits of :meth:`_Base.order_mains` (``om``): one aggregate of the
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

    c = b._keep(("history", level, str(half_life_days)), build)

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
        ranked = b._keep(key, lambda: ranked)
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


def _check_model(
    top_n: int, half_life_days: float, prior_strength: float | None, beta: float
) -> None:
    if int(top_n) < 1:
        raise ParameterError(f"top_n must be at least 1, got {top_n}")
    if not half_life_days > 0:
        raise ParameterError(f"half_life_days must be positive, got {half_life_days}")
    if prior_strength is not None and not prior_strength > 0:
        raise ParameterError(f"prior_strength must be positive, got {prior_strength}")
    if not 0 <= beta <= 1:
        raise ParameterError(f"transition_weight must be between 0 and 1, got {beta}")


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
    n = _ctb_settings(settings).top_n if top_n is None else int(top_n)
    _check_model(n, half_life_days, prior_strength, transition_weight)
    with _Base(orders, as_of) as b:
        _check_level(b.t, level, "CTB recommendations")
        recs, _ = _recommend_table(
            b,
            level=level,
            top_n=n,
            half_life_days=half_life_days,
            prior_strength=prior_strength,
            transition_weight=transition_weight,
        )
        df = engine.to_pandas(recs.order_by(["customer_id", "rank"]))
    return df.rename(columns={"value": level}).reset_index(drop=True)


def evaluate_recommendations(
    orders: engine.OrdersLike,
    *,
    cutoff: Any,
    horizon_days: int = DEFAULT_EVAL_HORIZON_DAYS,
    top_n: int | None = None,
    level: str = "category",
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
    prior_strength: float | None = DEFAULT_PRIOR_STRENGTH,
    transition_weight: float = DEFAULT_TRANSITION_WEIGHT,
    settings: ShopSettings | CtbSettings | None = None,
) -> pd.DataFrame:
    """Hold-out check of :func:`recommend` against a popularity baseline.

    The model is fitted on the orders up to ``cutoff`` (inclusive). For every
    customer at the cutoff whose next purchase (the first after the cutoff, by
    ordered_at then order_id) falls within ``horizon_days`` of it and holds at
    least one value, it is a **hit** when any value of that purchase is among
    the customer's top-N. The baseline recommends the same N values to
    everyone: the most popular at the cutoff (share of purchases holding the
    value, ties by name). Orders after cutoff + horizon_days do not change the
    result.

    The tables at the cutoff are cut from a run at a later date, not grouped
    again: from the kept run of an earlier call on the same canonical file (a
    report checks the recommendations it has just made, at as_of) when its
    date is on or after cutoff + horizon_days, else from a run at that date.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders with the ``level`` column.
    cutoff : date or str
        Last day of the fitting history, inclusive.
    horizon_days : int, default 180
        Days after the cutoff in which the next purchase is looked for.
    top_n, level, half_life_days, prior_strength, transition_weight, settings
        As in :func:`recommend`.

    Returns
    -------
    DataFrame
        Six rows, for group in (``"all"``, ``"one_purchase"``,
        ``"repeat_buyers"`` — the customer's purchases at the cutoff: 1 or 2+)
        and method in (``"model"``, ``"popularity"``): level, cutoff,
        horizon_days, top_n, group, method, customers (evaluated), hits,
        hit_rate (hits / customers; NaN without customers).

    Raises
    ------
    ColumnsError
        The orders lack ``level`` values.
    ParameterError
        Bad horizon or model parameters.
    """
    n = _ctb_settings(settings).top_n if top_n is None else int(top_n)
    _check_model(n, half_life_days, prior_strength, transition_weight)
    h = int(horizon_days)
    if h < 1:
        raise ParameterError(f"horizon_days must be a positive number of days, got {h}")
    cut = engine.as_of_date(cutoff)
    end = cut + dt.timedelta(days=h)
    with _Base(orders, cut, share=False) as fit:
        _check_level(fit.t, level, "CTB recommendation check")
        src = _history_run(fit.t, end, level)
        try:
            nv = _cut_at(fit, src, end, level)
            g = _evaluate(fit, nv, level, n, half_life_days, prior_strength, transition_weight)
        finally:
            src.release()
    rows = []
    for group in ("all", "one_purchase", "repeat_buyers"):
        for method in ("model", "popularity"):
            c, hits = int(g.loc[group, "customers"]), int(g.loc[group, method])
            rows.append(
                {
                    "level": level,
                    "cutoff": cut,
                    "horizon_days": h,
                    "top_n": n,
                    "group": group,
                    "method": method,
                    "customers": c,
                    "hits": hits,
                    "hit_rate": hits / c if c else float("nan"),
                }
            )
    return pd.DataFrame(rows)


def _history_run(t: ir.Table, end: dt.date, level: str) -> _Base:
    """A run on ``t`` at an as_of on or after ``end``, for the hold-out check to cut from.

    A kept run of the same canonical file (:class:`_Base`) when there is one
    (one holding the level's main values first: a report page checks the
    recommendations it has just made), else a new run at ``end`` that is
    released after the check.
    """
    key = engine.cache_key(t)
    if key is not None:
        runs = [(k[1], memo) for k, memo in reversed(_SHARED.items()) if k[0] == key]
        runs = [(as_of, memo) for as_of, memo in runs if as_of >= end]
        holding = [r for r in runs if any(m[0] == "order_mains" and level in m[1:] for m in r[1])]
        if holding or runs:
            return _Base(t, (holding or runs)[0][0])
    return _Base(t, end, share=False)


def _cut_at(fit: _Base, src: _Base, end: dt.date, level: str) -> ir.Table:
    """Give ``fit`` the purchases and values at its as_of, cut from ``src``; the next values.

    ``src`` is a run at an as_of on or after ``end`` (:func:`_history_run`).
    A purchase's number, main value and values do not change with later
    orders (orders are atomic: :func:`ecrm.engine.upto`), so the run at the
    cutoff is ``src``'s purchases placed by then, with the next purchase
    forgotten where it came later; nothing is grouped again. ``fit``'s memo
    gets these views (its order totals and customers are its own).

    Returns
    -------
    ibis.Table
        customer_id, value: the values of the first purchase after the cutoff
        (by ordered_at, then order_id) of each customer with a purchase by
        then, when it is placed on or before ``end``; its values as in
        :meth:`_Base.purchase_values`.
    """
    fit._names.update(src._names)  # the file's values: the same codes in both runs
    om = src._order_mains_of(level)
    om = om if om is not None else src.order_mains([level])
    day = ibis.literal(engine.next_day(fit.as_of))
    placed = om.filter(om.ordered_at < day)
    known = placed._next_at < day  # null (no next purchase) keeps null
    cols = ["customer_id", "order_id", "ordered_at", "order_date", "amount", "seq", f"_c_{level}"]
    nexts = {"_next_order": "string", "_next_at": "timestamp", f"_n_{level}": "int64"}
    wide = f"_b_{level}" in om.columns  # the purchases' values as bits
    if wide:
        cols.append(f"_b_{level}")
        nexts[f"_nb_{level}"] = "int64"
    fit._memo[("order_mains", level)] = placed.select(
        *cols, **{c: ibis.ifelse(known, placed[c], ibis.null(t)) for c, t in nexts.items()}
    )
    # the last purchase by the cutoff points at the first one after it
    edge = placed.filter(~known & (placed._next_at < ibis.literal(engine.next_day(end))))
    if wide:
        codes = fit.codes(level)
        edge = edge.select("customer_id", _bits=f"_nb_{level}").cross_join(codes)
        edge = edge.filter(((edge._bits >> edge.code) & 1) == 1)
        return edge.select("customer_id", "value")
    pv = src.purchase_values(level)
    cutoff = ibis.literal(fit.as_of, type="date")
    fit._memo[("purchase_values", level)] = pv.filter(pv.order_date <= cutoff)
    edge = edge.select("customer_id", order_id="_next_order")
    after = pv.filter((pv.order_date > cutoff) & (pv.order_date <= ibis.literal(end, type="date")))
    return after.semi_join(edge, ["customer_id", "order_id"]).select("customer_id", "value")


def _evaluate(
    fit: _Base,
    next_values: ir.Table,
    level: str,
    n: int,
    half_life_days: float,
    prior_strength: float | None,
    transition_weight: float,
) -> pd.DataFrame:
    """Customers, model hits and popularity hits per group (one_purchase, repeat_buyers, all).

    Recommendations are made for the customers with a next purchase only:
    nobody else is scored.
    """
    nv = next_values.cache()
    try:
        recs, pop = _recommend_table(
            fit,
            level=level,
            top_n=n,
            half_life_days=half_life_days,
            prior_strength=prior_strength,
            transition_weight=transition_weight,
            only=nv,
        )
        freq = fit.customers.select("customer_id", _f="frequency")
        evaluated = nv.select("customer_id").distinct().inner_join(freq, "customer_id")
        model_hits = (
            nv.inner_join(recs.select("customer_id", "value"), ["customer_id", "value"])
            .select("customer_id")
            .distinct()
            .mutate(_hm=ibis.literal(1))
        )
        wp = ibis.window(order_by=[ibis.desc("_pop"), "value"])
        popular = pop.mutate(_r=ibis.row_number().over(wp))
        popular = popular.filter(popular._r < n).select("value")
        base_hits = (
            nv.inner_join(popular, "value")
            .select("customer_id")
            .distinct()
            .mutate(_hb=ibis.literal(1))
        )
        e = evaluated.left_join(model_hits, "customer_id").drop("customer_id_right")
        e = e.left_join(base_hits, "customer_id").drop("customer_id_right")
        e = e.mutate(
            group=ibis.ifelse(e._f >= 2, "repeat_buyers", "one_purchase"),
            _hm=e._hm.fill_null(0),
            _hb=e._hb.fill_null(0),
        )
        g = engine.to_pandas(
            e.group_by("group").agg(
                customers=e.count().cast("int64"),
                model=e._hm.sum().cast("int64"),
                popularity=e._hb.sum().cast("int64"),
            )
        ).set_index("group")
    finally:
        nv.release()
    g = g.reindex(["one_purchase", "repeat_buyers"]).fillna(0).astype("int64")
    g.loc["all"] = g.sum()
    return g
