"""Plain-pandas reference implementation of ecrm's CTB analysis.

Written from SPEC §1–§3 and the docstrings of ``ecrm.ctb`` only, to check the
engine (Ibis/DuckDB, set-based) against a straightforward computation that
walks customer by customer where that is clearer. It imports nothing from ecrm.

Conventions
-----------
* Money is exact: amounts become integers of 1/10,000 of the currency unit
  (``_units``) through their decimal text, so ties in "largest revenue" are
  exact; money in the returned tables is float (units / 10,000).
* A day is the calendar date of ``ordered_at`` (shop-local wall time).
* Lines after as_of and guest lines (no customer_id) are dropped first.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from decimal import Decimal

import numpy as np
import pandas as pd

SCALE = 10_000
UNKNOWN = "(unknown)"
LC_ACTIVE_DAYS = 120
LC_CHURN_DAYS = 360
LC_SEGMENTS = ("new", "first_repeat", "repeat", "vip", "dormant", "churned")


def _units(v: object) -> int:
    return int((Decimal(str(v)) * SCALE).to_integral_value())


def prepare(lines: pd.DataFrame, as_of: dt.date) -> pd.DataFrame:
    """Customer lines on or before as_of, with _units (int) and day (date)."""
    df = lines.copy()
    df["ordered_at"] = pd.to_datetime(df["ordered_at"])
    df = df[df["ordered_at"] < pd.Timestamp(as_of + dt.timedelta(days=1))]
    df = df[df["customer_id"].notna() & (df["customer_id"].astype(object) != "")]
    df = df.assign(
        customer_id=df["customer_id"].astype(str),
        order_id=df["order_id"].astype(str),
        _units=[_units(v) for v in df["amount"]],
    )
    df["day"] = df["ordered_at"].dt.date
    return df.reset_index(drop=True)


def orders(df: pd.DataFrame) -> pd.DataFrame:
    """One row per (customer, order): ordered_at (earliest line), day, _units, purchase."""
    o = df.groupby(["customer_id", "order_id"], as_index=False).agg(
        ordered_at=("ordered_at", "min"), _units=("_units", "sum")
    )
    o["day"] = o["ordered_at"].dt.date
    o["purchase"] = o["_units"] > 0
    return o.sort_values(["customer_id", "ordered_at", "order_id"]).reset_index(drop=True)


def purchase_values(df: pd.DataFrame, level: str) -> dict[tuple[str, str], dict[str, int]]:
    """{(customer, order): {value: net units}} for the values with net > 0 of purchases."""
    o = orders(df)
    buys = set(map(tuple, o.loc[o["purchase"], ["customer_id", "order_id"]].to_numpy()))
    out: dict[tuple[str, str], dict[str, int]] = {}
    known = df[df[level].notna()]
    for (c, oid, v), units in (
        known.groupby(["customer_id", "order_id", level])["_units"].sum().items()
    ):
        if (c, oid) in buys and units > 0:
            out.setdefault((c, oid), {})[str(v)] = int(units)
    return out


def customers_with_purchase(df: pd.DataFrame) -> list[str]:
    o = orders(df)
    return sorted(o.loc[o["purchase"], "customer_id"].unique())


def preferences(lines: pd.DataFrame, *, as_of: dt.date, level: str) -> pd.DataFrame:
    """customer_id, <level>, <level>_share, <level>_hhi, <level>_values."""
    df = prepare(lines, as_of)
    rows = []
    custs = customers_with_purchase(df)
    known = df[df[level].notna()]
    rev = dict(iter(known.groupby("customer_id")))
    empty = pd.Series(dtype="int64")
    for c in custs:
        r = rev[c].groupby(level)["_units"].sum() if c in rev else empty
        pos = {str(v): max(int(u), 0) for v, u in r.items()}
        tot = sum(pos.values())
        best = sorted(((-int(u), str(v)) for v, u in r.items()))
        pref = best[0][1] if best and -best[0][0] > 0 else None
        shares = [p / tot for p in pos.values()] if tot > 0 else []
        rows.append(
            {
                "customer_id": c,
                level: pref,
                f"{level}_share": max(shares) if shares else np.nan,
                f"{level}_hhi": sum(s * s for s in shares) if shares else np.nan,
                f"{level}_values": sum(1 for u in r.to_numpy() if u > 0),
            }
        )
    return pd.DataFrame(rows)


def main_values(df: pd.DataFrame, level: str) -> pd.DataFrame:
    """Purchases in customer order with their main value (None when no value).

    The main value is the value of the purchase's largest line among its lines
    with a value, ties by value name.
    """
    o = orders(df)
    o = o[o["purchase"]].copy()
    known = df[df[level].notna()]
    best: dict[tuple[str, str], tuple[int, str]] = {}
    for c, oid, units, v in zip(
        known["customer_id"], known["order_id"], known["_units"], known[level], strict=True
    ):
        key = (-int(units), str(v))
        if (c, oid) not in best or key < best[(c, oid)]:
            best[(c, oid)] = key
    o["main"] = [
        best[(c, oid)][1] if (c, oid) in best else None
        for c, oid in zip(o["customer_id"], o["order_id"], strict=True)
    ]
    return o


def transitions(lines: pd.DataFrame, *, as_of: dt.date, level: str) -> pd.DataFrame:
    """from_value, to_value, pairs, probability (main value → next main value)."""
    o = main_values(prepare(lines, as_of), level)
    counts: dict[tuple[str, str], int] = {}
    for _, g in o.groupby("customer_id"):
        m = list(g["main"])
        for a, b in itertools.pairwise(m):
            if a is not None and b is not None:
                counts[(a, b)] = counts.get((a, b), 0) + 1
    t = pd.DataFrame(
        [(a, b, n) for (a, b), n in counts.items()], columns=["from_value", "to_value", "pairs"]
    )
    t["probability"] = t["pairs"] / t.groupby("from_value")["pairs"].transform("sum")
    return t.sort_values(["from_value", "to_value"]).reset_index(drop=True)


def cross_purchase(
    lines: pd.DataFrame, *, as_of: dt.date, level: str, min_support: float
) -> pd.DataFrame:
    """value_a < value_b, customers_both, support, confidence_ab, confidence_ba, lift."""
    df = prepare(lines, as_of)
    custs = set(customers_with_purchase(df))
    rev = df[df[level].notna()].groupby(["customer_id", level])["_units"].sum()
    bought: dict[str, set[str]] = {}
    for (c, v), u in rev.items():
        if u > 0 and c in custs:
            bought.setdefault(c, set()).add(str(v))
    n = len(bought)
    count: dict[str, int] = {}
    both: dict[tuple[str, str], int] = {}
    for vals in bought.values():
        for a in vals:
            count[a] = count.get(a, 0) + 1
            for b in vals:
                if a != b:
                    both[(a, b)] = both.get((a, b), 0) + 1
    rows = []
    for (a, b), k in both.items():
        support = k / n
        if support >= min_support and a < b:  # each unordered pair once
            conf = k / count[a]
            rows.append((a, b, k, support, conf, k / count[b], conf / (count[b] / n)))
    cols = [
        "value_a",
        "value_b",
        "customers_both",
        "support",
        "confidence_ab",
        "confidence_ba",
        "lift",
    ]
    return pd.DataFrame(rows, columns=cols).sort_values(["value_a", "value_b"], ignore_index=True)


def first_purchase(
    lines: pd.DataFrame, *, as_of: dt.date, level: str, horizon_days: int
) -> pd.DataFrame:
    """value, customers, repeaters, f2_rate, revenue, ltv by the first purchase's value."""
    df = prepare(lines, as_of)
    o = orders(df)
    by_order = dict(iter(df.groupby(["customer_id", "order_id"])))
    rows = []
    for c, g in o.groupby("customer_id"):
        buys = g[g["purchase"]]
        if buys.empty:
            continue
        first = buys.iloc[0]
        if (as_of - first["day"]).days < horizon_days:
            continue
        fl = by_order[(c, first["order_id"])]
        keys = ["product_id", "category", "taste", "brand", "channel"]
        keys = [k for k in keys if k in fl.columns]
        fl = fl.assign(_neg=-fl["_units"]).sort_values(["_neg", *keys], na_position="last")
        value = fl.iloc[0][level]
        value = UNKNOWN if pd.isna(value) else str(value)
        second = buys.iloc[1]["day"] if len(buys) > 1 else None
        f2 = second is not None and (second - first["day"]).days <= horizon_days
        days = np.array([(d - first["day"]).days for d in g["day"]])
        units = int(g.loc[(days >= 0) & (days <= horizon_days), "_units"].sum())
        rows.append((value, int(f2), units))
    r = pd.DataFrame(rows, columns=["value", "f2", "units"])
    out = r.groupby("value").agg(
        customers=("f2", "size"), repeaters=("f2", "sum"), units=("units", "sum")
    )
    out["f2_rate"] = out["repeaters"] / out["customers"]
    out["revenue"] = out["units"] / SCALE
    out["ltv"] = out["revenue"] / out["customers"]
    return out.drop(columns="units").reset_index()


def lifecycle_segment(frequency: int, recency: int) -> str:
    if recency > LC_CHURN_DAYS:
        return "churned"
    if recency > LC_ACTIVE_DAYS:
        return "dormant"
    repeats = frequency - 1
    return (
        "new"
        if repeats == 0
        else "first_repeat"
        if repeats == 1
        else "repeat"
        if repeats <= 4
        else "vip"
    )


def ctb_mix(lines: pd.DataFrame, *, as_of: dt.date, level: str) -> pd.DataFrame:
    """segment, value, revenue, revenue_share (lifecycle segments at as_of)."""
    df = prepare(lines, as_of)
    o = orders(df)
    seg = {}
    for c, g in o.groupby("customer_id"):
        buys = g[g["purchase"]]
        if buys.empty:
            continue
        seg[c] = lifecycle_segment(len(buys), (as_of - buys["day"].max()).days)
    d = df[df["customer_id"].isin(seg)].copy()
    d["segment"] = d["customer_id"].map(seg)
    d["value"] = d[level].astype(object).where(d[level].notna(), UNKNOWN).astype(str)
    out = d.groupby(["segment", "value"], as_index=False)["_units"].sum()
    out["revenue"] = out["_units"] / SCALE
    out["revenue_share"] = out["_units"] / out.groupby("segment")["_units"].transform("sum")
    return out.drop(columns="_units")


def recommend_scores(
    lines: pd.DataFrame,
    *,
    as_of: dt.date,
    level: str,
    half_life_days: float,
    beta: float,
    alpha: float | None,
) -> pd.DataFrame:
    """customer_id, value, score for every customer and every value (the full table).

    ``alpha`` None: the pooled empirical-Bayes estimate documented in ecrm.ctb.
    """
    df = prepare(lines, as_of)
    pv = purchase_values(df, level)
    o = main_values(df, level)
    custs = customers_with_purchase(df)
    values = sorted({v for vals in pv.values() for v in vals})
    # popularity
    n_orders = len(pv)
    pop = {v: sum(1 for vals in pv.values() if v in vals) / n_orders for v in values}
    # transitions: main value -> values held by the next purchase
    pairs: dict[str, int] = {}
    held: dict[tuple[str, str], int] = {}
    last_main: dict[str, str] = {}
    for c, g in o.groupby("customer_id"):
        rows = list(zip(g["order_id"], g["main"], strict=True))
        for (_, m), (nxt, nm) in itertools.pairwise(rows):
            if m is not None and nm is not None:
                pairs[m] = pairs.get(m, 0) + 1
                for v in pv[(c, nxt)]:
                    held[(m, v)] = held.get((m, v), 0) + 1
        known = [m for _, m in rows if m is not None]
        if known:
            last_main[c] = known[-1]
    # history
    num: dict[tuple[str, str], float] = {}
    den: dict[str, float] = {}
    cnt: dict[tuple[str, str], int] = {}
    ncnt: dict[str, int] = {}
    day = dict(zip(zip(o["customer_id"], o["order_id"], strict=True), o["day"], strict=True))
    for (c, oid), vals in pv.items():
        w = 0.5 ** ((as_of - day[(c, oid)]).days / half_life_days)
        den[c] = den.get(c, 0.0) + w
        ncnt[c] = ncnt.get(c, 0) + 1
        for v in vals:
            num[(c, v)] = num.get((c, v), 0.0) + w
            cnt[(c, v)] = cnt.get((c, v), 0) + 1
    if alpha is None:
        nn = sum(ncnt.values())
        n2 = sum(n * n for n in ncnt.values())
        cc = len(ncnt)
        top = bottom = 0.0
        for v in values:
            mu = pop[v]
            var = mu * (1 - mu)
            spread = sum(ncnt[c] * (cnt.get((c, v), 0) / ncnt[c] - mu) ** 2 for c in ncnt)
            top += spread - (cc - 1) * var
            bottom += var * (nn - n2 / nn)
        rho = top / bottom if bottom else 0.001
        rho = min(max(rho, 0.001), 0.999)
        alpha = 1 / rho - 1
    rows = []
    for c in custs:
        m = last_main.get(c)
        for v in values:
            if m is not None and m in pairs:
                prior = beta * held.get((m, v), 0) / pairs[m] + (1 - beta) * pop[v]
            else:
                prior = pop[v]
            score = (num.get((c, v), 0.0) + alpha * prior) / (den.get(c, 0.0) + alpha)
            rows.append((c, v, score))
    return pd.DataFrame(rows, columns=["customer_id", "value", "score"])


def top_n(scores: pd.DataFrame, n: int) -> pd.DataFrame:
    """customer_id, rank, value, score: the n best per customer (ties by value)."""
    s = scores.sort_values(["customer_id", "score", "value"], ascending=[True, False, True])
    s["rank"] = s.groupby("customer_id").cumcount() + 1
    return s[s["rank"] <= n].reset_index(drop=True)


def hit_rates(
    lines: pd.DataFrame,
    *,
    cutoff: dt.date,
    horizon_days: int,
    level: str,
    n: int,
    half_life_days: float,
    beta: float,
    alpha: float | None,
) -> dict[str, tuple[int, int, int]]:
    """{"model" | "popularity": (customers, hits, _)} of the hold-out check (group all)."""
    recs = top_n(
        recommend_scores(
            lines, as_of=cutoff, level=level, half_life_days=half_life_days, beta=beta, alpha=alpha
        ),
        n,
    )
    rec = recs.groupby("customer_id")["value"].apply(set).to_dict()
    fit = prepare(lines, cutoff)
    pv_fit = purchase_values(fit, level)
    pop: dict[str, int] = {}
    for vals in pv_fit.values():
        for v in vals:
            pop[v] = pop.get(v, 0) + 1
    popular = {v for v, _ in sorted(pop.items(), key=lambda kv: (-kv[1], kv[0]))[:n]}
    end = cutoff + dt.timedelta(days=horizon_days)
    full = prepare(lines, end)
    pv = purchase_values(full, level)
    o = orders(full)
    after = o[o["purchase"] & (o["day"] > cutoff)]
    nxt = after.groupby("customer_id").head(1)
    cust = set(customers_with_purchase(fit))
    evaluated = hits_m = hits_b = 0
    for c, oid in zip(nxt["customer_id"], nxt["order_id"], strict=True):
        vals = set(pv.get((c, oid), {}))
        if c not in cust or not vals:
            continue
        evaluated += 1
        hits_m += bool(vals & rec.get(c, set()))
        hits_b += bool(vals & popular)
    return {"model": (evaluated, hits_m, 0), "popularity": (evaluated, hits_b, 0)}


def isclose(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
