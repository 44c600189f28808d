"""What an ingestion reports: the data-quality summary and the result of an ingestion.

:class:`QualitySummary` is saved as ``canonical/quality.json`` next to the
canonical orders; money in it is written as exact decimal strings
(:func:`decimal_sum`, :func:`decimal_text`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa_arrow

__all__ = ["IngestResult", "QualitySummary", "decimal_sum", "decimal_text"]


@dataclass
class QualitySummary:
    """The data-quality summary of one ingestion (saved as ``quality.json``).

    Money is given as decimal strings so that the JSON is exact.
    """

    shop: str
    ingest_date: str
    timezone: str
    currency: str
    files: list[dict[str, Any]]
    rows_read: int
    rows_kept: int
    dropped: dict[str, int]
    dropped_statuses: dict[str, int]
    guest_rows_read: int
    guest_rows_kept: int
    guest_revenue_share: float
    return_lines: int
    return_lines_read: int
    customer_ids_repaired: int
    orders_with_split_timestamps: int
    lines_without_product_master: int | None
    date_from: str | None
    date_to: str | None
    customers: int
    orders: int
    revenue: str
    revenue_read: str
    fingerprint: str
    columns: list[str] = field(default_factory=list)
    amounts_rounded: int = 0
    #: orders found in more than one file and taken whole from the last (SPEC §1)
    orders_replaced: int = 0
    #: customer id cells read as guests (null markers, ``guest_ids``), by value
    guest_markers: dict[str, int] = field(default_factory=dict)
    #: lines whose customer id is 0 (a guest in some carts; see ``guest_ids``)
    customer_id_zero_lines: int = 0
    #: lines whose customer id was an email address, replaced by a keyed hash
    customer_ids_hashed: int = 0
    #: kept lines with a negative amount and a positive quantity (discounts)
    negative_amount_positive_quantity: int = 0
    #: orders of the canonical set this one replaced (None: it could not be read)
    previous_orders: int | None = 0
    #: the subscriptions table (定期): rows read, subscriptions, active, cancelled…; None: none
    subscriptions: dict[str, Any] | None = None
    #: the costs table: rows, months, channels, total; None: none
    costs: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as a JSON-ready dict."""
        return asdict(self)

    def render(self) -> str:
        """Return the summary as a short human-readable block."""
        rows = [
            ("shop", self.shop),
            (
                "files",
                ", ".join(f"{f['file']} ({f['encoding']}, {f['rows']:,})" for f in self.files),
            ),
            ("rows read", f"{self.rows_read:,}"),
            ("rows kept", f"{self.rows_kept:,}"),
        ]
        for reason, n in self.dropped.items():
            if reason == "replaced_by_later_export" and not n:
                continue  # shown only when a later file replaced orders
            rows.append((f"  dropped: {reason.replace('_', ' ')}", f"{n:,}"))
            if reason == "excluded_status":
                for status, k in self.dropped_statuses.items():
                    rows.append((f"    status {status!r}", f"{k:,}"))
        share = self.guest_rows_kept / self.rows_kept if self.rows_kept else 0.0
        rows += [
            (
                "guest rows",
                f"{self.guest_rows_kept:,} ({self.guest_rows_read:,} read; "
                f"{share:.1%} of rows kept, "
                f"{self.guest_revenue_share:.1%} of revenue)",
            ),
            ("return lines", f"{self.return_lines:,} ({self.return_lines_read:,} read)"),
            ("date range", f"{self.date_from} … {self.date_to} ({self.timezone})"),
            ("customers", f"{self.customers:,}"),
            ("orders", f"{self.orders:,}"),
            ("revenue", f"{Decimal(self.revenue):,.0f} {self.currency}"),
        ]
        if self.guest_markers:
            marks = ", ".join(f"{k!r} {v:,}" for k, v in self.guest_markers.items())
            rows.append(("  read as guests", marks))
        if self.customer_id_zero_lines:
            rows.append(
                (
                    "customer id 0",
                    f"{self.customer_id_zero_lines:,} lines (a guest in some carts: "
                    "add guest_ids: ['0'] to the settings if so)",
                )
            )
        if self.orders_replaced:
            rows.append(
                (
                    "orders replaced",
                    f"{self.orders_replaced:,} (in several files: taken whole from the last)",
                )
            )
        if self.customer_ids_hashed:
            rows.append(
                (
                    "customer ids hashed",
                    f"{self.customer_ids_hashed:,} lines (email addresses: keyed hash stored)",
                )
            )
        if self.negative_amount_positive_quantity:
            rows.append(
                (
                    "discount lines",
                    f"{self.negative_amount_positive_quantity:,} "
                    "(negative amount, positive quantity: kept)",
                )
            )
        if self.previous_orders is None:
            rows.append(("previous set", "unreadable (damaged): replaced"))
        if self.amounts_rounded:
            rows.append(("amounts rounded", f"{self.amounts_rounded:,} (to 4 decimals)"))
        if self.customer_ids_repaired:
            rows.append(("customer ids repaired", f"{self.customer_ids_repaired:,} ('.0' removed)"))
        if self.orders_with_split_timestamps:
            rows.append(
                (
                    "orders re-timed",
                    f"{self.orders_with_split_timestamps:,} "
                    "(lines with different times; earliest kept)",
                )
            )
        if self.subscriptions is not None:
            sb = self.subscriptions
            rows.append(
                (
                    "subscriptions",
                    f"{sb['subscriptions']:,} ({sb['rows_read']:,} rows read): "
                    f"{sb['active']:,} active, {sb['cancelled']:,} cancelled; "
                    f"{sb['delivery_orders']:,} delivery orders",
                )
            )
            if sb["exact_duplicates"]:
                rows.append(("  exact duplicate rows", f"{sb['exact_duplicates']:,} (dropped)"))
            if sb["cancellations_scheduled"]:
                rows.append(
                    (
                        "  cancellations ahead",
                        f"{sb['cancellations_scheduled']:,} (dated after the ingest date: "
                        "active until then)",
                    )
                )
            if sb["without_deliveries"]:
                rows.append(("  without deliveries", f"{sb['without_deliveries']:,}"))
        if self.costs is not None:
            c = self.costs
            rows.append(
                (
                    "costs",
                    f"{c['rows']:,} rows, {c['months']:,} months ({c['month_from']} … "
                    f"{c['month_to']}), {len(c['channels']):,} channels, "
                    f"{Decimal(c['total']):,.0f} {self.currency}",
                )
            )
        if self.lines_without_product_master is not None:
            rows.append(("lines not in product master", f"{self.lines_without_product_master:,}"))
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


@dataclass(frozen=True)
class IngestResult:
    """What :func:`~ecrm.io.ingest.ingest` wrote."""

    orders_path: Path
    quality_path: Path
    customers_path: Path | None
    summary: QualitySummary
    subscriptions_path: Path | None = None
    costs_path: Path | None = None


def decimal_sum(s: pd.Series) -> Decimal:
    """The exact sum of a decimal amount column (0 for an empty one)."""
    import pyarrow.compute as pc

    arr = pa_arrow.array(s)
    total = pc.sum(arr.cast(pa_arrow.decimal128(38, 4))).as_py()
    return total if total is not None else Decimal(0)


def decimal_text(d: Decimal) -> str:
    """A decimal as plain text without trailing zeros (``"1200.5"``, ``"0"``)."""
    return format(d.normalize(), "f") if d != 0 else "0"
