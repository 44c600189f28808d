"""Which thresholds a shop's segments use, and the segments they leave (nearly) empty.

Two tidy tables for the pages and the quality summary (issue #21, SPEC §3):

* :func:`money_thresholds` — the RFM M bins and the CPM spend cut-off that
  apply to a shop at as_of, in its currency, with where each came from (its
  settings, SPEC's yen defaults, or derived from its customers:
  :func:`ecrm.analysis.rfm.resolve_thresholds`,
  :func:`ecrm.analysis.cpm.resolve_thresholds`).
* :func:`thin_segments` — the segments those thresholds define (RFM named
  segments and M scores, the ten CPM segments, the six lifecycle segments)
  that are empty or hold under ``min_share`` (1%) of the customers: the sign of
  thresholds that don't fit the shop (a GBP shop on yen bins has every
  customer at M = 1).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ecrm import engine
from ecrm.analysis import cpm, lifecycle, rfm
from ecrm.settings import RfmSettings, ShopSettings, section

__all__ = ["THIN_SHARE", "money_thresholds", "thin_segments"]

#: Below this share of customers a segment is reported as thin.
THIN_SHARE = 0.01


def money_thresholds(
    orders: engine.OrdersLike, *, as_of: Any, settings: ShopSettings | None = None
) -> pd.DataFrame:
    """The money thresholds a shop's RFM and CPM use at ``as_of``.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders.
    as_of : date or str
        Last day of the analysis, inclusive.
    settings : ShopSettings, optional
        The shop's settings (None: a JPY shop with SPEC's defaults).

    Returns
    -------
    DataFrame
        analysis (``rfm``, ``cpm``), threshold (``m2_from`` … ``m5_from``: the
        lowest monetary of M = 2 … 5; ``spend_cutoff``), value, currency and
        source (``settings``, ``default``, ``auto``, ``auto_all_customers``,
        ``auto_no_customers``; see the ``resolve_thresholds`` functions).
    """
    currency = settings.currency if settings is not None else "JPY"
    r, r_source = rfm.resolve_thresholds(orders, as_of=as_of, settings=settings)
    c, c_source = cpm.resolve_thresholds(orders, as_of=as_of, settings=settings)
    rows = [("rfm", f"m{i}_from", float(v), r_source) for i, v in enumerate(r.monetary, 2)]
    rows.append(("cpm", "spend_cutoff", float(c.spend_cutoff), c_source))
    df = pd.DataFrame(rows, columns=["analysis", "threshold", "value", "source"])
    df.insert(3, "currency", currency)
    return df


def _counts(analysis: str, segment: pd.Series, codes: list[str]) -> pd.DataFrame:
    n = segment.value_counts().reindex(codes, fill_value=0).astype("int64")
    return pd.DataFrame({"analysis": analysis, "segment": codes, "customers": n.to_numpy()})


def thin_segments(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    settings: ShopSettings | None = None,
    min_share: float = THIN_SHARE,
) -> pd.DataFrame:
    """Segments the shop's thresholds define that are empty or under ``min_share``.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders.
    as_of : date or str
        Last day of the analysis, inclusive.
    settings : ShopSettings, optional
        The shop's settings (None: SPEC's defaults).
    min_share : float, default 0.01
        A segment holding fewer than this share of the customers is thin.

    Returns
    -------
    DataFrame
        analysis (``rfm`` named segments of the shop's map, ``rfm_m`` M scores
        ``m1``…``m5``, ``cpm``, ``lifecycle``), segment, customers, share (of
        the analysis's customers), problem (``empty`` or ``thin``) — only the
        segments with a problem, in each analysis's order; no rows when every
        segment holds at least ``min_share``. With no customer at all every
        segment is ``empty`` (share NaN). RFM uses the shop's method; the
        lifecycle segments its ``rule``.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({"order_id": ["1"], "customer_id": ["a"],
    ...     "ordered_at": pd.to_datetime(["2026-10-01"]), "amount": [100]})
    >>> t = thin_segments(orders, as_of="2026-10-31")
    >>> t[t.analysis == "rfm_m"][["segment", "customers", "problem"]].values.tolist()
    [['m2', 0, 'empty'], ['m3', 0, 'empty'], ['m4', 0, 'empty'], ['m5', 0, 'empty']]
    """
    seg_map = section(settings, RfmSettings).segment_map or rfm.DEFAULT_SEGMENT_MAP
    r = rfm.rfm(orders, as_of=as_of, settings=settings)
    tables = [
        _counts("rfm", r["segment"], list(seg_map)),
        _counts("rfm_m", "m" + r["m"].astype("string"), [f"m{i}" for i in range(1, 6)]),
        _counts(
            "cpm", cpm.cpm(orders, as_of=as_of, settings=settings)["segment"], list(cpm.SEGMENTS)
        ),
        _counts(
            "lifecycle",
            lifecycle.lifecycle(orders, as_of=as_of, settings=settings)["segment"],
            list(lifecycle.SEGMENTS),
        ),
    ]
    df = pd.concat(tables, ignore_index=True)
    total = df.groupby("analysis", sort=False)["customers"].transform("sum")
    df["share"] = df["customers"] / total.where(total > 0)
    df["problem"] = None
    df.loc[df["share"] < min_share, "problem"] = "thin"
    df.loc[df["customers"] == 0, "problem"] = "empty"
    return df[df["problem"].notna()].reset_index(drop=True)
