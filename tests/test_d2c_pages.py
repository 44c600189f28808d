"""The D2C page (09_d2c) on a tiny hand-made shop: with 定期/costs/products and without.

Renders ``notebooks/09_d2c.ipynb`` alone on ``tests/fixtures/d2c`` (10 orders, 3
subscriptions, 4 cost months) and on the same shop with only the channel
mapped: every section is there, each missing input is named in its section's
message, the tables are written and no customer id reaches the page.
"""

from __future__ import annotations

import csv
import html
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from ecrm.analysis import revenue_change
from ecrm.present import narrate_d2c
from ecrm.present.tables import format_table
from ecrm.render import report

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "d2c"
NOTEBOOK = ROOT / "notebooks" / "09_d2c.ipynb"
SHOP, MONTH = "d2c-fixture", "2026-06"


def _render(tmp: Path, *, bare: bool, lang: str, overview: bool = False) -> Path:
    shop = tmp / "data" / SHOP
    shutil.copytree(FIXTURE, shop)
    if bare:  # only the channel: no 定期, no costs, no product ids
        text = (shop / "settings.yaml").read_text(encoding="utf-8").split("subscriptions:")[0]
        for line in ("  subscription_id: 定期ID\n", "  product_id: 商品コード\n"):
            text = text.replace(line, "")
        (shop / "settings.yaml").write_text(text, encoding="utf-8")
    nbs = tmp / "nbs"
    nbs.mkdir()
    shutil.copy(NOTEBOOK, nbs)
    if overview:
        shutil.copy(ROOT / "notebooks" / "00_overview.ipynb", nbs)
    r = report.render(SHOP, MONTH, root=tmp, notebook_dir=nbs, lang=lang)
    assert r.ok, [p.message for p in r.pages]
    return tmp / "reports" / SHOP / MONTH


def _text(page: Path) -> str:
    return html.unescape(page.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> Path:
    return _render(tmp_path_factory.mktemp("full"), bare=False, lang="ja", overview=True)


@pytest.fixture(scope="module")
def bare(tmp_path_factory) -> Path:
    return _render(tmp_path_factory.mktemp("bare"), bare=True, lang="en")


def test_full_shop_shows_every_section_with_chart_sentence_and_tables(full):
    page = _text(full / "d2c.html")
    for heading in (
        "定期継続率(回数別)",
        "定期の継続数と解約率",
        "定期LTV(sBGモデル)",
        "初回チャネル別のLTV",
        "チャネル別のLTV/CAC",
        "開始月別の定期継続率",
        "予測の検証(ホールドアウト)",
        "初回購入商品別の360日LTVとF2転換率",
        "商品転換(2回目に買われる商品)",
        "一緒に買われる商品(直近12ヶ月)",
    ):
        assert re.search(rf"<h2[^>]*>{re.escape(heading)}</h2>", page), heading
    assert "<div class='ecrm-error'>" not in page
    # continuation, monthly, retention (all, by channel, by product), projection, hold-out,
    # channel LTV, LTV/CAC, entry products by value (with their F2)
    assert page.count("<figure class='ecrm-figure'>") == 10
    # S1 (started 2026-01, active), S2 (2026-02, cancelled in 3 months), S3: by start month
    assert "開始から3ヶ月後も継続している定期は、最新の2026-02開始分で0.0%(開始1件)" in page
    # the subscriptions run 2026-01-05 … 2026-06-30: shorter than 24 months, the middle
    assert "2026-04-05(履歴が24ヶ月に満たないため、その中間で)までのデータで当てはめた" in page
    # the export's first month (no export_complete): its customer leaves the summary
    assert "2026-01はデータの最初の月で" in page and "この月の1人は集計から除いています" in page
    # S1 (5 deliveries, active), S2 (1, cancelled), S3 (1, active): 1 of 2 decided renewed
    assert "1回目から2回目への継続率は50.0%(到達3件)" in page
    assert "定期・チャネル・商品" in page  # the page title from _PAGE_TITLES
    written = {p.stem for p in (full / "tables").glob("*.csv")}
    assert written >= {
        "subscription_continuation",
        "subscription_monthly",
        "subscription_projection",
        "channel_acquisition",
        "channel_acquisition_summary",
        "entry_products",
        "subscription_cohort_retention",
        "subscription_cohort_retention_by_channel",
        "subscription_cohort_retention_by_product_id",
        "subscription_projection_check",
    }
    with (full / "tables" / "subscription_continuation.csv").open(encoding="utf-8-sig") as f:
        header = next(csv.reader(f))
    assert header[:3] == ["購入回数", "配送回数", "到達人数"]


def test_missing_data_is_named_in_its_section_and_the_rest_renders(bare):
    page = _text(bare / "d2c.html")
    errors = re.findall(r"<div class='ecrm-error'>.*?</div>", page, flags=re.S)
    assert len(errors) == 3
    for what in ("subscriptions", "costs", "product_id"):
        assert narrate_d2c.missing(what, lang="en") in page
    assert narrate_d2c.missing("channel", lang="en") not in page
    assert re.search(r"<h2[^>]*>LTV by first channel</h2>", page)
    assert page.count("<figure class='ecrm-figure'>") == 1
    written = {p.stem for p in (bare / "tables").glob("*.csv")}
    assert written == {"channel_acquisition", "channel_acquisition_summary"}


def test_no_customer_id_reaches_the_page_or_its_tables(full):
    for p in [full / "d2c.html", *(full / "tables").glob("*.csv")]:
        assert "taro@example.jp" not in p.read_text(encoding="utf-8-sig"), p.name


def test_overview_ends_with_the_revenue_change(full):
    page = _text(full / "overview.html")
    assert re.search(r"<h2[^>]*>売上の増減要因\(前月比\)</h2>", page)
    # June: one new customer (C3, ¥3,000) on May's ¥3,000 of taro's 定期
    assert "2026-06の売上は2026-05比で¥3,000(+100.0%)、最大の要因は新規顧客数(¥3,000)です。" in page
    assert (full / "tables" / "revenue_change.csv").exists()


def test_revenue_change_table_shows_each_factor_in_its_own_unit():
    orders = pd.DataFrame(
        {
            "order_id": ["1", "2", "3"],
            "customer_id": ["a", "a", "b"],
            "ordered_at": pd.to_datetime(["2026-09-05", "2026-10-05", "2026-10-06"]),
            "amount": [1000.0, 1500.0, 2000.0],
        }
    )
    t = revenue_change.revenue_change(orders, as_of="2026-10-31")
    shown = html.unescape(format_table(t, lang="en", currency="GBP", name="revenue_change"))
    rows = re.findall(r"<tr>(.*?)</tr>", shown, flags=re.S)
    cells = [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r) for r in rows]
    by = {(c[0], c[1]): c[2:] for c in cells if len(c) == 5}
    # a: new in September (£1,000), repeat in October (£1,500); b: new in October (£2,000)
    assert by[("new", "customers")] == ["1", "1", "0.00"]  # a count; money in the header
    assert by[("new", "AOV")] == ["£1,000.00", "£2,000.00", "1,000.00"]
    assert by[("repeat", "customers")] == ["0", "1", "1,500.00"]  # no repeat in September
    assert by[("repeat", "purchases per customer")][:2] == ["—", "1.00"]
    assert by[("total", "revenue")] == ["£1,000.00", "£3,500.00", "2,500.00"]
