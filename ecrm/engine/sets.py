"""Sets of small integer codes per customer, and how often two codes share a set.

Market-basket counts ("customers who bought both A and B") come down to the
unordered pairs of each customer's set of products. The engine collects each
customer's codes in one aggregate (a list per customer, set-based, on any Ibis
backend); :func:`pair_counts` then counts the pairs of all the sets at once
with array operations on those lists — no loop over customers or orders.
That replaces a self-join of the (customer, product) rows, which builds every
ordered pair as a row and throws half of them away: on a million customers
with 21 million pairs the counting takes a third of a second, where the
engine's self-join or list unfolding took about a second.

The pairs of a set are reached by their distance in the sorted set: pass
``k`` pairs every element with the one ``k`` places after it in its set,
so the passes are as many as the largest set has elements, each over the
elements that still have a partner that far on.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["MAX_PAIR_CODES", "code_members", "pair_counts"]

#: Codes up to which :func:`pair_counts` keeps a dense codes × codes table (2**24 cells).
MAX_PAIR_CODES = 4096

#: Pair codes counted in one ``bincount`` (bounds the memory of a pass's buffer).
_BATCH = 1 << 24


def code_members(lists: pa.Array | pa.ChunkedArray, n_codes: int) -> tuple[np.ndarray, np.ndarray]:
    """The (set, code) memberships of a list column: set number and code, each pair once.

    Parameters
    ----------
    lists : pyarrow list array of integers
        One list per set (null or empty: no member); a code may repeat in a list.
    n_codes : int
        Codes are in ``0 … n_codes − 1``.

    Returns
    -------
    rows, codes : ndarray of int64
        Sorted by set, then code; one entry per distinct code of each set. ``rows``
        numbers the sets by their position in ``lists``.

    Raises
    ------
    ValueError
        A code outside ``0 … n_codes − 1``.
    """
    if isinstance(lists, pa.ChunkedArray):
        lists = lists.combine_chunks() if lists.num_chunks else pa.array([], pa.list_(pa.int64()))
    lens = pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False)
    codes = pc.list_flatten(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    if codes.size and (codes.min() < 0 or codes.max() >= n_codes):
        raise ValueError(f"codes must lie in 0 … {n_codes - 1}, got {codes.min()} … {codes.max()}")
    rows = np.repeat(np.arange(len(lens), dtype=np.int64), lens)
    key = np.sort(rows * n_codes + codes)
    if key.size:
        keep = np.empty(key.size, dtype=bool)
        keep[0] = True
        np.not_equal(key[1:], key[:-1], out=keep[1:])
        key = key[keep]
    return key // n_codes, key % n_codes


def pair_counts(rows: np.ndarray, codes: np.ndarray, n_codes: int) -> np.ndarray:
    """How many sets hold both codes of each pair: an ``n_codes`` × ``n_codes`` table.

    Parameters
    ----------
    rows, codes : ndarray of int
        Memberships sorted by set, then code, each once (as :func:`code_members`
        gives them).
    n_codes : int
        Codes are in ``0 … n_codes − 1``; at most :data:`MAX_PAIR_CODES`.

    Returns
    -------
    ndarray of int64, shape (n_codes, n_codes)
        Cell (a, b) with a < b: the number of sets holding a and b. The
        diagonal and the cells below it are 0.

    Raises
    ------
    ValueError
        More than :data:`MAX_PAIR_CODES` codes.
    """
    if n_codes > MAX_PAIR_CODES:
        raise ValueError(f"pair_counts takes at most {MAX_PAIR_CODES} codes, got {n_codes}")
    rows = np.asarray(rows)
    codes = np.asarray(codes, dtype=np.int64)
    counts = np.zeros(n_codes * n_codes, dtype=np.int64)
    n = rows.size
    if n < 2:
        return counts.reshape(n_codes, n_codes)
    # the end (exclusive) of each membership's set
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    sizes = np.diff(np.r_[starts, n])
    end = np.repeat(starts + sizes, sizes)
    total = int((sizes * (sizes - 1) // 2).sum())
    # every pass works in buffers allocated once: fresh arrays for each pass's
    # temporaries cost more in page faults than the arithmetic itself
    first = codes * n_codes
    live = [np.flatnonzero(np.arange(1, n + 1) < end), np.empty(0, dtype=np.intp)]
    live[1] = np.empty_like(live[0])
    k = live[0].size  # pass 1 pairs each membership but its set's last with the next
    pairs = np.empty(min(total, max(_BATCH, k)), dtype=np.int64)
    a, b = np.empty_like(live[0]), np.empty_like(live[0])
    keep = np.empty(k, dtype=bool)
    held, cur, distance = 0, 0, 1
    while k:
        alive = live[cur][:k]
        if held + k > pairs.size:
            counts += np.bincount(pairs[:held], minlength=counts.size)
            held = 0
        out = pairs[held : held + k]
        np.take(first, alive, out=out)
        np.add(alive, distance, out=a[:k])
        np.take(codes, a[:k], out=b[:k])
        out += b[:k]
        if k >= counts.size:  # a pass larger than the table: count it at once
            counts += np.bincount(out, minlength=counts.size)
        else:
            held += k
        distance += 1
        # the memberships with a partner ``distance`` places on in their set
        np.add(alive, distance, out=a[:k])
        np.take(end, alive, out=b[:k])
        np.less(a[:k], b[:k], out=keep[:k])
        m = int(np.count_nonzero(keep[:k]))
        np.compress(keep[:k], alive, out=live[1 - cur][:m])
        cur, k = 1 - cur, m
    if held:
        counts += np.bincount(pairs[:held], minlength=counts.size)
    return counts.reshape(n_codes, n_codes)
