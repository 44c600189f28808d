"""index.html as the month at a glance (ecrm.render.index), on hand-made shops."""

import re
from types import SimpleNamespace

import pandas as pd
import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from ecrm.analysis import findings, kpi
from ecrm.present import format as fmt
from ecrm.render import index
from ecrm.render.report import PageResult
from ecrm.settings import ShopSettings
from tests.test_findings import AS_OF, LAPSED, LAPSING, shop

PAGES = ["overview", "cpm", "lifecycle", "ltv", "ctb"]
TITLES = {p: (f"{p}-ja", f"{p}-en") for p in PAGES}


def _request(lang="ja", display_name="テスト店", currency="JPY"):
    s = ShopSettings(
        name="t", display_name=display_name, currency=currency, sources=[{"path": "x.csv"}]
    )
    return SimpleNamespace(lang=lang, month="2026-10", as_of=AS_OF, settings=s, shop="t")


@pytest.fixture(scope="module")
def jump_data():
    orders = shop(extra=LAPSING + LAPSED)
    kpis = kpi.kpi_table(orders, as_of=AS_OF, months=13)
    return index.IndexData(kpis=kpis, findings=findings.findings(orders, as_of=AS_OF, kpis=kpis))


def _folder(tmp_path, *, lists=("cpm_loyal_lapsed",)):
    for sub in ("tables", "segments"):
        (tmp_path / sub).mkdir(exist_ok=True)
    for name in lists:
        (tmp_path / "segments" / f"{name}.csv").write_text("customer_id\n", encoding="utf-8")
    # the page the assembler wrote: its sections' ids are whatever it chose
    (tmp_path / "cpm.html").write_text(
        "<h2 id='s1'>10セグメントの構成</h2><h2 id='s2'>月末ごとの推移(12ヶ月)</h2>"
        "<h2 id='s3'>Month-end counts (12 months)</h2>",
        encoding="utf-8",
    )
    return tmp_path


def _pages(ok=True):
    return [PageResult(p, ok, 0.0) for p in PAGES]


def _soup(html):
    return BeautifulSoup(html, "html.parser")


def test_tiles_have_currency_mom_yoy_and_13_point_sparklines(tmp_path, jump_data):
    html = index.index_html(
        _request(), _pages(), {}, "footer", _folder(tmp_path), jump_data, TITLES
    )
    soup = _soup(html)
    tiles = soup.select("div.ecrm-tile")
    assert [t["data-kpi"] for t in tiles] == list(index.INDEX_KPIS)
    last = kpi.kpi_latest(jump_data.kpis).set_index("kpi")
    rev = soup.select_one("div.ecrm-tile[data-kpi=revenue]")
    assert rev.select_one(".name").get_text() == "売上 (JPY)"
    assert rev.select_one(".value").get_text() == fmt.money(last.loc["revenue", "value"], "JPY")
    changes = [c.get_text() for c in rev.select(".chg")]
    assert changes[0].startswith("前月比") and changes[1].startswith("前年比")
    assert changes[0].endswith(fmt.kpi_change("revenue", last.loc["revenue", "mom"]))
    assert changes[1].endswith(fmt.kpi_change("revenue", last.loc["revenue", "yoy"]))
    for tile in tiles:
        svg = tile.find("svg")
        points = svg.find("polyline")["points"].split()
        assert len(points) == 13 == int(svg["data-points"]), tile["data-kpi"]
        assert svg.find("title").get_text().startswith(tile.select_one(".name").get_text()[:2])
        assert svg.get("role") == "img"
    assert "<script" not in html


def test_a_rising_lapse_rate_is_red_and_revenue_growth_green():
    up_bad = index._change
    assert up_bad("lapse_rate", 0.01, "en", "mom")["cls"] == "bad"
    assert up_bad("revenue", 0.01, "en", "mom")["cls"] == "good"
    assert up_bad("revenue", -0.01, "en", "yoy")["arrow"] == "▼"
    assert up_bad("revenue", float("nan"), "en", "yoy") is None


def test_findings_in_order_with_links_to_section_and_list(tmp_path, jump_data):
    html = index.index_html(
        _request(), _pages(), {}, "footer", _folder(tmp_path), jump_data, TITLES
    )
    items = _soup(html).select("ol.ecrm-findings li")
    assert [li["data-code"] for li in items] == jump_data.findings.code.tolist()
    assert [li["data-code"] for li in items] == ["lapse_rise", "segment_jump"]
    seg = items[1]
    assert seg.select_one("a.ecrm-finding-page")["href"] == "cpm.html#s2"
    assert seg.select_one("a.ecrm-finding-list")["href"] == "segments/cpm_loyal_lapsed.csv"
    assert "優良離脱が前月比+60.0%" in seg.get_text()
    assert seg.get_text().count("cpm_loyal_lapsed.csv") == 1  # the link, not the sentence too
    assert "リスト: cpm_loyal_lapsed.csv" in seg.get_text()
    # English: the English heading's id
    html_en = index.index_html(_request("en"), _pages(), {}, "footer", tmp_path, jump_data, TITLES)
    seg_en = _soup(html_en).select("ol.ecrm-findings li")[1]
    assert seg_en.select_one("a.ecrm-finding-page")["href"] == "cpm.html#s3"


def test_no_list_link_without_the_file_and_no_page_link_to_a_failed_page(tmp_path, jump_data):
    html = index.index_html(
        _request(), _pages(ok=False), {}, "f", _folder(tmp_path, lists=()), jump_data, TITLES
    )
    seg = _soup(html).select("ol.ecrm-findings li")[1]
    assert seg.select_one("a.ecrm-finding-list") is None
    assert seg.select_one("a.ecrm-finding-page") is None
    assert "リスト:" not in seg.get_text()


def test_a_page_without_the_heading_is_linked_as_a_page(tmp_path, jump_data):
    folder = _folder(tmp_path)
    (folder / "cpm.html").write_text("<h2 id='x'>other</h2>", encoding="utf-8")
    html = index.index_html(_request(), _pages(), {}, "f", folder, jump_data, TITLES)
    assert _soup(html).select("a.ecrm-finding-page")[1]["href"] == "cpm.html"


def test_quiet_month_says_nothing_moved(tmp_path):
    orders = shop()
    kpis = kpi.kpi_table(orders, as_of=AS_OF, months=13)
    data = index.IndexData(kpis=kpis, findings=findings.findings(orders, as_of=AS_OF, kpis=kpis))
    html = index.index_html(_request("en"), _pages(), {}, "f", _folder(tmp_path), data, TITLES)
    soup = _soup(html)
    assert soup.select("ol.ecrm-findings li") == []
    assert "Nothing moved beyond the set thresholds this month." in soup.get_text()


def test_currency_of_the_shop(tmp_path, jump_data):
    html = index.index_html(
        _request("en", currency="EUR"), _pages(), {}, "f", _folder(tmp_path), jump_data, TITLES
    )
    rev = _soup(html).select_one("div.ecrm-tile[data-kpi=revenue]")
    assert rev.select_one(".name").get_text() == "Revenue (EUR)"
    assert rev.select_one(".value").get_text().startswith("€")


def test_index_data_from_the_orders_file(tmp_path):
    """KPIs and findings from the canonical file; their times are recorded (not asserted)."""
    orders_file = tmp_path / "orders.parquet"
    shop().to_parquet(orders_file)
    data = index.index_data(orders_file, _request())
    assert data.kpis is not None and data.findings is not None
    assert set(data.seconds) == {"kpis", "findings", "channels"}
    assert data.channels is None  # no channel column: no by-channel block
    assert data.findings.code.tolist() == []  # the quiet shop


_TEXT = st.text(
    alphabet=st.sampled_from(list("<>&\"'/= ascriptonerxalt()1アウター")), min_size=1, max_size=25
).filter(lambda s: s.strip())


@hyp_settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(name=_TEXT, shop_name=_TEXT)
def test_names_are_escaped(tmp_path, jump_data, name, shop_name):
    """A category and a shop name from the data create no element or attribute on the index."""
    row = dict.fromkeys(findings.COLUMNS, float("nan"))
    row.update(
        code="entry_category_worst",
        page="ctb",
        anchor="ctb-first",
        list="",
        subject=name,
        value=0.3,
        reference=0.4,
        customers=50,
        effect=10.0,
        rank=1,
        change_kind="points",
    )
    data = index.IndexData(kpis=jump_data.kpis, findings=pd.DataFrame([row]))
    html = index.index_html(
        _request(display_name=shop_name), _pages(), {}, "f", _folder(tmp_path), data, TITLES
    )
    soup = _soup(html)
    tags = {t.name for t in soup.find_all(True)}
    assert tags <= {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "main",
        "h1",
        "h2",
        "p",
        "div",
        "span",
        "b",
        "svg",
        "polyline",
        "circle",
        "ol",
        "li",
        "a",
        "footer",
    }
    attrs = {a for t in soup.find_all(True) for a in t.attrs}
    assert not any(a.startswith("on") for a in attrs)
    li = soup.select_one("ol.ecrm-findings li")
    # as a browser shows it: runs of white space collapse on both sides
    assert re.sub(r"\s+", " ", name.strip()) in re.sub(r"\s+", " ", li.get_text())
    assert soup.h1.get_text().startswith(shop_name)
    assert soup.title.get_text().startswith(shop_name)


def test_report_css_is_inlined_when_present(tmp_path, jump_data):
    html = index.index_html(_request(), _pages(), {}, "f", _folder(tmp_path), jump_data, TITLES)
    from importlib import resources

    css = resources.files("ecrm.render").joinpath("templates", "report.css")
    style = _soup(html).find("style").get_text()
    if css.is_file():
        assert css.read_text(encoding="utf-8").strip()[:200] in style
    else:
        assert "font-family" in style and "Meiryo" in style


def _two_channels():
    orders = shop()
    # customers of the 2 halves of each cohort on two channels; a third only in September
    orders["channel"] = [
        "web" if c.endswith(("0", "2", "4", "6", "8")) else "app" for c in orders["customer_id"]
    ]
    return orders


def test_by_channel_block_under_the_tiles(tmp_path):
    """Two channels: a row each, the month's values matching channel_kpis, MoM/YoY coloured."""
    from ecrm.analysis import channels

    orders = _two_channels()
    orders_file = tmp_path / "orders.parquet"
    orders.to_parquet(orders_file)
    data = index.index_data(orders_file, _request("en"))
    assert data.channels is not None and set(data.channels["channel"]) == {"web", "app"}
    html = index.index_html(_request("en"), _pages(), {}, "f", _folder(tmp_path), data, TITLES)
    soup = _soup(html)
    block = soup.select_one("table.ecrm-channels")
    assert block.find_previous("h3").get_text() == "By channel (2026-10)"
    heads = [th.get_text() for th in block.select("thead th")]
    assert heads == ["Channel", "Revenue (JPY)", "Orders", "Customers", "New customers"]
    want = channels.channel_kpis(orders, as_of=AS_OF).set_index("channel")
    for row in block.select("tbody tr"):
        ch = row["data-channel"]
        rev = row.select_one("td[data-kpi=revenue]")
        assert rev.select_one(".v").get_text() == fmt.money(want.loc[ch, "revenue"], "JPY")
        chg = [c.get_text() for c in rev.select(".chg")]
        assert chg[0] == "MoM " + (
            "▲"
            if want.loc[ch, "revenue_mom"] > 0
            else "▼"
            if want.loc[ch, "revenue_mom"] < 0
            else "→"
        ) + " " + fmt.kpi_change("revenue", want.loc[ch, "revenue_mom"])
        new = row.select_one("td[data-kpi=new_customers] .v").get_text()
        assert new == fmt.count(want.loc[ch, "new_customers"])
    # the tiles still come first, the block right after them
    assert html.index("ecrm-tiles") < html.index("ecrm-channels") < html.index('id="findings"')


def test_one_channel_no_block_and_no_cross_sell_tile_without_categories(tmp_path):
    orders = shop().assign(channel="web").drop(columns="category")
    orders_file = tmp_path / "orders.parquet"
    orders.to_parquet(orders_file)
    data = index.index_data(orders_file, _request())
    assert data.channels is None
    html = index.index_html(_request(), _pages(), {}, "f", _folder(tmp_path), data, TITLES)
    soup = _soup(html)
    assert soup.select_one("table.ecrm-channels") is None
    codes = [t["data-kpi"] for t in soup.select("div.ecrm-tile")]
    assert "cross_sell_rate" not in codes and codes == [
        c for c in index.INDEX_KPIS if c != "cross_sell_rate"
    ]


def test_the_cross_sell_tile_with_categories(tmp_path, jump_data):
    html = index.index_html(_request(), _pages(), {}, "f", _folder(tmp_path), jump_data, TITLES)
    tile = _soup(html).select_one("div.ecrm-tile[data-kpi=cross_sell_rate]")
    last = kpi.kpi_latest(jump_data.kpis).set_index("kpi")
    # トップス and アウター: the extra series buy トップス on top of their first category
    assert tile.select_one(".name").get_text() == "クロスセル率(12ヶ月)"
    assert tile.select_one(".value").get_text() == fmt.rate(last.loc["cross_sell_rate", "value"])
