"""The one place that knows where things live.

Data flows one way: ``data/<shop>/raw/`` (read-only exports) →
``data/<shop>/canonical/`` (ingested orders, customers, subscriptions, costs,
data-quality summary) →
analysis tables → ``reports/<shop>/<YYYY-MM>/``.

``data/<shop>/canonical`` is a symbolic link to the current version of the
canonical set, a folder in ``data/<shop>/.canonical/`` (:func:`canonical_store`):
ingestion writes a new version beside it and replaces the link in one atomic
rename, so every path below (:func:`orders_path`, :func:`quality_path`…)
shows one whole set, old or new.

The project root is found from the ``ECRM_HOME`` environment variable, else the
current directory or the nearest parent holding a ``data/`` folder next to
``pyproject.toml`` or ``notebooks/``; it falls back to the current directory.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "canonical_dir",
    "canonical_store",
    "costs_path",
    "customer_id_key_path",
    "customers_path",
    "data_dir",
    "orders_path",
    "project_root",
    "quality_path",
    "reports_dir",
    "settings_path",
    "shop_dir",
    "subscriptions_path",
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
    """``<shop folder>/canonical``: ingestion output (a link to the current version)."""
    return shop_folder / "canonical"


def canonical_store(shop_folder: Path) -> Path:
    """``<shop folder>/.canonical``: the versions of the canonical set ``canonical`` links to."""
    return shop_folder / ".canonical"


def orders_path(shop_folder: Path) -> Path:
    """The canonical orders table (Parquet)."""
    return canonical_dir(shop_folder) / "orders.parquet"


def customers_path(shop_folder: Path) -> Path:
    """The canonical customers table (Parquet), when the shop has one."""
    return canonical_dir(shop_folder) / "customers.parquet"


def subscriptions_path(shop_folder: Path) -> Path:
    """The canonical subscriptions table (定期, Parquet), when the shop has one."""
    return canonical_dir(shop_folder) / "subscriptions.parquet"


def costs_path(shop_folder: Path) -> Path:
    """The canonical acquisition costs table (month × channel, Parquet), when the shop has one."""
    return canonical_dir(shop_folder) / "costs.parquet"


def quality_path(shop_folder: Path) -> Path:
    """The data-quality summary (JSON) written beside the orders table."""
    return canonical_dir(shop_folder) / "quality.json"


def customer_id_key_path(shop_folder: Path) -> Path:
    """The shop's secret key for hashing email customer ids (``.customer-id-key``).

    Made on first need by :func:`ecrm.io.masters.customer_id_key`; keep it with
    the shop folder (a new key gives every hashed customer a new id).
    """
    return shop_folder / ".customer-id-key"
