"""Tables a client reads (ecrm.present.tables): exact cells, headers, classes, layout, CSV."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm.present import tables
from ecrm.present.tables import csv_frame, format_table


def _soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def _headers(table) -> list[str]:
    return [th.get_text() for th in table.find("thead").find_all("th")]


def _rows(table) -> list[list[tuple[str, bool]]]:
    return [
        [(c.get_text(), "num" in (c.get("class") or [])) for c in tr.find_all(["th", "td"])]
        for tr in table.find("tbody").find_all("tr")
    ]


def _segments() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "segment": pd.array(["champions", "lost"], dtype="string"),
            "customers": [1234, 5],
            "share": [0.0557, 0.5],
            "revenue": [1234567.4, 0.0],
            "median_days_to_next": [64.0, np.nan],
        }
    )


def test_headers_values_and_classes_in_japanese():
    t = _soup(format_table(_segments(), lang="ja", currency="JPY", name="rfm_segments")).table
    assert t["class"] == ["ecrm-table", "ecrm-table-rfm_segments"]
    assert _headers(t) == [
        "セグメント",
        "顧客数",
        "構成比",
        "売上 (円)",
        "次回購入までの日数（中央値）",
    ]
    assert _rows(t) == [
        [("優良顧客", False), ("1,234", True), ("5.6%", True), ("1,234,567", True), ("64", True)],
        [("離脱顧客", False), ("5", True), ("50.0%", True), ("0", True), ("—", False)],
    ]


def test_headers_and_money_in_english_with_pounds():
    t = _soup(format_table(_segments(), lang="en", currency="GBP")).table
    assert _headers(t)[:4] == ["segment", "customers", "share", "revenue (£)"]
    assert _rows(t)[0][3] == ("1,234,567.40", True)
    assert _headers(_soup(format_table(_segments(), lang="en")).table)[3] == "revenue (¥)"
    assert tables.currency_unit("CHF", "ja") == "CHF"


def test_booleans_are_ticks_and_codes_are_labels():
    sil = pd.DataFrame({"k": [2, 3], "silhouette": [0.17, 0.21], "chosen": [False, True]})
    t = _soup(format_table(sil, lang="ja", name="cluster_silhouette")).table
    assert _headers(t) == ["クラスタ数", "シルエット係数", "採用"]
    assert [r[2][0] for r in _rows(t)] == ["—", "✓"]
    check = pd.DataFrame(
        {
            "level": ["category", "category"],
            "cutoff": ["2026-04-30", "2026-04-30"],
            "horizon_days": [180, 180],
            "top_n": [3, 3],
            "group": ["all", "one_purchase"],
            "method": ["model", "popularity"],
            "customers": [533, 152],
            "hits": [460, 91],
            "hit_rate": [0.863, 0.6],
        }
    )
    html = format_table(check, lang="ja", name="ctb_recommendation_check")
    soup = _soup(html)
    cond = soup.find("p", class_="ecrm-conditions").get_text()
    assert cond == "集計単位: カテゴリ · 基準日: 2026-04-30 · 観測期間（日）: 180 · 推奨件数: 3"
    t = soup.table
    assert _headers(t) == ["対象顧客", "推奨方法", "顧客数", "的中顧客数", "ヒット率"]
    assert [r[1][0] for r in _rows(t)] == ["推奨モデル", "人気順（比較基準）"]
    en = _soup(format_table(check, lang="en", name="ctb_recommendation_check")).table
    assert [r[:2] for r in _rows(en)][1] == [
        ("one-purchase customers", False),
        ("popularity baseline", False),
    ]


def test_kpi_summary_is_formatted_per_row():
    kpis = pd.DataFrame(
        {
            "kpi": ["revenue", "repeat_rate", "orders"],
            "kpi_name": ["売上", "リピート率", "注文数"],
            "value": [4359630.0, 0.3456, 428.0],
            "mom": [0.101, 0.012, np.nan],
            "yoy": [0.681, -0.0345, 0.512],
        }
    )
    t = _soup(format_table(kpis, lang="ja", name="kpi_summary")).table
    assert _headers(t) == ["指標名", "値", "前月比", "前年比"]
    assert [[c for c, _ in r] for r in _rows(t)] == [
        ["売上", "¥4,359,630", "+10.1%", "+68.1%"],
        ["リピート率", "34.6%", "+1.2pt", "-3.5pt"],
        ["注文数", "428", "—", "+51.2%"],
    ]


def test_the_ladder_shows_purchase_count_once():
    lad = pd.DataFrame(
        {"n": [1, 2], "label": ["1", "2+"], "reached": [10, 4], "survival": [1.0, 0.41]}
    )
    t = _soup(format_table(lad, lang="ja", name="purchase_ladder")).table
    assert _headers(t) == ["購入回数", "到達人数", "残存率"]
    assert _rows(t)[1] == [("2+", False), ("4", True), ("41.0%", True)]


def _profile(k: int = 3) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "cluster": range(1, k + 1),
            "label_ja": [f"名前{i}" for i in range(k)],
            "label_en": [f"name {i}" for i in range(k)],
            "size": [100 * (i + 1) for i in range(k)],
            "share": [1 / k] * k,
            "revenue": [1000.0] * k,
        }
    )
    for f in ("recency_days", "monetary", "cat_アウター", "cat_other"):
        df[f"{f}_mean"] = 0.25
        df[f"{f}_median"] = 0.5
    return df


def test_a_wide_table_is_transposed_metrics_as_rows():
    t = _soup(format_table(_profile(), lang="ja", name="cluster_profile")).table
    assert "ecrm-transposed" in t["class"]
    assert _headers(t) == ["", "1: 名前0", "2: 名前1", "3: 名前2"]
    first = [r[0][0] for r in _rows(t)]
    assert first == [
        "顧客数",
        "構成比",
        "売上 (円)",
        "最終購入からの日数（平均）",
        "最終購入からの日数（中央値）",
        "累計購入額（平均） (円)",
        "累計購入額（中央値） (円)",
        "アウター比率（平均）",
        "その他カテゴリ比率（平均）",
    ]
    assert _rows(t)[7] == [("アウター比率（平均）", False)] + [("25.0%", True)] * 3
    en = _soup(format_table(_profile(), lang="en", name="cluster_profile")).table
    assert _headers(en)[1] == "1: name 0"
    assert [r[0][0] for r in _rows(en)][3] == "recency (days), mean"


def test_a_wide_long_table_is_split_repeating_its_key():
    df = pd.DataFrame({"segment": ["new"] * 20, **{f"c{i}": range(20) for i in range(12)}})
    parts = _soup(format_table(df, lang="en")).find_all("table")
    assert [len(_headers(p)) for p in parts] == [7, 7]
    assert all(_headers(p)[0] == "segment" for p in parts)
    assert sum(len(_headers(p)) - 1 for p in parts) == 12


def test_a_split_table_repeats_every_key_column():
    """The acquisition summary's rows are named by month and channel together."""
    df = pd.DataFrame(
        {
            "month": ["2026-01", "2026-01"] * 10,
            "channel": ["web", "shop"] * 10,
            **{f"c{i}": range(20) for i in range(12)},
        }
    )
    html = format_table(df, lang="en", name="channel_acquisition_summary")
    parts = _soup(html).find_all("table")
    assert len(parts) == 2 and all(_headers(p)[:2] == ["month", "channel"] for p in parts)
    assert sum(len(_headers(p)) - 2 for p in parts) == 12
    assert [c.get_text() for c in parts[1].find_all("tr")[1].find_all("td")[:2]] == [
        "2026-01",
        "web",
    ]


def test_a_long_table_shows_its_first_rows_and_links_the_csv():
    df = pd.DataFrame({"customers": range(40)})
    soup = _soup(format_table(df, lang="ja", name="rfm_grid", csv_href="tables/rfm_grid.csv"))
    assert len(_rows(soup.table)) == tables.MAX_ROWS
    a = soup.find("p", class_="ecrm-note").find("a")
    assert a["href"] == "tables/rfm_grid.csv" and a.get_text() == "全 40 行の CSV"
    soup_en = _soup(format_table(df, lang="en", max_rows=10))
    assert soup_en.find("p").get_text() == "… 30 more rows (all rows in the CSV under tables/)"
    assert _soup(format_table(df.head(15))).find("p") is None


def test_csv_has_labelled_headers_and_rounded_numbers():
    df = _segments().assign(lift=[1.234567, 2.0])
    got = csv_frame(df, name="rfm_segments", lang="ja", currency="JPY")
    assert list(got.columns) == [
        "セグメント",
        "顧客数",
        "構成比",
        "売上 (円)",
        "次回購入までの日数（中央値）",
        "リフト値",
    ]
    assert got["売上 (円)"].tolist() == [1234567.0, 0.0]
    assert got["構成比"].tolist() == [0.0557, 0.5]
    assert got["リフト値"].tolist() == [1.2346, 2.0]
    assert got["セグメント"].tolist() == ["champions", "lost"]  # values stay codes
    usd = csv_frame(df.assign(revenue=[12.345678, 1.0]), lang="en", currency="USD")
    assert usd["revenue ($)"].tolist() == [12.35, 1.0]
    codes = csv_frame(df.assign(share=[0.123456789, 0.5]), headers="codes")
    assert list(codes.columns) == list(df.columns) and codes["share"].iloc[0] == 0.1235


def test_csv_headers_stay_unique_when_two_columns_share_a_label():
    df = pd.DataFrame({"n": [1], "label": ["1"]})
    assert list(csv_frame(df, lang="ja").columns) == ["購入回数 (n)", "購入回数 (label)"]


def test_the_kpi_csv_holds_numbers_not_percent_text():
    kpis = pd.DataFrame(
        {"kpi": ["revenue"], "kpi_name": ["売上"], "value": [1.5], "mom": [0.0512345], "yoy": [1.0]}
    )
    got = csv_frame(kpis, name="kpi_summary", lang="ja")
    assert got["前月比"].tolist() == [0.0512]
    assert not any(isinstance(v, str) and "%" in v for v in got.to_numpy().ravel())


# --------------------------------------------------------------------------- properties

_KIND_COLUMNS = {
    "money": "revenue",
    "rate": "share",
    "days": "recency_days",
    "count": "customers",
    "number": "lift",
    "bool": "chosen",
    "code": "segment",
    "text": "value",
}
_REPR = re.compile(r"(PosixPath\(|object at 0x|dtype:|\bnan\b|\bNaN\b|<NA>|None|True|False)")

_floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
    st.just(float("nan")),
)


@st.composite
def _frames(draw) -> pd.DataFrame:
    n = draw(st.integers(0, 20))
    kinds = draw(
        st.lists(st.sampled_from(sorted(_KIND_COLUMNS)), min_size=1, max_size=6, unique=True)
    )
    data = {}
    for kind in kinds:
        col = _KIND_COLUMNS[kind]
        if kind == "bool":
            data[col] = pd.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), "boolean")
        elif kind == "count":
            data[col] = pd.array(
                draw(
                    st.lists(
                        st.one_of(st.none(), st.integers(-(10**9), 10**9)), min_size=n, max_size=n
                    )
                ),
                "Int64",
            )
        elif kind in ("code", "text"):
            values = st.one_of(
                st.none(),
                st.sampled_from(["champions", "lost", "(unknown)"]),
                st.text(alphabet='あいう<>&"x ', max_size=8),
            )
            data[col] = pd.array(draw(st.lists(values, min_size=n, max_size=n)), "string")
        else:
            data[col] = draw(st.lists(_floats, min_size=n, max_size=n))
    return pd.DataFrame(data, index=range(n))


@settings(max_examples=60, deadline=None)
@given(df=_frames(), lang=st.sampled_from(["ja", "en"]))
def test_no_cell_is_a_repr_or_a_bool_and_numbers_are_right_aligned(df, lang):
    soup = _soup(format_table(df, lang=lang, name="x"))
    for table in soup.find_all("table"):
        heads = _headers(table)
        for row in _rows(table):
            for (text, num), head in zip(row, heads, strict=True):
                # the text columns hold drawn strings: only generated cells are checked for reprs
                if head not in ("値", "value"):
                    assert not _REPR.search(text), (head, text)
                if head in ("売上 (円)", "revenue (¥)", "構成比", "share", "顧客数", "customers"):
                    assert num == (text != "—"), (head, text)
                if head in ("採用", "chosen"):
                    assert text in ("✓", "—") and not num
                if head in ("セグメント", "segment"):
                    assert not num
    assert not soup.find("script")


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_escapes_every_text(lang):
    df = pd.DataFrame({"value": ["<script>alert(1)</script>"], "segment": ["<b>x</b>"]})
    soup = _soup(format_table(df, lang=lang))
    assert not soup.find("script") and not soup.find("b")
    assert soup.find("td").get_text() == "<script>alert(1)</script>"


def test_numbers_spelt_as_text_are_right_aligned_and_words_left():
    q = pd.DataFrame(
        {"項目": ["読み込み行数", "売上合計", "期間"], "値": ["15,620", "¥1,234", "2024 – 2026"]}
    )
    t = _soup(format_table(q, lang="ja", name="data_quality")).table
    assert [r[1] for r in _rows(t)] == [("15,620", True), ("¥1,234", True), ("2024 – 2026", False)]
    assert all(not r[0][1] for r in _rows(t))


def test_per_table_headers_keep_the_currency_and_constants_move_above():
    first = pd.DataFrame(
        {
            "level": ["category", "taste"],
            "value": ["アウター", "モード"],
            "ltv": [37241.9, 100.0],
            "horizon_days": [360, 360],
        }
    )
    soup = _soup(format_table(first, lang="en", currency="GBP", name="ctb_first_purchase"))
    assert soup.find("p", class_="ecrm-conditions").get_text() == "horizon (days): 360"
    assert _headers(soup.table) == ["level", "first purchase", "LTV (£)"]
    assert _rows(soup.table)[0] == [("category", False), ("アウター", False), ("37,241.90", True)]
    got = csv_frame(first, name="ctb_first_purchase", lang="ja")
    assert list(got.columns) == ["集計単位", "初回購入", "LTV (円)", "観測期間（日）"]
    assert got["LTV (円)"].tolist() == [37242.0, 100.0]
