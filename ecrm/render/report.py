"""Monthly HTML reports per shop: papermill runs the notebooks, page.py lays out the pages.

``render(shop, month)`` writes SPEC §4's layout to ``reports/<shop>/<YYYY-MM>/``:

* ``index.html`` — headline KPIs, data quality and a link to every page;
* ``<notebook>.html`` — one self-contained page per notebook (no code, images
  embedded, a table of contents, previous / index / next links, a footer with
  as_of, data fingerprint, ecrm version and the settings used), assembled by
  :mod:`ecrm.render.page` through an autoescaping Jinja2 template;
* ``tables/*.csv`` (UTF-8 with BOM), ``segments/*.csv`` (campaign lists);
* ``notebooks/*.ipynb`` — the executed notebooks, for audit;
* ``report.pdf`` — with ``pdf=True``: every page in order, A4 (:mod:`ecrm.render.pdf`).

Parameters are parsed once, before anything runs, into a
:class:`~ecrm.render.request.ReportRequest` (shop slug, exact ``YYYY-MM``
month, known language, validated settings); papermill only ever receives the
validated slugs and two paths (the report folder and the request file that
carries the settings as data), so a hostile value can neither leave
``reports/`` nor inject code. The month's folder is
replaced atomically: the new report is built in a hidden sibling folder and
swapped in only when complete.

A notebook that fails (e.g. CTB on a shop without categories) becomes a page
with a clear message instead of a traceback; the other pages still render.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup

from ecrm.errors import EcrmError, ParameterError
from ecrm.render import index, page, publish
from ecrm.render.kernel import WarmKernel
from ecrm.render.request import ReportRequest, ensure_ingested, read_quality
from ecrm.settings import ShopSettings

__all__ = [
    "NOTEBOOK_DIR",
    "PAGE_SECONDS_FILE",
    "PDF_FILE",
    "PageResult",
    "ReportResult",
    "notebooks",
    "page_order",
    "render",
    "render_request",
]

log = logging.getLogger(__name__)

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"

_PAGE_TITLES = {
    "overview": ("概要・KPI", "Overview and KPIs"),
    "rfm": ("RFM分析", "RFM analysis"),
    "decile": ("デシル分析", "Decile analysis"),
    "cpm": ("CPM分析", "CPM analysis"),
    "lifecycle": ("顧客セグメント推移", "Lifecycle segments"),
    "cohort": ("コホート分析", "Cohort analysis"),
    "ltv": ("LTV分析", "LTV analysis"),
    "cluster": ("クラスタ分析", "Customer clusters"),
    "ctb": ("CTB分析", "CTB analysis"),
    "d2c": ("定期・チャネル・商品", "Subscriptions, channels and products"),
}


@dataclass
class PageResult:
    """One rendered page."""

    name: str
    ok: bool
    seconds: float
    message: str = ""


@dataclass
class ReportResult:
    """What :func:`render` wrote."""

    shop: str
    month: str
    path: Path
    pages: list[PageResult] = field(default_factory=list)
    seconds: float = 0.0
    pdf_seconds: float | None = None

    @property
    def index(self) -> Path:
        """The report's index.html."""
        return self.path / "index.html"

    @property
    def pdf(self) -> Path | None:
        """The report's ``report.pdf`` when it was printed, else None."""
        return self.path / PDF_FILE if self.pdf_seconds is not None else None

    @property
    def ok(self) -> bool:
        """True when every page rendered its analysis."""
        return all(p.ok for p in self.pages)


def _check_papermill_safe(params: dict[str, str]) -> None:
    """Refuse values papermill could not write safely as Python string literals.

    Papermill writes parameters into the notebook as code; quotes, backslashes
    and control characters are the characters that could end a literal early.
    Shop, month and language are already slugs; this guards the two paths
    (report folder and request file).
    """
    for key, value in params.items():
        bad = [ch for ch in value if ch in "\"'\\" or ord(ch) < 32 or ord(ch) == 127]
        if bad:
            raise ParameterError(
                f"{key} {value!r} contains a quote, backslash or control character; "
                "move the project to a path without them"
            )


def notebooks(folder: Path | None = None) -> list[Path]:
    """The report notebooks, in page order (``NN_name.ipynb``)."""
    folder = folder or NOTEBOOK_DIR
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def _page_name(nb: Path) -> str:
    return nb.stem.split("_", 1)[1]


def _page_title(name: str, lang: str) -> str:
    return _PAGE_TITLES.get(name, (name, name))[0 if lang == "ja" else 1]


def _settings_digest(settings: ShopSettings) -> str:
    blob = json.dumps(settings.model_dump(mode="json", exclude={"base_dir"}), sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


# ----------------------------------------------------------------------------- pages

#: The PDF of a report (every page in order, index first), with ``pdf=True``.
PDF_FILE = "report.pdf"

#: The page durations of a report, ``{"page": seconds}``, in its ``notebooks/`` folder.
PAGE_SECONDS_FILE = "page-seconds.json"


def _cost_class(nb: Path) -> str:
    """The notebook's declared cost class: ``metadata.ecrm.cost`` ("heavy" or "light")."""
    meta = json.loads(nb.read_text(encoding="utf-8")).get("metadata", {})
    return str(meta.get("ecrm", {}).get("cost", "light"))


def previous_page_seconds(shop_reports: Path) -> dict[str, float]:
    """How long each page took in the shop's most recently written report.

    Reads ``reports/<shop>/<YYYY-MM>/notebooks/page-seconds.json`` of the
    newest report (by the file's modification time); empty when the shop has
    none yet or the file cannot be read.
    """
    files = sorted(
        shop_reports.glob(f"[0-9][0-9][0-9][0-9]-[0-9][0-9]/notebooks/{PAGE_SECONDS_FILE}"),
        key=lambda p: p.stat().st_mtime,
    )
    if not files:
        return {}
    try:
        data = json.loads(files[-1].read_text(encoding="utf-8"))
        return {str(k): float(v) for k, v in data.items()}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}


def page_order(nbs: list[Path], seconds: dict[str, float] | None = None) -> list[Path]:
    """The order in which parallel workers take the pages: longest expected first.

    Taking the longest pages first keeps every worker busy until the end. How
    long a page takes depends on the shop (CTB and clustering grow with the
    order lines faster than the other pages), so the rule uses the shop's own
    measurements, not figures fixed in the code:

    1. pages with no measurement (``seconds`` lacks them: the shop's first
       report, a new page) go first, as their cost is unknown: those whose
       notebook declares ``"ecrm": {"cost": "heavy"}`` in its metadata
       (pages that fit models or scale with order lines: LTV, clusters, CTB)
       before the others, each group in notebook order;
    2. then the measured pages, longest first (ties in notebook order).

    Parameters
    ----------
    nbs : list of Path
        The notebooks, in page order.
    seconds : dict, optional
        Page name → seconds, as recorded by the shop's previous report
        (:func:`previous_page_seconds`).

    Returns
    -------
    list of Path
        The same notebooks, reordered.
    """
    seconds = seconds or {}

    def key(item: tuple[int, Path]) -> tuple[int, float, int]:
        i, nb = item
        name = _page_name(nb)
        if name in seconds:
            return (2, -seconds[name], i)
        return (0 if _cost_class(nb) == "heavy" else 1, 0.0, i)

    return [nb for _, nb in sorted(enumerate(nbs), key=key)]


def _render_page(
    nb: Path,
    out_dir: Path,
    params: dict[str, str],
    footer: str,
    lang: str,
    kern: WarmKernel,
    names: tuple[str, ...] = (),
) -> PageResult:
    """Execute one notebook in ``kern`` and write its page.

    ``names`` are the report's pages in page order (the navigation's previous
    and next pages); empty for a page on its own.
    """
    name = _page_name(nb)
    start = time.perf_counter()
    out_nb = out_dir / "notebooks" / nb.name
    ok, message = kern.execute(nb, out_nb, params)
    title = _page_title(name, lang)
    nav = page.nav_for([(n, _page_title(n, lang)) for n in names or (name,)], name, lang)
    if ok:
        text = page.page_html(title, page.notebook_blocks(out_nb, lang), footer, lang, nav)
    else:
        text = page.error_page_html(title, message, footer, lang, nav)
    (out_dir / f"{name}.html").write_text(text, encoding="utf-8")
    return PageResult(name, ok, time.perf_counter() - start, message)


# ----------------------------------------------------------------------------- HTML


def _footer(request: ReportRequest, quality: dict[str, Any]) -> Markup:
    """The footer of every page: as_of, data fingerprint, ecrm version, settings (escaped)."""
    from ecrm import __version__

    settings, as_of = request.settings, request.as_of
    fp = quality.get("fingerprint", "—")
    digest = _settings_digest(settings)
    text = (
        "基準日: {} · データ指紋: {} · ecrm {} · 設定: {}/settings.yaml (sha256 {})"
        if request.lang == "ja"
        else "as of {} · data fingerprint {} · ecrm {} · settings {}/settings.yaml (sha256 {})"
    )
    return Markup(text).format(str(as_of), str(fp), __version__, settings.name, digest)


# ----------------------------------------------------------------------------- render


def render(
    shop: str,
    month: str,
    *,
    lang: str = "ja",
    root: Path | None = None,
    notebook_dir: Path | None = None,
    workers: int = 1,
    settings_path: Path | None = None,
    fresh_kernels: bool | None = None,
    pdf: bool = False,
) -> ReportResult:
    """Render one shop-month report into ``reports/<shop>/<YYYY-MM>/``.

    Parses the parameters into a :class:`~ecrm.render.request.ReportRequest`
    and calls :func:`render_request`.

    Parameters
    ----------
    shop : str
        Shop slug: ``data/<shop>/settings.yaml`` must exist.
    month : str
        Exactly ``YYYY-MM``; as_of is the month's last day.
    lang : {"ja", "en"}
    root : Path, optional
        Project root (default :func:`ecrm.paths.project_root`).
    notebook_dir : Path, optional
        Notebook templates (default the project's ``notebooks/``).
    workers : int
        Notebooks executed in parallel (see :func:`render_request`).
    settings_path : Path, optional
        Settings file (default ``data/<shop>/settings.yaml``).
    fresh_kernels : bool, optional
        Start a new kernel for every notebook instead of reusing a warm one.
    pdf : bool
        Also print every page, in order, into ``report.pdf`` (see :func:`render_request`).

    Returns
    -------
    ReportResult

    Raises
    ------
    ParameterError
        Invalid shop, month or language (nothing is run or written).
    SettingsError, IngestError
        The shop cannot be loaded or ingested.
    """
    request = ReportRequest.parse(shop, month, lang, root=root, settings_path=settings_path)
    return render_request(
        request, notebook_dir=notebook_dir, workers=workers, fresh_kernels=fresh_kernels, pdf=pdf
    )


def render_request(
    request: ReportRequest,
    *,
    notebook_dir: Path | None = None,
    workers: int = 1,
    fresh_kernels: bool | None = None,
    pdf: bool = False,
) -> ReportResult:
    """Render a validated request into ``reports/<shop>/<YYYY-MM>/``.

    Parameters
    ----------
    request : ReportRequest
        Shop, month, language and settings, validated.
    notebook_dir : Path, optional
        Notebook templates (default the project's ``notebooks/``).
    workers : int
        Notebooks executed in parallel: each worker process owns one warm kernel
        that runs its share of the notebooks in turn, with a clean namespace per
        notebook (see :mod:`ecrm.render.kernel`), taking them in
        :func:`page_order`.
    fresh_kernels : bool, optional
        Start a new kernel for every notebook instead of reusing a warm one
        (slower; default from ``ECRM_FRESH_KERNELS``, else False).
    pdf : bool
        Also write ``report.pdf``: the index and every page in page order, A4,
        printed by headless Chromium (:mod:`ecrm.render.pdf`) inside the
        temporary folder, before the swap; its time is
        :attr:`ReportResult.pdf_seconds`. When it cannot be printed (no
        Chromium on PATH, Chromium fails) the HTML report is still published
        and then :class:`~ecrm.render.pdf.PdfError` is raised.

    Returns
    -------
    ReportResult

    Raises
    ------
    ParameterError
        ``workers`` below 1, a project path papermill cannot write safely, or a
        month that ends before the shop's first order (the message gives the
        shop's first and last order dates).
    IngestError
        The shop's raw exports cannot be ingested.
    ReportOutputError
        The report folder cannot be written (read-only, permission denied) or
        the disk is full (:mod:`ecrm.render.publish`); the previous report stays.
    PdfError
        ``pdf=True`` and the PDF could not be printed (the message says why and,
        without Chromium, how to install it); the HTML report is published.
    """
    if workers < 1:
        raise ParameterError(f"workers must be at least 1, got {workers}")
    from ecrm.render.kernel import fresh_from_env

    fresh = fresh_from_env() if fresh_kernels is None else bool(fresh_kernels)
    shop_reports = request.reports_dir
    _check_papermill_safe({"output_dir": str(shop_reports.resolve())})
    orders = ensure_ingested(request.settings)
    quality = read_quality(request.settings)
    nbs = notebooks(notebook_dir)
    if not nbs:
        raise EcrmError(f"no report notebooks found in {notebook_dir or NOTEBOOK_DIR}")

    _check_has_orders(request, orders)
    final = shop_reports / request.month
    with publish.output_errors(shop_reports):
        shop_reports.mkdir(parents=True, exist_ok=True)
        if final.resolve().parent != shop_reports.resolve():
            raise ParameterError(f"report folder would leave {shop_reports}")
        with publish.shop_month_lock(shop_reports, request.month):
            publish.clean_stale(shop_reports, request.month)
            publish.fault_point("locked")
            return _build_and_publish(request, nbs, orders, quality, workers, fresh, final, pdf)


def _build_and_publish(
    request: ReportRequest,
    nbs: list[Path],
    orders: Path,
    quality: dict[str, Any],
    workers: int,
    fresh: bool,
    final: Path,
    pdf: bool = False,
) -> ReportResult:
    """Render every page into a new temporary folder and swap it in (holding the lock)."""
    shop_reports = final.parent
    tmp = publish.new_temp(shop_reports, request.month)
    start = time.perf_counter()
    try:
        for sub in ("tables", "segments", "notebooks"):
            (tmp / sub).mkdir()
        request_file = request.write(tmp / "notebooks" / "request.json")
        params = {
            "shop": request.shop,
            "month": request.month,
            "lang": request.lang,
            "output_dir": str(tmp),
            "request_file": str(request_file),
        }
        _check_papermill_safe(params)
        footer = _footer(request, quality)
        # one worker takes the pages in turn; several take the longest first
        order = nbs if workers == 1 else page_order(nbs, previous_page_seconds(shop_reports))
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ecrm-kpi") as ex:
            # the index's KPIs and findings, computed here while the kernels render the pages
            kpis = ex.submit(index.index_data, orders, request)
            pages = _render_pages(
                order,
                tmp,
                params,
                request.root,
                footer,
                request.lang,
                workers,
                fresh,
                tuple(_page_name(nb) for nb in nbs),
            )
            kpi_table = kpis.result()
        pages = [next(p for p in pages if p.name == _page_name(nb)) for nb in nbs]
        _raise_disk_errors(pages, shop_reports)
        (tmp / "notebooks" / PAGE_SECONDS_FILE).write_text(
            json.dumps({p.name: round(p.seconds, 3) for p in pages}, indent=1), encoding="utf-8"
        )
        (tmp / "index.html").write_text(
            index.index_html(request, pages, quality, footer, tmp, kpi_table, _PAGE_TITLES),
            encoding="utf-8",
        )
        seconds = time.perf_counter() - start
        pdf_seconds, pdf_error = _print_pdf(tmp, nbs) if pdf else (None, None)
        publish.fault_point("built")
        publish.swap_in(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if pdf_error is not None:
        raise type(pdf_error)(f"{pdf_error} (the HTML report is written: {final / 'index.html'})")
    return ReportResult(request.shop, request.month, final, pages, seconds, pdf_seconds)


def _print_pdf(folder: Path, nbs: list[Path]) -> tuple[float | None, EcrmError | None]:
    """Print ``report.pdf`` in ``folder``: (seconds, None), or (None, the error) if it cannot."""
    from ecrm.render import pdf

    try:
        names = ["index", *(_page_name(nb) for nb in nbs)]
        return pdf.write_pdf(folder, names, folder / PDF_FILE), None
    except pdf.PdfError as e:
        (folder / PDF_FILE).unlink(missing_ok=True)
        return None, e


#: A page's error that is the disk's, not the analysis's: ENOSPC, EDQUOT, EROFS.
_DISK_ERROR = re.compile(r"\[Errno (28|122|30)\]")


def _raise_disk_errors(pages: list[PageResult], shop_reports: Path) -> None:
    """A page that failed because the disk is full or read-only fails the whole report.

    Its kernel wrote a table or image and got ``OSError: [Errno 28] …``; the
    report would be incomplete for a reason that is not the shop's data.
    """
    import errno as errno_mod

    codes = {28: errno_mod.ENOSPC, 122: errno_mod.EDQUOT, 30: errno_mod.EROFS}
    for p in pages:
        m = _DISK_ERROR.search(p.message)
        if not p.ok and m:
            path = re.search(r"'([^']+)'", p.message.splitlines()[0])
            err = OSError(codes[int(m[1])], os.strerror(codes[int(m[1])]))
            err.filename = path[1] if path else None
            msg = publish.output_message(err, shop_reports)
            raise publish.ReportOutputError(f"page {p.name}: {msg}")


def _check_has_orders(request: ReportRequest, orders: Path) -> None:
    """Refuse a month that ends before the shop's first order (nothing to report).

    Raises
    ------
    ParameterError
        With the shop's first and last order dates and the months it can report.
    """
    from ecrm import engine

    t = engine.orders_table(orders)
    first, last = t.aggregate(first=t.ordered_at.min(), last=t.ordered_at.max()).execute().iloc[0]
    if first is None or first != first:
        raise ParameterError(f"{request.shop} has no orders: ingest its exports first")
    first_day, last_day = first.date(), last.date()
    if request.as_of < first_day:
        raise ParameterError(
            f"{request.shop} has no orders on or before {request.as_of} (the end of "
            f"{request.month}): its orders run from {first_day} to {last_day}; choose a month "
            f"from {first_day:%Y-%m} to {last_day:%Y-%m}"
        )


def _render_pages(
    nbs: list[Path],
    out_dir: Path,
    params: dict[str, str],
    cwd: Path,
    footer: str,
    lang: str,
    workers: int,
    fresh: bool,
    names: tuple[str, ...] = (),
) -> list[PageResult]:
    """Render every page on ``workers`` kernels, taking ``nbs`` in the order given.

    With one worker the pages run in turn on this process's warm kernel (kept
    between reports in a batch worker). With more, each worker is a thread of
    this process driving its own kernel process: the analysis runs in the
    kernels, in parallel, while the threads only wait for them and convert the
    finished notebooks to HTML. A worker takes the next page of ``nbs`` as
    soon as it is free (the caller orders them with :func:`page_order`). The
    results come back in the order of ``nbs``.
    """
    from ecrm.render import kernel

    if workers == 1 or len(nbs) == 1:
        kern = kernel.shared(cwd, fresh=fresh)
        try:
            return [_render_page(nb, out_dir, params, footer, lang, kern, names) for nb in nbs]
        finally:
            kernel.close_shared(unless_kept=True)
    n = min(workers, len(nbs))
    queue = list(nbs)
    lock = threading.Lock()
    done: dict[Path, PageResult] = {}
    env = kernel.thread_limits(n)

    def work(kern: kernel.WarmKernel) -> None:
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    nb = queue.pop(0)
                done[nb] = _render_page(nb, out_dir, params, footer, lang, kern, names)
        finally:
            kern.close()

    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="ecrm-page") as ex:
        futures = [ex.submit(work, kernel.WarmKernel(cwd, fresh=fresh, env=env)) for _ in range(n)]
        for f in futures:
            f.result()
    return [done[nb] for nb in nbs]
