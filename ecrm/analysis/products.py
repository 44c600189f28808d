"""Products (商品別): entry products that make loyal customers, conversion, cross-purchase.

SPEC §3 (Products). Lines of excluded products — shipping, gift wrap,
samples, novelties: the shop's ``exclude_products``, given here as product ids
and a regular expression on product_name — are left out of every table of
this module. Definitions:

* **entry product** (初回購入商品): the product of the largest (not excluded)
  line of the customer's first purchase (SPEC §2's rule, ties by product_id).
  A customer whose first purchase holds only excluded lines has no entry
  product and is counted in ``no_entry`` of :func:`entry_products`' ``attrs``.
* per entry product with at least ``min_customers`` (30) new customers:
  customers, F2 within 90 and 360 days, revenue per customer within 360 days
  of the first purchase (its whole orders, as in the LTV transition). A d-day
  figure counts only the customers observable for d days (first purchase + d
  ≤ as_of) — ``customers_90`` / ``customers_360`` say how many — and is empty
  when there are none.
* **product conversion** (商品転換): among customers with a second purchase,
  P(the second purchase holds product Y | entry product X).
* **cross-purchase**: customers who bought both products of a pair within the
  12 months to as_of (each unordered pair once), support, confidence both
  ways, lift.

All order-level work runs set-based in the engine.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from ecrm import engine
from ecrm.analysis import censoring, customers, periods
from ecrm.errors import ColumnsError, ParameterError

__all__ = [
    "DEFAULT_MIN_CUSTOMERS",
    "cross_purchase_products",
    "ctb_level_named",
    "ctb_orders",
    "entry_products",
    "name_products",
    "product_conversion",
    "product_labels",
    "product_names",
]

DEFAULT_MIN_CUSTOMERS = 30
#: Excluded product ids tested as a list; beyond it ``exclude_pattern`` filters the lines by name.
MAX_LISTED_IDS = 1000


def _lines(
    orders: engine.OrdersLike,
    as_of: dt.date,
    exclude_ids: Sequence[str],
    exclude_pattern: str | None,
) -> ir.Table:
    """The customers' lines with a product up to as_of, the excluded products left out."""
    return _lines_and_unsafe(orders, as_of, exclude_ids, exclude_pattern)[0]


def _lines_and_unsafe(
    orders: engine.OrdersLike,
    as_of: dt.date,
    exclude_ids: Sequence[str],
    exclude_pattern: str | None,
) -> tuple[ir.Table, list[str] | None]:
    """:func:`_lines`, and the product ids some of whose lines it leaves out.

    The ids excluded by id (``exclude_ids`` and those all of whose lines have
    a matching name) and the mixed ones (some lines match): a line of any other
    id is kept whatever its name. None when the lines are filtered by name
    (the ids too many to list, :data:`MAX_LISTED_IDS`).
    """
    t = engine.orders_table(orders)
    if "product_id" not in t.columns:
        raise ColumnsError(
            "product analyses need the orders column product_id (SPEC §1); the orders table has "
            f"{sorted(t.columns)}. Map it in the shop settings and ingest again."
        )
    lines = engine.upto(t, as_of)
    lines = lines.filter(lines.customer_id.notnull() & lines.product_id.notnull())
    lines = lines.mutate(product_id=lines.product_id.cast("string"))
    ids = [str(x) for x in exclude_ids]
    mixed: list[str] = []
    by_name = False
    if exclude_pattern:
        if "product_name" not in lines.columns:
            raise ColumnsError("exclude_pattern needs the orders column product_name")
        named, mixed, names = _excluded_by_name(orders, t, exclude_pattern)
        if len(named) + len(ids) > MAX_LISTED_IDS:  # a list too long to test: the names
            by_name = True
            if names:
                lines = lines.filter(lines.product_name.isnull() | ~lines.product_name.isin(names))
        else:
            ids.extend(named)
            if mixed:
                hit = lines.product_id.isin(mixed) & lines.product_name.isin(names).fill_null(False)
                lines = lines.filter(~hit)
    if ids:
        lines = lines.filter(~lines.product_id.isin(sorted(set(ids))))
    unsafe = sorted(set(ids) | set(mixed))
    return lines, None if by_name or len(unsafe) > MAX_LISTED_IDS else unsafe


def _excluded_by_name(
    orders: engine.OrdersLike, t: ir.Table, pattern: str
) -> tuple[list[str], list[str], list[str]]:
    """The product ids that ``exclude_pattern`` excludes, read off the (id, name) pairs.

    Returns ``(named, mixed, names)``: the ids all of whose lines have a
    matching name (excluded by id, so that the lines' names are not read), the
    ids with lines of both kinds, and the matching names of the whole table
    (of which a line of a ``mixed`` id is excluded when its name is one). The
    distinct (product_id, product_name) pairs of the file are kept in the
    engine's cache for the next analysis of it (a file table: the names of
    lines after as_of only lengthen the lists, as in :func:`_matching_names`).
    """

    def build() -> ir.Table:
        s = t.filter(t.product_id.notnull())
        return s.select(
            product_id=s.product_id.cast("string"), product_name=s.product_name
        ).distinct()

    pairs = engine.to_pandas(engine.cache.table(orders, ("product_id_names",), build))
    names = _matching_names(pairs["product_name"].dropna().unique().tolist(), pattern)
    hit = pairs["product_name"].isin(names)  # a missing name never matches
    by_id = hit.groupby(pairs["product_id"]).agg(["all", "any"])
    named = sorted(by_id.index[by_id["all"]])
    mixed = sorted(by_id.index[by_id["any"] & ~by_id["all"]])
    return named, mixed, names


def _matching_names(names: Sequence[str], pattern: str) -> list[str]:
    """The ``names`` (distinct product names) that the regular expression matches.

    The pattern is a function of the name alone, so a line is excluded exactly
    when its name is one of these: the engine matches the few distinct names
    (its own regular expressions, as ``re_search`` on every line would) and the
    lines are filtered by a list, not a regular expression per line.
    """
    table = ibis.memtable(
        pd.DataFrame({"product_name": list(names)}, dtype=object), schema={"product_name": "string"}
    )
    table = table.filter(table.product_name.re_search(pattern))
    return sorted(engine.to_pandas(table)["product_name"].tolist())


def _purchases(orders: engine.OrdersLike, as_of: dt.date) -> ir.Table:
    """Each customer's purchases numbered 0, 1, … (whole orders, net > 0).

    For a kept file, the run's numbering (:attr:`ecrm.engine.RunTables.purchases`,
    shared with the channel analyses and the other product tables); otherwise
    the same window, inline.
    """
    if engine.cache.file_key(orders) is not None:
        p = engine.RunTables(orders, as_of).purchases
        return p.mutate(k=p.seq - 1)
    o = engine.order_totals(orders, as_of=as_of)
    p = o.filter(o.is_purchase)
    w = ibis.window(group_by="customer_id", order_by=[p.ordered_at, p.order_id])
    return p.mutate(k=ibis.row_number().over(w))


def _entry(lines: ir.Table, first: ir.Table) -> ir.Table:
    """customer_id, entry_product: the largest kept line of each of the ``first`` orders."""
    # by order alone (an order's lines share its customer): one key to probe
    fl = lines.drop("customer_id").inner_join(first.select("customer_id", "order_id"), "order_id")
    return customers.first_line(fl, ["product_id"]).rename(entry_product="product_id")


def _firsts(
    orders: engine.OrdersLike,
    d: dt.date,
    lines: ir.Table,
    purchases: ir.Table,
    unsafe: Sequence[str] | None,
    held: contextlib.ExitStack,
) -> ir.Table:
    """customer_id, first_day, entry_product (null: no kept line): one row per new customer.

    Where ingestion stored each first purchase with its largest line's
    product (:func:`ecrm.engine.stored_first_purchases`) and that product is
    present and not one of ``unsafe`` (:func:`_lines_and_unsafe`), the line is
    kept, and the largest of all the order's lines is the largest of its
    kept ones (same amount, same tie order): its product is the entry
    product, read without the lines. Only the other first orders (whose
    largest line is excluded or has no product) are looked up in ``lines``;
    without stored lines, every first order is. Tables materialised here are
    released by ``held``.
    """
    stored = None
    if unsafe is not None:
        stored = engine.stored_first_purchases(orders, as_of=d, columns=["product_id"])
    if stored is None:
        first = purchases.filter(purchases.k == 0)
        entry = _entry(lines, first)
        f = first.select("customer_id", first_day=first.order_date)
        f = f.left_join(entry, "customer_id")
        return f.select("customer_id", "first_day", "entry_product")
    pid = stored.product_id.cast("string")
    sure = pid.notnull()
    if unsafe:
        sure = sure & ~pid.isin(list(unsafe))
    f = stored.select("customer_id", "order_id", first_day=stored.order_date, _pid=pid, _sure=sure)
    f = f.cache()
    held.callback(f.release)
    rest = f.filter(~f._sure)
    if rest.count().execute() == 0:
        return f.select("customer_id", "first_day", entry_product=f._pid)
    picked = _entry(lines, rest)
    j = f.left_join(picked, "customer_id")
    entry = ibis.ifelse(j._sure, j._pid, j.entry_product)
    return j.select("customer_id", "first_day", entry_product=entry)


def entry_products(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    min_customers: int = DEFAULT_MIN_CUSTOMERS,
    exclude_ids: Sequence[str] = (),
    exclude_pattern: str | None = None,
    export_complete: bool = False,
) -> pd.DataFrame:
    """Which first products make repeat customers (LTV-Lab 商品別LTV).

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders with product_id (and product_name for a pattern).
    as_of : date or str
        Last day of the analysis, inclusive.
    min_customers : int, default 30
        Entry products with fewer new customers are left out (their count is
        in ``attrs["small"]``).
    exclude_ids, exclude_pattern
        Products to leave out (the shop's ``exclude_products``).
    export_complete : bool, default False
        The shop's ``export_complete``. When False the customers of the
        export's first month (the left-censored cohort,
        :mod:`ecrm.analysis.censoring`) are left out: their first purchase in
        the data is not their first purchase. ``attrs["censored_customers"]``
        counts them.

    Returns
    -------
    DataFrame
        entry_product, product_name (when the orders have it), customers,
        customers_90, f2_rate_90, customers_360, f2_rate_360,
        revenue_per_customer_360 — by customers descending, then
        entry_product. ``attrs``: ``no_entry`` (customers whose first
        purchase held only excluded products), ``small`` (customers of entry
        products under min_customers).

    Raises
    ------
    ColumnsError
        No product_id column (or no product_name for a pattern).
    ParameterError
        min_customers < 1.
    """
    if int(min_customers) < 1:
        raise ParameterError(f"min_customers must be at least 1, got {min_customers}")
    d = engine.as_of_date(as_of)
    lines, unsafe = _lines_and_unsafe(orders, d, exclude_ids, exclude_pattern)
    p = _purchases(orders, d)
    censored = None if export_complete else censoring.first_order_month(orders)
    with contextlib.ExitStack() as held:  # the materialised tables, released at the end
        firsts = _firsts(orders, d, lines, p, unsafe, held)
        # the censored customers are counted in the same query, as a group of their own
        cens = (
            ibis.literal(False)
            if censored is None
            else censoring.is_censored(firsts.first_day, censored).fill_null(False)
        )
        firsts = firsts.mutate(_cens=cens)
        second = p.filter(p.k == 1).select("customer_id", second_day=p.order_date)
        c = firsts.left_join(second, "customer_id").drop("customer_id_right")
        asof = ibis.literal(d, type="date")
        age = asof.delta(c.first_day, unit="day")
        gap = c.second_day.delta(c.first_day, unit="day")
        c = c.mutate(
            seen90=age >= 90,
            seen360=age >= 360,
            f90=c.second_day.notnull() & (gap <= 90),
            f360=c.second_day.notnull() & (gap <= 360),
        ).cache()  # one row per customer, read by both aggregates
        held.callback(c.release)
        g = c.group_by(["entry_product", "_cens"]).agg(
            customers=c.count(),
            customers_90=c.seen90.cast("int64").sum(),
            f2_90=(c.seen90 & c.f90).cast("int64").sum(),
            customers_360=c.seen360.cast("int64").sum(),
            f2_360=(c.seen360 & c.f360).cast("int64").sum(),
        )
        df = engine.to_pandas(g)
        # 360-day revenue summed straight into the entry products' groups
        seen = c.filter(~c._cens & c.seen360 & c.entry_product.notnull())
        o = engine.order_totals(orders, as_of=d)
        o = o.inner_join(seen.select("customer_id", "first_day", "entry_product"), "customer_id")
        o = o.mutate(day=o.order_date.delta(o.first_day, unit="day"))
        o = o.filter((o.day >= 0) & (o.day <= 360))
        rev = engine.to_pandas(o.group_by("entry_product").agg(revenue_360=o.amount.sum()))
    df = df.merge(rev, on="entry_product", how="left")
    df.loc[df["_cens"].astype(bool) | df["entry_product"].isna(), "revenue_360"] = float("nan")
    n_censored = int(df.loc[df["_cens"].astype(bool), "customers"].sum())
    df = df[~df["_cens"].astype(bool)].drop(columns="_cens")
    no_entry = int(df.loc[df["entry_product"].isna(), "customers"].sum())
    df = df[df["entry_product"].notna()]
    small = int(df.loc[df["customers"] < int(min_customers), "customers"].sum())
    df = df[df["customers"] >= int(min_customers)].copy()
    df["f2_rate_90"] = df["f2_90"] / df["customers_90"].where(df["customers_90"] > 0)
    df["f2_rate_360"] = df["f2_360"] / df["customers_360"].where(df["customers_360"] > 0)
    df["revenue_per_customer_360"] = df["revenue_360"] / df["customers_360"].where(
        df["customers_360"] > 0
    )
    cols = [
        "entry_product",
        "customers",
        "customers_90",
        "f2_rate_90",
        "customers_360",
        "f2_rate_360",
        "revenue_per_customer_360",
    ]
    df = df[cols].sort_values(["customers", "entry_product"], ascending=[False, True])
    df = df.reset_index(drop=True)
    names = _names(lines)
    if names is not None:
        df.insert(1, "product_name", df["entry_product"].map(names))
    df = df.astype({c: "int64" for c in ("customers", "customers_90", "customers_360")})
    df.attrs.update(no_entry=no_entry, small=small, censored_customers=n_censored)
    df.attrs["censored_cohort"] = None if censored is None else f"{censored:%Y-%m}"
    return df


def _top_names(t: ir.Table) -> ir.Table:
    """product_id (string) → its most frequent non-empty product_name (ties by name)."""
    named = t.filter(
        t.product_id.notnull() & t.product_name.notnull() & (t.product_name.strip() != "")
    )
    named = named.mutate(product_id=named.product_id.cast("string"))
    counts = named.group_by(["product_id", "product_name"]).agg(_n=named.count())
    w = ibis.window(group_by="product_id", order_by=[ibis.desc("_n"), "product_name"])
    top = counts.mutate(_r=ibis.row_number().over(w)).filter(ibis._._r == 0)
    return top.select("product_id", "product_name")


def _names(lines: ir.Table) -> pd.Series | None:
    if "product_name" not in lines.columns:
        return None
    return engine.to_pandas(_top_names(lines)).set_index("product_id")["product_name"]


def product_names(orders: engine.OrdersLike, *, as_of: Any) -> pd.Series:
    """product_id → product_name for the products sold on or before ``as_of``.

    A product's name is its most frequent non-empty product_name over its
    lines (ties by the smaller name): a cart export renames a product now and
    then, and the name most lines carry is the one the shop knows it by. An
    empty Series when the orders have no product_name (or no product_id).

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders.
    as_of : date or str
        Last day, inclusive.

    Returns
    -------
    Series
        Indexed by product_id (str), named ``product_name``.

    Examples
    --------
    >>> import pandas as pd
    >>> o = pd.DataFrame({"order_id": ["1", "2", "3"], "customer_id": ["a", "b", "c"],
    ...     "ordered_at": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"]),
    ...     "amount": [1, 2, 3], "product_id": ["P1", "P1", "P1"],
    ...     "product_name": ["Tea", "Green tea", "Green tea"]})
    >>> product_names(o, as_of="2026-01-31").to_dict()
    {'P1': 'Green tea'}
    """
    t = engine.orders_table(orders)
    if "product_name" not in t.columns or "product_id" not in t.columns:
        return pd.Series(dtype="object", name="product_name")
    t = engine.upto(t, engine.as_of_date(as_of))
    return engine.to_pandas(_top_names(t)).set_index("product_id")["product_name"]


def name_products(table: pd.DataFrame, names: pd.Series, columns: tuple[str, ...]) -> pd.DataFrame:
    """A copy of ``table`` with ``<column>_name`` after each product-id column.

    A product without a name keeps its id as its name, so the page never shows
    an empty cell. ``names`` is :func:`product_names`' Series.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"product_a": ["P1", "P9"], "lift": [2.0, 1.5]})
    >>> name_products(t, pd.Series({"P1": "Tea"}), ("product_a",))
      product_a product_a_name  lift
    0        P1            Tea   2.0
    1        P9             P9   1.5
    """
    out = table.copy()
    for c in columns:
        if c in out.columns:
            named = out[c].map(names) if len(names) else pd.Series(pd.NA, index=out.index)
            out.insert(out.columns.get_loc(c) + 1, f"{c}_name", named.fillna(out[c]).astype(str))
    return out


def product_conversion(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    min_customers: int = DEFAULT_MIN_CUSTOMERS,
    top: int = 5,
    exclude_ids: Sequence[str] = (),
    exclude_pattern: str | None = None,
    export_complete: bool = False,
) -> pd.DataFrame:
    """商品転換: what the second purchase holds, by entry product.

    Parameters
    ----------
    orders, as_of, exclude_ids, exclude_pattern, export_complete
        As :func:`entry_products`: unless the export is complete, the
        left-censored cohort's customers are left out (their first and second
        purchases in the data are not their first and second), counted in
        ``attrs["censored_customers"]`` and named in ``attrs["censored_cohort"]``.
    min_customers : int, default 30
        Entry products with fewer customers *with a second purchase* are left out.
    top : int, default 5
        Second-purchase products kept per entry product (highest probability).

    Returns
    -------
    DataFrame
        entry_product, second_product, customers (with a second purchase and
        that entry product), customers_both, probability — by entry product
        (most customers first), then probability descending, second_product.
    """
    if int(min_customers) < 1 or int(top) < 1:
        raise ParameterError("min_customers and top must be at least 1")
    d = engine.as_of_date(as_of)
    lines = _lines(orders, d, exclude_ids, exclude_pattern)
    p = _purchases(orders, d)
    censored = None if export_complete else censoring.first_order_month(orders)
    n_censored = 0
    if censored is not None:
        firsts = p.filter(p.k == 0)
        out = firsts.filter(censoring.is_censored(firsts.order_date, censored))
        n_censored = int(out.count().to_pyarrow().as_py())
        p = p.filter(~p.customer_id.isin(out.customer_id))
    # only customers with a second purchase count: the lines of their first two
    # purchases, read once (by order: an order's lines share its customer) and kept
    second = p.filter(p.k == 1).select("customer_id")
    early = (
        p.filter(p.k <= 1).semi_join(second, "customer_id").select("order_id", "customer_id", "k")
    )
    early = lines.select("order_id", "product_id", "amount").inner_join(early, "order_id")
    early = early.select("customer_id", "k", "product_id", "amount").cache()
    entry = customers.first_line(early.filter(early.k == 0), ["product_id"])
    entry = entry.rename(entry_product="product_id")
    held = early.filter(early.k == 1)
    held = held.group_by(["customer_id", "product_id"]).agg(net=held.amount.sum())
    held = held.filter(held.net > 0).select("customer_id", second_product=held.product_id)
    base = entry
    size = base.group_by("entry_product").agg(customers=base.count())
    size = size.filter(size.customers >= int(min_customers))
    pairs = base.inner_join(held, "customer_id")
    pairs = pairs.group_by(["entry_product", "second_product"]).agg(customers_both=pairs.count())
    pairs = pairs.inner_join(size, "entry_product")
    pairs = pairs.mutate(probability=pairs.customers_both.cast("float64") / pairs.customers)
    w = ibis.window(
        group_by="entry_product",
        order_by=[ibis.desc(pairs.probability), pairs.second_product],
    )
    pairs = pairs.mutate(_r=ibis.row_number().over(w))
    pairs = pairs.filter(pairs._r < int(top)).drop("_r")
    try:
        df = engine.to_pandas(pairs)
    finally:
        early.release()
    df = df.sort_values(
        ["customers", "entry_product", "probability", "second_product"],
        ascending=[False, True, False, True],
    )
    cols = ["entry_product", "second_product", "customers", "customers_both", "probability"]
    df = df[cols].reset_index(drop=True)
    df.attrs.update(censored_customers=n_censored)
    df.attrs["censored_cohort"] = None if censored is None else f"{censored:%Y-%m}"
    return df


def cross_purchase_products(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    min_customers: int = DEFAULT_MIN_CUSTOMERS,
    exclude_ids: Sequence[str] = (),
    exclude_pattern: str | None = None,
) -> pd.DataFrame:
    """Products bought by one customer within the 12 months to as_of (LTV-Lab 併売).

    N is the number of customers who bought (net > 0) any not-excluded product
    in the 12 months to as_of. Each unordered pair (A < B) once:
    support = customers_both / N, confidence_ab = customers_both / customers_a,
    confidence_ba = customers_both / customers_b, lift = support × N² /
    (customers_a × customers_b).

    Parameters
    ----------
    min_customers : int, default 30
        Pairs bought together by fewer customers are left out.

    Returns
    -------
    DataFrame
        product_a, product_b, customers_a, customers_b, customers_both,
        support, confidence_ab, confidence_ba, lift — by lift descending, then
        customers_both descending, product_a, product_b. ``attrs["customers"]``
        is N.

    Notes
    -----
    The (customer, product) pairs bought are grouped, and self-joined by
    customer, on the customers' 64-bit hashes (:func:`ecrm.engine.customer_hash`)
    when ingestion found those distinct over the file's customers under the
    running DuckDB (:func:`ecrm.engine.customer_hash_distinct`); otherwise,
    and for DataFrames, on the ids. The counts are the same either way. The
    pairs are materialised in customer order: the self-join then probes each
    customer's rows one after another, which on 10M lines costs about half
    the time it takes in the order the aggregate leaves them (a sort of the
    ~4M pairs costs less than it saves; benchmarks/RESULTS.md).
    """
    if int(min_customers) < 1:
        raise ParameterError(f"min_customers must be at least 1, got {min_customers}")
    d = engine.as_of_date(as_of)
    start = periods.shift_months(d, -12) + dt.timedelta(days=1)
    lines = _lines(orders, d, exclude_ids, exclude_pattern)
    lines = lines.filter(lines.ordered_at >= ibis.literal(dt.datetime.combine(start, dt.time())))
    with engine.RunTables(orders, d) as run:
        codes = run.codes("product_id")  # the file's product ids numbered in id order
        span = len(run.names("product_id"))
    # the (customer, product) pairs bought: products as their integer codes from here on,
    # customers as their hashes where ingestion found those distinct (faster to group and join)
    j = lines.inner_join(codes, lines.product_id == codes.value)
    who = engine.customer_hash(j.customer_id) if engine.customer_hash_distinct(orders) else None
    cp = j.group_by([(j.customer_id if who is None else who).name("_c"), j.code])
    cp = cp.agg(net=j.amount.sum())
    with contextlib.ExitStack() as held:  # the materialised tables, released at the end
        # in customer order: the self-join below probes each customer's rows together
        # (about twice as fast as in the aggregate's order, for the price of a sort)
        cp = cp.filter(cp.net > 0).select("_c", _code="code").order_by("_c").cache()
        held.callback(cp.release)
        # N rides along with the pairs (one query); asked for alone only when no pair is left
        n_row = cp.aggregate(_n=cp._c.nunique())
        per = cp.group_by("_code").agg(customers=cp.count()).cache()
        held.callback(per.release)
        big = per.filter(per.customers >= int(min_customers))
        kept = per.aggregate(_k=(per.customers >= int(min_customers)).sum(), _p=per.count())
        k, bought = engine.to_pandas(kept).iloc[0].fillna(0).astype("int64").tolist()
        if k < bought or not engine.dense_groups_fit(span, span):
            # renumbered 0…k−1 over the products kept, so that the pair counts fit an array;
            # materialised, so that the self-join runs on it (the planner would join the
            # customers first and the products' codes after, on ten times the rows)
            big = big.mutate(_dense=ibis.row_number().over(order_by=big._code))
            cpc = cp.inner_join(big.select("_code", "_dense"), "_code")
            cpc = cpc.select("_c", _code=cpc._dense).cache()
            held.callback(cpc.release)
            big = big.select(_key="_dense", _code="_code", customers="customers")
            span = k
        else:  # every product bought is kept: the pairs are counted on the file's codes
            cpc = cp
            big = big.select(_key="_code", _code="_code", customers="customers")
        a = cpc.select("_c", _a=cpc._code)
        b = cpc.select("_c", _b=cpc._code)
        pairs = a.inner_join(b, "_c").filter(lambda x: x._a < x._b)
        pairs = pairs.group_by(["_a", "_b"]).agg(customers_both=pairs.count())
        pairs = pairs.filter(pairs.customers_both >= int(min_customers))
        named = big.inner_join(codes, big._code == codes.code).select("_key", "value", "customers")
        pa = named.select(_a="_key", product_a="value", customers_a="customers")
        pb = named.select(_b="_key", product_b="value", customers_b="customers")
        pairs = pairs.inner_join(pa, "_a").inner_join(pb, "_b").drop("_a", "_b")
        with engine.dense_groups(pairs, span, span):  # the pairs counted in an array
            df = engine.to_pandas(pairs.cross_join(n_row))
        n = int(df["_n"].iloc[0]) if len(df) else int(n_row.to_pyarrow()["_n"][0].as_py() or 0)
    if n:
        df["support"] = df["customers_both"] / n
        df["confidence_ab"] = df["customers_both"] / df["customers_a"]
        df["confidence_ba"] = df["customers_both"] / df["customers_b"]
        df["lift"] = df["customers_both"] * n / (df["customers_a"] * df["customers_b"])
    else:
        for c in ("support", "confidence_ab", "confidence_ba", "lift"):
            df[c] = pd.Series(dtype=float)
    df = df.sort_values(
        ["lift", "customers_both", "product_a", "product_b"], ascending=[False, False, True, True]
    )
    cols = [
        "product_a",
        "product_b",
        "customers_a",
        "customers_b",
        "customers_both",
        "support",
        "confidence_ab",
        "confidence_ba",
        "lift",
    ]
    df = df[cols].reset_index(drop=True)
    df.attrs["customers"] = n
    return df


def product_labels(orders: engine.OrdersLike) -> ir.Table:
    """product_id → label: its most frequent product_name (ties by name), or the id.

    A name that several ids share becomes ``name (id)`` for each of them, so
    that two products never merge into one value of a table.

    Returns
    -------
    ibis.Table
        product_id (string), label (string); one row per product id.
    """
    t = engine.orders_table(orders)
    t = t.filter(t.product_id.notnull()).mutate(product_id=t.product_id.cast("string"))
    if "product_name" not in t.columns:
        return t.select("product_id").distinct().mutate(label=ibis._.product_id)
    top = _top_names(t)
    top = top.select("product_id", name=top.product_name.strip())
    ids = t.select("product_id").distinct()
    lab = ids.left_join(top, "product_id").select("product_id", "name")
    shared = lab.group_by("name").agg(_ids=lab.count())
    lab = lab.left_join(shared, "name").select("product_id", "name", "_ids")
    return lab.select(
        "product_id",
        label=ibis.cases(
            (lab.name.isnull(), lab.product_id),
            (lab._ids > 1, lab.name + " (" + lab.product_id + ")"),
            else_=lab.name,
        ),
    )


def ctb_orders(
    orders: engine.OrdersLike,
    *,
    exclude_ids: Sequence[str] = (),
    exclude_pattern: str | None = None,
) -> tuple[engine.OrdersLike, str]:
    """The orders the CTB tables read, and the level they show (SPEC §3 Products).

    A shop with categories is read as it is (``"category"``). Without any
    category but with product ids, the CTB tables fall back to the product
    level: ``category`` is set to each line's product label
    (:func:`product_labels`) and left empty on excluded products' lines
    (``exclude_products``), which the CTB tables then leave out of
    preferences, transitions and pairs; a first purchase's main value is its
    largest *remaining* line. Amounts, orders and customers are unchanged, so
    segments and revenue are the same.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders.
    exclude_ids, exclude_pattern
        The shop's ``exclude_products`` (ids; a regex on product_name).

    Returns
    -------
    (orders, level)
        ``level`` is ``"category"`` or ``"product"``.

    Raises
    ------
    ColumnsError
        Neither category nor product_id has values.
    """
    t = engine.orders_table(orders)
    if engine.has_values(t, "category"):
        return orders, "category"
    if "product_id" not in t.columns or not engine.has_values(t, "product_id"):
        raise ColumnsError(
            "CTB analysis needs the orders column category (or, failing that, product_id) with "
            f"values; the orders have {sorted(t.columns)}. Map one in the shop settings "
            "(`columns`, or a `product_master`) and ingest again."
        )
    pid = t.product_id.cast("string")
    excluded = ibis.literal(False)
    if exclude_ids:
        excluded = excluded | pid.isin([str(x) for x in exclude_ids])
    if exclude_pattern and "product_name" in t.columns:
        excluded = excluded | t.product_name.re_search(exclude_pattern).fill_null(False)
    labels = product_labels(t).rename(_pid="product_id", _label="label")
    j = t.mutate(_key=pid, _excluded=excluded).left_join(labels, ibis._._key == labels._pid)
    out = j.mutate(
        category=ibis.cases((j._excluded | j._key.isnull(), ibis.null("string")), else_=j._label)
    ).drop("_key", "_excluded", "_pid", "_label")
    return out, "product"


def ctb_level_named(table: pd.DataFrame, level: str) -> pd.DataFrame:
    """A CTB table whose ``level`` says what its values are: ``"product"`` on the fallback.

    The CTB tables of :func:`ctb_orders`' product fallback are computed on the
    category column holding product labels; their ``level`` column reads
    ``"category"``. With ``level="product"`` (the level :func:`ctb_orders`
    returned) those rows are relabelled ``"product"``, so a page or an export
    never calls products categories. Other levels are returned unchanged.

    Examples
    --------
    >>> import pandas as pd
    >>> ctb_level_named(pd.DataFrame({"level": ["category"], "value": ["TEA"]}), "product")
         level value
    0  product   TEA
    """
    if level != "product" or "level" not in table.columns:
        return table
    out = table.copy()
    out["level"] = out["level"].where(out["level"] != "category", "product")
    return out
