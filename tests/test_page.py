"""The page shell (issue #19): autoescaped assembly, no repr, layout rule, alt text, nav, PDF.

Unit tests work on notebook outputs built by hand; one render of a two-page
notebook folder (:func:`tiny_report`) checks the whole path on a real kernel:
a cell ending in ``ctx.save(...)`` shows no path, the layout rule moves the
summary and orders the section, ``ctx.plot`` has its alt text, the pages link
to each other, and ``report.pdf`` (where Chromium is installed) has every page.
"""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup
from typer.testing import CliRunner

from ecrm.render import page, pdf, report
from ecrm.render.cli import app

SHOP = "demo-food"
MONTH = "2026-10"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()


def _html(fragment: str) -> dict:
    return {"output_type": "display_data", "data": {"text/html": fragment, "text/plain": "x"}}


def _soup(text: str) -> BeautifulSoup:
    return BeautifulSoup(text, "html.parser")


# ----------------------------------------------------------------------------- outputs


def test_outputs_that_only_carry_text_plain_and_stderr_are_dropped():
    outputs = [
        {"output_type": "execute_result", "data": {"text/plain": "PosixPath('/srv/r/x.csv')"}},
        {"output_type": "display_data", "data": {"text/plain": "<Figure size 640x480>"}},
        {"output_type": "stream", "name": "stderr", "text": "UserWarning: /srv/x.py"},
        {"output_type": "stream", "name": "stdout", "text": "rows <b>3</b>\n"},
        _html("<p class='ecrm-say'>ok</p>"),
        {"output_type": "display_data", "data": {"image/png": PNG, "text/plain": "<Image>"}},
    ]
    blocks = page.output_blocks(outputs, "en")
    assert [b.kind for b in blocks] == ["other", "say", "chart"]
    assert str(blocks[0].html) == "<pre class='ecrm-text'>rows &lt;b&gt;3&lt;/b&gt;\n</pre>"
    img = _soup(str(blocks[2].html)).find("img")
    assert img["alt"] == "Chart" and img["src"] == f"data:image/png;base64,{PNG}"
    shown = "".join(str(b.html) for b in blocks)
    assert "PosixPath" not in shown and "/srv/" not in shown and "Figure size" not in shown


def _blocks(kinds: list[str]) -> list[page.Block]:
    """Blocks of the given kinds, each with a unique marker text."""
    out = []
    for i, kind in enumerate(kinds):
        frag = {
            "h1": "<h1>T{i}</h1>",
            "h2": "<h2>S{i}</h2>",
            "summary": "<div class='ecrm-summary'>M{i}</div>",
            "say": "<p class='ecrm-say'>M{i}</p>",
            "chart": "<figure class='ecrm-figure'><img alt='M{i}' src='data:,'></figure>",
            "table": "<table class='ecrm-table'><tr><td>M{i}</td></tr></table>",
            "other": "<div class='ecrm-error'>M{i}</div>",
        }[kind].format(i=i)
        out += page.output_blocks([_html(frag)])
    return out


def test_layout_puts_the_summary_under_the_title_and_orders_each_section():
    kinds = ["h1", "h2", "table", "say", "chart", "summary", "h2", "say", "table", "chart"]
    layout = page.arrange(_blocks(kinds))
    assert [b.kind for b in layout.head] == ["h1", "summary"]
    assert [s.title for s in layout.sections] == ["S1", "S6"]
    assert [s.id for s in layout.sections] == ["s1", "s2"]
    assert [[b.kind for b in s.blocks] for s in layout.sections] == [
        ["chart", "say", "table"],
        ["chart", "say", "table"],
    ]
    table = layout.sections[0].blocks[-1]
    assert str(table.html).startswith("<div class='ecrm-table-wrap'><table")


def _mark(block: page.Block) -> str:
    soup = _soup(str(block.html))
    return soup.get_text() or soup.find("img")["alt"]


_KINDS = st.sampled_from(["h2", "summary", "say", "chart", "table", "other"])


@settings(max_examples=80, deadline=None)
@given(st.lists(_KINDS, max_size=25))
def test_layout_keeps_every_block_once_in_rule_order(kinds):
    """Any sequence: nothing lost or doubled; rule order, and notebook order within a kind."""
    blocks = _blocks(["h1", *kinds])
    layout = page.arrange(blocks)
    placed = list(layout.head) + [b for s in layout.sections for b in s.blocks]
    assert sorted(map(_mark, placed)) == sorted(_mark(b) for b in blocks if b.kind != "h2")
    assert len(layout.sections) == kinds.count("h2")
    assert [b.kind for b in layout.head[:1]] == ["h1"]
    n_summaries = kinds.count("summary")
    assert [b.kind for b in layout.head[1 : 1 + n_summaries]] == ["summary"] * n_summaries
    rank = {k: i for i, k in enumerate(page.KINDS)}
    for part in [layout.head[1 + n_summaries :], *(s.blocks for s in layout.sections)]:
        ranks = [rank[b.kind] for b in part]
        assert ranks == sorted(ranks)
        for kind in page.KINDS:  # stable: blocks of one kind keep the notebook's order
            same = [_mark(b) for b in part if b.kind == kind]
            assert same == sorted(same, key=lambda m: int(m[1:]))


# ----------------------------------------------------------------------------- escaping


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("<>&\"'`*$/= ax")), min_size=1, max_size=30))
def test_titles_footer_and_navigation_are_text(text):
    nav = page.Nav(page.Link("index.html", text), page.Link("a.html", text), None)
    blocks = [page.Block("h1", Markup("<h1>x</h1>"), "x"), page.Block("h2", Markup(""), text)]
    soup = _soup(page.page_html(text, blocks, text, "ja", nav))

    def seen(s: str) -> str:  # as a browser shows it: runs of white space as one space
        return " ".join(s.split())

    assert seen(soup.title.get_text()) == seen(text)
    assert seen(soup.footer.get_text()) == seen(text)
    assert seen(soup.find("h2").get_text()) == seen(text)
    assert seen(soup.find("a", class_="ecrm-prev").get_text()) == seen(f"← {text}")
    assert soup.find_all("script") == []
    assert [a for t in soup.find_all(True) for a in t.attrs if a.startswith("on")] == []


def test_error_page_shows_the_last_line_escaped_and_no_traceback():
    msg = "Traceback (most recent call last):\n  File x\nColumnsError: needs <category>\n\n"
    soup = _soup(page.error_page_html("CTB分析", msg, Markup("<b>f</b>"), "ja"))
    assert soup.find("h1").get_text() == "CTB分析"
    assert soup.find("div", class_="ecrm-error").get_text() == (
        "この分析は表示できません.ColumnsError: needs <category>"
    )
    assert "Traceback" not in soup.get_text()
    assert soup.footer.find("b").get_text() == "f"  # a Markup footer is shown as built


def test_the_style_sheet_is_inlined_with_the_font_stack_and_a4_print_rules():
    soup = _soup(page.page_html("t", [], "", "en"))
    css = soup.find("style").get_text()
    assert css.strip() == page.stylesheet().strip()
    assert '"Hiragino Kaku Gothic ProN","Hiragino Sans","Yu Gothic UI","Yu Gothic","Meiryo"' in css
    assert '"Noto Sans CJK JP","Noto Sans JP","IPAexGothic",sans-serif' in css
    for rule in (
        "@page{size:A4",
        "td.num,table.ecrm-table th.num{text-align:right",
        "div.ecrm-table-wrap{overflow-x:auto",
        "section.ecrm-section+section.ecrm-section{break-before:page",
        "h1,h2,h3{break-after:avoid",
        "nav.ecrm-nav{display:none}",
    ):
        assert rule in css, rule


# ----------------------------------------------------------------------------- navigation


def test_navigation_runs_through_every_page_in_order():
    pages = [("overview", "概要"), ("rfm", "RFM"), ("ctb", "CTB")]
    navs = [page.nav_for(pages, n, "ja") for n, _ in pages]
    assert [n.prev.href for n in navs] == ["index.html", "overview.html", "rfm.html"]
    assert [n.next.href if n.next else None for n in navs] == ["rfm.html", "ctb.html", None]
    assert {n.index for n in navs} == {page.Link("index.html", "レポート一覧")}
    soup = _soup(page.page_html("RFM", [], "", "ja", navs[1]))
    bars = soup.find_all("nav", class_="ecrm-nav")
    assert len(bars) == 2  # top and bottom
    for bar in bars:
        assert [a["href"] for a in bar.find_all("a")] == ["overview.html", "index.html", "ctb.html"]


# ----------------------------------------------------------------------------- alt text


def test_alt_text_comes_from_every_axes_title_and_labels():
    from matplotlib.figure import Figure

    fig = Figure()
    a, b, c = fig.subplots(1, 3)
    a.set_title("売上推移")
    a.set_xlabel("月")
    a.set_ylabel("売上 (円)")
    b.set_ylabel("顧客数")
    c.set_visible(False)
    c.set_title("hidden")
    fig.suptitle("概要")
    assert page.figure_alt(fig, "ja") == "概要。売上推移 (横軸: 月、縦軸: 売上 (円))。縦軸: 顧客数"
    assert page.figure_alt(Figure(), "ja") == "グラフ"
    fig2 = Figure()
    fig2.subplots().set_title("Revenue")
    assert page.figure_alt(fig2, "en") == "Revenue"
    assert page.figure_alt(Figure(), "en") == "Chart"


# ----------------------------------------------------------------------------- PDF


def test_combined_document_keeps_page_order_and_points_links_inside(tmp_path):
    nav = page.nav_for([("a", "A"), ("b", "B")], "a", "en")
    blocks = _blocks(["h1", "h2", "say"])
    (tmp_path / "a.html").write_text(page.page_html("A", blocks, "", "en", nav), "utf-8")
    (tmp_path / "b.html").write_text(page.page_html("B", blocks, "", "en"), "utf-8")
    (tmp_path / "index.html").write_text(
        "<html lang='en'><head><style>.i{}</style></head><body><a href='b.html'>B</a>"
        "<a href='tables/x.csv'>x</a></body></html>",
        "utf-8",
    )
    soup = _soup(pdf.combined_html(tmp_path, ["index", "a", "b"]))
    assert [s["id"] for s in soup.find_all("section", class_="ecrm-pdf-page")] == [
        "page-index",
        "page-a",
        "page-b",
    ]
    assert soup.find_all("nav", class_="ecrm-nav") == []
    assert [a["href"] for a in soup.find_all("a")] == ["#page-b", "tables/x.csv", "#a-s1", "#b-s1"]
    assert soup.find(id="a-s1").name == "h2" and soup.find(id="b-s1").name == "h2"
    assert len(soup.find_all("style")) == 2  # the index's and report.css, once each


def test_pdf_pages_are_counted_from_page_objects(tmp_path):
    f = tmp_path / "x.pdf"
    f.write_bytes(b"<< /Type /Pages /Count 2 >> << /Type /Page >> <</Type/Page/Parent 1 0 R>>")
    assert pdf.count_pages(f) == 2


def test_without_a_browser_the_message_says_how_to_install_one(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    (tmp_path / "index.html").write_text("<html><body>x</body></html>", "utf-8")
    with pytest.raises(pdf.BrowserMissingError) as e:
        pdf.write_pdf(tmp_path, ["index"], tmp_path / "report.pdf")
    assert str(e.value) == (
        "cannot print report.pdf: no headless Chromium on PATH (chromium, chromium-browser, "
        "google-chrome); install headless Chromium: `make browser` (Debian/Ubuntu, as root: "
        "apt-get install chromium), macOS: `brew install --cask chromium`, Windows: install "
        "Google Chrome and put chrome.exe on PATH"
    )
    assert not (tmp_path / "report.pdf").exists()


# ----------------------------------------------------------------------------- a real render

_SETUP = """from ecrm.render.context import context
from IPython.display import HTML, display
import pandas as pd
from matplotlib.figure import Figure
ctx = context(shop, month, lang, output_dir=output_dir, request_file=request_file)
ctx.title("小さな<ページ>", "Tiny <page>")"""

_CELLS = (
    _SETUP,
    'ctx.section("売上", "Revenue")',
    'df = pd.DataFrame({"segment": ["a", "b"], "customers": [1, 2]})\nctx.show(df, "tiny_table")',
    'ctx.say("文 <img src=x onerror=alert(1)>")',
    'fig = Figure()\nax = fig.subplots()\nax.plot([1, 2])\nax.set_title("売上推移")\n'
    'ax.set_xlabel("月")\nctx.plot(ax)',
    "display(HTML(\"<div class='ecrm-summary'>今月の要点</div>\"))",
    'ctx.section("保存", "Saved")',
    'ctx.save(df, "tiny_saved")',
)


def _notebook(folder: Path, name: str, cells: tuple[str, ...]) -> None:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(
        'shop = ""\nmonth = ""\nlang = "ja"\noutput_dir = ""\nrequest_file = ""'
    )
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(c) for c in cells)]
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Py"}
    nbformat.write(nb, folder / f"{name}.ipynb")


@pytest.fixture(scope="module")
def tiny_report(demo_root: Path, tmp_path_factory: pytest.TempPathFactory):
    """Two pages (``01_tiny``, ``02_second``) of the demo food shop, rendered with ``pdf=True``.

    Returns the result, or the :class:`~ecrm.render.pdf.PdfError` without Chromium.
    """
    root = tmp_path_factory.mktemp("tiny")
    shutil.copytree(demo_root / "data" / SHOP, root / "data" / SHOP)
    shutil.copy(demo_root / "pyproject.toml", root / "pyproject.toml")
    nbs = root / "nbs"
    nbs.mkdir()
    _notebook(nbs, "01_tiny", _CELLS)
    _notebook(nbs, "02_second", (_SETUP, 'ctx.section("二", "Two")', 'ctx.say("二ページ目")'))
    try:
        result = report.render(SHOP, MONTH, root=root, notebook_dir=nbs, workers=1, pdf=True)
    except pdf.BrowserMissingError as e:
        return root, e
    return root, result


def _result(tiny_report) -> report.ReportResult:
    root, result = tiny_report
    if isinstance(result, Exception):
        return report.ReportResult(SHOP, MONTH, root / "reports" / SHOP / MONTH)
    return result


def test_a_cell_ending_in_ctx_save_shows_no_path(tiny_report):
    folder = _result(tiny_report).path
    text = (folder / "tiny.html").read_text("utf-8")
    assert (folder / "tables" / "tiny_saved.csv").is_file()
    for bad in ("PosixPath", ".tmp-", str(folder.parent), "tiny_saved.csv"):
        assert bad not in text, bad


def test_a_rendered_page_follows_the_layout_rule(tiny_report):
    soup = _soup((_result(tiny_report).path / "tiny.html").read_text("utf-8"))
    head = soup.find("header", class_="ecrm-head")
    assert [t.name for t in head.find_all(recursive=False)][:2] == ["h1", "p"]
    assert head.find("div", class_="ecrm-summary").get_text() == "今月の要点"
    assert soup.find("h1").get_text() == "小さな<ページ>"
    first = soup.find("section", class_="ecrm-section")
    kinds = [(c.name, (c.get("class") or [""])[0]) for c in first.find_all(recursive=False)]
    # the notebook showed the table, then the sentence, then the chart
    assert kinds == [
        ("h2", ""),
        ("figure", "ecrm-figure"),
        ("p", "ecrm-say"),
        ("div", "ecrm-table-wrap"),
    ]
    assert first.find("p", class_="ecrm-say").get_text() == "文 <img src=x onerror=alert(1)>"
    assert soup.find("img", src="x") is None
    assert soup.find_all("script") == []
    img = first.find("img")
    assert img["alt"] == "売上推移 (横軸: 月)"
    assert img["src"].startswith("data:image/png;base64,iVBOR")


def test_rendered_pages_link_previous_index_and_next(tiny_report):
    folder = _result(tiny_report).path
    links = {}
    for name in ("tiny", "second"):
        soup = _soup((folder / f"{name}.html").read_text("utf-8"))
        bars = soup.find_all("nav", class_="ecrm-nav")
        assert len(bars) == 2
        links[name] = [a["href"] for a in bars[0].find_all("a")]
        assert links[name] == [a["href"] for a in bars[1].find_all("a")]
        for href in links[name]:
            assert (folder / href).is_file(), href
    assert links == {
        "tiny": ["index.html", "index.html", "second.html"],
        "second": [
            "tiny.html",
            "index.html",
        ],
    }


def test_pdf_has_every_page_in_order(tiny_report):
    _, result = tiny_report
    if isinstance(result, Exception):
        pytest.skip(f"no Chromium to print with: {result}")
    assert result.pdf == result.path / "report.pdf"
    assert result.pdf_seconds is not None and result.pdf_seconds > 0
    assert pdf.count_pages(result.pdf) >= 3  # index, tiny, second: each starts a sheet
    assert not (result.path / ".print.html").exists()


def test_cli_pdf_without_chromium_exits_2_and_still_writes_the_html(
    tiny_report, monkeypatch, tmp_path
):
    root, _ = tiny_report
    project = tmp_path / "proj"
    shutil.copytree(root / "data", project / "data")
    shutil.copy(root / "pyproject.toml", project / "pyproject.toml")
    monkeypatch.setenv("ECRM_HOME", str(project))
    monkeypatch.setattr(report, "NOTEBOOK_DIR", root / "nbs")
    monkeypatch.setattr(pdf, "find_browser", lambda: None)
    res = CliRunner().invoke(app, ["report", SHOP, "--month", MONTH, "--workers", "1", "--pdf"])
    assert res.exit_code == 2, res.output
    index = project / "reports" / SHOP / MONTH / "index.html"
    assert res.output.strip().splitlines()[-1] == (
        "error: cannot print report.pdf: no headless Chromium on PATH (chromium, "
        "chromium-browser, google-chrome); "
        + pdf.INSTALL_HINT
        + f" (the HTML report is written: {index})"
    )
    assert index.is_file() and (index.parent / "tiny.html").is_file()
    assert not (index.parent / "report.pdf").exists()


# ----------------------------------------------------------------------- the context's fragments


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list:
    """What the context displays, instead of showing it."""
    import IPython.display

    out: list = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: out.extend(objs))
    return out


def _ctx(lang: str, display_name: str = ""):
    import datetime as dt
    from types import SimpleNamespace

    from ecrm.render.context import ReportContext

    return ReportContext(
        shop="demo",
        month="2026-10",
        lang=lang,
        as_of=dt.date(2026, 10, 31),
        settings=SimpleNamespace(display_name=display_name),  # type: ignore[arg-type]
        orders=Path("orders.parquet"),
        output_dir=None,
    )


def test_ctx_plot_is_a_figure_with_the_charts_words_as_alt(shown):
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.subplots()
    ax.plot([1, 2])
    ax.set_title("Revenue <b>by</b> month")
    ax.set_ylabel("revenue (¥)")
    _ctx("en").plot(ax)
    _ctx("en").plot(ax, alt='given "alt" <img src=x onerror=alert(1)>')
    soups = [_soup(h.data) for h in shown]
    assert [s.find("figure")["class"] for s in soups] == [["ecrm-figure"], ["ecrm-figure"]]
    assert soups[0].find("img")["alt"] == "Revenue <b>by</b> month (y axis: revenue (¥))"
    assert soups[1].find("img")["alt"] == 'given "alt" <img src=x onerror=alert(1)>'
    assert all(s.find("img")["src"].startswith("data:image/png;base64,iVBOR") for s in soups)
    assert [len(s.find_all("img")) for s in soups] == [1, 1]
    assert page.output_blocks([_html(shown[0].data)])[0].kind == "chart"


def test_ctx_text_fragments_are_escaped_and_classified(shown):
    ctx = _ctx("ja", display_name="<img src=x onerror=alert(2)> **店**")
    ctx.title("題<script>", "t", question_ja="問い & <i>")
    ctx.section("節 <b>", "s")
    ctx.say("文 <script>alert(1)</script>")
    ctx.unavailable("理由 <img src=x>")
    blocks = page.output_blocks([_html(h.data) for h in shown])
    assert [b.kind for b in blocks] == ["h1", "h2", "say", "other"]
    soup = _soup("".join(h.data for h in shown))
    assert soup.find_all("script") == [] and soup.find("img") is None
    assert soup.find("h1").get_text() == "題<script>"
    assert soup.find("strong").get_text() == "<img src=x onerror=alert(2)> **店**"
    assert soup.find("em").get_text() == "問い & <i>"
    assert blocks[1].text == "節 <b>"
    assert soup.find("p", class_="ecrm-say").get_text() == "文 <script>alert(1)</script>"
