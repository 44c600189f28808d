import datetime as dt

import pytest

from ecrm.analysis import kpi
from tests import fixtures_segments as fx


@pytest.fixture(scope="module")
def wide():
    return kpi.kpi_wide(fx.orders(), as_of=fx.AS_OF, months=3).set_index("month")


def test_october_by_hand(wide):
    oct_ = wide.loc[dt.date(2026, 10, 1)]
    assert oct_.revenue == 19999 + 20000 + 10000 + 3000  # G, K, M×2, guest J
    assert oct_.orders == 5
    assert oct_.customers == 3
    assert oct_.new_customers == 1  # M
    assert oct_.repeat_customers == 2  # G, K
    assert oct_.new_revenue == 10000
    assert oct_.repeat_revenue == 39999
    assert oct_.aov == pytest.approx(52999 / 5)
    assert oct_.purchases_per_customer == pytest.approx(4 / 3)
    assert oct_.repeat_rate == pytest.approx(2 / 3)
    # cohort of July (A): no second purchase → F2 0
    assert oct_.f2_rate == 0
    # cohort of October 2025: P (9,999) and Q (100,000), no more purchases
    assert oct_.ltv_12m == pytest.approx((9999 + 100000) / 2)
    # cohort of September 2025 (E, F): 12-month LTV includes purchases within 360 days
    assert wide.loc[dt.date(2026, 9, 1)].ltv_12m == pytest.approx(
        (35000 + 35000 + 40000 + 40000) / 2
    )


def test_lapse_rate_october(wide):
    # active on Sep 30 (last purchase after 2026-02-02): A B C D E F K L S T = 10;
    # L reaches 240 days on Oct 31 (T only 239) → 1 of 10 lapsed in October
    oct_ = wide.loc[dt.date(2026, 10, 1)]
    assert oct_.lapse_rate == pytest.approx(1 / 10)


def test_table_has_changes():
    t = kpi.kpi_table(fx.orders(), as_of=fx.AS_OF, months=2)
    rev = t[t.kpi == "revenue"].set_index("month")
    assert rev.loc[dt.date(2026, 10, 1), "prev_month"] == 20000 + 5000  # K5 + S1 in Sept
    assert rev.loc[dt.date(2026, 10, 1), "mom"] == pytest.approx(52999 / 25000 - 1)
    rr = t[t.kpi == "repeat_rate"].iloc[-1]
    assert rr.change == "points"


def test_analysis_does_not_import_presentation():
    """Compute apart from display: kpi_summary lives in ecrm.present.format."""
    import ast
    from pathlib import Path

    src = Path(kpi.__file__).read_text(encoding="utf-8")
    names = [n.module or "" for n in ast.walk(ast.parse(src)) if isinstance(n, ast.ImportFrom)] + [
        a.name for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Import) for a in n.names
    ]
    assert not [n for n in names if n.startswith(("ecrm.present", "ecrm.render"))]
    assert not hasattr(kpi, "kpi_summary")


def _category_orders():
    """a: tops in Aug 2026, bags in Oct 2026 (cross-buyer from October);
    b: tops in Sep 2026 and tops again in Oct; c: tops + bags in Sep 2026 but the bags returned."""
    import pandas as pd

    return pd.DataFrame(
        {
            "order_id": ["1", "2", "3", "4", "5", "5", "6"],
            "customer_id": ["a", "a", "b", "b", "c", "c", "c"],
            "ordered_at": pd.to_datetime(
                [
                    *("2026-08-10", "2026-10-05", "2026-09-01", "2026-10-20"),
                    *("2026-09-15", "2026-09-15", "2026-09-20"),
                ]
            ),
            "amount": [1000, 2000, 1500, 1500, 800, 600, -600],
            "category": ["tops", "bags", "tops", "tops", "tops", "bags", "bags"],
        }
    )


def test_cross_sell_rate_by_hand_with_points_changes():
    t = kpi.kpi_table(_category_orders(), as_of="2026-10-31", months=3)
    cs = t[t["kpi"] == "cross_sell_rate"].set_index("month")
    aug, sep, oct_ = (dt.date(2026, m, 1) for m in (8, 9, 10))
    assert cs.loc[aug, "value"] == 0.0  # a alone, one category
    assert cs.loc[sep, "value"] == 0.0  # a, b, c: c's bags were returned
    assert cs.loc[oct_, "value"] == pytest.approx(1 / 3)  # a now has tops and bags
    assert cs.loc[oct_, "mom"] == pytest.approx(1 / 3)  # a difference in points, not a ratio
    assert (cs["change"] == "points").all()
    assert "cross_sell_rate" in kpi.RATE_KPIS


def test_cross_sell_rate_is_empty_without_categories():
    orders = _category_orders().drop(columns="category")
    wide = kpi.kpi_wide(orders, as_of="2026-10-31", months=3)
    assert wide["cross_sell_rate"].isna().all()
    assert wide["revenue"].notna().all()  # the other KPIs are unaffected
