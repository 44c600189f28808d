"""The engine: the canonical orders contract and the tables shared inside a run.

Stage 2 of the data flow (raw → canonical → **engine** → analysis tables →
presentation → rendered report). Every analysis reads orders through
:mod:`ecrm.engine.orders` (the table contract: ``orders_table``, ``upto``,
``order_totals`` and what ingestion stores beside a canonical file), so the
same code runs on DuckDB, Spark or a warehouse through Ibis.
:mod:`ecrm.engine.backend` sets DuckDB up and brings results back as pandas
(``to_pandas``); :mod:`ecrm.engine.cache` is the one cache of intermediate
tables (keys, bounds, the ``ECRM_CACHE`` switch), and :mod:`ecrm.engine.run`
the tables one (orders, as_of) run shares (:class:`RunTables`).
"""

from __future__ import annotations

from ecrm.engine import cache
from ecrm.engine.backend import (
    configure_default_backend,
    dense_groups,
    dense_groups_fit,
    to_pandas,
)
from ecrm.engine.orders import (
    AMOUNT,
    MAIN_LINE_COLUMNS,
    ORDER_TOTALS_FILE,
    RETURN_LINES_FILE,
    OrdersLike,
    all_order_totals,
    as_of_date,
    customer_hash,
    customer_hash_distinct,
    has_values,
    is_canonical,
    largest_line,
    next_day,
    order_totals,
    orders_table,
    require_columns,
    stored_first_purchases,
    stored_main_lines,
    stored_order_totals,
    stored_purchases,
    stored_return_lines,
    upto,
    write_order_totals,
)
from ecrm.engine.run import RunTables, customer_measures

__all__ = [
    "AMOUNT",
    "MAIN_LINE_COLUMNS",
    "ORDER_TOTALS_FILE",
    "RETURN_LINES_FILE",
    "OrdersLike",
    "RunTables",
    "all_order_totals",
    "as_of_date",
    "cache",
    "configure_default_backend",
    "customer_hash",
    "customer_hash_distinct",
    "customer_measures",
    "dense_groups",
    "dense_groups_fit",
    "has_values",
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
    "to_pandas",
    "upto",
    "write_order_totals",
]
