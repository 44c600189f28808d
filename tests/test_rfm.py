import pandas as pd
import pytest

from ecrm.analysis import rfm
from ecrm.errors import ParameterError
from tests import fixtures_segments as fx


@pytest.fixture(scope="module")
def scores() -> pd.DataFrame:
    return rfm.rfm(fx.orders(), as_of=fx.AS_OF)


def test_fixed_bins_on_the_edges(scores):
    got = scores.set_index("customer_id")
    for cid, (*_, r, f, m, _cpm, _lc) in fx.EXPECTED.items():
        assert (got.loc[cid, "r"], got.loc[cid, "f"], got.loc[cid, "m"]) == (r, f, m), cid


def test_segments_follow_the_map(scores):
    cell_to_seg = {c: s for s, cells in rfm.DEFAULT_SEGMENT_MAP.items() for c in cells}
    for row in scores.itertuples():
        assert row.segment == cell_to_seg[f"{row.r}{row.f}"]
    assert scores.set_index("customer_id").loc["K", "segment"] == "champions"  # R5 F4
    assert scores.set_index("customer_id").loc["Q", "segment"] == "lost"  # R1 F1


def test_grid_has_25_cells_and_adds_up(scores):
    grid = rfm.rfm_grid(scores)
    assert len(grid) == 25
    assert grid.customers.sum() == len(scores)
    assert grid.revenue.sum() == pytest.approx(scores.monetary.sum())
    cell = grid[(grid.r == 2) & (grid.f == 2)].iloc[0]
    assert cell.customers == 4  # C, D, E, F
    assert cell.avg_monetary == pytest.approx((70000 * 3 + 80000) / 4)


def test_segment_summary_shares(scores):
    s = rfm.rfm_segments(scores)
    assert s.customers.sum() == len(scores)
    assert s.share.sum() == pytest.approx(1.0)
    assert s.revenue_share.sum() == pytest.approx(1.0)


def test_quantile_method_equal_sizes_larger_first_ties_by_id(scores):
    q = rfm.rfm(fx.orders(), as_of=fx.AS_OF, method="quantile").set_index("customer_id")
    # 17 customers → groups of 4, 4, 3, 3, 3 for scores 5, 4, 3, 2, 1
    for col in ("r", "f", "m"):
        sizes = q[col].value_counts().sort_index(ascending=False).tolist()
        assert sizes == [4, 4, 3, 3, 3], col
    # frequency ranking: K 6; G 3; then the 2-purchase customers by id: C, D, E, F, H, M
    assert q.loc["K", "f"] == 5 and q.loc["G", "f"] == 5 and q.loc["C", "f"] == 5
    assert q.loc["D", "f"] == 5 and q.loc["E", "f"] == 4
    # recency ranking: G (0) is the best
    assert q.loc["G", "r"] == 5 and q.loc["Q", "r"] == 1


def test_segment_map_is_replaceable_and_checked():
    cells = [f"{r}{f}" for r in "12345" for f in "12345"]
    custom = {
        "recent": [c for c in cells if c[0] in "45"],
        "other": [c for c in cells if c[0] in "123"],
    }
    s = rfm.rfm(fx.orders(), as_of=fx.AS_OF, segment_map=custom)
    assert set(s.segment) == {"recent", "other"}
    with pytest.raises(ParameterError, match="without a segment"):
        rfm.rfm(fx.orders(), as_of=fx.AS_OF, segment_map={"x": ["11"]})
    with pytest.raises(ParameterError, match="in both"):
        rfm.rfm(fx.orders(), as_of=fx.AS_OF, segment_map={**custom, "dup": ["11"]})


def test_migration_counts_new_customers_from_none():
    mig = rfm.rfm_migration(fx.orders(), start="2026-06-30", end=fx.AS_OF)
    assert mig.customers.sum() == len(fx.EXPECTED)
    # customers with a first purchase after 2026-06-30: A, B, M, S → from "none"
    assert mig[mig.from_segment == "none"].customers.sum() == 4
    with pytest.raises(ParameterError):
        rfm.rfm_migration(fx.orders(), start=fx.AS_OF, end="2026-06-30")
