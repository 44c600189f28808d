"""The one place that knows where things live.

Data flows one way: ``data/<shop>/raw/`` (read-only exports) →
``data/<shop>/canonical/`` (ingested orders, customers, data-quality summary) →
analysis tables → ``reports/<shop>/<YYYY-MM>/``.

The project root is found from the ``ECRM_HOME`` environment variable, else the
current directory or the nearest parent holding a ``data/`` folder next to
``pyproject.toml`` or ``notebooks/``; it falls back to the current directory.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "canonical_dir",
    "customers_path",
    "data_dir",
    "orders_path",
    "project_root",
    "quality_path",
    "reports_dir",
    "settings_path",
    "shop_dir",
]


def project_root() -> Path:
    """Return the ecrm project root (see module docstring)."""
    env = os.environ.get("ECRM_HOME")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for cand in (here, *here.parents):
        if (cand / "data").is_dir() and (
            (cand / "pyproject.toml").is_file() or (cand / "notebooks").is_dir()
        ):
            return cand
    return here


def data_dir(root: Path | None = None) -> Path:
    """``<root>/data``: per-shop settings and data."""
    return (root or project_root()) / "data"


def reports_dir(root: Path | None = None) -> Path:
    """``<root>/reports``: rendered reports."""
    return (root or project_root()) / "reports"


def shop_dir(shop: str, root: Path | None = None) -> Path:
    """``data/<shop>``."""
    return data_dir(root) / shop


def settings_path(shop: str, root: Path | None = None) -> Path:
    """``data/<shop>/settings.yaml``."""
    return shop_dir(shop, root) / "settings.yaml"


def canonical_dir(shop_folder: Path) -> Path:
    """``<shop folder>/canonical``: ingestion output."""
    return shop_folder / "canonical"


def orders_path(shop_folder: Path) -> Path:
    """The canonical orders table (Parquet)."""
    return canonical_dir(shop_folder) / "orders.parquet"


def customers_path(shop_folder: Path) -> Path:
    """The canonical customers table (Parquet), when the shop has one."""
    return canonical_dir(shop_folder) / "customers.parquet"


def quality_path(shop_folder: Path) -> Path:
    """The data-quality summary (JSON) written beside the orders table."""
    return canonical_dir(shop_folder) / "quality.json"
