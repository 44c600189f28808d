"""RFM analysis (SPEC §3): R, F and M scores 1–5, named segments, the R×F grid.

Two scoring methods:

* ``fixed`` (default): bins from the shop settings. R by recency days
  ≤30 / ≤90 / ≤180 / ≤365 / more → 5…1; F by purchases 1 / 2 / 3–4 / 5–9 / 10+
  → 1…5; M by monetary <5,000 / <10,000 / <30,000 / <100,000 / more → 1…5.
  Edges are inclusive for R and F (upper edges) and lower-inclusive for M, as
  SPEC writes them.
* ``quantile``: quintiles by rank, best values in score 5, under SPEC §1's
  equal-size rule (sizes differ by at most one, larger groups first, ties broken
  by customer_id). Ties in a measure are therefore split across scores by
  customer_id: deterministic, as SPEC requires, though two customers with the
  same frequency may get different F scores.

Money thresholds (SPEC §3): the M bins are yen by default. A shop in another
currency that does not set ``analysis.rfm.monetary`` — or any shop that sets
``analysis.rfm.money_thresholds: auto`` — gets M bins from its own customers at
as_of: the 20th/40th/60th/80th percentiles of monetary (linear interpolation
between order statistics, rounded to the currency's minor unit), so each M
score holds about a fifth of the customers, as SPEC writes. The same bins are
used at both dates of :func:`rfm_migration` (derived at ``end``), so a move is
a change of the customer, not of the bins. :func:`resolve_thresholds` says which
bins were used and why.

Named segments come from the R×F grid through a segment map — data the caller
can replace (``segment_map=`` or the ``analysis.rfm.segment_map`` setting).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from ecrm import engine
from ecrm.analysis import customers, segments
from ecrm.errors import ParameterError
from ecrm.settings import RfmSettings, ShopSettings, section

__all__ = [
    "AUTO_M_QUANTILES",
    "DEFAULT_SEGMENT_MAP",
    "SEGMENT_ORDER",
    "resolve_thresholds",
    "rfm",
    "rfm_grid",
    "rfm_migration",
    "rfm_segments",
    "rfm_table",
]

#: Default R×F segment map: segment -> cells "RF" (R score then F score).
#: Every one of the 25 cells belongs to exactly one segment.
DEFAULT_SEGMENT_MAP: dict[str, list[str]] = {
    "champions": ["54", "55"],
    "loyal_customers": ["34", "35", "44", "45"],
    "potential_loyalists": ["42", "43", "52", "53"],
    "new_customers": ["51"],
    "promising": ["41"],
    "need_attention": ["33"],
    "about_to_sleep": ["31", "32"],
    "at_risk": ["13", "14", "23", "24"],
    "cannot_lose": ["15", "25"],
    "hibernating": ["21", "22"],
    "lost": ["11", "12"],
}
#: Display order of the default segments, best first.
SEGMENT_ORDER: tuple[str, ...] = tuple(DEFAULT_SEGMENT_MAP)


def _check_map(segment_map: Mapping[str, list[str]]) -> dict[str, str]:
    cell_to_seg: dict[str, str] = {}
    for seg, cells in segment_map.items():
        for cell in cells:
            cell = str(cell)
            if len(cell) != 2 or not all(ch in "12345" for ch in cell):
                raise ParameterError(f"segment map: cell {cell!r} of {seg!r} is not 'RF' in 1..5")
            if cell in cell_to_seg:
                raise ParameterError(
                    f"segment map: cell {cell} is in both {cell_to_seg[cell]!r} and {seg!r}"
                )
            cell_to_seg[cell] = seg
    missing = sorted({f"{r}{f}" for r in "12345" for f in "12345"} - set(cell_to_seg))
    if missing:
        raise ParameterError(f"segment map leaves R×F cells {missing} without a segment")
    return cell_to_seg


def _fixed_scores(m: ir.Table, s: RfmSettings) -> ir.Table:
    r1, r2, r3, r4 = s.recency_days
    f1, f2, f3, f4 = s.frequency
    m1, m2, m3, m4 = (ibis.literal(v).cast(engine.AMOUNT) for v in s.monetary)
    r = ibis.cases(
        (m.recency_days <= r1, 5),
        (m.recency_days <= r2, 4),
        (m.recency_days <= r3, 3),
        (m.recency_days <= r4, 2),
        else_=1,
    )
    f = ibis.cases(
        (m.frequency <= f1, 1),
        (m.frequency <= f2, 2),
        (m.frequency <= f3, 3),
        (m.frequency <= f4, 4),
        else_=5,
    )
    mm = ibis.cases(
        (m.monetary < m1, 1),
        (m.monetary < m2, 2),
        (m.monetary < m3, 3),
        (m.monetary < m4, 4),
        else_=5,
    )
    return m.mutate(r=r.cast("int8"), f=f.cast("int8"), m=mm.cast("int8"))


def _quantile_scores(m: ir.Table) -> ir.Table:
    def score(*order_by: Any) -> ir.IntegerValue:
        # Ibis ntile is zero-based; group 0 holds the best values and is the
        # larger when sizes differ (SPEC §1).
        return (5 - ibis.ntile(5).over(ibis.window(order_by=[*order_by, "customer_id"]))).cast(
            "int8"
        )

    return m.mutate(
        r=score(ibis.asc("recency_days")),
        f=score(ibis.desc("frequency")),
        m=score(ibis.desc("monetary")),
    )


#: Shares of customers below each auto M edge (M = 2, 3, 4, 5 start there).
AUTO_M_QUANTILES: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8)


def resolve_thresholds(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    settings: ShopSettings | RfmSettings | None = None,
) -> tuple[RfmSettings, str]:
    """The RFM settings with the M bins that apply to this shop at ``as_of``.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders.
    as_of : date or str
        Last day of the analysis, inclusive.
    settings : ShopSettings or RfmSettings, optional
        A section or None stands for a JPY shop.

    Returns
    -------
    tuple
        (section, source): the section with ``monetary`` resolved, and where the
        bins came from — ``"settings"`` (set by the shop), ``"default"`` (SPEC's
        yen bins) or ``"auto"`` (:data:`AUTO_M_QUANTILES` of the customers'
        monetary at ``as_of``) or ``"auto_no_customers"`` (no customer at
        ``as_of``: the section's bins are kept, nobody is binned).

    Examples
    --------
    >>> import pandas as pd
    >>> from ecrm.settings import ShopSettings
    >>> shop = ShopSettings(name="uk", currency="GBP", sources=[{"path": "o.csv"}])
    >>> orders = pd.DataFrame({"order_id": list("12345"), "customer_id": list("abcde"),
    ...     "ordered_at": pd.to_datetime(["2026-10-01"] * 5), "amount": [10, 20, 30, 40, 50]})
    >>> s, source = resolve_thresholds(orders, as_of="2026-10-31", settings=shop)
    >>> s.monetary, source
    ((18.0, 26.0, 34.0, 42.0), 'auto')
    """
    s, currency, auto = segments.money_auto(settings, RfmSettings, "monetary")
    if not auto:
        return s, "settings" if "monetary" in s.model_fields_set else "default"
    m = customers.measures_table(orders, as_of=as_of, attributes=False)
    edges = segments.monetary_quantiles(m, AUTO_M_QUANTILES, currency)
    if any(e != e for e in edges):  # NaN: no customer at as_of, nothing to bin
        return s, "auto_no_customers"
    return s.model_copy(update={"monetary": edges, "money_thresholds": "fixed"}), "auto"


def rfm_table(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    settings: ShopSettings | RfmSettings | None = None,
    method: str | None = None,
    segment_map: Mapping[str, list[str]] | None = None,
    attributes: bool = False,
) -> ir.Table:
    """Per-customer RFM scores as an Ibis expression (see :func:`rfm`)."""
    s = section(settings, RfmSettings)
    method = method or s.method
    if method == "fixed":
        s, _ = resolve_thresholds(orders, as_of=as_of, settings=settings)
    seg_map = _check_map(segment_map or s.segment_map or DEFAULT_SEGMENT_MAP)
    m = customers.measures_table(orders, as_of=as_of, attributes=attributes)
    if method == "fixed":
        m = _fixed_scores(m, s)
    elif method == "quantile":
        m = _quantile_scores(m)
    else:
        raise ParameterError(f"method must be 'fixed' or 'quantile', got {method!r}")
    cell = m.r.cast("string").concat(m.f.cast("string"))
    segment = ibis.cases(*[(cell == c, seg) for c, seg in sorted(seg_map.items())])
    return m.mutate(rfm=cell.concat(m.m.cast("string")), segment=segment)


def rfm(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    settings: ShopSettings | RfmSettings | None = None,
    method: str | None = None,
    segment_map: Mapping[str, list[str]] | None = None,
    attributes: bool = False,
) -> pd.DataFrame:
    """Per-customer R, F and M scores and named segment at ``as_of``.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders (order_id, customer_id, ordered_at, amount; first_*
        attributes are passed through when category/channel... exist).
    as_of : date or str
        Last day of the analysis, inclusive.
    settings : ShopSettings or RfmSettings, optional
        Bins, method and segment map (default: SPEC's).
    method : {"fixed", "quantile"}, optional
        Overrides the settings' method.
    segment_map : mapping, optional
        Segment -> list of "RF" cells; must cover the 25 cells once each.
    attributes : bool, default False
        Add the first-purchase attributes (first_channel, first_category...) to
        split the grid and segment tables with ``by=``.

    Returns
    -------
    DataFrame
        The columns of :func:`ecrm.analysis.customers.measures` plus r, f, m (1–5),
        rfm ("RFM" digits) and segment (a code of the map; see
        :func:`ecrm.present.labels.label` for display text). Sorted by customer_id.

    Raises
    ------
    ParameterError
        Unknown method, or a segment map that does not cover the grid.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({"order_id": ["1", "2"], "customer_id": ["a", "a"],
    ...     "ordered_at": pd.to_datetime(["2026-09-01", "2026-10-20"]),
    ...     "amount": [6000, 6000]})
    >>> rfm(orders, as_of="2026-10-31")[["r", "f", "m", "segment"]].to_dict("records")
    [{'r': 5, 'f': 2, 'm': 3, 'segment': 'potential_loyalists'}]
    """
    expr = rfm_table(
        orders,
        as_of=as_of,
        settings=settings,
        method=method,
        segment_map=segment_map,
        attributes=attributes,
    )
    df = engine.to_pandas(expr.order_by("customer_id"))
    for c in ("r", "f", "m"):
        df[c] = df[c].astype("int64")
    for c in ("first_purchase", "last_purchase"):
        df[c] = pd.to_datetime(df[c]).dt.date
    return df.reset_index(drop=True)


def rfm_grid(scores: pd.DataFrame, *, by: str | None = None) -> pd.DataFrame:
    """The R×F grid: customers, revenue and average monetary per cell.

    Parameters
    ----------
    scores : DataFrame
        Output of :func:`rfm` (r, f, monetary).
    by : str, optional
        A column of ``scores`` to split by (e.g. first_channel).

    Returns
    -------
    DataFrame
        [by,] r, f, customers, revenue (sum of monetary), avg_monetary — all 25
        cells, empty ones with 0 customers and NaN average.
    """
    keys = ([by] if by else []) + ["r", "f"]
    g = scores.groupby(keys, observed=True).agg(
        customers=("customer_id", "size"), revenue=("monetary", "sum")
    )
    cells = pd.MultiIndex.from_product([range(1, 6), range(1, 6)], names=["r", "f"])
    if by:
        groups = sorted(scores[by].dropna().unique())
        cells = pd.MultiIndex.from_tuples([(b, r, f) for b in groups for r, f in cells], names=keys)
    g = g.reindex(cells).fillna({"customers": 0, "revenue": 0.0})
    g["customers"] = g["customers"].astype("int64")
    g["avg_monetary"] = g["revenue"] / g["customers"].where(g["customers"] > 0)
    return g.reset_index()


def rfm_segments(scores: pd.DataFrame, *, by: str | None = None) -> pd.DataFrame:
    """Customers, revenue and shares per named segment.

    Returns
    -------
    DataFrame
        [by,] segment, customers, share, revenue, revenue_share, avg_monetary;
        segments in map order (best first), shares within each ``by`` group.
    """
    keys = ([by] if by else []) + ["segment"]
    g = (
        scores.groupby(keys, observed=True)
        .agg(customers=("customer_id", "size"), revenue=("monetary", "sum"))
        .reset_index()
    )
    tot = (
        g.groupby(by)[["customers", "revenue"]].transform("sum")
        if by
        else g[["customers", "revenue"]].sum()
    )
    g["share"] = g["customers"] / tot["customers"]
    g["revenue_share"] = g["revenue"] / tot["revenue"]
    g["avg_monetary"] = g["revenue"] / g["customers"]
    order = {s: i for i, s in enumerate(SEGMENT_ORDER)}
    g["_o"] = g["segment"].map(order).fillna(len(order))
    g = g.sort_values([*([by] if by else []), "_o", "segment"]).drop(columns="_o")
    return g[[*keys, "customers", "share", "revenue", "revenue_share", "avg_monetary"]].reset_index(
        drop=True
    )


def rfm_migration(
    orders: engine.OrdersLike,
    *,
    start: Any,
    end: Any,
    settings: ShopSettings | RfmSettings | None = None,
    method: str | None = None,
    segment_map: Mapping[str, list[str]] | None = None,
) -> pd.DataFrame:
    """Where each segment's customers moved between two dates, and came from.

    Parameters
    ----------
    start, end : date or str
        The two as_of dates (``start`` before ``end``).

    Returns
    -------
    DataFrame
        from_segment, to_segment, customers, share_of_from (share of the
        ``from_segment``'s customers), share_of_to. Customers without a purchase
        by ``start`` come from ``"none"``.
    """
    if engine.as_of_date(start) >= engine.as_of_date(end):
        raise ParameterError(f"start ({start}) must be before end ({end})")
    if (method or section(settings, RfmSettings).method) == "fixed":
        settings, _ = resolve_thresholds(orders, as_of=end, settings=settings)
    kw = {"settings": settings, "method": method, "segment_map": segment_map}
    a = rfm_table(orders, as_of=start, **kw).select("customer_id", from_segment="segment")
    b = rfm_table(orders, as_of=end, **kw).select("customer_id", to_segment="segment")
    j = b.left_join(a, "customer_id")
    j = j.mutate(from_segment=j.from_segment.fill_null("none"))
    g = j.group_by(["from_segment", "to_segment"]).agg(customers=j.count())
    df = g.to_pandas()
    df["share_of_from"] = df["customers"] / df.groupby("from_segment")["customers"].transform("sum")
    df["share_of_to"] = df["customers"] / df.groupby("to_segment")["customers"].transform("sum")
    return df.sort_values(["from_segment", "to_segment"]).reset_index(drop=True)
