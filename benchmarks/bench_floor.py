"""Benchmark: the DuckDB floor — scanning the order lines and grouping them by customer.

The floor is what any per-customer analysis must at least pay: DuckDB reading
the columns of the canonical Parquet file and grouping the lines by customer::

    SELECT customer_id, count(*), sum(amount), max(ordered_at)
    FROM read_parquet(...) GROUP BY 1            -- reduced to one row, not fetched

run on ecrm's own DuckDB connection (same memory limit and threads), fastest
of three runs (the first also warms the file cache). ``bench_suite.py`` prints
every analysis as a multiple of it (``common.floor``). This script prints the
floor alone per size, with a second reference: the order totals (lines grouped
by customer and order), the step every analysis starts from.

``--check-canonical`` checks that the DuckDB canonicalisation used for shops
above 1M customers (``common.canonicalise_duckdb``; ``ecrm.io.ingest`` needs
~0.9 GB per million lines) gives the very rows ``ecrm.io.ingest`` gives, on a
small Parquet demo shop.

Usage::

    python benchmarks/bench_floor.py --sizes 0.1M,1M,10M,30M [--record]
    python benchmarks/bench_floor.py --quick
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common

ORDER_TOTALS_SQL = (
    "SELECT count(*), sum(amount), max(first_line) FROM ("
    "SELECT customer_id, order_id, min(ordered_at) AS first_line, sum(amount) AS amount "
    "FROM read_parquet('{path}') GROUP BY 1, 2)"
)


def order_totals(path: Path, repeat: int = 3) -> common.Measure:
    """Fastest of ``repeat`` runs of the order-totals query on ecrm's connection."""
    con = common.duckdb_con()
    sql = ORDER_TOTALS_SQL.format(path=str(path).replace("'", "''"))
    best = None
    for _ in range(repeat):
        with common.measure() as m:
            con.execute(sql).fetchall()
        if best is None or m.seconds < best.seconds:
            best = m
    con.close()
    return best


def check_canonical(customers: int = 3_000) -> int:
    """Rows of canonicalise_duckdb and ecrm.io.ingest on one small Parquet shop: mismatches."""
    import duckdb

    from ecrm.io import demo
    from ecrm.io.ingest import ingest

    with tempfile.TemporaryDirectory() as tmp:
        a = demo.write_demo_shops(
            Path(tmp), n_customers=customers, shops=["demo-apparel"], file_format="parquet",
            lines_per_order=3.8,
        )[0]  # fmt: skip
        b = Path(tmp) / "copy"
        shutil.copytree(a, b)
        ingest(a, today=demo.DEMO_INGEST_DATE)
        common.canonicalise_duckdb(b)
        x, y = (str(f / "canonical" / "orders.parquet") for f in (a, b))
        con = duckdb.connect()
        n = con.execute(f"SELECT count(*) FROM read_parquet('{x}')").fetchall()[0][0]
        diff = con.execute(
            f"SELECT count(*) FROM ((SELECT * FROM read_parquet('{x}') EXCEPT ALL "
            f"SELECT * FROM read_parquet('{y}')) UNION ALL (SELECT * FROM read_parquet('{y}') "
            f"EXCEPT ALL SELECT * FROM read_parquet('{x}')))"
        ).fetchall()[0][0]
        same_schema = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{x}')").fetchall() == (
            duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{y}')").fetchall()
        )
    print(
        f"canonicalise_duckdb vs ecrm.io.ingest, {customers:,} customers: {n:,} rows, "
        f"{diff} rows differ, same schema: {same_schema}"
    )
    return int(diff) + (0 if same_schema else 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="0.1M,1M,10M,30M", help="order lines (default %(default)s)")
    ap.add_argument("--quick", action="store_true", help="10k and 20k lines, and the check")
    ap.add_argument("--check-canonical", action="store_true", help="see above")
    ap.add_argument("--record", action="store_true", help="append the table to RESULTS.md")
    args = ap.parse_args(argv)
    load_start = common.load_text()
    print(f"{common.machine()}\n{common.versions()}\n{load_start}", flush=True)
    bad = 0
    if args.check_canonical or args.quick:
        bad = check_canonical()
    sizes = common.parse_sizes("10k,20k" if args.quick else args.sizes)
    rows = []
    for lines in sizes:
        path = common.orders_for_lines(lines)
        n = common.parquet_rows(path)
        fl = common.floor(path)
        ot = order_totals(path)
        rows.append(
            (
                common.size_label(lines),
                f"{n:,}",
                f"{fl.seconds:.3f}",
                f"{fl.cpu:.3f}",
                f"{fl.seconds / (n / 1e6):.3f}",
                f"{ot.seconds:.3f}",
                f"{ot.cpu:.3f}",
                f"{ot.seconds / fl.seconds:.1f}×",
                common.gib(max(fl.peak_rss, ot.peak_rss)),
                f"{ot.load:.1f}",
            )
        )
        print(f"{common.size_label(lines):>6}: floor {fl.seconds:.3f}s, order totals "
              f"{ot.seconds:.3f}s", flush=True)  # fmt: skip
    head = (
        "size",
        "lines",
        "floor s",
        "floor CPU s",
        "floor s per M lines",
        "order totals s",
        "order totals CPU s",
        "order totals × floor",
        "peak RSS GiB",
        "load",
    )
    text = (
        "### The DuckDB floor (`bench_floor.py`)\n\n"
        f"{common.duckdb_settings()}; fastest of three runs each.\n\n" + common.table(rows, head)
    )
    print("\n" + text)
    if args.record:
        common.record("the DuckDB floor", text, load_at_start=load_start)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
