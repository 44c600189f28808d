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

The spend cut-off is in yen by default; a shop in another currency that does
not set it (or sets ``money_thresholds: auto``) gets it from its own customers
at as_of (:func:`resolve_thresholds`). :func:`cpm_monthly` and
:func:`cpm_transitions` apply the cut-off of ``as_of`` at every month end.
"""

from __future__ import annotations

import itertools
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from ecrm import engine
from ecrm.analysis import customers, periods, segments
from ecrm.settings import CpmSettings, ShopSettings, section

__all__ = [
    "AUTO_SPEND_QUANTILE",
    "SEGMENTS",
    "STAGES",
    "cpm",
    "cpm_monthly",
    "cpm_rule",
    "cpm_summary",
    "cpm_transitions",
    "resolve_thresholds",
]

STAGES: tuple[str, ...] = ("first", "toddler", "steady", "fad", "loyal")
#: The ten segment codes, active ones first, each in stage order.
SEGMENTS: tuple[str, ...] = tuple(
    f"{st}_{state}" for state in ("active", "lapsed") for st in STAGES
)


#: Share of the tenured customers below the auto spend cut-off (SPEC §3).
AUTO_SPEND_QUANTILE = 0.8


def resolve_thresholds(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    settings: ShopSettings | CpmSettings | None = None,
) -> tuple[CpmSettings, str]:
    """The CPM settings with the spend cut-off that applies to this shop at ``as_of``.

    A shop in another currency than JPY that does not set ``spend_cutoff``, or
    any shop with ``money_thresholds: auto``, gets the 80th percentile of
    monetary (linear interpolation, rounded to the currency's minor unit) among
    its customers whose tenure is at least the second tenure cut-off (210 days)
    at ``as_of`` — the customers the cut-off separates into 流行/優良 — or among
    all customers when none is that old (SPEC §3).

    Returns
    -------
    tuple
        (section, source): the section with ``spend_cutoff`` resolved, and
        ``"settings"``, ``"default"`` (SPEC's 70,000 yen), ``"auto"`` (the
        tenured customers), ``"auto_all_customers"`` (none tenured) or
        ``"auto_no_customers"`` (no customer: the section's value is kept).

    Examples
    --------
    >>> import pandas as pd
    >>> from ecrm.settings import ShopSettings
    >>> shop = ShopSettings(name="uk", currency="GBP", sources=[{"path": "o.csv"}])
    >>> orders = pd.DataFrame({"order_id": list("123"), "customer_id": list("abc"),
    ...     "ordered_at": pd.to_datetime(["2026-10-01"] * 3), "amount": [100, 200, 300]})
    >>> s, source = resolve_thresholds(orders, as_of="2026-10-31", settings=shop)
    >>> s.spend_cutoff, source
    (260.0, 'auto_all_customers')
    """
    s, currency, auto = segments.money_auto(settings, CpmSettings, "spend_cutoff")
    if not auto:
        return s, "settings" if "spend_cutoff" in s.model_fields_set else "default"
    m = customers.measures_table(orders, as_of=as_of, attributes=False)
    tenured = m.tenure_days >= s.tenure_cutoffs[1]
    (cut,) = segments.monetary_quantiles(m, [AUTO_SPEND_QUANTILE], currency, where=tenured)
    source = "auto"
    if cut != cut:  # NaN: nobody tenured
        (cut,) = segments.monetary_quantiles(m, [AUTO_SPEND_QUANTILE], currency)
        source = "auto_all_customers"
    if cut != cut:
        return s, "auto_no_customers"
    return s.model_copy(update={"spend_cutoff": cut, "money_thresholds": "fixed"}), source


def cpm_rule(settings: ShopSettings | CpmSettings | None = None) -> segments.Rule:
    """The CPM segment rule as a function of a measures table (for snapshots).

    The rule takes the section's ``spend_cutoff`` as it is: pass the section
    of :func:`resolve_thresholds` for a shop whose cut-off is derived.
    """
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
    s, _ = resolve_thresholds(orders, as_of=as_of, settings=settings)
    df = segments.classify(orders, as_of=as_of, rule=cpm_rule(s), attributes=attributes)
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
    s, _ = resolve_thresholds(orders, as_of=as_of, settings=settings)  # one cut-off for all months
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
    s, _ = resolve_thresholds(orders, as_of=as_of, settings=settings)  # same cut-off at both ends
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
