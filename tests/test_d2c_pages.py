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

import pytest

from ecrm.present import narrate_d2c
from ecrm.render import report

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "d2c"
NOTEBOOK = ROOT / "notebooks" / "09_d2c.ipynb"
SHOP, MONTH = "d2c-fixture", "2026-06"


def _render(tmp: Path, *, bare: bool, lang: str) -> Path:
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
    r = report.render(SHOP, MONTH, root=tmp, notebook_dir=nbs, lang=lang)
    assert r.ok, [p.message for p in r.pages]
    return tmp / "reports" / SHOP / MONTH


def _text(page: Path) -> str:
    return html.unescape(page.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> Path:
    return _render(tmp_path_factory.mktemp("full"), bare=False, lang="ja")


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
        "初回購入商品別のF2転換率",
    ):
        assert re.search(rf"<h2[^>]*>{re.escape(heading)}</h2>", page), heading
    assert "<div class='ecrm-error'>" not in page
    assert page.count("<figure class='ecrm-figure'>") == 6
    # S1 (5 deliveries, active), S2 (1, cancelled), S3 (1, active): 1 of 2 decided renewed
    assert "1回目から2回目への継続率は50.0%(到達3件)" in page
    assert "定期・チャネル・商品" in page  # the page title from _PAGE_TITLES
    written = {p.stem for p in (full / "tables").glob("*.csv")}
    assert written == {
        "subscription_continuation",
        "subscription_monthly",
        "subscription_projection",
        "channel_acquisition",
        "channel_acquisition_summary",
        "entry_products",
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
