"""CPM — customer portfolio management (SPEC §3): ten segments.

Stage from purchases, tenure and cumulative spend (defaults of the leading
Japanese tool: tenure cut-offs 90 and 210 days, spend cut-off 70,000 yen):

* 初回 ``first``: one purchase;
* よちよち ``toddler``: two or more purchases, tenure < 90 days;
* コツコツ ``steady``: tenure ≥ 90, monetary < 70,000;
* 流行 ``fad``: 90 ≤ tenure < 210, monetary ≥ 70,000;
* 優良 ``loyal``: tenure ≥ 210, monetary ≥ 70,000.

State: 現役 ``active`` when recency_days < lapse_days (240), else 離脱
``lapsed``. The segment code is ``<stage>_<state>`` (e.g. ``loyal_active``).
"""

from __future__ import annotations

import itertools
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from ecrm import engine
from ecrm.analysis import periods, segments
from ecrm.settings import CpmSettings, ShopSettings, section

__all__ = [
    "SEGMENTS",
    "STAGES",
    "cpm",
    "cpm_monthly",
    "cpm_rule",
    "cpm_summary",
    "cpm_transitions",
]

STAGES: tuple[str, ...] = ("first", "toddler", "steady", "fad", "loyal")
#: The ten segment codes, active ones first, each in stage order.
SEGMENTS: tuple[str, ...] = tuple(
    f"{st}_{state}" for state in ("active", "lapsed") for st in STAGES
)


def cpm_rule(settings: ShopSettings | CpmSettings | None = None) -> segments.Rule:
    """The CPM segment rule as a function of a measures table (for snapshots)."""
    s = section(settings, CpmSettings)
    t1, t2 = s.tenure_cutoffs

    def rule(m: ir.Table) -> ir.StringValue:
        spend = ibis.literal(s.spend_cutoff).cast(engine.AMOUNT)
        stage = ibis.cases(
            (m.frequency == 1, "first"),
            (m.tenure_days < t1, "toddler"),
            (m.monetary < spend, "steady"),
            (m.tenure_days < t2, "fad"),
            else_="loyal",
        )
        state = ibis.ifelse(m.recency_days < s.lapse_days, "_active", "_lapsed")
        return stage.concat(state)

    return rule


def cpm(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    settings: ShopSettings | CpmSettings | None = None,
    attributes: bool = False,
) -> pd.DataFrame:
    """Each customer's CPM segment at ``as_of``.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders.
    as_of : date or str
        Last day of the analysis, inclusive.
    settings : ShopSettings or CpmSettings, optional
        lapse_days, tenure_cutoffs, spend_cutoff (default SPEC's).
    attributes : bool, default False
        Add the first-purchase attributes (to split summaries with ``by=``).

    Returns
    -------
    DataFrame
        The columns of :func:`ecrm.analysis.customers.measures` plus stage, state and
        segment (``<stage>_<state>``). Sorted by customer_id.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({"order_id": ["1", "2"], "customer_id": ["a", "a"],
    ...     "ordered_at": pd.to_datetime(["2026-01-01", "2026-08-01"]),
    ...     "amount": [40000, 30000]})
    >>> cpm(orders, as_of="2026-10-31")[["tenure_days", "segment"]].to_dict("records")
    [{'tenure_days': 212, 'segment': 'loyal_active'}]
    """
    df = segments.classify(orders, as_of=as_of, rule=cpm_rule(settings), attributes=attributes)
    # stage_state codes, split once per distinct code (ten), not once per customer
    codes = df["segment"].drop_duplicates()
    parts = codes.str.rsplit("_", n=1, expand=True).set_axis(codes.to_numpy())
    stage = df["segment"].map(parts[0]) if len(df) else []
    state = df["segment"].map(parts[1]) if len(df) else []
    df.insert(df.columns.get_loc("segment"), "stage", stage)
    df.insert(df.columns.get_loc("segment"), "state", state)
    return df.reset_index(drop=True)


def cpm_summary(per_customer: pd.DataFrame, *, by: str | None = None) -> pd.DataFrame:
    """Customers, revenue and shares of the ten segments.

    Parameters
    ----------
    per_customer : DataFrame
        Output of :func:`cpm` (segment, monetary).
    by : str, optional
        Split by a column of ``per_customer`` (e.g. first_channel).

    Returns
    -------
    DataFrame
        [by,] segment, customers, share, revenue (sum of cumulative net spend),
        revenue_share, avg_monetary — all ten segments, in :data:`SEGMENTS` order.
    """
    return segments.summary(per_customer, codes=SEGMENTS, by=by)


def cpm_monthly(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    settings: ShopSettings | CpmSettings | None = None,
    months: int | None = None,
    by: str | None = None,
) -> pd.DataFrame:
    """Segment counts at each of the last ``months`` month ends (one engine pass).

    Returns
    -------
    DataFrame
        month_end, [by,] segment, customers, share, monetary, revenue — see
        :func:`ecrm.analysis.segments.monthly`.
    """
    s = section(settings, CpmSettings)
    return segments.monthly(
        orders,
        as_of=as_of,
        months=months or s.months,
        rule=cpm_rule(s),
        codes=SEGMENTS,
        by=by,
    )


def _movement(frm: str, to: str) -> str:
    if frm == "none":
        return "new"
    fs, fstate = frm.rsplit("_", 1)
    ts, tstate = to.rsplit("_", 1)
    if fstate == "active" and tstate == "lapsed":
        return "lapsed"
    if fstate == "lapsed" and tstate == "active":
        return "reactivated"
    d = STAGES.index(ts) - STAGES.index(fs)
    return "up" if d > 0 else ("down" if d < 0 else "stayed")


def cpm_transitions(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    settings: ShopSettings | CpmSettings | None = None,
    compare: str = "month",
) -> pd.DataFrame:
    """The CPM transition matrix against the previous month end or a year earlier.

    Parameters
    ----------
    compare : {"month", "year", "all"}
        ``month``: previous month end → as_of; ``year``: 12 months earlier →
        as_of; ``all``: every consecutive pair of the last ``months`` month ends.

    Returns
    -------
    DataFrame
        from_date, to_date, from_segment, to_segment, customers, movement (new,
        up, stayed, down, lapsed, reactivated; "down" happens when returns take
        cumulative spend back under the cut-off).
    """
    s = section(settings, CpmSettings)
    if compare == "month":
        ends = periods.month_ends(as_of, 2)
        pairs = [(ends[0], ends[1])]
    elif compare == "year":
        ends = periods.month_ends(as_of, 13)
        pairs = [(ends[0], ends[-1])]
    elif compare == "all":
        ends = periods.month_ends(as_of, s.months + 1)
        pairs = list(itertools.pairwise(ends))
    else:
        from ecrm.errors import ParameterError

        raise ParameterError(f"compare must be 'month', 'year' or 'all', got {compare!r}")
    df = segments.transitions(orders, pairs=pairs, rule=cpm_rule(s), codes=SEGMENTS)
    df["movement"] = [_movement(f, t) for f, t in zip(df.from_segment, df.to_segment, strict=True)]
    return df
