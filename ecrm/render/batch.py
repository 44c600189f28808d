"""Render many shops' monthly reports: a process pool here, or a Dask cluster.

Each shop-month is one job. A worker process owns one warm kernel (on its own
IPC socket path, so kernels never race for a port) that runs the notebooks of
its shop-months one after another, each notebook in a clean namespace (see
:mod:`ecrm.render.kernel`); a pool worker keeps its kernel from one shop-month to the
next, so the imports are paid once per worker. On Dask each job starts and
stops its own kernel (a cluster worker lives on after the batch). One shop's
failure is caught, logged and reported; it never stops the others. The batch
writes ``reports/<YYYY-MM>-batch.html`` listing what succeeded and failed, and
:func:`run_batch` returns the results so the command line can exit non-zero
when anything failed.

Killing the batch (even ``kill -9``) takes its workers with it: each pool
worker asks Linux for ``SIGKILL`` on its parent's death
(:func:`ecrm.render.kernel.die_with_parent`), and each kernel ends within a
second of its worker (ipykernel's parent poller), so no process of the run is
left behind. A shop-month killed mid-render keeps its previous report; the next
render removes the dead run's temporary folder (:mod:`ecrm.render.publish`).

Exit codes of ``ecrm batch`` (:func:`exit_code`): 0 every shop rendered every
page; 1 a shop failed or a page could not be shown (the summary lists each
with its error's first line); 2 bad input (month, language, shop names, an
unwritable reports folder), refused before anything runs.
"""

from __future__ import annotations

import html
import logging
import os
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ecrm import paths
from ecrm.errors import EcrmError, ParameterError
from ecrm.render import publish
from ecrm.render.request import ReportRequest, parse_lang, parse_month, parse_shop

if TYPE_CHECKING:
    from ecrm.render.report import PageResult

__all__ = [
    "JobResult",
    "configured_shops",
    "exit_code",
    "render_job",
    "run_batch",
    "summary_text",
    "write_batch_index",
]

log = logging.getLogger(__name__)


@dataclass
class JobResult:
    """Outcome of one shop-month."""

    shop: str
    month: str
    ok: bool
    seconds: float
    index: str = ""
    error: str = ""
    pages_unavailable: tuple[str, ...] = ()
    #: every page's result (name, ok, seconds, message), in the order rendered
    pages: tuple[PageResult, ...] = ()


def configured_shops(root: Path | None = None) -> list[str]:
    """Every shop folder under ``data/`` holding a ``settings.yaml``, sorted."""
    d = paths.data_dir(root)
    return sorted(p.parent.name for p in d.glob("*/settings.yaml"))


def _init_worker(env: dict[str, str], parent_pid: int) -> None:
    """Pool initializer: die with the batch, and give the kernels their share of the cores.

    :func:`ecrm.render.kernel.die_with_parent` makes a ``kill -9`` of the batch
    kill this worker too (its kernel follows it); ``env`` holds the thread limits
    (:func:`ecrm.render.kernel.thread_limits`).
    """
    from ecrm.render import kernel

    kernel.die_with_parent(parent_pid)
    os.environ.update(env)


def render_job(
    request: ReportRequest,
    workers: int = 1,
    notebook_dir: str | None = None,
    keep_kernel: bool = False,
) -> JobResult:
    """Render one validated shop-month; never raises (errors come back in the result).

    With ``keep_kernel`` the process keeps its warm kernel for its next job
    (pool workers render many shop-months: imports are paid once per worker).
    """
    from ecrm.render import kernel
    from ecrm.render.report import render_request

    kernel.keep_shared(keep_kernel)

    start = time.perf_counter()
    try:
        r = render_request(
            request,
            workers=workers,
            notebook_dir=Path(notebook_dir) if notebook_dir else None,
        )
        return JobResult(
            request.shop,
            request.month,
            True,
            time.perf_counter() - start,
            index=str(r.index),
            pages_unavailable=tuple(p.name for p in r.pages if not p.ok),
            pages=tuple(r.pages),
        )
    except Exception as e:  # one shop's failure must not stop the batch
        return _failed(request.shop, request.month, e, time.perf_counter() - start)


def _failed(shop: str, month: str, e: BaseException, seconds: float = 0.0) -> JobResult:
    last = traceback.format_exception_only(type(e), e)[-1].strip()
    return JobResult(shop, month, False, seconds, error=last)


def run_batch(
    month: str,
    *,
    shops: Sequence[str] | None = None,
    lang: str = "ja",
    workers: int = 2,
    scheduler: str | None = None,
    root: Path | None = None,
    progress: Callable[[JobResult], None] | None = None,
    notebook_dir: Path | None = None,
) -> list[JobResult]:
    """Render every configured shop (or ``shops``) for ``month``.

    Parameters
    ----------
    month : str
        ``YYYY-MM``.
    shops : sequence of str, optional
        Default: every folder under ``data/`` with a settings.yaml.
    lang : {"ja", "en"}
    workers : int
        Parallel processes (ignored with ``scheduler``).
    scheduler : str, optional
        Address of an existing Dask distributed scheduler (``tcp://host:8786``);
        the jobs run on its workers, which must see the same project folder.
    root : Path, optional
        Project root.
    progress : callable, optional
        Called with each finished :class:`JobResult`.
    notebook_dir : Path, optional
        Report notebooks (default the project's ``notebooks/``).

    Returns
    -------
    list of JobResult
        In the order of ``shops``. Also writes ``reports/<month>-batch.html``.

    Raises
    ------
    ParameterError
        Invalid month, language or shop name (checked before anything runs).
        Each shop's request (:class:`~ecrm.render.request.ReportRequest`) is
        parsed once, here; a shop whose settings cannot be loaded is reported
        as failed and the others still render.
    """
    root = (root or paths.project_root()).resolve()
    nbdir = str(notebook_dir) if notebook_dir else None
    names = list(shops) if shops else configured_shops(root)
    if not names:
        raise ParameterError(f"no shops configured under {paths.data_dir(root)}")
    parse_month(month)
    parse_lang(lang)
    for s in names:
        parse_shop(s)
    if workers < 1:
        raise ParameterError(f"workers must be at least 1, got {workers}")
    _check_writable(paths.reports_dir(root))
    results: dict[str, JobResult] = {}
    requests: dict[str, ReportRequest] = {}

    def done(r: JobResult) -> None:
        results[r.shop] = r
        if r.ok:
            log.info("rendered %s %s in %.1fs", r.shop, r.month, r.seconds)
        else:
            log.error("failed %s %s: %s", r.shop, r.month, r.error)
        if progress:
            progress(r)

    for s in names:
        try:
            requests[s] = ReportRequest.parse(s, month, lang, root=root)
        except EcrmError as e:  # this shop's settings: reported, the others go on
            done(_failed(s, month, e))
    todo = [s for s in names if s in requests]

    if scheduler:
        from distributed import Client, as_completed

        with Client(scheduler, timeout="30s") as client:
            futs = [client.submit(render_job, requests[s], 1, nbdir, pure=False) for s in todo]
            for fut in as_completed(futs):
                try:
                    done(fut.result())
                except Exception as e:  # a worker that died mid-job
                    idx = futs.index(fut)
                    done(JobResult(todo[idx], month, False, 0.0, error=f"worker failed: {e}"))
    elif workers == 1:
        from ecrm.render import kernel

        try:
            for s in todo:
                done(render_job(requests[s], 1, nbdir, keep_kernel=True))
        finally:
            kernel.keep_shared(False)
            kernel.close_shared()
    else:
        import multiprocessing as mp

        from ecrm.render import kernel

        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=mp.get_context("spawn"),
            initializer=_init_worker,  # dies with this process; its kernel's share of the cores
            initargs=(kernel.thread_limits(workers), os.getpid()),
        ) as ex:
            pending: dict[Future[JobResult], str] = {
                ex.submit(render_job, requests[s], 1, nbdir, True): s for s in todo
            }
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    shop = pending.pop(f)
                    try:
                        done(f.result())
                    except Exception as e:  # the worker process itself died
                        done(JobResult(shop, month, False, 0.0, error=f"worker failed: {e}"))
    ordered = [results[s] for s in names]
    write_batch_index(ordered, month, root)
    return ordered


def _check_writable(reports: Path) -> None:
    """Refuse, before anything runs, a reports folder that cannot be written.

    Raises
    ------
    ReportOutputError
        Read-only, forbidden or full: the message names the folder and what to do.
    """
    import tempfile

    with publish.output_errors(reports):
        reports.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=reports, prefix=".ecrm-write-check-"):
            pass


def write_batch_index(results: Sequence[JobResult], month: str, root: Path) -> Path:
    """Write ``reports/<month>-batch.html``: one row per shop, with its error if any.

    Raises
    ------
    ReportOutputError
        The reports folder cannot be written or the disk is full.
    """
    out = paths.reports_dir(root) / f"{month}-batch.html"
    with publish.output_errors(out.parent):
        return _write_batch_index(results, month, out)


def _write_batch_index(results: Sequence[JobResult], month: str, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for r in results:
        if r.ok:
            rel = os.path.relpath(r.index, out.parent) if r.index else ""
            link = f"<a href='{html.escape(rel)}'>{html.escape(r.shop)}</a>"
            status = "ok" if not r.pages_unavailable else "PAGES FAILED"
            note = "; ".join(f"{p.name}: {_first_line(p.message)}" for p in _failed_pages(r))
        else:
            link, status, note = html.escape(r.shop), "FAILED", r.error
        rows.append(
            f"<tr><td>{link}</td><td>{status}</td><td>{r.seconds:.1f}s</td>"
            f"<td>{html.escape(note)}</td></tr>"
        )
    ok = sum(r.ok and not r.pages_unavailable for r in results)
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>ecrm batch {html.escape(month)}</title></head><body>"
        f"<h1>ecrm batch {html.escape(month)}</h1><p>{ok} of {len(results)} shops rendered "
        "every page.</p>"
        "<table border='1' cellpadding='4'><tr><th>shop</th><th>status</th><th>time</th>"
        f"<th>note</th></tr>{''.join(rows)}</table></body></html>"
    )
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, out)
    return out


def _first_line(message: str) -> str:
    """The first non-empty line of an error message."""
    return next((line.strip() for line in message.splitlines() if line.strip()), "")


def _failed_pages(r: JobResult) -> list[PageResult]:
    return [p for p in r.pages if not p.ok]


def _summary_lines(results: Sequence[JobResult]) -> list[str]:
    lines = []
    for r in results:
        if not r.ok:
            lines.append(f"  FAILED {r.shop:<24} {r.seconds:6.1f}s  {_first_line(r.error)}")
            continue
        bad = _failed_pages(r)
        mark = "ok    " if not bad else "PAGES "
        lines.append(f"  {mark} {r.shop:<24} {r.seconds:6.1f}s  {r.index}")
        for p in bad:
            lines.append(f"           page {p.name} failed: {_first_line(p.message)}")
    return lines


def summary_text(results: Sequence[JobResult]) -> str:
    """The final summary printed by ``ecrm batch``: every shop, every page that failed."""
    ok = sum(r.ok and not r.pages_unavailable for r in results)
    head = f"{ok} of {len(results)} shops rendered every page"
    return "\n".join([head, *_summary_lines(results)])


def exit_code(results: Sequence[JobResult]) -> int:
    """``ecrm batch``'s exit code: 0 when every shop rendered every page, else 1.

    (2, bad input, is the command line's: it is refused before any result exists.)
    """
    return 0 if all(r.ok and not r.pages_unavailable for r in results) else 1
