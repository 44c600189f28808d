"""Monthly HTML reports per shop: papermill runs the notebooks, nbconvert renders them.

``render(shop, month)`` writes SPEC §4's layout to ``reports/<shop>/<YYYY-MM>/``:

* ``index.html`` — headline KPIs, data quality and a link to every page;
* ``<notebook>.html`` — one self-contained page per notebook (no code, images
  embedded, a table of contents, a footer with as_of, data fingerprint, ecrm
  version and the settings used);
* ``tables/*.csv`` (UTF-8 with BOM), ``segments/*.csv`` (campaign lists);
* ``notebooks/*.ipynb`` — the executed notebooks, for audit.

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
import html
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

from ecrm.errors import EcrmError, ParameterError
from ecrm.render import index, publish
from ecrm.render.kernel import WarmKernel
from ecrm.render.request import ReportRequest, ensure_ingested, read_quality
from ecrm.settings import ShopSettings

__all__ = [
    "NOTEBOOK_DIR",
    "PAGE_SECONDS_FILE",
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

    @property
    def index(self) -> Path:
        """The report's index.html."""
        return self.path / "index.html"

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


def _settings_digest(settings: ShopSettings) -> str:
    blob = json.dumps(settings.model_dump(mode="json", exclude={"base_dir"}), sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


# ----------------------------------------------------------------------------- pages

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
) -> PageResult:
    """Execute one notebook in ``kern`` and write its page."""
    name = _page_name(nb)
    start = time.perf_counter()
    out_nb = out_dir / "notebooks" / nb.name
    ok, message = kern.execute(nb, out_nb, params)
    title = _PAGE_TITLES.get(name, (name, name))[0 if lang == "ja" else 1]
    body = _export_html(out_nb) if ok else _error_body(title, message, lang)
    page = _page(title, body, footer, lang)
    (out_dir / f"{name}.html").write_text(page, encoding="utf-8")
    return PageResult(name, ok, time.perf_counter() - start, message)


# ----------------------------------------------------------------------------- HTML


def _export_html(executed: Path) -> str:
    """Body HTML of an executed notebook: outputs only, no code, no stderr, no prompts."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(executed), as_version=4)
    # Markdown cells are the notebook's own notes for JupyterLab readers; the page
    # shows what the code cells display, in the report's language.
    nb.cells = [c for c in nb.cells if c.cell_type == "code"]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [
                o
                for o in cell.outputs
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            ]
    exporter = HTMLExporter(
        template_name="basic",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(nb)
    return body


def _error_body(title: str, message: str, lang: str) -> str:
    head = "この分析は表示できません" if lang == "ja" else "This analysis could not be shown"
    # keep only the last line of an error and never a traceback
    text = message.strip().splitlines()[-1] if message.strip() else ""
    return (
        f"<h1>{html.escape(title)}</h1><div class='ecrm-error'><strong>{head}.</strong>"
        f"<p>{html.escape(text)}</p></div>"
    )


_CSS = """
body{font-family:"Hiragino Sans","Noto Sans JP","IPAexGothic","Yu Gothic",sans-serif;
max-width:1100px;margin:0 auto;padding:1.5em 2em;color:#222;line-height:1.6}
nav.toc{background:#f5f7fa;border:1px solid #dde3ea;padding:.6em 1.2em;margin:1em 0}
nav.toc ol{margin:.3em 0;padding-left:1.4em} a{color:#1f5fa8}
table.ecrm-table{border-collapse:collapse;font-size:.85em;margin:.6em 0}
table.ecrm-table th,table.ecrm-table td{border-bottom:1px solid #e3e3e3;padding:.25em .6em;
text-align:right} table.ecrm-table th{background:#f0f3f7}
img{max-width:100%;height:auto} .ecrm-note{color:#666;font-size:.85em}
.ecrm-error{background:#fff4e5;border:1px solid #f0c36d;padding:.8em 1.2em}
footer{margin-top:3em;border-top:1px solid #ddd;padding-top:.6em;color:#666;font-size:.8em}
.kpis{display:flex;flex-wrap:wrap;gap:.8em}.kpi{border:1px solid #dde3ea;padding:.6em 1em;
min-width:10em}.kpi b{display:block;font-size:1.3em}.warn{color:#a15c00}
"""


def _page(title: str, body: str, footer: str, lang: str) -> str:
    """A complete, self-contained page: table of contents from the h2 headings."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(body, "html.parser")
    for tag in soup.find_all("a", class_="anchor-link"):
        tag.decompose()
    heads = soup.find_all("h2")
    toc_items = []
    for i, h in enumerate(heads, 1):
        h["id"] = f"s{i}"
        toc_items.append(f"<li><a href='#s{i}'>{html.escape(h.get_text(strip=True))}</a></li>")
    toc_title = "目次" if lang == "ja" else "Contents"
    toc = (
        f"<nav class='toc'><strong>{toc_title}</strong><ol>{''.join(toc_items)}</ol>"
        f"<a href='index.html'>← {'レポート一覧' if lang == 'ja' else 'all pages'}</a></nav>"
    )
    first_h1 = soup.find("h1")
    if first_h1 is not None:
        first_h1.insert_after(BeautifulSoup(toc, "html.parser"))
        content = str(soup)
    else:
        content = toc + str(soup)
    return (
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"{content}<footer>{footer}</footer></body></html>"
    )


def _footer(request: ReportRequest, quality: dict[str, Any]) -> str:
    from ecrm import __version__

    settings, as_of = request.settings, request.as_of
    fp = quality.get("fingerprint", "—")
    digest = _settings_digest(settings)
    if request.lang == "ja":
        return (
            f"基準日 (as_of): {as_of} · データ指紋: {html.escape(str(fp))} · "
            f"ecrm {html.escape(__version__)} · 設定: {html.escape(settings.name)}/settings.yaml "
            f"(sha256 {digest})"
        )
    return (
        f"as_of {as_of} · data fingerprint {html.escape(str(fp))} · ecrm "
        f"{html.escape(__version__)} · settings {html.escape(settings.name)}/settings.yaml "
        f"(sha256 {digest})"
    )


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
        request, notebook_dir=notebook_dir, workers=workers, fresh_kernels=fresh_kernels
    )


def render_request(
    request: ReportRequest,
    *,
    notebook_dir: Path | None = None,
    workers: int = 1,
    fresh_kernels: bool | None = None,
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
            return _build_and_publish(request, nbs, orders, quality, workers, fresh, final)


def _build_and_publish(
    request: ReportRequest,
    nbs: list[Path],
    orders: Path,
    quality: dict[str, Any],
    workers: int,
    fresh: bool,
    final: Path,
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
                order, tmp, params, request.root, footer, request.lang, workers, fresh
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
        publish.fault_point("built")
        publish.swap_in(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ReportResult(request.shop, request.month, final, pages, time.perf_counter() - start)


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
            return [_render_page(nb, out_dir, params, footer, lang, kern) for nb in nbs]
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
                done[nb] = _render_page(nb, out_dir, params, footer, lang, kern)
        finally:
            kern.close()

    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="ecrm-page") as ex:
        futures = [ex.submit(work, kernel.WarmKernel(cwd, fresh=fresh, env=env)) for _ in range(n)]
        for f in futures:
            f.result()
    return [done[nb] for nb in nbs]
