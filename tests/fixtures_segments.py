"""A tiny hand-typed shop whose every figure can be checked by hand (as_of 2026-10-31).

Each customer sits on an edge of SPEC §3's thresholds; the expected values are
written out next to the orders, not computed.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd

AS_OF = dt.date(2026, 10, 31)

# (order_id, customer_id, ordered_at, amount, category, channel)
LINES: list[tuple[str, str | None, str, str, str, str]] = [
    ("A1", "A", "2026-07-03 12:00", "69999", "tops", "web"),  # recency 120
    ("B1", "B", "2026-07-02 12:00", "70000", "tops", "web"),  # recency 121
    ("C1", "C", "2026-01-01 09:00", "50000", "bags", "rakuten"),
    ("C2", "C", "2026-03-31 09:00", "20000", "bags", "rakuten"),  # tenure 89
    ("D1", "D", "2026-01-01 09:00", "40000", "tops", "web"),
    ("D2", "D", "2026-04-01 09:00", "30000", "tops", "web"),  # tenure 90
    ("E1", "E", "2025-09-01 09:00", "35000", "shoes", "web"),
    ("E2", "E", "2026-03-30 09:00", "35000", "shoes", "web"),  # tenure 210
    ("F1", "F", "2025-09-01 09:00", "40000", "shoes", "web"),
    ("F2", "F", "2026-03-29 09:00", "40000", "shoes", "web"),  # tenure 209
    ("G1", "G", "2025-01-01 09:00", "30000", "tops", "web"),
    ("G2", "G", "2025-06-01 09:00", "20000", "tops", "web"),
    ("G3", "G", "2026-10-31 23:59", "19999", "tops", "web"),  # on as_of, last minute
    ("H1", "H", "2025-03-01 09:00", "80000", "bags", "web"),
    ("H2", "H", "2025-09-01 09:00", "10000", "bags", "web"),
    ("H1-R", "H", "2026-01-10 09:00", "-20001", "bags", "web"),  # return: net 69,999
    ("I1", "I", "2026-11-01 00:00", "5000", "tops", "web"),  # after as_of: absent
    ("J1", None, "2026-10-10 10:00", "3000", "tops", "web"),  # guest
    ("K1", "K", "2026-05-01 09:00", "12000", "bags", "amazon"),  # two lines, first order
    ("K1", "K", "2026-05-01 09:00", "8000", "shoes", "amazon"),
    ("K2", "K", "2026-06-01 09:00", "20000", "tops", "amazon"),
    ("K3", "K", "2026-07-01 09:00", "20000", "tops", "amazon"),
    ("K4", "K", "2026-08-01 09:00", "20000", "tops", "amazon"),
    ("K5", "K", "2026-09-01 09:00", "20000", "tops", "amazon"),
    ("K6", "K", "2026-10-01 09:00", "20000", "tops", "amazon"),  # recency 30
    ("L1", "L", "2026-03-05 09:00", "4999", "tops", "web"),  # recency 240
    ("M1", "M", "2026-10-15 10:00", "5000", "tops", "web"),  # same-day second order
    ("M2", "M", "2026-10-15 18:00", "5000", "tops", "web"),
    ("N1", "N", "2025-11-05 09:00", "10000", "tops", "web"),  # recency 360
    ("O1", "O", "2025-11-04 09:00", "10000", "tops", "web"),  # recency 361
    ("P1", "P", "2025-10-31 09:00", "9999", "tops", "web"),  # recency 365
    ("Q1", "Q", "2025-10-30 09:00", "100000", "tops", "web"),  # recency 366
    ("S1", "S", "2026-09-30 09:00", "5000", "tops", "web"),  # recency 31
    ("T1", "T", "2026-03-06 09:00", "1000", "tops", "web"),  # recency 239
    ("U1", "U", "2026-02-01 09:00", "-500", "tops", "web"),  # only a return: not a customer
]


def orders() -> pd.DataFrame:
    """The canonical orders of the tiny shop (amount as exact Decimal)."""
    df = pd.DataFrame(
        LINES, columns=["order_id", "customer_id", "ordered_at", "amount", "category", "channel"]
    )
    df["ordered_at"] = pd.to_datetime(df["ordered_at"])
    df["amount"] = [Decimal(a) for a in df["amount"]]
    df["product_id"] = df["order_id"] + "-" + df["category"]
    return df


# customer: (frequency, monetary, recency_days, tenure_days, R, F, M, CPM, lifecycle)
EXPECTED: dict[str, tuple[int, int, int, int, int, int, int, str, str]] = {
    "A": (1, 69999, 120, 0, 3, 1, 4, "first_active", "new"),
    "B": (1, 70000, 121, 0, 3, 1, 4, "first_active", "dormant"),
    "C": (2, 70000, 214, 89, 2, 2, 4, "toddler_active", "dormant"),
    "D": (2, 70000, 213, 90, 2, 2, 4, "fad_active", "dormant"),
    "E": (2, 70000, 215, 210, 2, 2, 4, "loyal_active", "dormant"),
    "F": (2, 80000, 216, 209, 2, 2, 4, "fad_active", "dormant"),
    "G": (3, 69999, 0, 668, 5, 3, 4, "steady_active", "repeat"),
    "H": (2, 69999, 425, 184, 1, 2, 4, "steady_lapsed", "churned"),
    "K": (6, 120000, 30, 153, 5, 4, 5, "fad_active", "vip"),
    "L": (1, 4999, 240, 0, 2, 1, 1, "first_lapsed", "dormant"),
    "M": (2, 10000, 16, 0, 5, 2, 3, "toddler_active", "first_repeat"),
    "N": (1, 10000, 360, 0, 2, 1, 3, "first_lapsed", "dormant"),
    "O": (1, 10000, 361, 0, 2, 1, 3, "first_lapsed", "churned"),
    "P": (1, 9999, 365, 0, 2, 1, 2, "first_lapsed", "churned"),
    "Q": (1, 100000, 366, 0, 1, 1, 5, "first_lapsed", "churned"),
    "S": (1, 5000, 31, 0, 4, 1, 2, "first_active", "new"),
    "T": (1, 1000, 239, 0, 2, 1, 1, "first_active", "dormant"),
}

# Decile for the 12 months to as_of (2025-11-01 … 2026-10-31), by hand:
# ranking K 120,000; B, C, D 70,000 (ties by id); A 69,999; F 40,000; E 35,000;
# G 19,999; M, N, O 10,000; S 5,000; L 4,999; T 1,000 (14 buyers; H only returned,
# P and Q bought before the period) → group sizes 2,2,2,2,1,1,1,1,1,1.
EXPECTED_DECILES: dict[str, int] = {
    "K": 1,
    "B": 1,
    "C": 2,
    "D": 2,
    "A": 3,
    "F": 3,
    "E": 4,
    "G": 4,
    "M": 5,
    "N": 6,
    "O": 7,
    "S": 8,
    "L": 9,
    "T": 10,
}
EXPECTED_DECILE_REVENUE = [190000, 140000, 109999, 54999, 10000, 10000, 10000, 5000, 4999, 1000]
EXPECTED_TOTAL_PERIOD_REVENUE = 535997
