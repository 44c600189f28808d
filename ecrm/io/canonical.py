"""The canonical set on disk: column types, line order and the atomic write.

``canonical/orders.parquet`` (and ``customers.parquet``) plus ``quality.json``
are written by :func:`write_canonical` as one set: every file goes to a
temporary name first, then all are moved into place, so a reader never sees a
half-written or mixed set.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa_arrow
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from ecrm.io.quality import QualitySummary

__all__ = ["AMOUNT_TYPE", "by_customer", "canonical_schema", "write_canonical"]

#: Exact decimal type of canonical amounts (SPEC §1: money is exact).
AMOUNT_TYPE = pa_arrow.decimal128(18, 4)


def canonical_schema(cols: list[str]) -> pa_arrow.Schema:
    """The Arrow schema of canonical order lines with columns ``cols`` (SPEC §1 types).

    ``ordered_at`` is a naive timestamp (µs), ``amount`` :data:`AMOUNT_TYPE`,
    ``quantity`` int64 and every other column a string.
    """
    types = {
        "ordered_at": pa_arrow.timestamp("us"),
        "amount": AMOUNT_TYPE,
        "quantity": pa_arrow.int64(),
    }
    return pa_arrow.schema([(c, types.get(c, pa_arrow.string())) for c in cols])


def by_customer(table: pa_arrow.Table) -> pa_arrow.Table:
    """The lines in the canonical file's order: customer, then time.

    Sorted by customer_id (guest lines last), ordered_at, order_id and then the
    order of the raw files, so the same exports always give the same file. A
    customer's lines lie together, and every analysis groups by customer: DuckDB's
    hash aggregates then run about twice as fast as on lines in time order (1M
    customers, 10M lines: customers × category 1.0 → 0.5 s). Sorted in DuckDB:
    pandas takes 17 s for this sort of 10M lines, DuckDB 2.6 s.
    """
    import duckdb

    con = duckdb.connect()
    try:
        con.register(
            "_lines",
            table.append_column("_i", pa_arrow.array(np.arange(len(table), dtype="int64"))),
        )
        ordered = con.sql(
            "SELECT * EXCLUDE (_i) FROM _lines "
            "ORDER BY customer_id NULLS LAST, ordered_at, order_id, _i"
        ).to_arrow_table()
    finally:
        con.close()
    return ordered.cast(table.schema)


def write_canonical(
    tables: list[tuple[Path, pa_arrow.Table]], quality: Path, summary: QualitySummary
) -> None:
    """Write every file to a temporary name, then move them all into place."""
    staged: list[tuple[Path, Path]] = []
    try:
        for dest, table in tables:
            fd, tmp = tempfile.mkstemp(prefix="." + dest.name, suffix=".tmp", dir=dest.parent)
            os.close(fd)
            staged.append((Path(tmp), dest))  # before writing, so a failed write is removed
            pq.write_table(table, tmp, compression="zstd", row_group_size=1 << 20)
        fd, tmp = tempfile.mkstemp(prefix="." + quality.name, suffix=".tmp", dir=quality.parent)
        staged.append((Path(tmp), quality))
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(summary.to_dict(), f, ensure_ascii=False, indent=2)
        for tmp_path, dest in staged:
            os.replace(tmp_path, dest)
    finally:
        for tmp_path, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                tmp_path.unlink()
