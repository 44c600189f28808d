"""Customers by condition (うちでのこづち's 条件セグメント) and who the shop may contact.

:func:`extract` returns the customers at ``as_of`` that match *all* the given
conditions, computed set-based in the engine over the canonical orders (one
query, no loop over customers). Each condition may take several values; a
customer matches a condition when they match *any* of its values, except
``not_bought``, which excludes a customer who bought *any* of its values.

Conditions (all optional):

``segment``
    ``"<kind>:<code>"`` with kind ``rfm``, ``cpm`` or ``lifecycle`` and a segment
    code of that analysis at ``as_of`` (``"cpm:loyal_lapsed"``, ``"rfm:at_risk"``,
    ``"lifecycle:dormant"``), as the report's pages and segment lists name them.
``bought`` / ``not_bought``
    ``"category:<value>"``, ``"product:<product_id>"`` or ``"brand:<value>"``: the
    customer has (has not) a purchase line of that value up to ``as_of`` (a line
    with a positive amount in an order that is a purchase, SPEC §1, so a returned
    line or a cancelled order does not count as bought).
``first_between``
    ``(A, B)``: the first purchase is on a day from A to B, both inclusive.
``channel``
    The customer made at least one purchase through that channel (any channel,
    not only the first).
``min_purchases``
    At least n purchases (frequency ≥ n).

:func:`contacts_table` gives each customer's first channel and whether the
shop may contact them under ``exports.no_contact_channels``: a customer whose
first purchase came through a no-contact channel (a marketplace) is not
contactable *unless* they also bought through a channel that is not on the list
(a marketplace buyer who later ordered on the shop's own site became the shop's
customer). A customer whose first channel is unknown is contactable (nothing
says otherwise), and a purchase with an unknown channel proves nothing.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from ecrm import engine
from ecrm.analysis import customers, periods
from ecrm.analysis.cpm import SEGMENTS as CPM_SEGMENTS
from ecrm.analysis.cpm import cpm_rule
from ecrm.analysis.cpm import resolve_thresholds as resolve_cpm
from ecrm.analysis.lifecycle import SEGMENTS as LIFECYCLE_SEGMENTS
from ecrm.analysis.lifecycle import lifecycle_rule
from ecrm.analysis.rfm import DEFAULT_SEGMENT_MAP, rfm_table
from ecrm.errors import ParameterError
from ecrm.settings import RfmSettings, ShopSettings

__all__ = [
    "BOUGHT_KINDS",
    "SEGMENT_KINDS",
    "contacts",
    "contacts_table",
    "extract",
    "extract_table",
    "parse_bought",
    "parse_segment",
    "profile",
]

#: ``--bought`` prefixes and the order-line column each one matches.
BOUGHT_KINDS: dict[str, str] = {"category": "category", "product": "product_id", "brand": "brand"}

#: ``--segment`` kinds and the output column holding that analysis's segment.
SEGMENT_KINDS: dict[str, str] = {
    "rfm": "rfm_segment",
    "cpm": "cpm_segment",
    "lifecycle": "lifecycle_segment",
}

_COLUMNS = [
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


def _norm(value: str) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip().lower()


def _segment_codes(kind: str, settings: ShopSettings | None) -> list[str]:
    if kind == "cpm":
        return list(CPM_SEGMENTS)
    if kind == "lifecycle":
        return list(LIFECYCLE_SEGMENTS)
    s = settings.analysis.rfm if settings is not None else RfmSettings()
    return sorted(s.segment_map or DEFAULT_SEGMENT_MAP)


def parse_segment(text: str, settings: ShopSettings | None = None) -> tuple[str, str]:
    """Split ``"cpm:loyal_lapsed"`` into ``("cpm", "loyal_lapsed")``, checking both parts.

    Raises
    ------
    ParameterError
        Not ``kind:code``, an unknown kind, or a code that is not one of the kind's
        segments (the message lists them).
    """
    kind, sep, code = str(text).partition(":")
    kind, code = kind.strip().lower(), code.strip()
    if not sep or kind not in SEGMENT_KINDS:
        raise ParameterError(
            f"segment must be <kind>:<code> with kind one of {sorted(SEGMENT_KINDS)} "
            f"(e.g. cpm:loyal_lapsed), got {text!r}"
        )
    codes = _segment_codes(kind, settings)
    if code not in codes:
        raise ParameterError(f"unknown {kind} segment {code!r} in {text!r}; one of {codes}")
    return kind, code


def parse_bought(text: str) -> tuple[str, str]:
    """Split ``"category:アウター"`` into the order-line column and the value.

    Raises
    ------
    ParameterError
        Not ``category:…``, ``product:…`` or ``brand:…`` with a non-empty value.
    """
    kind, sep, value = str(text).partition(":")
    kind = kind.strip().lower()
    value = unicodedata.normalize("NFKC", value).strip()
    if not sep or kind not in BOUGHT_KINDS or not value:
        raise ParameterError(
            f"bought/not-bought must be one of {[k + ':VALUE' for k in BOUGHT_KINDS]} "
            f"(e.g. category:アウター, product:SKU-001), got {text!r}"
        )
    return BOUGHT_KINDS[kind], value


def _matching_channels(t: ir.Table, wanted: Iterable[str]) -> list[str]:
    """The orders' channel values equal to one of ``wanted`` after NFKC, trim and lower case.

    Done on the distinct channel values (a handful), so full-width or upper-case
    spellings in the data match the settings' names.
    """
    keys = {_norm(w) for w in wanted}
    values = engine.to_pandas(t.select(v=t.channel.cast("string")).distinct())["v"]
    return sorted(v for v in values.dropna() if _norm(v) in keys)


def _check_known(t: ir.Table, column: str, wanted: list[str]) -> None:
    """Refuse a value no order line has (a typo would silently select nobody)."""
    values = engine.to_pandas(t.select(v=t[column].cast("string")).distinct())["v"].dropna()
    known = set(values) if column != "channel" else {_norm(v) for v in values}
    for w in wanted:
        if (_norm(w) if column == "channel" else w) not in known:
            some = sorted(values)[:12]
            more = f" … ({len(values)} values)" if len(values) > len(some) else ""
            raise ParameterError(
                f"no order line has {column} {w!r}; the orders' values: {some}{more}"
            )


def _purchase_lines(t: ir.Table, as_of: dt.date) -> ir.Table:
    """Lines with a positive amount of purchase orders up to ``as_of``."""
    o = engine.order_totals(t, as_of=as_of)
    ids = o.filter(o.is_purchase).select("order_id")
    lines = engine.upto(t, as_of)
    lines = lines.filter(lines.customer_id.notnull() & (lines.amount > 0))
    return lines.semi_join(ids, "order_id")


def contacts_table(
    orders: engine.OrdersLike, *, as_of: Any, no_contact: Iterable[str] = ()
) -> ir.Table:
    """Each customer's first channel and whether the shop may contact them.

    Returns
    -------
    ibis.Table
        customer_id, first_channel (string, null when unknown or the orders have
        no channel), no_contact_channel (bool: first channel listed in
        ``no_contact`` and no purchase through a known channel outside it). See
        the module docstring for the rule.
    """
    as_of_d = engine.as_of_date(as_of)
    t = engine.orders_table(orders)
    m = customers.measures_table(t, as_of=as_of_d, attributes="channel" in t.columns)
    if "first_channel" not in m.columns:
        m = m.mutate(first_channel=ibis.null().cast("string"))
    m = m.select("customer_id", first_channel=m.first_channel.cast("string"))
    no_contact = list(no_contact)
    listed = _matching_channels(t, no_contact) if no_contact and "channel" in t.columns else []
    if not listed:
        return m.mutate(no_contact_channel=ibis.literal(False))
    lines = _purchase_lines(t, as_of_d)
    ch = lines.channel.cast("string")
    other = lines.mutate(_other=(ch.notnull() & ~ch.isin(listed)).cast("int8"))
    other = other.group_by("customer_id").aggregate(_own=other._other.max())
    m = m.left_join(other, "customer_id").drop("customer_id_right")
    first_listed = m.first_channel.notnull() & m.first_channel.isin(listed)
    return m.select(
        "customer_id",
        "first_channel",
        no_contact_channel=(first_listed & (m._own.fill_null(0) == 0)),
    )


def contacts(
    orders: engine.OrdersLike, *, as_of: Any, no_contact: Iterable[str] = ()
) -> pd.DataFrame:
    """:func:`contacts_table` executed: customer_id, first_channel, no_contact_channel.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders (channel optional).
    as_of : date or str
        Last day of the analysis, inclusive.
    no_contact : iterable of str
        Channels whose buyers the shop may not contact, matched ignoring case and
        全角/半角 (``exports.no_contact_channels``).

    Returns
    -------
    DataFrame
        Sorted by customer_id.
    """
    expr = contacts_table(orders, as_of=as_of, no_contact=no_contact).order_by("customer_id")
    df = engine.to_pandas(expr)
    df["no_contact_channel"] = df["no_contact_channel"].astype(bool)
    return df.reset_index(drop=True)


def _values(v: str | Sequence[str] | None) -> list[str]:
    if v is None:
        return []
    return [v] if isinstance(v, str) else list(v)


def extract_table(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    settings: ShopSettings | None = None,
    segment: str | Sequence[str] | None = None,
    bought: str | Sequence[str] | None = None,
    not_bought: str | Sequence[str] | None = None,
    first_between: tuple[Any, Any] | None = None,
    channel: str | Sequence[str] | None = None,
    min_purchases: int | None = None,
) -> ir.Table:
    """The customers matching every condition, as an Ibis expression (see :func:`extract`)."""
    as_of_d = engine.as_of_date(as_of)
    t = engine.orders_table(orders)
    segs = [parse_segment(s, settings) for s in _values(segment)]
    buys = [parse_bought(b) for b in _values(bought)]
    not_buys = [parse_bought(b) for b in _values(not_bought)]
    chans = _values(channel)
    for col, _ in buys + not_buys:
        if col not in t.columns:
            raise ParameterError(f"the orders have no {col} column to match bought/not-bought")
    if chans and "channel" not in t.columns:
        raise ParameterError("the orders have no channel column to match --channel")
    for col, v in buys + not_buys:
        _check_known(t, col, [v])
    if chans:
        _check_known(t, "channel", chans)
    if min_purchases is not None and (isinstance(min_purchases, bool) or min_purchases < 1):
        raise ParameterError(f"min_purchases must be a whole number ≥ 1, got {min_purchases!r}")
    lo = hi = None
    if first_between is not None:
        try:
            lo, hi = (engine.as_of_date(d) for d in first_between)
        except (TypeError, ValueError) as e:
            raise ParameterError(
                f"first_between must be two dates YYYY-MM-DD, got {first_between!r}"
            ) from e
        if lo > hi:
            raise ParameterError(f"first_between: {lo} is after {hi}")

    rs = settings if settings is not None else None
    m = rfm_table(t, as_of=as_of_d, settings=rs, attributes=False)
    m = m.mutate(
        rfm_segment=m.segment,
        cpm_segment=cpm_rule(resolve_cpm(t, as_of=as_of_d, settings=rs)[0])(m),
        lifecycle_segment=lifecycle_rule(rs)(m),
    )
    o = engine.order_totals(t, as_of=as_of_d)
    recent = o.filter(o.order_date >= ibis.literal(periods.period_start(as_of_d, 12)))
    rev = recent.group_by("customer_id").aggregate(revenue_12m=recent.amount.sum())
    m = m.left_join(rev, "customer_id").drop("customer_id_right")
    m = m.mutate(revenue_12m=m.revenue_12m.fill_null(0).cast(engine.AMOUNT))
    ch = contacts_table(t, as_of=as_of_d).select("customer_id", "first_channel")
    m = m.left_join(ch, "customer_id").drop("customer_id_right")

    cond = ibis.literal(True)
    for kind in sorted({k for k, _ in segs}):
        codes = [c for k, c in segs if k == kind]
        cond &= m[SEGMENT_KINDS[kind]].isin(codes)
    if lo is not None:
        cond &= m.first_purchase.cast("date").between(lo, hi)
    if min_purchases is not None:
        cond &= m.frequency >= int(min_purchases)
    m = m.filter(cond)
    lines = _purchase_lines(t, as_of_d) if buys or not_buys or chans else None
    if buys:
        hit = ibis.or_(*[lines[c].cast("string") == v for c, v in buys])
        m = m.semi_join(lines.filter(hit).select("customer_id"), "customer_id")
    if not_buys:
        hit = ibis.or_(*[lines[c].cast("string") == v for c, v in not_buys])
        m = m.anti_join(lines.filter(hit).select("customer_id"), "customer_id")
    if chans:
        hit = lines.channel.cast("string").isin(_matching_channels(t, chans) or [""])
        m = m.semi_join(lines.filter(hit).select("customer_id"), "customer_id")
    return m.select(*_COLUMNS)


def extract(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    settings: ShopSettings | None = None,
    segment: str | Sequence[str] | None = None,
    bought: str | Sequence[str] | None = None,
    not_bought: str | Sequence[str] | None = None,
    first_between: tuple[Any, Any] | None = None,
    channel: str | Sequence[str] | None = None,
    min_purchases: int | None = None,
) -> pd.DataFrame:
    """Customers at ``as_of`` matching all the conditions (うちでのこづち's 条件セグメント).

    No consent or contact rule is applied here: :func:`ecrm.render.exports.extract_list`
    adds them before anything is written.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders.
    as_of : date or str
        Last day of the analysis, inclusive.
    settings : ShopSettings, optional
        RFM bins and map, CPM and lifecycle thresholds (default SPEC's).
    segment : str or list of str, optional
        ``"<rfm|cpm|lifecycle>:<code>"``; several: any of them.
    bought, not_bought : str or list of str, optional
        ``"category:<v>"``, ``"product:<product_id>"``, ``"brand:<v>"``; several:
        bought any of them / bought none of them.
    first_between : (date, date), optional
        First purchase from A to B inclusive.
    channel : str or list of str, optional
        Purchased at least once through the channel (any of them), ignoring case
        and 全角/半角.
    min_purchases : int, optional
        frequency ≥ n.

    Returns
    -------
    DataFrame
        customer_id, first_purchase, last_purchase, frequency, monetary,
        revenue_12m (net sum of the 12 months to as_of), first_channel,
        rfm_segment, cpm_segment, lifecycle_segment; sorted by customer_id.

    Raises
    ------
    ParameterError
        A malformed condition (the message names it), or a column the orders lack.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({"order_id": ["1", "2", "3"], "customer_id": ["a", "a", "b"],
    ...     "ordered_at": pd.to_datetime(["2026-01-05", "2026-09-01", "2026-10-02"]),
    ...     "amount": [1000, 500, 800], "category": ["coat", "hat", "hat"]})
    >>> extract(orders, as_of="2026-10-31", bought="category:hat", min_purchases=2)[
    ...     ["customer_id", "frequency", "revenue_12m"]].to_dict("records")
    [{'customer_id': 'a', 'frequency': 2, 'revenue_12m': 1500.0}]
    """
    expr = extract_table(
        orders,
        as_of=as_of,
        settings=settings,
        segment=segment,
        bought=bought,
        not_bought=not_bought,
        first_between=first_between,
        channel=channel,
        min_purchases=min_purchases,
    ).order_by("customer_id")
    df = engine.to_pandas(expr)
    for c in ("first_purchase", "last_purchase"):
        df[c] = pd.to_datetime(df[c]).dt.date
    df["frequency"] = df["frequency"].astype("int64")
    return df.reset_index(drop=True)


def profile(extracted: pd.DataFrame, *, segment_kind: str = "rfm") -> dict[str, Any]:
    """Count, 12-month revenue, segment mix and first-channel mix of a customer list.

    Parameters
    ----------
    extracted : DataFrame
        Output of :func:`extract` (after any contact rule).
    segment_kind : {"rfm", "cpm", "lifecycle"}
        Which segment column the mix counts.

    Returns
    -------
    dict
        ``customers`` (int), ``revenue_12m`` (float), ``segments`` and
        ``first_channels`` (Series of counts, largest first, ties by name;
        an unknown first channel is counted as ``"(unknown)"``).
    """
    if segment_kind not in SEGMENT_KINDS:
        raise ParameterError(f"segment_kind must be one of {sorted(SEGMENT_KINDS)}")

    def mix(s: pd.Series) -> pd.Series:
        counts = s.fillna("(unknown)").astype(str).value_counts()
        order = sorted(counts.index, key=lambda k: (-counts[k], k))
        return counts.reindex(order)

    return {
        "customers": len(extracted),
        "revenue_12m": float(pd.to_numeric(extracted["revenue_12m"]).sum()),
        "segments": mix(extracted[SEGMENT_KINDS[segment_kind]]),
        "first_channels": mix(extracted["first_channel"]),
    }
