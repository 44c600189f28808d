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


#: Test files that take a minute or more (a rendered report, a Spark session, the
#: property-based references), run first. ``--dist loadfile`` hands whole files to
#: the two workers in collection order, so with these last one worker would still
#: be on a long file while the other sat idle (a run's idle tail was ~1.5 min).
#: Only the order changes; a file missing from the list keeps its place after them.
LONG_FILES: tuple[str, ...] = (
    "test_report.py",
    "test_spark.py",
    "test_ctb.py",
    "test_predict.py",
    "test_segments_reference.py",
    "test_batch.py",
    "test_report_safety.py",
    "test_ingest_properties.py",
    "test_ltv.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long files first (stable: every worker collects the same order)."""
    rank = {name: i for i, name in enumerate(LONG_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
