"""Profile of the analyses that miss a scale target: where their time goes.

The scale issue asks for each missed target to be explained with a profile.
This script runs, on one demo shop size (default 10M order lines, the
1,000,000-customer apparel shop), in one process and in the order of
``bench_suite.py`` (so the engine's kept order totals are built by the first
analysis and reused by the others, as in a report):

1. ``predict.rfm_summary(purchases="periods")`` from the lines
   (``ECRM_CACHE=0``), the customer summary compared with lifetimes and
   pymc-marketing by ``bench_peers.py``;
2. RFM scores + grid (the first analysis: it builds the order totals);
3. the KPI table (24 months);
4. clusters (features + fit, k by silhouette);
5. all CTB tables.

For each it prints the wall time, the floor (DuckDB scanning the lines and
grouping them by customer, ``common.floor``) and then the profile:

* every query the analysis sends to DuckDB through Ibis — materialised tables
  (``Table.cache()``), results fetched (``to_pyarrow``/``execute``) and raw SQL —
  grouped by the line of ecrm that sent it, slowest first;
* the time outside DuckDB (Python, pandas, scikit-learn), with the functions
  of the largest own time from ``cProfile``.

Nothing is recorded in RESULTS.md (the explanations there quote its output).

Usage::

    python benchmarks/profile_misses.py               # 10M lines, ~2 min
    python benchmarks/profile_misses.py --size 1M
    python benchmarks/profile_misses.py --d2c --size 10M   # the D2C analyses (issue #20)
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import common  # noqa: E402

AS_OF = "2026-10-31"
ECRM = os.sep + "ecrm" + os.sep


class QueryLog:
    """Times every DuckDB query Ibis runs, by the ecrm line that asked for it."""

    METHODS = ("create_table", "to_pyarrow", "to_pyarrow_batches", "execute", "raw_sql")

    def __init__(self) -> None:
        self.by_site: dict[str, list[float]] = defaultdict(list)
        self._depth = 0

    #: ecrm helpers that only pass a query on: the site is their caller
    HELPERS = ("to_pandas", "keep", "get", "table", "<lambda>", "execute")

    @classmethod
    def _site(cls) -> str:
        """The innermost ecrm function (not a helper) on the stack, and the one calling it."""
        names = []
        frame = sys._getframe(2)
        while frame is not None and len(names) < 2:
            code = frame.f_code
            if ECRM in code.co_filename and "benchmarks" not in code.co_filename:
                qual = code.co_qualname.replace(".<locals>.build", "").replace(".<locals>", "")
                if qual.split(".")[-1] not in cls.HELPERS:
                    names.append(f"{Path(code.co_filename).stem}.{qual}:{frame.f_lineno}")
            frame = frame.f_back
        return " < ".join(names) or "(outside ecrm)"

    @contextmanager
    def installed(self) -> Iterator[QueryLog]:
        from ibis.backends.duckdb import Backend

        originals = {m: getattr(Backend, m) for m in self.METHODS}

        def wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
            def timed(*args: Any, **kwargs: Any) -> Any:
                if self._depth:  # a query inside a timed one: counted there
                    return fn(*args, **kwargs)
                site = self._site()
                self._depth += 1
                t = time.perf_counter()
                try:
                    return fn(*args, **kwargs)
                finally:
                    self._depth -= 1
                    kind = "cache" if name == "create_table" else name
                    self.by_site[f"{site} ({kind})"].append(time.perf_counter() - t)

            return timed

        for m, fn in originals.items():
            setattr(Backend, m, wrap(m, fn))
        try:
            yield self
        finally:
            for m, fn in originals.items():
                setattr(Backend, m, fn)

    def total(self) -> float:
        return sum(sum(v) for v in self.by_site.values())


def profile(name: str, fn: Callable[[], Any], floor_s: float, top: int) -> None:
    log = QueryLog()
    prof = cProfile.Profile()
    with log.installed():
        t = time.perf_counter()
        prof.enable()
        fn()
        prof.disable()
        wall = time.perf_counter() - t
    engine_s = log.total()
    print(f"\n## {name}: {wall:.2f} s = {wall / floor_s:.1f}× the floor ({floor_s:.3f} s)")
    print(f"DuckDB queries {engine_s:.2f} s ({engine_s / wall:.0%}), "
          f"outside DuckDB {wall - engine_s:.2f} s")  # fmt: skip
    rows = sorted(log.by_site.items(), key=lambda kv: -sum(kv[1]))
    for site, times in rows[:top]:
        print(f"  {sum(times):6.2f} s  {len(times):3d}×  {site}")
    rest = rows[top:]
    if rest:
        print(f"  {sum(sum(v) for _, v in rest):6.2f} s  {len(rest):3d} more sites")
    stats = pstats.Stats(prof)
    own = []
    for (file, line, func), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        if "duckdb" in file or func.startswith("<built-in method time"):
            continue  # DuckDB's own time is in the query lines above
        own.append((tottime, f"{Path(file).parent.name}/{Path(file).name}:{line} {func}"))
    own.sort(reverse=True)
    print("  outside DuckDB, largest own time (cProfile):")
    for tottime, where in own[:5]:
        print(f"  {tottime:6.2f} s  {where}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="10M", help="order lines, e.g. 1M or 10M")
    ap.add_argument("--top", type=int, default=6, help="query sites shown per analysis")
    ap.add_argument(
        "--d2c",
        action="store_true",
        help="the D2C analyses (issue #20), in bench_suite.py --d2c's order, on the D2C shop",
    )
    args = ap.parse_args(argv)
    if args.d2c:
        return d2c_main(args)
    path = common.orders_for_lines(common.parse_size(args.size))

    from ecrm import engine
    from ecrm.analysis import cluster, ctb, kpi, rfm
    from ecrm.models import predict

    print(f"{path}: {common.parquet_rows(path):,} lines; {common.machine()}")
    print(common.versions())
    engine.to_pandas(engine.orders_table(path).limit(5))  # connection and file metadata
    floor_s = common.floor(path).seconds

    def cold_summary() -> Any:
        with common.no_engine_cache():
            return predict.rfm_summary(path, as_of=AS_OF, purchases="periods")

    cases: list[tuple[str, Callable[[], Any]]] = [
        ("customer summary from the lines (rfm_summary, ECRM_CACHE=0)", cold_summary),
        ("RFM (scores + grid), first analysis", lambda: rfm.rfm_grid(rfm.rfm(path, as_of=AS_OF))),
        ("KPIs (24 months), order totals kept", lambda: kpi.kpi_table(path, as_of=AS_OF)),
        ("clusters (features + fit)", lambda: cluster.cluster_customers(path, as_of=AS_OF)),
        ("CTB tables", lambda: ctb.ctb_tables(path, as_of=AS_OF)),
    ]
    for name, fn in cases:
        profile(name, fn, floor_s, args.top)
    return 0


def d2c_main(args: argparse.Namespace) -> int:
    """Profile every D2C case of ``bench_suite.py --d2c`` in its order, on the D2C shop."""
    import bench_suite

    from ecrm import engine

    path = common.d2c_orders(common.parse_size(args.size))
    print(f"{path}: {common.parquet_rows(path):,} lines; {common.machine()}")
    print(common.versions())
    engine.to_pandas(engine.orders_table(path).limit(5))  # connection and file metadata
    floor_s = common.floor(path).seconds
    for name, fn in bench_suite.d2c_cases(path).items():
        profile(name, fn, floor_s, args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
