"""Benchmark: one shop-month rendered by two versions of ecrm, alternately.

A before/after check of a change that must not slow reports down (the
architecture issue: "no report more than 10% slower"). Each run is a fresh
Python process rendering the shop-month as ``ecrm report SHOP --month M
--workers W`` does, with ``PYTHONPATH`` pointing at one code tree (a git
worktree of the older commit, or this checkout); kernels inherit it, so the
notebooks, the package and its imports all come from that tree. Runs alternate
A, B, A, B… so that the machine's drift (its pace varies by up to 2x within a
day) falls on both sides alike; the ratio of the medians is the figure.

Usage::

    git worktree add /tmp/before <commit>
    python benchmarks/compare_reports.py --before /tmp/before --after . --shop 30000 --pairs 3
    python benchmarks/compare_reports.py --before /tmp/before --after . --shop 1000000 --pairs 1

The shops are the benchmark demo shops in ``benchmarks/out`` (built by
``common.demo_orders_child``: the same data for both sides).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import common  # noqa: E402
from bench_reports import link_shop  # noqa: E402

MONTH = "2026-10"
ROOT = common.OUT / "report-root"


def _child(slug: str, workers: int, out: str) -> None:
    """In the fresh process: render with whichever layout the tree on PYTHONPATH has."""
    t0 = time.perf_counter()
    try:
        from ecrm.render.report import render
    except ImportError:  # before the stage layout
        from ecrm.report import render  # type: ignore[no-redef]
    imported = time.perf_counter() - t0
    r = render(slug, MONTH, root=ROOT, workers=workers)
    failed = [p.name for p in r.pages if not p.ok]
    pages = {p.name: p.seconds for p in r.pages}
    Path(out).write_text(
        json.dumps({"import_s": imported, "render_s": r.seconds, "failed": failed, "pages": pages}),
        encoding="utf-8",
    )


def run_once(tree: Path, slug: str, workers: int) -> dict[str, Any]:
    """Render once with ``tree``'s code; wall and CPU seconds of the whole process tree."""
    out = ROOT / f".result-{os.getpid()}.json"
    env = {**os.environ, "PYTHONPATH": str(tree.resolve())}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    cmd = [sys.executable, __file__, "--child", slug, str(workers), str(out)]
    subprocess.run(cmd, env=env, check=True, cwd=str(tree))
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    r = json.loads(out.read_text(encoding="utf-8"))
    out.unlink()
    return {"wall_s": wall, "cpu_s": cpu, "load": os.getloadavg()[0], **r}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--before", type=Path, help="code tree of the older version")
    ap.add_argument("--after", type=Path, default=HERE.parent, help="code tree of the newer")
    ap.add_argument("--shop", type=int, default=30_000, help="demo apparel customers")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        slug, workers, out = args.child
        _child(slug, int(workers), out)
        return 0
    if args.before is None:
        ap.error("--before is required")
    std = args.shop == 30_000
    folder = common.demo_orders_child(args.shop, "demo-apparel", standard=std).parents[1]
    slug = folder.name
    link_shop(slug, folder)
    lines = common.parquet_rows(folder / "canonical" / "orders.parquet")
    print(f"{common.machine()}\n{common.versions()}\n{common.load_text()}", flush=True)
    runs: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    for i in range(args.pairs):
        for side, tree in (("before", args.before), ("after", args.after)):
            r = run_once(tree, slug, args.workers)
            runs[side].append(r)
            print(
                f"pair {i + 1} {side:6s} wall {r['wall_s']:7.1f} s  cpu {r['cpu_s']:7.1f} s  "
                f"render {r['render_s']:7.1f} s  load {r['load']:.1f}  failed {r['failed']}",
                flush=True,
            )
    print("\n| page | before s | after s | after/before |\n|---|---|---|---|")
    for page in runs["after"][0]["pages"]:
        b = statistics.median(x["pages"].get(page, float("nan")) for x in runs["before"])
        a = statistics.median(x["pages"][page] for x in runs["after"])
        print(f"| {page} | {b:.1f} | {a:.1f} | {a / b:.2f} |")
    med = {k: statistics.median(x["wall_s"] for x in v) for k, v in runs.items()}
    cpu = {k: statistics.median(x["cpu_s"] for x in v) for k, v in runs.items()}
    print(
        f"\n| {slug} ({lines:,} lines), {args.workers} workers, {args.pairs} pair(s) | "
        f"before {med['before']:.1f} s | after {med['after']:.1f} s | "
        f"after/before {med['after'] / med['before']:.2f} | CPU after/before "
        f"{cpu['after'] / cpu['before']:.2f} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
