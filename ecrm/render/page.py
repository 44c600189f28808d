"""One report page as HTML: the executed notebook's outputs, laid out, through Jinja2.

:func:`page_html` turns an executed notebook into a complete, self-contained
page rendered from ``templates/page.html.j2`` by a Jinja2 environment with
autoescaping: every text reaching the page (titles, headings, the footer, the
navigation) is escaped unless it is a :class:`markupsafe.Markup` fragment
built by :class:`~ecrm.render.context.ReportContext`, which escapes whatever
it puts in. The shared style sheet ``templates/report.css`` is inlined, so a
page opens offline, from a mail attachment, or printed.

What the page shows (:func:`notebook_blocks`):

* the HTML, images and printed text the code cells displayed, in order;
* never a Python repr: a rich output that carries only ``text/plain`` (a cell
  ending in ``ctx.save(...)`` shows a ``PosixPath`` of the server) is dropped,
  and so is stderr (warnings);
* never code, prompts or Markdown cells (the notebook's notes for JupyterLab).

Layout rule (:func:`arrange`), applied on every page so notebooks need not be
reordered: the ``h1`` title block, then every page summary (``.ecrm-summary``,
wherever the notebook displays it), then the table of contents, then each
``h2`` section with its charts first, then its sentences (``.ecrm-say``), then
anything else (messages, printed text), then its tables; within each kind the
notebook's order is kept. Every table is wrapped in ``div.ecrm-table-wrap``,
which scrolls sideways on its own instead of widening the page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from markupsafe import Markup

__all__ = [
    "Block",
    "Layout",
    "Link",
    "Nav",
    "Section",
    "arrange",
    "environment",
    "error_page_html",
    "figure_alt",
    "nav_for",
    "notebook_blocks",
    "page_html",
    "render_page",
    "stylesheet",
]

#: The kinds of a block, in the order they appear within a section.
KINDS = ("chart", "say", "other", "table")


@dataclass(frozen=True)
class Block:
    """One displayed output of a notebook: its kind and its (safe) HTML."""

    kind: str
    html: Markup
    text: str = ""

    def __html__(self) -> str:
        return str(self.html)


@dataclass(frozen=True)
class Section:
    """An ``h2`` section: its anchor, heading text and blocks in display order."""

    id: str
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Layout:
    """A page's content: the head (title, summaries, unsectioned output) and its sections."""

    head: tuple[Block, ...]
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class Link:
    """A link in the navigation: target file and its (plain-text) title."""

    href: str
    title: str


@dataclass(frozen=True)
class Nav:
    """Previous / index / next links of a page (``prev``/``next`` None at the ends)."""

    index: Link
    prev: Link | None = None
    next: Link | None = None
    label: str = field(default="", compare=False)


@cache
def environment() -> Any:
    """The Jinja2 environment of ecrm's templates (package loader, autoescape on)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("ecrm.render", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )


def render_page(template: str, **values: Any) -> str:
    """Render one of ecrm's templates (``templates/<template>``) with autoescaping."""
    return environment().get_template(template).render(**values)


def stylesheet() -> Markup:
    """The shared style sheet ``templates/report.css`` (for inlining in ``<style>``)."""
    source, _, _ = environment().loader.get_source(environment(), "report.css")
    return Markup(source)


# ----------------------------------------------------------------------------- outputs


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


_FIRST_TAG = re.compile(r"\s*<([A-Za-z][A-Za-z0-9]*)([^>]*)>")
_CLASS = re.compile(r"""\bclass\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")


def _heading_text(fragment: str, tag: str) -> str:
    from bs4 import BeautifulSoup

    end = fragment.find(f"</{tag}>")
    head = BeautifulSoup(fragment[: end + len(tag) + 3] if end >= 0 else fragment, "html.parser")
    found = head.find(tag)
    return found.get_text(" ", strip=True) if found is not None else ""


def _classify(fragment: str) -> tuple[str, str]:
    """The kind of an HTML output (``h1``, ``h2``, ``summary``, or one of :data:`KINDS`).

    Read from the fragment's first tag (a regular expression: a chart's
    fragment holds a long base64 image that an HTML parser would be slow on);
    only a heading's own element is parsed, for its text.
    """
    m = _FIRST_TAG.match(fragment)
    if m is None:
        return "other", ""
    tag = m[1].lower()
    c = _CLASS.search(m[2])
    classes = set((c[1] or c[2] or c[3] or "").split()) if c else set()
    if tag in ("h1", "h2"):
        return tag, _heading_text(fragment, tag)
    if "ecrm-summary" in classes:
        return "summary", ""
    if "ecrm-say" in classes:
        return "say", ""
    if tag in ("figure", "img") or "ecrm-figure" in classes:
        return "chart", ""
    if "<table" in fragment:
        return "table", ""
    return "other", ""


def _image(mime: str, data: Any, lang: str) -> Markup:
    alt = "グラフ" if lang == "ja" else "Chart"
    src = Markup("data:{};base64,{}").format(mime, _text(data).replace("\n", ""))
    return Markup("<figure class='ecrm-figure'><img alt='{}' src='{}'></figure>").format(alt, src)


def output_blocks(outputs: Sequence[Any], lang: str = "ja") -> list[Block]:
    """The blocks a code cell's outputs show (see the module docstring for what is dropped).

    Parameters
    ----------
    outputs : sequence of dict
        The cell's ``outputs`` (nbformat 4).
    lang : {"ja", "en"}
        The page language (the alt text of an image displayed without ``ctx.plot``).

    Returns
    -------
    list of Block
        In display order; headings have the kinds ``h1`` and ``h2`` (their text in ``text``).
    """
    blocks = []
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream":
            if out.get("name") == "stdout" and _text(out.get("text", "")).strip():
                body = Markup("<pre class='ecrm-text'>{}</pre>").format(_text(out["text"]))
                blocks.append(Block("other", body))
            continue
        if kind not in ("display_data", "execute_result"):
            continue  # errors never reach an ok page; the error page shows the message
        data = out.get("data", {})
        if "text/html" in data:
            fragment = _text(data["text/html"])
            what, text = _classify(fragment)
            # ctx's fragments were built with markupsafe; pandas/IPython HTML is escaped
            blocks.append(Block(what, Markup(fragment), text))
        elif "image/png" in data:
            blocks.append(Block("chart", _image("image/png", data["image/png"], lang)))
        elif "image/jpeg" in data:
            blocks.append(Block("chart", _image("image/jpeg", data["image/jpeg"], lang)))
        # only text/plain (a repr such as PosixPath('/srv/…') or <Figure …>): dropped
    return blocks


def notebook_blocks(executed: Path, lang: str = "ja") -> list[Block]:
    """Every block an executed notebook's code cells show, in display order."""
    import nbformat

    nb = nbformat.read(str(executed), as_version=4)
    blocks: list[Block] = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            blocks += output_blocks(cell.get("outputs", []), lang)
    return blocks


def _wrap_table(block: Block) -> Block:
    if block.kind != "table" or "ecrm-table-wrap" in str(block.html)[:200]:
        return block
    return Block("table", Markup("<div class='ecrm-table-wrap'>{}</div>").format(block.html))


def arrange(blocks: Sequence[Block]) -> Layout:
    """Lay out a page's blocks by the layout rule (module docstring).

    The head holds the ``h1`` title block(s), then every summary of the page,
    then what the notebook showed before its first section, ordered as a
    section's content is. Each ``h2`` starts a section with the anchor
    ``s<n>`` (1-based).
    """

    def order(items: list[Block]) -> tuple[Block, ...]:
        rank = {k: i for i, k in enumerate(KINDS)}
        return tuple(sorted((_wrap_table(b) for b in items), key=lambda b: rank[b.kind]))

    titles = [b for b in blocks if b.kind == "h1"]
    summaries = [b for b in blocks if b.kind == "summary"]
    before: list[Block] = []
    sections: list[tuple[str, list[Block]]] = []
    for b in blocks:
        if b.kind in ("h1", "summary"):
            continue
        if b.kind == "h2":
            sections.append((b.text, []))
        elif sections:
            sections[-1][1].append(b)
        else:
            before.append(b)
    head = (*titles, *summaries, *order(before))
    return Layout(
        head=head,
        sections=tuple(
            Section(f"s{i}", title, order(items)) for i, (title, items) in enumerate(sections, 1)
        ),
    )


# ----------------------------------------------------------------------------- pages


def figure_alt(figure: Any, lang: str = "ja") -> str:
    """The alt text of a chart from its own words: titles and axis labels.

    The figure's title (``suptitle``) and, for every visible axes, its title
    and its x and y labels, joined as "title (x axis: …, y axis: …)"; axes
    without any text add nothing. A figure without any text is described as
    a chart ("グラフ" / "Chart"), never left empty.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
    lang : {"ja", "en"}

    Returns
    -------
    str
        Plain text (escape it where it reaches HTML).
    """
    ja = lang == "ja"
    parts = []
    if figure.get_suptitle().strip():
        parts.append(figure.get_suptitle().strip())
    for ax in figure.get_axes():
        if not ax.get_visible():
            continue
        title = " ".join(
            t for t in (ax.get_title(loc) for loc in ("left", "center", "right")) if t.strip()
        )
        axes = [
            (("横軸" if ja else "x axis"), ax.get_xlabel().strip()),
            (("縦軸" if ja else "y axis"), ax.get_ylabel().strip()),
        ]
        named = ("、" if ja else ", ").join(f"{k}: {v}" for k, v in axes if v)
        if title and named:
            parts.append(f"{title} ({named})")
        elif title or named:
            parts.append(title or named)
    text = ("。" if ja else "; ").join(dict.fromkeys(parts))
    return text or ("グラフ" if ja else "Chart")


def nav_for(pages: Sequence[tuple[str, str]], name: str, lang: str) -> Nav:
    """The navigation of page ``name`` among ``pages`` (``(name, title)`` in page order).

    The first page's previous page is the index (the report opens there); the
    last page has no next page. Every page links back to the index.
    """
    up = Link("index.html", "レポート一覧" if lang == "ja" else "All pages")
    names = [n for n, _ in pages]
    i = names.index(name)
    prev = Link(f"{pages[i - 1][0]}.html", pages[i - 1][1]) if i > 0 else up
    nxt = Link(f"{pages[i + 1][0]}.html", pages[i + 1][1]) if i + 1 < len(pages) else None
    return Nav(index=up, prev=prev, next=nxt, label="ページ移動" if lang == "ja" else "Pages")


def page_html(
    title: str,
    blocks: Sequence[Block],
    footer: str | Markup,
    lang: str,
    nav: Nav | None = None,
) -> str:
    """A complete, self-contained page from a notebook's blocks.

    Parameters
    ----------
    title : str
        The page title (``<title>``; plain text, escaped).
    blocks : sequence of Block
        What the notebook showed (:func:`notebook_blocks`).
    footer : str or Markup
        The footer (plain text is escaped; a Markup fragment is shown as built).
    lang : {"ja", "en"}
    nav : Nav, optional
        Previous / index / next links, shown at the top and the bottom.

    Returns
    -------
    str
        The HTML document.
    """
    return render_page(
        "page.html.j2",
        title=title,
        page=arrange(blocks),
        footer=footer,
        lang=lang,
        nav=nav,
        toc_title="目次" if lang == "ja" else "Contents",
    )


def error_page_html(
    title: str, message: str, footer: str | Markup, lang: str, nav: Nav | None = None
) -> str:
    """The page of an analysis that could not run: its title and the error's last line.

    Never a traceback: only the message's last non-empty line is shown, escaped.
    """
    head = "この分析は表示できません" if lang == "ja" else "This analysis could not be shown"
    lines = [ln for ln in message.strip().splitlines() if ln.strip()]
    text = lines[-1] if lines else ""
    blocks = [
        Block("h1", Markup("<h1>{}</h1>").format(title), title),
        Block(
            "other",
            Markup("<div class='ecrm-error'><strong>{}.</strong><p>{}</p></div>").format(
                head, text
            ),
        ),
    ]
    return page_html(title, blocks, footer, lang, nav)
