"""The demo shops' D2C side: the food shop's 定期便 and both shops' ad costs.

Called by :class:`ecrm.io.demo_generate.ShopGenerator` with a random generator
spawned from the shop's own (``Generator.spawn``: the spawned stream is
independent and drawing from it leaves the parent's draws unchanged), so the
side tables are seeded and deterministic. Everything is vectorised with numpy.

定期便 (demo-food only)
-----------------------
* A share of the customers subscribe (``SUB_SHARE`` ≈ 11 %, ``SUB_SHARE_ENTRY``
  ≈ 65 % of those whose first order's largest line was a 定期便セット: about
  22 % of customers in all). Most (``SUB_AT_FIRST``) start with their first
  order (the first delivery is its own order minutes later, as a 定期 system
  writes it); the others start later (exponential, mean ``SUB_LATER_DAYS``).
* Deliveries come monthly (every ``MONTH_DAYS`` ± 2 days); before each delivery
  after the first, a subscriber skips the month with probability ``SKIP_RATE``
  (a skipped month is no delivery and no cancellation).
* After each delivery the subscriber cancels with probability ``q``, drawn per
  subscriber from ``Beta(SUB_ALPHA, SUB_BETA)`` (shifted-beta-geometric
  heterogeneity, so the aggregate hazard falls with tenure); the cancellation
  date is 1–25 days after that delivery. A cancellation that would fall after
  the calendar's end is not written (still active at the end), and so are
  subscriptions whose next delivery would come after the end.
* A delivery is one line: the subscriber's 定期便セット product (favourite
  taste and brand), one unit, 10 % off the list price, on the subscriber's
  acquisition channel.

Ad costs (both shops)
---------------------
One row per (month, channel with customers): the month's new customers of the
channel times the channel's CAC (``CAC``: marketplaces dearer than the own
site) times a log-normal factor (σ 0.2), rounded to ¥1,000; a month without new
customers costs ¥0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

__all__ = [
    "CAC",
    "COST_EXPORT_COLUMNS",
    "SUBSCRIPTION_EXPORT_COLUMNS",
    "SUB_ALPHA",
    "SUB_BETA",
    "Subscriptions",
    "ad_costs",
    "simulate_subscriptions",
]

#: The subscriptions export's header (a 定期 system's own CSV).
SUBSCRIPTION_EXPORT_COLUMNS: tuple[str, ...] = (
    "定期ID",
    "会員ID",
    "開始日",
    "解約日",
    "商品コード",
    "販売チャネル",
)
#: The ad costs export's header (an ad spreadsheet saved as CSV).
COST_EXPORT_COLUMNS: tuple[str, ...] = ("月", "広告媒体", "費用")
#: Acquisition cost per new customer (yen) by shop and channel.
CAC: dict[str, dict[str, float]] = {
    "demo-apparel": {"自社サイト": 2_800.0, "楽天市場": 5_200.0, "Amazon": 4_300.0},
    "demo-food": {"自社サイト": 2_200.0, "楽天市場": 4_500.0, "Yahoo!ショッピング": 3_400.0},
}
SUB_SHARE = 0.11
SUB_SHARE_ENTRY = 0.65
SUB_AT_FIRST = 0.7
SUB_LATER_DAYS = 150.0
MONTH_DAYS = 30.44
SKIP_RATE = 0.08
#: Beta(α, β) of each subscriber's cancellation probability per delivery.
SUB_ALPHA, SUB_BETA = 1.2, 4.0
SUB_DISCOUNT = 0.9
COST_SIGMA = 0.2


@dataclass
class Subscriptions:
    """Simulated 定期便: one entry per subscription, one per delivery.

    ``customer``, ``start`` (days since the calendar's start), ``cancel`` (NaN
    while active), ``product`` and ``q`` (the latent cancellation probability)
    per subscription, ordered by start; ``sub`` (index of the subscription) and
    ``t`` (days) per delivery.
    """

    customer: np.ndarray
    start: np.ndarray
    cancel: np.ndarray
    product: np.ndarray
    q: np.ndarray
    sub: np.ndarray
    t: np.ndarray


def simulate_subscriptions(
    rng: np.random.Generator,
    t0: np.ndarray,
    entry_is_set: np.ndarray,
    product: np.ndarray,
    horizon: float,
) -> Subscriptions:
    """Who subscribes, when, their deliveries and cancellations (see the module docstring).

    Parameters
    ----------
    rng : numpy.random.Generator
        The side tables' generator.
    t0 : ndarray
        Each customer's first order time (days since the calendar's start).
    entry_is_set : ndarray of bool
        The customer's entry category is the 定期便セット.
    product : ndarray of int
        Each customer's 定期便 product (catalogue index).
    horizon : float
        Days in the calendar: nothing happens at or after it.

    Returns
    -------
    Subscriptions
        The subscriptions (ordered by start) and their deliveries (by
        subscription, then time).
    """
    n = t0.size
    share = np.where(entry_is_set, SUB_SHARE_ENTRY, SUB_SHARE)
    joins = rng.random(n) < share
    at_first = rng.random(n) < SUB_AT_FIRST
    delay = np.where(
        at_first, rng.uniform(2.0, 30.0, n) / 1440.0, rng.exponential(SUB_LATER_DAYS, n)
    )
    start = t0 + delay
    who = np.flatnonzero(joins & (start < horizon))
    who = who[np.argsort(start[who], kind="stable")]
    start = start[who]
    m = who.size
    q = np.clip(rng.beta(SUB_ALPHA, SUB_BETA, m), 1e-4, 1.0)
    # Deliveries until the cancelling one (geometric), at most as many as months fit.
    cap = int(np.ceil(horizon / MONTH_DAYS)) + 1
    planned = np.minimum(rng.geometric(q), cap)
    sub = np.repeat(np.arange(m), planned)
    first = np.cumsum(planned) - planned  # each subscription's first delivery
    is_first = np.zeros(sub.size, dtype=bool)
    is_first[first] = True
    months = rng.geometric(1.0 - SKIP_RATE, sub.size)  # 1 + skipped months
    gap = np.where(is_first, 0.0, months * MONTH_DAYS + rng.uniform(-2.0, 2.0, sub.size))
    offset = np.cumsum(gap)
    offset -= np.repeat(offset[first], planned)
    t = start[sub] + offset
    # The planned last delivery cancels; a later gap than the calendar means still active.
    last = np.zeros(sub.size, dtype=bool)
    last[np.cumsum(planned) - 1] = True
    inside = t < horizon
    delivered = np.bincount(sub[inside], minlength=m)
    cancel_day = t[last] + rng.uniform(1.0, 25.0, m)
    ends = (delivered == planned) & (planned < cap) & (cancel_day < horizon)
    cancel = np.where(ends, cancel_day, np.nan)
    return Subscriptions(who, start, cancel, product[who], q, sub[inside], t[inside])


def ad_costs(
    rng: np.random.Generator,
    shop: str,
    t0: np.ndarray,
    channel: np.ndarray,
    channels: tuple[str, ...],
    start: date,
    n_days: int,
) -> pd.DataFrame:
    """Monthly ad spend per channel (``COST_EXPORT_COLUMNS``; see the module docstring).

    Parameters
    ----------
    rng : numpy.random.Generator
        The side tables' generator.
    shop : str
        The shop name (a key of ``CAC``).
    t0, channel : ndarray
        Each customer's first order time (days) and acquisition channel index.
    channels : tuple of str
        The channel names.
    start : date
        The calendar's first day.
    n_days : int
        Days in the calendar.

    Returns
    -------
    DataFrame
        月 (``YYYY/MM``), 広告媒体, 費用 (int64 yen, multiples of 1,000), every
        calendar month × every channel that has customers, by month then channel.
    """
    day0 = np.datetime64(start, "D")
    m0 = day0.astype("datetime64[M]").astype(np.int64)
    n_months = int((day0 + n_days - 1).astype("datetime64[M]").astype(np.int64) - m0) + 1
    month = (day0 + np.floor(t0).astype(np.int64)).astype("datetime64[M]").astype(np.int64) - m0
    n_ch = len(channels)
    new = np.bincount(month * n_ch + channel, minlength=n_months * n_ch).reshape(n_months, n_ch)
    cac = np.asarray([CAC[shop][c] for c in channels])
    noise = np.exp(rng.normal(-0.5 * COST_SIGMA**2, COST_SIGMA, new.shape))
    cost = (np.round(new * cac[None, :] * noise / 1000.0) * 1000).astype(np.int64)
    used = np.flatnonzero(new.sum(axis=0) > 0)
    ym = m0 + np.arange(n_months)
    label = [f"{y:04d}/{mm:02d}" for y, mm in zip(ym // 12 + 1970, ym % 12 + 1, strict=True)]
    return pd.DataFrame(
        {
            COST_EXPORT_COLUMNS[0]: np.repeat(label, used.size),
            COST_EXPORT_COLUMNS[1]: np.tile(np.asarray(channels, dtype=object)[used], n_months),
            COST_EXPORT_COLUMNS[2]: cost[:, used].ravel(),
        }
    )
