"""Shared fixtures: a small generated project (demo shops) and the real data folder.

``make test`` runs the suite in two pytest-xdist workers with ``--dist
loadfile``. Session fixtures are then built once per worker, each under its
worker's own ``tmp_path_factory`` base (``.../popen-gw0``), never at a fixed
path: ``demo_root`` is deliberately not shared between the workers through a
file lock, because report tests render into its ``reports/`` folder while
tests in the other worker read it; the two builds run side by side at the start
and cost no wall-clock time on two cores.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project root with both demo shops (1,500 customers each), ingested.

    Tests must not modify it; copy a shop folder to change it.
    """
    from ecrm.io import demo
    from ecrm.io.ingest import ingest

    root = tmp_path_factory.mktemp("project")
    (root / "data").mkdir()
    (root / "reports").mkdir()
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    for folder in demo.write_demo_shops(root / "data", n_customers=1500):
        ingest(folder, today=demo.DEMO_INGEST_DATE)
    return root


@pytest.fixture(scope="session")
def online_retail(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Canonical orders of the real UCI Online Retail data (skips where it is absent)."""
    import datetime as dt

    from ecrm.io.ingest import ingest

    src = SHARED_DATA / "online_retail" / "online_retail.csv.gz"
    if not src.is_file():
        pytest.skip(f"real data not found at {src} (../shared/data is absent)")
    shop = tmp_path_factory.mktemp("online-retail")
    (shop / "settings.yaml").write_text(
        "name: online-retail\n"
        "timezone: Europe/London\n"
        "currency: GBP\n"
        f"sources:\n  - path: {src}\n"
        "columns:\n"
        "  order_id: InvoiceNo\n"
        "  customer_id: CustomerID\n"
        "  ordered_at: InvoiceDate\n"
        "  quantity: Quantity\n"
        "  unit_price: UnitPrice\n"
        "  product_id: StockCode\n"
        "  product_name: Description\n"
        'return_order_pattern: "^C"\n'
        "allow_external_sources: true\n",  # the shared data lives outside the shop folder
        encoding="utf-8",
    )
    return ingest(shop, today=dt.date(2026, 11, 1)).orders_path
