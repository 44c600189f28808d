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


@pytest.fixture(scope="session")
def complete_journey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Complete Journey sample, ingested (department → category,
    product_category → taste, brand type → brand); skips where it is absent."""
    import datetime as dt
    import gzip

    import yaml

    import ecrm

    cj = SHARED_DATA / "completejourney_sample"
    if not cj.is_dir():
        pytest.skip(f"real data set not found at {cj}")
    folder = tmp_path_factory.mktemp("cj") / "complete-journey"
    (folder / "raw").mkdir(parents=True)
    # One sales_value is a float artefact (4.440892e-16) that ingestion rejects as
    # an amount with too many decimals: written as the zero it is (see test_ingest).
    text = gzip.decompress((cj / "transactions_sample.csv.gz").read_bytes()).decode()
    fixed = text.replace(",4.440892e-16,", ",0.0,")
    (folder / "raw" / "transactions_sample.csv.gz").write_bytes(gzip.compress(fixed.encode()))
    settings = {
        "name": "complete-journey",
        "timezone": "America/New_York",
        "currency": "USD",
        "sources": [{"path": "raw/transactions_sample.csv.gz"}],
        "columns": {
            "order_id": "basket_id",
            "customer_id": "household_id",
            "ordered_at": "transaction_timestamp",
            "amount": "sales_value",
            "quantity": "quantity",
            "product_id": "product_id",
        },
        "product_master": {
            "path": str(cj / "products.csv.gz"),
            "key": "product_id",
            "columns": {"category": "department", "taste": "product_category", "brand": "brand"},
        },
        "allow_external_sources": True,  # the product master is read from ../shared/data
    }
    (folder / "settings.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    path = ecrm.ingest(folder, today=dt.date(2018, 1, 31)).orders_path
    yield path
    shutil.rmtree(folder, ignore_errors=True)
