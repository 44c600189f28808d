"""Sentences of the findings and the page summaries (ecrm.present.narrate_findings)."""

import datetime as dt

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from ecrm.analysis import cpm, findings, kpi
from ecrm.present import narrate_findings as nf
from tests import fixtures_segments as fx


def _row(**kw):
    base = dict.fromkeys(findings.COLUMNS, float("nan"))
    base.update({"list": "", "change_kind": "ratio"})
    base.update(kw)
    return base


SEGMENT = _row(
    code="segment_jump",
    page="cpm",
    list="cpm_loyal_lapsed",
    subject="loyal_lapsed",
    customers=376,
    value=376.0,
    previous=330.0,
    change=376 / 330 - 1,
    revenue_12m=12_345_678.0,
    effect=1_510_000.0,
)


def test_segment_jump_sentence_ja_and_en():
    assert nf.finding(SEGMENT, lang="ja") == (
        "優良離脱が前月比+13.9%(330人 → 376人):過去12ヶ月に¥12,345,678購入した376人、"
        "影響 約¥1,510,000 — リスト: cpm_loyal_lapsed.csv"
    )
    assert nf.finding(SEGMENT, lang="en") == (
        "loyal lapsed +13.9% month on month (330 → 376 customers): 376 customers who spent "
        "¥12,345,678 in the last 12 months, about ¥1,510,000 at stake — list: cpm_loyal_lapsed.csv"
    ).replace("loyal lapsed", nf.label("loyal_lapsed", "en"))


def test_money_in_the_shop_currency():
    got = nf.finding(SEGMENT, lang="en", currency="GBP")
    assert "£12,345,678.00" in got and "£1,510,000.00" in got and "¥" not in got


def test_f2_and_category_sentences():
    f2 = _row(
        code="f2_drop",
        value=0.25,
        previous=0.289,
        change=-0.039,
        customers=120,
        effect=50_000.0,
        change_kind="points",
    )
    assert nf.finding(f2, lang="ja") == (
        "90日以内F2転換率が3.9ポイント低下(28.9% → 25.0%、対象120人):売上への影響 約¥50,000"
    )
    cat = _row(
        code="entry_category_worst",
        subject="アウター",
        value=0.35,
        reference=0.405,
        customers=246,
        effect=138_040.0,
        change_kind="points",
    )
    assert nf.finding(cat, lang="en") == (
        "The entry category アウター converts worst (F2 35.0% against 40.5% overall, "
        "246 customers): about ¥138,040 at stake"
    )


def test_kpi_sentence_names_the_kpi_and_both_values():
    row = _row(
        code="kpi_change",
        subject="ltv_12m",
        value=16_108.0,
        previous=13_013.0,
        change=16_108 / 13_013 - 1,
        effect=371_352.0,
    )
    assert nf.finding(row, lang="ja") == (
        f"{nf.kpi_label('ltv_12m', 'ja')}が前月比+23.8%(¥13,013 → ¥16,108):売上への影響 約¥371,352"
    )


@given(st.text(min_size=1, max_size=30).filter(lambda s: s.strip()))
def test_names_from_data_are_kept_as_they_are(name):
    """A category name reaches the sentence unchanged (escaping is the HTML layer's job)."""
    cat = _row(
        code="entry_category_worst",
        subject=name,
        value=0.3,
        reference=0.4,
        customers=50,
        effect=1.0,
    )
    assert name in nf.finding(cat, lang="ja") and name in nf.finding(cat, lang="en")


def test_sentences_follow_the_ranking():
    table = pd.DataFrame(
        [SEGMENT, _row(code="lapse_rise", value=0.05, previous=0.02, change=0.03, effect=1.0)]
    )
    got = nf.finding_sentences(table, lang="en")
    assert len(got) == 2 and got[1].startswith("The lapse rate rose 3.0 pt (2.0% → 5.0%)")


def test_page_summaries_state_the_window():
    o = fx.orders()
    summary = cpm.cpm_summary(cpm.cpm(o, as_of=fx.AS_OF))
    monthly = cpm.cpm_monthly(o, as_of=fx.AS_OF)
    ja = nf.cpm_summary(summary, monthly, as_of=fx.AS_OF, lang="ja")
    en = nf.cpm_summary(summary, monthly, as_of=fx.AS_OF, lang="en")
    assert ja.startswith(f"{fx.AS_OF.isoformat()}時点。") and en.startswith(
        f"As of {fx.AS_OF.isoformat()}."
    )
    assert nf.narrate.cpm(summary, lang="en") in en
    assert f"時点。{nf.narrate.cpm(summary, lang='ja')}" in ja  # no space between ja sentences
    assert f"{fx.AS_OF.isoformat()}. {nf.narrate.cpm(summary, lang='en')}" in en
    kpis = kpi.kpi_table(o, as_of=fx.AS_OF, months=13)
    assert nf.narrate.kpi_headline(kpis, lang="en") in nf.overview_summary(
        kpis, as_of=fx.AS_OF, lang="en"
    )


def test_lifecycle_summary_names_its_months():
    from ecrm.analysis import lifecycle

    monthly = lifecycle.lifecycle_monthly(fx.orders(), as_of=fx.AS_OF)
    n = monthly.month_end.nunique()
    assert nf.lifecycle_summary(monthly, as_of=fx.AS_OF, lang="ja").startswith(
        f"直近{n}ヶ月、{fx.AS_OF.isoformat()}時点。"
    )
    assert nf.lifecycle_summary(monthly, as_of=dt.date(2026, 10, 31), lang="en").startswith(
        f"Over the last {n} months to 2026-10-31."
    )


def test_no_cluster_profile_no_summary():
    assert nf.cluster_summary(None, as_of=fx.AS_OF) == ""


def test_unknown_language_is_refused():
    with pytest.raises(Exception, match="lang"):
        nf.finding(SEGMENT, lang="fr")


def _shown(text: str) -> list[str]:
    """What ReportContext.summary displays (the HTML of each display call)."""
    from types import SimpleNamespace
    from unittest import mock

    from ecrm.render.context import ReportContext

    shown: list[str] = []
    with mock.patch("IPython.display.display", lambda obj: shown.append(obj.data)):
        ReportContext.summary(SimpleNamespace(), text)
    return shown


@hyp_settings(deadline=None)
@given(st.text(min_size=1, max_size=40).filter(lambda s: s.strip()))
def test_ctx_summary_escapes_its_text(text):
    """ReportContext.summary shows the text in one div: no element or attribute from it."""
    from bs4 import BeautifulSoup

    (html,) = _shown(text)
    soup = BeautifulSoup(html, "html.parser")
    assert [t.name for t in soup.find_all(True)] == ["div"]
    assert soup.div["class"] == ["ecrm-summary"] and list(soup.div.attrs) == ["class"]
    assert soup.div.get_text().split() == text.split()


def test_ctx_summary_of_nothing_shows_nothing():
    assert _shown("  ") == []
    assert _shown("<b>x</b>") == ["<div class='ecrm-summary'>&lt;b&gt;x&lt;/b&gt;</div>"]
