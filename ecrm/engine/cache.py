"""The one cache of ecrm: tables of canonical orders files kept in the engine.

Every intermediate table that outlives one function call lives here, and only
here. Analyses ask for a table **by name**; the cache returns the kept table
or builds it, and never chooses what to compute by what it happens to hold
(there is no way to search it).

What is kept
    For each canonical orders file (a path to canonical Parquet, or the scan
    :func:`ecrm.engine.orders_table` made of one):

    * the file's **scan** (:func:`scan`), so that later calls get the same
      Ibis table;
    * **file tables** (:func:`table`): the file's order totals and named
      intermediate tables such as the purchase history of an as_of;
    * **run tables** (:func:`run`): the named intermediate tables of one
      (file, as_of) run, shared by the analyses of that run
      (:class:`ecrm.engine.run.RunTables`).

    Tables are materialised in the backend (``Table.cache()``, a temporary
    table of DuckDB) unless their builder materialised them itself, or they
    are a filter of a kept table (a run's purchases, where ingestion stored
    their numbering: :func:`ecrm.engine.stored_purchases`, a filter of the
    kept order totals).

Keyed by
    The file's :func:`file_stamp`: its resolved path, modification time in
    nanoseconds and size, plus the table's name, a tuple holding every
    argument the table depends on (e.g. ``("purchase_history", as_of)`` or
    ``("order_mains", ("category", "brand"), ...)``); run tables also by the
    run's as_of.

Invalidation
    A rewritten or touched file has a new stamp, so its old tables are never
    served. At most :data:`MAX_FILES` files and :data:`MAX_RUNS` runs are
    kept, least recently used first out (a run's tables are released from the
    backend as it goes: those of one as_of of a 1M-customer shop take about
    1 GB of DuckDB memory, and a third run pushed DuckDB over its memory limit
    into spilling, which cost more than it saved). :func:`clear` drops
    everything.

The switch
    ``ECRM_CACHE=0`` turns the cache off (:func:`enabled`, the only place the
    variable is read): nothing is kept, every call builds its tables afresh
    (and a run's tables are released when the run ends). DataFrames and Ibis
    tables that are not a kept file's scan are never cached.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis.expr.types as ir

__all__ = [
    "MAX_FILES",
    "MAX_RUNS",
    "FileKey",
    "TableStore",
    "clear",
    "enabled",
    "file_key",
    "file_stamp",
    "is_kept",
    "run",
    "scan",
    "table",
]

#: (resolved path, mtime in ns, size) of a canonical orders file.
FileKey = tuple[str, int, int]
#: Name of a kept table: a tuple of its kind and every argument it depends on.
Name = tuple[Hashable, ...]

#: Canonical files whose scan and file tables are kept (least recently used out).
MAX_FILES = 2
#: (file, as_of) runs whose tables are kept (least recently used out).
MAX_RUNS = 2


def enabled() -> bool:
    """True unless ``ECRM_CACHE=0``: the one place the switch is read."""
    return os.environ.get("ECRM_CACHE", "1") != "0"


def file_stamp(path: str | Path) -> FileKey | None:
    """(resolved path, mtime in ns, size) of an orders file; None if there is none.

    A shop folder means its ``canonical/orders.parquet``. Independent of
    :func:`enabled`: ingestion stamps the order totals it stores with it.
    """
    p = Path(path)
    if p.is_dir():
        p = p / "canonical" / "orders.parquet"
    try:
        st = p.stat()
    except OSError:
        return None
    return (str(p.resolve()), st.st_mtime_ns, st.st_size)


class TableStore:
    """Named tables, each built on its first request and materialised in the backend.

    The store of a kept run (:func:`run`), or a run's own store that it
    releases when it ends. Values are looked up by their exact name only.

    The backend materialises equal expressions once (Ibis's ``cache()``
    returns the same temporary table), so a run of its own may hold a table
    a kept run holds too (the hold-out check's run at a cutoff that is also a
    report's as_of): :meth:`release` drops a materialised table only when no
    other store holds it.
    """

    def __init__(self) -> None:
        self._tables: dict[Name, Any] = {}
        self._borrowed: set[Name] = set()

    def get(self, name: Name, build: Callable[[], Any], *, materialise: bool = True) -> Any:
        """The table called ``name``; ``build()`` (materialised) the first time.

        Parameters
        ----------
        name : tuple
            The table's kind and every argument it depends on.
        build : callable
            Returns the Ibis table (or, with ``materialise=False``, any value:
            an already cached table, a small in-memory table, a list of names).
        materialise : bool, default True
            Call ``.cache()`` on what ``build`` returns.

        Returns
        -------
        ibis.Table or the value ``build`` returned
        """
        if name not in self._tables:
            value = build()
            value = value.cache() if materialise else value
            if isinstance(value, ir.CachedTable):
                _HOLDERS[value.op().name] = _HOLDERS.get(value.op().name, 0) + 1
            self._tables[name] = value
        return self._tables[name]

    def __contains__(self, name: object) -> bool:
        """Whether the table called ``name`` is built already."""
        return name in self._tables

    def put(self, name: Name, value: Any) -> None:
        """Keep ``value`` (a view of tables kept elsewhere, e.g. cut from a later run) as ``name``.

        The store does not own it: :meth:`release` leaves it to its owner.
        """
        self._tables[name] = value
        self._borrowed.add(name)

    def release(self) -> None:
        """Drop the tables materialised here (unless another store holds them); forget all."""
        for name, value in self._tables.items():
            if name in self._borrowed or not isinstance(value, ir.CachedTable):
                continue
            key = value.op().name
            held = _HOLDERS.get(key, 1) - 1
            if held > 0:
                _HOLDERS[key] = held
                continue
            _HOLDERS.pop(key, None)
            with contextlib.suppress(Exception):
                value.release()
        self._tables.clear()
        self._borrowed.clear()


@dataclass
class _File:
    """A kept canonical file: its scan and its file tables."""

    scan: ir.Table | None = None
    tables: TableStore = field(default_factory=TableStore)


#: How many stores hold each materialised table (by its backend name).
_HOLDERS: dict[str, int] = {}
_FILES: OrderedDict[FileKey, _File] = OrderedDict()
_RUNS: OrderedDict[tuple[FileKey, dt.date], TableStore] = OrderedDict()


def file_key(orders: Any) -> FileKey | None:
    """The key of the canonical file ``orders`` names, when its tables are kept.

    Parameters
    ----------
    orders : DataFrame, ibis Table, str or Path
        What an analysis was given.

    Returns
    -------
    tuple of (str, int, int) or None
        :func:`file_stamp` of a path, or the key of the file whose kept
        :func:`scan` ``orders`` is; None for DataFrames, other tables, missing
        files and when the cache is off (:func:`enabled`).
    """
    if not enabled():
        return None
    if isinstance(orders, ir.Table):  # the scan of a kept file?
        op = orders.op()
        return next(
            (k for k, f in _FILES.items() if f.scan is not None and f.scan.op() == op), None
        )
    if isinstance(orders, str | Path):
        return file_stamp(orders)
    return None


def is_kept(orders: Any) -> bool:
    """True when the cache keeps the tables of ``orders`` (:func:`file_key` is not None)."""
    return file_key(orders) is not None


def _file(key: FileKey) -> _File:
    entry = _FILES.pop(key, None)
    _FILES[key] = entry = entry if entry is not None else _File()
    while len(_FILES) > MAX_FILES:  # forgotten, freed by the backend once unreferenced
        _FILES.popitem(last=False)
    return entry


def scan(key: FileKey, build: Callable[[], ir.Table]) -> ir.Table:
    """The kept scan of the file ``key``; ``build()`` (not materialised) the first time."""
    entry = _file(key)
    if entry.scan is None:
        entry.scan = build()
    return entry.scan


def table(
    orders: Any, name: Name, build: Callable[[], ir.Table], *, materialise: bool = True
) -> ir.Table:
    """The file table ``name`` of ``orders``: kept for a canonical file, else ``build()``.

    Parameters
    ----------
    orders : DataFrame, ibis Table, str or Path
        The orders ``build`` reads.
    name : tuple
        What ``build`` computes, with every argument it depends on.
    build : callable
        Returns the Ibis expression.
    materialise : bool, default True
        Keep ``build().cache()`` (False: ``build`` materialised it itself).

    Returns
    -------
    ibis.Table
        The kept table; for orders whose tables are not kept (see
        :func:`file_key`), ``build()`` as is (lazy).
    """
    key = file_key(orders)
    if key is None:
        return build()
    return _file(key).tables.get(name, build, materialise=materialise)


def run(orders: Any, as_of: dt.date) -> TableStore | None:
    """The kept store of the (file, as_of) run of ``orders``; None when not kept.

    Parameters
    ----------
    orders : DataFrame, ibis Table, str or Path
    as_of : date

    Returns
    -------
    TableStore or None
        None for orders whose tables are not kept (:func:`file_key`): the run
        then keeps its tables in a store of its own.
    """
    key = file_key(orders)
    if key is None:
        return None
    _file(key)
    store = _RUNS.pop((key, as_of), None)
    _RUNS[(key, as_of)] = store = store if store is not None else TableStore()
    while len(_RUNS) > MAX_RUNS:
        _RUNS.popitem(last=False)[1].release()
    return store


def clear() -> None:
    """Forget every kept scan and table, releasing them from the backend."""
    while _RUNS:
        _RUNS.popitem()[1].release()
    while _FILES:
        _FILES.popitem()[1].tables.release()
