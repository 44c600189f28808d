"""``ecrm extract`` and :func:`ecrm.analysis.extract.extract`: customers by condition.

Each condition on a hand-made shop against a hand count; combinations on the demo
shop against an independent pandas computation; the CLI's exit codes and messages.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ecrm.analysis import cpm, lifecycle
from ecrm.analysis.extract import contacts, extract, profile
from ecrm.errors import ParameterError
from ecrm.render.cli import app

AS_OF = dt.date(2026, 10, 31)
REPO = Path(__file__).resolve().parents[1]


def _tiny() -> pd.DataFrame:
    """Six customers and a guest; one line per row (order_id, customer, day, amount, ...)."""
    rows = [
        # a: アウター on the own site, then a hat on Rakuten: 2 purchases
        ("1", "a", "2025-03-01", 12000, "アウター", "P1", "自社サイト"),
        ("2", "a", "2026-09-01", 3000, "帽子", "P2", "楽天市場"),
        # b: first on Rakuten (Jan 2025), one purchase
        ("3", "b", "2025-01-15", 8000, "アウター", "P1", "楽天市場"),
        # c: bought アウター but returned it in full (order net 0: not a purchase)
        ("4", "c", "2026-02-01", 9000, "アウター", "P1", "自社サイト"),
        ("4", "c", "2026-02-01", -9000, "アウター", "P1", "自社サイト"),
        ("5", "c", "2026-03-01", 2000, "帽子", "P2", "自社サイト"),
        # d: three purchases on Amazon, the first on 2024-12-31
        ("6", "d", "2024-12-31", 1000, "帽子", "P2", "Amazon"),
        ("7", "d", "2025-06-30", 1000, "帽子", "P2", "Amazon"),
        ("8", "d", "2026-10-31", 1000, "帽子", "P3", "Amazon"),
        # e: one order of two lines, a coat and a returned hat (net > 0): bought アウター only
        ("9", "e", "2025-06-30", 5000, "アウター", "P1", "自社サイト"),
        ("9", "e", "2025-06-30", -500, "帽子", "P2", "自社サイト"),
        # f: ordered after as_of only: not a customer yet
        ("10", "f", "2026-11-02", 5000, "アウター", "P1", "自社サイト"),
        # a guest
        ("11", None, "2026-05-01", 7000, "アウター", "P1", "自社サイト"),
    ]
    df = pd.DataFrame(
        rows,
        columns=["order_id", "customer_id", "day", "amount", "category", "product_id", "channel"],
    )
    df["ordered_at"] = pd.to_datetime(df.pop("day")) + pd.Timedelta(hours=10)
    return df


def ids(**conditions) -> list[str]:
    return extract(_tiny(), as_of=AS_OF, **conditions)["customer_id"].tolist()


def test_no_condition_is_every_customer_at_as_of():
    got = extract(_tiny(), as_of=AS_OF)
    assert got["customer_id"].tolist() == ["a", "b", "c", "d", "e"]
    assert got.columns.tolist() == [
        "customer_id",
        "first_purchase",
        "last_purchase",
        "frequency",
        "monetary",
        "revenue_12m",
        "first_channel",
        "rfm_segment",
        "cpm_segment",
        "lifecycle_segment",
    ]
    row = got.set_index("customer_id")
    # the 12 months to 2026-10-31 start 2025-11-01: a's 2025-03 coat is outside
    assert row["revenue_12m"].to_dict() == {"a": 3000, "b": 0, "c": 2000, "d": 1000, "e": 0}
    assert row["frequency"].to_dict() == {"a": 2, "b": 1, "c": 1, "d": 3, "e": 1}
    assert row["first_channel"].to_dict()["b"] == "楽天市場"


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ({"bought": "category:アウター"}, ["a", "b", "e"]),  # c returned it, e's hat is a return
        ({"bought": "category:帽子"}, ["a", "c", "d"]),
        ({"bought": ["category:帽子", "product:P1"]}, ["a", "b", "c", "d", "e"]),
        ({"bought": "product:P3"}, ["d"]),
        ({"not_bought": "category:アウター"}, ["c", "d"]),
        ({"not_bought": ["category:アウター", "product:P3"]}, ["c"]),
        ({"first_between": ("2024-12-31", "2025-01-15")}, ["b", "d"]),  # both ends included
        ({"first_between": ("2025-01-01", "2025-03-01")}, ["a", "b"]),
        ({"channel": "楽天市場"}, ["a", "b"]),  # a's later purchase counts: any channel
        ({"channel": ["amazon", "楽天市場"]}, ["a", "b", "d"]),  # case ignored
        ({"min_purchases": 2}, ["a", "d"]),
        ({"min_purchases": 3}, ["d"]),
        ({"segment": "lifecycle:dormant"}, ["c"]),  # 244 days: past 120, within 360
        ({"segment": "lifecycle:first_repeat"}, ["a"]),
        ({"segment": "cpm:steady_active"}, ["a", "d"]),  # tenure ≥ 210, spend < 70,000
        ({"segment": ["cpm:first_lapsed", "cpm:first_active"]}, ["b", "c", "e"]),
        ({"bought": "category:アウター", "channel": "自社サイト", "min_purchases": 2}, ["a"]),
        ({"bought": "category:帽子", "not_bought": "category:アウター"}, ["c", "d"]),
    ],
)
def test_each_condition_by_hand(conditions, expected):
    assert ids(**conditions) == expected


@pytest.mark.parametrize(
    ("conditions", "message"),
    [
        ({"segment": "loyal_lapsed"}, "segment must be <kind>:<code>"),
        ({"segment": "deciles:top"}, "segment must be <kind>:<code>"),
        ({"segment": "cpm:vip"}, "unknown cpm segment 'vip'"),
        ({"bought": "アウター"}, "bought/not-bought must be one of"),
        ({"not_bought": "category:"}, "bought/not-bought must be one of"),
        ({"bought": "category:アウタ"}, "no order line has category 'アウタ'"),
        ({"channel": "rakuten"}, "no order line has channel 'rakuten'"),
        ({"bought": "brand:x"}, "the orders have no brand column"),
        ({"first_between": ("2025-02-30", "2025-03-01")}, "first_between must be two dates"),
        ({"first_between": ("2025-03-01", "2025-01-01")}, "2025-03-01 is after 2025-01-01"),
        ({"min_purchases": 0}, "min_purchases must be a whole number ≥ 1, got 0"),
    ],
)
def test_bad_conditions_are_refused(conditions, message):
    with pytest.raises(ParameterError, match=message.replace("(", r"\(")):
        ids(**conditions)


def test_contacts_first_or_any_channel():
    got = contacts(_tiny(), as_of=AS_OF, no_contact=["楽天市場", "ａｍａｚｏｎ"]).set_index(
        "customer_id"
    )
    # a: first own site; b: Rakuten only; d: Amazon only (full-width setting matches)
    assert got["no_contact_channel"].to_dict() == {
        "a": False,
        "b": True,
        "c": False,
        "d": True,
        "e": False,
    }
    later_own = pd.concat(
        [
            _tiny(),
            pd.DataFrame(
                {
                    "order_id": ["12"],
                    "customer_id": ["b"],
                    "ordered_at": [pd.Timestamp("2026-04-01 09:00")],
                    "amount": [4000],
                    "category": ["帽子"],
                    "product_id": ["P2"],
                    "channel": ["自社サイト"],
                }
            ),
        ]
    )
    again = contacts(later_own, as_of=AS_OF, no_contact=["楽天市場"]).set_index("customer_id")
    assert not again.loc["b", "no_contact_channel"]  # bought on the own site later: contactable
    assert again.loc["b", "first_channel"] == "楽天市場"


def test_profile_counts_and_mixes():
    prof = profile(extract(_tiny(), as_of=AS_OF), segment_kind="cpm")
    assert prof["customers"] == 5
    assert prof["revenue_12m"] == 6000
    assert prof["first_channels"].to_dict() == {"自社サイト": 3, "Amazon": 1, "楽天市場": 1}
    assert prof["segments"].sum() == 5


# --- the demo shop against an independent pandas computation -------------------------------


def _pandas_view(orders: pd.DataFrame) -> dict[str, pd.DataFrame]:
    o = orders[orders["customer_id"].notna() & (orders["ordered_at"] < pd.Timestamp("2026-11-01"))]
    o = o.assign(amount=o["amount"].astype(float), day=o["ordered_at"].dt.date)
    net = o.groupby("order_id")["amount"].sum()
    purchases = o[o["order_id"].map(net) > 0]
    first = purchases.groupby("customer_id")["day"].min()
    freq = purchases.groupby("customer_id")["order_id"].nunique()
    lines = purchases[purchases["amount"] > 0]
    return {"first": first, "freq": freq, "lines": lines}


@pytest.fixture(scope="module")
def demo_orders(demo_root) -> pd.DataFrame:
    return pd.read_parquet(demo_root / "data" / "demo-apparel" / "canonical" / "orders.parquet")


@hyp_settings(max_examples=12, deadline=None)
@given(
    category=st.sampled_from(["アウター", "トップス", "シューズ", "バッグ"]),
    avoid=st.sampled_from(["インナー", "ワンピース", None]),
    channel=st.sampled_from(["自社サイト", "楽天市場", "Amazon", None]),
    start=st.dates(dt.date(2023, 11, 1), dt.date(2026, 6, 1)),
    span=st.integers(0, 500),
    n=st.integers(1, 4),
)
def test_combinations_match_pandas_on_the_demo_shop(
    demo_orders, category, avoid, channel, start, span, n
):
    view = _pandas_view(demo_orders)
    lines = view["lines"]
    end = start + dt.timedelta(days=span)
    keep = set(view["first"][(view["first"] >= start) & (view["first"] <= end)].index)
    keep &= set(view["freq"][view["freq"] >= n].index)
    keep &= set(lines.loc[lines["category"] == category, "customer_id"])
    if avoid:
        keep -= set(lines.loc[lines["category"] == avoid, "customer_id"])
    if channel:
        keep &= set(lines.loc[lines["channel"] == channel, "customer_id"])
    got = extract(
        demo_orders,
        as_of=AS_OF,
        bought=f"category:{category}",
        not_bought=f"category:{avoid}" if avoid else None,
        channel=channel,
        first_between=(start, end),
        min_purchases=n,
    )
    assert got["customer_id"].tolist() == sorted(keep)


def test_segments_match_the_segment_analyses_on_the_demo_shop(demo_orders):
    c = cpm.cpm(demo_orders, as_of=AS_OF)
    lc = lifecycle.lifecycle(demo_orders, as_of=AS_OF)
    lapsed = set(c.loc[c["segment"] == "loyal_lapsed", "customer_id"])
    dormant = set(lc.loc[lc["segment"].isin(["dormant", "churned"]), "customer_id"])
    got = extract(
        demo_orders,
        as_of=AS_OF,
        segment=["cpm:loyal_lapsed", "lifecycle:dormant", "lifecycle:churned"],
    )
    assert lapsed & dormant  # the demo has some: the test can fail
    assert got["customer_id"].tolist() == sorted(lapsed & dormant)


# --- the command line -----------------------------------------------------------------------


def _run(root: Path, *args: str, monkeypatch) -> object:
    monkeypatch.setenv("ECRM_HOME", str(root))
    return CliRunner().invoke(app, ["extract", *args])


def test_cli_prints_a_profile_and_writes_the_lawful_list(demo_root, tmp_path, monkeypatch):
    out = tmp_path / "lapsed.csv"
    res = _run(
        demo_root,
        "demo-apparel",
        "--month",
        "2026-10",
        "--segment",
        "cpm:loyal_lapsed",
        "--out",
        str(out),
        monkeypatch=monkeypatch,
    )
    assert res.exit_code == 0, res.output
    written = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    orders = pd.read_parquet(demo_root / "data" / "demo-apparel" / "canonical" / "orders.parquet")
    c = cpm.cpm(orders, as_of=AS_OF)
    seg = set(c.loc[c["segment"] == "loyal_lapsed", "customer_id"])
    marketplace = contacts(orders, as_of=AS_OF, no_contact=["楽天市場", "Amazon"])
    blocked = set(marketplace.loc[marketplace["no_contact_channel"], "customer_id"])
    assert set(written["customer_id"]) == seg - blocked
    assert set(written["mail_opt_in"]) <= {"true", "false", "unknown"}
    assert f"顧客数: {len(seg - blocked):,} 人" in res.output
    assert f"除外: 連絡不可チャネル {len(seg & blocked):,} 人、配信同意なし 0 人" in res.output
    assert "優良離脱" in res.output
    assert str(out) in res.output
    again = _run(
        demo_root,
        "demo-apparel",
        "--month",
        "2026-10",
        "--segment",
        "cpm:loyal_lapsed",
        "--out",
        str(out),
        monkeypatch=monkeypatch,
    )
    assert again.exit_code == 2
    assert "exists; not overwritten (pass --force" in again.output


def test_cli_default_file_is_beside_the_month_reports(demo_root, tmp_path, monkeypatch):
    root = tmp_path / "project"
    (root / "data").mkdir(parents=True)
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(demo_root / "data" / "demo-food", root / "data" / "demo-food")
    args = ["demo-food", "--month", "2026-10", "--min-purchases", "5", "--lang", "en"]
    res = _run(root, *args, monkeypatch=monkeypatch)
    assert res.exit_code == 0, res.output
    written = list((root / "reports" / "demo-food" / "extracts" / "2026-10").glob("extract-*.csv"))
    assert len(written) == 1
    assert str(written[0]) in res.output
    assert "customers: " in res.output and "revenue (12 months): ¥" in res.output
    same = _run(root, *args, monkeypatch=monkeypatch)
    assert same.exit_code == 2  # the same conditions name the same file: not overwritten
    forced = _run(root, *args, "--force", monkeypatch=monkeypatch)
    assert forced.exit_code == 0, forced.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--month", "2026-13"], "month must be YYYY-MM"),
        (["--month", "2026-10", "--segment", "cpm:nope"], "unknown cpm segment 'nope'"),
        (["--month", "2026-10", "--bought", "アウター"], "bought/not-bought must be one of"),
        (["--month", "2026-10", "--channel", "rakuten"], "no order line has channel 'rakuten'"),
        (
            ["--month", "2026-10", "--first-between", "2026-05-01", "2026-04-01"],
            "2026-05-01 is after 2026-04-01",
        ),
        (["--month", "2026-10", "--min-purchases", "0"], "min_purchases must be a whole number"),
    ],
)
def test_cli_bad_arguments_exit_2_with_a_message(demo_root, monkeypatch, args, message):
    res = _run(demo_root, "demo-apparel", *args, monkeypatch=monkeypatch)
    assert res.exit_code == 2
    assert message in res.output
    assert "Traceback" not in res.output


def test_cli_unknown_shop_and_missing_orders(tmp_path, demo_root, monkeypatch):
    res = _run(demo_root, "no-such-shop", "--month", "2026-10", monkeypatch=monkeypatch)
    assert res.exit_code == 2 and "error:" in res.output
    root = tmp_path / "p"
    (root / "data").mkdir(parents=True)
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(demo_root / "data" / "demo-food", root / "data" / "demo-food")
    (root / "data" / "demo-food" / "canonical" / "orders.parquet").unlink()
    res = _run(root, "demo-food", "--month", "2026-10", monkeypatch=monkeypatch)
    assert res.exit_code == 2
    assert "has no canonical orders: run `ecrm ingest demo-food`" in res.output
