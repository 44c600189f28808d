"""Tests of ``ecrm init``: ecrm.io.sniff, ecrm.io.mapping, ecrm.io.init, ecrm.io.dryrun, the CLI.

The done-when check of issue #18: ``ecrm init`` on the demo shops' raw files and on
the UCI Online Retail export proposes settings that ingest to the same totals
(rows kept, orders, customers, revenue) as the hand-written ones. Around it: one
example per finding with its exact text, the CLI (``--yes``, the question when two
columns compete, ``--force``), the dry run that writes nothing, and Hypothesis
proofs that header names in any order, case and width map right and that any
table in any supported encoding, delimiter and number of title rows is sniffed
right.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import unicodedata
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ecrm import paths
from ecrm.errors import SettingsError
from ecrm.io import demo
from ecrm.io.dryrun import dry_run, group_problems
from ecrm.io.ingest import ingest
from ecrm.io.init import propose, render_settings, write_settings
from ecrm.io.mapping import SYNONYMS, normalise_name, propose_columns
from ecrm.io.sniff import date_format, sniff_file
from ecrm.settings import load_settings
from tests.conftest import SHARED_DATA

CARTS = Path(__file__).parent / "fixtures" / "carts"
TODAY = date(2024, 12, 31)


def totals(summary: object) -> tuple[int, int, int, str]:
    s = summary
    return s.rows_kept, s.orders, s.customers, s.revenue  # type: ignore[attr-defined]


def copy_raw(src_shop: Path, dest: Path) -> Path:
    shutil.copytree(src_shop / "raw", dest / "raw")
    return dest


# --------------------------------------------------------------------------- done when


@pytest.mark.slow
@pytest.mark.parametrize("shop", ["demo-apparel", "demo-food"])
def test_init_on_the_demo_exports_ingests_like_the_shipped_settings(
    demo_root: Path, tmp_path: Path, shop: str
) -> None:
    shipped = demo_root / "data" / shop
    expected = json.loads(paths.quality_path(shipped).read_text(encoding="utf-8"))
    mine = copy_raw(shipped, tmp_path / shop)
    proposal = propose(sorted((mine / "raw").glob("*.csv")), mine)
    target = write_settings(proposal)
    got = load_settings(target)
    want = load_settings(shipped)
    assert [s.path for s in got.sources] == [s.path for s in want.sources] == ["raw/orders_*.csv"]
    assert got.columns == want.columns
    assert got.exclude_statuses == want.exclude_statuses
    assert got.return_order_pattern == want.return_order_pattern
    if want.product_master is not None:  # init also maps the master's 商品名 (product_name)
        gm, wm = got.product_master, want.product_master
        assert gm is not None and (gm.path, gm.key) == (wm.path, wm.key)
        assert wm.columns.items() <= gm.columns.items()
    else:
        assert got.product_master is None
    assert (got.customers is None) == (want.customers is None)
    for key in ("subscriptions", "costs"):  # found among the files, mapped as shipped
        g, w = getattr(got, key), getattr(want, key)
        assert (g is None) == (w is None)
        if w is not None:
            assert (g.path, g.columns) == (w.path, w.columns)
    result = ingest(mine, today=demo.DEMO_INGEST_DATE)
    assert totals(result.summary) == (
        expected["rows_kept"],
        expected["orders"],
        expected["customers"],
        expected["revenue"],
    )


@pytest.mark.slow
def test_init_on_the_uci_export_ingests_like_the_hand_written_settings(
    online_retail: Path, tmp_path: Path
) -> None:
    src = SHARED_DATA / "online_retail" / "online_retail.csv.gz"
    expected = json.loads(paths.quality_path(online_retail.parents[1]).read_text("utf-8"))
    shop = tmp_path / "online-retail"
    target = write_settings(propose([src], shop))
    text = target.read_text(encoding="utf-8")
    got = load_settings(target)
    assert got.allow_external_sources and f'path: "{src.resolve()}"' in text
    assert "allow_external_sources: true # a source lies outside the shop folder" in text
    assert got.columns == {
        "order_id": "InvoiceNo",
        "customer_id": "CustomerID",
        "ordered_at": "InvoiceDate",
        "quantity": "Quantity",
        "product_id": "StockCode",
        "product_name": "Description",
        "unit_price": "UnitPrice",
    }
    assert (got.return_order_pattern, got.timezone, got.currency) == (
        "^C",
        "Europe/London",
        "GBP",
    )
    assert got.analysis.rfm.money_thresholds == "auto" == got.analysis.cpm.money_thresholds
    assert not got.export_complete  # the export begins mid-history
    assert got.analysis.products.exclude_products.ids == [
        "AMAZONFEE", "B", "BANK CHARGES", "C2", "CRUK", "D", "DOT", "M", "POST", "S", "m",
    ]  # fmt: skip
    assert "C2 (CARRIAGE)" in text and "DOT (DOTCOM POSTAGE)" in text
    summary = ingest(shop, today=date(2026, 11, 1)).summary
    assert totals(summary) == (
        expected["rows_kept"],
        expected["orders"],
        expected["customers"],
        expected["revenue"],
    )
    assert summary.return_lines == expected["return_lines"]


# --------------------------------------------------------------------------- findings


def test_cart_export_uses_its_preset_and_dry_runs_to_the_hand_totals(tmp_path: Path) -> None:
    shop = tmp_path / "ec"
    (shop / "raw").mkdir(parents=True)
    shutil.copy(CARTS / "ec_cube_orders.csv", shop / "raw")
    proposal = propose([shop / "raw" / "ec_cube_orders.csv"], shop)
    text = render_settings(proposal)
    assert "preset: ec-cube # the header has every column of the ec-cube export: https://" in text
    assert "\ncolumns:" not in text  # the preset maps every column; nothing of its own
    assert '  - path: "raw/ec_cube_orders.csv"' in text and "allow_external" not in text
    run = dry_run(proposal, today=TODAY)
    # 2500 + 3000 + 2700, see tests/test_presets.py
    assert totals(run.summary) == (5, 3, 2, "8200")
    assert not (shop / "canonical").exists() and not (shop / "settings.yaml").exists()


def test_a_preset_without_customer_column_makes_guests_and_says_so(tmp_path: Path) -> None:
    proposal = propose([CARTS / "futureshop_orders.csv"], tmp_path / "fs")
    assert proposal.preset == "futureshop"
    text = render_settings(proposal)
    assert (
        '  customer_id: "" # no customer column found: every order is a guest order until you '
        "map `columns: customer_id:` to the export's member id"
    ) in text
    assert totals(dry_run(proposal, today=TODAY).summary) == (4, 3, 0, "9300")


def test_amazon_constants_and_tab_delimiter(tmp_path: Path) -> None:
    proposal = propose([CARTS / "amazon_all_orders.txt"], tmp_path / "az")
    text = render_settings(proposal)
    assert '    delimiter: "\\t"' in text
    assert '  customer_id: "" # the amazon export has no customer_id column' in text
    assert "currency: \"JPY\" # every line has 'currency' = JPY" in text
    assert totals(dry_run(proposal, today=TODAY).summary) == (3, 2, 0, "4104")


def test_utf16_tab_export(tmp_path: Path) -> None:
    s = sniff_file(CARTS / "unicode_text_orders.txt")
    assert (s.encoding, s.delimiter, s.skip_rows, s.decimal) == ("utf-16", "\t", 0, ".")
    proposal = propose([CARTS / "unicode_text_orders.txt"], tmp_path / "u")
    assert totals(dry_run(proposal, today=TODAY).summary) == (3, 3, 2, "5400")


def test_title_rows_are_proposed_as_skip_rows(tmp_path: Path) -> None:
    proposal = propose([CARTS / "title_rows_orders.csv"], tmp_path / "t")
    [source] = proposal.sources
    assert source.options == {"skip_rows": 2}
    assert (
        "skip_rows 2: 2 line(s) above the header do not have the data lines' 6 fields "
        "(a report title or export date)"
    ) in source.notes
    assert proposal.columns["ordered_at"].column == "受注日時"


def test_an_excel_export_with_a_title_row(tmp_path: Path) -> None:
    path = tmp_path / "orders.xlsx"
    rows = [["受注一覧", None, None], ["注文番号", "注文日", "金額"], ["A1", "2024/01/05", "1200"]]
    pd.DataFrame(rows).to_excel(path, index=False, header=False)
    s = sniff_file(path)
    assert (s.format, s.skip_rows, s.header) == ("excel", 1, ["注文番号", "注文日", "金額"])
    proposal = propose([path], tmp_path / "x")
    assert proposal.sources[0].options == {"skip_rows": 1}


def test_semicolons_and_decimal_commas_are_proposed(tmp_path: Path) -> None:
    proposal = propose([CARTS / "semicolon_decimal_comma.csv"], tmp_path / "eu")
    [source] = proposal.sources
    assert source.options == {"delimiter": ";", "decimal": ","}
    text = render_settings(proposal)
    assert (
        "# decimal ',': column 'unit_price' writes numbers with a decimal comma "
        "(2 of 2 sampled values)"
    ) in text
    assert "BUT 50% of line amounts have fractions and JPY has none" in text
    target = write_settings(proposal)
    assert load_settings(target).sources[0].decimal == ","


def test_sources_inside_the_shop_are_relative_and_outside_absolute(tmp_path: Path) -> None:
    shop = tmp_path / "s"
    (shop / "raw").mkdir(parents=True)
    inside = shop / "raw" / "a.txt"
    shutil.copy(CARTS / "unicode_text_orders.txt", inside)
    assert propose([inside], shop).sources[0].path == "raw/a.txt"
    assert not propose([inside], shop).external
    outside = propose([CARTS / "unicode_text_orders.txt"], shop)
    assert outside.external and Path(outside.sources[0].path).is_absolute()


def test_existing_settings_are_never_overwritten_without_force(tmp_path: Path) -> None:
    shop = tmp_path / "s"
    shop.mkdir()
    (shop / "settings.yaml").write_text("name: s\n", encoding="utf-8")
    proposal = propose([CARTS / "unicode_text_orders.txt"], shop)
    with pytest.raises(SettingsError) as info:
        write_settings(proposal)
    assert str(info.value) == (
        f"{shop / 'settings.yaml'} exists: `ecrm init` never overwrites a shop's settings "
        "(pass --force to replace it, or edit it by hand)"
    )
    assert (shop / "settings.yaml").read_text(encoding="utf-8") == "name: s\n"
    write_settings(proposal, force=True)
    assert load_settings(shop).columns["order_id"] == "注文番号"


def test_no_orders_export_is_a_settings_error_listing_the_headers(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text("memo,owner\nhello,me\n", encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        propose([path], tmp_path / "x")
    assert "Headers found: notes.csv: ['memo', 'owner']" in str(info.value)


def test_dry_run_lists_the_most_frequent_problems_without_values(tmp_path: Path) -> None:
    rows = [[f"A{i}", "C1", "2024-01-05", "1000"] for i in range(60)]
    rows += [[f"B{i}", "C2", "someday-secret", "100"] for i in range(3)]
    rows += [[f"D{i}", "C3", "2024-01-06", "lots-secret"] for i in range(2)]
    path = tmp_path / "orders.csv"
    path.write_text(
        "\n".join(",".join(r) for r in [["受注番号", "会員ID", "受注日", "小計"], *rows]) + "\n",
        encoding="utf-8",
    )
    proposal = propose([path], tmp_path / "s")
    run = dry_run(proposal, today=TODAY)
    assert run.summary is None and run.total_problems == 5
    lines = run.render().splitlines()
    assert lines[0] == "dry run: 5 problem(s) would stop `ecrm ingest`; the 2 most frequent:"
    assert lines[1].split("×")[0].strip() == "3" and "column '受注日'" in lines[1]
    assert lines[1].endswith(f"(first: {path}, row 62)")
    assert lines[2].split("×")[0].strip() == "2" and "column '小計'" in lines[2]
    assert "secret" not in run.render()


def test_no_header_name_is_a_synonym_of_two_columns() -> None:
    owners: dict[str, set[str]] = {}
    for canon, names in SYNONYMS.items():
        for n in names:
            owners.setdefault(normalise_name(n), set()).add(canon)
    assert {n: c for n, c in owners.items() if len(c) > 1} == {}


def test_group_problems_counts_by_column_and_message() -> None:
    from ecrm.errors import InputProblem

    ps = [InputProblem("f", r, "c", "bad", "v") for r in (2, 3)] + [InputProblem("f", 9, "d", "x")]
    assert group_problems(ps) == [(2, "c", "bad", "f, row 2"), (1, "d", "x", "f, row 9")]


def test_competing_columns_keep_their_alternative() -> None:
    df = pd.DataFrame(
        {
            "受注番号": ["A1", "A2"],
            "受注日": ["2024/01/05", "2024/01/06"],
            "小計": ["100", "200"],
            "金額": ["100", "250"],
        }
    )
    g = propose_columns(df)["amount"]
    assert g.column == "小計" and [c for c, _ in g.alternatives] == ["金額"]


def test_an_order_total_repeated_on_each_line_gives_way_to_price_times_quantity() -> None:
    df = pd.DataFrame(
        {
            "注文番号": ["A1", "A1", "A2"],
            "注文日": ["2024/01/05"] * 3,
            "合計": ["2500", "2500", "700"],
            "単価": ["1000", "500", "700"],
            "数量": ["2", "1", "1"],
        }
    )
    guesses = propose_columns(df)
    assert "amount" not in guesses and guesses["unit_price"].column == "単価"
    assert "an order total" in guesses["unit_price"].reason


def test_a_date_column_no_name_matches_is_found_by_its_values() -> None:
    df = pd.DataFrame({"伝票番号": ["A1"], "日": ["2024/01/05 10:00"], "小計": ["100"]})
    g = propose_columns(df)["ordered_at"]
    assert (g.column, g.reason) == ("日", "all values of '日' read as YYYY/MM/DD hh:mm")


def test_a_birth_date_is_no_order_date() -> None:
    df = pd.DataFrame({"customer_id": ["1"], "birth_date": ["1980-01-01"]})
    assert "ordered_at" not in propose_columns(df)


def test_month_first_dates_are_named_as_unread() -> None:
    assert date_format(pd.Series(["12/1/2010 8:26", "12/13/2010 9:01"])) == (
        "M/D/YYYY h:mm (month first)",
        False,
        1.0,
    )


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("ECRM_HOME", str(tmp_path))
    return tmp_path


def cli(args: list[str], input: str | None = None):
    from ecrm.render.cli import app

    return CliRunner().invoke(app, args, input=input)


def test_cli_init_writes_settings_and_prints_the_dry_run(project: Path) -> None:
    raw = project / "data" / "acme" / "raw"
    raw.mkdir(parents=True)
    for name in ("ec_cube_orders.csv", "futureshop_orders.csv"):
        shutil.copy(CARTS / name, raw)
    r = cli(["init", "acme", "--from", str(raw / "ec_cube_orders.csv"), "--yes"])
    assert r.exit_code == 0, r.output
    assert f"wrote {project / 'data' / 'acme' / 'settings.yaml'}" in r.output
    assert "preset: ec-cube (recognised from the header)" in r.output
    assert "dry run (nothing written):" in r.output and "8,200 JPY" in r.output
    assert not (project / "data" / "acme" / "canonical").exists()
    again = cli(["init", "acme", "--from", str(raw / "ec_cube_orders.csv"), "--yes"])
    assert again.exit_code == 2 and "pass --force to replace it" in again.output
    assert "Traceback" not in again.output


def test_cli_asks_when_two_columns_compete(project: Path, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("受注番号,受注日,小計,金額\nA1,2024/01/05,100,150\n", encoding="utf-8")
    r = cli(["init", "acme", "--from", str(path), "--today", "2024-12-31"], input="2\n")
    assert r.exit_code == 0, r.output
    assert "amount: 2 columns fit" in r.output
    columns = load_settings(project / "data" / "acme").columns
    assert columns["amount"] == "金額"
    text = (project / "data" / "acme" / "settings.yaml").read_text(encoding="utf-8")
    assert "(chosen on the terminal)" in text
    assert "150 JPY" in r.output


def test_cli_errors_exit_2_with_the_message(project: Path, tmp_path: Path) -> None:
    r = cli(["init", "Acme!", "--from", str(CARTS / "ec_cube_orders.csv")])
    assert r.exit_code == 2 and "is not a slug" in r.output
    r = cli(["init", "acme", "--from", str(tmp_path / "missing.csv")])
    assert r.exit_code == 2 and "no such file(s)" in r.output


# --------------------------------------------------------------------------- properties

_KEY = ("order_id", "customer_id", "ordered_at", "amount", "quantity", "product_id", "status")
_VALUES = {
    "order_id": ["A1", "A2", "A3"],
    "customer_id": ["C1", "", "C2"],
    "ordered_at": ["2024/01/05 10:00", "2024/01/06 11:00", "2024/02/01 09:00"],
    "amount": ["1,200", "▲300", "4500"],
    "quantity": ["1", "2", "3"],
    "product_id": ["P1", "P2", "P3"],
    "status": ["発送済み", "キャンセル", "発送済み"],
}


def _variant(name: str, style: int) -> str:
    """A header as exports vary it: case, full width, blanks for underscores."""
    if style == 1:
        return name.upper()
    if style == 2:
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in name)
    if style == 3:
        return name.replace("_", " ")
    return name


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_any_synonym_in_any_order_case_or_width_maps_right(data: st.DataObject) -> None:
    chosen = {}
    for canon in _KEY:
        name = data.draw(st.sampled_from(SYNONYMS[canon]))
        chosen[canon] = _variant(name, data.draw(st.integers(0, 3)))
    assume_unique = len({normalise_name(v) for v in chosen.values()}) == len(chosen)
    if not assume_unique:
        return
    order = data.draw(st.permutations(list(_KEY)))
    frame = pd.DataFrame({chosen[c]: _VALUES[c] for c in order})
    frame["メモ"] = ["x", "y", "z"]  # a column that is none of them
    guesses = propose_columns(frame)
    assert {c: guesses[c].column for c in _KEY} == chosen
    assert unicodedata.normalize("NFKC", guesses["order_id"].column) == unicodedata.normalize(
        "NFKC", chosen["order_id"]
    )


_text_cell = (
    st.text(alphabet=st.sampled_from(list("あいう漢字カナabcXYZ019 -")), min_size=1, max_size=6)
    .map(str.strip)
    .filter(bool)
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp932", "utf-16"]),
    delimiter=st.sampled_from([",", "\t", ";"]),
    titles=st.integers(0, 3),
    n_cols=st.integers(3, 6),
    n_rows=st.integers(3, 8),
    data=st.data(),
)
def test_any_table_is_sniffed_right(
    tmp_path: Path,
    encoding: str,
    delimiter: str,
    titles: int,
    n_cols: int,
    n_rows: int,
    data: st.DataObject,
) -> None:
    header = data.draw(st.lists(_text_cell, min_size=n_cols, max_size=n_cols, unique=True))
    rows = [
        data.draw(st.lists(_text_cell, min_size=n_cols, max_size=n_cols)) for _ in range(n_rows)
    ]
    buf = io.StringIO()
    for i in range(titles):
        buf.write(f"受注データ {i + 1}\n")
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows([header, *rows])
    path = tmp_path / "export.csv"
    path.write_bytes(buf.getvalue().encode(encoding))
    s = sniff_file(path)
    expected_enc = "utf-8" if encoding == "utf-8" and buf.getvalue().isascii() else encoding
    if encoding == "cp932" and buf.getvalue().isascii():
        expected_enc = "utf-8"  # ASCII is UTF-8 too
    assert (s.encoding, s.delimiter, s.skip_rows) == (expected_enc, delimiter, titles)
    assert s.header == header
    assert s.frame.to_numpy().tolist() == rows


@pytest.mark.parametrize(
    "module",
    ["ecrm.io.read", "ecrm.io.sniff", "ecrm.io.mapping", "ecrm.io.presets", "ecrm.io.init_keys"],
)
def test_docstring_examples(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_written_settings_are_valid_yaml_with_a_reason_per_column(tmp_path: Path) -> None:
    proposal = propose([CARTS / "title_rows_orders.csv"], tmp_path / "t")
    text = render_settings(proposal)
    data = yaml.safe_load(text)
    assert data["columns"] == {
        "order_id": "受注番号",
        "customer_id": "会員ID",
        "ordered_at": "受注日時",
        "amount": "小計",
        "quantity": "数量",
        "product_id": "商品コード",
    }
    column_lines = [ln for ln in text.splitlines() if ln.startswith("  ") and ": " in ln]
    assert all(" # " in ln for ln in column_lines if ln.split(":")[0].strip() in data["columns"])


# --------------------------------------------------------------------------- analysis keys (#21)


def _hand_shop(root: Path) -> Path:
    """A GBP shop's exports: orders with postage and a free-shipping product, 定期, costs."""
    raw = root / "raw"
    raw.mkdir(parents=True)
    rows = [
        ("1001", "c1", "2024-01-05", "A1", "Tea cup", "12.50", "web", "T1"),
        ("1001", "c1", "2024-01-05", "SHIP", "Shipping fee", "4.99", "web", "T1"),
        ("1002", "c2", "2024-02-07", "B7", "【送料無料】お茶セット", "30.00", "web", ""),
        ("1003", "c1", "2024-03-09", "W1", "ラッピング", "1.00", "web", "T1"),
        ("1003", "c1", "2024-03-09", "A1", "Tea cup", "12.50", "web", "T1"),
    ]
    rows = [(*r, "United Kingdom") for r in rows]
    with open(raw / "orders.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["order_id", "customer_id", "ordered_at", "product_id", "product_name",
                    "amount", "channel", "定期ID", "Country"])  # fmt: skip
        w.writerows(rows)
    (raw / "teiki.csv").write_text(
        "定期ID,会員ID,開始日,解約日\nT1,c1,2024-01-05,\n", encoding="utf-8"
    )
    (raw / "ads.csv").write_text("月,広告媒体,費用\n2024/01,web,1000\n", encoding="utf-8")
    return root


def test_init_proposes_auto_thresholds_lifecycle_rule_censoring_and_exclusions(
    tmp_path: Path,
) -> None:
    shop = _hand_shop(tmp_path / "gbp")
    proposal = propose(sorted((shop / "raw").glob("*.csv")), shop)
    text = render_settings(proposal)
    s = load_settings(write_settings(proposal))
    assert s.currency == "GBP" and s.export_complete is False
    assert s.analysis.rfm.money_thresholds == "auto" == s.analysis.cpm.money_thresholds
    assert "monetary" not in s.analysis.rfm.model_fields_set
    assert "spend_cutoff" not in s.analysis.cpm.model_fields_set
    assert s.analysis.lifecycle.rule == "recency"
    assert "rule: recency # recency: SPEC's recency-first rule; article:" in text
    assert "(the left-censored cohort)" in text
    assert s.analysis.products.exclude_products.ids == ["SHIP", "W1"]
    assert "merchandise: SHIP (Shipping fee), W1 (ラッピング)." in text
    assert s.subscriptions is not None and s.subscriptions.path == "raw/teiki.csv"
    assert s.subscriptions.columns == {
        "subscription_id": "定期ID",
        "customer_id": "会員ID",
        "started_at": "開始日",
        "cancelled_at": "解約日",
    }
    assert s.costs is not None and s.costs.path == "raw/ads.csv"
    assert s.costs.columns == {"month": "月", "channel": "広告媒体", "cost": "費用"}
    assert s.customers is None  # the 定期 export is no customers table
    from ecrm.analysis import thresholds

    orders = ingest(shop, today=TODAY).orders_path
    money = thresholds.money_thresholds(orders, as_of="2024-03-31", settings=s)
    assert set(money["source"]) <= {"auto", "auto_all_customers"}
    assert set(money["currency"]) == {"GBP"}


def test_a_jpy_shop_keeps_the_yen_defaults_and_says_auto_exists(tmp_path: Path) -> None:
    proposal = propose([CARTS / "title_rows_orders.csv"], tmp_path / "t")
    text = render_settings(proposal)
    s = yaml.safe_load(text)
    assert "money_thresholds" not in str(s["analysis"])
    assert "`money_thresholds: auto` derives them from the shop's customers" in text
    assert s["export_complete"] is False


#: Merchandise names: no vowel (so no English fee word) and 送料 only as 【送料無料】.
_MERCH = st.builds(
    lambda free, name: ("【送料無料】" if free else "") + name,
    st.booleans(),
    st.text(alphabet="bcdfghklmnpstxyz 商品茶器セット", min_size=1, max_size=12),
)


@settings(max_examples=60, deadline=None)
@given(
    merch=st.lists(_MERCH, min_size=1, max_size=6),
    fees=st.lists(
        st.sampled_from(
            [
                "POSTAGE",
                "送料",
                "Bank Charges",
                "CARRIAGE",
                "手数料",
                "Discount",
                "サンプル",
                "Manual",
                "shipping fee",
            ]
        ),
        max_size=4,
    ),
)
def test_only_non_merchandise_lines_are_proposed(merch: list[str], fees: list[str]) -> None:
    from ecrm.io.init_keys import non_merchandise

    names = merch
    ids = [f"P{i}" for i in range(len(names))] + [f"F{i}" for i in range(len(fees))]
    frame = pd.DataFrame({"id": ids * 2, "name": (names + fees) * 2})
    found = non_merchandise(frame, "id", "name")
    want = sorted(f"F{i}" for i in range(len(fees)))
    assert (found[0] if found else []) == want


def test_a_mistyped_name_on_one_line_does_not_exclude_a_product() -> None:
    from ecrm.io.init_keys import non_merchandise

    frame = pd.DataFrame({"id": ["21656"] * 3 + ["POST"], "name": ["VASE", "VASE", "samples", ""]})
    assert non_merchandise(frame, "id", "name") == (["POST"], ["POST"])
