"""Cross-purchase pairs of the CTB levels (SPEC §3 CTB, Products): the counting behind
:func:`ecrm.analysis.ctb.cross_purchase` and :func:`ecrm.analysis.ctb.ctb_tables`.

Each unordered pair of values is counted once (value_a < value_b by name).
Levels with at most :data:`ecrm.engine.run.MASK_MAX_VALUES` values count the
customers' bit masks (:func:`mask_counts`, :func:`mask_pairs`: a small matrix
product); larger ones (products) a self-join in the engine (:func:`pair_counts`).
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from ecrm import engine
from ecrm.engine import run
from ecrm.engine.run import RunTables

__all__ = ["cross_purchase_table", "mask_counts", "mask_pairs", "pair_counts"]


def pair_counts(
    g: ir.Table, min_support: float, min_customers: int = 1
) -> tuple[int, pd.DataFrame]:
    """Customers (N) and, per unordered pair of values (a < b), customers who bought both.

    ``g`` holds one row per (customer_id, value) bought: a self-join on
    customer_id, keeping in the engine the pairs that can reach
    ``min_support``. For levels of more than :data:`run.MASK_MAX_VALUES` values;
    smaller ones count bit masks (:func:`mask_pairs`).

    Returns
    -------
    n : int
    pairs : DataFrame
        value_a, value_b, customers_both (> 0), customers_a, customers_b.
    """
    n = int(g.customer_id.nunique().to_pyarrow().as_py())
    counts = g.group_by("value").agg(_n=g.count().cast("int64"))
    a = g.select("customer_id", value_a="value")
    bb = g.select(_cid="customer_id", value_b="value")
    j = a.join(bb, [a.customer_id == bb._cid, a.value_a < bb.value_b])  # each pair once
    both = j.group_by(["value_a", "value_b"]).agg(customers_both=j.count().cast("int64"))
    both = both.filter(both.customers_both >= max(1, int(min_customers), int(min_support * n)))
    ca = counts.select(value_a="value", customers_a="_n")
    cb = counts.select(value_b="value", customers_b="_n")
    both = both.inner_join(ca, "value_a").inner_join(cb, "value_b")
    return n, engine.to_pandas(both)


def mask_pairs(combos: pd.DataFrame, vals: Sequence[str]) -> tuple[int, pd.DataFrame]:
    """Customers (N) and pair counts, as :func:`pair_counts`, from the customers' bit masks.

    ``combos`` counts the customers (``_n``) of each distinct ``_mask`` > 0 (a
    few thousand masks for millions of customers); bit i stands for
    ``vals[i]``. ``both[a, b]``, the customers who bought a and b, is then a
    small matrix product.
    """
    bits = (combos["_mask"].to_numpy()[:, None] >> np.arange(len(vals))) & 1
    weighted = bits * combos["_n"].to_numpy()[:, None]
    both = weighted.T @ bits  # both[a, b]: customers who bought a and b
    n = int(combos["_n"].sum())
    ia, ib = np.nonzero(both)
    keep = ia != ib
    ia, ib = ia[keep], ib[keep]
    diag = np.diag(both)
    names = np.array(vals, dtype=object)
    pairs = pd.DataFrame(
        {
            "value_a": names[ia],
            "value_b": names[ib],
            "customers_both": both[ia, ib].astype("int64"),
            "customers_a": diag[ia].astype("int64"),
            "customers_b": diag[ib].astype("int64"),
        }
    )
    return n, pairs


def mask_counts(
    b: RunTables, levels: Sequence[str], wide: ir.Table | None = None
) -> dict[str, pd.DataFrame]:
    """Customers per distinct bit mask (``_mask``, ``_n``) of each level, in one query.

    ``levels``: one level of at most :data:`run.MASK_MAX_VALUES` values, or
    several small ones (:meth:`~ecrm.engine.run.RunTables.small`), whose masks
    come from one wide row per customer (``wide``, a
    :meth:`~ecrm.engine.run.RunTables.customer_wide` table holding them; default
    theirs). Customers are counted per combination of their masks of all
    ``levels``; each level's counts are then sums over the others' masks.
    """
    lvls = list(levels)
    if len(lvls) == 1:
        s = b.customer_levels(lvls[0], wide)
        m = s.select("customer_id", _m0=s._mask)
    else:
        w = wide if wide is not None else b.customer_wide(lvls)
        names = {lv: b.names(lv) for lv in lvls}
        masks = {
            f"_m{i}": run.wide_measures(w, lv, names[lv])["_mask"] for i, lv in enumerate(lvls)
        }
        m = w.select("customer_id", **masks)
    m = m.semi_join(b.customers, "customer_id")
    keys = [f"_m{i}" for i in range(len(lvls))]
    combos = engine.to_pandas(m.group_by(keys).agg(_n=m.count().cast("int64")))
    out = {}
    for key, lv in zip(keys, lvls, strict=True):
        c = combos[combos[key].fillna(0) > 0].groupby(key, as_index=False)["_n"].sum()
        out[lv] = c.rename(columns={key: "_mask"}).astype("int64")
    return out


def cross_purchase_table(
    b: RunTables,
    level: str,
    ms: float,
    masks: pd.DataFrame | None = None,
    wide: ir.Table | None = None,
    min_customers: int = 1,
) -> pd.DataFrame:
    """The :func:`cross_purchase` table; ``masks`` (:func:`mask_counts`) or ``wide`` given.

    Pairs bought by fewer than ``min_customers`` customers are left out too (the
    product level's ``min_product_customers``: thousands of products make
    millions of pairs bought by one or two customers).
    """
    cols = [
        "level",
        "value_a",
        "value_b",
        "customers_a",
        "customers_b",
        "customers_both",
        "support",
        "confidence_ab",
        "confidence_ba",
        "lift",
    ]
    vals = b.names(level)
    if len(vals) <= run.MASK_MAX_VALUES:  # the masks of the customer summaries
        masks = mask_counts(b, [level], wide)[level] if masks is None else masks
        n, df = mask_pairs(masks, vals)
    else:
        g = b.customer_values(level)
        g = g.filter(g.value.notnull() & (g.revenue > 0)).select("customer_id", "value")
        g = g.inner_join(b.customers.select("customer_id"), "customer_id")
        n, df = pair_counts(g, ms, min_customers)
    if not n or df.empty:
        return pd.DataFrame(
            {c: pd.Series(dtype="float64" if c in cols[6:] else "object") for c in cols}
        )
    df = df[df["value_a"].astype(str) < df["value_b"].astype(str)].copy()
    df["support"] = df["customers_both"] / n
    df["confidence_ab"] = df["customers_both"] / df["customers_a"]
    df["confidence_ba"] = df["customers_both"] / df["customers_b"]
    df["lift"] = df["confidence_ab"] / (df["customers_b"] / n)
    df = df[(df["support"] >= ms) & (df["customers_both"] >= min_customers)].copy()
    df.insert(0, "level", level)
    df = df.sort_values(
        ["lift", "support", "value_a", "value_b"], ascending=[False, False, True, True]
    )
    return df[cols].reset_index(drop=True)
