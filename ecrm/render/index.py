"""index.html: the month at a glance (SPEC §4).

The index shows, in order:

1. the shop and month, and a notice when the data ends before the month does;
2. **KPI tiles** (:data:`INDEX_KPIS`): the month's value with the currency,
   month-on-month and year-on-year change (▲/▼ and coloured: green when the
   move is good for the shop, red when bad — a rising lapse rate is bad), and a
   13-month sparkline (inline SVG, no script, its ``<title>`` names the first
   and last month's values for screen readers); the **cross-sell rate** tile
   only when the shop has categories (the KPI is empty without them);
   where the shop sells on two or more channels, a compact **by-channel
   block** under the tiles (:func:`ecrm.analysis.channels.channel_kpis`:
   revenue, orders, customers and new customers of the month per channel,
   each with its MoM and YoY, coloured as the tiles);
3. the month's **findings** (:func:`ecrm.analysis.findings.findings`), ranked,
   each a sentence (:mod:`ecrm.present.narrate_findings`) with a link to the
   page section it is about and, when that file exists, to the list to act on
   (``segments/<list>.csv``);
4. the pages, the tables (CSV) and the campaign lists.

Section links: a finding names a section key (``anchor``); :data:`SECTIONS`
gives that section's heading, and the link goes to the ``id`` the page gave
the ``<h2>`` with that heading (read from the written page, so it is right
whatever ids the page assembler chooses — ``s<n>`` today); when the page has
no such heading the link goes to the page.

Everything is rendered through the autoescaping Jinja2 template
``templates/index.html.j2``; the style sheet is ``templates/report.css``
(inlined) when it exists.

:func:`index_data` computes the KPI table and the findings; the renderer
calls it in a thread while the kernels render the pages.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ecrm.errors import EcrmError
from ecrm.present import format as fmt

__all__ = ["INDEX_KPIS", "SECTIONS", "IndexData", "index_data", "index_html", "sparkline"]

log = logging.getLogger(__name__)

#: The KPI tiles of the index page, in order.
INDEX_KPIS: tuple[str, ...] = (
    "revenue",
    "orders",
    "customers",
    "new_customers",
    "repeat_rate",
    "aov",
    "f2_rate",
    "ltv_12m",
    "cross_sell_rate",
)

#: KPIs whose tile is left out when the month's value is empty (a shop without categories).
_OPTIONAL_KPIS = frozenset({"cross_sell_rate"})

#: KPIs for which a fall is good news.
_LOWER_IS_BETTER = frozenset({"lapse_rate"})

#: Section key of a finding → the page's heading (ja, en) it links to.
SECTIONS: dict[str, tuple[str, str]] = {
    "cpm-monthly": ("月末ごとの推移(12ヶ月)", "Month-end counts (12 months)"),
    "lifecycle-monthly": ("定点観測(月末ごと)", "Month-end tracking"),
    "overview-kpis": ("主要KPI", "Headline KPIs"),
    "ltv-f2": ("F2転換率", "F2 conversion"),
    "ctb-first": ("初回購入カテゴリとその後", "First-purchase category and what follows"),
}

#: The style sheet when ``templates/report.css`` is absent (the index's own rules are in
#: the template).
_FALLBACK_CSS = """
body{font-family:"Hiragino Sans","Hiragino Kaku Gothic ProN","Yu Gothic","YuGothic",Meiryo,
"Noto Sans CJK JP","Noto Sans JP",sans-serif;max-width:1100px;margin:0 auto;padding:1.5em 2em;
color:#222;line-height:1.6} a{color:#1f5fa8}
footer{margin-top:3em;border-top:1px solid #ddd;padding-top:.6em;color:#666;font-size:.8em}
.warn{color:#a15c00}
"""

_H2 = re.compile(r"<h2\b[^>]*\bid=[\"']([^\"']+)[\"'][^>]*>(.*?)</h2>", re.S)
_TAG = re.compile(r"<[^>]+>")


@dataclass
class IndexData:
    """What the index needs from the analyses: the KPI table and the findings."""

    kpis: pd.DataFrame | None = None
    findings: pd.DataFrame | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    channels: pd.DataFrame | None = None


def index_data(orders: Path, request: Any) -> IndexData:
    """The KPI table and the month's findings for the index (None where the data cannot give them).

    Parameters
    ----------
    orders : Path
        The shop's canonical orders.
    request : ReportRequest
        as_of and settings.

    Returns
    -------
    IndexData
    """
    import time

    from ecrm.analysis import findings, kpi

    out = IndexData()
    start = time.perf_counter()
    try:
        out.kpis = kpi.kpi_table(orders, as_of=request.as_of, settings=request.settings)
    except EcrmError as e:  # the overview page shows the same error; the index still renders
        log.warning("no KPIs for the index of %s %s: %s", request.shop, request.month, e)
        return out
    out.seconds["kpis"] = time.perf_counter() - start
    start = time.perf_counter()
    try:
        out.findings = findings.findings(
            orders, as_of=request.as_of, settings=request.settings, kpis=out.kpis
        )
    except EcrmError as e:
        log.warning("no findings for %s %s: %s", request.shop, request.month, e)
    out.seconds["findings"] = time.perf_counter() - start
    start = time.perf_counter()
    out.channels = _channel_table(orders, request.as_of)
    out.seconds["channels"] = time.perf_counter() - start
    return out


def _channel_table(orders: Any, as_of: Any) -> pd.DataFrame | None:
    """:func:`~ecrm.analysis.channels.channel_kpis` on a shop selling on 2+ channels, else None."""
    from ecrm import engine
    from ecrm.analysis import channels

    if "channel" not in engine.orders_table(orders).columns:
        return None
    try:
        table = channels.channel_kpis(orders, as_of=as_of)
    except EcrmError as e:
        log.warning("no channel KPIs for the index: %s", e)
        return None
    return table if len(table) >= 2 else None


def _channel_rows(table: pd.DataFrame | None, lang: str, currency: str) -> list[dict]:
    """The by-channel block: per channel, each measure's value and MoM / YoY changes."""
    from ecrm.analysis.channels import CHANNEL_KPIS

    if table is None or not len(table):
        return []
    rows = []
    for r in table.to_dict("records"):
        cells = [
            {
                "code": k,
                "value": fmt.kpi_value(k, r[k], currency=currency),
                "changes": [
                    c for c in (_change(k, r[f"{k}_{x}"], lang, x) for x in ("mom", "yoy")) if c
                ],
            }
            for k in CHANNEL_KPIS
        ]
        rows.append(
            {"channel": str(r["channel"]), "share": fmt.rate(r["revenue_share"]), "cells": cells}
        )
    return rows


def sparkline(values: list[float], *, title: str, width: int = 120, height: int = 32) -> dict:
    """The points of a sparkline: ``{"points": "x,y …", "n": count, "title": …}``.

    Missing values leave no point; the y axis spans the values' own range (a
    flat series is drawn in the middle).
    """
    pts = [(i, float(v)) for i, v in enumerate(values) if v is not None and not math.isnan(v)]
    if not pts:
        return {"points": "", "n": 0, "title": title, "width": width, "height": height}
    lo, hi = min(v for _, v in pts), max(v for _, v in pts)
    span = hi - lo
    step = (width - 4) / max(len(values) - 1, 1)
    coords = []
    for i, v in pts:
        y = height / 2 if span == 0 else 2 + (height - 4) * (1 - (v - lo) / span)
        coords.append(f"{2 + i * step:.1f},{y:.1f}")
    last_x, last_y = coords[-1].split(",")
    return {
        "points": " ".join(coords),
        "n": len(coords),
        "title": title,
        "width": width,
        "height": height,
        "last_x": last_x,
        "last_y": last_y,
    }


def _change(code: str, v: Any, lang: str, kind: str) -> dict | None:
    if v is None or v != v:
        return None
    good = (v < 0) if code in _LOWER_IS_BETTER else (v > 0)
    label = (
        ("前月比" if kind == "mom" else "前年比")
        if lang == "ja"
        else {"mom": "MoM", "yoy": "YoY"}[kind]
    )
    return {
        "label": label,
        "text": fmt.kpi_change(code, v, lang=lang),
        "arrow": "▲" if v > 0 else ("▼" if v < 0 else "→"),
        "cls": "flat" if v == 0 else ("good" if good else "bad"),
    }


def _tiles(kpis: pd.DataFrame | None, lang: str, currency: str) -> list[dict]:
    from ecrm.analysis.kpi import kpi_latest
    from ecrm.present.labels import kpi_label

    if kpis is None or not len(kpis):
        return []
    last = kpi_latest(kpis).set_index("kpi")
    months = sorted(kpis["month"].unique())[-13:]
    recent = kpis[kpis["month"].isin(months)]
    tiles = []
    for code in INDEX_KPIS:
        if code not in last.index:
            continue
        row = last.loc[code]
        if code in _OPTIONAL_KPIS and pd.isna(row["value"]):
            continue
        series = recent[recent["kpi"] == code].sort_values("month")
        values = [float(v) if v is not None else math.nan for v in series["value"]]
        name = kpi_label(code, lang)
        unit = f" ({currency})" if code in fmt.MONEY_KPIS else ""
        first_m = pd.Timestamp(series["month"].iloc[0]).strftime("%Y-%m")
        last_m = pd.Timestamp(series["month"].iloc[-1]).strftime("%Y-%m")
        first_v = fmt.kpi_value(code, series["value"].iloc[0], currency=currency)
        last_v = fmt.kpi_value(code, series["value"].iloc[-1], currency=currency)
        title = (
            f"{name}の{len(values)}ヶ月の推移: {first_m} {first_v} → {last_m} {last_v}"
            if lang == "ja"
            else f"{name} over {len(values)} months: {first_m} {first_v} → {last_m} {last_v}"
        )
        tiles.append(
            {
                "code": code,
                "name": name + unit,
                "value": fmt.kpi_value(code, row["value"], currency=currency),
                "mom": _change(code, row["mom"], lang, "mom"),
                "yoy": _change(code, row["yoy"], lang, "yoy"),
                "spark": sparkline(values, title=title),
            }
        )
    return tiles


def _section_ids(page_file: Path) -> dict[str, str]:
    """Heading text → id of the page's ``<h2>`` elements (empty when the page is missing)."""
    import html as html_mod

    try:
        text = page_file.read_text(encoding="utf-8")
    except OSError:
        return {}
    out: dict[str, str] = {}
    for hid, inner in _H2.findall(text):
        out.setdefault(html_mod.unescape(_TAG.sub("", inner)).strip(), hid)
    return out


def _finding_items(
    table: pd.DataFrame | None, out_dir: Path, pages: list[Any], lang: str, currency: str
) -> list[dict]:
    from ecrm.present import narrate_findings

    if table is None or not len(table):
        return []
    ok = {p.name for p in pages if p.ok}
    ids: dict[str, dict[str, str]] = {}
    items = []
    for row in table.to_dict("records"):
        page = str(row["page"])
        href = None
        if page in ok:
            if page not in ids:
                ids[page] = _section_ids(out_dir / f"{page}.html")
            heading = SECTIONS.get(str(row["anchor"]), ("", ""))[0 if lang == "ja" else 1]
            hid = ids[page].get(heading)
            href = f"{page}.html" + (f"#{hid}" if hid else "")
        stem = str(row.get("list") or "")
        exists = bool(stem) and (out_dir / "segments" / f"{stem}.csv").is_file()
        list_href = f"segments/{stem}.csv" if exists else None
        row = {**row, "list": ""}  # the list is a link beside the sentence
        items.append(
            {
                "text": narrate_findings.finding(row, lang=lang, currency=currency),
                "href": href,
                "list_href": list_href,
                "list_name": f"{stem}.csv" if list_href else "",
                "code": row["code"],
            }
        )
    return items


def _stylesheet() -> str:
    from importlib import resources

    css = resources.files("ecrm.render").joinpath("templates", "report.css")
    if css.is_file():
        return css.read_text(encoding="utf-8")
    return _FALLBACK_CSS


def index_html(
    request: Any,
    pages: list[Any],
    quality: dict[str, Any],
    footer: str,
    out_dir: Path,
    data: IndexData | pd.DataFrame | None = None,
    titles: dict[str, tuple[str, str]] | None = None,
) -> str:
    """index.html of a report (module docstring).

    Parameters
    ----------
    request : ReportRequest
    pages : list of PageResult
        The rendered pages, in page order (name, ok).
    quality : dict
        The shop's quality summary (``date_to``).
    footer : str
        The footer HTML (already safe).
    out_dir : Path
        The report folder being written (pages, tables/, segments/).
    data : IndexData or DataFrame, optional
        KPIs and findings (a bare DataFrame is a KPI table); None shows neither.
    titles : dict, optional
        Page name → (Japanese, English) title (default the page name).

    Returns
    -------
    str
        The complete HTML document.
    """
    from markupsafe import Markup

    from ecrm.present.labels import kpi_label

    if isinstance(data, pd.DataFrame) or data is None:
        data = IndexData(kpis=data)
    lang, month, as_of = request.lang, request.month, request.as_of
    settings = request.settings
    ja = lang == "ja"
    currency = settings.currency
    date_to = quality.get("date_to")
    notice = ""
    if date_to and date_to < str(as_of):
        notice = (
            f"データは{date_to}までです。{month}は月の途中までのデータで集計しています。"
            if ja
            else f"The data ends on {date_to}: {month} is not complete."
        )
    names = titles or {}
    links = [
        {
            "href": f"{p.name}.html",
            "title": names.get(p.name, (p.name, p.name))[0 if ja else 1],
            "ok": p.ok,
        }
        for p in pages
    ]
    tables = sorted((out_dir / "tables").glob("*.csv"))
    segs = sorted((out_dir / "segments").glob("*.csv"))
    values = {
        "lang": lang,
        "shop": settings.display_name or settings.name,
        "month": month,
        "notice": notice,
        "tiles": _tiles(data.kpis, lang, currency),
        "channel_rows": _channel_rows(data.channels, lang, currency),
        "channel_heads": [
            f"{kpi_label(k, lang)} ({currency})" if k in fmt.MONEY_KPIS else kpi_label(k, lang)
            for k in ("revenue", "orders", "customers", "new_customers")
        ],
        "findings": _finding_items(data.findings, out_dir, pages, lang, currency),
        "has_findings": data.findings is not None,
        "pages": links,
        "tables": [{"href": f"tables/{p.name}", "name": p.name} for p in tables],
        "segments": [{"href": f"segments/{p.name}", "name": p.name} for p in segs],
        "css": Markup(_stylesheet()),
        "footer": Markup(str(footer)) if not hasattr(footer, "__html__") else footer,
        "t": (lambda j, e: j) if ja else (lambda j, e: e),
    }
    return _environment().get_template("index.html.j2").render(**values)


def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("ecrm.render", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
    )
