"""The engine contract: orders in as pandas or Ibis, set-based work in the engine.

Every analysis accepts the canonical orders table (SPEC §1) as a pandas
DataFrame, an Ibis table (a Parquet scan, a warehouse table) or a path to a
canonical Parquet file, and runs order-level work through Ibis — DuckDB by
default, any Ibis backend (Spark, BigQuery...) unchanged. Results come back as
pandas DataFrames; exact decimals become float64 only at that last step, after
every sum, rank and bin has been computed exactly.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import stat
import tempfile
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt_ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from ecrm.engine import cache
from ecrm.engine.backend import configure_default_backend
from ecrm.errors import ColumnsError, DataError, ParameterError

__all__ = [
    "AMOUNT",
    "MAIN_LINE_COLUMNS",
    "RETURN_LINES_FILE",
    "RETURN_LINES_MAX_SHARE",
    "RETURN_LINE_COLUMNS",
    "TOTALS_COLUMNS",
    "OrdersLike",
    "all_order_totals",
    "as_of_date",
    "is_canonical",
    "largest_line",
    "next_day",
    "order_totals",
    "orders_table",
    "require_columns",
    "stored_first_purchases",
    "stored_main_lines",
    "stored_order_totals",
    "stored_purchases",
    "stored_return_lines",
    "upto",
    "write_order_totals",
]

#: Exact decimal type of amounts inside the engine (matches ingestion).
AMOUNT = dt_ibis.Decimal(18, 4)

OrdersLike = pd.DataFrame | ir.Table | str | Path


def as_of_date(as_of: Any) -> dt.date:
    """Parse ``as_of`` (a date, datetime, Timestamp or ISO string) to a date.

    Raises
    ------
    ParameterError
        ``as_of`` is missing or not a date. It is required on purpose: ecrm never
        defaults to today or to the latest date in the data.
    """
    if as_of is None:
        raise ParameterError("as_of is required (the last day of the analysis, inclusive)")
    if isinstance(as_of, pd.Timestamp):
        return as_of.date()
    if isinstance(as_of, dt.datetime):
        return as_of.date()
    if isinstance(as_of, dt.date):
        return as_of
    if isinstance(as_of, str):
        try:
            return dt.date.fromisoformat(as_of.strip())
        except ValueError:
            pass
    raise ParameterError(f"as_of must be a date like 2026-10-31, got {as_of!r}")


def next_day(as_of: Any) -> dt.datetime:
    """The first instant after ``as_of`` (orders before it are on or before as_of)."""
    d = as_of_date(as_of)
    return dt.datetime.combine(d + dt.timedelta(days=1), dt.time())


def orders_table(orders: OrdersLike) -> ir.Table:
    """Return the orders as an Ibis table with canonical types.

    Parameters
    ----------
    orders : DataFrame, ibis Table, str or Path
        Canonical orders (SPEC §1): at least order_id, customer_id, ordered_at,
        amount. A path is read as Parquet (a canonical orders file or a shop's
        ``canonical/orders.parquet``).

    Returns
    -------
    ibis.Table
        ``amount`` as decimal(18, 4), ``ordered_at`` as timestamp, ids as strings.

    Raises
    ------
    ColumnsError
        A required column is missing.
    """
    if isinstance(orders, str | Path):
        p = Path(orders)
        if p.is_dir():
            p = p / "canonical" / "orders.parquet"
        if not p.is_file():
            raise ParameterError(f"no orders file at {p} (run `ecrm ingest` first)")
        configure_default_backend()
        key = cache.file_key(p)
        return _read(p) if key is None else cache.scan(key, lambda: _read(p))
    elif isinstance(orders, pd.DataFrame):
        configure_default_backend()
        t = ibis.memtable(orders)
    elif isinstance(orders, ir.Table):
        t = orders
    else:
        raise ParameterError(
            f"orders must be a pandas DataFrame, an Ibis table or a Parquet path, "
            f"got {type(orders).__name__}"
        )
    require_columns(t, ("order_id", "customer_id", "ordered_at", "amount"), "orders")
    return _canonical_types(t)


def _read(p: Path) -> ir.Table:
    """The scan of a canonical Parquet file, with canonical types (see :func:`is_canonical`).

    Raises
    ------
    DataError
        The file is not readable Parquet (damaged, truncated, not Parquet at all):
        the message names it and says to ingest the shop again.
    """
    import duckdb

    try:
        t = ibis.read_parquet(str(p))
    except (duckdb.Error, OSError, pa.ArrowException) as e:
        reason = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        shop = p.parent.parent.name if p.parent.name == "canonical" else "<shop>"
        raise DataError(
            f"{p} cannot be read as Parquet ({reason}): the canonical set is damaged. "
            f"Run `ecrm ingest {shop}` again to rebuild it from the raw exports"
        ) from None
    require_columns(t, ("order_id", "customer_id", "ordered_at", "amount"), "orders")
    t = _canonical_types(t)
    _CANONICAL[t.op()] = None
    while len(_CANONICAL) > _CANONICAL_SIZE:
        _CANONICAL.popitem(last=False)
    return t


def _canonical_types(t: ir.Table) -> ir.Table:
    typ = t.ordered_at.type()
    if typ.is_timestamp() and typ.timezone is not None:
        # days would be cut in the engine's zone, not the shop's: refuse, never guess
        raise DataError(
            f"ordered_at carries the time zone {typ.timezone!r}; canonical times are the "
            "shop's local wall-clock time without a zone (SPEC §1). Convert first, e.g. "
            "df['ordered_at'].dt.tz_convert('Asia/Tokyo').dt.tz_localize(None), or ingest "
            "the raw export with `ecrm ingest`."
        )
    casts: dict[str, Any] = {}
    if t.amount.type() != AMOUNT:
        casts["amount"] = t.amount.cast(AMOUNT)
    if not t.ordered_at.type().is_timestamp():
        casts["ordered_at"] = t.ordered_at.cast("timestamp")
    for c in ("order_id", "customer_id"):
        if not t[c].type().is_string():
            casts[c] = t[c].cast("string")
    return t.mutate(**casts) if casts else t


def require_columns(t: ir.Table | pd.DataFrame, columns: Iterable[str], analysis: str) -> None:
    """Raise :class:`ColumnsError` naming what ``analysis`` needs and the table lacks."""
    have = set(t.columns)
    missing = [c for c in columns if c not in have]
    if missing:
        raise ColumnsError(
            f"{analysis} needs column(s) {missing}; the orders table has {sorted(have)}. "
            "Map them in the shop settings (`columns`, or a `product_master` for "
            "category/taste/brand) and ingest again."
        )


def has_values(t: ir.Table, column: str) -> bool:
    """True if ``column`` exists and holds at least one non-null value."""
    if column not in t.columns:
        return False
    return bool(t[column].notnull().any().to_pyarrow().as_py())


#: Tables read from canonical Parquet files by :func:`orders_table` (their plans).
_CANONICAL: OrderedDict[Any, None] = OrderedDict()
_CANONICAL_SIZE = 64


def is_canonical(t: ir.Table) -> bool:
    """True for a table :func:`orders_table` read from a canonical Parquet file.

    Its lines carry their order's time (``ecrm ingest`` writes them so), which
    lets a query cut lines by time where it means orders.
    """
    return t.op() in _CANONICAL


def upto(t: ir.Table, as_of: Any) -> ir.Table:
    """The lines of the orders placed on or before ``as_of`` (shop-local calendar day).

    Orders are atomic, as in :func:`order_totals`: an order placed by as_of
    (its earliest line) brings every line, also one stamped after midnight.
    In a canonical file (a path given to :func:`orders_table`) every line of
    an order carries the order's time (``ecrm ingest`` writes them so), so
    the plain cut on ``ordered_at`` is the same and is what runs. For
    DataFrames and Ibis tables, whose lines may be stamped apart, lines
    after as_of are kept when their order has a line on or before it.
    """
    before = t.ordered_at < ibis.literal(next_day(as_of))
    if is_canonical(t):
        return t.filter(before)
    return t.filter(before | t.order_id.isin(t.filter(before).order_id))


def order_totals(orders: OrdersLike, *, as_of: Any, customers_only: bool = True) -> ir.Table:
    """One row per order placed on or before ``as_of``: customer, time, date, net amount.

    An order is atomic: it is placed at its earliest line's time and its amount
    is the sum of all its lines. (Ingestion rejects orders whose lines are more
    than an hour apart, so the only effect of this rule is that an order placed
    just before midnight on ``as_of`` counts with every line, even one stamped a
    few minutes after.) The lines of one order share one customer — ingestion
    rejects anything else, and :func:`all_order_totals` checks it again for
    canonical files.

    For a canonical Parquet path, the order totals of the whole file are
    computed once per process and kept in the engine (see
    :func:`all_order_totals`); every analysis of the same file then starts from
    the ~3× smaller order table instead of regrouping the lines.

    Returns
    -------
    ibis.Table
        order_id, customer_id, ordered_at (the order's earliest line), order_date,
        amount (net, exact decimal), is_purchase (net amount > 0, SPEC §1).
    """
    o = all_order_totals(orders)
    o = o.filter(o.ordered_at < ibis.literal(next_day(as_of)))
    if customers_only:
        o = o.filter(o.customer_id.notnull())
    return o


def all_order_totals(orders: OrdersLike) -> ir.Table:
    """Every order of the table (guests included): customer, time, date, net amount.

    Parameters
    ----------
    orders : DataFrame, ibis Table, str or Path
        Canonical orders (SPEC §1).

    Returns
    -------
    ibis.Table
        order_id, customer_id, ordered_at, order_date, amount, is_purchase, as in
        :func:`order_totals`, without an as_of cut.

    Raises
    ------
    DataError
        (canonical files) Lines of one order name different customers.

    Notes
    -----
    A canonical Parquet file (a path) is grouped once per process and the
    result kept in the engine's cache (:mod:`ecrm.engine.cache`, the file
    table ``("order_totals",)``), keyed by the file's path, size and
    modification time, so a rewritten file is never served stale. When
    ingestion stored the file's order totals beside it
    (:func:`write_order_totals`) and they are still its own, they are read
    instead of grouping the lines. With the cache off (``ECRM_CACHE=0``) each
    call regroups the lines, as for DataFrames and Ibis tables.
    """
    t = orders_table(orders)
    key = cache.file_key(orders)
    if key is None:
        return _grouped(t)

    kept = _kept_totals(orders, t, key)
    # the kept table may carry the stored purchase numbering (stored_purchases)
    return kept.select(*TOTALS_COLUMNS) if PURCHASE_SEQ in kept.columns else kept


def _kept_totals(orders: OrdersLike, t: ir.Table, key: tuple[str, int, int]) -> ir.Table:
    """The file's order totals as kept in the cache (with the stored numbering, if any)."""

    def build() -> ir.Table:
        stored = _stored_totals(key)
        return stored.cache() if stored is not None else _checked(t, key[0])

    return cache.table(orders, ("order_totals",), build, materialise=False)


def stored_purchases(orders: OrdersLike, *, as_of: Any) -> ir.Table | None:
    """The purchases up to ``as_of``, numbered as ingestion stored them, if it did.

    :func:`write_order_totals` numbers every customer's purchases of the
    whole file (``purchase_seq``: 1 = first, by time then order id). An
    ``as_of`` cut keeps a prefix of each customer's purchases in that order
    (every order placed before the cut, ties in time kept or dropped
    together), so the stored numbers of the kept purchases are the numbers a
    window over them would give: the numbering needs no window per run.

    Parameters
    ----------
    orders : DataFrame, ibis Table, str or Path
        Canonical orders; only a canonical file (a path) has stored totals,
        and they are read through the engine's cache (``ECRM_CACHE``).
    as_of : date or str
        Last day, inclusive.

    Returns
    -------
    ibis.Table or None
        customer_id, order_id, ordered_at, order_date, amount, seq: one row
        per purchase (net amount > 0) of a customer placed by ``as_of``;
        None when the orders have no stored numbering of their own (not a
        file, the cache off, totals stored by an older ecrm or for another
        version of the file).
    """
    key = cache.file_key(orders)
    if key is None:
        return None
    kept = _kept_totals(orders, orders_table(orders), key)
    if PURCHASE_SEQ not in kept.columns:
        return None
    p = kept.filter(
        kept[PURCHASE_SEQ].notnull() & (kept.ordered_at < ibis.literal(next_day(as_of)))
    )
    return p.select(
        "order_id", "customer_id", "ordered_at", "amount", "order_date", seq=p[PURCHASE_SEQ]
    )


def _grouped(t: ir.Table, *, check: bool = False) -> ir.Table:
    """The order totals of the lines ``t`` (with ``_customer_max`` to check them)."""
    aggs: dict[str, Any] = {
        "customer_id": t.customer_id.min(),
        "ordered_at": t.ordered_at.min(),
        "amount": t.amount.sum().cast(AMOUNT),
    }
    if check:
        aggs["_customer_max"] = t.customer_id.max()
    o = t.group_by("order_id").agg(**aggs)
    return o.mutate(order_date=o.ordered_at.date(), is_purchase=o.amount > 0)


def _checked(t: ir.Table, where: str) -> ir.Table:
    """The order totals of a canonical file's lines, materialised, after checking them.

    Raises
    ------
    DataError
        Lines of one order name different customers.
    """
    o = _grouped(t, check=True).cache()
    bad = o.filter(o.customer_id != o._customer_max).select("order_id").order_by("order_id")
    mixed = bad.limit(5).to_pyarrow().column("order_id").to_pylist()
    if mixed:
        raise DataError(
            f"{where}: lines of order(s) {mixed} name different customers; "
            "ingest the raw exports again (`ecrm ingest`) to get a checked table"
        )
    return o.drop("_customer_max")  # a projection of the cached table


#: The order totals ingestion stores beside a canonical orders file.
ORDER_TOTALS_FILE = "order_totals.parquet"

#: The lines of the returning customers ingestion stores beside a canonical orders file.
RETURN_LINES_FILE = "return_lines.parquet"

#: The columns of the stored return lines (:func:`stored_return_lines`), those the file has.
RETURN_LINE_COLUMNS = ("order_id", "customer_id", "ordered_at", "amount", "category")

#: The largest share of a file's lines the stored return lines may hold (above it, none).
RETURN_LINES_MAX_SHARE = 0.25

#: The columns of the order totals (:func:`order_totals`), stored or grouped.
TOTALS_COLUMNS = ("order_id", "customer_id", "ordered_at", "amount", "order_date", "is_purchase")

#: The stored order totals' column numbering each customer's purchases (stored_purchases).
PURCHASE_SEQ = "purchase_seq"

#: The line columns whose largest line's values are stored with the order totals, and
#: the tie order of :func:`largest_line` after the amount (product, then SPEC §2's
#: first-purchase attributes).
MAIN_LINE_COLUMNS = ("product_id", "category", "taste", "brand", "channel")


def largest_line(lines: ir.Table, by: str, columns: Iterable[str]) -> ir.Table:
    """The ``columns`` of each ``by`` group's largest line, as ``by`` and ``columns``.

    The largest line is the one with the largest amount; ties go to the smallest
    product_id, then category, taste, brand, channel (those present), missing
    values last. One aggregate, not a window: the minimum of a struct of
    (−amount, the tie keys, the columns), which DuckDB compares field by field
    with NULL greater than any value — the order of ``ORDER BY amount DESC,
    product_id, … NULLS LAST`` without sorting the lines as ``row_number()``
    over a window does.

    Parameters
    ----------
    lines : ibis Table
        Order lines with ``by``, amount and ``columns``.
    by : str
        The group column (``customer_id``, ``order_id``).
    columns : iterable of str
        Columns to return.

    Returns
    -------
    ibis Table
        One row per value of ``by``.
    """
    cols = list(columns)
    ties = [c for c in MAIN_LINE_COLUMNS if c in lines.columns]
    keys = list(dict.fromkeys([*ties, *cols]))
    # keys after the last returned column only choose among lines that agree on
    # every returned column: leaving them out changes no result (and saves time)
    keys = keys[: max((keys.index(c) + 1 for c in cols), default=0)]
    fields: dict[str, Any] = {"_neg_amount": -lines.amount}
    fields.update({c: lines[c] for c in keys})
    top = lines.group_by(by).agg(_top=ibis.struct(fields).min())
    return top.select(by, **{c: top._top[c] for c in cols})


_TOTALS_KEY = b"ecrm.orders_file"
#: Metadata of the stored totals: whether the customers' hashes are distinct (customer_hash).
_HASH_KEY = b"ecrm.customer_hash"


def customer_hash(customer_id: ir.StringValue) -> ir.IntegerValue:
    """An integer key of a customer: DuckDB's 64-bit ``hash`` of the id.

    Joins and groups on it are faster than on the id's string, but two ids may
    share a hash: a query may use it in place of the id only where
    :func:`customer_hash_distinct` says that ingestion found the file's
    customers' hashes distinct.
    """
    return customer_id.hash()


def _hash_check(totals: pa.Table) -> dict[str, Any]:
    """Whether :func:`customer_hash` tells the customers of ``totals`` apart, under which DuckDB."""
    import duckdb

    t = ibis.memtable(totals.select(["customer_id"]))
    c = t.filter(t.customer_id.notnull())
    n = c.aggregate(ids=c.customer_id.nunique(), hashes=customer_hash(c.customer_id).nunique())
    row = n.to_pyarrow().to_pylist()[0]
    return {"duckdb": duckdb.__version__, "distinct": row["ids"] == row["hashes"]}


def customer_hash_distinct(orders: OrdersLike) -> bool:
    """True when ``orders`` is a file whose customers :func:`customer_hash` tells apart.

    :func:`write_order_totals` (which ``ecrm ingest`` calls) counts the file's
    distinct customer ids and their distinct hashes and records whether the
    counts agree, and the DuckDB version that hashed them, with the stored
    totals. Only then, and under that same DuckDB version (its hash function
    may change between versions), can a query group or join customers by
    their hash and count them exactly; anything else (a DataFrame, an Ibis
    table, totals of another version of the file or written by an older
    ecrm, another DuckDB, a collision) answers False and the query keeps the id.

    Parameters
    ----------
    orders : DataFrame, ibis Table, str or Path
        Canonical orders.

    Returns
    -------
    bool
    """
    import duckdb

    meta = _stored_meta(_file_key_of(orders))
    try:
        check = json.loads(meta.get(_HASH_KEY, b"{}")) if meta is not None else {}
    except ValueError:
        return False
    return check == {"duckdb": duckdb.__version__, "distinct": True}


def write_order_totals(orders_file: str | Path) -> Path:
    """Store a canonical file's order totals beside it, for every later process.

    :func:`all_order_totals` then reads ``order_totals.parquet`` (a third of
    the lines' rows) instead of grouping the lines again: each report kernel
    would otherwise do it once. The file records the orders file's size and
    modification time, and is ignored when they no longer match (a rewritten
    or touched orders file: the totals are grouped again, as without it).
    Each customer's purchases are numbered as well (``purchase_seq``, read
    by :func:`stored_purchases`), and each order's largest line's
    :data:`MAIN_LINE_COLUMNS` stored (:func:`stored_main_lines`), and
    whether the customers' hashes are distinct recorded in the file's metadata
    (:func:`customer_hash_distinct`). The lines of the customers with a
    return line are stored too, in ``return_lines.parquet`` with the same
    stamp, when there are any and they are few enough
    (:func:`stored_return_lines`). ``ecrm ingest`` calls this after
    writing the orders. It works the same whether the cache is on or off
    (``ECRM_CACHE``): the totals are grouped from the file's lines and
    checked here.

    Parameters
    ----------
    orders_file : str or Path
        A canonical orders file (or a shop folder: its ``canonical/orders.parquet``).

    Returns
    -------
    Path
        The order totals file.

    Raises
    ------
    ParameterError
        There is no orders file.
    DataError
        Lines of one order name different customers.
    """
    p = Path(orders_file)
    if p.is_dir():
        p = p / "canonical" / "orders.parquet"
    key = cache.file_stamp(p)
    if key is None:
        raise ParameterError(f"no orders file at {p} (run `ecrm ingest` first)")
    configure_default_backend()
    lines = _read(p)
    totals = _checked(lines, key[0])
    main = [c for c in MAIN_LINE_COLUMNS if c in lines.columns]
    if main:  # each order's largest line (stored_main_lines), from the same file
        top = largest_line(lines, "order_id", main).rename({f"main_{c}": c for c in main})
        totals = totals.left_join(top, "order_id")
    buys = totals.filter(totals.is_purchase & totals.customer_id.notnull())
    w = ibis.window(group_by="customer_id", order_by=["ordered_at", "order_id"])
    seq = buys.select("order_id", **{PURCHASE_SEQ: (ibis.row_number().over(w) + 1).cast("int64")})
    totals = totals.left_join(seq, "order_id")
    cols = [*TOTALS_COLUMNS, PURCHASE_SEQ, *[f"main_{c}" for c in main]]
    table = totals.select(*cols).to_pyarrow()
    stamp = json.dumps({"size": key[2], "mtime_ns": key[1]}).encode()
    table = table.replace_schema_metadata(
        {_TOTALS_KEY: stamp, _HASH_KEY: json.dumps(_hash_check(table)).encode()}
    )
    target = p.with_name(ORDER_TOTALS_FILE)
    _write_beside(table, target, p)
    _write_return_lines(lines, p, stamp)
    return target


def _write_beside(table: pa.Table, target: Path, like: Path) -> None:
    """Write ``table`` to ``target`` through a temporary file beside it (all or nothing).

    The file gets the permission bits of ``like`` (the orders file): whoever may
    read the orders may read what is stored beside them (a temporary file
    is created readable by its owner alone).
    """
    import pyarrow.parquet as pq

    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.chmod(tmp, stat.S_IMODE(like.stat().st_mode))
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _write_return_lines(lines: ir.Table, p: Path, stamp: bytes) -> None:
    """Store the lines of the customers with a return line beside ``p``, when few enough.

    See :func:`stored_return_lines`. Any earlier file is removed first, so that
    a file left by an earlier version of the orders is never read with a stamp
    that no longer matches (it would be ignored anyway).
    """
    target = p.with_name(RETURN_LINES_FILE)
    with contextlib.suppress(FileNotFoundError):
        target.unlink()
    cols = [c for c in RETURN_LINE_COLUMNS if c in lines.columns]
    c = lines.filter(lines.customer_id.notnull())
    returners = c.filter(c.amount < 0).select("customer_id").distinct()
    kept = c.semi_join(returners, "customer_id").select(*cols)
    kept = kept.order_by(["customer_id", "ordered_at", "order_id"]).cache()  # counted, then read
    try:
        n_kept = kept.count().to_pyarrow().as_py()
        if n_kept == 0 or n_kept > RETURN_LINES_MAX_SHARE * lines.count().to_pyarrow().as_py():
            return  # no returns; or so many that a scan of the orders costs about as much
        table = kept.to_pyarrow()
    finally:
        kept.release()
    _write_beside(table.replace_schema_metadata({_TOTALS_KEY: stamp}), target, p)


def stored_return_lines(orders: OrdersLike) -> ir.Table | None:
    """Every line of the customers with a return line, as ingestion stored them, if it did.

    :func:`write_order_totals` (which ``ecrm ingest`` calls) stores beside a
    canonical orders file every line of each customer who has a line with
    an amount < 0 anywhere in the file (:data:`RETURN_LINE_COLUMNS`, those the
    file has), unless those lines are more than
    :data:`RETURN_LINES_MAX_SHARE` of the file's lines. An analysis that nets
    a returning customer's lines exactly (:func:`ecrm.analysis.cross_sell.cross_sell_monthly`)
    reads them there instead of picking them out of every line again. The
    file carries the orders file's stamp, as the stored totals do.

    Parameters
    ----------
    orders : DataFrame, ibis Table, str or Path
        Canonical orders; only a canonical file (a path, or a kept scan of
        one) has stored return lines.

    Returns
    -------
    ibis.Table or None
        The lines (unchanged values, no guests); None when ``orders`` is not a
        file, there is no such file beside it (no returns, too many, an older
        ecrm) or it was written for another version of the orders file.
    """
    key = _file_key_of(orders)
    if key is None or _own_meta(RETURN_LINES_FILE, key) is None:
        return None
    return ibis.read_parquet(str(Path(key[0]).with_name(RETURN_LINES_FILE)))


def stored_order_totals(orders_file: str | Path) -> ir.Table | None:
    """The order totals stored beside ``orders_file``, if they are still its own.

    Parameters
    ----------
    orders_file : str or Path
        A canonical orders file (or a shop folder).

    Returns
    -------
    ibis.Table or None
        The scan of ``order_totals.parquet`` (:func:`write_order_totals`);
        None when there is none, or it was written for another version of
        the file (another size or modification time).
    """
    key = cache.file_stamp(orders_file)
    stored = _stored_totals(key) if key is not None else None
    return stored.select(*TOTALS_COLUMNS) if stored is not None else None


def _stored_totals(key: tuple[str, int, int]) -> ir.Table | None:
    """The stored order totals of the file under ``key``, if they are its own."""
    scan = _stored_scan(key)
    if scan is None:
        return None
    return scan.select(*TOTALS_COLUMNS, *[c for c in (PURCHASE_SEQ,) if c in scan.columns])


def _stored_meta(key: tuple[str, int, int] | None) -> dict[bytes, bytes] | None:
    """The metadata of the stored order totals of the file under ``key``, if they are its own."""
    return _own_meta(ORDER_TOTALS_FILE, key) if key is not None else None


def _own_meta(name: str, key: tuple[str, int, int]) -> dict[bytes, bytes] | None:
    """The metadata of the file ``name`` stored beside the file under ``key``, if it is its own.

    Its own: it records the orders file's size and modification time as they
    are now (an unreadable file, or one without the stamp, is not).
    """
    import pyarrow.parquet as pq

    side = Path(key[0]).with_name(name)
    try:
        meta = pq.read_schema(side).metadata or {}
        stamp = json.loads(meta.get(_TOTALS_KEY, b"{}"))
    except (OSError, ValueError, pa.ArrowInvalid):
        return None
    return meta if stamp == {"size": key[2], "mtime_ns": key[1]} else None


def _stored_scan(key: tuple[str, int, int]) -> ir.Table | None:
    """The whole stored order totals file of the file under ``key``, if it is its own."""
    if _stored_meta(key) is None:
        return None
    return ibis.read_parquet(str(Path(key[0]).with_name(ORDER_TOTALS_FILE)))


def _file_key_of(orders: OrdersLike) -> tuple[str, int, int] | None:
    """The file key of ``orders``: a path's stamp whatever the cache switch; a kept scan's file."""
    return cache.file_stamp(orders) if isinstance(orders, str | Path) else cache.file_key(orders)


def _stored_scan_of(orders: OrdersLike) -> ir.Table | None:
    """The whole stored order totals file of ``orders``, if it is a file with its own.

    A path whatever the cache switch (as :func:`stored_order_totals`); a kept
    scan by its file.
    """
    key = _file_key_of(orders)
    return _stored_scan(key) if key is not None else None


def stored_main_lines(orders: OrdersLike, columns: Iterable[str]) -> ir.Table | None:
    """Each order's largest line's ``columns``, as ingestion stored them, if it did.

    :func:`write_order_totals` stores, for every order, the ``columns`` of the
    line :func:`largest_line` picks among all the order's lines (the pick of
    SPEC §2's first-purchase attributes), as ``main_<column>``. Reading them
    costs a scan of the order totals' columns instead of a pass over the lines.

    Parameters
    ----------
    orders : DataFrame, ibis Table, str or Path
        Canonical orders; only a canonical file (a path) has stored totals.
    columns : iterable of str
        Line columns among :data:`MAIN_LINE_COLUMNS`.

    Returns
    -------
    ibis.Table or None
        order_id and ``columns`` (one row per order of the file, guests and
        orders after any as_of included); None when ``orders`` is not a file
        with stored totals of its own holding every one of ``columns``.
    """
    scan = _stored_scan_of(orders)
    cols = list(columns)
    if scan is None or not all(f"main_{c}" in scan.columns for c in cols):
        return None
    return scan.select("order_id", **{c: scan[f"main_{c}"] for c in cols})


def stored_first_purchases(
    orders: OrdersLike, *, as_of: Any, columns: Iterable[str] = ()
) -> ir.Table | None:
    """Each customer's first purchase by ``as_of`` and its largest line's ``columns``, if stored.

    One filtered scan of the stored order totals (the rows numbered 1 by
    :func:`write_order_totals`, placed by ``as_of``), without a join: the
    first purchase of a customer with a purchase by ``as_of`` is its first
    of the whole file (:func:`stored_purchases`), and its largest line is
    stored with it (:func:`stored_main_lines`). Like those, it reads the
    file beside a canonical orders path whatever the cache switch.

    Parameters
    ----------
    orders : DataFrame, ibis Table, str or Path
        Canonical orders; only a canonical file (a path) has stored totals.
    as_of : date or str
        Last day, inclusive.
    columns : iterable of str, default ()
        Line columns among :data:`MAIN_LINE_COLUMNS`.

    Returns
    -------
    ibis.Table or None
        customer_id, order_id, ordered_at, order_date, amount and ``columns``
        (null where the largest line has none): one row per customer with a
        purchase by ``as_of``; None when ``orders`` is not a file with stored
        totals of its own holding the numbering and every one of ``columns``.
    """
    scan = _stored_scan_of(orders)
    cols = list(columns)
    need = [PURCHASE_SEQ, *(f"main_{c}" for c in cols)]
    if scan is None or not all(c in scan.columns for c in need):
        return None
    s = scan.filter((scan[PURCHASE_SEQ] == 1) & (scan.ordered_at < ibis.literal(next_day(as_of))))
    return s.select(
        "customer_id",
        "order_id",
        "ordered_at",
        "order_date",
        "amount",
        **{c: s[f"main_{c}"] for c in cols},
    )
