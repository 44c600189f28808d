"""``report.pdf``: every page of a month's report, in order, printed by headless Chromium.

No PDF merger is a dependency of ecrm, so the pages are not printed one by
one and merged: :func:`combined_html` joins the index and every page (in
page order) into one document, each page starting on a new sheet, and one
Chromium call prints it with the report's A4 print style sheet
(``templates/report.css``: ``@page{size:A4}``, a page break before each
section, no heading left at the bottom of a sheet, figures and table rows not
cut). Anchors are renamed per page (``rfm-s2``) and links between pages point
inside the document, so the table of contents and the index work in the PDF.

The browser is the first of :data:`BROWSERS` on ``PATH``; without one,
:class:`BrowserMissingError` says how to install it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from ecrm.errors import EcrmError

__all__ = [
    "BROWSERS",
    "BrowserMissingError",
    "PdfError",
    "combined_html",
    "count_pages",
    "find_browser",
    "write_pdf",
]

#: Browser executables tried, in order.
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")

INSTALL_HINT = (
    "install headless Chromium: `make browser` (Debian/Ubuntu, as root: apt-get install "
    "chromium), macOS: `brew install --cask chromium`, Windows: install Google Chrome and "
    "put chrome.exe on PATH"
)


class PdfError(EcrmError):
    """The report's PDF could not be printed."""


class BrowserMissingError(PdfError):
    """No headless Chromium on PATH to print the PDF with."""


def find_browser() -> str | None:
    """The first browser of :data:`BROWSERS` on ``PATH``, or None."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def _local_href(href: str, names: set[str], page: str) -> str | None:
    """The in-document target of a link of ``page``, or None for a link that leaves it."""
    if href.startswith("#"):
        return f"#{page}-{href[1:]}"
    m = re.fullmatch(r"([A-Za-z0-9_-]+)\.html(?:#(.*))?", href)
    if m and m[1] in names:
        return f"#{m[1]}-{m[2]}" if m[2] else f"#page-{m[1]}"
    return None


def combined_html(folder: Path, pages: Sequence[str]) -> str:
    """One HTML document of ``folder``'s ``index.html`` and ``<page>.html`` files, in order.

    Parameters
    ----------
    folder : Path
        The report folder.
    pages : sequence of str
        Page names in page order (``index`` first if wanted), without ``.html``.

    Returns
    -------
    str
        The document: every page's body in a ``section.ecrm-pdf-page`` (which
        starts a new sheet), the navigation bars removed, ids prefixed with
        the page name, the pages' style sheets once each.
    """
    from bs4 import BeautifulSoup

    names = set(pages)
    styles: list[str] = []
    bodies: list[str] = []
    lang = ""
    for name in pages:
        soup = BeautifulSoup((folder / f"{name}.html").read_text(encoding="utf-8"), "html.parser")
        lang = lang or str(soup.html.get("lang", "") if soup.html is not None else "")
        for style in soup.find_all("style"):
            css = style.get_text()
            if css not in styles:
                styles.append(css)
        body = soup.body or soup
        for nav in body.find_all("nav", class_="ecrm-nav"):
            nav.decompose()
        for tag in body.find_all(True):
            if tag.get("id"):
                tag["id"] = f"{name}-{tag['id']}"
            if tag.name == "a" and tag.get("href"):
                target = _local_href(str(tag["href"]), names, name)
                if target is not None:
                    tag["href"] = target
        inner = "".join(str(c) for c in body.contents)
        bodies.append(f"<section class='ecrm-pdf-page' id='page-{name}'>{inner}</section>")
    style = "".join(f"<style>{css}</style>" for css in styles)
    return (
        f"<!DOCTYPE html><html lang='{lang or 'ja'}'><head><meta charset='utf-8'>"
        f"<title>report</title>{style}</head><body>{''.join(bodies)}</body></html>"
    )


_PAGE_OBJECT = re.compile(rb"/Type\s*/Page(?![A-Za-z])")


def count_pages(pdf: Path) -> int:
    """The number of page objects (``/Type /Page``) in a PDF file."""
    return len(_PAGE_OBJECT.findall(Path(pdf).read_bytes()))


def write_pdf(
    folder: Path,
    pages: Sequence[str],
    target: Path,
    *,
    browser: str | None = None,
    timeout: float = 600,
) -> float:
    """Print ``folder``'s pages (in order) into ``target`` with headless Chromium, A4.

    Parameters
    ----------
    folder : Path
        The report folder holding ``<page>.html``.
    pages : sequence of str
        Page names in order (``["index", "overview", …]``).
    target : Path
        The PDF to write (replaced).
    browser : str, optional
        The browser executable (default :func:`find_browser`).
    timeout : float
        Seconds Chromium may take.

    Returns
    -------
    float
        Seconds taken.

    Raises
    ------
    BrowserMissingError
        No browser on PATH (the message says how to install one).
    PdfError
        Chromium failed, timed out or wrote no PDF.
    """
    start = time.perf_counter()
    exe = browser or find_browser()
    if exe is None:
        raise BrowserMissingError(
            f"cannot print {target.name}: no headless Chromium on PATH "
            f"({', '.join(BROWSERS[:3])}); {INSTALL_HINT}"
        )
    target = Path(target)
    target.unlink(missing_ok=True)
    source = folder / ".print.html"  # beside the pages: relative links stay relative
    source.write_text(combined_html(folder, pages), encoding="utf-8")
    try:
        with tempfile.TemporaryDirectory(prefix="ecrm-chromium-") as profile:
            cmd = [
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={profile}",
                "--no-pdf-header-footer",
                "--print-to-pdf-no-header",  # the same switch in Chromium before 120
                f"--print-to-pdf={target}",
                source.resolve().as_uri(),
            ]
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
            except subprocess.TimeoutExpired:
                raise PdfError(f"Chromium took over {timeout:.0f} s printing {target}") from None
            except OSError as e:
                raise PdfError(f"cannot start {exe} to print {target}: {e}") from None
    finally:
        source.unlink(missing_ok=True)
    if not target.is_file() or target.stat().st_size == 0:
        tail = " ".join(proc.stderr.strip().splitlines()[-3:])
        raise PdfError(f"Chromium wrote no {target.name} (exit code {proc.returncode}): {tail}")
    return time.perf_counter() - start
