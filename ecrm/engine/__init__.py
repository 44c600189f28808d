"""The engine: the canonical orders contract and the tables shared inside a run.

Stage 2 of the data flow (raw → canonical → **engine** → analysis tables →
presentation → rendered report). Every analysis reads orders through
:mod:`ecrm.engine.orders` (the table contract: ``orders_table``, ``upto``,
``order_totals``, ``to_pandas``), so the same code runs on DuckDB, Spark or a
warehouse through Ibis.
"""

from __future__ import annotations

from ecrm.engine.orders import (
    AMOUNT,
    ORDER_TOTALS_FILE,
    OrdersLike,
    all_order_totals,
    as_of_date,
    cache_key,
    configure_default_backend,
    has_values,
    is_canonical,
    memo,
    next_day,
    order_totals,
    orders_table,
    require_columns,
    to_pandas,
    upto,
    write_order_totals,
)

__all__ = [
    "AMOUNT",
    "ORDER_TOTALS_FILE",
    "OrdersLike",
    "all_order_totals",
    "as_of_date",
    "cache_key",
    "configure_default_backend",
    "has_values",
    "is_canonical",
    "memo",
    "next_day",
    "order_totals",
    "orders_table",
    "require_columns",
    "to_pandas",
    "upto",
    "write_order_totals",
]
