"""The customer summary the BTYD models read: purchases, recency, age and spend per customer.

:func:`rfm_summary` turns canonical orders into one row per customer —
``frequency`` (repeat purchases), ``recency`` (first to last purchase), ``T``
(first purchase to as_of) and ``monetary_value`` (mean repeat purchase value) —
in days or weeks, counting orders (SPEC) or purchase periods (lifetimes'
convention). :mod:`ecrm.models.predict` fits BG/NBD and Gamma-Gamma to it and
:mod:`ecrm.models.calibration` checks the fit on a hold-out period.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd

from ecrm import engine
from ecrm.errors import ParameterError

__all__ = ["PURCHASE_COUNTS", "TIME_UNITS", "check_choice", "rfm_summary", "rfm_summary_table"]

TimeUnit = Literal["D", "W"]
PurchaseCount = Literal["orders", "periods"]

#: Time units of recency, T and the prediction horizon, with their length in days.
TIME_UNITS: dict[str, int] = {"D": 1, "W": 7}
#: What a purchase count counts: orders (SPEC) or purchase periods (lifetimes).
PURCHASE_COUNTS: tuple[str, ...] = ("orders", "periods")


def check_choice(name: str, value: str, allowed: tuple[str, ...] | dict[str, Any]) -> None:
    """Raise :class:`ParameterError` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ParameterError(f"{name} must be one of {list(allowed)}, got {value!r}")


# --------------------------------------------------------------------------- RFM summary


def rfm_summary_table(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    time_unit: TimeUnit = "D",
    purchases: PurchaseCount = "orders",
) -> ir.Table:
    """Ibis expression of :func:`rfm_summary` (unordered).

    Set-based and without a window over the orders: the purchases give each
    customer's count, first and last period and total value in one aggregate,
    and the first purchase's value (``purchases="orders"``: the minimum of a
    struct of ordered_at, order_id and value; ``"periods"``: the value of the
    earliest period). Only the non-purchase orders (returns, cancellations; a
    few percent of the orders) are joined to the customer's purchases to find
    the purchase each one is charged to: the latest before it in (ordered_at,
    order_id) order.
    """
    check_choice("time_unit", time_unit, TIME_UNITS)
    check_choice("purchases", purchases, PURCHASE_COUNTS)
    as_of_d = engine.as_of_date(as_of)
    unit = float(TIME_UNITS[time_unit])
    o = engine.order_totals(orders, as_of=as_of_d)
    if time_unit == "W":
        period = o.order_date.truncate("W")
        end = as_of_d - dt.timedelta(days=as_of_d.weekday())
    else:
        period = o.order_date
        end = as_of_d
    o = o.mutate(_period=period)
    p = o.filter(o.is_purchase)
    if purchases == "periods":
        d = p.group_by(["customer_id", "_period"]).agg(_value=p.amount.sum().cast(engine.AMOUNT))
        per = d.group_by("customer_id").agg(
            _n=d.count(),
            _first=d._period.min(),
            _last=d._period.max(),
            _total=d._value.sum().cast(engine.AMOUNT),
            _first_value=d._value.argmin(d._period),  # one row per period
        )
    else:
        key = ibis.struct({"t": p.ordered_at, "o": p.order_id, "v": p.amount})
        per = p.group_by("customer_id").agg(
            _n=p.count(),
            _first=p._period.min(),
            _last=p._period.max(),
            _total=p.amount.sum().cast(engine.AMOUNT),
            _fk=key.min(),
        )
        per = per.mutate(_first_value=per._fk["v"])
    # non-purchase orders, each charged to the customer's latest purchase before it
    r = o.filter(~o.is_purchase & (o.amount != 0))
    r = r.select(_rc="customer_id", _rt="ordered_at", _ro="order_id", _ra="amount")
    pk = p.select("customer_id", "ordered_at", "order_id", "_period")
    pk = pk.semi_join(r, pk.customer_id == r._rc)  # only customers with such an order
    j = r.join(
        pk,
        [
            r._rc == pk.customer_id,
            (pk.ordered_at < r._rt) | ((pk.ordered_at == r._rt) & (pk.order_id < r._ro)),
        ],
    )
    prec = ibis.struct({"t": j.ordered_at, "o": j.order_id, "p": j._period})
    rj = j.group_by(["_rc", "_ro"]).agg(_ra=j._ra.min(), _prec=prec.max())
    if purchases == "orders":  # the first purchase's key, to tell its returns apart
        fk = per.select(_fc="customer_id", _fk="_fk")
        rj = rj.inner_join(fk, rj._rc == fk._fc)
        repeat = (rj._prec["t"] != rj._fk["t"]) | (rj._prec["o"] != rj._fk["o"])
    else:
        first = per.select(_fc="customer_id", _fp="_first")
        rj = rj.inner_join(first, rj._rc == first._fc)
        repeat = rj._prec["p"] != rj._fp
    ret = rj.group_by(customer_id=rj._rc).agg(_ret=rj._ra.sum(where=repeat).cast(engine.AMOUNT))
    per = per.left_join(ret, "customer_id").drop("customer_id_right")
    if purchases == "orders":
        per = per.drop("_fk")
    repeat_value = (per._total - per._first_value).cast(engine.AMOUNT) + per._ret.fill_null(0)
    freq = (per._n - 1).cast("int64")
    end_lit = ibis.literal(end, type="date")
    return per.select(
        "customer_id",
        frequency=freq,
        recency=(per._last.delta(per._first, unit="day").cast("float64") / unit),
        T=(end_lit.delta(per._first, unit="day").cast("float64") / unit),
        monetary_value=ibis.ifelse(
            freq > 0, repeat_value.cast("float64") / freq.cast("float64"), 0.0
        ),
    )


def rfm_summary(
    orders: engine.OrdersLike,
    *,
    as_of: Any,
    time_unit: TimeUnit = "D",
    purchases: PurchaseCount = "orders",
) -> pd.DataFrame:
    """Per-customer frequency, recency, T and monetary value for buy-till-you-die models.

    The module docstring defines each measure. Computed in the engine
    without a window over the orders (see :func:`rfm_summary_table`); orders
    after ``as_of`` are ignored.

    Parameters
    ----------
    orders : DataFrame, ibis Table or path
        Canonical orders (SPEC §1): order_id, customer_id, ordered_at, amount.
    as_of : date or str
        End of the observation period, inclusive.
    time_unit : {"D", "W"}
        Unit of recency and T: calendar days, or weeks (dates floored to their
        ISO week's Monday, as ``lifetimes`` does with ``"W"``).
    purchases : {"orders", "periods"}
        ``"orders"`` (default, SPEC §1): every purchase counts;
        ``"periods"``: purchases in the same day (or week) count once, their
        net values summed — the ``lifetimes`` convention.

    Returns
    -------
    DataFrame
        customer_id (str); frequency (int, repeat purchases); recency, T
        (float, in ``time_unit``); monetary_value (float, mean net value of
        the repeat purchases, 0 without repeat). One row per customer with a
        purchase by ``as_of``, sorted by customer_id.

    Raises
    ------
    ParameterError
        Unknown ``time_unit`` or ``purchases``, or a bad ``as_of``.
    ColumnsError
        The orders lack a required column.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({
    ...     "order_id": ["1", "2", "3", "4"], "customer_id": ["a"] * 4,
    ...     "ordered_at": pd.to_datetime(
    ...         ["2026-01-05", "2026-01-05", "2026-01-20", "2026-02-10"]),
    ...     "amount": [1500, 800, -300, 2000]})
    >>> rfm_summary(orders, as_of="2026-03-31").to_dict("records")
    [{'customer_id': 'a', 'frequency': 2, 'recency': 36.0, 'T': 85.0, 'monetary_value': 1250.0}]
    """
    expr = rfm_summary_table(orders, as_of=as_of, time_unit=time_unit, purchases=purchases)
    df = engine.to_pandas(expr.order_by("customer_id"))
    df["customer_id"] = df["customer_id"].astype(str)
    df["frequency"] = df["frequency"].astype("int64")
    for c in ("recency", "T", "monetary_value"):
        df[c] = df[c].astype("float64")
    return df.reset_index(drop=True)
