"""Data safety of ingestion (issue #18): one test per case, with its exact message or count.

Cases 1–11 of the issue, in its order: decimal separators, null markers as
customers, 全角 digits, re-exports, early dates, email customer ids, signs of
quantity and amount, a shrinking export, an overflowing order and the one-set
replacement (with kill tests at every step), damaged / read-only / full
canonical folders, and sources outside the shop folder. Property-based tests of
the same rules are in ``test_ingest_properties.py``.
"""

from __future__ import annotations

import errno
import importlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

import ecrm
from ecrm import IngestError, InputProblem, SettingsError
from ecrm.io import canonical as canonical_mod
from ecrm.io.canonical import CanonicalWriteError
from ecrm.io.schema import ambiguous_message
from tests.test_ingest import (
    HEADER,
    JP,
    ORDERS,
    TODAY,
    csv_bytes,
    line,
    make_shop,
    one_line_shop,
    problems,
    run,
    tree_hashes,
    xlsx_bytes,
)

REPO = Path(__file__).resolve().parents[1]


def amounts(lines: list[dict]) -> list[Decimal]:
    return [r["amount"] for r in lines]


# --------------------------------------------------------------------------- 1. decimal commas


@pytest.mark.parametrize("value", ["2,55", "1.234,56", "1,2345", "12,34,567", ",5", "1,23.4"])
def test_a_comma_that_is_no_thousands_separator_is_ambiguous(tmp_path: Path, value: str) -> None:
    [problem] = problems(one_line_shop(tmp_path, amount=value))
    assert problem == InputProblem(ORDERS, 3, "小計", ambiguous_message("."), value)
    assert problem.message == (
        "ambiguous number: this source's decimal separator is '.', so a ',' may only separate "
        "thousands (1,234,567.89); set `decimal: ','` on the source if the file writes 2,55 "
        "for 2.55"
    )


def test_thousands_separators_in_groups_of_three_are_read(tmp_path: Path) -> None:
    forms = {"1,234,567.89": "1234567.89", "1,234": "1234", "12,345円": "12345", "1 000": "1000"}
    rows = [line(f"A{i}", "C1", f"2024-01-0{i + 1}", v) for i, v in enumerate(forms)]
    _, lines = run(make_shop(tmp_path, {ORDERS: csv_bytes(rows)}))
    assert amounts(lines) == [Decimal(v) for v in forms.values()]


def test_a_decimal_comma_source(tmp_path: Path) -> None:
    forms = {"2,55": "2.55", "1.234,56": "1234.56", "1.234.567": "1234567", "-0,5": "-0.5"}
    rows = [line(f"A{i}", "C1", f"2024-01-0{i + 1}", v) for i, v in enumerate(forms)]
    shop = make_shop(
        tmp_path, {ORDERS: csv_bytes(rows)}, sources=[{"path": ORDERS, "decimal": ","}]
    )
    _, lines = run(shop)
    assert amounts(lines) == [Decimal(v) for v in forms.values()]
    bad = [*rows, line("B1", "C1", "2024-02-01", "1.5"), line("B2", "C1", "2024-02-02", "1,234.5")]
    (shop / ORDERS).write_bytes(csv_bytes(bad))
    assert problems(shop) == [
        InputProblem(ORDERS, 6, "小計", ambiguous_message(","), "1.5"),
        InputProblem(ORDERS, 7, "小計", ambiguous_message(","), "1,234.5"),
    ]


def test_an_ambiguous_quantity(tmp_path: Path) -> None:
    [problem] = problems(one_line_shop(tmp_path, qty="1,5"))
    assert (problem.row, problem.column, problem.message, problem.value) == (
        3,
        "数量",
        ambiguous_message("."),
        "1,5",
    )


def test_a_decimal_comma_on_an_excel_source_is_refused(tmp_path: Path) -> None:
    df = pd.DataFrame([line("A1", "C1", "2024-01-05", "1200")], columns=HEADER)
    shop = make_shop(
        tmp_path,
        {"raw/orders.xlsx": xlsx_bytes(df)},
        sources=[{"path": "raw/orders.xlsx", "decimal": ","}],
    )
    assert problems(shop) == [
        InputProblem(
            "raw/orders.xlsx",
            None,
            None,
            "`decimal: ','` is for text exports: an Excel file's numbers carry no separator; "
            "remove it from this source",
        )
    ]


# --------------------------------------------------------------------------- 2. null markers


MARKERS = ["NaN", "nan", "NULL", "None", "#N/A", "N/A", "null", "-", "", "NONE"]


def test_null_markers_are_guests_and_counted(tmp_path: Path) -> None:
    rows = [line("A0", "C1", "2024-01-01", "100")]
    rows += [line(f"G{i}", m, "2024-01-02", "10") for i, m in enumerate(MARKERS)]
    result, lines = run(make_shop(tmp_path, {ORDERS: csv_bytes(rows)}))
    s = result.summary
    assert [r["customer_id"] for r in lines] == ["C1"] + [None] * len(MARKERS)
    assert (s.customers, s.guest_rows_read, s.guest_rows_kept) == (1, 10, 10)
    assert s.guest_markers == {
        "#N/A": 1,
        "-": 1,
        "N/A": 1,
        "NONE": 1,
        "NULL": 1,
        "NaN": 1,
        "None": 1,
        "nan": 1,
        "null": 1,
    }
    assert "read as guests" in s.render()


def test_zero_is_a_customer_unless_guest_ids_says_otherwise(tmp_path: Path) -> None:
    rows = [line("A1", "0", "2024-01-01", "100"), line("A2", "0", "2024-01-02", "100")]
    result, lines = run(make_shop(tmp_path / "a", {ORDERS: csv_bytes(rows)}))
    assert [r["customer_id"] for r in lines] == ["0", "0"]
    assert (result.summary.customers, result.summary.customer_id_zero_lines) == (1, 2)
    assert "customer id 0" in result.summary.render()
    shop = make_shop(tmp_path / "b", {ORDERS: csv_bytes(rows)}, guest_ids=["0"])
    result, lines = run(shop)
    assert [r["customer_id"] for r in lines] == [None, None]
    assert (result.summary.customers, result.summary.guest_markers) == (0, {"0": 2})


def test_an_order_id_that_is_a_null_marker_is_an_error(tmp_path: Path) -> None:
    [problem] = problems(one_line_shop(tmp_path, oid="NULL"))
    assert (problem.row, problem.column, problem.message, problem.value) == (
        3,
        "受注番号",
        "order_id is missing (a null marker, not an order number)",
        "NULL",
    )


# --------------------------------------------------------------------------- 3. 全角


def test_full_width_digits_are_the_same_ids_and_numbers(tmp_path: Path) -> None:
    rows = [
        line("Ａ１", "１７８５０", "２０２４－０１－０５ １０：００", "１２３", qty="６"),
        line("A2", "17850", "2024-01-06", "１，２００円"),
        line("A3", "C2", "2024-01-07", "￥1,000"),
    ]
    result, lines = run(make_shop(tmp_path, {ORDERS: csv_bytes(rows)}))
    assert [(r["order_id"], r["customer_id"], r["amount"], r["quantity"]) for r in lines] == [
        ("A1", "17850", Decimal(123), 6),
        ("A2", "17850", Decimal(1200), 1),
        ("A3", "C2", Decimal(1000), 1),
    ]
    assert result.summary.customers == 2


def test_a_full_width_quantity_times_unit_price(tmp_path: Path) -> None:
    cols = {k: v for k, v in JP.items() if k != "amount"} | {"unit_price": "単価"}
    header = [cols[k] for k in JP if k != "amount"] + ["単価"]
    rows = [["A1", "C1", "2024-01-05", "６", "P1", "緑茶", "発送済", "１２３"]]
    _, lines = run(make_shop(tmp_path, {ORDERS: csv_bytes(rows, header=header)}, columns=cols))
    assert (lines[0]["quantity"], lines[0]["amount"]) == (6, Decimal(738))


# --------------------------------------------------------------------------- 4. re-exports


def test_a_re_exported_order_is_taken_whole_from_the_last_file(tmp_path: Path) -> None:
    first = [
        line("A1", "C1", "2024-01-05 10:00", "1000", pid="P1"),
        line("A1", "C1", "2024-01-05 10:00", "2000", pid="P2"),
        line("A2", "C2", "2024-01-06 10:00", "500"),
        line("A3", "C3", "2024-01-07 10:00", "700"),
    ]
    second = [  # A1 again with a corrected price, A3 again cancelled
        line("A1", "C1", "2024-01-05 10:00", "1000", pid="P1"),
        line("A1", "C1", "2024-01-05 10:00", "2500", pid="P2"),
        line("A3", "C3", "2024-01-07 10:00", "700", status="cancelled"),
    ]
    files = {"raw/orders_1.csv": csv_bytes(first), "raw/orders_2.csv": csv_bytes(second)}
    result, lines = run(make_shop(tmp_path, files))
    s = result.summary
    assert [(r["order_id"], r["amount"]) for r in lines] == [
        ("A1", Decimal(1000)),
        ("A1", Decimal(2500)),
        ("A2", Decimal(500)),
    ]
    assert (s.revenue, s.orders, s.orders_replaced) == ("4000", 2, 2)
    assert s.dropped == {
        "exact_duplicate": 1,  # A1/P1: the same line in both files
        "excluded_status": 1,
        "replaced_by_later_export": 2,  # A1/P2 at 2000, A3 as first exported
    }
    assert "orders replaced" in s.render()


def test_a_file_order_follows_the_sources_then_the_names(tmp_path: Path) -> None:
    old = csv_bytes([line("A1", "C1", "2024-01-05", "100")])
    new = csv_bytes([line("A1", "C1", "2024-01-05", "300")])
    files = {"raw/b/orders.csv": old, "raw/a/orders.csv": new}
    shop = make_shop(tmp_path, files, sources=[{"path": "raw/b/*.csv"}, {"path": "raw/a/*.csv"}])
    _, lines = run(shop)
    assert amounts(lines) == [Decimal(300)]  # raw/a comes later in the sources


# --------------------------------------------------------------------------- 5. early dates


@pytest.mark.parametrize("ts", ["1900-01-01", "0001-01-01 00:00", "1999-12-31 23:59:59"])
def test_dates_before_min_order_date_are_errors(tmp_path: Path, ts: str) -> None:
    [problem] = problems(one_line_shop(tmp_path, ts=ts))
    assert problem == InputProblem(
        ORDERS, 3, "受注日時", "date is before the shop's min_order_date (2000-01-01)", ts
    )


def test_min_order_date_is_a_setting(tmp_path: Path) -> None:
    rows = [line("A1", "C1", "1995-03-01", "100")]
    shop = make_shop(tmp_path, {ORDERS: csv_bytes(rows)}, min_order_date="1990-01-01")
    _, lines = run(shop)
    assert lines[0]["ordered_at"].year == 1995
    shop = make_shop(tmp_path, {ORDERS: csv_bytes(rows)}, min_order_date="1996-01-01")
    [problem] = problems(shop)
    assert problem.message == "date is before the shop's min_order_date (1996-01-01)"


# --------------------------------------------------------------------------- 6. email ids


def test_email_customer_ids_are_replaced_by_a_keyed_hash(tmp_path: Path) -> None:
    rows = [
        line("A1", "Taro@Example.jp", "2024-01-05", "100"),
        line("A2", "taro@example.jp ", "2024-01-06", "100"),
        line("A3", "17850", "2024-01-07", "100"),
    ]
    customers = "customer_id,prefecture\ntaro@example.jp,東京都\n17850,大阪府\n"
    shop = make_shop(
        tmp_path,
        {ORDERS: csv_bytes(rows), "raw/customers.csv": customers.encode()},
        customers={"path": "raw/customers.csv"},
    )
    result, lines = run(shop)
    ids = [r["customer_id"] for r in lines]
    assert ids[0] == ids[1] != "17850" and ids[2] == "17850"
    assert ids[0].startswith("h") and len(ids[0]) == 17
    assert result.summary.customer_ids_hashed == 2
    assert "customer ids hashed" in result.summary.render()
    table = pq.read_table(result.customers_path).to_pylist()
    assert {r["customer_id"] for r in table} == {ids[0], "17850"}  # the tables join
    for name in ("orders.parquet", "order_totals.parquet", "customers.parquet"):
        t = pq.read_table(shop / "canonical" / name)
        cells = [str(v) for c in t.column_names for v in t.column(c).to_pylist()]
        assert not any("@" in v for v in cells), name
    assert "@" not in (shop / "canonical" / "quality.json").read_text(encoding="utf-8")
    key = shop / ".customer-id-key"
    assert key.stat().st_mode & 0o777 == 0o600
    _, lines = run(shop)  # the same key: the same ids
    assert [r["customer_id"] for r in lines] == ids
    key.write_text("00" * 32 + "\n")
    _, lines = run(shop)  # another key: other ids (keyed, not a plain hash)
    assert lines[0]["customer_id"] != ids[0]


# --------------------------------------------------------------------------- 7. signs


def test_a_negative_quantity_with_a_positive_amount_is_an_error(tmp_path: Path) -> None:
    [problem] = problems(one_line_shop(tmp_path, qty="-1", amount="500"))
    assert problem == InputProblem(
        ORDERS,
        3,
        "小計",
        "a negative quantity with a positive amount: a return must have a negative amount "
        "(quantity -1)",
        "500",
    )


def test_the_sign_rule_is_reported_with_the_cell_problems_in_one_error(tmp_path: Path) -> None:
    rows = [line("A1", "C1", "2024-01-05", "2,55"), line("A2", "C1", "2024-01-06", "500", qty="-2")]
    found = problems(make_shop(tmp_path, {ORDERS: csv_bytes(rows)}))
    assert [(p.row, p.message.split(":")[0]) for p in found] == [
        (2, "ambiguous number"),
        (3, "a negative quantity with a positive amount"),
    ]


def test_a_positive_quantity_with_a_negative_amount_is_a_counted_discount(tmp_path: Path) -> None:
    rows = [
        line("A1", "C1", "2024-01-05", "3000", pid="P1"),
        line("A1", "C1", "2024-01-05", "-500", qty="1", pid="COUPON"),
        line("A2", "C1", "2024-01-06", "▲3000", qty="-1"),  # a return
    ]
    result, _ = run(make_shop(tmp_path, {ORDERS: csv_bytes(rows)}))
    assert result.summary.negative_amount_positive_quantity == 1
    assert result.summary.revenue == "-500"
    assert "discount lines" in result.summary.render()


# --------------------------------------------------------------------------- 8. shrinking


def _four_orders(shop: Path) -> Path:
    rows = [line(f"A{i}", "C1", f"2024-01-0{i}", "100") for i in range(1, 5)]
    return make_shop(shop, {ORDERS: csv_bytes(rows)})


def test_a_header_only_export_never_replaces_good_data(tmp_path: Path) -> None:
    shop = _four_orders(tmp_path)
    run(shop)
    before = tree_hashes(shop / "canonical")
    (shop / ORDERS).write_bytes(csv_bytes([]))
    with pytest.raises(IngestError) as info:
        ecrm.ingest(shop, today=TODAY)
    assert str(info.value) == (
        "1 problem(s) in the raw exports of shop 'test-shop'; nothing was written:\n"
        "  - raw/orders*: the exports hold 0 orders where the current canonical set holds 4: "
        "no orders, so nothing was replaced (a truncated or header-only export?). If the shop "
        "really has fewer orders now, run `ecrm ingest test-shop --allow-shrink`"
    )
    assert tree_hashes(shop / "canonical") == before
    result = ecrm.ingest(shop, today=TODAY, allow_shrink=True)
    assert (result.summary.orders, result.summary.previous_orders) == (0, 4)


def test_fewer_than_half_the_orders_is_refused_half_is_not(tmp_path: Path) -> None:
    shop = _four_orders(tmp_path)
    run(shop)
    (shop / ORDERS).write_bytes(csv_bytes([line("A1", "C1", "2024-01-01", "100")]))
    [problem] = problems(shop)
    assert problem.message.startswith(
        "the exports hold 1 orders where the current canonical set holds 4: fewer than half"
    )
    two = [line("A1", "C1", "2024-01-01", "100"), line("A2", "C1", "2024-01-02", "100")]
    (shop / ORDERS).write_bytes(csv_bytes(two))
    assert run(shop)[0].summary.orders == 2


def test_the_cli_flag_allow_shrink(tmp_path: Path) -> None:
    from ecrm.render.cli import app

    shop = _four_orders(tmp_path)
    run(shop)
    (shop / ORDERS).write_bytes(csv_bytes([]))
    runner = CliRunner()
    refused = runner.invoke(app, ["ingest", str(shop), "--today", "2024-12-31"])
    assert refused.exit_code == 2
    assert "fewer orders now, run `ecrm ingest test-shop --allow-shrink`" in refused.output
    assert "Traceback" not in refused.output
    done = runner.invoke(app, ["ingest", str(shop), "--today", "2024-12-31", "--allow-shrink"])
    assert done.exit_code == 0, done.output
    assert pq.read_table(shop / "canonical" / "orders.parquet").num_rows == 0


# --------------------------------------------------------------------------- 9. overflow, one set

BIG = "99,999,999,999,999.9999"


def test_an_overflowing_order_is_an_error_before_anything_is_written(tmp_path: Path) -> None:
    shop = _four_orders(tmp_path)
    run(shop)
    before = tree_hashes(shop)
    rows = [line("A1", "C1", "2024-01-01", BIG), line("A1", "C1", "2024-01-01", BIG, pid="P2")]
    (shop / ORDERS).write_bytes(csv_bytes(rows))
    before = {k: v for k, v in tree_hashes(shop).items() if not k.startswith("raw")}
    [problem] = problems(shop)
    assert problem == InputProblem(
        ORDERS,
        2,
        "小計",
        "the lines of order 'A1' add up to 199,999,999,999,999.9998, beyond the largest amount "
        "ecrm stores (±99,999,999,999,999.9999; raw/orders.csv row 2, raw/orders.csv row 3)",
    )
    assert {k: v for k, v in tree_hashes(shop).items() if not k.startswith("raw")} == before


def test_amounts_adding_up_beyond_the_money_type_are_an_error(tmp_path: Path) -> None:
    rows = [line(f"A{i}", "C1", "2024-01-01", "60,000,000,000,000") for i in range(2)]
    [problem] = problems(make_shop(tmp_path, {ORDERS: csv_bytes(rows)}))
    assert problem.message == (
        "the amounts add up to 120,000,000,000,000.0000 in absolute value, beyond the largest "
        "total ecrm stores (±99,999,999,999,999.9999): check the amount column's unit"
    )


def _set_of(shop: Path) -> dict[str, Any]:
    """The canonical set a reader sees: every file's hash, through the link (and the summary)."""
    return tree_hashes(shop / "canonical")


def _set_and_summary(shop: Path) -> dict[str, Any]:
    q = json.loads((shop / "canonical" / "quality.json").read_text(encoding="utf-8"))
    return {**_set_of(shop), "quality": q}


def _store(shop: Path) -> list[str]:
    return sorted(p.name for p in (shop / ".canonical").iterdir())


def test_the_canonical_folder_is_a_link_to_one_version(tmp_path: Path) -> None:
    shop = _four_orders(tmp_path)
    run(shop)
    link = shop / "canonical"
    assert link.is_symlink() and os.readlink(link).startswith(".canonical/")
    assert sorted(_set_of(shop)) == ["order_totals.parquet", "orders.parquet", "quality.json"]
    first = os.readlink(link)
    run(shop)
    assert os.readlink(link) != first
    assert _store(shop) == [".lock", os.readlink(link).split("/")[1]]  # the old one removed
    from ecrm.engine import orders as engine

    assert engine.stored_order_totals(link / "orders.parquet") is not None


def test_a_real_canonical_folder_of_an_older_ecrm_is_migrated(tmp_path: Path) -> None:
    shop = _four_orders(tmp_path)
    run(shop)
    _make_legacy(shop)
    assert not (shop / "canonical").is_symlink()
    (shop / "canonical" / ".orders.parquetx1.tmp").write_bytes(b"stale")  # an old temp file
    result, _ = run(shop)
    assert (shop / "canonical").is_symlink() and result.summary.previous_orders == 4
    assert _store(shop) == [".lock", os.readlink(shop / "canonical").split("/")[1]]


def _make_legacy(shop: Path) -> None:
    """Turn the shop's canonical link into the real folder an older ecrm wrote."""
    real = (shop / "canonical").resolve()
    (shop / "canonical").unlink()
    shutil.copytree(real, shop / "canonical")
    shutil.rmtree(shop / ".canonical")


STEPS_BEFORE = ["started", "written", "linked"]
STEPS_AFTER = ["flipped", "cleaned"]


@pytest.mark.parametrize("step", STEPS_BEFORE + STEPS_AFTER)
def test_a_failure_at_any_step_leaves_the_old_or_the_new_set_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, step: str
) -> None:
    shop, old, new = _old_and_new(tmp_path)

    def stop(at: str) -> None:
        if at == step:
            raise RuntimeError(f"stopped at {at}")

    monkeypatch.setattr(canonical_mod, "fault_point", stop)
    with pytest.raises(RuntimeError, match=f"stopped at {step}"):
        ecrm.ingest(shop, today=TODAY)
    if step in STEPS_BEFORE:
        assert _set_of(shop) == old  # byte for byte
    else:
        _assert_whole(shop, new)
    if step in STEPS_BEFORE:  # the new version was removed
        assert _store(shop) == [".lock", os.readlink(shop / "canonical").split("/")[1]]
    monkeypatch.undo()
    run(shop)
    _assert_whole(shop, new)
    assert _store(shop) == [".lock", os.readlink(shop / "canonical").split("/")[1]]


def _old_and_new(tmp_path: Path) -> tuple[Path, dict[str, str], dict[str, str]]:
    """A shop with its old set ingested and new exports; the two sets' files (no totals)."""
    reference = _four_orders(tmp_path / "reference")
    run(reference)
    rows = [line(f"A{i}", "C2", f"2024-02-0{i}", "300") for i in range(1, 6)]
    (reference / ORDERS).write_bytes(csv_bytes(rows))
    run(reference)
    new = _set_and_summary(reference)
    shop = _four_orders(tmp_path / "shop")
    run(shop)
    old = _set_of(shop)
    (shop / ORDERS).write_bytes(csv_bytes(rows))
    return shop, old, new


def _assert_whole(shop: Path, want: dict[str, str]) -> None:
    """The set a reader sees is ``want``: same orders and summary, its own order totals."""
    from ecrm.engine import orders as engine

    got = _set_of(shop)
    assert sorted(got) == sorted(k for k in want if k != "quality")
    assert got["orders.parquet"] == want["orders.parquet"]
    quality = json.loads((shop / "canonical" / "quality.json").read_text(encoding="utf-8"))
    # the same summary; only the count of the set it replaced may differ after a re-run
    assert {**quality, "previous_orders": None} == {**want["quality"], "previous_orders": None}
    assert engine.stored_order_totals(shop / "canonical" / "orders.parquet") is not None


KILL = textwrap.dedent(
    """
    import os, sys
    from datetime import date
    import ecrm
    from ecrm.io import canonical

    step = sys.argv[2]
    canonical.fault_point = lambda at: os._exit(3) if at == step else None
    ecrm.ingest(sys.argv[1], today=date(2024, 12, 31))
    os._exit(0)
    """
)


def _kill_at(shop: Path, step: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", KILL, str(shop), step], env=env, capture_output=True, text=True
    )
    assert done.returncode == 3, done.stderr


@pytest.mark.parametrize("step", STEPS_BEFORE + STEPS_AFTER)
def test_a_process_killed_at_any_step_leaves_the_old_or_the_new_set_whole(
    tmp_path: Path, step: str
) -> None:
    shop, old, new = _old_and_new(tmp_path)
    _kill_at(shop, step)
    if step in STEPS_BEFORE:
        assert _set_of(shop) == old  # byte for byte
    else:
        _assert_whole(shop, new)
    run(shop)  # the next run removes what the killed one left
    _assert_whole(shop, new)
    assert _store(shop) == [".lock", os.readlink(shop / "canonical").split("/")[1]]
    assert not [p for p in shop.rglob("*.tmp")]


def test_a_kill_during_the_migration_is_repaired_by_the_next_run(tmp_path: Path) -> None:
    shop, old, new = _old_and_new(tmp_path)
    _make_legacy(shop)
    _kill_at(shop, "migrated")
    # the one moment without a canonical folder: the old set is whole in .canonical/
    assert not (shop / "canonical").exists()
    canonical_mod.recover(shop)
    assert _set_of(shop) == old
    (shop / "canonical").unlink()
    run(shop)  # recovers, then replaces
    _assert_whole(shop, new)
    assert _store(shop) == [".lock", os.readlink(shop / "canonical").split("/")[1]]


def test_a_failed_migration_puts_the_old_folder_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop, old, _ = _old_and_new(tmp_path)
    _make_legacy(shop)

    def stop(at: str) -> None:
        if at == "linked":
            raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(canonical_mod, "fault_point", stop)
    with pytest.raises(CanonicalWriteError, match="Input/output error"):
        ecrm.ingest(shop, today=TODAY)
    assert not (shop / "canonical").is_symlink()
    assert tree_hashes(shop / "canonical") == old


# --------------------------------------------------------------------- 10. damaged, read-only, full


def test_a_damaged_canonical_orders_file_is_a_clear_error(tmp_path: Path) -> None:
    from ecrm import rfm
    from ecrm.errors import DataError

    shop = _four_orders(tmp_path)
    run(shop)
    orders = shop / "canonical" / "orders.parquet"
    real = orders.resolve()
    real.write_bytes(real.read_bytes()[:100])  # truncated
    with pytest.raises(DataError) as info:
        rfm.rfm(orders, as_of="2024-12-31")
    assert str(info.value) == (
        f"{orders} cannot be read as Parquet (Invalid Input Error: No magic bytes found at end "
        f"of file '{orders}'): the canonical set is damaged. Run `ecrm ingest {tmp_path.name}` "
        "again to "
        "rebuild it from the raw exports"
    )
    result, _ = run(shop)  # ingesting again rebuilds it: nothing good to protect
    assert result.summary.previous_orders is None
    assert "unreadable (damaged): replaced" in result.summary.render()
    assert len(rfm.rfm(orders, as_of="2024-12-31")) == 1


@pytest.mark.parametrize(
    ("err", "start"),
    [
        (errno.ENOSPC, "no space left on the device holding"),
        (errno.EACCES, "permission denied writing"),
        (errno.EROFS, "permission denied writing"),
    ],
)
def test_write_errors_name_the_folder_and_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, err: int, start: str
) -> None:
    shop = _four_orders(tmp_path)
    run(shop)
    before = _set_of(shop)
    target = shop / ".canonical"

    def fail(table: object, where: str, **kwargs: object) -> None:
        Path(where).write_bytes(b"PAR1 half")
        raise OSError(err, os.strerror(err), str(target))

    monkeypatch.setattr(importlib.import_module("ecrm.io.canonical").pq, "write_table", fail)
    with pytest.raises(CanonicalWriteError) as info:
        ecrm.ingest(shop, today=TODAY)
    message = str(info.value)
    assert message.startswith(f"{start} {target}")
    assert message.endswith(
        "run `ecrm ingest test-shop` again; the previous canonical set is unchanged."
    )
    if err != errno.ENOSPC:
        assert f"Check that this user may write to the shop folder {shop}" in message
    assert _set_of(shop) == before
    assert _store(shop) == [".lock", os.readlink(shop / "canonical").split("/")[1]]


def test_a_read_only_shop_folder_through_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ecrm.render.cli import app

    shop = _four_orders(tmp_path)
    run(shop)
    before = _set_of(shop)
    real_symlink = os.symlink

    def refuse(src: str, dst: str, *a: object, **k: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(dst))

    monkeypatch.setattr(os, "symlink", refuse)
    out = CliRunner().invoke(app, ["ingest", str(shop), "--today", "2024-12-31"])
    monkeypatch.setattr(os, "symlink", real_symlink)
    assert out.exit_code == 2
    assert out.output.startswith("error: permission denied writing ")
    assert "Traceback" not in out.output
    assert _set_of(shop) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_a_really_read_only_shop_folder(tmp_path: Path) -> None:
    shop = _four_orders(tmp_path)
    run(shop)
    before = _set_of(shop)
    store = shop / ".canonical"
    store.chmod(0o555)
    try:
        with pytest.raises(CanonicalWriteError, match="permission denied writing"):
            ecrm.ingest(shop, today=TODAY)
    finally:
        store.chmod(0o755)
    assert _set_of(shop) == before


# --------------------------------------------------------------------------- 11. outside sources


def test_a_symlink_out_of_the_shop_folder_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    shop = make_shop(tmp_path / "shop", {})
    (shop / "raw").mkdir()
    (shop / "raw" / "orders.csv").symlink_to(secret)
    with pytest.raises(SettingsError) as info:
        ecrm.ingest(shop, today=TODAY)
    assert str(info.value) == (
        f"shop 'test-shop': source file(s) outside the shop folder {shop}: raw/orders.csv "
        f"(resolves to {secret}). Copy the exports into the shop folder, or set "
        "`allow_external_sources: true` in its settings to read them where they are"
    )
    assert "root:x" not in str(info.value)


@pytest.mark.parametrize("how", ["relative", "absolute"])
def test_paths_out_of_the_shop_folder_are_refused(tmp_path: Path, how: str) -> None:
    other = tmp_path / "other" / "orders.csv"
    other.parent.mkdir()
    other.write_bytes(csv_bytes([line("A1", "C1", "2024-01-05", "100")]))
    path = "../other/orders.csv" if how == "relative" else str(other)
    shop = make_shop(tmp_path / "shop", {}, sources=[{"path": path}])
    with pytest.raises(SettingsError, match="outside the shop folder"):
        ecrm.ingest(shop, today=TODAY)
    shop = make_shop(tmp_path / "shop", {}, sources=[{"path": path}], allow_external_sources=True)
    assert run(shop)[0].summary.orders == 1


def test_a_product_master_out_of_the_shop_folder_is_refused(tmp_path: Path) -> None:
    master = tmp_path / "products.csv"
    master.write_text("商品コード,カテゴリ\nP1,お茶\n", encoding="utf-8")
    shop = make_shop(
        tmp_path / "shop",
        {ORDERS: csv_bytes([line("A1", "C1", "2024-01-05", "100")])},
        product_master={
            "path": str(master),
            "key": "商品コード",
            "columns": {"category": "カテゴリ"},
        },
    )
    with pytest.raises(SettingsError, match=r"outside the shop folder .*products\.csv"):
        ecrm.ingest(shop, today=TODAY)


def test_the_missing_column_message_never_echoes_a_non_export(tmp_path: Path) -> None:
    shop = make_shop(tmp_path, {ORDERS: b"root:x:0:0:root:/root:/bin/bash\nx\n"})
    [problem] = problems(shop)
    assert problem.message.endswith(
        ". The file has: 1 column (not a comma-separated export? check `delimiter`)"
    )
    assert "root" not in problem.message


def test_the_missing_column_message_caps_and_sanitises_the_header(tmp_path: Path) -> None:
    header = [f"col{i}" for i in range(35)]
    header[0] = "x" * 60
    header[1] = "bad\x1bname"
    shop = make_shop(tmp_path, {ORDERS: csv_bytes([["1"] * 35], header=header)})
    [problem] = problems(shop)
    listed = problem.message.split(". The file has: ")[1]
    assert listed.startswith(f"['{'x' * 39}…', 'bad?name', 'col2',")
    assert listed.endswith("'col29'] and 5 more")


def test_ingesting_a_source_never_changes_the_raw_file_or_date(tmp_path: Path) -> None:
    shop = _four_orders(tmp_path)
    raw = shop / ORDERS
    stat = raw.stat()
    run(shop)
    assert (raw.stat().st_mtime_ns, raw.stat().st_size) == (stat.st_mtime_ns, stat.st_size)
