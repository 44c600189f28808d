"""Benchmark: customer clustering and the CTB tables on a large demo shop.

Targets (1,000,000-customer demo apparel shop, ≈ 5 M order lines):

* features + clustering (k fixed, silhouette on a sample) under 20 s;
* all CTB tables (preferences, first-purchase F2/LTV, category and brand
  transitions and cross-purchase pairs, CTB mix by segment) under 10 s;
* peak memory under 4 GB.

The shop is generated with :mod:`ecrm.io.demo` (Parquet raw files) and ingested
once into a work folder; the analyses then run in a fresh child process so that
its peak resident memory (``ru_maxrss``) measures the analyses alone. Prints
one line per step; exits non-zero if a target is missed with ``--check``.

Usage::

    python benchmarks/bench_cluster_ctb.py --customers 1000000
    python benchmarks/bench_cluster_ctb.py --customers 200000 --workdir /tmp/bench
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

AS_OF = "2026-10-31"
CUTOFF = "2026-04-30"
TARGETS = {"cluster_s": 20.0, "ctb_s": 10.0, "peak_gb": 4.0}


def _prepare(n: int, workdir: Path) -> Path:
    """Generate and ingest the demo apparel shop (reused when already there)."""
    from ecrm.io import demo
    from ecrm.io.ingest import ingest

    folder = workdir / f"demo-apparel-{n}"
    orders = folder / "canonical" / "orders.parquet"
    if orders.is_file():
        print(f"reusing {orders}")
        return orders
    t = time.perf_counter()
    shop = demo.generate_shop("demo-apparel", n_customers=n)
    demo.write_shop(shop, folder / "raw", file_format="parquet")
    del shop
    text = resources.files("ecrm.io").joinpath("templates", "demo-apparel.yaml").read_text("utf-8")
    text = text.replace("{name}", f"demo-apparel-{n}").replace("{ext}", "parquet")
    (folder / "settings.yaml").write_text(text, encoding="utf-8")
    print(f"generate + write   {time.perf_counter() - t:7.1f} s")
    t = time.perf_counter()
    result = ingest(folder, today=demo.DEMO_INGEST_DATE)
    print(f"ingest             {time.perf_counter() - t:7.1f} s")
    return result.orders_path


def _timed(out: dict[str, float], key: str, run: Callable[[], Any]) -> Any:
    """Run ``run``; record wall seconds as ``key`` and process CPU seconds as ``key_cpu``."""
    t, c = time.perf_counter(), time.process_time()
    result = run()
    out[key] = time.perf_counter() - t
    out[key + "_cpu"] = time.process_time() - c
    return result


def _analyse(orders: str, k: int) -> dict[str, float]:
    """Run the analyses on ``orders`` and return the timings (child process)."""
    import pyarrow.parquet as pq

    from ecrm.analysis import cluster, ctb

    out: dict[str, float] = {"lines": float(pq.ParquetFile(orders).metadata.num_rows)}
    _timed(out, "features_s", lambda: cluster.customer_features(orders, as_of=AS_OF))
    res = _timed(
        out, "cluster_s", lambda: cluster.cluster_customers(orders, as_of=AS_OF, k=k)
    )  # features included
    out["customers"] = float(len(res.assignments))
    out["silhouette"] = float(res.silhouette.silhouette.iloc[0])
    del res
    tables = _timed(out, "ctb_s", lambda: ctb.ctb_tables(orders, as_of=AS_OF))
    out["ctb_rows"] = float(sum(len(t) for t in tables.values()))
    del tables
    recs = _timed(out, "recommend_s", lambda: ctb.recommend(orders, as_of=AS_OF))
    out["recommend_rows"] = float(len(recs))
    del recs
    ev = _timed(
        out,
        "evaluate_s",
        lambda: ctb.evaluate_recommendations(orders, cutoff=CUTOFF, level="category"),
    )
    rate = ev[ev.group == "all"].set_index("method").hit_rate
    out["hit_model"] = float(rate["model"])
    out["hit_popularity"] = float(rate["popularity"])
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    out["peak_gb"] = peak_kb / 1024**2
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=200_000, help="demo shop size")
    ap.add_argument("--k", type=int, default=5, help="fixed number of clusters")
    ap.add_argument("--workdir", type=Path, default=None, help="keep the shop here (reused)")
    ap.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    ap.add_argument("--child", type=str, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.child:
        print(json.dumps(_analyse(args.child, args.k)))
        return 0

    tmp = None
    if args.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="ecrm-bench-")
        workdir = Path(tmp.name)
    else:
        workdir = args.workdir
        workdir.mkdir(parents=True, exist_ok=True)
    try:
        orders = _prepare(args.customers, workdir)
        proc = subprocess.run(
            [sys.executable, __file__, "--child", str(orders), "--k", str(args.k)],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        r = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        if tmp is not None:
            tmp.cleanup()

    print(
        f"demo-apparel: {int(r['customers']):,} customers, {int(r['lines']):,} order lines, "
        f"as_of {AS_OF}, {os.cpu_count()} CPUs"
    )

    def line(name: str, key: str, extra: str = "") -> None:
        print(f"{name:<30} {r[key]:7.2f} s wall {r[key + '_cpu']:7.2f} s CPU   {extra}")

    line("features (engine)", "features_s")
    line(
        f"features + clustering, k={args.k}",
        "cluster_s",
        f"silhouette {r['silhouette']:.3f} (sample); target < {TARGETS['cluster_s']:.0f} s",
    )
    line("all CTB tables (ctb_tables)", "ctb_s", f"target < {TARGETS['ctb_s']:.0f} s")
    line("recommend (category, top 3)", "recommend_s", f"{int(r['recommend_rows']):,} rows")
    line(
        "hold-out check (category)",
        "evaluate_s",
        f"hit rate@3 {r['hit_model']:.3f} vs popularity {r['hit_popularity']:.3f}",
    )
    peak = f"{r['peak_gb']:7.2f} GB"
    print(f"{'peak memory (analyses)':<30} {peak}   target < {TARGETS['peak_gb']:.0f} GB")
    missed = [k for k, limit in TARGETS.items() if r[k] >= limit]
    if missed:
        print("missed targets: " + ", ".join(missed))
    return 1 if (missed and args.check) else 0


if __name__ == "__main__":
    sys.exit(main())
