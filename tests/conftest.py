"""Shared fixtures: a small generated project (demo shops) and the real data folder."""

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
    from ecrm import demo
    from ecrm.ingest import ingest

    root = tmp_path_factory.mktemp("project")
    (root / "data").mkdir()
    (root / "reports").mkdir()
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    for folder in demo.write_demo_shops(root / "data", n_customers=1500):
        ingest(folder, today=demo.DEMO_INGEST_DATE)
    return root
