"""Lifecycle segments (顧客セグメント, SPEC §3), tracked month end by month end.

By recency first: recency > churn_days (360) → 離反 ``churned``;
active_days (120) < recency ≤ churn_days → 休眠 ``dormant``; otherwise by repeat
purchases (frequency − 1): 0 → 新規 ``new``, 1 → 初回リピート ``first_repeat``,
2–4 → リピート ``repeat``, 5+ → 優良 ``vip``.

``rule: article`` (``analysis.lifecycle.rule``) reads the source articles'
tenure clauses instead — 初回リピート "初回購入日から120日以内" and 休眠
"初回購入から360日未満" — with *since first* = days from the first purchase to
as_of (recency + tenure):

* recency > active_days: 休眠 ``dormant`` if since first < churn_days, else
  離反 ``churned`` (so a customer gone quiet a year after the first purchase is
  churned even if the last purchase was 200 days ago);
* otherwise (active): one purchase → 新規 ``new``; two purchases, the second
  within active_days of the first (tenure ≤ 120) → 初回リピート
  ``first_repeat``; two purchases further apart, or 3–5 → リピート ``repeat``
  (a repeat that came late is a repeat customer, not a first repeat, and not
  left without a segment); 6+ → 優良 ``vip``.

Under either rule every customer is in exactly one of :data:`SEGMENTS`
(a Hypothesis property of ``tests/test_lifecycle.py``); ``recency > churn_days``
is churned under both, since since-first ≥ recency.
"""

from __future__ import annotations

import itertools
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from ecrm import engine
from ecrm.analysis import periods, segments
from ecrm.settings import LifecycleSettings, ShopSettings, section

__all__ = [
    "SEGMENTS",
    "lifecycle",
    "lifecycle_monthly",
    "lifecycle_rule",
    "lifecycle_summary",
    "lifecycle_transitions",
]

SEGMENTS: tuple[str, ...] = ("new", "first_repeat", "repeat", "vip", "dormant", "churned")


def lifecycle_rule(settings: ShopSettings | LifecycleSettings | None = None) -> segments.Rule:
    """The lifecycle rule as a function of a measures table (for snapshots)."""
    s = section(settings, LifecycleSettings)

    def article(m: ir.Table) -> ir.StringValue:
        since_first = m.recency_days + m.tenure_days
        repeats = m.frequency - 1
        return ibis.cases(
            (
                m.recency_days > s.active_days,
                ibis.ifelse(since_first < s.churn_days, "dormant", "churned"),
            ),
            (repeats == 0, "new"),
            ((repeats == 1) & (m.tenure_days <= s.active_days), "first_repeat"),
            (repeats <= 4, "repeat"),
            else_="vip",
        )

    def rule(m: ir.Table) -> ir.StringValue:
        repeats = m.frequency - 1
        return ibis.cases(
            (m.recency_days > s.churn_days, "churned"),
            (m.recency_days > s.active_days, "dormant"),
            (repeats == 0, "new"),
            (repeats == 1, "first_repeat"),
            (repeats <= 4, "repeat"),
            else_="vip",
        )

    return article if s.rule == "article" else rule


def lifecycle(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    settings: ShopSettings | LifecycleSettings | None = None,
    attributes: bool = False,
) -> pd.DataFrame:
    """Each customer's lifecycle segment at ``as_of``.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders.
    as_of : date or str
        Last day of the analysis, inclusive.
    settings : ShopSettings or LifecycleSettings, optional
        rule, active_days and churn_days (default SPEC's recency rule, 120, 360).
    attributes : bool, default False
        Add the first-purchase attributes (to split summaries with ``by=``).

    Returns
    -------
    DataFrame
        The columns of :func:`ecrm.analysis.customers.measures` plus segment (a code of
        :data:`SEGMENTS`). Sorted by customer_id.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({"order_id": ["1", "2"], "customer_id": ["a", "b"],
    ...     "ordered_at": pd.to_datetime(["2026-07-03", "2026-07-02"]),
    ...     "amount": [100, 100]})
    >>> lifecycle(orders, as_of="2026-10-31")[["recency_days", "segment"]].to_dict("records")
    [{'recency_days': 120, 'segment': 'new'}, {'recency_days': 121, 'segment': 'dormant'}]
    """
    return segments.classify(
        orders, as_of=as_of, rule=lifecycle_rule(settings), attributes=attributes
    )


def lifecycle_summary(per_customer: pd.DataFrame, *, by: str | None = None) -> pd.DataFrame:
    """Customers, revenue and shares per lifecycle segment (all six, in order).

    Returns
    -------
    DataFrame
        [by,] segment, customers, share, revenue (sum of cumulative net spend),
        revenue_share, avg_monetary.
    """
    return segments.summary(per_customer, codes=SEGMENTS, by=by)


def lifecycle_monthly(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    settings: ShopSettings | LifecycleSettings | None = None,
    months: int | None = None,
    by: str | None = None,
) -> pd.DataFrame:
    """定点観測: customers and revenue per segment at each of the last ``months`` month ends.

    Returns
    -------
    DataFrame
        month_end, [by,] segment, customers, share, monetary, revenue (net
        revenue of the segment's customers in that month).
    """
    s = section(settings, LifecycleSettings)
    return segments.monthly(
        orders,
        as_of=as_of,
        months=months or s.months,
        rule=lifecycle_rule(s),
        codes=SEGMENTS,
        by=by,
    )


def lifecycle_transitions(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    settings: ShopSettings | LifecycleSettings | None = None,
    months: int | None = None,
) -> pd.DataFrame:
    """Transition matrices between consecutive month ends of the last ``months`` months.

    Returns
    -------
    DataFrame
        from_date, to_date, from_segment ("none" for customers new since
        from_date), to_segment, customers — full grid per pair.
    """
    s = section(settings, LifecycleSettings)
    ends = periods.month_ends(as_of, (months or s.months) + 1)
    pairs = list(itertools.pairwise(ends))
    return segments.transitions(orders, pairs=pairs, rule=lifecycle_rule(s), codes=SEGMENTS)
