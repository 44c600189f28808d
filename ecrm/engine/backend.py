"""How the engine talks to its backend: DuckDB's settings, dense groups, results as pandas.

:func:`configure_default_backend` sets the memory limit, spill folder and
threads of Ibis's default DuckDB connection once; :func:`dense_groups` lets a
block's group-bys on small integer keys use DuckDB's perfect hash aggregate;
:func:`to_pandas` executes an expression and returns pandas, exact decimals
as float64 only at that last step. Other Ibis backends run the same queries
unchanged: the settings are DuckDB's alone.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from collections.abc import Iterable, Iterator, Sequence

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from ecrm.errors import ParameterError

__all__ = [
    "DENSE_GROUP_BITS",
    "configure_default_backend",
    "dense_groups",
    "dense_groups_fit",
    "to_pandas",
]

_MEMORY = re.compile(r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$")


@functools.cache
def configure_default_backend() -> None:
    """Set DuckDB's memory limit (and spill folder) on Ibis's default backend, once.

    ``ECRM_DUCKDB_MEMORY_LIMIT`` (default ``3GB``) caps DuckDB's buffer memory so
    that large shops spill to disk instead of growing without bound;
    ``ECRM_DUCKDB_TEMP_DIRECTORY`` sets where it spills; ``ECRM_DUCKDB_THREADS``
    (default: one per core) the threads of its queries — the report renderer
    gives each of its parallel kernels its share of the cores
    (:func:`ecrm.render.kernel.thread_limits`). Called on first use of
    :func:`orders_table` with a pandas frame or a path, never at import.
    """
    con = ibis.get_backend()
    if getattr(con, "name", "") != "duckdb":
        return
    limit = os.environ.get("ECRM_DUCKDB_MEMORY_LIMIT", "3GB").strip()
    if not _MEMORY.match(limit):
        raise ParameterError(f"ECRM_DUCKDB_MEMORY_LIMIT must look like 3GB, got {limit!r}")
    con.raw_sql(f"SET memory_limit = '{limit}'")
    # DuckDB refuses to touch its progress bar inside Jupyter without ipywidgets:
    # the bar is only cosmetic, so a refusal is fine.
    with contextlib.suppress(Exception):  # duckdb.InvalidInputException
        con.raw_sql("SET enable_progress_bar = false")
    threads = os.environ.get("ECRM_DUCKDB_THREADS", "").strip()
    if threads:
        if not threads.isdigit() or int(threads) < 1:
            raise ParameterError(f"ECRM_DUCKDB_THREADS must be a positive number, got {threads!r}")
        con.raw_sql(f"SET threads = {int(threads)}")
    temp = os.environ.get("ECRM_DUCKDB_TEMP_DIRECTORY")
    if temp:
        if "'" in temp:
            raise ParameterError("ECRM_DUCKDB_TEMP_DIRECTORY must not contain a quote")
        con.raw_sql(f"SET temp_directory = '{temp}'")


#: The most key bits :func:`dense_groups` lets DuckDB's perfect hash aggregate take
#: (2**22 groups: a few tens of MB per thread for a count).
DENSE_GROUP_BITS = 22


@contextlib.contextmanager
def dense_groups(expr: ir.Table, *spans: int) -> Iterator[None]:
    """Let the group-bys of ``expr`` on small integer keys use an array, not a hash table.

    DuckDB aggregates on a *perfect hash table* (an array indexed by the keys)
    when the integer group keys' value ranges, read from the column
    statistics, need at most ``perfect_ht_threshold`` bits together (one more
    per key for NULL; 12 by default: two keys of 32 values). Inside the block the
    threshold is raised to the bits of keys spanning ``spans`` values each,
    up to :data:`DENSE_GROUP_BITS`, and set back after — the pair counts of
    :func:`ecrm.analysis.products.cross_purchase_products` (two product codes
    of a few hundred values each) then skip hashing 20M pairs. It changes how
    the engine groups, never what a query returns. Other backends: no change.

    Parameters
    ----------
    expr : ibis Table
        A table on the backend the block's queries run on.
    *spans : int
        The number of values each integer key spans.
    """
    bits = _dense_bits(spans)
    con = expr.get_backend()
    if getattr(con, "name", "") != "duckdb" or not 12 < bits <= DENSE_GROUP_BITS:
        yield
        return
    old = con.raw_sql("SELECT current_setting('perfect_ht_threshold')").fetchall()[0][0]
    con.raw_sql(f"SET perfect_ht_threshold = {max(int(old), bits)}")
    try:
        yield
    finally:
        con.raw_sql(f"SET perfect_ht_threshold = {int(old)}")


def dense_groups_fit(*spans: int) -> bool:
    """Whether integer keys spanning ``spans`` values fit :func:`dense_groups`' array.

    Parameters
    ----------
    *spans : int
        The number of values each integer key spans.

    Returns
    -------
    bool
        Their bits (one more per key for NULL) are at most :data:`DENSE_GROUP_BITS`.
    """
    return _dense_bits(spans) <= DENSE_GROUP_BITS


def _dense_bits(spans: Sequence[int]) -> int:
    """The bits of a perfect hash table on keys spanning ``spans`` values (+1 per key: NULL)."""
    return sum(max(int(s) - 1, 1).bit_length() + 1 for s in spans)


def to_pandas(expr: ir.Table, *, money: Iterable[str] | None = None) -> pd.DataFrame:
    """Execute ``expr`` and return pandas, decimals as float64.

    Parameters
    ----------
    expr : ibis.Table
    money : iterable of str, optional
        Columns to convert to float64 (default: every decimal column).
    """
    schema = expr.schema()
    cols = set(money) if money is not None else {c for c, typ in schema.items() if typ.is_decimal()}
    casts = {c: expr[c].cast("float64") for c in cols if c in schema}
    out = expr.mutate(**casts) if casts else expr
    if not _arrow_convertible(out):
        return out.to_pandas()
    # Through Arrow: Ibis's own pandas conversion re-converts every column in
    # Python and took 2-4x as long on million-row results. The dtypes are the
    # same as Ibis's (dates as datetime64[s], strings as str, nullable integers
    # as float64); nested types (lists, structs) keep Ibis's conversion above.
    table = out.to_pyarrow()
    for i, f in enumerate(table.schema):
        if pa.types.is_date(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(pa.timestamp("s")))
    return table.to_pandas()


def _arrow_convertible(expr: ir.Table) -> bool:
    """True for a DuckDB expression without nested columns."""
    try:
        if expr._find_backend(use_default=True).name != "duckdb":
            return False
    except Exception:
        return False
    return not any(t.is_nested() or t.is_interval() for t in expr.schema().types)
