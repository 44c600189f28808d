"""The generating process of the demo shops (see :mod:`ecrm.io.demo` for the model).

:class:`ShopGenerator` runs one shop: customers, their BG/NBD purchase histories,
order lines, the data-quality cases, the customers table and the latent truth.
All randomness comes from one ``numpy.random.Generator`` in a fixed order, so a
seed gives the same shop on every machine. Call it through
:func:`ecrm.io.demo.generate_shop`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ecrm.io.demo_d2c import ad_costs, simulate_subscriptions
from ecrm.io.demo_specs import (
    APPAREL_NOUNS,
    APPAREL_ORDER_COLUMNS,
    CANCEL_RATE,
    CHUNK,
    DUPLICATE_RATE,
    EMAIL_DOMAINS,
    FEMALE_NAMES,
    FOOD_ORDER_COLUMNS,
    FOOD_TEMPLATES,
    GENDERS,
    GROWTH_PER_YEAR,
    GUEST_RATE,
    HOUR_WEIGHTS,
    MALE_NAMES,
    MAX_LAMBDA,
    MAX_ROUNDS,
    N_TEST_ORDERS,
    PREFECTURES,
    REPEAT_CHANNEL_STAY,
    RETURN_RATE,
    SALE_FACTOR,
    SALE_MONTHS,
    SALE_SHARE,
    SEASON,
    SPEND_TILT,
    SUBSCRIPTION_ORDER_COLUMN,
    SURNAMES,
    ShopSpec,
)

__all__ = ["ShopGenerator"]


@dataclass
class _Lines:
    """Order lines of a block of orders: the order (block-local), product, units, yen."""

    order: np.ndarray
    product: np.ndarray
    qty: np.ndarray
    amount: np.ndarray


class ShopGenerator:
    """One run of the process; all randomness comes from ``rng`` in a fixed order."""

    def __init__(
        self,
        name: str,
        spec: ShopSpec,
        rng: np.random.Generator,
        n: int,
        start: date,
        end: date,
        lines_per_order: float | None,
        subscriptions: bool = True,
    ) -> None:
        self.name, self.spec, self.rng, self.n = name, spec, rng, n
        self.lines_per_order = lines_per_order
        self.with_subscriptions = subscriptions
        self.start = start
        self.n_days = (end - start).days + 1
        days = np.datetime64(start, "D") + np.arange(self.n_days + 30)
        month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
        self.sale_day = np.isin(month, SALE_MONTHS)
        self._products()

    # ---------------------------------------------------------------- catalogue

    def _products(self) -> None:
        """The catalogue: one product per (category, taste, brand), index (c*T + t)*B + b."""
        s = self.spec
        nc, nt, nb = len(s.categories), len(s.tastes), len(s.brands)
        c, t, b = (
            g.ravel()
            for g in np.meshgrid(np.arange(nc), np.arange(nt), np.arange(nb), indexing="ij")
        )
        jitter = np.exp(self.rng.normal(0.0, 0.15, c.size))
        base = np.asarray(s.category_price)[c] * np.asarray(s.brand_price)[b] * jitter
        if self.name == "demo-apparel":
            base = np.maximum(np.round(base / 100.0), 5) * 100  # ¥3,500 + 10 % = ¥3,850
            codes = [f"A{i + 1:06d}" for i in range(c.size)]
            names = [
                f"{s.tastes[ti]} {APPAREL_NOUNS[ci][bi]}"
                for ci, ti, bi in zip(c, t, b, strict=True)
            ]
        else:
            base = np.maximum(np.round(base / 10.0), 30) * 10  # ¥1,200 + 8 % = ¥1,296
            codes = [f"SKU{i + 1:04d}" for i in range(c.size)]
            names = [
                f"{s.brands[bi]} " + FOOD_TEMPLATES[ci].format(t=s.tastes[ti])
                for ci, ti, bi in zip(c, t, b, strict=True)
            ]
        self.p_cat, self.p_taste, self.p_brand = (
            c.astype(np.int16),
            t.astype(np.int16),
            b.astype(np.int16),
        )
        self.price = np.floor(base * (1.0 + s.tax) + 1e-6).astype(np.int64)
        self.codes = codes
        self.names = names
        self.shape = (nc, nt, nb)

    # ---------------------------------------------------------------- customers

    def _arrival_times(self, n: int) -> np.ndarray:
        """``n`` sorted arrival times (days since start) with growth and seasonality."""
        days = np.datetime64(self.start, "D") + np.arange(self.n_days)
        month_id = days.astype("datetime64[M]").astype(np.int64)
        w = np.asarray(SEASON)[month_id % 12] * GROWTH_PER_YEAR ** (np.arange(self.n_days) / 365.25)
        day = self.rng.choice(self.n_days, size=n, p=w / w.sum())
        return np.sort(day + self.rng.random(n))

    def _preferences(self, n: int) -> dict[str, np.ndarray]:
        """Spend level ``z`` and favourite category / taste / brand of ``n`` buyers."""
        s, rng = self.spec, self.rng
        z = rng.standard_normal(n)
        cat = _tilted_choice(rng, s.category_pop, np.log(s.category_price), z)
        taste = rng.choice(len(s.tastes), size=n, p=_norm(s.taste_pop)).astype(np.int16)
        brand = _tilted_choice(rng, s.brand_pop, np.log(s.brand_price), z)
        qty_mu = s.qty_mu * np.exp(0.5 * z)  # extra units per line ~ Poisson(qty_mu), at most 4
        return {"z": z, "cat": cat, "taste": taste, "brand": brand, "qty_mu": qty_mu}

    def _expected_order_value(self, prefs: dict[str, np.ndarray]) -> np.ndarray:
        """E[order value at list price] under each buyer's preferences and spend level."""
        s = self.spec
        a = self.price.reshape(self.shape).astype(np.float64)
        pops = [_norm(s.category_pop), _norm(s.taste_pop), _norm(s.brand_pop)]
        favs = [prefs["cat"], prefs["taste"], prefs["brand"]]
        ws = [s.pref_category, s.pref_taste, s.pref_brand]
        price = np.zeros(len(prefs["z"]))
        for mask in range(8):  # each axis: the favourite (weight w) or popularity (1 - w)
            t = a
            weight = 1.0
            index: list[np.ndarray | slice] = []
            for axis in range(3):
                if mask >> axis & 1:
                    weight *= ws[axis]
                    index.append(favs[axis])
                else:
                    weight *= 1.0 - ws[axis]
                    index.append(slice(None))
            for axis in reversed(range(3)):  # contract the popularity axes
                if not mask >> axis & 1:
                    t = np.tensordot(t, pops[axis], axes=([axis], [0]))
            fav_index = tuple(i for i in index if not isinstance(i, slice))
            price += weight * (t[fav_index] if fav_index else t)
        mu = prefs["qty_mu"]
        extra = np.zeros_like(mu)  # E[min(Poisson(mu), 4)] = sum_{j=1..4} P(X >= j)
        term = np.exp(-mu)
        cdf = term.copy()
        for j in range(1, 5):
            extra += 1.0 - cdf
            term = term * mu / j
            cdf += term
        lines = self.lines_per_order or float(np.dot(np.arange(1, 5), _norm(s.lines_pop)))
        return lines * (1.0 + extra) * price

    # ---------------------------------------------------------------- order lines

    def _lines(self, prefs: dict[str, np.ndarray], owner: np.ndarray, t: np.ndarray) -> _Lines:
        """Lines of orders placed by ``owner`` (index into ``prefs``) at times ``t``.

        Works through the orders in fixed-size chunks (so memory stays bounded and
        the random stream does not depend on the machine).
        """
        parts = [
            self._lines_chunk(prefs, owner[i : i + CHUNK], t[i : i + CHUNK])
            for i in range(0, max(t.size, 1), CHUNK)
        ]
        return _concat_lines(parts, list(range(0, max(t.size, 1), CHUNK)))

    def _lines_chunk(
        self, prefs: dict[str, np.ndarray], owner: np.ndarray, t: np.ndarray
    ) -> _Lines:
        s, rng = self.spec, self.rng
        _, nt, nb = self.shape
        if self.lines_per_order is None:
            k = _categorical(rng.random(t.size), s.lines_pop) + 1
        else:  # 1 + Binomial(most - 1, q) has the requested mean
            most = max(4, math.ceil(2 * self.lines_per_order - 1))
            q = (self.lines_per_order - 1.0) / (most - 1)
            k = 1 + rng.binomial(most - 1, q, t.size)
        order = np.repeat(np.arange(t.size, dtype=np.int32), k)
        who = owner[order]
        n = order.size

        def pick(fav: np.ndarray, w: float, pop: tuple[float, ...]) -> np.ndarray:
            u = rng.random(n)  # below w: the favourite; else rescaled into popularity
            return np.where(u < w, fav, _categorical((u - w) / (1.0 - w), pop))

        product = pick(prefs["cat"][who], s.pref_category, s.category_pop).astype(np.int32)
        product *= nt
        product += pick(prefs["taste"][who], s.pref_taste, s.taste_pop)
        product *= nb
        product += pick(prefs["brand"][who], s.pref_brand, s.brand_pop)
        qty = 1 + np.minimum(rng.poisson(prefs["qty_mu"][who]), 4)
        del who
        # The same product twice in one order becomes one line with the units added.
        root = np.arange(n, dtype=np.int32)
        for lag in (3, 2, 1):
            same = (order[lag:] == order[:-lag]) & (product[lag:] == product[:-lag])
            same = np.flatnonzero(same) + lag
            same = same[root[same] == same]
            root[same] = same - lag
        keep = root == np.arange(n, dtype=np.int32)
        if not keep.all():
            qty = np.bincount(root, weights=qty, minlength=n)[keep]
            order, product = order[keep], product[keep]
        del root, keep
        qty = qty.astype(np.int32)
        sale = self.sale_day[t.astype(np.int32)][order] & (rng.random(order.size) < SALE_SHARE)
        unit = self.price[product]
        unit = np.where(sale, (unit * SALE_FACTOR).astype(np.int64) // 10 * 10, unit)
        return _Lines(order, product, qty, (unit * qty).astype(np.int32))

    # ---------------------------------------------------------------- the process

    def _simulate(self, t0: np.ndarray, lam: np.ndarray, p: np.ndarray):
        """BG/NBD repeat purchases in rounds: (customer, time) of each, and alive_at_end."""
        rng, horizon = self.rng, float(self.n_days)
        alive_at_end = np.ones(t0.size, dtype=bool)
        who = np.arange(t0.size, dtype=np.int64)
        now = t0.copy()
        got_who, got_t = [], []
        for _ in range(MAX_ROUNDS):
            if who.size == 0:
                break
            nxt = now + rng.exponential(1.0, who.size) / lam[who]
            buys = nxt < horizon
            who, nxt = who[buys], nxt[buys]
            got_who.append(who)
            got_t.append(nxt)
            dies = rng.random(who.size) < p[who]
            alive_at_end[who[dies]] = False
            who, now = who[~dies], nxt[~dies]
        cust = np.concatenate(got_who) if got_who else np.zeros(0, np.int64)
        t = np.concatenate(got_t) if got_t else np.zeros(0)
        return cust, t, alive_at_end

    def run(self) -> tuple[pd.DataFrame | None, ...]:
        """The shop: ``orders``, ``products`` (apparel only), ``customers``, ``truth``,
        ``subscriptions`` (food only) and ``costs``.

        The six tables of :class:`ecrm.io.demo.DemoShop`, in its order.
        """
        s, rng, n = self.spec, self.rng, self.n
        # The D2C side tables (定期便, costs): spawned streams, rng's own draws unchanged.
        side, cost_rng = rng.spawn(2)
        # Customers: arrival (= first order), channel, preferences.
        t0 = self._arrival_times(n)
        channel = _categorical(rng.random(n), s.channel_pop)
        prefs = self._preferences(n)
        owner = np.arange(n, dtype=np.int64)
        first = self._lines(prefs, owner, t0)
        entry = self._entry_category(first, n)
        # Latent BG/NBD parameters, moved a little by the entry category.
        lam = rng.gamma(s.r, 1.0 / s.alpha, n) * np.asarray(s.entry_lambda)[entry]
        lam = np.clip(lam, 1e-6, MAX_LAMBDA)
        p0 = np.clip(rng.beta(s.a, s.b, n), 1e-6, 1 - 1e-6)
        logit = np.log(p0 / (1.0 - p0)) + np.asarray(s.entry_logit_p)[entry]
        p = np.clip(1.0 / (1.0 + np.exp(-logit)), 1e-4, 0.999)
        rep_cust, rep_t, alive_at_end = self._simulate(t0, lam, p)
        stay = rng.random(rep_cust.size) < REPEAT_CHANNEL_STAY
        other = _categorical(rng.random(rep_cust.size), s.channel_pop)
        rep_channel = np.where(stay, channel[rep_cust], other)
        repeat = self._lines(prefs, rep_cust, rep_t)
        n_main = n + rep_cust.size
        # 定期便 deliveries (food): one line each, the subscriber's 定期便セット product.
        subs = None
        if self.name == "demo-food":
            _, nt, nb = self.shape
            set_cat = s.categories.index("定期便セット")
            sub_product = (set_cat * nt + prefs["taste"].astype(np.int32)) * nb + prefs["brand"]
            k = n if self.with_subscriptions else 0  # none: an empty export, no deliveries
            subs = simulate_subscriptions(
                side,
                t0[:k],
                entry[:k] == set_cat,
                sub_product[:k].astype(np.int32),
                float(self.n_days),
            )
        d_cust = subs.customer[subs.sub] if subs is not None else np.zeros(0, np.int64)
        d_t = subs.t if subs is not None else np.zeros(0)
        d_prod = subs.product[subs.sub] if subs is not None else np.zeros(0, np.int32)
        d_unit = (self.price[d_prod] * 0.9).astype(np.int64) // 10 * 10
        delivery = _Lines(
            np.arange(d_t.size, dtype=np.int32),
            d_prod.astype(np.int32),
            np.ones(d_t.size, np.int32),
            d_unit.astype(np.int32),
        )
        # Guests: one-off buyers without a customer id.
        n_guest = max(1, round(n_main * GUEST_RATE / (1.0 - GUEST_RATE)))
        g_t = rng.permutation(self._arrival_times(n_guest))
        g_prefs = self._preferences(n_guest)
        g_channel = _categorical(rng.random(n_guest), s.channel_pop)
        guest = self._lines(g_prefs, np.arange(n_guest, dtype=np.int64), g_t)

        # Orders so far: status 0 (normal).
        o_t = np.concatenate([t0, rep_t, d_t, g_t])
        o_cust = np.concatenate([owner, rep_cust, d_cust, np.full(n_guest, -1, np.int64)])
        o_chan = np.concatenate([channel, rep_channel, channel[d_cust], g_channel])
        lines = _concat_lines([first, repeat, delivery, guest], [0, n, n_main, n_main + d_t.size])
        del first, repeat, guest, delivery
        n_normal = o_t.size
        o_sub = np.full(n_normal, -1, np.int64)  # the subscription a delivery belongs to
        if subs is not None:
            o_sub[n_main : n_main + d_t.size] = subs.sub
        o_status = np.zeros(n_normal, np.int8)
        o_parent = np.full(n_normal, -1, np.int64)  # the original order of a return
        line_start = np.searchsorted(lines.order, np.arange(n_normal + 1))

        # Cancelled orders: a copy of a real order placed minutes later, then cancelled.
        horizon = float(self.n_days)
        cand = np.flatnonzero((o_t > 0.2) & (o_t < horizon - 0.2))
        src = np.sort(
            rng.choice(
                cand, size=min(cand.size, max(1, round(n_normal * CANCEL_RATE))), replace=False
            )
        )
        delta = rng.uniform(2.0, 180.0, src.size) / 1440.0
        c_t = np.where(
            o_t[src] + delta < horizon,
            o_t[src] + delta,
            np.maximum(o_t[src] - delta, np.floor(o_t[src])),
        )
        c_lines = _copy_lines(lines, line_start, src, n_normal)
        # Test orders on the first day: one line each, no customer.
        test_t = 0.45 + np.arange(N_TEST_ORDERS) * 0.01
        test_first = n_normal + src.size
        test_lines = _Lines(
            np.arange(test_first, test_first + N_TEST_ORDERS, dtype=np.int32),
            np.zeros(N_TEST_ORDERS, np.int32),
            np.ones(N_TEST_ORDERS, np.int32),
            np.repeat(self.price[:1], N_TEST_ORDERS).astype(np.int32),
        )
        # Returns: 3-14 days later, one line of a customer's order, negative.
        cand = np.flatnonzero((o_cust >= 0) & (o_t < horizon - 14.0))
        ret = np.sort(
            rng.choice(
                cand, size=min(cand.size, max(1, round(n_normal * RETURN_RATE))), replace=False
            )
        )
        r_t = o_t[ret] + rng.uniform(3.0, 14.0, ret.size)
        n_lines = line_start[ret + 1] - line_start[ret]
        pick = line_start[ret] + np.floor(rng.random(ret.size) * n_lines).astype(np.int64)
        ret_first = test_first + N_TEST_ORDERS
        r_lines = _Lines(
            np.arange(ret_first, ret_first + ret.size, dtype=np.int32),
            lines.product[pick],
            -lines.qty[pick],
            -lines.amount[pick],
        )
        lines = _concat_lines([lines, c_lines, test_lines, r_lines], [0, 0, 0, 0])
        o_t = np.concatenate([o_t, c_t, test_t, r_t])
        o_cust = np.concatenate([o_cust, o_cust[src], np.full(N_TEST_ORDERS, -1), o_cust[ret]])
        o_chan = np.concatenate(
            [o_chan, o_chan[src], np.zeros(N_TEST_ORDERS, np.int8), o_chan[ret]]
        )
        o_status = np.concatenate(
            [
                o_status,
                np.full(src.size, 1, np.int8),
                np.full(N_TEST_ORDERS, 2, np.int8),
                np.full(ret.size, 3, np.int8),
            ]
        )
        o_parent = np.concatenate([o_parent, np.full(src.size + N_TEST_ORDERS, -1), ret])
        o_sub = np.concatenate([o_sub, np.full(o_t.size - o_sub.size, -1, np.int64)])

        orders = self._orders_table(lines, o_t, o_cust, o_chan, o_status, o_parent, o_sub)
        del lines
        n_orders = np.bincount(o_cust[(o_status == 0) & (o_cust >= 0)], minlength=n)
        customers = self._customers_table(t0, prefs["z"])
        truth = pd.DataFrame(
            {
                "customer_id": customers["customer_id"].to_numpy(),
                "lambda_": lam,
                "p_dropout": p,
                "spend_level": self._expected_order_value(prefs),
                "alive_at_end": alive_at_end,
                "n_orders": n_orders.astype(np.int64),
                "channel": pd.Categorical.from_codes(channel, categories=list(s.channels)),
                "entry_category": pd.Categorical.from_codes(entry, categories=list(s.categories)),
                "fav_category": pd.Categorical.from_codes(
                    prefs["cat"], categories=list(s.categories)
                ),
                "fav_taste": pd.Categorical.from_codes(prefs["taste"], categories=list(s.tastes)),
                "fav_brand": pd.Categorical.from_codes(prefs["brand"], categories=list(s.brands)),
            }
        )
        products = None
        if self.name == "demo-apparel":
            products = pd.DataFrame(
                {
                    "商品コード": self.codes,
                    "商品名": self.names,
                    "カテゴリ": [s.categories[i] for i in self.p_cat],
                    "テイスト": [s.tastes[i] for i in self.p_taste],
                    "ブランド": [s.brands[i] for i in self.p_brand],
                    "定価": self.price,
                }
            )
        subscriptions = None if subs is None else self._subscriptions_table(subs, channel)
        costs = ad_costs(cost_rng, self.name, t0, channel, s.channels, self.start, self.n_days)
        return orders, products, customers, truth, subscriptions, costs

    def _subscriptions_table(self, subs, channel: np.ndarray) -> pd.DataFrame:
        """The 定期 system's export: one row per subscription, ordered by start."""
        epoch = np.datetime64(self.start, "D")
        start = (epoch + np.floor(subs.start).astype(np.int64)).astype(str)
        ended = ~np.isnan(subs.cancel)
        cancel_day = np.floor(np.where(ended, subs.cancel, 0.0)).astype(np.int64)
        cancel = np.where(ended, (epoch + cancel_day).astype(str), "")
        cust = self._customer_ids(self.n).take(pa.array(subs.customer))
        return pd.DataFrame(
            {
                "定期ID": _sub_ids(subs.customer.size),
                "会員ID": cust.to_numpy(zero_copy_only=False),
                "開始日": start,
                "解約日": cancel,
                "商品コード": np.asarray(self.codes, dtype=object)[subs.product],
                "販売チャネル": np.asarray(self.spec.channels, dtype=object)[
                    channel[subs.customer]
                ],
            }
        )

    def _entry_category(self, first: _Lines, n: int) -> np.ndarray:
        """Category of each first order's largest line (ties: the lowest product code)."""
        idx = np.lexsort((first.product, -first.amount, first.order))
        head = np.ones(idx.size, dtype=bool)
        head[1:] = first.order[idx][1:] != first.order[idx][:-1]
        top = np.empty(n, np.int32)
        top[first.order[idx][head]] = first.product[idx][head]
        return self.p_cat[top].astype(np.int16)

    # ---------------------------------------------------------------- tables

    def _timestamps(self, t: np.ndarray) -> pa.Array:
        """``YYYY-MM-DD HH:MM:SS`` of times in days since start (evening-heavy clock)."""
        day = np.floor(t)
        frac = t - day
        w = np.asarray(HOUR_WEIGHTS)
        edges = np.concatenate([[0.0], np.cumsum(w) / w.sum()])
        hour = np.clip(np.searchsorted(edges, frac, side="right") - 1, 0, 23)
        within = (frac - edges[hour]) / (edges[hour + 1] - edges[hour])
        sec = np.minimum(np.floor((hour + within) * 3600.0).astype(np.int64), 86_399)
        epoch = (self.start - date(1970, 1, 1)).days
        stamp = (epoch + day.astype(np.int64)) * 86_400 + sec
        return pa.array(stamp, type=pa.timestamp("s")).cast(pa.string())

    def _customer_ids(self, count: int) -> pa.Array:
        num = pa.array(np.arange(1, count + 1, dtype=np.int64))
        if self.name == "demo-apparel":
            return pc.binary_join_element_wise("C", pc.utf8_lpad(num.cast(pa.string()), 7, "0"), "")
        return pc.add(num, 100_000).cast(pa.string())

    def _orders_table(
        self,
        lines: _Lines,
        o_t: np.ndarray,
        o_cust: np.ndarray,
        o_chan: np.ndarray,
        o_status: np.ndarray,
        o_parent: np.ndarray,
        o_sub: np.ndarray,
    ) -> pd.DataFrame:
        """The raw orders frame; empties ``lines`` on the way to keep memory down."""
        s, rng = self.spec, self.rng
        n_orders = o_t.size
        # Order numbers run with time over every order except returns (<original>-R).
        # Output order of the orders: by time. Order-level columns are built
        # directly in that order ("ranked").
        ranked = np.argsort(o_t, kind="stable")
        is_ret = o_parent[ranked] >= 0
        seq = np.zeros(n_orders, np.int64)
        seq[ranked] = np.cumsum(~is_ret)
        source = np.where(is_ret, o_parent[ranked], ranked)  # a return is named after its order
        oid = self._order_ids(seq[source], np.floor(o_t[source]).astype(np.int64))
        del seq, source
        if is_ret.any():
            oid = pc.if_else(pa.array(is_ret), pc.binary_join_element_wise(oid, "-R", ""), oid)
        cust_ids = pa.concat_arrays([self._customer_ids(self.n), pa.array([""])])
        cust = cust_ids.take(pa.array(np.where(o_cust >= 0, o_cust, self.n)[ranked]))
        stamp = self._timestamps(o_t[ranked])
        chan, status = o_chan[ranked], o_status[ranked]
        sub_of = pa.array(np.where(o_sub < 0, o_sub.max() + 1, o_sub)[ranked])
        sub = pa.concat_arrays([_sub_ids(int(o_sub.max()) + 1), pa.array([""])]).take(sub_of)

        # Lines in output order: orders ranked, lines within an order as generated.
        start = np.searchsorted(lines.order, np.arange(n_orders + 1))
        count = np.diff(start)[ranked]
        start = start[:-1][ranked]
        out_start = np.cumsum(count) - count
        perm = np.repeat(start - out_start, count) + np.arange(lines.order.size)
        lo = np.repeat(np.arange(n_orders, dtype=np.int32), count)  # ranked order of each line
        del start, count, out_start, ranked
        lines.order = np.zeros(0, np.int32)
        # Exact duplicate lines (an export glitch) among normal lines.
        normal = np.flatnonzero(status[lo] == 0)
        n_dup = min(normal.size, max(1, round(lo.size * DUPLICATE_RATE)))
        times = np.ones(lo.size, np.int8)
        times[rng.choice(normal, size=n_dup, replace=False)] = 2
        del normal
        perm, lo = np.repeat(perm, times), np.repeat(lo, times)
        del times
        product = lines.product[perm].astype(np.int16)
        lines.product = np.zeros(0, np.int32)
        qty = lines.qty[perm].astype(np.int64)
        lines.qty = np.zeros(0, np.int32)
        amount = lines.amount[perm].astype(np.int64)
        lines.amount = np.zeros(0, np.int32)
        del perm

        def dictionary(codes: np.ndarray, values: Sequence[str]) -> pa.DictionaryArray:
            return pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(values, pa.string()))

        names = APPAREL_ORDER_COLUMNS if self.name == "demo-apparel" else FOOD_ORDER_COLUMNS
        at = pa.array(lo)
        cols: dict[str, pa.Array] = {}
        cols[names[0]] = oid.cast(pa.large_string()).take(at)
        del oid
        cols[names[1]] = cust.cast(pa.large_string()).take(at)
        del cust
        cols[names[2]] = stamp.cast(pa.large_string()).take(at)
        del stamp, at
        cols[names[3]] = dictionary(product, self.codes)
        cols[names[4]] = dictionary(product, self.names)
        cols[names[5]] = pa.array(qty)
        cols[names[6]] = pa.array(amount)
        del qty, amount
        if self.name == "demo-food":
            cols["category"] = dictionary(self.p_cat[product], s.categories)
            cols["flavor"] = dictionary(self.p_taste[product], s.tastes)
            cols["brand"] = dictionary(self.p_brand[product], s.brands)
        del product
        at_channel = 7 if self.name == "demo-apparel" else 10
        cols[names[at_channel]] = dictionary(chan[lo], s.channels)
        cols[names[at_channel + 1]] = dictionary(status[lo], s.statuses)
        if self.name == "demo-food":
            cols[SUBSCRIPTION_ORDER_COLUMN] = sub.cast(pa.large_string()).take(pa.array(lo))
        del lo, sub
        table = pa.table(cols)
        del cols
        frame = table.to_pandas()
        del table
        pa.default_memory_pool().release_unused()
        return frame

    def _order_ids(self, seq: np.ndarray, day: np.ndarray) -> pa.Array:
        """Apparel ``A<yymm>-<7-digit number>``; food ``F<8-digit number>``."""
        seq_txt = pa.array(seq).cast(pa.string())
        if self.name == "demo-food":
            return pc.binary_join_element_wise("F", pc.utf8_lpad(seq_txt, 8, "0"), "")
        ym = (np.datetime64(self.start, "D") + day).astype("datetime64[M]").astype(np.int64)
        yymm = pa.array((ym // 12 + 1970) % 100 * 100 + ym % 12 + 1).cast(pa.string())
        return pc.binary_join_element_wise(
            "A", pc.utf8_lpad(yymm, 4, "0"), "-", pc.utf8_lpad(seq_txt, 7, "0"), ""
        )

    def _customers_table(self, t0: np.ndarray, z: np.ndarray) -> pd.DataFrame:
        s, rng, n = self.spec, self.rng, self.n
        epoch = (self.start - date(1970, 1, 1)).days
        first_day = np.floor(t0).astype(np.int64)
        earlier = np.where(rng.random(n) < 0.55, 0, rng.integers(1, 400, n))
        registered = np.maximum(first_day - earlier, 0)
        gender = rng.choice(3, size=n, p=[s.female_share, 0.96 - s.female_share, 0.04]).astype(
            np.int8
        )
        female = rng.integers(0, len(FEMALE_NAMES), n)
        male = rng.integers(0, len(MALE_NAMES), n)
        is_female = (gender == 0) | ((gender == 2) & (rng.random(n) < 0.5))
        surname = pa.array(SURNAMES).take(pa.array(rng.integers(0, len(SURNAMES), n)))
        given = pc.if_else(
            pa.array(is_female),
            pa.array(FEMALE_NAMES).take(pa.array(female)),
            pa.array(MALE_NAMES).take(pa.array(male)),
        )
        age = np.clip(rng.normal(s.age_mean, s.age_sd, n), 16.0, 85.0)
        birth = epoch + self.n_days - np.round(age * 365.25).astype(np.int64)
        pref_w = np.asarray([w for _, w in PREFECTURES], dtype=np.float64)
        prefecture = rng.choice(len(PREFECTURES), size=n, p=pref_w / pref_w.sum()).astype(np.int8)
        mail_num = pa.array(rng.permutation(n).astype(np.int64) + 1).cast(pa.string())
        domain = pa.array(EMAIL_DOMAINS).take(pa.array(rng.integers(0, len(EMAIL_DOMAINS), n)))
        email = pc.binary_join_element_wise("u", pc.utf8_lpad(mail_num, 7, "0"), "@", domain, "")
        mobile = pa.array(["090", "080", "070"]).take(
            pa.array(rng.choice(3, size=n, p=[0.5, 0.4, 0.1]))
        )
        mid = pc.utf8_lpad(pa.array(rng.integers(0, 10_000, n)).cast(pa.string()), 4, "0")
        last = pc.utf8_lpad(pa.array(rng.integers(0, 10_000, n)).cast(pa.string()), 4, "0")
        opt_in = rng.random(n) < (0.55 + 0.1 * np.tanh(z))
        table = pa.table(
            {
                "customer_id": self._customer_ids(n),
                "email": email,
                "name": pc.binary_join_element_wise(surname, given, " "),
                "phone": pc.binary_join_element_wise(mobile, mid, last, "-"),
                "prefecture": pa.DictionaryArray.from_arrays(
                    pa.array(prefecture), pa.array([p for p, _ in PREFECTURES])
                ),
                "registered_at": pa.array((epoch + registered).astype(np.int32), pa.date32()).cast(
                    pa.string()
                ),
                "birth_date": pa.array(birth.astype(np.int32), pa.date32()).cast(pa.string()),
                "gender": pa.DictionaryArray.from_arrays(pa.array(gender), pa.array(list(GENDERS))),
                "mail_opt_in": pa.array(opt_in),
            }
        )
        return table.to_pandas()


# --------------------------------------------------------------------------- helpers


def _sub_ids(count: int) -> pa.Array:
    """定期IDs ``T0000001`` … of subscriptions numbered by start."""
    num = pa.array(np.arange(1, count + 1, dtype=np.int64)).cast(pa.string())
    return pc.binary_join_element_wise("T", pc.utf8_lpad(num, 7, "0"), "")


def _norm(weights: Sequence[float]) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    return w / w.sum()


def _tilted_choice(
    rng: np.random.Generator, pop: Sequence[float], log_price: np.ndarray, z: np.ndarray
) -> np.ndarray:
    """One draw per buyer from ``pop`` tilted towards dear items for high spend ``z``."""
    lp = np.asarray(log_price, dtype=np.float64)
    lp = (lp - lp.mean()) / (lp.std() or 1.0)
    logits = np.log(_norm(pop))[None, :] + SPEND_TILT * z[:, None] * lp[None, :]
    logits -= logits.max(axis=1, keepdims=True)
    prob = np.exp(logits)
    cum = np.cumsum(prob, axis=1)
    u = rng.random(z.size) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), len(pop) - 1).astype(np.int16)


def _concat_lines(blocks: list[_Lines], offsets: list[int]) -> _Lines:
    return _Lines(
        np.concatenate([b.order + np.int32(o) for b, o in zip(blocks, offsets, strict=True)]),
        np.concatenate([b.product for b in blocks]),
        np.concatenate([b.qty for b in blocks]),
        np.concatenate([b.amount for b in blocks]),
    )


def _copy_lines(lines: _Lines, line_start: np.ndarray, src: np.ndarray, first_new: int) -> _Lines:
    """The lines of orders ``src``, renumbered as new orders ``first_new + i``."""
    count = line_start[src + 1] - line_start[src]
    out_start = np.concatenate([[0], np.cumsum(count)[:-1]])
    idx = np.repeat(line_start[src] - out_start, count) + np.arange(int(count.sum()))
    return _Lines(
        np.repeat(np.arange(first_new, first_new + src.size, dtype=np.int32), count),
        lines.product[idx],
        lines.qty[idx],
        lines.amount[idx],
    )


def _categorical(u: np.ndarray, weights: Sequence[float]) -> np.ndarray:
    """Category index (int8) of uniforms ``u`` under ``weights`` (inverse CDF)."""
    cdf = np.cumsum(_norm(weights))[:-1]
    out = np.zeros(u.shape, np.int8)
    for edge in cdf:
        out += u >= edge
    return out
