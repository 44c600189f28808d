"""Benchmark: rendering monthly reports (ecrm.render.report, .batch) — time, overhead, throughput.

Measures, on a benchmark project folder ``benchmarks/out/report-root/`` (its
``data/`` links to shops cached in ``benchmarks/out``; reports go to its
``reports/``):

1. **one shop-month end to end**: a fresh Python process running
   ``ecrm.render.report.render`` (what ``ecrm report SHOP --month M --workers W``
   does), for the 30,000-customer apparel demo shop (the data of ``make demo``)
   with 1 and 2 workers and for the 1,000,000-customer shop (≈ 10M lines) with
   2 workers. Wall seconds of the process, CPU seconds of the whole process
   tree (kernels included), the largest process RSS and the load average;
2. **overhead apart from analysis**, two ways:

   * the same pipeline on stand-in notebooks: *empty* (each notebook reduced
     to its parameters cell: process start, kernel start-up, papermill,
     nbconvert, page assembly — the fixed cost) and *setup only* (parameters +
     the setup cell: adds the imports and ``ecrm.render.context.context``), so
     ``full − setup only`` is the analysis, plotting and table output;
   * per notebook, from the papermill metadata of the executed notebooks:
     papermill's duration minus the cells' (kernel start and shutdown,
     notebook I/O), the setup cell (imports + context), the other cells
     (analysis + plots), and the page time minus papermill's (nbconvert
     export and page writing);
3. **batch throughput** in shop-months per minute: ``ecrm.render.batch.run_batch``
   over ``--batch-jobs`` shop-months (the apparel and food demo shops at
   30,000 customers, alternately, under distinct names) with a process pool of
   1 and 2 workers, and on a local Dask cluster (``distributed.LocalCluster``,
   2 worker processes of 1 thread) through ``scheduler=`` — the cluster's
   start-up is timed on its own.

Targets (reports issue): a demo shop-month end to end < 20 s with 2 workers;
a 1M-customer shop-month < 60 s.

Usage::

    python benchmarks/bench_reports.py [--record]
    python benchmarks/bench_reports.py --skip-big --batch-jobs 6
    python benchmarks/bench_reports.py --parts big        # the 1M-customer shop only
    python benchmarks/bench_reports.py --quick   # 2,000 customers, one notebook
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import common  # noqa: E402

MONTH = "2026-10"
ROOT = common.OUT / "report-root"
DEMO_TARGET_S = 20.0
PARTS = {"imports", "demo", "big", "batch"}
BIG_TARGET_S = 60.0


# ----------------------------------------------------------------------------- set-up


def link_shop(slug: str, folder: Path) -> str:
    """Make ``report-root/data/<slug>`` point at a cached shop folder; return the slug."""
    data = ROOT / "data"
    data.mkdir(parents=True, exist_ok=True)
    link = data / slug
    if link.is_symlink() and link.resolve() != folder.resolve():
        link.unlink()
    if not link.exists():
        link.symlink_to(folder.resolve(), target_is_directory=True)
    return slug


def notebook_set(kind: str, only: list[str] | None, dest: Path) -> Path | None:
    """The report notebooks as they are (``full``) or reduced; None = the project's own.

    ``empty``: the parameters cell only; ``setup``: parameters + setup cell.
    ``only`` keeps the notebooks whose names start with one of its prefixes.
    """
    import nbformat

    from ecrm.render.report import notebooks

    nbs = [p for p in notebooks() if not only or any(p.name.startswith(o) for o in only)]
    if kind == "full" and not only:
        return None
    dest.mkdir(parents=True, exist_ok=True)
    for p in nbs:
        nb = nbformat.read(str(p), as_version=4)
        if kind != "full":
            code = [c for c in nb.cells if c.cell_type == "code"]
            keep = 1 if kind == "empty" else 2
            nb.cells = code[:keep]
        nbformat.write(nb, str(dest / p.name))
    return dest


# ----------------------------------------------------------------------------- children


def child_render(slug: str, workers: int, notebook_dir: str) -> dict[str, Any]:
    """In a fresh process: render one shop-month as ``ecrm report`` does."""
    t0 = time.perf_counter()
    from ecrm.render.report import render

    imported = time.perf_counter() - t0
    r = render(
        slug,
        MONTH,
        root=ROOT,
        workers=workers,
        notebook_dir=Path(notebook_dir) if notebook_dir else None,
    )
    return {
        "import_s": imported,
        "render_s": r.seconds,
        "path": str(r.path),
        "pages": [
            {"name": p.name, "ok": p.ok, "s": p.seconds, "message": p.message} for p in r.pages
        ],
    }


def child_batch(slugs: list[str], workers: int, dask: bool, notebook_dir: str) -> dict[str, Any]:
    """In a fresh process: one batch with a process pool or a local Dask cluster."""
    from ecrm.render.batch import run_batch

    out: dict[str, Any] = {"cluster_s": 0.0}
    cluster = None
    scheduler = None
    if dask:
        from distributed import LocalCluster

        t = time.perf_counter()
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        scheduler = cluster.scheduler_address
        out["cluster_s"] = time.perf_counter() - t
    try:
        t = time.perf_counter()
        results = run_batch(
            MONTH,
            shops=slugs,
            workers=workers,
            scheduler=scheduler,
            root=ROOT,
            notebook_dir=Path(notebook_dir) if notebook_dir else None,
        )
        out["batch_s"] = time.perf_counter() - t
    finally:
        if cluster is not None:
            cluster.close()
    out["ok"] = sum(r.ok for r in results)
    out["failed"] = [f"{r.shop}: {r.error}" for r in results if not r.ok]
    out["job_s"] = [r.seconds for r in results]
    return out


def max_rss_tree() -> int:
    """Largest peak RSS of this process and its finished descendants (bytes)."""
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(me, kids) * 1024


def run_child(args: list[str]) -> dict[str, Any]:
    """Run this script as a child; return its JSON plus wall, CPU and RSS of the tree."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "r.json"
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        cmd = [sys.executable, __file__, *args, "--json-out", str(out)]
        env = {**os.environ, "PYTHONWARNINGS": "ignore", "ECRM_HOME": str(ROOT)}
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-5000:])
            raise RuntimeError(f"child {args} failed with exit code {proc.returncode}")
        r = json.loads(out.read_text(encoding="utf-8"))
    r["wall_s"] = wall
    r["cpu_s"] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    r["load"] = os.getloadavg()[0]
    return r


# ----------------------------------------------------------------------------- notebooks


def breakdown(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Per page, from the executed notebooks' papermill metadata (read right after a run).

    The nbconvert export and page assembly are timed again here, in a warm
    process (``ecrm.render.report._export_html`` and ``_page``, the renderer's own
    steps), so that what is left of the page time — imports of papermill and
    nbconvert in the worker, first calls — shows on its own.
    """
    import nbformat

    from ecrm.render import report as rp

    folder = Path(report["path"]) / "notebooks"
    pages = {p["name"]: p for p in report["pages"]}
    rows = []
    for f in sorted(folder.glob("*.ipynb")):
        name = f.stem.split("_", 1)[1]
        nb = nbformat.read(str(f), as_version=4)
        pm = nb.metadata.get("papermill", {})
        total = float(pm.get("duration") or 0.0)
        setup = analysis = 0.0
        setup_done = False
        for c in nb.cells:
            if c.cell_type != "code":
                continue
            d = float(c.metadata.get("papermill", {}).get("duration") or 0.0)
            tags = c.metadata.get("tags", [])
            if "parameters" in tags or "injected-parameters" in tags:
                setup += d
            elif not setup_done:
                setup += d  # the setup cell: imports + ecrm.render.context.context
                setup_done = True
            else:
                analysis += d
        export = 0.0
        for _ in range(2):  # the second run is the warm one
            t = time.perf_counter()
            rp._page(name, rp._export_html(f), "", "ja")
            export = time.perf_counter() - t
        page = pages.get(name, {}).get("s", 0.0)
        rows.append(
            {
                "name": name,
                "page": page,
                "papermill": total,
                "kernel": max(0.0, total - setup - analysis),
                "setup": setup,
                "analysis": analysis,
                "export": export,
                "rest": max(0.0, page - total - export),
                "ok": pages.get(name, {}).get("ok", False),
            }
        )
    return rows


def import_costs(repeat: int = 2, quick: bool = False) -> list[tuple[str, float]]:
    """Seconds to import each part of the pipeline in a fresh Python (bare start deducted).

    ``quick``: only Python's start, the renderer and papermill, once each.
    """
    stmts = [
        ("Python start (deducted below)", "pass"),
        ("ecrm.render.report (the renderer)", "import ecrm.render.report"),
        ("jsonschema (via nbformat; compiles rfc3987 grammars)", "import jsonschema"),
        ("nbformat", "import nbformat"),
        ("papermill", "import papermill"),
        ("nbconvert", "import nbconvert"),
        ("jupyter_client + ipykernel launcher", "import jupyter_client, ipykernel.kernelapp"),
        (
            "a notebook's setup imports (ecrm, kpi, narrate, plotting)",
            "import ecrm; from ecrm import kpi, narrate; "
            "from ecrm.present.plotting import segments",
        ),
        ("ecrm.analysis.cluster (scikit-learn)", "import ecrm.analysis.cluster"),
    ]
    if quick:
        stmts, repeat = stmts[:2] + stmts[4:5], 1
    out = []
    bare = 0.0
    for label, stmt in stmts:
        best = None
        for _ in range(repeat):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", stmt], check=True, capture_output=True)
            d = time.perf_counter() - t
            best = d if best is None else min(best, d)
        if stmt == "pass":
            bare = best
            out.append((label, best))
        else:
            out.append((label, best - bare))
    return out


# ----------------------------------------------------------------------------- tables


def render_rows(label: str, runs: list[tuple[str, int, dict[str, Any]]]) -> list[tuple]:
    rows = []
    for pipeline, workers, r in runs:
        bad = [p["name"] for p in r["pages"] if not p["ok"]]
        rows.append(
            (
                label,
                pipeline,
                workers,
                len(r["pages"]),
                f"{r['wall_s']:.1f}",
                f"{r['render_s']:.1f}",
                f"{r['import_s']:.1f}",
                f"{r['cpu_s']:.1f}",
                common.gib(r["max_rss"]),
                ", ".join(bad) or "–",
                f"{r['load']:.1f}",
            )
        )
    return rows


RENDER_HEAD = (
    "shop",
    "notebooks",
    "workers",
    "pages",
    "end to end s",
    "render() s",
    "import ecrm.render.report s",
    "CPU s (all processes)",
    "largest process RSS GiB",
    "pages not rendered",
    "load",
)


def breakdown_table(label: str, r: dict[str, Any]) -> str:
    rows = r["breakdown"]
    keys = ("page", "papermill", "kernel", "setup", "analysis", "export", "rest")
    tot = {k: sum(x[k] for x in rows) for k in keys}
    body = [(x["name"], *(f"{x[k]:.2f}" for k in keys)) for x in rows]
    body.append(("**sum**", *(f"{tot[k]:.2f}" for k in keys)))
    head = (
        "notebook",
        "page s",
        "papermill s",
        "papermill outside cells s (client, notebook I/O)",
        "setup cell s (imports + context)",
        "analysis + plot cells s",
        "export s (nbconvert + page, warm)",
        "rest s (kernel start or reset, renderer imports)",
    )
    share = tot["analysis"] / tot["page"] if tot["page"] else 0.0
    return (
        f"Per notebook, {label} (papermill metadata; pages ran in parallel, so the sum "
        f"exceeds the wall time): analysis cells are {share:.0%} of page time.\n\n"
        + common.table(body, head)
    )


def batch_table(runs: list[tuple[str, int, dict[str, Any]]], jobs: int) -> str:
    rows = []
    for mode, workers, r in runs:
        rate = r["ok"] / (r["batch_s"] / 60) if r["batch_s"] else 0.0
        rows.append(
            (
                mode,
                workers,
                jobs,
                r["ok"],
                f"{r['batch_s']:.1f}",
                f"{rate:.2f}",
                f"{r['cluster_s']:.1f}" if mode.startswith("Dask") else "–",
                f"{r['wall_s']:.1f}",
                f"{r['cpu_s']:.1f}",
                f"{r['load']:.1f}",
            )
        )
    head = (
        "scheduler",
        "workers",
        "shop-months",
        "rendered",
        "batch s",
        "shop-months / min",
        "cluster start s",
        "process s",
        "CPU s",
        "load",
    )
    return common.table(rows, head)


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--demo-customers", type=int, default=30_000, help="demo shop (30000)")
    ap.add_argument("--big-customers", type=int, default=1_000_000, help="large shop (1M)")
    ap.add_argument(
        "--parts",
        default=",".join(sorted(PARTS)),
        help="what to run: imports, demo, big, batch (default all)",
    )
    ap.add_argument("--skip-big", action="store_true", help="leave out the large shop")
    ap.add_argument("--batch-jobs", type=int, default=4, help="shop-months per batch (4)")
    ap.add_argument("--skip-dask", action="store_true", help="leave out the Dask cluster")
    ap.add_argument("--notebooks", help="only notebooks starting with these, e.g. 00,01")
    ap.add_argument("--quick", action="store_true", help="2,000 customers, notebook 00 only")
    ap.add_argument("--record", action="store_true", help="append the tables to RESULTS.md")
    ap.add_argument("--child-render", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--child-batch", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--json-out", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child_render:
        slug, workers, nbdir = args.child_render
        r = child_render(slug, int(workers), "" if nbdir == "-" else nbdir)
        r["max_rss"] = max_rss_tree()
        Path(args.json_out).write_text(json.dumps(r), encoding="utf-8")
        return 0
    if args.child_batch:
        slugs, workers, mode, nbdir = args.child_batch
        nbdir = "" if nbdir == "-" else nbdir
        r = child_batch(slugs.split(","), int(workers), mode == "dask", nbdir)
        r["max_rss"] = max_rss_tree()
        Path(args.json_out).write_text(json.dumps(r), encoding="utf-8")
        return 0

    parts = {x.strip() for x in args.parts.split(",") if x.strip()}
    unknown = parts - PARTS
    if unknown:
        ap.error(f"unknown part(s) {sorted(unknown)}; choose from {sorted(PARTS)}")
    if args.skip_big:
        parts.discard("big")
    if args.quick:
        args.demo_customers, args.batch_jobs = 2_000, 2
        parts.discard("big")
        args.notebooks = args.notebooks or "00"
    only = args.notebooks.split(",") if args.notebooks else None
    load_start = common.load_text()
    speed_start = common.speed_text()
    print(f"{common.machine()}\n{common.versions()}\n{load_start}", flush=True)
    started = time.perf_counter()

    n = args.demo_customers
    apparel = common.demo_orders_child(n, "demo-apparel", standard=True).parents[1]
    demo = link_shop(apparel.name, apparel)
    shops = {demo: common.parquet_rows(apparel / "canonical" / "orders.parquet")}
    big = None
    if "big" in parts:
        big_dir = common.demo_orders_child(args.big_customers).parents[1]
        big = link_shop(big_dir.name, big_dir)
        shops[big] = common.parquet_rows(big_dir / "canonical" / "orders.parquet")
    batch: list[str] = []
    if "batch" in parts:
        food = common.demo_orders_child(n, "demo-food", standard=True).parents[1]
        batch = [
            link_shop(f"batch-{i + 1}", apparel if i % 2 == 0 else food)
            for i in range(args.batch_jobs)
        ]

    imports: list[tuple[str, float]] = []
    demo_runs: list[tuple[str, int, dict[str, Any]]] = []
    big_runs: list[tuple[str, int, dict[str, Any]]] = []
    batch_runs: list[tuple[str, int, dict[str, Any]]] = []
    tmp = Path(tempfile.mkdtemp(prefix="ecrm-bench-nb-"))
    try:
        sets = {k: notebook_set(k, only, tmp / k) for k in ("full", "empty", "setup")}

        def render(slug: str, kind: str, workers: int) -> dict[str, Any]:
            nbdir = str(sets[kind]) if sets[kind] else "-"
            r = run_child(["--child-render", slug, str(workers), nbdir])
            r["breakdown"] = breakdown(r)  # now: the next run replaces the month's folder
            print(
                f"  {slug:<24} {kind:<6} workers {workers}: {r['wall_s']:6.1f}s end to end, "
                f"render {r['render_s']:6.1f}s, CPU {r['cpu_s']:6.1f}s, load {r['load']:.1f}",
                flush=True,
            )
            return r

        if "imports" in parts:
            print("\nimports in a fresh process", flush=True)
            imports = import_costs(quick=args.quick)
            for label, sec in imports:
                print(f"  {label:<58}{sec:6.2f}s", flush=True)
        if "demo" in parts:
            print(f"\nrendering {demo} ({shops[demo]:,} lines), month {MONTH}", flush=True)
            if args.quick:
                plan = [("full", 2), ("empty", 2)]
            else:
                render(demo, "empty", 2)  # warm-up: file caches, compiled bytecode, fonts
                plan = [(k, w) for k in ("full", "setup", "empty") for w in (1, 2)]
            for kind, w in plan:
                demo_runs.append((kind, w, render(demo, kind, w)))
        if big:
            print(f"\nrendering {big} ({shops[big]:,} lines)", flush=True)
            big_runs.append(("full", 2, render(big, "full", 2)))
        if batch:
            print(f"\nbatches of {len(batch)} shop-months", flush=True)
            modes = [("process pool", 2, "pool")]
            if not args.quick:
                modes.insert(0, ("process pool", 1, "pool"))
            if not args.skip_dask:
                modes.append(("Dask LocalCluster", 2, "dask"))
            for mode, w, key in modes:
                nbdir = str(sets["full"]) if sets["full"] else "-"
                r = run_child(["--child-batch", ",".join(batch), str(w), key, nbdir])
                print(
                    f"  {mode:<18} workers {w}: {r['ok']}/{len(batch)} in {r['batch_s']:6.1f}s "
                    f"(cluster start {r['cluster_s']:.1f}s), load {r['load']:.1f}",
                    flush=True,
                )
                if r["failed"]:
                    print("    failed: " + "; ".join(r["failed"]))
                batch_runs.append((mode, w, r))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    text = report_text(
        args, only, demo, big, shops, imports, demo_runs, big_runs, batch_runs, len(batch)
    )
    text += f"\n\nRun time of this benchmark: {time.perf_counter() - started:.0f} s."
    print("\n" + text)
    if args.record:
        what = [x for x in ("demo", "big", "batch", "imports") if x in parts]
        names = {"demo": f"{n:,}-customer demo shop", "big": f"{args.big_customers:,}-customer "
                 "shop", "batch": "batch throughput", "imports": "imports"}  # fmt: skip
        title = "report rendering: " + ", ".join(names[x] for x in what)
        common.record(title, text, load_at_start=load_start, speed_at_start=speed_start)
    return 0


def report_text(
    args: argparse.Namespace,
    only: list[str] | None,
    demo: str,
    big: str | None,
    shops: dict[str, int],
    imports: list[tuple[str, float]],
    demo_runs: list[tuple[str, int, dict[str, Any]]],
    big_runs: list[tuple[str, int, dict[str, Any]]],
    batch_runs: list[tuple[str, int, dict[str, Any]]],
    jobs: int,
) -> str:
    """The Markdown tables and verdicts of whatever parts ran."""

    def pick(kind: str, w: int) -> dict[str, Any] | None:
        return next((r for k, ww, r in demo_runs if k == kind and ww == w), None)

    nb_label = f"notebooks {','.join(only)}" if only else "all notebooks"
    lines = ["### Monthly report rendering (`bench_reports.py`)", ""]
    rows = render_rows(f"{demo} ({shops[demo]:,} lines)", demo_runs)
    if big_runs and big:
        rows += render_rows(f"{big} ({shops[big]:,} lines)", big_runs)
    if rows:
        lines += [
            f"Report month {MONTH}, {nb_label}; *end to end* = a fresh Python process running "
            "`ecrm.render.report.render` (what `ecrm report` does); CPU s and RSS cover every "
            "process "
            "(workers, kernels). Stand-in notebooks: *empty* = parameters cell only (kernel, "
            "papermill, nbconvert, page), *setup* = parameters + setup cell (adds imports and "
            "`ecrm.render.context.context`).",
            "",
            common.table(rows, RENDER_HEAD),
            "",
        ]
    full2, e2, s2 = pick("full", 2), pick("empty", 2), pick("setup", 2)
    if full2 and e2:
        setup_part = f"setup-only notebooks {s2['wall_s']:.1f} s, " if s2 else ""
        lines += [
            f"Demo shop, 2 workers, end to end: empty notebooks {e2['wall_s']:.1f} s (the fixed "
            f"cost of the pipeline), {setup_part}the real notebooks {full2['wall_s']:.1f} s. "
            "Differences between these runs are only as good as the load was steady (see the "
            "load column); the per-notebook split below, from one run, is the steadier figure.",
            "",
        ]
    if imports:
        lines += [
            "Imports in a fresh Python process (best of two runs; Python's own start "
            "deducted): the rendering process pays papermill and nbconvert once (jsonschema's "
            "IRI grammar is skipped by the renderer), every warm kernel its setup imports once.",
            "",
            common.table([(label, f"{sec:.2f}") for label, sec in imports], ("import", "s")),
            "",
        ]
    if full2:
        lines += [breakdown_table(f"{demo}, 2 workers", full2), ""]
    if big_runs and big:
        lines += [breakdown_table(f"{big}, 2 workers", big_runs[0][2]), ""]
    if batch_runs:
        lines += [
            f"Batch throughput ({jobs} shop-months: the {args.demo_customers:,}-customer "
            "apparel and food demo shops alternately; `ecrm.render.batch.run_batch`, each "
            "shop-month "
            "rendering its notebooks one after another):",
            "",
            batch_table(batch_runs, jobs),
            "",
        ]
    if full2:
        lines.append(
            f"* demo shop-month end to end with 2 workers: {full2['wall_s']:.1f} s — target < "
            f"{DEMO_TARGET_S:g} s {'met' if full2['wall_s'] < DEMO_TARGET_S else 'missed'}"
            + (" (quick mode: tiny shop, one notebook)" if args.quick else "")
        )
    if big_runs:
        b = big_runs[0][2]["wall_s"]
        lines.append(
            f"* {args.big_customers:,}-customer shop-month, 2 workers: {b:.1f} s — target < "
            f"{BIG_TARGET_S:g} s {'met' if b < BIG_TARGET_S else 'missed'}"
        )
    return "\n".join(lines).rstrip()


if __name__ == "__main__":
    sys.exit(main())
